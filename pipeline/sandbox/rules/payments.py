"""``customerPayments``: journal lines of the customer-payments page, with BC's field triggers.

The core of the emulation: body fields validated in page order, the insert algorithm (line
numbers, copy-from line, document numbers), applies-to resolution, blocked customers, and the
nested and top-level list/get/patch/delete operations. Posting reads the same lines, so the line
model (``PaymentLine``) and its look-ups are public to it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from pipeline.sandbox.errors import SandboxApiError, dialog, not_found
from pipeline.sandbox.rules.batches import default_template, journal_by_id_any_template, journal_row
from pipeline.sandbox.rules.bodies import Prop, assigned, duplicate_key, field_validation, read_body, record_not_found
from pipeline.sandbox.rules.companies import company_row
from pipeline.sandbox.rules.conversions import (
    Entity,
    al_guid,
    incstr,
    json_amount,
    json_date,
    json_guid,
    row_decimal,
    row_int,
    row_str,
)
from pipeline.sandbox.rules.customers import (
    amount_precision,
    check_exchange_rate,
    customer_by_id,
    customer_by_number,
    exchange_rates,
    round_amount,
    to_lcy,
)
from pipeline.sandbox.rules.etags import check_if_match, etag
from pipeline.sandbox.rules.invoices import next_series_number
from pipeline.sandbox.rules.setup import (
    BLANK_DATE,
    copy_default_dimensions,
    list_dimension_set_lines,
    refuse_dimension_writes,
)
from pipeline.sandbox.rules.texts import (
    APPLIES_TO_INVOICE_ID_NOT_FOUND,
    APPLIES_TO_VALUES_DONT_MATCH,
    CANNOT_EDIT_BATCH_NAME,
    CANNOT_EDIT_JOURNAL_ID,
    CUSTOMER_BLOCKED,
    CUSTOMER_ID_NOT_FOUND,
    CUSTOMER_VALUES_DONT_MATCH,
    FILTERS_NOT_SPECIFIED,
    JOURNAL_ID_NAME_MISMATCH,
    LINE_SCHEDULED_FOR_POSTING,
)
from pipeline.sandbox.store import EMPTY_GUID, Store, money, new_id


@dataclass
class PaymentLine:
    """A Gen. Journal Line as the payment rules see it (``account_no`` is "Account No.")."""

    id: str
    journal_id: str
    line_number: int
    document_type: str = "Payment"
    account_type: str = "Customer"
    applies_to_doc_type: str = "Invoice"
    customer_id: str = EMPTY_GUID
    account_no: str = ""
    currency_code: str = ""
    posting_date: str = ""
    document_number: str = ""
    external_document_number: str = ""
    amount: Decimal = field(default_factory=Decimal)
    applies_to_invoice_id: str = EMPTY_GUID
    applies_to_invoice_number: str = ""
    description: str = ""
    comment: str = ""
    bal_account_number: str = ""
    modified_at: str = ""
    version: int = 1
    job_queue_status: str = ""

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> PaymentLine:
        return cls(
            id=row_str(row, "id"),
            journal_id=row_str(row, "journal_id"),
            line_number=row_int(row, "line_number"),
            document_type=row_str(row, "document_type"),
            account_type=row_str(row, "account_type"),
            applies_to_doc_type=row_str(row, "applies_to_doc_type"),
            customer_id=row_str(row, "customer_id"),
            account_no=row_str(row, "customer_number"),
            currency_code=row_str(row, "currency_code"),
            posting_date=row_str(row, "posting_date"),
            document_number=row_str(row, "document_number"),
            external_document_number=row_str(row, "external_document_number"),
            amount=row_decimal(row, "amount"),
            applies_to_invoice_id=row_str(row, "applies_to_invoice_id"),
            applies_to_invoice_number=row_str(row, "applies_to_invoice_number"),
            description=row_str(row, "description"),
            comment=row_str(row, "comment"),
            bal_account_number=row_str(row, "bal_account_number"),
            modified_at=row_str(row, "modified_at"),
            version=row_int(row, "version"),
            job_queue_status=row_str(row, "job_queue_status"),
        )

    def empty(self) -> bool:
        """BC's ``EmptyLine()``: no account and no amount."""
        return self.account_no == "" and self.amount == 0

    def balance_lcy(self, rates: Mapping[str, Decimal]) -> Decimal:
        """``Balance (LCY)``: 0 when the line has both an account and a balancing account."""
        amount_lcy = to_lcy(self.amount, self.currency_code, rates)
        if self.account_no and self.bal_account_number:
            return Decimal(0)
        if self.bal_account_number:
            return -amount_lcy
        return amount_lcy


