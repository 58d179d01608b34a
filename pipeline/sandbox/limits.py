"""BC online's per-client protocol limits and scripted faults, as one ASGI middleware.

The poster has to reach BC's ceiling without tripping it and survive what BC does at the edge
(429, 502/503, gateway timeouts after a commit, dropped connections). This middleware makes the
sandbox behave that way, deterministically, so the client's retry and idempotency logic can be
tested against a real server.

What happens to one request, in order (``clients(scope)`` returning ``None`` skips all of it: the
token endpoint, discovery and unauthenticated calls go straight to the app, which answers 401):

1. It gets the next request number (per sandbox, from 1) and the fault plan picks at most one
   fault for it (the first matching fault in plan order).
2. Faults answered at the door, before any limit is charged: ``429``, ``429-no-retry-after``,
   ``502``, ``503`` and ``expire-token`` (the client's current tokens are revoked, then 401).
3. Body size: more than ``max_body_bytes`` gives 413.
4. Sliding window: more than ``rate_requests`` per ``rate_window_s`` gives 429.
5. Concurrency: ``max_concurrent`` processed at once, ``max_queue`` waiting in FIFO order, 429
   beyond that; a wait longer than ``queue_timeout_s`` gives 503 with ``Retry-After``.
6. Holding its slot, the request sleeps ``per_request_s`` (so latency makes the concurrency limit
   bite, as BC's server time does) and then runs in the app.
7. Faults applied after the app has run, so its writes are committed: ``504-after-commit``
   (the app's response is replaced by a 504), ``drop-after-commit`` (the connection is closed with
   no response at all) and ``slow`` (the app's response is held back ``delay_s`` after the slot is
   released; if the client gives up first, nothing is sent).

Open questions of ``reference/bc-api.md`` §6, decided here (both switchable per sandbox through
``SandboxSettings.extra``, see :class:`LimitPolicy`):

* OQ 3, does a ``$batch`` count as 1 or N towards the rate window: **1** by default. Microsoft's
  guidance presents batching as the way "to reduce the number of calls", and the documented limit
  counts requests. ``limits.batch_weight=operations`` counts each operation instead.
* OQ 2, does a 429 carry ``Retry-After``: **no** by default for the limiter's own 429s, since the
  docs only promise it for 502 and 503; a client must back off on its own. With
  ``limits.retry_after_on_429=true`` the rate 429 carries the seconds until the window has room.
  The ``429`` / ``429-no-retry-after`` faults give either case explicitly.

The BC error codes used for these statuses are not documented (the clients must key on the HTTP
status); they are collected in :data:`ERROR_CODES`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import re
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Literal, get_args

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipeline.sandbox.auth import invalid_credentials
from pipeline.sandbox.errors import SandboxApiError
from pipeline.sandbox.settings import Fault, FaultKind, SandboxSettings

ABORT_EXTENSION = "sandbox.abort_connection"
"""ASGI ``scope["extensions"]`` key under which the server offers ``{"abort": Callable[[], None]}``.

:mod:`pipeline.sandbox.server` installs it; it closes the TCP connection without a response. ASGI
itself has no way to do that (an app that fails before responding gets a 500 from uvicorn).
"""

ERROR_CODES: dict[int, str] = {
    413: "RequestEntityTooLarge",
    429: "Application_TooManyRequests",
    502: "Internal_BadGateway",
    503: "Internal_ServiceUnavailable",
    504: "Internal_GatewayTimeout",
}
"""BC error codes for the statuses this module produces (assumed: BC does not document them)."""

ClientResolver = Callable[[Scope], str | None]
"""Who a request is charged to; ``None`` means unauthenticated (passed through, not limited)."""

_IMMEDIATE: frozenset[str] = frozenset({"429", "429-no-retry-after", "502", "503", "expire-token"})
_FAULT_KINDS: frozenset[str] = frozenset(get_args(FaultKind))
_DEFAULT_RETRY_AFTER_S = 1.0
_DISCONNECT_WAIT_S = 2.0


def _no_expire(client_id: str) -> None:
    """Default ``expire-token`` hook: nothing to revoke (``--auth none``)."""


@dataclass(frozen=True)
class LimitPolicy:
    """Choices BC leaves open (bc-api.md OQ 2 and 3); defaults are the module docstring's."""

    batch_weight: Literal["request", "operations"] = "request"
    retry_after_on_429: bool = False

    @classmethod
    def from_settings(cls, settings: SandboxSettings) -> LimitPolicy:
        """Read ``limits.batch_weight`` and ``limits.retry_after_on_429`` from ``settings.extra``."""
        extra = settings.extra
        weight = extra.get("limits.batch_weight", "request").strip().lower()
        if weight not in ("request", "operations"):
            raise ValueError(f"limits.batch_weight must be 'request' or 'operations', not {weight!r}")
        flag = extra.get("limits.retry_after_on_429", "false").strip().lower()
        if flag not in ("true", "false", "1", "0", "yes", "no"):
            raise ValueError(f"limits.retry_after_on_429 must be true or false, not {flag!r}")
        return cls("operations" if weight == "operations" else "request", flag in ("true", "1", "yes"))


