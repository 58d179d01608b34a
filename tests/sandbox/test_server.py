"""Running the sandbox: real sockets, TLS from a kept CA, clean start and stop, the CLI loop."""

from __future__ import annotations

import signal
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from pipeline.sandbox.errors import SandboxApiError
from pipeline.sandbox.server import (
    SandboxInfo,
    _url_host,
    compose_app,
    make_http_client,
    make_msal_app,
    run_in_thread,
    serve_forever,
)
from pipeline.sandbox.settings import Fault, SandboxSettings
from pipeline.sandbox.tls import ensure_certificates

COMPANY = "5d115c9c-44e3-ea11-bb43-000d3a2feca1"


def _factory(info: SandboxInfo) -> ASGIApp:
    """One protected endpoint counting POSTs; the factory also fills in the company id."""
    info.company_id = COMPANY
    posts: list[int] = []
    info.extra["posts"] = posts

    async def things(request: Request) -> Response:
        try:
            info.tokens.authenticate(request)
        except SandboxApiError as exc:
            return JSONResponse(exc.body(), exc.status, headers=exc.headers)
        if request.method == "POST":
            posts.append(1)
        return JSONResponse({"posts": len(posts)})

    api = Starlette(routes=[Route("/v2.0/{tenant}/{env}/api/v2.0/things", things, methods=["GET", "POST"])])
    return compose_app(api, info)


def _auth(info: SandboxInfo) -> dict[str, str]:
    return {"Authorization": f"Bearer {info.tokens.issue(info.client_id).access_token}"}


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


def test_port_zero_becomes_a_real_port_and_urls_follow_bc_and_entra(state: Path) -> None:
    settings = SandboxSettings(tls=True, state_dir=state, tenant="t1", environment="prod")
    with run_in_thread(settings, _factory) as info, make_http_client(info) as http:
        port = int(info.base_url.rsplit(":", 1)[1])
        assert port > 0
        assert info.base_url == f"https://127.0.0.1:{port}"
        assert info.api == f"https://127.0.0.1:{port}/v2.0/t1/prod/api/v2.0"
        assert info.authority == f"https://127.0.0.1:{port}/t1"
        assert info.token_url == f"https://127.0.0.1:{port}/t1/oauth2/v2.0/token"
        assert info.ca == state / "tls" / "ca.pem"
        assert http.get(f"{info.api}/things", headers=_auth(info)).json() == {"posts": 0}
        described = info.describe()
        assert described["company_id"] == COMPANY
        assert "client_secret" not in described
        assert info.describe(include_secret=True)["client_secret"] == settings.client_secret


def test_tls_is_real_a_client_without_the_ca_is_refused(state: Path) -> None:
    settings = SandboxSettings(tls=True, state_dir=state)
    stranger = httpx.Client(verify=ssl.create_default_context(), trust_env=False)  # system CAs only
    with run_in_thread(settings, _factory) as info, stranger:
        refused = pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED")
        with refused:
            stranger.get(f"{info.api}/things")


def test_certificates_are_kept_and_a_new_host_gets_a_new_leaf_from_the_same_ca(tmp_path: Path) -> None:
    ca, cert, key = ensure_certificates(tmp_path, "127.0.0.1")
    first = (ca.read_bytes(), cert.read_bytes(), key.read_bytes())
    assert ensure_certificates(tmp_path, "127.0.0.1") == (ca, cert, key)
    assert (ca.read_bytes(), cert.read_bytes(), key.read_bytes()) == first  # reused, not remade
    assert key.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "tls" / "ca-key.pem").stat().st_mode & 0o777 == 0o600

    ensure_certificates(tmp_path, "sandbox.example")
    assert ca.read_bytes() == first[0]
    assert cert.read_bytes() != first[1]
    leaf = x509.load_pem_x509_certificate(cert.read_bytes())
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"sandbox.example", "localhost"} <= set(names.get_values_for_type(x509.DNSName))
    issuer = x509.load_pem_x509_certificate(ca.read_bytes())
    assert leaf.issuer == issuer.subject


