"""The run report workbook, in finance's words: what a controller reads and prints after a run.

Why its own module: ``report.json`` is for tools (BC's field names, BC's sign, stable keys); the
workbook is for people. So its headers are BC's column captions (Customer No., Applies-to Invoice
No., Document No., External Document No., Posting Date), receipts are shown positive in a
"Received" column (BC's negative sign only in the column that says it is BC's), reasons are words
rather than codes (the code stays in its own column for filters and tools), dates are Excel dates
and amounts Excel numbers with the currency's decimals (``pipeline.xlsx`` says when a number is
exact enough to be one), every sheet has a frozen header row with filters and prints landscape
one page wide, and the Summary sheet fits one page with a small chart of the lines per state.

Written with XlsxWriter in constant-memory mode (``pipeline.xlsx``): bounded memory and several
times faster than openpyxl for a million lines (``bench/report_bench.py``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.money import exact_float, exact_minor, minor_text
from pipeline.reconcile import count_states, decimals_for, totals_by_state
from pipeline.xlsx import Amounts, Cells, Money, Table, as_array, formats_of, open_workbook, write_columns
from schemas.codes import STATE_LABELS, STATES, Review, State, describe

Column = tuple[str, str, str, int]
"""(field of the lines frame or a derived field, header, kind, width)."""

_PAYMENT: Final[tuple[Column, ...]] = (
    ("customerNumber", "Customer No.", "text", 13),
    ("appliesToInvoiceNumber", "Applies-to Invoice No.", "wrap", 20),
    ("received", "Received", "money", 15),
    ("currency", "Currency", "text", 9),
    ("postingDate", "Posting Date", "date", 12),
    ("documentNumber", "Document No.", "text", 18),
    ("externalDocumentNumber", "External Document No.", "text", 22),
    ("description", "Description", "wrap", 30),
)
PAYMENTS_COLUMNS: Final[tuple[Column, ...]] = (
    ("state", "Result", "text", 17),
    ("source_file", "File", "text", 30),
    ("source_row", "Row", "int", 6),
    ("lineNumber", "Line No.", "int", 9),
    *_PAYMENT,
    ("flags", "Notes", "wrap", 36),
    ("match_details", "How it was matched", "wrap", 50),
    ("amount", "Amount (BC sign)", "money", 15),
    ("journal_code", "Journal", "text", 12),
    ("bc_id", "BC line id", "text", 20),
    ("key", "Payment key", "text", 28),
)
REJECTED_COLUMNS: Final[tuple[Column, ...]] = (
    ("source_file", "File", "text", 30),
    ("source_row", "Row", "int", 6),
    ("reason", "Why", "wrap", 34),
    ("message", "Details", "wrap", 60),
    *_PAYMENT,
    ("reason_code", "Reason code", "text", 18),
    ("key", "Payment key", "text", 28),
)
REVIEW_COLUMNS: Final[tuple[Column, ...]] = (
    ("source_file", "File", "text", 30),
    ("source_row", "Row", "int", 6),
    ("customerNumber", "Customer No.", "text", 13),
    ("received", "Received", "money", 15),
    ("currency", "Currency", "text", 9),
    ("postingDate", "Posting Date", "date", 12),
    ("externalDocumentNumber", "External Document No.", "text", 22),
    ("reason", "Why it waits", "wrap", 30),
    ("todo", "What to do", "wrap", 36),
    ("message", "Details", "wrap", 50),
    ("candidates", "Candidates", "wrap", 36),
    ("match_details", "Evidence found", "wrap", 50),
    ("appliesToInvoiceNumber", "Applies-to Invoice No.", "wrap", 20),
    ("documentNumber", "Document No.", "text", 18),
    ("description", "Description", "wrap", 30),
    ("flags", "Notes", "wrap", 30),
    ("reason_code", "Reason code", "text", 18),
    ("key", "Payment key", "text", 28),
)
DISCREPANCY_COLUMNS: Final[tuple[Column, ...]] = (
    ("kind_words", "What differs", "wrap", 34),
    ("lineNumber", "Line No.", "int", 9),
    ("field", "Field", "text", 18),
    ("expected", "Planned", "text", 22),
    ("actual", "In BC", "text", 22),
    ("message", "Details", "wrap", 60),
    ("kind", "Kind", "text", 16),
    ("bc_id", "BC line id", "text", 20),
    ("key", "Payment key", "text", 28),
)

PRINTED: Final[Mapping[str, int]] = {
    "Payments": [c[0] for c in PAYMENTS_COLUMNS].index("flags") + 1,
    "Rejected": [c[0] for c in REJECTED_COLUMNS].index("description") + 1,
    "Needs review": [c[0] for c in REVIEW_COLUMNS].index("candidates") + 1,
    "Discrepancies": [c[0] for c in DISCREPANCY_COLUMNS].index("message") + 1,
}
"""Columns a printout of each table shows, from the left: what a controller reads (up to the
notes, the description, the reference, the details); the ids and BC's own sign stay on screen."""

