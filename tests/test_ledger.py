"""The ledger: allowed state transitions, refusal to re-plan rows that may be in BC, durability."""

from __future__ import annotations

import dataclasses
import hashlib
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from pipeline.errors import PayimportError
from pipeline.ledger import (
    SANDBOX_SCOPE_PREFIX,
    SCHEMA_VERSION,
    Ledger,
    PlannedRow,
    RowRecord,
    forget_if_sandbox_only,
    sha256_file,
)

REPO = Path(__file__).resolve().parent.parent
T = "https://api.example/v2.0/tenant/env/api/v2.0|company-1"
T2 = "https://api.example/v2.0/tenant/env/api/v2.0|company-2"


def _rows(
    keys: Sequence[str], run_id: str = "run-1", journal: str = "J1", first_line: int = 10_000
) -> list[PlannedRow]:
    return [
        PlannedRow(
            key=key,
            run_id=run_id,
            file_sha256="ab" * 32,
            source_file="statement.csv",
            source_row=n + 2,
            journal_id=journal,
            journal_code="PAY-" + run_id,
            line_number=first_line + 10_000 * n,
            payload={"lineNumber": first_line + 10_000 * n, "amount": "-12.30", "description": f"Zahlung {key} ü"},
        )
        for n, key in enumerate(keys)
    ]


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger.open(tmp_path / "state" / "ledger.sqlite") as opened:
        opened.start_run(T, "run-1", [{"name": "statement.csv", "sha256": "ab" * 32}])
        yield opened


def _states(ledger: Ledger, keys: Sequence[str], target: str = T) -> dict[str, str]:
    return {key: row.state for key, row in ledger.lookup(target, keys).items()}


# -- opening -----------------------------------------------------------------------------------------


