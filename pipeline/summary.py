"""The typed result of one import run, and its JSON form (``--json``, ``report.json``, the ledger).

The JSON object's keys and their order are a contract: schedulers parse ``--json``, the report's
Summary sheet lists the keys in this order, and the ledger keeps the object with the run. Adding a
key is fine; renaming or removing one breaks someone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from pipeline.exitcodes import ExitCode


@dataclass(frozen=True)
class FileSummary:
    """One input file of the run."""

    file: str
    sha256: str
    profile: str
    rows_read: int
    balance: str = ""
    balance_detail: str = ""
    imported_before: str | None = None
    """"imported before by run X on <date> (as NAME)" when this content was imported before."""


@dataclass(frozen=True)
class JournalSummary:
    """The run's journal in BC (code and id are None when no journal was needed)."""

    code: str | None
    id: str | None
    posted: bool


@dataclass
class RunSummary:
    """What one run did, line for line: the five state counts add up to ``rows_read``.

    ``amount_posted`` is exact text (receipts are positive here, as finance reads them); ``totals``
    is ``Accounting.as_dict()``; ``report`` names the files written (``dir``, ``xlsx``, ``json``,
    ``errors``) once they exist.
    """

    run_id: str
    dry_run: bool
    target: str
    company_id: str
    started: str
    finished: str
    files: list[FileSummary]
    rows_read: int
    posted: int
    already_posted: int
    skipped: int
    rejected: int
    needs_review: int
    amount_posted: str
    currency: str
    totals: dict[str, Any]
    journal: JournalSummary
    discrepancies: int
    bc_requests: int
    error: str | None
    exit_code: ExitCode = ExitCode.OK
    interrupted: bool = False
    report: dict[str, Any] = field(default_factory=dict)
    waiting: int = 0
    """Of ``needs_review``: rows already waiting for a person before this run (reported, not new)."""
    decisions: int = 0
    """Rows a person decided that this run carried out or checked (from the ledger)."""
    unsent: int = 0
    """Of ``needs_review``: rows a failure or a stop kept from BC; the next run sends them."""

    @property
    def needs_person(self) -> bool:
        """Rejected rows, rows newly sent to review, or a journal that differs from the plan: what
        happened in *this* run. Rows still waiting from earlier runs do not count (see
        ``defaults.exit_one_while_waiting``)."""
        return bool(self.rejected or self.needs_review > self.waiting + self.unsent or self.discrepancies)

    def to_json(self) -> dict[str, Any]:
        """The JSON object of ``--json`` and ``report.json`` (plain types, keys in contract order)."""
        out = asdict(self)
        out["exit_code"] = int(self.exit_code)
        return out


@dataclass
class RunResult:
    """A run's summary, its lines (one per input line), its discrepancies with BC, the exit code it
    answers with, and the paths of the reports it wrote."""

    summary: RunSummary
    lines: pd.DataFrame
    discrepancies: pd.DataFrame
    exit_code: ExitCode
    reports: dict[str, Any] = field(default_factory=dict)
