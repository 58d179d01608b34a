"""Data the sandbox starts with: an empty company, the demo data matching ``sample_data/``, or a file.

Seeding is idempotent: companies, customers, currencies and journals are found by their keys
(company name, customer number, currency code, journal code) and invoices by number, so seeding
twice changes nothing and a persistent store can be seeded on every start. Seeded records get
*stable* ids (UUIDv5 of their keys), so the company id of "CRONUS sandbox" is the same in every
sandbox: ``company_id()`` gives it without a store.

Seed file format (YAML, or JSON with the same structure; every key but the lists' required
ones is optional)::

    company: CRONUS sandbox          # the company to seed (created if missing)
    currencies:                      # exchange rates: local currency (EUR) per unit
      - {code: USD, rate: 0.92}      # one fixed rate, valid on every date
      - code: JPY
        amountRoundingPrecision: 1   # Currency "Amount Rounding Precision" (default 0.01)
        exchangeRates:               # rates by date: a posting date before the first has none
          - {startingDate: 2026-03-01, rate: 0.0062}
    customers:
      - number: C10000               # Code[20]
        name: Müller Maschinenbau GmbH
        blocked: All                 # "", Ship, Invoice or All (default "")
        currency: USD                # default: local currency
        applicationMethod: Apply to Oldest  # or Manual (default): payments without an invoice apply themselves
    invoices:
      - number: RE-2026-0101         # Code[20]; an existing number is left alone
        customer: C10000             # sell-to customer
        billTo: C10000               # default: the customer; the payer of the invoice
        amount: 1190.00              # total including tax, in the invoice's currency
        currency: USD                # default: the bill-to customer's currency
        invoiceDate: 2026-02-16      # default: postingDate, else today
        postingDate: 2026-02-16      # default: invoiceDate, else today
        dueDate: 2026-03-02          # default: invoiceDate + 14 days
        externalDocumentNumber: PO-1
        status: open                 # open | paid | draft | released (default open)
    generalLedgerSetup:              # General Ledger Setup (BC's UI; the API only reads it)
      allowPostingFrom: 2026-01-01   # default: no limit
      allowPostingTo: 2026-12-31     # default: no limit
      postWithJobQueue: true         # the post action only schedules the posting (default false)
      jobQueueDelaySeconds: 5        # when the job runs; omitted: only on POST /sandbox/jobQueue/run
    defaultDimensions:               # default dimensions of customers or G/L accounts
      - customer: C10000             # or account: "2910"
        dimension: PROJECT
        value: ""                    # blank: the line gets no value from the default
        posting: Code Mandatory      # "", Code Mandatory, Same Code or No Code
    journalTemplate:                 # the customer-payments template (CASHRCPT; BC's UI only)
      incrementBatchName: true       # posting renames the batch PAYIMP01 -> PAYIMP02 (new id)
    noSeries:                        # number series
      - {code: PMT-POST, startingNo: PMT00001, manualNos: false}
    journals:                        # batches made in BC's UI (the API cannot set the series)
      - code: BANK
        displayName: Bank receipts   # default: the code
        balancingAccount: "2910"     # a G/L account of the company
        noSeries: ""                 # default document numbers of new lines
        postingNoSeries: PMT-POST    # posted Document No. from this series, not the line's

``open`` is a posted invoice with its whole amount open; ``paid`` a posted invoice closed by a
payment already in the ledger; ``draft`` an unposted draft (status Draft); ``released`` an
unposted but released draft, which BC's API reports as status ``Open`` although it cannot be
paid (bc-api.md 2.3). Local-currency invoices carry the company's VAT (19 %) inside ``amount``;
foreign-currency ones none. A currency used without a ``currencies`` entry gets rate 1.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from pipeline.sandbox.rules import batches, invoices, ledger, setup
from pipeline.sandbox.rules.conversions import incstr
from pipeline.sandbox.store import EMPTY_GUID, Store, money

DEFAULT_COMPANY = "CRONUS sandbox"
PAYMENTS_TEMPLATE = "CASHRCPT"
BALANCING_ACCOUNT = "2910"
REVENUE_ACCOUNT = "6110"
RECEIVABLES_ACCOUNT = "2310"
SALES_VAT_ACCOUNT = "5610"
CUSTOMER_POSTING_GROUP = "DOMESTIC"
_NAMESPACE = uuid.UUID("3b0c3f52-5d0e-4f3e-9a56-2f3c1d7a9e10")

_BLOCKED = {"": " ", "_x0020_": " ", "ship": "Ship", "invoice": "Invoice", "all": "All"}
_STATUSES = ("open", "paid", "draft", "released")
_CUSTOMER_KEYS = {"number", "name", "blocked", "currency", "applicationMethod"}
_APPLICATION_METHODS = ("Manual", "Apply to Oldest")
_TOP_LEVEL_KEYS = {
    "company",
    "currencies",
    "customers",
    "invoices",
    "generalLedgerSetup",
    "defaultDimensions",
    "journalTemplate",
    "noSeries",
    "journals",
}
_INVOICE_KEYS = {
    "number",
    "customer",
    "billTo",
    "amount",
    "currency",
    "invoiceDate",
    "postingDate",
    "dueDate",
    "externalDocumentNumber",
    "status",
}


class SeedError(ValueError):
    """Seed data that cannot be applied; the message says which entry and why."""


def stable_id(*parts: str) -> str:
    """A deterministic SystemId for a seeded record, from its kind and keys."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


