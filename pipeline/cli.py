"""The ``payimport`` command: the only place that prints and chooses exit codes.

Exit codes: 0 everything accounted for and nothing needs a person; 1 done, but rows were
rejected or need review; 2 unusable input, profile or config (nothing was posted); 3 BC or the
network failed after retries (state is recorded, running the same command again is safe);
4 another run holds the lock.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import threading
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Each command imports what it uses when it runs: ``payimport --help`` and ``validate`` then do not
# pay for pandas' siblings they never touch (the sandbox, the HTTP stack, the report writer), and a
# test (tests/test_startup.py) holds that line.
import click

from pipeline import __version__
from pipeline.errors import BCError, LockError, PayimportError, ProfileError
from pipeline.exitcodes import ExitCode, exit_code_for

if TYPE_CHECKING:
    from rich.console import Console

    from pipeline.config import Config
    from pipeline.sandbox.settings import SandboxSettings
    from pipeline.validate import FileResult

PROFILE_OPTION = click.option(
    "--profile", "profile_name", help="Profile to use (default: identified from each file's header)."
)
CONFIG_OPTION = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Configuration file (default: $PAYIMPORT_CONFIG, else ./config.yaml, else the per-user "
    "~/.config/payimport/config.yaml); state_dir and runs_dir in it are relative to its folder.",
)


def _console() -> Console:
    """The summary's console (rich is imported here, by the commands that print with it)."""
    from rich.console import Console

    console = Console(highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console.width = 200
    return console


def _err_console() -> Console:
    """Errors and warnings go to stderr, so that ``--json`` output on stdout stays one object."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def _escape(text: str) -> str:
    """Text shown verbatim inside rich markup (a file name may contain ``[bold]``)."""
    from rich.markup import escape

    return escape(text)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="payimport")
@click.option(
    "--debug",
    is_flag=True,
    help="Show the Python traceback of an unexpected error on stderr (for a bug report).",
)
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Import bank statements and remittance files into Business Central customer payments."""
    ctx.obj = {"debug": debug}


def _debugging() -> bool:
    """Was the command started as ``payimport --debug ...``?"""
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.find_root().obj and ctx.find_root().obj.get("debug"))


def _show_traceback(exc: BaseException) -> None:
    """With ``payimport --debug``, the traceback of an error the tool did not raise on purpose."""
    if _debugging() and not isinstance(exc, PayimportError):
        traceback.print_exception(exc, file=sys.stderr)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@PROFILE_OPTION
@CONFIG_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout instead of the summary.")
@click.option(
    "--errors-out",
    type=click.Path(path_type=Path),
    help="Errors workbook path (a folder when several files are given). "
    "Default: FILE-STEM.errors.xlsx in the current folder, written only when rows are rejected.",
)
@click.option("--no-errors-out", is_flag=True, help="Do not write an errors workbook.")
@click.option("--show-payments", is_flag=True, help="Also list the customerPayment rows the file would create.")
@click.option(
    "--start-line",
    type=click.IntRange(min=0),
    default=None,
    help="Last lineNumber already in the target journal (first new line = this + 10000).",
)
def validate(
    files: tuple[Path, ...],
    profile_name: str | None,
    config_path: Path | None,
    as_json: bool,
    errors_out: Path | None,
    no_errors_out: bool,
    show_payments: bool,
    start_line: int | None,
) -> None:
    """Check FILES against their profile and show what would be imported; posts nothing."""
    from pipeline.validate import validate_file

    console = _console()
    err_console = _err_console()
    config = _load_or_exit(config_path, as_json, err_console)
    outcomes: list[dict[str, Any]] = []
    code = ExitCode.OK
    used: set[Path] = set()
    for file in files:
        try:
            result = validate_file(file, config, profile_name, start=start_line)
        except Exception as exc:  # validate writes nothing to BC: any failure is "not usable" (2)
            _show_traceback(exc)
            entry = {"file": str(file), **_error_json(exc, posted_nothing=True)}
            outcomes.append(entry)
            if not as_json:
                err_console.print(f"[bold red]error[/]: {_escape(str(entry['error']))}")
            code = max(code, exit_code_for(exc, bc_may_have_changed=False))
            continue
        summary = result.summary()
        if result.issues and not no_errors_out and (errors_out is not None or config.defaults.errors_workbook):
            target = _errors_path(file, errors_out, len(files), used)
            from pipeline.report import try_write_errors_workbook

            written, warning = try_write_errors_workbook(result, target)
            if written is not None:
                summary["errors_workbook"] = str(written)
            else:
                summary["warnings"] = [warning]
                err_console.print(f"[bold yellow]warning[/]: {_escape(str(warning))}")
        if show_payments:
            summary["payments"] = _payments_json(result)
        outcomes.append(summary)
        if not as_json:
            _print_summary(console, result, summary, show_payments)
        if result.issues:
            code = max(code, ExitCode.NEEDS_PERSON)
    if as_json:
        click.echo(json.dumps(outcomes[0] if len(outcomes) == 1 else _aggregate(outcomes), ensure_ascii=False))
    sys.exit(code)


