"""Rows BC would take into the journal but refuse to post, found before sending (pure parts).

Expected values follow BC's rules: ``GenJnlCheckLine.DateNotAllowed`` (a date before Allow Posting
From or after Allow Posting To); ``CreateDimFromDefaultDim`` copies every default dimension that
has a value, of the account and of the balancing account; ``CheckDimValuePosting`` refuses a
"Code Mandatory" dimension the line has no value for.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd

from pipeline.bc.tenant import AllowedDates, missing_dimensions
from pipeline.currency_setup import CurrencySetup
from pipeline.linenumbers import first_number_after
from pipeline.preflight import PostingSetup, hold_back


def dim(code: str, value: str = "", posting: str = "Code Mandatory") -> dict[str, str]:
    return {"dimensionCode": code, "dimensionValueCode": value, "postingValidation": posting}


def test_allowed_dates_are_inclusive_and_open_ended() -> None:
    window = AllowedDates(date(2026, 3, 1), date(2026, 3, 31))
    assert [window.allows(date(2026, 3, d)) for d in (1, 31)] == [True, True]
    assert [window.allows(day) for day in (date(2026, 2, 28), date(2026, 4, 1))] == [False, False]
    assert AllowedDates(last=date(2026, 3, 31)).allows(date(1990, 1, 1))
    assert AllowedDates().describe() == "any date"


def test_a_mandatory_dimension_is_missing_only_without_a_value_from_any_default() -> None:
    assert missing_dimensions([dim("PROJECT")]) == ["PROJECT"]
    assert missing_dimensions([dim("PROJECT", "P1")]) == []
    assert missing_dimensions([dim("PROJECT")], [dim("PROJECT", "P1", "")]) == []  # the balancing account gives one
    assert missing_dimensions([dim("AREA", "", "Same Code"), dim("X", "", "No Code")]) == []
    assert missing_dimensions([dim("B")], [dim("A")]) == ["A", "B"]
    # as BC's OData writes the enum member
    assert missing_dimensions([dim("PROJECT", "", "Code_x0020_Mandatory")]) == ["PROJECT"]
    assert missing_dimensions([dim("PROJECT", "", "_x0020_")]) == []


def test_hold_back_names_the_date_or_the_dimension_and_keeps_the_rest() -> None:
    rows = pd.DataFrame(
        {
            "key": ["k1", "k2", "k3", "k4"],
            "postingDate": ["2026-02-27", "2026-03-02", "2026-03-03", "2026-02-01"],
            "customerNumber": ["C1", "C1", "C2", "C2"],
        }
    )
    setup = PostingSetup(AllowedDates(first=date(2026, 3, 1)), {"C2": ["PROJECT"]})
    held, kept = hold_back(rows, setup)
    assert kept["key"].tolist() == ["k2"]
    assert held["key"].tolist() == ["k1", "k3", "k4"]
    assert held["reason_code"].tolist() == [
        "posting_date_not_allowed",
        "dimension_required",
        "posting_date_not_allowed",
    ]
    assert "2026-02-27" in held["message"].iloc[0] and "2026-03-01 to no end" in held["message"].iloc[0]
    assert "PROJECT" in held["message"].iloc[1] and "customer C2" in held["message"].iloc[1]


def test_nothing_is_held_by_an_open_tenant() -> None:
    rows = pd.DataFrame({"key": ["k1"], "postingDate": ["1999-12-31"], "customerNumber": ["C1"]})
    held, kept = hold_back(rows, PostingSetup())
    assert held.empty and kept["key"].tolist() == ["k1"]


def test_new_lines_skip_the_hidden_line_of_a_journal_that_may_have_been_posted() -> None:
    assert first_number_after(0, may_have_been_posted=False) == 0
    assert first_number_after(0, may_have_been_posted=True) == 10_000
    assert first_number_after(40_000, may_have_been_posted=True) == 40_000


def test_a_foreign_currency_row_needs_a_rate_at_its_date_and_an_amount_bc_will_not_round() -> None:
    """``CurrExchRate.FindCurrency``: the rate with the latest starting date on or before the posting
    date; ``ValidateAmount``: Round(Amount, Amount Rounding Precision), here CHF's 0.05."""
    rows = pd.DataFrame(
        {
            "key": ["k1", "k2", "k3", "k4", "k5"],
            "postingDate": ["2026-03-14", "2026-03-15", "2026-03-16", "2026-03-16", "2026-03-01"],
            "customerNumber": ["C7", "C7", "C7", "C7", "C1"],
            "amount_minor": [-10000, -10000, -1002, -1005, -1001],
            "currency": ["CHF", "CHF", "CHF", "CHF", "EUR"],
        }
    )
    chf = CurrencySetup("CHF", Decimal("0.05"), (date(2026, 3, 15), date(2026, 4, 1)))
    held, kept = hold_back(rows, PostingSetup(currencies={"C7": chf}, decimals=2))
    assert kept["key"].tolist() == ["k2", "k4", "k5"]  # C1 pays in the local currency: nothing to check
    assert dict(zip(held["key"], held["reason_code"], strict=True)) == {
        "k1": "no_exchange_rate",
        "k3": "amount_precision",
    }
    assert "2026-03-14" in held["message"].iloc[0] and "2026-03-15" in held["message"].iloc[0]
    assert "-10.02 CHF" in held["message"].iloc[1] and "0.05" in held["message"].iloc[1]


def test_rates_bc_cannot_show_hold_nothing_back() -> None:
    unknown = CurrencySetup("JPY", None, None)  # no rates page, no precision given
    assert unknown.has_rate(date(1990, 1, 1))
    none_yet = CurrencySetup("JPY", Decimal(1), ())
    assert not none_yet.has_rate(date(2026, 3, 1))
