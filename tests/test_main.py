"""``python -m pipeline`` is the ``payimport`` command, not a near copy of it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cli import main

PROJECT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_python_dash_m_pipeline_is_the_payimport_command() -> None:
    """In a fresh interpreter (as a user or a scheduler would start it): exit 0, named payimport,
    every subcommand listed."""
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", "--help"],
        capture_output=True,
        text=True,
        cwd=PROJECT,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Usage: payimport ")
    for name in main.commands:
        assert f"  {name} " in proc.stdout, f"subcommand {name} missing from:\n{proc.stdout}"
