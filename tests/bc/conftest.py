"""Fixtures for the unit tests of ``pipeline.bc`` (the fakes themselves are in fakes.py)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from pipeline.bc import BCClient

from .fakes import FakeCloud, FakeTime, make_policy, make_target


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def cloud() -> FakeCloud:
    return FakeCloud()


@pytest.fixture
def client(cloud: FakeCloud, fake_time: FakeTime) -> Iterator[BCClient]:
    with (
        httpx.Client(transport=httpx.MockTransport(cloud)) as http,
        BCClient(make_target(), http=http, retry=make_policy(fake_time)) as bc,
    ):
        yield bc
