"""The general ledger: G/L entries that posting creates, and the read-only ``generalLedgerEntries`` set.

Why it exists: what BC has *posted* is the only evidence of a payment that outlives its journal
line (posting deletes the line), so a client that must not send a payment twice looks for it
here, by ``documentNumber`` and ``postingDate``. The API page is "APIV2 - G/L Entries" (page
30018, microsoft/BCApps ``src/Apps/W1/APIV2/app/src/pages/APIV2GLEntries.Page.al``): source
table 17 "G/L Entry", ``ODataKeyFields = SystemId``, ``Editable``/``InsertAllowed``/
``ModifyAllowed``/``DeleteAllowed = false``, no actions; its fields are listed in ``_gl_json``.

What BC does and this module reproduces (BaseApp ``Finance/GeneralLedger/Posting/
GenJnlPostLine.Codeunit.al`` and ``Finance/GeneralLedger/Ledger/GLEntry.Table.al``):

- ``InitGLEntry`` copies the journal line (posting date, document type and no., description,
  external document no.) into the entry, takes the next ``Entry No.`` of the company and checks
  the account: it must exist (``GLAcc.Get``), not be blocked and be of type Posting.
- ``UpdateDebitCredit(Correction = false)``: a positive amount is a debit, anything else a credit
  of the negated amount (so 0 is a credit of 0).
- Amounts are in local currency (LCY); the additional reporting currency is not set up, so its
  debit/credit amounts are 0.
- ``accountId`` is a FlowField (``lookup("G/L Account".SystemId)``), read when the entry is read.
- ``lastModifiedDateTime`` is SystemModifiedAt: the moment the entry was inserted (entries are
  never modified here).

Entry numbers are per company (each BC company has its own tables), strictly increasing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from pipeline.sandbox.errors import dialog, not_found
from pipeline.sandbox.rules.bodies import field_validation, record_not_found
from pipeline.sandbox.rules.companies import company_row
from pipeline.sandbox.rules.conversions import (
    Entity,
    json_amount,
    json_date,
    json_guid,
    row_decimal,
    row_int,
    row_str,
)
from pipeline.sandbox.rules.customers import to_lcy
from pipeline.sandbox.rules.etags import etag
from pipeline.sandbox.store import EMPTY_GUID, Store, money, new_id

RECEIVABLES_MISSING = "Receivables Account is missing in Customer Posting Group."
"""``PostingSetupManagement.MissingAccountTxt`` ('%1 is missing in %2.') for the receivables account."""


@dataclass(frozen=True)
class Posting:
    """What a G/L entry copies from the journal line or document (``GLEntry.CopyFromGenJnlLine``)."""

    posting_date: str
    document_type: str
    document_number: str
    description: str
    external_document_number: str = ""
    source_type: str = ""
    source_number: str = ""
    journal_batch_name: str = ""


def receivables_account(store: Store, company_id: str, customer: sqlite3.Row) -> str:
    """The G/L account a customer's entries post to: its posting group's Receivables Account.

    ``GenJnlPostLine.PostCust``: ``Cust.TestField("Customer Posting Group")``, then
    ``CustPostingGr.GetReceivablesAccount()``, which reports a blank account as missing.
    """
    group = row_str(customer, "posting_group")
    if not group:
        raise field_validation(
            f"Customer Posting Group must have a value in Customer: No.={row_str(customer, 'number')}. "
            "It cannot be zero or empty."
        )
    row = store.query_one(
        "SELECT * FROM customer_posting_groups WHERE company_id = ? AND code = ?", (company_id, group)
    )
    if row is None:
        raise record_not_found("Customer Posting Group", [("Code", group)])
    account = row_str(row, "receivables_account")
    if not account:
        raise dialog(RECEIVABLES_MISSING)
    return account


def next_transaction_no(store: Store, company_id: str) -> int:
    """BC numbers each posted transaction (``NextTransactionNo``); one per document posted."""
    row = store.query_one(
        "SELECT COALESCE(MAX(transaction_no), 0) AS n FROM gl_entries WHERE company_id = ?", (company_id,)
    )
    return (row_int(row, "n") if row is not None else 0) + 1


def _check_account(store: Store, company_id: str, number: str) -> None:
    """``InitGLEntry``: ``GLAcc.Get``, ``TestField(Blocked, false)``, ``TestField("Account Type", Posting)``."""
    row = store.query_one("SELECT * FROM gl_accounts WHERE company_id = ? AND number = ?", (company_id, number))
    if row is None:
        raise record_not_found("G/L Account", [("No.", number)])
    where = f"in G/L Account: No.={number}."
    if row_int(row, "blocked"):
        raise field_validation(f"Blocked must be equal to 'No'  {where} Current value is 'Yes'.")
    if row_str(row, "account_type") != "Posting":
        raise field_validation(
            f"Account Type must be equal to 'Posting'  {where} Current value is '{row_str(row, 'account_type')}'."
        )


def insert_gl_entry(
    store: Store,
    company_id: str,
    posting: Posting,
    account_number: str,
    amount_lcy: Decimal,
    *,
    transaction_no: int,
    bal_account_number: str = "",
    now: str,
) -> int:
    """One G/L entry (``InitGLEntry`` + ``UpdateDebitCredit`` + insert); returns its entry number."""
    _check_account(store, company_id, account_number)
    row = store.query_one("SELECT COALESCE(MAX(entry_no), 0) AS n FROM gl_entries WHERE company_id = ?", (company_id,))
    entry_no = (row_int(row, "n") if row is not None else 0) + 1
    debit, credit = (amount_lcy, Decimal(0)) if amount_lcy > 0 else (Decimal(0), -amount_lcy)
    store.execute(
        "INSERT INTO gl_entries (id, company_id, entry_no, transaction_no, gl_account_number, posting_date, "
        "document_type, document_number, external_document_number, description, amount, debit_amount, "
        "credit_amount, bal_account_number, source_type, source_number, journal_batch_name, created_at, "
        "modified_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            new_id(),
            company_id,
            entry_no,
            transaction_no,
            account_number,
            posting.posting_date,
            posting.document_type,
            posting.document_number,
            posting.external_document_number,
            posting.description,
            money(amount_lcy),
            money(debit),
            money(credit),
            bal_account_number,
            posting.source_type,
            posting.source_number,
            posting.journal_batch_name,
            now,
            now,
        ),
    )
    return entry_no


def _document_type(value: str) -> str:
    """Enum "Gen. Journal Document Type" in JSON: the blank value is ``_x0020_``."""
    return value if value.strip() else "_x0020_"


def _gl_json(row: sqlite3.Row, account_ids: Mapping[str, str]) -> Entity:
    """A G/L entry in the shape of page 30018 (its fields, in layout order)."""
    return {
        "@odata.etag": etag(row_str(row, "id"), 1),
        "id": row_str(row, "id"),
        "entryNumber": row_int(row, "entry_no"),
        "postingDate": json_date(row_str(row, "posting_date")),
        "documentNumber": row_str(row, "document_number"),
        "documentType": _document_type(row_str(row, "document_type")),
        "accountId": account_ids.get(row_str(row, "gl_account_number"), EMPTY_GUID),
        "accountNumber": row_str(row, "gl_account_number"),
        "description": row_str(row, "description"),
        "debitAmount": json_amount(row_decimal(row, "debit_amount")),
        "creditAmount": json_amount(row_decimal(row, "credit_amount")),
        "additionalCurrencyDebitAmount": Decimal(0),
        "additionalCurrencyCreditAmount": Decimal(0),
        "lastModifiedDateTime": row_str(row, "modified_at"),
    }


def _account_ids(store: Store, company_id: str) -> dict[str, str]:
    rows = store.query("SELECT number, id FROM gl_accounts WHERE company_id = ?", (company_id,))
    return {row_str(r, "number"): row_str(r, "id") for r in rows}


def list_gl_entries(store: Store, cid: str, document_numbers: Sequence[str] | None = None) -> list[Entity]:
    """``generalLedgerEntries``: the company's G/L entries in Entry No. order.

    ``document_numbers`` narrows the read in SQL (on the ``Document No., Posting Date`` index, as
    BC's Key6) when the request's ``$filter`` pins ``documentNumber`` to a set of values; the
    OData layer still applies the whole filter, so this is only a shortcut that keeps a lookup
    of a few payments cheap in a ledger of many thousands of entries.
    """
    with store.transaction():
        company_id = row_str(company_row(store, cid), "id")
        ids = _account_ids(store, company_id)
        if document_numbers is None:
            rows = store.query("SELECT * FROM gl_entries WHERE company_id = ? ORDER BY entry_no", (company_id,))
            return [_gl_json(r, ids) for r in rows]
        found: list[sqlite3.Row] = []
        wanted = list(document_numbers)
        for start in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[start : start + _IN_CHUNK]
            found += store.query(
                f"SELECT * FROM gl_entries WHERE company_id = ? AND document_number IN ({', '.join('?' * len(chunk))})",
                (company_id, *chunk),
            )
        return [_gl_json(r, ids) for r in sorted(found, key=lambda r: row_int(r, "entry_no"))]


_IN_CHUNK = 500
"""Document numbers per SQL ``IN`` list (SQLite caps the number of bound parameters)."""


def get_gl_entry(store: Store, cid: str, id: str) -> Entity:
    """``generalLedgerEntries({id})``; 404 when no entry has that SystemId."""
    with store.transaction():
        company_id = row_str(company_row(store, cid), "id")
        key = json_guid(id)
        row = (
            store.query_one("SELECT * FROM gl_entries WHERE company_id = ? AND id = ?", (company_id, key))
            if key
            else None
        )
        if row is None:
            raise not_found("G/L Entry")
        return _gl_json(row, _account_ids(store, company_id))


def post_sales_invoice_gl(
    store: Store, company_id: str, invoice: sqlite3.Row, description: str, rates: Mapping[str, Decimal], now: str
) -> None:
    """The G/L entries a posted sales invoice creates: revenue and VAT credits, receivables debit.

    BC's sales posting (``Sales-Post`` with ``Sales Post Invoice``) posts the invoice posting
    buffers first, each a revenue entry on its sales account followed by its VAT entry, then the
    customer entry, whose G/L entry debits the receivables account. Simplified here: one buffer
    per G/L account (an ``Account`` line's own account, otherwise the company's sales account),
    one VAT entry on the company's sales VAT account (one flat VAT rate per company), and the
    receivables debit is the sum of the two in LCY, so the transaction balances.
    """
    setup = store.query_one("SELECT * FROM sales_posting_setup WHERE company_id = ?", (company_id,))
    if setup is None:
        raise record_not_found("General Posting Setup", [])
    payer = store.query_one(
        "SELECT * FROM customers WHERE company_id = ? AND number = ?",
        (company_id, row_str(invoice, "bill_to_customer_number")),
    )
    if payer is None:
        raise record_not_found("Customer", [("No.", row_str(invoice, "bill_to_customer_number"))])
    receivables = receivables_account(store, company_id, payer)
    currency = row_str(invoice, "currency_code")
    revenue: dict[str, Decimal] = {}
    vat = Decimal(0)
    for line in store.query(
        "SELECT * FROM sales_invoice_lines WHERE invoice_id = ? AND line_type <> 'Comment' ORDER BY sequence",
        (row_str(invoice, "id"),),
    ):
        account = row_str(line, "line_object_number") if row_str(line, "line_type") == "Account" else ""
        account = account or row_str(setup, "sales_account")
        revenue[account] = revenue.get(account, Decimal(0)) + row_decimal(line, "amount_excl")
        vat += row_decimal(line, "tax_amount")
    posting = Posting(
        posting_date=row_str(invoice, "posting_date"),
        document_type="Invoice",
        document_number=row_str(invoice, "number"),
        description=description,
        external_document_number=row_str(invoice, "external_document_number"),
        source_type="Customer",
        source_number=row_str(payer, "number"),
    )
    transaction_no = next_transaction_no(store, company_id)
    total_lcy = Decimal(0)
    for account, amount in revenue.items():
        amount_lcy = to_lcy(amount, currency, rates)
        total_lcy += amount_lcy
        insert_gl_entry(store, company_id, posting, account, -amount_lcy, transaction_no=transaction_no, now=now)
    if vat:
        vat_lcy = to_lcy(vat, currency, rates)
        total_lcy += vat_lcy
        insert_gl_entry(
            store,
            company_id,
            posting,
            row_str(setup, "sales_vat_account"),
            -vat_lcy,
            transaction_no=transaction_no,
            now=now,
        )
    insert_gl_entry(store, company_id, posting, receivables, total_lcy, transaction_no=transaction_no, now=now)


def post_receipt_gl(
    store: Store,
    company_id: str,
    posting: Posting,
    customer: sqlite3.Row,
    balancing_account: str,
    amount_lcy: Decimal,
    now: str,
) -> None:
    """A customer receipt's two G/L entries (balancing account first, then receivables), for
    entries made outside a journal (the seed's paid invoices); see ``posting._post_gl_entries``."""
    transaction_no = next_transaction_no(store, company_id)
    insert_gl_entry(store, company_id, posting, balancing_account, -amount_lcy, transaction_no=transaction_no, now=now)
    insert_gl_entry(
        store,
        company_id,
        posting,
        receivables_account(store, company_id, customer),
        amount_lcy,
        transaction_no=transaction_no,
        bal_account_number=balancing_account,
        now=now,
    )
