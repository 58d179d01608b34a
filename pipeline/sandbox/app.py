"""The sandbox's HTTP face: BC's URL shapes routed to the business rules, one dispatcher for all.

A single request and each operation of a ``$batch`` go through the same ``Dispatcher.execute``,
so an operation behaves identically whichever way it arrives (as on BC, where ``$batch`` replays
the operations against the same pages).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pipeline.sandbox import batch
from pipeline.sandbox.errors import SandboxApiError, no_resource
from pipeline.sandbox.locks import JournalLocks
from pipeline.sandbox.odata import bodies, evaluate, options, paging
from pipeline.sandbox.odata.filter_tree import Comparison
from pipeline.sandbox.rules import (
    accounts,
    companies,
    customers,
    invoices,
    journals,
    ledger,
    payments,
    posting,
    setup,
)
from pipeline.sandbox.rules.conversions import json_guid
from pipeline.sandbox.settings import SandboxSettings
from pipeline.sandbox.store import Store

_log = logging.getLogger(__name__)
_SEGMENT = re.compile(r"^(?P<name>[A-Za-z][\w.]*)(?:\((?P<key>[^)]*)\))?$")
_JSON = "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8"


@dataclass(frozen=True)
class Outcome:
    """What one operation answers: status, extra headers, JSON body (None for 204)."""

    status: int
    headers: dict[str, str]
    body: Any


@dataclass(frozen=True)
class Segment:
    name: str
    key: str | None


def parse_path(path: str) -> list[Segment]:
    """``companies(1)/customerPaymentJournals(2)/customerPayments`` -> segments; 404 when malformed."""
    segments = []
    for raw in path.strip("/").split("/"):
        m = _SEGMENT.match(raw)
        if m is None:
            raise no_resource(path)
        key = m.group("key")
        if key is not None:
            key = key.strip("'")
        segments.append(Segment(m.group("name"), key))
    return segments


def wait_out(
    started: float,
    seconds: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Sleep until ``seconds`` have passed since ``started``: the emulated server time of an
    operation is its whole time, the sandbox's own work included.

    Sleeping ``seconds`` on top of the work would make every operation take Lo plus the
    sandbox's CPU time (Python, SQLite, waits for the GIL), which BC does not spend; an operation
    whose work alone exceeds ``seconds`` takes as long as its work.
    """
    if seconds <= 0:
        return
    remaining = started + seconds - clock()
    if remaining > 0:
        sleep(remaining)


