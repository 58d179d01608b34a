"""``payimport init``: a first config.yaml, commented, for the embedded sandbox or a real tenant.

A new user should not have to guess a ``target:`` block from the code. The file written here is
checked by loading it exactly as a run would before it is left on disk, and an existing file is
never replaced: a config holds a tenant's settings and profiles that took work to get right.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from pipeline.config import WatchFolders, parse_config
from pipeline.errors import ConfigError

HEADER = """\
# payimport configuration, written by `payimport init`.
# Every key: docs/profiles.md, "Configuration"; an editor with the YAML language server checks
# this file against the JSON Schema named on the first line.
# Secrets never go here: they come from environment variables, whose *names* are below.
version: 1
"""

SANDBOX_TARGET = """
# Where payments go: the embedded sandbox, a local stand-in for Business Central that payimport
# starts for each run (its data stays in .payimport/sandbox). Nothing reaches a real company.
# `payimport init --tenant ...` writes the block for a real tenant.
target:
  kind: sandbox
  sandbox:
    seed: demo               # demo: customers and open invoices to try imports against
"""

TENANT_TARGET = """
# Where payments go: a real Business Central company. The app registration's credentials come
# from the environment variables named here (set them in the job's environment, never in this file):
#   {client_id_env}      the app's client id
#   {client_secret_env}  a client secret, or else
#   {certificate_env} + {certificate_thumbprint_env}  a PEM file and its thumbprint
target:
  kind: bc
  tenant: "{tenant}"
  environment: "{environment}"
  company: "{company}"          # the company's name or id (required)
  client_id_env: {client_id_env}
  client_secret_env: {client_secret_env}
  certificate_env: {certificate_env}
  certificate_thumbprint_env: {certificate_thumbprint_env}

journal:
  # The G/L account that balances the payment journal: your bank account's G/L account number,
  # e.g. "2910". A real tenant has no default; null creates the journal without one.
  balancing_account: null
"""

COMMON = """
state_dir: .payimport          # the ledger (what was sent, exactly once) and the run lock
runs_dir: payimport-runs       # one folder per run with its reports
# runs_retention_days: 90      # delete run folders older than this (default: keep all)

# One profile per bank or remittance layout; the key is the name `--profile` takes.
#   payimport profile list                     the profiles shipped with payimport
#   payimport profile suggest FILE --name NAME a profile inferred from your file, added here
# A library profile is used as it is, or with keys overridden:
#   mybank:
#     use: sparkasse-csv-mt940
#     extract: {invoice_number: 'RE-(\\d+)'}
profiles:
"""


@dataclass(frozen=True)
class TenantChoice:
    """What ``init --tenant`` writes into the target block (no secrets, only variable names)."""

    tenant: str
    environment: str = "Production"
    company: str = ""


def config_text(tenant: TenantChoice | None, schema: Path | None) -> str:
    """The commented config.yaml for the sandbox (``tenant`` None) or for a real tenant."""
    from pipeline.config import Target

    first = f"# yaml-language-server: $schema={schema.as_uri()}\n" if schema is not None else ""
    if tenant is None:
        target = SANDBOX_TARGET
    else:
        names = Target().model_dump(include={"client_id_env", "client_secret_env", "certificate_env"})
        names["certificate_thumbprint_env"] = Target().certificate_thumbprint_env
        target = TENANT_TARGET.format(
            tenant=tenant.tenant, environment=tenant.environment, company=tenant.company, **names
        )
    return first + HEADER + target + COMMON


def write_starter(folder: Path, tenant: TenantChoice | None, *, inbox: bool, schema: Path | None) -> list[Path]:
    """Write ``folder/config.yaml`` (and the watch folders when ``inbox``); return what was created.

    Refuses (``ConfigError``) when config.yaml exists. The text is validated before it is written,
    so a config that ``init`` wrote always loads; a tenant's without ``--company`` is left for the
    person to complete (``validate`` then names the missing company)."""
    path = folder / "config.yaml"
    if path.exists():
        raise ConfigError(f"{path} exists; payimport init never replaces a config (move it away first)")
    text = config_text(tenant, schema)
    if tenant is None or tenant.company:
        parse_config(yaml.safe_load(text), str(path))
    folder.mkdir(parents=True, exist_ok=True)
    with path.open("x", encoding="utf-8") as out:  # "x": a file that appeared meanwhile is not replaced
        out.write(text)
    created = [path]
    if inbox:
        names = WatchFolders()
        for name in (names.inbox, names.processing, names.done, names.failed):
            sub = folder / name
            if not sub.exists():
                sub.mkdir()
                created.append(sub)
    return created
