"""Posting creates G/L entries, exposed read-only as API v2.0 ``generalLedgerEntries``.

Expected values are worked out by hand from BC's rules, not read from the code under test:

- API page 30018 "APIV2 - G/L Entries" (microsoft/BCApps
  ``src/Apps/W1/APIV2/app/src/pages/APIV2GLEntries.Page.al``): the fields and their order, key
  SystemId, Editable/InsertAllowed/ModifyAllowed/DeleteAllowed = false.
- ``GenJnlPostLine.Code``: a customer line with a balancing account is exchanged first, so the
  balancing G/L account's entry comes before the receivables entry; ``PostCust`` posts the
  customer side to the Receivables Account of the customer's posting group.
- ``GLEntry.UpdateDebitCredit``: positive amount = debit, otherwise credit of the negated amount.

The demo seed (``pipeline/sandbox/seed.py``): balancing account 2910, customer posting group
DOMESTIC with receivables account 2310; RE-2026-0101 is C10000's open invoice of 1,190.00;
C10000 is "Müller Maschinenbau GmbH", C20000 "Northwind Traders". Work date 2026-03-20.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from pipeline.sandbox import rules, seed
from pipeline.sandbox.app import Dispatcher
from pipeline.sandbox.errors import SandboxApiError
from pipeline.sandbox.odata import options
from pipeline.sandbox.runtime import start_sandbox
from pipeline.sandbox.server import make_http_client
from pipeline.sandbox.settings import SandboxSettings
from pipeline.sandbox.store import Store

from .conftest import fixed_clock

API = "http://sandbox.test/v2.0/sandbox/api/v2.0"
MULLER = "Müller Maschinenbau GmbH"
NORTHWIND = "Northwind Traders"
GL_FIELDS = [  # page 30018, layout order (attachments and dimensionSetLines are parts)
    "@odata.etag",
    "id",
    "entryNumber",
    "postingDate",
    "documentNumber",
    "documentType",
    "accountId",
    "accountNumber",
    "description",
    "debitAmount",
    "creditAmount",
    "additionalCurrencyDebitAmount",
    "additionalCurrencyCreditAmount",
    "lastModifiedDateTime",
]


def _account_id(store: Store, number: str) -> str:
    row = store.query_one("SELECT id FROM gl_accounts WHERE number = ?", (number,))
    assert row is not None, number
    return str(row["id"])


def _last_entry(store: Store, cid: str) -> int:
    entries = rules.list_gl_entries(store, cid)
    return int(entries[-1]["entryNumber"]) if entries else 0


def _journal(store: Store, cid: str, code: str = "PAY1") -> str:
    body = {"code": code, "displayName": f"Import {code}", "balancingAccountId": _account_id(store, "2910")}
    return str(rules.create_journal(store, cid, body)["id"])


def _two_payments(store: Store, cid: str, jid: str) -> None:
    """PMT-1 pays RE-2026-0101 (1,190.00) in full; PMT-2 is 250.50 from C20000, applied to nothing."""
    invoice = next(i for i in rules.list_sales_invoices(store, cid) if i["number"] == "RE-2026-0101")
    rules.create_payment(
        store,
        cid,
        jid,
        {
            "customerNumber": "C10000",
            "postingDate": "2026-03-18",
            "documentNumber": "PMT-1",
            "amount": Decimal("-1190.00"),
            "appliesToInvoiceId": invoice["id"],
        },
    )
    rules.create_payment(
        store,
        cid,
        jid,
        {
            "customerNumber": "C20000",
            "postingDate": "2026-03-19",
            "documentNumber": "PMT-2",
            "amount": Decimal("-250.50"),
        },
    )


def _view(entry: dict[str, Any]) -> tuple[Any, ...]:
    return (
        entry["entryNumber"],
        entry["postingDate"],
        entry["documentNumber"],
        entry["documentType"],
        entry["accountNumber"],
        entry["description"],
        entry["debitAmount"],
        entry["creditAmount"],
    )


def _dispatch(store: Store, cid: str, method: str, path: str, **headers: str) -> tuple[int, Any]:
    outcome = Dispatcher(SandboxSettings(), store, API).execute(
        method, f"companies({cid})/{path}", headers, None, request_url=f"{API}/companies({cid})/{path}"
    )
    return outcome.status, outcome.body


def _get(store: Store, cid: str, path: str, **headers: str) -> Any:
    status, body = _dispatch(store, cid, "GET", path, **headers)
    assert status == 200, body
    return body


# --- posting creates exactly the expected entries ------------------------------------------------------------


def test_posting_two_payments_creates_the_balancing_and_receivables_entries(store: Store, cid: str) -> None:
    jid = _journal(store, cid)
    _two_payments(store, cid, jid)
    before = _last_entry(store, cid)

    rules.post_journal(store, cid, jid)

    new = [e for e in rules.list_gl_entries(store, cid) if e["entryNumber"] > before]
    n = before
    assert [_view(e) for e in new] == [
        # PMT-1: the receipt of 1,190.00 debits the balancing account 2910, credits receivables 2310
        (n + 1, "2026-03-18", "PMT-1", "Payment", "2910", MULLER, Decimal("1190"), Decimal(0)),
        (n + 2, "2026-03-18", "PMT-1", "Payment", "2310", MULLER, Decimal(0), Decimal("1190")),
        # PMT-2: 250.50, unapplied; the same two accounts
        (n + 3, "2026-03-19", "PMT-2", "Payment", "2910", NORTHWIND, Decimal("250.5"), Decimal(0)),
        (n + 4, "2026-03-19", "PMT-2", "Payment", "2310", NORTHWIND, Decimal(0), Decimal("250.5")),
    ]
    assert [list(e) for e in new] == [GL_FIELDS] * 4
    assert [e["accountId"] for e in new] == [_account_id(store, n) for n in ("2910", "2310", "2910", "2310")]
    assert all(e["additionalCurrencyDebitAmount"] == 0 == e["additionalCurrencyCreditAmount"] for e in new)
    assert all(e["lastModifiedDateTime"] == "2026-03-20T09:30:00.000Z" for e in new)
    assert len({e["id"] for e in new}) == 4

    # the customer side: PMT-1 closed RE-2026-0101, PMT-2 stays open as a credit
    payments = {
        e["documentNumber"]: e for e in rules.customer_ledger_entries(store, cid) if e["documentType"] == "Payment"
    }
    assert (payments["PMT-1"]["remainingAmount"], payments["PMT-1"]["open"]) == (0, False)
    assert (payments["PMT-2"]["remainingAmount"], payments["PMT-2"]["open"]) == (Decimal("-250.5"), True)
    invoice = next(i for i in rules.list_sales_invoices(store, cid) if i["number"] == "RE-2026-0101")
    assert (invoice["remainingAmount"], invoice["status"]) == (0, "Paid")


def test_the_whole_general_ledger_balances_after_seeding_and_posting(store: Store, cid: str) -> None:
    jid = _journal(store, cid)
    _two_payments(store, cid, jid)
    rules.post_journal(store, cid, jid)
    entries = rules.list_gl_entries(store, cid)
    assert sum(e["debitAmount"] for e in entries) == sum(e["creditAmount"] for e in entries)
    assert [e["entryNumber"] for e in entries] == list(range(1, len(entries) + 1))


def test_a_foreign_currency_receipt_posts_its_lcy_amount(store: Store, cid: str) -> None:
    """C70000 pays in USD at the seed's fixed rate 0.92: 100.00 USD is 92.00 EUR on the G/L."""
    jid = _journal(store, cid)
    rules.create_payment(store, cid, jid, {"customerNumber": "C70000", "documentNumber": "USD-1", "amount": -100})
    rules.post_journal(store, cid, jid)
    entries = [e for e in rules.list_gl_entries(store, cid) if e["documentNumber"] == "USD-1"]
    assert [(e["accountNumber"], e["debitAmount"], e["creditAmount"]) for e in entries] == [
        ("2910", Decimal(92), Decimal(0)),
        ("2310", Decimal(0), Decimal(92)),
    ]
    assert {e["postingDate"] for e in entries} == {"2026-03-20"}  # empty journal: the work date


