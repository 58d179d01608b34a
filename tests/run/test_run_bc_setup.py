"""``payimport run`` against tenants whose setup makes BC refuse a post the lines themselves pass:
allowed posting dates, mandatory dimensions, "Post with Job Queue", lock timeouts and deadlocks,
and a reused journal that posting left with its hidden line 10000.

Each tenant is a sandbox seeded from a file (the demo data plus the setup under test, the seed
format of pipeline/sandbox/seed.py). Expected journals follow from the generated transactions and
BC's rules (a receipt is a negative amount; new lines 10000 apart in file order; a posted journal
without No. Series keeps a hidden line 10000, so new lines start at 20000), never from what the run
reported. Nothing of the project is monkeypatched: locks and faults are the sandbox's settings.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.sandbox import rules, seed
from pipeline.sandbox.locks import JournalLocks
from pipeline.sandbox.runtime import start_sandbox
from pipeline.sandbox.server import SandboxInfo
from pipeline.sandbox.settings import Latency, Locking, SandboxSettings

from .conftest import (
    BCHttp,
    Tx,
    assert_exactly,
    check_report,
    ledger_states,
    make_transactions,
    only_new_journal,
    plan_new_journal,
    report_lines,
    run_cli,
    when,
    write_config,
    write_statement,
)


def tenant(
    tmp_path: Path, extra: dict[str, Any], locking: Locking | None = None, latency: Latency | None = None
) -> Iterator[SandboxInfo]:
    """A sandbox seeded with the demo data plus ``extra`` (seed-file keys), over TLS with tokens."""
    path = tmp_path / "tenant.yaml"
    path.write_text(yaml.safe_dump({**seed.DEMO_DATA, **extra}, allow_unicode=True), encoding="utf-8")
    settings = SandboxSettings(
        tls=True,
        state_dir=tmp_path / "sandbox",
        seed=str(path),
        locking=locking or Locking(),
        latency=latency or Latency(),
    )
    with start_sandbox(settings) as info:
        yield info


def posted_documents(info: SandboxInfo) -> dict[str, int]:
    """G/L entries per document number (a posted receipt with a balancing account makes two)."""
    counts: dict[str, int] = {}
    for entry in rules.list_gl_entries(info.extra["store"], str(info.company_id)):
        counts[str(entry["documentNumber"])] = counts.get(str(entry["documentNumber"]), 0) + 1
    return counts


def reasons(summary: dict[str, Any]) -> dict[str, str]:
    """documentNumber (the transaction id, upper-cased) -> reason code of each line needing review."""
    return {
        str(line["documentNumber"]).upper(): str(line["reason_code"])
        for line in report_lines(summary)
        if line["state"] == "needs_review"
    }


# --- allowed posting dates --------------------------------------------------------------------------


@pytest.fixture
def dated_tenant(tmp_path: Path) -> Iterator[SandboxInfo]:
    yield from tenant(
        tmp_path, {"generalLedgerSetup": {"allowPostingFrom": "2026-03-10", "allowPostingTo": "2026-03-25"}}
    )


def test_rows_outside_the_allowed_dates_go_to_review_and_the_journal_posts(
    tmp_path: Path, dated_tenant: SandboxInfo
) -> None:
    txs = make_transactions(40, seed=11)
    allowed = [t for t in txs if date(2026, 3, 10) <= t.day <= date(2026, 3, 25)]
    held = [t for t in txs if t not in allowed]
    assert allowed and held
    config = write_config(tmp_path / "cfg", dated_tenant)

    outcome = run_cli(config, dated_tenant, write_statement(tmp_path / "s.csv", txs), "--post-journal")

    assert outcome.exit_code == 1, outcome.output  # rows for a person
    s = outcome.summary
    assert s is not None and (s["posted"], s["needs_review"]) == (len(allowed), len(held))
    assert s["journal"]["posted"] is True
    check_report(s)
    assert reasons(s) == {t.txid.upper(): "posting_date_not_allowed" for t in held}
    documents = posted_documents(dated_tenant)
    assert {t.txid.upper(): documents.get(t.txid.upper()) for t in allowed} == {t.txid.upper(): 2 for t in allowed}
    assert not any(t.txid.upper() in documents for t in held)  # never sent


# --- mandatory dimensions ------------------------------------------------------------------------------


@pytest.fixture
def dimension_tenant(tmp_path: Path) -> Iterator[SandboxInfo]:
    yield from tenant(
        tmp_path,
        {
            "defaultDimensions": [
                {"customer": "C10000", "dimension": "PROJECT", "posting": "Code Mandatory"},
                # a mandatory dimension with a value is copied to the line and met
                {"customer": "C20000", "dimension": "AREA", "value": "NORTH", "posting": "Code Mandatory"},
            ]
        },
    )


def test_a_customer_whose_mandatory_dimension_has_no_value_goes_to_review(
    tmp_path: Path, dimension_tenant: SandboxInfo
) -> None:
    txs = make_transactions(60, seed=12)
    lacking = [t for t in txs if t.customer == "C10000"]
    kept = [t for t in txs if t.customer != "C10000"]
    assert lacking and any(t.customer == "C20000" for t in kept)
    config = write_config(tmp_path / "cfg", dimension_tenant)
    file = write_statement(tmp_path / "s.csv", txs)

    outcome = run_cli(config, dimension_tenant, file, "--post-journal")

    assert outcome.exit_code == 1, outcome.output
    s = outcome.summary
    assert s is not None and (s["posted"], s["needs_review"]) == (len(kept), len(lacking))
    assert s["journal"]["posted"] is True  # BC posts the journal: no line of it lacks the dimension
    check_report(s)
    assert reasons(s) == {t.txid.upper(): "dimension_required" for t in lacking}
    documents = posted_documents(dimension_tenant)
    assert {t.txid.upper(): documents.get(t.txid.upper()) for t in kept} == {t.txid.upper(): 2 for t in kept}
    assert not any(t.txid.upper() in documents for t in lacking)


# --- Post with Job Queue ----------------------------------------------------------------------------


@pytest.fixture
def queue_tenant(tmp_path: Path) -> Iterator[SandboxInfo]:
    yield from tenant(tmp_path, {"generalLedgerSetup": {"postWithJobQueue": True}})


def test_a_scheduled_post_is_reported_unconfirmed_and_a_later_run_confirms_it(
    tmp_path: Path, queue_tenant: SandboxInfo
) -> None:
    txs = make_transactions(30, seed=13)
    config = write_config(tmp_path / "cfg", queue_tenant)
    file = write_statement(tmp_path / "s.csv", txs)

    scheduled = run_cli(config, queue_tenant, file, "--post-journal")

    assert scheduled.exit_code == 3, scheduled.output  # run the same command again later
    s = scheduled.summary
    assert s is not None and s["posted"] == len(txs) and s["journal"]["posted"] is False
    assert "posting not confirmed" in str(s["error"])
    assert not any(t.txid.upper() in posted_documents(queue_tenant) for t in txs)

    early = run_cli(config, queue_tenant, file, "--post-journal")  # the job queue has not run yet
    assert early.exit_code == 3 and early.summary is not None and early.summary["journal"]["posted"] is False

    assert rules.run_job_queue(queue_tenant.extra["store"]) == [("Finished", "")]
    confirmed = run_cli(config, queue_tenant, file, "--post-journal")

    assert confirmed.exit_code == 0, confirmed.output
    c = confirmed.summary
    assert c is not None and c["journal"]["posted"] is True and c["posted"] == len(txs)
    documents = posted_documents(queue_tenant)
    assert {t.txid.upper(): documents.get(t.txid.upper()) for t in txs} == {t.txid.upper(): 2 for t in txs}
    assert ledger_states(config) == {"created": len(txs)}


# --- locks -----------------------------------------------------------------------------------------------


@pytest.fixture
def deadlock_tenant(tmp_path: Path) -> Iterator[SandboxInfo]:
    # journal writes 3, 25, 26 and 61 are chosen as deadlock victims (each line insert is one write)
    yield from tenant(tmp_path, {}, Locking(deadlock_writes=(3, 25, 26, 61)))


def test_deadlocks_are_settled_and_never_reach_a_person(tmp_path: Path, deadlock_tenant: SandboxInfo) -> None:
    txs = make_transactions(80, seed=14)
    config = write_config(tmp_path / "cfg", deadlock_tenant, posting={"batch_size": 20})

    outcome = run_cli(config, deadlock_tenant, write_statement(tmp_path / "s.csv", txs))

    locks: JournalLocks = deadlock_tenant.extra["locks"]
    assert locks.deadlocks == 4
    assert outcome.exit_code == 0, outcome.output
    s = outcome.summary
    assert s is not None and (s["posted"], s["rejected"], s["needs_review"]) == (len(txs), 0, 0)
    http = BCHttp(deadlock_tenant)
    try:
        assert_exactly(http.lines(str(only_new_journal(http)["id"])), plan_new_journal([t.line() for t in txs]))
    finally:
        http.close()


@pytest.fixture
def slow_tenant(tmp_path: Path) -> Iterator[SandboxInfo]:
    yield from tenant(tmp_path, {}, latency=Latency(per_operation_s=0.002))


def test_the_poster_never_has_two_requests_in_flight_into_its_journal(tmp_path: Path, slow_tenant: SandboxInfo) -> None:
    """BC serialises inserts into one journal: even allowed six requests at once, the run sends into
    its journal one request at a time, so no write ever waits for another's lock."""
    txs = make_transactions(120, seed=16)
    config = write_config(tmp_path / "cfg", slow_tenant, posting={"batch_size": 10, "max_in_flight": 6})

    outcome = run_cli(config, slow_tenant, write_statement(tmp_path / "s.csv", txs))

    assert outcome.exit_code == 0, outcome.output
    locks: JournalLocks = slow_tenant.extra["locks"]
    assert locks.writes == len(txs)  # every insert went through the journal's lock ...
    assert locks.waits == 0  # ... and none found it held by another request of the run
    assert slow_tenant.stats.max_in_flight(slow_tenant.client_id) == 1


