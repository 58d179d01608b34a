"""What people and tools read after a run: the errors workbook, the run report, the console summary.

The errors workbook keeps the input's own header and columns, with ``row`` and ``error``
appended at the right, so a person fixes the values in Excel and drops the file back: the
same profile identifies it by its header and reads it like the original.

The run report (``report.xlsx`` + ``report.json`` in the run folder) shows where every input line
ended and proves ``lines read = sum of states``. Text cells go through ``safe_cell``, so a
description like ``=HYPERLINK(...)`` stays text. An amount is written as a number only when the
float Excel stores equals the exact amount (at most 15 significant digits); otherwise it is written
as exact text rather than a number that is off by a cent. Both files are written to a temporary
name and renamed into place, so a reader (or a crash) never sees half a report.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import tempfile
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from pipeline.money import exact_float, exact_minor, minor_text
from pipeline.readers import SOURCE_ROW, RawTable, col
from pipeline.reconcile import (
    count_states,
    decimals_for,
    identity_text,
    totals_by_state,
)
from pipeline.validate import FileResult
from schemas.codes import STATE_LABELS, STATES, Skip, State
from schemas.lines import DISCREPANCY_COLUMNS, conform_discrepancies, conform_lines

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


_SHEET_FORBIDDEN = re.compile(r"[\\/*?:\[\]\x00-\x1f]")
SHEET_TITLE_MAX = 31


def sheet_title(name: str) -> str:
    """A sheet name Excel accepts, as close to the input's as it can be.

    calamine reads names Excel itself would never write (``Q1/Q2``, 40 characters, control
    characters); openpyxl refuses them. Forbidden characters become ``_``, the name is cut to
    Excel's 31 characters, and leading or trailing apostrophes (also forbidden) are dropped.
    """
    title = _SHEET_FORBIDDEN.sub("_", name)[:SHEET_TITLE_MAX].strip("'")
    return title if title.strip() else "Rejected"


def try_write_errors_workbook(result: FileResult, path: Path) -> tuple[Path | None, str | None]:
    """The errors workbook, or why it could not be written: a folder that cannot be written must
    not turn a finished check into a traceback; the rejections are still reported on the console."""
    try:
        return write_errors_workbook(result, path), None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return None, (
            f"{result.file}: the errors workbook could not be written to {path} ({reason}); "
            "pass --errors-out to a folder you can write to"
        )


class _Sheet:
    """One XlsxWriter sheet written row by row, every text stored as text.

    XlsxWriter in constant-memory mode writes about four times faster than openpyxl's write-only
    mode: 100,000 rejected rows (a wrong profile, a hostile ODS) take seconds, not minutes.
    Text that starts like a formula gets Excel's quote prefix, so it stays text when edited;
    characters XML cannot carry are written as ``\\xNN``.
    """

    def __init__(self, wb: Any, title: str) -> None:
        self.ws = wb.add_worksheet(title)
        self.row = 0
        self.formats = {
            (bold, fill, quote): wb.add_format(
                {"bold": bold, "quote_prefix": quote, **({"bg_color": "#FFF2CC", "pattern": 1} if fill else {})}
            )
            for bold in (False, True)
            for fill in (False, True)
            for quote in (False, True)
        }

    def append(self, values: Sequence[Any], *, bold: bool = False, fill: Sequence[bool] = ()) -> None:
        for c, value in enumerate(values):
            filled = c < len(fill) and fill[c]
            if isinstance(value, int) and not isinstance(value, bool):
                self.ws.write_number(self.row, c, value, self.formats[(bold, filled, False)])
                continue
            text = "" if value is None else str(value)
            if ILLEGAL_CHARACTERS_RE.search(text):
                text = ILLEGAL_CHARACTERS_RE.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)
            if text or bold or filled:
                self.ws.write_string(self.row, c, text, self.formats[(bold, filled, is_formula_like(text))])
        self.row += 1


def _rejected_rows(
    table: RawTable,
    by_row: Mapping[int, list[str]],
    bad_columns: Mapping[int, set[str]],
    label_of: Mapping[int, str],
) -> Iterable[tuple[list[Any], list[bool]]]:
    """Each rejected row's cells, its row number and its messages, with which cells to fill.

    Column-wise (no ``DataFrame.loc`` per row): 100k rejected rows of 16 columns take seconds.
    """
    width = table.width
    rows = sorted(by_row)
    where = pd.Index(table.data[SOURCE_ROW].to_numpy()).get_indexer(rows)
    columns = [table.data[col(pos)].to_numpy()[where].tolist() for pos in range(1, width + 1)]
    labels = [label_of.get(pos, f"column {pos}") for pos in range(1, width + 1)]
    for i, row in enumerate(rows):
        parts = {p for c in bad_columns[row] for p in _COLUMN_SPLIT.split(c)}
        values: list[Any] = [str(columns[k][i]) for k in range(width)]
        yield [*values, row, "; ".join(by_row[row])], [labels[k] in parts for k in range(width)]


_COLUMN_SPLIT = re.compile(r" \+ | / ")
_ISSUE_HEADER = ("file", "row", "column", "value", "reason_code", "message")


def write_errors_workbook(result: FileResult, path: Path) -> Path:
    """Rejected rows in the input's coordinates, one ``error`` text per row; plus an Issues sheet.

    Built in a temporary folder and copied into place at the end, so a folder that cannot be
    written fails cleanly (``try_write_errors_workbook`` turns that into a warning). Not in memory:
    XlsxWriter's ``in_memory`` turns its constant-memory mode off, which made 100,000 rejected
    rows take 12 s in ``close()`` instead of about 1 s.
    """
    import xlsxwriter

    table = result.statement.table
    by_row: dict[int, list[str]] = defaultdict(list)
    bad_columns: dict[int, set[str]] = defaultdict(set)
    for issue in result.issues:
        by_row[issue.source_row].append(issue.message)
        bad_columns[issue.source_row].add(issue.column)
    scratch = tempfile.TemporaryDirectory(prefix="payimport-errors-")
    built = Path(scratch.name) / "errors.xlsx"
    options = {"constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False}
    wb = xlsxwriter.Workbook(str(built), {**options, "strings_to_urls": False, "tmpdir": scratch.name})
    ws = _Sheet(wb, sheet_title(table.sheet or "Rejected"))
    width, header = table.width, list(table.header or ())
    label_of = {p: n for n, p in table.column_names().items()}
    if table.header is not None:
        # Lines above the header keep their place, so a profile that finds its header by row
        # number finds it in the workbook too.
        for skipped in sorted(table.skipped, key=lambda r: r.source_row):
            if table.header_row is not None and skipped.source_row < table.header_row:
                ws.append([skipped.text if skipped.reason == Skip.PREAMBLE else ""])
        ws.append([*header, *[""] * (width - len(header)), "row", "error"], bold=True)
    for values, fill in _rejected_rows(table, by_row, bad_columns, label_of):
        ws.append(values, fill=fill)
    issues = _Sheet(wb, "Issues" if ws.ws.name.lower() != "issues" else "Issues (all)")
    issues.append(_ISSUE_HEADER, bold=True)
    for i in result.issues:
        issues.append((i.source_file, i.source_row, i.column, i.value, i.reason_code, i.message))
    try:
        wb.close()
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built, path)
    finally:
        scratch.cleanup()
    return path


# --- the run report --------------------------------------------------------------------------------------

RUN_SHEETS = ("Summary", "Payments", "Rejected", "Needs review", "Discrepancies")
_LINE_DETAIL = (
    "customerNumber",
    "appliesToInvoiceNumber",
    "amount",
    "currency",
    "postingDate",
    "documentNumber",
    "externalDocumentNumber",
    "description",
)
PAYMENTS_SHEET_COLUMNS = (
    "state",
    "source_file",
    "source_row",
    "lineNumber",
    *_LINE_DETAIL,
    "flags",
    "match_details",
    "bc_id",
    "journal_code",
    "key",
)
REJECTED_SHEET_COLUMNS = ("source_file", "source_row", "reason_code", "message", *_LINE_DETAIL, "key")
REVIEW_SHEET_COLUMNS = (
    "source_file",
    "source_row",
    "reason_code",
    "message",
    "candidates",
    "match_details",
    *_LINE_DETAIL,
    "flags",
    "key",
)
_WIDTH_SAMPLE = 500
_MAX_WIDTH = 60


def write_run_report(
    run_dir: Path,
    summary: Mapping[str, Any],
    lines: pd.DataFrame,
    discrepancies: pd.DataFrame,
    *,
    decimals: int | Mapping[str, int] | None = None,
    rows_per_sheet: int | None = None,
) -> dict[str, Path]:
    """Write ``report.xlsx`` and ``report.json`` into ``run_dir``; return ``{"xlsx": ..., "json": ...}``.

    A table longer than a sheet can hold (``rows_per_sheet``, Excel's limit by default) goes on
    over "Payments (2)", "Payments (3)"...

    ``lines`` is the run's lines frame (``schemas.lines.RunLine``; missing columns are treated as
    empty), ``discrepancies`` what ``compare_with_bc`` found. Counts and totals are computed from
    ``lines``, so the report cannot disagree with the lines it lists. ``decimals`` (places per
    currency, or one number for all) defaults to ``summary["decimals"]``, else 2.
    """
    places: int | Mapping[str, int] = decimals if decimals is not None else summary.get("decimals", 2)
    frame = conform_lines(lines)
    found = conform_discrepancies(discrepancies)
    amounts = _amount_texts(frame, places)
    xlsx = _replace_atomically(
        run_dir / "report.xlsx",
        lambda p: _write_xlsx(p, summary, frame, found, places, rows_per_sheet or EXCEL_DATA_ROWS),
    )
    document = {
        "summary": _json_summary(summary, frame, places),
        "lines": _line_records(frame, amounts),
        "discrepancies": _records(found),
    }
    json_path = _replace_atomically(run_dir / "report.json", lambda p: _write_json(p, document))
    return {"xlsx": xlsx, "json": json_path}


def number_format(decimals: int) -> str:
    return "#,##0" if decimals <= 0 else "#,##0." + "0" * decimals


def _write_xlsx(
    path: Path,
    summary: Mapping[str, Any],
    lines: pd.DataFrame,
    discrepancies: pd.DataFrame,
    places: int | Mapping[str, int],
    rows_per_sheet: int,
) -> None:
    wb = Workbook(write_only=True)
    _write_summary_sheet(wb.create_sheet("Summary"), summary, lines, places, len(discrepancies))
    states = lines["state"]
    parts = (
        ("Payments", PAYMENTS_SHEET_COLUMNS, lines[states.isin([State.POSTED, State.ALREADY_POSTED]).to_numpy()]),
        ("Rejected", REJECTED_SHEET_COLUMNS, lines[(states == State.REJECTED).to_numpy()]),
        ("Needs review", REVIEW_SHEET_COLUMNS, lines[(states == State.NEEDS_REVIEW).to_numpy()]),
    )
    for title, columns, part in (*parts, ("Discrepancies", DISCREPANCY_COLUMNS, discrepancies)):
        for n, start in enumerate(range(0, max(len(part), 1), rows_per_sheet)):
            name = title if n == 0 else f"{title} ({n + 1})"
            _write_table(wb.create_sheet(name), columns, part.iloc[start : start + rows_per_sheet], places)
    wb.save(path)


EXCEL_DATA_ROWS = 1_048_576 - 1
"""Rows a sheet holds under its header: Excel refuses to open more. A million-payment migration
with its skipped and rejected lines can pass it, so a table continues on "Payments (2)" etc."""


def _write_table(
    ws: WriteOnlyWorksheet, columns: Sequence[str], frame: pd.DataFrame, places: int | Mapping[str, int]
) -> None:
    """Header row (frozen), then one row per line; widths from the header and a sample of values."""
    values = {name: _column_values(frame, name) for name in columns if name != "amount"}
    _set_widths(ws, columns, values)
    ws.freeze_panes = "A2"
    ws.append([safe_cell(ws, name, bold=True) for name in columns])
    amount_at = columns.index("amount") if "amount" in columns else -1
    if amount_at >= 0:
        minors = _column_values(frame, "amount_minor")
        currencies = _column_values(frame, "currency")
        values["amount"] = [
            _amount_cell(ws, m, decimals_for(str(c), places)) for m, c in zip(minors, currencies, strict=True)
        ]
    for row in zip(*(values[name] for name in columns), strict=True):
        ws.append([_cell(ws, v) for v in row])


def _column_values(frame: pd.DataFrame, name: str) -> list[Any]:
    """The column as Python values, <NA> as None (so an empty cell, not the text "<NA>")."""
    if name not in frame.columns:
        return [None] * len(frame)
    column = frame[name]
    if column.hasnans:
        column = column.astype("object").where(column.notna(), None)
    return column.tolist()


def _cell(ws: WriteOnlyWorksheet, value: Any) -> Any:
    """What to append for one value: text that could turn into a formula, or that holds characters
    XML cannot carry, goes through ``safe_cell``; other text is appended as it is, which openpyxl
    stores exactly as ``safe_cell`` would (a shared string) without building a cell object for it
    (that doubles the time of a 200k-line sheet). Error-code text such as ``#N/A`` would be typed as
    an Excel error if appended as it is, so it goes through ``safe_cell`` too."""
    if isinstance(value, str):
        if not value:
            return None
        if is_formula_like(value) or value in ERROR_CODES or ILLEGAL_CHARACTERS_RE.search(value):
            return safe_cell(ws, value)
    return value


def _amount_cell(ws: WriteOnlyWorksheet, minor: int | None, decimals: int) -> Cell | None:
    if minor is None:
        return None
    number = exact_float(int(minor), decimals)
    if number is None:
        return safe_cell(ws, minor_text(int(minor), decimals))
    cell = WriteOnlyCell(ws, value=number)
    cell.number_format = number_format(decimals)
    return cell


def _set_widths(ws: WriteOnlyWorksheet, columns: Sequence[str], values: Mapping[str, list[Any]]) -> None:
    for i, name in enumerate(columns, start=1):
        sample = values.get(name, [])[:_WIDTH_SAMPLE]
        longest = max([len(name), 12 if name == "amount" else 0, *(len(str(v)) for v in sample if v is not None)])
        _set_width(ws, i, min(longest + 2, _MAX_WIDTH))


def _set_width(ws: WriteOnlyWorksheet, column: int, width: int) -> None:
    """Column widths must be set before the first row of a write-only sheet is written."""
    # Worksheet._setup gives write-only sheets column_dimensions; types-openpyxl does not declare it.
    ws.column_dimensions[get_column_letter(column)].width = width  # type: ignore[attr-defined]


def _write_summary_sheet(
    ws: WriteOnlyWorksheet,
    summary: Mapping[str, Any],
    lines: pd.DataFrame,
    places: int | Mapping[str, int],
    found: int,
) -> None:
    """Key facts first, then files, states with totals, the identity line and BC's figures."""
    rows = _run_facts(summary)
    rows += [[], _bold(ws, ["file", "profile", "rows read", "sha256"])]
    for f in summary.get("files") or []:
        rows.append([_plain(f.get("file")), _plain(f.get("profile")), f.get("rows_read"), _plain(f.get("sha256"))])
        if f.get("balance_detail"):
            rows.append(["", _plain(f.get("balance_detail"))])
    rows += _state_rows(ws, summary, lines, places)
    rows += _bc_and_report_rows(summary, found)
    for i, width in enumerate((20, 70, 16, 66), start=1):
        _set_width(ws, i, width)
    ws.freeze_panes = "A2"
    ws.append(_bold(ws, ["item", "value", "amount", "detail"]))
    for row in rows:
        ws.append([_cell(ws, v) for v in row])


