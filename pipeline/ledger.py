"""The local exactly-once record: which files were seen, which runs ran, and where every payment row stands.

BC has no import id, so "was this payment already created?" can only be answered here. The rule that
keeps a payment from being created twice is the order of writes around every request to BC:

1. ``plan``: the row gets its journal and lineNumber (state ``planned``); nothing was sent yet.
2. ``mark_sending`` is committed *before* the request goes out. From then on the row may be in BC
   whatever happens (timeout after commit, kill -9 mid-request), so it is never planned afresh:
   ``plan`` refuses a key that is ``sending``, ``created`` or ``conflict``.
3. The answer settles it: ``created`` (with BC's id), ``refused`` (BC refused it permanently; not in
   BC, a later run may plan it again), ``conflict`` (BC holds a different line at our lineNumber; a
   person decides), or back to ``planned`` when reading BC back proves it is not there.

Allowed transitions (anything else raises ``ValueError`` and writes nothing)::

    (new), planned, refused  --plan-->          planned (new run/journal/lineNumber allowed)
    planned, sending         --mark_sending-->  sending
    sending                  --mark_created-->  created   (created + same bc_id: no-op)
    planned, sending         --mark_refused-->  refused   (refused: message updated)
    planned, sending         --mark_planned-->  planned   (settled: not in BC)
    planned, sending         --mark_conflict--> conflict  (conflict: message updated)

``created`` is final. Every write method is one SQLite transaction that is committed before it
returns; with WAL and ``synchronous=FULL`` a committed state survives kill -9 and power loss, and a
batch method is applied to all of its rows or to none.

Line numbers are not unique per journal in this table on purpose: BC empties a journal when it is
posted and a later run may reuse it, starting again at lineNumber 10000.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

from pipeline.errors import PayimportError

SCHEMA_VERSION: Final = 6
ROW_STATES: Final = ("planned", "sending", "created", "refused", "conflict")
RUN_STATUSES: Final = ("running", "finished", "failed", "interrupted")
JOURNAL_STATES: Final = ("planned", "created", "posting", "posted")
REVIEW_STATES: Final = ("waiting", "decided", "done")
PAYER_KINDS: Final = ("account", "name")
PAYER_SOURCES: Final = ("rule", "person")
_REPLANNABLE: Final = ("planned", "refused")
_CHUNK: Final = 900  # bound parameters per IN (...): below SQLite's old 999 limit
_BUSY_TIMEOUT_MS: Final = 10_000


def _in(values: Sequence[str]) -> str:
    return "(" + ",".join(f"'{v}'" for v in values) + ")"


# Each version's statements take a ledger from the previous version to this one; opening an older file
# applies the missing steps in one transaction, so a ledger is never half-migrated.
_MIGRATIONS: Final[dict[int, tuple[str, ...]]] = {
    1: (
        "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE files (
            target TEXT NOT NULL, sha256 TEXT NOT NULL, first_name TEXT NOT NULL, size INTEGER NOT NULL,
            first_seen TEXT NOT NULL, PRIMARY KEY (target, sha256))""",
        f"""CREATE TABLE runs (
            run_id TEXT PRIMARY KEY, target TEXT NOT NULL, started TEXT NOT NULL, finished TEXT,
            status TEXT NOT NULL CHECK (status IN {_in(RUN_STATUSES)}),
            journal_code TEXT, journal_id TEXT,
            journal_state TEXT CHECK (journal_state IS NULL OR journal_state IN {_in(JOURNAL_STATES)}),
            files_json TEXT NOT NULL, summary_json TEXT)""",
        "CREATE INDEX runs_target_status ON runs (target, status)",
        f"""CREATE TABLE rows (
            target TEXT NOT NULL, key TEXT NOT NULL, run_id TEXT NOT NULL, file_sha256 TEXT NOT NULL,
            source_file TEXT NOT NULL, source_row INTEGER NOT NULL, journal_id TEXT NOT NULL,
            journal_code TEXT NOT NULL, line_number INTEGER NOT NULL,
            state TEXT NOT NULL CHECK (state IN {_in(ROW_STATES)}),
            bc_id TEXT CHECK (state <> 'created' OR (bc_id IS NOT NULL AND bc_id <> '')),
            payload_json TEXT NOT NULL, error_code TEXT, error_message TEXT, updated TEXT NOT NULL,
            PRIMARY KEY (target, key))""",
        "CREATE INDEX rows_run_state ON rows (target, run_id, state)",
        "CREATE INDEX rows_journal_line ON rows (target, journal_id, line_number)",
    ),
    # Version 2: a payment's document number is its name in BC's posted entries (the evidence that
    # a payment was posted, when a person posted the journal), so it must be unique per payment and
    # findable by it.
    2: ("CREATE INDEX rows_document ON rows (target, json_extract(payload_json, '$.documentNumber'))",),
    # Version 3: journals seen to hold no applied payment any more (posted or emptied by a person),
    # so the check of payments still waiting for their invoices stops reading them every run.
    3: (
        """CREATE TABLE drained_journals (
            target TEXT NOT NULL, journal_id TEXT NOT NULL, seen TEXT NOT NULL,
            PRIMARY KEY (target, journal_id))""",
    ),
    # Version 4: rows sent to a person stay with that person across runs and re-drops until they
    # decide (a re-run must not re-resolve them, e.g. an over-payment hold while BC's remainingAmount
    # has not moved yet), with the row as the person sees it, the reason, and when it started waiting.
    4: (
        f"""CREATE TABLE reviews (
            target TEXT NOT NULL, key TEXT NOT NULL, file_sha256 TEXT NOT NULL, source_file TEXT NOT NULL,
            source_row INTEGER NOT NULL, reason_code TEXT NOT NULL, message TEXT NOT NULL,
            row_json TEXT NOT NULL, first_run TEXT NOT NULL, first_seen TEXT NOT NULL,
            last_run TEXT NOT NULL, last_seen TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN {_in(REVIEW_STATES)}),
            decision_json TEXT, decided TEXT, outcome TEXT,
            PRIMARY KEY (target, key))""",
        "CREATE INDEX reviews_state ON reviews (target, state)",
    ),
    # Version 5: payer memory. Which customer a payer's account or name was confirmed for (posted by
    # the rules, or decided by a person and posted), so the next payment from it is recognised.
    5: (
        f"""CREATE TABLE payer_memory (
            target TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind IN {_in(PAYER_KINDS)}),
            identity TEXT NOT NULL, customer TEXT NOT NULL,
            source TEXT NOT NULL CHECK (source IN {_in(PAYER_SOURCES)}),
            first_confirmed TEXT NOT NULL, confirmed TEXT NOT NULL, run_id TEXT NOT NULL, times INTEGER NOT NULL,
            PRIMARY KEY (target, kind, identity, customer))""",
    ),
    # Version 6: a large run spreads its lines over several journals (``pipeline.post.journal``);
    # the first stays in ``runs``, the others are recorded here (code before the create request, as
    # for the first), so resume, verification and posting find every journal of the run.
    6: (
        f"""CREATE TABLE run_journals (
            run_id TEXT NOT NULL, part INTEGER NOT NULL CHECK (part >= 2), code TEXT NOT NULL,
            journal_id TEXT, state TEXT NOT NULL CHECK (state IN {_in(JOURNAL_STATES)}),
            PRIMARY KEY (run_id, part))""",
    ),
}

