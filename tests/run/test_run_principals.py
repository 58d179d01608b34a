"""Several app registrations (service principals): requests round robin over them, each within its
own limits, never two into one journal; one principal's credentials failing mid-run costs nothing.

BC counts its limits per client id; the sandbox does too (``LimitStats`` per client) and accepts
the further registrations given in ``SandboxSettings.more_clients``. The run is the real command
with the principals named in config and their secrets in the environment. Expected journal
contents are worked out from the file and the documented spread (input order, an even share per
journal, journals in code order), never from what the run printed.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.sandbox.runtime import start_sandbox
from pipeline.sandbox.server import SandboxInfo
from pipeline.sandbox.settings import Latency, SandboxSettings

from .conftest import (
    BCView,
    Tx,
    assert_exactly,
    check_report,
    ledger_states,
    make_transactions,
    plan_new_journal,
    secrets_env,
    when,
    write_config,
    write_statement,
)

MORE = (("payimport-second-app", "second-app-secret-value"), ("payimport-third-app", "third-app-secret-value"))
PAYMENTS = 1200
JOURNALS = 6  # ceil(1200 / 100) = 12 lines-wise, capped at 2 in flight x 3 principals
POSTING = {"journal_lines": 100, "max_in_flight": 2}
LATENCY = Latency(per_request_s=0.02, per_operation_s=0.001)


def principals_config() -> list[dict[str, str]]:
    return [
        {"client_id_env": f"PAYIMPORT_CLIENT_ID_{n}", "client_secret_env": f"PAYIMPORT_CLIENT_SECRET_{n}"}
        for n in (2, 3)
    ]


def environment(info: SandboxInfo) -> dict[str, str]:
    env = secrets_env(info)
    for n, (client_id, secret) in zip((2, 3), MORE, strict=True):
        env[f"PAYIMPORT_CLIENT_ID_{n}"] = client_id
        env[f"PAYIMPORT_CLIENT_SECRET_{n}"] = secret
    return env


def run(config: Path, info: SandboxInfo, *files: Path) -> tuple[int, dict[str, Any] | None, str]:
    result = CliRunner().invoke(
        main,
        ["run", "--json", "--config", str(config), *map(str, files)],
        env=environment(info),
        catch_exceptions=False,
    )
    stdout = result.stdout.strip()
    return result.exit_code, json.loads(stdout.splitlines()[-1]) if stdout else None, result.output


def assert_spread(view: BCView, txs: list[Tx]) -> None:
    journals = view.new_journals()
    codes = sorted(journals)
    assert len(codes) == JOURNALS, f"expected {JOURNALS} journals, BC has {codes}"
    share = PAYMENTS // JOURNALS
    for k, code in enumerate(codes):
        expected = plan_new_journal([t.line() for t in txs[k * share : (k + 1) * share]])
        assert_exactly(view.lines(str(journals[code]["id"])), expected)


@pytest.fixture
def info(tmp_path: Path) -> Any:
    settings = SandboxSettings(
        tls=True, state_dir=tmp_path / "sandbox", seed="demo", latency=LATENCY, more_clients=MORE
    )
    with start_sandbox(settings) as served:
        yield served


def test_requests_go_round_robin_over_every_principal(tmp_path: Path, info: SandboxInfo) -> None:
    txs = make_transactions(PAYMENTS, seed=51)
    file = write_statement(tmp_path / "statement.csv", txs)
    config = write_config(tmp_path / "cfg", info, posting=POSTING, target={"principals": principals_config()})

    code, summary, output = run(config, info, file)

    assert code == 0, output
    assert summary is not None
    assert (summary["posted"], summary["rejected"], summary["needs_review"], summary["discrepancies"]) == (
        PAYMENTS,
        0,
        0,
        0,
    )
    check_report(summary)
    assert_spread(BCView(info), txs)
    clients = info.stats.clients()
    ids = [info.client_id, *(client_id for client_id, _ in MORE)]
    # 12 $batch requests of 100 lines, taken in turn: each principal sends some, none more than its window
    assert all(clients[c].processed >= 3 for c in ids), {c: clients[c].processed for c in clients}
    # the writers' windows (the run's own client also reads, beside its window)
    assert all(clients[c].max_in_flight <= POSTING["max_in_flight"] for c, _ in MORE)
    assert info.extra["locks"].waits == 0, "two requests were in flight into one journal"
    assert not any(secret in output for _, secret in MORE) and info.client_secret not in output


def test_a_principal_whose_secret_is_rotated_mid_run_leaves_the_rest_to_the_others(
    tmp_path: Path, info: SandboxInfo
) -> None:
    txs = make_transactions(PAYMENTS, seed=52)
    file = write_statement(tmp_path / "statement.csv", txs)
    config = write_config(tmp_path / "cfg", info, posting=POSTING, target={"principals": principals_config()})
    view = BCView(info)
    rotated = threading.Event()

    def rotate() -> None:
        info.tokens.rotate_secret(MORE[0][0], "a-secret-the-run-does-not-know")
        rotated.set()

    when(lambda: view.line_count() >= 300, rotate)

    code, summary, output = run(config, info, file)

    assert rotated.is_set(), "the run finished before the secret was rotated"
    assert code == 0, output
    assert summary is not None
    assert (summary["posted"], summary["rejected"], summary["needs_review"], summary["discrepancies"]) == (
        PAYMENTS,
        0,
        0,
        0,
    )
    check_report(summary)
    assert_spread(view, txs)
    assert ledger_states(config) == {"created": PAYMENTS}
    assert info.extra["locks"].waits == 0
    assert f"principal {MORE[0][0]}: credentials refused" in output  # named, its secret never shown
    assert "a-secret-the-run-does-not-know" not in output and MORE[0][1] not in output
