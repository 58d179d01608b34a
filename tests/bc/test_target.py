"""BCTarget and its credentials: normalised URLs, secrets hidden from repr."""

from __future__ import annotations

import dataclasses

import pytest

from pipeline.bc import BC_SCOPE, BCTarget, ClientCertificate, ClientSecret, Timeouts

from .fakes import API_ROOT, AUTHORITY, SECRET

PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"


def _target(**kw: object) -> BCTarget:
    values: dict[str, object] = {
        "api_root": API_ROOT + "/",
        "authority": AUTHORITY + "/",
        "client_id": "app",
        "credential": ClientSecret(SECRET),
        "company": "CRONUS DE",
    }
    values.update(kw)
    return BCTarget(**values)  # type: ignore[arg-type]


def test_defaults_and_normalisation() -> None:
    target = _target()
    assert target.api_root == API_ROOT
    assert target.authority == AUTHORITY
    assert target.scope == BC_SCOPE == "https://api.businesscentral.dynamics.com/.default"
    assert target.validate_authority is True
    assert target.ca_file is None
    assert target.timeouts == Timeouts(connect_s=10, read_s=600, write_s=60, pool_s=60)
    assert target.label == f"{API_ROOT}|CRONUS DE"
    assert _target(label="prod").label == "prod"


def test_replace_keeps_working() -> None:
    assert dataclasses.replace(_target(), label="x", company="Other").company == "Other"


def test_reprs_never_show_secrets() -> None:
    target = _target()
    assert SECRET not in repr(target)
    assert SECRET not in str(target)
    assert repr(ClientSecret(SECRET)) == "ClientSecret(secret=<hidden>)"
    cert = ClientCertificate(private_key_pem=PEM, thumbprint="AB12", public_certificate="CERT")
    assert "MIIEvQ" not in repr(_target(credential=cert))
    assert repr(cert) == "ClientCertificate(private_key_pem=<hidden>, thumbprint='AB12')"


@pytest.mark.parametrize(
    "kw",
    [
        {"api_root": "ftp://x"},
        {"authority": "http://login.microsoftonline.com/t"},
        {"company": ""},
    ],
)
def test_unusable_values_are_refused(kw: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        _target(**kw)


def test_fields_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        BCTarget(API_ROOT, AUTHORITY, "app", ClientSecret(SECRET), "c")  # type: ignore[misc]
