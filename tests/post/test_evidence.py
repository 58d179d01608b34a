"""Recognising payments BC posted under another document number (a batch's Posting No. Series):
``evidence.renumbered_matches`` and ``posted_evidence`` on what ``posted_entries_for`` files.

Entries are written as BC posts a receipt with a balancing account (``GenJnlPostLine.Code``): the
balancing account's debit of X, then the receivables credit of X, under one document number, with
the line's posting date and description.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pipeline.post.evidence import POSTED_AS, posted_evidence, renumbered_matches, unvouched_lines


def receipt(
    number: str, first_entry: int, day: str, amount: str, description: str = "Northwind Traders"
) -> list[dict[str, Any]]:
    value = Decimal(amount)
    common = {"documentNumber": number, "postingDate": day, "description": description}
    return [
        {**common, "entryNumber": first_entry, "accountNumber": "2910", "debitAmount": value, "creditAmount": 0},
        {**common, "entryNumber": first_entry + 1, "accountNumber": "2310", "debitAmount": 0, "creditAmount": value},
    ]


def body(number: str, day: str, amount: str, description: str = "") -> dict[str, Any]:
    out = {"documentNumber": number, "postingDate": day, "amount": amount}
    if description:
        out["description"] = description
    return out


def test_each_payment_takes_its_own_posted_receipt_by_date_and_amount() -> None:
    candidates = {
        "PMT00001": receipt("PMT00001", 10, "2026-03-02", "100.00"),
        "PMT00002": receipt("PMT00002", 12, "2026-03-02", "100.00"),
        "PMT00003": receipt("PMT00003", 14, "2026-03-03", "55.10"),
    }
    bodies = [
        body("A", "2026-03-02", "-100.00"),
        body("B", "2026-03-02", "-100.00"),
        body("C", "2026-03-03", "-55.1"),
        body("D", "2026-03-02", "-100.00"),  # a third 100.00 that day: nothing left to prove it
        body("E", "2026-03-04", "-55.10"),  # another day
    ]

    pairs = renumbered_matches(bodies, candidates, sent={"A", "B", "C", "D", "E"})

    assert [(b["documentNumber"], e["entryNumber"]) for b, e in pairs] == [("A", 11), ("B", 13), ("C", 15)]


def test_documents_the_tool_sent_or_owns_and_unbalanced_ones_prove_nothing() -> None:
    lone_credit = [e for e in receipt("HAND-9", 30, "2026-03-02", "100.00") if e["creditAmount"]]
    candidates = {
        "A": receipt("A", 10, "2026-03-02", "100.00"),  # a number of ours, posted as sent
        "HAND-9": lone_credit,  # a credit without the balancing debit
        "PMT00007": receipt("PMT00007", 40, "2026-03-02", "100.00", description="Someone else"),
    }
    bodies = [body("B", "2026-03-02", "-100.00", description="Northwind Traders")]

    assert renumbered_matches(bodies, candidates, sent={"A", "B"}) == []


def test_the_description_sent_must_be_the_posted_one_and_a_positive_amount_never_matches() -> None:
    candidates = {"PMT00001": receipt("PMT00001", 10, "2026-03-02", "100.00", description="Ref 4711")}
    assert renumbered_matches([body("B", "2026-03-02", "-100.00", "Ref 4712")], candidates, set()) == []
    assert renumbered_matches([body("B", "2026-03-02", "100.00")], candidates, set()) == []
    [(_found, entry)] = renumbered_matches([body("B", "2026-03-02", "-100.00", "Ref 4711")], candidates, set())
    assert entry["entryNumber"] == 11


def test_posted_evidence_names_the_number_bc_posted_under() -> None:
    entries = {
        "B": [{"entryNumber": 11, "documentNumber": "PMT00001", "postingDate": "2026-03-02", POSTED_AS: "PMT00001"}]
    }
    assert posted_evidence(body("B", "2026-03-02", "-100.00"), entries) == "G/L entry 11 (posted as document PMT00001)"
    assert posted_evidence(body("B", "2026-03-03", "-100.00"), entries) is None


def _credit(number: str, day: str, credit: str) -> dict[str, Any]:
    """A posted receivables entry as ``posted_entries`` reads it (credit side)."""
    return {"entryNumber": 1, "documentNumber": number, "postingDate": day, "creditAmount": credit}


def test_a_shared_document_vouches_only_for_the_lines_its_credits_show() -> None:
    # a split of 2,380.00 over two invoices of 1,190.00 and 1,000.00 + 1,380.00 checks: one document
    # each; a person deleted one line of each and posted the rest, so one credit per document is left
    bodies = [
        body("BANK260312-001", "2026-03-12", "-1190.00"),
        body("BANK260312-001", "2026-03-12", "-1190.00"),
        body("LBX260318-001", "2026-03-18", "-1000.00"),
        body("LBX260318-001", "2026-03-18", "-1380.00"),
        body("BANK260312-002", "2026-03-12", "-50.00"),  # alone under its number: not this rule's business
    ]
    entries = {
        "BANK260312-001": [_credit("BANK260312-001", "2026-03-12", "1190.00")],
        "LBX260318-001": [_credit("LBX260318-001", "2026-03-18", "1380.00")],
        "BANK260312-002": [_credit("BANK260312-002", "2026-03-12", "50.00")],
    }
    # equal amounts: one line vouched (the first), the other not; the check: the 1,380.00 line vouched
    assert unvouched_lines(bodies, entries) == {1, 2}


def test_a_shared_document_with_a_credit_per_line_vouches_for_every_line() -> None:
    bodies = [body("BANK260312-001", "2026-03-12", "-1190.00"), body("BANK260312-001", "2026-03-12", "-1190.00")]
    both = [_credit("BANK260312-001", "2026-03-12", "1190.00")] * 2
    assert unvouched_lines(bodies, {"BANK260312-001": both}) == set()
    # a credit of another day or on the debit side (creditAmount 0) vouches for nothing
    other = [_credit("BANK260312-001", "2026-03-13", "1190.00"), _credit("BANK260312-001", "2026-03-12", "0")]
    assert unvouched_lines(bodies, {"BANK260312-001": other}) == {0, 1}


def test_credits_in_another_currency_vouch_for_no_line_of_a_shared_document() -> None:
    # the lines are in USD, the G/L credits in LCY: fewer credits than lines and no amount matches
    bodies = [body("USD260312-001", "2026-03-12", "-100.00"), body("USD260312-001", "2026-03-12", "-200.00")]
    entries = {"USD260312-001": [_credit("USD260312-001", "2026-03-12", "92.00")]}
    assert unvouched_lines(bodies, entries) == {0, 1}
