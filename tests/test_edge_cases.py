"""Odd but real inputs: each case once produced a wrong payment, a silent guess or a traceback."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.config import parse_config
from pipeline.errors import ConfigError, InputError
from pipeline.validate import FileResult, validate_file

BASE: dict[str, Any] = {
    "delimiter": ",",
    "header": {"signature": ["Date", "Amount", "Text"]},
    "columns": {"date": "Date", "amount": "Amount", "reference": "Text"},
    "date_formats": ["%Y-%m-%d"],
}


def _run(tmp_path: Path, text: str, **profile: Any) -> FileResult:
    path = tmp_path / "in.csv"
    path.write_text(text, encoding="utf-8")
    config = parse_config({"profiles": {"p": {**BASE, **profile}}})
    return validate_file(path, config, "p")


def test_continuation_line_belongs_to_the_refund_above_not_to_the_earlier_receipt(tmp_path: Path) -> None:
    result = _run(
        tmp_path,
        "Date,Amount,Text\n2024-01-01,10.00,payment thanks\n2024-01-02,-3.00,refund\n,,RE-2024-0099\n",
        continuation_rows="join",
        extract={"invoice_number": r"(RE-\d{4}-\d{4})"},
    )
    rows = result.payments.rows
    assert rows["appliesToInvoiceNumber"].tolist() == [""]
    assert rows["comment"].tolist() == ["payment thanks"]
    assert result.skips.set_index("source_row")["reason_code"].to_dict() == {
        1: "header",
        3: "not_receipt",
        4: "continuation",
    }


def test_compact_date_without_its_leading_zero_is_refused_not_read_as_another_day(tmp_path: Path) -> None:
    result = _run(
        tmp_path,
        "Date,Amount,Text\n1022024,5.00,a\n01022024,6.00,b\n",
        date_formats=["%d%m%Y"],
    )
    assert [(i.source_row, i.reason_code) for i in result.issues] == [(2, "date_format")]
    assert [d.date() for d in result.payments.rows["postingDate"]] == [dt.date(2024, 2, 1)]


def test_minus_sign_against_a_credit_indicator_is_rejected(tmp_path: Path) -> None:
    result = _run(
        tmp_path,
        "Date,Amount,Text,CD\n2024-01-01,-10.00,x,C\n2024-01-02,10.00,y,C\n2024-01-03,-4.00,z,D\n",
        header={"signature": ["Date", "Amount", "CD"]},
        columns={"date": "Date", "amount": "Amount", "reference": "Text", "indicator": "CD"},
        amount={"layout": "indicator", "credit_values": ["C"], "debit_values": ["D"]},
    )
    assert [(i.source_row, i.reason_code) for i in result.issues] == [(2, "amount_sign_conflict")]
    assert result.payments.rows["amount_minor"].tolist() == [-1000]


def test_a_receipt_with_a_bad_date_is_rejected_even_when_its_text_looks_like_a_footer(tmp_path: Path) -> None:
    result = _run(
        tmp_path,
        # 2024-02-30 is no date in either day/month order (2024-13-01 would be 13 January read
        # swapped, and the file is then refused whole by the date-order check).
        "Text,Date,Amount\nBalance payment inv 7,2024-02-30,500.00\nTotal,,500.00\n",
        header={"signature": ["Text", "Date", "Amount"]},
    )
    assert [(i.source_row, i.reason_code) for i in result.issues] == [(2, "date_invalid")]
    assert result.skips.set_index("source_row")["reason_code"].to_dict() == {1: "header", 3: "footer"}


def test_transaction_ids_that_contain_the_occurrence_mark_keep_distinct_keys(tmp_path: Path) -> None:
    result = _run(
        tmp_path,
        "Date,Amount,Text,Id\n2024-01-01,1.00,a,X\n2024-01-01,2.00,b,X\n2024-01-01,3.00,c,X#2\n",
        columns={**BASE["columns"], "transaction_id": "Id"},
    )
    keys = result.payments.rows["key"].tolist()
    assert len(set(keys)) == 3, keys
    assert result.issues == []


def test_a_name_given_twice_in_the_header_must_be_told_apart(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"appears 2 times.*'Amount \(2\)'"):
        _run(
            tmp_path,
            "Date,Amount,Text,Amount\n2024-01-01,1.00,a,9.00\n",
        )
    result = _run(
        tmp_path,
        "Date,Amount,Text,Amount\n2024-01-01,1.00,a,9.00\n",
        columns={**BASE["columns"], "amount": "Amount (2)"},
    )
    assert result.payments.rows["amount_minor"].tolist() == [-900]


def test_amount_that_overflows_the_minor_units_is_too_large_not_wrapped(tmp_path: Path) -> None:
    result = _run(
        tmp_path,
        "Date,Amount,Text\n2024-01-01,999999999999999,a\n2024-01-01,12.5,b\n",
        currency={"expected": "EUR", "decimals": 4},
    )
    assert [(i.source_row, i.reason_code) for i in result.issues] == [(2, "amount_too_large")]
    assert result.payments.rows["amount_minor"].tolist() == [-125000]


def test_templates_are_checked_when_the_config_loads() -> None:
    for template in ("{payee}", "{reference:d}", "Ref {reference"):
        with pytest.raises(ConfigError, match="template"):
            parse_config({"profiles": {"p": {**BASE, "description": template}}})
    with pytest.raises(ConfigError, match="quotechar"):
        parse_config({"profiles": {"p": {**BASE, "quotechar": ""}}})


def _sheet(path: Path, rows: list[list[Any]], *, hidden: tuple[int, ...] = (), errors: tuple[str, ...] = ()) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    for r in rows:
        ws.append(r)
    for ref in errors:
        ws[ref].data_type = "e"  # an error cell as Excel stores it (#N/A, #REF!)
    for n in hidden:
        ws.row_dimensions[n].hidden = True
    wb.save(path)
    return path


XLSX_PROFILE: dict[str, Any] = {
    "header": {"signature": ["Date", "Amount"]},
    "columns": {"date": "Date", "amount": "Amount", "reference": "Text"},
    "date_formats": ["%Y-%m-%d"],
}


def test_excel_error_cells_are_rejected_with_their_text_not_read_as_blank(tmp_path: Path) -> None:
    path = _sheet(
        tmp_path / "e.xlsx",
        [["Date", "Amount", "Text"], ["2024-01-02", 5.5, "a"], ["2024-01-03", "#N/A", "b"], ["#REF!", 3, "c"]],
        errors=("B3", "A4"),
    )
    config = parse_config({"profiles": {"x": XLSX_PROFILE}})
    result = validate_file(path, config, "x")
    got = {(i.source_row, i.reason_code, i.value) for i in result.issues}
    assert got == {(3, "amount_format", "#N/A"), (4, "date_format", "#REF!")}
    assert result.payments.rows["amount_minor"].tolist() == [-550]


def test_a_hidden_row_below_the_data_is_harmless(tmp_path: Path) -> None:
    path = _sheet(tmp_path / "h.xlsx", [["Date", "Amount", "Text"], ["2024-01-02", 5, "a"]], hidden=(9,))
    result = validate_file(path, parse_config({"profiles": {"x": XLSX_PROFILE}}), "x")
    assert (result.rows_read, result.rows_valid) == (2, 1)


def test_typed_dates_are_rendered_with_a_four_digit_year_when_the_profile_has_one(tmp_path: Path) -> None:
    path = _sheet(tmp_path / "d.xlsx", [["Date", "Amount", "Text"], [dt.date(1960, 1, 1), 5, "a"]])
    # 1960 is before the default date_earliest (1990-01-01); this profile allows it.
    profile = {**XLSX_PROFILE, "date_formats": ["%d.%m.%y", "%d.%m.%Y"], "date_earliest": "1900-01-01"}
    result = validate_file(path, parse_config({"profiles": {"x": profile}}), "x")
    assert [d.date() for d in result.payments.rows["postingDate"]] == [dt.date(1960, 1, 1)]


def test_a_bom_in_an_excel_header_cell_does_not_hide_the_column(tmp_path: Path) -> None:
    path = _sheet(tmp_path / "b.xlsx", [["\ufeffDate", "Amount", "Text"], ["2024-01-02", 5, "a"]])
    result = validate_file(path, parse_config({"profiles": {"x": XLSX_PROFILE}}), "x")
    assert result.rows_valid == 1


def _config_file(tmp_path: Path, profile: dict[str, Any], **defaults: Any) -> Path:
    import yaml

    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "defaults": defaults, "profiles": {"p": profile}}), "utf-8")
    return path


def test_control_characters_and_markup_survive_the_summary_and_the_errors_workbook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    src = tmp_path / "stmt [final].csv"
    src.write_text("Date,Amount,Text\n2024-01-01,bad,esc\x1bape [eur]\n2024-01-02,1.00,ok\n", encoding="utf-8")
    config = _config_file(tmp_path, BASE)
    out = CliRunner().invoke(main, ["validate", "--config", str(config), str(src)])
    assert out.exit_code == 1, out.output
    assert "stmt [final].csv" in out.output
    book = openpyxl.load_workbook(tmp_path / "stmt [final].errors.xlsx")
    texts = [c.value for c in book.worksheets[0][2]]
    assert "esc\\x1bape [eur]" in texts


def test_errors_workbook_keeps_the_header_row_so_a_row_numbered_profile_reads_it_back(tmp_path: Path) -> None:
    src = tmp_path / "bank.csv"
    src.write_text("Bank export\nAccount 1\nDate,Amount,Text\n2024-01-01,1.234,x\n2024-01-02,2.00,y\n", "utf-8")
    profile = {**BASE, "header": {"row": 3}}
    config = _config_file(tmp_path, profile)
    book = tmp_path / "errors.xlsx"
    first = CliRunner().invoke(
        main, ["validate", "--config", str(config), "--profile", "p", "--errors-out", str(book), str(src)]
    )
    assert first.exit_code == 1, first.output
    wb = openpyxl.load_workbook(book)
    ws = wb.worksheets[0]
    assert [c.value for c in ws[3]][:3] == ["Date", "Amount", "Text"]
    ws.cell(row=4, column=2).value = "1234.00"
    fixed = tmp_path / "fixed.xlsx"
    wb.save(fixed)
    again = CliRunner().invoke(main, ["validate", "--config", str(config), "--json", "--profile", "p", str(fixed)])
    assert again.exit_code == 0, again.output
    assert '"rows_valid": 1' in again.output


def test_errors_workbook_switched_off_in_the_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    src = tmp_path / "in.csv"
    src.write_text("Date,Amount,Text\n2024-01-01,bad,x\n", encoding="utf-8")
    config = _config_file(tmp_path, BASE, errors_workbook=False)
    out = CliRunner().invoke(main, ["validate", "--config", str(config), str(src)])
    assert out.exit_code == 1
    assert not (tmp_path / "in.errors.xlsx").exists()


def test_negative_start_line_is_a_usage_error(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("Date,Amount,Text\n2024-01-01,1.00,x\n", encoding="utf-8")
    config = _config_file(tmp_path, BASE)
    out = CliRunner().invoke(main, ["validate", "--config", str(config), "--start-line", "-20000", str(src)])
    assert out.exit_code == 2


def test_payment_schema_refuses_two_rows_with_one_key(tmp_path: Path) -> None:
    import pandas as pd
    import pandera.pandas as pa

    from schemas.payment import CustomerPayment

    result = _run(tmp_path, "Date,Amount,Text\n2024-01-01,1.00,a\n2024-01-02,2.00,b\n")
    rows = result.payments.rows.copy()
    rows["key"] = pd.Series(["same", "same"], dtype="str")
    with pytest.raises(pa.errors.SchemaErrors) as info:
        CustomerPayment.validate(rows, lazy=True)
    failed = info.value.failure_cases
    assert set(failed.loc[failed["column"] == "key", "index"]) == {0, 1}
