"""One import run, from files to BC and back: the library behind ``payimport run``.

The order of the steps is the exactly-once argument (see ``pipeline.post``):

1. read and validate every file first: an unusable file stops the run before BC is touched;
2. settle every ledger row left ``sending`` by an earlier process, by reading BC back;
3. decide each input line's fate from the ledger (already imported? part of an interrupted run?);
4. fetch customers and open invoices once and resolve the rest;
5. plan lineNumbers in the ledger *before* the journal gets a single line, then post;
6. read the journal back and compare it with the plan, line by line; optionally post the journal;
7. account for every input line and write the reports.

A run interrupted anywhere (crash, ``kill -9``, BC down) is finished by running the same command
again: the interrupted run is resumed (same run id, same journal), nothing is sent twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from pipeline.arrowpool import use_jemalloc
from pipeline.bc import BCClient
from pipeline.config import Config, MatchingRules
from pipeline.decisions import answer_workbooks, split_decision_workbooks, take_decisions
from pipeline.errors import ConfigError
from pipeline.exitcodes import ExitCode
from pipeline.inputs import Inputs, read_inputs
from pipeline.ledger import Ledger, placements
from pipeline.lines import empty_lines, issue_lines, payment_lines, receipt_key, repeat_first_fate
from pipeline.localtime import as_local, file_stamp
from pipeline.logs import emit
from pipeline.matching.memory import PayerMemory, Remembered, lessons
from pipeline.money import money_text
from pipeline.pending import net_of_pending, pending_by_invoice
from pipeline.post import (
    Posting,
    RunContext,
    RunOptions,
    ToPost,
    number_dry_run,
    pick_resumed_run,
    post_rows,
    settle_unknown,
    split_by_ledger,
)
from pipeline.post.history import find_traces, refuse_unknown_history
from pipeline.preflight import hold_back, read_posting_setup
from pipeline.readers.table import SOURCE_ROW
from pipeline.reconcile import Accounting, account
from pipeline.remittance import mark_payments, resolve_payments
from pipeline.report import write_errors_workbook, write_run_report
from pipeline.resolve import RESOLVED_COLUMNS, REVIEW_COLUMNS, Resolution, resolve
from pipeline.retention import prune_run_folders
from pipeline.review import (
    ReviewSplit,
    add_decided_rows,
    applied_by_decisions,
    carry_out,
    held_rows,
    resume_splits,
    settle_decisions,
    split_by_review,
)
from pipeline.session import Session, ledger_scope
from pipeline.splits import expand_resumed, one_line_per_receipt, receipt_records
from pipeline.summary import FileSummary, JournalSummary, RunResult, RunSummary
from pipeline.textops import to_arrow
from schemas.codes import STATES, Outcome
from schemas.lines import conform_lines

__all__ = ["RunOptions", "RunResult", "import_files", "run_import"]


def _requests(client: BCClient) -> int:
    """API requests made so far by every principal of the run."""
    return sum(c.requests_made for c in client.writers)


def import_files(session: Session, paths: Sequence[Path], options: RunOptions | None = None) -> RunResult:
    """Import ``paths`` through an open session (``pipeline.open_session``): the library's entry."""
    return run_import(paths, session.config, session.client, session.ledger, options or RunOptions())