def test_seeded_posted_invoices_have_their_gl_entries(store: Store, cid: str) -> None:
    """RE-2026-0101, 1,190.00 incl. 19 % VAT: revenue 1,000.00 and VAT 190.00 credited, receivables debited."""
    entries = [e for e in rules.list_gl_entries(store, cid) if e["documentNumber"] == "RE-2026-0101"]
    assert [(e["documentType"], e["accountNumber"], e["debitAmount"], e["creditAmount"]) for e in entries] == [
        ("Invoice", "6110", Decimal(0), Decimal(1000)),
        ("Invoice", "5610", Decimal(0), Decimal(190)),
        ("Invoice", "2310", Decimal(1190), Decimal(0)),
    ]
    # the seeded paid invoice INV-4999 (60.00) has its payment's entries too
    paid = [e for e in rules.list_gl_entries(store, cid) if e["documentNumber"] == "PAY-INV-4999"]
    assert [(e["accountNumber"], e["debitAmount"], e["creditAmount"]) for e in paid] == [
        ("2910", Decimal(60), Decimal(0)),
        ("2310", Decimal(0), Decimal(60)),
    ]


def test_posting_a_sales_invoice_creates_its_gl_entries(store: Store, cid: str) -> None:
    """Two lines on 6110 (2 x 50.00 and 1 x 25.00, 19 % VAT): one revenue entry of 125.00, VAT 23.75."""
    draft = rules.create_sales_invoice(
        store,
        cid,
        {
            "customerNumber": "C10000",
            "salesInvoiceLines": [
                {"lineType": "Account", "lineObjectNumber": "6110", "quantity": 2, "unitPrice": 50},
                {"lineType": "Account", "lineObjectNumber": "6110", "quantity": 1, "unitPrice": 25},
            ],
        },
    )
    rules.post_sales_invoice(store, cid, draft["id"])
    posted = rules.get_sales_invoice(store, cid, draft["id"])
    entries = [e for e in rules.list_gl_entries(store, cid) if e["documentNumber"] == posted["number"]]
    assert [(e["accountNumber"], e["debitAmount"], e["creditAmount"]) for e in entries] == [
        ("6110", Decimal(0), Decimal(125)),
        ("5610", Decimal(0), Decimal("23.75")),
        ("2310", Decimal("148.75"), Decimal(0)),
    ]
    assert posted["totalAmountIncludingTax"] == Decimal("148.75")