def company_id(name: str = DEFAULT_COMPANY) -> str:
    """The id a seeded company gets (the same in every sandbox)."""
    return stable_id("company", name)


# --- building blocks --------------------------------------------------------------------------------


def ensure_company(store: Store, name: str = DEFAULT_COMPANY) -> str:
    """The company, its customer-payments template, G/L account 2910 and invoice number series,
    and what posting needs (CRONUS W1's numbers): customer posting group DOMESTIC with receivables
    account 2310, revenue account 6110 and sales VAT account 5610.

    Runs on every start, so a state folder made before posting created G/L entries gets the
    posting group on its customers (a blank one would make posting fail, as BC's
    ``Cust.TestField("Customer Posting Group")`` does).
    """
    with store.transaction():
        row = store.query_one("SELECT id FROM companies WHERE name = ?", (name,))
        if row is not None:
            cid = str(row["id"])
        else:
            cid = company_id(name)
            now = store.now_text()
            store.execute(
                "INSERT INTO companies (id, name, display_name, created_at, modified_at) VALUES (?, ?, ?, ?, ?)",
                (cid, name, name, now, now),
            )
        store.execute(
            "INSERT OR IGNORE INTO journal_templates (company_id, name, description, type, page_id, recurring) "
            "VALUES (?, ?, 'Cash receipts', 'Cash Receipts', ?, 0)",
            (cid, PAYMENTS_TEMPLATE, batches.CASH_RECEIPT_JOURNAL_PAGE),
        )
        ensure_gl_account(store, cid, BALANCING_ACCOUNT, "Cash")
        # Receivables are posted to by the system only: Direct Posting off, as in CRONUS.
        ensure_gl_account(store, cid, RECEIVABLES_ACCOUNT, "Customers Domestic", direct_posting=False)
        ensure_gl_account(store, cid, REVENUE_ACCOUNT, "Sales, Retail - Dom.", direct_posting=False)
        ensure_gl_account(store, cid, SALES_VAT_ACCOUNT, "Sales VAT", direct_posting=False)
        store.execute(
            "INSERT OR IGNORE INTO customer_posting_groups (company_id, code, description, receivables_account) "
            "VALUES (?, ?, 'Domestic customers', ?)",
            (cid, CUSTOMER_POSTING_GROUP, RECEIVABLES_ACCOUNT),
        )
        store.execute(
            "INSERT OR IGNORE INTO sales_posting_setup (company_id, sales_account, sales_vat_account) VALUES (?, ?, ?)",
            (cid, REVENUE_ACCOUNT, SALES_VAT_ACCOUNT),
        )
        store.execute(
            "UPDATE customers SET posting_group = ? WHERE company_id = ? AND posting_group = ''",
            (CUSTOMER_POSTING_GROUP, cid),
        )
        invoices.ensure_invoice_series(store, cid)
        return cid


def ensure_gl_account(
    store: Store,
    cid: str,
    number: str,
    name: str,
    *,
    account_type: str = "Posting",
    blocked: bool = False,
    direct_posting: bool = True,
) -> str:
    """A G/L account (``balancingAccountId`` must name one); existing accounts are left alone."""
    with store.transaction():
        account_id = stable_id("gl", cid, number)
        store.execute(
            "INSERT OR IGNORE INTO gl_accounts (id, company_id, number, name, account_type, blocked, direct_posting, "
            "modified_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (account_id, cid, number, name, account_type, int(blocked), int(direct_posting), store.now_text()),
        )
        row = store.query_one("SELECT id FROM gl_accounts WHERE company_id = ? AND number = ?", (cid, number))
        return str(row["id"]) if row is not None else account_id


def ensure_currency(store: Store, cid: str, code: str, rate: Decimal = Decimal(1)) -> str:
    """A currency with its fixed rate (local currency per unit); an existing rate is updated."""
    with store.transaction():
        store.execute(
            "INSERT INTO currencies (id, company_id, code, description, lcy_per_unit) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (company_id, code) DO UPDATE SET lcy_per_unit = excluded.lcy_per_unit",
            (stable_id("currency", cid, code), cid, code, code, money(rate)),
        )
        row = store.query_one("SELECT id FROM currencies WHERE company_id = ? AND code = ?", (cid, code))
        return str(row["id"]) if row is not None else ""


