"""Folder mode: finance staff drop files into ``inbox/``; each is imported once and filed away.

    DIR/inbox/       people drop files here (hidden and temporary files are ignored)
    DIR/processing/  a file being imported; one left here by a crash is resumed first on restart
    DIR/done/        imported (maybe with rejected rows): the file, its report and errors workbook
    DIR/failed/      could not be imported at all: the file and a plain-language reason beside it

Why each rule exists:
- A file is taken only once its size and mtime have not changed for ``watch.stable_seconds``
  and no process has it open for writing (and no Office/LibreOffice lock file sits beside it):
  a file copied over a slow share must not be read half-written.
- The move to ``processing/`` is a rename within DIR (atomic), so a file is in exactly one
  folder at any moment, and a crash leaves it where the next start finds it.
- Names in ``done/`` and ``failed/`` start with the time of filing and never overwrite:
  the same statement dropped twice is two records of what happened.
- The import itself is ``runner.run_import``: the ledger makes it exactly once, so a file
  dropped again (under any name) is filed in ``done/`` with a report saying nothing was posted.
- One watcher per DIR (``DIR/.payimport-watch.lock``); the import also takes the state lock, so
  a nightly ``payimport run`` and a watcher never post at the same time (the later one waits
  for the next cycle, or exits 4 if it is the ``run``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import stat
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from pipeline.bc import BCClient
from pipeline.config import Config
from pipeline.errors import BCError, LockError
from pipeline.exitcodes import ExitCode, exit_code_for
from pipeline.inputs import is_ignored
from pipeline.lock import hold_lock
from pipeline.logs import emit
from pipeline.runner import RunOptions, run_import
from pipeline.session import connect, hold_state
from pipeline.summary import RunSummary

WATCH_LOCK = ".payimport-watch.lock"


@dataclass(frozen=True)
class Folders:
    root: Path
    inbox: Path
    processing: Path
    done: Path
    failed: Path

    @classmethod
    def of(cls, root: Path, config: Config) -> Folders:
        f = config.watch.folders
        return cls(root, root / f.inbox, root / f.processing, root / f.done, root / f.failed)

    def ensure(self) -> None:
        for folder in (self.inbox, self.processing, self.done, self.failed):
            folder.mkdir(parents=True, exist_ok=True)


# --- is the file finished? ----------------------------------------------------------------------------


def office_lock_present(path: Path) -> bool:
    """Excel writes ``~$name.xlsx`` and LibreOffice ``.~lock.name#`` while a workbook is open."""
    return (path.parent / f"~${path.name}").exists() or (path.parent / f".~lock.{path.name}#").exists()


def open_for_writing(path: Path) -> bool:
    """Does any process hold ``path`` open for writing? (Linux ``/proc``; False where unavailable.)"""
    proc = Path("/proc")
    if not proc.is_dir():
        return False
    try:
        target = path.resolve()
        wanted = os.stat(target)
    except OSError:
        return False
    for pid_dir in proc.iterdir():
        if not pid_dir.name.isdigit() or pid_dir.name == str(os.getpid()):
            continue
        fd_dir = pid_dir / "fd"
        try:
            fds = list(fd_dir.iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                st = os.stat(fd)
                if (st.st_dev, st.st_ino) != (wanted.st_dev, wanted.st_ino):
                    continue
                flags = (pid_dir / "fdinfo" / fd.name).read_text().split("flags:")[1].split()[0]
            except (OSError, IndexError):
                continue
            if int(flags, 8) & (os.O_WRONLY | os.O_RDWR):
                return True
    return False


@dataclass
class Stability:
    """Remembers each inbox file's (size, mtime) and since when it has stayed the same."""

    stable_s: float
    clock: Callable[[], float] = time.monotonic
    _seen: dict[Path, tuple[tuple[int, int], float]] = field(default_factory=dict)

    def observe(self, paths: list[Path]) -> list[Path]:
        """The files that have been unchanged for ``stable_s`` and are not being written."""
        now = self.clock()
        ready = []
        current: dict[Path, tuple[tuple[int, int], float]] = {}
        for path in paths:
            try:
                st = path.stat()
            except OSError:
                continue
            sig = (st.st_size, st.st_mtime_ns)
            previous = self._seen.get(path)
            since = previous[1] if previous and previous[0] == sig else now
            current[path] = (sig, since)
            if now - since >= self.stable_s and not office_lock_present(path) and not open_for_writing(path):
                ready.append(path)
        self._seen = current
        return ready

    def still_ready(self, path: Path) -> bool:
        """Check again just before taking a file that ``observe`` found ready: importing the files
        before it may have taken minutes, during which a person may have saved it again."""
        seen = self._seen.get(path)
        try:
            st = path.stat()
        except OSError:
            return False
        if seen is None or seen[0] != (st.st_size, st.st_mtime_ns):
            return False
        return not office_lock_present(path) and not open_for_writing(path)


def inbox_files(inbox: Path) -> list[Path]:
    """Regular, non-hidden, non-temporary files directly in the inbox, oldest first.

    People rename and delete files there at any moment: one gone since the listing is skipped."""
    found: list[tuple[int, str, Path]] = []
    try:
        entries = [p for p in inbox.iterdir() if not is_ignored(p)]
    except OSError:
        return []
    for path in entries:
        try:
            st = path.stat()
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode):
            found.append((st.st_mtime_ns, path.name, path))
    return [path for _, _, path in sorted(found)]


