"""A receipt split over several invoices: read strictly, adding up exactly, one line again for people."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from pipeline.split import base_key, merge_parts, parse_parts, split_row
from schemas.lines import conform_lines

ROW = {"key": "bank:tx:7", "amount_minor": -240000, "customerNumber": "C10400", "source_row": 7}


def test_parts_are_read_with_and_without_amounts() -> None:
    assert parse_parts("re-1 600.00; RE-2\non account 45,50") == [
        ("RE-1", Decimal("600.00")),
        ("RE-2", None),
        ("", Decimal("45.50")),
    ]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("RE-1", "at least two parts"),
        ("RE-1; RE-1", "RE-1 is written twice"),
        ("RE-1 12 EUR; RE-2", r"is not 'INVOICE \[AMOUNT\]'"),
        ("RE-1 1.2.3; RE-2", r"is not 'INVOICE \[AMOUNT\]'"),
    ],
)
def test_unreadable_parts_are_refused(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_parts(text)


def test_open_amounts_fill_the_parts_and_the_rest_goes_on_account() -> None:
    parts = split_row(ROW, "RE-1; RE-2; on account", {"RE-1": 119000, "RE-2": 119000}, 2)
    assert [(p["key"], p["amount_minor"], p["appliesToInvoiceNumber"]) for p in parts] == [
        ("bank:tx:7#part1", -119000, "RE-1"),
        ("bank:tx:7#part2", -119000, "RE-2"),
        ("bank:tx:7#part3", -2000, ""),
    ]
    assert {base_key(p["key"]) for p in parts} == {"bank:tx:7"}


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("RE-1; RE-2", "the parts add up to 2380.00, the receipt is 2400.00"),
        ("RE-1 2000.00; RE-2 500.00", "the parts add up to 2500.00, the receipt is 2400.00"),
        ("RE-1 2400.00; on account", "the parts add up to 2400.00"),  # nothing left to put on account
        ("RE-9; RE-1", "invoice RE-9 is not open"),
        ("RE-1 0.001; on account", "more decimals than the currency allows"),
    ],
)
def test_a_split_that_does_not_add_up_is_refused_with_the_numbers(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        split_row(ROW, text, {"RE-1": 119000, "RE-2": 119000}, 2)


def _line(key: str, state: str, minor: int, invoice: str, message: str = "") -> dict[str, object]:
    return {
        "source_file": "s.csv",
        "source_row": 7,
        "state": state,
        "key": key,
        "amount_minor": minor,
        "appliesToInvoiceNumber": invoice,
        "message": message,
        "bc_id": f"id-{key[-1]}",
    }


def test_parts_become_one_line_again() -> None:
    lines = conform_lines(
        pd.DataFrame(
            [
                _line("k#part1", "posted", -119000, "RE-1"),
                _line("k#part2", "posted", -121000, "RE-2"),
                {"source_file": "s.csv", "source_row": 8, "state": "skipped", "key": "", "message": "footer"},
            ]
        )
    )
    merged = merge_parts(lines, 2)
    (one,) = merged[merged["key"] == "k"].to_dict("records")
    assert (one["state"], one["amount_minor"], one["appliesToInvoiceNumber"]) == ("posted", -240000, "RE-1, RE-2")
    assert one["message"] == "split by a person: RE-1 1190.00; RE-2 1210.00"
    assert len(merged) == 2


def test_a_part_not_sent_keeps_the_line_for_the_next_run() -> None:
    lines = conform_lines(
        pd.DataFrame(
            [
                _line("k#part1", "posted", -119000, "RE-1"),
                _line("k#part2", "needs_review", -121000, "RE-2", "not sent yet"),
            ]
        )
    )
    (one,) = merge_parts(lines, 2).to_dict("records")
    assert one["state"] == "needs_review"
    assert "RE-2 1210.00 (needs review: not sent yet)" in one["message"]
