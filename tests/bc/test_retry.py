"""Backoff over the config's RetryPolicy: Retry-After honoured, full jitter, bounded by attempts and time."""

from __future__ import annotations

import random

import pytest

from pipeline.bc.retry import Backoff, RetryPolicy

from .fakes import FakeTime


def _policy(fake: FakeTime, **kw: float) -> Backoff:
    return Backoff(RetryPolicy(**kw), rng=random.Random(1), sleep=fake.sleep, clock=fake.clock)  # type: ignore[arg-type]


def test_backoff_stays_within_the_doubling_step_and_the_cap(fake_time: FakeTime) -> None:
    policy = _policy(fake_time, base_delay_s=0.5, max_delay_s=4.0)
    # step = min(4, 0.5 * 2**(attempt-1)): 0.5, 1, 2, 4, 4, 4
    steps = {1: 0.5, 2: 1.0, 3: 2.0, 4: 4.0, 5: 4.0, 9: 4.0}
    for attempt, step in steps.items():
        draws = [policy.delay(attempt, None) for _ in range(200)]
        assert all(0.0 <= d <= step for d in draws)
        assert max(draws) > step * 0.9  # full jitter: the whole range is used


def test_backoff_is_reproducible_with_a_seeded_rng(fake_time: FakeTime) -> None:
    a = [_policy(fake_time).delay(n, None) for n in range(1, 6)]
    b = [_policy(fake_time).delay(n, None) for n in range(1, 6)]
    assert a == b


def test_retry_after_is_a_floor_with_at_most_base_delay_of_jitter(fake_time: FakeTime) -> None:
    policy = _policy(fake_time, base_delay_s=0.5, max_delay_s=1.0)
    draws = [policy.delay(1, 30.0) for _ in range(100)]
    assert all(30.0 <= d <= 30.5 for d in draws)  # not capped by max_delay_s: the server said 30


def test_should_retry_is_bounded_by_attempts(fake_time: FakeTime) -> None:
    policy = _policy(fake_time, max_attempts=3)
    started = fake_time.clock()
    assert [policy.should_retry(n, started) for n in (1, 2, 3, 4)] == [True, True, False, False]


def test_should_retry_is_bounded_by_total_time(fake_time: FakeTime) -> None:
    policy = _policy(fake_time, max_total_s=10.0)
    started = fake_time.clock()
    fake_time.sleep(9.0)
    assert policy.should_retry(1, started)
    fake_time.sleep(1.0)
    assert not policy.should_retry(1, started)


def test_next_delay_gives_up_when_the_wait_would_end_past_the_budget(fake_time: FakeTime) -> None:
    policy = _policy(fake_time, max_total_s=60.0, base_delay_s=0.0)
    started = fake_time.clock()
    assert policy.next_delay(1, started, 59.0) == 59.0
    assert policy.next_delay(1, started, 61.0) is None
    assert policy.next_delay(8, started, None) is None  # max_attempts (8) reached


def test_invalid_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(base_delay_s=-1)
