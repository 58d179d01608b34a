"""``payimport validate`` end to end on the sample files, with figures counted from make_samples.py.

bank_statement.csv (demo-bank-de): 19 physical lines. 1-3 preamble, 4 blank, 5 header; credits on
6 (1190.00), 8 (357.00), 9 (12495.00), 11 (500.00), 13 (2380.00), 14 (714.00), 16 (45.50) = 17681.50;
debits on 7, 10, 12, 15; 17 zero; 18 blank; 19 Saldo footer -> 7 valid, 0 rejected, 12 skipped.

remittance.xlsx (demo-remittance): 10 sheet rows. 1-3 title block, 4 empty, 5 header, 6-9 invoices
paid 2026-03-18 (1250.00 + 84.99 + 2045.50 + 19.01 = 3399.50), 10 TOTAL -> 4 valid, 0 rejected, 6 skipped.

payments_with_errors.csv (demo-payments): 15 lines. 1 header; valid 2 (1500.00), 11 (12.00), 13 (820.40)
= 2332.40; rejected 3 (amount 1.234,56), 4 (2026-02-31), 5 (03/25/2026), 6 (no amount), 7 (USD),
8 (99.999), 9 (43-character transaction id > Code[35]), 10 (26-character customer no > Code[20]);
skipped 12 (refund), 14 (blank), 15 (Total) -> 3 valid, 8 rejected, 4 skipped.
"""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner, Result

from pipeline.cli import main

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config.yaml"
SAMPLES = ROOT / "sample_data"
BANK = SAMPLES / "bank_statement.csv"
REMITTANCE = SAMPLES / "remittance.xlsx"
ERRORS = SAMPLES / "payments_with_errors.csv"

SUMMARY_FIELDS = {
    "file",
    "profile",
    "rows_read",
    "rows_valid",
    "rows_rejected",
    "rows_skipped",
    "amount_valid",
    "currency",
    "first_date",
    "last_date",
    "issues",
}
ISSUE_FIELDS = {"source_file", "source_row", "column", "value", "reason_code", "message"}
PAYMENTS_HEADER = ["Date", "Payer", "Reference", "Amount", "Currency", "Transaction ID", "Customer No"]


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, ["validate", *map(str, args)], catch_exceptions=False)


def run_json(*args: str | Path) -> tuple[int, dict[str, Any]]:
    result = run(*args, "--json", "--config", CONFIG)
    return result.exit_code, json.loads(result.stdout)


