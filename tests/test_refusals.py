"""Issue 10's silent misreads of amounts, indicators and dates, each now refused: one regression per
misread, through ``validate_file`` or the real CLI, with expectations worked out from the file."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.config import parse_config
from pipeline.errors import ConfigError
from pipeline.validate import FileResult, validate_file

ROOT = Path(__file__).resolve().parents[1]
REGRESSIONS = ROOT.parent / "shared" / "regressions" / "robustness"
THOUSANDS_DOT = (
    "Date,Payer,Amount,Currency,Reference,Customer No,Transaction ID\n"
    "2026-03-02,Northwind,2.500,EUR,INV-5001,C20000,TX-A\n"
    "2026-03-02,Northwind,2.345,EUR,INV-5001,C20000,TX-B\n"
    "2026-03-02,Northwind,15.000,EUR,INV-5001,C20000,TX-C\n"
)
BASE: dict[str, Any] = {
    "delimiter": ",",
    "header": {"signature": ["Date", "Amount", "Text"]},
    "columns": {"date": "Date", "amount": "Amount", "reference": "Text"},
    "date_formats": ["%Y-%m-%d"],
}


def _run(tmp_path: Path, text: str, **profile: Any) -> FileResult:
    path = tmp_path / "in.csv"
    path.write_text(text, encoding="utf-8")
    return validate_file(path, parse_config({"profiles": {"p": {**BASE, **profile}}}), "p")


def _issues(result: FileResult) -> list[tuple[int, str]]:
    return [(i.source_row, i.reason_code) for i in result.issues]


# ---------------------------------------------------------------------------------------------
# Amounts


def _thousands_dot_files(tmp_path: Path) -> list[Path]:
    copy = tmp_path / "thousands-dot.csv"
    copy.write_text(THOUSANDS_DOT, encoding="utf-8")
    shared = REGRESSIONS / "thousands-dot.csv"
    return [copy, shared] if shared.is_file() else [copy]


def test_thousands_dot_reproducer_through_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``2.500`` was posted as 2.50 and ``15.000`` as 15.00 (demo-payments: decimal '.', EUR):
    now rows 2 and 4 are refused like row 3's ``2.345``; nothing would be created; exit 1."""
    monkeypatch.chdir(tmp_path)
    for path in _thousands_dot_files(tmp_path):
        args = ["validate", "--config", str(ROOT / "config.yaml"), "--show-payments", "--json", str(path)]
        out = CliRunner().invoke(main, args, catch_exceptions=False)
        assert out.exit_code == 1, out.output
        summary = json.loads(out.stdout)
        got = summary["files"][0] if "files" in summary else summary
        assert (got["rows_read"], got["rows_valid"], got["rows_rejected"], got["rows_skipped"]) == (4, 0, 3, 1)
        assert got["amount_valid"] == "0.00"
        assert [(i["source_row"], i["value"], i["reason_code"]) for i in got["issues"]] == [
            (2, "2.500", "amount_decimals"),
            (3, "2.345", "amount_decimals"),
            (4, "15.000", "amount_decimals"),
        ]
        assert all("may be a whole number with '.' between thousands" in i["message"] for i in got["issues"])
        assert "expected at most 2 decimals for EUR" in got["issues"][2]["message"]


@pytest.mark.parametrize(
    ("amount", "marks", "expected"),
    [
        ("1,000", {"decimal_mark": ","}, "amount_decimals"),  # was 1.00
        ("1.000", {"decimal_mark": ".", "thousands_mark": ","}, "amount_decimals"),  # was 1.00
        ("1.000", {"decimal_mark": ",", "thousands_mark": "."}, 100000),  # one thousand
        ("1,000", {"decimal_mark": ".", "thousands_mark": ","}, 100000),  # one thousand
    ],
)
def test_a_round_thousand_is_refused_or_read_as_the_marks_say(
    tmp_path: Path, amount: str, marks: dict[str, str], expected: str | int
) -> None:
    result = _run(tmp_path, f'Date,Amount,Text\n2026-03-02,"{amount}",x\n', amount=marks)
    if isinstance(expected, str):
        assert _issues(result) == [(2, expected)]
        assert result.rows_valid == 0
    else:
        assert _issues(result) == []
        assert result.payments.rows["amount_minor"].tolist() == [-expected]