class Dispatcher:
    """Maps (method, path, query, headers, body) to a rules call and an OData response body."""

    def __init__(self, settings: SandboxSettings, store: Store, api_base: str) -> None:
        self.settings = settings
        self.store = store
        self.api_base = api_base.rstrip("/")
        self.locks = JournalLocks(settings.locking)

    def execute(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: Any,
        *,
        request_url: str | None = None,
    ) -> Outcome:
        """Run one operation; BC errors become an error Outcome, never an exception."""
        try:
            begun = time.monotonic()
            posting.run_job_queue(self.store, only_due=True)
            journal = self._journal_written(method.upper(), url, body)
            own_work = time.monotonic() - begun
            with self.locks.hold(journal):
                # The wait for the journal's lock is not the operation's server time; the work
                # done before it (due jobs, finding the journal) is.
                started = time.monotonic() - own_work
                try:
                    return self._execute(method.upper(), url, headers, body, request_url or url)
                finally:
                    wait_out(started, self.settings.latency.per_operation_s)
        except SandboxApiError as exc:
            return Outcome(exc.status, dict(exc.headers), exc.body())
        except (UnicodeError, RecursionError, ArithmeticError) as exc:
            # Text that is not Unicode (a lone surrogate), nesting deeper than any real request,
            # a number beyond decimal range: BC refuses such requests as unreadable, never a 500.
            err = SandboxApiError(400, "BadRequest", f"The request could not be read: {type(exc).__name__}.")
            return Outcome(err.status, {}, err.body())

    def _journal_written(self, method: str, url: str, body: Any) -> str | None:
        """The journal a write goes into (its lock is held for the operation), or None: inserts,
        changes and deletes of its lines, changes of the batch, and its post."""
        if method == "GET":
            return None
        segments = parse_path(urlsplit(url).path)
        names = [s.name for s in segments]
        for index, segment in enumerate(segments):
            if segment.name == "customerPaymentJournals" and segment.key is not None:
                return json_guid(segment.key) or segment.key
            if segment.name == "journals" and segment.key is not None and names[index + 1 :] == ["Microsoft.NAV.post"]:
                return json_guid(segment.key) or segment.key
        if names[-1:] != ["customerPayments"] and names[-2:-1] != ["customerPayments"]:
            return None
        line_key = segments[-1].key if names[-1] == "customerPayments" else None
        if line_key is not None:
            row = self.store.query_one("SELECT journal_id FROM journal_lines WHERE id = ?", (json_guid(line_key),))
            return str(row["journal_id"]) if row is not None else None
        try:
            journal = _body(body).get("journalId")
        except SandboxApiError:
            return None
        return (json_guid(journal) or journal) if isinstance(journal, str) else None

    def _execute(self, method: str, url: str, headers: Mapping[str, str], body: Any, request_url: str) -> Outcome:
        parts = urlsplit(url)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        intent = _header(headers, "Data-Access-Intent")
        if intent and intent.lower() == "readonly" and method != "GET":
            raise SandboxApiError(
                400, "BadRequest", "The 'Data-Access-Intent: ReadOnly' header is only allowed on GET requests."
            )
        segments = parse_path(parts.path)
        company = params.pop("company", None) or _header(headers, "Company")
        if segments and segments[0].name == "companies" and segments[0].key is not None:
            company = segments[0].key
            segments = segments[1:]
        elif segments and segments[0].name == "companies":
            if method != "GET" or len(segments) > 1:
                raise no_resource(parts.path)
            return self._collection(companies.list_companies(self.store), "companies", params, headers, request_url)
        if company is None:
            raise no_resource(parts.path)
        companies.get_company(self.store, company)
        if not segments:
            if method != "GET":
                raise _method_not_allowed(method)
            return self._entity(companies.get_company(self.store, company), "companies")
        return self._route(method, company, segments, params, headers, body, request_url, parts.path)

    def _route(
        self,
        method: str,
        cid: str,
        segs: list[Segment],
        params: dict[str, str],
        headers: Mapping[str, str],
        body: Any,
        request_url: str,
        path: str,
    ) -> Outcome:
        names = [s.name for s in segs]
        keys = [s.key for s in segs]
        # parents keep their keys (``.../customerPaymentJournals(<jid>)/customerPayments``), so the
        # context names the contained set and the Location of a created entity resolves
        ctx = f"companies({cid})/" + "/".join(
            [*(s.name if s.key is None else f"{s.name}({s.key})" for s in segs[:-1]), segs[-1].name]
        )
        if_match = _header(headers, "If-Match")
        store = self.store
        if names == ["customers"] and keys[0] is None:
            self._only(method, "GET")
            return self._collection(customers.list_customers(store, cid), ctx, params, headers, request_url)
        if names == ["customers"]:
            self._only(method, "GET")
            return self._entity(customers.get_customer(store, cid, _key(keys[0])), ctx, params, cid)
        if names == ["customers", "customerFinancialDetails"]:
            self._only(method, "GET")
            return self._entity(customers.customer_financial_details(store, cid, _key(keys[0])), ctx, params, cid)
        if names == ["customers", "defaultDimensions"]:
            self._only(method, "GET")
            items = setup.list_default_dimensions(store, cid, _key(keys[0]))
            return self._collection(items, ctx, params, headers, request_url)
        if names == ["defaultDimensions"] and keys[0] is None:
            self._only(method, "GET")  # writing default dimensions is not emulated
            return self._collection(setup.list_all_default_dimensions(store, cid), ctx, params, headers, request_url)
        if names == ["currencies"] and keys[0] is None:
            self._only(method, "GET")
            return self._collection(setup.list_currencies(store, cid), ctx, params, headers, request_url)
        if names == ["currencyExchangeRates"] and keys[0] is None:
            self._only(method, "GET")  # page 30085 is read-only
            return self._collection(setup.list_exchange_rates(store, cid), ctx, params, headers, request_url)
        if names == ["generalLedgerSetup"]:
            # page 30025 is read-only (Editable = false)
            self._only(method, "GET")
            return self._collection(setup.list_gl_setup(store, cid), ctx, params, headers, request_url)
        if names[-1] == "dimensionSetLines" and names[:-1] in (
            ["customerPayments"],
            ["customerPaymentJournals", "customerPayments"],
        ):
            if method != "GET":
                raise setup.refuse_dimension_writes()
            jid = _key(keys[0]) if len(names) == 3 else None
            items = payments.list_payment_dimensions(store, cid, _key(keys[-2]), jid)
            return self._collection(items, ctx, params, headers, request_url)
        if names == ["accounts"] and keys[0] is None:
            self._only(method, "GET")
            return self._collection(accounts.list_accounts(store, cid), ctx, params, headers, request_url)
        if names == ["generalLedgerEntries"]:
            # page 30018 is Editable = false with Insert/Modify/DeleteAllowed = false: reads only
            self._only(method, "GET")
            if keys[0] is not None:
                return self._entity(ledger.get_gl_entry(store, cid, keys[0]), ctx, params, cid)
            pinned = options.candidates(options.parse_query(params), "documentNumber")
            numbers = (
                None if pinned is None or not all(isinstance(n, str) for n in pinned) else sorted(map(str, pinned))
            )
            entries = ledger.list_gl_entries(store, cid, numbers)
            return self._collection(entries, ctx, params, headers, request_url)
        if names == ["companyInformation"] and keys[0] is None:
            self._only(method, "GET")
            return self._collection(accounts.company_information(store, cid), ctx, params, headers, request_url)
        if names == ["salesInvoices"] and keys[0] is None:
            if method == "POST":
                return self._created(invoices.create_sales_invoice(store, cid, _body(body)), ctx)
            self._only(method, "GET")
            return self._collection(invoices.list_sales_invoices(store, cid), ctx, params, headers, request_url)
        if names == ["salesInvoices"]:
            self._only(method, "GET")
            return self._entity(invoices.get_sales_invoice(store, cid, _key(keys[0])), ctx, params, cid)
        if names == ["salesInvoices", "salesInvoiceLines"]:
            self._only(method, "GET")
            lines = invoices.list_sales_invoice_lines(store, cid, _key(keys[0]))
            return self._collection(lines, ctx, params, headers, request_url)
        if names == ["salesInvoices", "Microsoft.NAV.post"]:
            self._only(method, "POST")
            invoices.post_sales_invoice(store, cid, _key(keys[0]))
            return Outcome(204, {}, None)
        if names == ["customerPaymentJournals"] and keys[0] is None:
            if method == "POST":
                return self._created(journals.create_journal(store, cid, _body(body)), ctx)
            self._only(method, "GET")
            return self._collection(journals.list_journals(store, cid), ctx, params, headers, request_url)
        if names == ["customerPaymentJournals"]:
            jid = _key(keys[0])
            if method == "GET":
                return self._entity(journals.get_journal(store, cid, jid), ctx, params, cid)
            if method == "PATCH":
                return self._entity(journals.patch_journal(store, cid, jid, _body(body), if_match), ctx)
            if method == "DELETE":
                journals.delete_journal(store, cid, jid, if_match)
                return Outcome(204, {}, None)
            raise _method_not_allowed(method)
        if names == ["customerPaymentJournals", "customerPayments"]:
            jid = _key(keys[0])
            pid = keys[1]
            if pid is None:
                if method == "POST":
                    return self._created(payments.create_payment(store, cid, jid, _body(body)), ctx)
                self._only(method, "GET")
                by_key = self._payments_by_key(cid, jid, ctx, params, headers, request_url)
                if by_key is not None:
                    return by_key
                return self._collection(payments.list_payments(store, cid, jid), ctx, params, headers, request_url)
            return self._payment(method, cid, _key(pid), jid, body, if_match, ctx, params)
        if names == ["customerPayments"]:
            pid = keys[0]
            if pid is None:
                if method == "POST":
                    return self._created(payments.create_payment(store, cid, None, _body(body)), ctx)
                self._only(method, "GET")
                wanted = options.equalities(options.parse_query(params))
                if "id" in wanted and "journalId" not in wanted:  # a single-entity read by filter
                    item = payments.get_payment(store, cid, str(wanted["id"]), None)
                    return self._collection([item], ctx, params, headers, request_url)
                journal = wanted.get("journalId")
                by_key = self._payments_by_key(cid, None, ctx, params, headers, request_url)
                if by_key is not None:
                    return by_key
                items = payments.list_payments_top_level(store, cid, None if journal is None else str(journal))
                return self._collection(items, ctx, params, headers, request_url)
            return self._payment(method, cid, _key(pid), None, body, if_match, ctx, params)
        if names == ["journals", "Microsoft.NAV.post"]:
            self._only(method, "POST")
            posting.post_journal(store, cid, _key(keys[0]))
            return Outcome(204, {}, None)
        raise no_resource(path)

    def _payment(
        self,
        method: str,
        cid: str,
        pid: str,
        jid: str | None,
        body: Any,
        if_match: str | None,
        ctx: str,
        params: dict[str, str] | None = None,
    ) -> Outcome:
        if method == "GET":
            return self._entity(payments.get_payment(self.store, cid, pid, jid), ctx, params, cid)
        if method == "PATCH":
            return self._entity(payments.patch_payment(self.store, cid, pid, _body(body), if_match, jid), ctx)
        if method == "DELETE":
            payments.delete_payment(self.store, cid, pid, if_match, jid)
            return Outcome(204, {}, None)
        raise _method_not_allowed(method)

    @staticmethod
    def _only(method: str, allowed: str) -> None:
        if method != allowed:
            raise _method_not_allowed(method)

    def _context(self, ctx: str) -> str:
        return f"{self.api_base}/$metadata#{ctx}"

    def _entity(
        self, item: dict[str, Any], ctx: str, params: dict[str, str] | None = None, cid: str | None = None
    ) -> Outcome:
        """One entity; on a GET its ``$select`` and ``$expand`` apply as on a collection."""
        headers = _etag_header(item)
        if params and cid is not None:
            query = options.parse_query(params)
            entity_set = _entity_set_name(ctx)
            _, entity_type = _KEYS.get(entity_set, (("id",), ""))
            if query.select is not None:
                item = evaluate.apply([item], options.Query(select=query.select), entity_type=entity_type)[0]
            if query.expand:
                item = self._expand([item], query.expand, entity_set, cid)[0]
        return Outcome(200, headers, bodies.entity_body(self._context(_entity_set(ctx)), item))

    def _expand(
        self, items: list[dict[str, Any]], expand: tuple[options.ExpandItem, ...], entity_set: str, cid: str
    ) -> list[dict[str, Any]]:
        """Attach the navigation properties BC exposes on this entity set, with their own options."""
        links = _NAVIGATION.get(entity_set, {})
        _, entity_type = _KEYS.get(entity_set, (("id",), ""))
        out = []
        for item in items:
            item = dict(item)
            for term in expand:
                if term.name not in links:
                    raise SandboxApiError(
                        400,
                        "BadRequest_NotFound",
                        f"Could not find a property named '{term.name}' on type 'Microsoft.NAV.{entity_type}'.",
                    )
                load, child_set = links[term.name]
                related = load(self.store, cid, str(item["id"]))
                child_keys, child_type = _KEYS.get(child_set, (("id",), ""))
                if isinstance(related, list):
                    related = evaluate.apply(related, term.options, key_order=child_keys, entity_type=child_type)
                    if term.options.expand:
                        related = self._expand(related, term.options.expand, child_set, cid)
                elif term.options.select is not None:
                    related = evaluate.apply(
                        [related], options.Query(select=term.options.select), entity_type=child_type
                    )[0]
                item[term.name] = related
            out.append(item)
        return out

    def _created(self, item: dict[str, Any], ctx: str) -> Outcome:
        headers = _etag_header(item)
        key = item.get("id")
        if key:
            headers["Location"] = f"{self.api_base}/{ctx}({key})"
        return Outcome(201, headers, bodies.entity_body(self._context(ctx), item))

    def _payments_by_key(
        self, cid: str, jid: str | None, ctx: str, params: dict[str, str], headers: Mapping[str, str], request_url: str
    ) -> Outcome | None:
        """A batch's payment lines read one page at a time by key, as BC reads them; ``None`` when the
        request needs the whole set first or is malformed, so :meth:`_collection` answers it (and
        words its errors) as for any set.

        Paged by key: ``customerPaymentJournals({jid})/customerPayments`` with no option but
        ``$select`` and ``$skiptoken``, and top-level ``customerPayments`` (``jid`` None) whose
        ``$filter`` is exactly ``journalId eq <guid>``. The answer is the one :meth:`_collection`
        gives over the whole batch: the same entities, the same ``$skiptoken`` (either path reads
        the other's), the same next link.
        """
        allowed = {"$select", "$skiptoken"} if jid is not None else {"$filter", "$select", "$skiptoken"}
        if not set(params) <= allowed:
            return None
        try:
            query = options.parse_query(params)
            offset, last_id = paging.resume_point(query.skiptoken)
        except SandboxApiError:
            return None
        prefer = _header(headers, "Prefer")
        limit = paging.page_size_from_prefer(prefer, self.settings.limits.max_page_size)
        if jid is not None:
            start, items, sample = payments.page_payments(self.store, cid, jid, offset, last_id, limit)
        else:
            journal = _journal_equality(query)
            if journal is None:
                return None
            start, items, sample = payments.page_payments_top_level(self.store, cid, journal, offset, last_id, limit)
        _, entity_type = _KEYS["customerPayments"]
        known = items[:1] or ([sample] if sample is not None else [])
        evaluate.filter_entities(known, options.Query(select=query.select), entity_type=entity_type)
        page = evaluate.apply(items[:limit], options.Query(select=query.select), entity_type=entity_type)
        token = paging.next_token(start, page, limit, len(items) > limit)
        next_link = paging.next_link(request_url, token) if token is not None else None
        applied = paging.preference_applied(prefer, self.settings.limits.max_page_size)
        extra = {"Preference-Applied": applied} if applied else {}
        return Outcome(200, extra, bodies.collection_body(self._context(ctx), page, next_link))

    def _collection(
        self,
        items: list[dict[str, Any]],
        ctx: str,
        params: dict[str, str],
        headers: Mapping[str, str],
        request_url: str,
    ) -> Outcome:
        query = options.parse_query(params)
        entity_set = _entity_set_name(ctx)
        key_order, entity_type = _KEYS.get(entity_set, (("id",), ""))
        selected = evaluate.apply(items, query, key_order=key_order, entity_type=entity_type)
        limit = paging.page_size_from_prefer(_header(headers, "Prefer"), self.settings.limits.max_page_size)
        page, token = paging.page(selected, limit, params.get("$skiptoken"))
        if query.expand:
            company = re.match(r"companies\(([^)]*)\)", ctx)
            page = self._expand(page, query.expand, entity_set, company.group(1) if company else "")
        next_link = paging.next_link(request_url, token) if token is not None else None
        extra = {}
        applied = paging.preference_applied(_header(headers, "Prefer"), self.settings.limits.max_page_size)
        if applied:
            extra["Preference-Applied"] = applied
        count = len(evaluate.filter_entities(items, query, entity_type=entity_type)) if query.count else None
        return Outcome(200, extra, bodies.collection_body(self._context(ctx), page, next_link, count=count))


