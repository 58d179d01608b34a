"""The posting phase of a run: open the journal, plan, send, read back and compare, and post the
journal when asked and clean. What it produced goes back to the runner as ``Posting``."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipeline.errors import BCError, BCOutcomeUnknown
from pipeline.ledger import Placed
from pipeline.lines import payment_lines
from pipeline.post.batches import (
    PlannedLine,
    Poster,
    PostOutcome,
    read_journal_lines,
    read_journals_lines,
    to_json_body,
)
from pipeline.post.context import RunContext
from pipeline.post.evidence import posted_entries_for, posted_evidence, unvouched_lines
from pipeline.post.journal import (
    Journal,
    journal_count,
    lines_after_post,
    open_journals,
    post_journal,
    record_journal_state,
)
from pipeline.post.plan import payment_groups, plan_lines, request_body, spread_rows
from pipeline.reconcile import as_records, compare_with_bc
from schemas.codes import Discrepancy, Outcome

log = logging.getLogger("payimport.run")


@dataclass
class Posting:
    """What the posting phase produced for the report. ``journal`` is the run's first journal;
    ``journals`` every journal the run wrote into (several when it spread its lines)."""

    journal: Journal | None = None
    parts: list[pd.DataFrame] = field(default_factory=list)
    discrepancies: pd.DataFrame = field(default_factory=pd.DataFrame)
    error: BCError | None = None
    interrupted: bool = False
    journal_posted: bool = False
    journals: list[Journal] = field(default_factory=list)


@dataclass(frozen=True)
class _Part:
    """One journal of the run: the keys it still has to send (lineNumber order; their bodies are in
    the ledger) and whether it holds lines no run of ours planned. Its rows are in the run's frame
    (``journal_code``), not held here a second time."""

    journal: Journal
    to_send: list[str]
    foreign: bool
    lines: int


@dataclass
class ToPost:
    """The rows a run posts and the ledger's placements of their keys (``pipeline.ledger.Placement``),
    handed over to ``post_rows``: it takes them out of here and lets go of each after its last use,
    so a run's caller does not keep a million rows and placements alive while the journals are sent
    and read back."""

    rows: pd.DataFrame
    places: Mapping[str, Placed]

    def take(self) -> tuple[pd.DataFrame, Mapping[str, Placed]]:
        """The rows and placements; this holds neither afterwards."""
        rows, places = self.rows, self.places
        self.rows, self.places = rows.iloc[0:0], {}
        return rows, places


def post_rows(ctx: RunContext, handed: ToPost) -> Posting:
    """Open the run's journals, spread the rows over them, plan, send, then verify (and maybe post)
    every journal. Memory stays bounded by a chunk, not by the file: the plan is written to the
    ledger ``posting.plan_chunk_rows`` rows at a time, the poster draws each journal's request bodies
    from the ledger ``posting.send_chunk_lines`` at a time, and the journals are read back and
    compared a few at a time (``posting.verify_lines``). Every row is planned before the first
    request, marked ``sending`` before its request, and verified after the last."""
    to_post, records = handed.take()
    run = ctx.ledger.get_run(ctx.run_id)
    assert run is not None
    groups = payment_groups(to_post)
    count = journal_count(len(to_post), ctx.config.journal, ctx.config.posting, len(ctx.client.writers))
    journals = open_journals(ctx.client, ctx.ledger, ctx.config.journal, run, ctx.files, ctx.now(), count)
    where = np.asarray(
        spread_rows(
            to_post["key"].astype("str").tolist(),
            records,
            ctx.run_id,
            [j.id for j in journals],
            ctx.config.posting.batch_size,
            groups,
        ),
        dtype="int64",
    )
    parts: list[_Part] = []
    frames: list[pd.DataFrame] = []
    for i, journal in enumerate(journals):
        at = np.flatnonzero(where == i)
        share = to_post.iloc[at].assign(**{_POSITION: at})
        if not share.empty or len(journals) == 1:
            plan = plan_lines(ctx, journal, share, records)
            parts.append(_Part(journal, plan.to_send, plan.foreign, len(plan.rows)))
            frames.append(plan.rows[[_POSITION, *_PLANNED]].assign(journal_code=journal.code))
            del plan
        del share
    keys = to_post["key"].astype("str").tolist()
    already_created = {k: records[k].bc_id or "" for k in keys if k in records and records[k].state == "created"}
    del records, keys  # the placements' last reader: let go before the planned rows are made
    rows = _planned_rows(to_post, frames)
    del frames, to_post
    outcome = _send(ctx, parts, len(rows), len(already_created))
    result = Posting(journals[0], error=outcome.error, interrupted=outcome.interrupted, journals=journals)
    created = {**already_created, **outcome.created}
    del already_created
    # not .map(created).fillna(""): with nothing created the mapped column is float NaN, and pandas
    # refuses to fill a float column with text
    rows["bc_id"] = pd.Series([created.get(k, "") for k in rows["key"]], index=rows.index, dtype="str")
    is_created = rows["key"].isin(created)
    unsent = rows[~(is_created | rows["key"].isin(set(outcome.refused) | set(outcome.conflicts)))].copy()
    halves = partly_refused(rows, outcome.refused, set(created), groups)
    del created
    # in BC: what the journals are compared with (the posted part of a half-refused payment too)
    in_bc = rows.loc[is_created, [c for c in COMPARED_COLUMNS if c in rows.columns]]
    others = [
        payment_lines(_refused(rows, outcome), "rejected"),
        payment_lines(_conflicted(rows, {**outcome.conflicts, **halves}), "needs_review"),
        payment_lines(_unsent(ctx, unsent), "needs_review"),
    ]
    posted = is_created & ~rows["key"].isin(halves)
    rows = rows if posted.all() else rows[posted]  # every line in BC (the usual case): no copy to take
    del posted, is_created
    result.parts = [payment_lines(rows, "posted"), *others]
    del rows, others
    try:
        found = [
            _verify(ctx, part, _of(in_bc, part), bc_lines, named=len(parts) > 1)
            for part, bc_lines in _read_back(ctx, parts)
        ]
        result.discrepancies = pd.concat([f for f, _ in found], ignore_index=True) if found else pd.DataFrame()
        result.journal_posted = bool(found) and all(done for _, done in found)
        clean = result.error is None and result.discrepancies.empty and unsent.empty and not in_bc.empty
        clean = clean and not halves  # never post a journal holding part of a payment
        if ctx.options.post_journal and clean and not result.journal_posted:
            # the first journal last: its state in the run's record says "posted" only once all are
            confirmed = [_post_verified(ctx, p.journal, _of(in_bc, p), result) for p in reversed(parts)]
            result.journal_posted = all(confirmed)
    except BCError as exc:
        result.error = result.error or exc
    return result


_POSITION = "__position"
"""The row's position in the rows to post, carried through planning (which orders each journal's rows)."""
_PLANNED = ("lineNumber", "documentNumber")
"""What planning gives a row (``plan_lines``): its lineNumber and its own document number."""


def _planned_rows(to_post: pd.DataFrame, plans: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The rows to post as planned, journal after journal in lineNumber order, each with its
    lineNumber, document number and journal code: one copy of the rows, not one per journal
    and another to join them (the plans carry only positions and what planning gave)."""
    if not plans:
        return to_post.assign(journal_code="")
    plan = pd.concat(plans, ignore_index=True)
    order = plan[_POSITION].to_numpy(dtype="int64")
    if np.array_equal(order, np.arange(len(to_post))):  # planned in the order given: nothing to copy
        rows = to_post.reset_index(drop=True)
    else:
        rows = to_post.iloc[order].reset_index(drop=True)
    for name in (*_PLANNED, "journal_code"):
        rows[name] = plan[name]  # both indexes are 0..n-1
    return rows