def test_open_creates_folders_schema_and_durable_settings(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "ledger.sqlite"
    with Ledger.open(path) as ledger:
        db = ledger._db
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert db.execute("PRAGMA busy_timeout").fetchone()[0] > 0
        assert ledger.schema_version() == SCHEMA_VERSION == 6
        indexes = {
            tuple(info[2] for info in db.execute(f"PRAGMA index_info('{name}')"))
            for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'rows'")
        }
    assert {("target", "key"), ("target", "run_id", "state"), ("target", "journal_id", "line_number")} <= indexes
    with Ledger.open(path) as again:  # reopening an existing ledger keeps it as it is
        assert again.schema_version() == 6


def test_a_version_1_ledger_is_migrated_and_finds_rows_by_document_number(tmp_path: Path) -> None:
    """Wave-1 ledgers have no document-number index: opening one adds it and keeps every row."""
    path = tmp_path / "ledger.sqlite"
    with Ledger.open(path) as ledger:
        ledger.start_run("t", "run-1", [])
        (row,) = _rows(["k1"])
        ledger.plan("t", "run-1", [PlannedRow(**{**row.__dict__, "payload": {"documentNumber": "BANK261201-001"}})])
        ledger._db.execute("DROP INDEX rows_document")  # back to what a wave-1 ledger holds
        ledger._db.execute("DROP TABLE drained_journals")
        ledger._db.execute("DROP TABLE reviews")
        ledger._db.execute("DROP TABLE payer_memory")
        ledger._db.execute("DROP TABLE run_journals")
        ledger._db.execute("UPDATE meta SET value = '1' WHERE name = 'schema_version'")
    with Ledger.open(path) as again:
        assert again.schema_version() == 6
        assert again.document_owners("t", ["BANK261201-001", "BANK261201-002"]) == {"BANK261201-001": "k1"}
        assert again.document_owners("other target", ["BANK261201-001"]) == {}


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    Ledger.open(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '99' WHERE name = 'schema_version'")
    db.close()
    with pytest.raises(PayimportError, match="schema version 99, newer than this payimport understands"):
        Ledger.open(path)


def test_a_file_that_is_not_a_ledger_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    path.write_bytes(b"this is not a database, just text " * 200)
    with pytest.raises(PayimportError, match="is not a usable SQLite database"):
        Ledger.open(path)


# -- files and runs ------------------------------------------------------------------------------------


def test_sha256_file_and_record_file(tmp_path: Path, ledger: Ledger) -> None:
    statement = tmp_path / "abc.csv"
    statement.write_bytes(b"abc")
    digest = sha256_file(statement)
    assert digest == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"  # FIPS 180-2 "abc"
    assert ledger.record_file(T, digest, "abc.csv", 3) is True
    assert ledger.record_file(T, digest, "renamed copy.csv", 3) is False
    assert ledger.record_file(T2, digest, "abc.csv", 3) is True  # another target has not seen it
    first = ledger._db.execute("SELECT first_name FROM files WHERE target = ? AND sha256 = ?", (T, digest))
    assert first.fetchone()[0] == "abc.csv"


def test_sha256_file_streams_a_large_file(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    data = bytes(range(256)) * 40_000  # 10 MB, larger than any read buffer
    big.write_bytes(data)
    assert sha256_file(big) == hashlib.sha256(data).hexdigest()


def test_runs_lifecycle(ledger: Ledger) -> None:
    run = ledger.get_run("run-1")
    assert run is not None
    assert (run.run_id, run.target, run.status, run.finished) == ("run-1", T, "running", None)
    assert (run.journal_code, run.journal_id, run.journal_state, run.summary) == (None, None, None, None)
    assert run.files == [{"name": "statement.csv", "sha256": "ab" * 32}]
    assert run.started.endswith("Z")
    assert ledger.get_run("no-such-run") is None

    with pytest.raises(ValueError, match="already exists"):
        ledger.start_run(T, "run-1", [])

    ledger.set_journal("run-1", "PAY-RUN1", None, "planned")
    ledger.set_journal("run-1", "PAY-RUN1", "5f0c-journal", "created")
    with pytest.raises(ValueError, match="journal state"):
        ledger.set_journal("run-1", "PAY-RUN1", "5f0c-journal", "done")
    with pytest.raises(ValueError, match="not in the ledger"):
        ledger.set_journal("run-x", "PAY", None, "planned")
    run = ledger.get_run("run-1")
    assert run is not None
    assert (run.journal_code, run.journal_id, run.journal_state) == ("PAY-RUN1", "5f0c-journal", "created")

    ledger.start_run(T, "run-2", [])
    ledger.start_run(T, "run-3", [])
    ledger.start_run(T2, "other-target", [])
    ledger.finish_run("run-2", "failed", {"posted": 3, "amount": "-36.90"})
    ledger.finish_run("run-3", "finished", {"posted": 0})
    assert [r.run_id for r in ledger.unfinished_runs(T)] == ["run-1", "run-2"]
    assert [r.run_id for r in ledger.unfinished_runs(T2)] == ["other-target"]
    failed = ledger.get_run("run-2")
    assert failed is not None
    assert (failed.status, failed.summary) == ("failed", {"posted": 3, "amount": "-36.90"})
    assert failed.finished is not None
    with pytest.raises(ValueError, match="not 'running'"):
        ledger.finish_run("run-1", "running", {})
    with pytest.raises(ValueError, match="not in the ledger"):
        ledger.finish_run("run-x", "finished", {})


# -- planning ------------------------------------------------------------------------------------------


def test_plan_then_lookup_returns_what_was_planned(ledger: Ledger) -> None:
    ledger.plan(T, "run-1", _rows(["k1", "k2"]))
    found = ledger.lookup(T, ["k2", "missing", "k1", "k2"])
    assert set(found) == {"k1", "k2"}
    k2 = found["k2"]
    assert isinstance(k2, RowRecord)
    assert (k2.target, k2.key, k2.run_id, k2.state, k2.bc_id) == (T, "k2", "run-1", "planned", None)
    assert (k2.journal_id, k2.journal_code, k2.line_number) == ("J1", "PAY-run-1", 20_000)
    assert (k2.source_file, k2.source_row, k2.file_sha256) == ("statement.csv", 3, "ab" * 32)
    assert k2.payload == {"lineNumber": 20_000, "amount": "-12.30", "description": "Zahlung k2 ü"}
    assert (k2.error_code, k2.error_message) == (None, None)
    assert ledger.lookup(T2, ["k1"]) == {}  # scoped by target


def test_lookup_of_some_body_fields_keeps_the_record_and_only_those_fields(ledger: Ledger) -> None:
    ledger.plan(T, "run-1", _rows(["k1"]))
    ledger.mark_sending(T, ["k1"])
    ledger.mark_created(T, [("k1", "bc-1")])
    found = ledger.lookup(T, ["k1"], body=("amount", "description", "appliesToInvoiceId"))
    k1 = found["k1"]
    assert (k1.state, k1.bc_id, k1.line_number, k1.journal_id, k1.source_row) == ("created", "bc-1", 10_000, "J1", 2)
    # the body has no appliesToInvoiceId: it stays absent (not null), so .get(field, "") reads ""
    assert k1.payload == {"amount": "-12.30", "description": "Zahlung k1 ü"}
    assert k1.placement().document_number == ""
    with pytest.raises(ValueError, match="not a request body field"):
        ledger.lookup(T, ["k1"], body=("amount') FROM rows --",))


def test_lookup_of_some_body_fields_reads_a_number_holding_a_nul_whole(ledger: Ledger) -> None:
    # a text statement may carry a NUL inside a cell (only its first 4 KB are checked for binary
    # content), and the sandbox takes such a document number as it is; JSON keeps it as "\u0000",
    # at which SQLite's json_extract ends a text: the run's lookup must still read the number it
    # planned, or a resumed run would send the payment as "TX-0250"
    number = "TX-0250\x00Z"
    row = _rows(["k1"])[0]
    ledger.plan(T, "run-1", [dataclasses.replace(row, payload={**row.payload, "documentNumber": number})])
    found = ledger.lookup(T, ["k1"], body=("documentNumber", "customerNumber"))["k1"]
    assert found.payload.get("documentNumber") == number
    assert found.payload.get("customerNumber", "") == ""  # absent as recorded
    assert found.placement().document_number == number
    assert ledger.lookup(T, ["k1"])["k1"].payload["documentNumber"] == number  # what posting sends


def test_lookup_crosses_chunk_boundaries(ledger: Ledger) -> None:
    keys = [f"key-{n:05d}" for n in range(2_500)]
    ledger.plan(T, "run-1", _rows(keys[::2]))
    found = ledger.lookup(T, keys)
    assert sorted(found) == keys[::2]
    assert found["key-02498"].line_number == 10_000 + 10_000 * 1_249


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"amount": -12.3}, "field 'amount' is a float; write money as str"),
        ({"amount": __import__("decimal").Decimal("-12.30")}, "is not JSON-able"),
    ],
)
def test_plan_refuses_a_payload_that_is_not_exact_json(
    ledger: Ledger, payload: dict[str, object], message: str
) -> None:
    row = _rows(["k1"])[0]
    bad = PlannedRow(**{**row.__dict__, "payload": payload})
    with pytest.raises(ValueError, match=message):
        ledger.plan(T, "run-1", [bad])
    assert ledger.lookup(T, ["k1"]) == {}


