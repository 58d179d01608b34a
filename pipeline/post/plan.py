"""Planning: which rows this run still has to send, the lineNumber each gets (once, for a real run
and a dry run alike), and the exact request body recorded in the ledger before anything is sent.

The deciding functions are pure (``split_by_ledger``, ``kept_line_numbers``,
``first_line_not_invoice_blocked``, ``request_body``; numbering is ``pipeline.linenumbers``) and
tested on their own;
``plan_lines`` is the one step that reads the journal and writes the plan into the ledger.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from pipeline.errors import BCOutcomeUnknown, ConfigError
from pipeline.ledger import Placed, PlannedRow, RowRecord
from pipeline.linenumbers import assign_line_numbers, first_number_after, number_after
from pipeline.lines import payment_lines, receipt_key
from pipeline.money import minor_text
from pipeline.post.batches import read_journal_lines
from pipeline.post.context import RunContext
from pipeline.post.journal import Journal
from pipeline.reconcile import as_records
from schemas.codes import Flag, Outcome

# --- what the ledger already decides --------------------------------------------------------------


@dataclass(frozen=True)
class LedgerSplit:
    """The input's rows as the ledger sees them.

    ``known``: lines the ledger decides (imported before, repeated in this run, in conflict or in
    doubt); ``resumed``: rows the resumed run already created, reported as posted from what was
    sent (never resolved again: BC's customers and invoices may have changed since); ``todo``:
    rows left to resolve.
    """

    known: list[pd.DataFrame]
    resumed: pd.DataFrame
    todo: pd.DataFrame


def split_by_ledger(
    rows: pd.DataFrame, records: Mapping[str, RowRecord], run_id: str, *, dry_run: bool = False
) -> LedgerSplit:
    """Split the input's rows by what the ledger holds for their keys (pure).

    A row still ``sending`` after settling means BC did not answer the read-back: a real run stops
    (it must not guess); a dry run reports it as in doubt.
    """
    if rows.empty:
        return LedgerSplit([], rows, rows)
    keys = rows["key"].astype("str").tolist()
    duplicate = rows["key"].duplicated(keep="first")
    state_of = pd.Series([records[k].state if k in records else "" for k in keys], index=rows.index, dtype="str")
    run_of = pd.Series([records[k].run_id if k in records else "" for k in keys], index=rows.index, dtype="str")
    if (state_of == "sending").any() and not dry_run:
        raise BCOutcomeUnknown("some rows are still in doubt after reading BC back; run again when BC answers")
    mine = (run_of == run_id) & (state_of == "created")
    earlier = (state_of == "created") & ~mine
    conflict = (state_of == "conflict") | (state_of == "sending")
    partial = _rest_of_a_check_in_bc(rows, earlier) & ~duplicate & ~earlier & ~conflict & ~mine
    known = [
        _already_imported(rows[earlier & ~duplicate].copy(), records),
        _repeated_in_run(rows[duplicate].copy(), rows[~duplicate]),
        _in_conflict(rows[conflict & ~duplicate].copy(), records),
        _check_in_part(rows[partial].copy(), rows[earlier], records),
    ]
    return LedgerSplit(
        [part for part in known if not part.empty],
        _resumed_created(rows[mine & ~duplicate], records),  # a mask takes a copy: no second one
        rows[~duplicate & ~earlier & ~conflict & ~mine & ~partial].reset_index(drop=True),
    )


def _rest_of_a_check_in_bc(rows: pd.DataFrame, earlier: pd.Series) -> pd.Series:
    """Rows of a check (``payment_key``) some other line of which an earlier run put in BC: sending
    them now would make the check two payments in two journals, one perhaps posted without the other
    (a line BC refused, ``posting.partly_refused``). As a split receipt created in part
    (``pipeline.splits.receipt_records``), the check is a conflict for a person."""
    if "payment_key" not in rows.columns:
        return pd.Series(False, index=rows.index)
    check = rows["payment_key"].fillna("").astype("str")
    in_bc = set(check[earlier & (check != "")])
    return check.isin(in_bc) & (check != "")


def _check_in_part(rows: pd.DataFrame, in_bc: pd.DataFrame, records: Mapping[str, RowRecord]) -> pd.DataFrame:
    if rows.empty:
        return payment_lines(rows, "needs_review")
    checks = in_bc["payment_key"].astype("str").tolist()
    where = {c: records[str(k)] for c, k in zip(checks, in_bc["key"], strict=True)}
    count = {c: checks.count(c) for c in checks}
    rows["reason_code"] = Outcome.BC_CONFLICT
    rows["message"] = [
        f"{count[c]} other line(s) of this payment are in Business Central already (journal "
        f"{where[c].journal_code}, document {where[c].payload.get('documentNumber', '')}), this one is not: "
        "sending it alone could post the payment in part; a person checks the journal"
        for c in rows["payment_key"].astype("str")
    ]
    rows["lineNumber"] = pd.NA
    return payment_lines(rows, "needs_review")


def _already_imported(rows: pd.DataFrame, records: Mapping[str, RowRecord]) -> pd.DataFrame:
    if rows.empty:
        return payment_lines(rows, "already_posted")
    rows["message"] = [f"already imported by run {records[k].run_id} {_where(records[k])}" for k in rows["key"]]
    rows["bc_id"] = [records[k].bc_id or "" for k in rows["key"]]
    rows["journal_code"] = [records[k].journal_code or "" for k in rows["key"]]
    rows["lineNumber"] = [records[k].line_number or pd.NA for k in rows["key"]]
    return payment_lines(rows, "already_posted")


def _where(record: RowRecord) -> str:
    """Where the payment is: its journal line, or (a ledger rebuilt from BC's posted entries) the
    posted entry that shows it."""
    if record.journal_code:
        return f"into journal {record.journal_code} (line {record.line_number})"
    return f"(posted in BC: {record.bc_id})"


def _repeated_in_run(repeats: pd.DataFrame, firsts: pd.DataFrame) -> pd.DataFrame:
    if repeats.empty:
        return payment_lines(repeats, "already_posted")
    first = {str(r["key"]): r for r in as_records(firsts)}
    repeats["message"] = [
        f"same payment as {first[k]['source_file']} row {first[k]['source_row']} in this run"
        for k in repeats["key"].astype("str")
    ]
    repeats["reason_code"] = Outcome.DUPLICATE_IN_RUN
    repeats["lineNumber"] = pd.NA  # never planned: the first occurrence holds the line
    return payment_lines(repeats, "already_posted")


def _in_conflict(rows: pd.DataFrame, records: Mapping[str, RowRecord]) -> pd.DataFrame:
    if rows.empty:
        return payment_lines(rows, "needs_review")
    rows["reason_code"] = [
        Outcome.BC_CONFLICT if records[k].state == "conflict" else Outcome.OUTCOME_UNKNOWN for k in rows["key"]
    ]
    rows["message"] = [
        records[k].error_message or ""
        if records[k].state == "conflict"
        else "may already be in BC: the next real run reads the journal back and settles it"
        for k in rows["key"]
    ]
    return payment_lines(rows, "needs_review")


def _resumed_created(rows: pd.DataFrame, records: Mapping[str, RowRecord]) -> pd.DataFrame:
    if rows.empty:
        return rows.reset_index(drop=True)
    fields = ("customerNumber", "appliesToInvoiceNumber", "appliesToInvoiceId")
    columns: list[list[str]] = [[] for _ in fields]
    for key in rows["key"]:  # one payload parsed at a time: half a million resumed rows are not all dicts at once
        payload = records[key].payload
        for column, name in zip(columns, fields, strict=True):
            column.append(str(payload.get(name, "")))
    rows["lineNumber"] = [records[k].line_number for k in rows["key"]]
    for column, name in zip(columns, fields, strict=True):
        rows[name] = column
    rows["flags"] = ""
    return rows.reset_index(drop=True)


# --- lineNumbers ----------------------------------------------------------------------------------


def kept_line_numbers(
    keys: Sequence[str], records: Mapping[str, Placed], run_id: str, journal_id: str
) -> list[int | None]:
    """The lineNumber each row already has in this run's journal, or None for a new row (pure).

    A resume must not move a line that may exist in BC; rows another run planned elsewhere are new
    here.
    """
    return [
        records[k].line_number
        if k in records and records[k].run_id == run_id and records[k].journal_id == journal_id
        else None
        for k in keys
    ]


def number_dry_run(to_post: pd.DataFrame) -> pd.DataFrame:
    """lineNumbers as a new journal would give them (a real run continues after an existing
    journal's last line, which a dry run does not ask BC for)."""
    to_post["lineNumber"] = pd.Series(number_after(0, len(to_post)), index=to_post.index, dtype="int64")
    return to_post


def first_line_not_invoice_blocked(to_post: pd.DataFrame, last: int) -> pd.DataFrame:
    """BC refuses a customer blocked for invoices on the *first* line of an empty journal (it checks
    the block before the line becomes a payment; bc-api.md 1.3); later lines are accepted. So the
    first new line of an empty journal is one whose customer is not blocked that way. (A journal
    with any planned line, ours or BC's, has ``last`` > 0.)"""
    to_post = to_post.reset_index(drop=True)
    if last or not len(to_post) or "flags" not in to_post:
        return to_post
    blocked = to_post["flags"].astype("str").str.contains(Flag.CUSTOMER_BLOCKED_INVOICE, regex=False)
    if not blocked.iloc[0] or blocked.all():
        return to_post
    first_ok = int(blocked.to_numpy().argmin())
    order = [first_ok, *(i for i in range(len(to_post)) if i != first_ok)]
    return to_post.iloc[order].reset_index(drop=True)


# --- several journals ----------------------------------------------------------------------------


def spread_rows(
    keys: Sequence[str],
    records: Mapping[str, Placed],
    run_id: str,
    journal_ids: Sequence[str],
    batch_size: int = 1,
    payment_of: Callable[[str], str] = receipt_key,
) -> list[int]:
    """The journal (index into ``journal_ids``) each row goes to (pure).

    A row this run already planned into one of its journals stays there: it may exist in BC. The
    other rows go in input order, a whole receipt at a time (the lines of a receipt split over
    several invoices share one document number, and BC balances a journal per document, so they
    must never be parted), filling the journals in turn to an even share counted in whole
    ``$batch`` requests (``batch_size`` lines): 2,000 lines over 3 journals are 7, 7 and 6 requests
    (700, 700, 600 lines), not 667 lines each, which would need 21 requests instead of 20.
    ``payment_of`` names the payment a key belongs to (a check's lines are one payment with one
    document number: ``payment_groups``); by default its receipt.
    """
    count = len(journal_ids)
    place = {journal_id: i for i, journal_id in enumerate(journal_ids)}
    out: list[int | None] = []
    sizes = [0] * count
    receipt_of: dict[str, int] = {}
    for key in keys:
        record = records.get(key)
        kept = place.get(record.journal_id) if record is not None and record.run_id == run_id else None
        out.append(kept)
        if kept is not None:
            sizes[kept] += 1
            receipt_of.setdefault(payment_of(key), kept)
    whole, extra = divmod(-(-len(keys) // batch_size), count) if count else (0, 0)
    quota = [(whole + (1 if j < extra else 0)) * batch_size for j in range(count)]
    current = 0
    for i, key in enumerate(keys):
        if out[i] is not None:
            continue
        receipt = payment_of(key)
        if receipt not in receipt_of:
            while current < count - 1 and sizes[current] >= quota[current]:
                current += 1
            receipt_of[receipt] = current
        out[i] = receipt_of[receipt]
        sizes[receipt_of[receipt]] += 1
    return [int(j) for j in out if j is not None]


# --- document numbers ----------------------------------------------------------------------------

DOCUMENT_NUMBER_LENGTH = 20
"""documentNumber is Code[20] in BC."""


def unique_document_numbers(
    numbers: Sequence[str],
    keys: Sequence[str],
    kept: Mapping[str, str],
    owner_of: Callable[[str], str | None],
    payment_of: Callable[[str], str] = receipt_key,
) -> list[str]:
    """Every payment's own document number: the profile's (readable) number, or, when another
    payment already holds it in this company (this run, an earlier run), the same number with
    ``/2``, ``/3`` ... appended (cut to Code[20] from the left part, never the suffix).

    The document number is how a payment is found in BC's posted entries when a person posted the
    journal, so two payments must never share one. The lines of one receipt split over several
    invoices *are* one payment: they share their number (``pipeline.lines.receipt_key``). ``kept``
    holds the numbers already recorded for keys of this input (a resume keeps them); ``owner_of``
    says which key holds a number in the ledger (None when free). ``payment_of`` names the payment a
    key belongs to: the receipt, or the check whose lines share one number (``pipeline.remittance``).
    """
    taken: dict[str, str] = {}

    def holder(candidate: str) -> str | None:
        held = taken[candidate] if candidate in taken else owner_of(candidate)
        return None if held is None else payment_of(held)

    out: list[str] = []
    for number, key in zip(numbers, keys, strict=True):
        candidate = kept.get(key, number)
        n = 1
        while holder(candidate) not in (None, payment_of(key)):
            n += 1
            suffix = f"/{n}"
            candidate = number[: DOCUMENT_NUMBER_LENGTH - len(suffix)] + suffix
        taken[candidate] = key
        out.append(candidate)
    return out


def _own_document_numbers(ctx: RunContext, to_post: pd.DataFrame, records: Mapping[str, Placed]) -> pd.Series:
    """``unique_document_numbers`` over the rows to post, against the ledger of this company."""
    keys = to_post["key"].astype("str").tolist()
    numbers = to_post["documentNumber"].astype("str").str.upper().tolist()
    kept = {k: records[k].document_number for k in keys if k in records}
    owners = ctx.ledger.document_owners(ctx.scope, numbers)

    def owner_of(candidate: str) -> str | None:
        if candidate not in owners:
            owners.update(ctx.ledger.document_owners(ctx.scope, [candidate]) or {candidate: ""})
        return owners[candidate] or None

    kept = {k: v for k, v in kept.items() if v}
    unique = unique_document_numbers(numbers, keys, kept, owner_of, _payments(to_post, records, kept))
    return pd.Series(unique, index=to_post.index, dtype="str")


def payment_groups(to_post: pd.DataFrame) -> Callable[[str], str]:
    """The payment each key of these rows belongs to: its check (``pipeline.remittance``'s
    ``payment_key``), else its receipt (a split receipt's lines share it)."""
    if "payment_key" not in to_post.columns:
        return receipt_key
    payments = to_post["payment_key"].fillna("").astype("str")
    group = {k: p for k, p in zip(to_post["key"].astype("str"), payments, strict=True) if p}
    return lambda key: group.get(key) or receipt_key(key)


def _payments(to_post: pd.DataFrame, records: Mapping[str, Placed], kept: Mapping[str, str]) -> Callable[[str], str]:
    """The payment of a key: its check's (``pipeline.remittance.PAYMENT_KEY``), else its receipt's. A line of
    a check that an earlier run of this input planned holds the number the check's lines keep."""
    if "payment_key" not in to_post.columns:
        return receipt_key
    payments = to_post["payment_key"].fillna("").astype("str")
    group = {k: p for k, p in zip(to_post["key"].astype("str"), payments, strict=True) if p}
    by_number = {kept[k]: p for k, p in group.items() if k in kept}

    def payment_of(key: str) -> str:
        if key in group:
            return group[key]
        record = records.get(key)
        number = record.document_number if record is not None else ""
        return by_number.get(number) or receipt_key(key)

    return payment_of


# --- request bodies and the plan ------------------------------------------------------------------


def request_body(row: Mapping[str, Any], decimals: int) -> dict[str, Any]:
    """The customerPayments POST body for one resolved row, money as exact text (ledger form)."""
    body: dict[str, Any] = {
        "lineNumber": int(row["lineNumber"]),
        "customerNumber": row["customerNumber"],
        "postingDate": pd.Timestamp(row["postingDate"]).date().isoformat(),
        "documentNumber": row["documentNumber"],
        "externalDocumentNumber": row["externalDocumentNumber"],
        "amount": minor_text(int(row["amount_minor"]), decimals),
        "comment": row["comment"],
    }
    if row.get("appliesToInvoiceId"):
        # the id is BC's strict check (a posted invoice); the number is sent too so the ledger
        # can report the line without asking BC again
        body["appliesToInvoiceId"] = row["appliesToInvoiceId"]
        body["appliesToInvoiceNumber"] = row["appliesToInvoiceNumber"]
    if row.get("description"):
        body["description"] = row["description"]
    return body


@dataclass(frozen=True)
class Plan:
    """The rows to post in lineNumber order, the keys still to send (in lineNumber order, their
    bodies recorded in the ledger), and whether the journal holds lines no run of ours planned."""

    rows: pd.DataFrame
    to_send: list[str]
    foreign: bool


def _foreign_line_numbers(ctx: RunContext, journal: Journal, bc_lines: Sequence[Mapping[str, Any]]) -> list[int]:
    """Lines in the journal that no run of ours planned.

    Before anything of ours is in the journal they refuse the run (nothing sent, exit 2) unless the
    config allows them: posting the journal would post them too. Once the journal holds lines of
    ours (an interrupted run resumed), refusing would strand those lines and the rest of the input,
    so the run goes on: the foreign lines are reported as discrepancies (exit 1), the journal is not
    posted, and a planned line whose number a foreign line took is refused by BC and becomes a
    conflict for a person.
    """
    ours = ctx.ledger.line_numbers(ctx.scope, journal.id)
    foreign = sorted(int(line["lineNumber"]) for line in bc_lines if int(line["lineNumber"]) not in ours)
    sent = ctx.ledger.created_line_numbers(ctx.scope, journal.id) if foreign else set()
    if foreign and not sent and not ctx.config.journal.allow_foreign_lines:
        shown = ", ".join(map(str, foreign[:5])) + (" ..." if len(foreign) > 5 else "")
        raise ConfigError(
            f"journal {journal.code} already holds {len(foreign)} line(s) this tool did not plan (lineNumbers "
            f"{shown}); posting the journal would post them too. Use another journal, or set "
            "journal.allow_foreign_lines: true to add to it anyway."
        )
    return foreign


def plan_lines(ctx: RunContext, journal: Journal, to_post: pd.DataFrame, records: Mapping[str, Placed]) -> Plan:
    """Give every row to post its lineNumber in the journal and record the plan in the ledger
    *before* the journal gets a single line.

    Rows this run already planned keep their lineNumber; new rows continue after the journal's
    last line, in BC or in the ledger, and never take 10000 in a journal that may have been posted
    (``linenumbers.first_number_after``).
    """
    bc_lines = [] if journal.fresh else read_journal_lines(ctx.client, journal.id)
    foreign = _foreign_line_numbers(ctx, journal, bc_lines)
    seen = max([0, ctx.ledger.max_line_number(ctx.scope, journal.id), *(int(line["lineNumber"]) for line in bc_lines)])
    last = first_number_after(seen, may_have_been_posted=bool(ctx.config.journal.existing))
    to_post = first_line_not_invoice_blocked(to_post, last)
    kept = kept_line_numbers(to_post["key"].astype("str").tolist(), records, ctx.run_id, journal.id)
    to_post["lineNumber"] = pd.Series(assign_line_numbers(kept, last), index=to_post.index, dtype="int64")
    to_post["documentNumber"] = _own_document_numbers(ctx, to_post, records)
    rows = to_post.sort_values("lineNumber", kind="stable").reset_index(drop=True)
    keys = rows["key"].astype("str").tolist()
    send = [not (k in records and records[k].state == "created" and records[k].run_id == ctx.run_id) for k in keys]
    to_send = [k for k, s in zip(keys, send, strict=True) if s]
    pending = rows[send]
    # A chunk of rows is one ledger transaction, so a million rows are never all Python dicts at
    # once; nothing is sent before every chunk of every journal is planned, and a run killed in
    # between resumes with the planned rows' lineNumbers kept.
    chunk = ctx.config.posting.plan_chunk_rows
    for start in range(0, len(pending), chunk):
        planned = [
            PlannedRow(
                key=str(r["key"]),
                run_id=ctx.run_id,
                file_sha256=str(r["file_sha256"]),
                source_file=str(r["source_file"]),
                source_row=int(r["source_row"]),
                journal_id=journal.id,
                journal_code=journal.code,
                line_number=int(r["lineNumber"]),
                payload=request_body(r, ctx.decimals),
            )
            for r in as_records(pending.iloc[start : start + chunk])
        ]
        ctx.ledger.plan(ctx.scope, ctx.run_id, planned)
    return Plan(rows, to_send, bool(foreign))
