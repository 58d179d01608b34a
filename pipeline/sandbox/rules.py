"""Business Central's rules for the entities a payment import touches, over a ``Store``.

Every public function is one API operation; the HTTP layer maps URLs to them and turns the
returned dicts into OData bodies. They return entities in BC's v2.0 JSON shape (property names
and order as on the API pages, ``"@odata.etag"`` first), amounts as ``Decimal`` in BC's minimal
form (``1190``, ``84.99``), dates ``YYYY-MM-DD`` (a blank date is BC's ``0001-01-01``), GUIDs
lower-case, blank enums ``_x0020_``. Errors are raised as ``SandboxApiError``; ``status`` is the HTTP
status to answer with.

Where the research notes (``bc-api.md`` section 6) leave a question open, the sandbox decides:

- Duplicate primary key (a ``lineNumber`` in use, a journal ``code`` in use, a rename onto an
  existing key): 400 ``Internal_EntityWithSameKeyExists``, "The record in table <Table> already
  exists. Identification fields and values: <Field>='<value>',...", BC's runtime text.
- Stale ``If-Match``: 409 ``Request_EntityChanged`` "Another user has already changed the
  record." A missing or unreadable one: 400 ``BadRequest_InvalidToken``.
- An unknown key in the URL (company, customer, invoice, journal, payment): 404
  ``BadRequest_NotFound`` "The <Table caption> does not exist." The company may also be named
  by its name (``?company=CRONUS sandbox``), as BC's OData endpoints accept.
- A journal id in a *body* that matches no batch: 400 ``Internal_RecordNotFound``
  (the page's ``GetBySystemId`` fails inside AL, it is not a missing URL resource).
- ``journals({id})/Microsoft.NAV.post`` with an unknown id: 404 ``BadRequest_NotFound`` with the
  page's own text "The General Journal Batch with ID {<GUID>} cannot be found." (AL formats a
  GUID upper-case in braces).
- "There is no Cust. Ledger Entry within the filter.": 400 ``Internal_DataNotFoundFilter``.
- Unknown body property: 400 ``BadRequest`` "The property 'contactId' does not exist on type
  'Microsoft.NAV.customerPayment'." (the OData reader's text); a value of the wrong JSON type:
  400 ``BadRequest`` "Cannot convert the literal '<v>' to the expected type 'Edm.<T>'.".
  Instance annotations (``@odata.etag``, ``amount@odata.type``) are ignored.
- Read-only property in a body: 400 ``BadRequest_InvalidOperation`` "Control '<name>' is
  read-only." (with the period BC's message carries).
- Field order: body properties are validated in *page* order (the order of the layout), not
  JSON order, so ``customerId`` runs before ``customerNumber`` and ``appliesToInvoiceId`` before
  ``appliesToInvoiceNumber``; unknown properties and type errors are found first, while the body
  is read, in JSON order.
- TestField/FieldError failures at posting: 400 ``Application_FieldValidationException`` with
  BC's text, e.g. "Document No. must have a value in Gen. Journal Line: Journal Template
  Name=CASHRCPT, Journal Batch Name=PAY1, Line No.=10000. It cannot be zero or empty."
- ``amount`` is stored exactly as sent (never negated) but rounded to the currency's precision
  (0.01) half away from zero, as ``Validate(Amount)`` does.
- The "copy-from line" of the insert algorithm is the last line of the *whole* batch (the page
  clears its filters before it runs ``InitializeLine``), so lines of other types count.
- Posting is all or nothing; zero-amount lines are skipped and stay in the journal; the
  customer-payments template forces document balance; posting-date ranges are not checked.
- ``customerFinancialDetails`` is a single entity (the page part has Multiplicity ZeroOrOne).
- Draft invoices created here accept only the properties listed in ``_INVOICE_PROPS`` as
  writable; other known properties (``discountAmount``...) are refused as read-only.
"""

from __future__ import annotations

import base64
import re
import sqlite3
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal

from pipeline.sandbox.errors import SandboxApiError, dialog, not_found
from pipeline.sandbox.store import EMPTY_GUID, Store, money, new_id, to_decimal

Entity = dict[str, Any]

SYSTEM_VERSION = "28.0.0.0"
CASH_RECEIPT_JOURNAL_PAGE = 255
PAYMENT_TERMS_DAYS = 14
DRAFT_INVOICE_SERIES = "S-INV"
POSTED_INVOICE_SERIES = "S-INV+"

# --- BC's texts (labels of the API pages and the base app, verbatim) ---------------------------

FILTERS_NOT_SPECIFIED = "You must specify a journal batch ID or a journal ID to get a journal line."
JOURNAL_ID_NAME_MISMATCH = "The Journal Id and Journal Display Name do not match."
CANNOT_EDIT_BATCH_NAME = "The Journal Batch Display Name cannot be changed."
CANNOT_EDIT_JOURNAL_ID = "The Journal Id cannot be changed."
CUSTOMER_VALUES_DONT_MATCH = "The customer values do not match to a specific Customer."
CUSTOMER_ID_NOT_FOUND = 'The "customerId" does not match to a Customer.'
CUSTOMER_NUMBER_NOT_FOUND = 'The "customerNumber" does not match to a Customer.'
APPLIES_TO_VALUES_DONT_MATCH = "The Applies To Invoice values do not match to the same Invoice."
APPLIES_TO_INVOICE_ID_NOT_FOUND = (
    'The "appliesToInvoiceId" should be the ID of an Open, Paid, Corrective, or Canceled Invoice.'
)
BALANCING_ACCOUNT_NOT_FOUND = 'The "balancingAccountNumber" does not match to a G/L Account.'
CUSTOMER_BLOCKED = "You cannot {action} this type of document when Customer {number} is blocked with type {blocked}"
NOTHING_TO_POST = "There is nothing to post."
BATCH_NOT_FOUND = "The General Journal Batch with ID {guid} cannot be found."
NO_CUST_LEDGER_ENTRY = "There is no Cust. Ledger Entry within the filter."
OUT_OF_BALANCE = (
    "Document No. {document} is out of balance by {balance}. "
    "Please check that Posting Date, Document Type, Document No. and Amount are correct for each line."
)
MANUAL_NOS = (
    "You may not enter numbers manually. If you want to enter numbers manually, "
    "please activate Manual Nos. in No. Series {series}."
)
DIFFERENT_CURRENCIES = "All entries in one application must be in the same currency."
MISSING_IF_MATCH = (
    "Could not validate the client concurrency token required by the service. "
    "Please provide a valid token in the client request."
)
ENTITY_CHANGED = "Another user has already changed the record."
SELL_TO_NOT_PROVIDED = 'A "customerNumber" or a "customerId" must be provided.'
SELL_TO_VALUES_DONT_MATCH = "The sell-to customer values do not match to a specific Customer."
BILL_TO_VALUES_DONT_MATCH = "The bill-to customer values do not match to a specific Customer."
SELL_TO_NOT_FOUND = "The sell-to customer cannot be found."
BILL_TO_NOT_FOUND = "The bill-to customer cannot be found."
CURRENCY_VALUES_DONT_MATCH = "The currency values do not match to a specific Currency."
CURRENCY_ID_NOT_FOUND = 'The "currencyId" does not match to a Currency.'
CURRENCY_CODE_NOT_FOUND = 'The "currencyCode" does not match to a Currency.'
DRAFT_INVOICE_ONLY = "The action can be applied to a draft invoice only."
NO_INVOICE_LINES = "Please add at least one line item to the invoice."

_GUID = re.compile(r"^\{?([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\}?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CENT = Decimal("0.01")
_MAX_DECIMAL = Decimal("1e15")

# --- small conversions --------------------------------------------------------------------------


def _guid(text: str | None) -> str | None:
    """A GUID in BC's JSON form (lower-case, no braces), or None when ``text`` is not one."""
    if text is None:
        return None
    m = _GUID.match(text.strip().strip("'"))
    return m.group(1).lower() if m else None


def _al_guid(text: str) -> str:
    """A GUID as AL's ``Format`` writes it into messages: upper-case, in braces."""
    key = _guid(text)
    return "{" + key.upper() + "}" if key else text


def _upper(text: str) -> str:
    """Code-field upper-casing that keeps the length (AL keeps ``ß``; Python would write ``SS``)."""
    return "".join(c.upper() if len(c.upper()) == 1 else c for c in text)


def _round(amount: Decimal) -> Decimal:
    """AL ``Round(x, 0.01)``: to the nearest cent, halves away from zero."""
    return amount.quantize(_CENT, rounding=ROUND_HALF_UP)


def _num(amount: Decimal) -> Decimal:
    """An amount in the minimal form BC writes in JSON (``1190``, ``84.99``, never ``-0``)."""
    if amount == 0:
        return Decimal(0)
    if amount == amount.to_integral_value():
        return amount.quantize(Decimal(1))
    return amount.normalize()


def _date_json(text: str) -> str:
    """A stored date for JSON; BC writes its blank date (0D) as ``0001-01-01``."""
    return text or "0001-01-01"


def _al_decimal(amount: Decimal) -> str:
    """A decimal as AL's ``Format`` writes it into a message: thousands separators, no trailing zeros."""
    sign = "-" if amount < 0 else ""
    whole = int(abs(amount))
    text = f"{whole:,}"
    fraction = abs(amount) - whole
    if fraction:
        text += format(fraction.normalize(), "f")[1:]
    return sign + text


def incstr(text: str) -> str:
    """AL ``IncStr``: add one to the last number in ``text``, keeping its width; ``''`` if none."""
    m = re.search(r"(\d+)(?!.*\d)", text)
    if m is None:
        return ""
    digits = m.group(1)
    return text[: m.start()] + str(int(digits) + 1).zfill(len(digits)) + text[m.end() :]


def _s(row: sqlite3.Row, key: str) -> str:
    return str(row[key])


def _i(row: sqlite3.Row, key: str) -> int:
    return int(row[key])


def _d(row: sqlite3.Row, key: str) -> Decimal:
    return to_decimal(row[key])


# --- ETags ---------------------------------------------------------------------------------------


def etag(entity_id: str, version: int) -> str:
    """An ETag shaped like BC's (``W/"JzQ0O..."``: base64 of ``'<n>;<key>1;<version>;'``)."""
    key = base64.b64encode(uuid.UUID(entity_id).bytes).decode("ascii")
    raw = f"'{len(key)};{key}1;{version};'"
    return 'W/"' + base64.b64encode(raw.encode("ascii")).decode("ascii") + '"'


def _parse_etag(value: str) -> tuple[str, int] | None:
    """``(key, version)`` from an ETag this module wrote; None for anything else."""
    text = value.strip()
    if text.startswith("W/"):
        text = text[2:]
    text = text.strip('"')
    try:
        raw = base64.b64decode(text, validate=True).decode("ascii")
    except ValueError:
        return None
    m = re.fullmatch(r"'(\d+);(.*)1;(\d+);'", raw)
    if m is None or len(m.group(2)) != int(m.group(1)):
        return None
    return m.group(2), int(m.group(3))


def check_if_match(if_match: str | None, entity_id: str, version: int) -> None:
    """BC's concurrency check for PATCH and DELETE.

    Missing (or an unreadable token): 400 ``BadRequest_InvalidToken``; a readable token of
    another version or entity: 409 ``Request_EntityChanged``; ``*`` always passes.
    """
    if if_match is None or not if_match.strip():
        raise SandboxApiError(400, "BadRequest_InvalidToken", MISSING_IF_MATCH)
    key = base64.b64encode(uuid.UUID(entity_id).bytes).decode("ascii")
    readable = False
    for candidate in if_match.split(","):
        if candidate.strip() == "*":
            return
        parsed = _parse_etag(candidate)
        if parsed is None:
            continue
        readable = True
        if parsed == (key, version):
            return
    if not readable:
        raise SandboxApiError(400, "BadRequest_InvalidToken", MISSING_IF_MATCH)
    raise SandboxApiError(409, "Request_EntityChanged", ENTITY_CHANGED)


# --- request bodies --------------------------------------------------------------------------------

Kind = Literal["guid", "code", "text", "int", "decimal", "date", "bool", "datetime", "nav"]

_EDM: dict[str, str] = {
    "guid": "Edm.Guid",
    "code": "Edm.String",
    "text": "Edm.String",
    "int": "Edm.Int32",
    "decimal": "Edm.Decimal",
    "date": "Edm.Date",
    "bool": "Edm.Boolean",
    "datetime": "Edm.DateTimeOffset",
    "nav": "Collection",
}


@dataclass(frozen=True)
class _Prop:
    kind: Kind
    max_len: int = 0
    read_only: bool = False


def _literal(raw: object) -> str:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, Decimal):
        return format(raw, "f")
    return str(raw)


