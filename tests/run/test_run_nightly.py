"""What the IT person scheduling the nightly job relies on: exit codes for configuration failures,
JSON-only stderr under ``--log-format json``, and a summary that says what an interruption left.

Runs the real command against the sandbox; a fault or a wrong credential is the sandbox's own
behaviour, not a patch of the project's code.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from pipeline.cli import main
from pipeline.sandbox.server import SandboxInfo
from pipeline.sandbox.settings import Fault

from .conftest import BCView, make_transactions, secrets_env, when, write_config, write_statement


def _run(config: Path, env: dict[str, str], *args: str | Path) -> Result:
    return CliRunner().invoke(main, ["run", "--config", str(config), *map(str, args)], env=env)


def _json_lines(text: str) -> list[dict[str, object]]:
    """Every stderr line as JSON (a line that does not parse fails the test)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_a_wrong_client_secret_is_configuration_exit_2(tmp_path: Path, sandbox: SandboxInfo) -> None:
    config = write_config(tmp_path / "cfg", sandbox)
    statement = write_statement(tmp_path / "s.csv", make_transactions(3))
    env = {**secrets_env(sandbox), "PAYIMPORT_CLIENT_SECRET": "not-the-secret"}
    result = _run(config, env, "--profile", "generated", statement)
    assert result.exit_code == 2, result.output
    assert "not-the-secret" not in result.output


def test_an_unknown_company_is_configuration_exit_2(tmp_path: Path, sandbox: SandboxInfo) -> None:
    config = write_config(tmp_path / "cfg", sandbox, target={"company": "No Such Company Ltd"})
    statement = write_statement(tmp_path / "s.csv", make_transactions(3))
    result = _run(config, secrets_env(sandbox), "--profile", "generated", statement)
    assert result.exit_code == 2, result.output
    assert "'No Such Company Ltd' not found" in result.stderr


def test_json_logs_put_only_json_on_stderr_and_a_run_failed_event(tmp_path: Path, sandbox: SandboxInfo) -> None:
    config = write_config(tmp_path / "cfg", sandbox, target={"company": "No Such Company Ltd"})
    statement = write_statement(tmp_path / "s.csv", make_transactions(3))
    result = _run(config, secrets_env(sandbox), "--log-format", "json", "--profile", "generated", statement)
    assert result.exit_code == 2
    events = _json_lines(result.stderr)
    (failed,) = [e for e in events if e["event"] == "run_failed"]
    assert failed["exit_code"] == 2 and "No Such Company Ltd" in str(failed["reason"])
    assert not any(line.startswith("error") for line in result.stderr.splitlines())


def test_json_logs_of_a_run_with_retries_are_json_lines_only(tmp_path: Path, sandbox: SandboxInfo) -> None:
    sandbox.faults.add(Fault("503", route=r"\$batch", times=3, retry_after_s=0))
    config = write_config(tmp_path / "cfg", sandbox)
    statement = write_statement(tmp_path / "s.csv", make_transactions(20))
    result = _run(config, secrets_env(sandbox), "--log-format", "json", "--profile", "generated", statement)
    assert result.exit_code == 0, result.output
    events = [e["event"] for e in _json_lines(result.stderr)]
    assert "run_finished" in events and "run_failed" not in events


def test_retries_on_a_terminal_are_one_line_per_burst(tmp_path: Path, sandbox: SandboxInfo) -> None:
    """Three 503s in a row: one summarised line with the count, not three bare lines."""
    sandbox.faults.add(Fault("503", route=r"\$batch", times=3, retry_after_s=0))
    config = write_config(tmp_path / "cfg", sandbox)
    statement = write_statement(tmp_path / "s.csv", make_transactions(20))
    result = _run(config, secrets_env(sandbox), "--profile", "generated", statement)
    assert result.exit_code == 0, result.output
    retry_lines = [line for line in result.stderr.splitlines() if "retr" in line]
    assert len(retry_lines) == 1, result.stderr
    assert "Business Central retries: 3 in" in retry_lines[0]


def test_bc_down_mid_run_prints_the_error_and_counts_unsent_rows_as_unsent(
    tmp_path: Path, sandbox: SandboxInfo
) -> None:
    """BC starts answering every $batch with 503 once the first 50 lines are in the journal, until
    retries give up: exit 3, the summary says why, and the rows not in BC are counted as "not sent -
    will resume", not as new rows for a person. (The fault starts mid-run: before the journal gets
    lines, the run also reads BC's setup through $batch, and failing there stops it before anything
    is sent.)"""
    view = BCView(sandbox)
    config = write_config(
        tmp_path / "cfg",
        sandbox,
        posting={
            "batch_size": 50,
            "retry": {"max_attempts": 2, "base_delay_s": 0.01, "max_delay_s": 0.02, "max_total_s": 5},
        },
    )
    statement = write_statement(tmp_path / "s.csv", make_transactions(300))
    when(lambda: view.line_count() >= 50, lambda: sandbox.faults.add(Fault("503", route=r"\$batch", retry_after_s=0)))
    result = _run(config, secrets_env(sandbox), "--profile", "generated", statement)
    assert result.exit_code == 3, result.output
    lines = result.stdout.splitlines()
    in_bc = view.line_count()
    assert 50 <= in_bc < 300
    assert any(line.startswith("Stopped by an error: ") and "503" in line for line in lines), result.output
    unsent = 300 - in_bc
    assert f"    of which {unsent} not sent - will resume (run the same command again)" in lines, result.output
    expected = f"lines read 301 = added to journal {in_bc} + already imported 0 + skipped 1 + rejected 0"
    assert f"{expected} + needs review {unsent}" in lines, result.output
