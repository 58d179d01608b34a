"""The bounded workbook reader's answer: a sheet's columns as packed buffers, read back unchanged."""

from __future__ import annotations

import datetime as dt
import io
import pickle
from typing import Any

import pytest

from pipeline.readers.sandboxed import (
    Loaded,
    SheetMarks,
    _CellUnpickler,
    decode_column,
    encode_column,
    finish,
    mentions_marks,
    scan_sheet,
)

UTC = dt.UTC


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (["Payer", "Müller GmbH", "", "  padded  ", "łódź ✓"], "text"),
        ([1.5, -0.01, 1e20, 3.0], "float"),
        ([dt.datetime(2026, 3, 1), "31.02.2026", dt.datetime(2026, 3, 1, 13, 5, 7, 250), dt.date(1900, 3, 1)], "mixed"),
        (["Booking date", dt.date(2026, 7, 21), dt.date(1, 1, 1), "n/a", dt.date(9999, 12, 31)], "mixed"),  # dates only
        (["Amount", 1.5, "", -0.01], "mixed"),
        ([True, 7, dt.time(12, 30), dt.timedelta(days=2), 2.5, "x", dt.date(2026, 1, 2)], "mixed"),
        (["a\x00b", "c"], "cells"),  # a NUL cannot be joined safely: sent as it is
        ([dt.datetime(2026, 3, 1, tzinfo=UTC), "x"], "cells"),  # an aware datetime keeps its zone
        ([], "text"),
    ],
)
def test_a_column_comes_back_as_the_child_read_it(values: list[Any], kind: str) -> None:
    encoded = encode_column(list(values))
    assert encoded[0] == kind
    back = decode_column(encoded, len(values))
    assert back == values
    assert [type(v) for v in back] == [type(v) for v in values]  # a date stays a date, a datetime a datetime


def test_a_column_that_does_not_fill_the_sheet_is_refused() -> None:
    """The parent does not trust the child's buffers: a short column is an error, not a shifted table."""
    with pytest.raises(ValueError, match="2 cells in a sheet of 3 rows"):
        decode_column(encode_column(["a", "b"]), 3)


def test_the_answer_unpickles_without_classes_but_the_sheet() -> None:
    columns = [encode_column(["Date", dt.datetime(2026, 5, 4)]), encode_column(["Amount", 12.5])]
    answer = pickle.dumps(("ok", Loaded("S", [], frozenset({2}), columns, 2)))
    status, loaded = _CellUnpickler(io.BytesIO(answer)).load()
    assert status == "ok"
    assert loaded.cells_by_column() == [["Date", dt.datetime(2026, 5, 4)], ["Amount", 12.5]]
    assert loaded.hidden == frozenset({2})


@pytest.mark.parametrize("mark", [b'<row r="7" hidden="1">', b'<c r="B7" t="e"><v>#N/A</v></c>'])
def test_a_hidden_row_or_error_cell_is_seen_wherever_the_chunks_cut_it(mark: bytes) -> None:
    """The one-pass look for marks decides whether the sheet is scanned at all: it must see a mark
    cut at any byte, even across several small chunks."""
    xml = b'<sheetData><row r="6"><c r="A6"><v>1</v></c></row>' + mark + b"</row></sheetData>"
    for cut in range(len(xml) + 1):
        for second in range(cut, min(cut + 4, len(xml)) + 1):
            assert mentions_marks([xml[:cut], xml[cut:second], xml[second:]])
    scanned = scan_sheet([xml])
    assert scanned.hidden == frozenset({7}) or scanned.errors == {(7, 1): "#N/A"}


def test_a_sheet_without_marks_needs_no_scan() -> None:
    xml = b'<sheetData><row r="1" spans="1:2"><c r="A1" t="s"><v>0</v></c></row></sheetData>'
    assert not mentions_marks([xml[:20], xml[20:21], xml[21:]])
    assert scan_sheet([xml]).hidden == frozenset() and not scan_sheet([xml]).errors


def test_the_empty_margins_are_cut_and_the_marks_kept() -> None:
    """The used range of a sheet often runs past its data: trailing rows of blanks (``""``, spaces,
    ``None``) and columns of them on the right are dropped; blanks inside the data stay, a short
    row is padded, an error cell is put back as its text, a hidden row past the data is dropped."""
    rows: list[list[Any]] = [
        ["Date", "Amount", "", " "],
        [dt.date(2026, 5, 4), 12.5, None, ""],
        ["", "", "", ""],
        [dt.date(2026, 5, 5)],
        ["  ", None, "", "\t"],
        ["", "", "", ""],
    ]
    marks = SheetMarks(frozenset({3, 6}), {(3, 1): "#N/A"})
    loaded = finish("S", rows, marks)
    assert loaded.height == 4
    assert loaded.hidden == frozenset({3})
    assert loaded.cells_by_column() == [
        ["Date", dt.date(2026, 5, 4), "", dt.date(2026, 5, 5)],
        ["Amount", 12.5, "#N/A", ""],
    ]


def test_a_sheet_of_blanks_has_no_rows_and_no_columns() -> None:
    loaded = finish("S", [["", None], [" ", "\n"]], SheetMarks(frozenset({1})))
    assert (loaded.height, loaded.cells_by_column(), loaded.hidden) == (0, [], frozenset())
