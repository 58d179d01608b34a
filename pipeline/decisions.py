"""The decisions workbook: where finance staff say what to do with each row waiting for a person.

Why a workbook: the people who decide work in Excel, not in a terminal. ``payimport review``
writes one listing every waiting row with what the tool knows about it (the payment, why it
waits, the candidate invoices) and a Decision column with a drop-down; the person fills it in and
drops the file back (``payimport run decisions.xlsx``, or into the watched inbox). Each decision is
checked strictly, row by row, before anything is recorded: a decision that cannot be read as
exactly one thing (an unknown candidate number, no invoice, no customer, no reason to skip, a row
already handled) is refused with a message naming the row, never guessed. What is readable is
recorded in the ledger (``Ledger.record_decisions``) and carried out by the run
(``pipeline.review.carry_out``); the workbook is then written again in place with a Result per row.

The workbook is recognised by its document subject (``DECISIONS_SUBJECT``), not by its name, so a
person may rename it. It is written with XlsxWriter; dates are Excel dates and the received amount
an Excel number (converted from exact minor units only where the float is exact; see
``pipeline.money.exact_float``), so it can be sorted and filtered.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import pandas as pd

from pipeline.config import currency_decimals
from pipeline.errors import InputError
from pipeline.held_checks import check_of, label_of
from pipeline.ledger import Ledger, ReviewRecord
from pipeline.money import exact_float, minor_text
from pipeline.review import APPLY_INVOICE, ON_ACCOUNT, SKIP, WAIT, Decision
from pipeline.split import SPLIT, parse_parts
from pipeline.xlsx import Money, Table, open_workbook, write_table

DECISIONS_SUBJECT: Final = "payimport decisions"
SHEET: Final = "Decisions"

CHOICES: Final = {
    "Apply to candidate": "candidate",
    "Apply to invoice": APPLY_INVOICE,
    "Apply to several invoices": SPLIT,
    "On account": ON_ACCOUNT,
    "Not a customer payment - skip": SKIP,
    "Wait": WAIT,
}
"""The drop-down's words, and what each means."""

# The person's columns, in the order they appear after the facts of the row.
DECISION = "Decision"
CANDIDATE = "Candidate No."
INVOICE = "Invoice No."
CUSTOMER = "Customer No. (decision)"
NOTE = "Note"
RESULT = "Result"
REVIEW_ID = "Review id (do not change)"
FACTS: Final = (
    ("Waiting since", "date", 14),
    ("First run", "text", 24),
    ("File", "text", 28),
    ("Row", "int", 6),
    ("Check", "text", 18),
    ("Check total", "money", 14),
    ("Posting Date", "date", 12),
    ("Received", "money", 14),
    ("Currency", "text", 9),
    ("Customer No.", "text", 13),
    ("Applies-to Invoice No.", "text", 20),
    ("External Document No.", "text", 22),
    ("Description", "text", 30),
    ("Why it waits", "wrap", 50),
    ("Candidates", "wrap", 45),
)
PERSON: Final = (
    (DECISION, "text", 28),
    (CANDIDATE, "int", 12),
    (INVOICE, "text", 16),
    (CUSTOMER, "text", 16),
    (NOTE, "wrap", 30),
)
COLUMNS: Final = (*FACTS, *PERSON, (RESULT, "wrap", 50), (REVIEW_ID, "text", 30))
HEADERS: Final = tuple(name for name, _, _ in COLUMNS)

