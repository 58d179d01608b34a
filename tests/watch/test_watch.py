"""Folder mode (issue 5): files dropped into an inbox are imported once, when finished, and filed.

Every test works on the real file system in a temporary folder against the embedded sandbox.
Expected figures come from the input files: sample_data/README.md and the demo seed
(pipeline/sandbox/seed.py: every invoice a sample names is an open posted invoice of the
customer the sample names, for the amount paid).

bank_statement.csv (19 lines, README): 12 skipped, 7 credits, all posted. Five name one open
invoice for the exact amount (RE-2026-0101 1190.00, -0102 357.00, -0103 12495.00, -0104 500.00,
-0107 714.00; together 15256.00). Line 13 (2380.00) names RE-2026-0105 and -0106, 1190.00 each:
split over both. Line 16 (45.50) is paid by "Bäckerei Schäfer KG", the name of C10100 alone, whose
one invoice line 8 pays: on account. Together 15256.00 + 2380.00 + 45.50 = 17681.50.
remittance.xlsx (10 rows): 6 skipped, 4 invoices of C10000 paid exactly (1250.00, 84.99, 2045.50,
19.01): posted, exit 0.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from pipeline.config import load_config
from pipeline.ledger import Ledger
from pipeline.lock import hold_lock
from pipeline.watch import (
    Stability,
    Watcher,
    filed_name,
    free_path,
    inbox_files,
    office_lock_present,
    open_for_writing,
    take,
)

from .conftest import (
    SAMPLES,
    Site,
    assert_each_once,
    background_watcher,
    bc_key,
    bc_view,
    json_events,
    ledger_states,
    make_transactions,
    report_of,
    slow_site,
    start_watch_process,
    statement_text,
    wait_until,
    watch_command,
    watch_once,
    write_config,
    write_statement,
)

BANK_COUNTS = {"rows_read": 19, "posted": 7, "already_posted": 0, "skipped": 12, "rejected": 0, "needs_review": 0}
BANK_POSTED = "17681.50"
REMITTANCE_LINES = {
    ("C10000", "RE-2026-0091", Decimal("-1250.00")),
    ("C10000", "RE-2026-0094", Decimal("-84.99")),
    ("C10000", "RE-2026-0097", Decimal("-2045.50")),
    ("C10000", "RE-2026-0099", Decimal("-19.01")),
}


def counts(summary: dict[str, Any]) -> dict[str, int]:
    return {k: summary[k] for k in BANK_COUNTS}


def applied(line: dict[str, Any]) -> tuple[str, str, Decimal]:
    return (str(line["customerNumber"]), str(line["appliesToInvoiceNumber"]), Decimal(str(line["amount"])))


# --- 1. a slow writer --------------------------------------------------------------------------------

# Writes argv[2] (a file of bytes) to argv[1] in argv[3] chunks, pausing argv[4] seconds between them.
# "held": one open file for the whole copy (a copy over a slow share); "reopened": each chunk appended
# by a new open (a download tool). Prints "TAKEN-EARLY" if the file left its folder before it was complete.
SLOW_WRITER = textwrap.dedent(
    """
    import os, sys, time
    target, source, chunks, pause, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
    data = open(source, "rb").read()
    size = -(-len(data) // chunks)
    parts = [data[i:i + size] for i in range(0, len(data), size)]
    out = open(target, "wb") if mode == "held" else None
    for n, part in enumerate(parts):
        if n and not os.path.exists(target):
            print("TAKEN-EARLY", n, flush=True)
        if out is None:
            with open(target, "ab") as f:
                f.write(part)
        else:
            out.write(part)
            out.flush()
        print("wrote", n, flush=True)
        if n < len(parts) - 1:
            time.sleep(pause)
    if not os.path.exists(target):
        print("TAKEN-EARLY", len(parts), flush=True)
    if out is not None:
        out.close()
    print("closed", flush=True)
    """
)


@pytest.mark.parametrize(
    ("mode", "chunks", "pause", "stable"),
    [
        # pauses longer than stable_seconds: only "open for writing" keeps the watcher off the file
        ("held", 5, 0.7, 0.5),
        # the file is closed between chunks, but never unchanged for stable_seconds
        ("reopened", 12, 0.25, 1.0),
    ],
)
def test_a_slow_writer_is_not_taken_before_the_file_is_complete(
    tmp_path: Path, mode: str, chunks: int, pause: float, stable: float
) -> None:
    write_config(tmp_path, watch={"stable_seconds": stable, "interval_seconds": 0.2})
    site = Site(tmp_path)
    site.inbox.mkdir(parents=True)
    target = site.inbox / "bank_statement.csv"
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            SLOW_WRITER,
            str(target),
            str(SAMPLES / "bank_statement.csv"),
            str(chunks),
            str(pause),
            mode,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().startswith("wrote 0")  # the file exists and is incomplete
        with background_watcher(site) as bg:
            bg.wait_for(lambda: len(bg.watcher.filed) >= 1)
            code = bg.finish()
        out, _ = writer.communicate(timeout=30)
    finally:
        if writer.poll() is None:
            writer.kill()
    assert "TAKEN-EARLY" not in out, out
    assert writer.returncode == 0
    assert site.names(site.inbox) == []
    report = report_of(site.done, "bank_statement.csv")
    assert counts(report["summary"]) == BANK_COUNTS
    assert report["summary"]["amount_posted"] == BANK_POSTED
    filed = [p for p in site.done.iterdir() if p.name.endswith("Z_bank_statement.csv")]
    assert [p.read_bytes() for p in filed] == [(SAMPLES / "bank_statement.csv").read_bytes()]
    assert code == 0  # every payment decided


# Keeps argv[1] unchanged until the watcher takes argv[2] (another file) away, then appends to argv[1]
# with the file held open until argv[2]'s import is filed in argv[3] and a second more has passed.
# Prints "TAKEN-WHILE-OPEN" if argv[1] left the inbox while it was still open for writing.
REWRITER = textwrap.dedent(
    """
    import os, sys, time, glob
    target, other, done, more = sys.argv[1], sys.argv[2], sys.argv[3], open(sys.argv[4]).read()
    while os.path.exists(other):
        time.sleep(0.002)
    lines = more.splitlines(keepends=True)
    with open(target, "a") as out:
        out.write(lines[0]); out.flush()
        while not glob.glob(os.path.join(done, "*Z_" + os.path.basename(other) + ".report.json")):
            time.sleep(0.002)
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            if not os.path.exists(target):
                print("TAKEN-WHILE-OPEN", flush=True)
                break
            time.sleep(0.002)
        out.writelines(lines[1:])
    print("closed", flush=True)
    """
)


def test_a_file_that_changes_while_another_is_imported_is_checked_again_before_it_is_taken(tmp_path: Path) -> None:
    """Both files are ready when the watcher looks; while it imports the first, a person saves the
    second again. The second must not be taken on the strength of the old look."""
    site = slow_site(tmp_path, watch={"stable_seconds": 0.5, "interval_seconds": 0.2})
    first_txs = make_transactions(80, prefix="ta")
    second_txs = make_transactions(30, prefix="tb", seed=9)
    site.inbox.mkdir(parents=True)
    first = write_statement(site.inbox / "first.csv", first_txs)
    second = site.inbox / "second.csv"
    second.write_text(statement_text(second_txs[:10]), encoding="utf-8")
    os.utime(first, ns=(1_000_000_000, 1_000_000_000))  # older: taken first
    more = tmp_path / "more.txt"
    more.write_text(statement_text(second_txs[10:]).split("\n", 1)[1], encoding="utf-8")
    writer = subprocess.Popen(
        [sys.executable, "-c", REWRITER, str(second), str(first), str(site.done), str(more)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        with background_watcher(site) as bg:
            bg.wait_for(lambda: len(bg.watcher.filed) >= 2, timeout_s=90)
            bg.finish()
        out, _ = writer.communicate(timeout=30)
    finally:
        if writer.poll() is None:
            writer.kill()
    assert "TAKEN-WHILE-OPEN" not in out, out
    summary = report_of(site.done, "second.csv")["summary"]
    assert (summary["rows_read"], summary["posted"]) == (31, 30)


# --- 2. one watcher per inbox ------------------------------------------------------------------------


def test_a_second_watcher_on_the_same_inbox_exits_4_naming_the_holder(site: Site) -> None:
    first = start_watch_process(site, "--log-format", "json")
    try:
        assert first.stderr is not None
        started = json.loads(first.stderr.readline())
        assert started["event"] == "watch_started"
        second = subprocess.run(
            watch_command(site, "--once"), cwd=site.base, capture_output=True, text=True, timeout=120
        )
        assert second.returncode == 4, second.stderr
        assert f"pid {first.pid}" in second.stderr
        assert "Traceback" not in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        _, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    assert "Traceback" not in err


def test_a_file_that_meets_the_state_lock_is_imported_on_a_later_cycle(site: Site) -> None:
    """A nightly ``payimport run`` holds the state lock while a file is dropped: the watcher leaves the
    file in processing/ and imports it once the run is over, without being restarted."""
    with background_watcher(site) as bg:
        with hold_lock(site.base / "state" / "payimport.lock", "payimport run /srv/bank/statements/"):
            site.drop(SAMPLES / "remittance.xlsx")
            bg.wait_for(lambda: len(bg.watcher.filed) >= 1)
            assert [(f.folder, f.exit_code) for f in bg.watcher.filed] == [("processing", 4)]
            assert site.names(site.processing) == ["remittance.xlsx"]
        bg.wait_for(lambda: any(f.folder == "done" for f in bg.watcher.filed), timeout_s=30)
        bg.finish()
    assert site.names(site.processing) == []
    assert report_of(site.done, "remittance.xlsx")["summary"]["posted"] == 4


# --- 3. a crash in the middle of a file ---------------------------------------------------------------


def test_a_watcher_killed_while_posting_resumes_the_file_first_and_bc_holds_each_line_once(tmp_path: Path) -> None:
    site = slow_site(tmp_path)
    txs = make_transactions(300)
    site.drop(write_statement(tmp_path / "big.csv", txs))
    proc = start_watch_process(site, "--log-format", "json")
    try:
        wait_until(
            lambda: ledger_states(site)["created"] >= 60 and ledger_states(site)["sending"] > 0,
            "some lines are in BC and a batch is in flight",
        )
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert site.names(site.processing) == ["big.csv"]
    assert site.names(site.done) == []
    assert ledger_states(site)["created"] < len(txs), "the kill came too late to test a resume"

    site.drop(SAMPLES / "remittance.xlsx")  # waiting in the inbox: must come after the resumed file
    (site.processing / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")  # a Mac looked at the folder
    restart = subprocess.run(
        watch_command(site, "--once", "--log-format", "json"),
        cwd=site.base,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert restart.returncode == 0, restart.stderr
    events = [(e["event"], e.get("file")) for e in json_events(restart.stderr)]
    done_order = [file for event, file in events if event == "file_done"]
    assert done_order == ["big.csv", "remittance.xlsx"]
    assert events.index(("resume_file", "big.csv")) < events.index(("file_done", "big.csv"))
    assert site.names(site.processing) == [".DS_Store"] and site.names(site.failed) == []

    summary = report_of(site.done, "big.csv")["summary"]
    assert summary["rows_read"] == len(txs) + 1
    assert summary["posted"] + summary["already_posted"] == len(txs)
    assert (summary["rejected"], summary["needs_review"]) == (0, 0)
    assert ledger_states(site)["sending"] == 0
    with bc_view(site) as bc:
        journal_lines = bc.lines(summary["journal"]["id"])
        assert_each_once(journal_lines, txs)
        ours = [line for line in bc.all_lines() if str(line["documentNumber"]).startswith("TX-")]
        assert len(ours) == len(txs), "lines of the file in another journal"


# --- 4. the same file dropped again under another name ---------------------------------------------


def test_a_file_dropped_again_under_another_name_is_filed_in_done_and_posts_nothing(site: Site) -> None:
    site.drop(SAMPLES / "remittance.xlsx")
    code, filed = watch_once(site)
    assert code == 0 and [f.folder for f in filed] == ["done"]

    site.drop(SAMPLES / "remittance.xlsx", "remittance from Anna (copy).xlsx")
    code, filed = watch_once(site)
    assert code == 0
    assert [(f.source, f.folder) for f in filed] == [("remittance from Anna (copy).xlsx", "done")]
    report = report_of(site.done, "remittance from Anna (copy).xlsx")
    summary = report["summary"]
    assert (summary["posted"], summary["already_posted"], summary["skipped"]) == (0, 4, 6)
    assert sorted(line["state"] for line in report["lines"] if line["state"] != "skipped") == ["already_posted"] * 4
    assert site.names(site.inbox) == [] and site.names(site.processing) == []
    with bc_view(site) as bc:
        assert sorted(map(applied, bc.all_lines())) == sorted(REMITTANCE_LINES)


def test_filing_never_overwrites_a_file_of_the_same_name_and_time(tmp_path: Path) -> None:
    """The same statement dropped twice under one name, filed within one second (a fixed clock):
    two records of what happened, each with its own report. Folder names come from the config."""
    folders = {"inbox": "Eingang", "processing": "In Arbeit", "done": "Erledigt", "failed": "Fehler"}
    write_config(tmp_path, watch={"folders": folders})
    config = load_config(tmp_path / "config.yaml")
    root = tmp_path / "imports"
    when = datetime(2026, 11, 21, 5, 12, 0, tzinfo=UTC)
    for _ in range(2):
        (root / "Eingang").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SAMPLES / "remittance.xlsx", root / "Eingang" / "remittance.xlsx")
        watcher = Watcher(root, config, environ=os.environ, clock=lambda: when)
        assert watcher.run(once=True) == 0
    done = root / "Erledigt"
    assert sorted(p.name for p in done.iterdir()) == [
        "2026-11-21T051200Z_remittance-2.xlsx",
        "2026-11-21T051200Z_remittance-2.xlsx.report.json",
        "2026-11-21T051200Z_remittance-2.xlsx.report.xlsx",
        "2026-11-21T051200Z_remittance.xlsx",
        "2026-11-21T051200Z_remittance.xlsx.report.json",
        "2026-11-21T051200Z_remittance.xlsx.report.xlsx",
    ]
    first = json.loads((done / "2026-11-21T051200Z_remittance.xlsx.report.json").read_text(encoding="utf-8"))
    second = json.loads((done / "2026-11-21T051200Z_remittance-2.xlsx.report.json").read_text(encoding="utf-8"))
    assert (first["summary"]["posted"], first["summary"]["already_posted"]) == (4, 0)
    assert (second["summary"]["posted"], second["summary"]["already_posted"]) == (0, 4)
    assert sorted(p.name for p in root.iterdir()) == [".payimport-watch.lock", *sorted(folders.values())]


# --- 5. a corrected file ---------------------------------------------------------------------------

# The fixes a person makes in the errors workbook, by the row of payments_with_errors.csv, worked out
# from the file and the demo seed (the invoice each row pays, for its amount). Typed as Excel types them.
# Row 7 pays a USD invoice of a USD customer: no edit makes it a EUR receipt, so it stays rejected.
FIXES: dict[int, dict[str, Any]] = {
    3: {"Amount": 1234.56},  # was 1.234,56
    4: {"Date": datetime(2026, 2, 28)},  # was 2026-02-31
    5: {"Date": datetime(2026, 3, 25)},  # was 03/25/2026
    6: {"Amount": 640.00},  # was empty: INV-5005 is 640.00
    8: {"Amount": 99.99},  # was 99.999: INV-5007 is 99.99
    9: {"Transaction ID": "PP-0008"},  # was 43 characters
    10: {"Customer No": "C95000"},  # Lucerne Publishing's number
}
FIXED_LINES = {
    ("C30000", "INV-5002", Decimal("-1234.56")),
    ("C40000", "INV-5003", Decimal("-980.00")),
    ("C50000", "INV-5004", Decimal("-250.00")),
    ("C60000", "INV-5005", Decimal("-640.00")),
    ("C80000", "INV-5007", Decimal("-99.99")),
    ("C90000", "INV-5008", Decimal("-310.00")),
    ("C95000", "INV-5009", Decimal("-75.25")),
}
FIRST_LINES = {  # rows 2, 11 and 13: valid from the start
    ("C20000", "INV-5001", Decimal("-1500.00")),
    ("C10000", "INV-5010", Decimal("-12.00")),
    ("C30000", "INV-5011", Decimal("-820.40")),
}


def test_a_corrected_errors_workbook_posts_only_the_fixed_rows(site: Site) -> None:
    site.drop(SAMPLES / "payments_with_errors.csv")
    code, _ = watch_once(site)
    assert code == 1
    summary = report_of(site.done, "payments_with_errors.csv")["summary"]
    assert (summary["posted"], summary["rejected"], summary["skipped"]) == (3, 8, 4)
    workbooks = [p for p in site.done.iterdir() if p.name.endswith("payments_with_errors.csv.errors.xlsx")]
    assert len(workbooks) == 1
    with bc_view(site) as bc:
        before = {str(line["id"]): bc_key(line) for line in bc.all_lines()}
        assert sorted(map(applied, bc.all_lines())) == sorted(FIRST_LINES)

    book = openpyxl.load_workbook(workbooks[0])
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    column = {name: i + 1 for i, name in enumerate(header)}
    fixed_rows: set[int] = set()
    for r in range(2, sheet.max_row + 1):
        source_row = int(str(sheet.cell(r, column["row"]).value))
        for name, value in FIXES.get(source_row, {}).items():
            sheet.cell(r, column[name]).value = value
            fixed_rows.add(source_row)
    assert fixed_rows == set(FIXES)
    staged = site.base / "payments fixed.xlsx"
    book.save(staged)
    site.drop(staged)

    code, filed = watch_once(site)
    assert [(f.source, f.folder) for f in filed] == [("payments fixed.xlsx", "done")]
    assert code == 1  # row 7 is still rejected
    report = report_of(site.done, "payments fixed.xlsx")
    second = report["summary"]
    assert (second["posted"], second["already_posted"], second["rejected"], second["needs_review"]) == (7, 0, 1, 0)
    rejected = [line for line in report["lines"] if line["state"] == "rejected"]
    assert [line["reason_code"] for line in rejected] == ["currency_mismatch"]
    with bc_view(site) as bc:
        lines = bc.all_lines()
        assert sorted(map(applied, lines)) == sorted(FIRST_LINES | FIXED_LINES)
        now = {str(line["id"]): bc_key(line) for line in lines}
        assert {k: now[k] for k in before} == before  # the lines posted the first time are untouched


# --- 6. hidden and temporary files ---------------------------------------------------------------


def test_hidden_and_temporary_files_stay_in_the_inbox_and_an_open_workbook_waits(site: Site) -> None:
    site.inbox.mkdir(parents=True)
    importable = statement_text(make_transactions(3, prefix="ig"))
    ignored = {"~$book.xlsx": "owner", ".~lock.x#": "lock", "x.part": importable, ".dotfile": importable}
    for name, text in ignored.items():
        (site.inbox / name).write_text(text, encoding="utf-8")
    site.drop(SAMPLES / "remittance.xlsx", "book.xlsx")  # open in Excel: ~$book.xlsx beside it
    with background_watcher(site) as bg:
        site.drop(SAMPLES / "bank_statement.csv")
        bg.wait_for(lambda: bg.filed_sources() == ["bank_statement.csv"])
        # book.xlsx has been unchanged far longer than stable_seconds by now; give it two more looks
        time.sleep(3 * 0.2 + 0.5)
        assert bg.filed_sources() == ["bank_statement.csv"]
        assert site.names(site.inbox) == sorted([*ignored, "book.xlsx"])
        (site.inbox / "~$book.xlsx").unlink()  # Excel closed the workbook
        bg.wait_for(lambda: len(bg.watcher.filed) == 2)
        bg.finish()
    assert bg.filed_sources() == ["bank_statement.csv", "book.xlsx"]
    assert report_of(site.done, "book.xlsx")["summary"]["posted"] == 4
    assert site.names(site.inbox) == sorted(set(ignored) - {"~$book.xlsx"})
    assert site.names(site.failed) == [] and site.names(site.processing) == []


# --- 7. unreadable files -----------------------------------------------------------------------------


def test_unreadable_files_go_to_failed_with_a_plain_reason_beside_them(site: Site) -> None:
    site.inbox.mkdir(parents=True)
    (site.inbox / "scan.csv").write_bytes(random.Random(3).randbytes(4000))
    (site.inbox / "notes.txt").write_text("Meeting notes\nCall the bank on Monday\n", encoding="utf-8")
    code, filed = watch_once(site)
    assert code == 2
    assert sorted((f.source, f.folder) for f in filed) == [("notes.txt", "failed"), ("scan.csv", "failed")]
    assert site.names(site.inbox) == [] and site.names(site.processing) == [] and site.names(site.done) == []
    for name in ("scan.csv", "notes.txt"):
        files = [p for p in site.failed.iterdir() if p.name.endswith(f"Z_{name}")]
        assert len(files) == 1
        reason = files[0].with_name(files[0].name + ".reason.txt").read_text(encoding="utf-8")
        assert reason.startswith(f"{name} could not be imported, and nothing from it was posted.")
        assert "Traceback" not in reason and "Error(" not in reason
        assert "processing" not in reason  # the file is not there any more: named as the person knows it
    notes_reason = next(site.failed.glob("*notes.txt.reason.txt")).read_text(encoding="utf-8")
    assert "no profile matches" in notes_reason
    assert (site.failed.glob("*Z_scan.csv")).__next__().read_bytes() == random.Random(3).randbytes(4000)
    assert ledger_states(site) == {}
    with bc_view(site) as bc:
        assert bc.new_journals() == {}


# --- 8. SIGTERM during posting ---------------------------------------------------------------------


def test_sigterm_while_posting_stops_cleanly_and_a_restart_finishes_the_file(tmp_path: Path) -> None:
    site = slow_site(tmp_path)
    txs = make_transactions(300, prefix="st")
    site.drop(write_statement(tmp_path / "statement.csv", txs))
    proc = start_watch_process(site, "--log-format", "json")
    try:
        wait_until(lambda: ledger_states(site)["created"] >= 60, "some lines are in BC")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode in (0, 3), err
    assert "Traceback" not in err
    json_events(err)  # the log is still one JSON object per line
    assert site.names(site.processing) == ["statement.csv"]
    assert site.names(site.done) == []
    states = ledger_states(site)
    assert states["sending"] == 0
    assert states["created"] < len(txs), "the stop came too late to test a resume"
    report = next(site.base.glob("runs/*/report.json"))
    summary = json.loads(report.read_text(encoding="utf-8"))["summary"]
    with Ledger.open(site.ledger_path) as ledger:
        assert ledger.rows_in_state(f"{summary['target']}|{summary['company_id']}", ["sending"]) == []

    restart = subprocess.run(watch_command(site, "--once"), cwd=site.base, capture_output=True, text=True, timeout=180)
    assert restart.returncode == 0, restart.stderr
    assert site.names(site.processing) == []
    final = report_of(site.done, "statement.csv")["summary"]
    assert final["posted"] + final["already_posted"] == len(txs)
    with bc_view(site) as bc:
        assert_each_once([line for line in bc.all_lines() if str(line["documentNumber"]).startswith("ST-")], txs)


# --- 10. the hook ---------------------------------------------------------------------------------

HOOK = textwrap.dedent(
    """
    import json, os, sys
    with open(sys.argv[1], "a", encoding="utf-8") as out:
        out.write(json.dumps({"argv": sys.argv[2:], "folder": os.environ.get("PAYIMPORT_FOLDER"),
                              "file": os.environ.get("PAYIMPORT_FILE")}) + "\\n")
    """
)


def test_the_hook_runs_after_each_file_with_the_report_path_last(tmp_path: Path) -> None:
    script = tmp_path / "notify.py"
    script.write_text(HOOK, encoding="utf-8")
    calls = tmp_path / "calls.jsonl"
    write_config(tmp_path, watch={"hook": [sys.executable, str(script), str(calls), "--channel", "finance"]})
    site = Site(tmp_path)
    site.drop(SAMPLES / "remittance.xlsx")
    (site.inbox / "notes.txt").write_text("nothing to import here\n", encoding="utf-8")
    os.utime(site.inbox / "notes.txt", ns=(2_000_000_000, 2_000_000_000))  # older: filed first
    code, _ = watch_once(site)
    assert code == 2
    made = [json.loads(line) for line in calls.read_text(encoding="utf-8").splitlines()]
    assert [(c["file"], c["folder"]) for c in made] == [("notes.txt", "failed"), ("remittance.xlsx", "done")]
    for call in made:
        assert call["argv"][:2] == ["--channel", "finance"] and len(call["argv"]) == 3
    failed_arg = Path(made[0]["argv"][-1])
    assert failed_arg.parent == site.failed and failed_arg.name.endswith("Z_notes.txt.reason.txt")
    done_arg = Path(made[1]["argv"][-1])
    assert done_arg.parent == site.done and done_arg.name.endswith("Z_remittance.xlsx.report.json")
    summary = json.loads(done_arg.read_text(encoding="utf-8"))["summary"]
    assert (summary["posted"], summary["skipped"]) == (4, 6)


# --- units: is the file finished? where does it go? --------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_stability_needs_the_same_size_and_mtime_for_stable_seconds(tmp_path: Path) -> None:
    clock = FakeClock()
    stability = Stability(2.0, clock=clock)
    a = tmp_path / "a.csv"
    a.write_text("one\n")
    os.utime(a, ns=(5_000_000_000, 5_000_000_000))
    assert stability.observe([a]) == []  # first sight: unknown history
    clock.now += 1.9
    assert stability.observe([a]) == []
    clock.now += 0.1
    assert stability.observe([a]) == [a]
    with a.open("a") as f:  # grows: the wait starts again
        f.write("two\n")
    clock.now += 5
    assert stability.observe([a]) == []
    clock.now += 2
    assert stability.observe([a]) == [a]
    os.utime(a, ns=(6_000_000_000, 6_000_000_000))  # rewritten with the same size: a new mtime
    clock.now += 5
    assert stability.observe([a]) == []
    clock.now += 2
    assert stability.observe([a]) == [a]


def test_stability_forgets_files_that_went_away_and_skips_locked_ones(tmp_path: Path) -> None:
    clock = FakeClock()
    stability = Stability(1.0, clock=clock)
    a, b = tmp_path / "a.csv", tmp_path / "b.xlsx"
    a.write_text("x")
    b.write_text("y")
    assert stability.observe([a, b]) == []
    (tmp_path / "~$b.xlsx").write_text("owner")
    clock.now += 1
    assert stability.observe([a, b]) == [a]
    assert stability.observe([b]) == []  # a is not listed: forgotten
    (tmp_path / "~$b.xlsx").unlink()
    assert stability.observe([a, b]) == [b]  # a is new again, b was stable all along
    a.unlink()
    clock.now += 5
    assert stability.observe([a, b]) == [b]  # a vanished: no error


def test_still_ready_rejects_a_file_changed_or_opened_since_it_was_found_ready(tmp_path: Path) -> None:
    clock = FakeClock()
    stability = Stability(1.0, clock=clock)
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.xlsx"
    for path in (a, b, c):
        path.write_text("x")
    stability.observe([a, b, c])
    clock.now += 1
    assert stability.observe([a, b, c]) == [a, b, c]
    with b.open("a") as f:
        f.write("more")
    (tmp_path / ".~lock.c.xlsx#").write_text("x")
    assert [stability.still_ready(p) for p in (a, b, c)] == [True, False, False]
    a.unlink()
    assert not stability.still_ready(a)
    assert not stability.still_ready(tmp_path / "never-seen.csv")


def test_stability_with_zero_seconds_takes_a_file_at_first_sight(tmp_path: Path) -> None:
    a = tmp_path / "a.csv"
    a.write_text("x")
    assert Stability(0.0, clock=FakeClock()).observe([a]) == [a]


def test_office_lock_files_beside_a_workbook(tmp_path: Path) -> None:
    book = tmp_path / "Zahlungen März.xlsx"
    book.write_text("x")
    assert not office_lock_present(book)
    (tmp_path / "~$other.xlsx").write_text("x")
    (tmp_path / ".~lock.other.xlsx#").write_text("x")
    assert not office_lock_present(book)
    (tmp_path / "~$Zahlungen März.xlsx").write_text("x")  # Excel
    assert office_lock_present(book)
    (tmp_path / "~$Zahlungen März.xlsx").unlink()
    (tmp_path / ".~lock.Zahlungen März.xlsx#").write_text("x")  # LibreOffice
    assert office_lock_present(book)


HOLD_OPEN = "import sys; f = open(sys.argv[1], sys.argv[2]); print('open', flush=True); sys.stdin.read()"


@pytest.mark.parametrize(("mode", "writing"), [("r", False), ("a", True), ("r+", True), ("wb", True)])
def test_open_for_writing_sees_another_process_holding_the_file(tmp_path: Path, mode: str, writing: bool) -> None:
    path = tmp_path / "statement.csv"
    path.write_text("Booked,Payer\n")
    assert not open_for_writing(path)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_OPEN, str(path), mode], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "open\n"
        assert open_for_writing(path) is writing
    finally:
        holder.communicate("", timeout=30)
    assert not open_for_writing(path)  # closed when the process ended


def test_open_for_writing_of_a_file_that_is_gone(tmp_path: Path) -> None:
    assert not open_for_writing(tmp_path / "gone.csv")


def test_listing_the_inbox_survives_files_renamed_or_deleted_meanwhile(tmp_path: Path) -> None:
    """People rename and delete files in the inbox at any moment; a look at it must not fail on a file
    that went away between the listing and the look at its time stamp."""
    (tmp_path / "kept.csv").write_text("kept")
    stop = threading.Event()

    def churn() -> None:
        n = 0
        while not stop.is_set():
            path = tmp_path / f"scan{n % 20}.csv"
            path.write_text("x")
            path.rename(tmp_path / f"statement{n % 20}.csv")
            (tmp_path / f"statement{n % 20}.csv").unlink()
            n += 1

    thread = threading.Thread(target=churn, daemon=True)
    thread.start()
    try:
        for _ in range(5_000):
            assert tmp_path / "kept.csv" in inbox_files(tmp_path)
    finally:
        stop.set()
        thread.join()


def test_free_path_never_returns_an_existing_file(tmp_path: Path) -> None:
    assert free_path(tmp_path, "a.csv") == tmp_path / "a.csv"
    for name in ("a.csv", "a-2.csv", "README"):
        (tmp_path / name).write_text(name)
    assert free_path(tmp_path, "a.csv") == tmp_path / "a-3.csv"
    assert free_path(tmp_path, "README") == tmp_path / "README-2"
    made: list[Path] = []
    for _ in range(5):
        path = free_path(tmp_path, "x.report.json")
        assert not path.exists()
        path.write_text(str(len(made)))
        made.append(path)
    assert len(set(made)) == 5
    assert [p.read_text() for p in made] == ["0", "1", "2", "3", "4"]  # nothing was overwritten


def test_take_moves_without_overwriting_a_file_of_the_same_name(tmp_path: Path) -> None:
    inbox, processing = tmp_path / "inbox", tmp_path / "processing"
    inbox.mkdir()
    processing.mkdir()
    (processing / "s.csv").write_text("left by a crash")
    (inbox / "s.csv").write_text("new")
    taken = take(inbox / "s.csv", processing)
    assert taken == processing / "s-2.csv" and taken.read_text() == "new"
    assert (processing / "s.csv").read_text() == "left by a crash"
    assert not (inbox / "s.csv").exists()


def test_filed_name_starts_with_the_utc_time_of_filing() -> None:
    when = datetime(2026, 11, 21, 5, 12, 0, tzinfo=UTC)
    assert filed_name("statement.csv", when) == "2026-11-21T051200Z_statement.csv"
    assert filed_name("Zahlungen März 2026.xlsx", when) == "2026-11-21T051200Z_Zahlungen März 2026.xlsx"
