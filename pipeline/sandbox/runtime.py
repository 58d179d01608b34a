"""Assemble and start a sandbox: store, seed, API, auth routes and limits, served by uvicorn.

``start_sandbox`` is what tests and the embedded default use (in-process, a context manager);
``payimport sandbox serve`` runs the same assembly until it is told to stop.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

from starlette.types import ASGIApp

from pipeline.sandbox.app import create_api
from pipeline.sandbox.seed import seed_empty, seed_store
from pipeline.sandbox.server import SandboxInfo, compose_app, run_in_thread, serve_forever
from pipeline.sandbox.settings import SandboxSettings
from pipeline.sandbox.store import Store


def database_path(settings: SandboxSettings) -> str:
    """``--db`` if given, else ``sandbox.db`` in the state folder, else in memory (gone at exit)."""
    if settings.db_path is not None:
        return str(settings.db_path)
    if settings.state_dir is not None:
        Path(settings.state_dir).mkdir(parents=True, exist_ok=True)
        return str(Path(settings.state_dir) / "sandbox.db")
    return ":memory:"


def app_factory(settings: SandboxSettings, stores: list[Store]) -> Callable[[SandboxInfo], ASGIApp]:
    """Builds the app once the server knows its URLs; the store it opens goes into ``stores``."""

    def build(info: SandboxInfo) -> ASGIApp:
        store = Store(database_path(settings))
        stores.append(store)
        company = seed_store(store, settings.seed) or seed_empty(store)
        info.company_id = company
        info.extra["store"] = store
        api = create_api(settings, store, info.api, info.tokens.authenticate)
        info.extra["locks"] = api.state.dispatcher.locks  # per-journal lock counters, for tests and benches
        return compose_app(api, info)

    return build


@contextlib.contextmanager
def start_sandbox(settings: SandboxSettings) -> Iterator[SandboxInfo]:
    """Serve a sandbox in a background thread for the duration of the ``with`` block."""
    stores: list[Store] = []
    try:
        with run_in_thread(settings, app_factory(settings, stores)) as info:
            yield info
    finally:
        for store in stores:
            store.close()


def serve(settings: SandboxSettings, on_ready: Callable[[SandboxInfo], None]) -> None:
    """Serve until SIGTERM/SIGINT (the ``payimport sandbox serve`` command)."""
    stores: list[Store] = []
    try:
        serve_forever(settings, app_factory(settings, stores), on_ready)
    finally:
        for store in stores:
            store.close()
