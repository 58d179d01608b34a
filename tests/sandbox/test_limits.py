"""Per-client limits and scripted faults, against a real server on loopback.

Each limits test starts its own small sandbox (plain HTTP: TLS is covered by test_auth and
test_server) with scaled-down limits, so the numbers can be worked out by hand. The fault tests
share one TLS sandbox and number their requests from ``stats.requests_seen``.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from pipeline.sandbox.errors import SandboxApiError
from pipeline.sandbox.limits import FaultPlan, LimitPolicy
from pipeline.sandbox.server import SandboxInfo, compose_app, make_http_client, run_in_thread
from pipeline.sandbox.settings import Fault, Latency, Limits, SandboxSettings

CLIENT = "payimport-sandbox-client"


def _factory(info: SandboxInfo) -> ASGIApp:
    """A protected API with a visible side effect: each POST to /things appends to ``effects``."""
    effects: list[int] = []
    info.extra["effects"] = effects

    async def things(request: Request) -> Response:
        try:
            info.tokens.authenticate(request)
        except SandboxApiError as exc:
            return JSONResponse(exc.body(), exc.status, headers=exc.headers)
        if request.method == "POST":
            effects.append(len(await request.body()))
            return JSONResponse({"n": len(effects)}, status_code=201)
        return JSONResponse({"n": len(effects)})

    async def other(request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def batch(request: Request) -> Response:
        return JSONResponse({"responses": []})

    prefix = "/v2.0/{tenant}/{env}/api/v2.0"
    api = Starlette(
        routes=[
            Route(f"{prefix}/things", things, methods=["GET", "POST"]),
            Route(f"{prefix}/other", other, methods=["GET", "POST"]),
            Route(f"{prefix}/$batch", batch, methods=["POST"]),
        ]
    )
    return compose_app(api, info)


def _auth(info: SandboxInfo, client_id: str = CLIENT) -> dict[str, str]:
    return {"Authorization": f"Bearer {info.tokens.issue(client_id).access_token}"}


def _burst(calls: list[Callable[[], int]]) -> list[int]:
    """Run the calls at the same instant from as many threads; their statuses, sorted."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], int]) -> int:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return sorted(pool.map(run, calls))


def _assert_bc_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code
    assert "  CorrelationId:  " in error["message"]


# -- concurrency and queue ----------------------------------------------------------------------------


def test_burst_of_six_gets_two_processed_one_queued_three_refused() -> None:
    # 2 slots + 1 queue place: requests 1-2 run at once, 3 waits for a slot, 4-6 get 429 at once.
    settings = SandboxSettings(limits=Limits(max_concurrent=2, max_queue=1), latency=Latency(per_request_s=0.3))
    with run_in_thread(settings, _factory) as info, make_http_client(info) as http:
        url, headers = f"{info.api}/things", _auth(info)
        responses: list[httpx.Response] = []

        def call() -> int:
            response = http.get(url, headers=headers)
            responses.append(response)
            return response.status_code

        assert _burst([call] * 6) == [200, 200, 200, 429, 429, 429]
        stats = info.stats.client(CLIENT)
    assert (stats.max_in_flight, stats.max_queued, stats.queue_full, stats.processed) == (2, 1, 3, 3)
    refused = [r for r in responses if r.status_code == 429]
    for response in refused:
        _assert_bc_error(response, 429, "Application_TooManyRequests")
        assert "retry-after" not in response.headers


def test_limits_are_per_client() -> None:
    settings = SandboxSettings(limits=Limits(max_concurrent=2, max_queue=1), latency=Latency(per_request_s=0.2))
    with run_in_thread(settings, _factory) as info, make_http_client(info) as http:
        url, mine, theirs = f"{info.api}/things", _auth(info), _auth(info, "second-client")
        calls = [lambda: http.get(url, headers=mine).status_code] * 3
        calls += [lambda: http.get(url, headers=theirs).status_code] * 3
        assert _burst(calls) == [200] * 6
        assert info.stats.max_in_flight(CLIENT) == info.stats.max_in_flight("second-client") == 2