def test_plan_checks_its_arguments(ledger: Ledger) -> None:
    with pytest.raises(ValueError, match="more than once: 'k1'"):
        ledger.plan(T, "run-1", _rows(["k1", "k2", "k1"]))
    with pytest.raises(ValueError, match="another run_id"):
        ledger.plan(T, "run-1", _rows(["k1"], run_id="run-2"))
    with pytest.raises(ValueError, match="was not started for target"):
        ledger.plan(T, "run-9", _rows(["k1"], run_id="run-9"))
    ledger.start_run(T2, "run-t2", [])
    with pytest.raises(ValueError, match="was not started for target"):
        ledger.plan(T, "run-t2", _rows(["k1"], run_id="run-t2"))
    ledger.plan(T, "run-1", [])
    assert ledger.count_by_state(T) == dict.fromkeys(("planned", "sending", "created", "refused", "conflict"), 0)


def test_happy_path_planned_sending_created(ledger: Ledger) -> None:
    keys = ["k1", "k2", "k3"]
    ledger.plan(T, "run-1", _rows(keys))
    ledger.mark_sending(T, keys)
    assert _states(ledger, keys) == dict.fromkeys(keys, "sending")
    ledger.mark_created(T, [("k1", "id-1"), ("k2", "id-2")])
    found = ledger.lookup(T, keys)
    assert {k: (r.state, r.bc_id) for k, r in found.items()} == {
        "k1": ("created", "id-1"),
        "k2": ("created", "id-2"),
        "k3": ("sending", None),
    }
    assert ledger.count_by_state(T) == {"planned": 0, "sending": 1, "created": 2, "refused": 0, "conflict": 0}
    assert ledger.count_by_state(T, run_id="run-2") == dict.fromkeys(ledger.count_by_state(T), 0)
    # confirming again with the same id is harmless (a read-back after an unknown outcome)
    ledger.mark_created(T, [("k1", "id-1")])
    assert ledger.lookup(T, ["k1"])["k1"].bc_id == "id-1"