def _run_facts(summary: Mapping[str, Any]) -> list[list[Any]]:
    """Run id, times, target, dry run and the journal (times only when known)."""
    journal = summary.get("journal") or {}
    rows: list[list[Any]] = []
    for item, value in (
        ("run id", summary.get("run_id")),
        ("started", summary.get("started")),
        ("finished", summary.get("finished")),
        ("target", summary.get("target")),
        ("dry run", _yes_no(summary.get("dry_run"))),
        ("journal code", journal.get("code")),
        ("journal id", journal.get("id")),
        ("journal posted", _yes_no(journal.get("posted"))),
    ):
        if value is not None or item not in ("started", "finished"):
            rows.append([item, _plain(value)])
    return rows


def _state_rows(
    ws: WriteOnlyWorksheet, summary: Mapping[str, Any], lines: pd.DataFrame, places: int | Mapping[str, int]
) -> list[list[Any]]:
    """Lines and exact totals per state (one row per currency), then the identity and whether it holds."""
    counts = count_states(lines)
    totals = totals_by_state(lines, places)
    rows: list[list[Any]] = [[], _bold(ws, ["state", "lines", "total", "currency"])]
    for state in (*STATES, *(s for s in counts if s not in STATES)):
        label: str | None = STATE_LABELS.get(state, state)
        count: int | None = counts[state]
        by_currency = totals.get(state) or {}
        if not by_currency:
            rows.append([label, count])
        for currency, total in by_currency.items():
            rows.append([label, count, _decimal_cell(ws, total, decimals_for(currency, places)), currency])
            label = count = None  # a second currency of the same state: only its total
    rows_read = int(summary.get("rows_read", len(lines)))
    accounted = sum(counts.values())
    rows.append(["lines read", rows_read])
    rows.append(["identity", identity_text(rows_read, counts), "holds" if accounted == rows_read else "DOES NOT HOLD"])
    return rows


