"""Customers, their financial details and ledger entries (read-only), and the look-ups writers share.

Balances and overdue amounts come from the sandbox ledger. The customer, payer and currency
look-ups and the exchange-rate (LCY) conversion are here because customers are their first user;
invoices, payments and posting reuse them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from pipeline.sandbox.errors import SandboxApiError, dialog, not_found
from pipeline.sandbox.rules.companies import company_row
from pipeline.sandbox.rules.conversions import (
    Entity,
    json_amount,
    json_guid,
    round_cents,
    row_decimal,
    row_int,
    row_str,
)
from pipeline.sandbox.rules.etags import etag
from pipeline.sandbox.store import EMPTY_GUID, Store

_BLOCKED_JSON = {" ": "_x0020_", "": "_x0020_"}


def exchange_rates(store: Store, company_id: str, day: str = "") -> dict[str, Decimal]:
    """LCY per unit of each currency of the company at ``day`` (ISO): the rate with the latest
    starting date on or before it (``CurrExchRate.FindCurrency``) for a currency seeded with dated
    rates (one without a rate at that day is left out), else the currency's one fixed rate."""
    rows = store.query("SELECT code, lcy_per_unit FROM currencies WHERE company_id = ?", (company_id,))
    rates = {row_str(r, "code"): row_decimal(r, "lcy_per_unit") for r in rows}
    dated = store.query(
        "SELECT currency_code, starting_date, lcy_per_unit FROM currency_exchange_rates WHERE company_id = ? "
        "ORDER BY currency_code, starting_date",
        (company_id,),
    )
    for code in {row_str(r, "currency_code") for r in dated}:
        valid = [
            r for r in dated if row_str(r, "currency_code") == code and (not day or row_str(r, "starting_date") <= day)
        ]
        if valid:
            rates[code] = row_decimal(valid[-1], "lcy_per_unit")
        else:
            rates.pop(code, None)
    return rates


def check_exchange_rate(store: Store, company_id: str, currency: str, day: str) -> None:
    """A foreign-currency line needs a rate valid at its posting date: ``Validate("Currency Code")``
    reads it (``CurrExchRate.FindCurrency``: ``SetRange("Starting Date", 0D, Date); FindLast()``),
    and without one that ``FindLast`` fails."""
    if currency and day and currency not in exchange_rates(store, company_id, day):
        raise SandboxApiError(
            400,
            "Internal_DataNotFoundFilter",
            f"There is no Currency Exchange Rate within the filter.  Filters: Currency Code: {currency}, "
            f"Starting Date: ''..{day}",
        )


def amount_precision(store: Store, company_id: str, currency: str) -> Decimal:
    """The currency's "Amount Rounding Precision" (the local currency's: 0.01)."""
    row = (
        store.query_one(
            "SELECT amount_rounding FROM currencies WHERE company_id = ? AND code = ?", (company_id, currency)
        )
        if currency
        else None
    )
    return row_decimal(row, "amount_rounding") if row is not None else Decimal("0.01")


def round_amount(amount: Decimal, precision: Decimal) -> Decimal:
    """AL ``Round(Amount, precision)`` (direction '=': to the nearest multiple, halves away from zero),
    as ``GenJournalLine.ValidateAmount`` rounds to the currency's Amount Rounding Precision."""
    steps = (amount / precision).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return steps * precision if precision != Decimal("0.01") else round_cents(amount)


def to_lcy(amount: Decimal, currency: str, rates: Mapping[str, Decimal]) -> Decimal:
    """The local-currency amount at the exchange rate given (``exchange_rates`` of the posting date)."""
    if not currency:
        return amount
    return round_cents(amount * rates.get(currency, Decimal(1)))


def party_by_id(store: Store, company_id: str, value: str, not_found: str) -> sqlite3.Row:
    """The invoice's sell-to or bill-to customer by id (the page's id trigger runs first)."""
    found = customer_by_id(store, company_id, value)
    if found is None:
        raise dialog(not_found)
    return found


