"""The files of a run: which paths a person meant (folders, globs; temporary files ignored), and
every one of them read and validated before anything is sent, so an unusable file means nothing
is posted."""

from __future__ import annotations

import fnmatch
import glob
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipeline.config import Config
from pipeline.errors import InputError, PayimportError
from pipeline.ledger import sha256_file
from pipeline.logs import emit
from pipeline.validate import FileResult, validate_file

IGNORED_NAMES = ("~$*", ".~lock*", "*.part", "*.partial", "*.crdownload", "*.tmp", "*.swp", "*~")
"""Files a person's tools leave beside real ones (Excel lock files, downloads in progress)."""


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


@dataclass
class Inputs:
    """Every file of a run, validated: results per file, their sha256, and every valid payment."""

    paths: list[Path]
    results: list[FileResult]
    shas: list[str]
    rows: pd.DataFrame  # every valid payment of every file, in file then row order
    decimals: int
    history: list[str | None] = field(default_factory=list)  # per file: "imported before by ..." or None
    decided: int = 0  # rows a person decided, taken from the ledger into this run (not read from a file)

    @property
    def rows_read(self) -> int:
        return sum(r.rows_read for r in self.results) + self.decided

    @property
    def keys(self) -> list[str]:
        return self.rows["key"].astype("str").tolist() if not self.rows.empty else []


def _validate(path: Path, config: Config, profile: str | None) -> FileResult:
    """``validate_file``, with a failure the tool did not foresee (a reader's bug, a library's
    panic) turned into "this file cannot be used": it happens before BC is touched, so nothing was
    posted and the answer is exit 2, not "BC failed, run again"."""
    try:
        return validate_file(path, config, profile)
    except PayimportError:
        raise
    except Exception as exc:
        raise InputError(str(path), f"cannot be read: unexpected {type(exc).__name__}: {exc}") from exc


def read_inputs(paths: Sequence[Path], config: Config, profile: str | None) -> Inputs:
    """Validate every file before anything is sent: an unusable file means nothing is posted."""
    results, shas, frames = [], [], []
    decimals: set[int] = set()
    for path in paths:
        if not path.is_file():
            raise InputError(str(path), "no such file")
        began = time.monotonic()
        result = _validate(path, config, profile)
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
    return Inputs(list(paths), results, shas, rows, decimals.pop() if decimals else 2)
