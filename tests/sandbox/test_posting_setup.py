"""The sandbox's second wave of BC behaviours (reference/bc-behaviours-wave2.md): what posting leaves
behind, allowed posting dates, dimensions, "Post with Job Queue", and per-journal locks.

Expected values are worked out from BC's AL as the reference quotes it, not from the code:
``GenJnlPostBatch.UpdateAndDeleteLines`` inserts line 10000 set up from the last posted line
(posting date kept, document number IncStr'ed); ``GenJnlCheckLine.CheckDates`` refuses a date
outside Allow Posting From/To; ``CheckDimValuePosting`` refuses a "Code Mandatory" dimension without
a value; ``GenJnlPost.Code`` with "Post with Job Queue" answers without posting. Work date
2026-03-20 (the fixed clock).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from pipeline.sandbox import rules, seed
from pipeline.sandbox.app import JOB_QUEUE_PATH
from pipeline.sandbox.batch import parse_batch
from pipeline.sandbox.errors import SandboxApiError
from pipeline.sandbox.locks import JournalLocks
from pipeline.sandbox.rules import setup
from pipeline.sandbox.runtime import start_sandbox
from pipeline.sandbox.server import SandboxInfo, make_http_client
from pipeline.sandbox.settings import Locking, SandboxSettings
from pipeline.sandbox.store import Store


def _error(call: Callable[..., Any], *args: Any, **kwargs: Any) -> SandboxApiError:
    with pytest.raises(SandboxApiError) as info:
        call(*args, **kwargs)
    return info.value


def _gl_id(store: Store, number: str = "2910") -> str:
    row = store.query_one("SELECT id FROM gl_accounts WHERE number = ?", (number,))
    assert row is not None
    return str(row["id"])


def _journal(store: Store, cid: str, code: str = "PAY1") -> str:
    return str(rules.create_journal(store, cid, {"code": code, "balancingAccountId": _gl_id(store)})["id"])


def _pay(store: Store, cid: str, jid: str, **body: Any) -> dict[str, Any]:
    return rules.create_payment(store, cid, jid, body)


def _remaining(store: Store, cid: str, number: str) -> Any:
    return next(i for i in rules.list_sales_invoices(store, cid) if i["number"] == number)["remainingAmount"]


def _posted_journal(store: Store, cid: str) -> str:
    """A journal made as the API makes them (no No. Series) with one payment, posted."""
    jid = _journal(store, cid)
    _pay(
        store,
        cid,
        jid,
        appliesToInvoiceNumber="RE-2026-0101",
        amount=-1190,
        documentNumber="PRB1",
        postingDate="2026-03-19",
    )
    rules.post_journal(store, cid, jid)
    return jid


# --- the hidden line 10000 -------------------------------------------------------------------------


def test_posting_leaves_a_hidden_line_10000_that_numbers_and_defaults_follow(store: Store, cid: str) -> None:
    jid = _posted_journal(store, cid)
    assert rules.list_payments(store, cid, jid) == []
    duplicate = _error(_pay, store, cid, jid, customerNumber="C10100", amount=-1, lineNumber=10000, documentNumber="X")
    assert (duplicate.status, duplicate.code) == (400, "Internal_EntityWithSameKeyExists")
    line = _pay(store, cid, jid, customerNumber="C10100", amount=-1)
    # GetNewLineNo: last line of the batch (the hidden 10000) + 10000; defaults copied from the hidden
    # line, which SetUpNewLine gave the posted line's date and PRB1 + 1
    assert (line["lineNumber"], line["postingDate"], line["documentNumber"]) == (20000, "2026-03-19", "PRB2")


def test_posting_a_posted_journal_again_answers_without_posting(store: Store, cid: str) -> None:
    jid = _posted_journal(store, cid)
    rules.post_journal(store, cid, jid)  # the hidden line is found, skipped as empty: no error
    assert _remaining(store, cid, "RE-2026-0101") == 0
    entries = [e for e in rules.list_gl_entries(store, cid) if e["documentNumber"] == "PRB1"]
    assert len(entries) == 2  # cash debit, receivables credit: posted once


def test_a_batch_with_a_number_series_gets_no_hidden_line(store: Store, cid: str) -> None:
    general = next(j for j in rules.list_journals(store, cid) if j["code"] == "GENERAL")["id"]
    _pay(store, cid, general, appliesToInvoiceNumber="RE-2026-0101", amount=-1190)  # G02001, the series' next
    rules.post_journal(store, cid, general)
    assert _pay(store, cid, general, customerNumber="C10100", amount=-1)["lineNumber"] == 10000
    assert _error(rules.post_journal, store, cid, str(_journal(store, cid, "EMPTY"))).message == (
        "There is nothing to post."
    )


def test_blank_posting_date_is_ignored_on_insert_and_refused_on_patch(store: Store, cid: str) -> None:
    jid = _journal(store, cid)
    line = _pay(store, cid, jid, customerNumber="C10100", amount=-1, documentNumber="B1", postingDate="0001-01-01")
    assert line["postingDate"] == "2026-03-20"  # the work date of an empty batch, not 0D
    err = _error(rules.patch_payment, store, cid, line["id"], {"postingDate": "0001-01-01"}, "*")
    assert (err.status, err.code) == (400, "Application_FieldValidationException")
    assert err.message.startswith("Posting Date must have a value in Gen. Journal Line")


def test_atomicity_group_of_several_requests_is_refused_before_any_runs() -> None:
    ops = [
        {"id": str(i), "atomicityGroup": "g", "method": "POST", "url": "companies(1)/customers", "body": {}}
        for i in (1, 2)
    ]
    err = _error(parse_batch, json.dumps({"requests": ops}).encode(), 100)
    assert (err.status, err.code) == (400, "BadRequest")
    assert "Multiple requests within the same change set are not supported" in err.message
    single = [{**ops[0], "atomicityGroup": "alone"}]
    assert len(parse_batch(json.dumps({"requests": single}).encode(), 100)) == 1


# --- allowed posting dates --------------------------------------------------------------------------


def test_allowed_posting_dates_are_readable_and_enforced_at_posting(store: Store, cid: str) -> None:
    assert rules.list_gl_setup(store, cid)[0]["allowPostingFrom"] == "0001-01-01"
    rules.set_gl_setup(store, cid, allow_from="2026-03-01", allow_to="2026-03-31")
    row = rules.list_gl_setup(store, cid)[0]
    assert (row["allowPostingFrom"], row["allowPostingTo"]) == ("2026-03-01", "2026-03-31")
    jid = _journal(store, cid)
    _pay(
        store,
        cid,
        jid,
        appliesToInvoiceNumber="RE-2026-0101",
        amount=-1190,
        documentNumber="D1",
        postingDate="2026-03-02",
    )
    _pay(
        store,
        cid,
        jid,
        appliesToInvoiceNumber="RE-2026-0102",
        amount=-357,
        documentNumber="D2",
        postingDate="2026-02-28",
    )
    err = _error(rules.post_journal, store, cid, jid)
    assert (err.status, err.code) == (400, "Application_FieldValidationException")
    assert err.message == (
        "Posting Date is not within your range of allowed posting dates in Gen. Journal Line: Journal Template "
        "Name=CASHRCPT, Journal Batch Name=PAY1, Line No.=20000."
    )
    assert len(rules.list_payments(store, cid, jid)) == 2  # all or nothing
    assert _remaining(store, cid, "RE-2026-0101") == 1190


# --- dimensions ------------------------------------------------------------------------------------


def _customer_id(store: Store, cid: str, number: str) -> str:
    return str(next(c for c in rules.list_customers(store, cid) if c["number"] == number)["id"])


def test_mandatory_dimension_without_value_fails_the_post(store: Store, cid: str) -> None:
    setup.add_default_dimension(store, cid, "Customer", "C10000", "PROJECT", "", "Code Mandatory")
    shown = rules.list_default_dimensions(store, cid, _customer_id(store, cid, "C10000"))
    # enum members as BC's OData writes them: a space is _x0020_
    assert [(d["dimensionCode"], d["dimensionValueCode"], d["postingValidation"]) for d in shown] == [
        ("PROJECT", "", "Code_x0020_Mandatory")
    ]
    jid = _journal(store, cid)
    line = _pay(store, cid, jid, appliesToInvoiceNumber="RE-2026-0101", amount=-1190, documentNumber="D1")
    assert rules.list_payment_dimensions(store, cid, line["id"]) == []
    err = _error(rules.post_journal, store, cid, jid)
    assert err.message == "Select a Dimension Value Code for the Dimension Code PROJECT for Customer C10000."
    assert _remaining(store, cid, "RE-2026-0101") == 1190


def test_a_default_with_a_value_is_copied_to_the_line_and_satisfies_the_rule(store: Store, cid: str) -> None:
    setup.add_default_dimension(store, cid, "Customer", "C10000", "PROJECT", "P-7", "Code Mandatory")
    setup.add_default_dimension(store, cid, "G/L Account", "2910", "DEPT", "SALES", "Same Code")
    jid = _journal(store, cid)
    line = _pay(store, cid, jid, appliesToInvoiceNumber="RE-2026-0101", amount=-1190, documentNumber="D1")
    got = rules.list_payment_dimensions(store, cid, line["id"])
    assert [(d["code"], d["valueCode"], d["parentType"]) for d in got] == [
        ("DEPT", "SALES", "Journal Line"),
        ("PROJECT", "P-7", "Journal Line"),
    ]
    rules.post_journal(store, cid, jid)
    assert _remaining(store, cid, "RE-2026-0101") == 0


def test_mandatory_dimension_on_the_balancing_account_fails_every_post(store: Store, cid: str) -> None:
    setup.add_default_dimension(store, cid, "G/L Account", "2910", "DEPT", "", "Code Mandatory")
    # API v2.0 has no parent type for a G/L account: the top-level list shows it without a parent
    [listed] = rules.list_all_default_dimensions(store, cid)
    assert (listed["parentType"], listed["parentId"], listed["dimensionCode"]) == (
        "_x0020_",
        "00000000-0000-0000-0000-000000000000",
        "DEPT",
    )
    jid = _journal(store, cid)
    _pay(store, cid, jid, appliesToInvoiceNumber="RE-2026-0101", amount=-1190, documentNumber="D1")
    err = _error(rules.post_journal, store, cid, jid)
    assert err.message == "Select a Dimension Value Code for the Dimension Code DEPT for G/L Account 2910."


# --- Post with Job Queue --------------------------------------------------------------------------------


def test_job_queue_posting_answers_then_posts_when_the_queue_runs(store: Store, cid: str) -> None:
    rules.set_gl_setup(store, cid, post_with_job_queue=True)
    jid = _journal(store, cid)
    line = _pay(store, cid, jid, appliesToInvoiceNumber="RE-2026-0101", amount=-1190, documentNumber="D1")
    rules.post_journal(store, cid, jid)  # answered, only scheduled
    assert [p["id"] for p in rules.list_payments(store, cid, jid)] == [line["id"]]
    assert _remaining(store, cid, "RE-2026-0101") == 1190
    refused = _error(rules.patch_payment, store, cid, line["id"], {"comment": "x"}, "*")
    assert "scheduled for posting" in refused.message
    rules.post_journal(store, cid, jid)  # asked again: still one job
    assert rules.run_job_queue(store) == [("Finished", "")]
    assert rules.list_payments(store, cid, jid) == []
    assert _remaining(store, cid, "RE-2026-0101") == 0
    assert rules.run_job_queue(store) == []


def test_a_job_that_fails_leaves_the_lines_with_its_error(store: Store, cid: str) -> None:
    rules.set_gl_setup(store, cid, post_with_job_queue=True)
    jid = _journal(store, cid)
    _pay(
        store,
        cid,
        jid,
        appliesToInvoiceNumber="RE-2026-0101",
        amount=-1190,
        documentNumber="D1",
        postingDate="2026-03-02",
    )
    rules.post_journal(store, cid, jid)
    rules.set_gl_setup(store, cid, post_with_job_queue=True, allow_from="2026-03-10")  # closed meanwhile
    [(status, error)] = rules.run_job_queue(store)
    assert status == "Error"
    assert error.startswith("Posting Date is not within your range of allowed posting dates")
    assert len(rules.list_payments(store, cid, jid)) == 1
    assert _remaining(store, cid, "RE-2026-0101") == 1190


# --- the seed file ---------------------------------------------------------------------------------


def test_seed_file_builds_a_tenant_with_setup_the_api_cannot_change(tmp_path: Path) -> None:
    data = {
        **seed.DEMO_DATA,
        "generalLedgerSetup": {"allowPostingFrom": "2026-03-01", "postWithJobQueue": True, "jobQueueDelaySeconds": 0},
        "defaultDimensions": [
            {"customer": "C10000", "dimension": "project", "posting": "Code Mandatory"},
            {"account": "2910", "dimension": "DEPT", "value": "sales", "posting": "Same Code"},
        ],
    }
    path = tmp_path / "tenant.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    store = Store(":memory:")
    cid = seed.seed_from_file(store, path)
    assert setup.gl_setup(store, cid) == setup.GLSetup("2026-03-01", "", True, 0.0)
    rows = store.query("SELECT parent_number, dimension_code, value_code, value_posting FROM default_dimensions")
    assert sorted(tuple(r) for r in rows) == [
        ("2910", "DEPT", "SALES", "Same Code"),
        ("C10000", "PROJECT", "", "Code Mandatory"),
    ]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"defaultDimensions": [{"customer": "NOPE", "dimension": "X"}]}), encoding="utf-8")
    with pytest.raises(seed.SeedError, match="Customer NOPE does not exist"):
        seed.seed_from_file(Store(":memory:"), bad)


# --- per-journal locks -----------------------------------------------------------------------------


def test_a_writer_that_waits_past_the_lock_timeout_gets_bcs_lock_error() -> None:
    locks = JournalLocks(Locking(timeout_s=0.05))
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with locks.hold("j1"):
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(10)
    try:
        err = _error(lambda: locks.hold("j1").__enter__())
        with locks.hold("j2"):  # another journal is not blocked
            pass
    finally:
        release.set()
        holder.join(10)
    assert (err.status, err.code) == (409, "Request_EntityChanged")
    assert "is being updated in a transaction done by another session" in err.message
    assert (locks.waits, locks.timeouts) == (1, 1)
    with locks.hold("j1"):  # free again once the holder is done
        pass


def test_seeded_deadlock_victims_are_refused_and_others_go_through() -> None:
    locks = JournalLocks(Locking(deadlock_writes=(2,)))
    outcomes = []
    for _ in range(3):
        try:
            with locks.hold("j1"):
                outcomes.append("ran")
        except SandboxApiError as exc:
            outcomes.append(exc.message)
    assert outcomes[0] == outcomes[2] == "ran"
    assert (
        outcomes[1]
        == "Your activity was deadlocked with another user modifying the Gen. Journal Line table. Start again."
    )
    with locks.hold(None):  # reads and writes outside journals take no lock and count nothing
        pass
    assert (locks.writes, locks.deadlocks) == (3, 1)


# --- over HTTP: the job queue's timer and control route, and a lock error's shape --------------------


def _bc(info: SandboxInfo, http: httpx.Client) -> Callable[..., httpx.Response]:
    def call(method: str, path: str, body: Any = None) -> httpx.Response:
        url = path if path.startswith("http") else f"{info.api}/companies({info.company_id})/{path}"
        return http.request(method, url, json=body, headers={"Accept": "application/json"})

    return call


def _queued_payment(call: Callable[..., httpx.Response]) -> str:
    cash = next(a for a in call("GET", "accounts").json()["value"] if a["number"] == "2910")
    jid = call("POST", "customerPaymentJournals", {"code": "JQ1", "balancingAccountId": cash["id"]}).json()["id"]
    body = {"appliesToInvoiceNumber": "RE-2026-0101", "amount": -1190, "documentNumber": "JQ-1"}
    assert call("POST", f"customerPaymentJournals({jid})/customerPayments", body).status_code == 201
    assert call("POST", f"journals({jid})/Microsoft.NAV.post").status_code == 204  # scheduled only
    return str(jid)


def _remaining_over_http(call: Callable[..., httpx.Response]) -> Any:
    return call("GET", "salesInvoices?$filter=number eq 'RE-2026-0101'").json()["value"][0]["remainingAmount"]


def test_the_job_queue_runs_on_its_control_route() -> None:
    with start_sandbox(SandboxSettings(auth="none")) as info, make_http_client(info) as http:
        rules.set_gl_setup(info.extra["store"], str(info.company_id), post_with_job_queue=True)
        call = _bc(info, http)
        jid = _queued_payment(call)
        assert len(call("GET", f"customerPaymentJournals({jid})/customerPayments").json()["value"]) == 1
        assert _remaining_over_http(call) == 1190  # nothing posted until the queue runs
        ran = http.post(f"{info.base_url}{JOB_QUEUE_PATH}")
        assert (ran.status_code, ran.json()) == (200, {"jobs": [{"status": "Finished", "error": ""}]})
        assert call("GET", f"customerPaymentJournals({jid})/customerPayments").json()["value"] == []
        assert _remaining_over_http(call) == 0


def test_the_job_queue_runs_by_itself_once_its_delay_has_passed() -> None:
    with start_sandbox(SandboxSettings(auth="none")) as info, make_http_client(info) as http:
        rules.set_gl_setup(info.extra["store"], str(info.company_id), post_with_job_queue=True, job_queue_delay_s=0)
        call = _bc(info, http)
        _queued_payment(call)
        # the next request finds the job due (delay 0) and runs it first, as the job queue would have
        assert _remaining_over_http(call) == 0


def test_a_lock_timeout_over_http_is_bcs_error_shape_and_keeps_nothing() -> None:
    settings = SandboxSettings(auth="none", locking=Locking(timeout_s=0.05))
    with start_sandbox(settings) as info, make_http_client(info) as http:
        call = _bc(info, http)
        jid = call("POST", "customerPaymentJournals", {"code": "LOCK1"}).json()["id"]
        locks: JournalLocks = info.extra["locks"]
        release, held = threading.Event(), threading.Event()

        def person() -> None:
            with locks.hold(jid):
                held.set()
                release.wait(10)

        holder = threading.Thread(target=person)
        holder.start()
        assert held.wait(10)
        try:
            refused = call(
                "POST",
                f"customerPaymentJournals({jid})/customerPayments",
                {"customerNumber": "C10000", "amount": -1},
            )
        finally:
            release.set()
            holder.join(10)
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "Request_EntityChanged"
        assert "being updated in a transaction done by another session" in refused.json()["error"]["message"]
        assert call("GET", f"customerPaymentJournals({jid})/customerPayments").json()["value"] == []
