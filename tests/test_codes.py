"""The vocabulary: every code has words for people, and the codes' text stays what reports rely on."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

import pytest

from schemas.codes import (
    APPLICATION_DESCRIPTIONS,
    DISCREPANCY_DESCRIPTIONS,
    FLAG_DESCRIPTIONS,
    OUTCOME_DESCRIPTIONS,
    REJECT_DESCRIPTIONS,
    REVIEW_DESCRIPTIONS,
    SKIP_DESCRIPTIONS,
    STATE_LABELS,
    STATES,
    Application,
    Discrepancy,
    Flag,
    Outcome,
    Reject,
    Review,
    Skip,
    State,
    describe,
)

FAMILIES: list[tuple[type[StrEnum], Mapping[str, str]]] = [
    (Reject, REJECT_DESCRIPTIONS),
    (Skip, SKIP_DESCRIPTIONS),
    (Review, REVIEW_DESCRIPTIONS),
    (Outcome, OUTCOME_DESCRIPTIONS),
    (Flag, FLAG_DESCRIPTIONS),
    (Discrepancy, DISCREPANCY_DESCRIPTIONS),
    (Application, APPLICATION_DESCRIPTIONS),
    (State, STATE_LABELS),
]


@pytest.mark.parametrize(("family", "words"), FAMILIES, ids=[f.__name__ for f, _ in FAMILIES])
def test_every_code_has_words_and_nothing_else_does(family: type[StrEnum], words: Mapping[str, str]) -> None:
    assert set(words) == set(family)
    assert all(words[code].strip() for code in family)


@pytest.mark.parametrize(("family", "words"), FAMILIES, ids=[f.__name__ for f, _ in FAMILIES])
def test_codes_are_lower_snake_case_text(family: type[StrEnum], words: Mapping[str, str]) -> None:
    for code in family:
        assert code == code.name.lower()
        assert str(code) == code.value and f"{code}" == code.value


def test_a_code_is_its_text() -> None:
    """Frames, JSON and workbooks hold the text; comparing with a member must still hold."""
    assert Reject.DATE_FORMAT == "date_format"
    assert {"date_format": 1}[Reject.DATE_FORMAT] == 1
    assert type(STATES[0]) is str


def test_the_states_keep_their_order() -> None:
    assert STATES == ("posted", "already_posted", "skipped", "rejected", "needs_review")


def test_describe_any_family() -> None:
    assert describe("date_invalid") == "date does not exist in the calendar"
    assert describe("footer") == "footer, total or balance row"
    assert describe("not_planned") == DISCREPANCY_DESCRIPTIONS[Discrepancy.NOT_PLANNED]
    assert describe("no_such_code") == "no_such_code"


def test_the_two_currency_problems_have_two_codes() -> None:
    """A row in another currency than the profile's is refused; a payment in another currency than the
    customer's or invoice's goes to a person: one code cannot say both."""
    assert Reject.CURRENCY_MISMATCH == "currency_mismatch"
    assert Review.CUSTOMER_CURRENCY_MISMATCH == "customer_currency_mismatch"
    assert "currency_mismatch" not in set(Review)