COMPARED_COLUMNS = (
    "key",
    "journal_code",
    "lineNumber",
    "customerNumber",
    "postingDate",
    "documentNumber",
    "externalDocumentNumber",
    "amount_minor",
    "comment",
    "appliesToInvoiceId",
    "appliesToInvoiceNumber",
    "description",
)
"""What verifying needs of a line in BC: ``compare_with_bc``'s fields and ``request_body``'s (to look
a line up in BC's posted entries)."""


def _read_back(ctx: RunContext, parts: Sequence[_Part]) -> Iterator[tuple[_Part, list[dict[str, Any]] | None]]:
    """Each journal with its lines read back (None: ``_verify`` reads it), a group at a time
    (``verify_groups``), so the lines of a million-line run are never all in memory. A single journal
    is read by ``_verify`` itself, as before."""
    if len(parts) == 1:
        yield parts[0], None
        return
    limit = ctx.config.posting.verify_lines
    for group in verify_groups([p.lines for p in parts], limit):
        members = [parts[i] for i in group]
        if len(members) == 1 and members[0].lines > limit:
            yield members[0], None
            continue
        read = read_journals_lines(ctx.client, [p.journal.id for p in members])
        for member in members:
            yield member, read.pop(member.journal.id)
        del read


def verify_groups(sizes: Sequence[int], limit: int) -> list[list[int]]:
    """The journals (positions in ``sizes``, their planned lines) read back together, in order (pure):
    consecutive journals of up to ``limit`` lines between them share one ``$batch`` of GETs; a
    journal larger than ``limit`` is a group of its own, read page by page (in a ``$batch`` answer its
    first page would not be complete, and reading it twice costs BC a scan of the journal)."""
    groups: list[list[int]] = []
    size = 0
    for i, lines in enumerate(sizes):
        if groups and size + lines <= limit:  # a journal over the limit never joins, nor is joined
            groups[-1].append(i)
            size += lines
        else:
            groups.append([i])
            size = lines
    return groups