def test_writes_are_committed_before_the_method_returns(ledger: Ledger) -> None:
    ledger.plan(T, "run-1", _rows(["k1"]))
    ledger.mark_sending(T, ["k1"])
    with Ledger.open(ledger.path) as other:  # another connection sees it while the first stays open
        assert _states(other, ["k1"]) == {"k1": "sending"}


@pytest.mark.parametrize("state", ["sending", "created", "conflict"])
def test_plan_never_overwrites_a_row_that_may_be_in_bc(ledger: Ledger, state: str) -> None:
    ledger.plan(T, "run-1", _rows(["held", "other"]))
    ledger.mark_sending(T, ["held"])
    if state == "created":
        ledger.mark_created(T, [("held", "bc-held")])
    elif state == "conflict":
        ledger.mark_conflict(T, [("held", "BC has another line at 10000")])
    before = ledger.lookup(T, ["held", "other"])

    ledger.start_run(T, "run-2", [])
    with pytest.raises(ValueError, match=rf"1 key\(s\) may already be in BC .*'held' \({state}\)"):
        ledger.plan(T, "run-2", _rows(["other", "held", "new"], run_id="run-2", journal="J2"))
    # all or nothing: the re-plannable and the new key in the same call were not written either
    assert ledger.lookup(T, ["held", "other", "new"]) == before


def test_planned_and_refused_rows_can_be_planned_again(ledger: Ledger) -> None:
    ledger.plan(T, "run-1", _rows(["a", "b"]))
    ledger.mark_sending(T, ["b"])
    ledger.mark_refused(T, [("b", "BadRequest_InvalidToken", "Customer C99 does not exist.")])
    b = ledger.lookup(T, ["b"])["b"]
    assert (b.state, b.error_code, b.error_message) == (
        "refused",
        "BadRequest_InvalidToken",
        "Customer C99 does not exist.",
    )

    ledger.start_run(T, "run-2", [])
    ledger.plan(T, "run-2", _rows(["a", "b"], run_id="run-2", journal="J2", first_line=50_000))
    found = ledger.lookup(T, ["a", "b"])
    assert {k: (r.state, r.run_id, r.journal_id, r.line_number) for k, r in found.items()} == {
        "a": ("planned", "run-2", "J2", 50_000),
        "b": ("planned", "run-2", "J2", 60_000),
    }
    assert (found["b"].error_code, found["b"].error_message, found["b"].bc_id) == (None, None, None)
    assert found["b"].payload["lineNumber"] == 60_000


# -- marking -------------------------------------------------------------------------------------------


def test_settled_as_absent_goes_back_to_planned(ledger: Ledger) -> None:
    ledger.plan(T, "run-1", _rows(["k1", "k2"]))
    ledger.mark_sending(T, ["k1", "k2"])
    ledger.mark_planned(T, ["k1", "k2", "k1"])
    assert _states(ledger, ["k1", "k2"]) == {"k1": "planned", "k2": "planned"}
    ledger.mark_sending(T, ["k1"])
    ledger.mark_sending(T, ["k1"])  # repeating it changes nothing
    assert _states(ledger, ["k1"]) == {"k1": "sending"}


@pytest.mark.parametrize(
    ("prepare", "attempt", "message"),
    [
        # a created row never goes back: that is how a payment would be sent twice
        ("created", lambda lg: lg.mark_planned(T, ["k1", "k2"]), r"'k1' \(created\)"),
        ("created", lambda lg: lg.mark_sending(T, ["k1", "k2"]), r"'k1' \(created\)"),
        ("created", lambda lg: lg.mark_refused(T, [("k1", "X", "x"), ("k2", "X", "x")]), r"'k1' \(created\)"),
        ("created", lambda lg: lg.mark_conflict(T, [("k1", "x"), ("k2", "x")]), r"'k1' \(created\)"),
        ("created", lambda lg: lg.mark_created(T, [("k1", "another-id"), ("k2", "id")]), r"'k1' \(created\)"),
        # BC cannot confirm what was never sent
        ("planned", lambda lg: lg.mark_created(T, [("k1", "id-1"), ("k2", "id")]), r"'k1' \(planned\)"),
        ("refused", lambda lg: lg.mark_sending(T, ["k1", "k2"]), r"'k1' \(refused\)"),
        ("conflict", lambda lg: lg.mark_planned(T, ["k1", "k2"]), r"'k1' \(conflict\)"),
        ("conflict", lambda lg: lg.mark_sending(T, ["k1", "k2"]), r"'k1' \(conflict\)"),
        ("planned", lambda lg: lg.mark_sending(T, ["k2", "nope"]), r"'nope' \(not in the ledger\)"),
    ],
)
def test_forbidden_transitions_raise_and_write_nothing(
    ledger: Ledger, prepare: str, attempt: Callable[[Ledger], None], message: str
) -> None:
    ledger.plan(T, "run-1", _rows(["k1", "k2"]))
    ledger.mark_sending(T, ["k2"])  # k2 alone would be allowed in every attempt above
    if prepare != "planned":
        ledger.mark_sending(T, ["k1"])
    if prepare == "created":
        ledger.mark_created(T, [("k1", "id-1")])
    elif prepare == "refused":
        ledger.mark_refused(T, [("k1", "X", "x")])
    elif prepare == "conflict":
        ledger.mark_conflict(T, [("k1", "x")])
    before = ledger.lookup(T, ["k1", "k2"])
    with pytest.raises(ValueError, match=message):
        attempt(ledger)
    assert ledger.lookup(T, ["k1", "k2"]) == before


