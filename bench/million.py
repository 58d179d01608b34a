"""A million payments end to end: ``payimport run`` of a generated statement against the sandbox.

What it shows (issue "speed at every scale", deliverable 4):

- the time of each phase of one real run (reading and validating, fetching customers and open
  invoices, matching, posting, writing the report), so a person can see which phase grows how;
- the run's peak resident memory (the child process's ``ru_maxrss``; the sandbox runs in its own
  process and is not counted);
- a ``kill -9`` of the run in the middle of posting, then a second run that resumes it: the
  sandbox's journal is then read directly (its SQLite store) and every document number must be
  there exactly once, and every valid row must be there.

The data: a seeded company of ``--customers`` customers and ``--invoices`` open invoices
(``payimport sandbox serve --seed FILE``), and a statement of ``--payments`` receipts, one in
twenty paying one of those invoices by number and amount, the rest naming a customer and no
invoice (posted unapplied, ``policies.unapplied: post``). The sandbox runs with BC's limits but no
emulated latency, so the run takes as long as the two processes' own work on this machine.

    python bench/million.py [--payments 1000000] [--customers 10000] [--invoices 50000]
                            [--kill-at 0.5] [--keep DIR]

Run it at two sizes (e.g. 100000 and 200000) to see whether each phase grows linearly. Figures
are printed, never asserted: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from posting import sandbox_target

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

LEGAL_FORMS = ("GmbH", "AG", "KG", "S.L.", "B.V.", "Ltd", "Inc", "SARL", "S.p.A.", "Oy")
INVOICE_SHARE = 20
"""One receipt in this many pays an invoice by number; the others are posted unapplied."""


# --- data ---------------------------------------------------------------------------------------


def generate(out: Path, payments: int, customers: int, invoices: int, seed: int = 7) -> tuple[Path, Path, int]:
    """The seed file, the statement, and how many of its rows are receipts to post."""
    rng = random.Random(seed)
    numbers = [f"C{i:06d}" for i in range(customers)]
    seed_doc: dict[str, Any] = {
        "company": "CRONUS sandbox",
        "customers": [
            {"number": n, "name": f"Customer {i:06d} {LEGAL_FORMS[i % len(LEGAL_FORMS)]}"}
            for i, n in enumerate(numbers)
        ],
        "invoices": [],
    }
    open_invoices: list[tuple[str, str, int]] = []
    for i in range(invoices):
        customer = numbers[i % customers]
        cents = rng.randint(1_000, 5_000_000)
        number = f"SI{i:07d}"
        seed_doc["invoices"].append(
            {
                "number": number,
                "customer": customer,
                "amount": f"{cents // 100}.{cents % 100:02d}",
                "invoiceDate": "2026-02-01",
            }
        )
        open_invoices.append((number, customer, cents))
    seed_path = out / f"seed_{customers}_{invoices}.json"
    seed_path.write_text(json.dumps(seed_doc), encoding="utf-8")

    data = out / f"receipts_{payments}.csv"
    paying = iter(open_invoices)
    with data.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["Date", "Customer No", "Payer", "Reference", "Amount", "Currency", "Transaction ID"])
        for i in range(payments):
            day = dt.date(2026, 3, 2) + dt.timedelta(days=rng.randrange(20))
            invoice = next(paying, None) if i % INVOICE_SHARE == 0 else None
            if invoice is not None:
                number, customer, cents = invoice
                reference = f"Invoice {number}"
            else:
                customer, cents = rng.choice(numbers), rng.randint(100, 2_500_000)
                reference = "Payment on account"
            amount = f"{cents // 100}.{cents % 100:02d}"
            writer.writerow([day.isoformat(), customer, "", reference, amount, "EUR", f"MT{i:010d}"])
    return seed_path, data, payments


def write_config(tmp: Path, ready: dict[str, Any]) -> Path:
    """A ``kind: bc`` target on the sandbox and one profile for the generated statement."""
    config = {
        "version": 1,
        "defaults": {"errors_workbook": False},
        "policies": {"unapplied": "post"},
        "posting": {"batch_size": 100},
        "journal": {"balancing_account": "2910"},
        "state_dir": "state",
        "runs_dir": "runs",
        "target": sandbox_target(ready),
        "profiles": {
            "bench-million": {
                "title": "Generated statement for the end-to-end benchmark (bench/million.py)",
                "delimiter": ",",
                "header": {"signature": ["Date", "Customer No", "Amount", "Transaction ID"]},
                "columns": {
                    "date": "Date",
                    "amount": "Amount",
                    "currency": "Currency",
                    "reference": "Reference",
                    "customer_number": "Customer No",
                    "transaction_id": "Transaction ID",
                },
                "extract": {"invoice_number": r"\b(SI\d{7})\b"},
                "amount": {"layout": "signed", "decimal_mark": "."},
                "date_formats": ["%Y-%m-%d"],
                "currency": {"expected": "EUR"},
                "document_number": {"template": "MP{date:%y%m%d}-{seq:07d}"},
                "description": "{reference}",
            }
        },
    }
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


# --- the run, in a child process so that it can be killed ------------------------------------------


PROBED = (
    "pipeline.runner:read_inputs",
    "pipeline.runner:mark_payments",
    "pipeline.runner:take_decisions",
    "pipeline.runner:settle_unknown",
    "pipeline.runner:receipt_records",
    "pipeline.runner:pick_resumed_run",
    "pipeline.runner:expand_resumed",
    "pipeline.ledger:Ledger.lookup",
    "pipeline.ledger:Ledger.lookup_split_lines",
    "pipeline.runner:split_by_ledger",
    "pipeline.runner:_resolve_rows",
    "pipeline.runner:resolve",
    "pipeline.resolve:match_by_evidence",
    "pipeline.resolve:_resolution",
    "pipeline.resolve:_assemble",
    "pipeline.resolve:_plain_details",
    "pipeline.resolve:_expand_splits",
    "pipeline.runner:read_posting_setup",
    "pipeline.runner:hold_back",
    "pipeline.runner:post_rows",
    "pipeline.runner:_finish",
    "pipeline.post.posting:open_journals",
    "pipeline.post.posting:spread_rows",
    "pipeline.post.posting:plan_lines",
    "pipeline.post.posting:_send",
    "pipeline.post.posting:read_journals_lines",
    "pipeline.post.posting:read_journal_lines",
    "pipeline.post.posting:_verify",
    "pipeline.post.posting:compare_with_bc",
    "pipeline.post.posting:payment_lines",
    "pipeline.runner:one_line_per_receipt",
    "pipeline.runner:account",
    "pipeline.runner:write_run_report",
    "pipeline.runner:conform_lines",
    "pipeline.runner:repeat_first_fate",
    "pipeline.report:conform_lines",
    "pipeline.report_xlsx:write_report_workbook",
    "pipeline.report:_json_summary",
    "pipeline.report:_write_json",
)
"""Functions ``--probe`` times and measures (module:name, patched where the run calls them)."""


def _top(count: int = 6) -> list[str]:
    """Where the live Python allocations are, biggest first (only under ``--probe tracemalloc``)."""
    import tracemalloc

    if not tracemalloc.is_tracing():
        return []
    stats = tracemalloc.take_snapshot().statistics("lineno")[:count]
    return [
        f"{s.size / 2**20:,.0f} MiB {s.traceback[0].filename.split('/')[-1]}:{s.traceback[0].lineno}" for s in stats
    ]


def probe(say: Any) -> None:
    """Wrap ``PROBED`` so each call reports its time and the resident memory before and after it
    (``--probe``: for finding which step holds memory; the figures of a plain run come without it)."""
    import functools
    import importlib

    for target in PROBED:
        module_name, path = target.split(":")
        *owners, name = path.split(".")
        module: Any = importlib.import_module(module_name)
        for owner in owners:
            module = getattr(module, owner)
        inner = getattr(module, name)

        def wrapped(*args: Any, __inner: Any = inner, __name: str = target, **kwargs: Any) -> Any:
            before, t0 = _memory(), time.perf_counter()
            try:
                return __inner(*args, **kwargs)
            finally:
                after = _memory()
                say({"event": "probe", "name": __name, "s": round(time.perf_counter() - t0, 2), "top": _top(),
                     "rss_before": before.get("rss_mib"), "rss_after": after.get("rss_mib")})  # fmt: skip

        setattr(module, name, functools.wraps(inner)(wrapped))


def child(config_path: Path, data: Path) -> None:
    """Runs ``import_files`` as ``payimport run`` does and prints one JSON line per event."""
    sys.path.insert(0, str(ROOT))
    from pipeline.config import load_config
    from pipeline.runner import RunOptions, import_files
    from pipeline.session import open_session

    started = time.perf_counter()
    step = {"next": 0}

    def say(event: dict[str, Any]) -> None:
        event["t"] = round(time.perf_counter() - started, 3)
        event["cpu"] = round(time.process_time(), 3)
        event.update(_memory())
        print(json.dumps(event), flush=True)

    def phase(text: str) -> None:
        say({"event": "phase", "text": text})

    def progress(done: int, total: int) -> None:
        if done >= step["next"] or done >= total:
            say({"event": "progress", "done": done, "total": total})
            step["next"] = done + max(total // 100, 1)

    if os.environ.get("PAYIMPORT_BENCH_PROBE"):
        if os.environ["PAYIMPORT_BENCH_PROBE"] == "tracemalloc":
            import tracemalloc

            tracemalloc.start()
        probe(say)
    config = load_config(config_path)
    options = RunOptions(errors_workbook=False, progress=progress, phase=phase)
    with open_session(config, dict(os.environ), command=f"payimport run {data}") as session:
        result = import_files(session, [data], options)
    say({"event": "result", "exit_code": result.exit_code, "summary": result.summary.to_json()})


def _memory() -> dict[str, float]:
    """The process's resident memory now and its peak so far, MiB (Linux ``/proc/self/status``)."""
    out: dict[str, float] = {}
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        return out
    for line in status.splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            out["rss_mib" if name == "VmRSS" else "peak_mib"] = round(int(value.split()[0]) / 1024, 1)
    return out


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far (Linux ``/proc/<pid>/stat``)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_child(config: Path, data: Path, env: dict[str, str], kill_at: float | None, server: int = 0) -> dict[str, Any]:
    """One run; with ``kill_at``, SIGKILL once that share of the lines is reported created. Each event
    gets the sandbox's CPU time so far (``server``: its pid), so a phase's cost in BC shows too."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(config), str(data)]
    proc = subprocess.Popen(cmd, cwd=config.parent, stdout=subprocess.PIPE, env=env, text=True)
    assert proc.stdout is not None
    events: list[dict[str, Any]] = []
    killed = False
    for line in proc.stdout:
        event = json.loads(line)
        event["server_cpu"] = cpu_seconds(server) if server else 0.0
        events.append(event)
        if kill_at is not None and event["event"] == "progress" and event["done"] >= kill_at * event["total"]:
            os.kill(proc.pid, signal.SIGKILL)
            killed = True
            break
    proc.stdout.close()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"events": events, "killed": killed, "exit": proc.returncode, "maxrss_mib": usage.ru_maxrss / 1024}


def phase_times(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each phase in order: name, seconds, the run's and the sandbox's CPU seconds in it, and the
    run's peak resident MiB by its end; posting runs from the first progress event to the last."""
    marks: list[tuple[str, dict[str, Any]]] = []
    for event in events:
        if event["event"] == "phase":
            marks.append((event["text"], event))
        elif event["event"] == "progress" and not any(m[0] == "posting" for m in marks):
            marks.append(("posting", event))
        elif event["event"] == "progress" and event["done"] >= event["total"]:
            marks.append(("after posting (verifying, recording)", event))
    out = []
    for i, (name, start) in enumerate(marks):
        end = marks[i + 1][1] if i + 1 < len(marks) else events[-1]
        out.append(
            {
                "phase": name,
                "s": end["t"] - start["t"],
                "cpu": end.get("cpu", 0.0) - start.get("cpu", 0.0),
                "server_cpu": end.get("server_cpu", 0.0) - start.get("server_cpu", 0.0),
                "peak": max(float(e.get("peak_mib", 0.0)) for e in events if e["t"] <= end["t"]),
            }
        )
    return out


