"""One import run, from files to BC and back: the library behind ``payimport run``.

The order of the steps is the exactly-once argument (see ``pipeline.poster``):

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

import contextlib
import dataclasses
import fnmatch
import glob
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.bc import BCClient, BCTarget, ClientCertificate, ClientSecret, RetryPolicy, Timeouts, target_for_sandbox
from pipeline.config import Config
from pipeline.errors import BCError, BCOutcomeUnknown, BCPermanentError, ConfigError, InputError
from pipeline.ledger import Ledger, PlannedRow, RowRecord, RunRecord, sha256_file
from pipeline.logs import emit
from pipeline.money import minor_text, money_text
from pipeline.poster import PlannedLine, Poster, match_lines, read_journal_lines, to_json_body
from pipeline.reconcile import account, as_records, compare_with_bc
from pipeline.report import write_errors_workbook, write_run_report
from pipeline.resolve import ResolvePolicy, resolve
from pipeline.validate import FileResult, validate_file
from schemas.codes import STATES, Discrepancy, Flag, Outcome
from schemas.lines import LINE_COLUMNS, conform_lines

log = logging.getLogger("payimport.run")

IGNORED_NAMES = ("~$*", ".~lock*", "*.part", "*.partial", "*.crdownload", "*.tmp", "*.swp", "*~")
"""Files a person's tools leave beside real ones (Excel lock files, downloads in progress)."""


# --- inputs -------------------------------------------------------------------------------------------


def is_ignored(path: Path) -> bool:
    """Hidden and temporary files are never imported, whatever folder they are dropped in."""
    name = path.name
    return name.startswith(".") or any(fnmatch.fnmatch(name, pattern) for pattern in IGNORED_NAMES)


def expand_inputs(paths: Sequence[Path]) -> list[Path]:
    """Files, folders (their files, not recursive) and glob patterns, in a stable order.

    A name that does not exist and contains no wildcard is kept, so the reader reports it as
    missing with the name the person typed.
    """
    out: list[Path] = []
    for path in paths:
        text = str(path)
        if path.is_dir():
            out += sorted(p for p in path.iterdir() if p.is_file() and not is_ignored(p))
        elif not path.exists() and any(c in text for c in "*?["):
            out += sorted(Path(p) for p in glob.glob(text) if Path(p).is_file() and not is_ignored(Path(p)))
        else:
            out.append(path)
    seen: set[Path] = set()
    unique = []
    for path in out:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


# --- targets ------------------------------------------------------------------------------------------


def build_target(config: Config, environ: Mapping[str, str]) -> BCTarget:
    """A real tenant's target from config.yaml plus the secrets in the environment."""
    t = config.target
    client_id = environ.get(t.client_id_env, "")
    if not client_id:
        raise ConfigError(f"target: set the environment variable {t.client_id_env} to the app's client id")
    secret = environ.get(t.client_secret_env, "")
    certificate = environ.get(t.certificate_env, "")
    credential: ClientSecret | ClientCertificate
    if secret:
        credential = ClientSecret(secret)
    elif certificate:
        thumbprint = environ.get(t.certificate_thumbprint_env, "")
        if not thumbprint:
            raise ConfigError(f"target: {t.certificate_env} is set; also set {t.certificate_thumbprint_env}")
        try:
            pem = Path(certificate).read_text(encoding="ascii")
        except OSError as exc:
            raise ConfigError(
                f"target: cannot read the certificate named by {t.certificate_env}: {exc.strerror}"
            ) from None
        credential = ClientCertificate(private_key_pem=pem, thumbprint=thumbprint, public_certificate=None)
    else:
        raise ConfigError(
            f"target: set {t.client_secret_env} (client secret) or {t.certificate_env} (PEM file with the "
            "private key and certificate) in the environment"
        )
    api_root = f"{t.api_url.rstrip('/')}/v2.0/{t.tenant}/{t.environment}/api/v2.0"
    return BCTarget(
        api_root=api_root,
        authority=f"{t.authority_url.rstrip('/')}/{t.tenant}",
        scope=t.scope,
        client_id=client_id,
        credential=credential,
        company=t.company,
        ca_file=Path(t.ca_file) if t.ca_file else None,
        validate_authority=t.validate_authority,
        timeouts=_timeouts(config),
        label=f"{t.tenant}/{t.environment}/{t.company}",
    )


def _timeouts(config: Config) -> Timeouts:
    t = config.target.timeouts
    return Timeouts(connect_s=t.connect_s, read_s=t.read_s, write_s=t.write_s, pool_s=t.pool_s)


def retry_policy(config: Config) -> RetryPolicy:
    r = config.posting.retry
    return RetryPolicy(
        max_attempts=r.max_attempts, base_delay_s=r.base_delay_s, max_delay_s=r.max_delay_s, max_total_s=r.max_total_s
    )


