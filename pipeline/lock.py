"""One payimport run at a time per state folder: an exclusive OS lock on a lock file.

Two runs posting from the same ledger could both see a row as ``planned`` and both send it, so the
run takes this lock before it reads the ledger. The lock is ``filelock``'s: ``flock`` on Linux and
macOS, ``LockFileEx`` on byte 0 on Windows. Both belong to the open file, so the operating system
releases them when the holder exits in any way, ``kill -9`` included: there is no stale lock to
clean up. A file system that offers no such lock (some network shares) is refused with a message
rather than "locked" by a file's mere existence, which a killed run would leave behind.

Who holds the lock is written into the same file from byte 1 on, a note for people (who, since
when): Windows forbids other processes to read the locked byte 0, not the rest, and the note is
exactly what a refused second run has to read. A dead holder's note stays until the next holder
overwrites it. The file is never deleted, because unlinking a flock file lets two processes lock
two different files of the same name.

Do not put secrets in ``command``: it is written to the file and shown in the error.
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

NOTE_OFFSET = 1
"""The note starts after byte 0, the byte Windows locks."""


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


def read_note(path: Path) -> str:
    """The holder's note in the lock file (empty when there is none or it cannot be read)."""
    try:
        with path.open("rb") as fh:
            fh.seek(NOTE_OFFSET)
            return fh.read(64 * 1024).decode("utf-8", errors="replace")
    except OSError:
        return ""


def _write_note(path: Path, note: str) -> None:
    """Replace the note (never byte 0: on Windows it is locked even against this process's other handles)."""
    with path.open("r+b") as fh:
        fh.seek(NOTE_OFFSET)
        fh.write(note.encode("utf-8"))
        fh.truncate()


def _take(path: Path) -> FileLock:
    """The acquired lock, or ``LockError`` naming the holder at once (never wait: a scheduler should
    not pile up runs)."""
    lock = FileLock(path, timeout=0, thread_local=False, fallback_to_soft=False, preserve_lock_file=True)
    try:
        lock.acquire(blocking=False)
    except Timeout:
        holder = describe_holder(read_note(path))
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
    try:
        _write_note(path, json.dumps(_holder_info(command), ensure_ascii=False) + "\n")
        yield
    finally:
        # Clear the note before unlocking, so the file never names a holder that has let go.
        try:
            _write_note(path, "")
        finally:
            lock.release(force=True)
