"""Workbooks (xlsx, xlsm, xls, ods) via python-calamine, with openpyxl as fallback for xlsx.

Typed cells are turned into text the way the profile writes values (its decimal mark, its
first date format), so a number cell and a text cell of the same column parse identically.
Hidden rows are read from the sheet XML, which calamine does not expose.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import PurePosixPath
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from defusedxml import ElementTree
from python_calamine import CalamineWorkbook, SheetVisibleEnum

from pipeline.errors import InputError
from pipeline.readers.table import SOURCE_ROW, RawTable, SkippedRow, col, find_header

_ROW_TAG = re.compile(rb"<(?:\w+:)?row\b[^>]*>")
_ROW_NUM = re.compile(rb'\br="(\d+)"')
_HIDDEN = re.compile(rb'\bhidden="(?:1|true)"')
_ERROR_CELL = re.compile(rb'<(?:\w+:)?c\b[^>]*?\br="([A-Z]+)(\d+)"[^>]*?\bt="e"[^>]*>.*?<(?:\w+:)?v>([^<]*)</', re.S)


@dataclass(frozen=True)
class CellFormat:
    """How typed cells become text: the profile's decimal mark and first date format."""

    decimal_mark: str = "."
    date_format: str = "%Y-%m-%d"


@dataclass
class Sheet:
    """One sheet's typed cells (row 1 first), with error cells put back as their text (``#N/A``)."""

    name: str
    rows: list[list[Any]]
    hidden: frozenset[int]


def open_sheet(file: str, data: bytes, sheet: str | int | None) -> Sheet:
    """Load one sheet; ``sheet`` is a name, a 1-based index, or None for the first visible one."""
    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:  # calamine raises its own error types for damaged files
        return _open_with_openpyxl(file, data, sheet, exc)
    names = list(wb.sheet_names)
    name = _choose_sheet(file, names, sheet, [m.visible == SheetVisibleEnum.Visible for m in wb.sheets_metadata])
    with ThreadPoolExecutor(max_workers=1) as pool:  # unzipping the sheet XML again overlaps calamine's parse
        marks = pool.submit(_sheet_marks, data, name)
        try:
            rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
        except Exception as exc:
            raise InputError(file, f"sheet {name!r} cannot be read ({exc}); the workbook may be damaged") from None
        return _sheet(name, rows, marks.result())


def _choose_sheet(file: str, names: list[str], sheet: str | int | None, visible: list[bool]) -> str:
    if not names:
        raise InputError(file, "the workbook has no sheets")
    if sheet is None:
        for name, vis in zip(names, visible, strict=False):
            if vis:
                return name
        return names[0]
    if isinstance(sheet, int):
        if not 1 <= sheet <= len(names):
            raise InputError(file, f"has no sheet number {sheet}; it has {len(names)}: {names}")
        return names[sheet - 1]
    if sheet not in names:
        raise InputError(file, f"has no sheet named {sheet!r}; its sheets are {names}")
    return sheet


def _open_with_openpyxl(file: str, data: bytes, sheet: str | int | None, first: Exception) -> Sheet:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:
        raise InputError(file, f"is not a readable workbook (truncated or damaged?): {first}") from None
    try:
        names = list(wb.sheetnames)
        visible = [wb[n].sheet_state == "visible" for n in names]
        name = _choose_sheet(file, names, sheet, visible)
        rows = [["" if v is None else v for v in r] for r in wb[name].iter_rows(values_only=True)]
    finally:
        wb.close()
    return _sheet(name, rows, _sheet_marks(data, name))


def _sheet(name: str, rows: list[list[Any]], marks: SheetMarks) -> Sheet:
    """Put error cells back as text, drop the empty margins, keep only hidden rows that remain."""
    for (row, column), text in marks.errors.items():
        if row - 1 < len(rows) and column < len(rows[row - 1]):
            rows[row - 1][column] = text
    trimmed = _trim(rows)
    return Sheet(name, trimmed, frozenset(n for n in marks.hidden if n <= len(trimmed)))


def _trim(rows: list[list[Any]]) -> list[list[Any]]:
    """Drop trailing empty rows and the empty right-hand columns of a huge used range."""
    last = len(rows)
    while last and all(_empty(v) for v in rows[last - 1]):
        last -= 1
    rows = rows[:last]
    width = 0
    for r in rows:
        for i in range(len(r) - 1, width - 1, -1):
            if not _empty(r[i]):
                width = i + 1
                break
    return [r if len(r) == width else list(r[:width]) + [""] * (width - len(r)) for r in rows]


def _empty(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


@dataclass(frozen=True)
class SheetMarks:
    """What calamine does not tell: hidden rows, and error cells (``#N/A``) it returns as empty."""

    hidden: frozenset[int] = frozenset()
    errors: dict[tuple[int, int], str] = field(default_factory=dict)


def _sheet_marks(data: bytes, sheet_name: str) -> SheetMarks:
    """Scan an xlsx sheet's XML (nothing for xls/ods, whose hidden rows are not detected)."""
    if not data.startswith(b"PK"):
        return SheetMarks()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            path = _sheet_path(zf, sheet_name)
            if path is None:
                return SheetMarks()
            with zf.open(path) as fh:
                return _scan_sheet(iter(lambda: fh.read(1 << 20), b""))
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError):
        return SheetMarks()