def _csv(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- validate --json: figures ------------------------------------------------------------------


def test_clean_bank_statement(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, s = run_json(BANK)
    assert code == 0
    assert set(s) >= SUMMARY_FIELDS
    assert s["file"] == str(BANK)
    assert s["profile"] == "demo-bank-de"
    assert (s["rows_read"], s["rows_valid"], s["rows_rejected"], s["rows_skipped"]) == (19, 7, 0, 12)
    assert s["amount_valid"] == "17681.50"
    assert s["currency"] == "EUR"
    assert (s["first_date"], s["last_date"]) == ("2026-03-02", "2026-03-23")
    assert s["issues"] == []
    assert s["skipped_by_reason"] == {
        "preamble": 3,
        "blank": 2,
        "header": 1,
        "not_receipt": 4,
        "zero_amount": 1,
        "footer": 1,
    }
    assert "errors_workbook" not in s
    assert list(tmp_path.iterdir()) == []  # nothing rejected, no workbook


def test_clean_remittance_workbook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, s = run_json(REMITTANCE)
    assert code == 0
    assert s["profile"] == "demo-remittance"
    assert (s["rows_read"], s["rows_valid"], s["rows_rejected"], s["rows_skipped"]) == (10, 4, 0, 6)
    assert s["amount_valid"] == "3399.50"
    assert (s["first_date"], s["last_date"]) == ("2026-03-18", "2026-03-18")
    assert s["issues"] == []
    assert s["skipped_by_reason"] == {"preamble": 3, "blank": 1, "header": 1, "footer": 1}


def test_file_with_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, s = run_json(ERRORS)
    assert code == 1
    assert set(s) >= SUMMARY_FIELDS
    assert s["profile"] == "demo-payments"
    assert (s["rows_read"], s["rows_valid"], s["rows_rejected"], s["rows_skipped"]) == (15, 3, 8, 4)
    assert s["rows_read"] == s["rows_valid"] + s["rows_rejected"] + s["rows_skipped"]
    assert s["amount_valid"] == "2332.40"
    assert (s["first_date"], s["last_date"]) == ("2026-03-02", "2026-03-10")
    by_row = {i["source_row"]: i for i in s["issues"]}
    assert sorted(by_row) == [3, 4, 5, 6, 7, 8, 9, 10]
    assert len(s["issues"]) == 8
    expected = {
        3: ("amount_format", "Amount", "1.234,56"),
        4: ("date_invalid", "Date", "2026-02-31"),
        5: ("date_format", "Date", "03/25/2026"),
        6: ("amount_missing", "Amount", ""),
        7: ("currency_mismatch", "Currency", "USD"),
        8: ("amount_decimals", "Amount", "99.999"),
        9: ("too_long", "externalDocumentNumber", "PP-0008-REFERENCE-FROM-THE-PAYMENT-PROVIDER"),
        10: ("too_long", "Customer No", "CUSTOMER-NUMBER-TOO-LONG-1"),
    }
    for row, (reason, column, value) in expected.items():
        issue = by_row[row]
        assert set(issue) == ISSUE_FIELDS
        assert (issue["reason_code"], issue["column"], issue["value"]) == (reason, column, value), issue
        assert issue["source_file"] == str(ERRORS)
        assert issue["message"]
    assert s["rejected_by_reason"] == {
        "amount_format": 1,
        "date_invalid": 1,
        "date_format": 1,
        "amount_missing": 1,
        "currency_mismatch": 1,
        "amount_decimals": 1,
        "too_long": 2,
    }
    assert s["skipped_by_reason"] == {"header": 1, "not_receipt": 1, "blank": 1, "footer": 1}
    # the default errors workbook lands in the current folder
    assert s["errors_workbook"] == str(tmp_path / "payments_with_errors.errors.xlsx")
    assert (tmp_path / "payments_with_errors.errors.xlsx").is_file()


def test_human_summary_names_file_profile_and_figures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run(ERRORS, "--config", CONFIG, "--no-errors-out")
    assert result.exit_code == 1
    out = result.output
    assert str(ERRORS) in out and "demo-payments" in out
    assert "2332.40" in out
    assert "row 3:" in out and "row 10:" in out
    assert list(tmp_path.iterdir()) == []  # --no-errors-out


def test_profile_can_be_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, s = run_json(BANK, "--profile", "demo-bank-de")
    assert code == 0 and s["rows_valid"] == 7


# --- payments ------------------------------------------------------------------------------------


def test_show_payments_of_bank_statement(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, s = run_json(BANK, "--show-payments")
    assert code == 0
    p = s["payments"]
    assert [x["lineNumber"] for x in p] == [10000, 20000, 30000, 40000, 50000, 60000, 70000]
    assert [x["source_row"] for x in p] == [6, 8, 9, 11, 13, 14, 16]
    assert [x["amount"] for x in p] == ["-1190.00", "-357.00", "-12495.00", "-500.00", "-2380.00", "-714.00", "-45.50"]
    assert sum(Decimal(x["amount"]) for x in p) == -Decimal(s["amount_valid"])
    assert [x["postingDate"] for x in p] == [
        "2026-03-02",
        "2026-03-03",
        "2026-03-05",
        "2026-03-09",
        "2026-03-12",
        "2026-03-16",
        "2026-03-23",
    ]
    assert [x["documentNumber"] for x in p] == [
        "BANK260302-001",
        "BANK260303-002",
        "BANK260305-003",
        "BANK260309-004",
        "BANK260312-005",
        "BANK260316-006",
        "BANK260323-007",
    ]
    txids = ["TX260302001", "TX260303001", "TX260305001", "TX260309001", "TX260312001", "TX260316001", "TX260323001"]
    assert [x["externalDocumentNumber"] for x in p] == txids
    assert [x["key"] for x in p] == [f"demo-bank-de:tx:{t}" for t in txids]
    assert [x["customerNumber"] for x in p] == ["C10000", "", "", "", "", "", ""]
    assert [x["appliesToInvoiceNumber"] for x in p] == [
        "RE-2026-0101",
        "RE-2026-0102",
        "RE-2026-0103",
        "RE-2026-0104",
        "RE-2026-0105",
        "RE-2026-0107",
        "",
    ]
    assert p[0]["description"] == "Müller Maschinenbau GmbH"
    assert p[3]["description"] == "Weber, Sohn & Partner"
    assert p[3]["comment"] == "Zahlung RE-2026-0104, Teilzahlung"


def test_start_line_shifts_line_numbers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, s = run_json(BANK, "--show-payments", "--start-line", "30000")
    assert code == 0
    assert [x["lineNumber"] for x in s["payments"]] == [40000 + 10000 * k for k in range(7)]


def test_payments_skip_rejected_rows_without_gaps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, s = run_json(ERRORS, "--show-payments", "--no-errors-out", "--start-line", "20000")
    assert code == 1
    p = s["payments"]
    assert [x["source_row"] for x in p] == [2, 11, 13]
    assert [x["lineNumber"] for x in p] == [30000, 40000, 50000]
    assert [x["amount"] for x in p] == ["-1500.00", "-12.00", "-820.40"]
    assert [x["externalDocumentNumber"] for x in p] == ["PP-0001", "PP-0010", "PP-0012"]
    assert [x["customerNumber"] for x in p] == ["C20000", "C10000", "C30000"]
    assert [x["appliesToInvoiceNumber"] for x in p] == ["INV-5001", "INV-5010", "INV-5011"]
    assert p[1]["description"] == '=HYPERLINK("http://example.invalid")'  # data, kept as it was
    assert all(x["documentNumber"].startswith("PSP2603") for x in p)
    assert list(tmp_path.iterdir()) == []


def test_remittance_payments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _, s = run_json(REMITTANCE, "--show-payments")
    p = s["payments"]
    assert [x["amount"] for x in p] == ["-1250.00", "-84.99", "-2045.50", "-19.01"]
    assert [x["documentNumber"] for x in p] == ["REM260318-001", "REM260318-002", "REM260318-003", "REM260318-004"]
    assert {x["externalDocumentNumber"] for x in p} == {"CRL-PAY-88123"}
    assert p[0]["description"] == "Remittance CRL-PAY-88123 RE-2026-0091"
    assert [x["source_row"] for x in p] == [6, 7, 8, 9]
    keys = [x["key"] for x in p]
    assert len(set(keys)) == 4
    assert all(k.startswith("demo-remittance:h:") and k.endswith(":1") for k in keys)


def test_code_fields_are_upper_case(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "lower.yaml"
    config.write_text(
        "version: 1\n"
        "profiles:\n"
        "  lower:\n"
        "    header: {signature: [Date, Amount, Ref, Tx, Cust]}\n"
        "    columns: {date: Date, amount: Amount, reference: Ref, invoice_number: Ref,\n"
        "              transaction_id: Tx, customer_number: Cust}\n"
        "    document_number: {template: 'psp-{seq:03d}'}\n",
        encoding="utf-8",
    )
    src = _csv(tmp_path / "lower.csv", ["Date,Amount,Ref,Tx,Cust", "2026-03-02,10.00,inv-77,pp-ab-1,c10000"])
    result = run(src, "--config", config, "--json", "--show-payments")
    assert result.exit_code == 0, result.output
    (p,) = json.loads(result.stdout)["payments"]
    assert p["documentNumber"] == "PSP-001"
    assert p["externalDocumentNumber"] == "PP-AB-1"
    assert p["customerNumber"] == "C10000"
    assert p["appliesToInvoiceNumber"] == "INV-77"
    assert p["amount"] == "-10.00"


# --- unusable input: exit 2 ---------------------------------------------------------------------


def test_missing_file_is_exit_2_naming_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "no-such-statement.csv"
    code, s = run_json(missing)
    assert code == 2
    assert s["file"] == str(missing)
    assert str(missing) in s["error"] and "does not exist" in s["error"]
    result = run(missing, "--config", CONFIG)
    assert result.exit_code == 2
    assert str(missing) in result.stderr


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "empty"),
        (b"\n\n  \n", "empty"),
        (b"PK\x03\x04" + b"\x00" * 64, "zip"),
        (bytes(range(256)) * 8, ""),  # binary: any message, as long as it names the file
    ],
    ids=["empty", "whitespace", "zip", "binary"],
)
def test_unusable_file_is_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes, words: str) -> None:
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "statement.csv"
    bad.write_bytes(content)
    code, s = run_json(bad)
    assert code == 2
    assert s["file"] == str(bad)
    assert str(bad) in s["error"] and words in s["error"]