def _bc_and_report_rows(summary: Mapping[str, Any], found: int) -> list[list[Any]]:
    """Discrepancies, BC requests, where the reports are, and any other plain summary value."""
    rows: list[list[Any]] = [
        [],
        ["discrepancies", summary.get("discrepancies", found)],
        ["BC requests", _plain(summary.get("bc_requests"))],
    ]
    report = summary.get("report") or {}
    for label, key in (("report workbook", "xlsx"), ("report json", "json")):
        if report.get(key):
            rows.append([label, _plain(report[key])])
    for path in report.get("errors") or []:
        rows.append(["errors workbook", _plain(path)])
    shown = {"run_id", "started", "finished", "target", "dry_run", "journal", "files", "report", "bc_requests"}
    shown |= {"discrepancies", "rows_read", "decimals", *STATES}
    for key, value in summary.items():
        if key not in shown and not isinstance(value, Mapping | list):
            rows.append([key.replace("_", " "), _plain(value)])
    return rows


def _bold(ws: WriteOnlyWorksheet, texts: Iterable[str]) -> list[Any]:
    return [safe_cell(ws, t, bold=True) for t in texts]


def _decimal_cell(ws: WriteOnlyWorksheet, total: Decimal, decimals: int) -> Cell | None:
    return _amount_cell(ws, exact_minor(total, decimals), decimals)