def _load_or_exit(config_path: Path | None, as_json: bool, console: Console, *, json_logs: bool = False) -> Config:
    """The config (found as ``locate_config`` says), or a message listing every problem and exit 2."""
    from pipeline.config import load_config, locate_config
    from pipeline.errors import ConfigError

    try:
        return load_config(locate_config(config_path, os.environ))
    except ConfigError as exc:
        _fail(as_json, console, {"error": str(exc), "problems": list(exc.problems)}, str(exc), json_logs=json_logs)
        sys.exit(ExitCode.UNUSABLE)


def _say_if_sandbox_by_default(config: Config, console: Console) -> None:
    """A config without ``target:`` imports into the embedded sandbox: fine for a first try, a silent
    disaster for a nightly job meant for the real company, so say it on every such run (stderr)."""
    if config.target_given:
        return
    console.print(
        "[bold yellow]NOTE[/]: config.yaml has no [bold]target:[/] block, so this run imports into the LOCAL "
        f"embedded sandbox ({_escape(str(config.target.sandbox.state_dir))}), not into Business Central. "
        "Add a target block (see `payimport init --help`) to import into a real company."
    )


def _error_json(exc: BaseException, *, posted_nothing: bool = False) -> dict[str, Any]:
    """An exception as ``--json`` shows it: the message, plus what is needed to act on it."""
    if not isinstance(exc, PayimportError):  # a bug or the machine (disk full...)
        advice = (
            "nothing was posted; run again with --debug for the details of this error"
            if posted_nothing
            else "what was sent is recorded, run the same command again"
        )
        return {"error": f"unexpected {type(exc).__name__}: {exc}; {advice}"}
    out: dict[str, Any] = {"error": str(exc)}
    if isinstance(exc, LockError):
        out["holder"] = exc.holder
    elif isinstance(exc, ProfileError):
        out["candidates"] = list(exc.candidates)
    elif isinstance(exc, BCError):
        out.update(status=exc.status, code=exc.code)
    return out


def _fail(
    as_json: bool,
    console: Console,
    obj: dict[str, Any],
    text: str,
    *,
    json_logs: bool = False,
    code: ExitCode = ExitCode.UNUSABLE,
) -> None:
    """Say why a command stopped: a ``run_failed`` event when stderr carries JSON lines (nothing
    else may go there, or a ``.jsonl`` file breaks), else one plain line; the JSON object on stdout
    with ``--json``."""
    from pipeline.logs import emit, flush_logs

    flush_logs()
    if json_logs:
        emit("run_failed", exit_code=int(code), reason=text, **{k: v for k, v in obj.items() if k != "error"})
    if as_json:
        click.echo(json.dumps(obj, ensure_ascii=False))
    elif not json_logs:
        console.print(f"[bold red]error[/]: {_escape(text)}")


def _errors_path(file: Path, errors_out: Path | None, count: int, used: set[Path]) -> Path:
    """Where a file's errors workbook goes; two inputs with one name never share a workbook."""
    if errors_out is not None and count == 1 and not errors_out.is_dir():
        return errors_out
    folder = Path.cwd() if errors_out is None else errors_out
    target, n = folder / f"{file.stem}.errors.xlsx", 1
    while target in used:
        n += 1
        target = folder / f"{file.stem}-{n}.errors.xlsx"
    used.add(target)
    return target


