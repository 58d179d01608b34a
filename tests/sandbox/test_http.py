"""End-to-end tests of the assembled sandbox over loopback HTTP (httpx, msal), against bc-api.md.

Everything here goes through a real socket: uvicorn, the limits middleware, the token authority,
the router, the rules and the store, as a client of BC online would meet them. Expected values
come from ``reference/bc-api.md`` (sections 1-3 and 5) and from the demo seed
(``pipeline/sandbox/seed.py``: customers C10000..C99000, C99000 blocked with type All, posted open
invoices RE-2026-0091.. and INV-5001.., a GENERAL journal with balancing account 2910 and the
No. Series GJNL-RCPT starting at G02001), never from what the code happened to return.

One sandbox (``--auth none``, demo seed, in memory) serves the whole module; every test that
writes uses journals of its own. Tests that need other settings (TLS and tokens, short token
lifetimes, small limits, latency, a database file, posting) start a sandbox of their own.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipeline.sandbox import seed
from pipeline.sandbox.app import wait_out
from pipeline.sandbox.auth import ANONYMOUS_CLIENT_ID
from pipeline.sandbox.runtime import start_sandbox
from pipeline.sandbox.server import SandboxInfo, make_http_client, make_msal_app
from pipeline.sandbox.settings import Fault, Latency, Limits, SandboxSettings

# --- what the specification and the demo seed say ---------------------------------------------------

EMPTY_GUID = "00000000-0000-0000-0000-000000000000"
GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
CORRELATION = re.compile(rf"  CorrelationId:  {GUID}\.$")  # bc-api.md 3.5: "<text>  CorrelationId:  <guid>."
ETAG = re.compile(r'^W/".+"$')  # bc-api.md 3.3
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

MISSING_IF_MATCH = (  # bc-api.md 3.4, verbatim
    "Could not validate the client concurrency token required by the service. "
    "Please provide a valid token in the client request."
)
FILTERS_NOT_SPECIFIED = "You must specify a journal batch ID or a journal ID to get a journal line."  # 1.2
JOURNAL_ID_NAME_MISMATCH = "The Journal Id and Journal Display Name do not match."
CANNOT_EDIT_JOURNAL_ID = "The Journal Id cannot be changed."
CANNOT_EDIT_BATCH_NAME = "The Journal Batch Display Name cannot be changed."
CUSTOMER_ID_NOT_FOUND = 'The "customerId" does not match to a Customer.'
# An unknown number fails the page field's TableRelation before any trigger (bc-behaviours-wave2 G5).
TABLE_RELATION = "Internal_InvalidTableRelation"


def customer_not_related(number: str) -> str:
    return (
        f"The field Account No. of table Gen. Journal Line contains a value ({number}) that cannot be found in "
        "the related table (Customer)."
    )


CUSTOMER_VALUES_DONT_MATCH = "The customer values do not match to a specific Customer."
APPLIES_TO_ID_NOT_FOUND = 'The "appliesToInvoiceId" should be the ID of an Open, Paid, Corrective, or Canceled Invoice.'
APPLIES_TO_VALUES_DONT_MATCH = "The Applies To Invoice values do not match to the same Invoice."
BALANCING_ACCOUNT_NOT_FOUND = 'The "balancingAccountNumber" does not match to a G/L Account.'
NOTHING_TO_POST = "There is nothing to post."
NO_CUST_LEDGER_ENTRY = "There is no Cust. Ledger Entry within the filter."
TEMPLATE = "CASHRCPT"  # the demo's customer payments template (bc-api.md 1.1)

CUSTOMER_NAMES = {  # seed.DEMO_DATA, as the seed file format spells them
    "C10000": "Müller Maschinenbau GmbH",
    "C10100": "Bäckerei Schäfer KG",
    "C10200": "Fernández Logística S.L.",
    "C10300": "Weber, Sohn & Partner",
    "C10400": "Jansen Handel B.V.",
    "C20000": "Northwind Traders",
    "C30000": "Graphic Design Institute",
    "C40000": "Fabrikam Inc",
    "C50000": "Adventure Works",
    "C60000": "Tailspin Toys",
    "C70000": "Wide World Importers",
    "C80000": "Litware Inc",
    "C90000": "Proseware Inc",
    "C95000": "Lucerne Publishing",
    "C99000": "Coho Winery",
}
BLOCKED_CUSTOMER = "C99000"
C10000_OPEN_INVOICES = {  # posted, open, sell-to = bill-to = C10000; amounts include 19 % VAT
    "RE-2026-0091": Decimal("1250.00"),
    "RE-2026-0094": Decimal("84.99"),
    "RE-2026-0097": Decimal("2045.50"),
    "RE-2026-0099": Decimal("19.01"),
    "RE-2026-0101": Decimal("1190.00"),
    "RE-2026-0107": Decimal("714.00"),
    "INV-5010": Decimal("12.00"),
}
DEMO_INVOICES = 24
BALANCING_ACCOUNT = "2910"

# --- helpers ------------------------------------------------------------------------------------------

_codes = itertools.count(1)


def new_code() -> str:
    """A journal code no other test uses (Code[10])."""
    return f"T{next(_codes):04d}"


def today() -> str:
    """The work date of an API session: today (UTC). Tests take it before and after, for midnight."""
    return datetime.now(UTC).date().isoformat()


def data(response: httpx.Response) -> Any:
    """The JSON body with non-integer numbers as Decimal, so amounts compare exactly."""
    return json.loads(response.content, parse_float=Decimal)


def assert_error(response: httpx.Response, status: int, code: str, text: str | None = None) -> str:
    """BC's error shape (bc-api.md 3.5); ``text`` is the message before the correlation id.

    Returns that message, for the callers that check only part of it.
    """
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert error["code"] == code, error
    assert CORRELATION.search(error["message"]), error["message"]
    message: str = CORRELATION.sub("", error["message"])
    if text is not None:
        assert message == text
    return message


class BC:
    """A client of one sandbox: full URLs from company-relative paths, JSON in and out."""

    def __init__(self, info: SandboxInfo, http: httpx.Client, headers: dict[str, str] | None = None) -> None:
        self.info = info
        self.http = http
        self.headers = {"Accept": "application/json", **(headers or {})}

    @property
    def cid(self) -> str:
        assert self.info.company_id is not None
        return self.info.company_id

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.info.api}/companies({self.cid})/{path}" if path else f"{self.info.api}/companies({self.cid})"

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        return self.http.request(
            method, self.url(path), json=json, headers={**self.headers, **(headers or {})}, params=params
        )

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("POST", path, **kw)

    def patch(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("DELETE", path, **kw)

    def ok(self, response: httpx.Response, status: int = 200) -> Any:
        assert response.status_code == status, response.text
        return data(response)

    # shortcuts for the entities most tests need

    def journal(self, code: str | None = None, **body: Any) -> dict[str, Any]:
        created: dict[str, Any] = self.ok(
            self.post("customerPaymentJournals", json={"code": code or new_code(), **body}), 201
        )
        return created

    def pay(self, jid: str, **body: Any) -> httpx.Response:
        return self.post(f"customerPaymentJournals({jid})/customerPayments", json=body)

    def payment(self, jid: str, **body: Any) -> dict[str, Any]:
        created: dict[str, Any] = self.ok(self.pay(jid, **body), 201)
        return created

    def lines(self, jid: str) -> list[dict[str, Any]]:
        lines: list[dict[str, Any]] = self.ok(self.get(f"customerPaymentJournals({jid})/customerPayments"))["value"]
        return lines

    def customer(self, number: str) -> dict[str, Any]:
        found = self.ok(self.get("customers", params={"$filter": f"number eq '{number}'"}))["value"]
        assert len(found) == 1, found
        customer: dict[str, Any] = found[0]
        return customer

    def invoice(self, number: str) -> dict[str, Any]:
        found = self.ok(self.get("salesInvoices", params={"$filter": f"number eq '{number}'"}))["value"]
        assert len(found) == 1, found
        invoice: dict[str, Any] = found[0]
        return invoice

    def balance(self, number: str) -> Decimal:
        details = self.ok(self.get(f"customers({self.customer(number)['id']})/customerFinancialDetails"))
        return Decimal(details["balance"])

    def batch(self, requests: list[dict[str, Any]], headers: dict[str, str] | None = None) -> httpx.Response:
        return self.http.post(
            f"{self.info.api}/$batch",
            json={"requests": requests},
            headers={**self.headers, "Content-Type": "application/json", **(headers or {})},
        )

    def batch_post_payment(self, op_id: str, jid: str, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": op_id,
            "method": "POST",
            "url": f"companies({self.cid})/customerPaymentJournals({jid})/customerPayments",
            "headers": {"Content-Type": "application/json"},
            "body": body,
        }


@pytest.fixture(scope="module")
def bc() -> Iterator[BC]:
    """The module's sandbox: demo seed, in memory, plain http, ``--auth none``."""
    with start_sandbox(SandboxSettings(auth="none")) as info, make_http_client(info) as http:
        assert info.company_id == seed.company_id()
        yield BC(info, http)
        info.faults.clear()


@pytest.fixture
def fresh() -> Iterator[BC]:
    """A sandbox of the test's own (demo seed, ``--auth none``): for tests that post or count."""
    with start_sandbox(SandboxSettings(auth="none")) as info, make_http_client(info) as http:
        yield BC(info, http)


@pytest.fixture
def faults(bc: BC) -> Iterator[BC]:
    """The module's sandbox, with every fault a test scripted removed afterwards."""
    try:
        yield bc
    finally:
        bc.info.faults.clear()


# === 1. Authentication ==============================================================================


def test_msal_client_credentials_token_works_and_calls_without_it_are_refused() -> None:
    with (
        start_sandbox(SandboxSettings(tls=True)) as info,
        make_http_client(info) as http,
    ):
        assert info.api.startswith("https://")
        app = make_msal_app(info, http)
        result = app.acquire_token_for_client(scopes=[info.scope])
        assert "access_token" in result, result
        assert result["token_type"].lower() == "bearer"
        client = BC(info, http, {"Authorization": f"Bearer {result['access_token']}"})

        companies = client.ok(http.get(f"{info.api}/companies", headers=client.headers))
        assert [c["id"] for c in companies["value"]] == [seed.company_id()]
        assert client.ok(client.get("customers"))["value"]

        for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic Zm9vOmJhcg=="}):
            refused = http.get(client.url("customers"), headers=headers)
            assert_error(refused, 401, "Authentication_InvalidCredentials")
        anonymous_post = http.post(client.url("customerPaymentJournals"), json={"code": "NOAUTH"})
        assert_error(anonymous_post, 401, "Authentication_InvalidCredentials")
        assert [j["code"] for j in client.ok(client.get("customerPaymentJournals"))["value"]] == ["GENERAL"]

        wrong_secret = http.post(
            info.token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": info.client_id,
                "client_secret": "wrong",
                "scope": info.scope,
            },
        )
        assert wrong_secret.status_code == 401
        assert wrong_secret.json()["error"] == "invalid_client"