@contextlib.contextmanager
def connect(config: Config, environ: Mapping[str, str], *, base_dir: Path = Path(".")) -> Iterator[BCClient]:
    """A client of the configured target; for ``kind: sandbox`` the sandbox runs in-process meanwhile.

    The embedded sandbox is served over TLS with token auth and reached through msal and httpx,
    exactly as a tenant is: the only difference is where the URLs point.
    """
    retry = retry_policy(config)
    connections = config.posting.max_in_flight + 4
    if config.target.kind == "bc":
        with BCClient(build_target(config, environ), retry=retry, max_connections=connections) as client:
            yield client
        return
    from pipeline.sandbox.runtime import start_sandbox
    from pipeline.sandbox.settings import Latency, SandboxSettings

    sb = config.target.sandbox
    state = (base_dir / sb.state_dir).resolve()
    settings = SandboxSettings(
        state_dir=state,
        seed=sb.seed,
        tls=True,
        latency=Latency(per_request_s=sb.latency_request_s, per_operation_s=sb.latency_operation_s),
    )
    with start_sandbox(settings) as info:
        target = dataclasses.replace(
            target_for_sandbox(info, timeouts=_timeouts(config)), label=f"{SANDBOX_LABEL} ({state})"
        )
        with BCClient(target, retry=retry, max_connections=connections) as client:
            yield client


SANDBOX_LABEL = "embedded sandbox"


def ledger_scope(client: BCClient) -> str:
    """What the ledger remembers rows per: one company of one environment, however config spells it.

    The company's id (a GUID) and the environment name identify it; the tenant (a domain or a
    GUID) and the company's name are left out, because a config that switches between spellings
    must not make the ledger blind. The environment stays in: a copied environment keeps its
    companies' ids. The embedded sandbox is scoped by its state folder (its URL changes port on
    every start, its demo company id is always the same).
    """
    company = client.company_id.lower()
    if client.target.label.startswith(SANDBOX_LABEL):
        return f"{client.target.label}|{company}"
    environment = client.target.api_root.rstrip("/").split("/")[-3].lower()
    return f"bc|{environment}|{company}"


# --- the run ------------------------------------------------------------------------------------------


@dataclass
class RunOptions:
    profile: str | None = None
    dry_run: bool = False
    post_journal: bool = False
    runs_dir: Path = Path("payimport-runs")
    errors_workbook: bool = True
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    progress: Callable[[int, int], None] | None = None  # (lines done, lines to send)
    stop: threading.Event | None = None


@dataclass
class RunResult:
    summary: dict[str, Any]
    lines: pd.DataFrame
    discrepancies: pd.DataFrame
    exit_code: int
    reports: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Input:
    results: list[FileResult]
    shas: list[str]
    rows: pd.DataFrame  # every valid payment of every file, in file then row order
    decimals: int


def read_inputs(paths: Sequence[Path], config: Config, profile: str | None) -> _Input:
    """Validate every file before anything is sent: an unusable file means nothing is posted."""
    results, shas, frames = [], [], []
    decimals: set[int] = set()
    for path in paths:
        if not path.is_file():
            raise InputError(str(path), "no such file")
        began = time.monotonic()
        result = validate_file(path, config, profile)
        sha = sha256_file(path)
        emit(
            "file_read",
            file=str(path),
            sha256=sha,
            profile=result.profile.name,
            rows_read=result.rows_read,
            rows_valid=result.rows_valid,
            rows_rejected=len(result.rejected_rows),
            rows_skipped=len(result.skips),
            duration_s=round(time.monotonic() - began, 3),
        )
        frame = result.payments.rows.copy()
        frame["file_sha256"] = sha
        results.append(result)
        shas.append(sha)
        frames.append(frame)
        decimals.add(result.payments.decimals)
    if len(decimals) > 1:
        raise InputError(", ".join(map(str, paths)), "files with different currency decimals cannot share a run")
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return _Input(results, shas, rows, decimals.pop() if decimals else 2)


def settle_unknown(client: BCClient, ledger: Ledger, scope: str) -> int:
    """Rows an earlier process left ``sending``: read their journals back before anything is sent.

    A line found at its planned lineNumber with the planned content is created; a line absent is
    sent again *only* if the journal still holds every line this tool created in it. A journal
    that lost lines was posted or edited in BC since (posting empties it), so absence proves
    nothing: those rows become conflicts for a person, never a second payment.
    """
    doubtful = ledger.rows_in_state(scope, ["sending"])
    by_journal: dict[str, list[RowRecord]] = {}
    for record in doubtful:
        by_journal.setdefault(record.journal_id or "", []).append(record)
    for journal_id, records in by_journal.items():
        code = records[0].journal_code
        try:
            bc_lines = read_journal_lines(client, journal_id)
        except BCPermanentError as exc:
            if exc.status != 404 and exc.code not in ("BadRequest_NotFound", "Internal_RecordNotFound"):
                raise
            message = (
                f"journal {code} no longer exists in BC, so whether this payment reached it cannot be read "
                "back; check the customer's ledger in BC before importing it again"
            )
            ledger.mark_conflict(scope, [(r.key, message) for r in records])
            continue
        lines = [PlannedLine(r.key, r.line_number, to_json_body(r.payload)) for r in records]
        found = match_lines(lines, bc_lines)
        present = {int(line["lineNumber"]) for line in bc_lines}
        vanished = ledger.created_line_numbers(scope, journal_id) - present
        if found.created:
            ledger.mark_created(scope, list(found.created.items()))
        if found.absent and vanished:
            message = (
                f"journal {code} no longer holds {len(vanished)} line(s) this tool created (posted or deleted "
                "in BC), so whether this payment reached BC cannot be read back; check the customer's ledger"
            )
            found.conflicts.update(dict.fromkeys(found.absent, message))
        elif found.absent:
            ledger.mark_planned(scope, found.absent)
        if found.conflicts:
            ledger.mark_conflict(scope, list(found.conflicts.items()))
    return len(doubtful)


def _journal_code(template: str, day: date, taken: set[str]) -> str:
    for n in range(1, 10_000):
        code = template.format(date=day, n=n).upper()
        if len(code) > 10:
            raise ConfigError(f"journal.code_template gives {code!r}, longer than BC's Code[10]")
        if code not in taken:
            return code
    raise ConfigError("journal.code_template: no free journal code left for today")


def _balancing_account_id(client: BCClient, number: str | None) -> str | None:
    if not number:
        return None
    found = list(client.get_all("accounts", {"$filter": f"number eq '{number}'", "$select": "id,number"}))
    if not found:
        raise ConfigError(f"journal.balancing_account: G/L account {number} does not exist in BC")
    return str(found[0]["id"])


def _find_journal(client: BCClient, code: str) -> dict[str, Any] | None:
    found = list(client.get_all("customerPaymentJournals", {"$filter": f"code eq '{code}'"}))
    return found[0] if found else None


def open_journal(
    client: BCClient, ledger: Ledger, config: Config, run: RunRecord, files: Sequence[str], now: datetime
) -> tuple[str, str]:
    """The run's journal: found (resume, or ``journal.existing``) or created; recorded in the ledger.

    The code is recorded *before* the create request, so a crash in between is resolved by
    looking the code up, never by creating a second journal.
    """
    spec = config.journal
    if spec.existing:
        journal = _find_journal(client, spec.existing.upper())
        if journal is None:
            raise ConfigError(f"journal.existing: BC has no customer payment journal {spec.existing.upper()}")
        ledger.set_journal(run.run_id, str(journal["code"]), str(journal["id"]), "created")
        return str(journal["code"]), str(journal["id"])
    if run.journal_code:
        journal = _find_journal(client, run.journal_code)
        if journal is not None:
            ledger.set_journal(run.run_id, run.journal_code, str(journal["id"]), "created")
            return run.journal_code, str(journal["id"])
        code = run.journal_code
    else:
        taken = {str(j["code"]) for j in client.get_all("customerPaymentJournals", {"$select": "code"})}
        code = _journal_code(spec.code_template, now.date(), taken)
        ledger.set_journal(run.run_id, code, None, "planned")
    body: dict[str, Any] = {
        "code": code,
        "displayName": spec.display_name.format(files=", ".join(files), date=now, run_id=run.run_id)[:100],
    }
    account_id = _balancing_account_id(client, spec.balancing_account)
    if account_id:
        body["balancingAccountId"] = account_id
    try:
        created = client.send("POST", "customerPaymentJournals", body)
    except (BCOutcomeUnknown, BCPermanentError) as exc:
        # a create that timed out may have happened; a duplicate code may be our own earlier attempt,
        # recognised by its displayName (which names this run's files): someone else's is not adopted
        found = _find_journal(client, code)
        if found is None:
            raise
        if found.get("displayName") != body["displayName"]:
            raise BCPermanentError(
                f"journal code {code} was taken in BC by someone else meanwhile; run again for a new code",
                status=exc.status,
                code=exc.code,
            ) from None
        log.info("journal %s found after %s", code, type(exc).__name__)
        created = found
    assert created is not None
    ledger.set_journal(run.run_id, code, str(created["id"]), "created")
    return code, str(created["id"])


def _request_body(row: Mapping[str, Any], decimals: int) -> dict[str, Any]:
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


def _empty_lines() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in LINE_COLUMNS})


def _issue_lines(result: FileResult) -> pd.DataFrame:
    """Rejected rows (one line per row, every reason) and skipped rows of one file."""
    by_row: dict[int, list[Any]] = {}
    for issue in result.issues:
        by_row.setdefault(issue.source_row, []).append(issue)
    rejected = [
        {
            "source_file": result.file,
            "source_row": row,
            "state": "rejected",
            "reason_code": ",".join(dict.fromkeys(i.reason_code for i in issues)),
            "message": "; ".join(f"{i.column}: {i.message}" for i in issues),
        }
        for row, issues in by_row.items()
    ]
    skips = result.skips
    skipped = pd.DataFrame(
        {
            "source_file": result.file,
            "source_row": skips["source_row"].astype("int64"),
            "state": "skipped",
            "reason_code": skips["reason_code"].astype("str"),
            "message": skips["detail"].astype("str"),
        }
    )
    return pd.concat([pd.DataFrame(rejected), skipped], ignore_index=True)


