"""The run report: report-<run id>.xlsx read back with openpyxl, report.json parsed exactly, the console summary.

Expected cells are written out from the input lines by hand: amounts in cents -> the number or
the exact text a person sees.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

from pipeline.money import exact_float
from pipeline.reconcile import account, compare_with_bc
from pipeline.report import RUN_SHEETS, render_console_summary, write_run_report
from pipeline.report_xlsx import HEADERS, plain_words
from pipeline.runner import in_report_order

FORMULA_LIKE = ["=SUM(A1)", "+49 171 2345678", "-x", "@cmd", '=HYPERLINK("http://x")', "#N/A"]


def _line(source_row: int, state: str, amount_minor: int | None, currency: str = "EUR", **more: Any) -> dict[str, Any]:
    return {
        "source_file": "statement.csv",
        "source_row": source_row,
        "state": state,
        "amount_minor": amount_minor,
        "currency": currency,
        **more,
    }


def _frame(*rows: dict[str, Any]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows))
    for name in ("amount_minor", "lineNumber"):
        if name in frame.columns:
            frame[name] = pd.array([r.get(name) for r in rows], dtype="Int64")
    return frame


LINES = _frame(
    _line(
        2,
        "posted",
        -12000,
        lineNumber=10000,
        key="bank:tx:1",
        customerNumber="C10000",
        appliesToInvoiceNumber="RE-2026-0001",
        postingDate="2026-03-02",
        documentNumber="PAY-1",
        description=FORMULA_LIKE[0],
        bc_id="id-1",
        journal_code="PAYIMP",
    ),
    _line(3, "posted", -150000, "JPY", lineNumber=20000, key="bank:tx:2", description=FORMULA_LIKE[1]),
    _line(4, "posted", -1234567890123456789, lineNumber=30000, key="bank:tx:3", description=FORMULA_LIKE[2]),
    _line(5, "already_posted", -1, lineNumber=40000, key="bank:tx:4", description=FORMULA_LIKE[3], flags="x"),
    _line(6, "skipped", None, "", reason_code="footer", message="footer line"),
    _line(7, "rejected", None, reason_code="invalid_amount", message="Amount: '1.2.3' is not a number"),
    _line(8, "rejected", -1234, "KWD", reason_code="currency_mismatch", message="=1+1", description=FORMULA_LIKE[4]),
    _line(
        9,
        "needs_review",
        -13000,
        reason_code="over_payment",
        message="pays 130.00 EUR, invoice RE-2026-0002 is open for 120.00 EUR",
        candidates="RE-2026-0002 (C10000, open 120.00 EUR)",
        customerNumber="C10000",
        description=FORMULA_LIKE[5],
        key="bank:tx:9",
    ),
)
PLACES = {"EUR": 2, "JPY": 0, "KWD": 3, "": 2}
SUMMARY: dict[str, Any] = {
    "run_id": "20260302-101500-ab12",
    "target": "sandbox",
    "started": "2026-03-02T10:15:00Z",
    "finished": "2026-03-02T10:15:09Z",
    "files": [{"file": "statement.csv", "profile": "bank-a", "rows_read": 8, "sha256": "f" * 64}],
    "rows_read": 8,
    "posted": 3,
    "already_posted": 1,
    "skipped": 1,
    "rejected": 2,
    "needs_review": 1,
    "amount_posted": "12345678901234687.89",  # receipts positive (RunSummary)
    "currency": "EUR",
    "journal": {"code": "PAYIMP", "id": "0f0e-guid", "posted": False},
    "report": {"xlsx": "runs/r1/report.xlsx", "json": "runs/r1/report.json", "errors": ["runs/r1/errors.xlsx"]},
    "bc_requests": 7,
    "dry_run": False,
    "discrepancies": 1,
}
DISCREPANCIES = compare_with_bc(
    pd.DataFrame(
        {
            "lineNumber": [10000],
            "key": ["bank:tx:1"],
            "customerNumber": ["C10000"],
            "appliesToInvoiceNumber": [""],
            "amount_minor": [-12000],
            "postingDate": ["2026-03-02"],
            "documentNumber": ["PAY-1"],
            "externalDocumentNumber": [""],
        }
    ),
    [],
    2,
)


def _rows(ws: Any) -> list[list[Any]]:
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    return [r[: max((i + 1 for i, v in enumerate(r) if v is not None), default=0)] for r in rows]


@pytest.fixture
def report(tmp_path: Path) -> dict[str, Path]:
    return write_run_report(tmp_path / "run", SUMMARY, LINES, DISCREPANCIES, decimals=PLACES)


XLSX = "report-20260302-101500-ab12.xlsx"


def _table(ws: Any) -> list[dict[str, Any]]:
    """A sheet as one dict per row, keyed by its header."""
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    header = rows[0]
    return [dict(zip(header, r, strict=False)) for r in rows[1:] if any(v is not None for v in r)]


def test_files_sheets_filters_frozen_headers_and_print_setup(report: dict[str, Path], tmp_path: Path) -> None:
    assert report == {"xlsx": tmp_path / "run" / XLSX, "json": tmp_path / "run" / "report.json"}
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == sorted(["report.json", XLSX])
    wb = openpyxl.load_workbook(report["xlsx"])
    assert wb.sheetnames == ["Summary", "Payments", "Rejected", "Needs review", "Discrepancies"] == list(RUN_SHEETS)
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2", ws.title
        assert all(c.font.b for c in ws[1] if c.value is not None), ws.title
        assert ws.page_setup.orientation == "landscape", ws.title
        # one page wide (1 is OOXML's default, so XlsxWriter leaves it out)
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth in (None, 1), ws.title
    for title, header in HEADERS.items():
        ws = wb[title]
        assert [c.value for c in ws[1]] == list(header), title
        assert ws.auto_filter.ref is not None and ws.auto_filter.ref.startswith("A1:"), title
    assert wb["Summary"].page_setup.fitToHeight in (None, 1)  # the summary prints on one page
    assert wb["Payments"].page_setup.fitToHeight == 0  # a table: as many pages down as it needs
    assert len(wb["Summary"]._charts) == 1


def test_payments_sheet_speaks_bc_column_words_with_real_dates_and_positive_receipts(
    report: dict[str, Path],
) -> None:
    body = _table(openpyxl.load_workbook(report["xlsx"])["Payments"])
    assert [(r["Result"], r["Row"], r["Line No."]) for r in body] == [
        ("added to journal", 2, 10000),
        ("added to journal", 3, 20000),
        ("added to journal", 4, 30000),
        ("already imported", 5, 40000),
    ]
    first = body[0]
    assert first["Customer No."] == "C10000" and first["Applies-to Invoice No."] == "RE-2026-0001"
    assert first["Posting Date"] == dt.datetime(2026, 3, 2)  # an Excel date, not text
    assert first["Document No."] == "PAY-1" and first["BC line id"] == "id-1" and first["Journal"] == "PAYIMP"
    assert first["Payment key"] == "bank:tx:1"
    assert (first["Received"], first["Amount (BC sign)"]) == (120, -120)


def test_amounts_are_exact_numbers_with_the_currency_format_or_exact_text(report: dict[str, Path]) -> None:
    wb = openpyxl.load_workbook(report["xlsx"])
    ws = wb["Payments"]
    at = HEADERS["Payments"].index("Received") + 1
    cells = [ws.cell(row=r, column=at) for r in range(2, 6)]
    assert [(c.value, c.data_type, c.number_format) for c in cells] == [
        (120, "n", "#,##0.00"),
        (150000, "n", "#,##0"),  # JPY: no decimals
        ("12345678901234567.89", "s", "General"),  # 19 significant digits: a float would change it
        (0.01, "n", "#,##0.00"),
    ]
    date = ws.cell(row=2, column=HEADERS["Payments"].index("Posting Date") + 1)
    assert date.is_date and date.number_format == "yyyy-mm-dd"
    rejected = wb["Rejected"]
    at = HEADERS["Rejected"].index("Received") + 1
    assert rejected.cell(row=2, column=at).value is None  # no amount: an empty cell, not 0
    kwd = rejected.cell(row=3, column=at)
    assert (kwd.value, kwd.number_format) == (1.234, "#,##0.000")


def test_formula_like_text_is_stored_as_text(report: dict[str, Path]) -> None:
    wb = openpyxl.load_workbook(report["xlsx"])
    seen = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.value in FORMULA_LIKE or c.value == "=1+1":
                    assert c.data_type == "s", (ws.title, c.coordinate, c.value)
                    if str(c.value)[0] in "=+-@":
                        assert c.quotePrefix, (ws.title, c.coordinate)
                    seen.append(c.value)
    assert sorted(seen) == sorted([*FORMULA_LIKE, "=1+1"])


def test_rejected_and_needs_review_sheets_say_why_and_what_to_do(report: dict[str, Path]) -> None:
    wb = openpyxl.load_workbook(report["xlsx"])
    rejected = _table(wb["Rejected"])
    assert [(r["Row"], r["Reason code"], r["Details"]) for r in rejected] == [
        (7, "invalid_amount", "Amount: '1.2.3' is not a number"),
        (8, "currency_mismatch", "=1+1"),
    ]
    assert rejected[1]["Why"] == "currency differs from the profile's expected currency"
    (only,) = _table(wb["Needs review"])
    assert only["Row"] == 9 and only["Reason code"] == "over_payment"
    assert only["Why it waits"] == "the payment is more than the invoice's remaining amount"
    assert only["What to do"].startswith("More than is open: apply to another invoice or On account.")
    assert only["Details"] == "pays 130.00 EUR, invoice RE-2026-0002 is open for 120.00 EUR"
    assert only["Candidates"] == "RE-2026-0002 (C10000, open 120.00 EUR)"
    assert only["Received"] == 130


def test_discrepancies_sheet(report: dict[str, Path]) -> None:
    (only,) = _table(openpyxl.load_workbook(report["xlsx"])["Discrepancies"])
    assert (only["Kind"], only["Line No."], only["Payment key"]) == ("missing_in_bc", 10000, "bank:tx:1")
    assert only["What differs"] == "a planned line Business Central does not have"


def test_messages_lose_strftime_patterns_and_code_lengths() -> None:
    assert plain_words("Date: '03/25/2026': expected a date like '%d.%m.%Y'") == (
        "Date: '03/25/2026': expected a date like 'DD.MM.YYYY'"
    )
    assert plain_words("it is 25 characters; Business Central's Code[20] fields allow 20") == (
        "it is 25 characters; Business Central allows at most 20 characters"
    )


def test_summary_sheet_shows_run_files_states_received_totals_and_the_identity(report: dict[str, Path]) -> None:
    rows = _rows(openpyxl.load_workbook(report["xlsx"])["Summary"])
    assert rows[0] == ["Item", "Value", "Received", "Currency"]
    by_item: dict[str, list[list[Any]]] = {}
    for r in rows[1:]:
        if r:
            by_item.setdefault("" if r[0] is None else str(r[0]), []).append(r[1:])
    assert by_item["Run"] == [["20260302-101500-ab12"]]
    assert by_item["Started (UTC)"] == [[dt.datetime(2026, 3, 2, 10, 15)]]
    assert by_item["Finished (UTC)"] == [[dt.datetime(2026, 3, 2, 10, 15, 9)]]
    assert by_item["Journal"] == [["PAYIMP"]]
    assert by_item["Journal posted in BC"] == [["no, it waits in BC"]]
    assert by_item["File"] == [["statement.csv"]]
    # added: EUR 120.00 + 12345678901234567.89 = 12345678901234687.89 (text: too many digits); JPY 150000
    assert by_item["added to journal"] == [[3, "12345678901234687.89", "EUR"]]
    assert [None, 150000, "JPY"] in by_item[""]  # the second currency of the same state: only its total
    assert by_item["already imported"] == [[1, 0.01, "EUR"]]
    assert by_item["skipped"] == [[1]]
    assert by_item["rejected"] == [[2, 1.234, "KWD"]]
    assert by_item["needs review"] == [[1, 130, "EUR"]]
    assert by_item["Lines read"] == [[8]]
    assert by_item["Every line accounted for"] == [
        ["lines read 8 = added to journal 3 + already imported 1 + skipped 1 + rejected 2 + needs review 1", "holds"]
    ]
    assert by_item["BC requests"] == [[7]]
    assert by_item["Discrepancies with BC"] == [[1]]
    assert by_item["Errors workbook"] == [["runs/r1/errors.xlsx"]]


def test_summary_sheet_says_when_the_identity_does_not_hold(tmp_path: Path) -> None:
    paths = write_run_report(tmp_path, {**SUMMARY, "rows_read": 9}, LINES, DISCREPANCIES, decimals=PLACES)
    rows = _rows(openpyxl.load_workbook(paths["xlsx"])["Summary"])
    (identity,) = [r for r in rows if r and r[0] == "Every line accounted for"]
    assert identity[2] == "DOES NOT HOLD"


def test_json_report_has_exact_money_as_strings_and_nulls_for_missing_values(report: dict[str, Path]) -> None:
    doc = json.loads(report["json"].read_text(encoding="utf-8"), parse_float=Decimal)
    assert set(doc) == {"summary", "lines", "discrepancies"}
    assert doc["summary"]["run_id"] == "20260302-101500-ab12"
    assert doc["summary"]["totals"]["posted"] == {"EUR": "-12345678901234687.89", "JPY": "-150000"}
    assert doc["summary"]["totals"]["rejected"] == {"KWD": "-1.234"}
    assert doc["summary"]["identity"].startswith("lines read 8 = posted 3")
    lines = doc["lines"]
    assert [(r["source_row"], r["state"], r["amount"]) for r in lines] == [
        (2, "posted", "-120.00"),
        (3, "posted", "-150000"),
        (4, "posted", "-12345678901234567.89"),
        (5, "already_posted", "-0.01"),
        (6, "skipped", None),
        (7, "rejected", None),
        (8, "rejected", "-1.234"),
        (9, "needs_review", "-130.00"),
    ]
    assert "amount_minor" not in lines[0]
    assert lines[0]["lineNumber"] == 10000 and lines[4]["lineNumber"] is None
    assert lines[0]["description"] == "=SUM(A1)"
    assert lines[7]["candidates"] == "RE-2026-0002 (C10000, open 120.00 EUR)"
    (d,) = doc["discrepancies"]
    assert (d["kind"], d["lineNumber"], d["key"]) == ("missing_in_bc", 10000, "bank:tx:1")


TRICKY_TEXTS = ('say "paid"', "C:\\bank\\file", "two\nlines\tand tab", "bell\x07 and \x1f", "Zürich 東京 ✓", "")


@pytest.mark.parametrize("text", TRICKY_TEXTS)
def test_json_lines_read_back_as_the_texts_written(tmp_path: Path, text: str) -> None:
    """Quotes, backslashes, line breaks and control characters survive report.json exactly."""
    lines = _frame(_line(2, "posted", -120, description=text, message=text))
    paths = write_run_report(tmp_path, SUMMARY, lines, DISCREPANCIES, decimals=PLACES)
    (line,) = json.loads(paths["json"].read_text(encoding="utf-8"))["lines"]
    assert (line["description"], line["message"], line["amount"]) == (text, text, "-1.20")


def test_json_summary_keeps_totals_given_by_the_caller(tmp_path: Path) -> None:
    given = {"posted": {"EUR": "1.00"}}
    paths = write_run_report(tmp_path, {**SUMMARY, "totals": given}, LINES, DISCREPANCIES, decimals=PLACES)
    assert json.loads(paths["json"].read_text(encoding="utf-8"))["summary"]["totals"] == given


def test_posting_date_as_datetimes_is_written_as_iso_text(tmp_path: Path) -> None:
    lines = LINES.iloc[:1].copy()
    lines["postingDate"] = pd.to_datetime(["2026-03-02"]).astype("datetime64[s]")
    paths = write_run_report(tmp_path, SUMMARY, lines, DISCREPANCIES.iloc[:0], decimals=PLACES)
    assert json.loads(paths["json"].read_text(encoding="utf-8"))["lines"][0]["postingDate"] == "2026-03-02"
    ws = openpyxl.load_workbook(paths["xlsx"])["Payments"]
    assert ws.cell(row=2, column=HEADERS["Payments"].index("Posting Date") + 1).value == dt.datetime(2026, 3, 2)


def test_empty_frames_give_header_only_sheets(tmp_path: Path) -> None:
    summary = {"run_id": "r0", "target": "sandbox", "rows_read": 0, "files": []}
    paths = write_run_report(tmp_path, summary, pd.DataFrame(), pd.DataFrame())
    wb = openpyxl.load_workbook(paths["xlsx"])
    for title, header in HEADERS.items():
        assert _rows(wb[title]) == [list(header)], title
    doc = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert doc["lines"] == [] and doc["discrepancies"] == []
    assert doc["summary"]["identity"] == (
        "lines read 0 = posted 0 + already posted 0 + skipped 0 + rejected 0 + needs review 0"
    )


def test_rewrite_replaces_the_report_and_a_failed_write_leaves_the_old_one(tmp_path: Path) -> None:
    first = write_run_report(tmp_path, SUMMARY, LINES, DISCREPANCIES, decimals=PLACES)
    before = first["json"].read_bytes()
    with pytest.raises(TypeError, match="not JSON serialisable"):
        write_run_report(tmp_path, {**SUMMARY, "oops": object()}, LINES, DISCREPANCIES, decimals=PLACES)
    assert first["json"].read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["report.json", XLSX])  # no temp files left
    again = write_run_report(tmp_path, {**SUMMARY, "run_id": "second"}, LINES, DISCREPANCIES, decimals=PLACES)
    assert json.loads(again["json"].read_text(encoding="utf-8"))["summary"]["run_id"] == "second"


def test_unknown_currency_places_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'KWD'"):
        write_run_report(tmp_path, SUMMARY, LINES, DISCREPANCIES, decimals={"EUR": 2, "JPY": 0, "": 2})


@pytest.mark.parametrize(
    ("minor", "decimals", "value"),
    [
        (-12000, 2, -120.0),
        (1, 2, 0.01),
        (10, 1, 1.0),
        (-1234, 3, -1.234),
        (999_999_999_999_999, 2, 9_999_999_999_999.99),  # 15 significant digits
        (10**20, 2, 1e18),  # one significant digit
        (1_000_000_000_000_001, 2, None),  # 16 significant digits
        (-1234567890123456789, 2, None),
    ],
)
def test_exact_float(minor: int, decimals: int, value: float | None) -> None:
    assert exact_float(minor, decimals) == value


# --- console ---------------------------------------------------------------------------------------------


def test_console_summary_is_one_plain_screen() -> None:
    text = render_console_summary(SUMMARY)
    lines = text.splitlines()
    assert len(lines) <= 20
    assert "\x1b" not in text
    assert lines[0] == "Run 20260302-101500-ab12 -> sandbox"
    assert "statement.csv" in text and "bank-a" in text
    assert "lines read 8 = added to journal 3 + already imported 1 + skipped 1 + rejected 2 + needs review 1" in lines
    added = next(ln for ln in lines if ln.strip().startswith("added to journal"))
    assert re.search(r"added to journal\s+3\s+12,345,678,901,234,687\.89 EUR$", added)  # received: positive
    assert any(re.fullmatch(r"\s+needs review\s+1", ln) for ln in lines)
    assert (
        "Journal PAYIMP (id 0f0e-guid): lines added, not posted yet (post it in BC, or run with --post-journal)"
        in lines
    )
    assert "posted" not in text.replace("not posted yet", "").replace("--post-journal", "")
    assert "BC requests: 7" in text and "Discrepancies with BC: 1" in text
    assert "runs/r1/report.xlsx" in text and "runs/r1/report.json" in text and "runs/r1/errors.xlsx" in text
    assert "DOES NOT ADD UP" not in text


def test_console_summary_stays_short_with_many_files_and_flags_a_gap() -> None:
    files = [{"file": f"s{i}.csv", "profile": "p", "rows_read": 1} for i in range(40)]
    errors = [f"e{i}.xlsx" for i in range(10)]
    summary = {
        **SUMMARY,
        "files": files,
        "report": {**SUMMARY["report"], "errors": errors},
        "dry_run": True,
        "rows_read": 99,
    }
    text = render_console_summary(summary)
    assert len(text.splitlines()) <= 20
    assert "dry run" in text.splitlines()[0]
    assert "... and 35 more files" in text
    assert "DOES NOT ADD UP" in text


def test_console_summary_shows_totals_per_state_when_given() -> None:
    totals = {"posted": {"EUR": "-1234.50", "USD": "-7.00"}, "needs_review": {"EUR": "-130.00"}}
    text = render_console_summary({**SUMMARY, "totals": totals})
    assert re.search(r"added to journal\s+3\s+1,234.50 EUR  7.00 USD", text)
    assert re.search(r"needs review\s+1\s+130.00 EUR", text)


def test_console_summary_says_posted_only_for_a_posted_journal_and_would_add_in_a_dry_run() -> None:
    posted = render_console_summary({**SUMMARY, "journal": {"code": "PAYIMP", "id": "j", "posted": True}})
    assert "lines read 8 = posted in BC 3 + already imported 1" in posted
    assert "Journal PAYIMP (id j): posted in BC" in posted
    dry = render_console_summary({**SUMMARY, "dry_run": True, "journal": {"code": None, "id": None, "posted": False}})
    assert "lines read 8 = would add 3 + already imported 1" in dry
    assert "posted" not in dry


def test_console_summary_of_an_interrupted_run_prints_the_error_and_counts_unsent_rows_as_unsent() -> None:
    summary = {**SUMMARY, "needs_review": 5, "rows_read": 12, "unsent": 4, "error": "POST $batch: 503 after 8 attempts"}
    text = render_console_summary(summary)
    assert "    of which 4 not sent - will resume (run the same command again)" in text.splitlines()
    assert "Stopped by an error: POST $batch: 503 after 8 attempts" in text.splitlines()


def test_console_summary_takes_accounting_as_dict_for_totals() -> None:
    lines = pd.DataFrame(
        {
            "source_file": ["a.csv", "a.csv"],
            "source_row": [2, 3],
            "state": ["posted", "posted"],
            "amount_minor": pd.array([-100050, -7], dtype="Int64"),
            "currency": ["EUR", "EUR"],
        }
    )
    text = render_console_summary({**SUMMARY, "totals": account(lines, 2).as_dict()})
    assert re.search(r"added to journal\s+3\s+1,000.57 EUR$", text, re.MULTILINE)


def test_a_table_longer_than_a_sheet_goes_on_over_numbered_sheets(tmp_path: Path) -> None:
    """Excel opens at most 1,048,576 rows per sheet: a million-payment run must not lose its tail.
    Here a sheet holds 2 data rows, so the 4 payment lines (3 posted, 1 already posted) need two
    sheets, in line order, each with its header."""
    paths = write_run_report(tmp_path / "run", SUMMARY, LINES, DISCREPANCIES, decimals=PLACES, rows_per_sheet=2)
    wb = openpyxl.load_workbook(paths["xlsx"])
    assert wb.sheetnames == ["Summary", "Payments", "Payments (2)", "Rejected", "Needs review", "Discrepancies"]
    first, second = _rows(wb["Payments"]), _rows(wb["Payments (2)"])
    assert first[0] == second[0]  # the header on both
    keys = first[0].index("Payment key")
    assert [r[keys] for r in first[1:] + second[1:]] == ["bank:tx:1", "bank:tx:2", "bank:tx:3", "bank:tx:4"]
    assert len(_rows(wb["Rejected"])) == 3  # 2 rejected lines fit one sheet


@pytest.mark.parametrize(
    ("places", "ordered"),
    [
        ([], True),
        ([("a.csv", 7)], True),
        ([("a.csv", 1), ("a.csv", 2), ("b.csv", 1)], True),
        ([("a.csv", 1), ("a.csv", 1), ("a.csv", 3)], True),  # a split receipt's lines share their row
        ([("a.csv", 2), ("a.csv", 1)], False),
        ([("b.csv", 1), ("a.csv", 5)], False),
        ([("a.csv", 10), ("a.csv", 9), ("b.csv", 1)], False),
        ([("Z.csv", 1), ("a.csv", 1)], True),  # by code point, as the sort compares text: "Z" < "a"
        ([("a.csv", 1), ("a.csv", None)], False),
    ],
)
def test_lines_already_in_report_order_are_recognised(places: list[tuple[str, int | None]], ordered: bool) -> None:
    lines = pd.DataFrame(
        {
            "source_file": pd.Series([f for f, _ in places], dtype="str"),
            "source_row": pd.array([r for _, r in places], dtype="Int64"),
            "state": pd.Series(["posted"] * len(places), dtype="str"),
        }
    )
    assert in_report_order(lines) is ordered
    if ordered:  # what the sort it spares would have returned
        expected = lines.sort_values(["source_file", "source_row"], kind="stable")
        pd.testing.assert_frame_equal(expected, lines)
