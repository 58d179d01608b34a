"""Workbooks (xlsx, xlsm, xls, ods) via python-calamine, with openpyxl as fallback for xlsx.

Typed cells are turned into text the way the profile writes values (its decimal mark, its
first date format), so a number cell and a text cell of the same column parse identically.
Hidden rows are read from the sheet XML, which calamine does not expose.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.errors import InputError
from pipeline.readers.sandboxed import (
    Refused,
    Unsafe,
    check_column,
    decode_column,
    decode_head,
    encode_column,
    load_in_child,
)
from pipeline.readers.table import SOURCE_ROW, RawTable, SkippedRow, col, find_header


@dataclass(frozen=True)
class CellFormat:
    """How typed cells become text: the profile's decimal mark and first date format."""

    decimal_mark: str = "."
    date_format: str = "%Y-%m-%d"


#: Rows of a sheet built as cells when a profile looks for its header (``head``, ``row``) before
#: the whole sheet is: a header search or a preamble never needs more.
HEAD_ROWS = 256


@dataclass
class Sheet:
    """One sheet's typed cells, column by column (row 1 first), with error cells put back as their
    text (``#N/A``), kept as the child packed them (``encoded``, checked to fill ``height`` rows).

    Reading the sheet as a table renders the packed columns to text column-wise; cells are built
    as Python objects only where asked: the first rows for the header search (``head``, ``row``),
    every cell for ``columns`` and ``rows`` (fixed cells, suggestions), each built once."""

    name: str
    encoded: list[tuple[Any, ...]]
    hidden: frozenset[int]
    height: int
    _columns: list[list[Any]] | None = field(default=None, repr=False)
    _head: list[list[Any]] | None = field(default=None, repr=False)
    _rows: list[list[Any]] | None = field(default=None, repr=False)

    @property
    def columns(self) -> list[list[Any]]:
        if self._columns is None:
            self._columns = [decode_column(c, self.height) for c in self.encoded]
        return self._columns

    @property
    def rows(self) -> list[list[Any]]:
        if self._rows is None:
            self._rows = [list(r) for r in zip(*self.columns, strict=True)] if self.columns else []
        return self._rows

    def row(self, index: int) -> list[Any]:
        """Row ``index`` (0 = the sheet's first row)."""
        if self._columns is None and index < HEAD_ROWS:
            if self._head is None:
                self._head = [decode_head(c, HEAD_ROWS) for c in self.encoded]
            return [c[index] for c in self._head]
        return [c[index] for c in self.columns]

    def head(self, limit: int) -> list[list[Any]]:
        return [self.row(i) for i in range(min(limit, self.height))]


class UnsafeWorkbook(InputError):
    """The native reader hung, panicked, aborted or ran out of its limits on this file."""


def open_sheet(file: str, data: bytes, sheet: str | int | None) -> Sheet:
    """Load one sheet (a name, a 1-based index, or None for the first visible one) in a bounded child.

    A hang, panic, abort or runaway allocation in the native reader becomes an InputError (exit 2)
    naming the file, never a traceback, a dead process or a lock held forever.
    """
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:  # this process is idle while the child reads
            from schemas.checks import prepare_checks  # (pandera only for a file that will need it)

            pool.submit(prepare_checks)
            loaded = load_in_child(data, sheet)
        height = loaded.height
        if not isinstance(height, int) or height < 0:
            raise ValueError(f"a sheet of {height!r} rows")
        encoded = loaded.columns if loaded.columns is not None else [encode_column(c) for c in loaded.cells_by_column()]
        if not isinstance(encoded, list) or not all(isinstance(c, tuple) for c in encoded):
            raise ValueError("columns that are not packed columns")
        for column in encoded:
            check_column(column, height)
    except Refused as exc:
        raise InputError(file, str(exc)) from None
    except (Unsafe, ValueError, TypeError, IndexError, StopIteration) as exc:  # the child's answer is not trusted
        raise UnsafeWorkbook(
            file,
            f"this workbook cannot be read safely ({exc}); open it in Excel or LibreOffice, check it, "
            "and save it again (or export the sheet as CSV)",
        ) from None
    return Sheet(loaded.name, encoded, loaded.hidden, height if encoded else 0)


