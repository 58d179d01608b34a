"""``payimport doctor``: a tenant's blockers, found before a run instead of by a failed post.

Every check reads; nothing is written to BC. Each finding is one line a person can act on: what
was checked, ok / warning / problem, and what to do. A run can proceed (exit 0) unless a finding
is a problem (exit 2, the exit code of an unusable configuration). Checks that need BC stop after
the first one that cannot connect, since every later one would fail the same way.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pipeline.bc import BCClient
from pipeline.bc.tenant import (
    AllowedDates,
    balancing_account,
    is_mandatory,
    missing_dimensions,
    read_allowed_dates,
    read_default_dimensions,
)
from pipeline.config import Config
from pipeline.currency_setup import read_currency_setup
from pipeline.errors import BCAuthError, BCError, PayimportError
from pipeline.exitcodes import ExitCode
from pipeline.ledger import Ledger
from pipeline.session import LEDGER_FILE, connect, ledger_scope

Status = Literal["ok", "warning", "problem", "info"]

SLOW_CUSTOMERS = 50_000
"""Above this many customers a run's start (every customer is read once per run) takes minutes."""
SLOW_OPEN_INVOICES = 200_000
"""Above this many open invoices a run's start (every open invoice is read once per run) takes minutes."""
SHOWN = 5
"""How many examples a finding names before it says "...and N more"."""


@dataclass(frozen=True)
class Finding:
    """One line of the doctor's report."""

    check: str
    status: Status
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"{self.status.upper():8} {self.check}: {self.detail}"
        return f"{text} -> {self.fix}" if self.fix else text


@dataclass(frozen=True)
class Inputs:
    """What the files named on the command line contribute: their posting dates and customers."""

    days: Sequence[date] = ()
    customers: Sequence[str] = ()


@dataclass
class Doctor:
    """The findings so far, and whether BC can be asked further."""

    findings: list[Finding] = field(default_factory=list)
    reachable: bool = True

    def add(self, check: str, status: Status, detail: str, fix: str = "") -> None:
        self.findings.append(Finding(check, status, detail, fix))


def _examples(values: Iterable[str]) -> str:
    items = sorted(set(values))
    shown = ", ".join(items[:SHOWN])
    return shown + (f" ...and {len(items) - SHOWN} more" if len(items) > SHOWN else "")


def exit_code(findings: Sequence[Finding]) -> ExitCode:
    """0 when a run can proceed, 2 when a problem must be fixed first."""
    return ExitCode.UNUSABLE if any(f.status == "problem" for f in findings) else ExitCode.OK


def render(findings: Sequence[Finding]) -> str:
    """The report: one line per finding, then the verdict."""
    verdict = (
        "a run can proceed"
        if exit_code(findings) == ExitCode.OK
        else "fix the problems above before a run (nothing was sent to BC)"
    )
    return "\n".join([*(f.line() for f in findings), verdict])


# --- the checks ------------------------------------------------------------------------------------


def check_connection(doc: Doctor, client: BCClient) -> None:
    """The credentials get a token and the company resolves (the first request does both)."""
    try:
        company = client.company_id
    except BCAuthError as exc:
        doc.reachable = False
        doc.add(
            "credentials",
            "problem",
            f"BC refused the app's credentials ({exc.status or 'no status'} {exc.code or ''})".strip(),
            "check the client id and secret (or certificate) in the environment and that the app registration "
            "has the Dynamics 365 Business Central API permission and is set up in BC (Microsoft Entra Applications)",
        )
        return
    except BCError as exc:
        doc.reachable = False
        doc.add("company", "problem", f"the company cannot be reached: {exc}", "check target.company and the URLs")
        return
    doc.add("credentials", "ok", f"token accepted by {client.target.label}")
    doc.add("company", "ok", f"company resolves (id {company})")


def check_template(doc: Doctor, client: BCClient) -> None:
    """customerPaymentJournals can be listed: BC found a cash-receipts journal template (page 255)."""
    try:
        client.get("customerPaymentJournals", {"$top": "1", "$select": "code"}, read_only=True)
    except BCError as exc:
        doc.add(
            "journal template",
            "problem",
            f"customer payment journals cannot be read: {exc.code or exc.status} {exc}",
            "create a non-recurring Cash Receipts journal template in BC, and give the app read/write "
            "permission on journals",
        )
        return
    doc.add("journal template", "ok", "a cash-receipts template serves customer payment journals")


