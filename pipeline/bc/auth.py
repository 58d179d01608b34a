"""Bearer tokens for BC from Entra ID (client credentials, secret or certificate) through msal.

msal keeps the token cache and renews a token that is close to expiry (it treats a token with less
than five minutes left as expired), so :meth:`TokenProvider.token` is cheap to call before every
request. msal is given the client's own ``httpx.Client`` as ``http_client``: that is the only
reliable way to make it trust an extra CA, since its own ``verify=`` is overridden when
``REQUESTS_CA_BUNDLE`` is set (DESIGN.md 4).

After BC answers 401 the cached token is useless even if msal thinks it is still valid (revoked,
or the clock of the token issuer and ours disagree). msal's ``acquire_token_for_client`` has no
``force_refresh``, so :meth:`TokenProvider.invalidate` removes the access token(s) from the
provider's own msal token cache (``TokenCache.search`` + ``remove_at``, public msal API); the next
``token()`` finds nothing cached and asks Entra again. Passing the rejected token makes this
idempotent across threads: when several requests were refused with the same old token, only the
first invalidation drops it, and the others keep the token that has replaced it.

Concurrent refreshes are single-flight: ``token()`` holds the lock while msal asks Entra, so
when several requests were refused with one token, the first ``invalidate`` drops it, the first
``token()`` after that fetches the replacement, and every other thread waits on the lock and gets
that replacement from the cache. Entra's refusal of the credentials themselves (a wrong or expired
secret, an unknown app: ``invalid_client``, AADSTS7000215 and friends) is remembered: no retry and
no other thread can change it during a run, so every later ``token()`` raises the same
BCAuthError without asking Entra again, and a run with six requests in flight stops after one
token request instead of six times the retry budget. The memory lasts a few minutes, not for
ever: ``payimport watch`` keeps one client for days, and an app that was disabled for a while
must work again once it is re-enabled.

The app is built lazily, under the lock, on the first ``token()``: msal's constructor already
fetches the authority's discovery document, and a client that is only constructed (for a dry
run, say) should not touch the network. Errors never carry the secret, the private key or a token.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import httpx
import msal  # type: ignore[import-untyped]

from pipeline.bc.classify import is_certificate_error
from pipeline.bc.target import BCTarget, ClientCertificate, ClientSecret
from pipeline.errors import BCAuthError, BCPermanentError, BCTransientError

__all__ = ["TokenProvider"]

# Token requests are small: they need not wait as long as a big $batch may (target.timeouts.read_s).
_TOKEN_READ_TIMEOUT_S = 60.0
# Entra errors that mean "try again later", not "your credentials are wrong".
_TRANSIENT_ENTRA_ERRORS = frozenset({"temporarily_unavailable", "server_error"})
_REDACTED = "<redacted>"
# What the commonest Entra refusals of a client-credentials request mean for the person running this.
_AADSTS_HINTS = {
    "7000215": "the client secret is wrong: use the secret's value, not its ID",
    "7000222": "the client secret has expired: create a new one for the app",
    "700016": "no app with this client id exists in the tenant",
    "700027": "the certificate is not one the app knows (wrong certificate or thumbprint)",
    "90002": "the tenant does not exist",
    "7000112": "the app is disabled",
}
# How long a refusal of the credentials is repeated without asking Entra (see the module docstring).
_REFUSAL_MEMORY_S = 300.0
_AADSTS = re.compile(r"AADSTS(\d+)")


class TokenProvider:
    """Thread-safe access tokens for one target. ``tokens_fetched`` counts tokens Entra issued
    (cache hits do not count)."""

    def __init__(self, target: BCTarget, http: httpx.Client) -> None:
        self._target = target
        self._http = http
        self._lock = threading.Lock()
        self._cache = msal.TokenCache()
        self._app: msal.ConfidentialClientApplication | None = None
        self._fetched = 0
        self._secrets = _secret_texts(target)
        self._refusal: tuple[BCAuthError, float] | None = None  # Entra's refusal, and when (monotonic)

    def __repr__(self) -> str:
        return f"TokenProvider(client_id={self._target.client_id!r}, authority={self._target.authority!r})"

    @property
    def tokens_fetched(self) -> int:
        with self._lock:
            return self._fetched

    def token(self) -> str:
        """A valid access token, from msal's cache when it has one.

        Raises BCAuthError when Entra refuses the credentials (with Entra's error code and
        description; from then on at once, without asking Entra again), BCTransientError when
        Entra or the network is unavailable, and BCPermanentError when the authority's TLS
        certificate is not trusted.
        """
        with self._lock:
            if self._refusal is not None and time.monotonic() - self._refusal[1] < _REFUSAL_MEMORY_S:
                raise _copy(self._refusal[0])
            self._refusal = None
            try:
                return self._acquire()
            except BCAuthError as exc:
                self._refusal = (exc, time.monotonic())
                raise

    def invalidate(self, rejected: str | None = None) -> bool:
        """Forget the cached access token so the next ``token()`` fetches a new one; True when a
        token was dropped.

        With ``rejected`` (the token BC refused), only that token is dropped: if another thread
        already replaced it, the newer token stays and this returns False (the caller was merely
        late, and the current token is worth a try at once).
        """
        with self._lock:
            kind = self._cache.CredentialType.ACCESS_TOKEN
            dropped = False
            for entry in list(self._cache.search(kind)):
                if rejected is None or entry.get("secret") == rejected:
                    self._cache.remove_at(entry)
                    dropped = True
            return dropped

    # -- internals ------------------------------------------------------------------------------

    def _acquire(self) -> str:
        """One msal call (a cache hit, or a token request to Entra); the caller holds the lock."""
        app = self._app or self._build_app()
        try:
            result: Any = app.acquire_token_for_client([self._target.scope])
        except _EntraUnavailable as exc:
            raise self._unavailable(exc) from None
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from None
        except Exception as exc:  # msal/PyJWT/cryptography: e.g. a private key that does not parse
            raise self._unusable(exc) from None
        if isinstance(result, dict) and "access_token" in result:
            if result.get("token_source") != "cache":
                self._fetched += 1
            token: str = result["access_token"]
            return token
        raise self._refused(result if isinstance(result, dict) else {})

    def _build_app(self) -> msal.ConfidentialClientApplication:
        target = self._target
        extra: dict[str, Any] = {}
        if not target.validate_authority:
            extra = {"validate_authority": False, "instance_discovery": False}
        try:
            app = msal.ConfidentialClientApplication(
                target.client_id,
                client_credential=_msal_credential(target),
                authority=target.authority,
                http_client=_TokenHttp(self._http, _token_timeout(target)),
                token_cache=self._cache,
                **extra,
            )
        except _EntraUnavailable as exc:
            raise self._unavailable(exc) from None
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from None
        except Exception as exc:  # unknown tenant or authority (discovery answered 4xx), unusable credential
            raise self._unusable(exc) from None
        self._app = app
        return app

    def _unusable(self, exc: Exception) -> BCAuthError:
        target = self._target
        return BCAuthError(
            f"cannot get a token from {target.authority} for client {target.client_id}: "
            f"{type(exc).__name__}: {self._redact(str(exc))}",
            method="POST",
            path=target.authority,
        )

    def _unreachable(self, exc: httpx.HTTPError) -> BCTransientError | BCPermanentError:
        if is_certificate_error(exc):
            return BCPermanentError(
                f"the TLS certificate of {self._target.authority} is not trusted ({self._redact(str(exc))}); "
                "set the target's ca_file if it is signed by a private CA",
                method="POST",
                path=self._target.authority,
            )
        return BCTransientError(
            f"cannot reach the identity authority {self._target.authority}: "
            f"{type(exc).__name__}: {self._redact(str(exc))}",
            method="POST",
            path=self._target.authority,
        )

    def _unavailable(self, exc: _EntraUnavailable) -> BCTransientError:
        return BCTransientError(
            f"the identity authority {self._target.authority} is unavailable: HTTP {exc.status} {exc.code}",
            status=exc.status,
            code=exc.code,
            method="POST",
            path=self._target.authority,
        )

    def _refused(self, result: dict[str, Any]) -> BCAuthError | BCTransientError:
        error = str(result.get("error") or "no_token")
        description = self._redact(str(result.get("error_description") or "no access token in the answer"))
        message = (
            f"Entra ID refused a token for client {self._target.client_id} at {self._target.authority}: "
            f"{error}: {description}"
        )
        if error in _TRANSIENT_ENTRA_ERRORS:
            return BCTransientError(message, code=error, method="POST", path=self._target.authority)
        return BCAuthError(message + _hint(result, description), code=error, method="POST", path=self._target.authority)

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, _REDACTED)
        return text


def _hint(result: dict[str, Any], description: str) -> str:
    """What Entra's refusal means, for the common AADSTS codes (from ``error_codes`` or the text)."""
    codes = [str(c) for c in result.get("error_codes") or ()] + _AADSTS.findall(description)
    for code in codes:
        if code in _AADSTS_HINTS:
            return f" -- {_AADSTS_HINTS[code]}; retrying will not help"
    return ""