def run_import(
    paths: Sequence[Path], config: Config, client: BCClient, ledger: Ledger, options: RunOptions
) -> RunResult:
    """Import ``paths`` into BC through ``client``; the ledger makes it exactly once (module docstring)."""
    use_jemalloc(give_back_at_once=True)  # before the first buffer of the run
    started = options.now()
    paths, workbooks = split_decision_workbooks(paths)
    _phase(options, f"reading {len(paths)} file(s)")
    inputs = read_inputs(paths, config, options.profile)  # 1
    inputs.rows = mark_payments(inputs.rows, inputs.results, inputs.decimals)  # the lines of one check: one payment
    scope = ledger_scope(client)
    taken = take_decisions(ledger, scope, workbooks, dry_run=options.dry_run)
    add_decided_rows(ledger, scope, inputs)
    rules_of_file = _matching_rules_of_files(inputs, config)
    _let_go_of_read_frames(inputs)  # before the ledger's records of every key join them
    requests_before = _requests(client)
    if not options.dry_run:
        if not options.accept_new_ledger and not ledger.knows(scope):
            _refuse_a_ledger_blind_to_bc(config, client, inputs)
        settle_unknown(client, ledger, scope)  # 2
        inputs.history = [_file_history(ledger, scope, sha) for sha in inputs.shas]
        for path, sha in zip(paths, inputs.shas, strict=True):
            ledger.record_file(scope, sha, path.name, path.stat().st_size)
    records = ledger.lookup(scope, inputs.keys, body=_BODY_READ) if inputs.keys else {}
    split_lines = ledger.lookup_split_lines(scope, [k for k in inputs.keys if k not in records])
    if split_lines:
        records = {**records, **split_lines, **receipt_records(split_lines)}
    resumed = None if options.dry_run else pick_resumed_run(client, ledger, scope, records, inputs.shas)
    run_id = resumed.run_id if resumed else file_stamp(started) + "-" + uuid.uuid4().hex[:6]
    ctx = RunContext(client, ledger, config, options, scope, run_id, inputs.decimals, tuple(p.name for p in paths))

    split = split_by_ledger(inputs.rows, records, run_id, dry_run=options.dry_run)  # 3
    parts = [issue_lines(r) for r in inputs.results] + split.known
    held = split_by_review(ledger, scope, split.todo)
    parts += held.lines
    resumed_lines = expand_resumed(split.resumed, split_lines, inputs.decimals) if not split.resumed.empty else None
    del split  # its frames are copies of the input's rows
    places = placements(records)  # what posting reads of them; the records (request bodies) let go
    inputs.rows = inputs.rows.iloc[[]]  # split: the rows to resolve and the resumed ones are copies
    review, to_post = _resolve_rows(ctx, held, rules_of_file)  # 4
    parts += review
    del review
    if resumed_lines is not None:
        to_post = pd.concat([resumed_lines, to_post], ignore_index=True)
        del resumed_lines
    payers = _payers_of(to_post)
    handed = ToPost(to_post.drop(columns=[c for c in _RESOLVED_ONLY if c in to_post.columns]), places)
    del to_post, places  # posting lets go of them after their last use
    posting = _post(ctx, inputs, handed, resumed is not None, parts)  # 5, 6
    result = _finish(ctx, inputs, parts, posting, started, _requests(client) - requests_before, held)  # 7
    settle_decisions(ctx, held, result.lines)
    if not options.dry_run:
        _remember_payers(ctx, result.lines, payers, held)
    if not options.dry_run:  # a dry run records no decision, so it has no result to write back
        answer_workbooks(ledger, scope, taken, result.lines, inputs.decimals)
    return result


def _post(ctx: RunContext, inputs: Inputs, handed: ToPost, resumed: bool, parts: list[pd.DataFrame]) -> Posting:
    """Plan, send and verify the rows to post (a dry run only numbers them); their lines go into
    ``parts``, not into the ``Posting`` returned as well."""
    if ctx.options.dry_run:
        to_post, _ = handed.take()
        to_post["message"] = "would be added to a journal (dry run)"
        parts.append(payment_lines(number_dry_run(to_post), "posted"))
        return Posting()
    if handed.rows.empty and not resumed:
        return Posting()
    if not resumed:
        files = [{"file": str(p), "sha256": s} for p, s in zip(inputs.paths, inputs.shas, strict=True)]
        ctx.ledger.start_run(ctx.scope, ctx.run_id, files)
    posting = post_rows(ctx, handed)
    parts += posting.parts
    posting.parts = []  # _finish lets go of each part once the run's lines are made of them
    return posting


_RESOLVED_ONLY = ("customerId", "application")
"""Columns of the resolved rows no later step reads (the request sends ``appliesToInvoiceId``; the
lines report the customer's number): a million rows' customer ids are not carried through posting."""
_BODY_READ = ("documentNumber", "customerNumber", "appliesToInvoiceNumber", "appliesToInvoiceId")
"""What a run reads of the recorded request bodies of its input's keys: a resumed row's customer and
invoice (``split_by_ledger``), a payment's document number (a check in part, ``placements``)."""


