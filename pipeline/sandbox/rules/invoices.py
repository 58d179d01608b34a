"""Sales invoices: drafts, their lines, posting them, and the number series they draw from.

The import never creates invoices; the sandbox has them so that tests and the demo seed have open
invoices (with BC's statuses and remaining amounts) for payments to apply to. ``next_series_number``
is also the payments' and posting's number series.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from pipeline.sandbox.errors import dialog, not_found
from pipeline.sandbox.rules.bodies import Prop, assigned, conversion_error, duplicate_key, read_body
from pipeline.sandbox.rules.companies import company_row
from pipeline.sandbox.rules.conversions import (
    Entity,
    incstr,
    json_amount,
    json_date,
    json_guid,
    round_cents,
    row_decimal,
    row_int,
    row_str,
)
from pipeline.sandbox.rules.customers import (
    currency_id_of,
    customer_by_number,
    exchange_rates,
    party_by_id,
    party_by_number,
    to_lcy,
)
from pipeline.sandbox.rules.etags import etag
from pipeline.sandbox.rules.ledger import post_sales_invoice_gl
from pipeline.sandbox.rules.texts import (
    BILL_TO_NOT_FOUND,
    BILL_TO_VALUES_DONT_MATCH,
    CURRENCY_CODE_NOT_FOUND,
    CURRENCY_ID_NOT_FOUND,
    CURRENCY_VALUES_DONT_MATCH,
    CUSTOMER_BLOCKED,
    DRAFT_INVOICE_ONLY,
    NO_INVOICE_LINES,
    SELL_TO_NOT_FOUND,
    SELL_TO_NOT_PROVIDED,
    SELL_TO_VALUES_DONT_MATCH,
)
from pipeline.sandbox.store import EMPTY_GUID, Store, money, new_id

PAYMENT_TERMS_DAYS = 14
DRAFT_INVOICE_SERIES = "S-INV"
POSTED_INVOICE_SERIES = "S-INV+"


def _invoice_entries(store: Store, company_id: str) -> dict[str, sqlite3.Row]:
    rows = store.query(
        "SELECT * FROM cust_ledger_entries WHERE company_id = ? AND document_type = 'Invoice' AND invoice_id <> ''",
        (company_id,),
    )
    return {row_str(r, "invoice_id"): r for r in rows}


def _invoice_status(row: sqlite3.Row, entry: sqlite3.Row | None) -> str:
    """BC's status mapping (Sales Invoice Aggregator): a released draft is already ``Open``."""
    if row_int(row, "posted"):
        if row_int(row, "canceled"):
            return "Canceled"
        if row_int(row, "corrective"):
            return "Corrective"
        if entry is not None and not row_int(entry, "open"):
            return "Paid"
        return "Open"
    draft = row_str(row, "draft_status")
    if draft == "Pending Approval":
        return "In_x0020_Review"
    if draft in ("Released", "Pending Prepayment"):
        return "Open"
    return "Draft"


def _remaining(row: sqlite3.Row, entry: sqlite3.Row | None) -> Decimal:
    """The page's calculated ``remainingAmount``: drafts owe their total, cancelled ones nothing."""
    if not row_int(row, "posted"):
        return row_decimal(row, "total_incl")
    if row_int(row, "canceled"):
        return Decimal(0)
    return row_decimal(entry, "remaining_amount") if entry is not None else Decimal(0)


def _invoice_json(store: Store, company: sqlite3.Row, row: sqlite3.Row, entry: sqlite3.Row | None) -> Entity:
    company_id = row_str(company, "id")
    sell = customer_by_number(store, company_id, row_str(row, "sell_to_customer_number"))
    bill = customer_by_number(store, company_id, row_str(row, "bill_to_customer_number"))
    currency = row_str(row, "currency_code")
    return {
        "@odata.etag": etag(row_str(row, "id"), row_int(row, "version")),
        "id": row_str(row, "id"),
        "number": row_str(row, "number"),
        "externalDocumentNumber": row_str(row, "external_document_number"),
        "invoiceDate": json_date(row_str(row, "invoice_date")),
        "postingDate": json_date(row_str(row, "posting_date")),
        "dueDate": json_date(row_str(row, "due_date")),
        "customerPurchaseOrderReference": row_str(row, "your_reference"),
        "customerId": row_str(sell, "id") if sell else EMPTY_GUID,
        "customerNumber": row_str(row, "sell_to_customer_number"),
        "customerName": row_str(sell, "name") if sell else "",
        "billToName": row_str(bill, "name") if bill else "",
        "billToCustomerId": row_str(bill, "id") if bill else EMPTY_GUID,
        "billToCustomerNumber": row_str(row, "bill_to_customer_number"),
        "currencyId": currency_id_of(store, company_id, currency),
        "currencyCode": currency or row_str(company, "lcy_code"),
        "pricesIncludeTax": False,
        "remainingAmount": json_amount(_remaining(row, entry)),
        "discountAmount": Decimal(0),
        "discountAppliedBeforeTax": True,
        "totalAmountExcludingTax": json_amount(row_decimal(row, "total_excl")),
        "totalTaxAmount": json_amount(row_decimal(row, "total_tax")),
        "totalAmountIncludingTax": json_amount(row_decimal(row, "total_incl")),
        "status": _invoice_status(row, entry),
        "lastModifiedDateTime": row_str(row, "modified_at"),
    }


def _invoice(store: Store, company_id: str, invoice_id: str) -> sqlite3.Row:
    key = json_guid(invoice_id)
    row = (
        store.query_one("SELECT * FROM sales_invoices WHERE company_id = ? AND id = ?", (company_id, key))
        if key
        else None
    )
    if row is None:
        raise not_found("Sales Invoice Entity Aggregate")
    return row


def list_sales_invoices(store: Store, cid: str) -> list[Entity]:
    """Drafts and posted invoices together, as BC's aggregate table holds them."""
    with store.transaction():
        company = company_row(store, cid)
        company_id = row_str(company, "id")
        entries = _invoice_entries(store, company_id)
        rows = store.query("SELECT * FROM sales_invoices WHERE company_id = ? ORDER BY number, posted", (company_id,))
        return [_invoice_json(store, company, r, entries.get(row_str(r, "id"))) for r in rows]


def get_sales_invoice(store: Store, cid: str, id: str) -> Entity:
    with store.transaction():
        company = company_row(store, cid)
        row = _invoice(store, row_str(company, "id"), id)
        return _invoice_json(
            store, company, row, _invoice_entries(store, row_str(company, "id")).get(row_str(row, "id"))
        )


def _invoice_line_json(row: sqlite3.Row) -> Entity:
    excl = row_decimal(row, "amount_excl")
    tax = row_decimal(row, "tax_amount")
    incl = row_decimal(row, "amount_incl")
    return {
        "@odata.etag": etag(row_str(row, "id"), row_int(row, "version")),
        "id": row_str(row, "id"),
        "documentId": row_str(row, "invoice_id"),
        "sequence": row_int(row, "sequence"),
        "itemId": EMPTY_GUID,
        "accountId": EMPTY_GUID,
        "lineType": row_str(row, "line_type"),
        "lineObjectNumber": row_str(row, "line_object_number"),
        "description": row_str(row, "description"),
        "unitOfMeasureCode": "",
        "quantity": json_amount(row_decimal(row, "quantity")),
        "unitPrice": json_amount(row_decimal(row, "unit_price")),
        "discountAmount": Decimal(0),
        "discountPercent": Decimal(0),
        "amountExcludingTax": json_amount(excl),
        "taxCode": "",
        "taxPercent": json_amount(row_decimal(row, "tax_percent")),
        "totalTaxAmount": json_amount(tax),
        "amountIncludingTax": json_amount(incl),
        "netAmount": json_amount(excl),
        "netTaxAmount": json_amount(tax),
        "netAmountIncludingTax": json_amount(incl),
        "shipmentDate": "0001-01-01",
    }


def list_sales_invoice_lines(store: Store, cid: str, invoice_id: str) -> list[Entity]:
    with store.transaction():
        company_id = row_str(company_row(store, cid), "id")
        invoice = _invoice(store, company_id, invoice_id)
        rows = store.query(
            "SELECT * FROM sales_invoice_lines WHERE invoice_id = ? ORDER BY sequence", (row_str(invoice, "id"),)
        )
        return [_invoice_line_json(r) for r in rows]


