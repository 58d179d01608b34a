"""Where the BC client talks to and as whom: one frozen value, built once from config (or a sandbox).

The client never reads config files or environment variables itself; everything it needs to reach
a company (API root, Entra authority, credential, extra CA, timeouts) travels in a ``BCTarget``.
The credential classes hide their secrets in ``repr`` so a target can be logged or shown in a
traceback without leaking them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the client must not import the sandbox (uvicorn, starlette) just to run
    from pipeline.sandbox.server import SandboxInfo

BC_SCOPE = "https://api.businesscentral.dynamics.com/.default"
"""The client-credentials scope of the Business Central API (bc-api.md 3.2)."""

_HIDDEN = "<hidden>"


@dataclass(frozen=True)
class ClientSecret:
    """An app registration's client secret. Its ``repr`` never shows the value."""

    secret: str = field(repr=False)

    def __repr__(self) -> str:
        return f"ClientSecret(secret={_HIDDEN})"


@dataclass(frozen=True)
class ClientCertificate:
    """A certificate credential: the PEM private key, the certificate's SHA-1 thumbprint (hex) and,
    optionally, the PEM public certificate (msal then sends it as ``x5c`` for subject-name/issuer
    authentication). Its ``repr`` shows the thumbprint, never the key."""

    private_key_pem: str = field(repr=False)
    thumbprint: str
    public_certificate: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return f"ClientCertificate(private_key_pem={_HIDDEN}, thumbprint={self.thumbprint!r})"


Credential = ClientSecret | ClientCertificate


@dataclass(frozen=True)
class Timeouts:
    """httpx timeouts, in seconds. ``read_s`` is long on purpose: a big ``$batch`` can take minutes
    and BC gives up on its own after 8-10 minutes (408/504); a shorter read timeout only turns a
    slow success into an outcome nobody knows."""

    connect_s: float = 10.0
    read_s: float = 600.0
    write_s: float = 60.0
    pool_s: float = 60.0


@dataclass(frozen=True, kw_only=True)
class BCTarget:
    """One BC company as an API client sees it.

    ``api_root`` is the API v2.0 root (``https://api.businesscentral.dynamics.com/v2.0/{tenant}/
    {environment}/api/v2.0``; a trailing ``/`` is dropped). ``company`` is a company name,
    display name or id. ``ca_file`` is an extra CA to trust (the standalone sandbox, or a TLS
    inspecting proxy). ``validate_authority`` is False only for a non-Microsoft identity host such
    as the sandbox: msal then skips instance discovery at login.microsoftonline.com too.
    ``label`` names the target in reports; empty means ``api_root|company``. Keyword-only, so
    the order of fields is never a question.
    """

    api_root: str
    authority: str
    client_id: str
    credential: Credential
    company: str
    scope: str = BC_SCOPE
    ca_file: Path | None = None
    validate_authority: bool = True
    timeouts: Timeouts = Timeouts()
    label: str = ""

    def __post_init__(self) -> None:
        if not self.api_root.startswith(("https://", "http://")):
            raise ValueError(f"api_root must be an http(s) URL, not {self.api_root!r}")
        if not self.authority.startswith("https://"):
            raise ValueError(f"authority must be an https URL (msal refuses anything else), not {self.authority!r}")
        if not self.company:
            raise ValueError("company must name a company (name, display name or id)")
        object.__setattr__(self, "api_root", self.api_root.rstrip("/"))
        object.__setattr__(self, "authority", self.authority.rstrip("/"))
        if not self.label:
            object.__setattr__(self, "label", f"{self.api_root}|{self.company}")


def target_for_sandbox(info: SandboxInfo, timeouts: Timeouts = Timeouts(), *, label: str = "sandbox") -> BCTarget:
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
        timeouts=timeouts,
        label=label,
    )
