"""What BC has *posted*: the evidence that decides a payment's fate once a person posted (or
edited) the journal it was sent to.

A journal line disappears when its journal is posted, so "not in the journal" alone cannot tell
"never created" from "created, then posted by a person". BC's general ledger can: posting a
payment line writes G/L entries carrying the line's document number and posting date
(API v2.0 ``generalLedgerEntries``). Every payment of this tool has its own document number in a
company (``post.plan.unique_document_numbers``), so an entry with that number and date *is* the
payment, posted.

A batch with a **Posting No. Series** (set up in BC's UI; ``GenJnlPostBatch.CheckDocumentNo``)
posts each document under the series' next number instead of the line's, so the sent number is not
in the ledger. API v2.0's ``generalLedgerEntries`` has no external document number and no journal
batch, so such a payment is recognised by what the entries do carry: its posting date, its
description (when the tool sent one) and its amount, a credit and a debit of the same amount in
LCY under one document number this tool never sent (``posted_entries_for``). Each entry proves at
most one payment.

Reading the evidence is part of exactly-once: when BC cannot answer, the error propagates (the run
stops with exit 3 and settles next time); it is never taken as "not posted".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from pipeline.bc import BCClient

POSTED_ENTRIES = "generalLedgerEntries"
"""API v2.0 entity set of posted G/L entries (read-only)."""
_FIELDS = "entryNumber,documentNumber,postingDate,creditAmount"
RENUMBERED_FIELDS = "entryNumber,documentNumber,postingDate,description,debitAmount,creditAmount"
"""What ``renumbered_matches`` compares: date, description and the debit/credit pair."""
_PER_QUERY = 15
"""Document numbers per ``$filter`` (``or``-ed equalities keep the URL well under BC's limits)."""
_BY_NUMBER_AT_MOST = 300
"""Beyond this many numbers (20 requests), one paged read of the days they were posted on is cheaper."""


def _quoted(text: str) -> str:
    """An OData string literal (a quote inside is doubled)."""
    return "'" + text.replace("'", "''") + "'"


def posted_entries(
    client: BCClient, document_numbers: Iterable[str], days: tuple[str, str] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """BC's posted G/L entries for these document numbers, by document number (absent: none posted).

    A few numbers are looked up by number (``or``-ed equalities, BC's (Document No., Posting Date)
    key); many (a hand-posted migration journal) by one paged read of the payment entries of the
    ``days`` they were posted on (first and last posting date, ISO), when the caller knows them.
    Read from the primary, not the read-only replica: a journal posted a moment ago must be seen.
    """
    wanted = sorted({n.upper() for n in document_numbers if n})
    if days is not None and len(wanted) > _BY_NUMBER_AT_MOST:
        return _posted_on(client, set(wanted), days)
    found: dict[str, list[dict[str, Any]]] = {}
    for start in range(0, len(wanted), _PER_QUERY):
        chunk = wanted[start : start + _PER_QUERY]
        where = " or ".join(f"documentNumber eq {_quoted(n)}" for n in chunk)
        for entry in client.get_all(POSTED_ENTRIES, {"$filter": where, "$select": _FIELDS}, read_only=False):
            found.setdefault(str(entry.get("documentNumber", "")).upper(), []).append(dict(entry))
    return found


def _posted_on(client: BCClient, wanted: set[str], days: tuple[str, str]) -> dict[str, list[dict[str, Any]]]:
    """The payment entries posted between the two days, kept where their number is wanted."""
    return {number: entries for number, entries in posted_between(client, days).items() if number in wanted}


def posted_between(client: BCClient, days: tuple[str, str], fields: str = _FIELDS) -> dict[str, list[dict[str, Any]]]:
    """Every payment entry BC posted between the two days (ISO, inclusive), by document number:
    one paged read, for a rebuild that does not know yet which numbers to ask for."""
    first, last = days
    where = f"documentType eq 'Payment' and postingDate ge {first[:10]} and postingDate le {last[:10]}"
    found: dict[str, list[dict[str, Any]]] = {}
    for entry in client.get_all(POSTED_ENTRIES, {"$filter": where, "$select": fields}, read_only=False):
        found.setdefault(str(entry.get("documentNumber", "")).upper(), []).append(dict(entry))
    return found


def posted_evidence(
    body: Mapping[str, Any], entries: Mapping[str, list[dict[str, Any]]], *, renumbered: bool = True
) -> str | None:
    """The G/L entry that shows this planned line was posted (its document number and posting date),
    as text for the ledger and the report ("G/L entry 1234"); None when BC posted nothing of it.

    ``renumbered=False``: only an entry under the line's own number counts. An entry matched by
    date and amount (``posted_entries_for``) proves a payment of ours only when the line is known
    to have reached BC: otherwise it may as well be a payment a person keyed by hand."""
    number = str(body.get("documentNumber", "")).upper()
    day = str(body.get("postingDate", ""))[:10]
    for entry in entries.get(number, []):
        if not renumbered and entry.get(POSTED_AS):
            continue
        if str(entry.get("postingDate", ""))[:10] == day:
            posted_as = entry.get(POSTED_AS)
            shown = f" (posted as document {posted_as})" if posted_as else ""
            return f"G/L entry {entry.get('entryNumber')}{shown}"
    return None


def unvouched_lines(bodies: Sequence[Mapping[str, Any]], entries: Mapping[str, list[dict[str, Any]]]) -> set[int]:
    """Positions of the lines that share a posted document with other lines here but that BC's
    posted entries cannot vouch for one by one.

    The lines of a split receipt or of a check share one document number, so the document being
    posted does not prove each line was: a person may have deleted one from the journal and posted
    the rest. Every posted customer line leaves its own receivables credit under the document, so
    when a document and day have fewer credits than lines, each credit vouches for one line of its
    amount (received = -amount), and the lines left over are not shown posted. Credits in another
    currency than the lines match none of them: all such lines are then left for a person, never
    taken as posted."""
    groups: dict[tuple[str, str], list[int]] = {}
    for i, body in enumerate(bodies):
        document = (str(body.get("documentNumber", "")).upper(), str(body.get("postingDate", ""))[:10])
        groups.setdefault(document, []).append(i)
    out: set[int] = set()
    for (number, day), members in groups.items():
        if len(members) < 2:
            continue
        credits = [
            Decimal(str(e.get("creditAmount") or 0))
            for e in entries.get(number, [])
            if str(e.get("postingDate", ""))[:10] == day
        ]
        left = [c for c in credits if c > 0]
        if len(left) >= len(members):
            continue
        for i in members:
            received = -Decimal(str(bodies[i].get("amount", "0")))
            if received in left:
                left.remove(received)
            else:
                out.add(i)
    return out


POSTED_AS = "postedAs"
"""Set on an entry ``posted_entries_for`` filed under a sent number: the number BC posted it under."""


def posted_entries_for(
    client: BCClient,
    bodies: Sequence[Mapping[str, Any]],
    days: tuple[str, str] | None = None,
    owned: Callable[[list[str]], Iterable[str]] | None = None,
    *,
    renumbered: bool = True,
) -> dict[str, list[dict[str, Any]]]:
    """``posted_entries`` for these planned lines (request bodies), plus the lines a Posting No.
    Series posted under another number, filed under the number the tool sent (the entry carries
    ``POSTED_AS``), so ``posted_evidence`` finds them as it finds the rest.

    Only lines not found under their own number cost anything more: one paged read of the payment
    entries of their posting days (``renumbered_matches``). ``owned`` names which of the posted
    numbers are this tool's own (the ledger's): those documents are other payments of the tool,
    posted under their own numbers, and never taken for a renumbered one. ``renumbered=False``:
    no batch involved can have a Posting No. Series, so only the lines' own numbers are looked up.
    """
    found = posted_entries(client, (str(b.get("documentNumber", "")) for b in bodies), days)
    if not renumbered:
        return found
    missing = [b for b in bodies if posted_evidence(b, found) is None and _amount(b.get("amount")) is not None]
    if not missing:
        return found
    dates = sorted(str(b.get("postingDate", ""))[:10] for b in missing)
    candidates = posted_between(client, (dates[0], dates[-1]), RENUMBERED_FIELDS)
    sent = {str(b.get("documentNumber", "")).upper() for b in bodies} | set(found)
    if owned is not None:
        sent |= {n.upper() for n in owned(sorted(set(candidates) - sent))}
    for body, entry in renumbered_matches(missing, candidates, sent):
        number = str(body.get("documentNumber", "")).upper()
        found.setdefault(number, []).append({**entry, POSTED_AS: entry.get("documentNumber")})
    return found


def renumbered_matches(
    bodies: Sequence[Mapping[str, Any]], candidates: Mapping[str, list[dict[str, Any]]], sent: set[str]
) -> list[tuple[Mapping[str, Any], dict[str, Any]]]:
    """Pair planned lines with posted documents that carry none of the ``sent`` numbers (pure).

    A receipt of X with a balancing account posts a debit of X (the balancing account) and a credit
    of X (receivables) under one document number, dated with the line's posting date and carrying
    its description. A line matches a credit entry of such a document with its posting date, its
    amount (negated: a receipt is sent negative) and, when the line sent one, its description; the
    document must also hold a debit of that amount. Lines are taken in order and each credit entry
    is used once, so two equal payments need two posted ones. Amounts are compared in the
    currency sent: a foreign-currency line, posted in LCY, is not recognised this way (it stays
    unconfirmed, never wrongly confirmed).
    """
    credits: dict[tuple[str, Decimal], list[dict[str, Any]]] = {}
    for number, entries in sorted(candidates.items()):
        if number.upper() in sent:
            continue
        debits = {_amount(e.get("debitAmount")) for e in entries}
        for entry in sorted(entries, key=lambda e: int(e.get("entryNumber") or 0)):
            value = _amount(entry.get("creditAmount"))
            if value and value in debits:
                credits.setdefault((str(entry.get("postingDate", ""))[:10], value), []).append(entry)
    pairs: list[tuple[Mapping[str, Any], dict[str, Any]]] = []
    for body in bodies:
        amount = _amount(body.get("amount"))
        if amount is None or amount >= 0:
            continue
        free = credits.get((str(body.get("postingDate", ""))[:10], -amount), [])
        description = str(body.get("description") or "")
        taken = next(
            (i for i, e in enumerate(free) if not description or str(e.get("description") or "") == description), None
        )
        if taken is not None:
            pairs.append((body, free.pop(taken)))
    return pairs


def _amount(value: object) -> Decimal | None:
    """An amount from a body or an entry (exact text or number), None when there is none."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None