def test_mark_created_checks_its_ids(ledger: Ledger) -> None:
    ledger.plan(T, "run-1", _rows(["k1"]))
    ledger.mark_sending(T, ["k1"])
    with pytest.raises(ValueError, match="has no bc_id"):
        ledger.mark_created(T, [("k1", "")])
    with pytest.raises(ValueError, match="two different bc_ids"):
        ledger.mark_created(T, [("k1", "a"), ("k1", "b")])
    assert _states(ledger, ["k1"]) == {"k1": "sending"}


def test_conflict_keeps_the_message_for_a_person(ledger: Ledger) -> None:
    ledger.plan(T, "run-1", _rows(["k1"]))
    ledger.mark_sending(T, ["k1"])
    ledger.mark_conflict(T, [("k1", "journal line 10000 in BC is not the planned payment")])
    row = ledger.lookup(T, ["k1"])["k1"]
    assert (row.state, row.error_code, row.error_message) == (
        "conflict",
        "conflict",
        "journal line 10000 in BC is not the planned payment",
    )


def test_targets_are_independent(ledger: Ledger) -> None:
    ledger.start_run(T2, "run-t2", [])
    ledger.plan(T, "run-1", _rows(["same-key"]))
    ledger.mark_sending(T, ["same-key"])
    ledger.mark_created(T, [("same-key", "id-in-company-1")])
    ledger.plan(T2, "run-t2", _rows(["same-key"], run_id="run-t2"))  # not blocked by the other company
    assert _states(ledger, ["same-key"], T2) == {"same-key": "planned"}
    with pytest.raises(ValueError, match="not in the ledger"):
        ledger.mark_sending(T2, ["only-in-t1"])


def test_rows_in_state_and_max_line_number(ledger: Ledger) -> None:
    ledger.plan(T, "run-1", _rows(["c", "a", "b"], journal="J1"))  # lines 10000 (c), 20000 (a), 30000 (b)
    ledger.start_run(T, "run-2", [])
    ledger.plan(T, "run-2", _rows(["d"], run_id="run-2", journal="J0", first_line=90_000))
    ledger.mark_sending(T, ["b", "d"])
    ledger.mark_refused(T, [("b", "X", "refused")])
    planned = ledger.rows_in_state(T, ["planned"])
    assert [(r.journal_id, r.line_number, r.key) for r in planned] == [("J1", 10_000, "c"), ("J1", 20_000, "a")]
    assert [r.key for r in ledger.rows_in_state(T, ["planned", "sending", "refused"])] == ["d", "c", "a", "b"]
    assert [r.key for r in ledger.rows_in_state(T, ["sending", "refused"], run_id="run-1")] == ["b"]
    assert ledger.rows_in_state(T, []) == []
    with pytest.raises(ValueError, match="unknown row state"):
        ledger.rows_in_state(T, ["posted"])
    # a refused line is not in BC, but its number is still counted: numbers are never handed out twice
    assert ledger.max_line_number(T, "J1") == 30_000
    assert ledger.max_line_number(T, "J0") == 90_000
    assert ledger.max_line_number(T, "J9") == 0
    assert ledger.max_line_number(T2, "J1") == 0