INSTRUCTIONS: Final = (
    "Each row of the Decisions sheet is a payment that waits for a person. Choose a Decision:",
    "Apply to candidate - write the number of the invoice in Candidates (1, 2, ...) in Candidate No.",
    "Apply to invoice - write the invoice number in Invoice No.; Customer No. (decision) only when "
    "the payment belongs to another customer than the one shown.",
    "Apply to several invoices - write them in Invoice No., separated by ';', each with its amount or "
    "without (then its open amount): 'RE-2026-0105; RE-2026-0106' or 'RE-1 600.00; RE-2 400.00; "
    "on account 45.50'. The amounts must add up to the amount received; put any rest 'on account'.",
    "On account - write the customer number in Customer No. (decision): the payment is posted to that "
    "customer without an invoice.",
    "Not a customer payment - skip - write why in Note (for example: handled elsewhere, refund).",
    "Wait - or leave the Decision empty: the row keeps waiting.",
    "Lines of one check (the same Check, the check's total beside it) are one payment: decide each line; "
    "the check is posted only when every one of its lines has a decision, all lines under the check's one "
    "document number. Until then the decided lines wait, and the Result says which lines are still undecided.",
    "Save the workbook and import it again (payimport run THIS-FILE.xlsx, or drop it into the inbox).",
    "Each decision is checked: an invoice of another customer, more than the invoice's open amount or "
    "an unknown customer is refused and the Result column says why. Fix it and import the file again.",
    "A payment is posted once, whatever happens: importing the same decisions again posts nothing twice.",
)


def candidate_numbers(candidates: str) -> list[str]:
    """The invoice numbers of a row's candidates text ("RE-1 (C10000, open ...); RE-2 (...)")."""
    out = []
    for part in candidates.split(";"):
        words = part.strip().split()
        if words:
            out.append(words[0])
    return out


def numbered(candidates: str) -> str:
    """Candidates as the workbook shows them: one per line, numbered as Candidate No. expects."""
    parts = [p.strip() for p in candidates.split(";") if p.strip()]
    return "\n".join(f"{i}) {p}" for i, p in enumerate(parts, start=1))


@dataclass
class Entry:
    """One row of a decisions workbook: the held row (None when the ledger does not know the
    review id written in the row), what the person wrote, the result and the review id."""

    record: ReviewRecord | None
    written: dict[str, Any] = field(default_factory=dict)
    result: str = ""
    key: str = ""


def write_decisions_workbook(path: Path, entries: Sequence[Entry], decimals: int) -> Path:
    """The Decisions sheet (facts, the person's columns with drop-downs, Result) and How to decide."""
    totals = _check_totals(entries)
    rows = [_row(e, decimals, totals) for e in entries]
    with open_workbook(path, subject=DECISIONS_SUBJECT, title="Payments waiting for a decision") as book:
        table = Table(SHEET, tuple((n, k, w) for n, k, w in COLUMNS), decimals=decimals)
        sheet = write_table(book, table, rows)
        last = max(len(rows), 1)
        at = HEADERS.index(DECISION)
        sheet.data_validation(
            1,
            at,
            last,
            at,
            {
                "validate": "list",
                "source": list(CHOICES),
                "error_title": "Decision",
                "error_message": "Choose one of the list: " + ", ".join(CHOICES),
            },
        )
        number_at = HEADERS.index(CANDIDATE)
        sheet.data_validation(
            1,
            number_at,
            last,
            number_at,
            {"validate": "integer", "criteria": "between", "minimum": 1, "maximum": 99},
        )
        guide = book.add_worksheet("How to decide")
        guide.set_column(0, 0, 110, book.add_format({"text_wrap": True, "valign": "top"}))
        for i, text in enumerate(INSTRUCTIONS):
            guide.write_string(i, 0, text)
    return path


def _check_totals(entries: Sequence[Entry]) -> dict[str, int]:
    """Each check's total (received, minor units) over its lines in the workbook."""
    out: dict[str, int] = {}
    for e in entries:
        if e.record is not None and check_of(e.record):
            check = check_of(e.record)
            out[check] = out.get(check, 0) - int(e.record.row.get("amount_minor") or 0)
    return out


def _received(minor: int, places: int) -> Any:
    """An amount as the workbook shows it: an Excel number where the float is exact, else exact text."""
    number = exact_float(minor, places)
    return minor_text(minor, places) if number is None else Money(number, places)


