"""Shared pieces of the ``payimport run`` integration tests: a sandbox, a config, inputs, BC read-back.

Every test runs the real command (click's CliRunner in the test process, or a subprocess) against
a real sandbox served over TLS on loopback, reached as a tenant is (``target.kind: bc``, msal,
secrets in the environment). Nothing of the project is monkeypatched: faults, latency and short
retry delays are the sandbox's and the config's own settings.

Expected BC state is worked out from the input here (BC's rules: a receipt is a negative amount,
lineNumber 10000 * k in file order in a new journal, Code fields upper-case), never taken from
what the code returned. BC is read back through the sandbox's HTTP API (``BCHttp``) or its store
(``BCView``), not through the project's client.
"""

from __future__ import annotations

import copy
import json
import os
import random
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
import yaml
from click.testing import CliRunner
from generated_layout import GENERATED_HEADER, GENERATED_PROFILE

from pipeline.cli import main
from pipeline.sandbox import rules
from pipeline.sandbox.runtime import start_sandbox
from pipeline.sandbox.server import SandboxInfo, make_http_client, make_msal_app
from pipeline.sandbox.settings import SandboxSettings

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_data"
SHIPPED_PROFILES: dict[str, Any] = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))["profiles"]
STATES = ("posted", "already_posted", "skipped", "rejected", "needs_review")
SEEDED_JOURNALS = {"GENERAL"}  # the demo seed's cash-receipts batch (pipeline/sandbox/seed.py)


# Demo customers in the local currency and not blocked (seed.DEMO_DATA: C70000 is USD, C99000 blocked).
CUSTOMERS = {
    "C10000": "Müller Maschinenbau GmbH",
    "C10100": "Bäckerei Schäfer KG",
    "C10200": "Fernández Logística S.L.",
    "C10300": "Weber, Sohn & Partner",
    "C10400": "Jansen Handel B.V.",
    "C20000": "Northwind Traders",
    "C30000": "Graphic Design Institute",
    "C40000": "Fabrikam Inc",
    "C50000": "Adventure Works",
    "C60000": "Tailspin Toys",
    "C80000": "Litware Inc",
    "C90000": "Proseware Inc",
    "C95000": "Lucerne Publishing",
}

Line = tuple[str, Decimal, str, str]
"""What a journal line must hold: (customerNumber, amount, documentNumber, appliesToInvoiceNumber)."""


# --- generated statements ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Tx:
    """One generated bank credit."""

    txid: str
    day: date
    payer: str
    customer: str
    cents: int

    def line(self) -> Line:
        """The journal line BC must hold for it: a receipt is a negative amount; Code fields upper-case."""
        return (self.customer.upper(), -Decimal(self.cents).scaleb(-2), self.txid.upper(), "")


def make_transactions(count: int, seed: int = 7) -> list[Tx]:
    """``count`` credits with seeded amounts (0.01 .. 9,999.99), dates and customers."""
    rng = random.Random(seed)
    numbers = sorted(CUSTOMERS)
    out = []
    for i in range(1, count + 1):
        customer = rng.choice(numbers)
        out.append(
            Tx(
                txid=f"tx{seed:02d}-{i:06d}",  # lower case on purpose: BC stores Code fields upper-cased
                day=date(2026, 3, 1) + timedelta(days=i % 28),
                payer=CUSTOMERS[customer],
                customer=customer,
                cents=rng.randint(1, 999_999),
            )
        )
    return out


def write_statement(path: Path, txs: Sequence[Tx]) -> Path:
    """A CSV in ``GENERATED_PROFILE``'s layout: one header line, then one line per credit."""
    lines = [GENERATED_HEADER]
    for t in txs:
        payer = '"' + t.payer.replace('"', '""') + '"'
        lines.append(f"{t.day.isoformat()},{payer},{t.cents // 100}.{t.cents % 100:02d},{t.txid},{t.customer}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def plan_new_journal(lines: Sequence[Line], first: int = 0) -> dict[int, Line]:
    """lineNumber -> line for a journal that holds nothing above ``first``: 10000 apart, file order."""
    return {first + 10_000 * (k + 1): line for k, line in enumerate(lines)}


# --- sandbox and configuration --------------------------------------------------------------------


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxInfo]:
    """A fresh demo-seeded sandbox over TLS with token auth, its state in this test's folder."""
    with start_sandbox(SandboxSettings(tls=True, state_dir=tmp_path / "sandbox", seed="demo")) as info:
        yield info


