"""BCClient against an Entra + BC stand-in on httpx.MockTransport (real msal, real token provider).

Each test scripts what "BC" answers and checks what the client sent, what it returned or raised,
and its counters. A fake clock and sleep (fakes.FakeTime) replace waiting.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme

from pipeline.bc import BatchOp, BCClient, BCTarget, Timeouts, build_http_client, build_ssl_context
from pipeline.errors import BCAuthError, BCOutcomeUnknown, BCPermanentError, BCTransientError

from .fakes import (
    API_ROOT,
    COMPANY_ID,
    OTHER_COMPANY_ID,
    SECRET,
    FakeCloud,
    FakeTime,
    bc_error,
    body_of,
    make_policy,
    make_target,
)

CO = f"{API_ROOT}/companies({COMPANY_ID})"
PAYMENTS = "customerPaymentJournals(j1)/customerPayments"


def _script(*answers: httpx.Response | Exception) -> Callable[[httpx.Request], httpx.Response]:
    """An API handler giving ``answers`` in turn (an exception is raised, as a transport would)."""
    queue = iter(answers)

    def handle(request: httpx.Request) -> httpx.Response:
        answer = next(queue)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return handle


def _api(cloud: FakeCloud) -> list[httpx.Request]:
    """The API requests other than the company lookup."""
    return [r for r in cloud.api_requests if not r.url.path.endswith("/companies")]


# -- company and URLs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("company", "expected"),
    [
        ("CRONUS DE", COMPANY_ID),  # name
        ("CRONUS Deutschland GmbH", COMPANY_ID),  # displayName
        ("cronus de", COMPANY_ID),  # case differs, still unique
        (COMPANY_ID.upper(), COMPANY_ID),  # id, any case
        (f"{{{OTHER_COMPANY_ID}}}", OTHER_COMPANY_ID),  # id in braces
        ("My Company", OTHER_COMPANY_ID),
    ],
)
def test_company_is_resolved_once_by_id_name_or_display_name(
    cloud: FakeCloud, fake_time: FakeTime, company: str, expected: str
) -> None:
    with httpx.Client(transport=httpx.MockTransport(cloud)) as http:
        client = BCClient(make_target(company), http=http, retry=make_policy(fake_time))
        assert client.company_id == expected
        assert client.company_id == expected
    assert [r.url.path for r in cloud.api_requests] == ["/v2.0/contoso/Production/api/v2.0/companies"]
    assert client.requests_made == 1


def test_unknown_company_lists_the_names(cloud: FakeCloud, fake_time: FakeTime) -> None:
    with httpx.Client(transport=httpx.MockTransport(cloud)) as http:
        client = BCClient(make_target("CRONUS UK"), http=http, retry=make_policy(fake_time))
        with pytest.raises(BCPermanentError) as info:
            _ = client.company_id
    assert "'CRONUS UK' not found" in str(info.value)
    assert "CRONUS DE, My Company" in str(info.value)


def test_ambiguous_company_is_refused(fake_time: FakeTime) -> None:
    cloud = FakeCloud(companies=[{"id": "a", "name": "X", "displayName": "Y"}, {"id": "b", "name": "Y"}])
    with httpx.Client(transport=httpx.MockTransport(cloud)) as http:
        client = BCClient(make_target("Y"), http=http, retry=make_policy(fake_time))
        with pytest.raises(BCPermanentError, match="several companies"):
            _ = client.company_id


def test_urls(client: BCClient) -> None:
    assert client.url("customers") == f"{CO}/customers"
    assert client.url("") == CO
    assert client.company_path(PAYMENTS) == f"companies({COMPANY_ID})/{PAYMENTS}"
    assert client.url(f"{API_ROOT}/companies") == f"{API_ROOT}/companies"
    with pytest.raises(BCPermanentError, match="refusing to send the BC token"):
        client.url("https://evil.test/v2.0/x")


# -- reads ---------------------------------------------------------------------------------------------


def test_get_all_follows_next_links_with_the_same_headers(cloud: FakeCloud, client: BCClient) -> None:
    pages = {
        None: {"value": [{"n": 1}, {"n": 2}], "@odata.nextLink": f"{CO}/customers?$skiptoken=2"},
        "2": {"value": [{"n": 3}, {"n": 4}], "@odata.nextLink": f"{CO}/customers?$skiptoken=4"},
        "4": {"value": [{"n": 5}]},
    }
    cloud.api = lambda request: httpx.Response(200, json=pages[request.url.params.get("$skiptoken")])
    items = list(client.get_all("customers", {"$select": "n"}, read_only=True, page_size=2))
    assert items == [{"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}, {"n": 5}]
    sent = _api(cloud)
    assert [dict(r.url.params) for r in sent] == [{"$select": "n"}, {"$skiptoken": "2"}, {"$skiptoken": "4"}]
    for request in sent:
        assert request.headers["Prefer"] == "odata.maxpagesize=2"
        assert request.headers["Data-Access-Intent"] == "ReadOnly"
        assert request.headers["Accept"] == "application/json"
        assert request.headers["Authorization"] == "Bearer tok-1"
    assert client.requests_made == 4  # companies + 3 pages
    assert client.tokens.tokens_fetched == 1


def test_get_all_without_options_sends_neither_header(cloud: FakeCloud, client: BCClient) -> None:
    cloud.api = lambda request: httpx.Response(200, json={"value": []})
    assert list(client.get_all("customers")) == []
    (request,) = _api(cloud)
    assert "Prefer" not in request.headers
    assert "Data-Access-Intent" not in request.headers


def test_next_link_to_another_host_is_refused(cloud: FakeCloud, client: BCClient) -> None:
    cloud.api = lambda request: httpx.Response(200, json={"value": [], "@odata.nextLink": "https://evil.test/x"})
    with pytest.raises(BCPermanentError, match=r"evil\.test"):
        list(client.get_all("customers"))


def test_amounts_come_back_as_exact_decimals(cloud: FakeCloud, client: BCClient) -> None:
    cloud.api = lambda request: httpx.Response(
        200, content=b'{"amount": -1234.50, "lineNumber": 10000}', headers={"Content-Type": "application/json"}
    )
    assert client.get("customerPayments(x)") == {"amount": Decimal("-1234.50"), "lineNumber": 10000}


@pytest.mark.parametrize(
    "failure",
    [
        bc_error(503, "Internal_ServiceUnavailable", "busy", {"Retry-After": "3"}),
        bc_error(502, "Internal_BadGateway", "bad gateway"),
        bc_error(504, "Internal_GatewayTimeout", "gateway timeout"),
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ConnectError("refused"),
    ],
)
def test_reads_are_retried_on_every_transient_failure(
    cloud: FakeCloud, client: BCClient, fake_time: FakeTime, failure: httpx.Response | Exception
) -> None:
    cloud.api = _script(failure, httpx.Response(200, json={"value": [{"n": 1}]}))
    assert list(client.get_all("customers")) == [{"n": 1}]
    assert len(_api(cloud)) == 2
    assert client.retries == 1
    assert len(fake_time.sleeps) == 1
    if isinstance(failure, httpx.Response) and failure.status_code == 503:
        assert 3.0 <= fake_time.sleeps[0] <= 3.5  # Retry-After: 3, plus at most base_delay_s of jitter


def test_429_counts_as_throttled_and_backs_off_without_retry_after(
    cloud: FakeCloud, client: BCClient, fake_time: FakeTime
) -> None:
    throttled = bc_error(429, "Application_TooManyRequests", "Too many requests")
    cloud.api = _script(throttled, throttled, httpx.Response(200, json={"ok": True}))
    assert client.get("x") == {"ok": True}
    assert client.throttled == 2
    assert client.retries == 2
    assert 0.0 <= fake_time.sleeps[0] <= 0.5  # first step: base_delay_s
    assert 0.0 <= fake_time.sleeps[1] <= 1.0  # second step: doubled


def test_reads_give_up_after_max_attempts(cloud: FakeCloud, fake_time: FakeTime) -> None:
    cloud.api = lambda request: bc_error(503, "Internal_ServiceUnavailable", "busy")
    with (
        httpx.Client(transport=httpx.MockTransport(cloud)) as http,
        BCClient(make_target(), http=http, retry=make_policy(fake_time, max_attempts=4)) as client,
        pytest.raises(BCTransientError) as info,
    ):
        client.get("x")
    assert type(info.value) is BCTransientError
    assert info.value.status == 503
    assert "gave up after 4 attempt(s)" in str(info.value)
    assert len(_api(cloud)) == 4
    assert len(fake_time.sleeps) == 3


def test_reads_give_up_when_the_time_budget_is_spent(cloud: FakeCloud, fake_time: FakeTime) -> None:
    cloud.api = lambda request: bc_error(503, "Internal_ServiceUnavailable", "busy", {"Retry-After": "40"})
    policy = make_policy(fake_time, max_attempts=100, max_total_s=100.0, base_delay_s=0.0)
    with (
        httpx.Client(transport=httpx.MockTransport(cloud)) as http,
        BCClient(make_target(), http=http, retry=policy) as client,
        pytest.raises(BCTransientError),
    ):
        client.get("x")
    assert fake_time.sleeps == [40.0, 40.0]  # a third wait would end at 120 s > 100 s
    assert len(_api(cloud)) == 3


def test_permanent_error_carries_bcs_code_and_message(cloud: FakeCloud, client: BCClient) -> None:
    cloud.api = lambda request: bc_error(404, "BadRequest_NotFound", "No HTTP resource was found")
    with pytest.raises(BCPermanentError) as info:
        client.get("nothing")
    error = info.value
    assert (error.status, error.code, error.method, error.path) == (
        404,
        "BadRequest_NotFound",
        "GET",
        f"companies({COMPANY_ID})/nothing",
    )
    assert "No HTTP resource was found" in str(error)
    assert len(_api(cloud)) == 1


# -- writes --------------------------------------------------------------------------------------------


def test_send_writes_exact_json_and_returns_the_answer(cloud: FakeCloud, client: BCClient) -> None:
    cloud.api = lambda request: httpx.Response(201, json={"id": "p1"})
    created = client.send("post", PAYMENTS, {"amount": Decimal("-1234.50"), "lineNumber": 10000})
    assert created == {"id": "p1"}
    (request,) = _api(cloud)
    assert request.method == "POST"
    assert request.content == b'{"amount":-1234.50,"lineNumber":10000}'
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Accept"] == "application/json"


def test_send_returns_none_for_204_and_passes_headers(cloud: FakeCloud, client: BCClient) -> None:
    cloud.api = lambda request: httpx.Response(204)
    assert client.send("DELETE", "customerPayments(x)", headers={"If-Match": "*"}) is None
    (request,) = _api(cloud)
    assert request.headers["If-Match"] == "*"
    assert request.content == b""


@pytest.mark.parametrize(
    "refusal",
    [
        bc_error(429, "Application_TooManyRequests", "slow down"),
        bc_error(503, "Internal_ServiceUnavailable", "queue timeout"),
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("timed out"),
        httpx.PoolTimeout("pool"),
    ],
)
def test_writes_are_retried_when_bc_certainly_did_not_run_them(
    cloud: FakeCloud, client: BCClient, refusal: httpx.Response | Exception
) -> None:
    cloud.api = _script(refusal, httpx.Response(201, json={"id": "p1"}))
    assert client.send("POST", PAYMENTS, {"amount": Decimal("-1")}) == {"id": "p1"}
    assert len(_api(cloud)) == 2
    assert client.retries == 1


@pytest.mark.parametrize(
    "lost",
    [
        bc_error(502, "Internal_BadGateway", "bad gateway"),
        bc_error(504, "Internal_GatewayTimeout", "gateway timeout"),
        bc_error(408, "RequestTimeout", "operation timed out"),
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("connection reset by peer"),
    ],
)
def test_writes_that_may_have_run_raise_outcome_unknown_without_resending(
    cloud: FakeCloud, client: BCClient, lost: httpx.Response | Exception
) -> None:
    cloud.api = _script(lost)
    with pytest.raises(BCOutcomeUnknown) as info:
        client.send("POST", PAYMENTS, {"amount": Decimal("-1")})
    assert "read back before resending" in str(info.value)
    assert (info.value.method, info.value.path) == ("POST", f"companies({COMPANY_ID})/{PAYMENTS}")
    assert len(_api(cloud)) == 1
    assert client.retries == 0


def test_write_refused_by_bc_is_permanent(cloud: FakeCloud, client: BCClient) -> None:
    cloud.api = lambda request: bc_error(400, "Application_DialogException", 'The "customerNumber" does not match.')
    with pytest.raises(BCPermanentError) as info:
        client.send("POST", PAYMENTS, {"customerNumber": "C1"})
    assert (info.value.status, info.value.code) == (400, "Application_DialogException")
    assert 'The "customerNumber" does not match.' in str(info.value)


# -- tokens --------------------------------------------------------------------------------------------


def test_a_401_fetches_a_new_token_and_sends_once_more(cloud: FakeCloud, client: BCClient) -> None:
    cloud.api = lambda request: httpx.Response(201, json={"id": "p1"})
    assert client.company_id == COMPANY_ID
    cloud.revoke_all()  # tok-1 is no longer accepted, although msal still holds it
    assert client.send("POST", PAYMENTS, {"amount": Decimal("-1")}) == {"id": "p1"}
    sent = _api(cloud)
    assert [r.headers["Authorization"] for r in sent] == ["Bearer tok-1", "Bearer tok-2"]
    assert client.tokens.tokens_fetched == 2
    assert client.retries == 1


def test_a_401_with_every_fresh_token_is_an_auth_error_once_the_retry_budget_is_spent(
    cloud: FakeCloud, client: BCClient, fake_time: FakeTime
) -> None:
    # BC accepted tok-1 (the company lookup), then refuses every token: an app whose permission in
    # BC was taken away. tok-1's 401 may be a revocation (free); tok-2 on were never accepted.
    cloud.api = lambda request: bc_error(401, "Authentication_InvalidCredentials", "rejected")
    with pytest.raises(BCAuthError) as info:
        client.get("x")
    assert info.value.status == 401
    assert info.value.code == "Authentication_InvalidCredentials"
    assert "gave up after 8 attempt(s), sending a fresh token after each refusal" in str(info.value)
    # tok-1, then max_attempts (8) fresh tokens; the first resends at once, the others back off
    assert [r.headers["Authorization"] for r in _api(cloud)] == [f"Bearer tok-{n}" for n in range(1, 10)]
    assert client.tokens.tokens_fetched == 9
    assert len(fake_time.sleeps) == 6


def test_a_token_bc_accepted_before_is_refreshed_without_spending_the_budget(
    cloud: FakeCloud, fake_time: FakeTime
) -> None:
    with (
        httpx.Client(transport=httpx.MockTransport(cloud)) as http,
        BCClient(make_target(), http=http, retry=make_policy(fake_time, max_attempts=1)) as client,
    ):
        cloud.api = lambda request: httpx.Response(200, json={})
        client.get("x")
        cloud.revoke_all()
        client.get("x")  # a budget of one attempt: the revoked token's 401 did not spend it
    assert [r.headers["Authorization"] for r in _api(cloud)] == ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]
    assert fake_time.sleeps == []


def test_401s_share_the_retry_budget_with_other_transient_failures(cloud: FakeCloud, fake_time: FakeTime) -> None:
    cloud.api = _sequence(
        bc_error(503, "Internal_ServiceUnavailable", "busy"),
        bc_error(503, "Internal_ServiceUnavailable", "busy"),
        bc_error(401, "Authentication_InvalidCredentials", "rejected"),  # tok-1, accepted before: free
        bc_error(401, "Authentication_InvalidCredentials", "rejected"),  # tok-2, never accepted: the 3rd failure
        httpx.Response(200, json={}),
    )
    with (
        httpx.Client(transport=httpx.MockTransport(cloud)) as http,
        BCClient(make_target(), http=http, retry=make_policy(fake_time, max_attempts=3)) as client,
        pytest.raises(BCAuthError, match="gave up after 3 attempt"),
    ):
        client.get("x")
    assert len(_api(cloud)) == 4


def test_a_revocation_storm_with_a_recovering_token_endpoint_succeeds_within_the_budget(
    cloud: FakeCloud, client: BCClient, fake_time: FakeTime
) -> None:
    # BC revokes every token on each of the first three requests (the sandbox's expire-token
    # fault), and Entra is unavailable for the first two token requests after the first refusal.
    refusals = iter(range(3))

    def revoke_then_refuse(request: httpx.Request) -> httpx.Response:
        if next(refusals, None) is not None:
            cloud.revoke_all()
            return bc_error(401, "Authentication_InvalidCredentials", "revoked")
        return httpx.Response(201, json={"id": "p1"})

    assert client.company_id == COMPANY_ID
    cloud.api = revoke_then_refuse
    cloud.token_errors_first = [{"error": "temporarily_unavailable", "error_description": "busy"}] * 2
    assert client.send("POST", PAYMENTS, {"amount": Decimal("-1")}) == {"id": "p1"}
    assert [r.headers["Authorization"] for r in _api(cloud)] == [
        "Bearer tok-1",
        "Bearer tok-2",
        "Bearer tok-3",
        "Bearer tok-4",
    ]
    assert len(cloud.token_requests) == 1 + 2 + 3  # the first token, two refusals by Entra, three new tokens
    assert client.retries == 5  # 3 resends after a 401, 2 waits for Entra
    assert len(fake_time.sleeps) == 4  # every failure but the first 401 waits


def test_a_401_for_a_token_another_thread_replaced_is_resent_with_the_current_one(
    cloud: FakeCloud, client: BCClient, fake_time: FakeTime
) -> None:
    # While this request was in flight with tok-1, another thread got a 401 and fetched tok-2.
    assert client.company_id == COMPANY_ID
    answers = iter(["late", "ok"])

    def handle(request: httpx.Request) -> httpx.Response:
        if next(answers) == "late":
            client.tokens.invalidate("tok-1")
            assert client.tokens.token() == "tok-2"
            return bc_error(401, "Authentication_InvalidCredentials", "revoked")
        return httpx.Response(200, json={})

    cloud.api = handle
    client.get("x")
    assert [r.headers["Authorization"] for r in _api(cloud)] == ["Bearer tok-1", "Bearer tok-2"]
    assert len(cloud.token_requests) == 2  # tok-2 only, fetched by the "other thread"
    assert fake_time.sleeps == []
    assert client.retries == 1


def test_403_is_an_auth_error_at_once(cloud: FakeCloud, client: BCClient) -> None:
    cloud.api = lambda request: bc_error(403, "Authorization_Forbidden", "no permission")
    with pytest.raises(BCAuthError):
        client.get("x")
    assert len(_api(cloud)) == 1
    assert client.tokens.tokens_fetched == 1


def test_token_requests_do_not_count_as_api_requests(cloud: FakeCloud, client: BCClient) -> None:
    cloud.api = lambda request: httpx.Response(200, json={})
    client.get("x")
    assert len(cloud.token_requests) == 1
    assert client.requests_made == 2  # companies + x


# -- $batch --------------------------------------------------------------------------------------------


def _ops(client: BCClient, n: int) -> list[BatchOp]:
    url = client.company_path(PAYMENTS)
    return [BatchOp(f"r{i}", "POST", url, {"amount": Decimal(f"-{i}.50")}) for i in range(1, n + 1)]


def _echo_batch(request: httpx.Request, stop_after: int | None = None) -> httpx.Response:
    responses = []
    for i, op in enumerate(body_of(request)["requests"]):
        if stop_after is not None and i >= stop_after:
            break
        responses.append({"id": op["id"], "status": 201, "headers": {}, "body": {"id": f"line-{op['id']}"}})
    return httpx.Response(200, json={"responses": responses})


def test_batch_posts_one_request_and_returns_results_in_order(cloud: FakeCloud, client: BCClient) -> None:
    cloud.api = _echo_batch
    results = client.batch(_ops(client, 3))
    assert [(r.id, r.status, r.verdict.kind) for r in results] == [
        ("r1", 201, "success"),
        ("r2", 201, "success"),
        ("r3", 201, "success"),
    ]
    (request,) = _api(cloud)
    assert str(request.url) == f"{API_ROOT}/$batch"
    assert request.headers["Prefer"] == "odata.continue-on-error"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Accept"] == "application/json"
    assert b'"body":{"amount":-1.50}' in request.content
    assert body_of(request)["requests"][0]["url"] == f"companies({COMPANY_ID})/{PAYMENTS}"
    assert client.requests_made == 2  # companies + one $batch


def test_batch_without_continue_on_error_reports_unreached_ops(cloud: FakeCloud, client: BCClient) -> None:
    cloud.api = lambda request: _echo_batch(request, stop_after=1)
    results = client.batch(_ops(client, 3), continue_on_error=False)
    assert "Prefer" not in _api(cloud)[0].headers
    assert [r.status for r in results] == [201, None, None]
    assert [(r.verdict.kind, r.verdict.maybe_executed) for r in results[1:]] == [("transient", False)] * 2


def test_batch_limits(cloud: FakeCloud, client: BCClient) -> None:
    with pytest.raises(ValueError, match="at most 100"):
        client.batch(_ops(client, 101))
    assert client.batch([]) == []
    assert _api(cloud) == []


def test_batch_retried_on_429_and_outcome_unknown_on_504(
    cloud: FakeCloud, client: BCClient, fake_time: FakeTime
) -> None:
    cloud.api = _sequence(bc_error(429, "Application_TooManyRequests", "slow", {"Retry-After": "2"}), _echo_batch)
    assert [r.status for r in client.batch(_ops(client, 2))] == [201, 201]
    assert client.throttled == 1
    assert 2.0 <= fake_time.sleeps[0] <= 2.5
    cloud.api = _sequence(bc_error(504, "Internal_GatewayTimeout", "gateway"))
    with pytest.raises(BCOutcomeUnknown):
        client.batch(_ops(client, 2))
    assert len(_api(cloud)) == 3


def test_batch_answer_that_cannot_be_read_is_an_unknown_outcome(cloud: FakeCloud, client: BCClient) -> None:
    cloud.api = lambda request: httpx.Response(200, json={"oops": []})
    with pytest.raises(BCOutcomeUnknown, match="unknown state"):
        client.batch(_ops(client, 2))


def _sequence(*answers: httpx.Response | Callable[[httpx.Request], httpx.Response]) -> Any:
    """Like _script, but an item may be a handler (used for every request from then on)."""
    items: Iterator[httpx.Response | Callable[[httpx.Request], httpx.Response]] = itertools.chain(
        answers, itertools.repeat(answers[-1])
    )

    def handle(request: httpx.Request) -> httpx.Response:
        answer = next(items)
        return answer(request) if callable(answer) else answer

    return handle


# -- threads -------------------------------------------------------------------------------------------


def test_concurrent_batches_share_one_token_and_count_every_request(cloud: FakeCloud, client: BCClient) -> None:
    cloud.api = _echo_batch
    gate = threading.Event()
    cloud.token_delay = gate  # the first token request is held until the other threads queue behind it
    threads_n = 8
    results: list[list[int | None]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(threads_n + 1)

    def work() -> None:
        start.wait()
        try:
            batch = [BatchOp(f"r{i}", "POST", f"companies({COMPANY_ID})/{PAYMENTS}", {"n": i}) for i in range(5)]
            got = [r.status for r in client.batch(batch)]
            results.append(got)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(threads_n)]
    for thread in threads:
        thread.start()
    start.wait()
    assert cloud.token_entered.wait(5)
    time.sleep(0.05)  # lets the other threads reach the token lock; correctness does not depend on it
    gate.set()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert results == [[201] * 5] * threads_n
    assert client.tokens.tokens_fetched == 1
    assert len(cloud.token_requests) == 1
    assert client.requests_made == threads_n


def _batch_ops() -> list[BatchOp]:
    return [BatchOp(f"r{i}", "POST", f"companies({COMPANY_ID})/{PAYMENTS}", {"n": i}) for i in range(5)]


def _in_threads(threads_n: int, work: Callable[[], Any]) -> tuple[list[Any], list[BaseException]]:
    """Run ``work`` in ``threads_n`` threads started together; (results, errors)."""
    results: list[Any] = []
    errors: list[BaseException] = []
    start = threading.Barrier(threads_n)

    def run() -> None:
        start.wait()
        try:
            results.append(work())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    return results, errors


def _wait(barrier: threading.Barrier) -> None:
    barrier.wait(10)


def test_concurrent_401s_for_one_token_cause_exactly_one_token_request(cloud: FakeCloud, client: BCClient) -> None:
    threads_n = 6
    cloud.api = _echo_batch
    assert client.company_id == COMPANY_ID  # tok-1 is cached
    cloud.revoke_all()
    # every thread has its 401 for tok-1 before any of them may ask for a new token
    refused = threading.Barrier(threads_n)
    cloud.on_refused = lambda request: _wait(refused)

    results, errors = _in_threads(threads_n, lambda: [r.status for r in client.batch(_batch_ops())])

    assert errors == []
    assert results == [[201] * 5] * threads_n
    assert len(cloud.token_requests) == 2  # tok-1 and its one replacement
    sent = [r.headers["Authorization"] for r in _api(cloud)]
    assert sorted(sent) == ["Bearer tok-1"] * threads_n + ["Bearer tok-2"] * threads_n
    assert client.retries == threads_n


def test_invalid_secret_stops_every_thread_with_one_clear_auth_error(
    cloud: FakeCloud, client: BCClient, fake_time: FakeTime
) -> None:
    threads_n = 6
    cloud.api = _echo_batch
    assert client.company_id == COMPANY_ID
    # the secret was revoked in Entra: BC refuses tok-1, and Entra refuses every new token
    cloud.revoke_all()
    cloud.token_error = {
        "error": "invalid_client",
        "error_description": "AADSTS7000215: Invalid client secret provided. Trace ID: 1 Correlation ID: 2",
        "error_codes": [7000215],
    }
    refused = threading.Barrier(threads_n)
    cloud.on_refused = lambda request: _wait(refused)

    results, errors = _in_threads(threads_n, lambda: client.batch(_batch_ops()))

    assert results == []
    assert len(errors) == threads_n and all(isinstance(e, BCAuthError) for e in errors)
    assert {str(e) for e in errors} == {str(errors[0])}
    assert "AADSTS7000215" in str(errors[0]) and "the client secret is wrong" in str(errors[0])
    assert SECRET not in str(errors[0])
    assert len(cloud.token_requests) == 2  # tok-1, then one refusal: remembered, not asked again
    assert fake_time.sleeps == []
    assert len(_api(cloud)) == threads_n  # each sent once with tok-1, none again


# -- secrets -------------------------------------------------------------------------------------------


def test_secret_and_tokens_never_reach_logs_or_error_texts(
    cloud: FakeCloud, fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    cloud.api = _sequence(
        bc_error(503, "Internal_ServiceUnavailable", "busy"),
        httpx.Response(200, json={"value": []}),
        bc_error(400, "BadRequest", "bad"),
        bc_error(504, "Internal_GatewayTimeout", "gateway"),
        bc_error(401, "Authentication_InvalidCredentials", "rejected"),
    )
    with (
        httpx.Client(transport=httpx.MockTransport(cloud)) as http,
        BCClient(make_target(), http=http, retry=make_policy(fake_time)) as client,
    ):
        list(client.get_all("customers"))
        cloud.revoke_all()
        for call in (
            lambda: client.send("POST", "x", {"a": 1}),
            lambda: client.send("POST", "x", {"a": 1}),
            lambda: client.get("x"),
        ):
            with pytest.raises(Exception) as info:
                call()
            texts.append(str(info.value))
            texts.append(repr(info.value))
        texts.append(repr(client))
        texts.append(repr(client.tokens))
    assert cloud.issued  # tokens were issued: the check below is not vacuous
    everything = caplog.text + "\n".join(texts)
    assert "Internal_GatewayTimeout" in everything
    assert SECRET not in everything
    for token in cloud.issued:
        assert token not in everything


def test_a_successful_write_with_an_unreadable_answer_is_an_unknown_outcome(cloud: FakeCloud, client: BCClient) -> None:
    cloud.api = lambda request: httpx.Response(201, text="Created", headers={"Content-Type": "text/plain"})
    with pytest.raises(BCOutcomeUnknown, match="read back"):
        client.send("POST", PAYMENTS, {"amount": Decimal("-1")})
    assert len(_api(cloud)) == 1


def test_relative_next_links_stay_under_the_api_root(cloud: FakeCloud, client: BCClient) -> None:
    pages = {
        None: {"value": [1], "@odata.nextLink": f"companies({COMPANY_ID})/customers?$skiptoken=1"},
        "1": {"value": [2]},
    }
    cloud.api = lambda request: httpx.Response(200, json=pages[request.url.params.get("$skiptoken")])
    assert list(client.get_all("customers")) == [1, 2]
    assert str(_api(cloud)[1].url) == f"{CO}/customers?$skiptoken=1"


def test_http_client_settings(tmp_path: Path) -> None:
    ca = trustme.CA(organization_name="payimport test CA")
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    plain = make_target()
    with_ca = dataclasses.replace(plain, ca_file=ca_file, timeouts=Timeouts(connect_s=1, read_s=2, write_s=3, pool_s=4))

    with build_http_client(plain) as http:
        assert http.trust_env is True  # proxies from the environment still apply
        assert http.timeout == httpx.Timeout(connect=10.0, read=600.0, write=60.0, pool=60.0)
    with build_http_client(with_ca) as http:
        assert http.trust_env is False
        assert http.timeout == httpx.Timeout(connect=1.0, read=2.0, write=3.0, pool=4.0)

    def organisations(target: BCTarget) -> set[str]:
        found = set()
        for cert in build_ssl_context(target).get_ca_certs():
            for rdn in cert["subject"]:
                found.update(value for key, value in rdn if key == "organizationName")
        return found

    assert "payimport test CA" in organisations(with_ca)
    assert "payimport test CA" not in organisations(plain)
    assert "DigiCert Inc" in organisations(plain)  # certifi's public roots (Microsoft's chain ends there)