def _payment_lines(frame: pd.DataFrame, state: str, decimals: int) -> pd.DataFrame:
    if frame.empty:
        return _empty_lines()
    out = pd.DataFrame(
        {
            "source_file": frame["source_file"].astype("str"),
            "source_row": frame["source_row"].astype("int64"),
            "state": state,
            "reason_code": frame.get("reason_code", pd.Series("", index=frame.index)).astype("str"),
            "message": frame.get("message", pd.Series("", index=frame.index)).astype("str"),
            "lineNumber": frame["lineNumber"].astype("Int64"),
            "key": frame["key"].astype("str"),
            "customerNumber": frame["customerNumber"].astype("str"),
            "appliesToInvoiceNumber": frame["appliesToInvoiceNumber"].astype("str"),
            "amount_minor": frame["amount_minor"].astype("Int64"),
            "currency": frame["currency"].astype("str"),
            "postingDate": pd.to_datetime(frame["postingDate"]).dt.strftime("%Y-%m-%d"),
            "documentNumber": frame["documentNumber"].astype("str"),
            "externalDocumentNumber": frame["externalDocumentNumber"].astype("str"),
            "description": frame["description"].astype("str"),
            "bc_id": frame.get("bc_id", pd.Series("", index=frame.index)).astype("str"),
            "journal_code": frame.get("journal_code", pd.Series("", index=frame.index)).astype("str"),
            "flags": frame.get("flags", pd.Series("", index=frame.index)).astype("str"),
            "candidates": frame.get("candidates", pd.Series("", index=frame.index)).astype("str"),
        }
    )
    return out


def run_import(
    paths: Sequence[Path],
    config: Config,
    client: BCClient,
    ledger: Ledger,
    options: RunOptions,
) -> RunResult:
    """Import ``paths`` into BC through ``client``; the ledger makes it exactly once (module docstring)."""
    started = options.now()
    inputs = read_inputs(paths, config, options.profile)
    scope = ledger_scope(client)
    requests_before = client.requests_made
    if not options.dry_run:
        settle_unknown(client, ledger, scope)
        for path, sha in zip(paths, inputs.shas, strict=True):
            ledger.record_file(scope, sha, path.name, path.stat().st_size)
    keys = inputs.rows["key"].astype("str").tolist() if not inputs.rows.empty else []
    records = ledger.lookup(scope, keys) if keys else {}
    resumed = None if options.dry_run else _pick_resumed_run(client, ledger, scope, records, inputs.shas)
    run_id = resumed.run_id if resumed else started.strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6]

    parts = [_issue_lines(r) for r in inputs.results]
    known, resumed_created, todo = _split_by_ledger(
        inputs.rows, records, run_id, inputs.decimals, dry_run=options.dry_run
    )
    parts += known
    review, to_post = _resolve_rows(client, config, todo, inputs.decimals)
    parts.append(review)
    if not resumed_created.empty:
        to_post = pd.concat([resumed_created, to_post], ignore_index=True)
    posting = _Posting()
    if options.dry_run:
        to_post["message"] = "would be posted (dry run)"
        # as a new journal would number them (a real run continues after an existing journal's last line)
        to_post["lineNumber"] = 10_000 * pd.Series(range(1, len(to_post) + 1), index=to_post.index, dtype="int64")
        parts.append(_payment_lines(to_post, "posted", inputs.decimals))
    elif not to_post.empty or resumed is not None:
        if resumed is None:
            files = [{"file": str(p), "sha256": s} for p, s in zip(paths, inputs.shas, strict=True)]
            ledger.start_run(scope, run_id, files)
        posting = _post_rows(client, ledger, config, options, scope, run_id, paths, to_post, records, inputs.decimals)
        parts += posting.parts
    return _finish(client, ledger, options, inputs, paths, run_id, parts, posting, started, requests_before)


def _pick_resumed_run(
    client: BCClient, ledger: Ledger, scope: str, records: Mapping[str, RowRecord], shas: Sequence[str]
) -> RunRecord | None:
    """The interrupted run this input belongs to: the one holding most of its keys, if any."""
    unfinished = {r.run_id: r for r in ledger.unfinished_runs(scope)}
    votes: dict[str, int] = {}
    for rec in records.values():
        if rec.run_id in unfinished and rec.state in ("planned", "sending", "created"):
            votes[rec.run_id] = votes.get(rec.run_id, 0) + 1
    if votes:
        return unfinished[max(votes, key=lambda k: votes[k])]
    return _run_stopped_before_planning(client, ledger, scope, list(unfinished.values()), shas)