def _journal_equality(query: options.Query) -> str | None:
    """The GUID of a ``$filter`` that is exactly ``journalId eq <guid>``, else None."""
    node = query.filter
    if (
        isinstance(node, Comparison)
        and node.op == "eq"
        and node.prop.name == "journalId"
        and not node.prop.functions
        and node.value.kind == "guid"
    ):
        return str(node.value.plain())
    return None


_KEYS: dict[str, tuple[tuple[str, ...], str]] = {
    "companies": (("name",), "company"),
    "accounts": (("number",), "account"),
    "companyInformation": (("id",), "companyInformation"),
    "customers": (("number",), "customer"),
    "salesInvoices": (("number",), "salesInvoice"),
    "salesInvoiceLines": (("sequence",), "salesInvoiceLine"),
    "customerPaymentJournals": (("code",), "customerPaymentJournal"),
    "customerPayments": (("journalDisplayName", "lineNumber"), "customerPayment"),
    "generalLedgerEntries": (("entryNumber",), "generalLedgerEntry"),
    "generalLedgerSetup": (("id",), "generalLedgerSetup"),
    "currencies": (("code",), "currency"),
    "currencyExchangeRates": (("currencyCode", "startingDate"), "currencyExchangeRate"),
    "defaultDimensions": (("parentType", "parentId", "dimensionCode"), "defaultDimension"),
    "dimensionSetLines": (("code",), "dimensionSetLine"),
}
"""Each entity set's key order (BC lists records in primary-key order) and OData type name."""