# -- statistics ---------------------------------------------------------------------------------


@dataclass
class ClientStats:
    """What one client did to the limiter; tests read these to check the limits really held."""

    seen: int = 0  # requests numbered for this client
    processed: int = 0  # requests handed to the app
    in_flight: int = 0
    max_in_flight: int = 0
    queued: int = 0
    max_queued: int = 0
    rate_limited: int = 0  # 429 from the sliding window
    queue_full: int = 0  # 429 because processing and queue were full
    queue_timeouts: int = 0  # 503 after waiting too long
    too_large: int = 0  # 413
    faults: int = 0  # requests a fault fired on


_CounterField = Literal["processed", "rate_limited", "queue_full", "queue_timeouts", "too_large", "faults"]


class LimitStats:
    """Counters shared between the server's loop (writer) and tests (readers): lock-protected."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen = 0
        self._clients: dict[str, ClientStats] = {}

    @property
    def requests_seen(self) -> int:
        """How many client requests were numbered so far (the last request number handed out)."""
        with self._lock:
            return self._seen

    def client(self, client_id: str) -> ClientStats:
        """A copy of one client's counters (all zero for a client never seen)."""
        with self._lock:
            return replace(self._clients.get(client_id) or ClientStats())

    def clients(self) -> dict[str, ClientStats]:
        """A copy of every client's counters."""
        with self._lock:
            return {cid: replace(s) for cid, s in self._clients.items()}

    def max_in_flight(self, client_id: str) -> int:
        """The most requests of this client the app was processing at the same time."""
        return self.client(client_id).max_in_flight

    def _number(self, client_id: str) -> int:
        with self._lock:
            self._seen += 1
            self._stats(client_id).seen += 1
            return self._seen

    def _bump(self, client_id: str, name: _CounterField) -> None:
        with self._lock:
            stats = self._stats(client_id)
            setattr(stats, name, getattr(stats, name) + 1)

    def _flight(self, client_id: str, delta: int) -> None:
        with self._lock:
            stats = self._stats(client_id)
            stats.in_flight += delta
            stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)

    def _queue(self, client_id: str, delta: int) -> None:
        with self._lock:
            stats = self._stats(client_id)
            stats.queued += delta
            stats.max_queued = max(stats.max_queued, stats.queued)

    def _stats(self, client_id: str) -> ClientStats:
        stats = self._clients.get(client_id)
        if stats is None:
            stats = self._clients[client_id] = ClientStats()
        return stats


# -- faults ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    fault: Fault
    route: re.Pattern[str] | None
    methods: frozenset[str]
    serial: int  # position in the plan since its creation: seeds this fault's draws


class FaultPlan:
    """The scripted faults of one sandbox; faults can be added and cleared while it runs.

    Selection follows :class:`~pipeline.sandbox.settings.Fault`: request numbers, route regex
    (``re.search`` on the path), methods and probability combine with AND, ``times`` caps how
    often a fault fires, and the first matching fault in plan order wins.

    Probability: each (fault, request number) pair gets its own draw from
    ``random.Random(f"{seed}:{serial}:{number}")``. That is the same "seeded random" as one shared
    ``random.Random(seed)`` but does not depend on the order in which concurrent requests reach
    the plan, nor on how many draws other faults consumed, so a given seed fires on the same
    request numbers in every run.
    """

    def __init__(self, faults: Iterable[Fault] = (), seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._seed = seed
        self._entries: list[_Entry] = []
        self._fired: Counter[int] = Counter()
        self._fired_kinds: Counter[str] = Counter()
        self._serial = 0
        for fault in faults:
            self.add(fault)

    @classmethod
    def from_settings(cls, settings: SandboxSettings) -> FaultPlan:
        return cls(settings.faults, settings.fault_seed)

    def add(self, fault: Fault) -> None:
        """Append a fault (it takes effect from the next request); bad values raise ValueError."""
        if fault.kind not in _FAULT_KINDS:
            raise ValueError(f"unknown fault kind {fault.kind!r}; known: {sorted(_FAULT_KINDS)}")
        if not 0.0 <= fault.probability <= 1.0:
            raise ValueError(f"fault probability must be within [0, 1], not {fault.probability}")
        if fault.times < 0 or fault.retry_after_s < 0 or fault.delay_s < 0:
            raise ValueError("fault times, retry_after_s and delay_s must not be negative")
        try:
            route = re.compile(fault.route) if fault.route else None
        except re.error as exc:
            raise ValueError(f"fault route {fault.route!r} is not a valid regex: {exc}") from exc
        methods = frozenset(m.upper() for m in fault.methods)
        with self._lock:
            self._entries.append(_Entry(fault, route, methods, self._serial))
            self._serial += 1

    def clear(self) -> None:
        """Remove every fault (what already fired stays counted)."""
        with self._lock:
            self._entries.clear()

    @property
    def faults(self) -> tuple[Fault, ...]:
        with self._lock:
            return tuple(e.fault for e in self._entries)

    def fired(self) -> dict[str, int]:
        """How often each fault kind fired so far."""
        with self._lock:
            return dict(self._fired_kinds)

    def select(self, number: int, method: str, path: str) -> Fault | None:
        """The fault for request ``number`` (``method``, ``path``), counting it as fired, or None."""
        method = method.upper()
        with self._lock:
            for entry in self._entries:
                fault = entry.fault
                if fault.requests and number not in fault.requests:
                    continue
                if entry.methods and method not in entry.methods:
                    continue
                if entry.route is not None and entry.route.search(path) is None:
                    continue
                if fault.times and self._fired[entry.serial] >= fault.times:
                    continue
                if fault.probability < 1.0 and not self._draw(entry.serial, number) < fault.probability:
                    continue
                self._fired[entry.serial] += 1
                self._fired_kinds[fault.kind] += 1
                return fault
        return None

    def _draw(self, serial: int, number: int) -> float:
        return random.Random(f"{self._seed}:{serial}:{number}").random()


# -- per-client limiters ---------------------------------------------------------------------------


class _Window:
    """A sliding window of admitted weight per client (``loop.time()`` stamps)."""

    def __init__(self) -> None:
        self._events: deque[tuple[float, int]] = deque()
        self._total = 0

    def admit(self, now: float, weight: int, limit: int, span: float) -> float | None:
        """Record ``weight`` and return None, or return the seconds until it would fit."""
        while self._events and self._events[0][0] <= now - span:
            self._total -= self._events.popleft()[1]
        if self._total + weight <= limit:
            self._events.append((now, weight))
            self._total += weight
            return None
        excess, freed = self._total + weight - limit, 0
        for stamp, w in self._events:
            freed += w
            if freed >= excess:
                return max(0.0, stamp + span - now)
        return span  # heavier than the whole window: never admissible, say "one window"


class _QueueFull(Exception):
    pass


class _QueueTimeout(Exception):
    pass


class _Gate:
    """``max_concurrent`` slots plus a FIFO queue of ``max_queue`` waiters, for one client."""

    def __init__(self, max_concurrent: int, max_queue: int) -> None:
        self._max_concurrent = max_concurrent
        self._max_queue = max_queue
        self._active = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def enter(self, timeout: float, on_queue: Callable[[int], None]) -> None:
        """Take a slot, waiting in line if needed; _QueueFull or _QueueTimeout when refused."""
        if self._active < self._max_concurrent and not self._waiters:
            self._active += 1
            return
        if len(self._waiters) >= self._max_queue:
            raise _QueueFull
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        on_queue(1)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except TimeoutError:
            if waiter.done() and not waiter.cancelled():
                return  # the slot was handed over just as the wait timed out: keep it
            self._forget(waiter)
            raise _QueueTimeout from None
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.leave()
            else:
                self._forget(waiter)
            raise
        finally:
            on_queue(-1)

    def leave(self) -> None:
        """Free a slot: hand it straight to the first live waiter, if any."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._active -= 1

    def _forget(self, waiter: asyncio.Future[None]) -> None:
        with contextlib.suppress(ValueError):
            self._waiters.remove(waiter)
        waiter.cancel()


# -- the middleware ---------------------------------------------------------------------------------


class LimitsMiddleware:
    """ASGI middleware enforcing ``settings.limits`` and ``settings.latency.per_request_s`` per client
    and injecting the faults of ``faults`` (see the module docstring for the order of checks).

    ``clients`` resolves the client id of a request (None = unauthenticated, passed through);
    ``on_expire_token`` revokes a client's current tokens for the ``expire-token`` fault
    (``TokenAuthority.expire_client``). ``faults`` and ``stats`` may be shared with whoever needs
    to script faults or read counters at runtime; by default they are made from ``settings``.
    Per-operation latency of a ``$batch`` is not applied here: only the batch layer sees operations.
    """

    def __init__(
        self,
        app: ASGIApp,
        settings: SandboxSettings,
        clients: ClientResolver,
        *,
        faults: FaultPlan | None = None,
        stats: LimitStats | None = None,
        on_expire_token: Callable[[str], None] = _no_expire,
        policy: LimitPolicy | None = None,
    ) -> None:
        self.app = app
        self.settings = settings
        self.limits = settings.limits
        self.clients = clients
        self.faults = faults if faults is not None else FaultPlan.from_settings(settings)
        self.stats = stats if stats is not None else LimitStats()
        self.policy = policy if policy is not None else LimitPolicy.from_settings(settings)
        self._on_expire_token = on_expire_token
        self._gates: dict[str, _Gate] = {}
        self._windows: dict[str, _Window] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = self.clients(scope)
        if client is None:
            await self.app(scope, receive, send)
            return
        stats = self.stats
        number = stats._number(client)
        fault = self.faults.select(number, scope["method"], scope["path"])
        if fault is not None:
            stats._bump(client, "faults")
            if fault.kind in _IMMEDIATE:
                if fault.kind == "expire-token":
                    self._on_expire_token(client)
                await _answer(send, receive, _fault_error(fault))
                return

        limits = self.limits
        body: bytes | None = None
        if limits.max_body_bytes > 0:
            too_large, body = await _check_body(scope, receive, limits.max_body_bytes)
            if too_large:
                stats._bump(client, "too_large")
                await _send_error(send, _too_large(limits.max_body_bytes))
                return
        weight = 1
        if self.policy.batch_weight == "operations" and _is_batch(scope):
            if body is None:
                body = await _read_body(receive)
            weight = _batch_size(body)
        if body is not None:
            receive = _replay(body, receive)

        if limits.rate_requests > 0:
            now = asyncio.get_running_loop().time()
            wait = self._window(client).admit(now, weight, limits.rate_requests, limits.rate_window_s)
            if wait is not None:
                stats._bump(client, "rate_limited")
                await _answer(send, receive, self._rate_error(wait))
                return

        gate = self._gate(client)
        if gate is not None:
            try:
                await gate.enter(limits.queue_timeout_s, lambda delta: stats._queue(client, delta))
            except _QueueFull:
                stats._bump(client, "queue_full")
                await _answer(send, receive, self._queue_full_error())
                return
            except _QueueTimeout:
                stats._bump(client, "queue_timeouts")
                await _answer(send, receive, self._queue_timeout_error())
                return

        held = _Held() if fault is not None else None
        stats._flight(client, +1)
        try:
            if self.settings.latency.per_request_s > 0:
                await asyncio.sleep(self.settings.latency.per_request_s)
            stats._bump(client, "processed")
            await self.app(scope, receive, held.send if held is not None else send)
        finally:
            stats._flight(client, -1)
            if gate is not None:
                gate.leave()

        if fault is None or held is None:
            return
        if fault.kind == "504-after-commit":
            await _send_error(send, _error(504, "The request timed out at the gateway before the server answered."))
        elif fault.kind == "drop-after-commit":
            await _drop(scope, receive, send)
        elif fault.kind == "slow" and await _still_connected_after(receive, fault.delay_s):
            for message in held.messages:
                await send(message)

    def _gate(self, client: str) -> _Gate | None:
        if self.limits.max_concurrent <= 0:
            return None
        gate = self._gates.get(client)
        if gate is None:
            gate = self._gates[client] = _Gate(self.limits.max_concurrent, max(0, self.limits.max_queue))
        return gate

    def _window(self, client: str) -> _Window:
        window = self._windows.get(client)
        if window is None:
            window = self._windows[client] = _Window()
        return window

    def _rate_error(self, wait_s: float) -> SandboxApiError:
        limits = self.limits
        err = _error(
            429,
            f"Too many requests: more than {limits.rate_requests} requests within {limits.rate_window_s:g} seconds.",
        )
        if self.policy.retry_after_on_429:
            err.headers["Retry-After"] = _retry_after(wait_s)
        return err

    def _queue_full_error(self) -> SandboxApiError:
        limits = self.limits
        return _error(
            429,
            f"Too many requests: {limits.max_concurrent} are being processed and {limits.max_queue} "
            "are waiting for this client.",
        )

    def _queue_timeout_error(self) -> SandboxApiError:
        err = _error(
            503,
            f"The request waited more than {self.limits.queue_timeout_s:g} seconds in the queue and was cancelled.",
        )
        err.headers["Retry-After"] = _retry_after(_DEFAULT_RETRY_AFTER_S)
        return err


# -- helpers ---------------------------------------------------------------------------------------


class _Held:
    """A ``send`` that keeps the app's response instead of sending it (post-commit faults)."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def send(self, message: Message) -> None:
        self.messages.append(message)


def _error(status: int, message: str) -> SandboxApiError:
    return SandboxApiError(status, ERROR_CODES[status], message)


def _too_large(limit: int) -> SandboxApiError:
    return _error(413, f"The request body is larger than the maximum of {limit} bytes.")


def _fault_error(fault: Fault) -> SandboxApiError:
    """The answer of a fault served at the door."""
    if fault.kind == "expire-token":
        return invalid_credentials()
    if fault.kind in ("429", "429-no-retry-after"):
        err = _error(429, "Too many requests reached. Retry the request later.")
        if fault.kind == "429":
            err.headers["Retry-After"] = _retry_after(fault.retry_after_s)
        return err
    if fault.kind == "502":
        err = _error(502, "The server received an invalid response from an upstream server.")
    else:
        err = _error(503, "The service is temporarily unavailable. Retry the request later.")
    err.headers["Retry-After"] = _retry_after(fault.retry_after_s)
    return err


def _retry_after(seconds: float) -> str:
    """HTTP delta-seconds are whole numbers: round up, so a client never comes back too early."""
    return str(max(0, math.ceil(seconds)))


async def _send_error(send: Send, err: SandboxApiError) -> None:
    payload = json.dumps(err.body()).encode()
    headers = [
        (b"content-type", b"application/json; charset=utf-8"),
        (b"content-length", str(len(payload)).encode()),
        *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in err.headers.items()),
    ]
    await send({"type": "http.response.start", "status": err.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload, "more_body": False})


async def _answer(send: Send, receive: Receive, err: SandboxApiError) -> None:
    """Refuse a request whose body is still unread: read (and drop) it first, so the connection
    stays reusable and a client still uploading sees the answer rather than a reset."""
    await _discard_body(receive)
    await _send_error(send, err)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _check_body(scope: Scope, receive: Receive, limit: int) -> tuple[bool, bytes | None]:
    """(too large?, body if it had to be read). A declared length is trusted; a chunked body is
    read up to the limit, since its size is only known at the end. A body found too large has
    been read to its end (and dropped) when this returns, so the 413 can be sent straight away;
    reading again would wait for a message that never comes."""
    length = _content_length(scope)
    if length is not None:
        if length > limit:
            await _discard_body(receive)
            return True, None
        return False, None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return False, b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        more = bool(message.get("more_body", False))
        if size > limit:
            if more:
                await _discard_body(receive)
            return True, None
        chunks.append(chunk)
        if not more:
            return False, b"".join(chunks)


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _discard_body(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that yields the already-read body once, then defers to the real one."""
    pending = True

    async def replayed() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


def _is_batch(scope: Scope) -> bool:
    return bool(scope["method"] == "POST" and scope["path"].rstrip("/").endswith("/$batch"))


def _batch_size(body: bytes) -> int:
    """Operations in a JSON ``$batch`` body; 1 when it is not one (the app will refuse it)."""
    try:
        requests = json.loads(body).get("requests")
    except (ValueError, AttributeError):
        return 1
    return max(1, len(requests)) if isinstance(requests, list) else 1


async def _wait_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _still_connected_after(receive: Receive, delay_s: float) -> bool:
    """Sleep ``delay_s`` unless the client hangs up first (then there is nobody to answer)."""
    try:
        await asyncio.wait_for(_wait_disconnect(receive), delay_s)
    except TimeoutError:
        return True
    return False


async def _drop(scope: Scope, receive: Receive, send: Send) -> None:
    """Close the connection without a response, through the server's abort extension.

    Without the extension (another server), the best ASGI allows is a response that starts and
    never completes: the client still sees a broken connection, but after a status line.
    """
    abort = ((scope.get("extensions") or {}).get(ABORT_EXTENSION) or {}).get("abort")
    if abort is None:
        await send({"type": "http.response.start", "status": 504, "headers": [(b"content-length", b"1")]})
        return
    abort()
    # Let the server notice the closed transport before this app returns; otherwise uvicorn
    # would log a "returned without starting response" error and try to send a 500.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(_wait_disconnect(receive), _DISCONNECT_WAIT_S)