def test_auth_none_sandbox_accepts_calls_without_a_token(bc: BC) -> None:
    response = bc.http.get(bc.url("customers"))  # no Authorization header at all
    assert response.status_code == 200
    assert len(response.json()["value"]) == len(CUSTOMER_NAMES)


def test_token_expiry_mid_run_gives_401_and_a_fresh_token_works() -> None:
    with (
        start_sandbox(SandboxSettings(tls=True, token_ttl_s=1.0)) as info,
        make_http_client(info) as http,
    ):
        app = make_msal_app(info, http)

        def token() -> str:
            result = app.acquire_token_for_client(scopes=[info.scope])
            assert "access_token" in result, result
            access: str = result["access_token"]
            return access

        def customers(access: str) -> httpx.Response:
            return http.get(
                f"{info.api}/companies({info.company_id})/customers", headers={"Authorization": f"Bearer {access}"}
            )

        first = token()
        assert customers(first).status_code == 200
        time.sleep(1.2)
        assert_error(customers(first), 401, "Authentication_InvalidCredentials")
        second = token()  # msal sees the cached token as expired and asks the sandbox again
        assert second != first
        assert customers(second).status_code == 200

        # revoked mid-run (the expire-token fault, or TokenAuthority.expire_client): same story
        info.faults.add(Fault("expire-token", times=1))
        assert_error(customers(second), 401, "Authentication_InvalidCredentials")
        assert_error(customers(second), 401, "Authentication_InvalidCredentials")
        third = token()
        assert customers(third).status_code == 200
        info.tokens.expire_client(info.client_id)
        assert_error(customers(third), 401, "Authentication_InvalidCredentials")
        assert customers(token()).status_code == 200


# === 2. Response and error shapes =====================================================================


def test_collection_and_entity_envelopes(bc: BC) -> None:
    response = bc.get("customers")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = data(response)
    assert body["@odata.context"] == f"{bc.info.api}/$metadata#companies({bc.cid})/customers"
    customers = body["value"]
    assert [c["number"] for c in customers] == sorted(CUSTOMER_NAMES)  # key order
    assert {c["number"]: c["displayName"] for c in customers} == CUSTOMER_NAMES
    for customer in customers:
        assert ETAG.match(customer["@odata.etag"])
        assert re.fullmatch(GUID, customer["id"])
        assert customer["blocked"] == ("All" if customer["number"] == BLOCKED_CUSTOMER else "_x0020_")

    one = customers[0]
    single = bc.get(f"customers({one['id']})")
    entity = bc.ok(single)
    assert entity["@odata.context"] == f"{bc.info.api}/$metadata#companies({bc.cid})/customers/$entity"
    assert "value" not in entity
    assert entity["@odata.etag"] == one["@odata.etag"] == single.headers["ETag"]
    assert entity["number"] == one["number"]

    # the company may also be given as ?company= (bc-api.md 3.1)
    by_param = bc.http.get(f"{bc.info.api}/customers", params={"company": bc.cid})
    assert [c["number"] for c in bc.ok(by_param)["value"]] == sorted(CUSTOMER_NAMES)


def test_dates_amounts_and_empty_guids_follow_bc_json(bc: BC) -> None:
    invoice = bc.invoice("RE-2026-0101")
    assert invoice["invoiceDate"] == "2026-02-16"
    assert invoice["postingDate"] == "2026-02-16"  # seed: postingDate defaults to invoiceDate
    assert invoice["dueDate"] == "2026-03-02"  # seed: invoiceDate + 14 days
    assert invoice["totalAmountIncludingTax"] == Decimal("1190")
    assert invoice["totalAmountExcludingTax"] == Decimal("1000")  # 19 % VAT inside the amount
    assert invoice["totalTaxAmount"] == Decimal("190")
    assert invoice["remainingAmount"] == Decimal("1190")
    assert invoice["status"] == "Open"
    assert invoice["customerNumber"] == invoice["billToCustomerNumber"] == "C10000"

    journal = bc.journal()
    assert journal["balancingAccountId"] == EMPTY_GUID
    assert journal["balancingAccountNumber"] == ""
    line = bc.payment(journal["id"], customerNumber="C10000", amount=-1)
    assert ISO_DATE.match(line["postingDate"])
    assert line["appliesToInvoiceId"] == EMPTY_GUID


def test_code_fields_are_upper_cased(bc: BC) -> None:
    code = new_code().lower()
    journal = bc.journal(code)
    assert journal["code"] == code.upper()
    line = bc.payment(
        journal["id"],
        customerNumber="c10000",
        externalDocumentNumber="ref-abc/1",
        documentNumber="pay-1",
        appliesToInvoiceNumber="re-2026-0101",
        amount=-1190,
    )
    assert line["customerNumber"] == "C10000"
    assert line["externalDocumentNumber"] == "REF-ABC/1"
    assert line["documentNumber"] == "PAY-1"
    assert line["appliesToInvoiceNumber"] == "RE-2026-0101"
    assert line["journalDisplayName"] == code.upper()
    # the stored value is upper-case, so a filter has to use that (bc-api.md 4.5)
    found = bc.ok(
        bc.get(
            "customerPayments",
            params={"$filter": f"journalId eq {journal['id']} and externalDocumentNumber eq 'REF-ABC/1'"},
        )
    )["value"]
    assert [p["id"] for p in found] == [line["id"]]


def test_unknown_entity_set_is_no_http_resource(bc: BC) -> None:
    for wrong in ("customerPaymentsJournals", "customerPayment"):  # the stale docs' paths (bc-api.md 1.2)
        message = assert_error(bc.get(wrong), 404, "BadRequest_NotFound")
        assert message.startswith("No HTTP resource was found that matches the request URI")
        assert wrong in message
    posted = bc.post("customerPayment", json={"amount": -1})
    assert posted.status_code == 404
    assert assert_error(posted, 404, "BadRequest_NotFound").startswith("No HTTP resource was found")


def test_read_only_properties_in_a_body_are_refused(bc: BC) -> None:
    journal = bc.journal()
    cases: list[tuple[str, dict[str, Any]]] = [
        ("customerPaymentJournals", {"code": new_code(), "lastModifiedDateTime": "2026-01-01T00:00:00Z"}),
        ("customerPaymentJournals", {"code": new_code(), "balancingAccountNumber": BALANCING_ACCOUNT}),
        ("customerPaymentJournals", {"code": new_code(), "id": str(uuid.uuid4())}),
        (
            f"customerPaymentJournals({journal['id']})/customerPayments",
            {"customerNumber": "C10000", "lastModifiedDateTime": "2026-01-01T00:00:00Z"},
        ),
        (f"customerPaymentJournals({journal['id']})/customerPayments", {"id": str(uuid.uuid4()), "amount": -1}),
    ]
    for path, body in cases:
        prop = next(name for name in body if name not in ("code", "customerNumber", "amount"))
        assert_error(bc.post(path, json=body), 400, "BadRequest_InvalidOperation", f"Control '{prop}' is read-only.")
    assert bc.lines(journal["id"]) == []
    codes = {j["code"] for j in bc.ok(bc.get("customerPaymentJournals"))["value"]}
    assert codes & {body["code"] for _, body in cases[:3]} == set()


def test_unknown_property_in_a_body_is_refused(bc: BC) -> None:
    journal = bc.journal()
    refused = bc.pay(journal["id"], customerNumber="C10000", amount=-1, contactId=str(uuid.uuid4()))
    message = assert_error(refused, 400, "BadRequest")
    assert "'contactId'" in message
    assert bc.lines(journal["id"]) == []
    message = assert_error(
        bc.post("customerPaymentJournals", json={"code": new_code(), "template": "X"}), 400, "BadRequest"
    )
    assert "'template'" in message


def test_unreadable_bodies_are_bad_requests(bc: BC) -> None:
    path = f"customerPaymentJournals({bc.journal()['id']})/customerPayments"
    broken = bc.http.post(
        bc.url(path), content=b"{not json", headers={**bc.headers, "Content-Type": "application/json"}
    )
    assert_error(broken, 400, "BadRequest")
    for field, value in (("postingDate", "2026-13-01"), ("amount", "ten"), ("lineNumber", 1.5), ("customerId", "x")):
        assert_error(bc.post(path, json={"customerNumber": "C10000", field: value}), 400, "BadRequest")
    assert bc.ok(bc.get(path))["value"] == []


def test_data_access_intent_read_only_is_for_get_only(bc: BC) -> None:
    read_only = {"Data-Access-Intent": "ReadOnly"}
    assert bc.get("customers", headers=read_only).status_code == 200
    assert bc.get("salesInvoices", headers=read_only).status_code == 200
    journal = bc.journal()
    code = new_code()
    refused = bc.post("customerPaymentJournals", json={"code": code}, headers=read_only)
    assert refused.status_code == 400
    assert_error(refused, 400, refused.json()["error"]["code"])
    assert code not in {j["code"] for j in bc.ok(bc.get("customerPaymentJournals"))["value"]}
    star = {"If-Match": "*", **read_only}
    assert (
        bc.patch(f"customerPaymentJournals({journal['id']})", json={"displayName": "x"}, headers=star).status_code
        == 400
    )
    assert bc.delete(f"customerPaymentJournals({journal['id']})", headers=star).status_code == 400
    assert bc.ok(bc.get(f"customerPaymentJournals({journal['id']})"))["displayName"] == ""
    # ReadWrite is what writes may carry
    assert (
        bc.post("customerPaymentJournals", json={"code": code}, headers={"Data-Access-Intent": "ReadWrite"}).status_code
        == 201
    )


# === 3. customerPaymentJournals ========================================================================


def test_journal_create_code_rules_and_duplicates(bc: BC) -> None:
    code = new_code()
    response = bc.post("customerPaymentJournals", json={"code": code.lower(), "displayName": "Bank import"})
    created = bc.ok(response, 201)
    assert created["@odata.context"] == f"{bc.info.api}/$metadata#companies({bc.cid})/customerPaymentJournals/$entity"
    assert set(created) == {
        "@odata.context",
        "@odata.etag",
        "id",
        "code",
        "displayName",
        "lastModifiedDateTime",
        "balancingAccountId",
        "balancingAccountNumber",
    }
    assert (created["code"], created["displayName"]) == (code, "Bank import")
    assert response.headers["ETag"] == created["@odata.etag"]
    assert bc.ok(bc.get(f"customerPaymentJournals({created['id']})"))["code"] == code

    # Code[10]: 10 characters are fine, 11 are not
    assert bc.journal("ABCDEFGHIJ")["code"] == "ABCDEFGHIJ"
    assert_error(
        bc.post("customerPaymentJournals", json={"code": "ABCDEFGHIJK"}),
        400,
        "Application_StringExceededLength",
        "The length of the string is 11, but it must be less than or equal to 10 characters. Value: ABCDEFGHIJK",
    )
    # the code is required
    assert bc.post("customerPaymentJournals", json={"displayName": "no code"}).status_code == 400
    # a duplicate code (also when it only differs in case, since codes are upper-cased) is a duplicate key
    for again in (code, code.lower()):
        message = assert_error(
            bc.post("customerPaymentJournals", json={"code": again}), 400, "Internal_EntityWithSameKeyExists"
        )
        assert code in message
    codes = [j["code"] for j in bc.ok(bc.get("customerPaymentJournals"))["value"]]
    assert codes.count(code) == 1
    assert codes == sorted(codes)