def _copy(error: BCAuthError) -> BCAuthError:
    """A new exception with the remembered refusal's text: one instance raised in several threads
    would share (and keep growing) one traceback."""
    return BCAuthError(str(error), status=error.status, code=error.code, method=error.method, path=error.path)


class _EntraUnavailable(Exception):
    """The identity provider answered 429, 5xx or ``temporarily_unavailable``: "later", not "no".

    Raised from under msal rather than handed to it, because msal would turn a 5xx into a bare
    ``MsalServiceError`` (indistinguishable from an unusable credential) and would replay the
    error from its own HTTP cache (a 400 for 60 s, a 429/5xx for its Retry-After or 5 s) to
    every retry, so a token endpoint that recovered would still look down.
    """

    def __init__(self, status: int, code: str) -> None:
        super().__init__(f"HTTP {status} {code}")
        self.status = status
        self.code = code


def _check_available(response: httpx.Response) -> httpx.Response:
    status = response.status_code
    code = ""
    if status >= 400:
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            code = body["error"]
    if status == 429 or status >= 500 or code in _TRANSIENT_ENTRA_ERRORS:
        raise _EntraUnavailable(status, code or "unavailable")
    return response


class _TokenHttp:
    """The API's httpx client as msal sees it, with shorter timeouts: msal forbids its own
    ``timeout=`` when given an ``http_client``, and the token fetch runs under the provider's lock,
    so a hung identity provider must not hold every worker thread for ``read_s``. Answers that mean
    "try later" never reach msal (see :class:`_EntraUnavailable`)."""

    def __init__(self, http: httpx.Client, timeout: httpx.Timeout) -> None:
        self._http = http
        self._timeout = timeout

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        kwargs.setdefault("timeout", self._timeout)
        return _check_available(self._http.get(url, **kwargs))

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        kwargs.setdefault("timeout", self._timeout)
        return _check_available(self._http.post(url, **kwargs))

    def close(self) -> None:
        """The API client owns the connection pool; msal must not close it."""


def _token_timeout(target: BCTarget) -> httpx.Timeout:
    t = target.timeouts
    read = min(t.read_s, _TOKEN_READ_TIMEOUT_S)
    return httpx.Timeout(connect=t.connect_s, read=read, write=min(t.write_s, read), pool=t.pool_s)


def _msal_credential(target: BCTarget) -> str | dict[str, str]:
    credential = target.credential
    if isinstance(credential, ClientSecret):
        return credential.secret
    if isinstance(credential, ClientCertificate):
        cert: dict[str, str] = {"private_key": credential.private_key_pem, "thumbprint": credential.thumbprint}
        if credential.public_certificate:
            cert["public_certificate"] = credential.public_certificate
        return cert
    raise TypeError(f"unsupported credential {type(credential).__name__}")


def _secret_texts(target: BCTarget) -> tuple[str, ...]:
    """Strings that must never appear in an error message."""
    credential = target.credential
    text = credential.secret if isinstance(credential, ClientSecret) else credential.private_key_pem
    return (text,) if text else ()
