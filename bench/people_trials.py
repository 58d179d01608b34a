"""Exactly-once trials: client kills, BC kills and people acting in BC between runs, seeded.

Each trial imports a generated statement into a sandbox that runs as its own process, and on the
way, chosen by the trial's seed:

- ``kill-client``: ``kill -9`` of ``payimport run`` at a random moment while it posts;
- ``kill-bc``: ``kill -9`` of the sandbox process while the run posts (restarted on the same
  database, on a new port: the run exits 3 after its retries);
- ``post-by-hand``: a person posts the journal in BC between two runs;
- ``delete-by-hand``: a person deletes a line of the journal between two runs (booked elsewhere);

then the same command is run again (with or without ``--post-journal``, by seed) until it exits
0, 1 or 2 (at most six runs). BC is then read payment by payment: open journal lines plus posted
receivables entries (``generalLedgerEntries``, credit side) per document number.

- a **duplicate** is a payment BC holds more than once;
- a **lost** payment is one BC does not hold although the last run did not report it
  ``needs_review`` and no person deleted it.

Both must be 0 in every trial. ``recreated`` counts lines a person deleted that a later run sent
again (the tool cannot tell a deletion from a line that never arrived, unless the journal shows
a person's hand); it is reported, not counted as an error.

    .venv/bin/python bench/people_trials.py --trials 100 --payments 300
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import msal  # type: ignore[import-untyped]

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from posting import generate, write_config  # noqa: E402

PAYIMPORT = str(Path(sys.executable).parent / "payimport")
ACTIONS = ("kill-client", "kill-bc", "post-by-hand", "delete-by-hand")
SPREAD_JOURNAL_LINES = (100, 150, 150, 5000)
"""``--spread``: each run's ``posting.journal_lines`` (300 payments: three, two or one journals)."""