_INVOICE_PROPS: dict[str, Prop] = {
    "id": Prop("guid", read_only=True),
    "number": Prop("code", 20, read_only=True),
    "externalDocumentNumber": Prop("code", 35),
    "invoiceDate": Prop("date"),
    "postingDate": Prop("date"),
    "dueDate": Prop("date"),
    "customerPurchaseOrderReference": Prop("text", 35),
    "customerId": Prop("guid"),
    "customerNumber": Prop("code", 20),
    "customerName": Prop("text", 100, read_only=True),
    "billToName": Prop("text", 100, read_only=True),
    "billToCustomerId": Prop("guid"),
    "billToCustomerNumber": Prop("code", 20),
    "currencyId": Prop("guid"),
    "currencyCode": Prop("code", 10),
    "pricesIncludeTax": Prop("bool", read_only=True),
    "remainingAmount": Prop("decimal", read_only=True),
    "salesInvoiceLines": Prop("nav"),
    "discountAmount": Prop("decimal", read_only=True),
    "discountAppliedBeforeTax": Prop("bool", read_only=True),
    "totalAmountExcludingTax": Prop("decimal", read_only=True),
    "totalTaxAmount": Prop("decimal", read_only=True),
    "totalAmountIncludingTax": Prop("decimal", read_only=True),
    "status": Prop("text", read_only=True),
    "lastModifiedDateTime": Prop("datetime", read_only=True),
}
_INVOICE_LINE_PROPS: dict[str, Prop] = {
    "id": Prop("guid", read_only=True),
    "documentId": Prop("guid", read_only=True),
    "sequence": Prop("int"),
    "lineType": Prop("text"),
    "lineObjectNumber": Prop("code", 20),
    "description": Prop("text", 100),
    "quantity": Prop("decimal"),
    "unitPrice": Prop("decimal"),
    "taxPercent": Prop("decimal", read_only=True),
    "amountExcludingTax": Prop("decimal", read_only=True),
    "totalTaxAmount": Prop("decimal", read_only=True),
    "amountIncludingTax": Prop("decimal", read_only=True),
}
_LINE_TYPES = ("Comment", "Account", "Item", "Resource")


def next_series_number(store: Store, company_id: str, code: str, *, consume: bool) -> str:
    """The next number of a No. Series (``consume=False`` is BC's "peek"); '' without a series."""
    row = store.query_one("SELECT * FROM no_series WHERE company_id = ? AND code = ?", (company_id, code))
    if row is None:
        return ""
    last = row_str(row, "last_no_used")
    number = incstr(last) if last else row_str(row, "starting_no")
    if consume:
        store.execute(
            "UPDATE no_series SET last_no_used = ? WHERE company_id = ? AND code = ?", (number, company_id, code)
        )
    return number


def ensure_invoice_series(store: Store, company_id: str) -> None:
    """The draft and posted sales invoice number series (CRONUS numbering: 1001, 103001)."""
    for code, start in ((DRAFT_INVOICE_SERIES, "1001"), (POSTED_INVOICE_SERIES, "103001")):
        store.execute(
            "INSERT OR IGNORE INTO no_series (company_id, code, starting_no) VALUES (?, ?, ?)",
            (company_id, code, start),
        )


