"""Fakes for the unit tests of ``pipeline.bc``: an Entra + BC stand-in on httpx.MockTransport.

Unit tests exercise the real client, the real msal and the real token provider; only the network
is replaced. The integration tests (test_integration.py) use the real sandbox instead.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from pipeline.bc import Backoff, BCTarget, ClientSecret, RetryPolicy

AUTHORITY = "https://login.test/contoso"
API_ROOT = "https://bc.test/v2.0/contoso/Production/api/v2.0"
CLIENT_ID = "app-1234"
SECRET = "s3cr3t-Value~That.Must-Never-Leak"
COMPANY_ID = "6f3a0e2c-1b2d-4e5f-8a9b-0c1d2e3f4a5b"
OTHER_COMPANY_ID = "11111111-2222-3333-4444-555555555555"
COMPANIES = [
    {"id": COMPANY_ID, "name": "CRONUS DE", "displayName": "CRONUS Deutschland GmbH"},
    {"id": OTHER_COMPANY_ID, "name": "My Company", "displayName": "My Company"},
]

Handler = Callable[[httpx.Request], httpx.Response]


def bc_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> httpx.Response:
    """An error in BC's shape (bc-api.md 3.5)."""
    body = {"error": {"code": code, "message": f"{message}  CorrelationId:  00000000-0000-0000-0000-000000000001."}}
    return httpx.Response(status, json=body, headers=headers)


@dataclass
class FakeCloud:
    """Entra's discovery and token endpoints plus BC's API, answering from ``api`` (a handler for
    every API request other than ``GET companies``). Tokens are ``tok-1``, ``tok-2``, ...; only
    the tokens in ``valid`` are accepted (all issued ones, unless a test revokes them). The token
    endpoint answers ``token_errors_first`` in turn, then ``token_error`` for ever if set."""

    api: Handler = field(default=lambda request: httpx.Response(404))
    companies: list[dict[str, Any]] = field(default_factory=lambda: list(COMPANIES))
    token_error: dict[str, Any] | None = None
    token_errors_first: list[dict[str, Any]] = field(default_factory=list)  # answered in turn, before any token
    on_refused: Callable[[httpx.Request], None] | None = None  # called (outside the lock) before each 401
    token_delay: threading.Event | None = None
    token_entered: threading.Event = field(default_factory=threading.Event)
    issued: list[str] = field(default_factory=list)
    valid: set[str] = field(default_factory=set)
    api_requests: list[httpx.Request] = field(default_factory=list)
    token_requests: list[httpx.Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.url.host == "login.test":
            return self._entra(request, path)
        with self.lock:
            self.api_requests.append(request)
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer" or token not in self.valid:
            if self.on_refused is not None:
                self.on_refused(request)
            return bc_error(401, "Authentication_InvalidCredentials", "The server has rejected the client credentials.")
        if path == "/v2.0/contoso/Production/api/v2.0/companies":
            return httpx.Response(200, json={"value": self.companies})
        return self.api(request)

    def revoke_all(self) -> None:
        with self.lock:
            self.valid.clear()

    def _entra(self, request: httpx.Request, path: str) -> httpx.Response:
        if path == "/contoso/v2.0/.well-known/openid-configuration":
            return httpx.Response(
                200,
                json={
                    "token_endpoint": f"{AUTHORITY}/oauth2/v2.0/token",
                    "authorization_endpoint": f"{AUTHORITY}/oauth2/v2.0/authorize",
                    "issuer": f"{AUTHORITY}/v2.0",
                },
            )
        if path == "/contoso/oauth2/v2.0/token":
            self.token_entered.set()
            if self.token_delay is not None:
                self.token_delay.wait(5)
            with self.lock:
                self.token_requests.append(request)
                if self.token_errors_first:
                    return httpx.Response(503, json=self.token_errors_first.pop(0))
                if self.token_error is not None:
                    return httpx.Response(401, json=self.token_error)
                token = f"tok-{len(self.issued) + 1}"
                self.issued.append(token)
                self.valid.add(token)
            return httpx.Response(200, json={"token_type": "Bearer", "expires_in": 3600, "access_token": token})
        return httpx.Response(404)


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make_target(company: str = "CRONUS DE", secret: str = SECRET) -> BCTarget:
    return BCTarget(
        api_root=API_ROOT,
        authority=AUTHORITY,
        client_id=CLIENT_ID,
        credential=ClientSecret(secret),
        company=company,
        validate_authority=False,
        label="unit",
    )


def make_policy(fake: FakeTime, **kw: Any) -> Backoff:
    return Backoff(RetryPolicy(**kw), rng=random.Random(7), sleep=fake.sleep, clock=fake.clock)


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content) if request.content else None