# --- filters, $select, $orderby, $top, paging ----------------------------------------------------------------


@pytest.fixture
def posted(store: Store, cid: str) -> Store:
    jid = _journal(store, cid)
    _two_payments(store, cid, jid)
    rules.post_journal(store, cid, jid)
    return store


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("documentNumber eq 'PMT-1'", ["PMT-1", "PMT-1"]),
        ("documentNumber eq 'PMT-1' and postingDate eq 2026-03-18", ["PMT-1", "PMT-1"]),
        ("documentNumber eq 'PMT-1' and postingDate eq 2026-03-19", []),
        ("postingDate eq 2026-03-19", ["PMT-2", "PMT-2"]),
        ("postingDate ge 2026-03-18 and postingDate le 2026-03-19", ["PMT-1", "PMT-1", "PMT-2", "PMT-2"]),
        ("documentNumber eq 'PMT-1' or documentNumber eq 'PMT-2'", ["PMT-1", "PMT-1", "PMT-2", "PMT-2"]),
        ("documentNumber eq 'PMT-2' and accountNumber eq '2310'", ["PMT-2"]),
        ("documentNumber eq 'pmt-1'", []),  # Code fields are stored upper-case; comparison is exact
        ("documentNumber eq 'PMT-9'", []),
    ],
)
def test_filters_return_exactly_the_posted_entries(posted: Store, cid: str, query: str, expected: list[str]) -> None:
    body = _get(posted, cid, f"generalLedgerEntries?$filter={query}")
    assert [e["documentNumber"] for e in body["value"]] == expected