def create_sales_invoice(store: Store, cid: str, body: Mapping[str, Any]) -> Entity:
    """POST salesInvoices: a draft (status Draft) with its lines (deep insert of salesInvoiceLines).

    Tax is the company's VAT rate for invoices in local currency and 0 for foreign-currency
    invoices; the due date defaults to the invoice date plus the sandbox's payment terms.
    """
    with store.transaction():
        company = company_row(store, cid)
        company_id = row_str(company, "id")
        values = read_body(body, _INVOICE_PROPS, "salesInvoice")
        sell: sqlite3.Row | None = None
        bill: sqlite3.Row | None = None
        currency: str | None = None
        currency_from_id: str | None = None
        fields: dict[str, str] = {}
        lines: list[Mapping[str, Any]] = []
        for name, value in assigned(values, _INVOICE_PROPS):
            if name == "customerId":
                sell = party_by_id(store, company_id, value, SELL_TO_NOT_FOUND)
            elif name == "customerNumber":
                sell = party_by_number(store, company_id, value, sell, SELL_TO_NOT_FOUND, SELL_TO_VALUES_DONT_MATCH)
            elif name == "billToCustomerId":
                bill = party_by_id(store, company_id, value, BILL_TO_NOT_FOUND)
            elif name == "billToCustomerNumber":
                bill = party_by_number(store, company_id, value, bill, BILL_TO_NOT_FOUND, BILL_TO_VALUES_DONT_MATCH)
            elif name == "currencyId":
                if value == EMPTY_GUID:
                    currency_from_id = ""
                else:
                    row = store.query_one(
                        "SELECT code FROM currencies WHERE company_id = ? AND id = ?", (company_id, value)
                    )
                    if row is None:
                        raise dialog(CURRENCY_ID_NOT_FOUND)
                    currency_from_id = row_str(row, "code")
                currency = currency_from_id
            elif name == "currencyCode":
                code = "" if value == row_str(company, "lcy_code") else value
                if currency_from_id:
                    if currency_from_id != code:
                        raise dialog(CURRENCY_VALUES_DONT_MATCH)
                    continue
                if (
                    code
                    and store.query_one(
                        "SELECT 1 FROM currencies WHERE company_id = ? AND code = ?", (company_id, code)
                    )
                    is None
                ):
                    raise dialog(CURRENCY_CODE_NOT_FOUND)
                currency = code
            elif name == "salesInvoiceLines":
                lines = value
            else:
                fields[name] = value
        if sell is None:
            raise dialog(SELL_TO_NOT_PROVIDED)
        if bill is None:
            bill = sell
        if currency is None:
            currency = row_str(bill, "currency_code")
        today = store.today()
        invoice_date = fields.get("invoiceDate") or today.isoformat()
        posting_date = fields.get("postingDate") or today.isoformat()
        due_date = (
            fields.get("dueDate") or (date.fromisoformat(invoice_date) + timedelta(PAYMENT_TERMS_DAYS)).isoformat()
        )
        invoice_id = new_id()
        now = store.now_text()
        ensure_invoice_series(store, company_id)
        number = next_series_number(store, company_id, DRAFT_INVOICE_SERIES, consume=True)
        store.execute(
            "INSERT INTO sales_invoices (id, company_id, number, posted, draft_status, sell_to_customer_number, "
            "bill_to_customer_number, currency_code, external_document_number, your_reference, invoice_date, "
            "posting_date, due_date, created_at, modified_at) "
            "VALUES (?, ?, ?, 0, 'Open', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                invoice_id,
                company_id,
                number,
                row_str(sell, "number"),
                row_str(bill, "number"),
                currency,
                fields.get("externalDocumentNumber", ""),
                fields.get("customerPurchaseOrderReference", ""),
                invoice_date,
                posting_date,
                due_date,
                now,
                now,
            ),
        )
        tax_percent = Decimal(row_str(company, "vat_percent")) if not currency else Decimal(0)
        for line_body in lines:
            _insert_invoice_line(store, invoice_id, line_body, tax_percent, now)
        _update_invoice_totals(store, invoice_id)
        row = _invoice(store, company_id, invoice_id)
        return _invoice_json(store, company, row, None)


def _insert_invoice_line(
    store: Store, invoice_id: str, body: Mapping[str, Any], tax_percent: Decimal, now: str
) -> None:
    values = read_body(body, _INVOICE_LINE_PROPS, "salesInvoiceLine")
    fields = dict(assigned(values, _INVOICE_LINE_PROPS))
    line_type = str(fields.get("lineType") or "Item")
    if line_type not in _LINE_TYPES:
        raise conversion_error(line_type, "text")
    sequence = int(fields.get("sequence") or 0)
    if sequence == 0:
        last = store.query_one("SELECT MAX(sequence) AS m FROM sales_invoice_lines WHERE invoice_id = ?", (invoice_id,))
        sequence = (int(last["m"]) if last is not None and last["m"] is not None else 0) + 10000
    elif store.query_one(
        "SELECT 1 FROM sales_invoice_lines WHERE invoice_id = ? AND sequence = ?", (invoice_id, sequence)
    ):
        raise duplicate_key("Sales Line", [("Document Type", "Invoice"), ("Line No.", sequence)])
    quantity = Decimal(fields.get("quantity", Decimal(0)))
    unit_price = Decimal(fields.get("unitPrice", Decimal(0)))
    if line_type == "Comment":
        quantity = unit_price = Decimal(0)
        percent = Decimal(0)
    else:
        percent = tax_percent
    excl = round_cents(quantity * unit_price)
    tax = round_cents(excl * percent / 100)
    store.execute(
        "INSERT INTO sales_invoice_lines (id, invoice_id, sequence, line_type, line_object_number, description, "
        "quantity, unit_price, tax_percent, amount_excl, tax_amount, amount_incl, modified_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            new_id(),
            invoice_id,
            sequence,
            line_type,
            str(fields.get("lineObjectNumber", "")),
            str(fields.get("description", "")),
            money(quantity),
            money(unit_price),
            money(percent),
            money(excl),
            money(tax),
            money(excl + tax),
            now,
        ),
    )


