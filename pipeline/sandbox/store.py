"""The sandbox's state: one SQLite database (a file, or ``:memory:`` for tests) behind one lock.

Why one connection and one re-entrant lock: Business Central serialises writes into a journal
batch (the batch is locked while a line is inserted), and the emulator must give the same
guarantee - two parallel POSTs never compute the same default ``lineNumber``. Holding a single
``threading.RLock`` for the whole of every transaction gives exactly that, costs nothing at the
sandbox's scale, and keeps SQLite's own locking out of the picture.

Transactions nest: the outermost ``transaction()`` issues ``BEGIN IMMEDIATE`` and commits when it
exits; inner ones are SAVEPOINTs, so an inner failure undoes only its own work and the outer
scope decides what happens next (that is what ``$batch`` with ``Isolation: snapshot`` needs: each
operation may fail on its own, then the whole batch is rolled back). ``snapshot()`` is a
transaction whose owner can force a rollback without raising.

Money is stored as decimal TEXT (``"-1190.00"``) and always read back as ``Decimal``: BC amounts
are decimals, and a float anywhere between the request and the ledger would show up as a
cent missing from an invoice's remaining amount.

The schema below is the sandbox's own, not BC's; the business rules (``rules.py``) shape rows
into BC's JSON.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

SCHEMA_VERSION = "1"

EMPTY_GUID = "00000000-0000-0000-0000-000000000000"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS companies (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    business_profile_id TEXT NOT NULL DEFAULT '',
    lcy_code TEXT NOT NULL DEFAULT 'EUR',
    vat_percent TEXT NOT NULL DEFAULT '19',
    created_at TEXT NOT NULL,
    modified_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS no_series (
    company_id TEXT NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    code TEXT NOT NULL,
    starting_no TEXT NOT NULL,
    last_no_used TEXT NOT NULL DEFAULT '',
    manual_nos INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (company_id, code)
);
CREATE TABLE IF NOT EXISTS journal_templates (
    company_id TEXT NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    type TEXT NOT NULL,
    page_id INTEGER NOT NULL,
    recurring INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (company_id, name)
);
CREATE TABLE IF NOT EXISTS gl_accounts (
    id TEXT PRIMARY KEY,
    company_id TEXT NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    number TEXT NOT NULL,
    name TEXT NOT NULL,
    account_type TEXT NOT NULL DEFAULT 'Posting',
    blocked INTEGER NOT NULL DEFAULT 0,
    direct_posting INTEGER NOT NULL DEFAULT 1,
    modified_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    UNIQUE (company_id, number)
);
CREATE TABLE IF NOT EXISTS currencies (
    id TEXT PRIMARY KEY,
    company_id TEXT NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    code TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    lcy_per_unit TEXT NOT NULL,
    UNIQUE (company_id, code)
);
CREATE TABLE IF NOT EXISTS customers (
    id TEXT PRIMARY KEY,
    company_id TEXT NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    number TEXT NOT NULL,
    name TEXT NOT NULL,
    blocked TEXT NOT NULL DEFAULT ' ',
    currency_code TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    posting_group TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    modified_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    UNIQUE (company_id, number)
);
CREATE TABLE IF NOT EXISTS sales_invoices (
    id TEXT PRIMARY KEY,
    company_id TEXT NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    number TEXT NOT NULL,
    posted INTEGER NOT NULL,
    draft_status TEXT NOT NULL DEFAULT 'Open',
    canceled INTEGER NOT NULL DEFAULT 0,
    corrective INTEGER NOT NULL DEFAULT 0,
    sell_to_customer_number TEXT NOT NULL DEFAULT '',
    bill_to_customer_number TEXT NOT NULL DEFAULT '',
    currency_code TEXT NOT NULL DEFAULT '',
    external_document_number TEXT NOT NULL DEFAULT '',
    your_reference TEXT NOT NULL DEFAULT '',
    invoice_date TEXT NOT NULL DEFAULT '',
    posting_date TEXT NOT NULL DEFAULT '',
    due_date TEXT NOT NULL DEFAULT '',
    total_excl TEXT NOT NULL DEFAULT '0',
    total_tax TEXT NOT NULL DEFAULT '0',
    total_incl TEXT NOT NULL DEFAULT '0',
    created_at TEXT NOT NULL,
    modified_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    UNIQUE (company_id, posted, number)
);
CREATE TABLE IF NOT EXISTS sales_invoice_lines (
    id TEXT PRIMARY KEY,
    invoice_id TEXT NOT NULL REFERENCES sales_invoices(id) ON DELETE CASCADE,
    sequence INTEGER NOT NULL,
    line_type TEXT NOT NULL,
    line_object_number TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    quantity TEXT NOT NULL DEFAULT '0',
    unit_price TEXT NOT NULL DEFAULT '0',
    tax_percent TEXT NOT NULL DEFAULT '0',
    amount_excl TEXT NOT NULL DEFAULT '0',
    tax_amount TEXT NOT NULL DEFAULT '0',
    amount_incl TEXT NOT NULL DEFAULT '0',
    modified_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    UNIQUE (invoice_id, sequence)
);
CREATE TABLE IF NOT EXISTS journals (
    id TEXT PRIMARY KEY,
    company_id TEXT NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    template_name TEXT NOT NULL,
    code TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    bal_account_id TEXT NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000',
    bal_account_number TEXT NOT NULL DEFAULT '',
    no_series TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    modified_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    UNIQUE (company_id, template_name, code)
);
CREATE TABLE IF NOT EXISTS journal_lines (
    id TEXT PRIMARY KEY,
    company_id TEXT NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    journal_id TEXT NOT NULL REFERENCES journals(id) ON DELETE CASCADE,
    line_number INTEGER NOT NULL,
    document_type TEXT NOT NULL DEFAULT 'Payment',
    account_type TEXT NOT NULL DEFAULT 'Customer',
    applies_to_doc_type TEXT NOT NULL DEFAULT 'Invoice',
    customer_id TEXT NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000',
    customer_number TEXT NOT NULL DEFAULT '',
    currency_code TEXT NOT NULL DEFAULT '',
    posting_date TEXT NOT NULL DEFAULT '',
    document_number TEXT NOT NULL DEFAULT '',
    external_document_number TEXT NOT NULL DEFAULT '',
    amount TEXT NOT NULL DEFAULT '0',
    applies_to_invoice_id TEXT NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000',
    applies_to_invoice_number TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    comment TEXT NOT NULL DEFAULT '',
    bal_account_number TEXT NOT NULL DEFAULT '',
    balance_cents INTEGER NOT NULL DEFAULT 0,
    job_queue_status TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    modified_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    UNIQUE (journal_id, line_number)
);
CREATE TABLE IF NOT EXISTS cust_ledger_entries (
    entry_no INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id TEXT NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    customer_number TEXT NOT NULL,
    document_type TEXT NOT NULL,
    document_number TEXT NOT NULL,
    external_document_number TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    posting_date TEXT NOT NULL,
    due_date TEXT NOT NULL,
    currency_code TEXT NOT NULL DEFAULT '',
    amount TEXT NOT NULL,
    amount_lcy TEXT NOT NULL,
    remaining_amount TEXT NOT NULL,
    remaining_amount_lcy TEXT NOT NULL,
    open INTEGER NOT NULL,
    invoice_id TEXT NOT NULL DEFAULT '',
    journal_line_id TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
-- Customer Posting Group (table 92): only the receivables account is modelled.
CREATE TABLE IF NOT EXISTS customer_posting_groups (
    company_id TEXT NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    code TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    receivables_account TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (company_id, code)
);
-- General Posting Setup and VAT Posting Setup collapsed into one row per company (the sandbox has
-- one flat VAT rate per company): where a posted sales invoice's revenue and VAT go.
CREATE TABLE IF NOT EXISTS sales_posting_setup (
    company_id TEXT PRIMARY KEY REFERENCES companies(id) ON DELETE CASCADE,
    sales_account TEXT NOT NULL,
    sales_vat_account TEXT NOT NULL
);
-- G/L Entry (table 17), the rows API v2.0 exposes as ``generalLedgerEntries`` (page 30018).
-- Amounts in LCY as decimal TEXT; debit/credit kept as BC stores them (UpdateDebitCredit).
CREATE TABLE IF NOT EXISTS gl_entries (
    id TEXT PRIMARY KEY,
    company_id TEXT NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    entry_no INTEGER NOT NULL,
    transaction_no INTEGER NOT NULL,
    gl_account_number TEXT NOT NULL,
    posting_date TEXT NOT NULL,
    document_type TEXT NOT NULL,
    document_number TEXT NOT NULL,
    external_document_number TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    amount TEXT NOT NULL,
    debit_amount TEXT NOT NULL,
    credit_amount TEXT NOT NULL,
    bal_account_type TEXT NOT NULL DEFAULT 'G/L Account',
    bal_account_number TEXT NOT NULL DEFAULT '',
    source_type TEXT NOT NULL DEFAULT '',
    source_number TEXT NOT NULL DEFAULT '',
    journal_batch_name TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    modified_at TEXT NOT NULL,
    UNIQUE (company_id, entry_no)
);
-- General Ledger Setup (table 98), one row per company: what the API shows as generalLedgerSetup
-- (allowed posting dates, page 30025 APIV2GLSetup) and what it cannot change ("Post with Job
-- Queue"; ``job_queue_delay_s`` is the sandbox's stand-in for when the job queue gets to the job:
-- NULL = only when told, ``run_job_queue``).
CREATE TABLE IF NOT EXISTS gl_setup (
    company_id TEXT PRIMARY KEY REFERENCES companies(id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    allow_posting_from TEXT NOT NULL DEFAULT '',
    allow_posting_to TEXT NOT NULL DEFAULT '',
    post_with_job_queue INTEGER NOT NULL DEFAULT 0,
    job_queue_delay_s REAL,
    modified_at TEXT NOT NULL
);
-- Dimension (348) and Dimension Value (349), only what default dimensions and dimension set
-- lines name.
CREATE TABLE IF NOT EXISTS dimensions (
    id TEXT PRIMARY KEY,
    company_id TEXT NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    code TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    UNIQUE (company_id, code)
);
CREATE TABLE IF NOT EXISTS dimension_values (
    id TEXT PRIMARY KEY,
    company_id TEXT NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    dimension_code TEXT NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    UNIQUE (company_id, dimension_code, code)
);
-- Default Dimension (352) of a customer or a G/L account; value_posting is BC's "Value Posting"
-- ('' , 'Code Mandatory', 'Same Code', 'No Code').
CREATE TABLE IF NOT EXISTS default_dimensions (
    id TEXT PRIMARY KEY,
    company_id TEXT NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    parent_type TEXT NOT NULL,
    parent_number TEXT NOT NULL,
    dimension_code TEXT NOT NULL,
    value_code TEXT NOT NULL DEFAULT '',
    value_posting TEXT NOT NULL DEFAULT '',
    modified_at TEXT NOT NULL,
    UNIQUE (company_id, parent_type, parent_number, dimension_code)
);
-- A journal line's dimension set (the lines ``dimensionSetLines`` shows), filled from the
-- default dimensions of its account and balancing account when the account is validated.
CREATE TABLE IF NOT EXISTS line_dimensions (
    line_id TEXT NOT NULL REFERENCES journal_lines(id) ON DELETE CASCADE,
    dimension_code TEXT NOT NULL,
    value_code TEXT NOT NULL,
    PRIMARY KEY (line_id, dimension_code)
);
-- Job Queue Entries made by "Post with Job Queue": one per posting request of a batch.
CREATE TABLE IF NOT EXISTS posting_jobs (
    id TEXT PRIMARY KEY,
    company_id TEXT NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    journal_id TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'Ready',
    error TEXT NOT NULL DEFAULT '',
    due_at REAL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS gl_document ON gl_entries (company_id, document_number, posting_date);
CREATE INDEX IF NOT EXISTS cle_document ON cust_ledger_entries (company_id, document_type, document_number);
CREATE INDEX IF NOT EXISTS cle_customer ON cust_ledger_entries (company_id, customer_number);
CREATE INDEX IF NOT EXISTS lines_by_journal ON journal_lines (journal_id, line_number);
-- Posting takes the next transaction number as MAX(transaction_no) and finds invoices by number
-- alone: without these, seeding or posting n documents scanned every earlier one (n squared).
CREATE INDEX IF NOT EXISTS gl_transaction ON gl_entries (company_id, transaction_no);
CREATE INDEX IF NOT EXISTS invoice_by_number ON sales_invoices (company_id, number);
-- BC keeps a batch's balance as a SIFT sum (CalcSums is O(1)); a SUM over journal_lines on every
-- insert made each line cost O(lines in the journal). Kept up to date by triggers; the INSERT OR
-- IGNORE fills it for databases made before it existed.
CREATE TABLE IF NOT EXISTS currency_exchange_rates (
    id TEXT PRIMARY KEY,
    company_id TEXT NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    currency_code TEXT NOT NULL,
    starting_date TEXT NOT NULL,
    lcy_per_unit TEXT NOT NULL,
    UNIQUE (company_id, currency_code, starting_date)
);
CREATE TABLE IF NOT EXISTS journal_balances (
    journal_id TEXT PRIMARY KEY REFERENCES journals(id) ON DELETE CASCADE,
    cents INTEGER NOT NULL DEFAULT 0
);
INSERT OR IGNORE INTO journal_balances (journal_id, cents)
    SELECT journal_id, SUM(balance_cents) FROM journal_lines GROUP BY journal_id;
CREATE TRIGGER IF NOT EXISTS journal_lines_balance_insert AFTER INSERT ON journal_lines BEGIN
    INSERT INTO journal_balances (journal_id, cents) VALUES (NEW.journal_id, NEW.balance_cents)
    ON CONFLICT (journal_id) DO UPDATE SET cents = cents + excluded.cents;
END;
CREATE TRIGGER IF NOT EXISTS journal_lines_balance_delete AFTER DELETE ON journal_lines BEGIN
    UPDATE journal_balances SET cents = cents - OLD.balance_cents WHERE journal_id = OLD.journal_id;
END;
CREATE TRIGGER IF NOT EXISTS journal_lines_balance_update
    AFTER UPDATE OF balance_cents, journal_id ON journal_lines BEGIN
    UPDATE journal_balances SET cents = cents - OLD.balance_cents WHERE journal_id = OLD.journal_id;
    INSERT INTO journal_balances (journal_id, cents) VALUES (NEW.journal_id, NEW.balance_cents)
    ON CONFLICT (journal_id) DO UPDATE SET cents = cents + excluded.cents;
END;
"""

_ADDED_COLUMNS = (
    ("customers", "posting_group", "TEXT NOT NULL DEFAULT ''"),
    ("journal_lines", "job_queue_status", "TEXT NOT NULL DEFAULT ''"),
    ("journal_templates", "increment_batch_name", "INTEGER NOT NULL DEFAULT 0"),
    ("journals", "posting_no_series", "TEXT NOT NULL DEFAULT ''"),
    ("currencies", "amount_rounding", "TEXT NOT NULL DEFAULT '0.01'"),
    ("customers", "application_method", "TEXT NOT NULL DEFAULT 'Manual'"),
)
"""(table, column, declaration) of columns newer than the first schema, for ``_add_missing_columns``."""


def money(value: Decimal) -> str:
    """The TEXT form an amount is stored in; exact, never through float."""
    return format(value, "f")


def to_decimal(text: object) -> Decimal:
    """An amount as stored (TEXT) back to ``Decimal``."""
    return Decimal(str(text))


def new_id() -> str:
    """A fresh SystemId, lower-case as BC writes GUIDs in JSON."""
    return str(uuid.uuid4())


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Snapshot:
    """Handle of a ``Store.snapshot()`` scope: ``rollback()`` makes its exit undo everything.

    ``$batch`` with ``Isolation: snapshot`` keeps executing (and reporting 201s) after it decides
    the batch must not stick, so the decision cannot be an exception.
    """

    def __init__(self) -> None:
        self._rollback = False

    def rollback(self) -> None:
        self._rollback = True

    @property
    def rolled_back(self) -> bool:
        return self._rollback