class Sandbox:
    """``payimport sandbox serve`` on one database; killed and restarted at will."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.proc: subprocess.Popen[bytes] | None = None
        self.ready: dict[str, Any] = {}

    def start(self) -> dict[str, Any]:
        cmd = [
            PAYIMPORT, "sandbox", "serve", "--tls", "--seed", "demo", "--db", str(self.tmp / "sandbox.db"),
            "--state-dir", str(self.tmp / "sandbox"), "--latency-request", "0.004", "--latency-operation", "0.03",
        ]  # fmt: skip
        with (self.tmp / "sandbox.stderr").open("ab") as stderr:
            self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=stderr)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError((self.tmp / "sandbox.stderr").read_text()[-2000:])
        self.ready = json.loads(line)
        return self.ready

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self._forget()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
            self._forget()

    def _forget(self) -> None:
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None


class Person:
    """Someone working in BC through its API (a token of their own, the sandbox's CA)."""

    def __init__(self, ready: dict[str, Any]) -> None:
        self.http = httpx.Client(verify=ssl.create_default_context(cafile=ready["ca"]), timeout=60.0, trust_env=False)
        self.app = msal.ConfidentialClientApplication(
            ready["client_id"],
            client_credential=ready["client_secret"],
            authority=ready["authority"],
            http_client=self.http,
            validate_authority=False,
            instance_discovery=False,
        )
        self.scope = ready["scope"]
        self.company = f"{ready['api']}/companies({ready['company_id']})"

    def _headers(self) -> dict[str, str]:
        token = self.app.acquire_token_for_client(scopes=[self.scope])["access_token"]
        return {"Authorization": f"Bearer {token}"}

    def get_all(self, path: str, params: dict[str, str] | None = None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        url: str | None = f"{self.company}/{path}"
        while url:
            page = self.http.get(url, headers=self._headers(), params=params)
            page.raise_for_status()
            body = page.json()
            out += body["value"]
            url, params = body.get("@odata.nextLink"), None
        return out

    def journals(self) -> list[dict[str, Any]]:
        return [j for j in self.get_all("customerPaymentJournals") if str(j["code"]).startswith("PI")]

    def lines(self, journal_id: str) -> list[dict[str, Any]]:
        return self.get_all(f"customerPaymentJournals({journal_id})/customerPayments")

    def post(self, journal_id: str) -> None:
        self.http.post(f"{self.company}/journals({journal_id})/Microsoft.NAV.post", headers=self._headers())

    def delete(self, line: dict[str, Any]) -> None:
        url = f"{self.company}/customerPaymentJournals({line['journalId']})/customerPayments({line['id']})"
        self.http.delete(url, headers={**self._headers(), "If-Match": "*"})

    def close(self) -> None:
        self.http.close()


def _environ(ready: dict[str, Any]) -> dict[str, str]:
    return {**os.environ, "PAYIMPORT_CLIENT_ID": ready["client_id"], "PAYIMPORT_CLIENT_SECRET": ready["client_secret"]}


def _config(tmp: Path, ready: dict[str, Any], journal_lines: int | None) -> Path:
    path = write_config(tmp, ready, None, journal_lines=journal_lines)
    text = path.read_text(encoding="utf-8")
    retry = "posting:\n  retry: {max_attempts: 6, base_delay_s: 0.05, max_delay_s: 0.5, max_total_s: 8}\n"
    path.write_text(text.replace("posting:\n", retry, 1), encoding="utf-8")
    return path


def _run(
    tmp: Path, ready: dict[str, Any], data: Path, post: bool, spread: random.Random | None = None
) -> subprocess.Popen[bytes]:
    """One ``payimport run``; with ``spread``, under a ``posting.journal_lines`` drawn from it, so a
    run spreads its lines over two or three journals and a resume may see another count."""
    lines = spread.choice(SPREAD_JOURNAL_LINES) if spread is not None else None
    config = _config(tmp, ready, lines)
    cmd = [PAYIMPORT, "run", "--json", "--config", str(config), *(["--post-journal"] if post else [])]
    with (tmp / "runs.log").open("ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([*cmd, str(data)], stdout=out, stderr=out, env=_environ(ready), cwd=tmp)


def _last_report(tmp: Path) -> dict[str, Any] | None:
    reports = sorted((tmp / "runs").glob("*/report.json"), key=lambda p: p.stat().st_mtime)
    return json.loads(reports[-1].read_text(encoding="utf-8")) if reports else None


def _base(document: str) -> str:
    return document.split("/", 1)[0].upper()


def trial(seed: int, payments: int, root: Path, *, spread: bool = False) -> dict[str, Any]:
    """One seeded trial; returns its figures. ``spread``: each run's journal count is drawn from a
    second generator of the same seed (the trial's other choices stay those of the plain trial)."""
    rng = random.Random(seed)
    counts = random.Random(-seed) if spread else None
    tmp = root / f"trial-{seed:04d}"
    tmp.mkdir(parents=True)
    data = generate(tmp / "statement.csv", payments, seed=seed)
    box = Sandbox(tmp)
    ready = box.start()
    interrupt = rng.choice(("kill-client", "kill-bc", "none"))
    hands = [rng.choice(("post-by-hand", "delete-by-hand")) for _ in range(rng.randint(0, 2))]
    again = rng.choice(("kill-client", "kill-bc", "none"))
    actions = [a for a in (interrupt, *hands, again) if a != "none"]
    post = rng.random() < 0.5
    deleted: set[str] = set()
    try:
        ready = _interrupted_run(box, ready, tmp, data, post, interrupt, rng, counts)
        for action in hands:
            _by_hand(ready, action, rng, deleted, counts)
        ready = _interrupted_run(box, ready, tmp, data, post, again, rng, counts)
        codes = []
        for _ in range(6):
            proc = _run(tmp, ready, data, post, counts)
            codes.append(proc.wait(timeout=600))
            if codes[-1] in (0, 1, 2):
                break
        return _judge(seed, actions, codes, tmp, ready, data, deleted)
    finally:
        box.stop()


def _interrupted_run(
    box: Sandbox,
    ready: dict[str, Any],
    tmp: Path,
    data: Path,
    post: bool,
    how: str,
    rng: random.Random,
    spread: random.Random | None = None,
) -> dict[str, Any]:
    """A run, killed (the client or BC) at a random moment while it posts, or left to finish."""
    proc = _run(tmp, ready, data, post, spread)
    if how == "none":
        proc.wait(timeout=600)
        return ready
    time.sleep(rng.uniform(0.4, 2.5))
    if how == "kill-client":
        proc.kill()
        proc.wait()
        return ready
    box.kill()
    proc.wait(timeout=120)
    return box.start()


def _by_hand(
    ready: dict[str, Any], action: str, rng: random.Random, deleted: set[str], one: random.Random | None = None
) -> None:
    """A person posts each journal of this tool, or deletes one line of each, in BC; with ``one``, a
    spread run's journals are not all touched: the person acts on one of them (drawn from ``one``)."""
    person = Person(ready)
    journals = [(j, person.lines(str(j["id"]))) for j in person.journals()]
    if one is not None:
        holding = [pair for pair in journals if pair[1]]
        journals = [one.choice(holding)] if holding else []
    for journal, lines in journals:
        if action == "post-by-hand" and lines:
            person.post(str(journal["id"]))
        elif action == "delete-by-hand" and lines:
            victim = rng.choice(lines)
            person.delete(victim)
            deleted.add(_base(str(victim["documentNumber"])))
    person.close()


def _judge(
    seed: int, actions: list[str], codes: list[int], tmp: Path, ready: dict[str, Any], data: Path, deleted: set[str]
) -> dict[str, Any]:
    """Count each payment in BC: open lines and posted receivables (credit) entries."""
    person = Person(ready)
    held: Counter[str] = Counter()
    for journal in person.journals():
        held.update(_base(str(line["documentNumber"])) for line in person.lines(str(journal["id"])))
    entries = person.get_all("generalLedgerEntries", {"$filter": "documentType eq 'Payment'"})
    held.update(_base(str(e["documentNumber"])) for e in entries if float(e.get("creditAmount") or 0) > 0)
    person.close()
    report = _last_report(tmp) or {"lines": []}
    payments = [line for line in report["lines"] if line.get("documentNumber")]
    review = {_base(str(line["documentNumber"])) for line in payments if line["state"] == "needs_review"}
    wanted = {_base(str(line["documentNumber"])) for line in payments} | deleted
    duplicates = sorted(d for d in wanted if held[d] > 1)
    lost = sorted(d for d in wanted if held[d] == 0 and d not in review and d not in deleted)
    recreated = sorted(d for d in deleted if held[d] == 1)
    del data
    return {
        "seed": seed,
        "actions": actions,
        "exit_codes": codes,
        "payments_in_bc": sum(1 for d in wanted if held[d] >= 1),
        "needs_review": len(review),
        "duplicates": duplicates,
        "lost": lost,
        "recreated": recreated,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--payments", type=int, default=300)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep each trial's folder (state, reports, logs)")
    parser.add_argument(
        "--spread",
        action="store_true",
        help="each run's posting.journal_lines drawn per run (one to three journals, changing on resume)",
    )
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="payimport-trials-"))
    totals: Counter[str] = Counter()
    started = time.monotonic()
    for seed in range(args.first_seed, args.first_seed + args.trials):
        result = trial(seed, args.payments, root, spread=args.spread)
        print(json.dumps(result), flush=True)
        totals.update(result["actions"])
        totals["duplicates"] += len(result["duplicates"])
        totals["lost"] += len(result["lost"])
        totals["recreated"] += len(result["recreated"])
        totals["trials"] += 1
    summary = {k: totals[k] for k in ("trials", "duplicates", "lost", "recreated", *ACTIONS)}
    seconds = round(time.monotonic() - started, 1)
    print(json.dumps({"summary": summary, "spread": args.spread, "seconds": seconds, "folder": str(root)}))
    if not args.keep:
        import shutil

        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