def journal_census(db: Path) -> tuple[int, int, int]:
    """(lines in the sandbox's journals, distinct document numbers, document numbers seen twice)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        lines = conn.execute("SELECT COUNT(*) FROM journal_lines WHERE document_number LIKE 'MP%'").fetchone()[0]
        distinct = conn.execute(
            "SELECT COUNT(DISTINCT document_number) FROM journal_lines WHERE document_number LIKE 'MP%'"
        ).fetchone()[0]
        twice = conn.execute(
            "SELECT COUNT(*) FROM (SELECT document_number FROM journal_lines WHERE document_number LIKE 'MP%' "
            "GROUP BY document_number HAVING COUNT(*) > 1)"
        ).fetchone()[0]
    return int(lines), int(distinct), int(twice)


def serve(tmp: Path, seed: Path) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    cmd = [
        str(Path(sys.executable).parent / "payimport"), "sandbox", "serve", "--tls", "--seed", str(seed),
        "--db", str(tmp / "sandbox.db"), "--state-dir", str(tmp / "sandbox"),
    ]  # fmt: skip
    stderr = (tmp / "sandbox.stderr").open("wb")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=stderr, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"the sandbox did not start: {(tmp / 'sandbox.stderr').read_text()[-2000:]}")
    return proc, json.loads(line)


def show(title: str, run: dict[str, Any]) -> None:
    print(f"{title}: exit {run['exit']}{' (killed)' if run['killed'] else ''}, peak {run['maxrss_mib']:,.0f} MiB")
    for e in run["events"]:
        if e["event"] == "probe" and (e["s"] >= 0.5 or abs(e["rss_after"] - e["rss_before"]) >= 20):
            print(f"    probe {e['name']}: {e['s']} s, resident {e['rss_before']:,.0f} -> {e['rss_after']:,.0f} MiB, "
                  f"peak by then {e['peak_mib']:,.0f} MiB")  # fmt: skip
            for where in e.get("top", []):
                print(f"        {where}")
    for p in phase_times(run["events"]):
        print(
            f"  {p['s']:8.1f} s  CPU {p['cpu']:6.1f} s, sandbox {p['server_cpu']:6.1f} s  peak {p['peak']:7,.0f} MiB"
            f"  {p['phase']}"
        )
    result = next((e for e in run["events"] if e["event"] == "result"), None)
    if result is not None:
        s = result["summary"]
        keys = ("rows_read", "posted", "already_posted", "rejected", "needs_review", "skipped", "bc_requests")
        print("  " + ", ".join(f"{k} {s.get(k)}" for k in keys if k in s))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--payments", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--invoices", type=int, default=50_000)
    parser.add_argument("--kill-at", type=float, default=0.5, help="share of lines created before kill -9 (0: none)")
    parser.add_argument("--keep", type=Path, default=None, help="work in this folder and keep it")
    parser.add_argument(
        "--probe", nargs="?", const="rss", choices=("rss", "tracemalloc"),
        help="report time and resident memory of each step (PROBED); tracemalloc: also where Python's live "
        "allocations are (slow)",
    )  # fmt: skip
    parser.add_argument("--child", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    tmp = args.keep or Path(tempfile.mkdtemp(prefix="payimport-million-"))
    tmp.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    seed, data, rows = generate(tmp, args.payments, args.customers, args.invoices)
    print(f"generated {rows:,} receipts, {args.customers:,} customers, {args.invoices:,} invoices "
          f"in {time.perf_counter() - started:.1f} s; load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    server, ready = serve(tmp, seed)
    try:
        config = write_config(tmp, ready)
        env = {
            **os.environ,
            **({"PAYIMPORT_BENCH_PROBE": args.probe} if args.probe else {}),
            "PAYIMPORT_CLIENT_ID": ready["client_id"],
            "PAYIMPORT_CLIENT_SECRET": ready["client_secret"],
        }
        kill_at = args.kill_at if args.kill_at > 0 else None
        first = run_child(config, data, env, kill_at, server.pid)
        show("first run", first)
        if first["killed"]:
            lines, _, twice = journal_census(tmp / "sandbox.db")
            print(f"  journal after the kill: {lines:,} lines, {twice} document numbers twice")
            second = run_child(config, data, env, None, server.pid)
            show("resumed run", second)
        lines, distinct, twice = journal_census(tmp / "sandbox.db")
        print(f"journal: {lines:,} lines, {distinct:,} document numbers, {twice} twice; expected {rows:,} once each")
        print(f"load average at the end {os.getloadavg()[0]:.1f}")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