def _row(entry: Entry, decimals: int, totals: Mapping[str, int]) -> list[Any]:
    r = entry.record
    person = [entry.written.get(name) for name, _, _ in PERSON]
    if r is None:
        return [*([None] * len(FACTS)), *person, entry.result, entry.key]
    row = r.row
    minor = -int(row.get("amount_minor") or 0)  # BC's sign in the ledger; finance reads a receipt as positive
    places = currency_decimals(str(row.get("currency", ""))) if row.get("currency") else decimals
    check = check_of(r)
    facts = [
        _date(r.first_seen),
        r.first_run,
        r.source_file,
        r.source_row,
        label_of(r) if check else None,
        _received(totals[check], places) if check else None,
        _date(str(row.get("postingDate", ""))),
        _received(minor, places),
        row.get("currency", ""),
        row.get("customerNumber", ""),
        row.get("appliesToInvoiceNumber", ""),
        row.get("externalDocumentNumber", ""),
        row.get("description", ""),
        r.message,
        numbered(str(row.get("candidates", ""))),
    ]
    return [*facts, *person, entry.result, r.key]


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None


def is_decisions_workbook(path: Path) -> bool:
    """An .xlsx whose document subject is ``DECISIONS_SUBJECT`` (whatever its name)."""
    if path.suffix.lower() != ".xlsx" or not path.is_file():
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            core = archive.read("docProps/core.xml").decode("utf-8", "replace")
    except (zipfile.BadZipFile, KeyError, OSError):
        return False
    # the element as any writer spells it: Excel and XlsxWriter declare the namespace on the root,
    # openpyxl with lxml on the element itself (<dc:subject xmlns:dc="...">)
    subject = re.search(r"<(?:\w+:)?subject\b[^>]*>([^<]*)</(?:\w+:)?subject>", core)
    return subject is not None and subject.group(1).strip() == DECISIONS_SUBJECT


@dataclass
class Read:
    """A decisions workbook as read: every row in order, the readable decisions, refusals by key."""

    path: Path
    entries: list[tuple[str, dict[str, Any], int]]  # (review id, what the person wrote, sheet row)
    decisions: dict[str, Decision]
    refused: dict[str, str]


def read_decisions_workbook(path: Path, held: Mapping[str, ReviewRecord]) -> Read:
    """Each row's decision, checked strictly against the row it names (``held``: the ledger's
    review rows of this company by key). A row that cannot be read as exactly one decision is
    refused with a message naming it; Wait and empty rows are neither."""
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        if SHEET not in book.sheetnames:
            raise InputError(str(path), f"has no {SHEET!r} sheet: it is not a decisions workbook of this tool")
        values = [list(r) for r in book[SHEET].iter_rows(values_only=True)]
    finally:
        book.close()
    header = [str(v or "").strip() for v in (values[0] if values else [])]
    missing = [name for name in (DECISION, CANDIDATE, INVOICE, CUSTOMER, NOTE, REVIEW_ID) if name not in header]
    if missing:
        raise InputError(str(path), f"the {SHEET} sheet lacks the column(s) {', '.join(missing)}")
    at = {name: header.index(name) for name in header if name}
    read = Read(path, [], {}, {})
    for number, cells in enumerate(values[1:], start=2):
        written = {name: _cell(cells, at[name]) for name, _, _ in PERSON}
        key = _cell(cells, at[REVIEW_ID])
        if not key:
            continue
        read.entries.append((key, written, number))
        where = f"row {number}"
        try:
            decision = _decision(written, held.get(key), where)
        except ValueError as exc:
            read.refused[key] = str(exc)
            continue
        if decision is not None:
            read.decisions[key] = decision
    return read


def _cell(cells: Sequence[Any], at: int) -> Any:
    value = cells[at] if at < len(cells) else None
    if isinstance(value, str):
        value = value.strip()
    return value if value not in (None, "") else ""