_ROW_COLUMNS: Final = (
    "target, key, run_id, file_sha256, source_file, source_row, journal_id, journal_code, line_number, "
    "state, bc_id, payload_json, error_code, error_message, updated"
)
_REVIEW_COLUMNS: Final = (
    "target, key, file_sha256, source_file, source_row, reason_code, message, row_json, first_run, first_seen, "
    "last_run, last_seen, state, decision_json, decided, outcome"
)
_RUN_COLUMNS: Final = (
    "run_id, target, started, finished, status, journal_code, journal_id, journal_state, files_json, summary_json"
)


@dataclass(frozen=True)
class PlannedRow:
    """A payment row about to get its place in a journal; ``payload`` is the customerPayment body
    (JSON-able; money as str, never float)."""

    key: str
    run_id: str
    file_sha256: str
    source_file: str
    source_row: int
    journal_id: str
    journal_code: str
    line_number: int
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RowRecord:
    """A row as the ledger holds it. ``payload`` is parsed on access, so a lookup of a million keys
    does not pay for a million JSON parses the caller may not need (and with slots and the texts
    rows share stored once, ``_records``, a resumed million-row run holds its records in a few
    hundred MiB)."""

    target: str
    key: str
    run_id: str
    file_sha256: str
    source_file: str
    source_row: int
    journal_id: str
    journal_code: str
    line_number: int
    state: str
    bc_id: str | None
    payload_json: str
    error_code: str | None
    error_message: str | None
    updated: str

    @property
    def payload(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.payload_json)
        return value

    @property
    def document_number(self) -> str:
        """The payment's document number as planned ("" when the body has none), upper case."""
        return str(self.payload.get("documentNumber", "")).upper()

    def placement(self) -> Placement:
        """What posting still reads of this row (``Placement``)."""
        return Placement(
            self.run_id, self.journal_id, self.journal_code, self.line_number, self.state, self.bc_id,
            self.document_number,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Placement:
    """What posting reads of a row the ledger holds: its run, journal and lineNumber, its state,
    BC's id and its document number. A run keeps these for the rows it posts, not whole
    ``RowRecord``s: without the request body and the texts only the ledger needs, a million rows
    cost a third of the memory."""

    run_id: str
    journal_id: str
    journal_code: str
    line_number: int
    state: str
    bc_id: str | None
    document_number: str


Placed = RowRecord | Placement
"""A row as posting reads it (``spread_rows``, ``plan_lines``): the whole record or its placement."""


def placements(records: dict[str, RowRecord]) -> dict[str, Placement]:
    """The placement of every record, each record let go as soon as its placement is made (the
    dict given is emptied), so the records and their placements are never all held at once."""
    out: dict[str, Placement] = {}
    for key in list(records):
        out[key] = records.pop(key).placement()
    return out


@dataclass(frozen=True)
class HeldRow:
    """A payment row a run sends to a person: ``row`` is the payment as read from the file
    (JSON-able; money as integer minor units, dates as ISO text), enough to post it once decided."""

    key: str
    file_sha256: str
    source_file: str
    source_row: int
    reason_code: str
    message: str
    row: dict[str, Any]


@dataclass(frozen=True)
class ReviewRecord:
    """A row waiting for (or decided by) a person. ``first_run``/``first_seen`` say since when it
    waits; ``decision`` is what the person decided (None while waiting); ``outcome`` what became of
    the decision (posted by run X, skipped, or why the decision was refused)."""

    target: str
    key: str
    file_sha256: str
    source_file: str
    source_row: int
    reason_code: str
    message: str
    row_json: str
    first_run: str
    first_seen: str
    last_run: str
    last_seen: str
    state: str
    decision_json: str | None
    decided: str | None
    outcome: str | None

    @property
    def row(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.row_json)
        return value

    @property
    def decision(self) -> dict[str, Any] | None:
        if self.decision_json is None:
            return None
        value: dict[str, Any] = json.loads(self.decision_json)
        return value


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    target: str
    started: str
    finished: str | None
    status: str
    journal_code: str | None
    journal_id: str | None
    journal_state: str | None
    files: list[dict[str, Any]]
    summary: dict[str, Any] | None


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, streamed so a large statement is never held in memory."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _chunks(values: Sequence[str], size: int = _CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


# One encoder for all rows: json.dumps with options builds a new encoder per call, a third of plan()'s time.
_ENCODE: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def _payload_json(row: PlannedRow) -> str:
    """Serialise the body; a float is refused because money must travel as exact text."""
    for name, value in row.payload.items():
        if isinstance(value, float):
            raise ValueError(f"payload of key {row.key!r}: field {name!r} is a float; write money as str")
    try:
        return _ENCODE(row.payload)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"payload of key {row.key!r} is not JSON-able: {exc}") from None


_FIELD: Final = re.compile(r"[A-Za-z][A-Za-z0-9]*")


def _only(fields: Sequence[str]) -> str:
    """SQL for the request body with only ``fields`` (those it has): a JSON merge patch onto ``{}``
    drops the fields whose value would be null, i.e. absent from the body. A body holding a NUL
    (JSON's ``\\u0000``, where ``json_extract`` ends a text) is read whole, so no field is cut short."""
    for name in fields:
        if not _FIELD.fullmatch(name):
            raise ValueError(f"not a request body field: {name!r}")
    pairs = ", ".join(f"'{name}', json_extract(payload_json, '$.{name}')" for name in fields)
    cut = f"json_patch('{{}}', json_object({pairs}))"
    return f"CASE WHEN instr(payload_json, '\\u0000') THEN payload_json ELSE {cut} END"


def _sample(keys: Iterable[str], limit: int = 5) -> str:
    items = sorted(keys)
    shown = ", ".join(repr(k) for k in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _unique(keys: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(keys))


_SHARED_COLUMNS: Final = (0, 2, 3, 4, 6, 7, 9, 12, 14)
"""Columns of ``_ROW_COLUMNS`` whose text many rows repeat (target, run, file, journal, state, the
stamp of one request): kept once per lookup instead of once per row."""


def _records(rows: Iterable[tuple[Any, ...]], shared: dict[str, str]) -> Iterator[RowRecord]:
    """``RowRecord`` of each result row, with the repeated texts shared through ``shared``."""
    keep = shared.setdefault
    for row in rows:
        values = list(row)
        for i in _SHARED_COLUMNS:
            value = values[i]
            if value is not None:
                values[i] = keep(value, value)
        yield RowRecord(*values)


class Ledger:
    """One SQLite connection, used from one thread. Open with ``Ledger.open(path)``."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self.path = path

    # -- lifecycle -------------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path) -> Ledger:
        """Open (creating folders, file and schema as needed) and migrate to the current schema."""
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE), so no implicit BEGIN can
        # leave a write uncommitted when a method returns.
        db = sqlite3.connect(path, isolation_level=None, timeout=_BUSY_TIMEOUT_MS / 1000)
        try:
            db.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise PayimportError(f"ledger {path}: cannot switch SQLite to WAL mode (got {mode!r})")
            db.execute("PRAGMA synchronous = FULL")
            # 64 MiB of page cache (allocated only as used): a million-row transaction would otherwise
            # spill pages to the WAL half-way and run several times slower.
            db.execute("PRAGMA cache_size = -65536")
            ledger = cls(db, path)
            ledger._migrate()
        except sqlite3.DatabaseError as exc:
            db.close()
            raise PayimportError(f"ledger {path} is not a usable SQLite database: {exc}") from exc
        except BaseException:
            db.close()
            raise
        return ledger

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE takes the write lock up front, so checks and writes see one consistent state."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise

    def schema_version(self) -> int:
        has_meta = self._db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").fetchone()
        if not has_meta:
            return 0
        row = self._db.execute("SELECT value FROM meta WHERE name='schema_version'").fetchone()
        return int(row[0]) if row else 0

    def _migrate(self) -> None:
        with self._transaction() as db:
            current = self.schema_version()
            if current > SCHEMA_VERSION:
                raise PayimportError(
                    f"ledger {self.path} has schema version {current}, newer than this payimport "
                    f"understands ({SCHEMA_VERSION}); upgrade payimport"
                )
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[version]:
                    db.execute(statement)
                db.execute(
                    "INSERT INTO meta (name, value) VALUES ('schema_version', ?) "
                    "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    (str(version),),
                )

    # -- files and runs --------------------------------------------------------------------------------

    def record_file(self, target: str, sha256: str, name: str, size: int) -> bool:
        """Remember a file's content; True when this content is new for the target. Informational only:
        whether rows were imported is decided by their keys, not by the file."""
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO files (target, sha256, first_name, size, first_seen) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (target, sha256) DO NOTHING",
                (target, sha256, name, size, _now()),
            )
            return cursor.rowcount == 1

    def targets(self) -> list[str]:
        """Every target (company) this ledger has started a run for (``payimport doctor`` checks
        that a state folder belongs to the configured target)."""
        return [str(row[0]) for row in self._db.execute("SELECT DISTINCT target FROM runs ORDER BY target")]

    def knows(self, target: str) -> bool:
        """Has any run of this ledger been started for the target (company)?"""
        return self._db.execute("SELECT 1 FROM runs WHERE target = ? LIMIT 1", (target,)).fetchone() is not None

    def file_history(self, target: str, sha256: str) -> tuple[str, str, str] | None:
        """(first name, first seen, the run that imported rows of it) when this content was seen
        before in the target; the run is "" when no row of it was ever planned."""
        seen = self._db.execute(
            "SELECT first_name, first_seen FROM files WHERE target = ? AND sha256 = ?", (target, sha256)
        ).fetchone()
        if seen is None:
            return None
        run = self._db.execute(
            "SELECT run_id FROM rows WHERE target = ? AND file_sha256 = ? ORDER BY updated LIMIT 1", (target, sha256)
        ).fetchone()
        return str(seen[0]), str(seen[1]), str(run[0]) if run else ""

    def start_run(self, target: str, run_id: str, files: list[dict[str, Any]]) -> None:
        with self._transaction() as db:
            try:
                db.execute(
                    "INSERT INTO runs (run_id, target, started, status, files_json) VALUES (?, ?, ?, 'running', ?)",
                    (run_id, target, _now(), json.dumps(files, ensure_ascii=False)),
                )
            except sqlite3.IntegrityError:
                raise ValueError(f"run {run_id!r} already exists in the ledger") from None

    def set_journal(self, run_id: str, code: str, journal_id: str | None, state: str) -> None:
        """Record the run's journal; write ``planned`` with id None *before* creating it in BC, so a
        crash between the create and this record can still be settled by looking the code up."""
        if state not in JOURNAL_STATES:
            raise ValueError(f"journal state {state!r} is not one of {', '.join(JOURNAL_STATES)}")
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE runs SET journal_code = ?, journal_id = ?, journal_state = ? WHERE run_id = ?",
                (code, journal_id, state, run_id),
            )
            if cursor.rowcount != 1:
                raise ValueError(f"run {run_id!r} is not in the ledger")

    def set_more_journals(self, run_id: str, journals: Sequence[tuple[int, str, str | None, str]]) -> None:
        """Record journals 2, 3 ... of a run that spreads its lines (part, code, id or None, state); like
        ``set_journal``, ``planned`` with id None is written *before* the journal is created in BC."""
        for part, _, _, state in journals:
            if part < 2 or state not in JOURNAL_STATES:
                raise ValueError(f"journal part {part} in state {state!r}: parts start at 2, states are journal states")
        with self._transaction() as db:
            db.executemany(
                "INSERT INTO run_journals (run_id, part, code, journal_id, state) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (run_id, part) DO UPDATE SET code = excluded.code, journal_id = excluded.journal_id, "
                "state = excluded.state",
                [(run_id, part, code, journal_id, state) for part, code, journal_id, state in journals],
            )

    def more_journals(self, run_id: str) -> list[tuple[int, str, str | None, str]]:
        """Journals 2, 3 ... of a run (part, code, id or None, state), in part order."""
        rows = self._db.execute(
            "SELECT part, code, journal_id, state FROM run_journals WHERE run_id = ? ORDER BY part", (run_id,)
        ).fetchall()
        return [(int(r[0]), str(r[1]), None if r[2] is None else str(r[2]), str(r[3])) for r in rows]

    def finish_run(self, run_id: str, status: str, summary: dict[str, Any]) -> None:
        """Close a run (also an older one, once a later run has settled it)."""
        if status == "running" or status not in RUN_STATUSES:
            raise ValueError(f"a run finishes as finished, failed or interrupted, not {status!r}")
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE runs SET status = ?, finished = ?, summary_json = ? WHERE run_id = ?",
                (status, _now(), json.dumps(summary, ensure_ascii=False), run_id),
            )
            if cursor.rowcount != 1:
                raise ValueError(f"run {run_id!r} is not in the ledger")

    def get_run(self, run_id: str) -> RunRecord | None:
        row = self._db.execute(f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return _run_record(row) if row else None

    def unfinished_runs(self, target: str) -> list[RunRecord]:
        """Runs of the target not closed as ``finished`` (running when the process died, failed or
        interrupted), oldest first: their journal may be unposted and their rows unsettled."""
        rows = self._db.execute(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE target = ? AND status <> 'finished' ORDER BY started, rowid",
            (target,),
        ).fetchall()
        return [_run_record(row) for row in rows]

    # -- rows: reads -----------------------------------------------------------------------------------

    def lookup(self, target: str, keys: Sequence[str], body: Sequence[str] | None = None) -> dict[str, RowRecord]:
        """The ledger's rows for these keys (absent keys are not in the result), in chunks of IN (...)
        so a million keys cost about a thousand indexed queries.

        ``body``: only these fields of each request body (``payload``; a field the body lacks stays
        absent), cut out by SQLite. A run reads four fields of the bodies of its input's keys before
        it posts (``pipeline.runner``), and a million whole bodies were some 300 MiB of text."""
        found: dict[str, RowRecord] = {}
        shared: dict[str, str] = {}
        columns = _ROW_COLUMNS if body is None else _ROW_COLUMNS.replace("payload_json", _only(body))
        sql = f"SELECT {columns} FROM rows WHERE target = ? AND key IN "
        for chunk in _chunks(_unique(keys)):
            query = sql + "(" + ",".join("?" * len(chunk)) + ")"
            for record in _records(self._db.execute(query, (target, *chunk)), shared):
                found[record.key] = record
        return found

    def lookup_split_lines(self, target: str, receipt_keys: Sequence[str]) -> dict[str, RowRecord]:
        """The lines of split receipts among these receipts, by line key: a receipt paying several
        invoices is recorded as one row per journal line, keyed ``<receipt key>#><invoice>``
        (``pipeline.lines.split_line_key``). One indexed range read per receipt key."""
        found: dict[str, RowRecord] = {}
        shared: dict[str, str] = {}
        sql = f"SELECT {_ROW_COLUMNS} FROM rows WHERE target = ? AND key > ? AND key < ?"
        for key in _unique(receipt_keys):
            for record in _records(self._db.execute(sql, (target, key + "#>", key + "#?")), shared):  # "?" follows ">"
                found[record.key] = record
        return found

    def rows_in_state(self, target: str, states: Iterable[str], run_id: str | None = None) -> list[RowRecord]:
        """Rows in any of ``states`` (optionally of one run), in journal and lineNumber order."""
        wanted = _unique(states)
        unknown = [s for s in wanted if s not in ROW_STATES]
        if unknown:
            raise ValueError(f"unknown row state(s): {', '.join(unknown)}")
        if not wanted:
            return []
        marks = ",".join("?" * len(wanted))
        if run_id is None:
            sql = f"SELECT {_ROW_COLUMNS} FROM rows WHERE target = ? AND state IN ({marks})"
            params = [target, *wanted]
        else:
            # Without statistics SQLite may walk the journal index over every row of the target instead.
            sql = f"SELECT {_ROW_COLUMNS} FROM rows INDEXED BY rows_run_state WHERE target = ? AND run_id = ? "
            sql += f"AND state IN ({marks})"
            params = [target, run_id, *wanted]
        sql += " ORDER BY journal_id, line_number, key"
        return list(_records(self._db.execute(sql, params), {}))

    def count_by_state(self, target: str, run_id: str | None = None) -> dict[str, int]:
        """Number of rows per state (every state present, zero when none)."""
        sql = "SELECT state, count(*) FROM rows WHERE target = ?"
        params: tuple[str, ...] = (target,)
        if run_id is not None:
            sql += " AND run_id = ?"
            params += (run_id,)
        counts = dict.fromkeys(ROW_STATES, 0)
        counts.update(dict(self._db.execute(sql + " GROUP BY state", params)))
        return counts

    def document_owners(self, target: str, numbers: Sequence[str]) -> dict[str, str]:
        """Which key holds each of these document numbers in the target (numbers nobody holds are not
        in the result); indexed, in chunks like ``lookup``."""
        found: dict[str, str] = {}
        expression = "json_extract(payload_json, '$.documentNumber')"
        sql = f"SELECT {expression}, key FROM rows WHERE target = ? AND {expression} IN "
        for chunk in _chunks(_unique(numbers)):
            query = sql + "(" + ",".join("?" * len(chunk)) + ")"
            for number, key in self._db.execute(query, (target, *chunk)):
                found[str(number)] = str(key)
        return found

    def shared_documents(self, target: str, numbers: Sequence[str]) -> set[str]:
        """Which of these document numbers more than one row of the target holds (the lines of one
        check, or of a split receipt): a posted entry under such a number proves the document
        posted, not which of its lines."""
        shared: set[str] = set()
        expression = "json_extract(payload_json, '$.documentNumber')"
        sql = f"SELECT {expression} FROM rows WHERE target = ? AND {expression} IN "
        for chunk in _chunks(_unique(numbers)):
            query = sql + "(" + ",".join("?" * len(chunk)) + f") GROUP BY {expression} HAVING count(*) > 1"
            shared.update(str(number) for (number,) in self._db.execute(query, (target, *chunk)))
        return shared

    def journals_with_applied_payments(self, target: str) -> list[str]:
        """Journals holding payments this tool created and applied to an invoice, of runs whose
        journal is not known to be posted: where payments may still wait to be posted."""
        rows = self._db.execute(
            "SELECT r.journal_id FROM rows r JOIN runs u ON u.run_id = r.run_id "
            "LEFT JOIN drained_journals d ON d.target = r.target AND d.journal_id = r.journal_id "
            "WHERE r.target = ? AND r.state = 'created' AND coalesce(u.journal_state, '') <> 'posted' "
            "AND coalesce(json_extract(r.payload_json, '$.appliesToInvoiceNumber'), '') <> '' "
            "GROUP BY r.journal_id HAVING max(d.seen) IS NULL OR max(r.updated) > max(d.seen) "
            "ORDER BY r.journal_id",
            (target,),
        ).fetchall()
        return [str(r[0]) for r in rows]

    def mark_drained(self, target: str, journal_ids: Sequence[str]) -> None:
        """These journals hold no applied payment any more (read just now): skip them until this tool
        creates another applied payment in one of them."""
        if not journal_ids:
            return
        now = _now()
        with self._transaction() as db:
            db.executemany(
                "INSERT INTO drained_journals (target, journal_id, seen) VALUES (?, ?, ?) "
                "ON CONFLICT (target, journal_id) DO UPDATE SET seen = excluded.seen",
                [(target, j, now) for j in journal_ids],
            )

    def created_line_numbers(self, target: str, journal_id: str) -> set[int]:
        """The lineNumbers BC confirmed in this journal (to notice a journal posted or edited since)."""
        rows = self._db.execute(
            "SELECT line_number FROM rows WHERE target = ? AND journal_id = ? AND state = 'created'",
            (target, journal_id),
        ).fetchall()
        return {int(r[0]) for r in rows}

    def line_numbers(self, target: str, journal_id: str) -> set[int]:
        """Every lineNumber any run planned in this journal (to tell our lines from foreign ones)."""
        rows = self._db.execute(
            "SELECT line_number FROM rows WHERE target = ? AND journal_id = ?", (target, journal_id)
        ).fetchall()
        return {int(r[0]) for r in rows}

    def max_line_number(self, target: str, journal_id: str) -> int:
        """Highest lineNumber the ledger ever gave out in this journal (0 when none), whatever the state:
        taking the next number above it never collides with a line that may be in BC."""
        row = self._db.execute(
            "SELECT max(line_number) FROM rows WHERE target = ? AND journal_id = ?", (target, journal_id)
        ).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    # -- rows waiting for a person --------------------------------------------------------------------

    def hold_for_review(self, target: str, run_id: str, held: Sequence[HeldRow]) -> None:
        """Record rows a run sent to a person. A key held before keeps its first run and date (that is
        what "waiting since" means), its state and its decision; only when it was last seen moves."""
        if not held:
            return
        now = _now()
        stamp = (run_id, now, run_id, now)
        params = [
            (
                target,
                h.key,
                h.file_sha256,
                h.source_file,
                h.source_row,
                h.reason_code,
                h.message,
                _ENCODE(h.row),
                *stamp,
            )
            for h in held
        ]
        with self._transaction() as db:
            db.executemany(
                "INSERT INTO reviews (target, key, file_sha256, source_file, source_row, reason_code, message, "
                "row_json, first_run, first_seen, last_run, last_seen, state) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'waiting') "
                "ON CONFLICT (target, key) DO UPDATE SET last_run = excluded.last_run, last_seen = excluded.last_seen",
                params,
            )

    def reviews(
        self, target: str, keys: Sequence[str] | None = None, states: Iterable[str] = REVIEW_STATES
    ) -> dict[str, ReviewRecord]:
        """Held rows by key, of the given states; of these keys only, or all of the target (in the
        order they started waiting)."""
        wanted = _unique(states)
        unknown = [s for s in wanted if s not in REVIEW_STATES]
        if unknown:
            raise ValueError(f"unknown review state(s): {', '.join(unknown)}")
        base = f"SELECT {_REVIEW_COLUMNS} FROM reviews WHERE target = ? AND state IN {_in(wanted)}"
        if keys is None:
            sql = base + " ORDER BY first_seen, source_file, source_row, key"
            return {r[1]: ReviewRecord(*r) for r in self._db.execute(sql, (target,))}
        found: dict[str, ReviewRecord] = {}
        for chunk in _chunks(_unique(keys)):
            query = base + " AND key IN (" + ",".join("?" * len(chunk)) + ")"
            for r in self._db.execute(query, (target, *chunk)):
                found[r[1]] = ReviewRecord(*r)
        return found

    def record_decisions(self, target: str, decisions: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        """A person's decisions (key, decision): waiting or decided rows become ``decided``; a row
        already done is never decided again (ValueError naming it, nothing written)."""
        now = _now()
        params = [(_ENCODE(dict(d)), now, target, key) for key, d in decisions]
        keys = [key for key, _ in decisions]
        self._review_transition(
            "UPDATE reviews SET state = 'decided', decision_json = ?, decided = ?, outcome = NULL "
            "WHERE target = ? AND key = ? AND state IN ('waiting', 'decided')",
            params,
            target,
            keys,
            ("waiting", "decided"),
        )

    def finish_reviews(self, target: str, outcomes: Sequence[tuple[str, str]]) -> None:
        """Decided rows whose decision was carried out (key, what became of it): ``done`` for good."""
        self._review_transition(
            "UPDATE reviews SET state = 'done', outcome = ? WHERE target = ? AND key = ? AND state = 'decided'",
            [(outcome, target, key) for key, outcome in outcomes],
            target,
            [key for key, _ in outcomes],
            ("decided",),
        )

    def refuse_decisions(self, target: str, refusals: Sequence[tuple[str, str]]) -> None:
        """Decisions that cannot be carried out (key, why): the row waits again, the reason kept."""
        self._review_transition(
            "UPDATE reviews SET state = 'waiting', decision_json = NULL, outcome = ? "
            "WHERE target = ? AND key = ? AND state = 'decided'",
            [(why, target, key) for key, why in refusals],
            target,
            [key for key, _ in refusals],
            ("decided",),
        )

    def _review_transition(
        self, sql: str, params: list[tuple[Any, ...]], target: str, keys: list[str], allowed: tuple[str, ...]
    ) -> None:
        """One guarded UPDATE per key in one transaction: all keys move, or none and ValueError."""
        if not keys:
            return
        try:
            with self._transaction() as db:
                if db.executemany(sql, params).rowcount != len(keys):
                    raise _Refused
        except _Refused:
            current = self.reviews(target, keys)
            bad = {k: (current[k].state if k in current else None) for k in keys}
            bad = {k: state for k, state in bad.items() if state is None or state not in allowed}
            raise ValueError(f"review row(s) not in {' or '.join(allowed)}: {_describe(bad)}") from None

    # -- payer memory ----------------------------------------------------------------------------------

    def remember_payers(self, target: str, run_id: str, lessons: Sequence[tuple[str, str, str, str]]) -> None:
        """Confirmations (kind, identity, customer number, source) from a run's posted payments: a new
        identity and customer is recorded, a known one gets this run as its last confirmation and one
        more count; a person's confirmation is never downgraded to the rules'. One transaction."""
        bad = [lesson for lesson in lessons if lesson[0] not in PAYER_KINDS or lesson[3] not in PAYER_SOURCES]
        if bad:
            raise ValueError(f"remember_payers: unknown kind or source in {bad[:3]}")
        if not lessons:
            return
        now = _now()
        params = [
            (target, kind, ident, customer, source, now, now, run_id) for kind, ident, customer, source in lessons
        ]
        with self._transaction() as db:
            db.executemany(
                "INSERT INTO payer_memory (target, kind, identity, customer, source, first_confirmed, confirmed, "
                "run_id, times) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1) "
                "ON CONFLICT (target, kind, identity, customer) DO UPDATE SET confirmed = excluded.confirmed, "
                "run_id = excluded.run_id, times = payer_memory.times + 1, "
                "source = CASE WHEN payer_memory.source = 'person' THEN 'person' ELSE excluded.source END",
                params,
            )

    def payer_memory(self, target: str) -> list[tuple[str, str, str, str, str, str, int]]:
        """Every remembered (kind, identity, customer, source, last confirmed, run id, times) of the target."""
        sql = (
            "SELECT kind, identity, customer, source, confirmed, run_id, times FROM payer_memory WHERE target = ? "
            "ORDER BY kind, identity, customer"
        )
        return [tuple(r) for r in self._db.execute(sql, (target,))]

    # -- rows: writes ----------------------------------------------------------------------------------

    def plan(self, target: str, run_id: str, rows: Sequence[PlannedRow]) -> None:
        """Insert new keys as ``planned``, or move ``planned``/``refused`` keys to this run's journal and
        lineNumber. A key that is sending, created or conflict may be in BC: ValueError, nothing written."""
        keys = [row.key for row in rows]
        dupes = [key for key, n in Counter(keys).items() if n > 1]
        if dupes:
            raise ValueError(f"plan: keys given more than once: {_sample(dupes)}")
        other_run = [row.key for row in rows if row.run_id != run_id]
        if other_run:
            raise ValueError(f"plan into run {run_id!r}: rows carry another run_id: {_sample(other_run)}")
        if not rows:
            return
        now = _now()
        params = [
            (
                target,
                row.key,
                run_id,
                row.file_sha256,
                row.source_file,
                row.source_row,
                row.journal_id,
                row.journal_code,
                row.line_number,
                _payload_json(row),
                now,
            )
            for row in rows
        ]
        try:
            with self._transaction() as db:
                run = db.execute("SELECT target FROM runs WHERE run_id = ?", (run_id,)).fetchone()
                if run is None or run[0] != target:
                    raise ValueError(f"plan: run {run_id!r} was not started for target {target!r}")
                # The WHERE on the upsert is the guard: a row in a state that must not be replanned is
                # left alone and not counted, so a short count means some key may already be in BC.
                cursor = db.executemany(
                    "INSERT INTO rows (target, key, run_id, file_sha256, source_file, source_row, journal_id, "
                    "journal_code, line_number, state, payload_json, updated) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'planned', ?, ?) "
                    "ON CONFLICT (target, key) DO UPDATE SET run_id = excluded.run_id, "
                    "file_sha256 = excluded.file_sha256, source_file = excluded.source_file, "
                    "source_row = excluded.source_row, journal_id = excluded.journal_id, "
                    "journal_code = excluded.journal_code, line_number = excluded.line_number, "
                    "state = 'planned', bc_id = NULL, payload_json = excluded.payload_json, error_code = NULL, "
                    f"error_message = NULL, updated = excluded.updated WHERE rows.state IN {_in(_REPLANNABLE)}",
                    params,
                )
                if cursor.rowcount != len(rows):
                    raise _Refused
        except _Refused:
            current = self.lookup(target, keys)
            blocked = {k: r.state for k, r in current.items() if r.state not in _REPLANNABLE}
            raise ValueError(
                f"plan: {len(blocked)} key(s) may already be in BC and are never planned again: {_describe(blocked)}"
            ) from None

    def mark_sending(self, target: str, keys: Sequence[str]) -> None:
        """Commit *before* sending: from here on the row counts as possibly in BC."""
        now = _now()
        unique = _unique(keys)
        self._transition(
            target,
            "sending",
            ("planned", "sending"),
            "UPDATE rows SET state = 'sending', updated = ? WHERE target = ? AND key = ? "
            "AND state IN ('planned', 'sending')",
            [(now, target, key) for key in unique],
            unique,
        )

    def mark_created(self, target: str, created: Sequence[tuple[str, str]]) -> None:
        """BC confirmed these rows; ``bc_id`` is BC's id of the journal line. Repeating it with the same
        id is a no-op; another id for a created key is an error."""
        by_key: dict[str, str] = {}
        for key, bc_id in created:
            if not bc_id:
                raise ValueError(f"mark_created: key {key!r} has no bc_id")
            if by_key.setdefault(key, bc_id) != bc_id:
                raise ValueError(f"mark_created: key {key!r} given two different bc_ids")
        now = _now()
        self._transition(
            target,
            "created",
            ("sending", "created with the same bc_id"),
            "UPDATE rows SET state = 'created', bc_id = ?1, error_code = NULL, error_message = NULL, updated = ?2 "
            "WHERE target = ?3 AND key = ?4 AND (state = 'sending' OR (state = 'created' AND bc_id = ?1))",
            [(bc_id, now, target, key) for key, bc_id in by_key.items()],
            list(by_key),
            accept=lambda row: row.state == "sending" or (row.state == "created" and row.bc_id == by_key[row.key]),
        )

    def mark_refused(self, target: str, refused: Sequence[tuple[str, str, str]]) -> None:
        """BC refused these rows for good (error code and BC's message): they are not in BC."""
        by_key = {key: (code, message) for key, code, message in refused}
        now = _now()
        self._transition(
            target,
            "refused",
            ("planned", "sending", "refused"),
            "UPDATE rows SET state = 'refused', error_code = ?, error_message = ?, updated = ? "
            "WHERE target = ? AND key = ? AND state IN ('planned', 'sending', 'refused')",
            [(code, message, now, target, key) for key, (code, message) in by_key.items()],
            list(by_key),
        )

    def mark_planned(self, target: str, keys: Sequence[str]) -> None:
        """Settled as not in BC (read back, or the batch stopped before the op ran): may be sent again."""
        now = _now()
        unique = _unique(keys)
        self._transition(
            target,
            "planned",
            ("planned", "sending"),
            "UPDATE rows SET state = 'planned', updated = ? WHERE target = ? AND key = ? "
            "AND state IN ('planned', 'sending')",
            [(now, target, key) for key in unique],
            unique,
        )

    def mark_conflict(self, target: str, conflicts: Sequence[tuple[str, str]]) -> None:
        """BC holds a different line at our lineNumber: a person must decide, never an automatic resend."""
        by_key = dict(conflicts)
        now = _now()
        self._transition(
            target,
            "conflict",
            ("planned", "sending", "conflict"),
            "UPDATE rows SET state = 'conflict', error_code = 'conflict', error_message = ?, updated = ? "
            "WHERE target = ? AND key = ? AND state IN ('planned', 'sending', 'conflict')",
            [(message, now, target, key) for key, message in by_key.items()],
            list(by_key),
        )

    def _transition(
        self,
        target: str,
        new_state: str,
        allowed: Sequence[str],
        sql: str,
        params: list[tuple[str, ...]],
        keys: list[str],
        accept: Callable[[RowRecord], bool] | None = None,
    ) -> None:
        """Run one guarded UPDATE per key in one transaction. The guard is in the SQL; if any key was
        unknown or in a state the transition does not allow, everything is rolled back and the error
        names those keys with their state."""
        if not keys:
            return
        try:
            with self._transaction() as db:
                if db.executemany(sql, params).rowcount != len(keys):
                    raise _Refused
        except _Refused:
            ok = accept or (lambda row: row.state in allowed)
            current = self.lookup(target, keys)
            bad = {key: (row.state if row else None) for key in keys if not (row := current.get(key)) or not ok(row)}
            raise ValueError(
                f"cannot mark {len(bad)} key(s) {new_state} (allowed from {', '.join(allowed)}): {_describe(bad)}"
            ) from None


class _Refused(Exception):
    """Internal: a guarded write touched fewer rows than asked; rolled back, then explained."""


def _describe(bad: Mapping[str, str | None]) -> str:
    items = sorted(bad.items())
    shown = ", ".join(f"{k!r} ({s or 'not in the ledger'})" for k, s in items[:5])
    return shown + (f" and {len(items) - 5} more" if len(items) > 5 else "")


def _run_record(row: tuple[Any, ...]) -> RunRecord:
    files: list[dict[str, Any]] = json.loads(row[8])
    summary: dict[str, Any] | None = json.loads(row[9]) if row[9] is not None else None
    return RunRecord(
        run_id=row[0],
        target=row[1],
        started=row[2],
        finished=row[3],
        status=row[4],
        journal_code=row[5],
        journal_id=row[6],
        journal_state=row[7],
        files=files,
        summary=summary,
    )


SANDBOX_SCOPE_PREFIX: Final = "embedded sandbox"
"""How the ledger names the embedded sandbox's companies (``session.ledger_scope``)."""


def forget_if_sandbox_only(path: Path) -> bool:
    """Delete the ledger at ``path`` (and its WAL files) only when every company it records is an
    embedded sandbox's: ``make clean`` resets the demo, never a real tenant's exactly-once record.
    Returns True when it was deleted (or absent)."""
    if not path.exists():
        return True
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        targets = {str(r[0]) for r in db.execute("SELECT target FROM runs UNION SELECT target FROM files")}
    finally:
        db.close()
    if any(not t.startswith(SANDBOX_SCOPE_PREFIX) for t in targets):
        return False
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    return True
