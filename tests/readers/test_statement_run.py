"""``validate`` and ``run`` on bank statements exactly as on CSV: reports, the errors workbook, and a
second run that posts nothing again (the embedded sandbox, as ``make demo`` uses it)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import openpyxl
from click.testing import CliRunner

from pipeline.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
CONFIG = """\
version: 1
profiles:
  demo-camt:
    statement_accounts: [DE89370400440532013000]
    extract:
      invoice_number: '\\b(RE-\\d{4}-\\d{4})\\b'
      customer_number: '\\bKd-Nr\\.?\\s*([A-Z]\\d{5})\\b'
"""


def _run(config: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(main, ["run", "--config", str(config), "--json", *args])
    return result.exit_code, json.loads(result.stdout)


def test_a_camt_statement_is_posted_once(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    camt = tmp_path / "camt053_demo.xml"
    shutil.copy(FIXTURES / "camt053_demo.xml", camt)
    code, first = _run(config, str(camt))
    assert code == 0, first["error"]
    # account DE89...: 1190.00 (RE-2026-0101), the batch's 357.00 and 12495.00; the debit, the
    # return, the pending entry and the other account's entry are skipped
    assert (first["posted"], first["skipped"], first["needs_review"], first["rejected"]) == (3, 4, 0, 0)
    assert first["files"][0]["balance"] == "verified"
    code, again = _run(config, str(camt))
    assert code == 0
    assert (again["posted"], again["already_posted"]) == (0, 3)
    report = json.loads(Path(again["report"]["json"]).read_text(encoding="utf-8"))
    assert "camt053_demo.xml" in json.dumps(report)


def test_mt940_and_bai2_run_like_csv(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    files = [tmp_path / n for n in ("mt940_german.sta", "mt942.sta")]
    for f in files:
        shutil.copy(FIXTURES / f.name, f)
    code, out = _run(config, *map(str, files))
    assert code in (0, 1), out["error"]
    assert out["rows_read"] == 5
    assert out["posted"] + out["already_posted"] + out["skipped"] + out["rejected"] + out["needs_review"] == 5


def test_validate_writes_the_errors_workbook_with_lines(tmp_path: Path) -> None:
    text = (FIXTURES / "camt053_demo.xml").read_text(encoding="utf-8")
    text = text.replace(">1190.00<", ">1190.005<").replace(">24234.20<", ">24234.205<")
    camt = tmp_path / "decimals.xml"
    camt.write_text(text, encoding="utf-8")
    errors = tmp_path / "errors.xlsx"
    config = tmp_path / "config.yaml"
    config.write_text("version: 1\nprofiles: {}\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", "--config", str(config), "--errors-out", str(errors), str(camt)])
    assert result.exit_code == 1, result.output
    wb = openpyxl.load_workbook(errors, read_only=True)
    cells = [str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    assert any("amount" in c for c in cells)
