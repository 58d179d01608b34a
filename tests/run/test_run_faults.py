"""BC misbehaving in the middle of a run: every fault kind of the sandbox, a 429 storm, token expiry.

Each run posts a generated statement of 400 payments in $batch requests of 20, two in flight, so
a fault added once a fifth of the lines are in BC lands on a $batch in the middle of posting.
Afterwards BC must hold every planned line exactly once and the ledger must have settled every
row (none left ``sending``), whatever the fault did: refused before running (429, 503, 502),
committed and then lost (504-after-commit, drop-after-commit, a timeout on a slow answer), or
refused for an expired token.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline.config import load_config
from pipeline.ledger import Ledger
from pipeline.runner import RunOptions, run_import
from pipeline.sandbox.runtime import start_sandbox
from pipeline.sandbox.server import SandboxInfo
from pipeline.sandbox.settings import Fault, FaultKind, Latency, SandboxSettings
from pipeline.session import connect

from .conftest import (
    BCView,
    Outcome,
    assert_exactly,
    check_report,
    ledger_states,
    make_transactions,
    only_new_journal,
    plan_new_journal,
    run_cli,
    secrets_env,
    when,
    write_config,
    write_statement,
)

PAYMENTS = 400
POSTING = {"batch_size": 20, "max_in_flight": 2}
# a little server time per request and operation, so a run lasts long enough to be hit mid-way
LATENCY = Latency(per_request_s=0.01, per_operation_s=0.0005)


@pytest.fixture
def slow_sandbox(tmp_path: Path) -> Any:
    settings = SandboxSettings(tls=True, state_dir=tmp_path / "sandbox", seed="demo", latency=LATENCY)
    with start_sandbox(settings) as info:
        yield info


def fault_midway(info: SandboxInfo, fault: Fault, after_lines: int = PAYMENTS // 5) -> None:
    """Add ``fault`` once ``after_lines`` lines are in BC (the run is then in the middle of posting)."""
    view = BCView(info)
    when(lambda: view.line_count() >= after_lines, lambda: info.faults.add(fault))


def assert_exactly_once(info: SandboxInfo, config: Path, out: Outcome, expected: dict[int, Any]) -> None:
    assert out.summary is not None, out.output
    s = out.summary
    view = BCView(info)
    assert_exactly(view.lines(str(only_new_journal(view)["id"])), expected)
    assert ledger_states(config) == {"created": PAYMENTS}
    assert s["discrepancies"] == 0
    assert s["posted"] + s["already_posted"] == PAYMENTS
    check_report(s)


FAULTS: dict[str, Fault] = {
    # Retry-After is whole seconds: 0 keeps the test quick and still has the client read the header
    "429": Fault("429", route=r"\$batch", times=2, retry_after_s=0),
    "429-no-retry-after": Fault("429-no-retry-after", route=r"\$batch", times=2),
    "502": Fault("502", route=r"\$batch", times=1),
    "503": Fault("503", route=r"\$batch", times=2, retry_after_s=0),
    "504-after-commit": Fault("504-after-commit", route=r"\$batch", times=1),
    "drop-after-commit": Fault("drop-after-commit", route=r"\$batch", times=1),
    "slow": Fault("slow", route=r"\$batch", times=1, delay_s=3.0),
    "expire-token": Fault("expire-token", route=r"\$batch", times=1),
}


@pytest.mark.parametrize("kind", list(FAULTS))
def test_fault_mid_run_leaves_every_line_exactly_once(
    kind: FaultKind, tmp_path: Path, slow_sandbox: SandboxInfo
) -> None:
    info = slow_sandbox
    fault = FAULTS[kind]
    txs = make_transactions(PAYMENTS, seed=11)
    file = write_statement(tmp_path / "statement.csv", txs)
    # a short read timeout makes the slow answer a timeout; the other runs never wait that long
    timeouts = {"timeouts": {"read_s": 1.0}} if kind == "slow" else {}
    config = write_config(tmp_path / "cfg", info, posting=POSTING, target=timeouts)
    fault_midway(info, fault)

    out = run_cli(config, info, file)

    assert info.faults.fired().get(kind) == fault.times, "the fault did not fire mid-run"
    assert out.exit_code == 0, out.output
    assert out.summary is not None and out.summary["posted"] == PAYMENTS
    assert_exactly_once(info, config, out, plan_new_journal([t.line() for t in txs]))


def test_429_storm(tmp_path: Path) -> None:
    """Three $batch requests in ten refused (seeded), up to twenty times: the run slows down, never doubles."""
    storm = Fault("429", route=r"\$batch", probability=0.3, times=20, retry_after_s=0)
    settings = SandboxSettings(
        tls=True, state_dir=tmp_path / "sandbox", seed="demo", latency=LATENCY, faults=(storm,), fault_seed=20260321
    )
    txs = make_transactions(PAYMENTS, seed=12)
    file = write_statement(tmp_path / "statement.csv", txs)
    expected = plan_new_journal([t.line() for t in txs])
    with start_sandbox(settings) as info:
        config = write_config(tmp_path / "cfg", info, posting={**POSTING, "batch_size": 10})
        out = run_cli(config, info, file)
        fired = info.faults.fired().get("429", 0)
        assert fired >= 5, f"the storm fired only {fired} times"
        if out.exit_code == 3:  # the retry policy gave up: the state is recorded, a second run finishes it
            assert ledger_states(config)["sending"] == 0
            out = run_cli(config, info, file)
        assert out.exit_code == 0, out.output
        assert_exactly_once(info, config, out, expected)


def test_token_expiry_mid_run(tmp_path: Path, slow_sandbox: SandboxInfo) -> None:
    """The token is revoked in the middle of posting: the client fetches a second one and carries on."""
    info = slow_sandbox
    view = BCView(info)
    txs = make_transactions(PAYMENTS, seed=13)
    file = write_statement(tmp_path / "statement.csv", txs)
    config_path = write_config(tmp_path / "cfg", info, posting=POSTING)
    config = load_config(config_path)
    lines_at_fault: list[int] = []

    def expire() -> None:
        lines_at_fault.append(view.line_count())
        info.faults.add(Fault("expire-token", route=r"\$batch", times=1))

    when(lambda: view.line_count() >= PAYMENTS // 2, expire)
    with (
        Ledger.open(config.state_dir / "ledger.sqlite") as ledger,
        connect(config, secrets_env(info)) as client,
    ):
        result = run_import([file], config, client, ledger, RunOptions())
        tokens = client.tokens.tokens_fetched

    assert result.exit_code == 0
    assert info.faults.fired() == {"expire-token": 1}
    assert lines_at_fault and lines_at_fault[0] < PAYMENTS  # revoked while lines were still to be sent
    # every token issued before the fault is refused from then on, so the lines created after it
    # went in with a second token the sandbox issued; the client counted two as well
    assert tokens == 2
    assert_exactly_once(
        info, config_path, Outcome(0, result.summary.to_json(), ""), plan_new_journal([t.line() for t in txs])
    )