def party_by_number(
    store: Store, company_id: str, value: str, by_id: sqlite3.Row | None, not_found: str, mismatch: str
) -> sqlite3.Row:
    """By number; when the id already chose a customer, the number must name the same one."""
    if by_id is not None:
        if row_str(by_id, "number") != value:
            raise dialog(mismatch)
        return by_id
    found = customer_by_number(store, company_id, value)
    if found is None:
        raise dialog(not_found)
    return found


def customer_by_id(store: Store, company_id: str, customer_id: str) -> sqlite3.Row | None:
    """A customer by SystemId, or None."""
    return store.query_one("SELECT * FROM customers WHERE company_id = ? AND id = ?", (company_id, customer_id))


def customer_by_number(store: Store, company_id: str, number: str) -> sqlite3.Row | None:
    """A customer by No., or None."""
    return store.query_one("SELECT * FROM customers WHERE company_id = ? AND number = ?", (company_id, number))


def _customer(store: Store, company_id: str, customer_id: str) -> sqlite3.Row:
    key = json_guid(customer_id)
    row = customer_by_id(store, company_id, key) if key else None
    if row is None:
        raise not_found("Customer")
    return row


def currency_id_of(store: Store, company_id: str, code: str) -> str:
    """The SystemId of a currency code, the empty GUID for the local currency or an unknown code."""
    if not code:
        return EMPTY_GUID
    row = store.query_one("SELECT id FROM currencies WHERE company_id = ? AND code = ?", (company_id, code))
    return row_str(row, "id") if row else EMPTY_GUID


@dataclass(frozen=True)
class _Totals:
    balance: Decimal = Decimal(0)
    balance_due: Decimal = Decimal(0)
    overdue: Decimal = Decimal(0)
    sales_excl: Decimal = Decimal(0)


def _customer_totals(store: Store, company_id: str, today: date) -> dict[str, _Totals]:
    """Balance (LCY), balance due, overdue amount and sales per customer number, from the ledger."""
    sums: dict[str, dict[str, Decimal]] = {}
    for row in store.query("SELECT * FROM cust_ledger_entries WHERE company_id = ?", (company_id,)):
        acc = sums.setdefault(row_str(row, "customer_number"), {"b": Decimal(0), "d": Decimal(0), "o": Decimal(0)})
        acc["b"] += row_decimal(row, "amount_lcy")
        if row_int(row, "open"):
            due = date.fromisoformat(row_str(row, "due_date"))
            if due <= today:
                acc["d"] += row_decimal(row, "remaining_amount_lcy")
            if due < today:
                acc["o"] += row_decimal(row, "remaining_amount_lcy")
    sales: dict[str, Decimal] = {}
    rates = exchange_rates(store, company_id)
    invoices = store.query(
        "SELECT bill_to_customer_number, currency_code, total_excl FROM sales_invoices "
        "WHERE company_id = ? AND posted = 1 AND canceled = 0",
        (company_id,),
    )
    for row in invoices:
        number = row_str(row, "bill_to_customer_number")
        sales[number] = sales.get(number, Decimal(0)) + to_lcy(
            row_decimal(row, "total_excl"), row_str(row, "currency_code"), rates
        )
    out: dict[str, _Totals] = {}
    for number in set(sums) | set(sales):
        acc = sums.get(number, {"b": Decimal(0), "d": Decimal(0), "o": Decimal(0)})
        out[number] = _Totals(acc["b"], acc["d"], acc["o"], sales.get(number, Decimal(0)))
    return out