_DECIDE: Final = "Decide it in the decisions workbook (payimport review), then import that workbook."
WHAT_TO_DO: Final[Mapping[str, str]] = {
    Review.CUSTOMER_UNKNOWN: "Check who paid. " + _DECIDE + " On account of the right customer is one choice.",
    Review.CUSTOMER_BLOCKED: "Unblock the customer in BC first, or put it on account of another customer. " + _DECIDE,
    Review.CUSTOMER_MISSING: "Find the payer (bank text, amount). " + _DECIDE,
    Review.INVOICE_NOT_OPEN: "The invoice is paid, cancelled or unknown: apply to another invoice, "
    "or On account. " + _DECIDE,
    Review.CUSTOMER_MISMATCH: "The invoice is billed to another customer: apply to it with that customer, "
    "or On account. " + _DECIDE,
    Review.CUSTOMER_CURRENCY_MISMATCH: "Currencies differ: agree with the customer, or skip and post it in BC. "
    + _DECIDE,
    Review.OVER_PAYMENT: "More than is open: apply to another invoice or On account. " + _DECIDE,
    Review.PARTIAL_PAYMENT: "Less than is open: apply to the invoice anyway (a part payment) or On account. " + _DECIDE,
    Review.UNAPPLIED: "Names no invoice: apply to a candidate or invoice, or On account. " + _DECIDE,
    Review.SEVERAL_INVOICES: "Pays several invoices: apply to one candidate, or On account and apply "
    "to the invoices in BC. " + _DECIDE,
    "bc_conflict": "BC holds another line where this one was planned: check the journal in BC.",
    "outcome_unknown": "Nothing to do: the next run reads the journal back and settles it.",
    "not_sent": "Nothing to do: run the same command again; it sends the rest.",
}


def report_name(run_id: str) -> str:
    """``report-<run id>.xlsx`` (the run id starts with the date): each run's file has its own name."""
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in run_id)
    return f"report-{safe}.xlsx" if safe else "report.xlsx"


def write_report_workbook(
    path: Path,
    summary: Mapping[str, Any],
    lines: pd.DataFrame,
    discrepancies: pd.DataFrame,
    places: int | Mapping[str, int],
    rows_per_sheet: int,
) -> Path:
    """Summary, Payments, Rejected, Needs review and Discrepancies (a table longer than a sheet goes
    on over "Payments (2)"...)."""
    words = state_words(summary)
    states = lines["state"]  # compared as Arrow text: a million states are not made Python strings

    def where(*wanted: str) -> npt.NDArray[np.intp]:
        return np.flatnonzero(states.isin(list(wanted)).to_numpy(dtype=bool))

    # positions, not copies: each table's lines are taken CHUNK_ROWS at a time while the sheet is packed
    parts: list[tuple[str, tuple[Column, ...], pd.DataFrame, npt.NDArray[np.intp]]] = [
        ("Payments", PAYMENTS_COLUMNS, lines, where(State.POSTED, State.ALREADY_POSTED)),
        ("Rejected", REJECTED_COLUMNS, lines, where(State.REJECTED)),
        ("Needs review", REVIEW_COLUMNS, lines, where(State.NEEDS_REVIEW)),
        ("Discrepancies", DISCREPANCY_COLUMNS, discrepancies, np.arange(len(discrepancies))),
    ]
    with open_workbook(path, subject="payimport run report", title=f"Run {summary.get('run_id', '')}") as book:
        write_summary_sheet(book, summary, lines, places, len(discrepancies))
        for title, columns, frame, at in parts:
            for n, start in enumerate(range(0, max(len(at), 1), rows_per_sheet)):
                name = title if n == 0 else f"{title} ({n + 1})"
                chunk = at[start : start + rows_per_sheet]
                table = Table(
                    name, tuple((header, kind, width) for _, header, kind, width in columns), printed=PRINTED[title]
                )
                write_columns(book, table, len(chunk), _chunks(frame, chunk, columns, places, words))
    return path