def test_tab_or_line_break_inside_a_space_grouped_number_is_refused(tmp_path: Path) -> None:
    """With ``thousands_mark: " "`` a TAB or a line break inside a quoted number counted as the mark
    (``1<TAB>000,00`` was 1000.00). Rows: 2 TAB, 3 line break (one record on lines 3-4, so the
    next row is 5), 5 space, 6 no-break space, 7 narrow no-break space, 8 thin space (U+2009)."""
    text = (
        "Date;Amount;Text\n"
        '2026-03-02;"1\t000,00";tab\n'
        '2026-03-02;"1\n000,00";newline\n'
        '2026-03-02;"1 000,00";space\n'
        '2026-03-02;"1\u00a0000,00";nbsp\n'
        '2026-03-02;"1\u202f000,00";nnbsp\n'
        '2026-03-02;"1\u2009000,00";thin\n'
    )
    result = _run(tmp_path, text, delimiter=";", amount={"decimal_mark": ",", "thousands_mark": " "})
    assert _issues(result) == [(2, "amount_whitespace"), (3, "amount_whitespace"), (8, "amount_whitespace")]
    assert result.payments.rows["amount_minor"].tolist() == [-100000, -100000, -100000]


# ---------------------------------------------------------------------------------------------
# Indicators

INDICATOR: dict[str, Any] = {
    "header": {"signature": ["Date", "Amount", "Text", "CD"]},
    "columns": {"date": "Date", "amount": "Amount", "reference": "Text", "indicator": "CD"},
}
CARD = (
    "Date,Amount,Text,CD\n"
    '2019-12-02,"1,100.00",PAYMENT RECEIVED,Cr\n'  # the bank's spelling, not the profile's
    "2019-12-03,25.00,refund,CR\n"
    '2019-12-04,"1,183.23",charge,\n'
)


def test_an_unlisted_indicator_is_refused_not_read_as_a_debit(tmp_path: Path) -> None:
    """The 1,100.00 receipt marked ``Cr`` vanished as "not a receipt" when the profile listed only
    ``CR``. Now row 2 is refused, naming the value and the lists; row 4's empty cell too."""
    amount = {"layout": "indicator", "thousands_mark": ",", "credit_values": ["CR"]}
    result = _run(tmp_path, CARD, **INDICATOR, amount=amount)
    assert _issues(result) == [(2, "indicator_unknown"), (4, "indicator_unknown")]
    message = result.issues[0].message
    assert "'Cr'" in message and "['CR']" in message
    assert result.payments.rows["amount_minor"].tolist() == [-2500]


def test_the_profile_may_say_what_unlisted_values_mean(tmp_path: Path) -> None:
    listed = {"layout": "indicator", "thousands_mark": ",", "credit_values": ["CR"], "debit_values": [""]}
    result = _run(tmp_path, CARD, **INDICATOR, amount=listed)
    assert _issues(result) == [(2, "indicator_unknown")]  # the empty cell is a listed debit now
    as_debit = _run(tmp_path, CARD, **INDICATOR, amount={**listed, "unlisted_indicator": "debit"})
    assert _issues(as_debit) == []
    assert as_debit.skips.set_index("source_row")["reason_code"].to_dict() == {
        1: "header",
        2: "not_receipt",
        4: "not_receipt",
    }
    as_credit = _run(tmp_path, CARD, **INDICATOR, amount={**listed, "unlisted_indicator": "credit"})
    assert as_credit.payments.rows["amount_minor"].tolist() == [-110000, -2500]