@pytest.fixture
def short_lock_tenant(tmp_path: Path) -> Iterator[SandboxInfo]:
    yield from tenant(tmp_path, {}, Locking(timeout_s=0.2))


def _posted_by_hand(http: BCHttp, code: str) -> dict[str, Any]:
    """A journal made through the API with one line, posted: it keeps BC's hidden line 10000."""
    cash = next(a for a in http.get_all("accounts") if a["number"] == "2910")
    created = http.request(
        "POST", "customerPaymentJournals", {"code": code, "displayName": "by hand", "balancingAccountId": cash["id"]}
    )
    assert created.status_code == 201, created.text
    journal = created.json()
    line = http.request(
        "POST",
        f"customerPaymentJournals({journal['id']})/customerPayments",
        {"customerNumber": "C20000", "amount": -5, "documentNumber": "HAND-1"},
    )
    assert line.status_code == 201 and line.json()["lineNumber"] == 10000, line.text
    posted = http.request("POST", f"journals({journal['id']})/Microsoft.NAV.post")
    assert posted.status_code == 204, posted.text
    assert http.lines(journal["id"]) == []
    return dict(journal)


def test_a_lock_timeout_is_settled_and_a_posted_journal_is_reused_after_its_hidden_line(
    tmp_path: Path, short_lock_tenant: SandboxInfo
) -> None:
    """A person's session holds the journal while the run starts sending: the first insert waits past
    BC's lock timeout; the run reads back, sends again once the lock is free, and posts every payment
    once. The journal was posted before, so its lines start after the hidden line 10000."""
    http = BCHttp(short_lock_tenant)
    try:
        journal = _posted_by_hand(http, "REUSED")
        locks: JournalLocks = short_lock_tenant.extra["locks"]
        release = threading.Event()
        holder = hold_lock_until(locks, str(journal["id"]), release)
        when(lambda: locks.timeouts >= 1, release.set)
        txs = make_transactions(25, seed=15)
        config = write_config(tmp_path / "cfg", short_lock_tenant, journal={"existing": "REUSED"})

        outcome = run_cli(config, short_lock_tenant, write_statement(tmp_path / "s.csv", txs))

        release.set()
        holder.join(10)
        assert locks.timeouts >= 1
        assert outcome.exit_code == 0, outcome.output
        s = outcome.summary
        assert s is not None and (s["posted"], s["rejected"], s["needs_review"]) == (len(txs), 0, 0)
        assert_exactly(http.lines(str(journal["id"])), plan_new_journal([t.line() for t in txs], first=10_000))
    finally:
        http.close()


