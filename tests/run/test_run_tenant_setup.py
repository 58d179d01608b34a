"""``payimport run`` against tenants whose journal setup changes what posting leaves behind:
a batch with a Posting No. Series (posted document numbers are the series', not the sent ones) and
a template with "Increment Batch Name" (posting deletes the batch and re-inserts it under the next
name, with a new id).

Each tenant is a sandbox seeded from a file (the demo data plus the setup under test). Expected
values follow from the generated transactions and BC's rules (``GenJnlPostBatch.CheckDocumentNo``:
each document gets the series' next number in (posting date, document no.) order;
``IncrementBatchName``: PI..01 becomes PI..02), never from what the run reported.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from generated_layout import GENERATED_PROFILE

from pipeline.cli import main
from pipeline.sandbox import rules, seed
from pipeline.sandbox.server import SandboxInfo

from .conftest import (
    BCHttp,
    Tx,
    ledger_states,
    make_transactions,
    run_cli,
    secrets_env,
    write_config,
    write_statement,
)
from .test_run_bc_setup import reasons, tenant
from .test_run_rebuild import lose_ledger, rebuild


def payment_entries(info: SandboxInfo) -> list[dict[str, object]]:
    """The G/L entries of payments posted from journals (not the seeded payments ``PAY-<invoice>``)."""
    return [
        e
        for e in rules.list_gl_entries(info.extra["store"], str(info.company_id))
        if e["documentType"] == "Payment" and not str(e["documentNumber"]).startswith("PAY-")
    ]


# --- Posting No. Series --------------------------------------------------------------------------------


@pytest.fixture
def series_tenant(tmp_path: Path) -> Iterator[SandboxInfo]:
    yield from tenant(
        tmp_path,
        {
            "noSeries": [{"code": "PMT-POST", "startingNo": "PMT00001"}],
            "journals": [{"code": "BANK", "balancingAccount": "2910", "postingNoSeries": "PMT-POST"}],
        },
    )


def test_a_journal_with_a_posting_no_series_is_confirmed_and_never_sent_again(
    tmp_path: Path, series_tenant: SandboxInfo
) -> None:
    txs = make_transactions(30, seed=21)
    config = write_config(tmp_path / "cfg", series_tenant, journal={"existing": "BANK"})
    file = write_statement(tmp_path / "s.csv", txs)

    outcome = run_cli(config, series_tenant, file, "--post-journal")

    assert outcome.exit_code == 0, outcome.output
    s = outcome.summary
    assert s is not None and s["posted"] == len(txs) and s["journal"]["posted"] is True
    entries = payment_entries(series_tenant)
    # every payment posted once, two entries each, under the series' numbers, none under a sent number
    numbers = sorted({str(e["documentNumber"]) for e in entries})
    assert numbers == [f"PMT{n:05d}" for n in range(1, len(txs) + 1)]
    assert len(entries) == 2 * len(txs)
    credits = sorted(Decimal(str(e["creditAmount"])) for e in entries if e["accountNumber"] == "2310")
    assert credits == sorted(Decimal(t.cents).scaleb(-2) for t in txs)

    again = run_cli(config, series_tenant, file, "--post-journal")

    assert again.exit_code == 0, again.output
    assert len(payment_entries(series_tenant)) == 2 * len(txs)  # nothing sent or posted twice
    assert ledger_states(config) == {"created": len(txs)}
    http = BCHttp(series_tenant)
    try:
        bank = next(j for j in http.get_all("customerPaymentJournals") if j["code"] == "BANK")
        assert http.lines(str(bank["id"])) == []
    finally:
        http.close()


# --- Increment Batch Name ------------------------------------------------------------------------------


@pytest.fixture
def incrementing_tenant(tmp_path: Path) -> Iterator[SandboxInfo]:
    yield from tenant(tmp_path, {"journalTemplate": {"incrementBatchName": True}})


def test_a_journal_renamed_by_posting_is_confirmed_and_later_runs_find_their_own(
    tmp_path: Path, incrementing_tenant: SandboxInfo
) -> None:
    first, second = make_transactions(20, seed=22), make_transactions(15, seed=23)
    config = write_config(tmp_path / "cfg", incrementing_tenant)
    first_file = write_statement(tmp_path / "a.csv", first)
    second_file = write_statement(tmp_path / "b.csv", second)

    outcome = run_cli(config, incrementing_tenant, first_file, "--post-journal")

    assert outcome.exit_code == 0, outcome.output
    s = outcome.summary
    assert s is not None and s["posted"] == len(first) and s["journal"]["posted"] is True
    code = str(s["journal"]["code"])
    http = BCHttp(incrementing_tenant)
    try:
        journals = {str(j["code"]): j for j in http.get_all("customerPaymentJournals")}
        # posting deleted the batch and inserted it again under IncStr(code), with a new id
        renamed = code[:-2] + f"{int(code[-2:]) + 1:02d}"
        assert code not in journals and renamed in journals
        assert journals[renamed]["id"] != s["journal"]["id"]

        again = run_cli(config, incrementing_tenant, first_file, "--post-journal")  # the same file again
        assert again.exit_code == 0, again.output
        assert again.summary is not None and again.summary["posted"] == 0

        later = run_cli(config, incrementing_tenant, second_file, "--post-journal")  # the next file
        assert later.exit_code == 0, later.output
        t = later.summary
        assert t is not None and t["posted"] == len(second) and t["journal"]["posted"] is True
    finally:
        http.close()
    documents: dict[str, int] = {}
    for e in payment_entries(incrementing_tenant):
        documents[str(e["documentNumber"])] = documents.get(str(e["documentNumber"]), 0) + 1
    assert documents == {tx.txid.upper(): 2 for tx in [*first, *second]}  # each payment posted exactly once
    assert ledger_states(config) == {"created": len(first) + len(second)}


def test_a_run_whose_journal_a_person_posted_and_bc_renamed_is_confirmed_without_sending_again(
    tmp_path: Path, incrementing_tenant: SandboxInfo
) -> None:
    txs = make_transactions(12, seed=24)
    config = write_config(tmp_path / "cfg", incrementing_tenant)
    file = write_statement(tmp_path / "s.csv", txs)
    sent = run_cli(config, incrementing_tenant, file)  # lines sent, the journal left for a person
    assert sent.exit_code == 0 and sent.summary is not None, sent.output
    journal = sent.summary["journal"]
    http = BCHttp(incrementing_tenant)
    try:
        posted = http.request("POST", f"journals({journal['id']})/Microsoft.NAV.post")
        assert posted.status_code == 204, posted.text
        codes_after_post = sorted(str(j["code"]) for j in http.get_all("customerPaymentJournals"))

        again = run_cli(config, incrementing_tenant, file, "--post-journal")

        assert again.exit_code == 0, again.output
        assert again.summary is not None and again.summary["posted"] == 0
        assert sorted(str(j["code"]) for j in http.get_all("customerPaymentJournals")) == codes_after_post
    finally:
        http.close()
    documents: dict[str, int] = {}
    for e in payment_entries(incrementing_tenant):
        documents[str(e["documentNumber"])] = documents.get(str(e["documentNumber"]), 0) + 1
    assert documents == {tx.txid.upper(): 2 for tx in txs}


# --- foreign currency: exchange rates by date and rounding precision ----------------------------------


@pytest.fixture
def franc_tenant(tmp_path: Path) -> Iterator[SandboxInfo]:
    """CHF with Swiss rounding (Amount Rounding Precision 0.05) and exchange rates from 2026-03-15
    on; customer C71000 is billed in CHF."""
    yield from tenant(
        tmp_path,
        {
            "currencies": [
                *seed.DEMO_DATA["currencies"],
                {
                    "code": "CHF",
                    "amountRoundingPrecision": "0.05",
                    "exchangeRates": [{"startingDate": "2026-03-15", "rate": "1.05"}],
                },
            ],
            "customers": [*seed.DEMO_DATA["customers"], {"number": "C71000", "name": "Zürich AG", "currency": "CHF"}],
        },
    )


def franc_config(tmp_path: Path, info: SandboxInfo) -> Path:
    chf = {**GENERATED_PROFILE, "currency": {"expected": "CHF"}}
    return write_config(tmp_path / "cfg", info, profiles={"generated": chf})


def test_franc_payments_without_a_rate_or_finer_than_bc_rounds_go_to_review_before_sending(
    tmp_path: Path, franc_tenant: SandboxInfo
) -> None:
    txs = [
        Tx("chf-1", date(2026, 3, 16), "Zürich AG", "C71000", 10000),  # a rate (from 03-15), 100.00
        Tx("chf-2", date(2026, 3, 12), "Zürich AG", "C71000", 5000),  # before the first rate
        Tx("chf-3", date(2026, 3, 17), "Zürich AG", "C71000", 1002),  # 10.02: BC would book 10.00
        Tx("chf-4", date(2026, 3, 18), "Zürich AG", "C71000", 1005),  # 10.05: a multiple of 0.05
    ]
    config = franc_config(tmp_path, franc_tenant)

    outcome = run_cli(config, franc_tenant, write_statement(tmp_path / "s.csv", txs), "--post-journal")

    assert outcome.exit_code == 1, outcome.output  # rows for a person
    s = outcome.summary
    assert s is not None and (s["posted"], s["needs_review"]) == (2, 2) and s["journal"]["posted"] is True
    assert reasons(s) == {"CHF-2": "no_exchange_rate", "CHF-3": "amount_precision"}
    credits = {
        str(e["documentNumber"]): e["creditAmount"]
        for e in payment_entries(franc_tenant)
        if e["accountNumber"] == "2310"
    }
    # posted in LCY at the rate of the posting date: 100.00 x 1.05, 10.05 x 1.05 = 10.5525 -> 10.55
    assert credits == {"CHF-1": Decimal("105"), "CHF-4": Decimal("10.55")}


def test_doctor_names_a_currency_without_a_rate_today(tmp_path: Path, franc_tenant: SandboxInfo) -> None:
    config = franc_config(tmp_path, franc_tenant)
    file = write_statement(tmp_path / "s.csv", [Tx("chf-9", date(2026, 3, 2), "Zürich AG", "C71000", 100)])

    result = CliRunner().invoke(main, ["doctor", "--config", str(config), str(file)], env=secrets_env(franc_tenant))

    warnings = [line for line in result.output.splitlines() if line.startswith("WARNING") and "exchange rates" in line]
    # today (after 2026-03-15) has a rate; the file's 2026-03-02 has none
    assert len(warnings) == 1 and "CHF on the files' first date (2026-03-02)" in warnings[0], result.output
    assert "today" not in warnings[0]


def test_a_lost_ledger_is_rebuilt_from_payments_bc_posted_under_its_posting_no_series(
    tmp_path: Path, series_tenant: SandboxInfo
) -> None:
    txs = make_transactions(25, seed=25)
    config = write_config(tmp_path / "cfg", series_tenant, journal={"existing": "BANK"})
    file = write_statement(tmp_path / "s.csv", txs)
    assert run_cli(config, series_tenant, file, "--post-journal").exit_code == 0
    lose_ledger(config)

    rebuilt = rebuild(config, series_tenant, file)

    assert rebuilt.exit_code == 0, rebuilt.output
    assert (rebuilt.found["found_posted"], rebuilt.found["not_in_bc"]) == (len(txs), 0)
    again = run_cli(config, series_tenant, file, "--post-journal")
    assert again.summary is not None and again.exit_code == 0, again.output
    assert (again.summary["posted"], again.summary["already_posted"]) == (0, len(txs))
    assert len(payment_entries(series_tenant)) == 2 * len(txs)  # nothing posted twice


@pytest.fixture
def queued_incrementing_tenant(tmp_path: Path) -> Iterator[SandboxInfo]:
    yield from tenant(
        tmp_path, {"journalTemplate": {"incrementBatchName": True}, "generalLedgerSetup": {"postWithJobQueue": True}}
    )


def test_a_resumed_run_whose_journal_the_job_queue_posted_and_renamed_is_confirmed(
    tmp_path: Path, queued_incrementing_tenant: SandboxInfo
) -> None:
    """The post is only scheduled (exit 3, the run stays open); the job queue posts the journal and
    BC renames it. The same command resumes the run: its journal is gone, its payments are in the
    G/L, so the run is confirmed and nothing is sent again."""
    info = queued_incrementing_tenant
    txs = make_transactions(18, seed=26)
    config = write_config(tmp_path / "cfg", info)
    file = write_statement(tmp_path / "s.csv", txs)

    scheduled = run_cli(config, info, file, "--post-journal")
    assert scheduled.exit_code == 3, scheduled.output
    assert rules.run_job_queue(info.extra["store"]) == [("Finished", "")]

    resumed = run_cli(config, info, file, "--post-journal")

    assert resumed.exit_code == 0, resumed.output
    r = resumed.summary
    assert r is not None and r["journal"]["posted"] is True and r["posted"] == len(txs)
    documents: dict[str, int] = {}
    for e in payment_entries(info):
        documents[str(e["documentNumber"])] = documents.get(str(e["documentNumber"]), 0) + 1
    assert documents == {tx.txid.upper(): 2 for tx in txs}
    assert ledger_states(config) == {"created": len(txs)}
    store, cid = info.extra["store"], str(info.company_id)
    # the journal recreated under the run's code to resume in stays empty: nothing was sent twice
    assert all(rules.list_payments(store, cid, str(j["id"])) == [] for j in rules.list_journals(store, cid))