def state_words(summary: Mapping[str, Any]) -> dict[str, str]:
    """What a line's state means in this run, in BC's words (a journal not posted is not "posted")."""
    journal = summary.get("journal") or {}
    added = "would add" if summary.get("dry_run") else ("posted in BC" if journal.get("posted") else "added to journal")
    return {**STATE_LABELS, State.POSTED: added, State.ALREADY_POSTED: "already imported"}


CHUNK_ROWS: Final = 10_000
"""Lines turned into cells at a time: memory stays bounded whatever the run's size."""


def _chunks(
    frame: pd.DataFrame,
    at: npt.NDArray[np.intp],
    columns: Sequence[Column],
    places: int | Mapping[str, int],
    words: Mapping[str, str],
) -> Iterator[list[Cells]]:
    """The cells of the lines at positions ``at``, CHUNK_ROWS lines at a time, column by column
    (whole columns at once: Arrow arrays for plain columns, words looked up once per code)."""
    for start in range(0, len(at), CHUNK_ROWS):
        part = frame.iloc[at[start : start + CHUNK_ROWS]]
        yield [_column(part, name, places, words) for name, _, _, _ in columns]


def _column(frame: pd.DataFrame, name: str, places: int | Mapping[str, int], words: Mapping[str, str]) -> Cells:
    derived: dict[str, Callable[[], Cells]] = {
        "received": lambda: _money(frame, places, sign=-1),
        "amount": lambda: _money(frame, places, sign=1),
        "state": lambda: _mapped(frame, "state", lambda s: words.get(s, s)),
        "reason": lambda: _mapped(frame, "reason_code", _reason_words),
        "todo": lambda: _mapped(frame, "reason_code", lambda c: WHAT_TO_DO.get(c, _DECIDE)),
        "flags": lambda: _mapped(frame, "flags", _flag_words),
        "kind_words": lambda: _mapped(frame, "kind", describe),
        "postingDate": lambda: _dates(frame, "postingDate"),
        "message": lambda: _mapped(frame, "message", plain_words),
    }
    if name in derived:
        return derived[name]()
    if name not in frame.columns:
        return [None] * len(frame)
    cells: Cells = _arrow(frame[name])
    return cells


def _arrow(column: pd.Series) -> Any:
    """A plain column as Arrow (text as text, integers as integers, <NA> as an empty cell)."""
    if pd.api.types.is_integer_dtype(column.dtype):
        return as_array(pa.array(column, pa.int64(), from_pandas=True))
    if pd.api.types.is_bool_dtype(column.dtype):
        return column.map({True: "yes", False: "no"}).tolist()
    return as_array(pa.array(column.astype("str").where(column.notna(), None), pa.string(), from_pandas=True))


def _mapped(frame: pd.DataFrame, name: str, words: Callable[[str], str]) -> Any:
    """A code column in words, each distinct code worded once ("" stays an empty cell)."""
    if name not in frame.columns:
        return [None] * len(frame)
    codes = frame[name].astype("str").where(frame[name].notna(), "")
    table = {c: (words(c) if c else "") for c in codes.unique().tolist()}
    return as_array(pa.array(codes.map(table), pa.string(), from_pandas=True))


def _dates(frame: pd.DataFrame, name: str) -> Any:
    """ISO dates (or date-times) as Excel dates; anything else an empty cell."""
    if name not in frame.columns:
        return [None] * len(frame)
    text = frame[name].astype("str").str.slice(0, 10)
    moments = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce").astype("datetime64[s]")
    return pc.cast(as_array(pa.array(moments, pa.timestamp("s"), from_pandas=True)), pa.date32())


_STRFTIME: Final = {"%Y": "YYYY", "%y": "YY", "%m": "MM", "%d": "DD", "%H": "hh", "%M": "mm", "%S": "ss", "%b": "Mon"}
_CODE_LIMIT: Final = re.compile(r"(?:Business Central's )?\b(?:Code|Text)\[(\d+)\]( fields? allows? \d+)?")
_API_FIELD: Final = re.compile(r"\b(documentNumber|externalDocumentNumber|customerNumber|appliesToInvoiceNumber) \(")
_CAPTIONS: Final = {
    "documentNumber": "Document No.",
    "externalDocumentNumber": "External Document No.",
    "customerNumber": "Customer No.",
    "appliesToInvoiceNumber": "Applies-to Invoice No.",
}


