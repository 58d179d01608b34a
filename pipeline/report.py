"""Workbooks people open: the errors workbook of rejected rows, formula-safe.

The errors workbook keeps the input's own header and columns, with ``row`` and ``error``
appended at the right, so a person fixes the values in Excel and drops the file back: the
same profile identifies it by its header and reads it like the original.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from pipeline.readers import SOURCE_ROW, col
from pipeline.validate import FileResult

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_HEAD = Font(bold=True)
_ERR_FILL = PatternFill("solid", fgColor="FFF2CC")


def safe_cell(ws: WriteOnlyWorksheet, value: Any, *, bold: bool = False, fill: bool = False) -> Cell:
    """A cell whose text is stored as text: ``=SUM(...)`` or ``+1`` never becomes a formula."""
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub(lambda m: f"\\x{ord(m.group(0)):02x}", value)
    cell = WriteOnlyCell(ws, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
        if is_formula_like(value):
            cell.quotePrefix = True  # Excel keeps it text even after the cell is edited
    if bold:
        cell.font = _HEAD
    if fill:
        cell.fill = _ERR_FILL
    return cell


def is_formula_like(text: str) -> bool:
    return text.startswith(_FORMULA_START)


def write_errors_workbook(result: FileResult, path: Path) -> Path:
    """Rejected rows in the input's coordinates, one ``error`` text per row; plus an Issues sheet."""
    table = result.statement.table
    by_row: dict[int, list[str]] = defaultdict(list)
    bad_columns: dict[int, set[str]] = defaultdict(set)
    for issue in result.issues:
        by_row[issue.source_row].append(issue.message)
        bad_columns[issue.source_row].add(issue.column)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(table.sheet or "Rejected")
    width = table.width
    header = list(table.header or ())
    names = table.column_names()
    label_of = {p: n for n, p in names.items()}
    if table.header is not None:
        # Lines above the header keep their place, so a profile that finds its header by row
        # number finds it in the workbook too.
        for skipped in sorted(table.skipped, key=lambda r: r.source_row):
            if table.header_row is not None and skipped.source_row < table.header_row:
                ws.append([safe_cell(ws, skipped.text if skipped.reason == "preamble" else "")])
        cells = header + [""] * (width - len(header)) + ["row", "error"]
        ws.append([safe_cell(ws, v, bold=True) for v in cells])
    data = table.data.set_index(SOURCE_ROW)
    for row in sorted(by_row):
        values = data.loc[row]
        out = []
        for pos in range(1, width + 1):
            text = str(values[col(pos)])
            flagged = any(
                label_of.get(pos, f"column {pos}") in c.split(" + ")
                or label_of.get(pos, f"column {pos}") in c.split(" / ")
                for c in bad_columns[row]
            )
            out.append(safe_cell(ws, text, fill=flagged))
        out.append(safe_cell(ws, row))
        out.append(safe_cell(ws, "; ".join(by_row[row])))
        ws.append(out)
    issues = wb.create_sheet("Issues")
    issues.append(
        [safe_cell(issues, h, bold=True) for h in ("file", "row", "column", "value", "reason_code", "message")]
    )
    for i in result.issues:
        issues.append(
            [safe_cell(issues, v) for v in (i.source_file, i.source_row, i.column, i.value, i.reason_code, i.message)]
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
