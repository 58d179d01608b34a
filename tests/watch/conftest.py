"""Shared pieces of the folder-mode tests: a site on disk, watchers (in-process or as a process), BC read-back.

A *site* is one temporary folder holding ``config.yaml`` (the embedded sandbox, its state in the
site), the import state (``state/``), the run reports (``runs/``) and the watched folder
(``imports/`` with ``inbox/ processing/ done/ failed/``). Watchers run either in this process
(``Watcher``, stopped with its event) or as the real ``payimport watch`` command beside
``sys.executable`` (for signals, ``kill -9`` and the lock held by another process).

BC is read back by opening the sandbox's own store on the site's state folder once no watcher
runs (``bc_view``); the ledger is read with sqlite3 in read-only mode while a process writes it.
Expected values are worked out from the input files (sample_data/README.md and the demo seed in
pipeline/sandbox/seed.py), never taken from what the code reported.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from generated_layout import GENERATED_HEADER, GENERATED_PROFILE

from pipeline.config import load_config
from pipeline.sandbox import rules
from pipeline.sandbox.runtime import start_sandbox
from pipeline.sandbox.settings import SandboxSettings
from pipeline.watch import Filed, Watcher

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_data"
PAYIMPORT = Path(sys.executable).parent / "payimport"
SHIPPED_PROFILES: dict[str, Any] = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))["profiles"]
SEEDED_JOURNALS = {"GENERAL"}  # the demo seed's cash-receipts batch


# Demo customers in the local currency and not blocked (seed.DEMO_DATA: C70000 is USD, C99000 blocked).
CUSTOMERS = ("C10000", "C10100", "C10200", "C20000", "C30000", "C40000", "C50000", "C60000", "C80000")


# --- generated statements ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Tx:
    """One generated bank credit and the journal line BC must hold for it."""

    txid: str
    day: date
    customer: str
    cents: int

    def csv_line(self) -> str:
        amount = f"{self.cents // 100}.{self.cents % 100:02d}"
        return f"{self.day.isoformat()},Payer {self.customer},{amount},{self.txid},{self.customer}"

    def bc_line(self) -> tuple[str, str, Decimal]:
        """(documentNumber, customerNumber, amount): a receipt is negative; BC upper-cases Code fields."""
        return (self.txid.upper(), self.customer, -Decimal(self.cents).scaleb(-2))


def make_transactions(count: int, prefix: str = "tx", seed: int = 5) -> list[Tx]:
    rng = random.Random(seed)
    return [
        Tx(
            f"{prefix}-{i:05d}",
            date(2026, 3, 1) + timedelta(days=i % 28),
            rng.choice(CUSTOMERS),
            rng.randint(1, 999_999),
        )
        for i in range(1, count + 1)
    ]


def statement_text(txs: Sequence[Tx]) -> str:
    return "\n".join([GENERATED_HEADER, *(t.csv_line() for t in txs)]) + "\n"


def write_statement(path: Path, txs: Sequence[Tx]) -> Path:
    path.write_text(statement_text(txs), encoding="utf-8")
    return path


# --- the site --------------------------------------------------------------------------------------


@dataclass
class Site:
    """A temporary installation: config, state, reports, the embedded sandbox and the watched folder."""

    base: Path

    @property
    def config(self) -> Path:
        return self.base / "config.yaml"

    @property
    def root(self) -> Path:
        return self.base / "imports"

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def processing(self) -> Path:
        return self.root / "processing"

    @property
    def done(self) -> Path:
        return self.root / "done"

    @property
    def failed(self) -> Path:
        return self.root / "failed"

    @property
    def sandbox_dir(self) -> Path:
        return self.base / "sandbox"

    @property
    def ledger_path(self) -> Path:
        return self.base / "state" / "ledger.sqlite"

    def drop(self, source: Path, name: str | None = None) -> Path:
        """A person drops a file: written beside the inbox, then renamed in (as a finished copy)."""
        self.inbox.mkdir(parents=True, exist_ok=True)
        target = self.inbox / (name or source.name)
        staging = self.base / f".staging-{target.name}"
        shutil.copyfile(source, staging)
        os.replace(staging, target)
        return target

    def names(self, folder: Path) -> list[str]:
        return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def write_config(base: Path, **sections: Any) -> Path:
    """config.yaml for the embedded sandbox with short waits; ``sections`` override (merged deeply)."""
    data: dict[str, Any] = {
        "version": 1,
        "target": {"kind": "sandbox", "sandbox": {"state_dir": "sandbox", "seed": "demo"}},
        "posting": {"retry": {"max_attempts": 4, "base_delay_s": 0.01, "max_delay_s": 0.1, "max_total_s": 30}},
        "watch": {"stable_seconds": 0.5, "interval_seconds": 0.2},
        "state_dir": "state",
        "runs_dir": "runs",
        "profiles": {**SHIPPED_PROFILES, "generated": GENERATED_PROFILE},
    }
    base.mkdir(parents=True, exist_ok=True)
    path = base / "config.yaml"
    path.write_text(yaml.safe_dump(_merge(data, sections), allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def site(tmp_path: Path) -> Site:
    write_config(tmp_path)
    return Site(tmp_path)


def slow_site(base: Path, **extra: Any) -> Site:
    """A site whose sandbox takes 10 ms per operation and whose poster sends small batches, one or two
    at a time, so a few hundred payments take seconds to post: time to kill or stop a watcher."""
    write_config(
        base,
        target={"sandbox": {"latency_operation_s": 0.01}},
        posting={"batch_size": 10, "max_in_flight": 2},
        **extra,
    )
    return Site(base)


# --- watchers --------------------------------------------------------------------------------------


def make_watcher(site: Site, stop: threading.Event | None = None) -> Watcher:
    return Watcher(site.root, load_config(site.config), environ=os.environ, stop=stop)


def watch_once(site: Site) -> tuple[int, list[Filed]]:
    """``payimport watch --once`` in this process: what was in the inbox is imported and filed."""
    watcher = make_watcher(site)
    code = watcher.run(once=True)
    return code, watcher.filed


@dataclass
class Background:
    """A watcher running in a thread of this process until ``finish``."""

    watcher: Watcher
    stop: threading.Event
    thread: threading.Thread
    result: list[int] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)

    def filed_sources(self) -> list[str]:
        return [f.source for f in list(self.watcher.filed)]

    def wait_for(self, condition: Callable[[], bool], timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            assert not self.errors, f"the watcher failed: {self.errors[0]!r}"
            assert self.thread.is_alive(), "the watcher stopped on its own"
            assert time.monotonic() < deadline, "timed out waiting for the watcher"
            time.sleep(0.02)

    def finish(self) -> int:
        self.stop.set()
        self.thread.join(60)
        assert not self.thread.is_alive(), "the watcher did not stop"
        if self.errors:
            raise self.errors[0]
        return self.result[0]


@contextlib.contextmanager
def background_watcher(site: Site) -> Iterator[Background]:
    stop = threading.Event()
    watcher = make_watcher(site, stop)
    bg = Background(watcher, stop, threading.Thread(target=lambda: None))

    def body() -> None:
        try:
            bg.result.append(watcher.run(once=False))
        except BaseException as exc:  # reported by wait_for/finish in the test's thread
            bg.errors.append(exc)

    bg.thread = threading.Thread(target=body, name="watcher", daemon=True)
    bg.thread.start()
    try:
        yield bg
    finally:
        stop.set()
        bg.thread.join(60)


def watch_command(site: Site, *args: str) -> list[str]:
    """The real command line (the console script installed beside this Python)."""
    return [str(PAYIMPORT), "watch", str(site.root), "--config", str(site.config), *args]


def start_watch_process(site: Site, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        watch_command(site, *args),
        cwd=site.base,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def json_events(stderr: str) -> list[dict[str, Any]]:
    """Every stderr line of ``--log-format json`` is one JSON object (a line that is not fails the test)."""
    events = []
    for line in stderr.splitlines():
        if line.strip():
            obj = json.loads(line)
            assert isinstance(obj, dict), line
            events.append(obj)
    return events


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.005)


# --- the ledger and BC -------------------------------------------------------------------------------


def ledger_states(site: Site) -> Counter[str]:
    """Ledger rows per state, read-only (another process may be writing)."""
    if not site.ledger_path.exists():
        return Counter()
    try:
        db = sqlite3.connect(f"file:{site.ledger_path}?mode=ro", uri=True, timeout=1)
        try:
            return Counter({str(s): int(n) for s, n in db.execute("SELECT state, COUNT(*) FROM rows GROUP BY state")})
        finally:
            db.close()
    except sqlite3.OperationalError:  # not created yet, or busy for a moment
        return Counter()


class BCView:
    """BC's state, read from the sandbox store through the rules the API answers with."""

    def __init__(self, store: Any, company_id: str) -> None:
        self.store = store
        self.cid = company_id

    def new_journals(self) -> dict[str, dict[str, Any]]:
        """Journals the imports created (all but the seeded one), by code."""
        return {
            str(j["code"]): j for j in rules.list_journals(self.store, self.cid) if j["code"] not in SEEDED_JOURNALS
        }

    def lines(self, journal_id: str) -> list[dict[str, Any]]:
        return rules.list_payments(self.store, self.cid, journal_id)

    def all_lines(self) -> list[dict[str, Any]]:
        return [line for j in self.new_journals().values() for line in self.lines(str(j["id"]))]


