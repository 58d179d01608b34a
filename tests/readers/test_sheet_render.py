"""A sheet's packed columns rendered column-wise give exactly the text the one-by-one renderer
gives for the same cells (``_render_column``, the reference), whatever mix of cells a column has."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pipeline.readers.excel import INVALID_EXCEL_DATE, CellFormat, _render_column, render_packed
from pipeline.readers.sandboxed import check_column, decode_column, decode_head, encode_column

TEXTS = [
    "Payer",
    "  padded  ",
    "",
    " ",
    "Müller GmbH",
    "\u00a0nbsp\u00a0",
    "\u2003em\u2003",
    "\x1cfs\x1f",
    "łódź ✓",
    "RE-2026-00001",
]
NUMBERS = [0.0, -0.0, 3.0, -7.0, 1234.56, -0.01, 0.1 + 0.2, 1e15, -1e15, 999999999999999.0, 1e16, 1.5e20, 1e-7, 2.5e-5]
NUMBERS += [float("nan"), float("inf"), float("-inf"), 123456789.125]
NUMBERS += [12345678901.25, -98765432109.5, 123456789012345.6, 1e15 + 0.5, 0.0001, 0.00012]  # Arrow: exponents
WHEN = [dt.datetime(2026, 3, 1), dt.datetime(2026, 3, 1, 13, 5, 7, 250), dt.date(2026, 3, 1), dt.date(1900, 2, 28)]
WHEN += [
    dt.datetime(1899, 12, 31),
    dt.date(1, 1, 1),
    dt.datetime(9999, 12, 31, 23, 59, 59, 999999),
    dt.date(1960, 5, 4),
]
OTHERS = [True, False, 7, -12, dt.time(12, 30), dt.timedelta(days=2)]
FORMATS = [CellFormat(), CellFormat(",", "%d.%m.%Y"), CellFormat(",", "%d.%m.%y"), CellFormat(".", "%m/%d/%Y %H:%M")]


def _column(rng: random.Random, height: int) -> list[Any]:
    pools = rng.sample([TEXTS, NUMBERS, WHEN, OTHERS], rng.randint(1, 4))
    return [rng.choice(rng.choice(pools)) for _ in range(height)]


def _reference(values: list[Any], first: int, keep: np.ndarray | None, fmt: CellFormat) -> pd.Series:
    kept = [values[i] for i in keep] if keep is not None else values[first:]
    return _render_column(kept, fmt, {})


@pytest.mark.parametrize("seed", range(300))
def test_a_packed_column_renders_as_its_cells_do(seed: int) -> None:
    rng = random.Random(seed)
    height = rng.randint(1, 40)
    values = _column(rng, height)
    if seed % 7 == 0:  # the header above a column of one kind (the usual workbook)
        values[0] = "Amount"
    first = rng.randint(0, height)
    keep = (
        np.array(sorted(rng.sample(range(height), rng.randint(0, height))), dtype=np.int64) if seed % 3 == 0 else None
    )
    fmt = rng.choice(FORMATS)
    encoded = encode_column(list(values))
    check_column(encoded, height)
    got = render_packed(encoded, height, first, keep, fmt)
    pd.testing.assert_series_equal(got, _reference(values, first, keep, fmt))
    assert list(map(repr, decode_head(encoded, 5))) == list(map(repr, decode_column(encoded, height)[:5]))


def test_typed_cells_render_as_the_profile_writes_them() -> None:
    """Worked out by hand: whole numbers without a decimal part, others with the profile's mark and
    no exponent, dates in the profile's first format, impossible Excel dates refused in words."""
    values = ["Amount ", 1234.5, 3.0, 1e-7, dt.datetime(2026, 3, 1, 9, 30), dt.date(1900, 2, 28), True, "  x "]
    got = render_packed(encode_column(values), len(values), 1, None, CellFormat(",", "%d.%m.%Y"))
    assert got.tolist() == ["1234,5", "3", "0,0000001", "01.03.2026", INVALID_EXCEL_DATE, "TRUE", "x"]


def test_large_and_small_fractions_are_written_out_in_full() -> None:
    """Arrow writes 12345678901.25 as 1.234567890125e+10; a person's cell shows every digit."""
    values = ["Amount", 12345678901.25, -123456789012345.6, 0.0001, 0.00012, 1e15 + 0.5]
    got = render_packed(encode_column(values), len(values), 1, None, CellFormat(",", "%d.%m.%Y"))
    assert got.tolist() == ["12345678901,25", "-123456789012345,6", "0,0001", "0,00012", "1000000000000000,5"]


def test_a_text_column_is_trimmed_and_hidden_rows_left_out() -> None:
    values = ["Payer", " A ", "B", "  C", "D  "]
    got = render_packed(encode_column(values), 5, 1, np.array([1, 3, 4]), CellFormat())
    assert got.tolist() == ["A", "C", "D"]


@pytest.mark.parametrize(
    ("encoded", "height"),
    [
        (("text", b"a\x00b"), 3),  # two texts for three rows
        (("text", b"\xff"), 1),  # not UTF-8
        (("float", b"\x00" * 12), 2),  # a torn double
        (("mixed", b"\x00\x01", b"a", b"", b"", []), 2),  # a number cell with no number
        (("mixed", b"\x00\x09", b"a\x00b", b"", b"", []), 2),  # a tag no column has
        (("mixed", b"\x03", b"", b"", (10**9).to_bytes(8, "little"), []), 1),  # a day past 9999-12-31
        (("mixed", b"\x04", b"", b"", b"", "x"), 1),  # others not a list
        (("cells", ["a"]), 2),
        (("pickle", b""), 0),
    ],
)
def test_a_column_the_child_did_not_fill_is_refused(encoded: tuple[Any, ...], height: int) -> None:
    with pytest.raises(ValueError):
        check_column(encoded, height)