def _of(rows: pd.DataFrame, part: _Part) -> pd.DataFrame:
    """The rows that went to this part's journal."""
    return rows[rows["journal_code"] == part.journal.code]


def _verify(
    ctx: RunContext,
    part: _Part,
    posted: pd.DataFrame,
    bc_lines: list[dict[str, Any]] | None,
    *,
    named: bool,
) -> tuple[pd.DataFrame, bool]:
    """Compare one journal read back (``bc_lines``, or read now when None) with its plan, line by
    line: (discrepancies, posted already). ``named``: the run has several journals, so each
    discrepancy's message says which one.

    A created line that is no longer in the journal was posted (by a person, or by this run's own
    post before a crash) when BC's posted entries hold its document number and date: it is then
    posted, not "missing". When every line of the journal is posted that way, the journal counts as
    posted.
    """
    journal = part.journal
    if bc_lines is None:
        bc_lines = read_journal_lines(ctx.client, journal.id)
    present = {int(line["lineNumber"]) for line in bc_lines}
    gone = posted[~posted["lineNumber"].astype("int64").isin(present)]
    evidenced = _posted_keys(ctx, gone, _days(gone)) if not gone.empty else set()
    in_journal = posted[~posted["key"].isin(evidenced)]
    discrepancies = compare_with_bc(in_journal, bc_lines, ctx.decimals)
    if part.foreign and ctx.config.journal.allow_foreign_lines and not discrepancies.empty:
        discrepancies = discrepancies[discrepancies["kind"] != Discrepancy.NOT_PLANNED]
    if named and not discrepancies.empty:
        discrepancies = discrepancies.assign(message=f"journal {journal.code}: " + discrepancies["message"])
    if evidenced and in_journal.empty:
        record_journal_state(ctx.ledger, ctx.run_id, journal, "posted")
        return discrepancies, True
    return discrepancies, False


