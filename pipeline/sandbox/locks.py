"""Per-journal write locks, as BC takes them: inserts into one journal batch serialise.

``GenJournalLine.OnInsert`` runs ``LockTable()`` on the journal line table, so two sessions
writing lines into the same batch wait for each other; Microsoft's web-service guidance says not
to insert children of one parent in parallel. Each write into a journal holds that journal's lock
for its whole operation (the emulated per-operation latency included), so parallel requests into
one journal gain nothing, while writes into different journals run side by side. A writer that
waits longer than the lock timeout fails with BC's lock-timeout text; a seeded write can be made a
deadlock victim. Both answers use HTTP 409 with ``Request_EntityChanged`` (docs/sandbox-fidelity.md
says why): the request was refused and rolled back.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from pipeline.sandbox.errors import SandboxApiError
from pipeline.sandbox.rules.texts import DEADLOCK, LOCK_TIMEOUT
from pipeline.sandbox.settings import Locking

LOCK_STATUS = 409
LOCK_CODE = "Request_EntityChanged"
LOCKED_TABLE = "Gen. Journal Line"


def lock_timeout_error() -> SandboxApiError:
    return SandboxApiError(LOCK_STATUS, LOCK_CODE, LOCK_TIMEOUT.format(table=LOCKED_TABLE))


def deadlock_error() -> SandboxApiError:
    return SandboxApiError(LOCK_STATUS, LOCK_CODE, DEADLOCK.format(table=LOCKED_TABLE))


class JournalLocks:
    """One lock per journal (by its id as sent), created on first use; counters for tests."""

    def __init__(self, locking: Locking) -> None:
        self.locking = locking
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._random = random.Random(locking.seed)
        self.writes = 0
        self.timeouts = 0
        self.deadlocks = 0
        self.waits = 0

    def _lock_for(self, journal: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(journal, threading.Lock())

    def _victim(self) -> bool:
        """Count this write and decide whether it is a seeded deadlock victim."""
        with self._guard:
            self.writes += 1
            number = self.writes
            drawn = self._random.random() if self.locking.deadlock_probability else 1.0
        return number in self.locking.deadlock_writes or drawn < self.locking.deadlock_probability

    @contextmanager
    def hold(self, journal: str | None) -> Iterator[None]:
        """Hold ``journal``'s lock for one write (no lock for ``None`` or when locking is off)."""
        if journal is None or not self.locking.per_journal:
            yield
            return
        lock = self._lock_for(journal)
        if not lock.acquire(blocking=False):
            with self._guard:
                self.waits += 1
            if not lock.acquire(timeout=self.locking.timeout_s):
                with self._guard:
                    self.timeouts += 1
                raise lock_timeout_error()
        try:
            if self._victim():
                with self._guard:
                    self.deadlocks += 1
                raise deadlock_error()
            yield
        finally:
            lock.release()
