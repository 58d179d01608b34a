"""One mapping from an exception to an exit code, and no traceback on the user's screen.

A scheduler reads the exit code: 2 means "fix the input, nothing was posted", 3 "BC failed, run
again". An error the tool did not foresee must not pass for either by accident.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.csv
import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.errors import (
    BCAuthError,
    BCOutcomeUnknown,
    BCPermanentError,
    BCTargetError,
    BCTransientError,
    ConfigError,
    InputError,
    LockError,
    PayimportError,
    ProfileError,
)
from pipeline.exitcodes import ExitCode, exit_code_for

ROOT = Path(__file__).resolve().parents[1]
CONFIG = str(ROOT / "config.yaml")
BANK = str(ROOT / "sample_data" / "bank_statement.csv")


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (ConfigError("bad key"), 2),
        (InputError("f.csv", "no such file"), 2),
        (ProfileError("f.csv", "no profile matches"), 2),
        (PayimportError("other refusal"), 2),
        (LockError("held", holder="pid 7"), 4),
        (BCAuthError("401"), 2),  # a wrong secret is configuration: running again will not help
        (BCTargetError("company 'CRONUS' not found"), 2),
        (BCTransientError("503 after retries"), 3),
        (BCOutcomeUnknown("timeout after sending"), 3),
        (BCPermanentError("400"), 3),
        (RuntimeError("a bug"), 3),  # BC may have changed: the ledger knows, run again
    ],
)
def test_exit_code_for(exc: BaseException, code: int) -> None:
    assert exit_code_for(exc) == code


def test_an_unforeseen_error_where_bc_cannot_have_changed_is_unusable() -> None:
    assert exit_code_for(RuntimeError("a bug"), bc_may_have_changed=False) == ExitCode.UNUSABLE
    assert exit_code_for(BCTransientError("503"), bc_may_have_changed=False) == ExitCode.BC_FAILED


def _boom(*args: object, **kwargs: object) -> None:
    raise RuntimeError("boom inside a library")


def test_validate_answers_an_unforeseen_error_with_exit_2_and_no_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: an uncaught exception in validate exited 1, which a nightly job reads as "rows rejected"."""
    monkeypatch.setattr(pyarrow.csv, "read_csv", _boom)  # a third-party failure, not the project's code
    result = CliRunner().invoke(main, ["validate", "--config", CONFIG, BANK])
    assert result.exit_code == 2
    assert "unexpected RuntimeError: boom inside a library; nothing was posted" in result.stderr
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_debug_shows_the_traceback_of_an_unforeseen_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pyarrow.csv, "read_csv", _boom)
    result = CliRunner().invoke(
        main,
        [
            "--debug",
            "validate",
            "--config",
            str(ROOT / "config.yaml"),
            str(ROOT / "sample_data" / "bank_statement.csv"),
        ],
    )
    assert result.exit_code == 2
    assert "Traceback (most recent call last)" in result.stderr
    assert "RuntimeError: boom inside a library" in result.stderr


def test_validate_json_reports_the_unforeseen_error_per_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pyarrow.csv, "read_csv", _boom)
    result = CliRunner().invoke(
        main,
        ["validate", "--json", "--config", CONFIG, BANK],
    )
    assert result.exit_code == 2
    assert '"error": "unexpected RuntimeError: boom inside a library; nothing was posted' in result.stdout


def test_run_answers_an_unforeseen_read_failure_with_exit_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Files are read before BC is touched: a failure there posted nothing, so it is not "run again" (3)."""
    config = tmp_path / "config.yaml"
    config.write_text((ROOT / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(pyarrow.csv, "read_csv", _boom)
    result = CliRunner().invoke(main, ["run", "--dry-run", "--config", str(config), BANK])
    assert result.exit_code == 2
    assert "cannot be read: unexpected RuntimeError: boom inside a library" in result.stderr
    assert "Traceback" not in result.output