def add_customer(store: Store, cid: str, number: str, name: str, *, blocked: str = "", currency: str = "") -> str:
    """Create or update a customer by number (name, blocked and currency follow the arguments)."""
    blocked_value = _BLOCKED.get(blocked.strip().lower())
    if blocked_value is None:
        raise SeedError(f"customer {number}: blocked must be '', Ship, Invoice or All, not {blocked!r}")
    with store.transaction():
        if currency:
            _ensure_currency_exists(store, cid, currency)
        now = store.now_text()
        existing = store.query_one("SELECT * FROM customers WHERE company_id = ? AND number = ?", (cid, number))
        if existing is None:
            customer_id = stable_id("customer", cid, number)
            store.execute(
                "INSERT INTO customers (id, company_id, number, name, blocked, currency_code, posting_group, "
                "created_at, modified_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (customer_id, cid, number, name, blocked_value, currency, CUSTOMER_POSTING_GROUP, now, now),
            )
            return customer_id
        if (existing["name"], existing["blocked"], existing["currency_code"]) != (name, blocked_value, currency):
            store.execute(
                "UPDATE customers SET name = ?, blocked = ?, currency_code = ?, modified_at = ?, version = version + 1 "
                "WHERE id = ?",
                (name, blocked_value, currency, now, existing["id"]),
            )
        return str(existing["id"])


def _ensure_currency_exists(store: Store, cid: str, code: str) -> None:
    if store.query_one("SELECT 1 FROM currencies WHERE company_id = ? AND code = ?", (cid, code)) is None:
        ensure_currency(store, cid, code)


def add_journal(
    store: Store,
    cid: str,
    code: str,
    display_name: str,
    *,
    balancing_account: str = "",
    no_series: str = "",
    posting_no_series: str = "",
) -> str:
    """A customer payment journal with what the API cannot give it: a No. Series, a Posting No.
    Series (and its balancing account), as batches set up in BC's UI have. Existing journals are
    left alone."""
    with store.transaction():
        template = batches.default_template(store, cid)
        row = store.query_one(
            "SELECT id FROM journals WHERE company_id = ? AND template_name = ? AND code = ?", (cid, template, code)
        )
        if row is not None:
            return str(row["id"])
        bal_id, bal_no = EMPTY_GUID, ""
        if balancing_account:
            account = store.query_one(
                "SELECT id FROM gl_accounts WHERE company_id = ? AND number = ?", (cid, balancing_account)
            )
            if account is None:
                raise SeedError(f"journal {code}: G/L account {balancing_account} does not exist")
            bal_id, bal_no = str(account["id"]), balancing_account
        journal_id = stable_id("journal", cid, template, code)
        now = store.now_text()
        store.execute(
            "INSERT INTO journals (id, company_id, template_name, code, display_name, bal_account_id, "
            "bal_account_number, no_series, posting_no_series, created_at, modified_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (journal_id, cid, template, code, display_name, bal_id, bal_no, no_series, posting_no_series, now, now),
        )
        return journal_id


def set_increment_batch_name(store: Store, cid: str, on: bool) -> None:
    """The customer-payments template's "Increment Batch Name" (a template setting of BC's UI)."""
    with store.transaction():
        store.execute(
            "UPDATE journal_templates SET increment_batch_name = ? WHERE company_id = ? AND name = ?",
            (int(on), cid, batches.default_template(store, cid)),
        )


def add_no_series(store: Store, cid: str, code: str, starting_no: str, *, manual_nos: bool = False) -> None:
    with store.transaction():
        store.execute(
            "INSERT OR IGNORE INTO no_series (company_id, code, starting_no, manual_nos) VALUES (?, ?, ?, ?)",
            (cid, code, starting_no, int(manual_nos)),
        )