def _conversion_error(raw: object, kind: Kind) -> SandboxApiError:
    return SandboxApiError(
        400, "BadRequest", f"Cannot convert the literal '{_literal(raw)}' to the expected type '{_EDM[kind]}'."
    )


def _blank(kind: Kind) -> Any:
    blanks: dict[str, Any] = {
        "guid": EMPTY_GUID,
        "int": 0,
        "decimal": Decimal(0),
        "bool": False,
        "nav": [],
    }
    return blanks.get(kind, "")


def _bc_length(text: str) -> int:
    """Length as BC (.NET) counts it: UTF-16 code units, so an emoji counts two."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _convert(raw: Any, kind: Kind) -> Any:
    """One JSON value to the field's type; JSON ``null`` becomes the type's blank value."""
    if raw is None:
        return _blank(kind)
    if kind == "nav":
        if isinstance(raw, list) and all(isinstance(item, Mapping) for item in raw):
            return list(raw)
        raise _conversion_error(raw, kind)
    if kind in ("code", "text", "datetime"):
        if not isinstance(raw, str):
            raise _conversion_error(raw, kind)
        return _upper(raw.strip()) if kind == "code" else raw
    if kind == "guid":
        key = _guid(raw) if isinstance(raw, str) else None
        if key is None:
            raise _conversion_error(raw, kind)
        return key
    if kind == "int":
        if isinstance(raw, bool) or not isinstance(raw, int) or not -(2**31) <= raw < 2**31:
            raise _conversion_error(raw, kind)
        return raw
    if kind == "decimal":
        if isinstance(raw, bool) or not isinstance(raw, int | float | Decimal):
            raise _conversion_error(raw, kind)
        try:
            number = raw if isinstance(raw, Decimal) else Decimal(repr(raw)) if isinstance(raw, float) else Decimal(raw)
        except InvalidOperation:
            raise _conversion_error(raw, kind) from None
        if not number.is_finite() or abs(number) >= _MAX_DECIMAL:
            raise _conversion_error(raw, kind)
        return number
    if kind == "date":
        if isinstance(raw, str) and _DATE.match(raw):
            try:
                return date.fromisoformat(raw).isoformat()
            except ValueError:
                pass
        raise _conversion_error(raw, kind)
    if not isinstance(raw, bool):
        raise _conversion_error(raw, kind)
    return raw


def _read_body(body: Mapping[str, Any] | None, props: Mapping[str, _Prop], entity: str) -> dict[str, Any]:
    """Deserialise a body as the OData reader does: unknown names and bad values fail here."""
    if body is None:
        return {}
    if not isinstance(body, Mapping):
        raise SandboxApiError(400, "BadRequest", "The request body must be a JSON object.")
    values: dict[str, Any] = {}
    for name, raw in body.items():
        if "@" in name:
            continue
        prop = props.get(name)
        if prop is None:
            raise SandboxApiError(
                400, "BadRequest", f"The property '{name}' does not exist on type 'Microsoft.NAV.{entity}'."
            )
        values[name] = _convert(raw, prop.kind)
    return values


def _assigned(values: Mapping[str, Any], props: Mapping[str, _Prop]) -> Iterator[tuple[str, Any]]:
    """The body's values in page order, each checked as the page assigns it to its control."""
    for name, prop in props.items():
        if name not in values:
            continue
        if prop.read_only:
            raise SandboxApiError(400, "BadRequest_InvalidOperation", f"Control '{name}' is read-only.")
        value = values[name]
        if prop.max_len and isinstance(value, str) and _bc_length(value) > prop.max_len:
            raise SandboxApiError(
                400,
                "Application_StringExceededLength",
                f"The length of the string is {_bc_length(value)}, but it must be less than or equal to "
                f"{prop.max_len} characters. Value: {value}",
            )
        yield name, value


def _duplicate(table: str, fields: Sequence[tuple[str, object]]) -> SandboxApiError:
    ident = ",".join(f"{name}='{value}'" for name, value in fields)
    return SandboxApiError(
        400,
        "Internal_EntityWithSameKeyExists",
        f"The record in table {table} already exists. Identification fields and values: {ident}",
    )


def _field_validation(message: str) -> SandboxApiError:
    return SandboxApiError(400, "Application_FieldValidationException", message)


def _record_not_found(table: str, fields: Sequence[tuple[str, object]]) -> SandboxApiError:
    ident = ",".join(f"{name}='{value}'" for name, value in fields)
    return SandboxApiError(
        400, "Internal_RecordNotFound", f"The {table} does not exist. Identification fields and values: {ident}"
    )


# --- companies --------------------------------------------------------------------------------------


def _company(store: Store, cid: str) -> sqlite3.Row:
    key = _guid(cid)
    row = store.query_one("SELECT * FROM companies WHERE id = ?", (key,)) if key else None
    if row is None:
        row = store.query_one("SELECT * FROM companies WHERE name = ?", (cid,))
    if row is None:
        raise not_found("Company")
    return row


def _company_json(row: sqlite3.Row) -> Entity:
    return {
        "@odata.etag": etag(_s(row, "id"), _i(row, "version")),
        "id": _s(row, "id"),
        "systemVersion": SYSTEM_VERSION,
        "timestamp": _i(row, "version"),
        "name": _s(row, "name"),
        "displayName": _s(row, "display_name"),
        "businessProfileId": _s(row, "business_profile_id"),
        "systemCreatedAt": _s(row, "created_at"),
        "systemCreatedBy": EMPTY_GUID,
        "systemModifiedAt": _s(row, "modified_at"),
        "systemModifiedBy": EMPTY_GUID,
    }


def list_companies(store: Store) -> list[Entity]:
    with store.transaction():
        return [_company_json(row) for row in store.query("SELECT * FROM companies ORDER BY name")]


def get_company(store: Store, cid: str) -> Entity:
    """The company by id (or by name, as ``?company=`` allows); 404 when unknown."""
    with store.transaction():
        return _company_json(_company(store, cid))


# --- customers ---------------------------------------------------------------------------------------

_BLOCKED_JSON = {" ": "_x0020_", "": "_x0020_"}


def _rates(store: Store, company_id: str) -> dict[str, Decimal]:
    rows = store.query("SELECT code, lcy_per_unit FROM currencies WHERE company_id = ?", (company_id,))
    return {_s(r, "code"): _d(r, "lcy_per_unit") for r in rows}


def _lcy(amount: Decimal, currency: str, rates: Mapping[str, Decimal]) -> Decimal:
    """The local-currency amount at the sandbox's fixed exchange rate (no rate history)."""
    if not currency:
        return amount
    return _round(amount * rates.get(currency, Decimal(1)))


def _party_by_id(store: Store, company_id: str, value: str, not_found: str) -> sqlite3.Row:
    """The invoice's sell-to or bill-to customer by id (the page's id trigger runs first)."""
    found = _customer_by_id(store, company_id, value)
    if found is None:
        raise dialog(not_found)
    return found


def _party_by_number(
    store: Store, company_id: str, value: str, by_id: sqlite3.Row | None, not_found: str, mismatch: str
) -> sqlite3.Row:
    """By number; when the id already chose a customer, the number must name the same one."""
    if by_id is not None:
        if _s(by_id, "number") != value:
            raise dialog(mismatch)
        return by_id
    found = _customer_by_number(store, company_id, value)
    if found is None:
        raise dialog(not_found)
    return found


def _customer_by_id(store: Store, company_id: str, customer_id: str) -> sqlite3.Row | None:
    return store.query_one("SELECT * FROM customers WHERE company_id = ? AND id = ?", (company_id, customer_id))


def _customer_by_number(store: Store, company_id: str, number: str) -> sqlite3.Row | None:
    return store.query_one("SELECT * FROM customers WHERE company_id = ? AND number = ?", (company_id, number))


def _customer(store: Store, company_id: str, customer_id: str) -> sqlite3.Row:
    key = _guid(customer_id)
    row = _customer_by_id(store, company_id, key) if key else None
    if row is None:
        raise not_found("Customer")
    return row


def _currency_id(store: Store, company_id: str, code: str) -> str:
    if not code:
        return EMPTY_GUID
    row = store.query_one("SELECT id FROM currencies WHERE company_id = ? AND code = ?", (company_id, code))
    return _s(row, "id") if row else EMPTY_GUID


@dataclass(frozen=True)
class _Totals:
    balance: Decimal = Decimal(0)
    balance_due: Decimal = Decimal(0)
    overdue: Decimal = Decimal(0)
    sales_excl: Decimal = Decimal(0)


