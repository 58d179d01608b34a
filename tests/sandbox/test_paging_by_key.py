"""A batch's payment lines are paged by key (only the page is read), with the answer the general
path gives over the whole batch: same entities, fields, order, ``$skiptoken`` and next link, the
same ``Preference-Applied``, even when lines are inserted or deleted between page requests.

The general path (:meth:`Dispatcher._collection` over :func:`rules.list_payments`) is the
reference: it slices the fully queried set, as the OData paging rules define.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import pytest

from pipeline.sandbox import rules
from pipeline.sandbox.app import Dispatcher, Outcome
from pipeline.sandbox.errors import SandboxApiError
from pipeline.sandbox.odata import paging
from pipeline.sandbox.settings import SandboxSettings
from pipeline.sandbox.store import Store

API = "http://sandbox.test/v2.0/sandbox/api/v2.0"
SELECT = "id,lineNumber,documentNumber,amount"


def _journal(store: Store, cid: str, lines: int) -> str:
    jid = str(rules.create_journal(store, cid, {"code": "PAGED"})["id"])
    for n in range(lines):
        rules.create_payment(store, cid, jid, {"customerNumber": "C10000", "documentNumber": f"P-{n}", "amount": -1})
    return jid


def _path(cid: str, jid: str, top: bool) -> str:
    if top:
        return f"companies({cid})/customerPayments"
    return f"companies({cid})/customerPaymentJournals({jid})/customerPayments"


def _params(jid: str, params: dict[str, str], top: bool) -> dict[str, str]:
    return {"$filter": f"journalId eq {jid}", **params} if top else dict(params)


def _fast(store: Store, cid: str, jid: str, params: dict[str, str], size: int, top: bool = False) -> Outcome:
    path = _path(cid, jid, top)
    query = "&".join(f"{k}={quote(v)}" for k, v in _params(jid, params, top).items())
    url = f"{path}?{query}" if query else path
    return Dispatcher(SandboxSettings(), store, API).execute(
        "GET", url, {"Prefer": f"odata.maxpagesize={size}"}, None, request_url=f"{API}/{url}"
    )


def _general(store: Store, cid: str, jid: str, params: dict[str, str], size: int, top: bool = False) -> Outcome:
    """The same request answered by slicing the whole batch."""
    path = _path(cid, jid, top)
    sent = _params(jid, params, top)
    query = "&".join(f"{k}={quote(v)}" for k, v in sent.items())
    url = f"{path}?{query}" if query else path
    dispatcher = Dispatcher(SandboxSettings(), store, API)
    try:
        items = rules.list_payments_top_level(store, cid, jid) if top else rules.list_payments(store, cid, jid)
        return dispatcher._collection(items, path, sent, {"Prefer": f"odata.maxpagesize={size}"}, f"{API}/{url}")
    except SandboxApiError as exc:
        return Outcome(exc.status, dict(exc.headers), exc.body())


def _same(a: Outcome, b: Outcome) -> bool:
    """Equal answers; an error's correlation id is fresh on every request."""

    def plain(o: Outcome) -> tuple[int, dict[str, str], str]:
        return o.status, o.headers, re.sub(r"CorrelationId:\s+[0-9a-f-]+", "", repr(o.body))

    return plain(a) == plain(b)


def _token(body: dict[str, Any]) -> str | None:
    link = body.get("@odata.nextLink")
    return None if link is None else dict(parse_qsl(urlsplit(link).query))["$skiptoken"]


def _mutate(store: Store, cid: str, jid: str, step: int, sent: list[dict[str, Any]]) -> None:
    """Between pages: delete the last line sent, a line before it, insert before it, or nothing."""
    if not sent:
        return
    last = sent[-1]
    kind = step % 4
    if kind == 0:
        rules.delete_payment(store, cid, str(last["id"]), "*", jid)
    elif kind == 1 and len(sent) > 1:
        rules.delete_payment(store, cid, str(sent[0]["id"]), "*", jid)
    elif kind == 2:
        rules.create_payment(
            store,
            cid,
            jid,
            {"lineNumber": int(last["lineNumber"]) - 1, "customerNumber": "C10000", "documentNumber": f"I-{step}"},
        )


