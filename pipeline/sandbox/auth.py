"""Entra ID stand-in for the sandbox: OpenID discovery, a client-credentials token endpoint, bearer checks.

The real client authenticates with msal's ``ConfidentialClientApplication``; to test that code
path unchanged, the sandbox answers the two requests msal makes for an authority
``https://<host>:<port>/<tenant>`` built with ``validate_authority=False, instance_discovery=False``:

1. ``GET /<tenant>/v2.0/.well-known/openid-configuration`` (msal ``authority.py``: the authority
   path plus ``/v2.0/.well-known/openid-configuration``). msal reads ``authorization_endpoint``
   and ``token_endpoint`` (both required, it raises ``KeyError`` without them) and ``issuer``
   (optional); the rest is there so the document looks like Entra's.
2. ``POST /<tenant>/oauth2/v2.0/token`` with the form ``grant_type=client_credentials``,
   ``client_id``, ``client_secret``, ``scope``.

Errors from these two endpoints use Entra's shape (``{"error", "error_description",
"error_codes", ...}``), because that is what msal parses and what the client logs. Errors on the
API use BC's shape: 401 ``Authentication_InvalidCredentials``.

Tokens are opaque to clients: ``sbx1.<payload>.<hmac>`` where the payload carries the client id,
an issue stamp and the expiry. Checking one needs no storage, and revoking ("expire from now on",
the ``expire-token`` fault) only needs the client's revocation stamp.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import hmac
import json
import math
import os
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Scope

from pipeline.sandbox.errors import SandboxApiError
from pipeline.sandbox.settings import SandboxSettings

ANONYMOUS_CLIENT_ID = "anonymous"
"""The client id every request gets under ``--auth none`` (limits still apply per client)."""

DEFAULT_SCOPE = "https://api.businesscentral.dynamics.com/.default"
"""The scope a BC client asks for; the sandbox accepts any ``<resource>/.default``."""

DISCOVERY_PATH = "/{tenant}/v2.0/.well-known/openid-configuration"
TOKEN_PATH = "/{tenant}/oauth2/v2.0/token"

_AUTH_PATHS = re.compile(r"/[^/]+/(?:v2\.0/\.well-known/openid-configuration|oauth2/v2\.0/token)")
_TOKEN_PREFIX = "sbx1"
_KEY_FILE = "token-key"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def invalid_credentials() -> SandboxApiError:
    """BC's answer to a missing, malformed, expired or revoked bearer token."""
    return SandboxApiError(
        401,
        "Authentication_InvalidCredentials",
        "The server has rejected the client credentials.",
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


@dataclass(frozen=True)
class IssuedToken:
    """A token as handed out: the bearer string, its owner and when it stops working (epoch s)."""

    access_token: str
    client_id: str
    expires_at: float
    expires_in: int


class TokenAuthority:
    """Issues and checks the sandbox's bearer tokens; also serves the discovery and token endpoints.

    Thread-safe: the token endpoint runs on the server's loop while tests may revoke tokens from
    their own thread. The HMAC key is random per authority, or kept in ``state_dir/token-key``
    when the settings name a state directory, so tokens survive a sandbox restart as they survive
    a BC service restart.
    """

    def __init__(
        self,
        settings: SandboxSettings,
        *,
        key: bytes | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self._key = key if key is not None else _load_key(settings.state_dir)
        self._clock = clock
        self._lock = threading.Lock()
        self._last_stamp = 0
        self._revoked_through: dict[str, int] = {}
        self._revoked_all = 0
        self._secrets = {settings.client_id: settings.client_secret, **dict(settings.more_clients)}

    # -- tokens ---------------------------------------------------------------------------------

    def issue(self, client_id: str) -> IssuedToken:
        """Mint a token for ``client_id`` valid for ``settings.token_ttl_s`` from now."""
        now = self._clock()
        ttl = self.settings.token_ttl_s
        payload = {"cid": client_id, "iat": self._next_stamp(), "exp": now + ttl}
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        signed = f"{_TOKEN_PREFIX}.{body}"
        token = f"{signed}.{_b64(self._sign(signed))}"
        return IssuedToken(token, client_id, now + ttl, max(1, math.ceil(ttl)))

    def validate(self, token: str) -> str:
        """The client id the token was issued to; BC's 401 when it is forged, expired or revoked."""
        claims = self._claims(token)
        if claims is None:
            raise invalid_credentials()
        client_id, stamp, expires_at = claims
        if expires_at <= self._clock():
            raise invalid_credentials()
        with self._lock:
            if stamp <= max(self._revoked_all, self._revoked_through.get(client_id, 0)):
                raise invalid_credentials()
        return client_id

    def expire_client(self, client_id: str) -> None:
        """Refuse every token issued to ``client_id`` so far (the ``expire-token`` fault).

        Tokens issued afterwards work: the issue stamps are strictly increasing, so the client
        recovers by asking for a new token, exactly as after a real expiry.
        """
        with self._lock:
            self._revoked_through[client_id] = max(self._last_stamp, time.time_ns())

    def rotate_secret(self, client_id: str, secret: str) -> None:
        """A new secret for ``client_id`` (the old one is refused from now on) and every token issued
        to it so far revoked: what a client holding the old secret sees when an admin rotates it."""
        with self._lock:
            if client_id not in self._secrets:
                raise KeyError(client_id)
            self._secrets[client_id] = secret
        self.expire_client(client_id)

    def expire_all(self) -> None:
        """Refuse every token issued so far, whoever holds it."""
        with self._lock:
            self._revoked_all = max(self._last_stamp, time.time_ns())

    # -- per request ----------------------------------------------------------------------------

    def authenticate(self, request: Request) -> str:
        """The client id of an API request, or BC's 401 (``--auth none``: always the anonymous id)."""
        if self.settings.auth == "none":
            return ANONYMOUS_CLIENT_ID
        token = bearer_token(request.headers)
        if token is None:
            raise invalid_credentials()
        return self.validate(token)

    def client_of_scope(self, scope: Scope) -> str | None:
        """The client a raw ASGI request is charged to, or None when it is not authenticated.

        This is the resolver for :class:`~pipeline.sandbox.limits.LimitsMiddleware`: requests to
        the discovery and token endpoints, and requests without a valid token, belong to nobody,
        so they are neither limited nor numbered for faults (the app answers them, with a 401 for
        an API call).
        """
        if scope.get("type") != "http" or _AUTH_PATHS.fullmatch(scope.get("path", "")):
            return None
        if self.settings.auth == "none":
            return ANONYMOUS_CLIENT_ID
        token = bearer_token(_scope_headers(scope))
        if token is None:
            return None
        try:
            return self.validate(token)
        except SandboxApiError:
            return None

    # -- endpoints ------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        """The discovery and token routes, to be placed before the API routes."""
        return [
            Route(DISCOVERY_PATH, self.discovery_endpoint, methods=["GET"]),
            Route(TOKEN_PATH, self.token_endpoint, methods=["GET", "POST"]),
        ]

    async def discovery_endpoint(self, request: Request) -> Response:
        """Entra's v2.0 OpenID configuration, with every URL pointing back at this server."""
        tenant = request.path_params["tenant"]
        if not self._known_tenant(tenant):
            return _entra_error(400, "invalid_tenant", 90002, f"Tenant '{tenant}' not found.")
        base = f"{str(request.base_url).rstrip('/')}/{tenant}"
        document = {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{base}/oidc/userinfo",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "tid", "appid"],
            "tenant_region_scope": None,
            "cloud_instance_name": "sandbox.local",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
        }
        return JSONResponse(document)

    async def token_endpoint(self, request: Request) -> Response:
        """Client credentials only; errors as Entra words them (status, ``error``, AADSTS code).

        GET is routed here too, so it gets Entra's answer rather than the API's 404.
        """
        if request.method != "POST":
            return _entra_error(
                400,
                "invalid_request",
                900561,
                "The endpoint only accepts POST, OPTIONS requests. Received a GET request.",
            )
        tenant = request.path_params["tenant"]
        if not self._known_tenant(tenant):
            return _entra_error(400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        basic = _basic_credentials(request.headers)
        client_id = form.get("client_id") or (basic[0] if basic else "")
        secret = form.get("client_secret") or (basic[1] if basic else "")
        grant = form.get("grant_type", "")
        scope = form.get("scope", "")
        if not grant:
            return _entra_error(
                400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'."
            )
        if grant != "client_credentials":
            return _entra_error(
                400,
                "unsupported_grant_type",
                70003,
                "The app requested an unsupported grant type "
                f"'{grant}'; the sandbox only issues client_credentials tokens.",
            )
        if not client_id:
            return _entra_error(
                400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'."
            )
        with self._lock:
            expected = self._secrets.get(client_id)
        if expected is None:
            return _entra_error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory '{self.settings.tenant}'.",
            )
        if not secret:
            return _entra_error(
                401,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            )
        if not hmac.compare_digest(secret.encode(), expected.encode()):
            return _entra_error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request "
                f"is the client secret value, not the client secret ID, for a secret added "
                f"to app '{client_id}'.",
            )
        if not scope:
            return _entra_error(
                400, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'."
            )
        if len(scope.split()) != 1 or not scope.endswith("/.default"):
            return _entra_error(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope} is not valid. Client credential flows "
                "must have a scope value with /.default suffixed to the resource identifier "
                "(application ID URI).",
            )
        issued = self.issue(client_id)
        body = {
            "token_type": "Bearer",
            "expires_in": issued.expires_in,
            "ext_expires_in": issued.expires_in,
            "access_token": issued.access_token,
        }
        return JSONResponse(body, headers=_NO_STORE)

    # -- internals ------------------------------------------------------------------------------

    def _known_tenant(self, tenant: str) -> bool:
        return tenant.lower() == self.settings.tenant.lower()

    def _next_stamp(self) -> int:
        """A nanosecond stamp, strictly above every earlier one and every revocation so far."""
        with self._lock:
            floor = max([self._revoked_all, *self._revoked_through.values()])
            self._last_stamp = max(time.time_ns(), self._last_stamp + 1, floor + 1)
            return self._last_stamp

    def _sign(self, data: str) -> bytes:
        return hmac.new(self._key, data.encode(), hashlib.sha256).digest()

    def _claims(self, token: str) -> tuple[str, int, float] | None:
        """(client id, issue stamp, expiry) of a well-formed token with a good signature."""
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != _TOKEN_PREFIX:
            return None
        try:
            signature = _unb64(parts[2])
            if not hmac.compare_digest(signature, self._sign(f"{parts[0]}.{parts[1]}")):
                return None
            payload: Any = json.loads(_unb64(parts[1]))
            return str(payload["cid"]), int(payload["iat"]), float(payload["exp"])
        except (ValueError, KeyError, TypeError, binascii.Error):
            return None


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (scheme case-insensitive)."""
    value = headers.get("authorization")
    if not value:
        return None
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def _scope_headers(scope: Scope) -> dict[str, str]:
    """The request headers we need, decoded, without building a Request (the resolver is hot)."""
    out: dict[str, str] = {}
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            out["authorization"] = value.decode("latin-1")
    return out


def _basic_credentials(headers: Mapping[str, str]) -> tuple[str, str] | None:
    """RFC 6749 ``client_secret_basic``: not what msal sends, but what the standard requires."""
    value = headers.get("authorization", "")
    scheme, _, encoded = value.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def _entra_error(status: int, error: str, code: int, description: str) -> JSONResponse:
    """An error body as Entra's v2.0 endpoints send it (msal surfaces it as a result dict)."""
    trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
    timestamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    body = {
        "error": error,
        "error_description": (
            f"AADSTS{code}: {description} Trace ID: {trace_id} Correlation ID: {correlation_id} Timestamp: {timestamp}"
        ),
        "error_codes": [code],
        "timestamp": timestamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }
    return JSONResponse(body, status_code=status, headers=_NO_STORE)


def _load_key(state_dir: Path | None) -> bytes:
    """The HMAC key: kept in the state directory when there is one, random otherwise."""
    if state_dir is None:
        return secrets.token_bytes(32)
    path = Path(state_dir) / _KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes()
        if len(key) >= 32:
            return key
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)  # damaged: replace it
    key = secrets.token_bytes(32)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