def _yes_no(value: Any) -> str:
    return "" if value is None else ("yes" if value else "no")


def _plain(value: Any) -> Any:
    """A summary value as one cell: numbers stay numbers, mappings become ``a 1, b 2``, the rest text."""
    if value is None or (isinstance(value, int | str) and not isinstance(value, bool)):
        return value
    if isinstance(value, bool):
        return _yes_no(value)
    if isinstance(value, Mapping):
        return ", ".join(f"{str(k).replace('_', ' ')} {_plain(v)}" for k, v in value.items())
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


# --- report.json -----------------------------------------------------------------------------------------


def _amount_texts(lines: pd.DataFrame, places: int | Mapping[str, int]) -> list[str | None]:
    """Exact decimal text per line (``"-1234.50"``), None where the line has no amount."""
    out: list[str | None] = [None] * len(lines)
    minor = _column_values(lines, "amount_minor")
    currency = _column_values(lines, "currency")
    for i, (m, c) in enumerate(zip(minor, currency, strict=True)):
        if m is not None:
            out[i] = minor_text(int(m), decimals_for(str(c), places))
    return out


def _line_records(lines: pd.DataFrame, amounts: list[str | None]) -> list[dict[str, Any]]:
    """One JSON object per line: ``amount`` as exact text in place of ``amount_minor``."""
    names = [n for n in lines.columns if n != "amount_minor"]
    columns = [_column_values(lines, n) for n in names]
    at = names.index("currency")
    names.insert(at, "amount")
    columns.insert(at, amounts)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    names = list(frame.columns)
    columns = [_column_values(frame, n) for n in names]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def _json_summary(summary: Mapping[str, Any], lines: pd.DataFrame, places: int | Mapping[str, int]) -> dict[str, Any]:
    """The caller's summary, plus the per-state totals and the identity line when it has none."""
    out = dict(summary)
    counts = count_states(lines)
    totals = totals_by_state(lines, places)
    out.setdefault("totals", {s: {c: str(v) for c, v in totals.get(s, {}).items()} for s in STATES})
    out.setdefault("identity", identity_text(int(summary.get("rows_read", len(lines))), counts))
    return out


