"""Matching a lost ledger's rows to what BC holds (pure part of ``payimport ledger rebuild``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from pipeline.post.rebuild import Trace, family_rank, match_split_receipts, match_traces


@pytest.mark.parametrize(
    ("number", "base", "rank"),
    [
        ("INV1", "INV1", 1),
        ("INV1/2", "INV1", 2),
        ("INV1/12", "INV1", 12),
        ("INV1/1", "INV1", None),  # never given: the plain number is the first
        ("INV10/2", "INV1", None),
        ("INV1/X", "INV1", None),
        ("INV1", "INV1/2", None),
        # a 20-character number made unique is cut from the left part (Code[20]), never the suffix
        ("ABCDEFGHIJKLMNOPQR/2", "ABCDEFGHIJKLMNOPQRST", 2),
        ("ABCDEFGHIJKLMNOPQ/10", "ABCDEFGHIJKLMNOPQRST", 10),
        ("ABCDEFGHIJKLMNOPQ/2", "ABCDEFGHIJKLMNOPQRST", None),
    ],
)
def test_family_rank(number: str, base: str, rank: int | None) -> None:
    assert family_rank(number, base) == rank


def row(doc: str, cents: int, day: str = "2026-03-02", key: str = "k") -> dict[str, Any]:
    """An input row as the rebuild reads it (amount in BC's sign: a receipt is negative)."""
    return {"key": key, "documentNumber": doc, "postingDate": day, "amount_minor": -cents}


def line(number: str, amount: str, line_number: int, day: str = "2026-03-02") -> Trace:
    return Trace(number, day, Decimal(amount), "J", "PI26030201", line_number, f"id{line_number}", {})


def posted(number: str, entry: int, day: str = "2026-03-02") -> Trace:
    return Trace(number, day, None, "", "", 0, f"G/L entry {entry}", {})


def test_open_lines_are_told_apart_by_amount() -> None:
    """Two payments named R and R/2; their lines are matched by amount whatever the file order."""
    traces = [line("R", "-10.00", 10_000), line("R/2", "-20.00", 20_000)]
    found = match_traces([row("r", 2000), row("r", 1000)], traces, 2)
    assert [t.bc_id if t else None for t in found] == ["id20000", "id10000"]


def test_posted_payments_are_taken_in_the_order_they_were_named() -> None:
    traces = [posted("R/3", 9), posted("R", 5), posted("R/2", 7)]
    found = match_traces([row("R", 1), row("R", 2), row("R", 3), row("R", 4)], traces, 2)
    assert [t.bc_id if t else None for t in found] == ["G/L entry 5", "G/L entry 7", "G/L entry 9", None]


def test_another_day_or_another_amount_is_not_the_payment() -> None:
    traces = [line("R", "-10.00", 10_000, day="2026-03-03"), line("R", "-10.01", 20_000)]
    assert match_traces([row("R", 1000)], traces, 2) == [None]


def test_each_trace_is_taken_once() -> None:
    """The same payment twice in the input (two keys) and once in BC: only the first is in BC."""
    traces = [line("R", "-10.00", 10_000)]
    found = match_traces([row("R", 1000, key="a"), row("R", 1000, key="b")], traces, 2)
    assert found[0] is traces[0] and found[1] is None


def test_a_split_receipt_is_its_lines_summing_to_it() -> None:
    """2,380.00 paid two invoices: two lines of 1,190.00 under one number. A lone line of another
    number does not join them, and lines summing to another amount are not this receipt."""
    lines = [line("R", "-1190.00", 10_000), line("R", "-1190.00", 20_000), line("S", "-5.00", 30_000)]
    found = match_split_receipts([row("R", 238_000), row("S", 238_000)], lines, 2)
    assert [[t.line_number for t in group] for group in found] == [[10_000, 20_000], []]
    assert match_split_receipts([row("R", 238_001)], lines, 2) == [[]]
