"""Rebuilding a lost ledger from what Business Central holds: ``payimport ledger rebuild FILES``.

A lost ledger (deleted state folder, new machine without the backup) makes every run refuse to
post into a company that shows this tool's work (``post.history``), because a fresh ledger would
post it all again. Restoring the backup is the best answer; without one, this rebuilds the record
from the two places a payment of this tool can be in BC:

- an open line of one of this tool's customer payment journals (named by ``journal.code_template``
  and ``journal.display_name``, plus ``journal.existing``), matched by document number, posting
  date and amount;
- BC's posted payment entries (``generalLedgerEntries``) of the files' posting days, matched by
  document number and posting date (a journal a person posted); a row found nowhere else may have
  been posted from a batch with a Posting No. Series, under another number: it is matched by
  posting date, amount and description (``evidence.renumbered_matches``) among the posted
  documents no row and no ledger entry claims. A payment a person keyed by hand looks the same,
  so such a match counts only with ``journal.existing`` (the one kind of batch that can have a
  Posting No. Series); otherwise it is recorded as a conflict for a person (``_record``).

Rows are matched to BC in file order. A payment's document number is the profile's number, or that
number with ``/2``, ``/3`` ... when another payment held it (``post.plan.unique_document_numbers``),
so each row takes the first unused trace of its number's family, the plain number first. What BC
holds is recorded as created by a run named ``<time>-rebuild-<journal>``; rows found nowhere are left
for the next run to import; journal lines no file explains are listed, never claimed.

The rebuild cannot see what it is not given: posted payments of files not passed to it stay
unknown to the ledger. So it is given every file imported into the company since the ledger was
last backed up (a watched folder keeps them in ``done/``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.bc import BCClient
from pipeline.config import Config
from pipeline.inputs import Inputs, read_inputs
from pipeline.ledger import Ledger, PlannedRow
from pipeline.lines import receipt_key, split_line_key
from pipeline.localtime import file_stamp
from pipeline.money import minor_text
from pipeline.post.batches import read_journal_lines
from pipeline.post.evidence import RENUMBERED_FIELDS, posted_between, renumbered_matches
from pipeline.post.history import tool_journals
from pipeline.reconcile import as_records
from pipeline.remittance import mark_payments
from pipeline.session import ledger_scope

_SUFFIX = re.compile(r"^(?P<stem>.*)/(?P<n>[0-9]+)$")
_SHOWN = 5


@dataclass(frozen=True)
class Trace:
    """One payment as BC holds it: an open journal line, or a posted document (journal "")."""

    number: str  # document number, upper case
    day: str  # posting date, ISO
    amount: Decimal | None  # a journal line's amount; posted entries are matched by number and day
    journal_id: str
    journal_code: str
    line_number: int
    bc_id: str  # the line's id, or "G/L entry N"
    body: dict[str, Any]  # what the ledger records as the payment's request body

    def describe(self) -> str:
        """How a person finds it in BC."""
        if self.journal_id:
            return f"{self.journal_code} line {self.line_number} ({self.number}, {self.day})"
        return f"{self.bc_id} ({self.number}, {self.day})"


@dataclass
class Rebuilt:
    """What a rebuild found and recorded (or would record, in a dry run)."""

    files: list[str]
    dry_run: bool
    in_journals: int = 0
    posted: int = 0
    known_before: int = 0
    not_in_bc: int = 0
    unexplained: list[str] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)
    held: bool = False  # found, but not recorded: lines of this tool's journals that no file explains
    look_alike: int = 0  # matched only by date and amount (``_renumbered``)
    look_alike_held: bool = False  # ... and recorded as conflicts for a person (no ``journal.existing``)

    @property
    def needs_person(self) -> bool:
        """Journal lines of this tool that no given file explains: the files given were not all."""
        return bool(self.unexplained)

    def to_json(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "dry_run": self.dry_run,
            "found_in_journals": self.in_journals,
            "found_posted": self.posted,
            "already_in_ledger": self.known_before,
            "not_in_bc": self.not_in_bc,
            "unexplained_journal_lines": len(self.unexplained),
            "unexplained_examples": self.unexplained[:_SHOWN],
            "matched_by_date_and_amount": self.look_alike,
            "matched_by_date_and_amount_held": self.look_alike_held,
            "runs_recorded": self.runs,
            "recorded": bool(self.runs),
        }


# --- matching (pure) ------------------------------------------------------------------------------


def family_rank(number: str, base: str) -> int | None:
    """1 when ``number`` is ``base`` itself, n when it is ``base`` made unique with ``/n`` (cut to
    Code[20] from the left part, as ``unique_document_numbers`` does), None when it is neither."""
    if number == base:
        return 1
    found = _SUFFIX.match(number)
    if found is None or int(found["n"]) < 2:
        return None
    suffix = "/" + found["n"]
    return int(found["n"]) if found["stem"] == base[: 20 - len(suffix)] else None


def _stem(number: str) -> str:
    found = _SUFFIX.match(number)
    return found["stem"] if found else number


def match_traces(rows: Sequence[Mapping[str, Any]], traces: Iterable[Trace], decimals: int) -> list[Trace | None]:
    """The trace each row is, in file order (None: not in BC); each trace is taken once (pure).

    A row's candidates are the traces of its posting day whose number is of its number's family
    and, for a journal line, whose amount is the row's; the lowest ``/n`` wins, as numbers were given.
    """
    by_stem: dict[tuple[str, str], list[Trace]] = {}
    for trace in traces:
        by_stem.setdefault((trace.day, _stem(trace.number)), []).append(trace)
    used: set[int] = set()
    out: list[Trace | None] = []
    for row in rows:
        base = str(row["documentNumber"]).upper()
        day = pd.Timestamp(row["postingDate"]).date().isoformat()
        amount = Decimal(minor_text(int(row["amount_minor"]), decimals))
        stems = {base} | {base[: 20 - width] for width in range(2, 8)}
        candidates = [
            (rank, trace)
            for stem in stems
            for trace in by_stem.get((day, stem), [])
            if id(trace) not in used
            and (trace.amount is None or trace.amount == amount)
            and (rank := family_rank(trace.number, base)) is not None
        ]
        if not candidates:
            out.append(None)
            continue
        _, chosen = min(candidates, key=lambda c: (c[0], c[1].journal_id == "", c[1].line_number))
        used.add(id(chosen))
        out.append(chosen)
    return out


def match_split_receipts(
    rows: Sequence[Mapping[str, Any]], traces: Iterable[Trace], decimals: int
) -> list[list[Trace]]:
    """For rows no single trace is: the open lines of one split receipt (pure).

    A receipt that pays several invoices was sent as several lines sharing its document number
    (one per invoice, and one for the remainder), amounts summing exactly to the receipt. A row is
    such a receipt when the unclaimed lines of one journal with one number of its family, two or
    more, add up to its amount; the lowest ``/n`` wins, and each line is taken once.
    """
    groups: dict[tuple[str, str, str], list[Trace]] = {}
    for trace in traces:
        if trace.journal_id and trace.amount is not None:
            groups.setdefault((trace.day, trace.journal_id, trace.number), []).append(trace)
    taken: set[tuple[str, str, str]] = set()
    out: list[list[Trace]] = []
    for row in rows:
        base = str(row["documentNumber"]).upper()
        day = pd.Timestamp(row["postingDate"]).date().isoformat()
        amount = Decimal(minor_text(int(row["amount_minor"]), decimals))
        fits = [
            (rank, group)
            for group, lines in groups.items()
            if group not in taken
            and group[0] == day
            and len(lines) >= 2
            and (rank := family_rank(group[2], base)) is not None
            and sum((t.amount or Decimal(0) for t in lines), Decimal(0)) == amount
        ]
        if not fits:
            out.append([])
            continue
        _, chosen = min(fits)
        taken.add(chosen)
        out.append(sorted(groups[chosen], key=lambda t: t.line_number))
    return out


# --- reading BC -----------------------------------------------------------------------------------


def _line_trace(journal: Mapping[str, Any], line: Mapping[str, Any]) -> Trace:
    number = str(line.get("documentNumber", "")).upper()
    body = {k: line[k] for k in ("lineNumber", "customerNumber", "postingDate", "documentNumber") if k in line}
    body["documentNumber"] = number
    for name in ("externalDocumentNumber", "comment", "description", "appliesToInvoiceNumber"):
        if line.get(name):
            body[name] = line[name]
    body["amount"] = str(Decimal(str(line.get("amount", "0"))))
    return Trace(
        number,
        str(line.get("postingDate", ""))[:10],
        Decimal(body["amount"]),
        str(journal["id"]),
        str(journal.get("code", "")),
        int(line["lineNumber"]),
        str(line.get("id", "")),
        body,
    )


def read_traces(client: BCClient, config: Config, days: tuple[str, str]) -> list[Trace]:
    """This tool's open journal lines, then the payments BC posted on the given days."""
    traces = [
        _line_trace(journal, line)
        for journal in tool_journals(client, config.journal, with_existing=True)
        for line in read_journal_lines(client, str(journal["id"]))
    ]
    for number, entries in sorted(posted_between(client, days).items()):
        first_by_day: dict[str, Mapping[str, Any]] = {}
        for entry in sorted(entries, key=lambda e: int(e.get("entryNumber", 0))):
            first_by_day.setdefault(str(entry.get("postingDate", ""))[:10], entry)
        for day, first in first_by_day.items():
            body = {"documentNumber": number, "postingDate": day}
            traces.append(Trace(number, day, None, "", "", 0, f"G/L entry {first.get('entryNumber')}", body))
    return traces


