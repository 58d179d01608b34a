"""How long to wait before trying again: the behaviour behind the config's ``RetryPolicy``.

BC asks clients to back off on 429/503 and to honour ``Retry-After`` (bc-api.md 3.8). Without
that header the wait is exponential backoff with *full jitter* (a uniform draw between 0 and the
capped exponential step), so several worker threads throttled at the same moment do not all come
back at the same moment. With the header, the server's number is a floor (coming back earlier only
earns another 429) plus a small jitter of at most ``base_delay_s`` for the same reason.

The numbers are the config's ``RetryPolicy`` (one type for config.yaml and the client); the
``Backoff`` owns the random generator, sleep and clock, so tests run it with fakes and never wait.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pipeline.config import RetryPolicy

__all__ = ["Backoff", "RetryPolicy"]


@dataclass
class Backoff:
    """Retry decisions for one client. ``attempt`` counts failed attempts so far (1 after the first
    failure)."""

    policy: RetryPolicy = field(default_factory=RetryPolicy)
    rng: random.Random = field(default_factory=random.Random)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def delay(self, attempt: int, retry_after_s: float | None) -> float:
        """Seconds to wait before attempt ``attempt + 1``."""
        p = self.policy
        if retry_after_s is not None:
            return max(0.0, retry_after_s) + self.rng.uniform(0.0, p.base_delay_s)
        step = min(p.max_delay_s, p.base_delay_s * 2.0 ** max(0, attempt - 1))
        return self.rng.uniform(0.0, step)

    def should_retry(self, attempt: int, started_at: float) -> bool:
        """True while fewer than ``max_attempts`` attempts failed and the time since
        ``started_at`` (a ``clock()`` value) is still within ``max_total_s``."""
        return attempt < self.policy.max_attempts and self.clock() - started_at < self.policy.max_total_s

    def next_delay(self, attempt: int, started_at: float, retry_after_s: float | None) -> float | None:
        """The wait before the next attempt, or None to give up: when :meth:`should_retry` says
        no, or when waiting would end past ``max_total_s`` (a ``Retry-After`` longer than the time
        left is not worth sleeping through only to fail)."""
        if not self.should_retry(attempt, started_at):
            return None
        wait = self.delay(attempt, retry_after_s)
        if self.clock() + wait - started_at > self.policy.max_total_s:
            return None
        return wait