def _payment_json(line: PaymentLine, journal_code: str) -> Entity:
    return {
        "@odata.etag": etag(line.id, line.version),
        "id": line.id,
        "journalId": line.journal_id,
        "journalDisplayName": journal_code,
        "lineNumber": line.line_number,
        "customerId": line.customer_id,
        "customerNumber": line.account_no,
        "postingDate": json_date(line.posting_date),
        "documentNumber": line.document_number,
        "externalDocumentNumber": line.external_document_number,
        "amount": json_amount(line.amount),
        "appliesToInvoiceId": line.applies_to_invoice_id,
        "appliesToInvoiceNumber": line.applies_to_invoice_number,
        "description": line.description,
        "comment": line.comment,
        "lastModifiedDateTime": line.modified_at,
    }


_PAYMENT_PROPS: dict[str, Prop] = {
    "id": Prop("guid", read_only=True),
    "journalId": Prop("guid"),
    "journalDisplayName": Prop("code", 10),
    "lineNumber": Prop("int"),
    "customerId": Prop("guid"),
    "customerNumber": Prop("code", 20),
    "postingDate": Prop("date"),
    "documentNumber": Prop("code", 20),
    "externalDocumentNumber": Prop("code", 35),
    "amount": Prop("decimal"),
    "appliesToInvoiceId": Prop("guid"),
    "appliesToInvoiceNumber": Prop("code", 20),
    "description": Prop("text", 100),
    "comment": Prop("text", 250),
    "lastModifiedDateTime": Prop("datetime", read_only=True),
    "dimensionSetLines": Prop("nav"),
}
SCHEDULED = "Scheduled for Posting"
"""Gen. Journal Line "Job Queue Status" of a line the job queue is to post."""
_PAYMENT_FILTER = "document_type = 'Payment' AND account_type = 'Customer' AND applies_to_doc_type = 'Invoice'"


def lines_of(store: Store, journal_id: str) -> list[PaymentLine]:
    """Every line of a batch (all types), in Line No. order."""
    rows = store.query("SELECT * FROM journal_lines WHERE journal_id = ? ORDER BY line_number", (journal_id,))
    return [PaymentLine.from_row(r) for r in rows]


def _journal_code(store: Store, journal_id: str) -> str:
    row = store.query_one("SELECT code FROM journals WHERE id = ?", (journal_id,))
    return row_str(row, "code") if row else ""


@dataclass
class _Page:
    """The page's state while the body's fields are validated: ``Rec`` plus the page globals.

    ``customer`` and ``invoice`` are the page's global records that the id triggers fill and
    the number triggers compare against (the source of the "values do not match" errors).
    """

    store: Store
    company_id: str
    rec: PaymentLine
    invoice_number_text: str
    invoice_id_text: str
    x_account_name: str
    customer: sqlite3.Row | None = None
    invoice: sqlite3.Row | None = None


def _posted_invoice_by_id(page: _Page, invoice_id: str) -> sqlite3.Row | None:
    return page.store.query_one(
        "SELECT * FROM sales_invoices WHERE company_id = ? AND posted = 1 AND id = ?", (page.company_id, invoice_id)
    )


def _posted_invoice_by_number(page: _Page, number: str) -> sqlite3.Row | None:
    return page.store.query_one(
        "SELECT * FROM sales_invoices WHERE company_id = ? AND posted = 1 AND number = ?", (page.company_id, number)
    )


