"""The sandbox's Entra stand-in: msal over real loopback HTTPS, token rules, BC's 401.

The msal tests start a real TLS server (run_in_thread) and use msal exactly as the poster will:
ConfidentialClientApplication with an httpx client that trusts the sandbox CA. Token rules and
Token rules (expiry, forgery, revocation) are checked on TokenAuthority directly with a fake clock.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msal  # type: ignore[import-untyped]
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from pipeline.sandbox.auth import ANONYMOUS_CLIENT_ID, DEFAULT_SCOPE, TokenAuthority
from pipeline.sandbox.errors import SandboxApiError
from pipeline.sandbox.server import SandboxInfo, compose_app, make_http_client, make_msal_app, run_in_thread
from pipeline.sandbox.settings import Fault, SandboxSettings

CLIENT = "payimport-sandbox-client"
SECRET = "sandbox-secret-not-for-production"


def _factory(info: SandboxInfo) -> ASGIApp:
    """Auth routes plus one protected endpoint, composed as the real sandbox is."""

    async def things(request: Request) -> Response:
        try:
            client = info.tokens.authenticate(request)
        except SandboxApiError as exc:
            return JSONResponse(exc.body(), exc.status, headers=exc.headers)
        return JSONResponse({"client": client})

    api = Starlette(routes=[Route("/v2.0/{tenant}/{env}/api/v2.0/things", things)])
    return compose_app(api, info)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxInfo]:
    settings = SandboxSettings(tls=True, state_dir=tmp_path_factory.mktemp("state"))
    with run_in_thread(settings, _factory) as info:
        yield info


@pytest.fixture
def http(sandbox: SandboxInfo) -> Iterator[httpx.Client]:
    with make_http_client(sandbox, timeout=10.0) as client:
        yield client


def _assert_bc_401(response: httpx.Response) -> None:
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "Authentication_InvalidCredentials"
    assert error["message"].startswith("The server has rejected the client credentials.  CorrelationId:  ")


# -- msal over loopback HTTPS -------------------------------------------------------------------------


def test_msal_gets_a_token_the_api_accepts(sandbox: SandboxInfo, http: httpx.Client) -> None:
    app = make_msal_app(sandbox, http)
    result = app.acquire_token_for_client([DEFAULT_SCOPE])
    assert result["token_type"] == "Bearer"
    assert result["expires_in"] == 3600
    response = http.get(f"{sandbox.api}/things", headers={"Authorization": f"Bearer {result['access_token']}"})
    assert response.status_code == 200
    assert response.json() == {"client": CLIENT}
    # msal's cache answers the second call: the same token, no new request to the token endpoint.
    assert app.acquire_token_for_client([DEFAULT_SCOPE])["access_token"] == result["access_token"]


def test_msal_reads_the_discovery_document_msal_asks_for(sandbox: SandboxInfo, http: httpx.Client) -> None:
    document = http.get(f"{sandbox.authority}/v2.0/.well-known/openid-configuration").json()
    assert document["token_endpoint"] == sandbox.token_url
    assert document["authorization_endpoint"] == f"{sandbox.authority}/oauth2/v2.0/authorize"
    assert document["issuer"] == f"{sandbox.authority}/v2.0"
    unknown = http.get(f"{sandbox.base_url}/other-tenant/v2.0/.well-known/openid-configuration")
    assert unknown.status_code == 400
    assert unknown.json()["error"] == "invalid_tenant"


def test_msal_with_a_wrong_secret_gets_entras_invalid_client(sandbox: SandboxInfo, http: httpx.Client) -> None:
    app = msal.ConfidentialClientApplication(
        CLIENT,
        client_credential="wrong",
        authority=sandbox.authority,
        http_client=http,
        validate_authority=False,
        instance_discovery=False,
    )
    result: dict[str, Any] = app.acquire_token_for_client([DEFAULT_SCOPE])
    assert "access_token" not in result
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000215]
    assert result["error_description"].startswith("AADSTS7000215: Invalid client secret provided.")


def test_msal_with_an_unknown_client_id_is_refused(sandbox: SandboxInfo, http: httpx.Client) -> None:
    app = msal.ConfidentialClientApplication(
        "someone-else",
        client_credential=SECRET,
        authority=sandbox.authority,
        http_client=http,
        validate_authority=False,
        instance_discovery=False,
    )
    assert app.acquire_token_for_client([DEFAULT_SCOPE])["error"] == "unauthorized_client"


def test_requests_without_or_with_a_bad_token_get_bcs_401(sandbox: SandboxInfo, http: httpx.Client) -> None:
    before = sandbox.stats.requests_seen
    _assert_bc_401(http.get(f"{sandbox.api}/things"))
    _assert_bc_401(http.get(f"{sandbox.api}/things", headers={"Authorization": "Bearer sbx1.e30.AAAA"}))
    _assert_bc_401(http.get(f"{sandbox.api}/things", headers={"Authorization": f"Basic {SECRET}"}))
    assert sandbox.stats.requests_seen == before  # nobody to charge: neither limited nor numbered


def test_an_expired_token_is_refused_and_msal_fetches_a_new_one(tmp_path: Path) -> None:
    settings = SandboxSettings(tls=True, state_dir=tmp_path, token_ttl_s=1.0)
    with run_in_thread(settings, _factory) as info, make_http_client(info, timeout=10.0) as http:
        app = make_msal_app(info, http)
        first = app.acquire_token_for_client([DEFAULT_SCOPE])
        assert first["expires_in"] == 1
        headers = {"Authorization": f"Bearer {first['access_token']}"}
        assert http.get(f"{info.api}/things", headers=headers).status_code == 200
        time.sleep(1.05)
        _assert_bc_401(http.get(f"{info.api}/things", headers=headers))
        # msal treats a token with under 5 minutes left as expired, so it asks again by itself.
        second = app.acquire_token_for_client([DEFAULT_SCOPE])
        assert second["access_token"] != first["access_token"]
        assert http.get(f"{info.api}/things", headers={"Authorization": f"Bearer {second['access_token']}"}).is_success


def test_expire_token_fault_revokes_the_current_token_until_a_new_one_is_fetched(
    sandbox: SandboxInfo, http: httpx.Client
) -> None:
    app = make_msal_app(sandbox, http)
    token = app.acquire_token_for_client([DEFAULT_SCOPE])["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    sandbox.faults.add(Fault("expire-token", requests=(sandbox.stats.requests_seen + 1,)))
    try:
        _assert_bc_401(http.get(f"{sandbox.api}/things", headers=headers))
        _assert_bc_401(http.get(f"{sandbox.api}/things", headers=headers))  # from that request on
        assert app.acquire_token_for_client([DEFAULT_SCOPE])["access_token"] == token  # msal still caches it
        app.remove_tokens_for_client()  # what a client does on a 401
        fresh = app.acquire_token_for_client([DEFAULT_SCOPE])["access_token"]
        assert fresh != token
        assert http.get(f"{sandbox.api}/things", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200
    finally:
        sandbox.faults.clear()


# -- token rules and the token endpoint's errors -------------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_tokens_expire_after_the_ttl() -> None:
    clock = _Clock()
    authority = TokenAuthority(SandboxSettings(token_ttl_s=60.0), clock=clock)
    issued = authority.issue(CLIENT)
    assert issued.expires_in == 60
    assert authority.validate(issued.access_token) == CLIENT
    clock.now += 59.9
    assert authority.validate(issued.access_token) == CLIENT
    clock.now += 0.1
    with pytest.raises(SandboxApiError) as caught:
        authority.validate(issued.access_token)
    assert (caught.value.status, caught.value.code) == (401, "Authentication_InvalidCredentials")


def test_forged_and_tampered_tokens_are_refused() -> None:
    authority = TokenAuthority(SandboxSettings())
    token = authority.issue(CLIENT).access_token
    prefix, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["exp"] += 10_000
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    other = TokenAuthority(SandboxSettings())  # another sandbox, another key
    for bad in (f"{prefix}.{forged}.{signature}", "garbage", "a.b.c", "sbx1..", other.issue(CLIENT).access_token):
        with pytest.raises(SandboxApiError):
            authority.validate(bad)


def test_expire_client_revokes_only_that_clients_earlier_tokens() -> None:
    authority = TokenAuthority(SandboxSettings())
    mine, theirs = authority.issue(CLIENT), authority.issue("other")
    authority.expire_client(CLIENT)
    with pytest.raises(SandboxApiError):
        authority.validate(mine.access_token)
    assert authority.validate(theirs.access_token) == "other"
    assert authority.validate(authority.issue(CLIENT).access_token) == CLIENT
    authority.expire_all()
    with pytest.raises(SandboxApiError):
        authority.validate(theirs.access_token)
    assert authority.validate(authority.issue("other").access_token) == "other"


def test_the_key_is_kept_in_the_state_dir_so_tokens_survive_a_restart(tmp_path: Path) -> None:
    settings = SandboxSettings(state_dir=tmp_path)
    token = TokenAuthority(settings).issue(CLIENT).access_token
    assert TokenAuthority(settings).validate(token) == CLIENT
    assert (tmp_path / "token-key").stat().st_mode & 0o777 == 0o600


def test_client_of_scope_charges_only_authenticated_api_requests() -> None:
    authority = TokenAuthority(SandboxSettings())
    token = authority.issue(CLIENT).access_token

    def scope(path: str, auth: str | None = None) -> dict[str, Any]:
        headers = [(b"authorization", auth.encode())] if auth else []
        return {"type": "http", "path": path, "headers": headers}

    api = "/v2.0/sandbox-tenant/sandbox/api/v2.0/companies"
    assert authority.client_of_scope(scope(api, f"Bearer {token}")) == CLIENT
    assert authority.client_of_scope(scope(api)) is None
    assert authority.client_of_scope(scope(api, "Bearer nope")) is None
    assert authority.client_of_scope(scope("/sandbox-tenant/oauth2/v2.0/token", f"Bearer {token}")) is None
    anonymous = TokenAuthority(SandboxSettings(auth="none"))
    assert anonymous.client_of_scope(scope(api)) == ANONYMOUS_CLIENT_ID
    assert anonymous.client_of_scope(scope("/sandbox-tenant/v2.0/.well-known/openid-configuration")) is None


GOOD = {"grant_type": "client_credentials", "client_id": CLIENT, "client_secret": SECRET, "scope": DEFAULT_SCOPE}


@pytest.mark.parametrize(
    ("change", "status", "error", "code"),
    [
        ({"grant_type": "password"}, 400, "unsupported_grant_type", 70003),
        ({"grant_type": ""}, 400, "invalid_request", 900144),
        ({"client_id": ""}, 400, "invalid_request", 900144),
        ({"client_id": "nobody"}, 400, "unauthorized_client", 700016),
        ({"client_secret": ""}, 401, "invalid_client", 7000218),
        ({"client_secret": "wrong"}, 401, "invalid_client", 7000215),
        ({"scope": ""}, 400, "invalid_request", 900144),
        ({"scope": "https://api.businesscentral.dynamics.com/API.ReadWrite.All"}, 400, "invalid_scope", 1002012),
    ],
)
def test_token_endpoint_errors_have_entras_shape(
    sandbox: SandboxInfo, http: httpx.Client, change: dict[str, str], status: int, error: str, code: int
) -> None:
    response = http.post(sandbox.token_url, data={**GOOD, **change})
    assert response.status_code == status
    body = response.json()
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert {"timestamp", "trace_id", "correlation_id", "error_uri"} <= body.keys()
    assert response.headers["cache-control"] == "no-store"


def test_token_endpoint_accepts_client_secret_basic_and_checks_the_tenant(
    sandbox: SandboxInfo, http: httpx.Client
) -> None:
    basic = base64.b64encode(f"{CLIENT}:{SECRET}".encode()).decode()
    response = http.post(
        sandbox.token_url,
        data={"grant_type": "client_credentials", "scope": DEFAULT_SCOPE},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200
    assert response.json()["token_type"] == "Bearer"
    wrong_tenant = http.post(f"{sandbox.base_url}/elsewhere/oauth2/v2.0/token", data=GOOD)
    assert (wrong_tenant.status_code, wrong_tenant.json()["error_codes"]) == (400, [90002])
    assert http.get(sandbox.token_url).json()["error_codes"] == [900561]


def test_further_app_registrations_get_tokens_and_a_rotated_secret_locks_out_only_its_app(tmp_path: Path) -> None:
    more = (("second-app", "second-secret"), ("third-app", "third-secret"))
    settings = SandboxSettings(tls=True, state_dir=tmp_path / "state", more_clients=more)
    with run_in_thread(settings, _factory) as info, make_http_client(info, timeout=10.0) as http:

        def token(client_id: str, secret: str) -> httpx.Response:
            form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
            return http.post(info.token_url, data={**form, "scope": DEFAULT_SCOPE})

        issued = {cid: token(cid, secret).json()["access_token"] for cid, secret in (*more, (CLIENT, SECRET))}
        assert info.tokens.validate(issued["second-app"]) == "second-app"
        assert token("second-app", "third-secret").json()["error_codes"] == [7000215]  # each app its own secret

        info.tokens.rotate_secret("second-app", "rotated")

        assert token("second-app", "second-secret").json()["error_codes"] == [7000215]
        with pytest.raises(SandboxApiError):
            info.tokens.validate(issued["second-app"])  # its tokens are revoked too
        assert info.tokens.validate(token("second-app", "rotated").json()["access_token"]) == "second-app"
        assert info.tokens.validate(issued["third-app"]) == "third-app"  # the others are untouched
        assert info.tokens.validate(issued[CLIENT]) == CLIENT
