"""What every step of one run shares: one value instead of the same seven parameters everywhere."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pipeline.bc import BCClient
from pipeline.config import Config
from pipeline.ledger import Ledger


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class RunOptions:
    """How a caller wants this run done (the command line's flags, or a library caller's choices).

    ``accept_new_ledger`` lets a ledger that knows no import into the company post although BC shows
    this tool's history there (``post.history``). ``runs_dir`` and ``errors_workbook`` default to
    the config's; ``progress`` is told
    ``(lines done, lines to send)`` while posting; setting ``stop`` asks for a clean stop (no new
    request starts, the ones in flight finish, the run resumes next time).
    """

    profile: str | None = None
    dry_run: bool = False
    accept_new_ledger: bool = False
    post_journal: bool = False
    runs_dir: Path | None = None
    errors_workbook: bool | None = None
    now: Callable[[], datetime] = _utc_now
    progress: Callable[[int, int], None] | None = None
    phase: Callable[[str], None] | None = None
    """Told each phase of the run as it starts ("reading 3 files", "fetching customers"...)."""
    stop: threading.Event | None = None


@dataclass(frozen=True)
class RunContext:
    """One run's fixed facts: where it posts, what it records in, what it was asked, and its money.

    ``scope`` is what the ledger remembers rows per (environment + company id); ``decimals`` the
    minor-unit digits of the run's currency (every file of a run shares them).
    """

    client: BCClient
    ledger: Ledger
    config: Config
    options: RunOptions
    scope: str
    run_id: str
    decimals: int
    files: tuple[str, ...] = field(default=())

    def now(self) -> datetime:
        return self.options.now()
