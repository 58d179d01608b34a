"""Opening a session with Business Central: the state lock, the ledger and the client, for a real
tenant or the embedded sandbox.

There is one way to do it, used by ``payimport run``, by ``payimport watch`` and by a program that
calls the library (a scheduler task): ``open_session``. It takes the state lock *before* it opens
the ledger, so a library caller and a nightly ``payimport run`` can never post at the same time.
The folder watcher keeps one client for its whole life and takes the lock per file
(``hold_state``), which is why the two halves are also offered on their own.

This is the only module outside the CLI that imports the sandbox: the client itself knows nothing
of it (``tests/test_boundaries.py`` keeps it so).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.bc import Backoff, BCClient, BCTarget, ClientCertificate, ClientSecret
from pipeline.config import Config, Principal, Timeouts
from pipeline.errors import ConfigError
from pipeline.ledger import SANDBOX_SCOPE_PREFIX, Ledger
from pipeline.lock import hold_lock

if TYPE_CHECKING:
    from pipeline.sandbox.server import SandboxInfo

SANDBOX_LABEL = SANDBOX_SCOPE_PREFIX
LEDGER_FILE = "ledger.sqlite"
LOCK_FILE = "payimport.lock"


@dataclass(frozen=True)
class Session:
    """What an import needs from the outside world, opened together and closed together."""

    config: Config
    client: BCClient
    ledger: Ledger

    @property
    def scope(self) -> str:
        """What the ledger remembers rows per (see ``ledger_scope``)."""
        return ledger_scope(self.client)


@contextlib.contextmanager
def open_session(
    config: Config, environ: Mapping[str, str], *, command: str = "payimport (library)", lock: bool = True
) -> Iterator[Session]:
    """Lock the state folder (unless ``lock`` is False, for a dry run), open the ledger, connect.

    ``command`` is what a second process is told holds the lock. Raises ``LockError`` when another
    run holds it, ``ConfigError`` when the target cannot be built from config and environment.
    """
    with contextlib.ExitStack() as stack:
        if lock:
            stack.enter_context(hold_lock(config.state_dir / LOCK_FILE, command))
        ledger = stack.enter_context(Ledger.open(config.state_dir / LEDGER_FILE))
        client = stack.enter_context(connect(config, environ))
        yield Session(config, client, ledger)


@contextlib.contextmanager
def hold_state(config: Config, command: str) -> Iterator[Ledger]:
    """The state lock and the ledger, for a caller that already holds a client (the watcher)."""
    with hold_lock(config.state_dir / LOCK_FILE, command), Ledger.open(config.state_dir / LEDGER_FILE) as ledger:
        yield ledger


@contextlib.contextmanager
def connect(config: Config, environ: Mapping[str, str]) -> Iterator[BCClient]:
    """A client of the configured target; for ``kind: sandbox`` the sandbox runs in-process meanwhile.

    The embedded sandbox is served over TLS with token auth and reached through msal and httpx,
    exactly as a tenant is: the only difference is where the URLs point.
    """
    retry = Backoff(config.posting.retry)
    connections = config.posting.max_in_flight + 4
    if config.target.kind == "bc":
        with BCClient(build_target(config, environ), retry=retry, max_connections=connections) as client:
            client.add_principals(
                [
                    BCClient(target, retry=Backoff(config.posting.retry), max_connections=connections)
                    for target in principal_targets(config, environ)
                ]
            )
            yield client
        return
    from pipeline.sandbox.runtime import start_sandbox
    from pipeline.sandbox.settings import Latency, SandboxSettings

    sb = config.target.sandbox
    state = sb.state_dir.resolve()
    settings = SandboxSettings(
        state_dir=state,
        seed=sb.seed,
        tls=True,
        latency=Latency(per_request_s=sb.latency_request_s, per_operation_s=sb.latency_operation_s),
    )
    with start_sandbox(settings) as info:
        target = target_for_sandbox(info, config.target.timeouts, label=f"{SANDBOX_LABEL} ({state})")
        with BCClient(target, retry=retry, max_connections=connections) as client:
            yield client


def build_target(config: Config, environ: Mapping[str, str]) -> BCTarget:
    """A real tenant's target from config.yaml plus the secrets in the environment."""
    t = config.target
    return _target(config, environ, Principal(**t.model_dump(include=set(Principal.model_fields))), "target")