def check_existing_journal(doc: Doctor, client: BCClient, config: Config) -> None:
    """``journal.existing`` names a journal BC has (its own posted history may hide a line 10000)."""
    code = config.journal.existing
    if not code:
        return
    found = list(client.get_all("customerPaymentJournals", {"$filter": f"code eq '{code.upper()}'"}, read_only=True))
    if not found:
        doc.add(
            "journal", "problem", f"journal.existing: BC has no journal {code.upper()}", "create it or fix the code"
        )
        return
    doc.add(
        "journal",
        "info",
        f"journal {code.upper()} exists; its No. Series cannot be read through the API: new lines start "
        "after lineNumber 10000, which BC keeps hidden after each post of a batch without No. Series",
    )


def check_balancing_account(doc: Doctor, client: BCClient, config: Config) -> dict[str, Any] | None:
    """journal.balancing_account is a G/L posting account, not blocked, that allows direct posting."""
    number = config.journal.balancing_account
    if not number:
        doc.add(
            "balancing account",
            "warning",
            "no journal.balancing_account: each payment line must be balanced by other lines before posting",
            "set journal.balancing_account to the bank or cash G/L account the payments arrive on",
        )
        return None
    account = balancing_account(client, number)
    if account is None:
        doc.add(
            "balancing account",
            "problem",
            f"G/L account {number} does not exist",
            "fix journal.balancing_account",
        )
        return None
    faults = []
    if str(account.get("accountType", "Posting")) != "Posting":
        faults.append(f"its type is {account.get('accountType')}, not Posting")
    if account.get("blocked"):
        faults.append("it is blocked")
    if account.get("directPosting") is False:
        faults.append("Direct Posting is off")
    if faults:
        doc.add(
            "balancing account",
            "problem",
            f"G/L account {number}: {'; '.join(faults)}",
            "choose another account, or change it in BC",
        )
        return None
    doc.add("balancing account", "ok", f"G/L account {number} ({account.get('displayName', '')}) takes postings")
    return account


def check_dates(doc: Doctor, client: BCClient, inputs: Inputs, today: date) -> None:
    """General Ledger Setup's allowed posting dates against today and the files' dates."""
    dates: AllowedDates = read_allowed_dates(client)
    doc.add("allowed posting dates", "info", f"BC allows posting dates: {dates.describe()}")
    if not dates.allows(today):
        doc.add(
            "allowed posting dates",
            "warning",
            f"today ({today.isoformat()}) is outside them",
            "have the allowed posting dates in General Ledger Setup (or your User Setup) moved on",
        )
    outside = [day for day in inputs.days if not dates.allows(day)]
    if outside:
        doc.add(
            "allowed posting dates",
            "problem",
            f"{len(outside)} payment(s) in the files are dated outside them ({min(outside)} to {max(outside)}); "
            "a run sends them to review instead of BC",
            "have the allowed posting dates changed in BC, or expect those payments in the review list",
        )
    elif inputs.days:
        doc.add("allowed posting dates", "ok", f"all {len(inputs.days)} payment date(s) in the files are allowed")


def check_dimensions(
    doc: Doctor, account: Mapping[str, Any] | None, client: BCClient, customers: Sequence[Mapping[str, Any]]
) -> None:
    """ "Code Mandatory" default dimensions without a value on customers: their payments go to
    review. A G/L account's (the balancing account's) cannot be read through API v2.0."""
    if account is not None:
        doc.add(
            "dimensions",
            "info",
            f"the default dimensions of G/L account {account.get('number')} cannot be read through the API: if one "
            "is Code Mandatory without a value, BC refuses every post and --post-journal reports BC's message",
        )
    ids = {str(c["id"]).lower(): str(c.get("number", "")) for c in customers if c.get("id")}
    by_id = read_default_dimensions(client, ids)
    lacking = [ids[i] for i, defaults in by_id.items() if missing_dimensions(defaults)]
    mandatory = sum(1 for defaults in by_id.values() if any(is_mandatory(d) for d in defaults))
    if lacking:
        doc.add(
            "dimensions",
            "warning",
            f"{len(lacking)} customer(s) require a dimension value this tool cannot send "
            f"({_examples(lacking)}); their payments go to review",
            "give those customers' default dimensions a value in BC",
        )
    else:
        doc.add("dimensions", "ok", f"{len(ids)} customer(s) checked; {mandatory} have mandatory dimensions, all met")