def plain_words(message: str) -> str:
    """A message as finance reads it: a date pattern like ``'%d.%m.%Y'`` as ``DD.MM.YYYY`` and BC's
    ``Code[35]`` as "at most 35 characters"."""
    if "%" in message:
        for pattern, words in _STRFTIME.items():
            message = message.replace(pattern, words)
    message = _API_FIELD.sub(lambda m: f"{_CAPTIONS[m.group(1)]} (", message)
    return _CODE_LIMIT.sub(lambda m: f"Business Central allows at most {m.group(1)} characters", message)


def _money(frame: pd.DataFrame, places: int | Mapping[str, int], *, sign: int) -> Amounts:
    """The amounts of a whole column (BC's sign times ``sign``) with their currencies' decimals."""
    if "amount_minor" not in frame.columns:
        return Amounts([None] * len(frame), [0] * len(frame))
    currency = frame["currency"].astype("str") if "currency" in frame.columns else pd.Series("", index=frame.index)
    decimals = currency.map({c: decimals_for(c, places) for c in currency.unique().tolist()})
    minor = frame["amount_minor"].astype("Int64") * sign
    return Amounts(as_array(pa.array(minor, pa.int64(), from_pandas=True)), decimals.to_numpy(dtype=np.int64))


def _reason_words(codes: Any) -> str:
    """ "amount_format,date_format" -> the words of each code, one per line."""
    return "\n".join(describe(c) for c in str(codes or "").split(",") if c)


def _flag_words(flags: Any) -> str:
    return "\n".join(describe(f) for f in str(flags or "").split(",") if f)


def _when(value: Any) -> Any:
    """An ISO timestamp of the summary as an Excel date-time (UTC, as the run recorded it)."""
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return value
    return moment.replace(tzinfo=None)


# --- the Summary sheet ---------------------------------------------------------------------------------


def write_summary_sheet(
    book: Any, summary: Mapping[str, Any], lines: pd.DataFrame, places: int | Mapping[str, int], found: int
) -> None:
    """Key facts, files, lines and totals per state (received, positive), the identity, BC's figures,
    and a chart of the lines per state; set up to print on one page."""
    fmt = formats_of(book)
    sheet = book.add_worksheet("Summary")
    for c, width in enumerate((24, 62, 16, 12)):
        sheet.set_column(c, c, width)
    for c, name in enumerate(("Item", "Value", "Received", "Currency")):
        sheet.write_string(0, c, name, fmt.header)
    sheet.freeze_panes(1, 0)
    sheet.set_landscape()
    sheet.fit_to_pages(1, 1)
    sheet.set_paper(9)
    rows = [*_facts(summary), [], *_file_rows(summary)]
    state_at = len(rows) + 3  # the sheet row of the first state: after a blank row and a heading
    states, tail = _state_rows(summary, lines, places)
    rows += [[], ["Lines per state", "lines"], *states, *tail]
    rows += [[], ["Discrepancies with BC", summary.get("discrepancies", found)]]
    rows += [["BC requests", summary.get("bc_requests")], *_report_rows(summary)]
    when = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss", "align": "left"})
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            _summary_cell(sheet, fmt, when, r, c, value)
    _chart(book, sheet, state_at, len(states))


def _summary_cell(sheet: Any, fmt: Any, when: Any, r: int, c: int, value: Any) -> None:
    if value is None or value == "":
        return
    if isinstance(value, Money):
        sheet.write_number(r, c, value.number, fmt.money(value.decimals))
    elif isinstance(value, dt.datetime):
        sheet.write_datetime(r, c, value, when)
    elif isinstance(value, bool):
        sheet.write_string(r, c, "yes" if value else "no", fmt.text)
    elif isinstance(value, int | float):
        sheet.write_number(r, c, value, fmt.int)
    else:
        text = str(value)
        sheet.write_string(r, c, text, fmt.quoted if text.startswith(("=", "+", "-", "@", "\t", "\r")) else fmt.wrap)