def _split_by_ledger(
    rows: pd.DataFrame, records: Mapping[str, RowRecord], run_id: str, decimals: int, *, dry_run: bool = False
) -> tuple[list[pd.DataFrame], pd.DataFrame, pd.DataFrame]:
    """Lines the ledger already decides (imported before, repeated in this run, in conflict), the
    lines the resumed run already created (reported as posted from what was sent, never resolved
    again: BC's customers and invoices may have changed since), and the rows left to resolve."""
    if rows.empty:
        return [], rows, rows
    keys = rows["key"].astype("str").tolist()
    duplicate = rows["key"].duplicated(keep="first")
    state_of = pd.Series([records[k].state if k in records else "" for k in keys], index=rows.index, dtype="str")
    run_of = pd.Series([records[k].run_id if k in records else "" for k in keys], index=rows.index, dtype="str")
    if (state_of == "sending").any() and not dry_run:
        raise BCOutcomeUnknown("some rows are still in doubt after reading BC back; run again when BC answers")
    mine = (run_of == run_id) & (state_of == "created")
    earlier = (state_of == "created") & ~mine
    conflict = (state_of == "conflict") | (state_of == "sending")
    parts = []

    already = rows[earlier & ~duplicate].copy()
    if not already.empty:
        already["message"] = [
            f"already imported by run {records[k].run_id} into journal {records[k].journal_code} "
            f"(line {records[k].line_number})"
            for k in already["key"]
        ]
        already["bc_id"] = [records[k].bc_id or "" for k in already["key"]]
        already["journal_code"] = [records[k].journal_code or "" for k in already["key"]]
        already["lineNumber"] = [records[k].line_number for k in already["key"]]
        parts.append(_payment_lines(already, "already_posted", decimals))
    dup = rows[duplicate].copy()
    if not dup.empty:
        first = {str(r["key"]): r for r in as_records(rows[~duplicate])}
        dup["message"] = [
            f"same payment as {first[k]['source_file']} row {first[k]['source_row']} in this run"
            for k in dup["key"].astype("str")
        ]
        dup["reason_code"] = Outcome.DUPLICATE_IN_RUN
        dup["lineNumber"] = pd.NA  # never planned: the first occurrence holds the line
        parts.append(_payment_lines(dup, "already_posted", decimals))
    conflicts = rows[conflict & ~duplicate].copy()
    if not conflicts.empty:
        conflicts["reason_code"] = [
            Outcome.BC_CONFLICT if records[k].state == "conflict" else Outcome.OUTCOME_UNKNOWN for k in conflicts["key"]
        ]
        conflicts["message"] = [
            records[k].error_message or ""
            if records[k].state == "conflict"
            else "may already be in BC: the next real run reads the journal back and settles it"
            for k in conflicts["key"]
        ]
        parts.append(_payment_lines(conflicts, "needs_review", decimals))
    resumed = rows[mine & ~duplicate].copy()
    if not resumed.empty:
        payloads = [records[k].payload for k in resumed["key"]]
        resumed["lineNumber"] = [records[k].line_number for k in resumed["key"]]
        resumed["customerNumber"] = [str(p.get("customerNumber", "")) for p in payloads]
        resumed["appliesToInvoiceNumber"] = [str(p.get("appliesToInvoiceNumber", "")) for p in payloads]
        resumed["appliesToInvoiceId"] = [str(p.get("appliesToInvoiceId", "")) for p in payloads]
        resumed["flags"] = ""
    return parts, resumed.reset_index(drop=True), rows[~duplicate & ~earlier & ~conflict & ~mine].reset_index(drop=True)