def _invoice_payer(invoice: sqlite3.Row) -> str:
    """Who pays an invoice: its Bill-to customer, else its Sell-to customer."""
    return row_str(invoice, "bill_to_customer_number") or row_str(invoice, "sell_to_customer_number")


def check_blocked(customer: sqlite3.Row, document_type: str, action: str) -> None:
    """``CheckBlockedCustOnJnls``: All always blocks; Invoice blocks blank and Invoice documents."""
    blocked = row_str(customer, "blocked")
    if blocked == "All" or (blocked == "Invoice" and document_type in ("", "Invoice")):
        raise dialog(CUSTOMER_BLOCKED.format(action=action, number=row_str(customer, "number"), blocked=blocked))


def _validate_account(rec: PaymentLine, customer: sqlite3.Row, x_account_name: str) -> None:
    """The table's "Account No." OnValidate for a customer: blocked check, name, currency, id.

    The description follows the customer unless it was typed by hand (BC's
    ``IsAdHocDescription``: non-empty and not the previous account's name).
    """
    check_blocked(customer, rec.document_type, "create")
    ad_hoc = rec.description != "" and (x_account_name == "" or rec.description != x_account_name)
    if not ad_hoc:
        rec.description = row_str(customer, "name")
    rec.currency_code = row_str(customer, "currency_code")
    rec.customer_id = row_str(customer, "id")


def _payment_field(page: _Page, name: str, value: Any, xrec: PaymentLine | None, x_journal_code: str) -> None:
    """One control of page 30055 assigned and validated (table trigger, then page trigger)."""
    rec = page.rec
    if name == "journalId":
        if xrec is not None and xrec.journal_id != EMPTY_GUID and xrec.journal_id != value:
            raise dialog(CANNOT_EDIT_JOURNAL_ID)
        rec.journal_id = value
    elif name == "journalDisplayName":
        if xrec is not None and x_journal_code != "" and x_journal_code != value:
            raise dialog(CANNOT_EDIT_BATCH_NAME)
    elif name == "lineNumber":
        rec.line_number = value
    elif name == "customerId":
        rec.customer_id = value
        if value == EMPTY_GUID:
            rec.account_no = ""
            return
        customer = customer_by_id(page.store, page.company_id, value)
        if customer is None:
            raise dialog(CUSTOMER_ID_NOT_FOUND)
        page.customer = customer
        rec.account_no = row_str(customer, "number")
        _validate_account(rec, customer, page.x_account_name)
    elif name == "customerNumber":
        if page.customer is not None:
            if row_str(page.customer, "number") != value:
                raise dialog(CUSTOMER_VALUES_DONT_MATCH)
            return
        rec.account_no = value
        if value == "":
            rec.customer_id = EMPTY_GUID
            return
        customer = customer_by_number(page.store, page.company_id, value)
        if customer is None:
            raise account_not_in_related_table(value)
        _validate_account(rec, customer, page.x_account_name)
    elif name == "postingDate":
        if value == BLANK_DATE and xrec is not None:
            # the table's "Posting Date" OnValidate starts with TestField("Posting Date")
            raise field_validation(
                f"Posting Date must have a value in {_where(page, rec)}. It cannot be zero or empty."
            )
        rec.posting_date = "" if value == BLANK_DATE else value
    elif name == "documentNumber":
        rec.document_number = value
    elif name == "externalDocumentNumber":
        rec.external_document_number = value
    elif name == "amount":
        rec.amount = round_amount(value, amount_precision(page.store, page.company_id, rec.currency_code))
    elif name == "appliesToInvoiceId":
        page.invoice_id_text = value
        rec.applies_to_invoice_id = value
        if value == EMPTY_GUID:
            page.invoice_number_text = ""
            return
        invoice = _posted_invoice_by_id(page, value)
        if invoice is None:
            raise dialog(APPLIES_TO_INVOICE_ID_NOT_FOUND)
        page.invoice = invoice
        page.invoice_number_text = row_str(invoice, "number")
        if rec.account_no == "":
            rec.account_no = _invoice_payer(invoice)
    elif name == "appliesToInvoiceNumber":
        page.invoice_number_text = value
        rec.applies_to_invoice_number = value
        if page.invoice is not None:
            if row_str(page.invoice, "number") != value:
                raise dialog(APPLIES_TO_VALUES_DONT_MATCH)
            return
        invoice = _posted_invoice_by_number(page, value) if value else None
        if invoice is None:
            page.invoice_id_text = EMPTY_GUID
            return
        page.invoice_id_text = row_str(invoice, "id")
        if rec.account_no == "":
            rec.account_no = _invoice_payer(invoice)
    elif name == "description":
        rec.description = value
    elif name == "comment":
        rec.comment = value
    elif name == "dimensionSetLines" and value:
        raise refuse_dimension_writes()