def test_a_long_queue_wait_gives_503_with_retry_after() -> None:
    settings = SandboxSettings(
        limits=Limits(max_concurrent=1, max_queue=5, queue_timeout_s=0.1), latency=Latency(per_request_s=0.3)
    )
    with run_in_thread(settings, _factory) as info, make_http_client(info) as http:
        url, headers = f"{info.api}/things", _auth(info)
        responses: list[httpx.Response] = []

        def call() -> int:
            response = http.get(url, headers=headers)
            responses.append(response)
            return response.status_code

        assert _burst([call, call]) == [200, 503]
        timed_out = next(r for r in responses if r.status_code == 503)
        _assert_bc_error(timed_out, 503, "Internal_ServiceUnavailable")
        assert timed_out.headers["retry-after"] == "1"
        assert info.stats.client(CLIENT).queue_timeouts == 1


# -- rate window ------------------------------------------------------------------------------------


@pytest.mark.parametrize("retry_after", [False, True])
def test_rate_window_refuses_past_the_limit_until_it_slides(retry_after: bool) -> None:
    extra = {"limits.retry_after_on_429": "true"} if retry_after else {}
    settings = SandboxSettings(limits=Limits(rate_requests=3, rate_window_s=0.4), extra=extra)
    with run_in_thread(settings, _factory) as info, make_http_client(info) as http:
        url, headers = f"{info.api}/things", _auth(info)
        started = time.monotonic()
        responses = [http.get(url, headers=headers) for _ in range(4)]
        assert [r.status_code for r in responses] == [200, 200, 200, 429]
        _assert_bc_error(responses[3], 429, "Application_TooManyRequests")
        assert responses[3].headers.get("retry-after") == ("1" if retry_after else None)
        time.sleep(max(0.0, started + 0.45 - time.monotonic()))
        assert http.get(url, headers=headers).status_code == 200
        assert info.stats.client(CLIENT).rate_limited == 1


@pytest.mark.parametrize(("weight", "expected"), [("request", [200, 200, 200]), ("operations", [200, 429, 200])])
def test_a_batch_counts_as_one_request_unless_configured_per_operation(weight: str, expected: list[int]) -> None:
    settings = SandboxSettings(limits=Limits(rate_requests=5, rate_window_s=60), extra={"limits.batch_weight": weight})
    batch = {"requests": [{"id": str(i), "method": "GET", "url": "companies"} for i in range(3)]}
    with run_in_thread(settings, _factory) as info, make_http_client(info) as http:
        headers = _auth(info)
        first = http.post(f"{info.api}/$batch", json=batch, headers=headers)
        second = http.post(f"{info.api}/$batch", json=batch, headers=headers)  # 3 + 3 > 5 per operation
        single = http.get(f"{info.api}/things", headers=headers)  # 3 + 1 <= 5 per operation
        assert [first.status_code, second.status_code, single.status_code] == expected


def test_limit_policy_reads_settings_extra_and_refuses_nonsense() -> None:
    assert LimitPolicy.from_settings(SandboxSettings()) == LimitPolicy("request", False)
    extra = {"limits.batch_weight": "operations", "limits.retry_after_on_429": "yes"}
    assert LimitPolicy.from_settings(SandboxSettings(extra=extra)) == LimitPolicy("operations", True)
    with pytest.raises(ValueError, match="batch_weight"):
        LimitPolicy.from_settings(SandboxSettings(extra={"limits.batch_weight": "2"}))
    with pytest.raises(ValueError, match="retry_after_on_429"):
        LimitPolicy.from_settings(SandboxSettings(extra={"limits.retry_after_on_429": "sometimes"}))


# -- body size ---------------------------------------------------------------------------------------


def test_a_body_over_the_limit_gets_413_declared_or_chunked() -> None:
    settings = SandboxSettings(limits=Limits(max_body_bytes=100))
    with run_in_thread(settings, _factory) as info, make_http_client(info) as http:
        url, headers = f"{info.api}/things", _auth(info)
        _assert_bc_error(http.post(url, content=b"x" * 101, headers=headers), 413, "RequestEntityTooLarge")
        assert http.post(url, content=b"x" * 100, headers=headers).status_code == 201
        chunked_big = http.post(url, content=iter([b"x" * 60, b"x" * 60]), headers=headers)
        _assert_bc_error(chunked_big, 413, "RequestEntityTooLarge")
        chunked_ok = http.post(url, content=iter([b"x" * 30, b"y" * 30]), headers=headers)
        assert chunked_ok.status_code == 201
        assert info.extra["effects"] == [100, 60]  # the app saw the whole chunked body, once
        assert info.stats.client(CLIENT).too_large == 2