def principal_targets(config: Config, environ: Mapping[str, str]) -> list[BCTarget]:
    """The targets of ``target.principals``: the same company, each principal's own identity."""
    return [_target(config, environ, p, f"target.principals[{i}]") for i, p in enumerate(config.target.principals, 1)]


def _target(config: Config, environ: Mapping[str, str], principal: Principal, where: str) -> BCTarget:
    t = config.target
    client_id = environ.get(principal.client_id_env, "")
    if not client_id:
        raise ConfigError(f"{where}: set the environment variable {principal.client_id_env} to the app's client id")
    api_root = f"{t.api_url.rstrip('/')}/v2.0/{t.tenant}/{t.environment}/api/v2.0"
    return BCTarget(
        api_root=api_root,
        authority=f"{t.authority_url.rstrip('/')}/{t.tenant}",
        scope=t.scope,
        client_id=client_id,
        credential=_credential(principal, environ, where),
        company=t.company,
        ca_file=Path(t.ca_file) if t.ca_file else None,
        validate_authority=t.validate_authority,
        timeouts=t.timeouts,
        label=f"{t.tenant}/{t.environment}/{t.company}",
    )


def _credential(p: Principal, environ: Mapping[str, str], where: str) -> ClientSecret | ClientCertificate:
    """The client secret, or else the certificate, named by config and found in the environment."""
    secret = environ.get(p.client_secret_env or "", "")
    if secret:
        return ClientSecret(secret)
    certificate = environ.get(p.certificate_env or "", "")
    if not certificate:
        raise ConfigError(
            f"{where}: set {p.client_secret_env} (client secret) or {p.certificate_env} (PEM file with the "
            "private key and certificate) in the environment"
        )
    thumbprint = environ.get(p.certificate_thumbprint_env or "", "")
    if not thumbprint:
        raise ConfigError(f"{where}: {p.certificate_env} is set; also set {p.certificate_thumbprint_env}")
    try:
        pem = Path(certificate).read_text(encoding="ascii")
    except OSError as exc:
        raise ConfigError(
            f"{where}: cannot read the certificate named by {p.certificate_env}: {exc.strerror}"
        ) from None
    return ClientCertificate(private_key_pem=pem, thumbprint=thumbprint, public_certificate=None)


def target_for_sandbox(info: SandboxInfo, timeouts: Timeouts | None = None, *, label: str = "sandbox") -> BCTarget:
    """The target of a running sandbox: its company, its CA, and no authority validation (its
    token endpoint is not a Microsoft host). The sandbox must run with ``tls=True``: msal only
    accepts an https authority."""
    if info.company_id is None:
        raise ValueError("the sandbox has no company yet (it is filled in when the app is built)")
    return BCTarget(
        api_root=info.api,
        authority=info.authority,
        client_id=info.client_id,
        credential=ClientSecret(info.client_secret),
        company=info.company_id,
        scope=info.scope,
        ca_file=info.ca,
        validate_authority=False,
        timeouts=timeouts if timeouts is not None else Timeouts(),
        label=label,
    )


def ledger_scope(client: BCClient) -> str:
    """What the ledger remembers rows per: one company of one environment, however config spells it.

    The company's id (a GUID) and the environment name identify it; the tenant (a domain or a
    GUID) and the company's name are left out, because a config that switches between spellings
    must not make the ledger blind. The environment stays in: a copied environment keeps its
    companies' ids. The embedded sandbox is scoped by its state folder (its URL changes port on
    every start, its demo company id is always the same).
    """
    company = client.company_id.lower()
    if client.target.label.startswith(SANDBOX_LABEL):
        return f"{client.target.label}|{company}"
    environment = client.target.api_root.rstrip("/").split("/")[-3].lower()
    return f"bc|{environment}|{company}"
