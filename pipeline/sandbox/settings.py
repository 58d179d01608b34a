"""Everything that shapes the sandbox: identity, limits, latency, faults. Frozen, set once."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

FaultKind = Literal[
    "429",  # too many requests, with Retry-After
    "429-no-retry-after",
    "502",
    "503",
    "504-after-commit",  # the operation ran and committed, then the gateway gave up
    "drop-after-commit",  # the operation ran and committed, then the connection was closed
    "slow",  # the response comes after ``delay_s`` (past the client's timeout)
    "expire-token",  # the caller's token is treated as expired from this request on
]


@dataclass(frozen=True)
class Limits:
    """BC online's documented limits per client (service principal); scale down in tests."""

    max_concurrent: int = 5
    max_queue: int = 95
    queue_timeout_s: float = 480.0
    rate_requests: int = 6000
    rate_window_s: float = 300.0
    max_batch_operations: int = 100
    max_body_bytes: int = 350 * 1024 * 1024
    max_page_size: int = 20_000


@dataclass(frozen=True)
class Latency:
    """Emulated server time: per HTTP request, and per operation (each part of a ``$batch``)."""

    per_request_s: float = 0.0
    per_operation_s: float = 0.0


@dataclass(frozen=True)
class Locking:
    """BC's locks on a journal: ``GenJournalLine.OnInsert`` locks the table, so writes into one
    journal batch run one at a time, each holding the lock for its operation's latency.

    ``per_journal`` False restores one store-wide order without waiting (no lock errors ever).
    A writer that waits longer than ``timeout_s`` fails with BC's lock-timeout error (BC online's
    SQL lock timeout is 30 s). ``deadlock_writes`` (journal-write numbers, counted from 1 per
    sandbox) and ``deadlock_probability`` (seeded by ``seed``) pick writes that are chosen as a
    deadlock victim: refused, nothing of them kept.
    """

    per_journal: bool = True
    timeout_s: float = 30.0
    deadlock_writes: tuple[int, ...] = ()
    deadlock_probability: float = 0.0
    seed: int = 0


@dataclass(frozen=True)
class Fault:
    """One scripted fault. It fires on the requests it selects, counted per sandbox from 1.

    Selection: ``requests`` (request numbers), ``route`` (a regex searched in the path) and
    ``probability`` (seeded) combine with AND; an empty selector selects every request.
    ``times`` caps how often it fires (0 = no cap).
    """

    kind: FaultKind
    requests: tuple[int, ...] = ()
    route: str | None = None
    methods: tuple[str, ...] = ()
    probability: float = 1.0
    times: int = 0
    retry_after_s: float = 1.0
    delay_s: float = 30.0


@dataclass(frozen=True)
class SandboxSettings:
    """How one sandbox runs."""

    host: str = "127.0.0.1"
    port: int = 0
    db_path: Path | None = None
    state_dir: Path | None = None
    seed: str | None = "demo"
    tls: bool = False
    auth: Literal["token", "none"] = "token"
    tenant: str = "sandbox-tenant"
    environment: str = "sandbox"
    client_id: str = "payimport-sandbox-client"
    client_secret: str = "sandbox-secret-not-for-production"
    more_clients: tuple[tuple[str, str], ...] = ()
    """Further app registrations (client id, secret): BC counts its limits per client id, so a
    client spreading requests over several principals is tested against each one's limits."""
    token_ttl_s: float = 3600.0
    limits: Limits = Limits()
    latency: Latency = Latency()
    locking: Locking = Locking()
    faults: tuple[Fault, ...] = ()
    fault_seed: int = 0
    extra: dict[str, str] = field(default_factory=dict)


_FAULT_KINDS = frozenset(FaultKind.__args__)  # type: ignore[attr-defined]


def parse_fault(spec: str) -> Fault:
    """A fault from its command-line form: ``KIND[@KEY=VALUE;KEY=VALUE...]``.

    Keys: ``requests`` (comma-separated numbers), ``route`` (regex), ``methods`` (comma-separated),
    ``probability``, ``times``, ``retry_after`` (seconds), ``delay`` (seconds). Examples:
    ``429@requests=3,4``, ``504-after-commit@route=\\$batch;times=1``, ``503@probability=0.05``.
    """
    kind, _, rest = spec.partition("@")
    kind = kind.strip()
    if kind not in _FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; use one of {sorted(_FAULT_KINDS)}")
    values: dict[str, object] = {}
    for item in filter(None, (p.strip() for p in rest.split(";"))):
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"fault option {item!r} needs KEY=VALUE")
        key = key.strip()
        try:
            if key == "requests":
                values["requests"] = tuple(int(x) for x in value.split(",") if x.strip())
            elif key == "route":
                values["route"] = value
            elif key == "methods":
                values["methods"] = tuple(m.strip().upper() for m in value.split(",") if m.strip())
            elif key == "probability":
                values["probability"] = float(value)
            elif key == "times":
                values["times"] = int(value)
            elif key == "retry_after":
                values["retry_after_s"] = float(value)
            elif key == "delay":
                values["delay_s"] = float(value)
            else:
                raise ValueError(f"unknown fault option {key!r}")
        except ValueError as exc:
            raise ValueError(f"fault {spec!r}: {exc}") from None
    return Fault(kind=kind, **values)  # type: ignore[arg-type]
