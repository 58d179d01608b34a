"""Which modules the quick commands load: ``--help`` and ``validate`` must not pay for the rest.

Each case runs the command in a fresh interpreter and lists ``sys.modules`` afterwards, so the
assertion is about what is imported, never about how long it took (the machine's speed varies).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The command runs in-process so that sys.modules can be read after it exits.
PROBE = """
import json, sys
from pipeline.cli import main
try:
    main(sys.argv[1:], prog_name="payimport")
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""

NEVER_FOR_QUICK_COMMANDS = (
    "pipeline.sandbox",  # the local BC stand-in
    "pipeline.bc",  # the BC client
    "pipeline.post",  # the poster
    "pipeline.session",
    "pipeline.runner",
    "pipeline.report",  # the report and errors-workbook writer
    "pipeline.ledger",
    "httpx",  # the HTTP stack
    "msal",
    "xlsxwriter",
    "openpyxl",
)


def loaded_by(*argv: str) -> set[str]:
    """The top-level and dotted module names loaded by ``payimport ARGV`` in a new interpreter."""
    proc = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=True, cwd=ROOT)
    return set(json.loads(proc.stdout.strip().splitlines()[-1]))


def imported(modules: set[str], name: str) -> bool:
    """Whether NAME or any of its submodules was imported."""
    return any(m == name or m.startswith(name + ".") for m in modules)


def test_help_loads_only_the_command_line_parser() -> None:
    modules = loaded_by("--help")
    heavy = ("pandas", "numpy", "pyarrow", "pandera", "pydantic", "yaml", "rich", *NEVER_FOR_QUICK_COMMANDS)
    assert [name for name in heavy if imported(modules, name)] == []
    assert "click" in modules


def test_subcommand_help_loads_no_product_module() -> None:
    modules = loaded_by("run", "--help")
    assert [name for name in ("pandas", *NEVER_FOR_QUICK_COMMANDS) if imported(modules, name)] == []


def test_validate_of_a_small_file_loads_neither_http_nor_sandbox_nor_report_writer() -> None:
    modules = loaded_by("validate", "--no-errors-out", str(ROOT / "sample_data" / "bank_statement.csv"))
    assert "pipeline.validate" in modules  # the command did run
    assert [name for name in NEVER_FOR_QUICK_COMMANDS if imported(modules, name)] == []