_NAVIGATION: dict[str, dict[str, tuple[Callable[[Store, str, str], Any], str]]] = {
    "customers": {"customerFinancialDetails": (customers.customer_financial_details, "customerFinancialDetails")},
    "salesInvoices": {"salesInvoiceLines": (invoices.list_sales_invoice_lines, "salesInvoiceLines")},
    "customerPaymentJournals": {"customerPayments": (payments.list_payments, "customerPayments")},
}
"""The ``$expand`` navigation properties per entity set: loader(store, company, parent id), child set."""


def _entity_set_name(ctx: str) -> str:
    """``companies(1)/customerPaymentJournals(2)/customerPayments`` -> ``customerPayments``."""
    return ctx.rsplit("/", 1)[-1].split("(", 1)[0]


def _entity_set(ctx: str) -> str:
    return ctx + "/$entity"


def _etag_header(item: Mapping[str, Any]) -> dict[str, str]:
    etag = item.get("@odata.etag")
    return {"ETag": str(etag)} if etag else {}


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lower = name.lower()
    for k, v in headers.items():
        if k.lower() == lower:
            return v
    return None


def _key(key: str | None) -> str:
    if key is None:
        raise SandboxApiError(400, "BadRequest_NotFound", "The request URI is not valid: a key is required.")
    return key