def _customer_json(store: Store, company: sqlite3.Row, row: sqlite3.Row, totals: _Totals) -> Entity:
    currency = row_str(row, "currency_code")
    blocked = row_str(row, "blocked")
    return {
        "@odata.etag": etag(row_str(row, "id"), row_int(row, "version")),
        "id": row_str(row, "id"),
        "number": row_str(row, "number"),
        "displayName": row_str(row, "name"),
        "type": "Company",
        "addressLine1": "",
        "addressLine2": "",
        "city": "",
        "state": "",
        "country": "",
        "postalCode": "",
        "phoneNumber": "",
        "email": row_str(row, "email"),
        "website": "",
        "salespersonCode": "",
        "balanceDue": json_amount(totals.balance_due),
        "creditLimit": Decimal(0),
        "taxLiable": False,
        "taxAreaId": EMPTY_GUID,
        "taxAreaDisplayName": "",
        "taxRegistrationNumber": "",
        "currencyId": currency_id_of(store, row_str(company, "id"), currency),
        "currencyCode": currency or row_str(company, "lcy_code"),
        "paymentTermsId": EMPTY_GUID,
        "shipmentMethodId": EMPTY_GUID,
        "paymentMethodId": EMPTY_GUID,
        "blocked": _BLOCKED_JSON.get(blocked, blocked),
        "lastModifiedDateTime": row_str(row, "modified_at"),
    }


def list_customers(store: Store, cid: str) -> list[Entity]:
    with store.transaction():
        company = company_row(store, cid)
        company_id = row_str(company, "id")
        totals = _customer_totals(store, company_id, store.today())
        rows = store.query("SELECT * FROM customers WHERE company_id = ? ORDER BY number", (company_id,))
        return [_customer_json(store, company, r, totals.get(row_str(r, "number"), _Totals())) for r in rows]


def get_customer(store: Store, cid: str, id: str) -> Entity:
    with store.transaction():
        company = company_row(store, cid)
        row = _customer(store, row_str(company, "id"), id)
        totals = _customer_totals(store, row_str(company, "id"), store.today())
        return _customer_json(store, company, row, totals.get(row_str(row, "number"), _Totals()))


def customer_financial_details(store: Store, cid: str, customer_id: str) -> Entity:
    """``customers({id})/customerFinancialDetails``: balance (LCY), sales excl. tax, overdue amount.

    The balance comes from the customer ledger, so it drops as payments are posted.
    """
    with store.transaction():
        company = company_row(store, cid)
        row = _customer(store, row_str(company, "id"), customer_id)
        totals = _customer_totals(store, row_str(company, "id"), store.today()).get(row_str(row, "number"), _Totals())
        return {
            "@odata.etag": etag(row_str(row, "id"), row_int(row, "version")),
            "id": row_str(row, "id"),
            "number": row_str(row, "number"),
            "balance": json_amount(totals.balance),
            "totalSalesExcludingTax": json_amount(totals.sales_excl),
            "overdueAmount": json_amount(totals.overdue),
        }


def customer_ledger_entries(store: Store, cid: str, customer_number: str | None = None) -> list[Entity]:
    """The sandbox's customer ledger (not an API v2.0 entity: BC has no such endpoint).

    For tests and for inspecting what a posting did; amounts as ``Decimal``.
    """
    with store.transaction():
        company_id = row_str(company_row(store, cid), "id")
        sql = "SELECT * FROM cust_ledger_entries WHERE company_id = ?"
        params: list[object] = [company_id]
        if customer_number is not None:
            sql += " AND customer_number = ?"
            params.append(customer_number)
        return [
            {
                "entryNumber": row_int(r, "entry_no"),
                "customerNumber": row_str(r, "customer_number"),
                "documentType": row_str(r, "document_type"),
                "documentNumber": row_str(r, "document_number"),
                "externalDocumentNumber": row_str(r, "external_document_number"),
                "description": row_str(r, "description"),
                "postingDate": row_str(r, "posting_date"),
                "dueDate": row_str(r, "due_date"),
                "currencyCode": row_str(r, "currency_code"),
                "amount": json_amount(row_decimal(r, "amount")),
                "amountLcy": json_amount(row_decimal(r, "amount_lcy")),
                "remainingAmount": json_amount(row_decimal(r, "remaining_amount")),
                "open": bool(row_int(r, "open")),
            }
            for r in store.query(sql + " ORDER BY entry_no", params)
        ]