def test_no_matching_profile_is_exit_2_with_candidates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    other = _csv(tmp_path / "other.csv", ["Datum,Summe,Text", "2026-03-02,10.00,x"])
    code, s = run_json(other)
    assert code == 2
    assert str(other) in s["error"] and "no profile matches" in s["error"]
    assert sorted(s["candidates"]) == ["demo-bank-de", "demo-payments", "demo-remittance"]
    result = run(other, "--config", CONFIG)
    assert result.exit_code == 2
    assert str(other) in result.stderr


def test_unknown_profile_name_is_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, s = run_json(BANK, "--profile", "nope")
    assert code == 2
    assert "nope" in s["error"] and str(BANK) in s["error"]


def test_bad_config_is_exit_2_naming_the_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nprofiles:\n  x: {columns: {date: D}, amount: {layout: sideways}}\n", encoding="utf-8")
    result = run(BANK, "--config", bad, "--json")
    assert result.exit_code == 2
    obj = json.loads(result.stdout)
    assert str(bad) in obj["error"]
    assert any("profiles.x.amount.layout" in p for p in obj["problems"])
    human = run(BANK, "--config", bad)
    assert human.exit_code == 2
    assert str(bad) in human.stderr and "profiles.x.amount.layout" in human.stderr
    missing = run(BANK, "--config", tmp_path / "absent.yaml")
    assert missing.exit_code == 2
    assert str(tmp_path / "absent.yaml") in missing.stderr