def _body(body: Any) -> dict[str, Any]:
    if body is None:
        return {}
    if isinstance(body, (bytes, str)):
        if not body:
            return {}
        try:
            body = bodies.loads(body)
        except ValueError as exc:
            raise SandboxApiError(400, "BadRequest", f"Invalid JSON in the request body: {exc}.") from None
    if not isinstance(body, dict):
        raise SandboxApiError(400, "BadRequest", "The request body must be a JSON object.")
    return body


def _method_not_allowed(method: str) -> SandboxApiError:
    return SandboxApiError(
        405, "BadRequest_MethodNotAllowed", f"'{method}' requests for this resource are not allowed."
    )


def build_api_routes(
    dispatcher: Dispatcher,
    settings: SandboxSettings,
    client_of: Callable[[Request], str],
) -> list[Route]:
    """The API routes (with and without the tenant segment), ``$batch`` included."""

    async def api(request: Request) -> Response:
        tenant = request.path_params.get("tenant")
        env = request.path_params["environment"]
        if (tenant is not None and tenant != settings.tenant) or env != settings.environment:
            if env != settings.environment:
                err = SandboxApiError(404, "BadRequest_NotFound", f"Environment '{env}' does not exist.")
            else:
                err = SandboxApiError(404, "Internal_TenantUnavailable", f"Tenant '{tenant}' is not available.")
            return _respond(Outcome(err.status, {}, err.body()))
        try:
            client_of(request)
        except SandboxApiError as exc:
            return _respond(Outcome(exc.status, dict(exc.headers), exc.body()))
        path = request.path_params["path"]
        raw = await request.body()
        headers = dict(request.headers)
        url = path + (f"?{request.url.query}" if request.url.query else "")
        if path == "$batch":
            return await run_in_threadpool(_run_batch, dispatcher, settings, raw, headers)
        body: Any = raw if raw else None
        outcome = await run_in_threadpool(
            dispatcher.execute, request.method, url, headers, body, request_url=str(request.url)
        )
        return _respond(outcome)

    async def job_queue(request: Request) -> Response:
        """The sandbox's own control (not BC's API): run every queued posting job now."""
        ran = await run_in_threadpool(posting.run_job_queue, dispatcher.store)
        jobs = [{"status": status, "error": error} for status, error in ran]
        return Response(bodies.dumps({"jobs": jobs}), status_code=200, media_type=_JSON)

    methods = ["GET", "POST", "PATCH", "DELETE", "PUT"]
    return [
        Route("/v2.0/{tenant}/{environment}/api/v2.0/{path:path}", api, methods=methods),
        Route("/v2.0/{environment}/api/v2.0/{path:path}", api, methods=methods),
        Route(JOB_QUEUE_PATH, job_queue, methods=["POST"]),
    ]


