"""Balances as control totals, and values from cells outside the table (pipeline.balances, pipeline.fixedcells).

Every expected figure below was worked out by hand; the property test then checks the arithmetic on
generated statements: consistent balances pass, and changing any one amount by any nonzero value fails.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.balances import CLOSING, OPENING, TOTAL, balance_kinds, marker_regex, show, start_table
from pipeline.config import CLOSING_MARKERS, OPENING_MARKERS, BalanceSpec, CellSpec, parse_config
from pipeline.errors import ConfigError, InputError
from pipeline.fixedcells import cell_position
from pipeline.money import minor_text
from pipeline.textops import leading_bytes
from pipeline.validate import FileResult, validate_file

BASE: dict[str, Any] = {
    "delimiter": ",",
    "header": {"signature": ["Date", "Amount", "Text"]},
    "columns": {"date": "Date", "amount": "Amount", "reference": "Text"},
    "date_formats": ["%Y-%m-%d"],
}


def _run(tmp_path: Path, text: str, name: str = "in.csv", **profile: Any) -> FileResult:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    config = parse_config({"profiles": {"p": {**BASE, **profile}}})
    return validate_file(path, config, "p")


# --- recognition --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Anfangssaldo", OPENING),
        ("Endsaldo", CLOSING),
        ("Endsaldo per 31.12.2024", CLOSING),
        ("alter Kontostand", OPENING),
        ("Neuer Kontostand:", CLOSING),
        ("Opening balance", OPENING),
        ("CLOSING BALANCE", CLOSING),
        ("Balance brought forward", OPENING),
        ("Balance  carried   forward", CLOSING),
        ("Balance at start of period", OPENING),
        ("Balance at end of period", CLOSING),
        ("Saldo inicial", OPENING),
        ("saldo final", CLOSING),
        ("Solde initial", OPENING),
        ("Solde précédent", OPENING),
        ("Nouveau solde", CLOSING),
        ("Solde final", CLOSING),
        ("Saldo iniziale", OPENING),
        ("Saldo finale", CLOSING),
        ("Beginsaldo", OPENING),
        ("Eindsaldo", CLOSING),
        ("  Endsaldo", CLOSING),
        # not balances: a marker inside a longer word, after other text, or absent
        ("Endsaldorechnung", ""),
        ("Invoice 12 opening balance adjustment", ""),
        ("Openingbalance", ""),
        ("Saldo", ""),
        ("Payment RE-2024-0001", ""),
        ("", ""),
    ],
)
def test_balance_markers_are_recognised_as_whole_words_at_the_start(text: str, kind: str) -> None:
    got = balance_kinds([pd.Series([text], dtype="str")], [], BalanceSpec(), np.array([True]))
    assert got.tolist() == [kind]


def test_marker_in_a_text_column_or_the_first_non_empty_cell() -> None:
    cells = [pd.Series(["", "2024-01-31", "Total"], dtype="str"), pd.Series(["Endsaldo", "100.00", ""], dtype="str")]
    reference = pd.Series(["", "Closing balance", ""], dtype="str")
    spec = BalanceSpec(total_markers=("Total",))
    got = balance_kinds(cells, [reference], spec, np.array([True, True, True]))
    assert got.tolist() == [CLOSING, CLOSING, TOTAL]


def test_no_total_rows_unless_named_and_only_candidate_rows() -> None:
    cells = [pd.Series(["Total", "Endsaldo"], dtype="str")]
    assert balance_kinds(cells, [], BalanceSpec(), np.array([True, True])).tolist() == ["", CLOSING]
    assert balance_kinds(cells, [], BalanceSpec(), np.array([True, False])).tolist() == ["", ""]


def test_markers_are_literal_text_not_regexes() -> None:
    spec = BalanceSpec(closing_markers=("Saldo (neu)",))
    cells = [pd.Series(["Saldo (neu)", "Saldo neu"], dtype="str")]
    assert balance_kinds(cells, [], spec, np.array([True, True])).tolist() == [CLOSING, ""]


def test_marker_screen_never_drops_a_cell_the_regex_matches() -> None:
    """The first-two-bytes screen of ``balance_kinds`` is wider than the marker regex: every cell
    the regex matches passes it, including cells whose first or second character only matches a
    marker's by RE2's case folding (found here by RE2 itself over every code point)."""
    markers = (*OPENING_MARKERS, *CLOSING_MARKERS, "Total", "x", "a b", "Übertrag", "ſaldo", "2. Saldo", "K-Stand")
    every, table = marker_regex(markers), start_table(markers)
    assert every is not None
    points = pa.array([chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000], pa.string())
    folds = points.filter(pc.match_substring_regex(points, "^[a-z0-9]$", ignore_case=True)).to_pylist()
    assert {"ſ", "\u212a", "S", "k"} <= set(folds)
    cells = []
    for marker in markers:
        for text in (marker, marker.upper(), marker.title(), " \t" + marker, marker.replace(" ", "\n ") + " 31.12."):
            cells.append(text)
            for at in (0, 1):
                cells += [text[:at] + f + text[at + 1 :] for f in folds if at < len(text)]
    column = pa.chunked_array([pa.array(cells[:1000], pa.large_string()), pa.array(cells[1000:], pa.large_string())])
    hit = pc.match_substring_regex(column, every, ignore_case=True).to_numpy(zero_copy_only=False)
    lead = leading_bytes(column)
    screened = table[lead[:, 0], lead[:, 1]]
    assert hit.sum() > 4 * len(markers)  # the variants do match: the check below is not vacuous
    assert not (hit & ~screened).any(), [c for c, h, s in zip(cells, hit, screened, strict=True) if h and not s][:5]
    assert screened.mean() < 0.5  # and it does screen


def test_leading_bytes_of_sliced_chunked_and_null_cells() -> None:
    small = pa.array(["xx", "ab", "", "é", None, "q"], pa.string()).slice(1, 4)
    large = pa.array(["Zz"], pa.large_string())
    got = leading_bytes(pa.chunked_array([small.cast(pa.large_string()), large]), 2)
    assert got.tolist() == [[97, 98], [256, 256], [0xC3, 0xA9], [256, 256], [90, 122]]
    assert leading_bytes(small, 1).tolist() == [[97], [256], [0xC3], [256]]


def test_balance_kinds_reads_markers_in_screened_rows_only_among_candidates() -> None:
    first = pd.Series(["2024-01-31", "Endsaldo", " opening balance", "ENDSALDO 31.12.", "Éndsaldo"], dtype="str")
    reference = pd.Series(["ſchlusssaldo", "", "x", "", "Closing balance"], dtype="str")
    got = balance_kinds([first], [reference], BalanceSpec(), np.array([True, True, True, False, True]))
    assert got.tolist() == [CLOSING, CLOSING, OPENING, "", CLOSING]


# --- arithmetic -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minor", "decimals", "shown"),
    [
        (0, 2, "0.00"),
        (5, 2, "0.05"),
        (-123456789, 2, "-1,234,567.89"),
        (100000, 2, "1,000.00"),
        (1234, 0, "1,234"),
        (-1234567, 3, "-1,234.567"),
    ],
)
def test_amounts_are_shown_with_thousands_separators(minor: int, decimals: int, shown: str) -> None:
    assert show(minor, decimals) == shown


STATEMENT = (
    "Date,Amount,Text\n"
    "2024-01-01,1000.00,Anfangssaldo\n"
    "2024-01-02,250.00,Payment RE-1\n"
    "2024-01-03,-50.00,Bank fee\n"
    "2024-01-04,0.00,Zero\n"
    "2024-01-31,{closing},Endsaldo\n"
)


def test_dated_endsaldo_row_imports_no_receipt_and_the_balance_is_verified(tmp_path: Path) -> None:
    # 1,000.00 + 250.00 - 50.00 + 0.00 = 1,200.00
    result = _run(tmp_path, STATEMENT.format(closing="1200.00"))
    assert result.rows_valid == 1
    assert result.amount_text() == "250.00"
    reasons = result.skips.set_index("source_row")["reason_code"].to_dict()
    assert reasons == {1: "header", 2: "balance", 4: "not_receipt", 5: "zero_amount", 6: "balance"}
    s = result.summary()
    assert s["balance"] == "verified"
    assert s["balance_detail"] == (
        "balance verified (EUR): opening balance 1,000.00 (line 2) + movements 200.00 (3 rows) = 1,200.00 "
        "= closing balance (line 6)"
    )
    assert s["skipped_by_reason"]["balance"] == 2


def test_closing_balance_off_by_one_cent_refuses_the_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        _run(tmp_path, STATEMENT.format(closing="1200.01"))
    assert str(err.value) == (
        f"{tmp_path / 'in.csv'}: the stated balances do not add up (EUR): opening balance 1,000.00 (line 2) + "
        "movements 200.00 (3 rows) = 1,200.00, but the closing balance (line 6) says 1,200.01: 0.01 differ; "
        "rows may be missing or misread. Nothing is imported from this file."
    )


def test_the_difference_is_shown_in_the_currency(tmp_path: Path) -> None:
    text = (
        "Date,Amount,Text\n2024-01-01,1000.00,Opening balance\n2024-01-02,2345.67,a\n"
        "2024-01-31,3354.67,Closing balance\n"
    )
    with pytest.raises(InputError, match=r"movements 2,345\.67 \(1 rows\) = 3,345\.67, but the closing balance "):
        _run(tmp_path, text)
    with pytest.raises(InputError, match=r"says 3,354\.67: 9\.00 differ; rows may be missing or misread"):
        _run(tmp_path, text)


def test_unreadable_amount_makes_the_balance_unverifiable_not_wrong(tmp_path: Path) -> None:
    text = "Date,Amount,Text\n2024-01-01,100.00,Opening balance\n2024-01-02,12x,a\n2024-01-31,150.00,Closing balance\n"
    with pytest.raises(InputError, match=r"50\.00 differ; the amount of line 3 \('12x'\) cannot be read, so the "):
        _run(tmp_path, text)


def test_a_balance_that_holds_without_an_unreadable_row_says_so(tmp_path: Path) -> None:
    text = "Date,Amount,Text\n2024-01-01,100.00,Opening balance\n2024-01-02,0.0x,a\n2024-01-31,100.00,Closing balance\n"
    result = _run(tmp_path, text)
    assert [i.source_row for i in result.issues] == [3]
    assert result.summary()["balance_detail"].endswith("= closing balance (line 4) (without line 3, unreadable)")


def test_balances_in_lines_above_and_below_the_table(tmp_path: Path) -> None:
    # the closing balance stands above the header, the opening one after the table: 500.00 - 20.00 + 70.00
    text = (
        "Balance at end of period,,550.00\n"
        "Date,Amount,Text\n"
        "2024-01-02,-20.00,fee\n"
        "2024-01-03,70.00,payment\n"
        "Balance at start of period,,500.00\n"
    )
    result = _run(tmp_path, text)
    assert result.summary()["balance"] == "verified"
    assert result.amount_text() == "70.00"


def test_balance_row_without_an_amount_is_an_error_not_a_guess(tmp_path: Path) -> None:
    text = "Date,Amount,Text\n2024-01-01,10.00,Opening balance\n2024-01-02,5.00,a\nClosing balance,,\n"
    with pytest.raises(InputError, match=r"the closing balance \(line 4\) has no amount in the profile's amount"):
        _run(tmp_path, text)


def test_balance_row_whose_amount_column_is_empty_takes_the_cell_after_its_marker(tmp_path: Path) -> None:
    # 10.00 + 5.00 = 15.00, written after the marker (the amount column holds the marker, or nothing)
    for closing in ("Closing balance,,15.00", ",Closing balance,15.00"):
        text = f"Date,Amount,Text\n2024-01-01,10.00,Opening balance\n2024-01-02,5.00,a\n{closing}\n"
        assert _run(tmp_path, text).summary()["balance"] == "verified"
    text = "Date,Amount,Text\n2024-01-01,10.00,Opening balance\n2024-01-02,5.00,a\nClosing balance,12x,15.00\n"
    with pytest.raises(InputError, match=r"the closing balance \(line 4\) cannot be read: '12x'"):
        _run(tmp_path, text)


def test_debit_credit_and_indicator_layouts_sign_balances_as_written(tmp_path: Path) -> None:
    # overdrawn account: -100.00 (debit column) - 30.00 + 80.00 = -50.00 (debit column)
    text = (
        "Date,Debit,Credit,Text\n"
        "2024-01-01,100.00,,Opening balance\n"
        "2024-01-02,30.00,,fee\n"
        "2024-01-03,,80.00,payment\n"
        "2024-01-31,50.00,,Closing balance\n"
    )
    result = _run(
        tmp_path,
        text,
        header={"signature": ["Date", "Debit", "Credit"]},
        columns={"date": "Date", "debit": "Debit", "credit": "Credit", "reference": "Text"},
        amount={"layout": "debit_credit"},
    )
    assert result.summary()["balance"] == "verified"
    text = (
        "Date,Amount,DC,Text\n2024-01-01,10.00,D,Opening balance\n2024-01-02,25.00,C,x\n"
        "2024-01-31,15.00,C,Closing balance\n"
    )
    result = _run(
        tmp_path,
        text,
        header={"signature": ["Date", "Amount", "DC"]},
        columns={"date": "Date", "amount": "Amount", "indicator": "DC", "reference": "Text"},
        amount={"layout": "indicator", "credit_values": ["C"], "debit_values": ["D"]},
    )
    assert result.summary()["balance"] == "verified"


def test_several_statements_in_one_file_are_checked_pair_by_pair(tmp_path: Path) -> None:
    text = (
        "Date,Amount,Text\n"
        "2024-01-01,10.00,Opening balance\n2024-01-01,5.00,a\n2024-01-01,15.00,Closing balance\n"
        "2024-01-02,15.00,Opening balance\n2024-01-02,-1.00,b\n2024-01-02,13.00,Closing balance\n"
    )
    with pytest.raises(InputError, match=r"opening balance 15\.00 \(line 5\) \+ movements -1\.00 \(1 rows\) = 14\.00"):
        _run(tmp_path, text)


def test_no_balance_stated_is_said_and_a_lone_balance_is_incomplete(tmp_path: Path) -> None:
    result = _run(tmp_path, "Date,Amount,Text\n2024-01-02,5.00,a\n")
    assert (result.summary()["balance"], result.summary()["balance_detail"]) == ("not_stated", "no balance stated")
    result = _run(tmp_path, "Date,Amount,Text\n2024-01-02,5.00,a\n2024-01-31,99.00,Endsaldo\n")
    assert result.summary()["balance"] == "incomplete"
    assert "only closing balance (line 3) is stated" in result.summary()["balance_detail"]
    assert result.rows_valid == 1
    with pytest.raises(InputError, match="the profile requires a stated balance, but no balance or total"):
        _run(tmp_path, "Date,Amount,Text\n2024-01-02,5.00,a\n", balances={"check": "required"})


def test_check_off_verifies_nothing_but_a_balance_is_still_never_a_receipt(tmp_path: Path) -> None:
    result = _run(tmp_path, STATEMENT.format(closing="9.99"), balances={"check": "off"})
    assert result.summary()["balance"] == "off"
    assert result.amount_text() == "250.00"
    assert result.summary()["skipped_by_reason"]["balance"] == 2


@pytest.mark.parametrize(
    ("rows", "detail"),
    [
        # oldest first: 100.00 + 20.00 = 120.00 - 5.00 = 115.00
        (
            ["2024-01-01,100.00,a,100.00", "2024-01-02,20.00,b,120.00", "2024-01-03,-5.00,c,115.00"],
            "3 rows, oldest first",
        ),
        # newest first: the same rows upside down
        (
            ["2024-01-03,-5.00,c,115.00", "2024-01-02,20.00,b,120.00", "2024-01-01,100.00,a,100.00"],
            "3 rows, newest first",
        ),
    ],
)
def test_running_balance_is_checked_row_by_row(tmp_path: Path, rows: list[str], detail: str) -> None:
    text = "Date,Amount,Text,Saldo\n" + "\n".join(rows) + "\n"
    result = _run(tmp_path, text, balances={"running": "Saldo"})
    assert result.summary()["balance_detail"].endswith(f"its row's amount ({detail})")


def test_running_balance_that_breaks_names_the_two_rows(tmp_path: Path) -> None:
    # 120.00 - 5.00 = 115.00, but line 4 says 114.00
    text = "Date,Amount,Text,Saldo\n2024-01-01,100.00,a,100.00\n2024-01-02,20.00,b,120.00\n2024-01-03,-5.00,c,114.00\n"
    with pytest.raises(
        InputError, match=r"the balance of line 3 \(120\.00\) \+ the amount of line 4 \(-5\.00\) = 115\.00, "
    ):
        _run(tmp_path, text, balances={"running": "Saldo"})


# --- remittance totals --------------------------------------------------------------------------

REMITTANCE = "Date,Amount,Text\n2024-03-01,100.00,RE-1\n2024-03-02,150.00,RE-2\nTotal,{total},\n"


def test_remittance_total_row_is_checked(tmp_path: Path) -> None:
    result = _run(tmp_path, REMITTANCE.format(total="250.00"), balances={"total_markers": ["Total"]})
    assert result.summary()["balance"] == "verified"
    assert result.skips.set_index("source_row")["reason_code"].to_dict()[4] == "total"
    assert result.amount_text() == "250.00"


def test_remittance_with_a_wrong_total_is_refused(tmp_path: Path) -> None:
    with pytest.raises(
        InputError, match=r"the rows add up to 250\.00 \(2 rows\), but the total \(line 4\) says 260\.00: 10\.00"
    ):
        _run(tmp_path, REMITTANCE.format(total="260.00"), balances={"total_markers": ["Total"]})


def test_stated_check_amount_in_a_labelled_cell(tmp_path: Path) -> None:
    text = "Check amount:,250.00\nDate,Amount,Text\n2024-03-01,100.00,RE-1\n2024-03-02,150.00,RE-2\n"
    result = _run(tmp_path, text, balances={"total": {"label": "check amount:"}})
    assert result.summary()["balance_detail"] == (
        "balance verified (EUR): the rows add up to 250.00 (2 rows) = the total (line 1, after 'check amount:')"
    )
    with pytest.raises(InputError, match=r"balances\.total: no cell starts with 'Cheque total'"):
        _run(tmp_path, text, balances={"total": {"label": "Cheque total"}})
    with pytest.raises(InputError, match=r"the total \(cell A1\) cannot be read: 'Check amount:'"):
        _run(tmp_path, text, balances={"total": {"cell": "A1"}})


# --- cells outside the table --------------------------------------------------------------------


@pytest.mark.parametrize(("name", "pos"), [("A1", (1, 1)), ("B3", (3, 2)), ("z10", (10, 26)), ("AA7", (7, 27))])
def test_cell_names(name: str, pos: tuple[int, int]) -> None:
    assert cell_position(name) == pos


@pytest.mark.parametrize("spec", [{}, {"cell": "B3", "label": "x"}, {"cell": "3B"}, {"label": " "}])
def test_a_cell_is_named_one_way(spec: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        CellSpec(**spec)
    with pytest.raises(ConfigError):
        parse_config({"profiles": {"p": {**BASE, "constants": {"posting_date": spec}}}})


def _remittance_workbook(path: Path, *, date: object = dt.date(2024, 3, 15)) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Remittance advice"])
    ws.append(["Payment date:", date])
    ws.append(["Customer no.:", "c10000"])
    ws.append(["Payment reference: PAY-2024-77"])
    ws.append([])
    ws.append(["Invoice", "Invoice date", "Amount"])
    ws.append(["RE-1", dt.date(2024, 1, 5), 100.0])
    ws.append(["RE-2", dt.date(2024, 1, 9), 150.5])
    wb.save(path)


REMITTANCE_PROFILE: dict[str, Any] = {
    "header": {"signature": ["Invoice", "Invoice date", "Amount"]},
    "columns": {"date": "Invoice date", "amount": "Amount", "invoice_number": "Invoice"},
    "date_formats": ["%Y-%m-%d"],
    "amount": {"decimal_mark": "."},
    "comment": "{reference}",
    "constants": {
        "posting_date": {"label": "Payment date:"},
        "customer_number": {"cell": "B3"},
        "reference": {"label": "payment reference:"},
    },
}


def _remittance(tmp_path: Path, **changes: Any) -> FileResult:
    path = tmp_path / "advice.xlsx"
    _remittance_workbook(path, **changes.pop("workbook", {}))
    config = parse_config({"profiles": {"r": {**REMITTANCE_PROFILE, **changes}}})
    return validate_file(path, config, "r")


def test_remittance_constants_come_from_the_title_block(tmp_path: Path) -> None:
    rows = _remittance(tmp_path).payments.rows
    assert [d.date() for d in rows["postingDate"]] == [dt.date(2024, 3, 15)] * 2
    assert rows["customerNumber"].tolist() == ["C10000", "C10000"]
    assert rows["comment"].tolist() == ["PAY-2024-77", "PAY-2024-77"]
    assert rows["appliesToInvoiceNumber"].tolist() == ["RE-1", "RE-2"]


def test_missing_or_unreadable_constant_cells_are_errors(tmp_path: Path) -> None:
    constants = {**REMITTANCE_PROFILE["constants"], "posting_date": {"label": "Value date:"}}
    with pytest.raises(InputError, match=r"constants\.posting_date: no cell starts with 'Value date:' is not in this"):
        _remittance(tmp_path, constants=constants)
    with pytest.raises(InputError, match=r"constants\.posting_date: row 2, after 'Payment date:' holds 'soon'"):
        _remittance(tmp_path, workbook={"date": "soon"})
    with pytest.raises(InputError, match=r"constants\.customer_number: cell C3 is empty"):
        _remittance(tmp_path, constants={**REMITTANCE_PROFILE["constants"], "customer_number": {"cell": "C3"}})


def test_fixed_cell_of_a_text_file_is_a_field_of_a_line(tmp_path: Path) -> None:
    text = "Customer,C20000\nDate,Amount,Text\n2024-03-01,100.00,RE-1\n"
    result = _run(tmp_path, text, constants={"customer_number": {"cell": "B1"}})
    assert result.payments.rows["customerNumber"].tolist() == ["C20000"]


# --- property: consistent balances pass; any one changed amount fails -----------------------------


def _statement(opening: int, amounts: list[int], closing: int) -> str:
    lines = ["Date,Amount,Text", f"2024-01-01,{minor_text(opening, 2)},Opening balance"]
    lines += [f"2024-01-02,{minor_text(a, 2)},row {i}" for i, a in enumerate(amounts)]
    lines.append(f"2024-01-31,{minor_text(closing, 2)},Closing balance")
    return "\n".join(lines) + "\n"


def _validate_text(text: str) -> FileResult:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.csv"
        path.write_text(text, encoding="utf-8")
        return validate_file(path, parse_config({"profiles": {"p": BASE}}), "p")


MONEY = st.integers(min_value=-(10**11), max_value=10**11)


@settings(max_examples=40, deadline=None)
@given(
    opening=MONEY,
    amounts=st.lists(MONEY, min_size=1, max_size=12),
    which=st.integers(min_value=0),
    delta=MONEY.filter(lambda d: d != 0),
)
def test_consistent_balances_pass_and_any_one_change_fails(
    opening: int, amounts: list[int], which: int, delta: int
) -> None:
    closing = opening + sum(amounts)
    assert _validate_text(_statement(opening, amounts, closing)).summary()["balance"] == "verified"
    changed = list(amounts)
    changed[which % len(changed)] += delta
    with pytest.raises(InputError, match=f"{show(abs(delta), 2)} differ"):
        _validate_text(_statement(opening, changed, closing))