def _let_go_of_read_frames(inputs: Inputs) -> None:
    """Drop the files' frames as read once the run's rows (``inputs.rows``, let go of once the
    ledger has split them) are made: each file's payment rows and receipts, and the raw cells of
    rows that were not rejected (the errors workbook shows only rejected rows). For a million-row
    file they are hundreds of MiB that the ledger lookup, matching and posting would otherwise
    carry. ``iloc[[]]`` takes, so no slice keeps Arrow's buffers alive."""
    for result in inputs.results:
        result.payments.rows = result.payments.rows.iloc[[]]
        result.statement.receipts = result.statement.receipts.iloc[[]]
        table = result.statement.table
        table.data = table.data[table.data[SOURCE_ROW].isin(result.rejected_rows).to_numpy()]


def _phase(options: RunOptions, text: str) -> None:
    """Tell the caller (a progress display) which phase starts."""
    if options.phase is not None:
        options.phase(text)


def _rows_to_match(todo: pd.DataFrame, held: ReviewSplit) -> str:
    """How many rows the lookups are for, as the phase line says it."""
    return f"{len(todo) + len(held.decided):,}"


def _refuse_a_ledger_blind_to_bc(config: Config, client: BCClient, inputs: Inputs) -> None:
    """A ledger's first run into a company: BC must show no trace of this tool (``post.history``)."""
    numbers = inputs.rows["documentNumber"].astype("str").str.upper().tolist() if not inputs.rows.empty else []
    traces = find_traces(client, config.journal, numbers)
    refuse_unknown_history(traces, str(config.state_dir), client.target.label)


def _file_history(ledger: Ledger, scope: str, sha: str) -> str | None:
    """How a person learns the file itself was imported before, not only its rows one by one."""
    seen = ledger.file_history(scope, sha)
    if seen is None:
        return None
    name, first_seen, run_id = seen
    day = first_seen[:10]
    if run_id:
        return f"imported before by run {run_id} on {day} (as {name})"
    return f"seen before on {day} (as {name}); none of its rows was imported then"


def _matching_rules_of_files(inputs: Inputs, config: Config) -> dict[str, MatchingRules]:
    """The matching rules of each file whose profile overrides some of ``policies.matching``."""
    out: dict[str, MatchingRules] = {}
    for result in inputs.results:
        if result.profile.matching is not None:
            rules = config.policies.matching.overridden(result.profile.matching)
            for file in set(result.payments.rows["source_file"].astype("str")) | {result.file}:
                out[file] = rules
    return out


_PAYER_COLUMNS = ("key", "customerNumber", "payer_account", "payer_name")


def _payers_of(to_post: pd.DataFrame) -> pd.DataFrame:
    """What ``_remember_payers`` reads of the rows posted, and only of rows that name a payer (an
    account or a name): no other row teaches the payer memory anything (``lessons``). The report is
    written while these are held, and a million rows' other columns are in the run's lines by then."""
    said = [c for c in ("payer_account", "payer_name") if c in to_post.columns]
    named = np.zeros(len(to_post), dtype=bool)
    for column in said:
        named |= (to_post[column].fillna("").astype("str") != "").to_numpy(dtype=bool)
    return to_post.loc[named, [c for c in _PAYER_COLUMNS if c in to_post.columns]]


def _remember_payers(ctx: RunContext, lines: pd.DataFrame, to_post: pd.DataFrame, held: ReviewSplit) -> None:
    """Teach the payer memory what this run confirmed: the payer account and name of every payment
    now in the journal (posted by the rules, or as a person decided). Rows for a person, refused
    by BC or not sent teach nothing (``pipeline.matching.memory``)."""
    if to_post.empty or lines.empty:
        return
    posted = set(lines.loc[lines["state"] == "posted", "key"].astype("str").map(receipt_key))
    keys = to_post["key"].astype("str").map(receipt_key)
    mine = to_post[keys.isin(posted).to_numpy()]
    if mine.empty:
        return
    by_person = set(held.decided["key"].astype("str")) if not held.decided.empty else set()
    rows = zip(
        mine["customerNumber"].fillna("").astype("str").tolist(),
        mine.get("payer_account", pd.Series("", index=mine.index)).fillna("").astype("str").tolist(),
        mine.get("payer_name", pd.Series("", index=mine.index)).fillna("").astype("str").tolist(),
        [k in by_person for k in keys[keys.isin(posted)].tolist()],
        strict=True,
    )
    learned = lessons(rows)
    ctx.ledger.remember_payers(ctx.scope, ctx.run_id, [(x.kind, x.identity, x.customer, x.source) for x in learned])


