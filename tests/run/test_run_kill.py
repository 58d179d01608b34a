"""``kill -9`` of a running ``payimport run`` at seeded points, then the same command again.

The import runs as a subprocess against a sandbox in this process whose server time (latency per
request and per operation) makes a 1,500-payment run last a few seconds. A calibration run (in this
process, same file, same settings) tells how many API requests a whole run makes and which one
creates the journal; each seed then kills the process once the sandbox has seen its k-th request
plus a seeded pause, and runs the command again until it finishes. Some seeds kill twice.

The kill points cover the whole run: before any request (still reading the file), before the
journal exists, at the journal's creation and right after it, in the middle of posting, and
during the final read-back. Whatever the point, BC must end with one journal holding exactly the
planned lines (lineNumber -> customer, amount, documentNumber, from the generated file), each
once, and the finishing run must account for every line of the file.
"""

from __future__ import annotations

import dataclasses
import os
import random
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

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
    only_new_journal,
    plan_new_journal,
    process_env,
    run_cli,
    when,
    write_config,
    write_statement,
)

PAYMENTS = 1500  # 15 $batch requests of 100
POSTING = {"max_in_flight": 3}
LATENCY = Latency(per_request_s=0.02, per_operation_s=0.0002)
SEEDS = range(10)


def start(tmp: Path) -> SandboxSettings:
    return SandboxSettings(tls=True, state_dir=tmp / "sandbox", seed="demo", latency=LATENCY)


@dataclass(frozen=True)
class Calibration:
    txs: list[Tx]
    file: Path
    journal_request: int  # the number of the request that created the journal (counted from 1)
    total: int  # requests of a whole uninterrupted run


@pytest.fixture(scope="module")
def calibration(tmp_path_factory: pytest.TempPathFactory) -> Calibration:
    """One uninterrupted run: how many requests, and which one made the journal."""
    tmp = tmp_path_factory.mktemp("calibration")
    txs = make_transactions(PAYMENTS, seed=42)
    file = write_statement(tmp / "statement.csv", txs)
    with start_sandbox(start(tmp)) as info:
        view = BCView(info)
        seen_at_journal: list[int] = []
        when(lambda: bool(view.new_journals()), lambda: seen_at_journal.append(info.stats.requests_seen))
        out = run_cli(write_config(tmp / "cfg", info, posting=POSTING), info, file)
        assert out.exit_code == 0, out.output
        assert_exactly(view.lines(str(only_new_journal(view)["id"])), plan_new_journal([t.line() for t in txs]))
        total = info.stats.requests_seen
    assert seen_at_journal and 1 < seen_at_journal[0] < total - 15
    return Calibration(txs, file, seen_at_journal[0], total)


def kill_points(seed: int, cal: Calibration) -> list[tuple[int, float]]:
    """(k, pause): kill once the sandbox has seen k requests of this process, ``pause`` seconds later."""
    rng = random.Random(seed)
    j, total = cal.journal_request, cal.total
    fixed = {
        0: (0, rng.uniform(0.2, 1.0)),  # before any request: still starting or reading the file
        1: (1, rng.uniform(0.0, 0.02)),  # the first request: long before the journal exists
        2: (j - 1, rng.uniform(0.0, 0.03)),  # the request before the journal's creation
        3: (j, rng.uniform(0.0, 0.015)),  # while the journal is being created
        4: (j, rng.uniform(0.02, 0.04)),  # right after it was created
        5: (j + 1, rng.uniform(0.0, 0.03)),  # planning, first batch
        6: (total, rng.uniform(0.0, 0.02)),  # the final read-back
    }
    first = fixed.get(seed, (rng.randint(j + 1, total), rng.uniform(0.0, 0.05)))  # mostly mid-posting
    points = [first]
    if seed % 3 == 2:  # kill the resumed run too
        points.append((rng.randint(1, total), rng.uniform(0.0, 0.05)))
    return points


def run_and_kill(config: Path, info: SandboxInfo, file: Path, k: int, pause: float, log: Path) -> bool:
    """Start the import, SIGKILL it at (k, pause); False if it finished before that point."""
    base = info.stats.requests_seen
    with log.open("ab") as err:
        proc = subprocess.Popen(
            command(config, file), env=process_env(info), cwd=config.parent, stdout=subprocess.DEVNULL, stderr=err
        )
        try:
            deadline = time.monotonic() + 120
            while info.stats.requests_seen - base < k and proc.poll() is None:
                assert time.monotonic() < deadline, "the run made no progress"
                time.sleep(0.001)
            time.sleep(pause)
            if proc.poll() is not None:
                return False
            os.kill(proc.pid, signal.SIGKILL)
            assert proc.wait(30) == -signal.SIGKILL
            return True
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(30)


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_kill_9_then_run_again(seed: int, tmp_path: Path, calibration: Calibration) -> None:
    expected = plan_new_journal([t.line() for t in calibration.txs])
    with start_sandbox(start(tmp_path)) as info:
        view = BCView(info)
        config = write_config(tmp_path / "cfg", info, posting=POSTING)
        for n, (k, pause) in enumerate(kill_points(seed, calibration)):
            killed = run_and_kill(config, info, calibration.file, k, pause, tmp_path / "killed.log")
            assert killed or n > 0, "the first run finished before its kill point"
            if n == 0 and seed in (0, 1):  # killed before the journal's turn came
                assert view.new_journals() == {}
            if n == 0 and seed == 6:  # killed while reading the journal back: every line is in BC
                assert view.line_count() == PAYMENTS

        final = run_cli(config, info, calibration.file)  # the same command, in this process: no second start-up

        assert final.exit_code == 0, final.output
        s = final.summary
        assert s is not None
        assert (s["rows_read"], s["posted"] + s["already_posted"], s["skipped"]) == (PAYMENTS + 1, PAYMENTS, 1)
        assert (s["rejected"], s["needs_review"], s["discrepancies"]) == (0, 0, 0)
        check_report(s)
        assert_exactly(view.lines(str(only_new_journal(view)["id"])), expected)
        assert ledger_states(config) == {"created": PAYMENTS}


def test_a_statement_with_a_nul_inside_a_cell_is_refused_before_any_request(tmp_path: Path) -> None:
    """A NUL inside a cell some 13 KB into a text statement, past the head the file-type check
    reads, once reached the document number, and a run resumed after kill -9 had to read it back
    from the ledger whole (``tests/test_ledger.py`` still checks that it would). Now the file is
    refused at the door, naming its line: no ledger row, no journal line."""
    txs = make_transactions(300, seed=9)
    txs[249] = dataclasses.replace(txs[249], txid=txs[249].txid + "\x00z")  # header + 250th credit: line 251
    file = write_statement(tmp_path / "statement.csv", txs)
    assert file.read_bytes().index(b"\x00") > 8192
    with start_sandbox(SandboxSettings(tls=True, state_dir=tmp_path / "sandbox", seed="demo")) as info:
        view = BCView(info)
        config = write_config(tmp_path / "cfg", info)

        result = run_cli(config, info, file)

        assert result.exit_code == 2, result.output
        assert f"{file}: line 251 holds a NUL character" in " ".join(result.output.split())
        assert view.line_count() == 0
        assert sum(ledger_states(config).values()) == 0