def check_sizes(doc: Doctor, client: BCClient) -> None:
    """Customer and open-invoice counts: every run reads all of them once."""
    counts = {}
    for name, path, params in (
        ("customers", "customers", {}),
        ("open invoices", "salesInvoices", {"$filter": "status eq 'Open'"}),
    ):
        body = client.get(path, {**params, "$count": "true", "$top": "1", "$select": "id"}, read_only=True)
        counts[name] = int(body.get("@odata.count", len(body.get("value", []))))
    slow = counts["customers"] > SLOW_CUSTOMERS or counts["open invoices"] > SLOW_OPEN_INVOICES
    detail = f"{counts['customers']} customers, {counts['open invoices']} open invoices"
    if slow:
        doc.add(
            "size",
            "warning",
            detail + " (each run reads them all once: expect minutes before the first line is sent)",
            "run imports in fewer, larger files rather than many small ones",
        )
    else:
        doc.add("size", "ok", detail)


def check_currencies(doc: Doctor, client: BCClient, config: Config) -> None:
    """Every currency the profiles expect is BC's local currency or one of its currencies."""
    info = client.get("companyInformation", {"$select": "currencyCode"}, read_only=True).get("value", [])
    lcy = config.target.local_currency or (str(info[0].get("currencyCode", "")) if info else "")
    known = {str(c.get("code", "")).upper() for c in client.get_all("currencies", {"$select": "code"}, read_only=True)}
    wanted = {p.currency.expected.upper() for p in config.profiles.values() if p.currency.expected}
    unknown = sorted(wanted - known - {lcy.upper()})
    if unknown:
        doc.add(
            "currencies",
            "problem",
            f"the profiles expect {', '.join(unknown)}, which BC does not have (local currency {lcy or 'blank'})",
            "add the currency in BC, or set target.local_currency if BC's local currency code is blank",
        )
    else:
        doc.add("currencies", "ok", f"{', '.join(sorted(wanted)) or 'no currency'} known to BC (local {lcy or '?'})")


def check_exchange_rates(doc: Doctor, client: BCClient, config: Config, inputs: Inputs, today: date) -> None:
    """Each foreign currency the profiles expect needs an exchange rate valid at a payment's posting
    date (``currencyExchangeRates``, page 30085): today's, and the files' earliest date's. Payments
    without one go to review (``no_exchange_rate``), so a gap is a warning, not a blocker."""
    wanted = {p.currency.expected.upper() for p in config.profiles.values() if p.currency.expected}
    setups = read_currency_setup(client, wanted)  # the local currency has no Currency record: left out
    if not setups:
        return
    days = [("today", today)] + ([("the files' first date", min(inputs.days))] if inputs.days else [])
    gaps = [
        f"{code} on {label} ({day.isoformat()})"
        for code, setup in sorted(setups.items())
        for label, day in days
        if not setup.has_rate(day)
    ]
    if gaps:
        doc.add(
            "exchange rates",
            "warning",
            f"BC has no exchange rate for {', '.join(gaps)}; payments in a foreign currency need one at their "
            "posting date and go to review without it",
            "add the missing exchange rates in BC (Currencies > Exch. Rates)",
        )
    else:
        doc.add("exchange rates", "ok", f"{', '.join(sorted(setups))}: a rate is valid at every date checked")


def check_application_method(doc: Doctor) -> None:
    """A customer's "Application Method" cannot be read through API v2.0: say what it changes."""
    doc.add(
        "application method",
        "info",
        'customers with Application Method "Apply to Oldest" cannot be found through the API; BC applies a '
        "payment posted without an invoice to such a customer's oldest open entries, so the report's unapplied "
        "payments may close invoices in BC",
    )


