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