@contextlib.contextmanager
def bc_view(site: Site) -> Iterator[BCView]:
    """Open the site's sandbox (no watcher may be running on it)."""
    with start_sandbox(SandboxSettings(state_dir=site.sandbox_dir, seed="demo")) as info:
        assert info.company_id is not None
        yield BCView(info.extra["store"], info.company_id)


def bc_key(line: dict[str, Any]) -> tuple[str, str, Decimal]:
    return (str(line["documentNumber"]), str(line["customerNumber"]), Decimal(str(line["amount"])))


def assert_each_once(lines: Sequence[dict[str, Any]], txs: Sequence[Tx]) -> None:
    """BC holds exactly one line per generated credit, with its amount and customer, and nothing else."""
    held = Counter(bc_key(line) for line in lines)
    wanted = Counter(t.bc_line() for t in txs)
    twice = sorted(k for k, n in held.items() if n > 1)
    missing = sorted(set(wanted) - set(held))
    extra = sorted(set(held) - set(wanted))
    assert not (twice or missing or extra), (
        f"in BC twice: {twice[:5]} ({len(twice)}); missing: {missing[:5]} ({len(missing)}); "
        f"not in the file: {extra[:5]} ({len(extra)})"
    )
    numbers = [int(line["lineNumber"]) for line in lines]
    assert len(numbers) == len(set(numbers)), "a lineNumber is used twice"


def report_of(done: Path, name: str) -> dict[str, Any]:
    """The report.json filed in ``done/`` beside the file filed under ``...Z_<name>``."""
    found = [p for p in done.iterdir() if p.name.endswith(f"Z_{name}.report.json")]
    assert len(found) == 1, f"expected one report for {name} in done/, found {sorted(p.name for p in done.iterdir())}"
    data: dict[str, Any] = json.loads(found[0].read_text(encoding="utf-8"))
    return data