def _aggregate(outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [o for o in outcomes if "error" not in o]
    return {
        "files": outcomes,
        "rows_read": sum(o["rows_read"] for o in ok),
        "rows_valid": sum(o["rows_valid"] for o in ok),
        "rows_rejected": sum(o["rows_rejected"] for o in ok),
        "rows_skipped": sum(o["rows_skipped"] for o in ok),
        "files_unusable": len(outcomes) - len(ok),
    }


def _payments_json(result: FileResult) -> list[dict[str, Any]]:
    from pipeline.money import money_text

    rows = result.payments.rows
    amounts = money_text(rows["amount_minor"], result.payments.decimals)
    out = []
    for rec, amount in zip(rows.to_dict("records"), amounts.tolist(), strict=True):
        out.append(
            {
                "lineNumber": int(rec["lineNumber"]),
                "postingDate": rec["postingDate"].date().isoformat(),
                "documentNumber": rec["documentNumber"],
                "externalDocumentNumber": rec["externalDocumentNumber"],
                "customerNumber": rec["customerNumber"],
                "appliesToInvoiceNumber": rec["appliesToInvoiceNumber"],
                "amount": amount,
                "description": rec["description"],
                "comment": rec["comment"],
                "key": rec["key"],
                "source_row": int(rec["source_row"]),
            }
        )
    return out


def _counts(counter: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in Counter(counter).most_common())


def _print_summary(console: Console, result: FileResult, s: dict[str, Any], show_payments: bool) -> None:
    table = result.statement.table
    how = f"sheet {table.sheet!r}" if table.kind == "excel" else f"{table.encoding}, delimiter {table.delimiter!r}"
    if table.statement_format:
        how = table.statement_format
    console.print(f"[bold]{_escape(s['file'])}[/]  profile [cyan]{_escape(s['profile'])}[/] ({_escape(how)})")
    console.print(f"  rows read   {s['rows_read']:>7}")
    dates = f"  {s['first_date']} .. {s['last_date']}" if s["first_date"] else ""
    console.print(
        f"  valid       {s['rows_valid']:>7}   receipts {s['currency']} {s['amount_valid']}{dates}", markup=False
    )
    console.print(f"  rejected    {s['rows_rejected']:>7}   {_counts(s['rejected_by_reason'])}", markup=False)
    console.print(f"  skipped     {s['rows_skipped']:>7}   {_counts(s['skipped_by_reason'])}", markup=False)
    console.print(f"  balance     {s['balance_detail']}", markup=False)
    shown = result.issues[:20]
    for i in shown:
        console.print(f"  row {i.source_row}: {i.message}", markup=False)
    if len(result.issues) > len(shown):
        console.print(f"  ... and {len(result.issues) - len(shown)} more issues (see the errors workbook)")
    if "errors_workbook" in s:
        console.print(f"  errors workbook: {s['errors_workbook']}", markup=False)
    if show_payments:
        _print_payments(console, s["payments"])


def _print_payments(console: Console, payments: list[dict[str, Any]]) -> None:
    from rich.table import Table
    from rich.text import Text

    from pipeline.normalize import PAYMENT_COLUMNS

    t = Table(title="customerPayment rows that would be created", show_lines=False)
    for h in (*PAYMENT_COLUMNS[:6], "amount", "description"):
        t.add_column(h, justify="right" if h in {"lineNumber", "amount"} else "left", overflow="fold")
    for p in payments:
        t.add_row(*(Text(str(p[h])) for h in (*PAYMENT_COLUMNS[:6], "amount", "description")))
    console.print(t)


__all__ = ["main"]


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@PROFILE_OPTION
@CONFIG_OPTION
@click.option("--dry-run", is_flag=True, help="Read, check and resolve against BC, but create nothing.")
@click.option("--post-journal", is_flag=True, help="After verifying the journal against the plan, post it in BC.")
@click.option(
    "--accept-new-ledger",
    is_flag=True,
    help="Post although this ledger knows no import into the company and BC shows earlier ones "
    "(only when the ledger is new on purpose; see docs/internals.md, Exactly once).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout instead of the summary.")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default=None,
    help="Also log events to stderr: readable lines, or JSON lines for a log collector.",
)
def run(
    files: tuple[Path, ...],
    profile_name: str | None,
    config_path: Path | None,
    dry_run: bool,
    post_journal: bool,
    accept_new_ledger: bool,
    as_json: bool,
    log_format: str | None,
) -> None:
    """Import FILES (files, folders or glob patterns) into one new BC customer payment journal.

    Safe to run again at any time: payments already in BC are reported as already posted, and an
    interrupted run is resumed where it stopped.
    """
    from pipeline.inputs import expand_inputs
    from pipeline.logs import flush_logs, setup_logging, setup_quiet_logging
    from pipeline.report import render_console_summary
    from pipeline.runner import RunOptions, import_files
    from pipeline.session import open_session

    err_console = _err_console()
    if log_format:
        setup_logging("json" if log_format == "json" else "text", level=logging.DEBUG if _debugging() else logging.INFO)
    else:
        setup_quiet_logging()
    json_logs = log_format == "json"
    config = _load_or_exit(config_path, as_json, err_console, json_logs=json_logs)
    _say_if_sandbox_by_default(config, err_console)
    paths = expand_inputs(files)
    if not paths:
        text = f"no files to import in {', '.join(map(str, files))}"
        _fail(as_json, err_console, {"error": "no files to import"}, text, json_logs=json_logs, code=ExitCode.UNUSABLE)
        sys.exit(ExitCode.UNUSABLE)
    options = RunOptions(
        profile=profile_name, dry_run=dry_run, post_journal=post_journal, accept_new_ledger=accept_new_ledger
    )
    command = "payimport run " + " ".join(map(str, files))
    try:
        with (
            open_session(config, os.environ, command=command, lock=not dry_run) as session,
            _progress(err_console, enabled=not as_json and not json_logs) as (progress, phase),
        ):
            options.progress, options.phase = progress, phase
            result = import_files(session, paths, options)
    except Exception as exc:
        _show_traceback(exc)
        obj = _error_json(exc)
        code = exit_code_for(exc)
        _fail(as_json, err_console, obj, obj["error"], json_logs=json_logs, code=code)
        sys.exit(code)
    flush_logs()
    if as_json:
        click.echo(json.dumps(result.summary.to_json(), ensure_ascii=False, default=str))
    else:
        click.echo(render_console_summary(result.summary.to_json()))
    sys.exit(result.exit_code)