def _customer_totals(store: Store, company_id: str, today: date) -> dict[str, _Totals]:
    """Balance (LCY), balance due, overdue amount and sales per customer number, from the ledger."""
    sums: dict[str, dict[str, Decimal]] = {}
    for row in store.query("SELECT * FROM cust_ledger_entries WHERE company_id = ?", (company_id,)):
        acc = sums.setdefault(_s(row, "customer_number"), {"b": Decimal(0), "d": Decimal(0), "o": Decimal(0)})
        acc["b"] += _d(row, "amount_lcy")
        if _i(row, "open"):
            due = date.fromisoformat(_s(row, "due_date"))
            if due <= today:
                acc["d"] += _d(row, "remaining_amount_lcy")
            if due < today:
                acc["o"] += _d(row, "remaining_amount_lcy")
    sales: dict[str, Decimal] = {}
    rates = _rates(store, company_id)
    invoices = store.query(
        "SELECT bill_to_customer_number, currency_code, total_excl FROM sales_invoices "
        "WHERE company_id = ? AND posted = 1 AND canceled = 0",
        (company_id,),
    )
    for row in invoices:
        number = _s(row, "bill_to_customer_number")
        sales[number] = sales.get(number, Decimal(0)) + _lcy(_d(row, "total_excl"), _s(row, "currency_code"), rates)
    out: dict[str, _Totals] = {}
    for number in set(sums) | set(sales):
        acc = sums.get(number, {"b": Decimal(0), "d": Decimal(0), "o": Decimal(0)})
        out[number] = _Totals(acc["b"], acc["d"], acc["o"], sales.get(number, Decimal(0)))
    return out


def _customer_json(store: Store, company: sqlite3.Row, row: sqlite3.Row, totals: _Totals) -> Entity:
    currency = _s(row, "currency_code")
    blocked = _s(row, "blocked")
    return {
        "@odata.etag": etag(_s(row, "id"), _i(row, "version")),
        "id": _s(row, "id"),
        "number": _s(row, "number"),
        "displayName": _s(row, "name"),
        "type": "Company",
        "addressLine1": "",
        "addressLine2": "",
        "city": "",
        "state": "",
        "country": "",
        "postalCode": "",
        "phoneNumber": "",
        "email": _s(row, "email"),
        "website": "",
        "salespersonCode": "",
        "balanceDue": _num(totals.balance_due),
        "creditLimit": Decimal(0),
        "taxLiable": False,
        "taxAreaId": EMPTY_GUID,
        "taxAreaDisplayName": "",
        "taxRegistrationNumber": "",
        "currencyId": _currency_id(store, _s(company, "id"), currency),
        "currencyCode": currency or _s(company, "lcy_code"),
        "paymentTermsId": EMPTY_GUID,
        "shipmentMethodId": EMPTY_GUID,
        "paymentMethodId": EMPTY_GUID,
        "blocked": _BLOCKED_JSON.get(blocked, blocked),
        "lastModifiedDateTime": _s(row, "modified_at"),
    }


def list_customers(store: Store, cid: str) -> list[Entity]:
    with store.transaction():
        company = _company(store, cid)
        company_id = _s(company, "id")
        totals = _customer_totals(store, company_id, store.today())
        rows = store.query("SELECT * FROM customers WHERE company_id = ? ORDER BY number", (company_id,))
        return [_customer_json(store, company, r, totals.get(_s(r, "number"), _Totals())) for r in rows]


def get_customer(store: Store, cid: str, id: str) -> Entity:
    with store.transaction():
        company = _company(store, cid)
        row = _customer(store, _s(company, "id"), id)
        totals = _customer_totals(store, _s(company, "id"), store.today())
        return _customer_json(store, company, row, totals.get(_s(row, "number"), _Totals()))


def customer_financial_details(store: Store, cid: str, customer_id: str) -> Entity:
    """``customers({id})/customerFinancialDetails``: balance (LCY), sales excl. tax, overdue amount.

    The balance comes from the customer ledger, so it drops as payments are posted.
    """
    with store.transaction():
        company = _company(store, cid)
        row = _customer(store, _s(company, "id"), customer_id)
        totals = _customer_totals(store, _s(company, "id"), store.today()).get(_s(row, "number"), _Totals())
        return {
            "@odata.etag": etag(_s(row, "id"), _i(row, "version")),
            "id": _s(row, "id"),
            "number": _s(row, "number"),
            "balance": _num(totals.balance),
            "totalSalesExcludingTax": _num(totals.sales_excl),
            "overdueAmount": _num(totals.overdue),
        }


def customer_ledger_entries(store: Store, cid: str, customer_number: str | None = None) -> list[Entity]:
    """The sandbox's customer ledger (not an API v2.0 entity: BC has no such endpoint).

    For tests and for inspecting what a posting did; amounts as ``Decimal``.
    """
    with store.transaction():
        company_id = _s(_company(store, cid), "id")
        sql = "SELECT * FROM cust_ledger_entries WHERE company_id = ?"
        params: list[object] = [company_id]
        if customer_number is not None:
            sql += " AND customer_number = ?"
            params.append(customer_number)
        return [
            {
                "entryNumber": _i(r, "entry_no"),
                "customerNumber": _s(r, "customer_number"),
                "documentType": _s(r, "document_type"),
                "documentNumber": _s(r, "document_number"),
                "externalDocumentNumber": _s(r, "external_document_number"),
                "description": _s(r, "description"),
                "postingDate": _s(r, "posting_date"),
                "dueDate": _s(r, "due_date"),
                "currencyCode": _s(r, "currency_code"),
                "amount": _num(_d(r, "amount")),
                "amountLcy": _num(_d(r, "amount_lcy")),
                "remainingAmount": _num(_d(r, "remaining_amount")),
                "open": bool(_i(r, "open")),
            }
            for r in store.query(sql + " ORDER BY entry_no", params)
        ]


# --- G/L accounts and company information (read-only here) --------------------------------------


def list_accounts(store: Store, cid: str) -> list[Entity]:
    """``accounts``: the chart of accounts (API page "APIV2 - Accounts"), for balancing accounts."""
    with store.transaction():
        company_id = _s(_company(store, cid), "id")
        rows = store.query("SELECT * FROM gl_accounts WHERE company_id = ? ORDER BY number", (company_id,))
        return [
            {
                "@odata.etag": etag(_s(r, "id"), _i(r, "version")),
                "id": _s(r, "id"),
                "number": _s(r, "number"),
                "displayName": _s(r, "name"),
                "category": "",
                "subCategory": "",
                "blocked": bool(_i(r, "blocked")),
                "accountType": _s(r, "account_type"),
                "directPosting": bool(_i(r, "direct_posting")),
                "netChange": Decimal(0),
                "consolidationTranslationMethod": "Average_x0020_Rate_x0020__x0028_Manual_x0029_",
                "consolidationDebitAccount": "",
                "consolidationCreditAccount": "",
                "excludeFromConsolidation": False,
                "lastModifiedDateTime": _s(r, "modified_at"),
            }
            for r in rows
        ]


def company_information(store: Store, cid: str) -> list[Entity]:
    """``companyInformation``: one record; its ``currencyCode`` is the local currency (LCY)."""
    with store.transaction():
        company = _company(store, cid)
        return [
            {
                "@odata.etag": etag(_s(company, "id"), _i(company, "version")),
                "id": _s(company, "id"),
                "displayName": _s(company, "display_name"),
                "currencyCode": _s(company, "lcy_code"),
                "lastModifiedDateTime": _s(company, "modified_at"),
            }
        ]


# --- sales invoices ---------------------------------------------------------------------------------


def _invoice_entries(store: Store, company_id: str) -> dict[str, sqlite3.Row]:
    rows = store.query(
        "SELECT * FROM cust_ledger_entries WHERE company_id = ? AND document_type = 'Invoice' AND invoice_id <> ''",
        (company_id,),
    )
    return {_s(r, "invoice_id"): r for r in rows}


def _invoice_status(row: sqlite3.Row, entry: sqlite3.Row | None) -> str:
    """BC's status mapping (Sales Invoice Aggregator): a released draft is already ``Open``."""
    if _i(row, "posted"):
        if _i(row, "canceled"):
            return "Canceled"
        if _i(row, "corrective"):
            return "Corrective"
        if entry is not None and not _i(entry, "open"):
            return "Paid"
        return "Open"
    draft = _s(row, "draft_status")
    if draft == "Pending Approval":
        return "In_x0020_Review"
    if draft in ("Released", "Pending Prepayment"):
        return "Open"
    return "Draft"


def _remaining(row: sqlite3.Row, entry: sqlite3.Row | None) -> Decimal:
    """The page's calculated ``remainingAmount``: drafts owe their total, cancelled ones nothing."""
    if not _i(row, "posted"):
        return _d(row, "total_incl")
    if _i(row, "canceled"):
        return Decimal(0)
    return _d(entry, "remaining_amount") if entry is not None else Decimal(0)


def _invoice_json(store: Store, company: sqlite3.Row, row: sqlite3.Row, entry: sqlite3.Row | None) -> Entity:
    company_id = _s(company, "id")
    sell = _customer_by_number(store, company_id, _s(row, "sell_to_customer_number"))
    bill = _customer_by_number(store, company_id, _s(row, "bill_to_customer_number"))
    currency = _s(row, "currency_code")
    return {
        "@odata.etag": etag(_s(row, "id"), _i(row, "version")),
        "id": _s(row, "id"),
        "number": _s(row, "number"),
        "externalDocumentNumber": _s(row, "external_document_number"),
        "invoiceDate": _date_json(_s(row, "invoice_date")),
        "postingDate": _date_json(_s(row, "posting_date")),
        "dueDate": _date_json(_s(row, "due_date")),
        "customerPurchaseOrderReference": _s(row, "your_reference"),
        "customerId": _s(sell, "id") if sell else EMPTY_GUID,
        "customerNumber": _s(row, "sell_to_customer_number"),
        "customerName": _s(sell, "name") if sell else "",
        "billToName": _s(bill, "name") if bill else "",
        "billToCustomerId": _s(bill, "id") if bill else EMPTY_GUID,
        "billToCustomerNumber": _s(row, "bill_to_customer_number"),
        "currencyId": _currency_id(store, company_id, currency),
        "currencyCode": currency or _s(company, "lcy_code"),
        "pricesIncludeTax": False,
        "remainingAmount": _num(_remaining(row, entry)),
        "discountAmount": Decimal(0),
        "discountAppliedBeforeTax": True,
        "totalAmountExcludingTax": _num(_d(row, "total_excl")),
        "totalTaxAmount": _num(_d(row, "total_tax")),
        "totalAmountIncludingTax": _num(_d(row, "total_incl")),
        "status": _invoice_status(row, entry),
        "lastModifiedDateTime": _s(row, "modified_at"),
    }


def _invoice(store: Store, company_id: str, invoice_id: str) -> sqlite3.Row:
    key = _guid(invoice_id)
    row = (
        store.query_one("SELECT * FROM sales_invoices WHERE company_id = ? AND id = ?", (company_id, key))
        if key
        else None
    )
    if row is None:
        raise not_found("Sales Invoice Entity Aggregate")
    return row


def list_sales_invoices(store: Store, cid: str) -> list[Entity]:
    """Drafts and posted invoices together, as BC's aggregate table holds them."""
    with store.transaction():
        company = _company(store, cid)
        company_id = _s(company, "id")
        entries = _invoice_entries(store, company_id)
        rows = store.query("SELECT * FROM sales_invoices WHERE company_id = ? ORDER BY number, posted", (company_id,))
        return [_invoice_json(store, company, r, entries.get(_s(r, "id"))) for r in rows]