def test_in_filter_needs_schemaversion_2_1_as_on_every_bc_entity_set(posted: Store, cid: str) -> None:
    query = "documentNumber in ('PMT-1','PMT-2')"
    body = _get(posted, cid, f"generalLedgerEntries?$filter={query}&$schemaversion=2.1")
    assert [e["documentNumber"] for e in body["value"]] == ["PMT-1", "PMT-1", "PMT-2", "PMT-2"]
    status, _ = _dispatch(posted, cid, "GET", f"generalLedgerEntries?$filter={query}")
    assert status == 400


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("documentNumber in ('PMT-1','PMT-2') and documentNumber eq 'PMT-2'", ["PMT-2", "PMT-2"]),
        ("(documentNumber eq 'PMT-1' or documentNumber eq 'PMT-2') and creditAmount gt 0", ["PMT-1", "PMT-2"]),
        ("documentNumber ne 'PMT-1' and postingDate ge 2026-03-18", ["PMT-2", "PMT-2"]),
        ("startswith(documentNumber,'PMT-')", ["PMT-1", "PMT-1", "PMT-2", "PMT-2"]),
    ],
)
def test_combined_filters_on_document_number(posted: Store, cid: str, query: str, expected: list[str]) -> None:
    """Whether or not the read is narrowed in SQL first, the answer is the filter's."""
    body = _get(posted, cid, f"generalLedgerEntries?$filter={query}&$schemaversion=2.1")
    assert [e["documentNumber"] for e in body["value"]] == expected


def test_candidates_pins_a_property_only_to_a_finite_set() -> None:
    def pinned(text: str) -> frozenset[object] | None:
        return options.candidates(options.parse_query({"$filter": text, "$schemaversion": "2.1"}), "documentNumber")

    assert pinned("documentNumber eq 'A'") == frozenset({"A"})
    assert pinned("documentNumber in ('A','B') and postingDate eq 2026-03-18") == frozenset({"A", "B"})
    assert pinned("documentNumber eq 'A' or documentNumber eq 'B'") == frozenset({"A", "B"})
    assert pinned("documentNumber in ('A','B') and documentNumber eq 'B'") == frozenset({"B"})
    assert pinned("documentNumber ne 'A'") is None
    assert pinned("tolower(documentNumber) eq 'a'") is None
    assert pinned("postingDate eq 2026-03-18") is None


def test_or_across_two_fields_is_refused_as_bc_refuses_it(posted: Store, cid: str) -> None:
    status, body = _dispatch(
        posted, cid, "GET", "generalLedgerEntries?$filter=documentNumber eq 'PMT-1' or postingDate eq 2026-03-19"
    )
    assert status == 400, body


def test_select_orderby_top_and_count(posted: Store, cid: str) -> None:
    body = _get(
        posted,
        cid,
        "generalLedgerEntries?$filter=documentNumber eq 'PMT-1' or documentNumber eq 'PMT-2'"
        "&$select=entryNumber,documentNumber,creditAmount&$orderby=entryNumber desc&$top=3&$count=true",
    )
    assert body["@odata.count"] == 4
    assert [(e["documentNumber"], e["creditAmount"]) for e in body["value"]] == [
        ("PMT-2", Decimal("250.5")),
        ("PMT-2", Decimal(0)),
        ("PMT-1", Decimal(1190)),
    ]
    assert all(set(e) == {"@odata.etag", "id", "entryNumber", "documentNumber", "creditAmount"} for e in body["value"])
    assert body["@odata.context"] == f"{API}/$metadata#companies({cid})/generalLedgerEntries"


