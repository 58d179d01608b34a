"""The posting phase of a run: open the journal, plan, send, read back and compare, and post the
journal when asked and clean. What it produced goes back to the runner as ``Posting``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from pipeline.errors import BCError
from pipeline.ledger import RowRecord
from pipeline.lines import payment_lines
from pipeline.post.batches import PlannedLine, Poster, PostOutcome, read_journal_lines, to_json_body
from pipeline.post.context import RunContext
from pipeline.post.journal import Journal, open_journal, post_journal
from pipeline.post.plan import Plan, plan_lines
from pipeline.reconcile import compare_with_bc
from schemas.codes import Discrepancy, Outcome


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
    rows["bc_id"] = rows["key"].map(created).fillna("")
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
        result.discrepancies = compare_with_bc(posted, read_journal_lines(ctx.client, journal.id), ctx.decimals)
        if plan.foreign and ctx.config.journal.allow_foreign_lines and not result.discrepancies.empty:
            result.discrepancies = result.discrepancies[result.discrepancies["kind"] != Discrepancy.NOT_PLANNED]
        clean = result.error is None and result.discrepancies.empty and unsent.empty and not posted.empty
        if ctx.options.post_journal and clean:
            result.journal_posted = post_journal(ctx.client, ctx.ledger, ctx.run_id, journal)
    except BCError as exc:
        result.error = result.error or exc
    return result


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