def _post_verified(ctx: RunContext, journal: Journal, posted: pd.DataFrame, result: Posting) -> bool:
    """Post the journal only if, read again right before, it holds exactly the planned lines; then
    confirm from BC's posted entries that every planned line was posted.

    ``journals({id})/Microsoft.NAV.post`` posts whatever the journal holds, so a line a person added
    after the comparison would be posted with ours; the second read narrows that window to one
    request. A 204 is not proof (BC may only schedule the posting): the journal counts as posted
    when its lines are in the general ledger.
    """
    again = compare_with_bc(posted, read_journal_lines(ctx.client, journal.id), ctx.decimals)
    if not again.empty:
        result.discrepancies = pd.concat([result.discrepancies, again], ignore_index=True)
        return False
    post_journal(ctx.client, ctx.ledger, ctx.run_id, journal)
    if lines_after_post(ctx.client, journal):
        log.warning("journal %s: BC answered the post, but its lines are still there (scheduled?)", journal.code)
        result.error = result.error or posting_not_confirmed(journal, "its lines are still in the journal")
        return False
    sample = posted.iloc[_spread(len(posted), CONFIRM_SAMPLE)]
    unconfirmed = set(sample["key"].astype("str")) - _posted_keys(ctx, sample)
    if unconfirmed:
        log.warning("journal %s: posting not confirmed for %d line(s) yet", journal.code, len(unconfirmed))
        result.error = result.error or posting_not_confirmed(journal, f"{len(unconfirmed)} line(s) are not in the G/L")
        return False
    record_journal_state(ctx.ledger, ctx.run_id, journal, "posted")
    return True


def posting_not_confirmed(journal: Journal, seen: str) -> BCOutcomeUnknown:
    """A post BC answered (204) without its effect in the books: with General Ledger Setup's "Post
    with Job Queue" BC only schedules the posting. The run stays open in the ledger, so running the
    same command again (after the job queue has run) confirms it from the posted entries."""
    return BCOutcomeUnknown(
        f"posting not confirmed: BC accepted the post of journal {journal.code}, but {seen} (BC may post it "
        "later through its job queue); run the same command again later to confirm it"
    )


CONFIRM_SAMPLE = 45
"""Lines looked up in the G/L after a post (3 requests): with the journal empty, enough to tell a
post that happened from a journal emptied some other way, without a request per line."""


def _spread(count: int, size: int) -> list[int]:
    """Up to ``size`` positions spread evenly over ``count`` (first and last included)."""
    if count <= size:
        return list(range(count))
    return sorted({round(i * (count - 1) / (size - 1)) for i in range(size)})


def _posted_keys(ctx: RunContext, rows: pd.DataFrame, days: tuple[str, str] | None = None) -> set[str]:
    """The keys of these planned rows that BC's posted entries show posted (number and date, or,
    under a Posting No. Series, date, amount and description: ``evidence.posted_entries_for``).

    Only a batch made in BC's UI (``journal.existing``) can have a Posting No. Series; the tool's
    own journals, made through the API, never do. Without one, a document of a line's date and
    amount under another number is a payment a person keyed, never proof that a line of ours a
    person deleted from the journal was posted."""
    records = as_records(rows)
    bodies = [request_body(row, ctx.decimals) for row in records]
    entries = posted_entries_for(
        ctx.client,
        bodies,
        days,
        lambda numbers: ctx.ledger.document_owners(ctx.scope, numbers),
        renumbered=bool(ctx.config.journal.existing),
    )
    doubtful = unvouched_lines(bodies, entries)
    return {
        str(row["key"])
        for i, (row, body) in enumerate(zip(records, bodies, strict=True))
        if i not in doubtful and posted_evidence(body, entries)
    }


def _days(rows: pd.DataFrame) -> tuple[str, str]:
    """First and last posting date of these rows, ISO."""
    dates = rows["postingDate"].astype("str").str.slice(0, 10)
    return str(dates.min()), str(dates.max())


def _send(ctx: RunContext, parts: list[_Part], total: int, already: int) -> PostOutcome:
    """Send the planned lines of every journal (the bodies recorded in the ledger are the ones
    sent), reporting progress over every line of the plan (those created earlier count as done at
    once)."""
    done = [0]

    def advance(n: int) -> None:
        done[0] += n
        if ctx.options.progress:
            ctx.options.progress(done[0], total)

    poster = Poster(
        ctx.client,
        ctx.ledger,
        ctx.scope,
        parts[0].journal.id if parts else "",
        posting=ctx.config.posting,
        writers=ctx.client.writers,
        progress=advance,
        stop=ctx.options.stop,
    )
    advance(already)
    return poster.post(sources={part.journal.id: _recorded_lines(ctx, part) for part in parts if part.to_send})