def test_a_value_listed_as_credit_and_as_debit_is_a_config_error() -> None:
    profile = {**BASE, **INDICATOR, "amount": {"layout": "indicator", "credit_values": ["C"], "debit_values": ["C"]}}
    with pytest.raises(ConfigError, match="both as credit and as debit"):
        parse_config({"profiles": {"p": profile}})


# ---------------------------------------------------------------------------------------------
# Dates


def test_a_two_digit_year_is_placed_within_the_window_or_refused(tmp_path: Path) -> None:
    """``01.03.68`` was 2068 (Python's pivot). Run date: today, so the cases hold from 2019 to 2047:
    68 is 1968 or 2068, neither within 50 years back or 20 ahead; 99 is 1999; 24 is 2024."""
    result = _run(
        tmp_path,
        "Date,Amount,Text\n01.03.68,5.00,a\n01.03.99,6.00,b\n01.03.24,7.00,c\n",
        date_formats=["%d.%m.%y"],
    )
    assert _issues(result) == [(2, "date_two_digit_year")]
    assert "four digits" in result.issues[0].message
    assert [d.date() for d in result.payments.rows["postingDate"]] == [dt.date(1999, 3, 1), dt.date(2024, 3, 1)]


def test_typed_excel_dates_under_a_two_digit_year_profile_never_move_a_century(tmp_path: Path) -> None:
    """A typed date is rendered with the profile's format; with only ``%y`` that text read back with
    Python's pivot moved 1960 to 2060. Now 1960 ('60', outside the window) is refused, 1999 and
    2024 come back as they were typed (rows 2-4)."""
    import openpyxl

    path = tmp_path / "d.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    for row in [["Date", "Amount", "Text"], [dt.date(1960, 1, 4), 5, "a"], [dt.date(1999, 3, 1), 6, "b"]]:
        ws.append(row)
    ws.append([dt.date(2024, 3, 1), 7, "c"])
    wb.save(path)
    profile = {
        "header": {"signature": ["Date", "Amount"]},
        "columns": {"date": "Date", "amount": "Amount", "reference": "Text"},
        "date_formats": ["%d.%m.%y"],
    }
    result = validate_file(path, parse_config({"profiles": {"x": profile}}), "x")
    assert _issues(result) == [(2, "date_two_digit_year")]
    assert [d.date() for d in result.payments.rows["postingDate"]] == [dt.date(1999, 3, 1), dt.date(2024, 3, 1)]


def test_dates_before_the_floor_or_far_ahead_are_refused(tmp_path: Path) -> None:
    today = dt.date.today()
    ahead = (today + dt.timedelta(days=367)).isoformat()
    near = (today + dt.timedelta(days=366)).isoformat()
    text = f"Date,Amount,Text\n1989-12-31,5.00,a\n1990-01-01,6.00,b\n{ahead},7.00,c\n{near},8.00,d\n"
    result = _run(tmp_path, text)
    assert _issues(result) == [(2, "date_too_early"), (4, "date_too_late")]
    assert "1990-01-01" in result.issues[0].message
    assert result.payments.rows["amount_minor"].tolist() == [-600, -800]
    wider = _run(tmp_path, text, date_earliest="1980-01-01", date_days_ahead=400)
    assert _issues(wider) == []


def test_a_swapped_date_format_is_exit_2_through_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """13 and 25 are no month: under %m/%d/%Y the file's dates exist only swapped."""
    import yaml

    monkeypatch.chdir(tmp_path)
    path = tmp_path / "s.csv"
    path.write_text("Date,Amount,Text\n13/03/2026,5.00,a\n02/03/2026,6.00,b\n25/03/2026,7.00,c\n", "utf-8")
    config = tmp_path / "config.yaml"
    profile = {**BASE, "date_formats": ["%m/%d/%Y"]}
    config.write_text(yaml.safe_dump({"version": 1, "profiles": {"p": profile}}), "utf-8")
    out = CliRunner().invoke(main, ["validate", "--config", str(config), str(path)])
    assert out.exit_code == 2, out.output
    assert "'%d/%m/%Y'" in out.output and "nothing was imported" in out.output