@main.command()
@CONFIG_OPTION
@click.option(
    "--out",
    "out_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Where to write the decisions workbook (default: runs_dir/decisions-<date>.xlsx).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout instead of the listing.")
def review(config_path: Path, out_path: Path | None, as_json: bool) -> None:
    """List the payments waiting for a person and write a decisions workbook to fill in.

    Import the filled-in workbook with `payimport run WORKBOOK.xlsx` (or drop it into the inbox).
    """
    from pipeline.decisions import render_waiting, waiting_json, write_review_workbook
    from pipeline.session import ledger_scope, open_session

    err_console = _err_console()
    config = _load_or_exit(config_path, as_json, err_console)
    try:
        with open_session(config, os.environ, command="payimport review", lock=False) as session:
            path = out_path or config.runs_dir / f"decisions-{datetime.now(UTC):%Y-%m-%d-%H%M%S}.xlsx"
            waiting = write_review_workbook(session.ledger, ledger_scope(session.client), path)
    except Exception as exc:
        _show_traceback(exc)
        obj = _error_json(exc)
        _fail(as_json, err_console, obj, obj["error"])
        sys.exit(exit_code_for(exc, bc_may_have_changed=False))
    if as_json:
        rows = [waiting_json(r) for r in waiting]
        click.echo(json.dumps({"waiting": rows, "workbook": str(path)}, ensure_ascii=False))
    else:
        click.echo(render_waiting(waiting, path))
    sys.exit(ExitCode.OK)