def get_sales_invoice(store: Store, cid: str, id: str) -> Entity:
    with store.transaction():
        company = _company(store, cid)
        row = _invoice(store, _s(company, "id"), id)
        return _invoice_json(store, company, row, _invoice_entries(store, _s(company, "id")).get(_s(row, "id")))


def _invoice_line_json(row: sqlite3.Row) -> Entity:
    excl = _d(row, "amount_excl")
    tax = _d(row, "tax_amount")
    incl = _d(row, "amount_incl")
    return {
        "@odata.etag": etag(_s(row, "id"), _i(row, "version")),
        "id": _s(row, "id"),
        "documentId": _s(row, "invoice_id"),
        "sequence": _i(row, "sequence"),
        "itemId": EMPTY_GUID,
        "accountId": EMPTY_GUID,
        "lineType": _s(row, "line_type"),
        "lineObjectNumber": _s(row, "line_object_number"),
        "description": _s(row, "description"),
        "unitOfMeasureCode": "",
        "quantity": _num(_d(row, "quantity")),
        "unitPrice": _num(_d(row, "unit_price")),
        "discountAmount": Decimal(0),
        "discountPercent": Decimal(0),
        "amountExcludingTax": _num(excl),
        "taxCode": "",
        "taxPercent": _num(_d(row, "tax_percent")),
        "totalTaxAmount": _num(tax),
        "amountIncludingTax": _num(incl),
        "netAmount": _num(excl),
        "netTaxAmount": _num(tax),
        "netAmountIncludingTax": _num(incl),
        "shipmentDate": "0001-01-01",
    }


def list_sales_invoice_lines(store: Store, cid: str, invoice_id: str) -> list[Entity]:
    with store.transaction():
        company_id = _s(_company(store, cid), "id")
        invoice = _invoice(store, company_id, invoice_id)
        rows = store.query(
            "SELECT * FROM sales_invoice_lines WHERE invoice_id = ? ORDER BY sequence", (_s(invoice, "id"),)
        )
        return [_invoice_line_json(r) for r in rows]


_INVOICE_PROPS: dict[str, _Prop] = {
    "id": _Prop("guid", read_only=True),
    "number": _Prop("code", 20, read_only=True),
    "externalDocumentNumber": _Prop("code", 35),
    "invoiceDate": _Prop("date"),
    "postingDate": _Prop("date"),
    "dueDate": _Prop("date"),
    "customerPurchaseOrderReference": _Prop("text", 35),
    "customerId": _Prop("guid"),
    "customerNumber": _Prop("code", 20),
    "customerName": _Prop("text", 100, read_only=True),
    "billToName": _Prop("text", 100, read_only=True),
    "billToCustomerId": _Prop("guid"),
    "billToCustomerNumber": _Prop("code", 20),
    "currencyId": _Prop("guid"),
    "currencyCode": _Prop("code", 10),
    "pricesIncludeTax": _Prop("bool", read_only=True),
    "remainingAmount": _Prop("decimal", read_only=True),
    "salesInvoiceLines": _Prop("nav"),
    "discountAmount": _Prop("decimal", read_only=True),
    "discountAppliedBeforeTax": _Prop("bool", read_only=True),
    "totalAmountExcludingTax": _Prop("decimal", read_only=True),
    "totalTaxAmount": _Prop("decimal", read_only=True),
    "totalAmountIncludingTax": _Prop("decimal", read_only=True),
    "status": _Prop("text", read_only=True),
    "lastModifiedDateTime": _Prop("datetime", read_only=True),
}

_INVOICE_LINE_PROPS: dict[str, _Prop] = {
    "id": _Prop("guid", read_only=True),
    "documentId": _Prop("guid", read_only=True),
    "sequence": _Prop("int"),
    "lineType": _Prop("text"),
    "lineObjectNumber": _Prop("code", 20),
    "description": _Prop("text", 100),
    "quantity": _Prop("decimal"),
    "unitPrice": _Prop("decimal"),
    "taxPercent": _Prop("decimal", read_only=True),
    "amountExcludingTax": _Prop("decimal", read_only=True),
    "totalTaxAmount": _Prop("decimal", read_only=True),
    "amountIncludingTax": _Prop("decimal", read_only=True),
}

_LINE_TYPES = ("Comment", "Account", "Item", "Resource")


def next_series_number(store: Store, company_id: str, code: str, *, consume: bool) -> str:
    """The next number of a No. Series (``consume=False`` is BC's "peek"); '' without a series."""
    row = store.query_one("SELECT * FROM no_series WHERE company_id = ? AND code = ?", (company_id, code))
    if row is None:
        return ""
    last = _s(row, "last_no_used")
    number = incstr(last) if last else _s(row, "starting_no")
    if consume:
        store.execute(
            "UPDATE no_series SET last_no_used = ? WHERE company_id = ? AND code = ?", (number, company_id, code)
        )
    return number


def ensure_invoice_series(store: Store, company_id: str) -> None:
    """The draft and posted sales invoice number series (CRONUS numbering: 1001, 103001)."""
    for code, start in ((DRAFT_INVOICE_SERIES, "1001"), (POSTED_INVOICE_SERIES, "103001")):
        store.execute(
            "INSERT OR IGNORE INTO no_series (company_id, code, starting_no) VALUES (?, ?, ?)",
            (company_id, code, start),
        )


def create_sales_invoice(store: Store, cid: str, body: Mapping[str, Any]) -> Entity:
    """POST salesInvoices: a draft (status Draft) with its lines (deep insert of salesInvoiceLines).

    Tax is the company's VAT rate for invoices in local currency and 0 for foreign-currency
    invoices; the due date defaults to the invoice date plus the sandbox's payment terms.
    """
    with store.transaction():
        company = _company(store, cid)
        company_id = _s(company, "id")
        values = _read_body(body, _INVOICE_PROPS, "salesInvoice")
        sell: sqlite3.Row | None = None
        bill: sqlite3.Row | None = None
        currency: str | None = None
        currency_from_id: str | None = None
        fields: dict[str, str] = {}
        lines: list[Mapping[str, Any]] = []
        for name, value in _assigned(values, _INVOICE_PROPS):
            if name == "customerId":
                sell = _party_by_id(store, company_id, value, SELL_TO_NOT_FOUND)
            elif name == "customerNumber":
                sell = _party_by_number(store, company_id, value, sell, SELL_TO_NOT_FOUND, SELL_TO_VALUES_DONT_MATCH)
            elif name == "billToCustomerId":
                bill = _party_by_id(store, company_id, value, BILL_TO_NOT_FOUND)
            elif name == "billToCustomerNumber":
                bill = _party_by_number(store, company_id, value, bill, BILL_TO_NOT_FOUND, BILL_TO_VALUES_DONT_MATCH)
            elif name == "currencyId":
                if value == EMPTY_GUID:
                    currency_from_id = ""
                else:
                    row = store.query_one(
                        "SELECT code FROM currencies WHERE company_id = ? AND id = ?", (company_id, value)
                    )
                    if row is None:
                        raise dialog(CURRENCY_ID_NOT_FOUND)
                    currency_from_id = _s(row, "code")
                currency = currency_from_id
            elif name == "currencyCode":
                code = "" if value == _s(company, "lcy_code") else value
                if currency_from_id:
                    if currency_from_id != code:
                        raise dialog(CURRENCY_VALUES_DONT_MATCH)
                    continue
                if (
                    code
                    and store.query_one(
                        "SELECT 1 FROM currencies WHERE company_id = ? AND code = ?", (company_id, code)
                    )
                    is None
                ):
                    raise dialog(CURRENCY_CODE_NOT_FOUND)
                currency = code
            elif name == "salesInvoiceLines":
                lines = value
            else:
                fields[name] = value
        if sell is None:
            raise dialog(SELL_TO_NOT_PROVIDED)
        if bill is None:
            bill = sell
        if currency is None:
            currency = _s(bill, "currency_code")
        today = store.today()
        invoice_date = fields.get("invoiceDate") or today.isoformat()
        posting_date = fields.get("postingDate") or today.isoformat()
        due_date = (
            fields.get("dueDate") or (date.fromisoformat(invoice_date) + timedelta(PAYMENT_TERMS_DAYS)).isoformat()
        )
        invoice_id = new_id()
        now = store.now_text()
        ensure_invoice_series(store, company_id)
        number = next_series_number(store, company_id, DRAFT_INVOICE_SERIES, consume=True)
        store.execute(
            "INSERT INTO sales_invoices (id, company_id, number, posted, draft_status, sell_to_customer_number, "
            "bill_to_customer_number, currency_code, external_document_number, your_reference, invoice_date, "
            "posting_date, due_date, created_at, modified_at) "
            "VALUES (?, ?, ?, 0, 'Open', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                invoice_id,
                company_id,
                number,
                _s(sell, "number"),
                _s(bill, "number"),
                currency,
                fields.get("externalDocumentNumber", ""),
                fields.get("customerPurchaseOrderReference", ""),
                invoice_date,
                posting_date,
                due_date,
                now,
                now,
            ),
        )
        tax_percent = Decimal(_s(company, "vat_percent")) if not currency else Decimal(0)
        for line_body in lines:
            _insert_invoice_line(store, invoice_id, line_body, tax_percent, now)
        _update_invoice_totals(store, invoice_id)
        row = _invoice(store, company_id, invoice_id)
        return _invoice_json(store, company, row, None)


def _insert_invoice_line(
    store: Store, invoice_id: str, body: Mapping[str, Any], tax_percent: Decimal, now: str
) -> None:
    values = _read_body(body, _INVOICE_LINE_PROPS, "salesInvoiceLine")
    fields = dict(_assigned(values, _INVOICE_LINE_PROPS))
    line_type = str(fields.get("lineType") or "Item")
    if line_type not in _LINE_TYPES:
        raise _conversion_error(line_type, "text")
    sequence = int(fields.get("sequence") or 0)
    if sequence == 0:
        last = store.query_one("SELECT MAX(sequence) AS m FROM sales_invoice_lines WHERE invoice_id = ?", (invoice_id,))
        sequence = (int(last["m"]) if last is not None and last["m"] is not None else 0) + 10000
    elif store.query_one(
        "SELECT 1 FROM sales_invoice_lines WHERE invoice_id = ? AND sequence = ?", (invoice_id, sequence)
    ):
        raise _duplicate("Sales Line", [("Document Type", "Invoice"), ("Line No.", sequence)])
    quantity = Decimal(fields.get("quantity", Decimal(0)))
    unit_price = Decimal(fields.get("unitPrice", Decimal(0)))
    if line_type == "Comment":
        quantity = unit_price = Decimal(0)
        percent = Decimal(0)
    else:
        percent = tax_percent
    excl = _round(quantity * unit_price)
    tax = _round(excl * percent / 100)
    store.execute(
        "INSERT INTO sales_invoice_lines (id, invoice_id, sequence, line_type, line_object_number, description, "
        "quantity, unit_price, tax_percent, amount_excl, tax_amount, amount_incl, modified_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            new_id(),
            invoice_id,
            sequence,
            line_type,
            str(fields.get("lineObjectNumber", "")),
            str(fields.get("description", "")),
            money(quantity),
            money(unit_price),
            money(percent),
            money(excl),
            money(tax),
            money(excl + tax),
            now,
        ),
    )