def test_default_config_is_read_from_the_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert run(BANK).exit_code == 2  # no config.yaml here
    (tmp_path / "config.yaml").write_text(CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
    assert run(BANK).exit_code == 0


# --- several files -----------------------------------------------------------------------------


def test_several_files_give_one_object(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "missing.csv"
    code, s = run_json(BANK, REMITTANCE, ERRORS, missing, "--errors-out", tmp_path / "out")
    assert code == 2  # the worst outcome wins
    assert [f["file"] for f in s["files"]] == [str(BANK), str(REMITTANCE), str(ERRORS), str(missing)]
    assert s["rows_read"] == 19 + 10 + 15
    assert s["rows_valid"] == 7 + 4 + 3
    assert s["rows_rejected"] == 8
    assert s["rows_skipped"] == 12 + 6 + 4
    assert s["files_unusable"] == 1
    assert "error" in s["files"][3]
    assert s["files"][2]["errors_workbook"] == str(tmp_path / "out" / "payments_with_errors.errors.xlsx")
    assert (tmp_path / "out" / "payments_with_errors.errors.xlsx").is_file()

    code, s = run_json(BANK, ERRORS, "--no-errors-out")
    assert code == 1
    assert s["files_unusable"] == 0
    code, s = run_json(BANK, REMITTANCE)
    assert code == 0
    assert s["rows_valid"] == 11


def test_workbooks_of_two_inputs_with_the_same_name_do_not_overwrite_each_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    bad_row = "2026-03-02,Acme,INV-1,abc,EUR,PP-1,C1"
    inputs = []
    for bank in ("bank-a", "bank-b"):
        (tmp_path / bank).mkdir()
        inputs.append(_csv(tmp_path / bank / "statement.csv", [",".join(PAYMENTS_HEADER), bad_row]))
    a, b = inputs
    code, s = run_json(a, b, "--errors-out", tmp_path / "out")
    assert code == 1
    paths = [f["errors_workbook"] for f in s["files"]]
    assert paths[0] != paths[1], "the second file's errors workbook replaced the first one's"


# --- the errors workbook ---------------------------------------------------------------------------


def _sheet_rows(ws: Any) -> list[list[Any]]:
    return [["" if c.value is None else c.value for c in row] for row in ws.iter_rows()]


def test_errors_workbook_holds_exactly_the_rejected_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "reports" / "errors.xlsx"
    code, s = run_json(ERRORS, "--errors-out", target)
    assert code == 1
    assert s["errors_workbook"] == str(target)
    with ERRORS.open(encoding="utf-8", newline="") as fh:
        lines = list(csv.reader(fh))
    header = lines[0]
    assert header == PAYMENTS_HEADER

    wb = openpyxl.load_workbook(target)
    assert len(wb.sheetnames) == 2
    assert wb.sheetnames[1] == "Issues"
    rows = _sheet_rows(wb.worksheets[0])
    assert rows[0] == [*header, "row", "error"]
    body = rows[1:]
    assert [r[len(header)] for r in body] == [3, 4, 5, 6, 7, 8, 9, 10]
    for r in body:
        source_row = r[len(header)]
        original = [c.strip() for c in lines[source_row - 1]]
        assert r[: len(header)] == original, source_row
        assert isinstance(r[len(header) + 1], str) and r[len(header) + 1], source_row
    assert "1.234,56" in body[0][len(header) + 1]
    # the refused cell is highlighted
    amount_cell = wb.worksheets[0].cell(row=2, column=header.index("Amount") + 1)
    assert amount_cell.fill.fgColor.rgb not in (None, "00000000")

    issues = _sheet_rows(wb["Issues"])
    assert issues[0] == ["file", "row", "column", "value", "reason_code", "message"]
    assert [(r[1], r[4]) for r in issues[1:]] == [(i["source_row"], i["reason_code"]) for i in s["issues"]]
    assert all(r[0] == str(ERRORS) for r in issues[1:])


def test_errors_workbook_stores_formula_like_text_as_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    src = _csv(
        tmp_path / "evil.csv",
        [
            ",".join(PAYMENTS_HEADER),
            '2026-03-02,"=HYPERLINK(""http://x"")",-2+3,abc,EUR,+PP-1,@cmd',
            "2026-03-03,@SUM(A1),=1+2,=1+2,EUR,-PP-2,C1",
            "2026-03-04,Fine Payer,REF,10.00,EUR,PP-3,C2",
        ],
    )
    target = tmp_path / "evil.errors.xlsx"
    code, s = run_json(src, "--errors-out", target)
    assert code == 1
    assert s["rows_valid"] == 1 and s["rows_rejected"] == 2

    wb = openpyxl.load_workbook(target)  # not read-only: data_type says what Excel would see
    rejected = wb.worksheets[0]
    values = {c.value: c for row in rejected.iter_rows() for c in row if c.value is not None}
    for text in ('=HYPERLINK("http://x")', "-2+3", "+PP-1", "@cmd", "@SUM(A1)", "=1+2", "-PP-2"):
        assert text in values, f"{text!r} missing from the errors workbook"
        assert values[text].data_type == "s", f"{text!r} stored as {values[text].data_type!r}"
    checked = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", f"{ws.title}!{c.coordinate} is a formula: {c.value!r}"
                if isinstance(c.value, str) and c.value.startswith(("=", "+", "-", "@")):
                    assert c.data_type == "s"
                    checked += 1
    assert checked >= 8  # the seven texts above, plus the refused value '=1+2' in Issues


def test_fixed_errors_workbook_is_recognised_and_the_fixed_row_is_valid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "payments_with_errors.errors.xlsx"
    code, _ = run_json(ERRORS, "--errors-out", out)
    assert code == 1

    wb = openpyxl.load_workbook(out)
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    amount_col = header.index("Amount") + 1
    row_col = header.index("row") + 1
    (fixed_at,) = [r for r in range(2, ws.max_row + 1) if ws.cell(r, amount_col).value == "1.234,56"]
    assert ws.cell(fixed_at, row_col).value == 3  # the Contoso row of the original file
    ws.cell(fixed_at, amount_col).value = 1234.56  # typed in Excel: a number cell now
    fixed = tmp_path / "payments_fixed.xlsx"
    wb.save(fixed)

    code, s = run_json(fixed, "--show-payments", "--no-errors-out")
    assert s["profile"] == "demo-payments"  # identified by its header, no --profile
    assert s["rows_read"] == 9  # header + the 8 rejected rows
    assert s["rows_valid"] == 1
    assert s["rows_rejected"] == 7
    assert s["rows_skipped"] == 1
    assert s["amount_valid"] == "1234.56"
    assert fixed_at not in {i["source_row"] for i in s["issues"]}
    (p,) = s["payments"]
    assert p["source_row"] == fixed_at
    assert p["amount"] == "-1234.56"
    assert p["externalDocumentNumber"] == "PP-0002"
    assert p["customerNumber"] == "C30000"
    assert p["postingDate"] == "2026-03-02"
    assert code == 1  # the other rows are still wrong


def test_fixed_value_typed_as_text_is_valid_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "e.xlsx"
    run_json(ERRORS, "--errors-out", out)
    wb = openpyxl.load_workbook(out)
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    keep = [2]  # only the Contoso row stays, fixed as text
    for r in range(ws.max_row, 2, -1):
        if r not in keep:
            ws.delete_rows(r)
    ws.cell(2, header.index("Amount") + 1).value = "1234.56"
    fixed = tmp_path / "fixed.xlsx"
    wb.save(fixed)
    code, s = run_json(fixed)
    assert code == 0
    assert (s["rows_read"], s["rows_valid"], s["rows_rejected"], s["rows_skipped"]) == (2, 1, 0, 1)
    assert s["amount_valid"] == "1234.56"


def test_row_without_transaction_id_after_one_with_it_is_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    src = _csv(
        tmp_path / "mixed.csv",
        [
            ",".join(PAYMENTS_HEADER),
            "2026-03-02,Alpha,INV-1,10.00,EUR,PP-1,C1",
            "2026-03-03,Beta,INV-2,20.00,EUR,,C2",
        ],
    )
    code, s = run_json(src, "--show-payments")
    assert code == 0
    assert s["rows_valid"] == 2 and s["amount_valid"] == "30.00"
    assert [p["externalDocumentNumber"] for p in s["payments"]] == ["PP-1", ""]


def test_wrong_profile_for_the_file_is_exit_2_naming_file_and_expected_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The remittance profile on the bank CSV: its header is not there, so nothing is read."""
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        main,
        ["validate", "--profile", "demo-remittance", "--config", str(CONFIG), str(SAMPLES / "bank_statement.csv")],
    )
    assert result.exit_code == 2
    assert "bank_statement.csv" in result.output
    assert "Invoice No" in result.output  # what the profile expected to find