def test_state_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with Ledger.open(path) as ledger:
        ledger.start_run(T, "run-1", [])
        ledger.plan(T, "run-1", _rows(["k1", "k2", "k3"]))
        ledger.mark_sending(T, ["k1", "k2"])
        ledger.mark_created(T, [("k1", "id-1")])
        ledger.set_journal("run-1", "PAY-1", "jid", "posting")
    with Ledger.open(path) as ledger:
        assert _states(ledger, ["k1", "k2", "k3"]) == {"k1": "created", "k2": "sending", "k3": "planned"}
        assert ledger.lookup(T, ["k1"])["k1"].bc_id == "id-1"
        run = ledger.get_run("run-1")
        assert run is not None and (run.status, run.journal_state) == ("running", "posting")
        assert [r.run_id for r in ledger.unfinished_runs(T)] == ["run-1"]


# -- kill -9 in the middle of writing --------------------------------------------------------------------

BATCH = 40
# Writes batches forever: plan -> mark_sending -> mark_created, logging each step after it returned.
WRITER = """
import sys
sys.path.insert(0, {repo!r})
from pathlib import Path
from pipeline.ledger import Ledger, PlannedRow
path, run, batch, log_path = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
target = {target!r}
log = open(log_path, "a", buffering=1)
with Ledger.open(path) as ledger:
    ledger.start_run(target, run, [])
    i = 0
    while True:
        keys = [f"{{run}}:{{i:05d}}:{{j:03d}}" for j in range(batch)]
        rows = [
            PlannedRow(k, run, "00" * 32, "f.csv", j + 2, "J", "PAY", 10_000 * (i * batch + j + 1),
                       {{"documentNumber": k, "amount": "-1.00"}})
            for j, k in enumerate(keys)
        ]
        ledger.plan(target, run, rows)
        log.write(f"planned {{i}}\\n")
        ledger.mark_sending(target, keys)
        log.write(f"sending {{i}}\\n")
        ledger.mark_created(target, [(k, "bc-" + k) for k in keys])
        log.write(f"created {{i}}\\n")
        i += 1
"""
STEP = {"planned": 0, "sending": 1, "created": 2}


def _logged_steps(log: Path) -> list[tuple[str, int]]:
    text = log.read_text(encoding="utf-8") if log.exists() else ""
    complete = text[: text.rfind("\n") + 1]  # a line cut by the kill is not a completed step
    return [(word, int(n)) for word, n in (line.split() for line in complete.splitlines())]


def _run_and_kill(path: Path, run: str, log: Path, rng: random.Random) -> None:
    code = WRITER.format(repo=str(REPO), target=T)
    proc = subprocess.Popen([sys.executable, "-c", code, str(path), run, str(BATCH), str(log)])
    try:
        # let it get going (a few committed steps), then kill it at a random moment
        wanted = rng.randint(1, 6)
        deadline = time.monotonic() + 60  # only a guard against a hang, not a measurement
        while len(_logged_steps(log)) < wanted:
            assert proc.poll() is None, "the writer died on its own"
            assert time.monotonic() < deadline, "the writer made no progress"
            time.sleep(0.005)
        time.sleep(rng.uniform(0, 0.25))
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        assert proc.wait() == -signal.SIGKILL


