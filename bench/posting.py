"""Posting benchmark: the real ``payimport run`` against the sandbox at BC online's limits.

The sandbox runs in its own process (``payimport sandbox serve``), so client and server do not
share a GIL, with BC's default limits (5 requests processed at once, 95 queued, 6000 requests
per 300 s, 100 operations per ``$batch``) and an emulated server time per request (``Lr``) and
per operation (``Lo``). Three measurements, each against a fresh sandbox:

1. ``zero latency``: the poster with Lr = Lo = 0 shows the sandbox's own throughput (its CPU
   time per payment), to check that it is small next to Lo;
2. ``poster``: the same import with latency, compared with the theoretical ceiling;
3. ``simple script``: one POST per payment, one after another, with httpx and an msal token
   (:func:`simple_script`), on a sample, extrapolated linearly to every payment.

The ceiling, from what the sandbox does (pipeline/sandbox/limits.py, app.py and locks.py): a
request holds one of the C concurrency slots while it sleeps Lr (limits middleware) and then runs
its B operations one after another, each taking Lo in all, its own work included
(``Dispatcher.execute`` sleeps what is left of Lo once the work is done), while it holds the
journal's lock, as BC's inserts into one journal hold its lock. So C slots
would finish C*B payments every Lr + B*Lo seconds, the sliding window allows R requests per W
seconds (a ``$batch`` counts once), and one journal takes at most one operation per Lo. BC counts
C and R per principal, so with k principals and a run spread over J journals:
ceiling = min(k*C*B / (Lr + B*Lo), J / Lo, k*R/W * B). The poster sends one request at a time
into each journal, so one journal reaches B / (Lr + B*Lo) at best; ``--principals 1,2,3`` runs
the import once per k with k app registrations and J = max_in_flight * k journals (``--scale``:
payments * k in the run with k principals, so each request slot serves as many rounds). The
sandbox's own CPU time per operation is counted in Lo, not added to it; it is measured and
reported, and an operation waits longer than Lo only when the machine cannot run it in time.

    python bench/posting.py [--payments 20000] [--latency-request 0.05] [--latency-operation 0.02]
                            [--simple-count 1000] [--repeat 1] [--max-in-flight N] [--principals 1,2,3]

Figures are printed, never asserted: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import itertools
import json
import logging
import os
import platform
import random
import resource
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import msal  # type: ignore[import-untyped]
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from pipeline.bc import jsonio  # noqa: E402
from pipeline.config import JournalSpec, PostingSpec, load_config  # noqa: E402
from pipeline.post.journal import journal_count  # noqa: E402
from pipeline.runner import RunOptions, import_files  # noqa: E402
from pipeline.session import open_session  # noqa: E402

CONCURRENT, QUEUE, RATE_REQUESTS, RATE_WINDOW_S, BATCH = 5, 95, 6000, 300.0, 100
"""BC online's documented limits per service principal (reference/performance-notes.md 6)."""

CUSTOMERS = [
    ("C10000", "Müller Maschinenbau GmbH"),
    ("C10100", "Bäckerei Schäfer KG"),
    ("C10200", "Fernández Logística S.L."),
    ("C10300", "Weber, Sohn & Partner"),
    ("C10400", "Jansen Handel B.V."),
    ("C20000", "Northwind Traders"),
    ("C30000", "Graphic Design Institute"),
    ("C40000", "Fabrikam Inc"),
    ("C50000", "Adventure Works"),
    ("C60000", "Tailspin Toys"),
    ("C80000", "Litware Inc"),
    ("C90000", "Proseware Inc"),
    ("C95000", "Lucerne Publishing"),
]
"""EUR customers of the demo seed that are not blocked (C70000 bills in USD, C99000 is blocked)."""


# --- data ---------------------------------------------------------------------------------------


def generate(path: Path, count: int, seed: int = 4) -> Path:
    """``count`` receipts naming a customer and no invoice: BC takes them as unapplied payments."""
    if path.is_file():
        return path
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    with tmp.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(["Date", "Customer No", "Payer", "Reference", "Amount", "Currency", "Transaction ID"])
        for i in range(count):
            number, name = rng.choice(CUSTOMERS)
            day = dt.date(2026, 3, 1) + dt.timedelta(days=rng.randrange(28))
            cents = rng.randint(100, 2_500_000)
            out.writerow(
                [
                    day.isoformat(),
                    number,
                    name,
                    f"Payment {number} {i}",
                    f"{cents // 100}.{cents % 100:02d}",
                    "EUR",
                    f"BP{i:010d}",
                ]
            )
    tmp.replace(path)
    return path