def test_journal_balancing_account(bc: BC) -> None:
    general = bc.ok(bc.get("customerPaymentJournals", params={"$filter": "code eq 'GENERAL'"}))["value"][0]
    assert general["balancingAccountNumber"] == BALANCING_ACCOUNT
    account_id = general["balancingAccountId"]
    journal = bc.journal(balancingAccountId=account_id)
    assert (journal["balancingAccountId"], journal["balancingAccountNumber"]) == (account_id, BALANCING_ACCOUNT)
    assert_error(
        bc.post("customerPaymentJournals", json={"code": new_code(), "balancingAccountId": str(uuid.uuid4())}),
        400,
        "Application_DialogException",
        BALANCING_ACCOUNT_NOT_FOUND,
    )


def test_journal_patch_needs_if_match_and_returns_a_new_etag(bc: BC) -> None:
    journal = bc.journal(displayName="first")
    url = f"customerPaymentJournals({journal['id']})"
    first_etag = journal["@odata.etag"]

    assert_error(bc.patch(url, json={"displayName": "x"}), 400, "BadRequest_InvalidToken", MISSING_IF_MATCH)

    patched_response = bc.patch(url, json={"displayName": "second"}, headers={"If-Match": first_etag})
    patched = bc.ok(patched_response)
    assert patched["displayName"] == "second"
    assert patched["@odata.context"].endswith("/customerPaymentJournals/$entity")
    assert patched["@odata.etag"] != first_etag
    assert patched_response.headers["ETag"] == patched["@odata.etag"]

    # the tag read before the change is stale now
    assert_error(
        bc.patch(url, json={"displayName": "third"}, headers={"If-Match": first_etag}),
        409,
        "Request_EntityChanged",
        "Another user has already changed the record.",
    )
    assert bc.ok(bc.get(url))["displayName"] == "second"

    starred = bc.ok(bc.patch(url, json={"displayName": "third"}, headers={"If-Match": "*"}))
    assert starred["displayName"] == "third"
    assert starred["@odata.etag"] not in (first_etag, patched["@odata.etag"])
    assert bc.ok(bc.get(url))["@odata.etag"] == starred["@odata.etag"]


def test_journal_delete_needs_if_match_and_cascades_to_lines(bc: BC) -> None:
    journal = bc.journal()
    jid = journal["id"]
    lines = [bc.payment(jid, customerNumber="C10000", amount=-n) for n in (1, 2, 3)]
    assert_error(bc.delete(f"customerPaymentJournals({jid})"), 400, "BadRequest_InvalidToken", MISSING_IF_MATCH)
    deleted = bc.delete(f"customerPaymentJournals({jid})", headers={"If-Match": journal["@odata.etag"]})
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert bc.get(f"customerPaymentJournals({jid})").status_code == 404
    for line in lines:
        assert bc.get(f"customerPayments({line['id']})").status_code == 404
    assert bc.ok(bc.get("customerPayments", params={"$filter": f"journalId eq {jid}"}))["value"] == []


# === 4. customerPayments ===============================================================================


def test_payment_entity_shape(bc: BC) -> None:
    journal = bc.journal()
    response = bc.pay(journal["id"], customerNumber="C10000", amount=-84.99, documentNumber="D1")
    line = bc.ok(response, 201)
    assert line["@odata.context"].endswith("/customerPayments/$entity")
    assert list(line)[1:] == [  # bc-api.md 1.2, in page order
        "@odata.etag",
        "id",
        "journalId",
        "journalDisplayName",
        "lineNumber",
        "customerId",
        "customerNumber",
        "postingDate",
        "documentNumber",
        "externalDocumentNumber",
        "amount",
        "appliesToInvoiceId",
        "appliesToInvoiceNumber",
        "description",
        "comment",
        "lastModifiedDateTime",
    ]
    assert response.headers["ETag"] == line["@odata.etag"]
    assert (line["journalId"], line["journalDisplayName"]) == (journal["id"], journal["code"])
    assert line["customerId"] == bc.customer("C10000")["id"]
    assert line["amount"] == Decimal("-84.99")
    fetched = bc.ok(bc.get(f"customerPaymentJournals({journal['id']})/customerPayments({line['id']})"))
    assert fetched["@odata.context"].endswith("/$entity")
    assert {k: v for k, v in fetched.items() if k != "@odata.context"} == {
        k: v for k, v in line.items() if k != "@odata.context"
    }
    top = bc.ok(bc.get(f"customerPayments({line['id']})"))
    assert top["id"] == line["id"]


def test_created_entities_can_be_read_back_at_their_location_and_context(bc: BC) -> None:
    """A POST's ``Location`` (when BC sends one, bc-api.md OQ 8) must address the new entity, and a
    contained entity's ``@odata.context`` names its parents with their keys (OData 4.0 part 1, 10.9)."""
    journal_response = bc.post("customerPaymentJournals", json={"code": new_code()})
    journal = bc.ok(journal_response, 201)
    jid = journal["id"]
    line_response = bc.pay(jid, customerNumber="C10000", amount=-1)
    line = bc.ok(line_response, 201)
    assert line["@odata.context"] == (
        f"{bc.info.api}/$metadata#companies({bc.cid})/customerPaymentJournals({jid})/customerPayments/$entity"
    )
    for response, created in ((journal_response, journal), (line_response, line)):
        location = response.headers.get("Location")
        if location is None:
            continue
        assert location.startswith(bc.info.api)
        read_back = bc.http.get(location, headers=bc.headers)
        assert read_back.status_code == 200, (location, read_back.text)
        assert read_back.json()["id"] == created["id"]
    customer = bc.customer("C10000")
    details = bc.ok(bc.get(f"customers({customer['id']})/customerFinancialDetails"))
    assert details["@odata.context"] == (
        f"{bc.info.api}/$metadata#companies({bc.cid})/customers({customer['id']})/customerFinancialDetails/$entity"
    )


def test_line_number_default_explicit_and_duplicate(bc: BC) -> None:
    jid = bc.journal()["id"]
    numbers = [bc.payment(jid, customerNumber="C10000", amount=-1)["lineNumber"]]  # empty batch: 10000
    numbers.append(bc.payment(jid, customerNumber="C10000", amount=-1)["lineNumber"])  # max + 10000
    numbers.append(bc.payment(jid, customerNumber="C10000", amount=-1, lineNumber=15000)["lineNumber"])
    numbers.append(bc.payment(jid, customerNumber="C10000", amount=-1, lineNumber=0)["lineNumber"])  # 0 = omitted
    numbers.append(bc.payment(jid, customerNumber="C10000", amount=-1, lineNumber=35000)["lineNumber"])
    numbers.append(bc.payment(jid, customerNumber="C10000", amount=-1)["lineNumber"])
    assert numbers == [10000, 20000, 15000, 30000, 35000, 45000]

    message = assert_error(
        bc.pay(jid, customerNumber="C10000", amount=-1, lineNumber=15000), 400, "Internal_EntityWithSameKeyExists"
    )
    assert "15000" in message
    # listed in lineNumber order
    assert [p["lineNumber"] for p in bc.lines(jid)] == [10000, 15000, 20000, 30000, 35000, 45000]


def test_customer_resolution_and_its_errors(bc: BC) -> None:
    jid = bc.journal()["id"]
    c10000, c10100 = bc.customer("C10000"), bc.customer("C10100")

    by_id = bc.payment(jid, customerId=c10100["id"], amount=-1)
    assert (by_id["customerNumber"], by_id["customerId"]) == ("C10100", c10100["id"])
    by_number = bc.payment(jid, customerNumber="C10000", amount=-1)
    assert by_number["customerId"] == c10000["id"]
    both = bc.payment(jid, customerId=c10000["id"], customerNumber="C10000", amount=-1)
    assert both["customerNumber"] == "C10000"

    assert_error(
        bc.pay(jid, customerId=str(uuid.uuid4()), amount=-1), 400, "Application_DialogException", CUSTOMER_ID_NOT_FOUND
    )
    assert_error(bc.pay(jid, customerNumber="C12345", amount=-1), 400, TABLE_RELATION, customer_not_related("C12345"))
    assert_error(
        bc.pay(jid, customerId=c10000["id"], customerNumber="C10100", amount=-1),
        400,
        "Application_DialogException",
        CUSTOMER_VALUES_DONT_MATCH,
    )
    assert_error(
        bc.pay(jid, customerNumber=BLOCKED_CUSTOMER, amount=-1),
        400,
        "Application_DialogException",
        f"You cannot create this type of document when Customer {BLOCKED_CUSTOMER} is blocked with type All",
    )
    assert [p["id"] for p in bc.lines(jid)] == [by_id["id"], by_number["id"], both["id"]]


def test_description_defaults_to_the_customer_name_and_amount_is_stored_as_sent(bc: BC) -> None:
    jid = bc.journal()["id"]
    default = bc.payment(jid, customerNumber="C10000", amount=1500)
    assert default["description"] == CUSTOMER_NAMES["C10000"]
    assert default["amount"] == 1500  # positive stays positive: never negated (bc-api.md 1.2)
    explicit = bc.payment(jid, customerNumber="C10100", amount=-357.00, description="Bank ref 4711")
    assert explicit["description"] == "Bank ref 4711"
    assert explicit["amount"] == Decimal("-357")
    cents = bc.payment(jid, customerNumber="C10200", amount=-0.01, comment="a comment")
    assert (cents["amount"], cents["comment"]) == (Decimal("-0.01"), "a comment")
    assert [p["amount"] for p in bc.lines(jid)] == [1500, Decimal("-357"), Decimal("-0.01")]