JOB_QUEUE_PATH = "/sandbox/jobQueue/run"
"""POST here runs the sandbox's queued posting jobs ("Post with Job Queue") at once."""


def _run_batch(dispatcher: Dispatcher, settings: SandboxSettings, raw: bytes, headers: dict[str, str]) -> Response:
    try:
        operations = batch.parse_batch(raw, settings.limits.max_batch_operations)
    except SandboxApiError as exc:
        return _respond(Outcome(exc.status, dict(exc.headers), exc.body()))
    except RecursionError:
        err = SandboxApiError(400, "BadRequest", "Invalid Request Body: the JSON is nested too deeply.")
        return _respond(Outcome(err.status, {}, err.body()))
    continue_on_error = batch.wants_continue_on_error(_header(headers, "Prefer"))

    def execute(op: batch.Operation) -> batch.OperationResult:
        merged = {
            **{k: v for k, v in headers.items() if k.lower() in {"company", "data-access-intent"}},
            **dict(op.headers),
        }
        try:
            outcome = dispatcher.execute(op.method, op.url, merged, op.body)
        except Exception:  # a defect in one operation must not hide what the others did
            _log.exception("operation %s of a $batch failed", op.id)
            err = SandboxApiError(
                500, "Internal_ServerError", "An unexpected error occurred while processing the operation."
            )
            return batch.OperationResult(err.status, {}, err.body())
        return batch.OperationResult(outcome.status, outcome.headers, outcome.body)

    if batch.wants_snapshot(_header(headers, "Isolation")):
        with dispatcher.store.snapshot() as snap:
            result = batch.run_batch(operations, execute, continue_on_error=continue_on_error, snapshot=snap)
    else:
        result = batch.run_batch(operations, execute, continue_on_error=continue_on_error, snapshot=None)
    return Response(bodies.dumps(result), status_code=200, media_type=_JSON)


def _respond(outcome: Outcome) -> Response:
    if outcome.body is None:
        return Response(status_code=outcome.status, headers=outcome.headers)
    return Response(bodies.dumps(outcome.body), status_code=outcome.status, headers=outcome.headers, media_type=_JSON)


def create_api(
    settings: SandboxSettings, store: Store, api_base: str, client_of: Callable[[Request], str]
) -> Starlette:
    """A Starlette app with the API routes only (auth routes and limits are added by the caller)."""
    dispatcher = Dispatcher(settings, store, api_base)
    app = Starlette(routes=build_api_routes(dispatcher, settings, client_of))
    app.state.dispatcher = dispatcher
    return app
