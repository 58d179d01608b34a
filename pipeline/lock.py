"""One payimport run at a time per state folder: an exclusive ``flock`` on a lock file.

Two runs posting from the same ledger could both see a row as ``planned`` and both send it, so the
run takes this lock before it reads the ledger. ``flock`` belongs to the open file, so the operating
system releases it when the holder exits in any way, ``kill -9`` included: there is no stale lock to
clean up. The file's content is only a note for people (who holds it, since when); a dead holder's
note stays until the next holder overwrites it. The file is never deleted, because unlinking a
flock file lets two processes lock two different files of the same name.

Do not put secrets in ``command``: it is written to the file and shown in the error.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from pipeline.errors import LockError


def _holder_info(command: str) -> dict[str, object]:
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": command,
        "started": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }


def describe_holder(text: str) -> str:
    """Holder note -> "pid 1234 on host h, `payimport run ...`, since 2026-11-21T04:00:00Z".

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


def _read_note(fd: int) -> str:
    try:
        return os.pread(fd, 64 * 1024, 0).decode("utf-8", errors="replace")
    except OSError:
        return ""


@contextmanager
def hold_lock(path: Path, command: str) -> Iterator[None]:
    """Hold the exclusive lock on ``path`` for the duration of the block, or raise ``LockError``
    naming the current holder at once (never wait: a scheduler should not pile up runs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # os.open's descriptors are not inherited by child processes (PEP 446), so a child started by the
    # holder cannot keep the lock alive after the holder is gone.
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = describe_holder(_read_note(fd))
            raise LockError(f"another payimport run holds the lock {path}: {holder}", holder=holder) from None
        try:
            note = json.dumps(_holder_info(command), ensure_ascii=False).encode("utf-8")
            os.ftruncate(fd, 0)
            os.pwrite(fd, note + b"\n", 0)
            yield
        finally:
            # Clear the note before unlocking, so the file never names a holder that has let go.
            try:
                os.ftruncate(fd, 0)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