def _update_invoice_totals(store: Store, invoice_id: str) -> None:
    excl = tax = Decimal(0)
    for row in store.query(
        "SELECT amount_excl, tax_amount FROM sales_invoice_lines WHERE invoice_id = ?", (invoice_id,)
    ):
        excl += _d(row, "amount_excl")
        tax += _d(row, "tax_amount")
    store.execute(
        "UPDATE sales_invoices SET total_excl = ?, total_tax = ?, total_incl = ? WHERE id = ?",
        (money(excl), money(tax), money(excl + tax), invoice_id),
    )


def post_invoice_entry(store: Store, company_id: str, invoice: sqlite3.Row, description: str) -> None:
    """The customer ledger entry a posted invoice creates (shared with the seeding code)."""
    rates = _rates(store, company_id)
    total = _d(invoice, "total_incl")
    currency = _s(invoice, "currency_code")
    total_lcy = _lcy(total, currency, rates)
    store.execute(
        "INSERT INTO cust_ledger_entries (company_id, customer_number, document_type, document_number, "
        "external_document_number, description, posting_date, due_date, currency_code, amount, amount_lcy, "
        "remaining_amount, remaining_amount_lcy, open, invoice_id, created_at) "
        "VALUES (?, ?, 'Invoice', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            company_id,
            _s(invoice, "bill_to_customer_number"),
            _s(invoice, "number"),
            _s(invoice, "external_document_number"),
            description,
            _s(invoice, "posting_date"),
            _s(invoice, "due_date"),
            currency,
            money(total),
            money(total_lcy),
            money(total),
            money(total_lcy),
            1 if total != 0 else 0,
            _s(invoice, "id"),
            store.now_text(),
        ),
    )


def post_sales_invoice(store: Store, cid: str, id: str) -> None:
    """``salesInvoices({id})/Microsoft.NAV.post``: the draft becomes a posted, open invoice.

    The id stays the same (BC keeps the draft's id on the posted invoice); the number becomes the
    next posted-invoice number; the customer ledger gets the invoice, so ``remainingAmount`` equals
    the total. Answer 204.
    """
    with store.transaction():
        company_id = _s(_company(store, cid), "id")
        row = _invoice(store, company_id, id)
        if _i(row, "posted"):
            raise dialog(DRAFT_INVOICE_ONLY)
        has_lines = store.query_one(
            "SELECT 1 FROM sales_invoice_lines WHERE invoice_id = ? AND line_type <> 'Comment'", (_s(row, "id"),)
        )
        if has_lines is None:
            raise dialog(NO_INVOICE_LINES)
        for number in (_s(row, "sell_to_customer_number"), _s(row, "bill_to_customer_number")):
            customer = _customer_by_number(store, company_id, number)
            if customer is not None and _s(customer, "blocked") in ("Invoice", "All"):
                raise dialog(CUSTOMER_BLOCKED.format(action="post", number=number, blocked=_s(customer, "blocked")))
        ensure_invoice_series(store, company_id)
        posted_number = next_series_number(store, company_id, POSTED_INVOICE_SERIES, consume=True)
        posting_date = _s(row, "posting_date") or store.today().isoformat()
        now = store.now_text()
        store.execute(
            "UPDATE sales_invoices SET posted = 1, number = ?, posting_date = ?, modified_at = ?, "
            "version = version + 1 WHERE id = ?",
            (posted_number, posting_date, now, _s(row, "id")),
        )
        posted = _invoice(store, company_id, _s(row, "id"))
        post_invoice_entry(store, company_id, posted, f"Invoice {posted_number}")


# --- customer payment journals ---------------------------------------------------------------------


def default_template(store: Store, company_id: str) -> str:
    """The customer payments template: the first cash-receipts template, not recurring (CASHRCPT)."""
    row = store.query_one(
        "SELECT name FROM journal_templates WHERE company_id = ? AND type = 'Cash Receipts' AND recurring = 0 "
        "AND page_id = ? ORDER BY name LIMIT 1",
        (company_id, CASH_RECEIPT_JOURNAL_PAGE),
    )
    if row is None:
        raise SandboxApiError(
            400, "Internal_DataNotFoundFilter", "There is no Gen. Journal Template within the filter."
        )
    return _s(row, "name")


def _journal_json(row: sqlite3.Row) -> Entity:
    return {
        "@odata.etag": etag(_s(row, "id"), _i(row, "version")),
        "id": _s(row, "id"),
        "code": _s(row, "code"),
        "displayName": _s(row, "display_name"),
        "lastModifiedDateTime": _s(row, "modified_at"),
        "balancingAccountId": _s(row, "bal_account_id"),
        "balancingAccountNumber": _s(row, "bal_account_number"),
    }


def _journal(store: Store, company_id: str, jid: str) -> sqlite3.Row:
    """A customer payment journal addressed in the URL: only batches of the payments template."""
    key = _guid(jid)
    row = (
        store.query_one(
            "SELECT * FROM journals WHERE company_id = ? AND id = ? AND template_name = ?",
            (company_id, key, default_template(store, company_id)),
        )
        if key
        else None
    )
    if row is None:
        raise not_found("Gen. Journal Batch")
    return row


_JOURNAL_PROPS: dict[str, _Prop] = {
    "id": _Prop("guid", read_only=True),
    "code": _Prop("code", 10),
    "displayName": _Prop("text", 100),
    "lastModifiedDateTime": _Prop("datetime", read_only=True),
    "balancingAccountId": _Prop("guid"),
    "balancingAccountNumber": _Prop("code", 20, read_only=True),
    "customerPayments": _Prop("nav"),
}


def _balancing_account(store: Store, company_id: str, account_id: str) -> tuple[str, str]:
    """``balancingAccountId`` validation: a direct-posting, unblocked posting G/L account."""
    if account_id == EMPTY_GUID:
        return EMPTY_GUID, ""
    row = store.query_one("SELECT * FROM gl_accounts WHERE company_id = ? AND id = ?", (company_id, account_id))
    if row is None:
        raise dialog(BALANCING_ACCOUNT_NOT_FOUND)
    number = _s(row, "number")
    where = f"in G/L Account: No.={number}."
    if _s(row, "account_type") != "Posting":
        raise _field_validation(
            f"Account Type must be equal to 'Posting'  {where} Current value is '{_s(row, 'account_type')}'."
        )
    if _i(row, "blocked"):
        raise _field_validation(f"Blocked must be equal to 'No'  {where} Current value is 'Yes'.")
    if not _i(row, "direct_posting"):
        raise _field_validation(f"Direct Posting must be equal to 'Yes'  {where} Current value is 'No'.")
    return _s(row, "id"), number


def _code_must_have_value(template: str) -> SandboxApiError:
    return _field_validation(
        f"Name must have a value in Gen. Journal Batch: Journal Template Name={template}, Name=. "
        "It cannot be zero or empty."
    )


def list_journals(store: Store, cid: str) -> list[Entity]:
    with store.transaction():
        company_id = _s(_company(store, cid), "id")
        rows = store.query(
            "SELECT * FROM journals WHERE company_id = ? AND template_name = ? ORDER BY code",
            (company_id, default_template(store, company_id)),
        )
        return [_journal_json(r) for r in rows]


def get_journal(store: Store, cid: str, jid: str) -> Entity:
    with store.transaction():
        company_id = _s(_company(store, cid), "id")
        return _journal_json(_journal(store, company_id, jid))


@dataclass
class _JournalFields:
    """The writable properties of a batch, as they stand or as a body changes them."""

    code: str
    display: str
    bal_id: str
    bal_no: str
    payments: list[Mapping[str, Any]] = field(default_factory=list)


def _journal_fields(
    store: Store, company_id: str, values: Mapping[str, Any], start: _JournalFields, *, deep_insert: bool
) -> _JournalFields:
    """Apply a POST or PATCH body in page order; only a POST may carry lines (deep insert)."""
    out = replace(start)
    for name, value in _assigned(values, _JOURNAL_PROPS):
        if name == "code":
            out.code = value
        elif name == "displayName":
            out.display = value
        elif name == "balancingAccountId":
            out.bal_id, out.bal_no = _balancing_account(store, company_id, value)
        elif name == "customerPayments":
            if not deep_insert:
                raise SandboxApiError(
                    400, "BadRequest", "Deep update is not supported; PATCH the customerPayments themselves."
                )
            out.payments = value
    return out


def _refuse_taken_code(store: Store, company_id: str, template: str, code: str) -> None:
    """A batch code is part of the primary key (template, name)."""
    if store.query_one(
        "SELECT 1 FROM journals WHERE company_id = ? AND template_name = ? AND code = ?",
        (company_id, template, code),
    ):
        raise _duplicate("Gen. Journal Batch", [("Journal Template Name", template), ("Name", code)])


def create_journal(store: Store, cid: str, body: Mapping[str, Any]) -> Entity:
    """POST customerPaymentJournals: a batch in the payments template, with no number series.

    Batches created through the API get no No. Series (the page does not run
    ``SetupNewBatch``), so their lines get blank document numbers unless the client sends them.
    ``code`` is required; a duplicate code is a duplicate key. A ``customerPayments`` array is
    deep-inserted into the new batch.
    """
    with store.transaction():
        company_id = _s(_company(store, cid), "id")
        template = default_template(store, company_id)
        values = _read_body(body, _JOURNAL_PROPS, "customerPaymentJournal")
        fields = _journal_fields(store, company_id, values, _JournalFields("", "", EMPTY_GUID, ""), deep_insert=True)
        code, display, bal_id, bal_no, payments = (
            fields.code,
            fields.display,
            fields.bal_id,
            fields.bal_no,
            fields.payments,
        )
        if not code:
            raise _code_must_have_value(template)
        _refuse_taken_code(store, company_id, template, code)
        journal_id = new_id()
        now = store.now_text()
        store.execute(
            "INSERT INTO journals (id, company_id, template_name, code, display_name, bal_account_id, "
            "bal_account_number, created_at, modified_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (journal_id, company_id, template, code, display, bal_id, bal_no, now, now),
        )
        for payment in payments:
            create_payment(store, company_id, journal_id, payment)
        return _journal_json(_journal(store, company_id, journal_id))