def _json_default(value: Any) -> Any:
    """Exact money as text; paths, dates and numpy scalars as what they say; NA as null."""
    if isinstance(value, Decimal | Path):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable in a report")


def _write_json(path: Path, document: Mapping[str, Any]) -> None:
    """One JSON object; each line and discrepancy on its own text line (readable, diffable).

    ``encode`` of one record at a time runs json's C encoder; ``iterencode`` over the whole
    document would run the pure-Python one (5-10x slower for 200k lines).
    """
    encoder = json.JSONEncoder(ensure_ascii=False, default=_json_default)
    with path.open("w", encoding="utf-8") as fh:
        fh.write('{"summary": ' + json.dumps(document["summary"], ensure_ascii=False, indent=1, default=_json_default))
        for name in ("lines", "discrepancies"):
            records = document[name]
            fh.write(f',\n"{name}": [')
            for i, record in enumerate(records):
                fh.write(("\n" if i == 0 else ",\n") + encoder.encode(record))
            fh.write("\n]" if records else "]")
        fh.write("}\n")


def _replace_atomically(path: Path, write: Callable[[Path], None]) -> Path:
    """Write to a temporary name beside ``path``, flush it to disk, then rename over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(tmp)
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --- console ---------------------------------------------------------------------------------------------

_MAX_FILES_SHOWN = 5
_MAX_ERRORS_SHOWN = 3


def render_console_summary(summary: Mapping[str, Any]) -> str:
    """One screen of plain text (no colours, at most about 20 lines) saying what the run did.

    Expects the run summary keys: run_id, target, files, rows_read, the five state counts,
    amount_posted, currency, journal, report, bc_requests, dry_run, discrepancies. An optional
    ``totals`` ({state: {currency: text}}, or ``Accounting.as_dict()``) adds a total to every state.
    """
    out: list[str] = []
    mode = " (dry run: nothing sent)" if summary.get("dry_run") else ""
    out.append(f"Run {summary.get('run_id', '?')} -> {summary.get('target', '?')}{mode}")
    files = list(summary.get("files") or [])
    for f in files[:_MAX_FILES_SHOWN]:
        balance = f", balance {f['balance'].replace('_', ' ')}" if f.get("balance") else ""
        out.append(
            f"  file {f.get('file', '?')}  profile {f.get('profile', '?')}  {f.get('rows_read', '?')} lines{balance}"
        )
        if f.get("imported_before"):
            out.append(f"    this file was {f['imported_before']}")
    if len(files) > _MAX_FILES_SHOWN:
        out.append(f"  ... and {len(files) - _MAX_FILES_SHOWN} more files")
    counts = {s: int(summary.get(s, 0) or 0) for s in STATES}
    rows_read = int(summary.get("rows_read", 0) or 0)
    holds = "" if rows_read == sum(counts.values()) else "   <- DOES NOT ADD UP"
    out.append(identity_text(rows_read, counts) + holds)
    totals: Mapping[str, Any] = summary.get("totals") or {}
    if isinstance(totals.get("totals"), Mapping):  # Accounting.as_dict() given whole
        totals = totals["totals"]
    width = max(len(label) for label in STATE_LABELS.values())
    for state in STATES:
        by_currency = totals.get(state) or {}
        if not by_currency and state == State.POSTED and summary.get("amount_posted") not in (None, ""):
            by_currency = {str(summary.get("currency") or ""): summary["amount_posted"]}
        money = "  ".join(f"{_group(str(v))} {c}".rstrip() for c, v in by_currency.items())
        out.append(f"  {STATE_LABELS[state]:<{width}} {counts[state]:>9}  {money}".rstrip())
    journal = summary.get("journal") or {}
    if journal.get("code") or journal.get("id"):
        state = "posted" if journal.get("posted") else "not posted"
        out.append(f"Journal {journal.get('code') or '?'} (id {journal.get('id') or 'none yet'}), {state}")
    requests = _plain(summary.get("bc_requests", 0))
    out.append(f"Discrepancies with BC: {summary.get('discrepancies', 0)}    BC requests: {requests}")
    report = summary.get("report") or {}
    paths = [str(report[k]) for k in ("xlsx", "json") if report.get(k)]
    if paths:
        out.append("Report: " + "  ".join(paths))
    errors = [str(e) for e in report.get("errors") or []]
    for path in errors[:_MAX_ERRORS_SHOWN]:
        out.append(f"Errors workbook: {path}")
    if len(errors) > _MAX_ERRORS_SHOWN:
        out.append(f"  ... and {len(errors) - _MAX_ERRORS_SHOWN} more errors workbooks")
    return "\n".join(out)


def _group(amount: str) -> str:
    """``-1234567.50`` -> ``-1,234,567.50``: digit grouping on the exact text, never via float."""
    sign, body = ("-", amount[1:]) if amount.startswith("-") else ("", amount)
    whole, dot, frac = body.partition(".")
    if not whole.isdigit():
        return amount
    return f"{sign}{int(whole):,}{dot}{frac}"