def test_applies_to_invoice_number_and_id(bc: BC) -> None:
    jid = bc.journal()["id"]
    invoice = bc.invoice("RE-2026-0105")  # posted, open, C10400's
    c10400 = bc.customer("C10400")

    unknown = bc.payment(jid, customerNumber="C10000", appliesToInvoiceNumber="NO-SUCH-INV", amount=-5)
    assert (unknown["appliesToInvoiceNumber"], unknown["appliesToInvoiceId"]) == ("NO-SUCH-INV", EMPTY_GUID)

    assert_error(
        bc.pay(jid, customerNumber="C10000", appliesToInvoiceId=str(uuid.uuid4()), amount=-5),
        400,
        "Application_DialogException",
        APPLIES_TO_ID_NOT_FOUND,
    )

    # no customer given: it comes from the invoice (id or number), as does the description
    for body in ({"appliesToInvoiceId": invoice["id"]}, {"appliesToInvoiceNumber": "RE-2026-0105"}):
        line = bc.payment(jid, amount=-1190, **body)
        assert (line["customerNumber"], line["customerId"]) == ("C10400", c10400["id"])
        assert (line["appliesToInvoiceId"], line["appliesToInvoiceNumber"]) == (invoice["id"], "RE-2026-0105")
        assert line["description"] == CUSTOMER_NAMES["C10400"]

    assert_error(
        bc.pay(jid, appliesToInvoiceId=invoice["id"], appliesToInvoiceNumber="RE-2026-0106", amount=-1),
        400,
        "Application_DialogException",
        APPLIES_TO_VALUES_DONT_MATCH,
    )
    assert len(bc.lines(jid)) == 3


def test_applies_to_invoice_id_is_strict_and_the_customer_comes_from_the_bill_to(bc: BC) -> None:
    """A draft is no posted invoice; once posted, its bill-to customer (not the sell-to) pays it."""
    draft = bc.ok(
        bc.post(
            "salesInvoices",
            json={
                "customerNumber": "C20000",
                "billToCustomerNumber": "C30000",
                "salesInvoiceLines": [
                    {"lineType": "Account", "lineObjectNumber": "6110", "quantity": 1, "unitPrice": 100}
                ],
            },
        ),
        201,
    )
    assert draft["status"] == "Draft"
    assert (draft["customerNumber"], draft["billToCustomerNumber"]) == ("C20000", "C30000")
    jid = bc.journal()["id"]
    assert_error(
        bc.pay(jid, appliesToInvoiceId=draft["id"], amount=-119),
        400,
        "Application_DialogException",
        APPLIES_TO_ID_NOT_FOUND,
    )

    posted_response = bc.post(f"salesInvoices({draft['id']})/Microsoft.NAV.post")
    assert posted_response.status_code == 204
    posted = bc.ok(bc.get(f"salesInvoices({draft['id']})"))  # the id survives posting (bc-api.md 2.3)
    assert posted["status"] == "Open"
    assert posted["totalAmountIncludingTax"] == 119
    assert posted["remainingAmount"] == 119

    line = bc.payment(jid, appliesToInvoiceId=draft["id"], amount=-119)
    assert line["customerNumber"] == "C30000"
    assert line["customerId"] == posted["billToCustomerId"] == bc.customer("C30000")["id"]
    assert line["description"] == CUSTOMER_NAMES["C30000"]
    assert line["appliesToInvoiceNumber"] == posted["number"]
    # an explicit customer is not overwritten by the invoice's
    explicit = bc.payment(jid, customerNumber="C40000", appliesToInvoiceId=draft["id"], amount=-119)
    assert explicit["customerNumber"] == "C40000"
    assert explicit["description"] == CUSTOMER_NAMES["C40000"]


def test_posting_date_and_document_number_defaults(bc: BC) -> None:
    before = today()
    jid = bc.journal()["id"]  # created through the API: no No. Series
    first = bc.payment(jid, customerNumber="C10000", amount=-1)
    assert first["postingDate"] in {before, today()}  # empty batch: the work date
    assert first["documentNumber"] == ""  # no series: blank (bc-api.md 1.1, pitfall 6)
    dated = bc.payment(jid, customerNumber="C10000", amount=-1, postingDate="2026-03-01", documentNumber="DOC-0007")
    assert (dated["postingDate"], dated["documentNumber"]) == ("2026-03-01", "DOC-0007")
    # bc-api.md 1.3 step 4: posting date and document no. come from the copy-from line (the last
    # one); without a balancing account the batch does not balance (-2), so no increment ...
    copied = bc.payment(jid, customerNumber="C10000", amount=-1)
    assert (copied["postingDate"], copied["documentNumber"]) == ("2026-03-01", "DOC-0007")
    # ... step 5: unless the external document number differs from the copy-from line's
    other_ref = bc.payment(jid, customerNumber="C10000", amount=-1, externalDocumentNumber="EXT-1")
    assert (other_ref["postingDate"], other_ref["documentNumber"]) == ("2026-03-01", "DOC-0008")

    # with a balancing account every line balances, so each new line gets the next number
    account = bc.ok(bc.get("customerPaymentJournals", params={"$filter": "code eq 'GENERAL'"}))["value"][0]
    balanced = bc.journal(balancingAccountId=account["balancingAccountId"])["id"]
    assert bc.payment(balanced, customerNumber="C10000", amount=-1)["documentNumber"] == ""
    bc.payment(balanced, customerNumber="C10000", amount=-1, documentNumber="PAY-0041")
    assert bc.payment(balanced, customerNumber="C10000", amount=-1)["documentNumber"] == "PAY-0042"
    assert bc.payment(balanced, customerNumber="C10000", amount=-1)["documentNumber"] == "PAY-0043"

    # the demo's GENERAL batch has No. Series GJNL-RCPT (G02001): an empty batch peeks at it
    general = account["id"]
    assert bc.lines(general) == []
    assert bc.payment(general, customerNumber="C10000", amount=-1)["documentNumber"] == "G02001"
    assert bc.payment(general, customerNumber="C10000", amount=-1)["documentNumber"] == "G02002"


def test_top_level_customer_payments(bc: BC) -> None:
    jid = bc.journal()["id"]
    other = bc.journal()["id"]
    mine = [bc.payment(jid, customerNumber="C10000", amount=-n)["id"] for n in (1, 2)]
    bc.payment(other, customerNumber="C10000", amount=-3)

    assert_error(bc.get("customerPayments"), 400, "Application_DialogException", FILTERS_NOT_SPECIFIED)
    assert_error(
        bc.get("customerPayments", params={"$filter": "amount lt 0"}),
        400,
        "Application_DialogException",
        FILTERS_NOT_SPECIFIED,
    )
    listed = bc.ok(bc.get("customerPayments", params={"$filter": f"journalId eq {jid}"}))
    assert listed["@odata.context"] == f"{bc.info.api}/$metadata#companies({bc.cid})/customerPayments"
    assert [p["id"] for p in listed["value"]] == mine
    assert {p["journalId"] for p in listed["value"]} == {jid}

    # a top-level POST must carry journalId (bc-api.md 1.2)
    assert_error(
        bc.post("customerPayments", json={"customerNumber": "C10000", "amount": -4}),
        400,
        "Application_DialogException",
        FILTERS_NOT_SPECIFIED,
    )
    created = bc.ok(bc.post("customerPayments", json={"journalId": jid, "customerNumber": "C10000", "amount": -4}), 201)
    assert (created["journalId"], created["lineNumber"]) == (jid, 30000)
    # a journalId in the body that differs from the journal in the URL
    assert_error(
        bc.pay(jid, journalId=other, customerNumber="C10000", amount=-1),
        400,
        "Application_DialogException",
        JOURNAL_ID_NAME_MISMATCH,
    )
    assert len(bc.lines(jid)) == 3


def test_payment_patch_and_delete(bc: BC) -> None:
    journal = bc.journal()
    jid = journal["id"]
    other = bc.journal()
    line = bc.payment(jid, customerNumber="C10000", amount=-10)
    second = bc.payment(jid, customerNumber="C10000", amount=-20)
    url = f"customerPaymentJournals({jid})/customerPayments({line['id']})"

    assert_error(bc.patch(url, json={"amount": -11}), 400, "BadRequest_InvalidToken", MISSING_IF_MATCH)
    patched = bc.ok(
        bc.patch(url, json={"amount": -11, "externalDocumentNumber": "x-1"}, headers={"If-Match": line["@odata.etag"]})
    )
    assert (patched["amount"], patched["externalDocumentNumber"]) == (-11, "X-1")
    assert patched["@odata.etag"] != line["@odata.etag"]
    assert_error(
        bc.patch(url, json={"amount": -12}, headers={"If-Match": line["@odata.etag"]}),
        409,
        "Request_EntityChanged",
        "Another user has already changed the record.",
    )
    star = {"If-Match": "*"}
    assert_error(
        bc.patch(url, json={"journalId": other["id"]}, headers=star),
        400,
        "Application_DialogException",
        CANNOT_EDIT_JOURNAL_ID,
    )
    assert_error(
        bc.patch(url, json={"journalDisplayName": other["code"]}, headers=star),
        400,
        "Application_DialogException",
        CANNOT_EDIT_BATCH_NAME,
    )
    # a new lineNumber renames the line; onto a number in use it is a duplicate key
    assert_error(bc.patch(url, json={"lineNumber": 20000}, headers=star), 400, "Internal_EntityWithSameKeyExists")
    renamed = bc.ok(bc.patch(url, json={"lineNumber": 30000}, headers=star))
    assert (renamed["id"], renamed["lineNumber"]) == (line["id"], 30000)
    assert [p["id"] for p in bc.lines(jid)] == [second["id"], line["id"]]

    top_url = f"customerPayments({second['id']})"
    assert_error(bc.delete(top_url), 400, "BadRequest_InvalidToken", MISSING_IF_MATCH)
    bc.ok(bc.patch(top_url, json={"comment": "changed"}, headers={"If-Match": second["@odata.etag"]}))
    assert_error(bc.delete(top_url, headers={"If-Match": second["@odata.etag"]}), 409, "Request_EntityChanged")
    second = bc.ok(bc.get(top_url))
    assert bc.delete(top_url, headers={"If-Match": second["@odata.etag"]}).status_code == 204
    assert bc.get(top_url).status_code == 404
    assert [p["id"] for p in bc.lines(jid)] == [line["id"]]


# === 5. Posting: journals({id})/Microsoft.NAV.post ========================================================


def _post(bc: BC, jid: str) -> httpx.Response:
    return bc.post(f"journals({jid})/Microsoft.NAV.post")