def test_server_paging_with_next_links(posted: Store, cid: str) -> None:
    path = "generalLedgerEntries?$filter=postingDate ge 2026-03-18"
    seen: list[int] = []
    body = _get(posted, cid, path, Prefer="odata.maxpagesize=3")
    while True:
        seen += [e["entryNumber"] for e in body["value"]]
        link = body.get("@odata.nextLink")
        if link is None:
            break
        token = dict(parse_qsl(urlsplit(link).query))["$skiptoken"]
        body = _get(posted, cid, f"{path}&$skiptoken={token}", Prefer="odata.maxpagesize=3")
    everything = [e["entryNumber"] for e in rules.list_gl_entries(posted, cid) if e["postingDate"] >= "2026-03-18"]
    assert seen == everything and len(seen) == 4


def test_a_single_entry_by_id(posted: Store, cid: str) -> None:
    entry = rules.list_gl_entries(posted, cid)[-1]
    body = _get(posted, cid, f"generalLedgerEntries({entry['id']})?$select=documentNumber,creditAmount")
    assert (body["documentNumber"], body["creditAmount"]) == ("PMT-2", Decimal("250.5"))
    status, missing = _dispatch(posted, cid, "GET", "generalLedgerEntries(5d115c9c-0000-0000-0000-00000000abcd)")
    assert (status, missing["error"]["code"]) == (404, "BadRequest_NotFound")


# --- read-only -----------------------------------------------------------------------------------------------


def test_general_ledger_entries_are_read_only(posted: Store, cid: str) -> None:
    """Page 30018 has InsertAllowed, ModifyAllowed and DeleteAllowed = false: every write is refused."""
    entry = rules.list_gl_entries(posted, cid)[-1]
    before = rules.list_gl_entries(posted, cid)
    for method, path in (
        ("POST", "generalLedgerEntries"),
        ("PATCH", f"generalLedgerEntries({entry['id']})"),
        ("PUT", f"generalLedgerEntries({entry['id']})"),
        ("DELETE", f"generalLedgerEntries({entry['id']})"),
    ):
        status, body = _dispatch(posted, cid, method, path, **{"If-Match": "*"})
        assert (status, body["error"]["code"]) == (405, "BadRequest_MethodNotAllowed"), (method, body)
    assert rules.list_gl_entries(posted, cid) == before


def test_there_is_no_customer_ledger_entries_set_in_api_v2(posted: Store, cid: str) -> None:
    """APIV2 has no page on table 21 "Cust. Ledger Entry" (microsoft/BCApps, APIV2/app/src/pages)."""
    status, body = _dispatch(posted, cid, "GET", "customerLedgerEntries")
    assert (status, body["error"]["code"]) == (404, "BadRequest_NotFound")


# --- all or nothing ----------------------------------------------------------------------------------------


def _state(store: Store, cid: str) -> tuple[Any, ...]:
    return (
        rules.list_gl_entries(store, cid),
        rules.customer_ledger_entries(store, cid),
        [(i["number"], i["remainingAmount"]) for i in rules.list_sales_invoices(store, cid)],
    )


def test_a_post_refused_by_the_checks_creates_no_entries(store: Store, cid: str) -> None:
    jid = _journal(store, cid)
    _two_payments(store, cid, jid)
    rules.create_payment(store, cid, jid, {"customerNumber": "C10100", "documentNumber": "PMT-3", "amount": 10})
    before = _state(store, cid)
    with pytest.raises(SandboxApiError, match="Amount must be negative"):
        rules.post_journal(store, cid, jid)
    assert _state(store, cid) == before
    assert len(rules.list_payments(store, cid, jid)) == 3


def test_a_post_failing_while_writing_gl_entries_undoes_the_earlier_lines(store: Store, cid: str) -> None:
    """PMT-1's entries are written before PMT-2's customer turns out to have no posting group
    (``Cust.TestField("Customer Posting Group")``); BC's one transaction takes them back too."""
    jid = _journal(store, cid)
    _two_payments(store, cid, jid)
    store.execute("UPDATE customers SET posting_group = '' WHERE number = 'C20000'")
    before = _state(store, cid)
    with pytest.raises(SandboxApiError) as info:
        rules.post_journal(store, cid, jid)
    assert info.value.message == (
        "Customer Posting Group must have a value in Customer: No.=C20000. It cannot be zero or empty."
    )
    assert _state(store, cid) == before
    assert len(rules.list_payments(store, cid, jid)) == 2