def _update_invoice_totals(store: Store, invoice_id: str) -> None:
    excl = tax = Decimal(0)
    for row in store.query(
        "SELECT amount_excl, tax_amount FROM sales_invoice_lines WHERE invoice_id = ?", (invoice_id,)
    ):
        excl += row_decimal(row, "amount_excl")
        tax += row_decimal(row, "tax_amount")
    store.execute(
        "UPDATE sales_invoices SET total_excl = ?, total_tax = ?, total_incl = ? WHERE id = ?",
        (money(excl), money(tax), money(excl + tax), invoice_id),
    )


def post_invoice_entry(store: Store, company_id: str, invoice: sqlite3.Row, description: str) -> None:
    """The customer ledger entry and the G/L entries a posted invoice creates (shared with the
    seeding code, so seeded posted invoices have their G/L entries too)."""
    rates = exchange_rates(store, company_id)
    post_sales_invoice_gl(store, company_id, invoice, description, rates, store.now_text())
    total = row_decimal(invoice, "total_incl")
    currency = row_str(invoice, "currency_code")
    total_lcy = to_lcy(total, currency, rates)
    store.execute(
        "INSERT INTO cust_ledger_entries (company_id, customer_number, document_type, document_number, "
        "external_document_number, description, posting_date, due_date, currency_code, amount, amount_lcy, "
        "remaining_amount, remaining_amount_lcy, open, invoice_id, created_at) "
        "VALUES (?, ?, 'Invoice', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            company_id,
            row_str(invoice, "bill_to_customer_number"),
            row_str(invoice, "number"),
            row_str(invoice, "external_document_number"),
            description,
            row_str(invoice, "posting_date"),
            row_str(invoice, "due_date"),
            currency,
            money(total),
            money(total_lcy),
            money(total),
            money(total_lcy),
            1 if total != 0 else 0,
            row_str(invoice, "id"),
            store.now_text(),
        ),
    )


def post_sales_invoice(store: Store, cid: str, id: str) -> None:
    """``salesInvoices({id})/Microsoft.NAV.post``: the draft becomes a posted, open invoice.

    The id stays the same (BC keeps the draft's id on the posted invoice); the number becomes the
    next posted-invoice number; the customer ledger gets the invoice, so ``remainingAmount`` equals
    the total. Answer 204.
    """
    with store.transaction():
        company_id = row_str(company_row(store, cid), "id")
        row = _invoice(store, company_id, id)
        if row_int(row, "posted"):
            raise dialog(DRAFT_INVOICE_ONLY)
        has_lines = store.query_one(
            "SELECT 1 FROM sales_invoice_lines WHERE invoice_id = ? AND line_type <> 'Comment'", (row_str(row, "id"),)
        )
        if has_lines is None:
            raise dialog(NO_INVOICE_LINES)
        for number in (row_str(row, "sell_to_customer_number"), row_str(row, "bill_to_customer_number")):
            customer = customer_by_number(store, company_id, number)
            if customer is not None and row_str(customer, "blocked") in ("Invoice", "All"):
                raise dialog(
                    CUSTOMER_BLOCKED.format(action="post", number=number, blocked=row_str(customer, "blocked"))
                )
        ensure_invoice_series(store, company_id)
        posted_number = next_series_number(store, company_id, POSTED_INVOICE_SERIES, consume=True)
        posting_date = row_str(row, "posting_date") or store.today().isoformat()
        now = store.now_text()
        store.execute(
            "UPDATE sales_invoices SET posted = 1, number = ?, posting_date = ?, modified_at = ?, "
            "version = version + 1 WHERE id = ?",
            (posted_number, posting_date, now, row_str(row, "id")),
        )
        posted = _invoice(store, company_id, row_str(row, "id"))
        post_invoice_entry(store, company_id, posted, f"Invoice {posted_number}")