def _decision(written: Mapping[str, Any], record: ReviewRecord | None, where: str) -> Decision | None:
    """One row's decision, or ValueError saying exactly what is wrong with it; None: keep waiting."""
    choice = str(written[DECISION]).strip()
    kind = next((v for k, v in CHOICES.items() if k.lower() == choice.lower()), None)
    if not choice or kind == WAIT:
        return None
    if kind is None:
        raise ValueError(f"{where}: {choice!r} is not a decision; choose one of: {', '.join(CHOICES)}")
    if record is None:
        raise ValueError(f"{where}: this row is not waiting in this company (the Review id is unknown here)")
    if record.state == "done":
        raise ValueError(f"{where}: already handled ({record.outcome or 'done'}); nothing was changed")
    customer = str(written[CUSTOMER]).upper()
    if kind == "candidate":
        return Decision(APPLY_INVOICE, _candidate(written[CANDIDATE], record, where), customer)
    if kind == APPLY_INVOICE:
        return _invoice_decision(str(written[INVOICE]).upper(), customer, where)
    if kind == SPLIT:
        return _split_decision(str(written[INVOICE]), customer, where)
    if kind == ON_ACCOUNT:
        if not customer:
            raise ValueError(f"{where}: On account needs the customer number in {CUSTOMER}")
        return Decision(ON_ACCOUNT, "", customer)
    note = str(written[NOTE])
    if not note:
        raise ValueError(f"{where}: say in {NOTE} why this is not a customer payment (e.g. handled elsewhere)")
    return Decision(SKIP, note=note)


def _invoice_decision(invoice: str, customer: str, where: str) -> Decision:
    """One invoice in one decision, or ValueError naming the row."""
    if not invoice:
        raise ValueError(f"{where}: Apply to invoice needs the invoice number in {INVOICE}")
    if len(invoice.replace(",", " ").replace(";", " ").split()) != 1:
        raise ValueError(f"{where}: write one invoice number in {INVOICE}, or choose Apply to several invoices")
    return Decision(APPLY_INVOICE, invoice, customer)


def _split_decision(text: str, customer: str, where: str) -> Decision:
    """Several invoices in one decision: readable as parts, or ValueError naming the row."""
    try:
        parse_parts(text)
    except ValueError as exc:
        raise ValueError(f"{where}: {INVOICE}: {exc}") from None
    return Decision(SPLIT, text, customer)


def _candidate(value: Any, record: ReviewRecord, where: str) -> str:
    """The invoice number of candidate ``value`` of the row, or ValueError."""
    numbers = candidate_numbers(str(record.row.get("candidates", "")))
    try:
        n = int(str(value).strip())
    except ValueError:
        n = 0
    if not 1 <= n <= len(numbers):
        have = f"1 to {len(numbers)}" if numbers else "none: this row has no candidate"
        raise ValueError(f"{where}: write the number of a candidate in {CANDIDATE} ({have}), not {value!r}")
    return numbers[n - 1]