# --- recording ------------------------------------------------------------------------------------


Found = tuple[Mapping[str, Any], str, Trace]
"""An input row, the key its payment is recorded under, and what BC holds of it."""


def _planned(run_id: str, found: Found, decimals: int) -> PlannedRow:
    row, key, trace = found
    body = dict(trace.body)
    body.setdefault("amount", minor_text(int(row["amount_minor"]), decimals))
    return PlannedRow(
        key=key,
        run_id=run_id,
        file_sha256=str(row["file_sha256"]),
        source_file=str(row["source_file"]),
        source_row=int(row["source_row"]),
        journal_id=trace.journal_id,
        journal_code=trace.journal_code,
        line_number=trace.line_number,
        payload=body,
    )


def _record(ledger: Ledger, scope: str, found: Sequence[Found], inputs: Inputs, look_alike: set[str]) -> list[str]:
    """One finished run per journal (its journal still open) and one for posted payments.

    A payment matched only by date and amount where no batch can have renumbered it (``look_alike``:
    then it is a payment a person keyed by hand, or ours) is recorded as a conflict: the next run
    neither sends it nor calls it posted, a person checks it. Recorded as created, a payment of the
    files that never reached BC would be in BC nowhere and never sent."""
    stamp = file_stamp(datetime.now(UTC))
    files = [{"file": str(p), "sha256": s} for p, s in zip(inputs.paths, inputs.shas, strict=True)]
    groups: dict[tuple[str, str], list[Found]] = {}
    for item in found:
        groups.setdefault((item[2].journal_id, item[2].journal_code), []).append(item)
    runs = []
    for (journal_id, code), members in sorted(groups.items()):
        run_id = f"{stamp}-rebuild-{code or 'posted'}"
        ledger.start_run(scope, run_id, files)
        ledger.set_journal(run_id, code, journal_id or None, "created" if journal_id else "posted")
        ledger.plan(scope, run_id, [_planned(run_id, item, inputs.decimals) for item in members])
        ledger.mark_sending(scope, [key for _, key, _ in members])
        ledger.mark_created(scope, [(key, trace.bc_id) for _, key, trace in members if key not in look_alike])
        doubtful = [(key, _look_alike_message(trace)) for _, key, trace in members if key in look_alike]
        if doubtful:
            ledger.mark_conflict(scope, doubtful)
        ledger.finish_run(run_id, "finished", {"rebuilt_from": [f["file"] for f in files], "rows": len(members)})
        runs.append(run_id)
    return runs