def check_job_queue(doc: Doctor) -> None:
    """ "Post with Job Queue" cannot be read through API v2.0: say what it changes."""
    doc.add(
        "job queue",
        "info",
        "whether General Ledger Setup posts with the job queue cannot be read through the API; if it does, "
        "--post-journal reports the posting as not confirmed until the job has run, and the next run confirms it",
    )


def check_state(doc: Doctor, config: Config, scope: str | None) -> None:
    """The state folder is writable and its ledger opens and belongs to this target."""
    folder = config.state_dir
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-"):
            pass
    except OSError as exc:
        doc.add("state folder", "problem", f"{folder} is not writable: {exc.strerror}", "fix state_dir or its rights")
        return
    try:
        with Ledger.open(folder / LEDGER_FILE) as ledger:
            targets = ledger.targets()
    except (OSError, PayimportError) as exc:
        doc.add("ledger", "problem", f"{folder / LEDGER_FILE} cannot be opened: {exc}", "restore it from a backup")
        return
    if scope is not None and targets and scope not in targets:
        doc.add(
            "ledger",
            "warning",
            f"the ledger in {folder} records imports into another target only ({_examples(targets)})",
            "use a state_dir of its own for each BC company, or check target in config.yaml",
        )
        return
    doc.add(
        "ledger", "ok", f"{folder / LEDGER_FILE} is writable" + (" and knows this target" if scope in targets else "")
    )


# --- the whole examination -------------------------------------------------------------------------


def _bc_checks(doc: Doctor, client: BCClient, config: Config, inputs: Inputs, today: date) -> str | None:
    """The checks that ask BC, in order; returns the ledger scope of the target (None if unreachable)."""
    check_connection(doc, client)
    if not doc.reachable:
        return None
    check_template(doc, client)
    check_existing_journal(doc, client, config)
    account = check_balancing_account(doc, client, config)
    check_dates(doc, client, inputs, today)
    customers = list(client.get_all("customers", {"$select": "id,number"}, read_only=True))
    if inputs.customers:
        wanted = set(inputs.customers)
        customers = [c for c in customers if str(c.get("number", "")) in wanted]
    check_dimensions(doc, account, client, customers)
    check_sizes(doc, client)
    check_currencies(doc, client, config)
    check_exchange_rates(doc, client, config, inputs, today)
    check_application_method(doc)
    check_job_queue(doc)
    return ledger_scope(client)


def examine(config: Config, environ: Mapping[str, str], inputs: Inputs, today: date) -> list[Finding]:
    """Run every check against the configured target; BC errors become findings, never a crash."""
    doc = Doctor()
    scope = None
    try:
        with connect(config, environ) as client:
            scope = _bc_checks(doc, client, config, inputs, today)
    except BCAuthError as exc:
        doc.add("permissions", "problem", f"BC refused a read: {exc}", "grant the app read permission on it in BC")
    except BCError as exc:
        doc.add("connection", "problem", f"BC failed: {exc}", "check the target URLs and BC's status, then try again")
    except PayimportError as exc:
        doc.add("configuration", "problem", str(exc), "fix config.yaml or the environment")
    check_state(doc, config, scope)
    return doc.findings


def inputs_from_rows(days: Iterable[object], customers: Iterable[object]) -> Inputs:
    """The files' posting dates and customer numbers, from the rows the readers produced."""
    parsed = [_as_date(d) for d in days]
    return Inputs(
        days=sorted(d for d in parsed if d is not None),
        customers=sorted({str(c) for c in customers if str(c or "").strip() and str(c) != "nan"}),
    )


def _as_date(value: object) -> date | None:
    text = str(value or "")[:10]
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def files_inputs(paths: Sequence[Path], config: Config, profile: str | None) -> Inputs:
    """Read the files as a run would (profiles, checks) for their dates and customers."""
    from pipeline.inputs import read_inputs

    rows = read_inputs(paths, config, profile).rows
    if rows.empty:
        return Inputs()
    customers: Iterable[object] = rows.get("customerNumber", [])
    return inputs_from_rows(rows["postingDate"], customers)
