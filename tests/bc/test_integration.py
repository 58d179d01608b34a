"""BCClient against the real sandbox over loopback TLS: msal, httpx, limits and scripted faults.

Expected values come from the demo seed (pipeline/sandbox/seed.py: company "CRONUS sandbox",
15 customers C10000..C99000) and bc-api.md (lineNumber steps of 10000, $batch semantics), never
from what the client returned. One sandbox serves the module; each test writes into journals of
its own and faults are scripted per test (``times=1`` on a route) and cleared afterwards. The
retry policy sleeps on a fake clock, so nothing here waits for a backoff.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pipeline.bc import BatchOp, BCClient, BCTarget, ClientSecret, Timeouts
from pipeline.errors import BCAuthError, BCOutcomeUnknown, BCPermanentError
from pipeline.sandbox import seed
from pipeline.sandbox.runtime import start_sandbox
from pipeline.sandbox.server import SandboxInfo
from pipeline.sandbox.settings import Fault, Limits, SandboxSettings
from pipeline.session import target_for_sandbox

from .fakes import FakeTime, make_policy

COMPANY_NAME = "CRONUS sandbox"
CUSTOMERS = {
    "C10000", "C10100", "C10200", "C10300", "C10400", "C20000", "C30000", "C40000",
    "C50000", "C60000", "C70000", "C80000", "C90000", "C95000", "C99000",
}  # fmt: skip
BATCH_ROUTE = r"/\$batch$"
CUSTOMERS_ROUTE = r"/customers$"

_codes = itertools.count(1)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxInfo]:
    settings = SandboxSettings(tls=True, state_dir=tmp_path_factory.mktemp("bc-sandbox"))
    with start_sandbox(settings) as info:
        yield info


@pytest.fixture
def info(sandbox: SandboxInfo) -> Iterator[SandboxInfo]:
    sandbox.faults.clear()
    yield sandbox
    sandbox.faults.clear()


@pytest.fixture
def client(info: SandboxInfo, fake_time: FakeTime) -> Iterator[BCClient]:
    with BCClient(target_for_sandbox(info), retry=make_policy(fake_time)) as bc:
        yield bc


def _journal(client: BCClient) -> str:
    created = client.send("POST", "customerPaymentJournals", {"code": f"BC{next(_codes):04d}"})
    assert created is not None
    return str(created["id"])


def _payments_path(jid: str) -> str:
    return f"customerPaymentJournals({jid})/customerPayments"


def _ops(client: BCClient, jid: str, amounts: list[str], prefix: str = "P") -> list[BatchOp]:
    url = client.company_path(_payments_path(jid))
    return [
        BatchOp(
            f"r{n}",
            "POST",
            url,
            {"customerNumber": "C10000", "amount": Decimal(amount), "externalDocumentNumber": f"{prefix}{n}"},
        )
        for n, amount in enumerate(amounts, start=1)
    ]


def _lines(client: BCClient, jid: str) -> list[dict[str, Any]]:
    return list(client.get_all(_payments_path(jid)))


# -- company and paging ------------------------------------------------------------------------------


def test_company_resolves_by_id_name_or_any_case(info: SandboxInfo, fake_time: FakeTime) -> None:
    expected = seed.company_id()
    for company in (expected, expected.upper(), COMPANY_NAME, COMPANY_NAME.upper()):
        target = dataclasses.replace(target_for_sandbox(info), company=company)
        with BCClient(target, retry=make_policy(fake_time)) as client:
            assert client.company_id == expected
            assert client.url("customers") == f"{info.api}/companies({expected})/customers"


def test_unknown_company_names_the_ones_there(info: SandboxInfo, fake_time: FakeTime) -> None:
    target = dataclasses.replace(target_for_sandbox(info), company="CRONUS UK")
    with BCClient(target, retry=make_policy(fake_time)) as client, pytest.raises(BCPermanentError) as error:
        _ = client.company_id
    assert f"the companies there are: {COMPANY_NAME}" in str(error.value)


def test_paging_follows_next_links_of_a_small_server_page(fake_time: FakeTime) -> None:
    settings = SandboxSettings(tls=True, limits=Limits(max_page_size=4))
    with start_sandbox(settings) as small, BCClient(target_for_sandbox(small), retry=make_policy(fake_time)) as client:
        _ = client.company_id
        before = client.requests_made
        customers = list(client.get_all("customers", {"$select": "id,number"}, read_only=True))
        assert {c["number"] for c in customers} == CUSTOMERS
        assert len(customers) == 15
        assert client.requests_made - before == 4  # pages of 4, 4, 4, 3


def test_page_size_preference(client: BCClient) -> None:
    _ = client.company_id
    before = client.requests_made
    numbers = [c["number"] for c in client.get_all("customers", page_size=6)]
    assert set(numbers) == CUSTOMERS
    assert len(numbers) == 15
    assert client.requests_made - before == 3  # 6 + 6 + 3


def test_get_of_one_entity(client: BCClient) -> None:
    (customer,) = client.get_all("customers", {"$filter": "number eq 'C10000'"})
    again = client.get(f"customers({customer['id']})", read_only=True)
    assert (again["number"], again["displayName"]) == ("C10000", "Müller Maschinenbau GmbH")


# -- writes and $batch ---------------------------------------------------------------------------------


def test_batch_of_payments_into_a_journal_created_with_send(client: BCClient) -> None:
    jid = _journal(client)
    before = client.requests_made
    results = client.batch(_ops(client, jid, ["-1234.50", "-0.01", "-84.99"]))
    assert client.requests_made - before == 1
    assert [(r.id, r.status, r.verdict.kind) for r in results] == [
        ("r1", 201, "success"),
        ("r2", 201, "success"),
        ("r3", 201, "success"),
    ]
    lines = _lines(client, jid)
    assert [(p["lineNumber"], p["amount"], p["externalDocumentNumber"]) for p in lines] == [
        (10000, Decimal("-1234.50"), "P1"),
        (20000, Decimal("-0.01"), "P2"),
        (30000, Decimal("-84.99"), "P3"),
    ]
    assert all(isinstance(p["amount"], Decimal) for p in lines)
    assert [r.body["id"] for r in results] == [p["id"] for p in lines]


def test_batch_stops_at_the_first_failure_unless_told_to_continue(client: BCClient) -> None:
    jid = _journal(client)
    ops = _ops(client, jid, ["-1", "-2", "-3"])
    bad = dataclasses.replace(ops[1], body={"customerNumber": "C12345", "amount": Decimal("-2")})
    stopped = client.batch([ops[0], bad, ops[2]], continue_on_error=False)
    assert [r.status for r in stopped] == [201, 400, None]
    assert stopped[1].verdict.kind == "permanent"
    # an unknown number fails the field's table relation (bc-behaviours-wave2 G5)
    assert stopped[1].verdict.code == "Internal_InvalidTableRelation"
    assert stopped[1].verdict.message is not None
    assert stopped[1].verdict.message.startswith("The field Account No. of table Gen. Journal Line contains a value")
    assert (stopped[2].verdict.kind, stopped[2].verdict.maybe_executed) == ("transient", False)
    assert [p["externalDocumentNumber"] for p in _lines(client, jid)] == ["P1"]

    jid2 = _journal(client)
    ops2 = _ops(client, jid2, ["-1", "-2", "-3"])
    bad2 = dataclasses.replace(ops2[1], body={"customerNumber": "C12345", "amount": Decimal("-2")})
    went_on = client.batch([ops2[0], bad2, ops2[2]], continue_on_error=True)
    assert [r.status for r in went_on] == [201, 400, 201]
    assert [p["externalDocumentNumber"] for p in _lines(client, jid2)] == ["P1", "P3"]


def test_send_of_a_refused_write_is_permanent_with_bcs_message(client: BCClient) -> None:
    jid = _journal(client)
    with pytest.raises(BCPermanentError) as error:
        client.send("POST", _payments_path(jid), {"customerNumber": "C12345", "amount": Decimal("-1")})
    assert (error.value.status, error.value.code) == (400, "Internal_InvalidTableRelation")
    assert "cannot be found in the related table (Customer)" in str(error.value)


# -- throttling and transient failures -----------------------------------------------------------------


def test_429_with_retry_after_is_honoured_and_the_batch_runs_once(
    info: SandboxInfo, client: BCClient, fake_time: FakeTime
) -> None:
    jid = _journal(client)
    info.faults.add(Fault("429", route=BATCH_ROUTE, times=1, retry_after_s=2.0))
    results = client.batch(_ops(client, jid, ["-1", "-2"]))
    assert [r.status for r in results] == [201, 201]
    assert client.throttled == 1
    assert client.retries == 1
    assert len(fake_time.sleeps) == 1
    assert 2.0 <= fake_time.sleeps[0] <= 2.5  # Retry-After: 2, plus at most base_delay_s of jitter
    assert len(_lines(client, jid)) == 2


def test_429_without_retry_after_backs_off_on_its_own(info: SandboxInfo, client: BCClient, fake_time: FakeTime) -> None:
    _ = client.company_id
    info.faults.add(Fault("429-no-retry-after", route=CUSTOMERS_ROUTE, times=1))
    assert len(list(client.get_all("customers"))) == 15
    assert client.throttled == 1
    assert len(fake_time.sleeps) == 1
    assert 0.0 <= fake_time.sleeps[0] <= 0.5  # first backoff step: base_delay_s


def test_503_on_a_single_write_is_retried_and_creates_one_line(
    info: SandboxInfo, client: BCClient, fake_time: FakeTime
) -> None:
    jid = _journal(client)
    info.faults.add(Fault("503", route=r"/customerPayments$", times=1, retry_after_s=1.0))
    created = client.send("POST", _payments_path(jid), {"customerNumber": "C10000", "amount": Decimal("-5.00")})
    assert created is not None
    assert created["lineNumber"] == 10000
    assert 1.0 <= fake_time.sleeps[0] <= 1.5
    assert [p["id"] for p in _lines(client, jid)] == [created["id"]]


def test_502_is_retried_for_a_read(info: SandboxInfo, client: BCClient) -> None:
    _ = client.company_id
    info.faults.add(Fault("502", route=CUSTOMERS_ROUTE, times=1))
    assert len(list(client.get_all("customers"))) == 15
    assert client.retries == 1


def test_502_on_a_batch_is_an_unknown_outcome(info: SandboxInfo, client: BCClient) -> None:
    jid = _journal(client)
    info.faults.add(Fault("502", route=BATCH_ROUTE, times=1))
    before = client.requests_made
    with pytest.raises(BCOutcomeUnknown) as error:
        client.batch(_ops(client, jid, ["-1"]))
    assert error.value.status == 502
    assert client.requests_made - before == 1  # not resent
    # The sandbox refused it at the door, but a client cannot know that from a 502: reading back
    # is what tells (here: nothing was written).
    assert _lines(client, jid) == []


def test_504_after_commit_on_a_batch_is_an_unknown_outcome(info: SandboxInfo, client: BCClient) -> None:
    jid = _journal(client)
    info.faults.add(Fault("504-after-commit", route=BATCH_ROUTE, times=1))
    with pytest.raises(BCOutcomeUnknown) as error:
        client.batch(_ops(client, jid, ["-1", "-2"]))
    assert (error.value.status, error.value.method, error.value.path) == (504, "POST", "$batch")
    assert [p["externalDocumentNumber"] for p in _lines(client, jid)] == ["P1", "P2"]  # it did run


def test_drop_after_commit_on_a_batch_is_an_unknown_outcome(info: SandboxInfo, client: BCClient) -> None:
    jid = _journal(client)
    info.faults.add(Fault("drop-after-commit", route=BATCH_ROUTE, times=1))
    with pytest.raises(BCOutcomeUnknown) as error:
        client.batch(_ops(client, jid, ["-1", "-2"]))
    assert error.value.status is None
    assert error.value.code in {"RemoteProtocolError", "ReadError"}
    assert [p["externalDocumentNumber"] for p in _lines(client, jid)] == ["P1", "P2"]


def test_drop_after_commit_on_a_read_is_retried(info: SandboxInfo, client: BCClient) -> None:
    _ = client.company_id
    info.faults.add(Fault("drop-after-commit", route=CUSTOMERS_ROUTE, times=1))
    assert len(list(client.get_all("customers"))) == 15
    assert client.retries == 1


def test_slow_batch_past_the_read_timeout_is_an_unknown_outcome(info: SandboxInfo, fake_time: FakeTime) -> None:
    target = target_for_sandbox(info, timeouts=Timeouts(connect_s=5.0, read_s=0.5, write_s=5.0, pool_s=5.0))
    with BCClient(target, retry=make_policy(fake_time)) as client:
        jid = _journal(client)
        info.faults.add(Fault("slow", route=BATCH_ROUTE, times=1, delay_s=10.0))
        with pytest.raises(BCOutcomeUnknown) as error:
            client.batch(_ops(client, jid, ["-1", "-2"]))
        assert error.value.code == "ReadTimeout"
        assert [p["externalDocumentNumber"] for p in _lines(client, jid)] == ["P1", "P2"]


def test_slow_read_past_the_read_timeout_is_retried(info: SandboxInfo, fake_time: FakeTime) -> None:
    target = target_for_sandbox(info, timeouts=Timeouts(connect_s=5.0, read_s=0.5, write_s=5.0, pool_s=5.0))
    with BCClient(target, retry=make_policy(fake_time)) as client:
        _ = client.company_id
        info.faults.add(Fault("slow", route=CUSTOMERS_ROUTE, times=1, delay_s=10.0))
        assert len(list(client.get_all("customers"))) == 15
        assert client.retries == 1


# -- tokens and trust ----------------------------------------------------------------------------------


def test_expired_token_is_refreshed_once_and_the_write_succeeds(info: SandboxInfo, client: BCClient) -> None:
    jid = _journal(client)
    assert client.tokens.tokens_fetched == 1
    info.faults.add(Fault("expire-token", route=BATCH_ROUTE, times=1))
    results = client.batch(_ops(client, jid, ["-1", "-2"]))
    assert [r.status for r in results] == [201, 201]
    assert client.tokens.tokens_fetched == 2
    assert client.retries == 1
    assert len(_lines(client, jid)) == 2  # sent twice, executed once (the first was refused with 401)


def test_wrong_secret_is_an_auth_error_without_the_secret(
    info: SandboxInfo, fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "Wr0ng-Secret~value.xyz"
    target = dataclasses.replace(target_for_sandbox(info), credential=ClientSecret(wrong))
    with BCClient(target, retry=make_policy(fake_time)) as client, pytest.raises(BCAuthError) as error:
        _ = client.company_id
    text = str(error.value)
    assert error.value.code == "invalid_client"
    assert "AADSTS7000215: Invalid client secret provided." in text
    assert wrong not in text
    assert wrong not in caplog.text
    assert info.client_secret not in text
    assert client.requests_made == 0
    assert fake_time.sleeps == []


def test_secret_and_tokens_stay_out_of_logs_and_errors(
    info: SandboxInfo, client: BCClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    jid = _journal(client)
    info.faults.add(Fault("expire-token", route=CUSTOMERS_ROUTE, times=1))
    info.faults.add(Fault("504-after-commit", route=BATCH_ROUTE, times=1))
    list(client.get_all("customers"))
    with pytest.raises(BCOutcomeUnknown) as error:
        client.batch(_ops(client, jid, ["-1"]))
    token = client.tokens.token()
    everything = "\n".join([caplog.text, str(error.value), repr(error.value), repr(client), repr(client.target)])
    assert "payimport.bc" in caplog.text  # the client did log
    assert info.client_secret not in everything
    assert token not in everything


def test_an_untrusted_certificate_stops_at_once(info: SandboxInfo, fake_time: FakeTime) -> None:
    target = dataclasses.replace(target_for_sandbox(info), ca_file=None)
    with BCClient(target, retry=make_policy(fake_time)) as client, pytest.raises(BCPermanentError) as error:
        _ = client.company_id
    assert "is not trusted" in str(error.value)
    assert fake_time.sleeps == []
    assert client.requests_made == 0


def test_ca_file_is_needed_and_enough(info: SandboxInfo, tmp_path: Path, fake_time: FakeTime) -> None:
    assert info.ca is not None
    copy = tmp_path / "ca.pem"
    copy.write_bytes(info.ca.read_bytes())
    target = dataclasses.replace(target_for_sandbox(info), ca_file=copy)
    with BCClient(target, retry=make_policy(fake_time)) as client:
        assert client.company_id == seed.company_id()


# -- threads -------------------------------------------------------------------------------------------


def test_concurrent_batches_from_threads_share_one_client(client: BCClient) -> None:
    journals = [_journal(client) for _ in range(4)]
    tokens_before = client.tokens.tokens_fetched
    before = client.requests_made
    start = threading.Barrier(len(journals))
    outcome: dict[str, list[int | None]] = {}
    errors: list[BaseException] = []

    def post(jid: str) -> None:
        start.wait()
        try:
            for round_ in range(3):
                results = client.batch(_ops(client, jid, ["-1.10", "-2.20"], prefix=f"T{round_}-"))
                outcome.setdefault(jid, []).extend(r.status for r in results)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=post, args=(jid,)) for jid in journals]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert client.requests_made - before == 12
    assert client.tokens.tokens_fetched == tokens_before == 1
    for jid in journals:
        assert outcome[jid] == [201] * 6
        lines = _lines(client, jid)
        assert [p["lineNumber"] for p in lines] == [10000 * n for n in range(1, 7)]
        assert sum(p["amount"] for p in lines) == Decimal("-9.90")


def test_target_for_sandbox(info: SandboxInfo) -> None:
    target = target_for_sandbox(info)
    assert target == BCTarget(
        api_root=info.api,
        authority=info.authority,
        client_id=info.client_id,
        credential=ClientSecret(info.client_secret),
        company=seed.company_id(),
        scope="https://api.businesscentral.dynamics.com/.default",
        ca_file=info.ca,
        validate_authority=False,
        timeouts=Timeouts(),
        label="sandbox",
    )
    assert info.client_secret not in repr(target)