def test_kill_9_while_writing_leaves_whole_transactions(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    rng = random.Random(20261121)
    runs = [f"r{n}" for n in range(4)]
    for run in runs:  # each writer reopens the ledger the previous one was killed on
        _run_and_kill(path, run, tmp_path / f"{run}.log", rng)

    with Ledger.open(path) as ledger:
        assert ledger._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = ledger.rows_in_state(T, ["planned", "sending", "created", "refused", "conflict"])
        counts = ledger.count_by_state(T)
        assert [r.run_id for r in ledger.unfinished_runs(T)] == runs  # killed: never finished
    assert len({r.key for r in rows}) == len(rows) == sum(counts.values())
    assert all(n % BATCH == 0 for n in counts.values()), counts
    assert counts["refused"] == counts["conflict"] == 0
    assert all(r.bc_id == "bc-" + r.key for r in rows if r.state == "created")
    assert all(r.bc_id is None for r in rows if r.state != "created")

    batches: dict[tuple[str, int], list[RowRecord]] = defaultdict(list)
    for r in rows:
        batches[(r.run_id, int(r.key.split(":")[1]))].append(r)
    for run in runs:
        numbers = sorted(i for (rid, i) in batches if rid == run)
        assert numbers == list(range(len(numbers))), f"{run}: a committed batch is missing"
        states = []
        for i in numbers:
            batch = batches[(run, i)]
            assert len(batch) == BATCH, f"{run} batch {i} is partly written"
            assert len({r.state for r in batch}) == 1, f"{run} batch {i} is partly marked"
            states.append(batch[0].state)
        # every batch but the last went all the way; the last may have stopped at any step
        assert all(s == "created" for s in states[:-1])
        # the ledger holds every step the writer saw committed, and at most the one step after it
        steps = _logged_steps(tmp_path / f"{run}.log")
        assert steps, f"{run} logged nothing"
        last_word, last_i = steps[-1]
        logged = 3 * last_i + STEP[last_word]
        in_db = 3 * numbers[-1] + STEP[states[-1]]
        assert logged <= in_db <= logged + 1, (run, steps[-1], numbers[-1], states[-1])


def test_make_clean_forgets_only_a_sandbox_only_ledger(tmp_path: Path) -> None:
    """``make clean`` resets the demo's ledger, never one that records a real tenant's imports."""
    demo, tenant = tmp_path / "demo" / "ledger.sqlite", tmp_path / "tenant" / "ledger.sqlite"
    with Ledger.open(demo) as ledger:
        ledger.start_run(f"{SANDBOX_SCOPE_PREFIX} (/srv/x/.payimport/sandbox)|c1", "run-1", [])
    with Ledger.open(tenant) as ledger:
        ledger.start_run(f"{SANDBOX_SCOPE_PREFIX} (/srv/x/.payimport/sandbox)|c1", "run-1", [])
        ledger.record_file("bc|production|c2", "ab" * 32, "statement.csv", 10)

    assert forget_if_sandbox_only(demo) and not demo.exists()
    assert not forget_if_sandbox_only(tenant) and tenant.exists()
    assert forget_if_sandbox_only(tmp_path / "absent" / "ledger.sqlite")


def test_journals_with_applied_payments_skip_drained_ones_until_a_new_payment(ledger: Ledger) -> None:
    """Payments waiting for their invoices are looked for only where they may still be: a journal
    read empty of applied payments is skipped, until this tool creates another one in it."""
    applied = [
        PlannedRow(**{**r.__dict__, "payload": {**r.payload, "appliesToInvoiceNumber": "RE-1"}}) for r in _rows(["a"])
    ]
    unapplied = _rows(["b"], journal="J2")
    ledger.plan(T, "run-1", applied + unapplied)
    ledger.mark_sending(T, ["a", "b"])
    ledger.mark_created(T, [("a", "bc-a"), ("b", "bc-b")])
    assert ledger.journals_with_applied_payments(T) == ["J1"]  # J2 holds nothing applied
    assert ledger.journals_with_applied_payments(T2) == []

    ledger.mark_drained(T, ["J1"])
    assert ledger.journals_with_applied_payments(T) == []

    time.sleep(0.002)  # the ledger's clock has millisecond resolution
    (later,) = [
        PlannedRow(**{**r.__dict__, "payload": {**r.payload, "appliesToInvoiceNumber": "RE-2"}})
        for r in _rows(["c"], first_line=30_000)
    ]
    ledger.plan(T, "run-1", [later])
    ledger.mark_sending(T, ["c"])
    ledger.mark_created(T, [("c", "bc-c")])
    assert ledger.journals_with_applied_payments(T) == ["J1"]


def test_a_run_records_its_further_journals_code_first_then_id_and_state(ledger: Ledger) -> None:
    ledger.start_run("t", "run-9", [])
    ledger.set_journal("run-9", "PI26120201", None, "planned")
    ledger.set_more_journals("run-9", [(2, "PI26120202", None, "planned"), (3, "PI26120203", None, "planned")])
    assert ledger.more_journals("run-9") == [(2, "PI26120202", None, "planned"), (3, "PI26120203", None, "planned")]
    ledger.set_more_journals("run-9", [(3, "PI26120203", "id-3", "created")])
    assert ledger.more_journals("run-9")[1] == (3, "PI26120203", "id-3", "created")
    assert ledger.more_journals("another run") == []
    with pytest.raises(ValueError, match="parts start at 2"):
        ledger.set_more_journals("run-9", [(1, "PI26120201", None, "planned")])
    with pytest.raises(ValueError):
        ledger.set_more_journals("run-9", [(2, "PI26120202", None, "sent")])