# --- the sandbox, in its own process ---------------------------------------------------------------


@contextlib.contextmanager
def sandbox(
    tmp: Path, latency_request: float, latency_operation: float, principals: int = 1
) -> Iterator[dict[str, Any]]:
    """``payimport sandbox serve`` with BC's limits (per client id) and ``principals`` app
    registrations; yields its ready line (plus ``pid``)."""
    tmp.mkdir(parents=True, exist_ok=True)
    cmd = [
        str(Path(sys.executable).parent / "payimport"), "sandbox", "serve", "--tls", "--seed", "demo",
        "--db", str(tmp / "sandbox.db"), "--state-dir", str(tmp / "sandbox"),
        "--max-concurrent", str(CONCURRENT), "--max-queue", str(QUEUE), "--rate-requests", str(RATE_REQUESTS),
        "--rate-window", str(RATE_WINDOW_S), "--max-batch", str(BATCH),
        "--latency-request", str(latency_request), "--latency-operation", str(latency_operation),
    ]  # fmt: skip
    for client_id, secret in more_principals(principals):
        cmd += ["--more-client", f"{client_id}:{secret}"]
    with (tmp / "sandbox.stderr").open("wb") as stderr:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=stderr, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f"the sandbox did not start: {(tmp / 'sandbox.stderr').read_text()[-2000:]}")
            ready: dict[str, Any] = json.loads(line)
            ready["pid"] = proc.pid
            yield ready
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()


def more_principals(principals: int) -> list[tuple[str, str]]:
    """The bench's further app registrations (client id, secret) beyond the sandbox's own."""
    return [(f"bench-app-{n}", f"bench-secret-{n}") for n in range(2, principals + 1)]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- the poster: the real payimport run ----------------------------------------------------------------


class BatchLog(logging.Handler):
    """Collects (start, end) of every ``$batch`` from the BC client's debug records
    (``"%s %s -> %d in %.3f s"``: method, path, status, seconds); nothing if that format changes."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.spans: list[tuple[float, float]] = []

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args
        if isinstance(args, tuple) and len(args) == 4 and args[1] == "$batch" and isinstance(args[3], float):
            self.spans.append((record.created - args[3], record.created))


class Timeline:
    """The posting phase as the run's progress callback sees it: from the first call (just before
    the poster starts) to the call that reports the last line created; CPU sampled at both ends."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self.started = time.perf_counter()
        self.first: tuple[float, float, float] | None = None
        self.last: tuple[float, float, float] | None = None

    def progress(self, done: int, total: int) -> None:
        sample = (time.perf_counter(), own_cpu_seconds(), cpu_seconds(self.server_pid))
        if self.first is None:
            self.first = sample
        elif done >= total:
            self.last = sample


def busy_share(spans: list[tuple[float, float]], slots: int) -> float:
    """Share of the ``$batch`` traffic window during which the client had at least ``slots``
    requests out: if the sandbox's slots sit idle while this is near 1, the client is not why."""
    if not spans:
        return float("nan")
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    busy, level, since = 0.0, 0, events[0][0]
    for moment, step in events:
        if level >= slots:
            busy += moment - since
        level += step
        since = moment
    return busy / (events[-1][0] - events[0][0])


def sandbox_target(ready: dict[str, Any]) -> dict[str, Any]:
    """A ``kind: bc`` target on the sandbox of this ready line (``sandbox serve --tls``), as a real
    tenant is configured; the secrets stay in the environment."""
    return {
        "kind": "bc",
        "tenant": ready["tenant"],
        "environment": ready["environment"],
        "company": ready["company_id"],
        "api_url": ready["base_url"],
        "authority_url": ready["base_url"],
        "scope": ready["scope"],
        "ca_file": ready["ca"],
        "validate_authority": False,
        "local_currency": "EUR",
    }