def _resolve_rows(
    client: BCClient, config: Config, todo: pd.DataFrame, decimals: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Customers and open invoices, fetched once, decide each row: (needs-review lines, rows to post)."""
    if todo.empty:  # a re-run of a file already imported costs no lookups
        return _empty_lines(), todo
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
    lcy = config.target.local_currency or _local_currency(client)
    p = config.policies
    policy = ResolvePolicy(
        unapplied=p.unapplied,
        partial_payment=p.partial_payment,
        over_payment=p.over_payment,
        unknown_invoice=p.unknown_invoice,
    )
    resolution = resolve(todo, decimals, customers, invoices, lcy, policy)
    review = resolution.review.copy()
    review["lineNumber"] = pd.NA  # not planned: the number from the file would name another payment's line
    to_post = resolution.rows.copy()
    sha_of_key = dict(zip(todo["key"].astype("str"), todo["file_sha256"].astype("str"), strict=True))
    to_post["file_sha256"] = to_post["key"].astype("str").map(sha_of_key)
    return _payment_lines(review, "needs_review", decimals), to_post


@dataclass
class _Posting:
    """What the posting phase produced for the report."""

    journal_code: str = ""
    journal_id: str = ""
    parts: list[pd.DataFrame] = field(default_factory=list)
    discrepancies: pd.DataFrame = field(default_factory=pd.DataFrame)
    error: BCError | None = None
    interrupted: bool = False
    journal_posted: bool = False


def _post_rows(
    client: BCClient,
    ledger: Ledger,
    config: Config,
    options: RunOptions,
    scope: str,
    run_id: str,
    paths: Sequence[Path],
    to_post: pd.DataFrame,
    records: Mapping[str, RowRecord],
    decimals: int,
) -> _Posting:
    """Open the journal, plan, send, then verify (and maybe post) the journal."""
    run = ledger.get_run(run_id)
    assert run is not None
    journal_code, journal_id = open_journal(client, ledger, config, run, [p.name for p in paths], options.now())
    to_post, planned, foreign = _plan(
        client, ledger, config, scope, run_id, journal_code, journal_id, to_post, records, decimals
    )
    total = len(to_post)
    done = [0]

    def advance(n: int) -> None:
        done[0] += n
        if options.progress:
            options.progress(done[0], total)

    poster = Poster(
        client,
        ledger,
        scope,
        journal_id,
        batch_size=config.posting.batch_size,
        max_in_flight=config.posting.max_in_flight,
        progress=advance,
        stop=options.stop,
    )
    already_created = {
        k: records[k].bc_id or "" for k in to_post["key"] if k in records and records[k].state == "created"
    }
    advance(len(already_created))
    # the bodies recorded in the ledger are the ones sent: built once, in _plan
    sendable = [PlannedLine(p.key, p.line_number, to_json_body(p.payload)) for p in planned]
    outcome = poster.post(sendable)
    result = _Posting(journal_code, journal_id, error=outcome.error, interrupted=outcome.interrupted)
    created = {**already_created, **outcome.created}
    to_post["bc_id"] = to_post["key"].map(created).fillna("")
    to_post["journal_code"] = journal_code
    posted = to_post[to_post["key"].isin(created)]
    refused = to_post[to_post["key"].isin(outcome.refused)].copy()
    if not refused.empty:
        refused["reason_code"] = Outcome.BC_REFUSED
        refused["message"] = [
            f"BC refused the line: {outcome.refused[k][1]} ({outcome.refused[k][0]})" for k in refused["key"]
        ]
    conflicted = to_post[to_post["key"].isin(outcome.conflicts)].copy()
    if not conflicted.empty:
        conflicted["reason_code"] = Outcome.BC_CONFLICT
        conflicted["message"] = [outcome.conflicts[k] for k in conflicted["key"]]
    unsent = to_post[~to_post["key"].isin(set(created) | set(outcome.refused) | set(outcome.conflicts))].copy()
    if not unsent.empty:
        doubt = {
            k for k, r in ledger.lookup(scope, unsent["key"].astype("str").tolist()).items() if r.state == "sending"
        }
        in_doubt = unsent["key"].isin(doubt)
        unsent["reason_code"] = in_doubt.map({True: Outcome.OUTCOME_UNKNOWN, False: Outcome.NOT_SENT})
        unsent["message"] = in_doubt.map(
            {
                True: "sent, but BC's answer was lost: the next run reads the journal back and settles it",
                False: "not sent yet: BC failed or the run was stopped; run the same command again",
            }
        )
    result.parts = [
        _payment_lines(posted, "posted", decimals),
        _payment_lines(refused, "rejected", decimals),
        _payment_lines(conflicted, "needs_review", decimals),
        _payment_lines(unsent, "needs_review", decimals),
    ]
    try:
        result.discrepancies = compare_with_bc(posted, read_journal_lines(client, journal_id), decimals)
        if foreign and config.journal.allow_foreign_lines and not result.discrepancies.empty:
            result.discrepancies = result.discrepancies[result.discrepancies["kind"] != Discrepancy.NOT_PLANNED]
        clean = result.error is None and result.discrepancies.empty and unsent.empty and not posted.empty
        if options.post_journal and clean:
            result.journal_posted = post_journal(client, ledger, run_id, journal_code, journal_id)
    except BCError as exc:
        result.error = result.error or exc
    return result


def post_journal(client: BCClient, ledger: Ledger, run_id: str, journal_code: str, journal_id: str) -> bool:
    """Post the verified journal; an unanswered post is settled by looking whether lines remain."""
    ledger.set_journal(run_id, journal_code, journal_id, "posting")
    try:
        client.send("POST", f"journals({journal_id})/Microsoft.NAV.post")
    except BCOutcomeUnknown:
        if read_journal_lines(client, journal_id):
            raise
    ledger.set_journal(run_id, journal_code, journal_id, "posted")
    return True


def _repeat_first_fate(lines: pd.DataFrame) -> pd.DataFrame:
    """A payment repeated within one run shares its first occurrence's fate: ``already_posted``
    when that one is in BC, else the same state (a repeat of a payment that needs review needs
    review too; it was never sent)."""
    repeat = (lines["reason_code"] == Outcome.DUPLICATE_IN_RUN).to_numpy()
    if not repeat.any():
        return lines
    first = lines[~repeat & lines["key"].notna()].drop_duplicates("key").set_index("key")["state"]
    fate = lines.loc[repeat, "key"].map(first).fillna("needs_review")
    lines.loc[repeat, "state"] = fate.where(~fate.isin(["posted", "already_posted"]), "already_posted")
    return lines


def _finish(
    client: BCClient,
    ledger: Ledger,
    options: RunOptions,
    inputs: _Input,
    paths: Sequence[Path],
    run_id: str,
    parts: list[pd.DataFrame],
    posting: _Posting,
    started: datetime,
    requests_before: int,
) -> RunResult:
    """Account for every line, write the reports, close the run in the ledger."""
    decimals = inputs.decimals
    lines = pd.concat([p for p in parts if not p.empty], ignore_index=True) if parts else _empty_lines()
    lines = conform_lines(lines).sort_values(["source_file", "source_row"], kind="stable")
    lines = _repeat_first_fate(lines.reset_index(drop=True))
    rows_read = sum(r.rows_read for r in inputs.results)
    accounting = account(lines, rows_read, decimals)
    summary = _summary(
        run_id,
        client,
        inputs,
        paths,
        lines,
        accounting,
        posting.journal_code,
        posting.journal_id,
        posting.journal_posted,
        posting.discrepancies,
        options,
        client.requests_made - requests_before,
        started,
        posting.error,
        decimals,
    )
    needs_person = summary["rejected"] or summary["needs_review"] or summary["discrepancies"]
    exit_code = 3 if posting.error or posting.interrupted else (1 if needs_person else 0)
    summary["exit_code"] = exit_code
    summary["interrupted"] = posting.interrupted
    reports = _write_reports(options, run_id, inputs, summary, lines, posting.discrepancies)
    emit(
        "run_finished",
        run_id=run_id,
        files=[str(p) for p in paths],
        exit_code=exit_code,
        rows_read=summary["rows_read"],
        **{state: summary[state] for state in STATES},
        amount_posted=summary["amount_posted"],
        journal=posting.journal_code or None,
        bc_requests=summary["bc_requests"],
        duration_s=round((options.now() - started).total_seconds(), 3),
    )
    summary["report"] = {k: str(v) if not isinstance(v, list) else [str(x) for x in v] for k, v in reports.items()}
    if not options.dry_run and posting.journal_id:
        status = "failed" if posting.error else ("interrupted" if posting.interrupted else "finished")
        ledger.finish_run(run_id, status, summary)
    return RunResult(summary, lines, posting.discrepancies, exit_code, reports)


def _run_stopped_before_planning(
    client: BCClient, ledger: Ledger, scope: str, unfinished: Sequence[RunRecord], shas: Sequence[str]
) -> RunRecord | None:
    """An unfinished run of these same files that chose its journal but planned no row yet.

    A process killed between recording the journal code and planning its rows may have created
    the journal in BC; no row key points at that run, so without this it would not be resumed and
    the next run would leave that journal behind, empty, and create another. Only a journal that
    is absent or still empty in BC is taken up again: one holding lines (e.g. a ``journal.existing``
    refused for its foreign lines) is left to the configuration of this run.
    """
    wanted = sorted(shas)
    for run in reversed(unfinished):
        same_files = sorted(str(f.get("sha256", "")) for f in run.files) == wanted
        if not (run.journal_code and same_files) or any(ledger.count_by_state(scope, run.run_id).values()):
            continue
        journal = _find_journal(client, run.journal_code)
        if journal is None or not read_journal_lines(client, str(journal["id"])):
            return run
    return None


def _local_currency(client: BCClient) -> str:
    """The company's LCY (BC writes a blank currency code for it on customers)."""
    info = list(client.get_all("companyInformation", {"$select": "currencyCode"}, read_only=True))
    code = str(info[0].get("currencyCode", "")) if info else ""
    if not code:
        raise ConfigError("BC did not say the company's local currency; set target.local_currency in config.yaml")
    return code


def _plan(
    client: BCClient,
    ledger: Ledger,
    config: Config,
    scope: str,
    run_id: str,
    journal_code: str,
    journal_id: str,
    to_post: pd.DataFrame,
    records: Mapping[str, RowRecord],
    decimals: int,
) -> tuple[pd.DataFrame, list[PlannedRow], bool]:
    """Give every row to post its lineNumber in the journal and record the plan in the ledger
    (returned too: the rows still to send, with the bodies to send).

    Rows this run already planned keep their lineNumber (a resume must not move a line that may
    exist in BC); new rows continue after the journal's last line, in BC or in the ledger.
    Lines in the journal that no run of ours planned are foreign: refused unless allowed.
    """
    bc_lines = read_journal_lines(client, journal_id)
    ours = ledger.line_numbers(scope, journal_id)
    foreign = sorted(int(line["lineNumber"]) for line in bc_lines if int(line["lineNumber"]) not in ours)
    if foreign and not config.journal.allow_foreign_lines:
        shown = ", ".join(map(str, foreign[:5])) + (" ..." if len(foreign) > 5 else "")
        raise ConfigError(
            f"journal {journal_code} already holds {len(foreign)} line(s) this tool did not plan (lineNumbers "
            f"{shown}); posting the journal would post them too. Use another journal, or set "
            "journal.allow_foreign_lines: true to add to it anyway."
        )
    last = max([0, ledger.max_line_number(scope, journal_id), *(int(line["lineNumber"]) for line in bc_lines)])
    to_post = _first_line_not_invoice_blocked(to_post, last)
    kept: list[int | None] = [
        records[k].line_number
        if k in records and records[k].run_id == run_id and records[k].journal_id == journal_id
        else None
        for k in to_post["key"].astype("str")
    ]
    fresh = sum(v is None for v in kept)
    step = line_step(last, fresh)
    numbers = []
    for value in kept:
        if value is None:
            last += step
            numbers.append(last)
        else:
            numbers.append(int(value))
    to_post["lineNumber"] = pd.Series(numbers, index=to_post.index, dtype="int64")
    planned = [
        PlannedRow(
            key=str(r["key"]),
            run_id=run_id,
            file_sha256=str(r["file_sha256"]),
            source_file=str(r["source_file"]),
            source_row=int(r["source_row"]),
            journal_id=journal_id,
            journal_code=journal_code,
            line_number=int(r["lineNumber"]),
            payload=_request_body(r, decimals),
        )
        for r in as_records(to_post)
        if not (r["key"] in records and records[r["key"]].state == "created" and records[r["key"]].run_id == run_id)
    ]
    if planned:
        ledger.plan(scope, run_id, planned)
    return to_post.sort_values("lineNumber", kind="stable").reset_index(drop=True), planned, bool(foreign)


MAX_LINE_NUMBER = 2**31 - 1  # lineNumber is an AL Integer (int32)


def line_step(last: int, count: int) -> int:
    """BC's usual 10000 between lines, or less when a big run would pass the int32 ceiling.

    A million-payment migration into one journal needs a step of about 2,000; the order and the
    room for a person to insert lines by hand in between are kept.
    """
    if count == 0:
        return 10_000
    step = min(10_000, (MAX_LINE_NUMBER - last) // count)
    if step < 1:
        raise ConfigError(f"the journal has no room for {count} more lines after lineNumber {last}; use a new journal")
    return step


def _first_line_not_invoice_blocked(to_post: pd.DataFrame, last: int) -> pd.DataFrame:
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


def _summary(
    run_id: str,
    client: BCClient,
    inputs: _Input,
    paths: Sequence[Path],
    lines: pd.DataFrame,
    accounting: Any,
    journal_code: str,
    journal_id: str,
    journal_posted: bool,
    discrepancies: pd.DataFrame,
    options: RunOptions,
    requests: int,
    started: datetime,
    error: BCError | None,
    decimals: int,
) -> dict[str, Any]:
    counts = lines["state"].value_counts()
    posted = lines[lines["state"] == "posted"]
    minor = sum(-int(x) for x in posted["amount_minor"].dropna())
    currencies = sorted(set(lines["currency"].dropna().astype("str")) - {""}) or [r.currency for r in inputs.results]
    return {
        "run_id": run_id,
        "dry_run": options.dry_run,
        "target": client.target.label,
        "company_id": client.company_id,
        "started": started.isoformat(timespec="seconds"),
        "finished": options.now().isoformat(timespec="seconds"),
        "files": [
            {"file": str(path), "sha256": sha, "profile": r.profile.name, "rows_read": r.rows_read}
            for path, sha, r in zip(paths, inputs.shas, inputs.results, strict=True)
        ],
        "rows_read": sum(r.rows_read for r in inputs.results),
        **{state: int(counts.get(state, 0)) for state in STATES},
        "amount_posted": money_text(pd.Series([minor], dtype="int64"), decimals).iloc[0],
        "currency": ",".join(currencies),
        "totals": accounting.as_dict(),
        "journal": {"code": journal_code or None, "id": journal_id or None, "posted": journal_posted},
        "discrepancies": len(discrepancies),
        "bc_requests": requests,
        "error": None if error is None else str(error),
    }


def _write_reports(
    options: RunOptions,
    run_id: str,
    inputs: _Input,
    summary: dict[str, Any],
    lines: pd.DataFrame,
    discrepancies: pd.DataFrame,
) -> dict[str, Any]:
    run_dir = options.runs_dir / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    errors: list[Path] = []
    if options.errors_workbook:
        for result in inputs.results:
            if result.issues:
                stem = Path(result.file).stem
                errors.append(write_errors_workbook(result, run_dir / f"{stem}.errors.xlsx"))
    summary["report"] = {"dir": str(run_dir), "errors": [str(p) for p in errors]}
    paths: dict[str, Any] = dict(write_run_report(run_dir, summary, lines, discrepancies, decimals=inputs.decimals))
    paths["dir"] = run_dir
    paths["errors"] = errors
    return paths
