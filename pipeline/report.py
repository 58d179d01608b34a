"""What people and tools read after a run: the errors workbook, the run report, the console summary.

The errors workbook keeps the input's own header and columns, with ``row`` and ``error``
appended at the right, so a person fixes the values in Excel and drops the file back: the
same profile identifies it by its header and reads it like the original.

The run report (``report-<run id>.xlsx`` for people, ``pipeline.report_xlsx``; ``report.json`` for
tools, in the run folder) shows where every input line ended and proves ``lines read = sum of
states``. Text cells are stored as text (Excel's quote prefix on text that looks like a formula),
so a description like ``=HYPERLINK(...)`` stays text. An amount is written as a number only when
the float Excel stores equals the exact amount (at most 15 significant digits); otherwise it is
written as exact text rather than a number that is off by a cent. Both files are written to a
temporary name and renamed into place, so a reader (or a crash) never sees half a report.
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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from pipeline import report_xlsx
from pipeline.money import money_text
from pipeline.readers import SOURCE_ROW, RawTable, col
from pipeline.reconcile import (
    count_states,
    decimals_for,
    identity_text,
    totals_by_state,
)
from pipeline.validate import FileResult
from pipeline.xlsx import TextPool, as_array, joined_bytes
from schemas.codes import STATE_LABELS, STATES, Skip, State
from schemas.lines import conform_discrepancies, conform_lines

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


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

    def __init__(self, wb: Any, title: str, wrapped: int = -1) -> None:
        self.ws = wb.add_worksheet(title)
        self.row = 0
        self.widths: list[int] = []
        self.wrapped = wrapped  # the column of messages, wrapped
        self.wrap = wb.add_format({"text_wrap": True, "valign": "top"})
        self.formats = {
            (bold, fill, quote, wrap): wb.add_format(
                {
                    "bold": bold,
                    "quote_prefix": quote,
                    "valign": "top",
                    **({"text_wrap": True} if wrap else {}),
                    **({"bg_color": "#FFF2CC", "pattern": 1} if fill else {}),
                }
            )
            for bold in (False, True)
            for fill in (False, True)
            for quote in (False, True)
            for wrap in (False, True)
        }

    def append(self, values: Sequence[Any], *, bold: bool = False, fill: Sequence[bool] = ()) -> None:
        for c, value in enumerate(values):
            filled = c < len(fill) and fill[c]
            if isinstance(value, int) and not isinstance(value, bool):
                self.ws.write_number(self.row, c, value, self.formats[(bold, filled, False, False)])
                continue
            text = "" if value is None else str(value)
            if ILLEGAL_CHARACTERS_RE.search(text):
                text = ILLEGAL_CHARACTERS_RE.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)
            if text or bold or filled:
                wrap = c == self.wrapped and not bold
                self.ws.write_string(self.row, c, text, self.formats[(bold, filled, is_formula_like(text), wrap)])
            if c >= len(self.widths):
                self.widths.append(0)
            self.widths[c] = max(self.widths[c], len(text))
        self.row += 1

    def set_up(self, header_row: int | None) -> None:
        """Widths from the content (8 to 40 characters; the ``wrapped`` column 60, wrapped), the
        header row frozen with filters, printed landscape one page wide with the header on each page.
        Only the sheet's look: the cells, and so what a profile reads back, stay as they are."""
        for c, width in enumerate(self.widths):
            if c == self.wrapped:
                self.ws.set_column(c, c, 60, self.wrap)
            else:
                self.ws.set_column(c, c, min(max(width + 2, 8), 40))
        self.ws.set_landscape()
        self.ws.set_paper(9)  # A4
        self.ws.fit_to_pages(1, 0)
        if header_row is not None:
            self.ws.freeze_panes(header_row + 1, 0)
            self.ws.repeat_rows(header_row)
            if self.widths and self.row > header_row:
                self.ws.autofilter(header_row, 0, self.row - 1, len(self.widths) - 1)


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


