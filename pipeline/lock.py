"""One payimport run at a time per state folder: an exclusive OS lock on a lock file.

Two runs posting from the same ledger could both see a row as ``planned`` and both send it, so the
run takes this lock before it reads the ledger. The lock is ``filelock``'s: ``flock`` on Linux and
macOS, ``LockFileEx`` on Windows. Both belong to the open file, so the operating system releases
them when the holder exits in any way, ``kill -9`` included: there is no stale lock to clean up.
A file system that offers neither (some network shares) is refused with a message rather than
"locked" by a file's mere existence, which a killed run would leave behind.

Who holds the lock is written to a note beside it (``payimport.lock.holder``), not into the lock
file: Windows forbids other processes to read a locked byte range, and the note is exactly what a
refused second run has to read. A dead holder's note stays until the next holder overwrites it; it
is only ever read while the lock is held by someone. The lock file itself is never deleted on
Linux or macOS, because unlinking a flock file lets two processes lock two different files.

Do not put secrets in ``command``: it is written to the note and shown in the error.
"""

from __future__ import annotations

import errno
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from pipeline.errors import LockError
from pipeline.localtime import now_local


def holder_note_path(lock_path: Path) -> Path:
    """Where the holder of ``lock_path`` writes who it is."""
    return lock_path.with_name(lock_path.name + ".holder")


def _holder_info(command: str) -> dict[str, object]:
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": command,
        "started": now_local().isoformat(timespec="seconds"),
    }


def describe_holder(text: str) -> str:
    """Holder note -> "pid 1234 on host h, `payimport run ...`, since 2026-11-21T05:00:00+01:00".

    The note may be empty or half-written (the holder is between truncating and writing it) or not
    ours at all; then say so rather than fail, because the lock is held either way."""
    try:
        info = json.loads(text)
    except ValueError:
        info = None
    if not isinstance(info, dict) or "pid" not in info:
        return "holder unknown (the lock file does not say who)"
    return (
        f"pid {info.get('pid')} on host {info.get('host', '?')}, `{info.get('command', '?')}`, "
        f"since {info.get('started', '?')}"
    )


def _read_note(path: Path) -> str:
    try:
        return path.read_bytes()[: 64 * 1024].decode("utf-8", errors="replace")
    except OSError:
        return ""


def _take(path: Path) -> FileLock:
    """The acquired lock, or ``LockError`` naming the holder at once (never wait: a scheduler should
    not pile up runs)."""
    lock = FileLock(path, timeout=0, thread_local=False, fallback_to_soft=False, preserve_lock_file=True)
    try:
        lock.acquire(blocking=False)
    except Timeout:
        holder = describe_holder(_read_note(holder_note_path(path)))
        raise LockError(f"another payimport run holds the lock {path}: {holder}", holder=holder) from None
    except OSError as exc:
        if exc.errno != errno.ENOSYS:
            raise
        message = f"cannot lock {path}: its file system offers no OS file lock; put state_dir on a local disk"
        raise LockError(message, holder="") from None
    return lock


@contextmanager
def hold_lock(path: Path, command: str) -> Iterator[None]:
    """Hold the exclusive lock on ``path`` for the duration of the block, or raise ``LockError``
    naming the current holder at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = _take(path)
    note = holder_note_path(path)
    try:
        note.write_text(json.dumps(_holder_info(command), ensure_ascii=False) + "\n", encoding="utf-8")
        yield
    finally:
        # Clear the note before unlocking, so the note never names a holder that has let go.
        try:
            note.write_text("", encoding="utf-8")
        finally:
            lock.release(force=True)