def patch_journal(store: Store, cid: str, jid: str, body: Mapping[str, Any], if_match: str | None) -> Entity:
    """PATCH a batch; a new ``code`` renames it (its lines follow, as BC's rename does)."""
    with store.transaction():
        company_id = _s(_company(store, cid), "id")
        row = _journal(store, company_id, jid)
        check_if_match(if_match, _s(row, "id"), _i(row, "version"))
        template = _s(row, "template_name")
        values = _read_body(body, _JOURNAL_PROPS, "customerPaymentJournal")
        current = _JournalFields(
            _s(row, "code"), _s(row, "display_name"), _s(row, "bal_account_id"), _s(row, "bal_account_number")
        )
        fields = _journal_fields(store, company_id, values, current, deep_insert=False)
        code, display, bal_id, bal_no = fields.code, fields.display, fields.bal_id, fields.bal_no
        if not code:
            raise _code_must_have_value(template)
        if code != current.code:
            _refuse_taken_code(store, company_id, template, code)
        store.execute(
            "UPDATE journals SET code = ?, display_name = ?, bal_account_id = ?, bal_account_number = ?, "
            "modified_at = ?, version = version + 1 WHERE id = ?",
            (code, display, bal_id, bal_no, store.now_text(), _s(row, "id")),
        )
        return _journal_json(_journal(store, company_id, _s(row, "id")))


def delete_journal(store: Store, cid: str, jid: str, if_match: str | None) -> None:
    """DELETE a batch and, as the batch's OnDelete trigger does, all of its lines. Answer 204."""
    with store.transaction():
        company_id = _s(_company(store, cid), "id")
        row = _journal(store, company_id, jid)
        check_if_match(if_match, _s(row, "id"), _i(row, "version"))
        store.execute("DELETE FROM journal_lines WHERE journal_id = ?", (_s(row, "id"),))
        store.execute("DELETE FROM journals WHERE id = ?", (_s(row, "id"),))


# --- customer payments ------------------------------------------------------------------------------


@dataclass
class _Line:
    """A Gen. Journal Line as the payment rules see it (``account_no`` is "Account No.")."""

    id: str
    journal_id: str
    line_number: int
    document_type: str = "Payment"
    account_type: str = "Customer"
    applies_to_doc_type: str = "Invoice"
    customer_id: str = EMPTY_GUID
    account_no: str = ""
    currency_code: str = ""
    posting_date: str = ""
    document_number: str = ""
    external_document_number: str = ""
    amount: Decimal = field(default_factory=Decimal)
    applies_to_invoice_id: str = EMPTY_GUID
    applies_to_invoice_number: str = ""
    description: str = ""
    comment: str = ""
    bal_account_number: str = ""
    modified_at: str = ""
    version: int = 1

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> _Line:
        return cls(
            id=_s(row, "id"),
            journal_id=_s(row, "journal_id"),
            line_number=_i(row, "line_number"),
            document_type=_s(row, "document_type"),
            account_type=_s(row, "account_type"),
            applies_to_doc_type=_s(row, "applies_to_doc_type"),
            customer_id=_s(row, "customer_id"),
            account_no=_s(row, "customer_number"),
            currency_code=_s(row, "currency_code"),
            posting_date=_s(row, "posting_date"),
            document_number=_s(row, "document_number"),
            external_document_number=_s(row, "external_document_number"),
            amount=_d(row, "amount"),
            applies_to_invoice_id=_s(row, "applies_to_invoice_id"),
            applies_to_invoice_number=_s(row, "applies_to_invoice_number"),
            description=_s(row, "description"),
            comment=_s(row, "comment"),
            bal_account_number=_s(row, "bal_account_number"),
            modified_at=_s(row, "modified_at"),
            version=_i(row, "version"),
        )

    def empty(self) -> bool:
        """BC's ``EmptyLine()``: no account and no amount."""
        return self.account_no == "" and self.amount == 0

    def balance_lcy(self, rates: Mapping[str, Decimal]) -> Decimal:
        """``Balance (LCY)``: 0 when the line has both an account and a balancing account."""
        amount_lcy = _lcy(self.amount, self.currency_code, rates)
        if self.account_no and self.bal_account_number:
            return Decimal(0)
        if self.bal_account_number:
            return -amount_lcy
        return amount_lcy


def _payment_json(line: _Line, journal_code: str) -> Entity:
    return {
        "@odata.etag": etag(line.id, line.version),
        "id": line.id,
        "journalId": line.journal_id,
        "journalDisplayName": journal_code,
        "lineNumber": line.line_number,
        "customerId": line.customer_id,
        "customerNumber": line.account_no,
        "postingDate": _date_json(line.posting_date),
        "documentNumber": line.document_number,
        "externalDocumentNumber": line.external_document_number,
        "amount": _num(line.amount),
        "appliesToInvoiceId": line.applies_to_invoice_id,
        "appliesToInvoiceNumber": line.applies_to_invoice_number,
        "description": line.description,
        "comment": line.comment,
        "lastModifiedDateTime": line.modified_at,
    }


_PAYMENT_PROPS: dict[str, _Prop] = {
    "id": _Prop("guid", read_only=True),
    "journalId": _Prop("guid"),
    "journalDisplayName": _Prop("code", 10),
    "lineNumber": _Prop("int"),
    "customerId": _Prop("guid"),
    "customerNumber": _Prop("code", 20),
    "postingDate": _Prop("date"),
    "documentNumber": _Prop("code", 20),
    "externalDocumentNumber": _Prop("code", 35),
    "amount": _Prop("decimal"),
    "appliesToInvoiceId": _Prop("guid"),
    "appliesToInvoiceNumber": _Prop("code", 20),
    "description": _Prop("text", 100),
    "comment": _Prop("text", 250),
    "lastModifiedDateTime": _Prop("datetime", read_only=True),
    "dimensionSetLines": _Prop("nav"),
}

_PAYMENT_FILTER = "document_type = 'Payment' AND account_type = 'Customer' AND applies_to_doc_type = 'Invoice'"


def _lines_of(store: Store, journal_id: str) -> list[_Line]:
    """Every line of a batch (all types), in Line No. order."""
    rows = store.query("SELECT * FROM journal_lines WHERE journal_id = ? ORDER BY line_number", (journal_id,))
    return [_Line.from_row(r) for r in rows]


def _journal_by_id_any_template(store: Store, company_id: str, journal_id: str) -> sqlite3.Row | None:
    return store.query_one("SELECT * FROM journals WHERE company_id = ? AND id = ?", (company_id, journal_id))


def _journal_code(store: Store, journal_id: str) -> str:
    row = store.query_one("SELECT code FROM journals WHERE id = ?", (journal_id,))
    return _s(row, "code") if row else ""


@dataclass
class _Page:
    """The page's state while the body's fields are validated: ``Rec`` plus the page globals.

    ``customer`` and ``invoice`` are the page's global records that the id triggers fill and
    the number triggers compare against (the source of the "values do not match" errors).
    """

    store: Store
    company_id: str
    rec: _Line
    invoice_number_text: str
    invoice_id_text: str
    x_account_name: str
    customer: sqlite3.Row | None = None
    invoice: sqlite3.Row | None = None


def _posted_invoice_by_id(page: _Page, invoice_id: str) -> sqlite3.Row | None:
    return page.store.query_one(
        "SELECT * FROM sales_invoices WHERE company_id = ? AND posted = 1 AND id = ?", (page.company_id, invoice_id)
    )


def _posted_invoice_by_number(page: _Page, number: str) -> sqlite3.Row | None:
    return page.store.query_one(
        "SELECT * FROM sales_invoices WHERE company_id = ? AND posted = 1 AND number = ?", (page.company_id, number)
    )


def _invoice_payer(invoice: sqlite3.Row) -> str:
    """Who pays an invoice: its Bill-to customer, else its Sell-to customer."""
    return _s(invoice, "bill_to_customer_number") or _s(invoice, "sell_to_customer_number")


def _check_blocked(customer: sqlite3.Row, document_type: str, action: str) -> None:
    """``CheckBlockedCustOnJnls``: All always blocks; Invoice blocks blank and Invoice documents."""
    blocked = _s(customer, "blocked")
    if blocked == "All" or (blocked == "Invoice" and document_type in ("", "Invoice")):
        raise dialog(CUSTOMER_BLOCKED.format(action=action, number=_s(customer, "number"), blocked=blocked))


def _validate_account(rec: _Line, customer: sqlite3.Row, x_account_name: str) -> None:
    """The table's "Account No." OnValidate for a customer: blocked check, name, currency, id.

    The description follows the customer unless it was typed by hand (BC's
    ``IsAdHocDescription``: non-empty and not the previous account's name).
    """
    _check_blocked(customer, rec.document_type, "create")
    ad_hoc = rec.description != "" and (x_account_name == "" or rec.description != x_account_name)
    if not ad_hoc:
        rec.description = _s(customer, "name")
    rec.currency_code = _s(customer, "currency_code")
    rec.customer_id = _s(customer, "id")


def _payment_field(page: _Page, name: str, value: Any, xrec: _Line | None, x_journal_code: str) -> None:
    """One control of page 30055 assigned and validated (table trigger, then page trigger)."""
    rec = page.rec
    if name == "journalId":
        if xrec is not None and xrec.journal_id != EMPTY_GUID and xrec.journal_id != value:
            raise dialog(CANNOT_EDIT_JOURNAL_ID)
        rec.journal_id = value
    elif name == "journalDisplayName":
        if xrec is not None and x_journal_code != "" and x_journal_code != value:
            raise dialog(CANNOT_EDIT_BATCH_NAME)
    elif name == "lineNumber":
        rec.line_number = value
    elif name == "customerId":
        rec.customer_id = value
        if value == EMPTY_GUID:
            rec.account_no = ""
            return
        customer = _customer_by_id(page.store, page.company_id, value)
        if customer is None:
            raise dialog(CUSTOMER_ID_NOT_FOUND)
        page.customer = customer
        rec.account_no = _s(customer, "number")
        _validate_account(rec, customer, page.x_account_name)
    elif name == "customerNumber":
        if page.customer is not None:
            if _s(page.customer, "number") != value:
                raise dialog(CUSTOMER_VALUES_DONT_MATCH)
            return
        rec.account_no = value
        if value == "":
            rec.customer_id = EMPTY_GUID
            return
        customer = _customer_by_number(page.store, page.company_id, value)
        if customer is None:
            raise dialog(CUSTOMER_NUMBER_NOT_FOUND)
        _validate_account(rec, customer, page.x_account_name)
    elif name == "postingDate":
        rec.posting_date = value
    elif name == "documentNumber":
        rec.document_number = value
    elif name == "externalDocumentNumber":
        rec.external_document_number = value
    elif name == "amount":
        rec.amount = _round(value)
    elif name == "appliesToInvoiceId":
        page.invoice_id_text = value
        rec.applies_to_invoice_id = value
        if value == EMPTY_GUID:
            page.invoice_number_text = ""
            return
        invoice = _posted_invoice_by_id(page, value)
        if invoice is None:
            raise dialog(APPLIES_TO_INVOICE_ID_NOT_FOUND)
        page.invoice = invoice
        page.invoice_number_text = _s(invoice, "number")
        if rec.account_no == "":
            rec.account_no = _invoice_payer(invoice)
    elif name == "appliesToInvoiceNumber":
        page.invoice_number_text = value
        rec.applies_to_invoice_number = value
        if page.invoice is not None:
            if _s(page.invoice, "number") != value:
                raise dialog(APPLIES_TO_VALUES_DONT_MATCH)
            return
        invoice = _posted_invoice_by_number(page, value) if value else None
        if invoice is None:
            page.invoice_id_text = EMPTY_GUID
            return
        page.invoice_id_text = _s(invoice, "id")
        if rec.account_no == "":
            rec.account_no = _invoice_payer(invoice)
    elif name == "description":
        rec.description = value
    elif name == "comment":
        rec.comment = value
    elif name == "dimensionSetLines" and value:
        raise SandboxApiError(
            501, "BadRequest_MethodNotImplemented", "The sandbox does not implement dimensionSetLines."
        )