def _resolve_rows(
    ctx: RunContext, held: ReviewSplit, rules_of_file: dict[str, MatchingRules]
) -> tuple[list[pd.DataFrame], pd.DataFrame]:
    """Customers and open invoices, fetched once, decide each row: (lines for a person or skipped by
    one, rows to post). Rows a person decided are carried out first, as they said; the rows resolved
    after them see the invoices they pay as paid."""
    todo = held.rest
    if todo.empty and held.decided.empty:  # a re-run of a file already imported costs no lookups
        return [], todo
    client = ctx.client
    _phase(ctx.options, f"fetching customers and open invoices ({_rows_to_match(todo, held)} rows to match)")
    customers = list(
        client.get_all("customers", {"$select": "id,number,displayName,blocked,currencyCode"}, read_only=True)
    )
    invoices = list(
        client.get_all(
            "salesInvoices",
            {
                "$filter": "status eq 'Open'",
                "$select": "id,number,customerNumber,billToCustomerNumber,currencyCode,remainingAmount,"
                "totalAmountIncludingTax,status,dueDate",
            },
            read_only=True,
        )
    )
    waiting, drained = pending_by_invoice(client, ctx.ledger.journals_with_applied_payments(ctx.scope))
    if not ctx.options.dry_run:
        ctx.ledger.mark_drained(ctx.scope, drained)
    invoices = net_of_pending(invoices, waiting)
    lcy = ctx.config.target.local_currency or _local_currency(client)
    _phase(ctx.options, f"matching {len(customers):,} customers, {len(invoices):,} open invoices")
    imported_parts, partly = resume_splits(ctx.ledger, ctx.scope, held)
    carried = carry_out(held.decided, held.decisions, (customers, invoices, lcy), ctx.decimals)
    invoices = net_of_pending(invoices, applied_by_decisions(carried.rows, ctx.decimals))
    resolution = _resolve(todo, ctx, (customers, invoices, lcy), rules_of_file)
    if not ctx.options.dry_run:
        ctx.ledger.hold_for_review(ctx.scope, ctx.run_id, held_rows(todo, resolution.review))
        ctx.ledger.refuse_decisions(ctx.scope, carried.refused + partly)
    rows, review = resolution.rows, resolution.review
    del resolution  # from here one frame of the resolved rows at a time: hold_back returns copies
    # BC would refuse to post the journal for these (allowed dates, mandatory dimensions): held this
    # run only, not for a person's decision, since fixing BC's setup is what lets them through
    setup = read_posting_setup(client, rows["customerNumber"].astype("str").tolist(), customers, ctx.decimals)
    unpostable, to_post = hold_back(rows, setup)
    del rows
    review = review if unpostable.empty else pd.concat([review, unpostable], ignore_index=True)
    review = review.copy()
    review["lineNumber"] = pd.NA  # not planned: the number from the file would name another payment's line
    to_post = to_post.copy() if to_post.empty else to_post  # else hold_back's own copy
    to_post["file_sha256"] = _file_shas(todo, to_post)
    held.rest = todo = held.rest.iloc[[]]  # resolved: to_post and review hold what became of them
    to_post = pd.concat([carried.rows, to_post], ignore_index=True) if not carried.rows.empty else to_post
    return [payment_lines(review, "needs_review"), carried.review, carried.skipped, imported_parts], to_post


def _file_shas(todo: pd.DataFrame, to_post: pd.DataFrame) -> pd.Series:
    """The file each row to post came from, by its receipt's key (a split receipt's lines too). The
    rows of one file need no lookup per row (a dict of a million keys and hashes was 230 MiB)."""
    shas = todo["file_sha256"].astype("str")
    if shas.nunique() <= 1:
        return pd.Series(shas.iloc[0] if len(shas) else "", index=to_post.index, dtype="str")
    sha_of_key = dict(zip(todo["key"].astype("str"), shas, strict=True))
    return to_post["key"].astype("str").map(receipt_key).map(sha_of_key)


