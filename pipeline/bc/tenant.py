"""What a tenant's setup says about posting, read through API v2.0 before anything is sent.

BC accepts journal lines that it will refuse to post: a posting date outside General Ledger
Setup's allowed range (``GenJnlCheckLine.CheckDates``), or a customer or balancing account whose
default dimension is "Code Mandatory" without a value to copy to the line
(``GenJnlCheckLine.CheckDimensions``). The whole post then fails. The dates and the customers'
default dimensions are readable (``generalLedgerSetup``, ``customers({id})/defaultDimensions``,
``defaultDimensions``), so the run and ``payimport doctor`` can name the rows and the setup before a
line is sent; a G/L account's default dimensions are not in API v2.0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from pipeline.bc.batch import MAX_BATCH_OPERATIONS, BatchOp
from pipeline.bc.client import BCClient
from pipeline.errors import BCPermanentError

BLANK_DATE = "0001-01-01"
"""BC's blank date (0D) as API v2.0 writes it: no limit."""

MANDATORY = "Code Mandatory"


@dataclass(frozen=True)
class AllowedDates:
    """General Ledger Setup's allowed posting dates; None is open on that side."""

    first: date | None = None
    last: date | None = None

    def allows(self, day: date) -> bool:
        return (self.first is None or day >= self.first) and (self.last is None or day <= self.last)

    def describe(self) -> str:
        if self.first is None and self.last is None:
            return "any date"
        start = self.first.isoformat() if self.first else "the beginning"
        end = self.last.isoformat() if self.last else "no end"
        return f"{start} to {end}"


def _day(value: object) -> date | None:
    text = str(value or "")[:10]
    if not text or text == BLANK_DATE:
        return None
    return date.fromisoformat(text)


def read_allowed_dates(client: BCClient) -> AllowedDates:
    """``generalLedgerSetup``'s allowPostingFrom/allowPostingTo (a tenant without the entity: open)."""
    try:
        rows = list(
            client.get_all("generalLedgerSetup", {"$select": "allowPostingFrom,allowPostingTo"}, read_only=True)
        )
    except BCPermanentError as exc:
        if exc.status == 404:
            return AllowedDates()
        raise
    if not rows:
        return AllowedDates()
    return AllowedDates(_day(rows[0].get("allowPostingFrom")), _day(rows[0].get("allowPostingTo")))


def read_default_dimensions(client: BCClient, customer_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """The default dimensions of each customer (by id). API v2.0 shows them as the customers page's
    part ``customers({id})/defaultDimensions`` and as the top-level ``defaultDimensions`` (page
    30054): up to ``MAX_BATCH_OPERATIONS`` customers are read in one ``$batch`` of GETs, more in one
    paged read of the top-level set (falling back to batches if a tenant refuses it). A G/L
    account's default dimensions are not in API v2.0 at all ("Default Dimension Parent Type" has
    Customer, Vendor, Item and Employee only)."""
    wanted = sorted({str(i).lower() for i in customer_ids if i})
    if len(wanted) > MAX_BATCH_OPERATIONS:
        try:
            return _all_customer_defaults(client, wanted)
        except BCPermanentError as exc:
            if exc.status not in (400, 404):
                raise
    return _customer_defaults_by_batch(client, wanted)


def _all_customer_defaults(client: BCClient, wanted: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {customer: [] for customer in wanted}
    rows = client.get_all("defaultDimensions", {"$filter": "parentType eq 'Customer'"}, read_only=True)
    for row in rows:
        parent = str(row.get("parentId", "")).lower()
        if parent in found and _enum(row.get("parentType")) == "Customer":
            found[parent].append(dict(row))
    return found


def _customer_defaults_by_batch(client: BCClient, wanted: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    base = f"companies({client.company_id})/customers"
    for start in range(0, len(wanted), MAX_BATCH_OPERATIONS):
        chunk = wanted[start : start + MAX_BATCH_OPERATIONS]
        ops = [BatchOp(str(i + 1), "GET", f"{base}({record})/defaultDimensions") for i, record in enumerate(chunk)]
        for record, result in zip(chunk, client.batch(ops, continue_on_error=True), strict=True):
            if not result.verdict.ok:
                raise BCPermanentError(
                    f"reading the default dimensions of customer {record} failed: "
                    f"{result.verdict.code} {result.verdict.message}",
                    status=result.status,
                    code=result.verdict.code,
                )
            body = result.body if isinstance(result.body, Mapping) else {}
            found[record] = [dict(item) for item in body.get("value", []) if isinstance(item, Mapping)]
    return found


def is_mandatory(default: Mapping[str, Any]) -> bool:
    """A default dimension whose Value Posting is "Code Mandatory"."""
    return _enum(default.get("postingValidation")) == MANDATORY


def _enum(value: object) -> str:
    """An enum member as BC's OData writes it (``Code_x0020_Mandatory``, blank ``_x0020_``) as its name."""
    return str(value or "").replace("_x0020_", " ").strip()


def missing_dimensions(*defaults: Sequence[Mapping[str, Any]]) -> list[str]:
    """The dimension codes a new payment line would lack at posting: "Code Mandatory" defaults with
    no value, unless another default of the line's accounts (customer, balancing account) gives
    that dimension a value (``CreateDimFromDefaultDim`` copies every default that has one)."""
    given = {
        str(d.get("dimensionCode", ""))
        for group in defaults
        for d in group
        if str(d.get("dimensionValueCode", "") or "").strip()
    }
    required = {
        str(d.get("dimensionCode", ""))
        for group in defaults
        for d in group
        if _enum(d.get("postingValidation")) == MANDATORY
    }
    return sorted(required - given)


def balancing_account(client: BCClient, number: str | None) -> dict[str, Any] | None:
    """The G/L account with this number (id, number, accountType, blocked, directPosting), or None."""
    if not number:
        return None
    found = list(client.get_all("accounts", {"$filter": f"number eq '{number}'"}, read_only=True))
    return dict(found[0]) if found else None
