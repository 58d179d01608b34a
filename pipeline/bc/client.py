"""The Business Central API client: one thread-safe object per target, generic (no journal logic).

Every request goes through :meth:`BCClient._exchange`, which is where the rules live:

* each request carries ``Authorization: Bearer`` and ``Accept: application/json``; a 401 makes
  the token provider drop the refused token (once, however many requests in flight were refused
  with it: the first drops it, the next ``token()`` fetches its replacement under the provider's
  lock, every other thread gets that replacement) and the request is sent again with the current
  token. A token can be revoked again right after it was fetched (another request's revocation
  kills the token every request in flight shares), so "refresh once" is not enough, and endless
  refreshing is no answer to a BC that refuses every token: a 401 for a token BC never accepted
  counts as one failed attempt of the retry budget like any transient failure; a 401 for a token
  BC accepted before (or that another thread already replaced) is a revocation in flight and is
  resent at once, a bounded number of times (``BCClient._free_401``). A 401 is safe to resend
  even for a write: BC authenticates before it runs anything (``classify`` rates it not
  executed);
* every answer is judged by :func:`~pipeline.bc.classify.classify`;
* reads (``get``, ``get_all``) are retried on every transient verdict: repeating a read is
  harmless;
* writes (``send``, ``batch``) are retried only when the verdict says BC certainly did not run the
  request (429, 503, no connection). When it may have run (timeout after sending, dropped
  connection, 502, 504, 408) the write raises :class:`~pipeline.errors.BCOutcomeUnknown` and the
  caller settles it by reading back, because resending a payment could post it twice.

Counters (``requests_made``, ``retries``, ``throttled``) are kept under a lock because the poster
calls :meth:`BCClient.batch` from several threads at once; httpx's client and connection pool are
thread-safe. Log records (logger ``payimport.bc``) name method, path, status and duration, never
headers, tokens or bodies.
"""

from __future__ import annotations

import logging
import re
import ssl
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal
from urllib.parse import urlsplit

import certifi
import httpx

from pipeline.bc import jsonio
from pipeline.bc.auth import TokenProvider
from pipeline.bc.batch import MAX_BATCH_OPERATIONS, BatchOp, OpResult, build_batch_body, parse_batch_response
from pipeline.bc.classify import Verdict, classify
from pipeline.bc.retry import Backoff
from pipeline.bc.target import BCTarget
from pipeline.errors import BCAuthError, BCOutcomeUnknown, BCPermanentError, BCTargetError, BCTransientError

__all__ = ["BCClient", "build_http_client", "build_ssl_context"]

log = logging.getLogger("payimport.bc")

_GUID = re.compile(r"^\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?$")
_JSON = "application/json"

RetryMode = Literal["read", "write"]
"""``read``: retry every transient verdict. ``write``: retry only what BC certainly did not run."""


@dataclass(frozen=True)
class _Reply:
    status: int
    body: Any


def build_ssl_context(target: BCTarget) -> ssl.SSLContext:
    """A verifying context trusting the system store and certifi's bundle, plus ``target.ca_file``.

    Built explicitly so that neither ``SSL_CERT_FILE`` nor ``REQUESTS_CA_BUNDLE`` decides, behind
    the configuration's back, which CAs the client trusts.
    """
    context = ssl.create_default_context()
    context.load_verify_locations(cafile=certifi.where())
    if target.ca_file is not None:
        context.load_verify_locations(cafile=str(target.ca_file))
    return context


def build_http_client(target: BCTarget, *, max_connections: int = 10) -> httpx.Client:
    """The httpx client for ``target``: explicit timeouts, ``max_connections`` kept alive (the poster
    keeps several requests in flight), environment proxies honoured unless ``target.ca_file`` is
    set (a local sandbox or a known TLS proxy: then only the configuration decides)."""
    t = target.timeouts
    return httpx.Client(
        verify=build_ssl_context(target),
        timeout=httpx.Timeout(connect=t.connect_s, read=t.read_s, write=t.write_s, pool=t.pool_s),
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        trust_env=target.ca_file is None,
        follow_redirects=False,
    )