@main.command()
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@click.option("--once", is_flag=True, help="Process what is in the inbox now, then exit (for cron).")
@click.option(
    "--interval", type=click.FloatRange(min=0.1), default=None, help="Seconds between looks (default: config)."
)
@CONFIG_OPTION
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def watch(folder: Path, once: bool, interval: float | None, config_path: Path | None, log_format: str) -> None:
    """Import files dropped into FOLDER/inbox; file them in FOLDER/done or FOLDER/failed.

    A file is taken once it has stopped changing. Stop with SIGTERM or Ctrl-C: the current
    request finishes and the file is resumed on the next start.
    """
    from pipeline.logs import setup_logging
    from pipeline.watch import Watcher, stop_on_signals

    setup_logging("json" if log_format == "json" else "text")
    err_console = _err_console()
    config = _load_or_exit(config_path, False, err_console)
    _say_if_sandbox_by_default(config, err_console)
    stop = threading.Event()
    watcher = Watcher(folder, config, environ=os.environ, stop=stop)
    try:
        with stop_on_signals(stop):
            code = watcher.run(once=once, interval_s=interval)
    except PayimportError as exc:
        code = exit_code_for(exc)
        _fail(False, err_console, {"error": str(exc)}, str(exc), json_logs=log_format == "json", code=code)
        sys.exit(code)
    for filed in watcher.filed:
        reason = f" - {filed.reason}" if filed.reason else ""
        click.echo(f"{filed.source}: {filed.folder} (exit {filed.exit_code}){reason}")
    sys.exit(code)


