"""A large run spreads its lines over several journals of the run, never two requests into one.

BC writes the lines of one journal one at a time (``GenJournalLine.OnInsert`` locks the table), and
so does the sandbox (``pipeline/sandbox/locks.py``): a request that finds its journal locked
waits, and the sandbox counts it. Above ``posting.journal_lines`` lines a run opens several
journals, fills them in input order to an even share, and keeps one request in flight per journal:
the sandbox must never see a writer wait for a journal's lock, yet see requests in flight side by
side. Expected journal contents are worked out from the file (BC's rules: a receipt is a negative
amount, lineNumber 10000 * k in a new journal) and the documented rule (input order, an even share
per journal, journals in code order).
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from pipeline.sandbox import rules
from pipeline.sandbox.runtime import start_sandbox
from pipeline.sandbox.server import SandboxInfo
from pipeline.sandbox.settings import Latency, SandboxSettings

from .conftest import (
    BCView,
    Tx,
    assert_exactly,
    check_report,
    command,
    ledger_states,
    make_transactions,
    plan_new_journal,
    process_env,
    run_cli,
    write_config,
    write_statement,
)

PAYMENTS = 1200
JOURNALS = 4  # ceil(1200 / 300) = 4 = max_in_flight
POSTING = {"journal_lines": 300, "max_in_flight": 4}
SMALL_CHUNKS = {**POSTING, "plan_chunk_rows": 70, "send_chunk_lines": 250, "verify_lines": 500}
"""Each journal planned in five ledger transactions (a chunk cuts across journals too), its bodies
drawn 200 at a time (two requests), and the journals read back one group each (300 + 300 > 500)."""
LATENCY = Latency(per_request_s=0.02, per_operation_s=0.001)


def settings(tmp: Path) -> SandboxSettings:
    return SandboxSettings(tls=True, state_dir=tmp / "sandbox", seed="demo", latency=LATENCY)


def expected_journals(txs: list[Tx]) -> list[dict[int, tuple[str, object, str, str]]]:
    """Journal k (in code order) holds the k-th quarter of the file, numbered as a new journal."""
    share = -(-len(txs) // JOURNALS)
    return [plan_new_journal([t.line() for t in txs[k * share : (k + 1) * share]]) for k in range(JOURNALS)]


def assert_spread(view: BCView, txs: list[Tx]) -> None:
    journals = view.new_journals()
    codes = sorted(journals)
    assert len(codes) == JOURNALS, f"expected {JOURNALS} journals, BC has {codes}"
    names = [str(journals[c]["displayName"]) for c in codes]
    assert [n.rsplit(" ", 1)[1] for n in names] == [f"({k}/{JOURNALS})" for k in range(1, JOURNALS + 1)]
    assert len({n.rsplit(" ", 1)[0] for n in names}) == 1  # one run's name: a person sees they belong together
    for code, expected in zip(codes, expected_journals(txs), strict=True):
        assert_exactly(view.lines(str(journals[code]["id"])), expected)


def test_a_large_run_spreads_over_journals_with_one_request_in_flight_each(tmp_path: Path) -> None:
    txs = make_transactions(PAYMENTS, seed=31)
    file = write_statement(tmp_path / "statement.csv", txs)
    with start_sandbox(settings(tmp_path)) as info:
        out = run_cli(write_config(tmp_path / "cfg", info, posting=POSTING), info, file)

        assert out.exit_code == 0, out.output
        s = out.summary
        assert s is not None
        assert (s["posted"], s["rejected"], s["needs_review"], s["discrepancies"]) == (PAYMENTS, 0, 0, 0)
        view = BCView(info)
        assert_spread(view, txs)
        locks = info.extra["locks"]
        assert locks.writes >= PAYMENTS
        assert locks.waits == 0, "two requests were in flight into one journal"
        assert info.stats.max_in_flight(info.client_id) >= 2  # the journals were written side by side
        report = check_report(s)
        by_journal = {str(line["journal_code"]) for line in report["lines"] if line["state"] == "posted"}
        assert by_journal == set(view.new_journals())


def test_a_small_run_keeps_one_journal(tmp_path: Path) -> None:
    txs = make_transactions(300, seed=32)  # exactly journal_lines: not more, so one journal
    file = write_statement(tmp_path / "statement.csv", txs)
    with start_sandbox(settings(tmp_path)) as info:
        out = run_cli(write_config(tmp_path / "cfg", info, posting=POSTING), info, file)
        assert out.exit_code == 0, out.output
        journals = BCView(info).new_journals()
        assert len(journals) == 1
        (journal,) = journals.values()
        assert not str(journal["displayName"]).endswith(")")
        assert_exactly(BCView(info).lines(str(journal["id"])), plan_new_journal([t.line() for t in txs]))


def test_a_fresh_ledger_sees_every_journal_of_the_run(tmp_path: Path) -> None:
    """``history.tool_journals`` recognises journals 2, 3 ... as this tool's: a lost ledger refuses."""
    txs = make_transactions(PAYMENTS, seed=33)
    file = write_statement(tmp_path / "statement.csv", txs)
    with start_sandbox(settings(tmp_path)) as info:
        assert run_cli(write_config(tmp_path / "cfg", info, posting=POSTING), info, file).exit_code == 0
        again = run_cli(write_config(tmp_path / "other", info, posting=POSTING), info, file)
        assert again.exit_code == 2
        assert f"{JOURNALS} customer payment journal(s) named like this tool's" in again.output
        assert BCView(info).line_count() == PAYMENTS