# -- faults ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxInfo]:
    settings = SandboxSettings(tls=True, state_dir=tmp_path_factory.mktemp("state"))
    with run_in_thread(settings, _factory) as info:
        yield info


@pytest.fixture
def http(sandbox: SandboxInfo) -> Iterator[httpx.Client]:
    sandbox.faults.clear()
    with make_http_client(sandbox, timeout=5.0) as client:
        client.headers.update(_auth(sandbox))
        yield client
    sandbox.faults.clear()


def _next(sandbox: SandboxInfo, k: int = 1) -> int:
    """The number the k-th next request will get."""
    return sandbox.stats.requests_seen + k


@pytest.mark.parametrize(
    ("kind", "status", "code", "retry_after"),
    [
        ("429", 429, "Application_TooManyRequests", "3"),
        ("429-no-retry-after", 429, "Application_TooManyRequests", None),
        ("502", 502, "Internal_BadGateway", "3"),
        ("503", 503, "Internal_ServiceUnavailable", "3"),
    ],
)
def test_door_faults_answer_without_running_the_app(
    sandbox: SandboxInfo, http: httpx.Client, kind: str, status: int, code: str, retry_after: str | None
) -> None:
    before = len(sandbox.extra["effects"])
    sandbox.faults.add(Fault(kind, requests=(_next(sandbox),), retry_after_s=2.5))  # type: ignore[arg-type]
    response = http.post(f"{sandbox.api}/things", content=b"{}")
    _assert_bc_error(response, status, code)
    assert response.headers.get("retry-after") == retry_after
    assert len(sandbox.extra["effects"]) == before
    assert http.post(f"{sandbox.api}/things", content=b"{}").status_code == 201


def test_504_after_commit_hides_a_committed_write(sandbox: SandboxInfo, http: httpx.Client) -> None:
    before = len(sandbox.extra["effects"])
    sandbox.faults.add(Fault("504-after-commit", requests=(_next(sandbox),)))
    _assert_bc_error(http.post(f"{sandbox.api}/things", content=b"{}"), 504, "Internal_GatewayTimeout")
    assert len(sandbox.extra["effects"]) == before + 1
    assert http.get(f"{sandbox.api}/things").json() == {"n": before + 1}


def test_drop_after_commit_closes_the_connection_after_the_write(sandbox: SandboxInfo, http: httpx.Client) -> None:
    before = len(sandbox.extra["effects"])
    sandbox.faults.add(Fault("drop-after-commit", requests=(_next(sandbox),)))
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        http.post(f"{sandbox.api}/things", content=b"{}")
    assert len(sandbox.extra["effects"]) == before + 1
    assert http.get(f"{sandbox.api}/things").json() == {"n": before + 1}  # a new connection works


def test_slow_answers_after_the_delay_and_the_work_is_done_anyway(sandbox: SandboxInfo, http: httpx.Client) -> None:
    before = len(sandbox.extra["effects"])
    sandbox.faults.add(Fault("slow", requests=(_next(sandbox),), delay_s=5.0))
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        http.post(f"{sandbox.api}/things", content=b"{}", timeout=0.3)
    assert time.monotonic() - started < 1.0
    assert len(sandbox.extra["effects"]) == before + 1
    assert sandbox.stats.client(CLIENT).in_flight == 0  # the slot is not held during the delay

    sandbox.faults.add(Fault("slow", requests=(_next(sandbox),), delay_s=0.2))
    started = time.monotonic()
    response = http.post(f"{sandbox.api}/things", content=b"{}")
    assert response.status_code == 201
    assert response.json() == {"n": before + 2}
    assert time.monotonic() - started >= 0.2


def test_faults_select_by_request_number(sandbox: SandboxInfo, http: httpx.Client) -> None:
    sandbox.faults.add(Fault("502", requests=(_next(sandbox, 2), _next(sandbox, 4))))
    statuses = [http.get(f"{sandbox.api}/things").status_code for _ in range(5)]
    assert statuses == [200, 502, 200, 502, 200]


