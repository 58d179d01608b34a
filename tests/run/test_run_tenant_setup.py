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
from pathlib import Path

import pytest

from pipeline.sandbox import rules
from pipeline.sandbox.server import SandboxInfo

from .conftest import BCHttp, ledger_states, make_transactions, run_cli, write_config, write_statement
from .test_run_bc_setup import tenant


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
    credits = sorted(e["creditAmount"] for e in entries if e["accountNumber"] == "2310")
    assert credits == sorted(t.cents / 100 for t in txs) or credits == sorted(
        type(credits[0])(t.cents).scaleb(-2) for t in txs
    )

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