@pytest.mark.slow
@pytest.mark.parametrize(
    ("seed", "posting"),
    [(seed, POSTING) for seed in range(4)] + [(seed, SMALL_CHUNKS) for seed in (0, 1, 2)],
    ids=[f"seed{seed}" for seed in range(4)] + [f"small-chunks-seed{seed}" for seed in (0, 1, 2)],
)
def test_kill_9_mid_run_then_run_again_posts_each_payment_once(
    seed: int, posting: dict[str, int], tmp_path: Path
) -> None:
    """The real process is killed once the journals exist (seed 0: before any line, while the plan
    is most likely still being written, in small chunks; else while the journals fill), then the
    same command finishes the run into the same journals. With small chunks the kill falls between
    plan chunks or between two draws of request bodies from the ledger."""
    rng = random.Random(seed)
    txs = make_transactions(PAYMENTS, seed=40 + seed)
    file = write_statement(tmp_path / "statement.csv", txs)
    with start_sandbox(settings(tmp_path)) as info:
        view = BCView(info)
        config = write_config(tmp_path / "cfg", info, posting=posting)
        killed = _kill_when(config, info, file, view, 0 if seed == 0 else rng.randint(200, PAYMENTS - 200), tmp_path)
        assert killed, "the run finished before its kill point"
        assert len(view.new_journals()) == JOURNALS
        final = run_cli(config, info, file)

        assert final.exit_code == 0, final.output
        s = final.summary
        assert s is not None
        assert (s["posted"] + s["already_posted"], s["rejected"], s["needs_review"]) == (PAYMENTS, 0, 0)
        assert s["discrepancies"] == 0
        check_report(s)
        assert_spread(view, txs)
        assert ledger_states(config) == {"created": PAYMENTS}
        assert info.extra["locks"].waits == 0


def _kill_when(config: Path, info: SandboxInfo, file: Path, view: BCView, lines: int, tmp: Path) -> bool:
    """Start the import in its own process; SIGKILL it once the journals exist and BC holds at least
    ``lines`` lines (the store is polled every millisecond). False if it finished before."""
    with (tmp / "killed.log").open("ab") as err:
        proc = subprocess.Popen(
            command(config, file), env=process_env(info), cwd=config.parent, stdout=subprocess.DEVNULL, stderr=err
        )
        try:
            deadline = time.monotonic() + 120
            while proc.poll() is None and not (len(view.new_journals()) == JOURNALS and view.line_count() >= lines):
                assert time.monotonic() < deadline, "the run made no progress"
                time.sleep(0.001)
            if proc.poll() is not None:
                return False
            os.kill(proc.pid, signal.SIGKILL)
            assert proc.wait(30) == -signal.SIGKILL
            return True
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(30)


def test_post_journal_posts_every_journal_of_the_run(tmp_path: Path) -> None:
    txs = make_transactions(PAYMENTS, seed=34)
    file = write_statement(tmp_path / "statement.csv", txs)
    with start_sandbox(settings(tmp_path)) as info:
        config = write_config(tmp_path / "cfg", info, posting=POSTING)
        out = run_cli(config, info, file, "--post-journal")

        assert out.exit_code == 0, out.output
        assert out.summary is not None and out.summary["journal"]["posted"] is True
        view = BCView(info)
        journals = view.new_journals()
        assert len(journals) == JOURNALS
        assert all(view.lines(str(j["id"])) == [] for j in journals.values())  # every journal posted
        posted = {str(e["documentNumber"]) for e in rules.list_gl_entries(view.store, view.cid)}
        assert {t.txid.upper() for t in txs} <= posted
        with sqlite3.connect(config.parent / "state" / "ledger.sqlite") as db:
            query = "SELECT journal_state FROM runs UNION ALL SELECT state FROM run_journals"
            states = [state for (state,) in db.execute(query)]
        assert states == ["posted"] * JOURNALS
