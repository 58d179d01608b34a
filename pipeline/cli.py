"""The ``payimport`` command: the only place that prints and chooses exit codes.

Exit codes: 0 everything accounted for and nothing needs a person; 1 done, but rows were
rejected or need review; 2 unusable input, profile or config (nothing was posted); 3 BC or the
network failed after retries (state is recorded, running the same command again is safe);
4 another run holds the lock.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from pipeline import __version__
from pipeline.config import Config, load_config
from pipeline.errors import BCError, ConfigError, LockError, PayimportError, ProfileError
from pipeline.exitcodes import ExitCode, exit_code_for
from pipeline.inputs import expand_inputs
from pipeline.logs import setup_logging
from pipeline.money import money_text
from pipeline.normalize import PAYMENT_COLUMNS
from pipeline.report import render_console_summary, try_write_errors_workbook
from pipeline.runner import RunOptions, import_files
from pipeline.session import open_session
from pipeline.validate import FileResult, validate_file
from pipeline.watch import Watcher, stop_on_signals

if TYPE_CHECKING:
    from pipeline.sandbox.settings import SandboxSettings

PROFILE_OPTION = click.option(
    "--profile", "profile_name", help="Profile to use (default: identified from each file's header)."
)
CONFIG_OPTION = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=Path("config.yaml"),
    show_default=True,
    help="Configuration file; state_dir and runs_dir in it are relative to its folder.",
)


def _console() -> Console:
    console = Console(highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console.width = 200
    return console


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


def _show_traceback(exc: BaseException) -> None:
    """With ``payimport --debug``, the traceback of an error the tool did not raise on purpose."""
    ctx = click.get_current_context(silent=True)
    debug = bool(ctx and ctx.find_root().obj and ctx.find_root().obj.get("debug"))
    if debug and not isinstance(exc, PayimportError):
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
    config_path: Path,
    as_json: bool,
    errors_out: Path | None,
    no_errors_out: bool,
    show_payments: bool,
    start_line: int | None,
) -> None:
    """Check FILES against their profile and show what would be imported; posts nothing."""
    console = _console()
    err_console = Console(stderr=True, highlight=False, soft_wrap=True)
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
                err_console.print(f"[bold red]error[/]: {escape(str(entry['error']))}")
            code = max(code, exit_code_for(exc, bc_may_have_changed=False))
            continue
        summary = result.summary()
        if result.issues and not no_errors_out and (errors_out is not None or config.defaults.errors_workbook):
            target = _errors_path(file, errors_out, len(files), used)
            written, warning = try_write_errors_workbook(result, target)
            if written is not None:
                summary["errors_workbook"] = str(written)
            else:
                summary["warnings"] = [warning]
                err_console.print(f"[bold yellow]warning[/]: {escape(str(warning))}")
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


def _load_or_exit(config_path: Path, as_json: bool, console: Console) -> Config:
    """The config, or a message listing every problem and exit 2."""
    try:
        return load_config(config_path)
    except ConfigError as exc:
        _fail(as_json, console, {"error": str(exc), "problems": list(exc.problems)}, str(exc))
        sys.exit(ExitCode.UNUSABLE)


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


def _fail(as_json: bool, console: Console, obj: dict[str, Any], text: str) -> None:
    if as_json:
        click.echo(json.dumps(obj, ensure_ascii=False))
    else:
        console.print(f"[bold red]error[/]: {escape(text)}")


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
    console.print(f"[bold]{escape(s['file'])}[/]  profile [cyan]{escape(s['profile'])}[/] ({escape(how)})")
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
    "(only when the ledger is new on purpose; see README, Exactly once).",
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
    config_path: Path,
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
    err_console = Console(stderr=True, highlight=False, soft_wrap=True)
    if log_format:
        setup_logging("json" if log_format == "json" else "text")
    config = _load_or_exit(config_path, as_json, err_console)
    paths = expand_inputs(files)
    if not paths:
        text = f"no files to import in {', '.join(map(str, files))}"
        _fail(as_json, err_console, {"error": "no files to import"}, text)
        sys.exit(ExitCode.UNUSABLE)
    options = RunOptions(
        profile=profile_name, dry_run=dry_run, post_journal=post_journal, accept_new_ledger=accept_new_ledger
    )
    command = "payimport run " + " ".join(map(str, files))
    try:
        with (
            open_session(config, os.environ, command=command, lock=not dry_run) as session,
            _progress(err_console, enabled=not as_json and not dry_run) as progress,
        ):
            options.progress = progress
            result = import_files(session, paths, options)
    except Exception as exc:
        _show_traceback(exc)
        obj = _error_json(exc)
        _fail(as_json, err_console, obj, obj["error"])
        sys.exit(exit_code_for(exc))
    if as_json:
        click.echo(json.dumps(result.summary.to_json(), ensure_ascii=False, default=str))
    else:
        click.echo(render_console_summary(result.summary.to_json()))
    sys.exit(result.exit_code)


@main.command()
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@click.option("--once", is_flag=True, help="Process what is in the inbox now, then exit (for cron).")
@click.option(
    "--interval", type=click.FloatRange(min=0.1), default=None, help="Seconds between looks (default: config)."
)
@CONFIG_OPTION
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def watch(folder: Path, once: bool, interval: float | None, config_path: Path, log_format: str) -> None:
    """Import files dropped into FOLDER/inbox; file them in FOLDER/done or FOLDER/failed.

    A file is taken once it has stopped changing. Stop with SIGTERM or Ctrl-C: the current
    request finishes and the file is resumed on the next start.
    """
    setup_logging("json" if log_format == "json" else "text")
    err_console = Console(stderr=True, highlight=False, soft_wrap=True)
    config = _load_or_exit(config_path, False, err_console)
    stop = threading.Event()
    watcher = Watcher(folder, config, environ=os.environ, stop=stop)
    try:
        with stop_on_signals(stop):
            code = watcher.run(once=once, interval_s=interval)
    except PayimportError as exc:
        err_console.print(f"[bold red]error[/]: {escape(str(exc))}")
        sys.exit(exit_code_for(exc))
    for filed in watcher.filed:
        reason = f" - {filed.reason}" if filed.reason else ""
        click.echo(f"{filed.source}: {filed.folder} (exit {filed.exit_code}){reason}")
    sys.exit(code)


@contextlib.contextmanager
def _progress(console: Console, *, enabled: bool) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr while lines are sent (only on a terminal: cron mail stays clean)."""
    if not enabled or not console.is_terminal:
        yield lambda done, total: None
        return
    with Progress(
        TextColumn("posting"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console
    ) as bar:
        task = bar.add_task("posting", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


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
@click.option("--fault", "faults", multiple=True, help="KIND[@KEY=VALUE;...], repeatable (see README).")
@click.option("--fault-seed", type=int, default=0, show_default=True)
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
    from pipeline.sandbox.settings import Latency, Limits, SandboxSettings, parse_fault

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
        faults=plan,
        fault_seed=o["fault_seed"],
    )


if __name__ == "__main__":
    main()