def _fit_row(sheet: _Sheet, message: str) -> None:
    """The next row tall enough for its message wrapped 60 characters wide (at most 8 lines):
    LibreOffice does not size such rows itself, and draws the text over the rows below."""
    lines = min(sum(max(-(-len(part) // 54), 1) for part in message.split("\n")), 8)
    if lines > 1:
        sheet.ws.set_row(sheet.row, 15 * lines)


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
    ws = _Sheet(wb, sheet_title(table.sheet or "Rejected"), wrapped=table.width + 1)
    width, header = table.width, list(table.header or ())
    label_of = {p: n for n, p in table.column_names().items()}
    header_row = None
    if table.header is not None:
        # Lines above the header keep their place, so a profile that finds its header by row
        # number finds it in the workbook too.
        for skipped in sorted(table.skipped, key=lambda r: r.source_row):
            if table.header_row is not None and skipped.source_row < table.header_row:
                ws.append([skipped.text if skipped.reason == Skip.PREAMBLE else ""])
        header_row = ws.row
        ws.append([*header, *[""] * (width - len(header)), "row", "error"], bold=True)
    for values, fill in _rejected_rows(table, by_row, bad_columns, label_of):
        _fit_row(ws, str(values[-1]))
        ws.append(values, fill=fill)
    ws.set_up(header_row)
    issues = _Sheet(wb, "Issues" if ws.ws.name.lower() != "issues" else "Issues (all)", wrapped=len(_ISSUE_HEADER) - 1)
    issues.append(_ISSUE_HEADER, bold=True)
    for i in result.issues:
        _fit_row(issues, i.message)
        issues.append((i.source_file, i.source_row, i.column, i.value, i.reason_code, i.message))
    issues.set_up(0)
    try:
        wb.close()
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built, path)
    finally:
        scratch.cleanup()
    return path


# --- the run report --------------------------------------------------------------------------------------

RUN_SHEETS = report_xlsx.RUN_SHEETS


def write_run_report(
    run_dir: Path,
    summary: Mapping[str, Any],
    lines: pd.DataFrame,
    discrepancies: pd.DataFrame,
    *,
    decimals: int | Mapping[str, int] | None = None,
    rows_per_sheet: int | None = None,
) -> dict[str, Path]:
    """Write ``report-<run id>.xlsx`` (for people, ``pipeline.report_xlsx``) and ``report.json``
    (for tools) into ``run_dir``; return ``{"xlsx": ..., "json": ...}``.

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
    for currency in frame["currency"].astype("str").unique().tolist():  # an unknown one: refused before writing
        decimals_for(currency, places)
    name = report_xlsx.report_name(str(summary.get("run_id") or ""))
    xlsx = report_xlsx.write_report_workbook(
        run_dir / name, summary, frame, found, places, rows_per_sheet or EXCEL_DATA_ROWS
    )
    document = {
        "summary": _json_summary(summary, frame, places),
        "lines": _json_lines(frame, places),
        "discrepancies": _records(found),
    }
    json_path = _replace_atomically(run_dir / "report.json", lambda p: _write_json(p, document))
    return {"xlsx": xlsx, "json": json_path}


EXCEL_DATA_ROWS = 1_048_576 - 1
"""Rows a sheet holds under its header: Excel refuses to open more. A million-payment migration
with its skipped and rejected lines can pass it, so a table continues on "Payments (2)" etc."""


def _column_values(frame: pd.DataFrame, name: str) -> list[Any]:
    """The column as Python values, <NA> as None (so an empty cell, not the text "<NA>")."""
    if name not in frame.columns:
        return [None] * len(frame)
    column = frame[name]
    if column.hasnans:
        column = column.astype("object").where(column.notna(), None)
    return column.tolist()


def _plain(value: Any) -> Any:
    """A summary value as one piece of text: numbers stay numbers, mappings become ``a 1, b 2``."""
    if value is None or (isinstance(value, int | str) and not isinstance(value, bool)):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        return ", ".join(f"{str(k).replace('_', ' ')} {_plain(v)}" for k, v in value.items())
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


# --- report.json -----------------------------------------------------------------------------------------


JSON_CHUNK_ROWS = 10_000
"""Lines turned into JSON records at a time: memory stays bounded whatever the run's size."""


def _amount_texts(lines: pd.DataFrame, places: int | Mapping[str, int]) -> list[str | None]:
    """Exact decimal text per line (``"-1234.50"``), None where the line has no amount; whole
    columns at once, one currency's decimals at a time."""
    if "amount_minor" not in lines.columns or lines.empty:
        return [None] * len(lines)
    minor = lines["amount_minor"]
    currency = lines["currency"].astype("str") if "currency" in lines.columns else pd.Series("", index=lines.index)
    out = np.full(len(lines), None, dtype=object)
    for code in currency.unique().tolist():
        at = (currency == code).to_numpy() & minor.notna().to_numpy()
        if at.any():
            out[at] = money_text(minor[at].astype("int64"), decimals_for(str(code), places)).to_numpy(dtype=object)
    texts: list[str | None] = out.tolist()
    return texts


def _json_lines(lines: pd.DataFrame, places: int | Mapping[str, int]) -> Iterator[bytes]:
    """The lines as JSON objects, one per text line, ``amount`` as exact text in place of
    ``amount_minor``: the text ``json`` writes for each line's dict, made column by column with
    Arrow's string kernels, JSON_CHUNK_ROWS lines at a time (a million lines never sit in memory
    as a million dicts, and no Python runs per value)."""
    names = [n for n in lines.columns if n != "amount_minor"]
    names.insert(names.index("currency"), "amount")
    for start in range(0, len(lines), JSON_CHUNK_ROWS):
        part = lines.iloc[start : start + JSON_CHUNK_ROWS]
        pool = TextPool(len(part))
        slots: list[Any] = []
        for n, name in enumerate(names):
            slots += [pool.constant(("{" if n == 0 else ", ") + json.dumps(name) + ": ")]
            slots += [pool.add(_json_values(part, name, places))]
        slots += [pool.constant("}"), pool.constant(",\n")]
        yield joined_bytes(pool.lay_out(slots))[: -len(",\n")]


def _json_values(part: pd.DataFrame, name: str, places: int | Mapping[str, int]) -> pa.Array:
    """One column's values as JSON text: integers, exact amounts and texts as strings, null."""
    if name == "amount":
        texts = pa.array(_amount_texts(part, places), pa.string())
        return pc.fill_null(pc.binary_join_element_wise('"', texts, '"', ""), "null")
    column = part[name]
    if pd.api.types.is_integer_dtype(column.dtype):
        return pc.fill_null(pc.cast(as_array(pa.array(column, pa.int64(), from_pandas=True)), pa.string()), "null")
    texts = as_array(pa.array(column.astype("str"), pa.string(), from_pandas=True))
    if pc.any(pc.match_substring_regex(texts, r'[\\"\x00-\x1f]')).as_py():
        if pc.any(pc.match_substring_regex(texts, r"[\x00-\x07\x0b\x0e-\x1f]")).as_py():
            return pa.array([json.dumps(t, ensure_ascii=False) for t in texts.to_pylist()], pa.string())
        for plain, escaped in _JSON_ESCAPES:
            texts = pc.replace_substring(texts, plain, escaped)
    return pc.fill_null(pc.binary_join_element_wise('"', texts, '"', ""), "null")


_JSON_ESCAPES = (
    ("\\", "\\\\"),
    ('"', '\\"'),
    ("\n", "\\n"),
    ("\r", "\\r"),
    ("\t", "\\t"),
    ("\b", "\\b"),
    ("\f", "\\f"),
)
"""How ``json`` writes these characters in a string (the backslash first); other control
characters are rare enough to be left to ``json`` itself."""


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
    summary = json.dumps(document["summary"], ensure_ascii=False, indent=1, default=_json_default)
    discrepancies = (encoder.encode(record).encode("utf-8") for record in document["discrepancies"])
    with path.open("wb") as fh:
        fh.write(('{"summary": ' + summary).encode("utf-8"))
        for name, chunks in (("lines", document["lines"]), ("discrepancies", discrepancies)):
            fh.write(f',\n"{name}": ['.encode())
            written = False
            for chunk in chunks:
                if chunk:
                    fh.write((b",\n" if written else b"\n") + chunk)
                    written = True
            fh.write(b"\n]" if written else b"]")
        fh.write(b"}\n")


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

    In BC's words: lines are "added to journal" (a journal waits to be posted in BC), "posted in BC"
    only once the journal was posted, "would add" in a dry run; rows a failure kept from BC are
    "not sent - will resume"; receipts are shown positive, as on the bank statement. The error that
    stopped a run is printed. Expects the run summary keys (``RunSummary.to_json``); an optional
    ``totals`` ({state: {currency: text}}, or ``Accounting.as_dict()``) adds a total to every state.
    """
    out: list[str] = []
    mode = " (dry run: nothing sent)" if summary.get("dry_run") else ""
    out.append(f"Run {summary.get('run_id', '?')} -> {summary.get('target', '?')}{mode}")
    out += _file_lines(summary)
    labels = console_labels(summary)
    counts = {s: int(summary.get(s, 0) or 0) for s in STATES}
    rows_read = int(summary.get("rows_read", 0) or 0)
    holds = "" if rows_read == sum(counts.values()) else "   <- DOES NOT ADD UP"
    terms = " + ".join(f"{labels[s]} {counts[s]}" for s in STATES)
    out.append(f"lines read {rows_read} = {terms}{holds}")
    out += _state_lines(summary, labels, counts)
    journal = summary.get("journal") or {}
    if journal.get("code") or journal.get("id"):
        state = (
            "posted in BC"
            if journal.get("posted")
            else "lines added, not posted yet (post it in BC, or run with --post-journal)"
        )
        out.append(f"Journal {journal.get('code') or '?'} (id {journal.get('id') or 'none yet'}): {state}")
    if summary.get("error"):
        out.append(f"Stopped by an error: {summary['error']}")
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


def console_labels(summary: Mapping[str, Any]) -> dict[str, str]:
    """The state words of a run's summary: what "posted" means depends on the run (see above)."""
    journal = summary.get("journal") or {}
    if summary.get("dry_run"):
        added = "would add"
    elif journal.get("posted"):
        added = "posted in BC"
    else:
        added = "added to journal"
    return {**STATE_LABELS, State.POSTED: added, State.ALREADY_POSTED: "already imported"}


def _file_lines(summary: Mapping[str, Any]) -> list[str]:
    out = []
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
    return out


def _state_lines(summary: Mapping[str, Any], labels: Mapping[str, str], counts: Mapping[str, int]) -> list[str]:
    """One line per state with its total received (positive), then what needs review is made of."""
    totals: Mapping[str, Any] = summary.get("totals") or {}
    if isinstance(totals.get("totals"), Mapping):  # Accounting.as_dict() given whole
        totals = totals["totals"]
    width = max(len(label) for label in labels.values())
    out = []
    for state in STATES:
        shown = {c: _received(str(v)) for c, v in (totals.get(state) or {}).items()}
        if not shown and state == State.POSTED and summary.get("amount_posted") not in (None, ""):
            shown = {str(summary.get("currency") or ""): str(summary["amount_posted"])}  # positive already
        money = "  ".join(f"{_group(v)} {c}".rstrip() for c, v in shown.items())
        out.append(f"  {labels[state]:<{width}} {counts[state]:>9}  {money}".rstrip())
        if state != State.NEEDS_REVIEW:
            continue
        if summary.get("unsent"):
            out.append(f"    of which {summary['unsent']} not sent - will resume (run the same command again)")
        if summary.get("waiting"):
            out.append(f"    of which {summary['waiting']} waiting from earlier runs (payimport review lists them)")
    return out


def _received(amount: str) -> str:
    """A total in BC's sign (receipts negative) as finance reads it: received money positive."""
    if amount.startswith("-"):
        return amount[1:]
    return amount if amount in ("0", "") or set(amount) <= set("0.") else "-" + amount


def _group(amount: str) -> str:
    """``-1234567.50`` -> ``-1,234,567.50``: digit grouping on the exact text, never via float."""
    sign, body = ("-", amount[1:]) if amount.startswith("-") else ("", amount)
    whole, dot, frac = body.partition(".")
    if not whole.isdigit():
        return amount
    return f"{sign}{int(whole):,}{dot}{frac}"