def _facts(summary: Mapping[str, Any]) -> list[list[Any]]:
    journal = summary.get("journal") or {}
    posted = journal.get("posted")
    rows: list[list[Any]] = [
        ["Run", summary.get("run_id")],
        ["Started (UTC)", _when(summary["started"]) if summary.get("started") else None],
        ["Finished (UTC)", _when(summary["finished"]) if summary.get("finished") else None],
        ["Business Central", summary.get("target")],
        ["Dry run (nothing sent)", "yes" if summary.get("dry_run") else "no"],
        ["Journal", journal.get("code")],
        ["Journal posted in BC", None if posted is None else ("yes" if posted else "no, it waits in BC")],
    ]
    if summary.get("error"):
        rows.append(["Stopped by an error", summary["error"]])
    return [r for r in rows if r[1] is not None]


def _file_rows(summary: Mapping[str, Any]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for f in summary.get("files") or []:
        rows.append(["File", f.get("file"), None, None])
        detail = [f"profile {f.get('profile')}", f"{f.get('rows_read')} lines"]
        if f.get("balance_detail"):
            detail.append(str(f["balance_detail"]))
        if f.get("imported_before"):
            detail.append(f"this file was {f['imported_before']}")
        rows.append(["", "; ".join(str(d) for d in detail)])
    return rows


def _state_rows(
    summary: Mapping[str, Any], lines: pd.DataFrame, places: int | Mapping[str, int]
) -> tuple[list[list[Any]], list[list[Any]]]:
    """One row per state (one per currency when several), the received total positive; then the
    identity and whether it holds."""
    words = state_words(summary)
    counts = count_states(lines)
    totals = totals_by_state(lines, places)
    rows: list[list[Any]] = []
    for state in (*STATES, *(s for s in counts if s not in STATES)):
        by_currency = totals.get(state) or {}
        first: list[Any] = [words.get(state, state), counts[state]]
        if not by_currency:
            rows.append(first)
        for currency, total in by_currency.items():
            rows.append([*first, _received(total, decimals_for(currency, places)), currency])
            first = ["", None]
    rows_read = int(summary.get("rows_read", len(lines)))
    terms = " + ".join(f"{words.get(s, s)} {counts[s]}" for s in STATES)
    holds = "holds" if sum(counts.values()) == rows_read else "DOES NOT HOLD"
    tail: list[list[Any]] = [
        ["Lines read", rows_read],
        ["Every line accounted for", f"lines read {rows_read} = {terms}", holds],
    ]
    for key, label in (("waiting", "of them waiting from earlier runs"), ("unsent", "of them not sent - will resume")):
        if summary.get(key):
            tail.append([f"Needs review: {label}", summary[key]])
    return rows, tail


def _received(total: Decimal, decimals: int) -> Any:
    minor = -exact_minor(total, decimals)
    number = exact_float(minor, decimals)
    return minor_text(minor, decimals) if number is None else Money(number, decimals)


def _report_rows(summary: Mapping[str, Any]) -> list[list[Any]]:
    report = summary.get("report") or {}
    rows: list[list[Any]] = []
    for label, key in (("Report workbook", "xlsx"), ("Report for tools (JSON)", "json")):
        if report.get(key):
            rows.append([label, str(report[key])])
    rows += [["Errors workbook", str(p)] for p in report.get("errors") or []]
    return rows


def _chart(book: Any, sheet: Any, first_state_row: int, count: int) -> None:
    """A small bar chart of the lines per state, beside the figures."""
    chart = book.add_chart({"type": "bar"})
    last = first_state_row + count - 1
    chart.add_series(
        {
            "name": "Lines",
            "categories": ["Summary", first_state_row, 0, last, 0],
            "values": ["Summary", first_state_row, 1, last, 1],
            "data_labels": {"value": True},
        }
    )
    chart.set_title({"name": "Lines per state"})
    chart.set_legend({"none": True})
    chart.set_size({"width": 380, "height": 220})
    sheet.insert_chart(1, 5, chart)


RUN_SHEETS: Final = ("Summary", "Payments", "Rejected", "Needs review", "Discrepancies")
HEADERS: Final[Mapping[str, tuple[str, ...]]] = {
    "Payments": tuple(h for _, h, _, _ in PAYMENTS_COLUMNS),
    "Rejected": tuple(h for _, h, _, _ in REJECTED_COLUMNS),
    "Needs review": tuple(h for _, h, _, _ in REVIEW_COLUMNS),
    "Discrepancies": tuple(h for _, h, _, _ in DISCREPANCY_COLUMNS),
}