def _process_applies_to(page: _Page) -> None:
    """The page's ``ProcessAppliesToInvoiceNumberAndId`` before insert and modify."""
    if page.invoice_number_text != "":
        page.rec.applies_to_invoice_number = page.invoice_number_text
    page.rec.applies_to_invoice_id = page.invoice_id_text


def _balance_cents(store: Store, company_id: str, line: _Line) -> int:
    """The line's ``Balance (LCY)`` in cents; BC stores it on the line, and so does the sandbox,
    so that the batch balance the insert algorithm needs is one indexed SUM."""
    return int(line.balance_lcy(_rates(store, company_id)) * 100)


def _insert_line(store: Store, company_id: str, line: _Line, now: str) -> None:
    store.execute(
        "INSERT INTO journal_lines (id, company_id, journal_id, line_number, document_type, account_type, "
        "applies_to_doc_type, customer_id, customer_number, currency_code, posting_date, document_number, "
        "external_document_number, amount, applies_to_invoice_id, applies_to_invoice_number, description, "
        "comment, bal_account_number, balance_cents, created_at, modified_at, version) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            line.id,
            company_id,
            line.journal_id,
            line.line_number,
            line.document_type,
            line.account_type,
            line.applies_to_doc_type,
            line.customer_id,
            line.account_no,
            line.currency_code,
            line.posting_date,
            line.document_number,
            line.external_document_number,
            money(line.amount),
            line.applies_to_invoice_id,
            line.applies_to_invoice_number,
            line.description,
            line.comment,
            line.bal_account_number,
            _balance_cents(store, company_id, line),
            now,
            now,
            line.version,
        ),
    )


def _line_duplicate(template: str, batch: str, line_number: int) -> SandboxApiError:
    return _duplicate(
        "Gen. Journal Line",
        [("Journal Template Name", template), ("Journal Batch Name", batch), ("Line No.", line_number)],
    )


def _batch_balance_cents(store: Store, journal_id: str) -> int:
    """The batch's running balance (sum of the lines' ``Balance (LCY)``), in cents."""
    row = store.query_one("SELECT cents AS total FROM journal_balances WHERE journal_id = ?", (journal_id,))
    return int(row["total"]) if row is not None else 0


def _new_line(store: Store, company_id: str, journal: sqlite3.Row, temp: _Line) -> _Line:
    """``OnInsertRecord`` after ``Clear(Rec)``: BC's InitializeLine, SetUpNewLine, SetPaymentsValues."""
    journal_id = _s(journal, "id")
    last_row = store.query_one(
        "SELECT * FROM journal_lines WHERE journal_id = ? ORDER BY line_number DESC LIMIT 1", (journal_id,)
    )
    last = _Line.from_row(last_row) if last_row is not None else None
    requested = temp.line_number
    copy: _Line | None = None
    bottom = True
    if requested != 0:
        next_row = store.query_one(
            "SELECT * FROM journal_lines WHERE journal_id = ? AND line_number > ? ORDER BY line_number LIMIT 1",
            (journal_id, requested),
        )
        if next_row is not None:
            copy, bottom = _Line.from_row(next_row), False
    if copy is None:
        copy = last
    rec = _Line(id=new_id(), journal_id=journal_id, line_number=requested, document_type="")
    series = _s(journal, "no_series")
    if copy is not None:
        rec.posting_date = copy.posting_date
        rec.document_number = copy.document_number
        if bottom and not copy.empty() and _batch_balance_cents(store, journal_id) == 0:
            rec.document_number = incstr(rec.document_number)
        rec.document_type = copy.document_type
    else:
        rec.posting_date = store.today().isoformat()
        rec.document_number = next_series_number(store, company_id, series, consume=False) if series else ""
    if requested == 0:
        rec.line_number = (last.line_number if last is not None else 0) + 10000
    rec.external_document_number = temp.external_document_number
    if temp.document_number:
        rec.document_number = temp.document_number
    elif (
        copy is not None
        and copy.document_number == rec.document_number
        and (copy.external_document_number != rec.external_document_number)
    ):
        rec.document_number = incstr(rec.document_number)
    document_number = temp.document_number or rec.document_number
    # SetPaymentsValues, in its order.
    if temp.account_no:
        customer = _customer_by_number(store, company_id, temp.account_no)
        if customer is None:
            raise _record_not_found("Customer", [("No.", temp.account_no)])
        rec.account_no = temp.account_no
        _validate_account(rec, customer, "")
    if temp.posting_date:
        rec.posting_date = temp.posting_date
    rec.document_type = "Payment"
    rec.document_number = document_number
    rec.amount = _round(temp.amount)
    rec.applies_to_doc_type = "Invoice"
    rec.applies_to_invoice_number = temp.applies_to_invoice_number
    if temp.applies_to_invoice_id != EMPTY_GUID:
        invoice = store.query_one(
            "SELECT number FROM sales_invoices WHERE company_id = ? AND posted = 1 AND id = ?",
            (company_id, temp.applies_to_invoice_id),
        )
        if invoice is None:
            raise dialog(APPLIES_TO_INVOICE_ID_NOT_FOUND)
        rec.applies_to_invoice_id = temp.applies_to_invoice_id
        rec.applies_to_invoice_number = _s(invoice, "number")
    if temp.description:
        rec.description = temp.description
    rec.comment = temp.comment
    rec.bal_account_number = _s(journal, "bal_account_number")
    return rec


def create_payment(store: Store, cid: str, jid: str | None, body: Mapping[str, Any]) -> Entity:
    """POST customerPayments, in a journal (``jid``) or at top level (``jid=None``, the body must
    carry ``journalId``): BC's insert algorithm (bc-api.md 1.3). Answer 201 with the entity.

    The field triggers run first, in page order (customer and invoice checks), then the record
    is rebuilt: line number max+10000 over all lines of the batch, posting date and document
    number from the copy-from line (incremented when the batch balances), customer validated
    again with the copy-from line's document type (so Blocked=Invoice is refused only on the
    first line of an empty batch), description defaulting to the customer's name, ``amount``
    stored as sent. A line number in use is a duplicate key.
    """
    with store.transaction():
        company_id = _s(_company(store, cid), "id")
        url_journal = _journal(store, company_id, jid) if jid is not None else None
        values = _read_body(body, _PAYMENT_PROPS, "customerPayment")
        rec = _Line(id="", journal_id=_s(url_journal, "id") if url_journal is not None else EMPTY_GUID, line_number=0)
        page = _Page(store, company_id, rec, "", EMPTY_GUID, "")
        for name, value in _assigned(values, _PAYMENT_PROPS):
            _payment_field(page, name, value, None, "")
        body_journal = values.get("journalId", EMPTY_GUID)
        if url_journal is not None:
            journal_id = _s(url_journal, "id")
            if body_journal != EMPTY_GUID and body_journal != journal_id:
                raise dialog(JOURNAL_ID_NAME_MISMATCH)
        elif body_journal == EMPTY_GUID:
            raise dialog(FILTERS_NOT_SPECIFIED)
        else:
            journal_id = body_journal
        _process_applies_to(page)
        temp = replace(rec)
        by_id = _journal_by_id_any_template(store, company_id, journal_id)
        if by_id is None:
            raise _record_not_found("Gen. Journal Batch", [("SystemId", _al_guid(journal_id))])
        template = default_template(store, company_id)
        journal = store.query_one(
            "SELECT * FROM journals WHERE company_id = ? AND template_name = ? AND code = ?",
            (company_id, template, _s(by_id, "code")),
        )
        if journal is None:
            raise _record_not_found(
                "Gen. Journal Batch", [("Journal Template Name", template), ("Name", _s(by_id, "code"))]
            )
        line = _new_line(store, company_id, journal, temp)
        if store.query_one(
            "SELECT 1 FROM journal_lines WHERE journal_id = ? AND line_number = ?", (line.journal_id, line.line_number)
        ):
            raise _line_duplicate(template, _s(journal, "code"), line.line_number)
        now = store.now_text()
        line.modified_at = now
        _insert_line(store, company_id, line, now)
        return _payment_json(line, _s(journal, "code"))


def _payment_line(store: Store, company_id: str, id: str, jid: str | None) -> _Line:
    """A payment line by id; with a journal in the URL it must belong to that journal."""
    key = _guid(id)
    row = (
        store.query_one(
            f"SELECT * FROM journal_lines WHERE company_id = ? AND id = ? AND {_PAYMENT_FILTER}", (company_id, key)
        )
        if key
        else None
    )
    if jid is not None:
        journal = _journal(store, company_id, jid)
        if row is not None and _s(row, "journal_id") != _s(journal, "id"):
            row = None
    if row is None:
        raise not_found("Gen. Journal Line")
    return _Line.from_row(row)


def list_payments(store: Store, cid: str, jid: str) -> list[Entity]:
    """``customerPaymentJournals({jid})/customerPayments``: this batch's payment lines, by lineNumber."""
    with store.transaction():
        company_id = _s(_company(store, cid), "id")
        journal = _journal(store, company_id, jid)
        rows = store.query(
            f"SELECT * FROM journal_lines WHERE journal_id = ? AND {_PAYMENT_FILTER} ORDER BY line_number",
            (_s(journal, "id"),),
        )
        return [_payment_json(_Line.from_row(r), _s(journal, "code")) for r in rows]


def list_payments_top_level(store: Store, cid: str, journal_filter: str | Sequence[str] | None) -> list[Entity]:
    """Top-level ``customerPayments``: BC refuses to list without a journal filter.

    ``journal_filter`` is the id (or ids) from ``$filter=journalId eq ...``. A filter on ``id``
    is a single-entity read: route it to ``get_payment``. An id that matches no batch yields an
    empty list, as a filter does.
    """
    wanted = [journal_filter] if isinstance(journal_filter, str) else list(journal_filter or [])
    if not any(wanted):
        raise dialog(FILTERS_NOT_SPECIFIED)
    with store.transaction():
        company_id = _s(_company(store, cid), "id")
        template = default_template(store, company_id)
        out: list[Entity] = []
        keys = sorted({key for key in (_guid(j) for j in wanted) if key})
        journals = [
            j
            for j in (_journal_by_id_any_template(store, company_id, key) for key in keys)
            if j is not None and _s(j, "template_name") == template
        ]
        for journal in sorted(journals, key=lambda j: _s(j, "code")):
            rows = store.query(
                f"SELECT * FROM journal_lines WHERE journal_id = ? AND {_PAYMENT_FILTER} ORDER BY line_number",
                (_s(journal, "id"),),
            )
            out.extend(_payment_json(_Line.from_row(r), _s(journal, "code")) for r in rows)
        return out