def test_posting_applies_negative_payments_to_open_invoices(fresh: BC) -> None:
    bc = fresh
    general = bc.ok(bc.get("customerPaymentJournals", params={"$filter": "code eq 'GENERAL'"}))["value"][0]
    # G/L account 2910 of the demo company (seed.ensure_company); GENERAL uses it as well
    assert general["balancingAccountId"] == seed.stable_id("gl", seed.company_id(), BALANCING_ACCOUNT)
    journal = bc.journal("POST1", balancingAccountId=general["balancingAccountId"])
    assert journal["balancingAccountNumber"] == BALANCING_ACCOUNT
    jid = journal["id"]

    full, part = bc.invoice("RE-2026-0102"), bc.invoice("RE-2026-0103")  # C10100 357.00; C10200 12495.00
    assert (full["status"], full["remainingAmount"]) == ("Open", 357)
    assert (part["status"], part["remainingAmount"]) == ("Open", 12495)
    # balances (LCY) from the seeded ledger: C10100 owes RE-2026-0102; C10200 RE-2026-0103 and -0108
    assert bc.balance("C10100") == Decimal("357")
    assert bc.balance("C10200") == Decimal("14875")
    untouched = bc.invoice("RE-2026-0101")

    bc.payment(jid, appliesToInvoiceId=full["id"], amount=-357.00, documentNumber="PAY-0001")
    bc.payment(jid, appliesToInvoiceNumber="RE-2026-0103", amount=-5000, documentNumber="PAY-0002")
    assert [(p["customerNumber"], p["lineNumber"]) for p in bc.lines(jid)] == [("C10100", 10000), ("C10200", 20000)]

    posted = _post(bc, jid)
    assert posted.status_code == 204, posted.text
    assert posted.content == b""

    assert bc.lines(jid) == []
    assert bc.ok(bc.get(f"customerPaymentJournals({jid})"))["code"] == "POST1"  # the batch stays
    full_after, part_after = bc.invoice("RE-2026-0102"), bc.invoice("RE-2026-0103")
    assert (full_after["id"], full_after["status"], full_after["remainingAmount"]) == (full["id"], "Paid", 0)
    assert (part_after["status"], part_after["remainingAmount"]) == ("Open", Decimal("7495"))
    assert bc.balance("C10100") == 0
    assert bc.balance("C10200") == Decimal("9875")
    assert bc.invoice("RE-2026-0101")["remainingAmount"] == untouched["remainingAmount"]
    paid = bc.ok(bc.get("salesInvoices", params={"$filter": "status eq 'Paid'", "$select": "number"}))["value"]
    assert sorted(i["number"] for i in paid) == ["INV-4999", "RE-2026-0102"]  # INV-4999 was seeded paid

    # the batch shows no line, yet posting left its hidden empty line 10000 (GenJnlPostBatch.
    # UpdateAndDeleteLines, a batch without No. Series): posting again finds it, skips it and answers 204
    posted_again = _post(bc, jid)
    assert posted_again.status_code == 204, posted_again.text
    assert bc.lines(jid) == []
    assert bc.balance("C10200") == Decimal("9875")


def test_posting_errors(fresh: BC) -> None:
    bc = fresh
    account_id = bc.ok(bc.get("customerPaymentJournals", params={"$filter": "code eq 'GENERAL'"}))["value"][0][
        "balancingAccountId"
    ]

    empty = bc.journal("EMPTY")
    assert_error(_post(bc, empty["id"]), 400, "Application_DialogException", NOTHING_TO_POST)

    unknown = str(uuid.uuid4())
    assert_error(
        _post(bc, unknown),
        404,
        "BadRequest_NotFound",
        f"The General Journal Batch with ID {{{unknown.upper()}}} cannot be found.",
    )

    positive = bc.journal("POSITIVE", balancingAccountId=account_id)
    line = bc.payment(positive["id"], appliesToInvoiceNumber="RE-2026-0104", amount=500, documentNumber="PAY-1")
    assert line["amount"] == 500
    message = assert_error(_post(bc, positive["id"]), 400, "Application_FieldValidationException")
    assert message.startswith("Amount must be negative")
    assert f"Journal Batch Name=POSITIVE, Line No.={line['lineNumber']}" in message

    no_document = bc.journal("NODOC", balancingAccountId=account_id)
    line = bc.payment(no_document["id"], appliesToInvoiceNumber="RE-2026-0104", amount=-500)
    assert line["documentNumber"] == ""
    message = assert_error(_post(bc, no_document["id"]), 400, "Application_FieldValidationException")
    assert message.startswith("Document No. must have a value")
    assert f"Journal Template Name={TEMPLATE}, Journal Batch Name=NODOC" in message

    # accepted at insert, refused at posting: an unknown invoice number, another customer's invoice
    unknown_invoice = bc.journal("NOINV", balancingAccountId=account_id)
    bc.payment(
        unknown_invoice["id"],
        customerNumber="C10300",
        appliesToInvoiceNumber="RE-1999-0001",
        amount=-5,
        documentNumber="P1",
    )
    assert_error(_post(bc, unknown_invoice["id"]), 400, "Internal_DataNotFoundFilter", NO_CUST_LEDGER_ENTRY)
    foreign = bc.journal("FOREIGN", balancingAccountId=account_id)
    bc.payment(
        foreign["id"], customerNumber="C10000", appliesToInvoiceNumber="RE-2026-0104", amount=-500, documentNumber="P1"
    )
    assert_error(_post(bc, foreign["id"]), 400, "Internal_DataNotFoundFilter", NO_CUST_LEDGER_ENTRY)

    # nothing was posted by any of them: every line is still there and the invoice is untouched
    for jid in (positive["id"], no_document["id"], unknown_invoice["id"], foreign["id"]):
        assert len(bc.lines(jid)) == 1
    assert bc.invoice("RE-2026-0104")["remainingAmount"] == 500
    assert bc.balance("C10300") == 500

    # without a balancing account each document must balance on its own (bc-api.md 1.4)
    unbalanced = bc.journal("UNBAL")
    bc.payment(unbalanced["id"], appliesToInvoiceNumber="RE-2026-0104", amount=-500, documentNumber="P1")
    message = assert_error(_post(bc, unbalanced["id"]), 400, "Application_DialogException")
    assert "P1 is out of balance by" in message

    # a batch with a No. Series takes only the series' next number unless it allows manual numbers
    general = bc.ok(bc.get("customerPaymentJournals", params={"$filter": "code eq 'GENERAL'"}))["value"][0]
    manual = bc.payment(general["id"], appliesToInvoiceNumber="RE-2026-0104", amount=-500, documentNumber="MANUAL-1")
    assert_error(
        _post(bc, general["id"]),
        400,
        "Application_DialogException",
        "You may not enter numbers manually. If you want to enter numbers manually, "
        "please activate Manual Nos. in No. Series GJNL-RCPT.",
    )
    assert bc.delete(f"customerPayments({manual['id']})", headers={"If-Match": "*"}).status_code == 204
    line = bc.payment(general["id"], appliesToInvoiceNumber="RE-2026-0104", amount=-500)
    assert line["documentNumber"] == "G02001"  # the series' next number (peeked, not consumed yet)
    assert _post(bc, general["id"]).status_code == 204
    assert bc.invoice("RE-2026-0104")["status"] == "Paid"
    # posting consumed G02001: an empty batch now peeks G02002
    assert bc.payment(general["id"], customerNumber="C10300", amount=-1)["documentNumber"] == "G02002"


def test_posting_an_over_payment_closes_the_invoice_and_leaves_a_credit(fresh: BC) -> None:
    """RE-2026-0105 and -0106 are C10400's, 1190.00 each; one transfer of 2380.00 names only 0105."""
    bc = fresh
    account_id = seed.stable_id("gl", seed.company_id(), BALANCING_ACCOUNT)
    jid = bc.journal("OVER", balancingAccountId=account_id)["id"]
    assert bc.balance("C10400") == Decimal("2380")
    bc.payment(jid, appliesToInvoiceNumber="RE-2026-0105", amount=-2380, documentNumber="PAY-0105")
    assert _post(bc, jid).status_code == 204
    closed, other = bc.invoice("RE-2026-0105"), bc.invoice("RE-2026-0106")
    assert (closed["status"], closed["remainingAmount"]) == ("Paid", 0)
    assert (other["status"], other["remainingAmount"]) == ("Open", Decimal("1190"))  # not applied to
    assert bc.balance("C10400") == 0  # 1190 still owed on 0106, 1190 credit on the payment


# === 6. $batch =========================================================================================


def _ok_body(n: int) -> dict[str, Any]:
    return {"customerNumber": "C10000", "amount": -n, "externalDocumentNumber": f"B{n}"}


BAD_BODY = {"customerNumber": "C12345", "amount": -99}  # an unknown customer: the operation fails with 400


def test_batch_three_operations_all_created(bc: BC) -> None:
    jid = bc.journal()["id"]
    response = bc.batch([bc.batch_post_payment(f"r{n}", jid, _ok_body(n)) for n in (1, 2, 3)])
    assert response.status_code == 200
    responses = data(response)["responses"]
    assert [(r["id"], r["status"]) for r in responses] == [("r1", 201), ("r2", 201), ("r3", 201)]
    assert [r["body"]["lineNumber"] for r in responses] == [10000, 20000, 30000]
    assert all(ETAG.match(r["body"]["@odata.etag"]) for r in responses)
    assert [p["id"] for p in bc.lines(jid)] == [r["body"]["id"] for r in responses]


def test_batch_stops_at_the_first_failure_and_keeps_what_ran(bc: BC) -> None:
    jid = bc.journal()["id"]
    ops = [
        bc.batch_post_payment("r1", jid, _ok_body(1)),
        bc.batch_post_payment("r2", jid, BAD_BODY),
        bc.batch_post_payment("r3", jid, _ok_body(3)),
    ]
    response = bc.batch(ops)
    assert response.status_code == 200
    responses = data(response)["responses"]
    assert [(r["id"], r["status"]) for r in responses] == [("r1", 201), ("r2", 400)]  # r3 is left out
    assert responses[1]["body"]["error"]["code"] == TABLE_RELATION
    assert CORRELATION.sub("", responses[1]["body"]["error"]["message"]).startswith("The field Account No.")
    assert [(p["id"], p["externalDocumentNumber"]) for p in bc.lines(jid)] == [(responses[0]["body"]["id"], "B1")]


def test_batch_continue_on_error_runs_every_operation(bc: BC) -> None:
    jid = bc.journal()["id"]
    ops = [
        bc.batch_post_payment("r1", jid, _ok_body(1)),
        bc.batch_post_payment("r2", jid, BAD_BODY),
        bc.batch_post_payment("r3", jid, _ok_body(3)),
    ]
    response = bc.batch(ops, {"Prefer": "odata.continue-on-error"})
    assert response.status_code == 200
    responses = data(response)["responses"]
    assert [(r["id"], r["status"]) for r in responses] == [("r1", 201), ("r2", 400), ("r3", 201)]
    assert [p["externalDocumentNumber"] for p in bc.lines(jid)] == ["B1", "B3"]