def account_not_in_related_table(number: str) -> SandboxApiError:
    """An unknown customer number fails the page field's ``TableRelation = Customer`` before any
    trigger runs (platform validation; dynamics-error-codes NavCSideValidateTableRelationException),
    so the page's 'does not match to a Customer' text is never reached for it."""
    return SandboxApiError(
        400,
        "Internal_InvalidTableRelation",
        f"The field Account No. of table Gen. Journal Line contains a value ({number}) that cannot be found "
        "in the related table (Customer).",
    )


def _where(page: _Page, rec: PaymentLine) -> str:
    journal = page.store.query_one("SELECT template_name, code FROM journals WHERE id = ?", (rec.journal_id,))
    template, batch = (row_str(journal, "template_name"), row_str(journal, "code")) if journal else ("", "")
    return (
        f"Gen. Journal Line: Journal Template Name={template}, Journal Batch Name={batch}, Line No.={rec.line_number}"
    )


def refuse_if_scheduled(line: PaymentLine) -> None:
    """A line the job queue is to post cannot be changed or deleted (``CheckJobQueueStatus``)."""
    if line.job_queue_status == SCHEDULED:
        raise dialog(LINE_SCHEDULED_FOR_POSTING)


def _process_applies_to(page: _Page) -> None:
    """The page's ``ProcessAppliesToInvoiceNumberAndId`` before insert and modify."""
    if page.invoice_number_text != "":
        page.rec.applies_to_invoice_number = page.invoice_number_text
    page.rec.applies_to_invoice_id = page.invoice_id_text


def _balance_cents(store: Store, company_id: str, line: PaymentLine) -> int:
    """The line's ``Balance (LCY)`` in cents; BC stores it on the line, and so does the sandbox,
    so that the batch balance the insert algorithm needs is one indexed SUM."""
    return int(line.balance_lcy(exchange_rates(store, company_id)) * 100)


def _insert_line(store: Store, company_id: str, line: PaymentLine, now: str) -> None:
    store.execute(
        "INSERT INTO journal_lines (id, company_id, journal_id, line_number, document_type, account_type, "
        "applies_to_doc_type, customer_id, customer_number, currency_code, posting_date, document_number, "
        "external_document_number, amount, applies_to_invoice_id, applies_to_invoice_number, description, "
        "comment, bal_account_number, balance_cents, created_at, modified_at, version) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            line.id,
            company_id,
            line.journal_id,
            line.line_number,
            line.document_type,
            line.account_type,
            line.applies_to_doc_type,
            line.customer_id,
            line.account_no,
            line.currency_code,
            line.posting_date,
            line.document_number,
            line.external_document_number,
            money(line.amount),
            line.applies_to_invoice_id,
            line.applies_to_invoice_number,
            line.description,
            line.comment,
            line.bal_account_number,
            _balance_cents(store, company_id, line),
            now,
            now,
            line.version,
        ),
    )


def _line_duplicate(template: str, batch: str, line_number: int) -> SandboxApiError:
    return duplicate_key(
        "Gen. Journal Line",
        [("Journal Template Name", template), ("Journal Batch Name", batch), ("Line No.", line_number)],
    )


def _batch_balance_cents(store: Store, journal_id: str) -> int:
    """The batch's running balance (sum of the lines' ``Balance (LCY)``), in cents."""
    row = store.query_one("SELECT cents AS total FROM journal_balances WHERE journal_id = ?", (journal_id,))
    return int(row["total"]) if row is not None else 0