def hold_lock_until(locks: JournalLocks, journal_id: str, release: threading.Event) -> threading.Thread:
    """Another session's transaction on the journal: holds its lock until ``release`` is set."""
    held = threading.Event()

    def hold() -> None:
        with locks.hold(journal_id):
            held.set()
            release.wait(60)

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert held.wait(10)
    return thread


# --- zero amounts ------------------------------------------------------------------------------------


def test_a_zero_amount_row_never_reaches_bc(tmp_path: Path, dated_tenant: SandboxInfo) -> None:
    """BC would fail the whole post on a zero-amount customer line (CheckZeroAmount); the statement
    checks skip such a row before it is a payment."""
    txs = [
        Tx("z-1", date(2026, 3, 12), "Northwind Traders", "C20000", 1234),
        Tx("z-2", date(2026, 3, 12), "Northwind Traders", "C20000", 0),
    ]
    config = write_config(tmp_path / "cfg", dated_tenant)
    outcome = run_cli(config, dated_tenant, write_statement(tmp_path / "s.csv", txs), "--post-journal")
    s = outcome.summary
    assert s is not None and (s["posted"], s["skipped"]) == (1, 2), outcome.output  # the header and the zero
    assert sorted(line["reason_code"] for line in report_lines(s) if line["state"] == "skipped") == [
        "header",
        "zero_amount",
    ]
    assert s["journal"]["posted"] is True
    assert "Z-2" not in posted_documents(dated_tenant)
