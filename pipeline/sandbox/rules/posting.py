"""Posting a customer payment journal (``journals({id})/Microsoft.NAV.post``), at once or through
the job queue.

The posting checks (document number, allowed dates, zero amounts, sign, dimensions, manual
numbers, balance per document) and the ledger
effect on invoices and customers, plus the G/L entries each line posts (``rules.ledger``), in
one transaction: all or nothing, as BC posts.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal

from pipeline.sandbox.errors import SandboxApiError, dialog
from pipeline.sandbox.rules.batches import journal_by_id_any_template
from pipeline.sandbox.rules.bodies import field_validation, record_not_found
from pipeline.sandbox.rules.companies import company_row
from pipeline.sandbox.rules.conversions import al_decimal, al_guid, incstr, json_guid, row_decimal, row_int, row_str
from pipeline.sandbox.rules.customers import check_exchange_rate, customer_by_number, exchange_rates, to_lcy
from pipeline.sandbox.rules.invoices import next_series_number
from pipeline.sandbox.rules.ledger import Posting, insert_gl_entry, next_transaction_no, receivables_account
from pipeline.sandbox.rules.payments import SCHEDULED, PaymentLine, check_blocked, lines_of
from pipeline.sandbox.rules.setup import GLSetup, check_line_dimensions, check_posting_date, gl_setup, line_dimensions
from pipeline.sandbox.rules.texts import (
    AMOUNT_MUST_HAVE_VALUE,
    BATCH_NOT_FOUND,
    DIFFERENT_CURRENCIES,
    MANUAL_NOS,
    NO_CUST_LEDGER_ENTRY,
    NOTHING_TO_POST,
    OUT_OF_BALANCE,
)
from pipeline.sandbox.store import Store, money, new_id

APPLY_TO_OLDEST = "Apply to Oldest"
"""Customer "Application Method" that applies a payment without Applies-to by itself."""


def _check_lines(store: Store, company_id: str, journal: sqlite3.Row, lines: Sequence[PaymentLine]) -> str:
    """Gen. Jnl.-Check Line over the batch in Line No. order.

    Returns the last No. Series number the batch's documents consume ('' when none): a
    document number equal to the series' next number uses it up, any other number needs the
    series to allow manual numbers.
    """
    template, batch = row_str(journal, "template_name"), row_str(journal, "code")
    setup = gl_setup(store, company_id)
    series_code = row_str(journal, "no_series")
    series = (
        store.query_one("SELECT * FROM no_series WHERE company_id = ? AND code = ?", (company_id, series_code))
        if series_code
        else None
    )
    next_no = next_series_number(store, company_id, series_code, consume=False) if series is not None else ""
    consumed = ""
    last_document: str | None = None
    for line in lines:
        if line.empty():
            continue
        where = (
            f"Gen. Journal Line: Journal Template Name={template}, Journal Batch Name={batch}, "
            f"Line No.={line.line_number}"
        )
        if not line.posting_date:
            raise field_validation(f"Posting Date must have a value in {where}. It cannot be zero or empty.")
        check_posting_date(setup, line.posting_date, where)
        check_exchange_rate(store, company_id, line.currency_code, line.posting_date)
        if line.account_no and line.amount == 0:
            # CheckZeroAmount: TestField(Amount) for a line with an account (no Allow Zero-Amount Posting)
            raise field_validation(AMOUNT_MUST_HAVE_VALUE.format(where=where))
        if not line.document_number:
            raise field_validation(f"Document No. must have a value in {where}. It cannot be zero or empty.")
        if line.account_type == "Customer" and line.document_type == "Payment" and line.amount > 0:
            raise field_validation(f"Amount must be negative in {where}.")
        if line.account_type == "Customer" and line.account_no:
            customer = customer_by_number(store, company_id, line.account_no)
            if customer is None:
                raise record_not_found("Customer", [("No.", line.account_no)])
            check_blocked(customer, line.document_type, "post")
        parties = {"Customer": line.account_no if line.account_type == "Customer" else ""}
        parties["G/L Account"] = line.bal_account_number
        check_line_dimensions(store, company_id, parties, line_dimensions(store, line.id))
        if series is not None and line.document_number != last_document:
            if line.document_number == next_no:
                consumed = next_no
                next_no = incstr(next_no)
            elif not row_int(series, "manual_nos"):
                raise dialog(MANUAL_NOS.format(series=series_code))
            last_document = line.document_number
    return consumed


def _check_balance(lines: Sequence[PaymentLine], rates: Mapping[str, Decimal]) -> None:
    """Force Doc. Balance: each (posting date, document type, document no.) must sum to zero."""
    ordered = sorted(
        (line for line in lines if not line.empty()),
        key=lambda line: (line.posting_date, line.document_number, line.line_number),
    )
    current = Decimal(0)
    last: tuple[str, str, str] | None = None
    for line in ordered:
        key = (line.posting_date, line.document_type, line.document_number)
        if last is not None and key != last and current != 0:
            raise dialog(OUT_OF_BALANCE.format(document=last[2], balance=al_decimal(current)))
        if key != last:
            current = Decimal(0)
        current += line.balance_lcy(rates)
        last = key
    if last is not None and current != 0:
        raise dialog(OUT_OF_BALANCE.format(document=last[2], balance=al_decimal(current)))


def _post_customer_line(
    store: Store, company_id: str, line: PaymentLine, rates: Mapping[str, Decimal], now: str
) -> None:
    """Gen. Jnl.-Post Line for a customer payment: ledger entry, application, invoice update."""
    remaining = line.amount
    if line.applies_to_invoice_number:
        entry = store.query_one(
            "SELECT * FROM cust_ledger_entries WHERE company_id = ? AND document_type = 'Invoice' "
            "AND document_number = ? AND customer_number = ? AND open = 1 ORDER BY entry_no LIMIT 1",
            (company_id, line.applies_to_invoice_number, line.account_no),
        )
        opposite_signs = (row_decimal(entry, "amount") > 0) == (line.amount < 0) if entry is not None else False
        if entry is None or not opposite_signs:
            raise SandboxApiError(400, "Internal_DataNotFoundFilter", NO_CUST_LEDGER_ENTRY)
        if row_str(entry, "currency_code") != line.currency_code:
            raise dialog(DIFFERENT_CURRENCIES)
        remaining = _apply_to_entry(store, entry, line, remaining, rates, now)
    elif remaining < 0 and _applies_to_oldest(store, company_id, line.account_no):
        remaining = _apply_to_oldest(store, company_id, line, remaining, rates, now)
    store.execute(
        "INSERT INTO cust_ledger_entries (company_id, customer_number, document_type, document_number, "
        "external_document_number, description, posting_date, due_date, currency_code, amount, amount_lcy, "
        "remaining_amount, remaining_amount_lcy, open, journal_line_id, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            company_id,
            line.account_no,
            line.document_type,
            line.document_number,
            line.external_document_number,
            line.description,
            line.posting_date,
            line.posting_date,
            line.currency_code,
            money(line.amount),
            money(to_lcy(line.amount, line.currency_code, rates)),
            money(remaining),
            money(to_lcy(remaining, line.currency_code, rates)),
            1 if remaining != 0 else 0,
            line.id,
            now,
        ),
    )
    store.execute(
        "UPDATE customers SET version = version + 1 WHERE company_id = ? AND number = ?", (company_id, line.account_no)
    )


def _apply_to_entry(
    store: Store, entry: sqlite3.Row, line: PaymentLine, remaining: Decimal, rates: Mapping[str, Decimal], now: str
) -> Decimal:
    """Apply the payment's ``remaining`` (negative) to one open invoice entry, as far as it reaches:
    the entry's remaining amount goes down (closed at zero) and its invoice changes version.
    Returns what is left of the payment."""
    open_amount = row_decimal(entry, "remaining_amount")
    applied = min(-remaining, open_amount)
    left = open_amount - applied
    store.execute(
        "UPDATE cust_ledger_entries SET remaining_amount = ?, remaining_amount_lcy = ?, open = ? WHERE entry_no = ?",
        (money(left), money(to_lcy(left, line.currency_code, rates)), int(left != 0), row_int(entry, "entry_no")),
    )
    if row_str(entry, "invoice_id"):
        store.execute(
            "UPDATE sales_invoices SET modified_at = ?, version = version + 1 WHERE id = ?",
            (now, row_str(entry, "invoice_id")),
        )
    return remaining + applied


def _applies_to_oldest(store: Store, company_id: str, customer_number: str) -> bool:
    customer = customer_by_number(store, company_id, customer_number)
    return customer is not None and row_str(customer, "application_method") == APPLY_TO_OLDEST


def _apply_to_oldest(
    store: Store, company_id: str, line: PaymentLine, remaining: Decimal, rates: Mapping[str, Decimal], now: str
) -> Decimal:
    """``GenJnlPostLine.PrepareTempCustLedgEntry`` without Applies-to for a customer whose
    Application Method is "Apply to Oldest": the payment closes the customer's open invoice entries
    (same currency, posted on or before the payment's date) oldest due date first, as far as it
    reaches; what is left stays open on the payment. Returns the payment's remaining amount."""
    entries = store.query(
        "SELECT * FROM cust_ledger_entries WHERE company_id = ? AND customer_number = ? AND open = 1 "
        "AND document_type = 'Invoice' AND currency_code = ? AND posting_date <= ? ORDER BY due_date, entry_no",
        (company_id, line.account_no, line.currency_code, line.posting_date),
    )
    for entry in entries:
        if remaining >= 0:
            break
        if row_decimal(entry, "remaining_amount") > 0:
            remaining = _apply_to_entry(store, entry, line, remaining, rates, now)
    return remaining


def _post_gl_entries(
    store: Store,
    company_id: str,
    batch: str,
    line: PaymentLine,
    rates: Mapping[str, Decimal],
    transaction_no: int,
    now: str,
) -> None:
    """The G/L entries one journal line posts, in BC's order and in LCY.

    ``GenJnlPostLine.Code``: a customer line with a balancing account is first exchanged
    ("Exchange Acc. G/L Journal Line": accounts swapped, amount negated), so the balancing G/L
    account's entry is posted first (a receipt of -1,190.00 debits 2910 with 1,190.00); then the
    line is exchanged back and ``PostCust`` posts the customer side, whose G/L entry goes to the
    receivables account of the customer's posting group (a credit of 1,190.00). A G/L account
    line posts its account, then its balancing account. Other account types (bank, vendor, ...)
    are not modelled and post nothing. Application to an invoice in the same currency, with no
    discount or tolerance, creates no further G/L entry.
    """
    posting = Posting(
        posting_date=line.posting_date,
        document_type=line.document_type,
        document_number=line.document_number,
        description=line.description,
        external_document_number=line.external_document_number,
        source_type=line.account_type if line.account_type == "Customer" else "",
        source_number=line.account_no if line.account_type == "Customer" else "",
        journal_batch_name=batch,
    )
    amount_lcy = to_lcy(line.amount, line.currency_code, rates)
    if line.account_type == "Customer" and line.account_no:
        customer = customer_by_number(store, company_id, line.account_no)
        if customer is None:
            raise record_not_found("Customer", [("No.", line.account_no)])
        receivables = receivables_account(store, company_id, customer)
        if line.bal_account_number:
            insert_gl_entry(
                store, company_id, posting, line.bal_account_number, -amount_lcy, transaction_no=transaction_no, now=now
            )
        insert_gl_entry(
            store,
            company_id,
            posting,
            receivables,
            amount_lcy,
            transaction_no=transaction_no,
            bal_account_number=line.bal_account_number,
            now=now,
        )
    elif line.account_type == "G/L Account" and line.account_no:
        insert_gl_entry(
            store,
            company_id,
            posting,
            line.account_no,
            amount_lcy,
            transaction_no=transaction_no,
            bal_account_number=line.bal_account_number,
            now=now,
        )
        if line.bal_account_number:
            insert_gl_entry(
                store, company_id, posting, line.bal_account_number, -amount_lcy, transaction_no=transaction_no, now=now
            )


def post_journal(store: Store, cid: str, jid: str) -> None:
    """``journals({jid})/Microsoft.NAV.post`` on a customer payment journal. Answer 204.

    The batch is found by id in any template (the journals page does not restrict it). With
    General Ledger Setup's "Post with Job Queue" the lines are only scheduled (``GenJnlPost.Code``
    enqueues them and the action still answers 204); the job (``run_job_queue``) posts them later
    and can fail as BC's job does. Otherwise the batch is posted at once (``post_batch``).
    """
    with store.transaction():
        company_id = row_str(company_row(store, cid), "id")
        key = json_guid(jid)
        journal = journal_by_id_any_template(store, company_id, key) if key else None
        if journal is None:
            raise SandboxApiError(404, "BadRequest_NotFound", BATCH_NOT_FOUND.format(guid=al_guid(jid)))
        lines = lines_of(store, row_str(journal, "id"))
        if not lines:
            raise dialog(NOTHING_TO_POST)
        setup = gl_setup(store, company_id)
        if setup.post_with_job_queue:
            _schedule(store, company_id, journal, lines, setup)
            return
        post_batch(store, company_id, journal)


def _schedule(
    store: Store, company_id: str, journal: sqlite3.Row, lines: Sequence[PaymentLine], setup: GLSetup
) -> None:
    """ "Post with Job Queue": mark the lines scheduled and queue one job for the batch."""
    to_schedule = [line for line in lines if not line.empty() and line.job_queue_status != SCHEDULED]
    if not to_schedule:
        return
    for line in to_schedule:
        store.execute("UPDATE journal_lines SET job_queue_status = ? WHERE id = ?", (SCHEDULED, line.id))
    due = None if setup.job_queue_delay_s is None else store.now().timestamp() + setup.job_queue_delay_s
    store.execute(
        "INSERT INTO posting_jobs (id, company_id, journal_id, status, due_at, created_at) "
        "VALUES (?, ?, ?, 'Ready', ?, ?)",
        (new_id(), company_id, row_str(journal, "id"), due, store.now_text()),
    )


def run_job_queue(store: Store, *, only_due: bool = False) -> list[tuple[str, str]]:
    """Run the queued posting jobs (all, or with ``only_due`` those whose delay has passed), each
    in its own transaction as BC's job queue does. A job that fails keeps its lines in the journal
    with Job Queue Status "Error" and records BC's error; returns (job status, error) per job run."""
    now = store.now().timestamp()
    with store.transaction():
        jobs = store.query("SELECT * FROM posting_jobs WHERE status = 'Ready' ORDER BY created_at, rowid")
    done: list[tuple[str, str]] = []
    for job in jobs:
        due = job["due_at"]
        if only_due and (due is None or float(due) > now):
            continue
        done.append(_run_job(store, job))
    return done


def _run_job(store: Store, job: sqlite3.Row) -> tuple[str, str]:
    company_id, journal_id = row_str(job, "company_id"), row_str(job, "journal_id")
    try:
        with store.transaction():
            journal = store.query_one("SELECT * FROM journals WHERE id = ?", (journal_id,))
            if journal is None:
                raise dialog(BATCH_NOT_FOUND.format(guid=al_guid(journal_id)))
            post_batch(store, company_id, journal)
            store.execute("UPDATE posting_jobs SET status = 'Finished' WHERE id = ?", (row_str(job, "id"),))
        return "Finished", ""
    except SandboxApiError as exc:
        with store.transaction():
            store.execute(
                "UPDATE posting_jobs SET status = 'Error', error = ? WHERE id = ?", (exc.message, row_str(job, "id"))
            )
            store.execute(
                "UPDATE journal_lines SET job_queue_status = 'Error' WHERE journal_id = ? AND job_queue_status = ?",
                (journal_id, SCHEDULED),
            )
        return "Error", exc.message


def post_batch(store: Store, company_id: str, journal: sqlite3.Row) -> None:
    """``GenJnlPostBatch``: post the whole batch or nothing.

    Checks every line (document number required, posting date within General Ledger Setup's
    allowed range, a line with an account must have an amount, a customer payment must be
    negative, customer not blocked, mandatory dimensions, No. Series manual numbers), checks the
    balance per document, then posts in (posting date, document no.) order, where an applies-to
    invoice must be an open posted invoice of the line's customer. Empty lines (no account, no
    amount) are skipped. An over-payment closes the invoice and leaves the rest open on the
    payment entry (a credit); the customer's balance drops by the amount. Each posted line also
    creates its G/L entries (``_post_gl_entries``); BC starts a new transaction number whenever the
    (posting date, document type, document no.) changes (``GenJnlPostLine.StartOrContinuePosting``).
    Afterwards ``UpdateAndDeleteLines`` deletes every line of the batch and, for a batch without
    No. Series (every API-made one), inserts the hidden empty line 10000 (``_leave_hidden_line``).
    """
    journal_id = row_str(journal, "id")
    lines = lines_of(store, journal_id)
    rates = exchange_rates(store, company_id)
    consumed = _check_lines(store, company_id, journal, lines)
    _check_balance(lines, rates)
    now = store.now_text()
    to_post = sorted(
        (line for line in lines if not line.empty()),
        key=lambda line: (line.posting_date, line.document_number, line.line_number),
    )
    if not to_post:
        return  # only empty lines (the hidden line 10000): each is skipped, nothing changes
    last_line = max(to_post, key=lambda line: line.line_number)
    to_post = _renumber(store, company_id, journal, to_post)
    transaction_no = next_transaction_no(store, company_id) - 1
    last_document: tuple[str, str, str] | None = None
    for line in to_post:
        document = (line.posting_date, line.document_type, line.document_number)
        if document != last_document:
            transaction_no += 1
            last_document = document
        on_day = exchange_rates(store, company_id, line.posting_date)
        _post_gl_entries(store, company_id, row_str(journal, "code"), line, on_day, transaction_no, now)
        if line.account_type == "Customer" and line.account_no:
            _post_customer_line(store, company_id, line, on_day, now)
    if consumed:
        store.execute(
            "UPDATE no_series SET last_no_used = ? WHERE company_id = ? AND code = ?",
            (consumed, company_id, row_str(journal, "no_series")),
        )
    store.execute("DELETE FROM journal_lines WHERE journal_id = ?", (journal_id,))
    journal = _increment_batch_name(store, company_id, journal, now)
    if not row_str(journal, "no_series") and not lines_of(store, row_str(journal, "id")):
        _leave_hidden_line(store, company_id, journal, last_line, now)


def _renumber(store: Store, company_id: str, journal: sqlite3.Row, lines: list[PaymentLine]) -> list[PaymentLine]:
    """``GenJnlPostBatch.CheckDocumentNo`` for a batch with a Posting No. Series: each new document
    (a Document No. other than the previous line's) posts under the series' next number, drawn at
    posting and consumed; the lines of one document share it. Without such a series the lines post
    under their own numbers."""
    series = row_str(journal, "posting_no_series")
    if not series:
        return lines
    renumbered: list[PaymentLine] = []
    last_sent, last_posted = None, ""
    for line in lines:
        if line.document_number != last_sent:
            last_sent = line.document_number
            last_posted = next_series_number(store, company_id, series, consume=True)
        renumbered.append(replace(line, document_number=last_posted))
    return renumbered


def _increment_batch_name(store: Store, company_id: str, journal: sqlite3.Row, now: str) -> sqlite3.Row:
    """``GenJnlPostBatch.IncrementBatchName`` when the template has "Increment Batch Name" and the
    name has a number: the posted batch is deleted and inserted again as ``IncStr(name)``, a new
    record with a new SystemId (``if GenJnlBatch.Insert() then;``: when that name exists already,
    that batch stays as it is). Returns the batch the hidden line 10000 goes to."""
    template = store.query_one(
        "SELECT increment_batch_name FROM journal_templates WHERE company_id = ? AND name = ?",
        (company_id, row_str(journal, "template_name")),
    )
    name = incstr(row_str(journal, "code"))
    if template is None or not row_int(template, "increment_batch_name") or not name:
        return journal
    store.execute("DELETE FROM journals WHERE id = ?", (row_str(journal, "id"),))
    store.execute(
        "INSERT OR IGNORE INTO journals (id, company_id, template_name, code, display_name, bal_account_id, "
        "bal_account_number, no_series, posting_no_series, created_at, modified_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            new_id(),
            company_id,
            row_str(journal, "template_name"),
            name,
            row_str(journal, "display_name"),
            row_str(journal, "bal_account_id"),
            row_str(journal, "bal_account_number"),
            row_str(journal, "no_series"),
            row_str(journal, "posting_no_series"),
            now,
            now,
        ),
    )
    found = store.query_one(
        "SELECT * FROM journals WHERE company_id = ? AND template_name = ? AND code = ?",
        (company_id, row_str(journal, "template_name"), name),
    )
    assert found is not None
    return found


def _leave_hidden_line(store: Store, company_id: str, journal: sqlite3.Row, last: PaymentLine, now: str) -> None:
    """``UpdateAndDeleteLines`` for a batch without No. Series: an Init()-ed line 10000, set up from
    the last posted line (``SetUpNewLine``: its posting date and document type, its document
    number + 1 since that line was not empty and the batch balances). Its Applies-to Doc. Type is
    blank, so ``customerPayments`` never lists it, yet it holds lineNumber 10000 and is the
    copy-from line of the next insert."""
    store.execute(
        "INSERT INTO journal_lines (id, company_id, journal_id, line_number, document_type, account_type, "
        "applies_to_doc_type, posting_date, document_number, amount, bal_account_number, created_at, modified_at) "
        "VALUES (?, ?, ?, 10000, ?, 'Customer', '', ?, ?, '0', ?, ?, ?)",
        (
            new_id(),
            company_id,
            row_str(journal, "id"),
            last.document_type,
            last.posting_date,
            incstr(last.document_number),
            row_str(journal, "bal_account_number"),
            now,
            now,
        ),
    )