def split_decision_workbooks(paths: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """The run's statement files, and the decisions workbooks among its paths."""
    files: list[Path] = []
    workbooks: list[Path] = []
    for path in paths:
        (workbooks if is_decisions_workbook(path) else files).append(path)
    return files, workbooks


def take_decisions(ledger: Ledger, scope: str, workbooks: Sequence[Path], *, dry_run: bool) -> list[Read]:
    """Read every decisions workbook against the ledger's rows and record the readable decisions
    (a dry run records nothing: it only checks them)."""
    if not workbooks:
        return []
    held = ledger.reviews(scope)
    reads = [read_decisions_workbook(path, held) for path in workbooks]
    if not dry_run:
        for read in reads:
            ledger.record_decisions(scope, [(k, d.to_json()) for k, d in read.decisions.items()])
    return reads


def answer_workbooks(ledger: Ledger, scope: str, reads: Sequence[Read], lines: pd.DataFrame, decimals: int) -> None:
    """Write each decisions workbook again in place: the same rows, what the person wrote, and a
    Result per row (added to a journal, skipped, refused and why, still waiting)."""
    if not reads:
        return
    by_key = {str(r["key"]): r for r in lines[lines["key"] != ""].to_dict("records")}
    for read in reads:
        held = ledger.reviews(scope, [key for key, _, _ in read.entries])
        entries = []
        for key, written, _ in read.entries:
            result = read.refused.get(key) or _result(by_key.get(key), held.get(key))
            entries.append(Entry(held.get(key), written, result, key))
        write_decisions_workbook(read.path, entries, decimals)


def _result(line: Mapping[Any, Any] | None, record: ReviewRecord | None) -> str:
    """What became of a row, in the words of the Result column."""
    if record is not None and record.state == "done" and (line is None or line["state"] != "posted"):
        return f"done: {record.outcome}"
    if line is None:
        return "not in this run" if record is None else f"waiting since {record.first_seen[:10]}"
    state, message = str(line["state"]), str(line["message"])
    if state == "posted":
        return record.outcome if record and record.outcome else f"added to journal {line['journal_code']}"
    if state == "rejected":
        return f"Business Central refused it: {message}"
    return message or state.replace("_", " ")


def write_review_workbook(ledger: Ledger, scope: str, path: Path) -> list[ReviewRecord]:
    """A decisions workbook of every row waiting for a person in this company (``payimport review``),
    oldest first; returns those rows."""
    waiting = _checks_together(list(ledger.reviews(scope, states=("waiting", "decided")).values()))
    entries = [
        Entry(r, _written(r), "decided, not carried out yet" if r.state == "decided" else "", r.key) for r in waiting
    ]
    write_decisions_workbook(path, entries, 2)
    return waiting


def _checks_together(records: list[ReviewRecord]) -> list[ReviewRecord]:
    """Oldest first, the lines of one check together (where its first line waiting would be)."""
    first: dict[str, int] = {}
    for i, r in enumerate(records):
        first.setdefault(check_of(r) or r.key, i)
    return sorted(records, key=lambda r: first[check_of(r) or r.key])


def _written(record: ReviewRecord) -> dict[str, Any]:
    """A decision already recorded, shown in the person's columns (so a new workbook does not lose it)."""
    decision = record.decision
    if decision is None:
        return {}
    choice = next((k for k, v in CHOICES.items() if v == decision.get("kind")), "")
    return {
        DECISION: choice,
        INVOICE: decision.get("invoice", ""),
        CUSTOMER: decision.get("customer", ""),
        NOTE: decision.get("note", ""),
    }


def waiting_json(record: ReviewRecord) -> dict[str, Any]:
    """One waiting row for ``payimport review --json`` (amount exact text, receipts positive)."""
    row = record.row
    places = currency_decimals(str(row.get("currency", "")))
    return {
        "review_id": record.key,
        "state": record.state,
        "waiting_since": record.first_seen,
        "first_run": record.first_run,
        "file": record.source_file,
        "row": record.source_row,
        "received": minor_text(-int(row.get("amount_minor") or 0), places),
        "currency": row.get("currency", ""),
        "customer": row.get("customerNumber", ""),
        "reason_code": record.reason_code,
        "message": record.message,
        "last_refusal": record.outcome or "",
    }


def render_waiting(waiting: Sequence[ReviewRecord], path: Path) -> str:
    """The console listing of ``payimport review``: one line per row, oldest first."""
    if not waiting:
        return f"Nothing is waiting for a person. (An empty decisions workbook was written to {path}.)"
    out = [f"{len(waiting)} payment(s) waiting for a person:"]
    for r in waiting:
        w = waiting_json(r)
        out.append(
            f"  since {r.first_seen[:10]}  {r.source_file} row {r.source_row}  {w['received']} {w['currency']}"
            + (f"  ({label_of(r)})" if check_of(r) else "")
            + f"  {r.message}"
            + ("  [decided, not carried out yet]" if r.state == "decided" else "")
        )
    out.append(f"Decide in {path} (column Decision), then: payimport run {path}")
    return "\n".join(out)