def _sheet_path(zf: zipfile.ZipFile, sheet_name: str) -> str | None:
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    rel_ns = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    wb = ElementTree.fromstring(zf.read("xl/workbook.xml"))
    rid = None
    for s in wb.iterfind("m:sheets/m:sheet", ns):
        if s.get("name") == sheet_name:
            rid = s.get(rel_ns)
    if rid is None:
        return None
    rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    for rel in rels:
        if rel.get("Id") == rid:
            target = rel.get("Target", "")
            return target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
    return None


def _scan_sheet(chunks: Iterable[bytes]) -> SheetMarks:
    """Hidden rows and error cells, reading the XML a chunk at a time, cut only after ``</row>``."""
    hidden: set[int] = set()
    errors: dict[tuple[int, int], str] = {}
    tail = b""
    for chunk in [*chunks, b""]:
        buf = tail + chunk
        if chunk:
            cut = buf.rfind(b"</row>")
            if cut < 0:
                tail = buf
                continue
            body, tail = buf[: cut + 6], buf[cut + 6 :]
        else:
            body, tail = buf, b""
        if b"hidden=" in body:  # the usual case skips the regex over megabytes of XML
            for m in _ROW_TAG.finditer(body):
                tag = m.group(0)
                if _HIDDEN.search(tag) and (num := _ROW_NUM.search(tag)):
                    hidden.add(int(num.group(1)))
        if b't="e"' in body:
            for m in _ERROR_CELL.finditer(body):
                letters, number, value = m.group(1), int(m.group(2)), m.group(3)
                errors[(number, _column_index(letters.decode()))] = value.decode("utf-8", "replace")
    return SheetMarks(frozenset(hidden), errors)


def _column_index(letters: str) -> int:
    """``A`` -> 0, ``AB`` -> 27."""
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n - 1


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
        return value.strftime(fmt.date_format)
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
    skip_hidden: bool,
) -> RawTable:
    """A sheet as a RawTable: header found by signature or row, preamble and hidden rows skipped."""
    rows = sheet.rows
    if not rows:
        raise InputError(file, f"sheet {sheet.name!r} is empty; expected a header and at least one data row")
    hdr: int | None = None
    if header_present:
        if signature:
            preview = [(i + 1, [render_cell(v, fmt) for v in r]) for i, r in enumerate(rows[:search_rows])]
            hdr = find_header(preview, signature, search_rows)
            if hdr is None:
                raise InputError(
                    file, f"sheet {sheet.name!r}: no header row with {list(signature)} in the first {search_rows} rows"
                )
        else:
            assert header_row is not None
            if header_row > len(rows):
                raise InputError(file, f"sheet {sheet.name!r} has {len(rows)} rows; header row {header_row} is past it")
            hdr = header_row - 1
    skipped: list[SkippedRow] = []
    header: tuple[str, ...] | None = None
    first = 0
    if hdr is not None:
        for i in range(hdr):
            text = _row_text(rows[i], fmt)
            skipped.append(SkippedRow(i + 1, "preamble" if text.strip(" ;") else "blank", text))
        header = tuple(render_cell(v, fmt) for v in rows[hdr])
        skipped.append(SkippedRow(hdr + 1, "header", _row_text(rows[hdr], fmt)))
        first = hdr + 1
    width = len(rows[0]) if rows else 0
    if hdr is not None and hdr + 1 >= len(rows):
        raise InputError(
            file,
            f"sheet {sheet.name!r} has a header (row {hdr + 1}) but no rows after it; expected at least one data row",
        )
    hidden = sorted(n for n in sheet.hidden if n > first) if skip_hidden else []
    for n in hidden:
        skipped.append(SkippedRow(n, "hidden", _row_text(rows[n - 1], fmt)))
    numbers = [n for n in range(first + 1, len(rows) + 1) if n not in sheet.hidden] if hidden else None
    kept = [rows[n - 1] for n in numbers] if numbers is not None else rows[first:]
    columns: dict[str, object] = {
        SOURCE_ROW: pd.Series(numbers if numbers is not None else np.arange(first + 1, len(rows) + 1), dtype="int64")
    }
    dates: dict[Any, str] = {}
    cells = list(zip(*kept, strict=True)) if kept else [() for _ in range(width)]
    for pos in range(width):
        columns[col(pos + 1)] = _render_column(list(cells[pos]), fmt, dates)
    return RawTable(
        file=file,
        kind="excel",
        data=pd.DataFrame(columns),
        header=header,
        header_row=None if hdr is None else hdr + 1,
        rows_read=len(rows),
        skipped=skipped,
        sheet=sheet.name,
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
                shown = dates[v] = v.strftime(fmt.date_format)
            append(shown)
        else:
            append(render_cell(v, fmt).strip())
    return pd.Series(out, dtype="str")


def _row_text(row: Sequence[Any], fmt: CellFormat) -> str:
    return "; ".join(render_cell(v, fmt) for v in row if not _empty(v))[:200]