@contextlib.contextmanager
def _progress(console: Console, *, enabled: bool) -> Iterator[tuple[Callable[[int, int], None], Callable[[str], None]]]:
    """What a person at a terminal follows: the phase (reading files, fetching customers and
    invoices, matching, posting, verifying, writing the report) and, while posting, a bar with the
    lines per second and the time left. Nothing when stderr is not a terminal: cron mail and log
    files stay clean."""
    if not enabled or not console.is_terminal:
        yield (lambda done, total: None), (lambda text: None)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("{task.description:<40}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("lines  {task.fields[rate]}"),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("starting", total=None, rate="")

        def update(done: int, total: int) -> None:
            speed = bar.tasks[task].speed
            rate = f"{speed:,.0f} lines/s" if speed else ""
            description = "verifying the journal with BC" if total and done >= total else "posting"
            bar.update(task, completed=done, total=total, rate=rate, description=description)

        def phase(text: str) -> None:
            bar.update(task, description=text, completed=0, total=None, rate="")

        yield update, phase


@main.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--profile", "profile_name", default=None, help="Profile for FILES (default: detected per file).")
@CONFIG_OPTION
def doctor(files: tuple[Path, ...], profile_name: str | None, config_path: Path) -> None:
    """Check the configured BC target for what would stop a run, reading only (nothing is sent).

    FILES (optional) are read as a run would, to check their posting dates and customers too.
    Exit 0 when a run can proceed, 2 when a problem must be fixed first.
    """
    from datetime import UTC, datetime

    from pipeline.doctor import Inputs as DoctorInputs
    from pipeline.doctor import examine, exit_code, files_inputs, render
    from pipeline.inputs import expand_inputs

    err_console = _err_console()
    config = _load_or_exit(config_path, False, err_console)
    paths = expand_inputs(files) if files else []
    try:
        inputs = files_inputs(paths, config, profile_name) if paths else DoctorInputs()
    except PayimportError as exc:
        err_console.print(f"[bold red]error[/]: {_escape(str(exc))}")
        sys.exit(exit_code_for(exc, bc_may_have_changed=False))
    findings = examine(config, os.environ, inputs, datetime.now(UTC).date())
    click.echo(render(findings))
    sys.exit(exit_code(findings))


@main.group()
def ledger() -> None:
    """The exactly-once record in state_dir (see docs/internals.md, Exactly once)."""


@ledger.command("rebuild")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@PROFILE_OPTION
@CONFIG_OPTION
@click.option("--dry-run", is_flag=True, help="Say what would be recorded, record nothing.")
@click.option(
    "--keep-unexplained",
    is_flag=True,
    help="Record what was found although lines of this tool's journals match none of FILES "
    "(only when no file imported into the company made them).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout instead of the summary.")
def ledger_rebuild(
    files: tuple[Path, ...],
    profile_name: str | None,
    config_path: Path | None,
    dry_run: bool,
    keep_unexplained: bool,
    as_json: bool,
) -> None:
    """Rebuild a lost ledger: record which payments of FILES Business Central already holds.

    Give it every file imported into the company since the ledger's last backup. Payments found in
    this tool's journals or in BC's posted entries are recorded as imported; the rest are imported
    by the next run. Sends nothing to BC.
    """
    from pipeline.inputs import expand_inputs
    from pipeline.post.rebuild import describe_rebuild, rebuild_ledger
    from pipeline.session import open_session

    err_console = _err_console()
    config = _load_or_exit(config_path, as_json, err_console)
    paths = expand_inputs(files)
    try:
        with open_session(config, os.environ, command="payimport ledger rebuild", lock=not dry_run) as session:
            rebuilt = rebuild_ledger(
                paths,
                config,
                session.client,
                session.ledger,
                profile=profile_name,
                dry_run=dry_run,
                keep_unexplained=keep_unexplained,
            )
    except Exception as exc:
        _show_traceback(exc)
        obj = _error_json(exc, posted_nothing=True)
        _fail(as_json, err_console, obj, obj["error"])
        sys.exit(exit_code_for(exc))
    if as_json:
        click.echo(json.dumps(rebuilt.to_json(), ensure_ascii=False))
    else:
        click.echo(describe_rebuild(rebuilt))
    sys.exit(ExitCode.NEEDS_PERSON if rebuilt.needs_person else ExitCode.OK)


@main.group()
def sandbox() -> None:
    """The local Business Central stand-in (API v2.0, tokens, limits, faults)."""


@sandbox.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(min=0), default=0, show_default=True, help="Port; 0 picks a free one.")
@click.option("--db", "db_path", type=click.Path(path_type=Path), help="SQLite file (state survives restarts).")
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path),
    help="Folder for the database (unless --db), the TLS certificates and the token key.",
)
@click.option("--seed", default=None, help="'demo', 'empty' (the default) or a seed file (YAML/JSON).")
@click.option("--tls/--no-tls", default=False, help="Serve https with a CA made on first start (msal needs https).")
@click.option("--auth", "auth_mode", type=click.Choice(["token", "none"]), default="token", show_default=True)
@click.option("--token-ttl", type=float, default=3600.0, show_default=True, help="Token lifetime in seconds.")
@click.option("--max-concurrent", type=click.IntRange(min=1), default=5, show_default=True)
@click.option("--max-queue", type=click.IntRange(min=0), default=95, show_default=True)
@click.option("--rate-requests", type=click.IntRange(min=1), default=6000, show_default=True)
@click.option("--rate-window", type=float, default=300.0, show_default=True, help="Seconds.")
@click.option("--max-batch", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--latency-request", type=float, default=0.0, show_default=True, help="Seconds per request.")
@click.option("--latency-operation", type=float, default=0.0, show_default=True, help="Seconds per operation.")
@click.option(
    "--lock-timeout", type=float, default=30.0, show_default=True, help="Seconds a write waits for a journal's lock."
)
@click.option(
    "--deadlock-probability",
    type=click.FloatRange(0.0, 1.0),
    default=0.0,
    show_default=True,
    help="Share of journal writes chosen as deadlock victims (seeded by --fault-seed).",
)
@click.option(
    "--fault", "faults", multiple=True, help="KIND[@KEY=VALUE;...], repeatable (see docs/internals.md, The sandbox)."
)
@click.option("--fault-seed", type=int, default=0, show_default=True)
@click.option(
    "--more-client",
    "more_clients",
    multiple=True,
    metavar="ID:SECRET",
    help="A further app registration the token endpoint accepts (limits count per client id), repeatable.",
)
def sandbox_serve(**options: Any) -> None:
    """Serve the sandbox until stopped; prints one JSON line with its URLs once it accepts connections."""
    from pipeline.sandbox.runtime import serve

    settings = _sandbox_settings(options)

    def ready(info: Any) -> None:
        click.echo(json.dumps(info.describe(include_secret=True)))
        sys.stdout.flush()

    serve(settings, ready)


def _sandbox_settings(o: dict[str, Any]) -> SandboxSettings:
    """``sandbox serve``'s options (click passes them by name) as the sandbox's settings."""
    from pipeline.sandbox.settings import Latency, Limits, Locking, SandboxSettings, parse_fault

    try:
        plan = tuple(parse_fault(f) for f in o["faults"])
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--fault") from None
    return SandboxSettings(
        host=o["host"],
        port=o["port"],
        db_path=o["db_path"],
        state_dir=o["state_dir"],
        seed=o["seed"] or "empty",
        tls=o["tls"],
        auth="none" if o["auth_mode"] == "none" else "token",
        token_ttl_s=o["token_ttl"],
        limits=Limits(
            max_concurrent=o["max_concurrent"],
            max_queue=o["max_queue"],
            rate_requests=o["rate_requests"],
            rate_window_s=o["rate_window"],
            max_batch_operations=o["max_batch"],
        ),
        latency=Latency(per_request_s=o["latency_request"], per_operation_s=o["latency_operation"]),
        locking=Locking(
            timeout_s=o["lock_timeout"], deadlock_probability=o["deadlock_probability"], seed=o["fault_seed"]
        ),
        faults=plan,
        fault_seed=o["fault_seed"],
        more_clients=tuple(_client_pair(c) for c in o["more_clients"]),
    )


def _client_pair(text: str) -> tuple[str, str]:
    client_id, colon, secret = text.partition(":")
    if not (client_id and colon and secret):
        raise click.BadParameter(f"{text.split(':', 1)[0]}:... is not ID:SECRET", param_hint="--more-client")
    return client_id, secret


@main.command()
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False), default=Path("."), required=False)
@click.option(
    "--tenant",
    default=None,
    help="Write a real tenant's target block for this tenant (id or domain) instead of the embedded sandbox's.",
)
@click.option("--environment", default="Production", show_default=True, help="With --tenant: the BC environment.")
@click.option("--company", default="", help="With --tenant: the company's name or id.")
@click.option("--inbox", is_flag=True, help="Also create the folders of `payimport watch` (inbox, done, ...).")
def init(folder: Path, tenant: str | None, environment: str, company: str, inbox: bool) -> None:
    """Write a commented FOLDER/config.yaml (default: the current folder); never replaces one.

    Without --tenant it targets the embedded sandbox, so `validate` and `run` work at once.
    """
    from pipeline.configschema import installed_schema
    from pipeline.errors import ConfigError
    from pipeline.starter import TenantChoice, write_starter

    choice = None if tenant is None else TenantChoice(tenant, environment, company)
    err_console = _err_console()
    try:
        created = write_starter(folder, choice, inbox=inbox, schema=installed_schema())
    except ConfigError as exc:
        err_console.print(f"[bold red]error[/]: {_escape(str(exc))}")
        sys.exit(ExitCode.UNUSABLE)
    for path in created:
        click.echo(f"created {path}")
    click.echo(_next_steps(created[0], choice))


