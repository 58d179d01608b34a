"""Where the BC client talks to and as whom: one frozen value, built once from config (or a sandbox).

The client never reads config files or environment variables itself; everything it needs to reach
a company (API root, Entra authority, credential, extra CA, timeouts) travels in a ``BCTarget``;
its timeouts are the config's own type. The credential classes hide their secrets in ``repr`` so a
target can be logged or shown in a traceback without leaking them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pipeline.config import Timeouts

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
    timeouts: Timeouts = field(default_factory=Timeouts)
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