def _look_alike_message(trace: Trace) -> str:
    return (
        f"the ledger rebuild found no trace of this payment under its own number; BC posted a payment of its "
        f"posting date and amount under another number ({trace.bc_id}): this payment posted under a Posting No. "
        "Series, or one a person keyed by hand. Check the customer's ledger in BC; import it again only if it is "
        "not there"
    )


def _vouched_check_lines(
    client: BCClient, rows: Sequence[Mapping[str, Any]], found: Sequence[Found], days: tuple[str, str], decimals: int
) -> tuple[list[Found], list[str]]:
    """``found`` with the lines of every check (``pipeline.remittance``) found posted replaced by the
    lines BC's posted entries vouch for, and the checks whose posted document vouches for none of
    their lines (for a person).

    A check's lines share one document number, and posted entries are read as one trace per number
    and day, so the trace says the check was posted, not that each of its lines was: a line BC
    refused when it was sent was never in the journal. Each line posted its own receivables entry
    (a credit of the amount received, with the line's description), so a line counts as posted only
    when an entry of its document and day, not taken by another line, has its amount and (where
    both have one) its description. A line no entry vouches for is not in BC; the next run does not
    send it alone but holds it as a conflict (``pipeline.post.plan``), since its check is in BC in part.
    """
    posted: dict[str, Trace] = {}
    for row, _key, trace in found:
        check = row.get("payment_key")
        if isinstance(check, str) and check and not trace.journal_id:
            posted.setdefault(check, trace)
    if not posted:
        return list(found), []
    entries = posted_between(client, days, RENUMBERED_FIELDS)
    out = [item for item in found if item[0].get("payment_key") not in posted]
    unvouched: list[str] = []
    for check, trace in posted.items():
        lines = [row for row in rows if row.get("payment_key") == check]
        credits = [
            e
            for e in entries.get(trace.number, [])
            if str(e.get("postingDate", ""))[:10] == trace.day and Decimal(str(e.get("creditAmount") or 0)) > 0
        ]
        vouched = _vouch(lines, credits, trace, decimals)
        out += vouched
        if not vouched:
            unvouched.append(
                f"{trace.describe()}: posted document of the check of {lines[0].get('source_file')} row "
                f"{lines[0].get('source_row')}, but none of its {len(lines)} line(s) matches its entries"
            )
    return out, unvouched