def test_faults_select_by_route_and_method(sandbox: SandboxInfo, http: httpx.Client) -> None:
    sandbox.faults.add(Fault("503", route=r"/things$", methods=("post",)))
    assert http.get(f"{sandbox.api}/things").status_code == 200
    assert http.post(f"{sandbox.api}/other").status_code == 200
    assert http.post(f"{sandbox.api}/things").status_code == 503
    assert http.post(f"{sandbox.api}/things").status_code == 503


def test_times_caps_a_fault_and_the_first_matching_fault_wins(sandbox: SandboxInfo, http: httpx.Client) -> None:
    sandbox.faults.add(Fault("429-no-retry-after", times=2))
    sandbox.faults.add(Fault("502", times=1))
    statuses = [http.get(f"{sandbox.api}/things").status_code for _ in range(4)]
    assert statuses == [429, 429, 502, 200]
    assert sandbox.faults.fired()["429-no-retry-after"] >= 2


def test_unauthenticated_requests_are_neither_numbered_nor_faulted(sandbox: SandboxInfo, http: httpx.Client) -> None:
    sandbox.faults.add(Fault("502", requests=(_next(sandbox),)))
    anonymous = http.get(f"{sandbox.api}/things", headers={"Authorization": ""})
    assert anonymous.status_code == 401
    token = http.post(sandbox.token_url, data={})
    assert token.status_code == 400  # Entra's answer, not a fault
    assert http.get(f"{sandbox.api}/things").status_code == 502


def _pattern(seed: int, count: int) -> list[bool]:
    """Which of requests 1..count the fault fires on, per the documented draw."""
    return [random.Random(f"{seed}:0:{n}").random() < 0.5 for n in range(1, count + 1)]


def test_probability_is_seeded_and_repeats_run_after_run() -> None:
    patterns = []
    for _ in range(2):
        settings = SandboxSettings(faults=(Fault("503", probability=0.5),), fault_seed=7)
        with run_in_thread(settings, _factory) as info, make_http_client(info) as http:
            headers = _auth(info)
            patterns.append([http.get(f"{info.api}/things", headers=headers).status_code == 503 for _ in range(16)])
    assert patterns[0] == patterns[1] == _pattern(7, 16)
    assert 0 < sum(patterns[0]) < 16
    assert _pattern(8, 16) != patterns[0]  # another seed, another pattern


def test_concurrent_arrival_order_does_not_change_which_numbers_fire() -> None:
    plan_a, plan_b = FaultPlan([Fault("503", probability=0.5)], seed=3), FaultPlan([Fault("503", probability=0.5)], 3)
    forward = {n: plan_a.select(n, "GET", "/x") is not None for n in range(1, 33)}
    backward = {n: plan_b.select(n, "GET", "/x") is not None for n in range(32, 0, -1)}
    assert forward == backward


@pytest.mark.parametrize(
    "fault",
    [Fault("503", probability=1.5), Fault("503", route="("), Fault("teapot"), Fault("slow", delay_s=-1)],  # type: ignore[arg-type]
)
def test_fault_plan_refuses_bad_faults(fault: Fault) -> None:
    with pytest.raises(ValueError):
        FaultPlan().add(fault)


def test_fault_plan_add_and_clear_at_runtime() -> None:
    plan = FaultPlan()
    assert plan.select(1, "GET", "/a") is None
    plan.add(Fault("502", requests=(2,)))
    assert plan.select(2, "GET", "/a") == Fault("502", requests=(2,))
    plan.clear()
    assert plan.faults == ()
    assert plan.select(2, "GET", "/a") is None
    assert plan.fired() == {"502": 1}


def test_settings_faults_are_active_from_the_start(tmp_path: Path) -> None:
    settings = SandboxSettings(faults=(Fault("429", requests=(1,), retry_after_s=0),))
    with run_in_thread(settings, _factory) as info, make_http_client(info) as http:
        first = http.get(f"{info.api}/things", headers=_auth(info))
        assert (first.status_code, first.headers["retry-after"]) == (429, "0")
        assert http.get(f"{info.api}/things", headers=_auth(info)).status_code == 200