def _next_steps(config: Path, tenant: object | None) -> str:
    lines = ["next:", "  payimport profile list                       the bank layouts payimport knows"]
    lines.append("  payimport profile suggest FILE --name NAME   a profile for your bank's file, added to the config")
    lines.append("  payimport validate FILE                      what would be imported (sends nothing)")
    if tenant is not None:
        lines.append("  set PAYIMPORT_CLIENT_ID and PAYIMPORT_CLIENT_SECRET in the environment (never in the config)")
        lines.append("  payimport run --dry-run FILE                 reads customers and invoices, creates nothing")
    lines.append("  payimport run FILE                           import it")
    if config.parent.resolve() != Path.cwd().resolve():
        lines.append(f"(run these in {config.parent}, or set PAYIMPORT_CONFIG={config})")
    return "\n".join(lines)


@main.group()
def profile() -> None:
    """Profiles: the shipped library, and one suggested from your files."""


@profile.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of the table.")
def profile_list(as_json: bool) -> None:
    """List the library profiles shipped with payimport (use one with `use: NAME`)."""
    from rich.table import Table

    from pipeline.library import library

    entries = list(library().values())
    if as_json:
        rows = [{"name": e.name, "bank": e.bank, "country": e.country, "format": e.format} for e in entries]
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    table = Table(show_lines=False)
    for head in ("name", "bank", "country", "format", "title"):
        table.add_column(head, overflow="fold")
    for e in entries:
        table.add_row(e.name, e.bank, e.country, e.format, str(e.profile.get("title", "")))
    _console().print(table)


