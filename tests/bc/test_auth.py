"""TokenProvider: msal's cache, invalidation after a 401, Entra errors without secrets.

msal runs for real; only the network is an httpx.MockTransport (fakes.FakeCloud).
"""

from __future__ import annotations

import datetime
import logging
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from pipeline.bc import BCClient, BCTarget, ClientCertificate, TokenProvider, auth
from pipeline.errors import BCAuthError, BCTransientError

from .fakes import AUTHORITY, SECRET, FakeCloud, FakeTime, make_policy, make_target

INVALID_CLIENT = {
    "error": "invalid_client",
    "error_description": "AADSTS7000215: Invalid client secret provided. Trace ID: 1 Correlation ID: 2",
    "error_codes": [7000215],
}


def _provider(cloud: FakeCloud, target: BCTarget | None = None) -> tuple[TokenProvider, httpx.Client]:
    http = httpx.Client(transport=httpx.MockTransport(cloud))
    return TokenProvider(target or make_target(), http), http


def _form(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(request.content.decode())


def test_nothing_is_fetched_before_the_first_token() -> None:
    cloud = FakeCloud()
    provider, http = _provider(cloud)
    with http:
        assert provider.tokens_fetched == 0
        assert cloud.token_requests == []


def test_tokens_come_from_msals_cache() -> None:
    cloud = FakeCloud()
    provider, http = _provider(cloud)
    with http:
        assert provider.token() == "tok-1"
        assert provider.token() == "tok-1"
    assert provider.tokens_fetched == 1
    (request,) = cloud.token_requests
    form = _form(request)
    assert form["grant_type"] == ["client_credentials"]
    assert form["client_id"] == ["app-1234"]
    assert form["scope"] == ["https://api.businesscentral.dynamics.com/.default"]
    assert form["client_secret"] == [SECRET]


def test_invalidate_forces_a_new_token() -> None:
    cloud = FakeCloud()
    provider, http = _provider(cloud)
    with http:
        assert provider.token() == "tok-1"
        provider.invalidate()
        assert provider.token() == "tok-2"
        assert provider.token() == "tok-2"
    assert provider.tokens_fetched == 2


def test_invalidating_an_already_replaced_token_keeps_the_new_one() -> None:
    # Two threads got a 401 with tok-1; the first invalidation replaced it, the second must not
    # throw away tok-2.
    cloud = FakeCloud()
    provider, http = _provider(cloud)
    with http:
        old = provider.token()
        provider.invalidate(old)
        assert provider.token() == "tok-2"
        provider.invalidate(old)
        assert provider.token() == "tok-2"
    assert provider.tokens_fetched == 2


def test_entra_refusal_is_an_auth_error_with_entras_code_and_no_secret() -> None:
    cloud = FakeCloud(token_error=INVALID_CLIENT)
    provider, http = _provider(cloud)
    with http, pytest.raises(BCAuthError) as info:
        provider.token()
    error = info.value
    assert error.code == "invalid_client"
    assert "AADSTS7000215: Invalid client secret provided." in str(error)
    assert "app-1234" in str(error)
    assert SECRET not in str(error)


def test_a_refusal_of_the_credentials_is_remembered_for_a_while(monkeypatch: pytest.MonkeyPatch) -> None:
    # Six threads whose token BC refused all ask for a new one; Entra must be asked once, not six times.
    cloud = FakeCloud(token_error=INVALID_CLIENT)
    provider, http = _provider(cloud)
    with http:
        for _ in range(3):
            with pytest.raises(BCAuthError, match="the client secret is wrong"):
                provider.token()
        assert len(cloud.token_requests) == 1
        # once the memory has lapsed (payimport watch runs for days) Entra is asked again
        monkeypatch.setattr(auth, "_REFUSAL_MEMORY_S", 0.0)
        cloud.token_error = None
        assert provider.token() == "tok-1"
    assert len(cloud.token_requests) == 2


@pytest.mark.parametrize(
    ("codes", "hint"),
    [
        ([7000215], "the client secret is wrong"),
        ([7000222], "the client secret has expired"),
        ([700016], "no app with this client id exists in the tenant"),
        ([], "the client secret is wrong"),  # found in the description when error_codes is missing
    ],
)
def test_entra_refusals_say_what_to_fix(codes: list[int], hint: str) -> None:
    description = f"AADSTS{codes[0] if codes else 7000215}: Entra's own words. Trace ID: 1"
    cloud = FakeCloud(token_error={"error": "invalid_client", "error_description": description, "error_codes": codes})
    provider, http = _provider(cloud)
    with http, pytest.raises(BCAuthError, match=hint) as info:
        provider.token()
    assert "Entra's own words" in str(info.value)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_an_unavailable_token_endpoint_is_transient_and_not_replayed_by_msal(status: int) -> None:
    # msal would turn a 5xx into a bare MsalServiceError and replay it from its HTTP cache for a while
    cloud = FakeCloud()
    answers = iter([status])  # the first token request fails, the next is the cloud's

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token") and next(answers, None) is not None:
            cloud.token_requests.append(request)
            return httpx.Response(status, json={"error": "server_error", "error_description": "down"})
        return cloud(request)

    with httpx.Client(transport=httpx.MockTransport(handler)) as http:
        provider = TokenProvider(make_target(), http)
        with pytest.raises(BCTransientError, match=f"is unavailable: HTTP {status}"):
            provider.token()
        assert provider.token() == "tok-1"  # at once: nothing remembered, nothing replayed
    assert len(cloud.token_requests) == 2


def test_a_secret_echoed_by_the_identity_provider_is_redacted() -> None:
    cloud = FakeCloud(token_error={"error": "invalid_client", "error_description": f"secret {SECRET} is wrong"})
    provider, http = _provider(cloud)
    with http, pytest.raises(BCAuthError) as info:
        provider.token()
    assert str(info.value).endswith("invalid_client: secret <redacted> is wrong")


def test_entra_temporarily_unavailable_is_transient() -> None:
    cloud = FakeCloud(token_error={"error": "temporarily_unavailable", "error_description": "try later"})
    provider, http = _provider(cloud)
    with http, pytest.raises(BCTransientError) as info:
        provider.token()
    assert info.value.code == "temporarily_unavailable"


def test_unknown_tenant_is_an_auth_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": "invalid_tenant", "error_description": "Tenant not found."})

    with (
        httpx.Client(transport=httpx.MockTransport(handler)) as http,
        pytest.raises(BCAuthError, match="Unable to get authority configuration for"),
    ):
        TokenProvider(make_target(), http).token()


def test_unreachable_identity_provider_is_retried_then_transient(fake_time: FakeTime) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("name or service not known")

    with (
        httpx.Client(transport=httpx.MockTransport(handler)) as http,
        BCClient(make_target(), http=http, retry=make_policy(fake_time, max_attempts=3)) as client,
        pytest.raises(BCTransientError) as info,
    ):
        _ = client.company_id
    assert "cannot reach the identity authority https://login.test/contoso" in str(info.value)
    assert len(fake_time.sleeps) == 2
    assert client.requests_made == 0  # no API request could be sent without a token


def test_client_stops_at_once_on_bad_credentials(fake_time: FakeTime) -> None:
    cloud = FakeCloud(token_error=INVALID_CLIENT)
    with (
        httpx.Client(transport=httpx.MockTransport(cloud)) as http,
        BCClient(make_target(), http=http, retry=make_policy(fake_time)) as client,
        pytest.raises(BCAuthError),
    ):
        _ = client.company_id
    assert len(cloud.token_requests) == 1
    assert fake_time.sleeps == []
    assert client.requests_made == 0


def _certificate() -> tuple[str, str, str]:
    """A throwaway RSA key, its self-signed certificate and the certificate's SHA-1 thumbprint."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "payimport test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    pem_cert = cert.public_bytes(serialization.Encoding.PEM).decode()
    return pem_key, pem_cert, cert.fingerprint(hashes.SHA1()).hex().upper()


def test_certificate_credential_sends_a_signed_assertion_and_never_the_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    pem_key, pem_cert, thumbprint = _certificate()
    cloud = FakeCloud()
    target = make_target()
    target = BCTarget(
        api_root=target.api_root,
        authority=AUTHORITY,
        client_id="app-1234",
        credential=ClientCertificate(private_key_pem=pem_key, thumbprint=thumbprint, public_certificate=pem_cert),
        company="CRONUS DE",
        validate_authority=False,
    )
    provider, http = _provider(cloud, target)
    with http:
        assert provider.token() == "tok-1"
    form = _form(cloud.token_requests[0])
    assert "client_secret" not in form
    assert form["client_assertion_type"] == ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"]
    assertion = form["client_assertion"][0]
    assert assertion.count(".") == 2  # a signed JWT
    key_body = pem_key.splitlines()[1]
    assert key_body not in assertion
    assert key_body not in caplog.text
    assert key_body not in repr(target)


def test_unusable_private_key_is_an_auth_error_without_the_key() -> None:
    bad_key = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"
    target = make_target()
    target = BCTarget(
        api_root=target.api_root,
        authority=AUTHORITY,
        client_id="app-1234",
        credential=ClientCertificate(private_key_pem=bad_key, thumbprint="00" * 20),
        company="CRONUS DE",
        validate_authority=False,
    )
    provider, http = _provider(FakeCloud(), target)
    with http, pytest.raises(BCAuthError) as info:
        provider.token()
    assert "InvalidKeyError" in str(info.value)
    assert "bm90IGEga2V5" not in str(info.value)


def test_microsoft_authority_is_validated_by_msal_without_extra_requests() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.host}{request.url.path}")
        if request.url.path.endswith("/openid-configuration"):
            base = "https://login.microsoftonline.com/contoso"
            body: dict[str, Any] = {
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "issuer": f"{base}/v2.0",
            }
            return httpx.Response(200, json=body)
        return httpx.Response(200, json={"token_type": "Bearer", "expires_in": 3600, "access_token": "ms-token"})

    target = BCTarget(
        api_root="https://api.businesscentral.dynamics.com/v2.0/contoso/Production/api/v2.0",
        authority="https://login.microsoftonline.com/contoso",
        client_id="app-1234",
        credential=make_target().credential,
        company="CRONUS DE",
    )
    with httpx.Client(transport=httpx.MockTransport(handler)) as http:
        assert TokenProvider(target, http).token() == "ms-token"
    assert seen == [
        "GET login.microsoftonline.com/contoso/v2.0/.well-known/openid-configuration",
        "POST login.microsoftonline.com/contoso/oauth2/v2.0/token",
    ]


def test_token_requests_use_a_shorter_read_timeout_than_api_requests(fake_time: FakeTime) -> None:
    cloud = FakeCloud(api=lambda request: httpx.Response(200, json={}))
    target = make_target()
    timeout = httpx.Timeout(connect=10.0, read=600.0, write=60.0, pool=60.0)  # Timeouts() defaults
    with (
        httpx.Client(transport=httpx.MockTransport(cloud), timeout=timeout) as http,
        BCClient(target, http=http, retry=make_policy(fake_time)) as client,
    ):
        client.get("x")
    assert cloud.token_requests[0].extensions["timeout"] == {"connect": 10.0, "read": 60.0, "write": 60.0, "pool": 60.0}
    assert cloud.api_requests[0].extensions["timeout"]["read"] == 600.0