@pytest.mark.parametrize("lines", [0, 1, 250])
@pytest.mark.parametrize("size", [1, 7, 100])
@pytest.mark.parametrize("select", [False, True])
@pytest.mark.parametrize("top", [False, True])
def test_paging_by_key_answers_as_the_whole_set_does(
    store: Store, cid: str, lines: int, size: int, select: bool, top: bool
) -> None:
    jid = _journal(store, cid, lines)
    params = {"$select": SELECT} if select else {}
    ctx = _path(cid, jid, top)
    dispatcher = Dispatcher(SandboxSettings(), store, API)
    by_key = dispatcher._payments_by_key(cid, None if top else jid, ctx, _params(jid, params, top), {}, f"{API}/{ctx}")
    assert by_key is not None  # these requests are answered by key, not by slicing
    token: str | None = None
    pages = 0
    while True:
        query = {**params, **({"$skiptoken": token} if token is not None else {})}
        fast, general = _fast(store, cid, jid, query, size, top), _general(store, cid, jid, query, size, top)
        assert _same(fast, general)
        assert fast.status == 200 and fast.headers == {"Preference-Applied": f"odata.maxpagesize={size}"}
        token = _token(fast.body)
        pages += 1
        if token is None or pages > 400:
            break
        _mutate(store, cid, jid, pages, fast.body["value"])
    assert token is None
    if lines == 0:
        assert pages == 1 and fast.body["value"] == []


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token!",
        paging._encode_token(3, None),
        paging._encode_token(999, "00000000-0000-0000-0000-000000000000"),
        paging._encode_token(2, 5),
        paging._encode_token(2**70, None),
    ],
)
def test_any_token_gets_the_general_answer(store: Store, cid: str, token: str) -> None:
    jid = _journal(store, cid, 5)
    fast, general = (
        _fast(store, cid, jid, {"$skiptoken": token}, 2),
        _general(store, cid, jid, {"$skiptoken": token}, 2),
    )
    assert _same(fast, general)


def test_unreadable_token_is_refused(store: Store, cid: str) -> None:
    jid = _journal(store, cid, 1)
    outcome = _fast(store, cid, jid, {"$skiptoken": "not-a-token!"}, 2)
    assert outcome.status == 400
    assert "The skip token 'not-a-token!' is not valid." in str(outcome.body)


def test_a_token_of_the_general_path_resumes_the_fast_one(store: Store, cid: str) -> None:
    jid = _journal(store, cid, 5)
    first = _general(store, cid, jid, {"$orderby": "lineNumber"}, 2)  # answered by slicing the whole set
    token = _token(first.body)
    assert token is not None
    second = _fast(store, cid, jid, {"$skiptoken": token}, 2)
    numbers = [e["lineNumber"] for e in first.body["value"] + second.body["value"]]
    assert numbers == [10000, 20000, 30000, 40000]


def test_unknown_select_property_is_refused_on_a_page_past_the_end(store: Store, cid: str) -> None:
    jid = _journal(store, cid, 2)
    query = {"$select": "nope", "$skiptoken": paging._encode_token(50, None)}
    fast, general = _fast(store, cid, jid, query, 2), _general(store, cid, jid, query, 2)
    assert fast.status == 400
    assert _same(fast, general)


@pytest.mark.parametrize(
    "journal_filter",
    [
        "journalId eq 00000000-0000-0000-0000-000000000001",  # no such batch: an empty page
        "journalId eq {jid_upper}",  # GUIDs compare case-insensitively
        "journalId eq {jid} and lineNumber gt 20000",  # more than the journal: the general path
    ],
)
def test_top_level_journal_filters_page_as_the_whole_set_does(store: Store, cid: str, journal_filter: str) -> None:
    jid = _journal(store, cid, 5)
    where = journal_filter.format(jid=jid, jid_upper=jid.upper())
    path = f"companies({cid})/customerPayments?$filter={quote(where)}"
    prefer = {"Prefer": "odata.maxpagesize=2"}
    fast = Dispatcher(SandboxSettings(), store, API).execute("GET", path, prefer, None, request_url=f"{API}/{path}")
    items = rules.list_payments_top_level(store, cid, jid if "0001" not in where else where.split()[-1])
    general = Dispatcher(SandboxSettings(), store, API)._collection(
        items, f"companies({cid})/customerPayments", {"$filter": where}, prefer, f"{API}/{path}"
    )
    assert _same(fast, general)