def write_config(
    tmp: Path, ready: dict[str, Any], max_in_flight: int | None, principals: int = 1, journal_lines: int | None = None
) -> Path:
    """bench/posting_config.yaml plus a ``kind: bc`` target pointing at the sandbox, with
    ``principals`` app registrations (their secrets in the environment, as in production)."""
    config = yaml.safe_load((HERE / "posting_config.yaml").read_text(encoding="utf-8"))
    config["target"] = {
        **sandbox_target(ready),
        "principals": [
            {"client_id_env": f"PAYIMPORT_CLIENT_ID_{n}", "client_secret_env": f"PAYIMPORT_CLIENT_SECRET_{n}"}
            for n in range(2, principals + 1)
        ],
    }
    # a tenant has no default balancing account; 2910 is the bank account of the sandbox's demo company
    config.setdefault("journal", {}).setdefault("balancing_account", "2910")
    config["state_dir"] = "state"
    config["runs_dir"] = "runs"
    if max_in_flight is not None:
        config["posting"]["max_in_flight"] = max_in_flight
    if journal_lines is not None:
        config["posting"]["journal_lines"] = journal_lines
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def run_poster(
    data: Path,
    ready: dict[str, Any],
    tmp: Path,
    max_in_flight: int | None,
    principals: int = 1,
    journal_lines: int | None = None,
) -> dict[str, Any]:
    """What ``payimport run --accept-new-ledger --config CONFIG DATA`` does (pipeline/cli.py), timed
    phase by phase. Every run has a fresh ledger and sandbox; the check a fresh ledger makes once
    per company (BC's posted entries for a sample of the input, about 80 reads) is not posting and
    is left out."""
    config_path = write_config(tmp, ready, max_in_flight, principals, journal_lines)
    environ = {"PAYIMPORT_CLIENT_ID": ready["client_id"], "PAYIMPORT_CLIENT_SECRET": ready["client_secret"]}
    for n, (client_id, secret) in enumerate(more_principals(principals), start=2):
        environ[f"PAYIMPORT_CLIENT_ID_{n}"] = client_id
        environ[f"PAYIMPORT_CLIENT_SECRET_{n}"] = secret
    batches = BatchLog()
    bc_log = logging.getLogger("payimport.bc")
    level, propagate = bc_log.level, bc_log.propagate
    bc_log.addHandler(batches)
    bc_log.setLevel(logging.DEBUG)
    bc_log.propagate = False  # the per-request debug lines are for BatchLog, not for the console
    timeline = Timeline(ready["pid"])
    started = timeline.started
    try:
        config = load_config(config_path)
        options = RunOptions(errors_workbook=False, progress=timeline.progress, accept_new_ledger=True)
        with open_session(config, environ, command=f"payimport run {data}") as session:
            result = import_files(session, [data], options)
    finally:
        bc_log.removeHandler(batches)
        bc_log.setLevel(level)
        bc_log.propagate = propagate
    whole = time.perf_counter() - started
    summary = result.summary.to_json()
    if summary["posted"] == 0 or timeline.first is None or timeline.last is None:
        raise RuntimeError(f"nothing was posted: {json.dumps(summary, default=str)[:2000]}")
    (t0, c0, s0), (t1, c1, s1) = timeline.first, timeline.last
    spans = batches.spans
    return {
        "posted": summary["posted"],
        "rows_read": summary["rows_read"],
        "not_posted": summary["rows_read"] - summary["posted"] - summary["skipped"],
        "bc_requests": summary["bc_requests"],
        "posting_s": t1 - t0,
        "before_s": t0 - timeline.started,
        "whole_s": whole,
        "client_cpu_s": c1 - c0,
        "server_cpu_s": s1 - s0,
        "batches": len(spans),
        "batch_s_median": statistics.median(e - s for s, e in spans) if spans else float("nan"),
        "batch_window_s": max(e for _, e in spans) - min(s for s, _ in spans) if spans else float("nan"),
        "busy_share": busy_share(spans, CONCURRENT),
        "max_in_flight": config.posting.max_in_flight,
        "journals": journal_count(summary["posted"], config.journal, config.posting, principals),
        "principals": principals,
        "exit_code": result.exit_code,
    }


# --- the way a simple script would do it ---------------------------------------------------------------


