"""A receipt a person splits over several invoices: read strictly, adding up exactly, in the form of
the matcher's split (``#>`` keys, one documentNumber)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pipeline.lines import receipt_key
from pipeline.split import legacy_part_keys, parse_parts, split_row

ROW = {
    "key": "bank:tx:7",
    "amount_minor": -240000,
    "customerNumber": "C10400",
    "source_row": 7,
    "documentNumber": "BANK-7",
}


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
        ("bank:tx:7#>RE-1", -119000, "RE-1"),
        ("bank:tx:7#>RE-2", -119000, "RE-2"),
        ("bank:tx:7#>rest", -2000, ""),
    ]
    assert {receipt_key(p["key"]) for p in parts} == {"bank:tx:7"}
    assert {p["documentNumber"] for p in parts} == {"BANK-7"}  # one payment in BC: one document number
    assert sum(p["amount_minor"] for p in parts) == ROW["amount_minor"]


def test_written_amounts_are_kept_and_sum_to_the_receipt() -> None:
    parts = split_row(ROW, "RE-1 600.00; RE-2 1800", {}, 2)
    assert [(p["key"], p["amount_minor"]) for p in parts] == [("bank:tx:7#>RE-1", -60000), ("bank:tx:7#>RE-2", -180000)]


def test_the_keys_earlier_versions_gave_the_parts_are_still_known() -> None:
    """Ledgers written before the split took the matcher's form hold ``#part<n>`` rows."""
    assert legacy_part_keys("bank:tx:7", 3) == ["bank:tx:7#part1", "bank:tx:7#part2", "bank:tx:7#part3"]


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