class BCClient:
    """A client of one BC company (see the module docstring). Use it as a context manager; it
    closes the httpx client it built (not one passed in as ``http``)."""

    def __init__(
        self,
        target: BCTarget,
        *,
        http: httpx.Client | None = None,
        retry: Backoff | None = None,
        max_connections: int = 10,
    ) -> None:
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self.target = target
        self._owns_http = http is None
        self._http = http if http is not None else build_http_client(target, max_connections=max_connections)
        self.retry = retry if retry is not None else Backoff()
        self.tokens = TokenProvider(target, self._http)
        self._origin = _origin(target.api_root)
        self._counter_lock = threading.Lock()
        self._company_lock = threading.Lock()
        self._company_id: str | None = None
        self._requests_made = 0
        self._retries = 0
        self._throttled = 0
        self._accepted: str | None = None  # the last token BC answered a request for (2xx)
        self._principals: tuple[BCClient, ...] = ()

    def __repr__(self) -> str:
        return f"BCClient(target={self.target.label!r})"

    def __enter__(self) -> BCClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        for other in self._principals:
            other.close()
        if self._owns_http:
            self._http.close()

    # -- several principals -----------------------------------------------------------------------

    def add_principals(self, others: Sequence[BCClient]) -> None:
        """More app registrations writing to the same company (each its own token and limits: BC
        counts them per client id); the poster spreads its requests over ``writers``. This client
        closes them with itself."""
        for other in others:
            if other.target.api_root != self.target.api_root or other.target.company != self.target.company:
                raise ValueError("every principal must reach the same API root and company")
        self._principals = (*self._principals, *others)

    @property
    def writers(self) -> list[BCClient]:
        """The clients that send writes: this one first, then the other principals."""
        return [self, *self._principals]

    # -- counters ---------------------------------------------------------------------------------

    @property
    def requests_made(self) -> int:
        """HTTP requests sent to the API (a ``$batch`` counts once, retries count, token requests don't)."""
        with self._counter_lock:
            return self._requests_made

    @property
    def retries(self) -> int:
        """Requests sent again (after a transient failure or a 401)."""
        with self._counter_lock:
            return self._retries

    @property
    def throttled(self) -> int:
        """429 answers seen (whole requests; not ``$batch`` sub-responses)."""
        with self._counter_lock:
            return self._throttled

    def _count(self, *, made: int = 0, retries: int = 0, throttled: int = 0) -> None:
        with self._counter_lock:
            self._requests_made += made
            self._retries += retries
            self._throttled += throttled

    # -- addresses --------------------------------------------------------------------------------

    @property
    def company_id(self) -> str:
        """The id of ``target.company``, looked up once (by id, then by name or display name)."""
        if self._company_id is None:
            with self._company_lock:
                if self._company_id is None:
                    self._company_id = self._resolve_company()
        return self._company_id

    def company_path(self, path: str = "") -> str:
        """``path`` relative to the API root: ``customers`` -> ``companies(<cid>)/customers``
        (what a ``BatchOp.url`` needs)."""
        base = f"companies({self.company_id})"
        path = path.lstrip("/")
        return f"{base}/{path}" if path else base

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` relative to the company (``customers`` ->
        ``{api_root}/companies(<cid>)/customers``). An absolute URL is returned as it is, once
        checked to be on the API's host (a bearer token must not travel anywhere else)."""
        if path.startswith(("https://", "http://")):
            self._check_origin(path)
            return path
        return f"{self.target.api_root}/{self.company_path(path)}"

    # -- reads ------------------------------------------------------------------------------------

    def get(self, path: str, params: Mapping[str, str] | None = None, *, read_only: bool = False) -> dict[str, Any]:
        """One GET of ``path`` (company-relative or absolute); retried on every transient verdict."""
        reply = self._exchange("GET", self.url(path), params=params, headers=_read_headers(read_only), mode="read")
        return _as_object(reply.body, "GET", path)

    def get_all(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        read_only: bool = False,
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every entity of a collection, following ``@odata.nextLink`` page by page.

        ``read_only`` sends ``Data-Access-Intent: ReadOnly`` (a replica may serve it: not for data
        you just wrote); ``page_size`` sends ``Prefer: odata.maxpagesize=N``.
        """
        headers = _read_headers(read_only)
        if page_size is not None:
            if page_size < 1:
                raise ValueError("page_size must be at least 1")
            headers["Prefer"] = f"odata.maxpagesize={page_size}"
        url: str | None = self.url(path)
        query: Mapping[str, str] | None = params
        while url is not None:
            reply = self._exchange("GET", url, params=query, headers=headers, mode="read")
            page = _as_object(reply.body, "GET", path)
            values = page.get("value")
            if not isinstance(values, list):
                raise BCPermanentError(f"GET {path}: the answer is not a collection (no 'value' array)", method="GET")
            yield from values
            url = self._next_url(page)
            query = None  # a next link carries the query (and the skip token) itself

    # -- writes -----------------------------------------------------------------------------------

    def send(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any] | None:
        """One write (POST, PATCH, DELETE) to ``path``; the parsed answer, or None for 204.

        Retried only when BC certainly did not run it. Raises BCOutcomeUnknown when it may have
        run, BCPermanentError when BC refused it, BCAuthError when credentials fail, and
        BCTransientError when retries gave up.
        """
        method = method.upper()
        all_headers = dict(headers or {})
        content: bytes | None = None
        if body is not None:
            content = jsonio.dumps(body)
            all_headers.setdefault("Content-Type", _JSON)
        reply = self._exchange(method, self.url(path), headers=all_headers, content=content, mode="write")
        if reply.body is None:
            return None
        if not isinstance(reply.body, dict):
            # BC said yes but we cannot read what it made: the caller must settle it by reading back.
            raise BCOutcomeUnknown(
                f"{method} {path}: HTTP {reply.status} with an unreadable answer; read back to see what was written",
                status=reply.status,
                method=method,
                path=path,
            )
        return reply.body

    def batch(self, ops: Sequence[BatchOp], *, continue_on_error: bool = True) -> list[OpResult]:
        """Send ``ops`` (at most 100) as one JSON ``$batch``; one :class:`OpResult` per op, in order.

        The whole request is retried when BC certainly did not run it (429, 503, no connection).
        A timeout, dropped connection, 502 or 504 raises BCOutcomeUnknown: some operations may
        have run, and only reading back tells which. Per-operation failures are results, not
        exceptions; an operation BC did not reach (the batch stopped at an earlier failure) comes
        back with status None and a transient, not-executed verdict.
        """
        if len(ops) > MAX_BATCH_OPERATIONS:
            raise ValueError(f"a $batch holds at most {MAX_BATCH_OPERATIONS} operations, not {len(ops)}")
        if not ops:
            return []
        content = jsonio.dumps(build_batch_body(ops))
        headers = {"Content-Type": _JSON}
        if continue_on_error:
            headers["Prefer"] = "odata.continue-on-error"
        url = f"{self.target.api_root}/$batch"
        reply = self._exchange("POST", url, headers=headers, content=content, mode="write")
        try:
            return parse_batch_response(ops, reply.body)
        except ValueError as exc:
            # BC said 200 but we cannot tell which operations ran: that is an unknown outcome.
            raise BCOutcomeUnknown(
                f"POST $batch: unreadable answer ({exc}); {len(ops)} operations in an unknown state",
                status=reply.status,
                method="POST",
                path="$batch",
            ) from None

    # -- the one place requests are made ----------------------------------------------------------

    def _exchange(
        self,
        method: str,
        url: str,
        *,
        mode: RetryMode,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
    ) -> _Reply:
        """Send one logical request, with the 401 refresh and the retry policy; the 2xx reply or
        the exception the verdict calls for."""
        path = self._display_path(url)
        policy = self.retry
        started = policy.clock()
        failures = 0
        free = 0
        while True:
            verdict, reply, token = self._attempt(method, url, path, params, headers, content)
            if reply is not None:
                return reply
            if verdict.kind == "auth":
                if verdict.status == 401:
                    if self._free_401(method, path, token, free, started):
                        free += 1
                    else:
                        failures += 1
                        self._after_401(method, path, verdict, failures, started)
                    continue
                raise BCAuthError(
                    _describe(method, path, verdict), status=verdict.status, code=verdict.code, method=method, path=path
                )
            if verdict.kind == "permanent":
                raise BCPermanentError(
                    _describe(method, path, verdict), status=verdict.status, code=verdict.code, method=method, path=path
                )
            # transient
            if verdict.maybe_executed and mode == "write":
                raise BCOutcomeUnknown(
                    _describe(method, path, verdict) + "; BC may have carried it out: read back before resending",
                    status=verdict.status,
                    code=verdict.code,
                    method=method,
                    path=path,
                )
            failures += 1
            wait = policy.next_delay(failures, started, verdict.retry_after_s)
            if wait is None:
                raise BCTransientError(
                    _describe(method, path, verdict) + f"; gave up after {failures} attempt(s)",
                    status=verdict.status,
                    code=verdict.code,
                    method=method,
                    path=path,
                )
            log.warning(
                "%s %s: %s, retry %d in %.2f s",
                method,
                path,
                _short(verdict),
                failures,
                wait,
                extra={"retry": _short(verdict)},  # what a terminal groups into one line per burst (logs.py)
            )
            self._count(retries=1)
            policy.sleep(wait)

    def _free_401(self, method: str, path: str, token: str | None, free: int, started: float) -> bool:
        """True when the 401 is explained by a revocation: resend at once with the current token,
        without spending the retry budget. False: a counted failure (see ``_after_401``).

        The retry budget is there to stop a run that BC will never let in (an app not
        registered in BC, or without permissions): then BC accepts none of its tokens. A 401 for a
        token BC has accepted before, or for a token another thread has already replaced, proves
        nothing of the kind: the token was revoked or expired in flight. Charging those to the
        budget is what made a storm that revokes the token shared by six requests in flight spend
        six budgets on one event, and a run under 30% revocation fail. In every case the refused
        token is dropped only if it is still the current one, and the next ``token()`` fetches
        its replacement under the provider's lock: one token request for all threads. Free
        resends are bounded on their own (``max_attempts`` of them, within ``max_total_s``);
        past that a 401 counts like any other failure.
        """
        replaced = not self.tokens.invalidate(token)
        with self._counter_lock:
            accepted = token is not None and token == self._accepted
        if not (replaced or accepted):
            return False
        policy = self.retry.policy
        if free >= policy.max_attempts or self.retry.clock() - started >= policy.max_total_s:
            return False
        self._count(retries=1)
        why = "already replaced" if replaced else "BC had accepted before"
        log.info("%s %s: 401 for a token %s, sending again with a fresh one", method, path, why)
        return True

    def _after_401(self, method: str, path: str, verdict: Verdict, failures: int, started: float) -> None:
        """Wait before resending after BC refused the current token, or raise BCAuthError when the
        retry budget (shared with every other failure of this request) is spent.

        The current token, which BC never accepted, was refused. No wait when this is the
        request's first failure (a token can be revoked before its first use). A fresh token
        refused again waits like any other failure, which gives a revocation storm or a slow
        permission change time to pass.
        """
        policy = self.retry
        wait = policy.next_delay(failures, started, None)
        if wait is None:
            raise BCAuthError(
                _describe(method, path, verdict) + f"; gave up after {failures} attempt(s), sending a fresh token "
                "after each refusal (is the app registered in BC with permissions for this company?)",
                status=verdict.status,
                code=verdict.code,
                method=method,
                path=path,
            )
        if failures == 1:
            wait = 0.0
        self._count(retries=1)
        log.info("%s %s: 401, sending again with a fresh token (attempt %d, in %.2f s)", method, path, failures, wait)
        if wait:
            policy.sleep(wait)

    def _attempt(
        self,
        method: str,
        url: str,
        path: str,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        content: bytes | None,
    ) -> tuple[Verdict, _Reply | None, str | None]:
        """One HTTP request: (verdict, reply when 2xx, the token used)."""
        try:
            token = self.tokens.token()
        except BCTransientError as exc:
            # No API request was sent: safe to retry like a refused connection.
            return Verdict("transient", None, exc.code or "TokenUnavailable", str(exc), None, False), None, None
        request_headers = {**(headers or {}), "Accept": _JSON, "Authorization": f"Bearer {token}"}
        self._count(made=1)
        start = time.monotonic()
        try:
            response = self._http.request(method, url, params=params, headers=request_headers, content=content)
        except httpx.RequestError as exc:  # transport errors, and a body that cannot be decoded
            verdict = classify(None, {}, None, exc)
            log.warning("%s %s: no answer after %.3f s (%s)", method, path, time.monotonic() - start, verdict.code)
            return verdict, None, token
        elapsed = time.monotonic() - start
        body = _parse_body(response)
        verdict = classify(response.status_code, response.headers, body)
        if response.status_code == 429:
            self._count(throttled=1)
        log.debug("%s %s -> %d in %.3f s", method, path, response.status_code, elapsed)
        if verdict.kind == "success":
            with self._counter_lock:
                self._accepted = token
            return verdict, _Reply(response.status_code, body), token
        return verdict, None, token

    # -- helpers ----------------------------------------------------------------------------------

    def _resolve_company(self) -> str:
        wanted = self.target.company.strip()
        companies = list(self._companies())
        if _GUID.match(wanted):
            bare = wanted.strip("{}").lower()
            for company in companies:
                if str(company.get("id", "")).lower() == bare:
                    return str(company["id"])
        for fold in (False, True):
            matches = {
                str(c["id"])
                for c in companies
                if any(_same(c.get(key), wanted, fold) for key in ("name", "displayName"))
            }
            if len(matches) == 1:
                return matches.pop()
            if len(matches) > 1:
                raise BCTargetError(
                    f"company {wanted!r} matches several companies at {self.target.api_root}: "
                    f"{_company_names(companies)}; name it by id",
                    method="GET",
                    path="companies",
                )
        raise BCTargetError(
            f"company {wanted!r} not found at {self.target.api_root}; the companies there are: "
            f"{_company_names(companies) or '(none)'}",
            method="GET",
            path="companies",
        )

    def _companies(self) -> Iterator[dict[str, Any]]:
        url: str | None = f"{self.target.api_root}/companies"
        while url is not None:
            page = _as_object(self._exchange("GET", url, headers={}, mode="read").body, "GET", "companies")
            values = page.get("value")
            if not isinstance(values, list):
                raise BCPermanentError("GET companies: the answer is not a collection", method="GET", path="companies")
            yield from (v for v in values if isinstance(v, dict) and "id" in v)
            url = self._next_url(page)

    def _next_url(self, page: Mapping[str, Any]) -> str | None:
        """The page's ``@odata.nextLink`` as an absolute URL on the API's host, or None at the end."""
        link = page.get("@odata.nextLink")
        if not isinstance(link, str) or not link:
            return None
        return self.url(link) if "://" in link else f"{self.target.api_root}/{link.lstrip('/')}"

    def _check_origin(self, url: str) -> None:
        if _origin(url) != self._origin:
            raise BCPermanentError(
                f"refusing to send the BC token to {_origin(url)}: the API is at {self._origin}",
                path=url.split("?", 1)[0],
            )

    def _display_path(self, url: str) -> str:
        """The URL without host, API root and query, for logs and messages."""
        bare = url.split("?", 1)[0]
        root = self.target.api_root + "/"
        return bare[len(root) :] if bare.startswith(root) else urlsplit(bare).path


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _read_headers(read_only: bool) -> dict[str, str]:
    return {"Data-Access-Intent": "ReadOnly"} if read_only else {}


def _parse_body(response: httpx.Response) -> Any:
    """JSON (decimals exact) when the answer says so or looks like it; else its text; None if empty."""
    content = response.content
    if not content.strip():
        return None
    content_type = response.headers.get("content-type", "")
    if "json" in content_type or content.lstrip()[:1] in (b"{", b"["):
        try:
            return jsonio.loads(content)
        except ValueError:
            pass
    return content.decode(response.encoding or "utf-8", "replace")


def _as_object(body: Any, method: str, path: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BCPermanentError(
            f"{method} {path}: expected a JSON object from BC, got {type(body).__name__}", method=method, path=path
        )
    return body


def _describe(method: str, path: str, verdict: Verdict) -> str:
    status = f"HTTP {verdict.status}" if verdict.status is not None else "no response"
    detail = ": ".join(part for part in (verdict.code, verdict.message) if part)
    return f"{method} {path}: {status}" + (f" {detail}" if detail else "")


def _short(verdict: Verdict) -> str:
    return f"HTTP {verdict.status}" if verdict.status is not None else str(verdict.code)


def _same(value: Any, wanted: str, fold: bool) -> bool:
    if not isinstance(value, str):
        return False
    return value.casefold() == wanted.casefold() if fold else value == wanted


def _company_names(companies: list[dict[str, Any]]) -> str:
    return ", ".join(sorted({str(c.get("name") or c.get("displayName") or c["id"]) for c in companies}))