def _vouch(
    lines: Sequence[Mapping[str, Any]], credits: list[dict[str, Any]], trace: Trace, decimals: int
) -> list[Found]:
    """The lines of one posted check that a receivables entry of its document vouches for (file order)."""
    used: set[int] = set()
    out: list[Found] = []
    for row in lines:
        amount = Decimal(minor_text(-int(row["amount_minor"]), decimals))
        words = str(row.get("description") or "").strip().upper()
        for entry in credits:
            said = str(entry.get("description") or "").strip().upper()
            other_words = bool(said and words and said != words)
            if id(entry) in used or Decimal(str(entry.get("creditAmount"))) != amount or other_words:
                continue
            used.add(id(entry))
            shown = f"G/L entry {entry.get('entryNumber')}"
            vouched = Trace(trace.number, trace.day, None, "", "", 0, shown, trace.body)
            out.append((row, str(row["key"]), vouched))
            break
    return out


def _match(rows: Sequence[Mapping[str, Any]], traces: Sequence[Trace], decimals: int) -> list[Found]:
    """Single payments first, then split receipts among the rows and lines left over."""
    found: list[Found] = []
    rest = []
    for row, trace in zip(rows, match_traces(rows, traces, decimals), strict=True):
        if trace is None:
            rest.append(row)
        else:
            found.append((row, str(row["key"]), trace))
    taken = {id(trace) for _, _, trace in found}
    unclaimed = [t for t in traces if id(t) not in taken]
    for row, lines in zip(rest, match_split_receipts(rest, unclaimed, decimals), strict=True):
        key = str(row["key"])
        found += [(row, split_line_key(key, str(t.body.get("appliesToInvoiceNumber", ""))), t) for t in lines]
    return found