# --- filing -------------------------------------------------------------------------------------------


def filed_name(name: str, when: datetime) -> str:
    return f"{when.strftime('%Y-%m-%dT%H%M%SZ')}_{name}"


def free_path(folder: Path, name: str) -> Path:
    """``folder/name``, or ``name-2``, ``name-3``... : filing never overwrites anything."""
    candidate = folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    n = 2
    while candidate.exists():
        candidate = folder / f"{stem}-{n}{suffix}"
        n += 1
    return candidate


def take(path: Path, processing: Path) -> Path:
    """Atomically move a ready inbox file to ``processing/`` (rename within one file system)."""
    destination = free_path(processing, path.name)
    os.rename(path, destination)
    return destination


@dataclass
class Filed:
    """Where a file ended and what the import said."""

    source: str
    folder: str  # done | failed | processing (left for the next attempt)
    path: Path | None
    exit_code: ExitCode
    report_json: Path | None = None
    reason: str | None = None
    summary: dict[str, Any] | None = None  # the run summary's JSON form


class Watcher:
    """Imports the files of one inbox folder, one at a time (see the module docstring)."""

    def __init__(
        self,
        root: Path,
        config: Config,
        *,
        environ: Mapping[str, str],
        stop: threading.Event | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.folders = Folders.of(root, config)
        self.config = config
        self.environ = environ
        self.stop = stop or threading.Event()
        self.clock = clock
        self.filed: list[Filed] = []

    def run(self, *, once: bool, interval_s: float | None = None) -> ExitCode:
        """Watch until stopped (or, with ``once``, until what was there is done); returns the worst
        exit code of the files handled."""
        interval = interval_s if interval_s is not None else self.config.watch.interval_seconds
        self.folders.ensure()
        with hold_lock(self.folders.root / WATCH_LOCK, f"payimport watch {self.folders.root}"):
            emit("watch_started", folder=str(self.folders.root), once=once)
            with connect(self.config, self.environ) as client:
                worst = self._watch(client, once=once, interval=interval)
                for path in inbox_files(self.folders.inbox):
                    why = "open in Excel or LibreOffice" if office_lock_present(path) else "still changing"
                    emit("file_waiting", file=path.name, folder="inbox", reason=why)
            emit("watch_stopped", folder=str(self.folders.root))
            return worst

    def _watch(self, client: BCClient, *, once: bool, interval: float) -> ExitCode:
        """The loop: files left in processing/ first, then the inbox's stable files, until stopped
        (or, with ``once``, until the inbox is empty or keeps changing for too long)."""
        worst = ExitCode.OK
        stability = Stability(self.config.watch.stable_seconds)
        waiting_since = time.monotonic()
        resume = True
        retry_at: dict[str, tuple[float, float]] = {}  # file left again -> (next try, wait after it)
        while not self.stop.is_set():
            if resume:
                worst = max(worst, self._resume_left(client, retry_at, interval))
            resume = not once
            worst = max(worst, self._take_ready(client, stability))
            if once and not inbox_files(self.folders.inbox):
                break
            if once and time.monotonic() - waiting_since > 10 * max(1.0, self.config.watch.stable_seconds):
                break  # something keeps changing; cron will come back
            self.stop.wait(min(interval, max(0.2, self.config.watch.stable_seconds / 2)) if once else interval)
        return worst

    def _resume_left(self, client: BCClient, retry_at: dict[str, tuple[float, float]], interval: float) -> ExitCode:
        """Files left in processing/ come first: by a crash (at start), and, when watching, those
        this watcher had to leave (BC down, the state locked by a nightly run), tried again after a
        wait that doubles each time, so a long outage is not hammered."""
        worst = ExitCode.OK
        for leftover in self._left_in_processing():
            if self.stop.is_set():
                break
            due, wait = retry_at.get(leftover.name, (0.0, interval))
            if time.monotonic() < due:
                continue
            emit("resume_file", file=leftover.name)
            filed = self.process(client, leftover)
            worst = max(worst, filed.exit_code)
            if filed.folder == "processing":
                retry_at[leftover.name] = (time.monotonic() + wait, min(2 * wait, 64 * interval))
        return worst

    def _take_ready(self, client: BCClient, stability: Stability) -> ExitCode:
        """Import every inbox file that has stopped changing, one at a time."""
        worst = ExitCode.OK
        for path in stability.observe(inbox_files(self.folders.inbox)):
            if self.stop.is_set():
                break
            if not stability.still_ready(path):
                continue  # changed while an earlier file was imported: waits its turn again
            try:
                taken = take(path, self.folders.processing)
            except OSError:
                continue  # gone or renamed meanwhile: looked at again next time
            worst = max(worst, self.process(client, taken).exit_code)
        return worst

    def _left_in_processing(self) -> list[Path]:
        """Files a crash or a failure left in processing/ (not a Mac's ``.DS_Store`` or Excel's lock file)."""
        return sorted(p for p in self.folders.processing.iterdir() if p.is_file() and not is_ignored(p))

    def process(self, client: BCClient, path: Path) -> Filed:
        """Import one file from ``processing/`` and file it; BC trouble leaves it for next time."""
        started = time.monotonic()
        options = RunOptions(stop=self.stop)
        try:
            with hold_state(self.config, f"payimport watch {self.folders.root}") as ledger:
                result = run_import([path], self.config, client, ledger, options)
        except Exception as exc:  # one bad file must not stop the watcher
            code = exit_code_for(exc)
            if code == ExitCode.UNUSABLE:
                return self._fail(path, str(exc))
            # the file stays for the next attempt: the ledger knows what was sent
            return self._leave(path, code, _left_reason(exc))
        summary = result.summary
        if summary.interrupted or result.exit_code == ExitCode.BC_FAILED:
            return self._leave(path, ExitCode.BC_FAILED, summary.error or "stopped before every line was sent")
        filed = self._file(path, self.folders.done, result.reports, summary, result.exit_code)
        emit(
            "file_done",
            file=filed.source,
            run_id=summary.run_id,
            folder="done",
            exit_code=int(result.exit_code),
            rows_read=summary.rows_read,
            posted=summary.posted,
            already_posted=summary.already_posted,
            skipped=summary.skipped,
            rejected=summary.rejected,
            needs_review=summary.needs_review,
            duration_s=round(time.monotonic() - started, 3),
        )
        return filed

    def _file(self, path: Path, folder: Path, reports: Mapping[str, Any], summary: RunSummary, code: ExitCode) -> Filed:
        name = filed_name(path.name, self.clock())
        destination = free_path(folder, name)
        os.rename(path, destination)
        stem = destination.name
        report_json = None
        for kind, suffix in (("xlsx", ".report.xlsx"), ("json", ".report.json")):
            source = reports.get(kind)
            if source:
                copy = free_path(folder, stem + suffix)
                shutil.copy2(source, copy)
                if kind == "json":
                    report_json = copy
        for errors in reports.get("errors", []):
            shutil.copy2(errors, free_path(folder, stem + ".errors.xlsx"))
        filed = Filed(path.name, folder.name, destination, code, report_json, summary=summary.to_json())
        self.filed.append(filed)
        self._hook(filed)
        return filed

    def _fail(self, path: Path, reason: str) -> Filed:
        reason = reason.replace(str(path), path.name)  # it leaves processing/: name it as the person knows it
        destination = free_path(self.folders.failed, filed_name(path.name, self.clock()))
        os.rename(path, destination)
        note = free_path(self.folders.failed, destination.name + ".reason.txt")
        note.write_text(
            f"{path.name} could not be imported, and nothing from it was posted.\n\n"
            f"Reason: {reason}\n\n"
            "Fix the file (or the configuration) and drop it into the inbox folder again.\n",
            encoding="utf-8",
        )
        emit("file_failed", file=path.name, folder="failed", reason=reason)
        filed = Filed(path.name, "failed", destination, ExitCode.UNUSABLE, reason=reason)
        self.filed.append(filed)
        self._hook(filed, note)
        return filed

    def _leave(self, path: Path, code: ExitCode, reason: str) -> Filed:
        emit("file_left", file=path.name, folder="processing", exit_code=int(code), reason=reason)
        filed = Filed(path.name, "processing", path, code, reason=reason)
        self.filed.append(filed)
        return filed

    def _hook(self, filed: Filed, note: Path | None = None) -> None:
        """Run ``watch.hook`` with the report's JSON path (or the reason file) as last argument."""
        hook = self.config.watch.hook
        argument = filed.report_json or note
        if not hook or argument is None:
            return
        # the hook is someone else's program: it gets the file and folder, never the BC credentials
        t = self.config.target
        secret_names = {t.client_secret_env, t.certificate_env, t.certificate_thumbprint_env}
        env = {k: v for k, v in os.environ.items() if k not in secret_names}
        env.update(PAYIMPORT_FOLDER=filed.folder, PAYIMPORT_FILE=filed.source)
        try:
            done = subprocess.run(
                [*hook, str(argument)],
                env=env,
                timeout=self.config.watch.hook_timeout_seconds,
                capture_output=True,
                check=False,
            )
            emit("hook_done", file=filed.source, exit_code=done.returncode)
        except (OSError, subprocess.TimeoutExpired) as exc:
            emit("hook_failed", file=filed.source, error=type(exc).__name__)


def _left_reason(exc: BaseException) -> str:
    """Why a file stays in processing/ for the next attempt, in words for the event log."""
    if isinstance(exc, LockError):
        return f"the import state is locked by another run: {exc.holder}"
    if isinstance(exc, BCError):
        return f"Business Central did not answer: {exc}"
    return f"unexpected {type(exc).__name__}: {exc}"


@contextlib.contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM/SIGINT ask for a clean stop: no new request is started, in-flight ones finish,
    the file stays in ``processing/`` and is resumed on the next start."""

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