def add_invoice(
    store: Store,
    cid: str,
    number: str,
    customer: str,
    amount: Decimal,
    *,
    bill_to: str | None = None,
    currency: str | None = None,
    invoice_date: date | None = None,
    posting_date: date | None = None,
    due_date: date | None = None,
    external_document_number: str = "",
    status: str = "open",
) -> str:
    """A sales invoice with one line; posted ones get their customer ledger entry.

    An invoice whose number exists already (drafted or posted) is left alone: that keeps
    seeding idempotent and never duplicates a ledger entry.
    """
    if status not in _STATUSES:
        raise SeedError(f"invoice {number}: status must be one of {', '.join(_STATUSES)}, not {status!r}")
    with store.transaction():
        existing = store.query_one("SELECT id FROM sales_invoices WHERE company_id = ? AND number = ?", (cid, number))
        if existing is not None:
            return str(existing["id"])
        payer_number = bill_to or customer
        for role, num in (("customer", customer), ("billTo", payer_number)):
            if store.query_one("SELECT 1 FROM customers WHERE company_id = ? AND number = ?", (cid, num)) is None:
                raise SeedError(f"invoice {number}: {role} {num} is not a customer")
        payer = store.query_one(
            "SELECT currency_code FROM customers WHERE company_id = ? AND number = ?", (cid, payer_number)
        )
        code = currency if currency is not None else str(payer["currency_code"]) if payer is not None else ""
        if code:
            _ensure_currency_exists(store, cid, code)
        company = store.query_one("SELECT vat_percent FROM companies WHERE id = ?", (cid,))
        vat = Decimal(str(company["vat_percent"])) if company is not None and not code else Decimal(0)
        total = Decimal(amount)
        excl = (total * 100 / (100 + vat)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        today = store.today()
        doc_date = invoice_date or posting_date or today
        post_date = posting_date or doc_date
        due = due_date or doc_date + timedelta(invoices.PAYMENT_TERMS_DAYS)
        posted = status in ("open", "paid")
        invoice_id = stable_id("invoice", cid, number)
        now = store.now_text()
        store.execute(
            "INSERT INTO sales_invoices (id, company_id, number, posted, draft_status, sell_to_customer_number, "
            "bill_to_customer_number, currency_code, external_document_number, invoice_date, posting_date, due_date, "
            "total_excl, total_tax, total_incl, created_at, modified_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                invoice_id,
                cid,
                number,
                int(posted),
                "Released" if status == "released" else "Open",
                customer,
                payer_number,
                code,
                external_document_number,
                doc_date.isoformat(),
                post_date.isoformat(),
                due.isoformat(),
                money(excl),
                money(total - excl),
                money(total),
                now,
                now,
            ),
        )
        store.execute(
            "INSERT INTO sales_invoice_lines (id, invoice_id, sequence, line_type, line_object_number, description, "
            "quantity, unit_price, tax_percent, amount_excl, tax_amount, amount_incl, modified_at) "
            "VALUES (?, ?, 10000, 'Account', ?, ?, '1', ?, ?, ?, ?, ?, ?)",
            (
                stable_id("invoice-line", cid, number),
                invoice_id,
                REVENUE_ACCOUNT,
                f"Invoice {number}",
                money(excl),
                money(vat),
                money(excl),
                money(total - excl),
                money(total),
                now,
            ),
        )
        if posted:
            row = store.query_one("SELECT * FROM sales_invoices WHERE id = ?", (invoice_id,))
            if row is not None:
                invoices.post_invoice_entry(store, cid, row, f"Invoice {number}")
        if status == "paid":
            _settle(store, cid, invoice_id, number, payer_number, code, total, post_date)
        return invoice_id


def _settle(
    store: Store, cid: str, invoice_id: str, number: str, payer: str, currency: str, total: Decimal, paid_on: date
) -> None:
    """Close a seeded invoice with a payment entry, so the customer's balance nets to zero; the
    payment's G/L entries (cash 2910 debited, receivables credited) as a receipt would post them."""
    rate_row = store.query_one("SELECT lcy_per_unit FROM currencies WHERE company_id = ? AND code = ?", (cid, currency))
    rate = Decimal(str(rate_row["lcy_per_unit"])) if currency and rate_row is not None else Decimal(1)
    total_lcy = (total * rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    store.execute(
        "UPDATE cust_ledger_entries SET remaining_amount = '0', remaining_amount_lcy = '0', open = 0 "
        "WHERE company_id = ? AND invoice_id = ?",
        (cid, invoice_id),
    )
    store.execute(
        "INSERT INTO cust_ledger_entries (company_id, customer_number, document_type, document_number, description, "
        "posting_date, due_date, currency_code, amount, amount_lcy, remaining_amount, remaining_amount_lcy, open, "
        "created_at) VALUES (?, ?, 'Payment', ?, ?, ?, ?, ?, ?, ?, '0', '0', 0, ?)",
        (
            cid,
            payer,
            f"PAY-{number}",
            f"Payment {number}",
            paid_on.isoformat(),
            paid_on.isoformat(),
            currency,
            money(-total),
            money(-total_lcy),
            store.now_text(),
        ),
    )
    customer = store.query_one("SELECT * FROM customers WHERE company_id = ? AND number = ?", (cid, payer))
    if customer is not None:
        posting = ledger.Posting(
            posting_date=paid_on.isoformat(),
            document_type="Payment",
            document_number=f"PAY-{number}",
            description=f"Payment {number}",
            source_type="Customer",
            source_number=payer,
        )
        ledger.post_receipt_gl(store, cid, posting, customer, BALANCING_ACCOUNT, -total_lcy, store.now_text())


# --- the seeds ------------------------------------------------------------------------------------------


def seed_empty(store: Store, name: str = DEFAULT_COMPANY) -> str:
    """One company with the cash-receipts template (CASHRCPT) and G/L account 2910; its id."""
    return ensure_company(store, name)


# The demo data, in the seed-file format. Every invoice number the files in ``sample_data/`` pay
# exists as a posted open invoice of the customer the sample names (or, where the bank statement
# names none, of the payer), for the amount the sample pays, so importing and posting the samples
# closes them. Remittance rows name customer C10000; the remittance's header "Payer Contoso
# Retail Ltd" is not read by the profile, so those invoices are C10000's. RE-2026-0105 and 0106
# are paid by one transfer of 2380.00 that names only 0105 to the importer: each is 1190.00, so
# the transfer closes 0105 and leaves a 1190.00 credit next to the open 0106 (as BC would).
# RE-2026-0104 is labelled a part payment, but is seeded at the 500.00 paid so it closes.
# Rows the samples reject still get invoices (amounts as intended: INV-5005 has none, 99.999 is
# 99.99), so the corrected rows can be imported too. INV-4999 (a refund row) is already paid.
# C70000 is the customer in another currency (USD); C99000 is blocked.
DEMO_DATA: dict[str, Any] = {
    "company": DEFAULT_COMPANY,
    "currencies": [{"code": "USD", "rate": "0.92"}],
    "customers": [
        {"number": "C10000", "name": "Müller Maschinenbau GmbH"},
        {"number": "C10100", "name": "Bäckerei Schäfer KG"},
        {"number": "C10200", "name": "Fernández Logística S.L."},
        {"number": "C10300", "name": "Weber, Sohn & Partner"},
        {"number": "C10400", "name": "Jansen Handel B.V."},
        {"number": "C20000", "name": "Northwind Traders"},
        {"number": "C30000", "name": "Graphic Design Institute"},
        {"number": "C40000", "name": "Fabrikam Inc"},
        {"number": "C50000", "name": "Adventure Works"},
        {"number": "C60000", "name": "Tailspin Toys"},
        {"number": "C70000", "name": "Wide World Importers", "currency": "USD"},
        {"number": "C80000", "name": "Litware Inc"},
        {"number": "C90000", "name": "Proseware Inc"},
        {"number": "C95000", "name": "Lucerne Publishing"},
        {"number": "C99000", "name": "Coho Winery", "blocked": "All"},
    ],
    "invoices": [
        {"number": "RE-2026-0091", "customer": "C10000", "amount": "1250.00", "invoiceDate": "2026-02-03"},
        {"number": "RE-2026-0094", "customer": "C10000", "amount": "84.99", "invoiceDate": "2026-02-10"},
        {"number": "RE-2026-0097", "customer": "C10000", "amount": "2045.50", "invoiceDate": "2026-02-17"},
        {"number": "RE-2026-0099", "customer": "C10000", "amount": "19.01", "invoiceDate": "2026-02-24"},
        {"number": "RE-2026-0101", "customer": "C10000", "amount": "1190.00", "invoiceDate": "2026-02-16"},
        {"number": "RE-2026-0102", "customer": "C10100", "amount": "357.00", "invoiceDate": "2026-02-17"},
        {"number": "RE-2026-0103", "customer": "C10200", "amount": "12495.00", "invoiceDate": "2026-02-18"},
        {"number": "RE-2026-0104", "customer": "C10300", "amount": "500.00", "invoiceDate": "2026-02-19"},
        {"number": "RE-2026-0105", "customer": "C10400", "amount": "1190.00", "invoiceDate": "2026-02-20"},
        {"number": "RE-2026-0106", "customer": "C10400", "amount": "1190.00", "invoiceDate": "2026-02-20"},
        {"number": "RE-2026-0107", "customer": "C10000", "amount": "714.00", "invoiceDate": "2026-02-23"},
        {"number": "RE-2026-0108", "customer": "C10200", "amount": "2380.00", "invoiceDate": "2026-02-24"},
        {"number": "INV-4999", "customer": "C20000", "amount": "60.00", "invoiceDate": "2026-01-20", "status": "paid"},
        {"number": "INV-5001", "customer": "C20000", "amount": "1500.00", "invoiceDate": "2026-02-02"},
        {"number": "INV-5002", "customer": "C30000", "amount": "1234.56", "invoiceDate": "2026-02-02"},
        {"number": "INV-5003", "customer": "C40000", "amount": "980.00", "invoiceDate": "2026-02-03"},
        {"number": "INV-5004", "customer": "C50000", "amount": "250.00", "invoiceDate": "2026-02-04"},
        {"number": "INV-5005", "customer": "C60000", "amount": "640.00", "invoiceDate": "2026-02-05"},
        {"number": "INV-5006", "customer": "C70000", "amount": "420.00", "invoiceDate": "2026-02-05"},
        {"number": "INV-5007", "customer": "C80000", "amount": "99.99", "invoiceDate": "2026-02-06"},
        {"number": "INV-5008", "customer": "C90000", "amount": "310.00", "invoiceDate": "2026-02-06"},
        {"number": "INV-5009", "customer": "C95000", "amount": "75.25", "invoiceDate": "2026-02-06"},
        {"number": "INV-5010", "customer": "C10000", "amount": "12.00", "invoiceDate": "2026-02-09"},
        {"number": "INV-5011", "customer": "C30000", "amount": "820.40", "invoiceDate": "2026-02-10"},
    ],
}


def seed_demo(store: Store) -> str:
    """``seed_empty`` plus the demo customers and invoices (``DEMO_DATA``) and, as a CRONUS
    company has it, a GENERAL cash-receipts journal with No. Series GJNL-RCPT and balancing
    account 2910. Returns the company id."""
    with store.transaction():
        cid = apply_seed(store, DEMO_DATA)
        add_no_series(store, cid, "GJNL-RCPT", "G02001")
        add_journal(
            store, cid, "GENERAL", "Default Journal Batch", balancing_account=BALANCING_ACCOUNT, no_series="GJNL-RCPT"
        )
        return cid


def seed_from_file(store: Store, path: str | Path) -> str:
    """Apply a seed file (format in the module docstring); returns the company id."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise SeedError(f"{file}: cannot read the seed file: {exc.strerror}") from None
    try:
        data = json.loads(text, parse_float=Decimal) if file.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise SeedError(f"{file}: not valid {'JSON' if file.suffix.lower() == '.json' else 'YAML'}: {exc}") from None
    try:
        return apply_seed(store, data if data is not None else {})
    except SeedError as exc:
        raise SeedError(f"{file}: {exc}") from None


def seed_store(store: Store, seed: str | None) -> str | None:
    """What ``SandboxSettings.seed`` asks for: ``"demo"``, ``"empty"``, a seed file's path, or
    None (seed nothing). Returns the seeded company's id (for None: the first existing one)."""
    if seed == "demo":
        return seed_demo(store)
    if seed == "empty":
        return seed_empty(store)
    if seed:
        return seed_from_file(store, seed)
    row = store.query_one("SELECT id FROM companies ORDER BY name LIMIT 1")
    return str(row["id"]) if row is not None else None


def apply_seed(store: Store, data: Mapping[str, Any]) -> str:
    """Apply seed data already parsed (the file format as Python objects); returns the company id."""
    if not isinstance(data, Mapping):
        raise SeedError("the seed data must be a mapping with 'customers' and 'invoices'")
    unknown = set(data) - _TOP_LEVEL_KEYS
    if unknown:
        raise SeedError(f"unknown top-level key(s): {', '.join(sorted(unknown))}")
    with store.transaction():
        cid = ensure_company(store, _text(data.get("company") or DEFAULT_COMPANY, "company"))
        for i, entry in enumerate(_entries(data, "currencies")):
            _seed_currency(store, cid, entry, f"currencies[{i}]")
        for i, entry in enumerate(_entries(data, "customers")):
            where = f"customers[{i}]"
            _no_unknown(entry, _CUSTOMER_KEYS, where)
            number = _code(entry.get("number"), f"{where}.number", 20)
            add_customer(
                store,
                cid,
                number,
                _text(entry.get("name"), f"{where}.name", 100),
                blocked=_text(entry.get("blocked") or "", f"{where}.blocked"),
                currency=_code(entry.get("currency") or "", f"{where}.currency", 10, required=False),
            )
            method = entry.get("applicationMethod") or "Manual"
            if method not in _APPLICATION_METHODS:
                raise SeedError(f"{where}.applicationMethod: 'Manual' or 'Apply to Oldest', not {method!r}")
            store.execute(
                "UPDATE customers SET application_method = ? WHERE company_id = ? AND number = ?", (method, cid, number)
            )
        for i, entry in enumerate(_entries(data, "invoices")):
            where = f"invoices[{i}]"
            _no_unknown(entry, _INVOICE_KEYS, where)
            currency = entry.get("currency")
            add_invoice(
                store,
                cid,
                _code(entry.get("number"), f"{where}.number", 20),
                _code(entry.get("customer"), f"{where}.customer", 20),
                _amount(entry.get("amount"), f"{where}.amount"),
                bill_to=_code(entry["billTo"], f"{where}.billTo", 20) if entry.get("billTo") else None,
                currency=_code(currency, f"{where}.currency", 10, required=False) if currency is not None else None,
                invoice_date=_date(entry.get("invoiceDate"), f"{where}.invoiceDate"),
                posting_date=_date(entry.get("postingDate"), f"{where}.postingDate"),
                due_date=_date(entry.get("dueDate"), f"{where}.dueDate"),
                external_document_number=_code(
                    entry.get("externalDocumentNumber") or "", f"{where}.externalDocumentNumber", 35, required=False
                ),
                status=_text(entry.get("status") or "open", f"{where}.status").lower(),
            )
        if data.get("generalLedgerSetup") is not None:
            _seed_gl_setup(store, cid, data["generalLedgerSetup"])
        for i, entry in enumerate(_entries(data, "defaultDimensions")):
            _seed_default_dimension(store, cid, entry, f"defaultDimensions[{i}]")
        if data.get("journalTemplate") is not None:
            _seed_template(store, cid, data["journalTemplate"])
        for i, entry in enumerate(_entries(data, "noSeries")):
            _seed_no_series(store, cid, entry, f"noSeries[{i}]")
        for i, entry in enumerate(_entries(data, "journals")):
            _seed_journal(store, cid, entry, f"journals[{i}]")
        return cid


_CURRENCY_KEYS = {"code", "rate", "amountRoundingPrecision", "exchangeRates"}
_RATE_KEYS = {"startingDate", "rate"}


def _seed_currency(store: Store, cid: str, entry: Mapping[str, Any], where: str) -> None:
    """One ``currencies`` entry: its fixed rate, or its rates by starting date, and its Amount
    Rounding Precision."""
    _no_unknown(entry, _CURRENCY_KEYS, where)
    code = _code(entry.get("code"), f"{where}.code", 10)
    ensure_currency(store, cid, code, _amount(entry.get("rate", 1), f"{where}.rate"))
    if entry.get("amountRoundingPrecision") is not None:
        precision = _amount(entry["amountRoundingPrecision"], f"{where}.amountRoundingPrecision")
        if precision <= 0:
            raise SeedError(f"{where}.amountRoundingPrecision: must be more than 0 (e.g. 1 or 0.01)")
        set_amount_rounding(store, cid, code, precision)
    for j, rate in enumerate(_entries(entry, "exchangeRates")):
        at = f"{where}.exchangeRates[{j}]"
        _no_unknown(rate, _RATE_KEYS, at)
        day = _date(rate.get("startingDate"), f"{at}.startingDate")
        if day is None:
            raise SeedError(f"{at}.startingDate: a date is required")
        add_exchange_rate(store, cid, code, day, _amount(rate.get("rate"), f"{at}.rate"))


def set_amount_rounding(store: Store, cid: str, code: str, precision: Decimal) -> None:
    """A currency's "Amount Rounding Precision" (1 for JPY; the default 0.01)."""
    with store.transaction():
        store.execute(
            "UPDATE currencies SET amount_rounding = ? WHERE company_id = ? AND code = ?", (money(precision), cid, code)
        )


def add_exchange_rate(store: Store, cid: str, code: str, starting: date, rate: Decimal) -> None:
    """A dated exchange rate (LCY per unit from ``starting`` on); once a currency has one, only its
    dated rates count (a posting date before the first has no rate)."""
    with store.transaction():
        store.execute(
            "INSERT INTO currency_exchange_rates (id, company_id, currency_code, starting_date, lcy_per_unit) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (company_id, currency_code, starting_date) "
            "DO UPDATE SET lcy_per_unit = excluded.lcy_per_unit",
            (stable_id("rate", cid, code, starting.isoformat()), cid, code, starting.isoformat(), money(rate)),
        )


_TEMPLATE_KEYS = {"incrementBatchName"}
_NO_SERIES_KEYS = {"code", "startingNo", "manualNos"}
_JOURNAL_KEYS = {"code", "displayName", "balancingAccount", "noSeries", "postingNoSeries"}


def _seed_template(store: Store, cid: str, entry: object) -> None:
    """``journalTemplate``: settings of the customer-payments template (CASHRCPT)."""
    if not isinstance(entry, Mapping):
        raise SeedError("journalTemplate: must be a mapping")
    _no_unknown(entry, _TEMPLATE_KEYS, "journalTemplate")
    increment = entry.get("incrementBatchName", False)
    if not isinstance(increment, bool):
        raise SeedError("journalTemplate.incrementBatchName: true or false")
    set_increment_batch_name(store, cid, increment)


def _seed_no_series(store: Store, cid: str, entry: Mapping[str, Any], where: str) -> None:
    """One ``noSeries`` entry: a number series (its first number; whether manual numbers are allowed)."""
    _no_unknown(entry, _NO_SERIES_KEYS, where)
    manual = entry.get("manualNos", False)
    if not isinstance(manual, bool):
        raise SeedError(f"{where}.manualNos: true or false")
    starting = _code(entry.get("startingNo"), f"{where}.startingNo", 20)
    if not incstr(starting):
        raise SeedError(f"{where}.startingNo: {starting!r} has no number to count up")
    add_no_series(store, cid, _code(entry.get("code"), f"{where}.code", 20), starting, manual_nos=manual)


def _seed_journal(store: Store, cid: str, entry: Mapping[str, Any], where: str) -> None:
    """One ``journals`` entry: a customer payment journal made in BC's UI, with what the API cannot set."""
    _no_unknown(entry, _JOURNAL_KEYS, where)
    series = {}
    for key in ("noSeries", "postingNoSeries"):
        code = _code(entry.get(key) or "", f"{where}.{key}", 20, required=False)
        if code and store.query_one("SELECT 1 FROM no_series WHERE company_id = ? AND code = ?", (cid, code)) is None:
            raise SeedError(f"{where}.{key}: no series {code} is not in noSeries")
        series[key] = code
    if series["noSeries"] and series["noSeries"] == series["postingNoSeries"]:
        # GenJournalBatch "Posting No. Series" OnValidate: it must differ from the No. Series
        raise SeedError(f"{where}.postingNoSeries: must not be the same as noSeries")
    code = _code(entry.get("code"), f"{where}.code", 10)
    add_journal(
        store,
        cid,
        code,
        _text(entry.get("displayName") or code, f"{where}.displayName", 100),
        balancing_account=_code(entry.get("balancingAccount") or "", f"{where}.balancingAccount", 20, required=False),
        no_series=series["noSeries"],
        posting_no_series=series["postingNoSeries"],
    )


_GL_SETUP_KEYS = {"allowPostingFrom", "allowPostingTo", "postWithJobQueue", "jobQueueDelaySeconds"}
_DEFAULT_DIMENSION_KEYS = {"customer", "account", "dimension", "value", "posting"}


def _seed_gl_setup(store: Store, cid: str, entry: object) -> None:
    """``generalLedgerSetup``: allowed posting dates and "Post with Job Queue"."""
    if not isinstance(entry, Mapping):
        raise SeedError("generalLedgerSetup: must be a mapping")
    _no_unknown(entry, _GL_SETUP_KEYS, "generalLedgerSetup")
    allow_from = _date(entry.get("allowPostingFrom"), "generalLedgerSetup.allowPostingFrom")
    allow_to = _date(entry.get("allowPostingTo"), "generalLedgerSetup.allowPostingTo")
    delay = entry.get("jobQueueDelaySeconds")
    queue = entry.get("postWithJobQueue", False)
    if not isinstance(queue, bool):
        raise SeedError("generalLedgerSetup.postWithJobQueue: true or false")
    setup.set_gl_setup(
        store,
        cid,
        allow_from=allow_from.isoformat() if allow_from else "",
        allow_to=allow_to.isoformat() if allow_to else "",
        post_with_job_queue=queue,
        job_queue_delay_s=float(_amount(delay, "generalLedgerSetup.jobQueueDelaySeconds"))
        if delay is not None
        else None,
    )


def _seed_default_dimension(store: Store, cid: str, entry: Mapping[str, Any], where: str) -> None:
    """One ``defaultDimensions`` entry: of a customer (``customer``) or a G/L account (``account``)."""
    _no_unknown(entry, _DEFAULT_DIMENSION_KEYS, where)
    if ("customer" in entry) == ("account" in entry):
        raise SeedError(f"{where}: name either a customer or an account")
    parent_type, table = ("Customer", "customers") if "customer" in entry else ("G/L Account", "gl_accounts")
    number = _code(
        entry.get("customer") or entry.get("account"), f"{where}.{'customer' if 'customer' in entry else 'account'}", 20
    )
    if store.query_one(f"SELECT 1 FROM {table} WHERE company_id = ? AND number = ?", (cid, number)) is None:
        raise SeedError(f"{where}: {parent_type} {number} does not exist")
    posting = str(entry.get("posting") or "")
    if posting not in setup.VALUE_POSTINGS:
        raise SeedError(f"{where}.posting: one of {', '.join(repr(v) for v in setup.VALUE_POSTINGS)}, not {posting!r}")
    setup.add_default_dimension(
        store,
        cid,
        parent_type,
        number,
        _code(entry.get("dimension"), f"{where}.dimension", 20),
        _code(entry.get("value") or "", f"{where}.value", 20, required=False),
        posting,
    )


def _entries(data: Mapping[str, Any], key: str) -> Sequence[Mapping[str, Any]]:
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise SeedError(f"{key}: must be a list of mappings")
    return value


def _no_unknown(entry: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(entry) - allowed
    if unknown:
        raise SeedError(f"{where}: unknown key(s): {', '.join(sorted(unknown))}")


def _text(value: object, where: str, max_len: int = 0) -> str:
    if not isinstance(value, str) or (max_len and not value):
        raise SeedError(f"{where}: a text value is required")
    if max_len and len(value) > max_len:
        raise SeedError(f"{where}: {value!r} is longer than {max_len} characters")
    return value


def _code(value: object, where: str, max_len: int, *, required: bool = True) -> str:
    if value is None or value == "":
        if required:
            raise SeedError(f"{where}: a value is required")
        return ""
    text = str(value).strip().upper()
    if len(text) > max_len:
        raise SeedError(f"{where}: {text!r} is longer than {max_len} characters (Code[{max_len}])")
    return text


def _amount(value: object, where: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise SeedError(f"{where}: a number is required")
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    except InvalidOperation:
        raise SeedError(f"{where}: {value!r} is not a number") from None
    if not number.is_finite():
        raise SeedError(f"{where}: {value!r} is not a number")
    return number


def _date(value: object, where: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise SeedError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from None