def _new_line(store: Store, company_id: str, journal: sqlite3.Row, temp: PaymentLine) -> PaymentLine:
    """``OnInsertRecord`` after ``Clear(Rec)``: BC's InitializeLine, SetUpNewLine, SetPaymentsValues."""
    journal_id = row_str(journal, "id")
    last_row = store.query_one(
        "SELECT * FROM journal_lines WHERE journal_id = ? ORDER BY line_number DESC LIMIT 1", (journal_id,)
    )
    last = PaymentLine.from_row(last_row) if last_row is not None else None
    requested = temp.line_number
    copy: PaymentLine | None = None
    bottom = True
    if requested != 0:
        next_row = store.query_one(
            "SELECT * FROM journal_lines WHERE journal_id = ? AND line_number > ? ORDER BY line_number LIMIT 1",
            (journal_id, requested),
        )
        if next_row is not None:
            copy, bottom = PaymentLine.from_row(next_row), False
    if copy is None:
        copy = last
    rec = PaymentLine(id=new_id(), journal_id=journal_id, line_number=requested, document_type="")
    series = row_str(journal, "no_series")
    if copy is not None:
        rec.posting_date = copy.posting_date
        rec.document_number = copy.document_number
        if bottom and not copy.empty() and _batch_balance_cents(store, journal_id) == 0:
            rec.document_number = incstr(rec.document_number)
        rec.document_type = copy.document_type
    else:
        rec.posting_date = store.today().isoformat()
        rec.document_number = next_series_number(store, company_id, series, consume=False) if series else ""
    if requested == 0:
        rec.line_number = (last.line_number if last is not None else 0) + 10000
    rec.external_document_number = temp.external_document_number
    if temp.document_number:
        rec.document_number = temp.document_number
    elif (
        copy is not None
        and copy.document_number == rec.document_number
        and (copy.external_document_number != rec.external_document_number)
    ):
        rec.document_number = incstr(rec.document_number)
    document_number = temp.document_number or rec.document_number
    # SetPaymentsValues, in its order.
    if temp.account_no:
        customer = customer_by_number(store, company_id, temp.account_no)
        if customer is None:
            raise account_not_in_related_table(temp.account_no)
        rec.account_no = temp.account_no
        _validate_account(rec, customer, "")
    if temp.posting_date:
        rec.posting_date = temp.posting_date
    check_exchange_rate(store, company_id, rec.currency_code, rec.posting_date)
    rec.document_type = "Payment"
    rec.document_number = document_number
    rec.amount = round_amount(temp.amount, amount_precision(store, company_id, rec.currency_code))
    rec.applies_to_doc_type = "Invoice"
    rec.applies_to_invoice_number = temp.applies_to_invoice_number
    if temp.applies_to_invoice_id != EMPTY_GUID:
        invoice = store.query_one(
            "SELECT number FROM sales_invoices WHERE company_id = ? AND posted = 1 AND id = ?",
            (company_id, temp.applies_to_invoice_id),
        )
        if invoice is None:
            raise dialog(APPLIES_TO_INVOICE_ID_NOT_FOUND)
        rec.applies_to_invoice_id = temp.applies_to_invoice_id
        rec.applies_to_invoice_number = row_str(invoice, "number")
    if temp.description:
        rec.description = temp.description
    rec.comment = temp.comment
    rec.bal_account_number = row_str(journal, "bal_account_number")
    return rec


