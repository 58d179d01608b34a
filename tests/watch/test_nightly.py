"""Nightly runs (issue 5): ``payimport run FOLDER`` from a scheduler is idempotent, with honest exit
codes, JSON-lines events on stderr for a log collector and a readable summary on stdout.

Expected figures from sample_data/README.md and the demo seed: bank_statement.csv posts 5 and leaves 2
for a person (one transfer for two invoices, one credit naming neither customer nor invoice);
payments_with_errors.csv posts 3 and rejects 8; remittance.xlsx posts 4. Lines read 19 + 15 + 10 = 44,
skipped 12 + 4 + 6 = 22, posted 15256.00 + 2332.40 + 3399.50 = 20987.90 EUR.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from .conftest import PAYIMPORT, SAMPLES, Site, bc_view, json_events

SAMPLE_FILES = ("bank_statement.csv", "payments_with_errors.csv", "remittance.xlsx")
FIRST = {"rows_read": 44, "posted": 14, "already_posted": 0, "skipped": 22, "rejected": 8, "needs_review": 0}
AGAIN = {**FIRST, "posted": 0, "already_posted": 14}


def nightly(site: Site, *inputs: str) -> tuple[int, str, list[dict[str, Any]]]:
    done = subprocess.run(
        [str(PAYIMPORT), "run", "--config", str(site.config), "--log-format", "json", *inputs],
        cwd=site.base,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert "Traceback" not in done.stderr
    return done.returncode, done.stdout, json_events(done.stderr)


def finished(events: list[dict[str, Any]]) -> dict[str, Any]:
    runs = [e for e in events if e["event"] == "run_finished"]
    assert len(runs) == 1, events
    return runs[0]


def test_the_nightly_run_twice_posts_nothing_the_second_time(site: Site) -> None:
    statements = site.base / "statements"
    statements.mkdir()
    for name in SAMPLE_FILES:
        shutil.copyfile(SAMPLES / name, statements / name)
    (statements / ".~lock.bank_statement.csv#").write_text("someone,host,2026-11-20;", encoding="utf-8")

    code, stdout, events = nightly(site, str(statements))
    assert code == 1  # rejected rows
    first = finished(events)
    assert {k: first[k] for k in FIRST} == FIRST
    assert first["amount_posted"] == "23413.40"  # 20987.90 + the split 2380.00 + 45.50 on account
    assert sorted(Path(f).name for f in first["files"]) == sorted(SAMPLE_FILES)
    assert isinstance(first["duration_s"], int | float) and first["duration_s"] >= 0
    assert all("ts" in e and "event" in e for e in events)
    assert first["run_id"] in stdout and "lines read 44" in stdout  # the cron mail

    code, stdout, events = nightly(site, str(statements))
    assert code == 1  # as the first: the same rows are still rejected
    again = finished(events)
    assert {k: again[k] for k in AGAIN} == AGAIN
    assert again["run_id"] != first["run_id"]
    assert again["run_id"] in stdout

    code, _, events = nightly(site, str(statements / "*.csv"))  # a glob, as a scheduler may be given
    assert code == 1
    third = finished(events)
    assert (third["rows_read"], third["posted"], third["already_posted"]) == (34, 0, 10)

    with bc_view(site) as bc:
        assert len(bc.all_lines()) == 15  # each payment once (the split one as two lines), first run's journal