def simple_script(data: Path, ready: dict[str, Any], count: int) -> tuple[int, float]:
    """One POST per payment, one after another, into a fresh journal: (payments, seconds).

    Written as a short script would be, with one exception: the amount goes out as an exact
    JSON number (``jsonio.dumps`` of a Decimal) rather than a float, as the project's rules ask.
    """
    http = httpx.Client(verify=ssl.create_default_context(cafile=ready["ca"]), timeout=60.0, trust_env=False)
    app = msal.ConfidentialClientApplication(
        ready["client_id"],
        client_credential=ready["client_secret"],
        authority=ready["authority"],
        http_client=http,
        validate_authority=False,
        instance_discovery=False,
    )

    def headers() -> dict[str, str]:
        token = app.acquire_token_for_client(scopes=[ready["scope"]])["access_token"]  # msal caches it
        return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    company = f"{ready['api']}/companies({ready['company_id']})"
    journal = http.post(
        f"{company}/customerPaymentJournals", headers=headers(), content=jsonio.dumps({"code": "SIMPLE"})
    )
    journal.raise_for_status()
    lines = f"{company}/customerPaymentJournals({journal.json()['id']})/customerPayments"
    with data.open(encoding="utf-8", newline="") as f:
        rows = list(itertools.islice(csv.DictReader(f), count))
    started = time.perf_counter()
    for i, row in enumerate(rows, start=1):
        body = {
            "lineNumber": i * 10000,
            "customerNumber": row["Customer No"],
            "postingDate": row["Date"],
            "documentNumber": f"SIMPLE-{i:07d}",
            "externalDocumentNumber": row["Transaction ID"],
            "amount": -Decimal(row["Amount"]),
            "description": row["Payer"],
        }
        response = http.post(lines, headers=headers(), content=jsonio.dumps(body))
        response.raise_for_status()
    elapsed = time.perf_counter() - started
    http.close()
    return len(rows), elapsed


# --- report --------------------------------------------------------------------------------------


def ceiling(
    latency_request: float, latency_operation: float, principals: int = 1, journals: int = 1
) -> tuple[float, float, float]:
    """(ceiling, concurrency bound, rate bound) in payments per second (module docstring) for k
    principals and J journals: min(k*C*B/(Lr+B*Lo), J/Lo, k*R/W*B); the concurrency bound includes
    the journal locks' J / Lo."""
    hold = latency_request + BATCH * latency_operation
    concurrency = principals * CONCURRENT * BATCH / hold if hold > 0 else float("inf")
    if latency_operation > 0:
        concurrency = min(concurrency, journals / latency_operation)
    rate = principals * RATE_REQUESTS / RATE_WINDOW_S * BATCH
    return min(concurrency, rate), concurrency, rate