def test_tls_without_a_state_dir_uses_a_temporary_one_removed_on_exit() -> None:
    with run_in_thread(SandboxSettings(tls=True), _factory) as info, make_http_client(info) as http:
        assert info.ca is not None and info.ca.is_file()
        ca = info.ca
        assert http.get(f"{info.api}/things", headers=_auth(info)).status_code == 200
    assert not ca.exists()


def test_plain_http_works_but_msal_needs_https() -> None:
    with run_in_thread(SandboxSettings(), _factory) as info, make_http_client(info) as http:
        assert info.base_url.startswith("http://127.0.0.1:")
        assert info.ca is None
        assert http.get(f"{info.api}/things", headers=_auth(info)).status_code == 200
        with pytest.raises(ValueError, match="https"):
            make_msal_app(info, http)


@pytest.mark.parametrize("tls", [False, True])
def test_drop_after_commit_closes_the_socket_with_no_response(state: Path, tls: bool) -> None:
    settings = SandboxSettings(tls=tls, state_dir=state, faults=(Fault("drop-after-commit", requests=(1,)),))
    with run_in_thread(settings, _factory) as info, make_http_client(info) as http:
        with pytest.raises(httpx.RemoteProtocolError, match="Server disconnected without sending a response"):
            http.post(f"{info.api}/things", headers=_auth(info))
        assert info.extra["posts"] == [1]


def test_stop_is_prompt_and_frees_the_port_even_with_a_slow_request_pending() -> None:
    settings = SandboxSettings(faults=(Fault("slow", delay_s=30.0),))
    with run_in_thread(settings, _factory, shutdown_grace_s=1) as info:
        port = int(info.base_url.rsplit(":", 1)[1])
        with make_http_client(info) as http, pytest.raises(httpx.ReadTimeout):
            http.post(f"{info.api}/things", headers=_auth(info), timeout=0.2)
        stopping = time.monotonic()
    assert time.monotonic() - stopping < 1.0  # the slow answer noticed its client was gone
    with socket.create_server(("127.0.0.1", port)):
        pass


def test_a_failing_app_factory_surfaces_and_releases_the_port() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]

    def broken(info: SandboxInfo) -> ASGIApp:
        raise RuntimeError("no store")

    with pytest.raises(RuntimeError, match="no store"), run_in_thread(SandboxSettings(port=port), broken):
        pass
    with run_in_thread(SandboxSettings(port=port), _factory) as info:
        assert info.base_url == f"http://127.0.0.1:{port}"


def test_serve_forever_reports_ready_and_stops_on_sigterm() -> None:
    before = signal.getsignal(signal.SIGTERM)
    seen: list[int] = []

    def on_ready(info: SandboxInfo) -> None:
        with make_http_client(info) as http:
            seen.append(http.get(f"{info.api}/things", headers=_auth(info)).status_code)
        threading.Timer(0.05, signal.raise_signal, args=(signal.SIGTERM,)).start()

    started = time.monotonic()
    serve_forever(SandboxSettings(), _factory, on_ready)
    assert seen == [200]
    assert time.monotonic() - started < 3.0
    assert signal.getsignal(signal.SIGTERM) is before


def test_wildcard_bind_addresses_are_reached_through_loopback() -> None:
    assert _url_host("0.0.0.0") == "127.0.0.1"
    assert _url_host("::") == "::1"
    assert _url_host("[::1]") == "::1"
    assert _url_host("localhost") == "localhost"


@pytest.fixture
def ipv6() -> Iterator[None]:
    try:
        with socket.create_server(("::1", 0), family=socket.AF_INET6):
            pass
    except OSError:
        pytest.skip("no IPv6 loopback here")
    yield


@pytest.mark.usefixtures("ipv6")
def test_ipv6_loopback_with_tls(state: Path) -> None:
    with run_in_thread(SandboxSettings(host="::1", tls=True, state_dir=state), _factory) as info:
        assert info.base_url.startswith("https://[::1]:")
        with make_http_client(info) as http:
            assert http.get(f"{info.api}/things", headers=_auth(info)).status_code == 200