@profile.command("show")
@click.argument("name")
def profile_show(name: str) -> None:
    """Show library profile NAME as YAML, with its bank and the figures of its sample file."""
    import yaml

    from pipeline.library import did_you_mean, library

    entry = library().get(name)
    if entry is None:
        hint = did_you_mean(name, library()) or "`payimport profile list` shows them"
        _err_console().print(f"[bold red]error[/]: no library profile {_escape(name)!r}; {hint}")
        sys.exit(ExitCode.UNUSABLE)
    sample = ", ".join(f"{k} {v}" for k, v in entry.sample.items())
    click.echo(f"# {entry.bank}, {entry.country or 'any country'}, {entry.format}")
    click.echo(f"# sample: {sample}")
    click.echo(f"# in config.yaml:  profiles: {{mybank: {{use: {name}}}}}  (keys given beside `use` override these)")
    click.echo(yaml.safe_dump({name: dict(entry.profile)}, sort_keys=False, allow_unicode=True), nl=False)


@profile.command("suggest")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", default=None, help="Name of the new profile (default: from the first file's name).")
@CONFIG_OPTION
@click.option("--print", "print_only", is_flag=True, help="Only print the profile; do not add it to the config.")
def profile_suggest(files: tuple[Path, ...], name: str | None, config_path: Path | None, print_only: bool) -> None:
    """Infer a profile from FILES (several files of one bank: all are used) and add it to the config.

    Prints the profile with why each choice was made, what could not be decided, and what
    `validate` gives with it. Exit 0: decided; 1: added, but something needs checking; 2: unusable.
    """
    from pipeline.config import parse_config
    from pipeline.errors import ConfigError
    from pipeline.suggest import default_name, render, suggest_profile
    from pipeline.validate import validate_file

    err_console = _err_console()
    try:
        found = suggest_profile(files, name or default_name(files[0]))
    except PayimportError as exc:
        err_console.print(f"[bold red]error[/]: {_escape(str(exc))}")
        sys.exit(ExitCode.UNUSABLE)
    click.echo(render(found), nl=False)
    try:
        config = parse_config({"version": 1, "profiles": {found.name: found.profile}}, "the suggested profile")
    except ConfigError as exc:
        err_console.print(f"[bold red]error[/]: {_escape(str(exc))}")
        sys.exit(ExitCode.UNUSABLE)
    if not print_only:
        _add_suggestion(config_path, found, err_console)
    for file in files:
        result = validate_file(file, config, found.name)
        _print_summary(_console(), result, result.summary(), False)
    sys.exit(ExitCode.NEEDS_PERSON if found.undecided else ExitCode.OK)


def _add_suggestion(config_path: Path | None, found: Any, console: Console) -> None:
    """Add the suggested profile to the config found as every command finds it, if there is one."""
    from pipeline.config import locate_config
    from pipeline.errors import ConfigError
    from pipeline.suggest import add_to_config

    try:
        path = locate_config(config_path, os.environ)
        add_to_config(path, found)
    except ConfigError as exc:
        console.print(f"[bold yellow]not added[/]: {_escape(str(exc))}")
        return
    console.print(f"added profile {_escape(found.name)!r} to {_escape(str(path))}")


if __name__ == "__main__":
    main()
