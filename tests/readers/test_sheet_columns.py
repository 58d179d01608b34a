"""The bounded workbook reader's answer: a sheet's columns as packed buffers, read back unchanged."""

from __future__ import annotations

import datetime as dt
import io
import pickle
from typing import Any

import pytest

from pipeline.readers.sandboxed import Loaded, _CellUnpickler, decode_column, encode_column

UTC = dt.UTC


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (["Payer", "Müller GmbH", "", "  padded  ", "łódź ✓"], "text"),
        ([1.5, -0.01, 1e20, 3.0], "float"),
        ([dt.datetime(2026, 3, 1), "31.02.2026", dt.datetime(2026, 3, 1, 13, 5, 7, 250), dt.date(1900, 3, 1)], "mixed"),
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