def test_batch_snapshot_isolation_rolls_everything_back_but_reports_the_successes(bc: BC) -> None:
    jid = bc.journal()["id"]
    ops = [
        bc.batch_post_payment("r1", jid, _ok_body(1)),
        bc.batch_post_payment("r2", jid, _ok_body(2)),
        bc.batch_post_payment("r3", jid, BAD_BODY),
    ]
    response = bc.batch(ops, {"Isolation": "snapshot"})
    assert response.status_code == 200
    responses = data(response)["responses"]
    assert [(r["id"], r["status"]) for r in responses] == [("r1", 201), ("r2", 201), ("r3", 400)]
    assert bc.lines(jid) == []
    # a snapshot batch without failures sticks
    response = bc.batch(ops[:2], {"Isolation": "snapshot"})
    assert [r["status"] for r in data(response)["responses"]] == [201, 201]
    assert [p["lineNumber"] for p in bc.lines(jid)] == [10000, 20000]


def test_batch_of_more_than_100_operations_is_refused(bc: BC) -> None:
    jid = bc.journal()["id"]
    refused = bc.batch([bc.batch_post_payment(f"r{n}", jid, _ok_body(n)) for n in range(1, 102)])
    assert refused.status_code == 400  # the batch itself is refused: not the usual 200
    assert_error(refused, 400, refused.json()["error"]["code"])
    assert bc.lines(jid) == []
    reads = [{"id": f"g{n}", "method": "GET", "url": f"companies({bc.cid})/customers"} for n in range(100)]
    accepted = bc.batch(reads)
    assert accepted.status_code == 200
    assert {r["status"] for r in data(accepted)["responses"]} == {200}


def test_batch_latency_is_per_operation() -> None:
    per_operation = 0.1
    settings = SandboxSettings(auth="none", latency=Latency(per_operation_s=per_operation))
    with start_sandbox(settings) as info, make_http_client(info) as http:
        bc = BC(info, http)
        jid = bc.journal()["id"]
        ops = [bc.batch_post_payment(f"r{n}", jid, _ok_body(n)) for n in range(1, 7)]
        started = time.monotonic()
        response = bc.batch(ops)
        elapsed = time.monotonic() - started
        assert [r["status"] for r in data(response)["responses"]] == [201] * 6
        assert elapsed >= 6 * per_operation * 0.9


@pytest.mark.parametrize(
    ("work", "expected_sleep"),
    [(0.0, 0.1), (0.03, 0.07), (0.1, None), (0.25, None)],
)
def test_operation_latency_counts_the_sandboxs_own_work(work: float, expected_sleep: float | None) -> None:
    """Lo is an operation's whole server time: 30 ms of work leave 70 ms to sleep of 100 ms; work of
    Lo or more sleeps nothing (an operation never takes Lo plus the sandbox's CPU time)."""
    now = [50.0]
    slept: list[float] = []
    started = now[0]
    now[0] += work
    wait_out(started, 0.1, clock=lambda: now[0], sleep=slept.append)
    if expected_sleep is None:
        assert slept == []
    else:
        assert slept == [pytest.approx(expected_sleep)]


def test_no_operation_latency_never_sleeps() -> None:
    slept: list[float] = []
    wait_out(0.0, 0.0, clock=lambda: -5.0, sleep=slept.append)
    assert slept == []


# === 7. Paging and query options =========================================================================


def test_server_paging_follows_next_links(bc: BC) -> None:
    jid = bc.journal()["id"]
    bc.ok(bc.batch([bc.batch_post_payment(f"r{n}", jid, _ok_body(n)) for n in range(1, 26)]))
    url: str | None = bc.url(f"customerPaymentJournals({jid})/customerPayments")
    pages: list[list[dict[str, Any]]] = []
    while url is not None:
        response = bc.http.get(url, headers={**bc.headers, "Prefer": "odata.maxpagesize=10"})
        body = bc.ok(response)
        assert response.headers.get("Preference-Applied") == "odata.maxpagesize=10"
        pages.append(body["value"])
        url = body.get("@odata.nextLink")
        if url is not None:
            assert url.startswith(bc.info.api)
        assert len(pages) <= 10, "the next links do not end"
    assert [len(p) for p in pages] == [10, 10, 5]
    numbers = [p["lineNumber"] for page in pages for p in page]
    assert numbers == [10000 * n for n in range(1, 26)]  # no duplicates, no gaps, in order
    assert len({p["id"] for page in pages for p in page}) == 25

    # without the preference everything fits on one page (20,000 by default)
    single = bc.ok(bc.get(f"customerPaymentJournals({jid})/customerPayments"))
    assert len(single["value"]) == 25
    assert "@odata.nextLink" not in single


def test_paging_keeps_filter_and_order(bc: BC) -> None:
    url: str | None = bc.url("customers")
    params: dict[str, str] | None = {"$filter": "number ne 'C99000'", "$orderby": "number desc"}
    seen: list[str] = []
    while url is not None:
        body = bc.ok(bc.http.get(url, params=params, headers={**bc.headers, "Prefer": "odata.maxpagesize=4"}))
        assert len(body["value"]) <= 4
        seen += [c["number"] for c in body["value"]]
        url, params = body.get("@odata.nextLink"), None
    assert seen == sorted(set(CUSTOMER_NAMES) - {BLOCKED_CUSTOMER}, reverse=True)


def test_query_options_on_customers_and_sales_invoices(bc: BC) -> None:
    open_c10000 = bc.ok(bc.get("salesInvoices", params={"$filter": "customerNumber eq 'C10000' and status eq 'Open'"}))[
        "value"
    ]
    assert {i["number"]: i["remainingAmount"] for i in open_c10000} == C10000_OPEN_INVOICES

    ordered = bc.ok(
        bc.get(
            "salesInvoices",
            params={"$filter": "customerNumber eq 'C10000'", "$orderby": "totalAmountIncludingTax desc"},
        )
    )["value"]
    assert [i["number"] for i in ordered] == sorted(C10000_OPEN_INVOICES, key=lambda n: -C10000_OPEN_INVOICES[n])

    selected = bc.ok(
        bc.get("salesInvoices", params={"$filter": "number eq 'INV-5002'", "$select": "number,remainingAmount,status"})
    )["value"]
    assert len(selected) == 1
    assert {"number", "remainingAmount", "status"} <= set(selected[0])
    assert not {"customerName", "totalTaxAmount", "dueDate", "billToCustomerNumber"} & set(selected[0])
    assert (selected[0]["number"], selected[0]["remainingAmount"], selected[0]["status"]) == (
        "INV-5002",
        Decimal("1234.56"),
        "Open",
    )

    page = bc.ok(bc.get("customers", params={"$top": "3", "$skip": "2"}))["value"]
    assert [c["number"] for c in page] == sorted(CUSTOMER_NAMES)[2:5]
    blocked = bc.ok(bc.get("customers", params={"$filter": "blocked eq 'All'", "$select": "number,displayName"}))
    assert [(c["number"], c["displayName"]) for c in blocked["value"]] == [
        (BLOCKED_CUSTOMER, CUSTOMER_NAMES[BLOCKED_CUSTOMER])
    ]
    starts = bc.ok(bc.get("customers", params={"$filter": "startswith(displayName,'L')", "$orderby": "displayName"}))
    assert [c["number"] for c in starts["value"]] == ["C80000", "C95000"]  # Litware Inc, Lucerne Publishing

    paid = bc.ok(bc.get("salesInvoices", params={"$filter": "status eq 'Paid' and customerNumber eq 'C20000'"}))[
        "value"
    ]
    assert [(i["number"], i["remainingAmount"]) for i in paid] == [("INV-4999", 0)]
    assert len(bc.ok(bc.get("salesInvoices", params={"$filter": "startswith(number,'RE-2026-')"}))["value"]) == 12

    assert bc.get("customers", params={"$filter": "nosuchfield eq 1"}).status_code == 400


# === 8. Limits and faults on the real app =================================================================


