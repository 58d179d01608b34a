"""Run folders older than ``runs_retention_days`` are removed after a run writes its own.

A nightly job writes one folder a night; without a limit ``runs_dir`` grows for ever. Only folders
that are recognisably run folders (they hold a ``report.json``) are touched, so a file a person
put into ``runs_dir`` by hand is never deleted. Age is the modification time of its ``report.json``: a run that
was resumed later counts from its last report. The ledger keeps every run's record regardless, so
removing a folder loses the reports, never exactly-once.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

SECONDS_PER_DAY = 86_400


def prune_run_folders(runs_dir: Path, keep_days: int | None, *, keep: Path, now_s: float | None = None) -> list[Path]:
    """Delete run folders in ``runs_dir`` not modified for ``keep_days`` days (never ``keep``, the
    current run's); return what was deleted. ``None`` keeps everything."""
    if keep_days is None or not runs_dir.is_dir():
        return []
    cutoff = (time.time() if now_s is None else now_s) - keep_days * SECONDS_PER_DAY
    removed: list[Path] = []
    for folder in sorted(runs_dir.iterdir()):
        if folder == keep or not folder.is_dir() or not (folder / "report.json").is_file():
            continue
        if (folder / "report.json").stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed
