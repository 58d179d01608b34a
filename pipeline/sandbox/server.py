"""Run the sandbox as a real server (uvicorn, optionally TLS) and build clients that trust it.

Integration tests and the ``payimport sandbox serve`` command both need a server on a real
loopback socket: the client code under test (httpx, msal) must go through TCP, TLS and HTTP as it
will against BC. The socket is bound before the app is built, so a port of 0 becomes a real port
and the app factory already knows every URL (``SandboxInfo``) when it composes the app.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import msal  # type: ignore[import-untyped]
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from pipeline.sandbox.auth import DEFAULT_SCOPE, TokenAuthority
from pipeline.sandbox.limits import ABORT_EXTENSION, FaultPlan, LimitsMiddleware, LimitStats
from pipeline.sandbox.settings import SandboxSettings
from pipeline.sandbox.tls import ensure_certificates


@dataclass
class SandboxInfo:
    """Everything a client needs to reach a running sandbox, plus the handles tests steer it by.

    ``company_id`` is left for the app factory to fill in (it seeds the store, so it knows it).
    ``tokens``, ``faults`` and ``stats`` are the live objects the composed app uses: tests revoke
    tokens, add faults and read counters through them while the server runs.
    """

    base_url: str
    api: str
    authority: str
    token_url: str
    tenant: str
    environment: str
    client_id: str
    client_secret: str
    ca: Path | None
    settings: SandboxSettings
    tokens: TokenAuthority
    faults: FaultPlan
    stats: LimitStats
    scope: str = DEFAULT_SCOPE
    company_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def describe(self, *, include_secret: bool = False) -> dict[str, str | None]:
        """The JSON-able connection details (the ``sandbox serve`` ready line). The secret is left
        out unless asked for: it is fake, but output that carries it trains people to log secrets."""
        out: dict[str, str | None] = {
            "base_url": self.base_url,
            "api": self.api,
            "authority": self.authority,
            "token_url": self.token_url,
            "scope": self.scope,
            "tenant": self.tenant,
            "environment": self.environment,
            "company_id": self.company_id,
            "client_id": self.client_id,
            "ca": str(self.ca) if self.ca is not None else None,
        }
        if include_secret:
            out["client_secret"] = self.client_secret
        return out


AppFactory = Callable[[SandboxInfo], ASGIApp]


def compose_app(api: ASGIApp, info: SandboxInfo) -> ASGIApp:
    """The full sandbox app: auth routes before the API, everything under ``LimitsMiddleware``.

    The limits sit outermost so they see every request first; the client resolver is the token
    authority's, so discovery, token and unauthenticated requests bypass limits and faults and
    reach the API, which answers 401 itself.
    """
    inner = Starlette(routes=[*info.tokens.routes(), Mount("", app=api)])
    return LimitsMiddleware(
        inner,
        info.settings,
        info.tokens.client_of_scope,
        faults=info.faults,
        stats=info.stats,
        on_expire_token=info.tokens.expire_client,
    )


class _ConnectionControl:
    """Outermost ASGI layer: offers ``scope["extensions"][ABORT_EXTENSION]["abort"]``.

    ASGI cannot close a connection without answering, yet ``drop-after-commit`` must. uvicorn's
    ``send`` is a bound method of its request cycle, which holds the transport; this layer sits
    directly under uvicorn (``proxy_headers=False``: no wrapper in between) and lends out the
    transport's ``abort``. If a future uvicorn changes that, the extension is simply absent and
    the limits layer falls back to a truncated response.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            transport = getattr(getattr(send, "__self__", None), "transport", None)
            abort = getattr(transport, "abort", None)
            if callable(abort):
                extensions = dict(scope.get("extensions") or {})
                extensions[ABORT_EXTENSION] = {"abort": abort}
                scope["extensions"] = extensions
        await self.app(scope, receive, send)


class _ServerThread:
    """One uvicorn server on its own thread and event loop."""

    def __init__(self, settings: SandboxSettings, app_factory: AppFactory, *, shutdown_grace_s: int) -> None:
        self.settings = settings
        self._tmp_state: Path | None = None
        self._cert: tuple[Path, Path] | None = None
        self._sock = _bind(settings.host, settings.port)
        try:
            self.info = self._describe()
            app = _ConnectionControl(app_factory(self.info))
            config = uvicorn.Config(
                app,
                log_config=None,
                log_level="warning",
                access_log=False,
                proxy_headers=False,
                server_header=False,
                lifespan="auto",
                timeout_graceful_shutdown=shutdown_grace_s,
                ssl_certfile=str(self._cert[0]) if self._cert else None,
                ssl_keyfile=str(self._cert[1]) if self._cert else None,
            )
            self._server = uvicorn.Server(config)
        except BaseException:
            self._cleanup()
            raise
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"sandbox-{self.info.base_url}", daemon=True)

    def _describe(self) -> SandboxInfo:
        settings = self.settings
        port = self._sock.getsockname()[1]
        host = _url_host(settings.host)
        ca: Path | None = None
        if settings.tls:
            state_dir = settings.state_dir
            if state_dir is None:
                state_dir = self._tmp_state = Path(tempfile.mkdtemp(prefix="payimport-sandbox-"))
            ca, cert, key = ensure_certificates(state_dir, host)
            self._cert = (cert, key)
        scheme = "https" if settings.tls else "http"
        netloc_host = f"[{host}]" if ":" in host else host
        base_url = f"{scheme}://{netloc_host}:{port}"
        authority = f"{base_url}/{settings.tenant}"
        return SandboxInfo(
            base_url=base_url,
            api=f"{base_url}/v2.0/{settings.tenant}/{settings.environment}/api/v2.0",
            authority=authority,
            token_url=f"{authority}/oauth2/v2.0/token",
            tenant=settings.tenant,
            environment=settings.environment,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            ca=ca,
            settings=settings,
            tokens=TokenAuthority(settings),
            faults=FaultPlan.from_settings(settings),
            stats=LimitStats(),
        )

    def _run(self) -> None:
        try:
            self._server.run(sockets=[self._sock])
        except BaseException as exc:  # SystemExit too: uvicorn exits that way on startup failure
            self.error = exc

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def start(self, timeout_s: float) -> None:
        """Start serving; return once the listening socket accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive():
                self._cleanup()
                raise RuntimeError(f"the sandbox server failed to start: {self.error!r}")
            if time.monotonic() > deadline:
                self.stop(timeout_s)
                raise TimeoutError(f"the sandbox server did not start within {timeout_s} s")
            time.sleep(0.005)

    def stop(self, timeout_s: float) -> None:
        """Ask uvicorn to finish (graceful, then forced) and release the socket and temp files."""
        self._server.should_exit = True
        if self._thread.ident is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join(timeout_s)
        self._cleanup()

    def _cleanup(self) -> None:
        self._sock.close()
        if self._tmp_state is not None:
            shutil.rmtree(self._tmp_state, ignore_errors=True)
            self._tmp_state = None


@contextlib.contextmanager
def run_in_thread(
    settings: SandboxSettings,
    app_factory: AppFactory,
    *,
    startup_timeout_s: float = 15.0,
    shutdown_grace_s: int = 2,
) -> Iterator[SandboxInfo]:
    """Serve ``app_factory(info)`` on ``settings.host``/``settings.port`` in a background thread.

    Port 0 picks a free port (``info.base_url`` has the real one). With ``settings.tls`` the
    certificates come from ``settings.state_dir`` (a temporary directory when it is None, removed
    on exit). Requests still running at exit get ``shutdown_grace_s`` seconds, then are cancelled.
    """
    server = _ServerThread(settings, app_factory, shutdown_grace_s=shutdown_grace_s)
    server.start(startup_timeout_s)
    try:
        yield server.info
    finally:
        server.stop(startup_timeout_s)


def serve_forever(
    settings: SandboxSettings,
    app_factory: AppFactory,
    on_ready: Callable[[SandboxInfo], None],
    *,
    shutdown_grace_s: int = 5,
) -> None:
    """Serve until SIGTERM or SIGINT (or until the server dies), calling ``on_ready`` once it
    accepts connections. For the CLI: call it from the main thread, where signals are delivered."""
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, request_stop)
    try:
        server = _ServerThread(settings, app_factory, shutdown_grace_s=shutdown_grace_s)
        server.start(15.0)
        try:
            on_ready(server.info)
            while not stop.wait(0.2):
                if not server.alive:
                    raise RuntimeError(f"the sandbox server stopped unexpectedly: {server.error!r}")
        finally:
            server.stop(shutdown_grace_s + 5.0)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# -- clients -------------------------------------------------------------------------------------


def client_ssl_context(info: SandboxInfo) -> ssl.SSLContext:
    """A verifying context that trusts the sandbox's CA (and only it, when the sandbox has one)."""
    if info.ca is None:
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=str(info.ca))


def make_http_client(info: SandboxInfo, *, timeout: float | httpx.Timeout = 30.0) -> httpx.Client:
    """An httpx client for the sandbox: its CA trusted, proxies and ``*_CA_BUNDLE`` variables
    ignored (``trust_env=False``), since the sandbox is local and has its own CA."""
    return httpx.Client(verify=client_ssl_context(info), timeout=timeout, trust_env=False)


def make_msal_app(info: SandboxInfo, http_client: httpx.Client) -> msal.ConfidentialClientApplication:
    """An msal client-credentials app against the sandbox's authority.

    ``http_client`` carries the trust: msal's own ``verify=`` is overridden when
    ``REQUESTS_CA_BUNDLE`` is set. ``validate_authority=False, instance_discovery=False`` stop msal
    asking login.microsoftonline.com about a host it does not know. msal needs https: start the
    sandbox with ``tls=True``. The constructor already fetches the discovery document.
    """
    if not info.authority.startswith("https://"):
        raise ValueError("msal only accepts an https authority: run the sandbox with tls=True")
    return msal.ConfidentialClientApplication(
        info.client_id,
        client_credential=info.client_secret,
        authority=info.authority,
        http_client=http_client,
        validate_authority=False,
        instance_discovery=False,
    )


# -- sockets ---------------------------------------------------------------------------------------


def _url_host(host: str) -> str:
    """The host clients should dial: a wildcard bind address is reached through loopback."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "::1"
    return host.strip("[]")


def _bind(host: str, port: int) -> socket.socket:
    """A bound TCP socket (not yet listening; uvicorn does that), so port 0 is resolved early."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host.strip("[]") or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        if os.name != "nt":  # elsewhere it lets a fixed port be rebound right after a restart
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except BaseException:
        sock.close()
        raise
    return sock