def create_payment(store: Store, cid: str, jid: str | None, body: Mapping[str, Any]) -> Entity:
    """POST customerPayments, in a journal (``jid``) or at top level (``jid=None``, the body must
    carry ``journalId``): BC's insert algorithm (bc-api.md 1.3). Answer 201 with the entity.

    The field triggers run first, in page order (customer and invoice checks), then the record
    is rebuilt: line number max+10000 over all lines of the batch, posting date and document
    number from the copy-from line (incremented when the batch balances), customer validated
    again with the copy-from line's document type (so Blocked=Invoice is refused only on the
    first line of an empty batch), description defaulting to the customer's name, ``amount``
    stored as sent. A line number in use is a duplicate key.
    """
    with store.transaction():
        company_id = row_str(company_row(store, cid), "id")
        url_journal = journal_row(store, company_id, jid) if jid is not None else None
        values = read_body(body, _PAYMENT_PROPS, "customerPayment")
        rec = PaymentLine(
            id="", journal_id=row_str(url_journal, "id") if url_journal is not None else EMPTY_GUID, line_number=0
        )
        page = _Page(store, company_id, rec, "", EMPTY_GUID, "")
        for name, value in assigned(values, _PAYMENT_PROPS):
            _payment_field(page, name, value, None, "")
        body_journal = values.get("journalId", EMPTY_GUID)
        if url_journal is not None:
            journal_id = row_str(url_journal, "id")
            if body_journal != EMPTY_GUID and body_journal != journal_id:
                raise dialog(JOURNAL_ID_NAME_MISMATCH)
        elif body_journal == EMPTY_GUID:
            raise dialog(FILTERS_NOT_SPECIFIED)
        else:
            journal_id = body_journal
        _process_applies_to(page)
        temp = replace(rec)
        by_id = journal_by_id_any_template(store, company_id, journal_id)
        if by_id is None:
            raise record_not_found("Gen. Journal Batch", [("SystemId", al_guid(journal_id))])
        template = default_template(store, company_id)
        journal = store.query_one(
            "SELECT * FROM journals WHERE company_id = ? AND template_name = ? AND code = ?",
            (company_id, template, row_str(by_id, "code")),
        )
        if journal is None:
            raise record_not_found(
                "Gen. Journal Batch", [("Journal Template Name", template), ("Name", row_str(by_id, "code"))]
            )
        line = _new_line(store, company_id, journal, temp)
        if store.query_one(
            "SELECT 1 FROM journal_lines WHERE journal_id = ? AND line_number = ?", (line.journal_id, line.line_number)
        ):
            raise _line_duplicate(template, row_str(journal, "code"), line.line_number)
        now = store.now_text()
        line.modified_at = now
        _insert_line(store, company_id, line, now)
        copy_default_dimensions(store, company_id, line.id, line.account_no, line.bal_account_number)
        return _payment_json(line, row_str(journal, "code"))


def _payment_line(store: Store, company_id: str, id: str, jid: str | None) -> PaymentLine:
    """A payment line by id; with a journal in the URL it must belong to that journal."""
    key = json_guid(id)
    row = (
        store.query_one(
            f"SELECT * FROM journal_lines WHERE company_id = ? AND id = ? AND {_PAYMENT_FILTER}", (company_id, key)
        )
        if key
        else None
    )
    if jid is not None:
        journal = journal_row(store, company_id, jid)
        if row is not None and row_str(row, "journal_id") != row_str(journal, "id"):
            row = None
    if row is None:
        raise not_found("Gen. Journal Line")
    return PaymentLine.from_row(row)


def list_payments(store: Store, cid: str, jid: str) -> list[Entity]:
    """``customerPaymentJournals({jid})/customerPayments``: this batch's payment lines, by lineNumber."""
    with store.transaction():
        company_id = row_str(company_row(store, cid), "id")
        journal = journal_row(store, company_id, jid)
        rows = store.query(
            f"SELECT * FROM journal_lines WHERE journal_id = ? AND {_PAYMENT_FILTER} ORDER BY line_number",
            (row_str(journal, "id"),),
        )
        return [_payment_json(PaymentLine.from_row(r), row_str(journal, "code")) for r in rows]


def page_payments(
    store: Store, cid: str, jid: str, offset: int, last_id: object, size: int
) -> tuple[int, list[Entity], Entity | None]:
    """One page of ``customerPaymentJournals({jid})/customerPayments`` read by key, as BC pages.

    Resumes where :func:`pipeline.sandbox.odata.paging.page` would over :func:`list_payments`:
    after the line whose id the token names when it is still in the batch, else at position
    ``offset``. Returns that position, up to ``size + 1`` lines from it (one more tells whether a
    next page exists) and, when none are left, any one line of the batch (its property names).
    Only the page's rows are read and serialised, so reading a batch of L lines page by page costs
    L, not L squared over the page size.
    """
    with store.transaction():
        company_id = row_str(company_row(store, cid), "id")
        journal = journal_row(store, company_id, jid)
        return _page_lines(store, journal, offset, last_id, size)