def test_a_burst_above_concurrency_plus_queue_gets_429s() -> None:
    limits = Limits(max_concurrent=2, max_queue=2)
    settings = SandboxSettings(auth="none", limits=limits, latency=Latency(per_request_s=0.3))
    burst = 10
    with start_sandbox(settings) as info, make_http_client(info) as http:
        bc = BC(info, http)
        url = bc.url("customers")
        start = threading.Barrier(burst)
        statuses: list[int] = []
        bodies: list[httpx.Response] = []
        lock = threading.Lock()

        def call() -> None:
            start.wait()
            response = http.get(url)
            with lock:
                statuses.append(response.status_code)
                bodies.append(response)

        threads = [threading.Thread(target=call) for _ in range(burst)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert len(statuses) == burst
        assert set(statuses) <= {200, 429}
        refused = statuses.count(429)
        assert refused >= 1
        assert statuses.count(200) >= limits.max_concurrent + limits.max_queue
        for response in bodies:
            if response.status_code == 429:
                assert_error(response, 429, response.json()["error"]["code"])
        stats = info.stats.client(ANONYMOUS_CLIENT_ID)
        assert stats.queue_full == refused
        assert stats.max_in_flight <= limits.max_concurrent
        assert http.get(url).status_code == 200  # and it recovers once the burst is over


def test_the_rate_window_gives_429() -> None:
    limits = Limits(rate_requests=5, rate_window_s=60.0)
    settings = SandboxSettings(auth="none", limits=limits, extra={"limits.retry_after_on_429": "true"})
    with start_sandbox(settings) as info, make_http_client(info) as http:
        bc = BC(info, http)
        assert [bc.get("customers").status_code for _ in range(5)] == [200] * 5
        refused = bc.get("customers")
        assert_error(refused, 429, refused.json()["error"]["code"])
        assert 0 < int(refused.headers["Retry-After"]) <= 60
        assert bc.post("customerPaymentJournals", json={"code": "LATE"}).status_code == 429
        assert info.stats.client(ANONYMOUS_CLIENT_ID).rate_limited == 2


def test_504_after_commit_the_line_exists(faults: BC) -> None:
    bc = faults
    jid = bc.journal()["id"]
    bc.info.faults.add(Fault("504-after-commit", route=re.escape(jid), methods=("POST",), times=1))
    timed_out = bc.pay(jid, customerNumber="C10000", amount=-10, externalDocumentNumber="TIMEOUT-1")
    assert_error(timed_out, 504, timed_out.json()["error"]["code"])
    found = bc.ok(
        bc.get("customerPayments", params={"$filter": f"journalId eq {jid} and externalDocumentNumber eq 'TIMEOUT-1'"})
    )["value"]
    assert [(p["lineNumber"], p["amount"]) for p in found] == [(10000, -10)]  # committed although the client saw 504


def test_drop_after_commit_the_client_sees_a_broken_connection_and_the_line_exists(faults: BC) -> None:
    bc = faults
    jid = bc.journal()["id"]
    bc.info.faults.add(Fault("drop-after-commit", route=re.escape(jid), methods=("POST",), times=1))
    with pytest.raises(httpx.TransportError):
        bc.pay(jid, customerNumber="C10000", amount=-10, externalDocumentNumber="DROP-1")
    assert [p["externalDocumentNumber"] for p in bc.lines(jid)] == ["DROP-1"]
    # a retry that does not check first creates a duplicate (bc-api.md pitfall 5)
    bc.payment(jid, customerNumber="C10000", amount=-10, externalDocumentNumber="DROP-1")
    assert [p["lineNumber"] for p in bc.lines(jid)] == [10000, 20000]


@pytest.mark.parametrize(
    ("kind", "retry_after_s", "status", "header"),
    [
        ("429", 7.0, 429, "7"),
        ("429-no-retry-after", 7.0, 429, None),
        ("503", 2.5, 503, "3"),  # whole seconds, rounded up
        ("502", 4.0, 502, "4"),
    ],
)
def test_fault_statuses_carry_retry_after_as_configured(
    faults: BC, kind: Any, retry_after_s: float, status: int, header: str | None
) -> None:
    bc = faults
    jid = bc.journal()["id"]
    bc.info.faults.add(Fault(kind, route=re.escape(jid), retry_after_s=retry_after_s, times=1))
    refused = bc.pay(jid, customerNumber="C10000", amount=-1)
    assert_error(refused, status, refused.json()["error"]["code"])
    assert refused.headers.get("Retry-After") == header
    assert bc.lines(jid) == []  # refused at the door: nothing ran
    assert bc.pay(jid, customerNumber="C10000", amount=-1).status_code == 201  # times=1: the retry goes through


# === 9. Restart persistence ================================================================================


def test_state_survives_a_restart_on_the_same_database_file(tmp_path: Path) -> None:
    settings = SandboxSettings(auth="none", db_path=tmp_path / "sandbox.db")
    with start_sandbox(settings) as info, make_http_client(info) as http:
        bc = BC(info, http)
        journal = bc.journal("KEEP", displayName="survives")
        lines = [bc.payment(journal["id"], customerNumber="C10000", amount=-n) for n in (1, 2)]
        balance = bc.balance("C10000")
        assert balance == sum(C10000_OPEN_INVOICES.values())
    assert (tmp_path / "sandbox.db").is_file()

    with start_sandbox(settings) as info, make_http_client(info) as http:
        bc = BC(info, http)
        assert info.company_id == seed.company_id()
        assert [c["id"] for c in bc.ok(http.get(f"{info.api}/companies"))["value"]] == [seed.company_id()]
        kept = bc.ok(bc.get(f"customerPaymentJournals({journal['id']})"))
        assert (kept["code"], kept["displayName"], kept["@odata.etag"]) == ("KEEP", "survives", journal["@odata.etag"])
        assert [(p["id"], p["lineNumber"], p["amount"]) for p in bc.lines(journal["id"])] == [
            (line["id"], line["lineNumber"], line["amount"]) for line in lines
        ]
        assert bc.payment(journal["id"], customerNumber="C10000", amount=-3)["lineNumber"] == 30000
        # the demo seed ran again and added nothing
        assert [j["code"] for j in bc.ok(bc.get("customerPaymentJournals"))["value"]] == ["GENERAL", "KEEP"]
        assert len(bc.ok(bc.get("customers"))["value"]) == len(CUSTOMER_NAMES)
        assert len(bc.ok(bc.get("salesInvoices"))["value"]) == DEMO_INVOICES
        assert bc.balance("C10000") == balance  # no ledger entry was seeded twice


# === 10. Concurrency ========================================================================================


def test_parallel_posts_into_one_journal_get_distinct_line_numbers(bc: BC) -> None:
    jid = bc.journal()["id"]
    workers, each = 8, 10
    start = threading.Barrier(workers)
    results: list[int] = []
    failures: list[str] = []
    lock = threading.Lock()

    def worker(w: int) -> None:
        start.wait()
        for i in range(each):
            response = bc.pay(jid, customerNumber="C10000", amount=-1, externalDocumentNumber=f"W{w}-{i}")
            with lock:
                if response.status_code == 201:
                    results.append(response.json()["lineNumber"])
                else:
                    failures.append(response.text)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    assert len(results) == workers * each
    lines = bc.lines(jid)
    numbers = [p["lineNumber"] for p in lines]
    assert len(lines) == workers * each
    assert len(set(numbers)) == workers * each
    assert all(n % 10000 == 0 for n in numbers)
    assert sorted(numbers) == [10000 * n for n in range(1, workers * each + 1)]
    assert sorted(results) == sorted(numbers)
    assert len({p["externalDocumentNumber"] for p in lines}) == workers * each


# === 11. The request examples of Microsoft's docs (reference/seeds), replayed on the v2.0 paths ===============
# bc-api.md 1.2 / pitfall 2: the examples are stale (v1.0 contactId, a positive amount, wrong paths,
# placeholder values). Each body is sent as printed to the correct v2.0 path first, then corrected
# step by step, and the sandbox must answer each step as BC v2.0 does.

DOCS_JOURNAL_000 = {"code": "DEFAULT"}  # seeds/000: "POST .../customerPaymentJournals"
DOCS_JOURNAL_001 = {  # seeds/001
    "@odata.type": "#microsoft.graph.customerPaymentJournal",
    "code": "Code value",
    "displayName": "Display Name value",
    "balancingAccountId": "1f4f6a81-6a81-1f4f-816a-4f1f816a4f1f",
    "balancingAccountNumber": "Balancing Account Number value",
}
DOCS_PAYMENT_002 = {  # seeds/002: ".../customerPaymentJournals/{id}/customerPayments"
    "journalDisplayName": "journalDisplayName-value",
    "lineNumber": 99,
    "customerId": "customerId-value",
    "customerNumber": "customerNumber-value",
    "contactId": "contactId-value",
}
DOCS_PAYMENT_003 = {  # seeds/003: "POST .../companies({id})/customerPayment" (singular: wrong)
    "id": "17cce948-c6a5-4861-8ff5-30428ed83207",
    "lineNumber": 10000,
    "customerId": "customerId-value",
    "customerNumber": "10400",
    "contactId": "string",
    "postingDate": "2015-12-31",
    "documentNumber": "1234",
    "externalDocumentNumber": "",
    "amount": 1500,
    "appliesToInvoiceId": "appliesToInvoiceId-value",
    "appliesToInvoiceNumber": "100000",
    "description": "",
    "comment": "",
    "lastModifiedDateTime": "2017-03-17T19:02:22.043Z",
}


def _without(body: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in names}


def test_docs_example_000_create_journal_default(fresh: BC) -> None:
    bc = fresh
    created = bc.ok(bc.post("customerPaymentJournals", json=DOCS_JOURNAL_000), 201)
    assert created["code"] == "DEFAULT"
    # the docs' response shows "Default Journal Batch"; v2.0 leaves what was not sent blank
    assert created["displayName"] == ""
    assert (created["balancingAccountId"], created["balancingAccountNumber"]) == (EMPTY_GUID, "")
    assert bc.post("customerPaymentJournals", json=DOCS_JOURNAL_000).status_code == 400  # the code exists now
    # the docs path posts to a key (customerPaymentJournals/{id}): not how one creates an entity
    assert bc.post(f"customerPaymentJournals({created['id']})", json=DOCS_JOURNAL_000).status_code in (400, 404, 405)


def test_docs_example_001_create_journal_with_placeholders(fresh: BC) -> None:
    bc = fresh
    as_printed = bc.post("customerPaymentJournals", json=DOCS_JOURNAL_001)
    message = assert_error(as_printed, 400, as_printed.json()["error"]["code"])
    assert message in (BALANCING_ACCOUNT_NOT_FOUND, "Control 'balancingAccountNumber' is read-only.")

    # the balancing account id is a placeholder: no such G/L account
    assert_error(
        bc.post("customerPaymentJournals", json=_without(DOCS_JOURNAL_001, "balancingAccountNumber")),
        400,
        "Application_DialogException",
        BALANCING_ACCOUNT_NOT_FOUND,
    )
    # balancingAccountNumber is read-only
    account_id = bc.ok(bc.get("customerPaymentJournals", params={"$filter": "code eq 'GENERAL'"}))["value"][0][
        "balancingAccountId"
    ]
    assert_error(
        bc.post("customerPaymentJournals", json={**DOCS_JOURNAL_001, "balancingAccountId": account_id}),
        400,
        "BadRequest_InvalidOperation",
        "Control 'balancingAccountNumber' is read-only.",
    )
    # corrected: "Code value" is exactly 10 characters, stored upper-cased; the annotation is ignored
    created = bc.ok(
        bc.post(
            "customerPaymentJournals",
            json={**_without(DOCS_JOURNAL_001, "balancingAccountNumber"), "balancingAccountId": account_id},
        ),
        201,
    )
    assert (created["code"], created["displayName"]) == ("CODE VALUE", "Display Name value")
    assert (created["balancingAccountId"], created["balancingAccountNumber"]) == (account_id, BALANCING_ACCOUNT)


def test_docs_example_002_create_payment_in_a_journal(fresh: BC) -> None:
    bc = fresh
    journal = bc.journal("DOCS002")
    path = f"customerPaymentJournals({journal['id']})/customerPayments"
    c10400 = bc.customer("C10400")

    as_printed = bc.post(path, json=DOCS_PAYMENT_002)
    assert_error(as_printed, 400, "BadRequest")  # "customerId-value" is no GUID, contactId no v2.0 property
    # with real values, the v1.0-only contactId is still an unknown property
    real = {
        **DOCS_PAYMENT_002,
        "journalDisplayName": "DOCS002",
        "customerId": c10400["id"],
        "customerNumber": "C10400",
    }
    message = assert_error(bc.post(path, json=real), 400, "BadRequest")
    assert "'contactId'" in message
    # "journalDisplayName-value" is longer than Code[10]
    too_long = {**_without(real, "contactId"), "journalDisplayName": DOCS_PAYMENT_002["journalDisplayName"]}
    assert_error(bc.post(path, json=too_long), 400, "Application_StringExceededLength")
    assert bc.lines(journal["id"]) == []

    created = bc.ok(bc.post(path, json=_without(real, "contactId")), 201)
    assert "contactId" not in created
    assert (created["lineNumber"], created["journalDisplayName"]) == (99, "DOCS002")
    assert (created["customerId"], created["customerNumber"]) == (c10400["id"], "C10400")
    assert created["description"] == CUSTOMER_NAMES["C10400"]
    assert created["amount"] == 0


def test_docs_example_003_create_payment_top_level(fresh: BC) -> None:
    bc = fresh
    journal = bc.journal("DOCS003")
    jid = journal["id"]
    # the docs' path (singular) does not exist
    wrong = bc.post("customerPayment", json=DOCS_PAYMENT_003)
    assert assert_error(wrong, 404, "BadRequest_NotFound").startswith("No HTTP resource was found")

    # the right top-level path with the body as printed: placeholders are no GUIDs
    assert_error(bc.post("customerPayments", json=DOCS_PAYMENT_003), 400, "BadRequest")
    cleaned = _without(DOCS_PAYMENT_003, "customerId", "appliesToInvoiceId")
    message = assert_error(bc.post("customerPayments", json=cleaned), 400, "BadRequest")
    assert "'contactId'" in message
    # v2.0 wants journalId in a top-level body; and "10400" is no customer here (it is C10400)
    cleaned = {**_without(cleaned, "contactId"), "journalId": jid, "customerNumber": "C10400"}
    for read_only in ("id", "lastModifiedDateTime"):
        body = _without(cleaned, *({"id", "lastModifiedDateTime"} - {read_only}))
        assert_error(
            bc.post("customerPayments", json=body),
            400,
            "BadRequest_InvalidOperation",
            f"Control '{read_only}' is read-only.",
        )
    cleaned = _without(cleaned, "id", "lastModifiedDateTime")
    assert_error(
        bc.post("customerPayments", json=_without(cleaned, "journalId")),
        400,
        "Application_DialogException",
        FILTERS_NOT_SPECIFIED,
    )
    assert_error(
        bc.post("customerPayments", json={**cleaned, "customerNumber": "10400"}),
        400,
        TABLE_RELATION,
        customer_not_related("10400"),
    )
    assert bc.lines(jid) == []

    created = bc.ok(bc.post("customerPayments", json=cleaned), 201)
    assert (created["journalId"], created["journalDisplayName"], created["lineNumber"]) == (jid, "DOCS003", 10000)
    assert (created["customerNumber"], created["customerId"]) == ("C10400", bc.customer("C10400")["id"])
    assert (created["postingDate"], created["documentNumber"]) == ("2015-12-31", "1234")
    assert created["amount"] == 1500  # the docs' positive amount: accepted and stored as sent ...
    # ... the unknown invoice number "100000" is accepted silently ...
    assert (created["appliesToInvoiceNumber"], created["appliesToInvoiceId"]) == ("100000", EMPTY_GUID)
    assert created["description"] == CUSTOMER_NAMES["C10400"]  # an empty description is not applied
    assert created["externalDocumentNumber"] == ""
    # ... and both only fail at posting (the sign is checked first, line by line)
    message = assert_error(bc.post(f"journals({jid})/Microsoft.NAV.post"), 400, "Application_FieldValidationException")
    assert message.startswith("Amount must be negative")
    assert len(bc.lines(jid)) == 1


def test_docs_resource_004_journal_representation(bc: BC) -> None:
    journal = bc.journal()
    fetched = bc.ok(bc.get(f"customerPaymentJournals({journal['id']})"))
    # the JSON representation of seeds/004 (plus the OData annotations)
    assert set(fetched) - {"@odata.context", "@odata.etag"} == {
        "id",
        "code",
        "displayName",
        "lastModifiedDateTime",
        "balancingAccountId",
        "balancingAccountNumber",
    }
    # the page says "displayName: maximum size 50" (v1.0); v2.0's Description is Text[100]
    assert bc.journal(displayName="x" * 100)["displayName"] == "x" * 100
    assert_error(
        bc.post("customerPaymentJournals", json={"code": new_code(), "displayName": "x" * 101}),
        400,
        "Application_StringExceededLength",
    )
    # lastModifiedDateTime is read-only (and a DateTimeOffset in UTC)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z", fetched["lastModifiedDateTime"])


# === 12. The CLI: payimport sandbox serve =====================================================================


def _serve_command() -> list[str]:
    script = Path(sys.executable).parent / "payimport"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "pipeline.cli"]


