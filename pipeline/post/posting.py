"""The posting phase of a run: open the journal, plan, send, read back and compare, and post the
journal when asked and clean. What it produced goes back to the runner as ``Posting``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from pipeline.errors import BCError, BCOutcomeUnknown
from pipeline.ledger import RowRecord
from pipeline.lines import payment_lines
from pipeline.post.batches import PlannedLine, Poster, PostOutcome, read_journal_lines, to_json_body
from pipeline.post.context import RunContext
from pipeline.post.evidence import posted_entries_for, posted_evidence
from pipeline.post.journal import Journal, lines_after_post, open_journal, post_journal
from pipeline.post.plan import Plan, plan_lines, request_body
from pipeline.reconcile import as_records, compare_with_bc
from schemas.codes import Discrepancy, Outcome

log = logging.getLogger("payimport.run")


@dataclass
class Posting:
    """What the posting phase produced for the report."""

    journal: Journal | None = None
    parts: list[pd.DataFrame] = field(default_factory=list)
    discrepancies: pd.DataFrame = field(default_factory=pd.DataFrame)
    error: BCError | None = None
    interrupted: bool = False
    journal_posted: bool = False


def post_rows(ctx: RunContext, to_post: pd.DataFrame, records: Mapping[str, RowRecord]) -> Posting:
    """Open the journal, plan, send, then verify (and maybe post) the journal."""
    run = ctx.ledger.get_run(ctx.run_id)
    assert run is not None
    journal = open_journal(ctx.client, ctx.ledger, ctx.config.journal, run, ctx.files, ctx.now())
    plan = plan_lines(ctx, journal, to_post, records)
    rows = plan.rows
    already_created = {k: records[k].bc_id or "" for k in rows["key"] if k in records and records[k].state == "created"}
    outcome = _send(ctx, journal, plan, len(already_created))
    result = Posting(journal, error=outcome.error, interrupted=outcome.interrupted)
    created = {**already_created, **outcome.created}
    # not .map(created).fillna(""): with nothing created the mapped column is float NaN, and pandas
    # refuses to fill a float column with text
    rows["bc_id"] = pd.Series([created.get(k, "") for k in rows["key"]], index=rows.index, dtype="str")
    rows["journal_code"] = journal.code
    posted = rows[rows["key"].isin(created)]
    unsent = rows[~rows["key"].isin(set(created) | set(outcome.refused) | set(outcome.conflicts))].copy()
    result.parts = [
        payment_lines(posted, "posted"),
        payment_lines(_refused(rows, outcome), "rejected"),
        payment_lines(_conflicted(rows, outcome), "needs_review"),
        payment_lines(_unsent(ctx, unsent), "needs_review"),
    ]
    try:
        _verify(ctx, journal, plan, posted, result)
        clean = result.error is None and result.discrepancies.empty and unsent.empty and not posted.empty
        if ctx.options.post_journal and clean and not result.journal_posted:
            result.journal_posted = _post_verified(ctx, journal, posted, result)
    except BCError as exc:
        result.error = result.error or exc
    return result


def _verify(ctx: RunContext, journal: Journal, plan: Plan, posted: pd.DataFrame, result: Posting) -> None:
    """Compare the journal read back with the plan, line by line.

    A created line that is no longer in the journal was posted (by a person, or by this run's own
    post before a crash) when BC's posted entries hold its document number and date: it is then
    posted, not "missing". When every line of the run is posted that way, the journal counts as
    posted.
    """
    bc_lines = read_journal_lines(ctx.client, journal.id)
    present = {int(line["lineNumber"]) for line in bc_lines}
    gone = posted[~posted["lineNumber"].astype("int64").isin(present)]
    evidenced = _posted_keys(ctx, gone, _days(gone)) if not gone.empty else set()
    in_journal = posted[~posted["key"].isin(evidenced)]
    result.discrepancies = compare_with_bc(in_journal, bc_lines, ctx.decimals)
    if plan.foreign and ctx.config.journal.allow_foreign_lines and not result.discrepancies.empty:
        result.discrepancies = result.discrepancies[result.discrepancies["kind"] != Discrepancy.NOT_PLANNED]
    if evidenced and in_journal.empty:
        result.journal_posted = True
        ctx.ledger.set_journal(ctx.run_id, journal.code, journal.id, "posted")


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
        result.discrepancies = again
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
    ctx.ledger.set_journal(ctx.run_id, journal.code, journal.id, "posted")
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
    under a Posting No. Series, date, amount and description: ``evidence.posted_entries_for``)."""
    records = as_records(rows)
    bodies = [request_body(row, ctx.decimals) for row in records]
    entries = posted_entries_for(
        ctx.client, bodies, days, lambda numbers: ctx.ledger.document_owners(ctx.scope, numbers)
    )
    return {str(row["key"]) for row, body in zip(records, bodies, strict=True) if posted_evidence(body, entries)}


def _days(rows: pd.DataFrame) -> tuple[str, str]:
    """First and last posting date of these rows, ISO."""
    dates = rows["postingDate"].astype("str").str.slice(0, 10)
    return str(dates.min()), str(dates.max())


def _send(ctx: RunContext, journal: Journal, plan: Plan, already: int) -> PostOutcome:
    """Send the planned lines (the bodies recorded in the ledger are the ones sent), reporting
    progress over every line of the plan (those created earlier count as done at once)."""
    total = len(plan.rows)
    done = [0]

    def advance(n: int) -> None:
        done[0] += n
        if ctx.options.progress:
            ctx.options.progress(done[0], total)

    poster = Poster(
        ctx.client,
        ctx.ledger,
        ctx.scope,
        journal.id,
        posting=ctx.config.posting,
        progress=advance,
        stop=ctx.options.stop,
    )
    advance(already)
    return poster.post([PlannedLine(p.key, p.line_number, to_json_body(p.payload)) for p in plan.to_send])


def _refused(rows: pd.DataFrame, outcome: PostOutcome) -> pd.DataFrame:
    refused = rows[rows["key"].isin(outcome.refused)].copy()
    if not refused.empty:
        refused["reason_code"] = Outcome.BC_REFUSED
        refused["message"] = [
            f"BC refused the line: {outcome.refused[k][1]} ({outcome.refused[k][0]})" for k in refused["key"]
        ]
    return refused


def _conflicted(rows: pd.DataFrame, outcome: PostOutcome) -> pd.DataFrame:
    conflicted = rows[rows["key"].isin(outcome.conflicts)].copy()
    if not conflicted.empty:
        conflicted["reason_code"] = Outcome.BC_CONFLICT
        conflicted["message"] = [outcome.conflicts[k] for k in conflicted["key"]]
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