def page_payments_top_level(
    store: Store, cid: str, journal_filter: str, offset: int, last_id: object, size: int
) -> tuple[int, list[Entity], Entity | None]:
    """:func:`page_payments` for top-level ``customerPayments?$filter=journalId eq {id}``: the page
    :func:`list_payments_top_level` gives for that one id (none for a batch of another template)."""
    with store.transaction():
        company_id = row_str(company_row(store, cid), "id")
        key = json_guid(journal_filter)
        journal = journal_by_id_any_template(store, company_id, key) if key else None
        if journal is None or row_str(journal, "template_name") != default_template(store, company_id):
            return offset, [], None
        return _page_lines(store, journal, offset, last_id, size)


def _page_lines(
    store: Store, journal: sqlite3.Row, offset: int, last_id: object, size: int
) -> tuple[int, list[Entity], Entity | None]:
    journal_id, code = row_str(journal, "id"), row_str(journal, "code")
    select = f"SELECT * FROM journal_lines WHERE journal_id = ? AND {_PAYMENT_FILTER}"
    found = store.query_one(f"{select} AND id = ?", (journal_id, last_id)) if isinstance(last_id, str) else None
    if found is not None:
        after = row_int(found, "line_number")
        before = store.query_one(
            f"SELECT COUNT(*) AS n FROM journal_lines WHERE journal_id = ? AND {_PAYMENT_FILTER} AND line_number <= ?",
            (journal_id, after),
        )
        start = row_int(before, "n") if before is not None else 0
        rows = store.query(f"{select} AND line_number > ? ORDER BY line_number LIMIT ?", (journal_id, after, size + 1))
    else:
        start = offset
        rows = store.query(
            f"{select} ORDER BY line_number LIMIT ? OFFSET ?", (journal_id, size + 1, min(offset, 2**62))
        )
    items = [_payment_json(PaymentLine.from_row(r), code) for r in rows]
    sample = None
    if not items:
        any_row = store.query_one(f"{select} LIMIT 1", (journal_id,))
        sample = None if any_row is None else _payment_json(PaymentLine.from_row(any_row), code)
    return start, items, sample


def list_payments_top_level(store: Store, cid: str, journal_filter: str | Sequence[str] | None) -> list[Entity]:
    """Top-level ``customerPayments``: BC refuses to list without a journal filter.

    ``journal_filter`` is the id (or ids) from ``$filter=journalId eq ...``. A filter on ``id``
    is a single-entity read: route it to ``get_payment``. An id that matches no batch yields an
    empty list, as a filter does.
    """
    wanted = [journal_filter] if isinstance(journal_filter, str) else list(journal_filter or [])
    if not any(wanted):
        raise dialog(FILTERS_NOT_SPECIFIED)
    with store.transaction():
        company_id = row_str(company_row(store, cid), "id")
        template = default_template(store, company_id)
        out: list[Entity] = []
        keys = sorted({key for key in (json_guid(j) for j in wanted) if key})
        journals = [
            j
            for j in (journal_by_id_any_template(store, company_id, key) for key in keys)
            if j is not None and row_str(j, "template_name") == template
        ]
        for journal in sorted(journals, key=lambda j: row_str(j, "code")):
            rows = store.query(
                f"SELECT * FROM journal_lines WHERE journal_id = ? AND {_PAYMENT_FILTER} ORDER BY line_number",
                (row_str(journal, "id"),),
            )
            out.extend(_payment_json(PaymentLine.from_row(r), row_str(journal, "code")) for r in rows)
        return out


def get_payment(store: Store, cid: str, id: str, jid: str | None = None) -> Entity:
    with store.transaction():
        company_id = row_str(company_row(store, cid), "id")
        line = _payment_line(store, company_id, id, jid)
        return _payment_json(line, _journal_code(store, line.journal_id))


