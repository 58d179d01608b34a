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
from pipeline.readers.sandboxed import Refused, Unsafe, load_in_child
from pipeline.readers.table import SOURCE_ROW, RawTable, SkippedRow, col, find_header


@dataclass(frozen=True)
class CellFormat:
    """How typed cells become text: the profile's decimal mark and first date format."""

    decimal_mark: str = "."
    date_format: str = "%Y-%m-%d"


@dataclass
class Sheet:
    """One sheet's typed cells, column by column (row 1 first), with error cells put back as their
    text (``#N/A``). ``rows`` gives them row by row, built once when first asked for."""

    name: str
    columns: list[list[Any]]
    hidden: frozenset[int]
    height: int
    _rows: list[list[Any]] | None = field(default=None, repr=False)

    @property
    def rows(self) -> list[list[Any]]:
        if self._rows is None:
            self._rows = [list(r) for r in zip(*self.columns, strict=True)] if self.columns else []
        return self._rows

    def row(self, index: int) -> list[Any]:
        """Row ``index`` (0 = the sheet's first row)."""
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
            pool.submit(prepare_checks)
            loaded = load_in_child(data, sheet)
        columns = loaded.cells_by_column()
    except Refused as exc:
        raise InputError(file, str(exc)) from None
    except (Unsafe, ValueError, TypeError, IndexError, StopIteration) as exc:  # the child's answer is not trusted
        raise UnsafeWorkbook(
            file,
            f"this workbook cannot be read safely ({exc}); open it in Excel or LibreOffice, check it, "
            "and save it again (or export the sheet as CSV)",
        ) from None
    height = len(columns[0]) if columns else 0
    return Sheet(loaded.name, columns, loaded.hidden, height)


def prepare_checks() -> None:
    """Validate a one-cell frame, so that pandera's first real validation does not pay for
    registering its pandas backends (importing its data-synthesis strategies and hypothesis: a
    tenth of reading a 100k-row workbook). Run in a thread while the child reads the workbook; a
    failure here is left for the real validation to meet and report."""
    try:
        import pandera.pandas as pa_schema

        pa_schema.DataFrameSchema({"cell": pa_schema.Column(str)}).validate(pd.DataFrame({"cell": ["x"]}))
    except Exception:  # noqa: S110  (only a warm-up: the real validation reports what is wrong)
        pass


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
    dates: dict[Any, str] = {}
    for pos, cells in enumerate(sheet.columns):
        kept = [cells[n - 1] for n in numbers] if numbers is not None else cells[first:]
        columns[col(pos + 1)] = _render_column(kept, fmt, dates)
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
