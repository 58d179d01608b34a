"""Reading a tenant's posting setup through the real client, against the sandbox over loopback
HTTP: allowed posting dates (``generalLedgerSetup``) and customers' default dimensions, by
``$batch`` of ``customers({id})/defaultDimensions`` for up to 100 customers and by one paged read
of the top-level ``defaultDimensions`` above that. The expected dimensions are the ones seeded."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from pipeline.bc import BCClient
from pipeline.bc.tenant import AllowedDates, missing_dimensions, read_allowed_dates, read_default_dimensions
from pipeline.sandbox import rules, seed
from pipeline.sandbox.rules import setup
from pipeline.sandbox.runtime import start_sandbox
from pipeline.sandbox.server import SandboxInfo
from pipeline.sandbox.settings import SandboxSettings
from pipeline.session import target_for_sandbox

from .fakes import FakeTime, make_policy

CUSTOMERS = 130  # more than one $batch of look-ups


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxInfo]:
    with start_sandbox(SandboxSettings(tls=True, state_dir=tmp_path_factory.mktemp("tenant"))) as info:
        store, cid = info.extra["store"], str(info.company_id)
        for n in range(CUSTOMERS):
            seed.add_customer(store, cid, f"D{n:05d}", f"Customer {n}")
            if n % 10 == 0:  # every tenth requires PROJECT without a value; every 20th also gives AREA a value
                setup.add_default_dimension(store, cid, "Customer", f"D{n:05d}", "PROJECT", "", "Code Mandatory")
            if n % 20 == 0:
                setup.add_default_dimension(store, cid, "Customer", f"D{n:05d}", "AREA", "NORTH", "Code Mandatory")
        setup.add_default_dimension(store, cid, "G/L Account", "2910", "DEPT", "", "Code Mandatory")
        rules.set_gl_setup(store, cid, allow_from="2026-03-01")
        yield info


@pytest.fixture
def client(tenant: SandboxInfo, fake_time: FakeTime) -> Iterator[BCClient]:
    with BCClient(target_for_sandbox(tenant), retry=make_policy(fake_time)) as bc:
        yield bc


def _ids(tenant: SandboxInfo, count: int) -> dict[str, str]:
    customers = rules.list_customers(tenant.extra["store"], str(tenant.company_id))
    return {str(c["id"]): str(c["number"]) for c in customers if str(c["number"]) < f"D{count:05d}"}


@pytest.mark.parametrize("count", [40, CUSTOMERS])
def test_customers_lacking_a_mandatory_dimension_are_found(tenant: SandboxInfo, client: BCClient, count: int) -> None:
    ids = _ids(tenant, count)
    before = client.requests_made
    found = read_default_dimensions(client, ids)
    lacking = sorted(ids[i] for i, defaults in found.items() if missing_dimensions(defaults))
    assert lacking == [f"D{n:05d}" for n in range(0, count, 10)]
    assert set(found) == set(ids)
    assert client.requests_made - before <= 2  # one $batch, or one page of the top-level set


def test_allowed_posting_dates_are_read(client: BCClient) -> None:
    dates = read_allowed_dates(client)
    assert dates == AllowedDates(date(2026, 3, 1), None)
    assert not dates.allows(date(2026, 2, 28)) and dates.allows(date(2099, 1, 1))
