"""What BC has *posted*: the evidence that decides a payment's fate once a person posted (or
edited) the journal it was sent to.

A journal line disappears when its journal is posted, so "not in the journal" alone cannot tell
"never created" from "created, then posted by a person". BC's general ledger can: posting a
payment line writes G/L entries carrying the line's document number and posting date
(API v2.0 ``generalLedgerEntries``). Every payment of this tool has its own document number in a
company (``post.plan.unique_document_numbers``), so an entry with that number and date *is* the
payment, posted.

Reading the evidence is part of exactly-once: when BC cannot answer, the error propagates (the run
stops with exit 3 and settles next time); it is never taken as "not posted".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pipeline.bc import BCClient

POSTED_ENTRIES = "generalLedgerEntries"
"""API v2.0 entity set of posted G/L entries (read-only)."""
_FIELDS = "entryNumber,documentNumber,postingDate"
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


def posted_between(client: BCClient, days: tuple[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Every payment entry BC posted between the two days (ISO, inclusive), by document number:
    one paged read, for a rebuild that does not know yet which numbers to ask for."""
    first, last = days
    where = f"documentType eq 'Payment' and postingDate ge {first[:10]} and postingDate le {last[:10]}"
    found: dict[str, list[dict[str, Any]]] = {}
    for entry in client.get_all(POSTED_ENTRIES, {"$filter": where, "$select": _FIELDS}, read_only=False):
        found.setdefault(str(entry.get("documentNumber", "")).upper(), []).append(dict(entry))
    return found


def posted_evidence(body: Mapping[str, Any], entries: Mapping[str, list[dict[str, Any]]]) -> str | None:
    """The G/L entry that shows this planned line was posted (its document number and posting date),
    as text for the ledger and the report ("G/L entry 1234"); None when BC posted nothing of it."""
    number = str(body.get("documentNumber", "")).upper()
    day = str(body.get("postingDate", ""))[:10]
    for entry in entries.get(number, []):
        if str(entry.get("postingDate", ""))[:10] == day:
            return f"G/L entry {entry.get('entryNumber')}"
    return None