def _resolve(
    todo: pd.DataFrame, ctx: RunContext, bc: tuple[list[Any], list[Any], str], rules_of_file: dict[str, MatchingRules]
) -> Resolution:
    """``resolve`` with this run's policies, each file's matching rules and the payer memory; no
    rows, nothing to decide."""
    customers, invoices, lcy = bc
    if todo.empty:
        return Resolution(pd.DataFrame(columns=list(RESOLVED_COLUMNS)), pd.DataFrame(columns=list(REVIEW_COLUMNS)))
    memory = PayerMemory([Remembered(*r) for r in ctx.ledger.payer_memory(ctx.scope)])
    return resolve_payments(
        todo,
        ctx.decimals,
        lambda rows: resolve(rows, ctx.decimals, customers, invoices, lcy, ctx.config.policies, memory, rules_of_file),
    )


def _local_currency(client: BCClient) -> str:
    """The company's LCY (BC writes a blank currency code for it on customers)."""
    info = list(client.get_all("companyInformation", {"$select": "currencyCode"}, read_only=True))
    code = str(info[0].get("currencyCode", "")) if info else ""
    if not code:
        raise ConfigError("BC did not say the company's local currency; set target.local_currency in config.yaml")
    return code


# --- accounting and reports -----------------------------------------------------------------------


def _finish(
    ctx: RunContext,
    inputs: Inputs,
    parts: list[pd.DataFrame],
    posting: Posting,
    started: datetime,
    requests: int,
    held: ReviewSplit,
) -> RunResult:
    """Account for every line, write the reports, close the run in the ledger. Rows still waiting
    from earlier runs make exit 1 only when the team asked for that reminder."""
    _phase(ctx.options, "writing the report")
    frames = [p for p in parts if not p.empty]
    parts.clear()  # the caller's list: once concatenated, the parts are the lines' copy only
    lines = pd.concat(frames, ignore_index=True) if frames else empty_lines()
    del frames
    lines = one_line_per_receipt(conform_lines(lines))
    if not in_report_order(lines):  # a stable sort of lines in order would only copy them
        lines = lines.sort_values(["source_file", "source_row"], kind="stable")
    lines = repeat_first_fate(lines.reset_index(drop=True))
    accounting = account(lines, inputs.rows_read, ctx.decimals)
    summary = _summarize(ctx, inputs, lines, accounting, posting, started, requests)
    summary.waiting, summary.decisions = held.waiting, len(held.decided)
    in_doubt = lines["reason_code"].isin([Outcome.NOT_SENT, Outcome.OUTCOME_UNKNOWN]) & (
        lines["state"] == "needs_review"
    )
    summary.unsent = int(in_doubt.sum())
    remind = bool(held.waiting) and ctx.config.defaults.exit_one_while_waiting
    if posting.error or posting.interrupted:
        summary.exit_code = ExitCode.BC_FAILED
    else:
        summary.exit_code = ExitCode.NEEDS_PERSON if summary.needs_person or remind else ExitCode.OK
    summary.interrupted = posting.interrupted
    reports = _write_reports(ctx, inputs, summary, lines, posting.discrepancies)
    emit(
        "run_finished",
        run_id=ctx.run_id,
        files=[str(p) for p in inputs.paths],
        exit_code=int(summary.exit_code),
        rows_read=summary.rows_read,
        **{state: getattr(summary, state) for state in STATES},
        amount_posted=summary.amount_posted,
        journal=summary.journal.code,
        bc_requests=summary.bc_requests,
        duration_s=round((ctx.now() - started).total_seconds(), 3),
    )
    summary.report = {k: str(v) if not isinstance(v, list) else [str(x) for x in v] for k, v in reports.items()}
    if not ctx.options.dry_run and posting.journal is not None:
        status = "failed" if posting.error else ("interrupted" if posting.interrupted else "finished")
        ctx.ledger.finish_run(ctx.run_id, status, summary.to_json())
    return RunResult(summary, lines, posting.discrepancies, summary.exit_code, reports)