def _recorded_lines(ctx: RunContext, part: _Part) -> Iterator[list[PlannedLine]]:
    """The part's lines to send as the ledger recorded them (the bodies sent are the ones planned),
    in lineNumber order, ``posting.send_chunk_lines`` at a time: drawn by the poster only when it is about to
    send them. The chunk is a multiple of ``posting.batch_size``, so requests are cut exactly as
    from one list."""
    size = ctx.config.posting.batch_size
    chunk = max(size, ctx.config.posting.send_chunk_lines // size * size)
    for start in range(0, len(part.to_send), chunk):
        keys = part.to_send[start : start + chunk]
        found = ctx.ledger.lookup(ctx.scope, keys)
        lost = [k for k in keys if k not in found or found[k].journal_id != part.journal.id]
        if lost:
            raise RuntimeError(f"{len(lost)} planned line(s) of journal {part.journal.code} are not in the ledger")
        yield [PlannedLine(k, found[k].line_number, to_json_body(found[k].payload), part.journal.id) for k in keys]


def partly_refused(
    rows: pd.DataFrame, refused: Mapping[str, tuple[str, str]], created: set[str], payment_of: Callable[[str], str]
) -> dict[str, str]:
    """The lines in BC of a payment (a check, a split receipt) one of whose other lines BC refused,
    with the words for a person: key -> message. Such a payment is half in the journal; the journal is
    not posted (``post_rows``) and a person either fixes the refused line or removes the others."""
    if not refused:
        return {}
    place = {str(r["key"]): r for r in as_records(rows)}
    stopped: dict[str, list[str]] = {}
    for key in refused:
        stopped.setdefault(payment_of(key), []).append(key)
    out: dict[str, str] = {}
    for key in sorted(created):
        payment = payment_of(key)
        if payment not in stopped or key in refused:
            continue
        named = "; ".join(
            f"row {place[k]['source_row']} ({refused[k][1]})" if k in place else refused[k][1] for k in stopped[payment]
        )
        line = place.get(key, {})
        out[key] = (
            f"in journal {line.get('journal_code', '')} (line {line.get('lineNumber', '')}), but Business Central "
            f"refused another line of the same payment (document {line.get('documentNumber', '')}): {named}. A payment "
            "is posted whole or not at all, so the journal is not posted: fix the refused line and import it, or "
            "delete this payment's lines from the journal"
        )
    return out


def _refused(rows: pd.DataFrame, outcome: PostOutcome) -> pd.DataFrame:
    refused = rows[rows["key"].isin(outcome.refused)].copy()
    if not refused.empty:
        refused["reason_code"] = Outcome.BC_REFUSED
        refused["message"] = [
            f"BC refused the line: {outcome.refused[k][1]} ({outcome.refused[k][0]})" for k in refused["key"]
        ]
    return refused


def _conflicted(rows: pd.DataFrame, conflicts: Mapping[str, str]) -> pd.DataFrame:
    conflicted = rows[rows["key"].isin(conflicts)].copy()
    if not conflicted.empty:
        conflicted["reason_code"] = Outcome.BC_CONFLICT
        conflicted["message"] = [conflicts[k] for k in conflicted["key"]]
    return conflicted


def _unsent(ctx: RunContext, unsent: pd.DataFrame) -> pd.DataFrame:
    """Rows neither created nor refused: in doubt (``sending``; settled next run) or never sent."""
    if unsent.empty:
        return unsent
    keys = unsent["key"].astype("str").tolist()
    doubt = {k for k, r in ctx.ledger.lookup(ctx.scope, keys).items() if r.state == "sending"}
    in_doubt = unsent["key"].isin(doubt)
    unsent["reason_code"] = in_doubt.map({True: Outcome.OUTCOME_UNKNOWN, False: Outcome.NOT_SENT})
    unsent["message"] = in_doubt.map(
        {
            True: "sent, but BC's answer was lost: the next run reads the journal back and settles it",
            False: "not sent yet: BC failed or the run was stopped; run the same command again",
        }
    )
    return unsent