def _empty(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


#: Excel counts a 29 February 1900 that never existed (serial 60), so its serials before 61 do not
#: name the day they seem to; calamine turns serial 60 into 1900-02-28. No payment is that old.
EXCEL_FIRST_TRUE_DATE = dt.date(1900, 3, 1)
INVALID_EXCEL_DATE = "invalid Excel date (before 1900-03-01; Excel's 29.02.1900 does not exist)"


def _date_text(value: dt.date, fmt: CellFormat) -> str:
    """A typed date in the profile's format; one before 1 March 1900 as text no date format reads,
    so the row is refused with the reason shown instead of dated a day off (or 1900-02-28)."""
    if (value.year, value.month) < (1900, 3):
        return INVALID_EXCEL_DATE
    return value.strftime(fmt.date_format)


def render_cell(value: Any, fmt: CellFormat) -> str:
    """A typed cell as the text the profile expects (numbers without exponent or float noise)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        text = format(Decimal(repr(value)), "f")
        return text.replace(".", fmt.decimal_mark) if fmt.decimal_mark != "." else text
    if isinstance(value, (dt.datetime, dt.date)):
        return _date_text(value, fmt)
    if isinstance(value, dt.time):
        return value.isoformat()
    return str(value)


def read_sheet_table(
    file: str,
    sheet: Sheet,
    fmt: CellFormat,
    *,
    header_present: bool,
    signature: tuple[str, ...],
    header_row: int | None,
    search_rows: int,
    hidden_rows: str,
) -> RawTable:
    """A sheet as a RawTable: header found by signature or row, preamble skipped; hidden rows are
    skipped, kept, or kept and marked for rejection (``hidden_rows``: skip, include, reject)."""
    height = sheet.height
    if not height:
        raise InputError(file, f"sheet {sheet.name!r} is empty; expected a header and at least one data row")
    hdr: int | None = None
    if header_present:
        if signature:
            preview = [(i + 1, [render_cell(v, fmt) for v in r]) for i, r in enumerate(sheet.head(search_rows))]
            hdr = find_header(preview, signature, search_rows)
            if hdr is None:
                raise InputError(
                    file, f"sheet {sheet.name!r}: no header row with {list(signature)} in the first {search_rows} rows"
                )
        else:
            assert header_row is not None
            if header_row > height:
                raise InputError(file, f"sheet {sheet.name!r} has {height} rows; header row {header_row} is past it")
            hdr = header_row - 1
    skipped: list[SkippedRow] = []
    header: tuple[str, ...] | None = None
    first = 0
    if hdr is not None:
        for i in range(hdr):
            text = _row_text(sheet.row(i), fmt)
            skipped.append(SkippedRow(i + 1, "preamble" if text.strip(" ;") else "blank", text))
        header = tuple(render_cell(v, fmt) for v in sheet.row(hdr))
        skipped.append(SkippedRow(hdr + 1, "header", _row_text(sheet.row(hdr), fmt)))
        first = hdr + 1
    if hdr is not None and hdr + 1 >= height:
        raise InputError(
            file,
            f"sheet {sheet.name!r} has a header (row {hdr + 1}) but no rows after it; expected at least one data row",
        )
    hidden = sorted(n for n in sheet.hidden if n > first) if hidden_rows == "skip" else []
    for n in hidden:
        skipped.append(SkippedRow(n, "hidden", _row_text(sheet.row(n - 1), fmt)))
    numbers = [n for n in range(first + 1, height + 1) if n not in sheet.hidden] if hidden else None
    columns: dict[str, object] = {
        SOURCE_ROW: pd.Series(numbers if numbers is not None else np.arange(first + 1, height + 1), dtype="int64")
    }
    keep = np.asarray(numbers, dtype=np.int64) - 1 if numbers is not None else None
    for pos, encoded in enumerate(sheet.encoded):
        columns[col(pos + 1)] = render_packed(encoded, height, first, keep, fmt)
    return RawTable(
        file=file,
        kind="excel",
        data=pd.DataFrame(columns),
        header=header,
        header_row=None if hdr is None else hdr + 1,
        rows_read=height,
        skipped=skipped,
        sheet=sheet.name,
        hidden=frozenset(n for n in sheet.hidden if n > first) if hidden_rows == "reject" else frozenset(),
    )


def render_packed(
    encoded: tuple[Any, ...], height: int, first: int, keep: np.ndarray | None, fmt: CellFormat
) -> pd.Series:
    """The kept cells of one checked ``encode_column`` (rows ``first`` on, or the rows ``keep``,
    0-based) rendered exactly as ``_render_column`` renders them one by one, but column-wise: text
    split and trimmed by Arrow, whole numbers formatted by Arrow, each distinct date formatted
    once; only other numbers (their shortest ``repr``) and rare cells are Python calls per cell."""
    kind = encoded[0]
    if kind == "text":
        return _series(pc.utf8_trim_whitespace(_kept(_split(encoded[1], height), first, keep)))
    if kind == "float":
        return _series(_kept(_number_texts(np.frombuffer(encoded[1], np.float64), fmt), first, keep))
    if kind == "mixed" and None not in encoded[5]:
        tags = np.frombuffer(encoded[1], np.uint8)
        kept_tags = tags[first:] if keep is None else tags[keep]
        only_text = bool(kept_tags.size) and bool((kept_tags == _TAG_TEXT).all())  # as pa.array() takes them
        _, _, text, numbers, stamps, others = encoded
        texts = _mixed_texts(tags, text, numbers, stamps, others, fmt, arrow_trim=only_text)
        return _series(_kept(texts, first, keep))
    cells = decode_column(encoded, height)
    return _render_column([cells[i] for i in keep] if keep is not None else cells[first:], fmt, {})


_TAG_TEXT, _TAG_NUMBER, _TAG_DATETIME, _TAG_DATE, _TAG_OTHER = range(5)  # encode_column's cell tags


def _series(texts: pa.Array) -> pd.Series:
    return pd.Series(texts.to_pandas().array)


def _kept(texts: pa.Array, first: int, keep: np.ndarray | None) -> pa.Array:
    return texts.slice(first) if keep is None else texts.take(pa.array(keep))


def _split(buffer: bytes, count: int) -> pa.Array:
    """``count`` texts joined by NUL (checked UTF-8) as one Arrow array, split in C++."""
    if not count:
        return pa.array([], pa.large_string())
    whole = pa.array([buffer], pa.large_binary()).cast(pa.large_string())
    return pc.split_pattern(whole, "\x00").flatten()


def _number_texts(values: np.ndarray, fmt: CellFormat) -> pa.Array:
    """Number cells as ``_render_column`` writes them: whole numbers below 10**15 as integers,
    others as their shortest ``repr`` (no exponent, the profile's mark), both formatted by Arrow:
    its cast of a double to text is the shortest text that reads back as the same double, as
    ``repr`` is, and differs from ``repr`` only in using an exponent sooner (1e10 and up); the
    cells it writes with an exponent are written by ``repr`` and ``Decimal`` instead."""
    whole = (np.floor(values) == values) & (values > -1e15) & (values < 1e15)
    integers = pa.array(values[whole].astype(np.int64)).cast(pa.large_string())
    fractions = pa.array(values[~whole]).cast(pa.large_string())
    exponent = pc.match_substring(fractions, "e", ignore_case=True)
    if pc.any(exponent).as_py():  # 1e-07 and the like: written out in full, as Excel shows them
        texts = fractions.to_pylist()
        odd = values[~whole]
        for i in np.flatnonzero(exponent.to_numpy(zero_copy_only=False)).tolist():
            shortest = repr(float(odd[i]))
            texts[i] = format(Decimal(shortest), "f") if "e" in shortest else shortest
        fractions = pa.array(texts, pa.large_string())
    if fmt.decimal_mark != ".":
        fractions = pc.replace_substring(fractions, ".", fmt.decimal_mark)
    return _scatter([integers, fractions], [np.flatnonzero(whole), np.flatnonzero(~whole)])


def _mixed_texts(
    tags: np.ndarray,
    text: bytes,
    numbers: bytes,
    stamps: bytes,
    others: list[Any],
    fmt: CellFormat,
    *,
    arrow_trim: bool,
) -> pa.Array:
    """A mixed column rendered kind by kind and put back in row order. Text cells are trimmed by
    Arrow when every kept cell is text (as ``_render_column`` does), else by ``str.strip``."""
    is_text = tags == _TAG_TEXT
    texts = _split(text, int(is_text.sum()))
    if not arrow_trim:
        texts = pa.array([t.strip() for t in texts.to_pylist()], pa.large_string())
    is_when = (tags == _TAG_DATETIME) | (tags == _TAG_DATE)
    when = np.frombuffer(stamps, np.int64)
    keys = np.where(tags[is_when] == _TAG_DATETIME, when, -when - 1)  # a date as -ordinal - 1
    distinct, which = np.unique(keys, return_inverse=True)
    shown = [_date_text(_from_stamp(k) if k >= 0 else dt.date.fromordinal(-k - 1), fmt) for k in distinct.tolist()]
    pieces = [
        pc.utf8_trim_whitespace(texts) if arrow_trim else texts,
        _number_texts(np.frombuffer(numbers, np.float64), fmt),
        pa.array(shown, pa.large_string()).take(pa.array(which.reshape(-1))),
        pa.array([render_cell(v, fmt).strip() for v in others], pa.large_string()),
    ]
    positions = [np.flatnonzero(is_text), np.flatnonzero(tags == _TAG_NUMBER), np.flatnonzero(is_when)]
    return _scatter(pieces, [*positions, np.flatnonzero(tags == _TAG_OTHER)])


def _from_stamp(stamp: int) -> dt.datetime:
    day, micro = divmod(stamp, 86_400_000_000)
    return dt.datetime.combine(dt.date.fromordinal(day), dt.time()) + dt.timedelta(microseconds=micro)


def _scatter(pieces: list[pa.Array], positions: list[np.ndarray]) -> pa.Array:
    """Arrays of texts whose cells belong at ``positions`` (together 0..n-1), as one array in order."""
    order = np.concatenate(positions)
    return pa.concat_arrays(pieces).take(pa.array(np.argsort(order, kind="stable")))


def _render_column(values: list[Any], fmt: CellFormat, dates: dict[Any, str]) -> pd.Series:
    """One column of typed cells as trimmed text; a sheet has few distinct dates, so format each once."""
    try:  # a column of text cells only: convert and trim in C++
        return pd.Series(pc.utf8_trim_whitespace(pa.array(values, type=pa.string())).to_pandas().array)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    out: list[str] = []
    append = out.append
    mark = fmt.decimal_mark
    for v in values:
        kind = type(v)
        if kind is str:
            append(v.strip())
        elif kind is float:
            if v.is_integer() and -1e15 < v < 1e15:
                append(str(int(v)))
            else:
                text = repr(v)  # the shortest text that reads back as the same double: what Excel shows
                if "e" in text or "E" in text:
                    text = format(Decimal(text), "f")
                append(text if mark == "." else text.replace(".", mark))
        elif kind is dt.date or kind is dt.datetime:
            shown = dates.get(v)
            if shown is None:
                shown = dates[v] = _date_text(v, fmt)
            append(shown)
        else:
            append(render_cell(v, fmt).strip())
    return pd.Series(out, dtype="str")


def _row_text(row: Sequence[Any], fmt: CellFormat) -> str:
    return "; ".join(render_cell(v, fmt) for v in row if not _empty(v))[:200]