def in_report_order(lines: pd.DataFrame) -> bool:
    """Whether the lines are already by file, then row (pure): what a stable sort by
    ``source_file``, ``source_row`` would leave exactly as it is. A run's lines usually are (the
    files' issues, then the payments in lineNumber order, numbered in file order), and sorting a
    million lines copies every one of them. Lines without a file or row are never in order here."""
    if len(lines) < 2:
        return True
    rows = lines["source_row"]
    if rows.isna().any() or lines["source_file"].isna().any():
        return False
    file = to_arrow(lines["source_file"].astype("str"))
    before, after = file.slice(0, len(file) - 1), file.slice(1)
    number = rows.to_numpy(dtype="int64")
    same = pc.equal(before, after).to_numpy(zero_copy_only=False)
    later = pc.less(before, after).to_numpy(zero_copy_only=False)
    return bool((later | (same & (number[:-1] <= number[1:]))).all())


def _summarize(
    ctx: RunContext,
    inputs: Inputs,
    lines: pd.DataFrame,
    accounting: Accounting,
    posting: Posting,
    started: datetime,
    requests: int,
) -> RunSummary:
    counts = lines["state"].value_counts()
    posted = lines.loc[lines["state"] == "posted", "amount_minor"].dropna()  # one column, not every line's copy
    minor = -sum(posted.astype("int64").tolist())  # Python ints: exact however many lines
    currencies = sorted(set(lines["currency"].dropna().astype("str")) - {""}) or [r.currency for r in inputs.results]
    journal = posting.journal
    return RunSummary(
        run_id=ctx.run_id,
        dry_run=ctx.options.dry_run,
        target=ctx.client.target.label,
        company_id=ctx.client.company_id,
        started=as_local(started).isoformat(timespec="seconds"),
        finished=as_local(ctx.now()).isoformat(timespec="seconds"),
        files=[
            FileSummary(
                str(path),
                sha,
                r.profile.name,
                r.rows_read,
                balance=r.balance.status,
                balance_detail=r.balance.message,
                imported_before=history,
            )
            for path, sha, r, history in zip(
                inputs.paths, inputs.shas, inputs.results, inputs.history or [None] * len(inputs.paths), strict=True
            )
        ],
        rows_read=inputs.rows_read,
        posted=int(counts.get("posted", 0)),
        already_posted=int(counts.get("already_posted", 0)),
        skipped=int(counts.get("skipped", 0)),
        rejected=int(counts.get("rejected", 0)),
        needs_review=int(counts.get("needs_review", 0)),
        amount_posted=money_text(pd.Series([minor], dtype="int64"), ctx.decimals).iloc[0],
        currency=",".join(currencies),
        totals=accounting.as_dict(),
        journal=JournalSummary(
            journal.code if journal else None, journal.id if journal else None, posting.journal_posted
        ),
        discrepancies=len(posting.discrepancies),
        bc_requests=requests,
        error=None if posting.error is None else str(posting.error),
    )


def _write_reports(
    ctx: RunContext, inputs: Inputs, summary: RunSummary, lines: pd.DataFrame, discrepancies: pd.DataFrame
) -> dict[str, Any]:
    """report.xlsx, report.json and an errors workbook per file with rejected rows, in the run's folder."""
    options = ctx.options
    runs_dir = options.runs_dir if options.runs_dir is not None else ctx.config.runs_dir
    write_errors = (
        options.errors_workbook if options.errors_workbook is not None else ctx.config.defaults.errors_workbook
    )
    run_dir = runs_dir / ctx.run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    errors: list[Path] = []
    if write_errors:
        for result in inputs.results:
            if result.issues:
                stem = Path(result.file).stem
                errors.append(write_errors_workbook(result, run_dir / f"{stem}.errors.xlsx"))
    summary.report = {"dir": str(run_dir), "errors": [str(p) for p in errors]}
    paths: dict[str, Any] = dict(
        write_run_report(run_dir, summary.to_json(), lines, discrepancies, decimals=ctx.decimals)
    )
    paths["dir"] = run_dir
    paths["errors"] = errors
    prune_run_folders(runs_dir, ctx.config.runs_retention_days, keep=run_dir)
    return paths