def _renumbered(
    client: BCClient,
    rows: Sequence[Mapping[str, Any]],
    found: Sequence[Found],
    days: tuple[str, str],
    claimed: set[str],
    decimals: int,
) -> list[Found]:
    """Rows found nowhere, matched to posted documents under numbers no row or ledger entry has (a
    Posting No. Series renumbered them). One more paged read, only when some row is not found."""
    matched = {id(row) for row, _, _ in found}
    left = [row for row in rows if id(row) not in matched]
    if not left:
        return []
    numbers = {str(row["documentNumber"]).upper() for row in rows}
    bodies = [
        {
            "documentNumber": str(row["documentNumber"]).upper(),
            "postingDate": pd.Timestamp(row["postingDate"]).date().isoformat(),
            "amount": minor_text(int(row["amount_minor"]), decimals),
            **({"description": str(row["description"])} if _has_text(row.get("description")) else {}),
            "_row": index,
        }
        for index, row in enumerate(left)
    ]
    candidates = posted_between(client, days, RENUMBERED_FIELDS)
    out: list[Found] = []
    for body, entry in renumbered_matches(bodies, candidates, numbers | claimed):
        row = left[int(body["_row"])]
        posted_as = str(entry.get("documentNumber", ""))
        trace = Trace(
            posted_as,
            str(body["postingDate"]),
            None,
            "",
            "",
            0,
            f"G/L entry {entry.get('entryNumber')} (posted as document {posted_as})",
            {"documentNumber": body["documentNumber"], "postingDate": body["postingDate"]},
        )
        out.append((row, str(row["key"]), trace))
    return out


def _has_text(value: object) -> bool:
    """A cell with text in it (not empty, not a missing value)."""
    return isinstance(value, str) and value.strip() != ""