def patch_payment(
    store: Store, cid: str, id: str, body: Mapping[str, Any], if_match: str | None, jid: str | None = None
) -> Entity:
    """PATCH a payment: the same field triggers as on insert, then Modify (or Rename when
    ``lineNumber`` changes; a number in use is a duplicate key). ``journalId`` and
    ``journalDisplayName`` cannot change. Answer 200 with the entity (new ETag)."""
    with store.transaction():
        company_id = row_str(company_row(store, cid), "id")
        xrec = _payment_line(store, company_id, id, jid)
        check_if_match(if_match, xrec.id, xrec.version)
        refuse_if_scheduled(xrec)
        values = read_body(body, _PAYMENT_PROPS, "customerPayment")
        journal = store.query_one("SELECT * FROM journals WHERE id = ?", (xrec.journal_id,))
        if journal is None:
            raise not_found("Gen. Journal Batch")
        journal_code = row_str(journal, "code")
        x_customer = customer_by_number(store, company_id, xrec.account_no) if xrec.account_no else None
        rec = replace(xrec)
        page = _Page(
            store,
            company_id,
            rec,
            xrec.applies_to_invoice_number,
            xrec.applies_to_invoice_id,
            row_str(x_customer, "name") if x_customer is not None else "",
        )
        for name, value in assigned(values, _PAYMENT_PROPS):
            _payment_field(page, name, value, xrec, journal_code)
        _process_applies_to(page)
        if rec.account_no != xrec.account_no:
            customer = customer_by_number(store, company_id, rec.account_no) if rec.account_no else None
            rec.customer_id = row_str(customer, "id") if customer is not None else EMPTY_GUID
            if customer is not None:
                rec.currency_code = row_str(customer, "currency_code")
        if rec.line_number != xrec.line_number and store.query_one(
            "SELECT 1 FROM journal_lines WHERE journal_id = ? AND line_number = ?", (rec.journal_id, rec.line_number)
        ):
            raise _line_duplicate(row_str(journal, "template_name"), row_str(journal, "code"), rec.line_number)
        rec.version = xrec.version + 1
        rec.modified_at = store.now_text()
        store.execute(
            "UPDATE journal_lines SET line_number = ?, customer_id = ?, customer_number = ?, currency_code = ?, "
            "posting_date = ?, document_number = ?, external_document_number = ?, amount = ?, "
            "applies_to_invoice_id = ?, applies_to_invoice_number = ?, description = ?, comment = ?, "
            "balance_cents = ?, modified_at = ?, version = ? WHERE id = ?",
            (
                rec.line_number,
                rec.customer_id,
                rec.account_no,
                rec.currency_code,
                rec.posting_date,
                rec.document_number,
                rec.external_document_number,
                money(rec.amount),
                rec.applies_to_invoice_id,
                rec.applies_to_invoice_number,
                rec.description,
                rec.comment,
                _balance_cents(store, company_id, rec),
                rec.modified_at,
                rec.version,
                rec.id,
            ),
        )
        if rec.account_no != xrec.account_no:
            copy_default_dimensions(store, company_id, rec.id, rec.account_no, rec.bal_account_number)
        return _payment_json(rec, journal_code)


def delete_payment(store: Store, cid: str, id: str, if_match: str | None, jid: str | None = None) -> None:
    """DELETE a payment (If-Match required). Answer 204."""
    with store.transaction():
        company_id = row_str(company_row(store, cid), "id")
        line = _payment_line(store, company_id, id, jid)
        check_if_match(if_match, line.id, line.version)
        refuse_if_scheduled(line)
        store.execute("DELETE FROM journal_lines WHERE id = ?", (line.id,))


def list_payment_dimensions(store: Store, cid: str, id: str, jid: str | None = None) -> list[Entity]:
    """``customerPayments({id})/dimensionSetLines``: the line's dimension set (empty without one)."""
    with store.transaction():
        company_id = row_str(company_row(store, cid), "id")
        line = _payment_line(store, company_id, id, jid)
        return list_dimension_set_lines(store, company_id, line.id)
