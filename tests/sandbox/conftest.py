"""Fixtures shared by the sandbox's rule-level tests: a demo company in an in-memory store whose
clock stands still, so timestamps and ETags in expected values are fixed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipeline.sandbox import seed
from pipeline.sandbox.store import Store

FIXED = datetime(2026, 3, 20, 9, 30, tzinfo=UTC)


def fixed_clock() -> datetime:
    return FIXED


@pytest.fixture
def store() -> Store:
    return Store(":memory:", clock=fixed_clock)


@pytest.fixture
def cid(store: Store) -> str:
    return seed.seed_demo(store)