def bench_journals(payments: int, principals: int, max_in_flight: int | None, spread: bool) -> tuple[int, int]:
    """(J, posting.journal_lines) of a run of ``payments`` in this bench: the bench's config, or
    with ``spread`` (``--principals``) journal_lines chosen so that every request the principals
    can have in flight has a journal of its own (J = max_in_flight * k)."""
    config = yaml.safe_load((HERE / "posting_config.yaml").read_text(encoding="utf-8"))
    posting = PostingSpec(**{**config["posting"], **({"max_in_flight": max_in_flight} if max_in_flight else {})})
    if spread:
        posting = posting.model_copy(update={"journal_lines": -(-payments // (posting.max_in_flight * principals))})
    return journal_count(payments, JournalSpec(), posting, principals), posting.journal_lines


def machine() -> str:
    return (
        f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), Linux {platform.release()}, "
        f"Python {platform.python_version()}, httpx {httpx.__version__}, msal {msal.__version__}"
    )


def show_poster(n: int, r: dict[str, Any], lr: float, lo: float, limit: float) -> None:
    rate = r["posted"] / r["posting_s"]
    sandbox_op = r["server_cpu_s"] / r["posted"]
    after = r["whole_s"] - r["before_s"] - r["posting_s"]
    print(
        f"\nposter run {n}: {r['posted']} payments posted (exit {r['exit_code']}, {r['not_posted']} not posted), "
        f"posting.max_in_flight {r['max_in_flight']}, {r['principals']} principal(s), {r['journals']} journal(s)\n"
        f"  posting phase {r['posting_s']:.2f} s ($batch traffic {r['batch_window_s']:.2f} s); whole run "
        f"{r['whole_s']:.2f} s ({r['before_s']:.2f} s before posting: read, validate, resolve, plan; "
        f"{after:.2f} s after: read back, compare, reports)\n"
        f"  {rate:.1f} payments/s = {rate / limit:.3f} of the ceiling {limit:.1f}/s (target >= 0.9); "
        f"whole run {r['posted'] / r['whole_s']:.1f}/s\n"
        f"  {r['bc_requests']} BC requests = {r['bc_requests'] / r['posted']:.4f} per payment (target <= 0.0105); "
        f"{r['batches']} $batch, median {r['batch_s_median']:.3f} s from send to answer (Lr+B*Lo = "
        f"{lr + BATCH * lo:.3f} s); >= {CONCURRENT} requests out {r['busy_share']:.1%} of the traffic window\n"
        f"  CPU during posting: client {r['client_cpu_s']:.2f} s ({r['client_cpu_s'] / r['posting_s']:.0%} of a "
        f"core), sandbox {r['server_cpu_s']:.2f} s ({r['server_cpu_s'] / r['posting_s']:.0%} of a core, "
        f"{sandbox_op * 1000:.3f} ms per payment, counted in Lo = {lo * 1000:g} ms)"
    )
    sys.stdout.flush()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--payments", type=int, default=20_000)
    parser.add_argument("--latency-request", type=float, default=0.05, help="Lr, seconds per request")
    parser.add_argument("--latency-operation", type=float, default=0.02, help="Lo, seconds per operation")
    parser.add_argument("--simple-count", type=int, default=1000, help="payments the simple script sends")
    parser.add_argument("--repeat", type=int, default=1, help="runs of the poster with latency")
    parser.add_argument("--max-in-flight", type=int, default=None, help="override posting.max_in_flight")
    parser.add_argument("--skip-zero", action="store_true", help="skip the zero-latency run")
    parser.add_argument("--skip-simple", action="store_true", help="skip the simple script")
    parser.add_argument(
        "--principals",
        default=None,
        help="comma-separated k (e.g. 1,2,3): one poster run per k with k app registrations and "
        "max_in_flight * k journals, instead of the runs above",
    )
    parser.add_argument(
        "--scale",
        action="store_true",
        help="with --principals: post --payments * k payments in the run with k principals, so every "
        "run keeps each request slot busy for as many rounds (the ceiling is a steady-state rate)",
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()

    lr, lo = args.latency_request, args.latency_operation
    data = generate(HERE / "data" / f"payments_{args.payments}.csv", args.payments)
    if args.principals:
        by_principals(data, args, [int(k) for k in args.principals.split(",")])
        return
    journals, _ = bench_journals(args.payments, 1, args.max_in_flight, spread=False)
    limit, by_concurrency, by_rate = ceiling(lr, lo, 1, journals)
    print(f"posting benchmark, {dt.datetime.now().isoformat(timespec='seconds')}; {machine()}")
    print(f"data: {data} ({args.payments} payments naming a customer and no invoice: posted unapplied)")
    print(
        f"limits: C={CONCURRENT} concurrent (+{QUEUE} queued), R={RATE_REQUESTS} requests per W={RATE_WINDOW_S:g} s, "
        f"B={BATCH} per $batch; latency Lr={lr * 1000:g} ms per request, Lo={lo * 1000:g} ms per operation"
    )
    print(
        f"ceiling = min(C*B/(Lr+B*Lo), J/Lo, R/W*B) = min({CONCURRENT}*{BATCH}/({lr:g}+{BATCH}*{lo:g}), "
        f"{journals}/{lo:g}, {RATE_REQUESTS}/{RATE_WINDOW_S:g}*{BATCH}) = min({by_concurrency:.1f}, {by_rate:.0f}) = "
        f"{limit:.1f} payments/s ({'concurrency' if by_concurrency <= by_rate else 'rate'}-bound)"
    )
    sys.stdout.flush()

    zero: dict[str, Any] | None = None
    runs: list[dict[str, Any]] = []
    simple: tuple[int, float] | None = None
    with tempfile.TemporaryDirectory(prefix="payimport-bench-posting-") as tmp_name:
        tmp = Path(tmp_name)
        if not args.skip_zero:
            with sandbox(tmp / "zero", 0.0, 0.0) as ready:
                zero = run_poster(data, ready, tmp / "zero", args.max_in_flight)
            print(
                f"\nzero latency: {zero['posted']} payments posted in {zero['posting_s']:.2f} s = "
                f"{zero['posted'] / zero['posting_s']:.0f}/s; sandbox CPU {zero['server_cpu_s']:.2f} s = "
                f"{zero['server_cpu_s'] / zero['posted'] * 1000:.3f} ms per payment "
                f"({zero['server_cpu_s'] / zero['posting_s']:.0%} of a core), client CPU {zero['client_cpu_s']:.2f} s "
                f"= {zero['client_cpu_s'] / zero['posted'] * 1000:.3f} ms per payment "
                f"({zero['client_cpu_s'] / zero['posting_s']:.0%} of a core)"
            )
            sys.stdout.flush()
        for n in range(args.repeat):
            with sandbox(tmp / f"poster{n}", lr, lo) as ready:
                runs.append(run_poster(data, ready, tmp / f"poster{n}", args.max_in_flight))
            show_poster(n + 1, runs[-1], lr, lo, limit)
        if not args.skip_simple:
            with sandbox(tmp / "simple", lr, lo) as ready:
                simple = simple_script(data, ready, min(args.simple_count, args.payments))

    print("\nsummary")
    if zero is not None:
        print(f"  sandbox's own throughput (zero latency, poster): {zero['posted'] / zero['posting_s']:.0f} payments/s")
    rates = [r["posted"] / r["posting_s"] for r in runs]
    median = statistics.median(rates) if rates else float("nan")
    if rates:
        print(
            f"  poster: {', '.join(f'{x:.1f}' for x in rates)} payments/s (median {median:.1f}) = "
            f"{median / limit:.3f} of the ceiling {limit:.1f}/s; "
            f"{statistics.median(r['bc_requests'] / r['posted'] for r in runs):.4f} requests per payment; "
            f"whole run {statistics.median(r['whole_s'] for r in runs):.1f} s"
        )
    if simple is not None:
        count, seconds = simple
        per_s = count / seconds
        kind = "measured" if count >= args.payments else f"EXTRAPOLATED linearly from the first {count}"
        bound = min(1 / (lr + lo), RATE_REQUESTS / RATE_WINDOW_S)
        print(
            f"  simple script (1 POST per payment, one after another): {per_s:.1f} payments/s "
            f"(its own ceiling min(1/(Lr+Lo), R/W) = {bound:.1f}/s); {args.payments} payments in "
            f"{seconds * args.payments / count:.0f} s ({kind})"
        )
        if rates:
            print(f"  speedup of the poster over the simple script: {median / per_s:.1f}x")


def by_principals(data: Path, args: argparse.Namespace, ks: list[int]) -> None:
    """One poster run per k principals against a fresh sandbox: payments/s, requests per payment
    and the ratio to the k-principal ceiling min(k*C*B/(Lr+B*Lo), J/Lo, k*R/W*B)."""
    lr, lo = args.latency_request, args.latency_operation
    print(f"posting benchmark by principals, {dt.datetime.now().isoformat(timespec='seconds')}; {machine()}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"data: {data} ({args.payments} payments{' x k' if args.scale else ''}); "
        f"C={CONCURRENT} concurrent per principal, R={RATE_REQUESTS} "
        f"per W={RATE_WINDOW_S:g} s per principal, B={BATCH}, Lr={lr * 1000:g} ms, Lo={lo * 1000:g} ms; "
        "per-journal locks on"
    )
    sys.stdout.flush()
    rows = []
    with tempfile.TemporaryDirectory(prefix="payimport-bench-posting-") as tmp_name:
        tmp = Path(tmp_name)
        for k in ks:
            payments = args.payments * k if args.scale else args.payments
            file = generate(HERE / "data" / f"payments_{payments}.csv", payments) if args.scale else data
            journals, lines = bench_journals(payments, k, args.max_in_flight, spread=True)
            limit, _, _ = ceiling(lr, lo, k, journals)
            with sandbox(tmp / f"k{k}", lr, lo, principals=k) as ready:
                r = run_poster(file, ready, tmp / f"k{k}", args.max_in_flight, principals=k, journal_lines=lines)
            show_poster(k, r, lr, lo, limit)
            rows.append((k, r, limit))
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        "\n| k | J | payments/s | ceiling min(k·C·B/(Lr+B·Lo), J/Lo, k·R/W·B) | ratio | requests/payment "
        "| `$batch` median | ratio at the measured `$batch` time |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for k, r, limit in rows:
        rate = r["posted"] / r["posting_s"]
        served = k * CONCURRENT * BATCH / r["batch_s_median"]
        print(
            f"| {k} | {r['journals']} | {rate:.1f} | {limit:.1f} | {rate / limit:.3f} | "
            f"{r['bc_requests'] / r['posted']:.4f} | {r['batch_s_median']:.3f} s | {rate / served:.3f} |"
        )


if __name__ == "__main__":
    main()