def rebuild_ledger(
    paths: Sequence[Path],
    config: Config,
    client: BCClient,
    ledger: Ledger,
    *,
    profile: str | None = None,
    dry_run: bool = False,
    keep_unexplained: bool = False,
) -> Rebuilt:
    """Record in the ledger which rows of ``paths`` BC already holds (module docstring); rows the
    ledger knows already, and BC payments whose document number a ledger row holds, are left alone.

    While lines of this tool's journals match no file, nothing is recorded (unless
    ``keep_unexplained``): they may be payments of a file not given, or of a receipt a person split
    in the review loop, and a ledger that then knows the company would let the next run send them
    again; the person gives the missing files, or says the lines are no file's."""
    scope = ledger_scope(client)
    inputs = read_inputs(paths, config, profile)
    inputs.rows = mark_payments(inputs.rows, inputs.results, inputs.decimals)  # a check's lines share a number
    result = Rebuilt([str(p) for p in paths], dry_run)
    if inputs.rows.empty:
        return result
    rows = as_records(inputs.rows.drop_duplicates("key", keep="first"))
    keys = [str(r["key"]) for r in rows]
    known = set(ledger.lookup(scope, keys)) | {receipt_key(k) for k in ledger.lookup_split_lines(scope, keys)}
    result.known_before = len(known)
    rows = [r for r in rows if str(r["key"]) not in known]
    days = pd.to_datetime(inputs.rows["postingDate"])
    traces = read_traces(client, config, (days.min().date().isoformat(), days.max().date().isoformat()))
    owned = ledger.document_owners(scope, [t.number for t in traces])
    traces = [t for t in traces if t.number not in owned]
    found = _match(rows, traces, inputs.decimals)
    claimed = set(owned) | {trace.number for _, _, trace in found}
    first, last = str(days.min().date()), str(days.max().date())
    look_alike = _renumbered(client, rows, found, (first, last), claimed, inputs.decimals)
    found += look_alike
    found, unvouched = _vouched_check_lines(client, rows, found, (first, last), inputs.decimals)
    taken = {id(trace) for _, _, trace in found}
    receipts = {id(row): trace for row, _, trace in found}
    result.in_journals = sum(1 for trace in receipts.values() if trace.journal_id)
    result.look_alike = len({key for _, key, _ in look_alike})
    # only a batch made in BC's UI (``journal.existing``) can have a Posting No. Series: the tool's own
    # journals, made through the API, never do, so without one a look-alike is not this tool's
    result.look_alike_held = bool(look_alike) and not config.journal.existing
    result.posted = len(receipts) - result.in_journals
    result.not_in_bc = len(rows) - len(receipts)
    result.unexplained = [t.describe() for t in traces if t.journal_id and id(t) not in taken] + unvouched
    result.held = bool(result.unexplained) and not keep_unexplained and not dry_run
    if found and not dry_run and not result.held:
        for path, sha in zip(inputs.paths, inputs.shas, strict=True):
            ledger.record_file(scope, sha, path.name, path.stat().st_size)
        held = {key for _, key, _ in look_alike} if result.look_alike_held else set()
        result.runs = _record(ledger, scope, found, inputs, held)
    return result


def describe_rebuild(rebuilt: Rebuilt) -> str:
    """The rebuild in a person's words: what was found where, and what is left to them."""
    verb = "would record" if rebuilt.dry_run or rebuilt.held else "recorded"
    lines = [
        f"ledger rebuild from {len(rebuilt.files)} file(s): {verb} "
        f"{rebuilt.in_journals + rebuilt.posted} payment(s) Business Central holds "
        f"({rebuilt.in_journals} in open journals of this tool, {rebuilt.posted} posted)",
        f"  {rebuilt.known_before} payment(s) were already in the ledger; "
        f"{rebuilt.not_in_bc} are not in BC and will be imported by the next run",
    ]
    if rebuilt.look_alike:
        done = (
            "recorded for a person to check (no journal.existing, so no Posting No. Series renumbered them), never sent"
            if rebuilt.look_alike_held
            else "taken for this tool's payments posted under journal.existing's Posting No. Series"
        )
        lines.append(
            f"  {rebuilt.look_alike} of the posted payment(s) matched only by posting date and amount under another "
            f"number (a payment a person keyed by hand looks the same): {done}"
        )
    if rebuilt.runs:
        lines.append(f"  recorded as run(s) {', '.join(rebuilt.runs)}")
    if rebuilt.unexplained:
        shown = "; ".join(rebuilt.unexplained[:_SHOWN]) + (" ..." if len(rebuilt.unexplained) > _SHOWN else "")
        lines.append(
            f"  {len(rebuilt.unexplained)} line(s) in this tool's journals match no payment of these files ({shown}): "
            "they came from other files (rebuild with those too), from a receipt split in the review loop, or "
            "were keyed by a person"
        )
    if rebuilt.held:
        lines.append(
            "  NOTHING RECORDED: until every line of this tool's journals is explained, a rebuilt ledger could let "
            "the next run send one of them again. Give the files they came from too, or, if no file imported into "
            "this company made them, run again with --keep-unexplained"
        )
    return "\n".join(lines)