def get_payment(store: Store, cid: str, id: str, jid: str | None = None) -> Entity:
    with store.transaction():
        company_id = _s(_company(store, cid), "id")
        line = _payment_line(store, company_id, id, jid)
        return _payment_json(line, _journal_code(store, line.journal_id))


def patch_payment(
    store: Store, cid: str, id: str, body: Mapping[str, Any], if_match: str | None, jid: str | None = None
) -> Entity:
    """PATCH a payment: the same field triggers as on insert, then Modify (or Rename when
    ``lineNumber`` changes; a number in use is a duplicate key). ``journalId`` and
    ``journalDisplayName`` cannot change. Answer 200 with the entity (new ETag)."""
    with store.transaction():
        company_id = _s(_company(store, cid), "id")
        xrec = _payment_line(store, company_id, id, jid)
        check_if_match(if_match, xrec.id, xrec.version)
        values = _read_body(body, _PAYMENT_PROPS, "customerPayment")
        journal = store.query_one("SELECT * FROM journals WHERE id = ?", (xrec.journal_id,))
        if journal is None:
            raise not_found("Gen. Journal Batch")
        journal_code = _s(journal, "code")
        x_customer = _customer_by_number(store, company_id, xrec.account_no) if xrec.account_no else None
        rec = replace(xrec)
        page = _Page(
            store,
            company_id,
            rec,
            xrec.applies_to_invoice_number,
            xrec.applies_to_invoice_id,
            _s(x_customer, "name") if x_customer is not None else "",
        )
        for name, value in _assigned(values, _PAYMENT_PROPS):
            _payment_field(page, name, value, xrec, journal_code)
        _process_applies_to(page)
        if rec.account_no != xrec.account_no:
            customer = _customer_by_number(store, company_id, rec.account_no) if rec.account_no else None
            rec.customer_id = _s(customer, "id") if customer is not None else EMPTY_GUID
            if customer is not None:
                rec.currency_code = _s(customer, "currency_code")
        if rec.line_number != xrec.line_number and store.query_one(
            "SELECT 1 FROM journal_lines WHERE journal_id = ? AND line_number = ?", (rec.journal_id, rec.line_number)
        ):
            raise _line_duplicate(_s(journal, "template_name"), _s(journal, "code"), rec.line_number)
        rec.version = xrec.version + 1
        rec.modified_at = store.now_text()
        store.execute(
            "UPDATE journal_lines SET line_number = ?, customer_id = ?, customer_number = ?, currency_code = ?, "
            "posting_date = ?, document_number = ?, external_document_number = ?, amount = ?, "
            "applies_to_invoice_id = ?, applies_to_invoice_number = ?, description = ?, comment = ?, "
            "balance_cents = ?, modified_at = ?, version = ? WHERE id = ?",
            (
                rec.line_number,
                rec.customer_id,
                rec.account_no,
                rec.currency_code,
                rec.posting_date,
                rec.document_number,
                rec.external_document_number,
                money(rec.amount),
                rec.applies_to_invoice_id,
                rec.applies_to_invoice_number,
                rec.description,
                rec.comment,
                _balance_cents(store, company_id, rec),
                rec.modified_at,
                rec.version,
                rec.id,
            ),
        )
        return _payment_json(rec, journal_code)


def delete_payment(store: Store, cid: str, id: str, if_match: str | None, jid: str | None = None) -> None:
    """DELETE a payment (If-Match required). Answer 204."""
    with store.transaction():
        company_id = _s(_company(store, cid), "id")
        line = _payment_line(store, company_id, id, jid)
        check_if_match(if_match, line.id, line.version)
        store.execute("DELETE FROM journal_lines WHERE id = ?", (line.id,))


# --- posting -------------------------------------------------------------------------------------------


def _check_lines(store: Store, company_id: str, journal: sqlite3.Row, lines: Sequence[_Line]) -> str:
    """Gen. Jnl.-Check Line over the batch in Line No. order.

    Returns the last No. Series number the batch's documents consume ('' when none): a
    document number equal to the series' next number uses it up, any other number needs the
    series to allow manual numbers.
    """
    template, batch = _s(journal, "template_name"), _s(journal, "code")
    series_code = _s(journal, "no_series")
    series = (
        store.query_one("SELECT * FROM no_series WHERE company_id = ? AND code = ?", (company_id, series_code))
        if series_code
        else None
    )
    next_no = next_series_number(store, company_id, series_code, consume=False) if series is not None else ""
    consumed = ""
    last_document: str | None = None
    for line in lines:
        if line.empty():
            continue
        where = (
            f"Gen. Journal Line: Journal Template Name={template}, Journal Batch Name={batch}, "
            f"Line No.={line.line_number}"
        )
        if not line.posting_date:
            raise _field_validation(f"Posting Date must have a value in {where}. It cannot be zero or empty.")
        if not line.document_number:
            raise _field_validation(f"Document No. must have a value in {where}. It cannot be zero or empty.")
        if line.account_type == "Customer" and line.document_type == "Payment" and line.amount > 0:
            raise _field_validation(f"Amount must be negative in {where}.")
        if line.account_type == "Customer" and line.account_no:
            customer = _customer_by_number(store, company_id, line.account_no)
            if customer is None:
                raise _record_not_found("Customer", [("No.", line.account_no)])
            _check_blocked(customer, line.document_type, "post")
        if series is not None and line.document_number != last_document:
            if line.document_number == next_no:
                consumed = next_no
                next_no = incstr(next_no)
            elif not _i(series, "manual_nos"):
                raise dialog(MANUAL_NOS.format(series=series_code))
            last_document = line.document_number
    return consumed


def _check_balance(lines: Sequence[_Line], rates: Mapping[str, Decimal]) -> None:
    """Force Doc. Balance: each (posting date, document type, document no.) must sum to zero."""
    ordered = sorted(
        (line for line in lines if not line.empty()),
        key=lambda line: (line.posting_date, line.document_number, line.line_number),
    )
    current = Decimal(0)
    last: tuple[str, str, str] | None = None
    for line in ordered:
        key = (line.posting_date, line.document_type, line.document_number)
        if last is not None and key != last and current != 0:
            raise dialog(OUT_OF_BALANCE.format(document=last[2], balance=_al_decimal(current)))
        if key != last:
            current = Decimal(0)
        current += line.balance_lcy(rates)
        last = key
    if last is not None and current != 0:
        raise dialog(OUT_OF_BALANCE.format(document=last[2], balance=_al_decimal(current)))


def _post_customer_line(store: Store, company_id: str, line: _Line, rates: Mapping[str, Decimal], now: str) -> None:
    """Gen. Jnl.-Post Line for a customer payment: ledger entry, application, invoice update."""
    remaining = line.amount
    if line.applies_to_invoice_number:
        entry = store.query_one(
            "SELECT * FROM cust_ledger_entries WHERE company_id = ? AND document_type = 'Invoice' "
            "AND document_number = ? AND customer_number = ? AND open = 1 ORDER BY entry_no LIMIT 1",
            (company_id, line.applies_to_invoice_number, line.account_no),
        )
        opposite_signs = (_d(entry, "amount") > 0) == (line.amount < 0) if entry is not None else False
        if entry is None or not opposite_signs:
            raise SandboxApiError(400, "Internal_DataNotFoundFilter", NO_CUST_LEDGER_ENTRY)
        if _s(entry, "currency_code") != line.currency_code:
            raise dialog(DIFFERENT_CURRENCIES)
        open_amount = _d(entry, "remaining_amount")
        applied = min(-remaining, open_amount)
        left = open_amount - applied
        remaining += applied
        store.execute(
            "UPDATE cust_ledger_entries SET remaining_amount = ?, remaining_amount_lcy = ?, open = ? "
            "WHERE entry_no = ?",
            (money(left), money(_lcy(left, line.currency_code, rates)), 1 if left != 0 else 0, _i(entry, "entry_no")),
        )
        if _s(entry, "invoice_id"):
            store.execute(
                "UPDATE sales_invoices SET modified_at = ?, version = version + 1 WHERE id = ?",
                (now, _s(entry, "invoice_id")),
            )
    store.execute(
        "INSERT INTO cust_ledger_entries (company_id, customer_number, document_type, document_number, "
        "external_document_number, description, posting_date, due_date, currency_code, amount, amount_lcy, "
        "remaining_amount, remaining_amount_lcy, open, journal_line_id, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            company_id,
            line.account_no,
            line.document_type,
            line.document_number,
            line.external_document_number,
            line.description,
            line.posting_date,
            line.posting_date,
            line.currency_code,
            money(line.amount),
            money(_lcy(line.amount, line.currency_code, rates)),
            money(remaining),
            money(_lcy(remaining, line.currency_code, rates)),
            1 if remaining != 0 else 0,
            line.id,
            now,
        ),
    )
    store.execute(
        "UPDATE customers SET version = version + 1 WHERE company_id = ? AND number = ?", (company_id, line.account_no)
    )


def post_journal(store: Store, cid: str, jid: str) -> None:
    """``journals({jid})/Microsoft.NAV.post`` on a customer payment journal. Answer 204.

    The batch is found by id in any template (the journals page does not restrict it). Posts
    the whole batch or nothing: checks every line (document number required, a customer
    payment must be negative, customer not blocked, No. Series manual numbers), checks the
    balance per document, then posts in (posting date, document no.) order, where an applies-to
    invoice must be an open posted invoice of the line's customer. Posted lines are deleted;
    zero-amount lines are skipped and stay. An over-payment closes the invoice and leaves the
    rest open on the payment entry (a credit); the customer's balance drops by the amount.
    """
    with store.transaction():
        company_id = _s(_company(store, cid), "id")
        key = _guid(jid)
        journal = _journal_by_id_any_template(store, company_id, key) if key else None
        if journal is None:
            raise SandboxApiError(404, "BadRequest_NotFound", BATCH_NOT_FOUND.format(guid=_al_guid(jid)))
        lines = _lines_of(store, _s(journal, "id"))
        if not lines:
            raise dialog(NOTHING_TO_POST)
        rates = _rates(store, company_id)
        consumed = _check_lines(store, company_id, journal, lines)
        _check_balance(lines, rates)
        now = store.now_text()
        to_post = sorted(
            (line for line in lines if line.amount != 0),
            key=lambda line: (line.posting_date, line.document_number, line.line_number),
        )
        for line in to_post:
            if line.account_type == "Customer" and line.account_no:
                _post_customer_line(store, company_id, line, rates, now)
        if consumed:
            store.execute(
                "UPDATE no_series SET last_no_used = ? WHERE company_id = ? AND code = ?",
                (consumed, company_id, _s(journal, "no_series")),
            )
        for line in to_post:
            store.execute("DELETE FROM journal_lines WHERE id = ?", (line.id,))
