"""Evidence: one fact behind a matching decision, with a stable code and a sentence for people.

A decision carries every piece of evidence that led to it, so a person can check it ("payer name
'Mueller Maschinenbau' matches customer C10000 'Müller Maschinenbau GmbH' (97%)") instead of
trusting a number nobody can verify. The weight (0-100) is how sure that fact alone makes the
match; the decision's confidence is built from weights by the rules in ``pipeline.matching.decide``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from schemas.codes import Evidence

WEIGHTS: dict[Evidence, int] = {
    Evidence.CUSTOMER_NUMBER: 100,
    Evidence.PAYER_MAP: 100,
    Evidence.PAYER_ACCOUNT_MEMORY: 100,
    Evidence.STRUCTURED_REFERENCE: 100,
    Evidence.INVOICE_EXACT: 100,
    Evidence.INVOICE_DIGITS: 95,
    Evidence.INVOICE_ONE_EDIT: 85,
    Evidence.INVOICE_TAIL: 80,
    Evidence.AMOUNT_ONE_INVOICE: 100,
    Evidence.AMOUNT_COMBINATION: 95,
    Evidence.AMOUNT_WITHIN_TOLERANCE: 95,
}
"""How sure each kind of evidence makes a match on its own (a payer name weighs its score)."""

MEMORY_NAME = 95
"""A payer name (spelled the same, legal form and all) confirmed for exactly one customer before:
enough to post when nothing contradicts it, one step below an account, which a bank never misspells."""

AMOUNT_ONLY = 70
"""An amount equal to one open invoice, with nothing else pointing to its customer: a proposal for a
person (between the thresholds by default), never posted on its own."""

SHARED_NAME = 80
"""A payer name that fits two or more customers equally (95% or more each) tells them apart no
better than a close name: BC trusts a name only when it "is unique in your records"."""

AMOUNT_DISAGREES = 15
"""Taken off an invoice number found by anything less than its exact spelling when the amount does
not confirm it (less than the invoices found): a digit string that happens to fit is not enough."""

AGREEMENT_BONUS = 10
"""Added once when two independent kinds of evidence (name, reference, amount) point to the same
customer: a close name confirmed by an exact amount is surer than either alone."""


@dataclass(frozen=True)
class Fact:
    """One piece of evidence: its code, its sentence and its weight."""

    code: Evidence
    text: str
    weight: int


def details_text(facts: Sequence[Fact], confidence: int) -> str:
    """The ``match_details`` column: every fact's code and sentence, then the confidence."""
    if not facts:
        return ""
    parts = [f"[{f.code}] {f.text}" for f in facts]
    return "; ".join(parts) + f" (confidence {confidence}%)"


__all__ = [
    "AGREEMENT_BONUS",
    "AMOUNT_DISAGREES",
    "AMOUNT_ONLY",
    "MEMORY_NAME",
    "SHARED_NAME",
    "WEIGHTS",
    "Fact",
    "details_text",
]
