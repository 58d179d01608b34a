"""One verdict for every answer BC (or the network) gives: what kind of failure, and could it have run.

The same function judges a whole HTTP response, a ``$batch`` sub-response and a transport error,
so the retry logic and the poster never disagree about what a status means. Two questions matter:

* **kind**: ``success`` (2xx), ``transient`` (429, 502, 503, 504, 408, timeouts and connection
  errors, and BC's lock-timeout and deadlock answers whatever their status: worth trying again),
  ``auth`` (401, 403: the token or the app's permissions) or
  ``permanent`` (every other status: BC refused and will refuse again).
* **maybe_executed**: could BC have carried the request out even though we got no success? It is
  False only when the server certainly did not run it: a 429 or 503 from BC's limiter (refused at
  the door), a connection that was never made, a pool that never gave us a connection, a 4xx
  refusal. It is True for read timeouts, dropped connections, 502, 504 and 408: the request
  reached BC and the answer was lost, so a write must be settled by reading back, never blindly
  resent (bc-api.md 3.5, 3.8). Unknown transport errors count as "maybe", the safe side for money.
"""

from __future__ import annotations

import datetime
import email.utils
import math
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import httpx

__all__ = ["LOCK_MESSAGES", "Verdict", "classify", "is_certificate_error", "is_lock_error", "parse_retry_after"]

VerdictKind = Literal["success", "transient", "permanent", "auth"]

_NOT_EXECUTED_STATUSES = frozenset({429, 503})
_MAYBE_EXECUTED_STATUSES = frozenset({408, 502, 504})
_AUTH_STATUSES = frozenset({401, 403})
# Transport errors raised before a byte of the request left: BC cannot have seen it.
_NOT_SENT_ERRORS: tuple[type[BaseException], ...] = (
    httpx.ConnectTimeout,
    httpx.ConnectError,
    httpx.PoolTimeout,
    httpx.ProxyError,
)
# Our own mistakes (a bad URL, a header httpx cannot encode): nothing was sent, retrying won't help.
_LOCAL_ERRORS: tuple[type[BaseException], ...] = (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.InvalidURL)
_MESSAGE_LIMIT = 500


@dataclass(frozen=True)
class Verdict:
    """What an answer means. ``code``/``message`` are BC's ``error.code``/``error.message`` (or a
    description of the transport error); ``retry_after_s`` is the server's ``Retry-After``."""

    kind: VerdictKind
    status: int | None
    code: str | None
    message: str | None
    retry_after_s: float | None
    maybe_executed: bool

    @property
    def ok(self) -> bool:
        return self.kind == "success"


def classify(
    status: int | None,
    headers: Mapping[str, str],
    body: Any,
    error: BaseException | None = None,
) -> Verdict:
    """Judge one answer: ``status``/``headers``/``body`` of a response (``body`` parsed JSON, text
    or None), or ``error`` (with ``status`` None) when no response came back."""
    if status is None:
        return _classify_error(error)
    code, message = _bc_error(body)
    retry_after = parse_retry_after(_header(headers, "Retry-After"))
    if 200 <= status < 300:
        return Verdict("success", status, None, None, None, True)
    if status in _AUTH_STATUSES:
        return Verdict("auth", status, code, message, None, False)
    if status in _NOT_EXECUTED_STATUSES:
        return Verdict("transient", status, code, message, retry_after, False)
    if is_lock_error(code, message):
        # BC's lock timeout or deadlock (status and code undocumented; the text is the platform's):
        # transient, and settled by reading back like any answer that may or may not have run
        return Verdict("transient", status, code, message, retry_after, True)
    if status in _MAYBE_EXECUTED_STATUSES or (status >= 500 and status != 501):
        # a server error may come after the commit (Internal_ServerError): settle, never resend blindly
        return Verdict("transient", status, code, message, retry_after, True)
    # BC runs each request in a transaction that an error rolls back: a refusal left nothing behind.
    return Verdict("permanent", status, code, message, None, False)


LOCK_MESSAGES = (
    "is being updated in a transaction done by another session",  # NavCSideSQLLockTimeoutException
    "was deadlocked with another user",  # a deadlock victim
    "locked by another user",
)
"""BC's own texts for a write that lost on a lock: the request was rolled back, nothing is wrong with it."""


def is_lock_error(code: str | None, message: str | None) -> bool:
    """True for BC's lock-timeout and deadlock answers, whatever status and code carry them.

    BC documents neither their HTTP status nor their error code, so a classifier keyed on status
    alone would call a 4xx lock answer a permanent refusal and report a good payment as rejected;
    the message text is what BC's platform writes for them."""
    text = (message or "").lower()
    return any(marker.lower() in text for marker in LOCK_MESSAGES)


def _classify_error(error: BaseException | None) -> Verdict:
    if error is None:
        return Verdict("transient", None, "NoResponse", "no response and no error", None, True)
    name = type(error).__name__
    text = _describe(error)
    if is_certificate_error(error):
        # A certificate we do not trust will not become trusted by retrying: configuration.
        return Verdict("permanent", None, name, text, None, False)
    if isinstance(error, _NOT_SENT_ERRORS):
        return Verdict("transient", None, name, text, None, False)
    if isinstance(error, _LOCAL_ERRORS):
        return Verdict("permanent", None, name, text, None, False)
    # Read/write timeouts, RemoteProtocolError (dropped), ReadError/WriteError and anything unknown.
    return Verdict("transient", None, name, text, None, True)


def _describe(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def is_certificate_error(error: BaseException) -> bool:
    """True when ``error`` (or what caused it) is a failed TLS certificate verification: the server
    is not trusted (missing ``ca_file``, a TLS-inspecting proxy), which no retry will change."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLCertVerificationError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _bc_error(body: Any) -> tuple[str | None, str | None]:
    """BC's ``{"error": {"code", "message"}}``; a non-JSON body (a proxy's HTML page) becomes the
    message, shortened."""
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, Mapping):
            code = error.get("code")
            message = error.get("message")
            return (str(code) if code is not None else None, str(message) if message is not None else None)
        return None, None
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str) and body.strip():
        text = " ".join(body.split())
        return None, text[:_MESSAGE_LIMIT]
    return None, None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive lookup: httpx headers are, a ``$batch`` sub-response's dict is not."""
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    for key, val in headers.items():
        if key.lower() == wanted:
            return val
    return None


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` in seconds: delta-seconds, or an HTTP-date minus ``now`` (epoch seconds,
    default the current time), never negative. None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" parses as naive; HTTP dates are GMT anyway
        when = when.replace(tzinfo=datetime.UTC)
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)