def test_a_blocked_receivables_account_fails_the_post(store: Store, cid: str) -> None:
    """``InitGLEntry``: ``GLAcc.TestField(Blocked, false)``."""
    jid = _journal(store, cid)
    _two_payments(store, cid, jid)
    store.execute("UPDATE gl_accounts SET blocked = 1 WHERE number = '2310'")
    before = _state(store, cid)
    with pytest.raises(SandboxApiError) as info:
        rules.post_journal(store, cid, jid)
    assert info.value.message == "Blocked must be equal to 'No'  in G/L Account: No.=2310. Current value is 'Yes'."
    assert _state(store, cid) == before


# --- persistence ---------------------------------------------------------------------------------------------


def test_entries_survive_reopening_the_database_and_reseeding(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.db"
    with Store(path, clock=fixed_clock) as first:
        cid = seed.seed_demo(first)
        jid = _journal(first, cid)
        _two_payments(first, cid, jid)
        rules.post_journal(first, cid, jid)
        kept = rules.list_gl_entries(first, cid)
    with Store(path, clock=fixed_clock) as second:
        assert seed.seed_demo(second) == cid  # what every start does; it must add no entry
        assert rules.list_gl_entries(second, cid) == kept


def test_a_database_from_before_posting_groups_can_post_after_a_restart(tmp_path: Path) -> None:
    """A state folder made by an older sandbox has no ``customers.posting_group``: the store adds
    the column and the seed that runs on every start fills it, so posting still works."""
    path = tmp_path / "old.db"
    with Store(path, clock=fixed_clock) as old:
        cid = seed.seed_demo(old)
    raw = sqlite3.connect(path)
    raw.execute("ALTER TABLE customers DROP COLUMN posting_group")
    raw.commit()
    raw.close()
    with Store(path, clock=fixed_clock) as store:
        seed.seed_demo(store)
        jid = _journal(store, cid)
        _two_payments(store, cid, jid)
        rules.post_journal(store, cid, jid)
        assert len([e for e in rules.list_gl_entries(store, cid) if e["documentNumber"].startswith("PMT-")]) == 4


def test_entries_survive_a_sandbox_restart_over_http(tmp_path: Path) -> None:
    """The whole path a client takes: create, post, restart the sandbox on its state folder, find
    the payment among the posted entries by document number and posting date."""
    settings = SandboxSettings(auth="none", state_dir=tmp_path)
    query = {"$filter": "documentNumber eq 'HTTP-1' and postingDate eq 2026-03-18"}
    with start_sandbox(settings) as info, make_http_client(info) as http:
        base = f"{info.api}/companies({info.company_id})"
        account = _ok(http.get(f"{base}/accounts", params={"$filter": "number eq '2910'"}))["value"][0]["id"]
        journal = _ok(
            http.post(f"{base}/customerPaymentJournals", json={"code": "HTTP", "balancingAccountId": account})
        )
        _ok(
            http.post(
                f"{base}/customerPaymentJournals({journal['id']})/customerPayments",
                json={
                    "customerNumber": "C10000",
                    "postingDate": "2026-03-18",
                    "documentNumber": "HTTP-1",
                    "amount": -42.5,
                },
            )
        )
        assert _ok(http.get(f"{base}/generalLedgerEntries", params=query))["value"] == []
        assert http.post(f"{base}/journals({journal['id']})/Microsoft.NAV.post").status_code == 204
        found = _ok(http.get(f"{base}/generalLedgerEntries", params=query))["value"]
        assert [(e["accountNumber"], e["debitAmount"], e["creditAmount"]) for e in found] == [
            ("2910", 42.5, 0),
            ("2310", 0, 42.5),
        ]
    with start_sandbox(settings) as info, make_http_client(info) as http:
        base = f"{info.api}/companies({info.company_id})"
        assert _ok(http.get(f"{base}/generalLedgerEntries", params=query))["value"] == found


def _ok(response: httpx.Response) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()
