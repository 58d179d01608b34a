"""Payer memory: which customer a payer's account or name was confirmed for, and when.

A bank statement rarely names the customer, but the same payer pays from the same account month
after month. Once a payment from account ``DE89 3704 ...`` was posted to customer C10000, the next
payment from that account is C10000's too, whatever the text says: BC's own rules match the
related party by its bank account, and BC's customer bank accounts are not what a statement shows.

The memory learns only from what was confirmed: a payment posted by the rules (the customer was in
the file, came from the invoice named, or the evidence reached the automatic threshold) and added
to the journal, or a payment a person decided and the run then posted. A proposal, a row waiting
for a person, a dry run or a row BC refused teaches nothing, so a guess never feeds the next guess.

An identity (account or name) confirmed for two or more customers (a payment service, a parent
paying for its subsidiaries) is no evidence for any of them: the matcher weighs the other evidence
as if nothing were remembered.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pipeline.matching.names import canonical_name

ACCOUNT = "account"
NAME = "name"
KINDS = (ACCOUNT, NAME)
RULE = "rule"
PERSON = "person"
SOURCES = (RULE, PERSON)

_NOT_ACCOUNT = re.compile(r"[^0-9A-Z]")
_MIN_ACCOUNT = 5


def account_key(text: str) -> str:
    """An IBAN or account number as it is remembered: upper case, spaces and separators removed
    (``de89 3704-0044`` and ``DE8937040044`` are one account); "" when too short to be one."""
    key = _NOT_ACCOUNT.sub("", text.upper())
    return key if len(key) >= _MIN_ACCOUNT else ""


def name_key(text: str) -> str:
    """A payer name as it is remembered: the canonical form the name search uses, legal form kept
    (``MUELLER MASCHINENBAU GMBH`` and ``Müller Maschinenbau GmbH`` are one name)."""
    return canonical_name(text, keep_legal_form=True) if text.strip() else ""


@dataclass(frozen=True)
class Lesson:
    """One confirmation: this account or name paid for this customer, in this run."""

    kind: str
    identity: str
    customer: str
    source: str


@dataclass(frozen=True)
class Remembered:
    """What the ledger holds for one identity and customer: when it was last confirmed, by which
    run, and whether by the rules or by a person."""

    kind: str
    identity: str
    customer: str
    source: str
    confirmed: str
    run_id: str
    times: int


def lessons(rows: Iterable[tuple[str, str, str, bool]]) -> list[Lesson]:
    """Lessons from confirmed payments given as (customer number, payer account, payer name, decided
    by a person), each identity and customer once (a person's word kept over the rules')."""
    out: dict[tuple[str, str, str], Lesson] = {}
    for customer, account, name, by_person in rows:
        number = customer.strip().upper()
        if not number:
            continue
        source = PERSON if by_person else RULE
        for kind, identity in ((ACCOUNT, account_key(account)), (NAME, name_key(name))):
            if not identity:
                continue
            held = out.get((kind, identity, number))
            if held is None or (source == PERSON and held.source == RULE):
                out[(kind, identity, number)] = Lesson(kind, identity, number, source)
    return list(out.values())


class PayerMemory:
    """The ledger's payer memory as the matcher reads it: each identity's customers by number."""

    def __init__(self, remembered: Sequence[Remembered] = ()) -> None:
        self._by: dict[tuple[str, str], list[Remembered]] = {}
        for r in remembered:
            self._by.setdefault((r.kind, r.identity), []).append(r)

    def __bool__(self) -> bool:
        return bool(self._by)

    def recall(self, kind: str, identity: str) -> list[Remembered]:
        """Every customer ``identity`` was confirmed for (empty when unknown)."""
        return self._by.get((kind, identity), []) if identity else []

    def accounts(self) -> dict[str, str]:
        """Account -> customer number, for accounts confirmed for exactly one customer."""
        return {
            ident: found[0].customer for (kind, ident), found in self._by.items() if kind == ACCOUNT and len(found) == 1
        }

    def names(self) -> dict[str, str]:
        """Name -> customer number, for names confirmed for exactly one customer."""
        return {
            ident: found[0].customer for (kind, ident), found in self._by.items() if kind == NAME and len(found) == 1
        }


__all__ = [
    "ACCOUNT",
    "KINDS",
    "NAME",
    "PERSON",
    "RULE",
    "SOURCES",
    "Lesson",
    "PayerMemory",
    "Remembered",
    "account_key",
    "lessons",
    "name_key",
]
