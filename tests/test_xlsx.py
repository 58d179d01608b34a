"""The table writer makes the cells XlsxWriter's own cell calls would make for the same values.

The reference is XlsxWriter itself (``write_string``/``write_number``/``write_datetime`` with the
same formats), so what is compared is independent of how ``pipeline.xlsx`` builds a sheet's XML.
Both workbooks are read back with openpyxl: values, types, number formats and quote prefixes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow as pa
import xlsxwriter

from pipeline.xlsx import Amounts, Money, Table, write_columns, write_table
from pipeline.xlsx import open_workbook as open_book

TEXTS = [
    "plain",
    '=HYPERLINK("http://x")',
    "+1",
    "-1",
    "@SUM(A1)",
    "\tTab first",
    "\rCR first",
    " leading and trailing ",
    "a & b < c > d",
    "_x0041_ literal",
    "bell\x07inside",
    "two\nlines",
    "Zürich 東京",
    "",
    None,
]
COLUMNS = (
    ("Text", "text", 20),
    ("Wrapped", "wrap", 20),
    ("Number", "int", 8),
    ("Day", "date", 12),
    ("Money", "money", 12),
)


def _values(book: Path) -> list[list[tuple[Any, str, bool]]]:
    """(value, number format, quote prefix) of every cell under the header."""
    sheet = openpyxl.load_workbook(book)["T"]
    return [
        [(c.value, c.number_format if c.value is not None else "", bool(c.quotePrefix)) for c in row]
        for row in sheet.iter_rows(min_row=2, max_col=len(COLUMNS))
    ]


def _reference(path: Path, rows: list[list[Any]]) -> None:
    """The same cells through XlsxWriter's cell calls, with the same formats as pipeline.xlsx (and
    inline strings, as its constant-memory mode writes them)."""
    options = {"constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False}
    book = xlsxwriter.Workbook(str(path), {**options, "strings_to_urls": False})
    sheet = book.add_worksheet("T")
    text = book.add_format({"valign": "top"})
    quoted = book.add_format({"valign": "top", "quote_prefix": True})
    date = book.add_format({"valign": "top", "num_format": "yyyy-mm-dd"})
    number = book.add_format({"valign": "top", "num_format": "0"})
    money = book.add_format({"valign": "top", "num_format": "#,##0.00"})
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if value is None or value == "":
                continue
            if isinstance(value, str):
                cleaned = value.replace("\x07", "\\x07")
                sheet.write_string(
                    r, c, cleaned, quoted if cleaned.startswith(("=", "+", "-", "@", "\t", "\r")) else text
                )
            elif isinstance(value, dt.date):
                sheet.write_datetime(r, c, dt.datetime(value.year, value.month, value.day), date)
            elif isinstance(value, Money):
                sheet.write_number(r, c, value.number, money)
            else:
                sheet.write_number(r, c, value, number)
    book.close()


def test_cells_match_xlsxwriters_own_for_text_numbers_dates_and_money(tmp_path: Path) -> None:
    days = [dt.date(2026, 3, 2), dt.date(1999, 12, 31)]
    rows = [
        [t, t, i if i % 3 else None, days[i % 2] if i % 4 else None, Money((i * 1234 - 500) / 100, 2)]
        for i, t in enumerate(TEXTS)
    ]
    with open_book(tmp_path / "ours.xlsx") as book:
        write_table(book, Table("T", COLUMNS), rows)
    _reference(tmp_path / "theirs.xlsx", rows)

    assert _values(tmp_path / "ours.xlsx") == _values(tmp_path / "theirs.xlsx")


def test_arrow_columns_and_amounts_in_chunks_give_the_same_cells(tmp_path: Path) -> None:
    """Columns as Arrow arrays and exact amounts, over two chunks, as one table of Python rows."""
    texts = ["=1", "a", None, "b & c"]
    numbers = [1, None, 3, 4]
    days = [dt.date(2026, 1, 1), None, dt.date(2026, 2, 28), dt.date(2026, 12, 31)]
    minor = [-12345, None, 10**15, 7]  # 10**15 minor units: 16 digits, written as exact text
    chunks = [
        [
            pa.array(texts[a:b]),
            pa.array(texts[a:b]),
            pa.array(numbers[a:b]),
            pa.array(days[a:b]),
            Amounts(pa.array(minor[a:b]), [2] * (b - a)),
        ]
        for a, b in ((0, 2), (2, 4))
    ]
    with open_book(tmp_path / "chunks.xlsx") as book:
        write_columns(book, Table("T", COLUMNS), 4, chunks)
    money: list[Any] = [Money(-123.45, 2), None, "10000000000000.00", Money(0.07, 2)]
    rows = [list(r) for r in zip(texts, texts, numbers, days, money, strict=True)]
    _reference(tmp_path / "theirs.xlsx", rows)

    ours, theirs = _values(tmp_path / "chunks.xlsx"), _values(tmp_path / "theirs.xlsx")
    assert ours == theirs
    assert ours[2][4] == ("10000000000000.00", "General", False)  # exact text, not a float a cent off
    sheet = openpyxl.load_workbook(tmp_path / "chunks.xlsx")["T"]
    assert sheet.dimensions == "A1:E5" and sheet.auto_filter.ref == "A1:E5" and sheet.freeze_panes == "A2"


def test_chunked_arrow_columns_as_an_arrow_backed_frame_gives_them(tmp_path: Path) -> None:
    """A column of an Arrow-backed frame converts to a chunked array: the same cells as one array."""
    texts, numbers, days = ["=1", None, "b"], [1, None, 3], [dt.date(2026, 1, 1), None, dt.date(2026, 3, 2)]
    chunked = [
        pa.chunked_array([texts[:1], texts[1:]]),
        pa.chunked_array([texts[:2], texts[2:]]),
        pa.chunked_array([numbers[:1], numbers[1:]]),
        pa.chunked_array([days[:1], days[1:]], pa.date32()),
        Amounts(pa.chunked_array([[-12345], [None, 7]]), [2, 2, 2]),
    ]
    plain = [pa.array(texts), pa.array(texts), pa.array(numbers), pa.array(days), Amounts([-12345, None, 7], [2, 2, 2])]
    for name, columns in (("chunked.xlsx", chunked), ("plain.xlsx", plain)):
        with open_book(tmp_path / name) as book:
            write_columns(book, Table("T", COLUMNS), 3, [columns])

    assert _values(tmp_path / "chunked.xlsx") == _values(tmp_path / "plain.xlsx")
    assert _values(tmp_path / "plain.xlsx")[0][4] == (-123.45, "#,##0.00", False)