def secrets_env(info: SandboxInfo) -> dict[str, str]:
    """The environment variables the default config names for the app's identity."""
    return {"PAYIMPORT_CLIENT_ID": info.client_id, "PAYIMPORT_CLIENT_SECRET": info.client_secret}


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def write_config(folder: Path, info: SandboxInfo, **sections: Any) -> Path:
    """config.yaml in ``folder`` for a tenant that is the sandbox; ``sections`` override the defaults.

    Retry delays are short (configuration, so nothing waits long); state and reports stay in
    ``folder`` (state_dir and runs_dir are relative to the config file).
    """
    folder.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {
        "version": 1,
        "target": {
            "kind": "bc",
            "tenant": info.tenant,
            "environment": info.environment,
            "company": info.company_id,
            "api_url": info.base_url,
            "authority_url": info.base_url,
            "ca_file": str(info.ca),
            "validate_authority": False,
        },
        # a tenant has no default balancing account; 2910 is the bank account of the sandbox's demo company
        "journal": {"balancing_account": "2910"},
        "posting": {"retry": {"max_attempts": 8, "base_delay_s": 0.01, "max_delay_s": 0.2, "max_total_s": 60}},
        "state_dir": "state",
        "runs_dir": "runs",
        "profiles": {**SHIPPED_PROFILES, "generated": GENERATED_PROFILE},
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(_merge(data, sections), allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


# --- running the command --------------------------------------------------------------------------


@dataclass
class Outcome:
    """One ``payimport run --json``: its exit code and the JSON object it printed (None if none)."""

    exit_code: int
    summary: dict[str, Any] | None
    output: str


def run_cli(config: Path, info: SandboxInfo, *args: str | Path) -> Outcome:
    """``payimport run --json --config CONFIG ARGS`` in this process (click's runner), secrets in the env."""
    runner = CliRunner()
    result = runner.invoke(
        main, ["run", "--json", "--config", str(config), *map(str, args)], env=secrets_env(info), catch_exceptions=False
    )
    stdout = result.stdout.strip()
    summary = json.loads(stdout.splitlines()[-1]) if stdout else None
    return Outcome(result.exit_code, summary, result.output)


def command(config: Path, *files: Path) -> list[str]:
    """The ``payimport run`` command line for a subprocess (the module is runnable: ``-m pipeline.cli``)."""
    return [sys.executable, "-m", "pipeline.cli", "run", "--json", "--config", str(config), *map(str, files)]


def process_env(info: SandboxInfo) -> dict[str, str]:
    return {**os.environ, **secrets_env(info)}


def run_process(config: Path, info: SandboxInfo, *files: Path, timeout: float = 180.0) -> Outcome:
    done = subprocess.run(
        command(config, *files),
        env=process_env(info),
        cwd=config.parent,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    stdout = done.stdout.strip()
    summary = json.loads(stdout.splitlines()[-1]) if stdout else None
    return Outcome(done.returncode, summary, stdout + done.stderr)


# --- reading BC back ------------------------------------------------------------------------------


class BCView:
    """BC's state read from the sandbox's store, through the same rules the API answers with."""

    def __init__(self, info: SandboxInfo) -> None:
        self.store = info.extra["store"]
        assert info.company_id is not None
        self.cid = info.company_id

    def journals(self) -> dict[str, dict[str, Any]]:
        return {str(j["code"]): j for j in rules.list_journals(self.store, self.cid)}

    def new_journals(self) -> dict[str, dict[str, Any]]:
        """Journals the runs created (every journal but the seeded one)."""
        return {code: j for code, j in self.journals().items() if code not in SEEDED_JOURNALS}

    def lines(self, journal_id: str) -> list[dict[str, Any]]:
        return rules.list_payments(self.store, self.cid, journal_id)

    def line_count(self) -> int:
        """Lines in every journal the runs created (for watching a run's progress from outside)."""
        return sum(len(self.lines(str(j["id"]))) for j in self.new_journals().values())

    def invoices(self) -> dict[str, dict[str, Any]]:
        return {str(i["number"]): i for i in rules.list_sales_invoices(self.store, self.cid)}


class BCHttp:
    """A reader of the sandbox's HTTP API with its own httpx client and msal token (not the project's)."""

    def __init__(self, info: SandboxInfo) -> None:
        self.info = info
        self.http = make_http_client(info)
        self._token: str | None = None

    def close(self) -> None:
        self.http.close()

    def _fresh_token(self) -> str:
        # a new app each time: after an expire-token fault msal's cache would hand back the revoked token
        result = make_msal_app(self.info, self.http).acquire_token_for_client(scopes=[self.info.scope])
        assert "access_token" in result, result.get("error")
        return str(result["access_token"])

    def request(self, method: str, path: str, body: Any = None) -> httpx.Response:
        url = path if path.startswith("https://") else f"{self.info.api}/companies({self.info.company_id})/{path}"
        for attempt in range(2):
            if self._token is None or attempt:
                self._token = self._fresh_token()
            response = self.http.request(
                method, url, json=body, headers={"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
            )
            if response.status_code != 401:
                return response
        return response

    def get_all(self, path: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        url: str | None = path
        while url:
            response = self.request("GET", url)
            assert response.status_code == 200, response.text
            page = json.loads(response.content, parse_float=Decimal)
            out += page["value"]
            url = page.get("@odata.nextLink")
        return out

    def journals(self) -> dict[str, dict[str, Any]]:
        return {str(j["code"]): j for j in self.get_all("customerPaymentJournals")}

    def lines(self, journal_id: str) -> list[dict[str, Any]]:
        return self.get_all(f"customerPaymentJournals({journal_id})/customerPayments")

    def invoices(self) -> dict[str, dict[str, Any]]:
        return {str(i["number"]): i for i in self.get_all("salesInvoices")}


@pytest.fixture
def bc_http(sandbox: SandboxInfo) -> Iterator[BCHttp]:
    reader = BCHttp(sandbox)
    try:
        yield reader
    finally:
        reader.close()


def journal_map(lines: Sequence[Mapping[str, Any]]) -> dict[int, Line]:
    """lineNumber -> (customerNumber, amount, documentNumber, appliesToInvoiceNumber) of BC lines."""
    out: dict[int, Line] = {}
    for line in lines:
        number = int(line["lineNumber"])
        assert number not in out, f"lineNumber {number} twice in one journal"
        out[number] = (
            str(line["customerNumber"]),
            Decimal(str(line["amount"])),
            str(line["documentNumber"]),
            str(line.get("appliesToInvoiceNumber", "")),
        )
    return out


def assert_exactly(bc_lines: Sequence[Mapping[str, Any]], expected: Mapping[int, Line]) -> None:
    """BC's journal holds exactly the planned lines: none missing, none extra, each field exact."""
    actual = journal_map(bc_lines)
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    wrong = sorted(n for n in set(expected) & set(actual) if expected[n] != actual[n])
    assert not (missing or extra or wrong), (
        f"missing lineNumbers {missing[:10]} ({len(missing)}), unplanned {extra[:10]} ({len(extra)}), "
        f"different {[(n, expected[n], actual[n]) for n in wrong[:5]]} ({len(wrong)})"
    )


def only_new_journal(view: BCView | BCHttp) -> dict[str, Any]:
    """The one journal the runs created (a second one would mean a run made two)."""
    journals = {code: j for code, j in view.journals().items() if code not in SEEDED_JOURNALS}
    assert len(journals) == 1, f"expected exactly one new journal, BC has {sorted(journals)}"
    return next(iter(journals.values()))


# --- the ledger and the reports ------------------------------------------------------------------


def ledger_states(config: Path) -> Counter[str]:
    """How many ledger rows are in each state (read with sqlite3, not with the project's code)."""
    path = config.parent / "state" / "ledger.sqlite"
    if not path.exists():
        return Counter()
    with sqlite3.connect(path) as db:
        return Counter({str(s): int(n) for s, n in db.execute("SELECT state, COUNT(*) FROM rows GROUP BY state")})


def check_report(summary: Mapping[str, Any]) -> dict[str, Any]:
    """report.json and report.xlsx exist; every input line is in exactly one state; counts agree.

    Returns the parsed report.json.
    """
    report = summary["report"]
    json_path, xlsx_path = Path(report["json"]), Path(report["xlsx"])
    assert json_path.is_file() and xlsx_path.is_file()
    data: dict[str, Any] = json.loads(json_path.read_text(encoding="utf-8"))
    lines = data["lines"]
    counts = Counter(line["state"] for line in lines)
    assert set(counts) <= set(STATES)
    assert summary["rows_read"] == sum(summary[s] for s in STATES)
    assert {s: summary[s] for s in STATES} == {s: counts.get(s, 0) for s in STATES}
    places = Counter((line["source_file"], line["source_row"]) for line in lines)
    assert len(places) == summary["rows_read"] and max(places.values(), default=1) == 1
    book = openpyxl.load_workbook(xlsx_path, read_only=True)
    try:
        assert book.sheetnames == ["Summary", "Payments", "Rejected", "Needs review", "Discrepancies"]
        payments = [r for r in book["Payments"].iter_rows(min_row=2, values_only=True) if any(c is not None for c in r)]
        assert len(payments) == summary["posted"] + summary["already_posted"]
    finally:
        book.close()
    return data


def report_lines(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list(json.loads(Path(summary["report"]["json"]).read_text(encoding="utf-8"))["lines"])


# --- watching a run from outside --------------------------------------------------------------------


def when(condition: Callable[[], bool], action: Callable[[], None], *, timeout_s: float = 60.0) -> threading.Thread:
    """Run ``action`` once ``condition`` holds (polled every 2 ms), on a daemon thread."""

    def watch() -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if condition():
                action()
                return
            time.sleep(0.002)

    thread = threading.Thread(target=watch, name="test-watcher", daemon=True)
    thread.start()
    return thread