def test_cli_sandbox_serve_prints_its_urls_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    stderr = (tmp_path / "stderr.txt").open("wb")
    proc = subprocess.Popen(
        [*_serve_command(), "sandbox", "serve", "--port", "0", "--seed", "demo"],
        stdout=subprocess.PIPE,
        stderr=stderr,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    watchdog = threading.Timer(30.0, proc.kill)  # never hang the suite on a server that does not start
    watchdog.start()
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, (tmp_path / "stderr.txt").read_text()
        ready = json.loads(line)
        fields = {
            "api",
            "authority",
            "token_url",
            "tenant",
            "environment",
            "company_id",
            "client_id",
            "client_secret",
            "ca",
        }
        assert fields <= set(ready)
        assert ready["company_id"] == seed.company_id()
        assert ready["api"].startswith("http://127.0.0.1:")
        assert ready["token_url"] == f"{ready['authority']}/oauth2/v2.0/token"
        assert ready["ca"] is None  # no --tls

        with httpx.Client(timeout=10.0, trust_env=False) as http:
            customers = f"{ready['api']}/companies({ready['company_id']})/customers"
            assert_error(http.get(customers), 401, "Authentication_InvalidCredentials")
            token = http.post(
                ready["token_url"],
                data={
                    "grant_type": "client_credentials",
                    "client_id": ready["client_id"],
                    "client_secret": ready["client_secret"],
                    "scope": "https://api.businesscentral.dynamics.com/.default",
                },
            )
            assert token.status_code == 200, token.text
            auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
            listed = http.get(customers, headers=auth)
            assert listed.status_code == 200
            assert [c["number"] for c in listed.json()["value"]] == sorted(CUSTOMER_NAMES)

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        stderr.close()


def test_expand_navigation_properties_with_their_own_options(bc: BC) -> None:
    jid = bc.journal()["id"]
    bc.payment(jid, customerNumber="C10000", amount=-10, documentNumber="X1")
    bc.payment(jid, customerNumber="C10000", amount=-20, documentNumber="X2")
    journal = bc.ok(bc.get(f"customerPaymentJournals({jid})", params={"$expand": "customerPayments($select=amount)"}))
    assert [p["amount"] for p in journal["customerPayments"]] == [-10, -20]
    assert set(journal["customerPayments"][0]) == {"@odata.etag", "id", "amount"}

    invoice_id = bc.invoice("RE-2026-0101")["id"]
    with_lines = bc.ok(
        bc.get("salesInvoices", params={"$filter": f"id eq {invoice_id}", "$expand": "salesInvoiceLines"})
    )
    assert len(with_lines["value"]) == 1 and with_lines["value"][0]["salesInvoiceLines"]

    customer = bc.ok(
        bc.get(f"customers({bc.customer('C10000')['id']})", params={"$expand": "customerFinancialDetails"})
    )
    assert customer["customerFinancialDetails"]["number"] == "C10000"

    wrong = bc.get("customers", params={"$expand": "contacts"})
    assert wrong.status_code == 400
    assert "Could not find a property named 'contacts'" in wrong.json()["error"]["message"]


def test_count_and_select_on_a_single_entity(bc: BC) -> None:
    counted = bc.ok(bc.get("customers", params={"$count": "true", "$top": "2"}))
    assert counted["@odata.count"] == len(CUSTOMER_NAMES)
    assert len(counted["value"]) == 2
    one = bc.ok(bc.get(f"customers({bc.customer('C10000')['id']})", params={"$select": "number"}))
    assert {k for k in one if not k.startswith("@")} == {"id", "number"}


def test_unreadable_requests_are_400s_and_the_connection_stays_usable(bc: BC) -> None:
    jid = bc.journal()["id"]
    path = f"customerPaymentJournals({jid})/customerPayments"
    lone_surrogate = b'{"customerNumber": "C10000", "amount": -1, "documentNumber": "\\ud800"}'
    huge_exponent = b'{"customerNumber": "C10000", "amount": 1e9999999}'
    for raw in (lone_surrogate, huge_exponent):
        answer = bc.http.post(bc.url(path), content=raw, headers={**bc.headers, "Content-Type": "application/json"})
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["code"] == "BadRequest"
    deep = "(" * 400 + "amount eq 1" + ")" * 400
    assert bc.get(path, params={"$filter": deep}).status_code == 400
    assert bc.lines(jid) == []  # nothing half-written, and the same connection still answers


def test_a_batch_reports_every_operation_even_when_one_is_unreadable(bc: BC) -> None:
    jid = bc.journal()["id"]
    url = f"companies({bc.cid})/customerPaymentJournals({jid})/customerPayments"
    good = {"customerNumber": "C10000", "amount": -5, "documentNumber": "B1"}
    body = (
        '{"requests": ['
        f'{{"id": "1", "method": "POST", "url": "{url}", "headers": {{"Content-Type": "application/json"}}, '
        f'"body": {json.dumps(good)}}},'
        f'{{"id": "2", "method": "POST", "url": "{url}", "headers": {{"Content-Type": "application/json"}}, '
        '"body": {"customerNumber": "C10000", "amount": -6, "documentNumber": "\\ud800"}}'
        "]}"
    )
    answer = bc.http.post(
        f"{bc.info.api}/$batch", content=body.encode(), headers={**bc.headers, "Content-Type": "application/json"}
    )
    assert answer.status_code == 200, answer.text
    assert [r["status"] for r in answer.json()["responses"]] == [201, 400]
    assert [line["documentNumber"] for line in bc.lines(jid)] == ["B1"]


def test_text_limits_count_utf16_units_as_bc_does(bc: BC) -> None:
    jid = bc.journal()["id"]
    too_long = bc.pay(jid, customerNumber="C10000", amount=-1, description="\U0001f600" * 51)  # 102 units > 100
    assert too_long.status_code == 400
    assert too_long.json()["error"]["code"] == "Application_StringExceededLength"
    fits = bc.pay(jid, customerNumber="C10000", amount=-1, description="\U0001f600" * 50)
    assert fits.status_code == 201


# --- accounts and companyInformation (what the importer reads before it creates a journal) --------


def test_accounts_list_the_demo_balancing_account_by_number(bc: BC) -> None:
    """The demo's bank account 2910 is a direct-posting G/L account the journal can balance against."""
    r = bc.get("accounts", params={"$filter": "number eq '2910'"})
    assert r.status_code == 200
    (account,) = r.json()["value"]
    assert account["number"] == "2910"
    assert re.fullmatch(GUID, account["id"])
    assert account["directPosting"] is True and account["blocked"] is False
    journal = bc.post("customerPaymentJournals", json={"code": "ACCTEST", "balancingAccountId": account["id"]})
    assert journal.status_code == 201, journal.text
    assert journal.json()["balancingAccountNumber"] == "2910"


def test_company_information_names_the_local_currency(bc: BC) -> None:
    """The demo company keeps its books in EUR (seed), so its LCY is EUR."""
    r = bc.get("companyInformation")
    assert r.status_code == 200
    (info,) = r.json()["value"]
    assert info["currencyCode"] == "EUR"
    assert bc.post("companyInformation", json={}).status_code == 405