class Store:
    """The sandbox database. ``path`` is a file (state survives restarts) or ``":memory:"``.

    ``clock`` returns the current UTC time; tests pass a fixed one so that BC's work-date
    defaults (an empty journal's posting date, draft invoice dates) are reproducible.
    """

    def __init__(self, path: str | Path = ":memory:", *, clock: Callable[[], datetime] | None = None) -> None:
        self.path = str(path)
        self._clock = clock or _utc_now
        self._lock = threading.RLock()
        self._depth = 0
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._create_schema()

    def _create_schema(self) -> None:
        with self._lock:
            # executescript commits on its own, so it runs outside any transaction of ours.
            self._conn.executescript(_SCHEMA)
            self._add_missing_columns()
            with self.transaction():
                self._conn.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", (SCHEMA_VERSION,)
                )

    def _add_missing_columns(self) -> None:
        """Columns added after a database could have been made: ``CREATE TABLE IF NOT EXISTS``
        leaves an existing table as it was, so a state folder from an older sandbox gets them here
        (blank; the seed's ``ensure_company`` fills what a restart needs)."""
        for table, column, ddl in _ADDED_COLUMNS:
            present = {str(row[1]) for row in self._conn.execute(f"PRAGMA table_info({table})")}
            if column not in present:
                self._conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {ddl}")

    # --- time -------------------------------------------------------------------------------

    def now(self) -> datetime:
        """Current UTC time (``lastModifiedDateTime`` values come from here)."""
        return self._clock()

    def now_text(self) -> str:
        """``lastModifiedDateTime`` as BC writes it: UTC, milliseconds, ``Z``."""
        moment = self._clock().astimezone(UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"

    def today(self) -> date:
        """BC's work date in an API session: today."""
        return self._clock().astimezone(UTC).date()

    # --- transactions -------------------------------------------------------------------------

    @contextmanager
    def _scope(self, snapshot: Snapshot | None) -> Iterator[None]:
        with self._lock:
            outermost = self._depth == 0
            savepoint = f"sp{self._depth}"
            self._conn.execute("BEGIN IMMEDIATE" if outermost else f"SAVEPOINT {savepoint}")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                self._undo(outermost, savepoint)
                raise
            self._depth -= 1
            if snapshot is not None and snapshot.rolled_back:
                self._undo(outermost, savepoint)
            elif outermost:
                self._conn.execute("COMMIT")
            else:
                self._conn.execute(f"RELEASE {savepoint}")

    def _undo(self, outermost: bool, savepoint: str) -> None:
        if outermost:
            self._conn.execute("ROLLBACK")
        else:
            self._conn.execute(f"ROLLBACK TO {savepoint}")
            self._conn.execute(f"RELEASE {savepoint}")

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """All-or-nothing work under the store's lock; re-entrant (inner scopes are savepoints)."""
        with self._scope(None):
            yield self

    @contextmanager
    def snapshot(self) -> Iterator[Snapshot]:
        """A transaction that also rolls back when ``Snapshot.rollback()`` was called.

        Enter and leave it on one thread: the lock is thread-owned, and other threads wait until
        the snapshot ends (BC runs a snapshot ``$batch`` as one session/transaction too).
        """
        handle = Snapshot()
        with self._scope(handle):
            yield handle

    # --- SQL helpers --------------------------------------------------------------------------

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._conn.execute(sql, tuple(params))

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._conn.execute(sql, tuple(params)).fetchall())

    def query_one(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        with self._lock:
            row: sqlite3.Row | None = self._conn.execute(sql, tuple(params)).fetchone()
            return row

    def close(self) -> None:
        """Checkpoint the WAL into the main file and close; the store is unusable afterwards."""
        with self._lock:
            if self.path != ":memory:":
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
