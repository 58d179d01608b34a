"""General Ledger Setup and dimensions: the tenant setup that makes a post fail although every line
was accepted at insert.

``generalLedgerSetup`` (page 30025 "APIV2 - General Ledger Setup", read-only) shows the allowed
posting dates that ``GenJnlCheckLine.CheckDates`` enforces at posting. Default dimensions of
customers (``customers({id})/defaultDimensions``, top-level ``defaultDimensions``) and of G/L
accounts (not readable through API v2.0) are copied to a journal line when its account is
validated (``CreateDimFromDefaultDim``: only defaults with a value code), shown as the line's
``dimensionSetLines``, and checked at posting (``GenJnlCheckLine.CheckDimensions`` ->
``DimensionManagement.CheckDimValuePosting``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from pipeline.sandbox.errors import SandboxApiError, dialog, not_found
from pipeline.sandbox.rules.bodies import field_validation
from pipeline.sandbox.rules.companies import company_row
from pipeline.sandbox.rules.conversions import Entity, json_guid, row_decimal, row_str
from pipeline.sandbox.store import EMPTY_GUID, Store, new_id

BLANK_DATE = "0001-01-01"
"""BC's blank date (0D) as API v2.0 writes it in JSON."""

VALUE_POSTINGS = ("", "Code Mandatory", "Same Code", "No Code")
"""Default Dimension "Value Posting" options (blank = no rule)."""


@dataclass(frozen=True)
class GLSetup:
    """What posting reads from General Ledger Setup."""

    allow_from: str
    allow_to: str
    post_with_job_queue: bool
    job_queue_delay_s: float | None


def gl_setup(store: Store, company_id: str) -> GLSetup:
    """The company's setup; a company without a row has BC's defaults (no date limits, no queue)."""
    row = store.query_one("SELECT * FROM gl_setup WHERE company_id = ?", (company_id,))
    if row is None:
        return GLSetup("", "", False, None)
    delay = row["job_queue_delay_s"]
    return GLSetup(
        row_str(row, "allow_posting_from"),
        row_str(row, "allow_posting_to"),
        bool(row["post_with_job_queue"]),
        None if delay is None else float(delay),
    )


def set_gl_setup(
    store: Store,
    company_id: str,
    *,
    allow_from: str = "",
    allow_to: str = "",
    post_with_job_queue: bool = False,
    job_queue_delay_s: float | None = None,
) -> None:
    """Write the company's General Ledger Setup (the seed's ``generalLedgerSetup``; BC's UI)."""
    with store.transaction():
        store.execute(
            "INSERT INTO gl_setup (company_id, id, allow_posting_from, allow_posting_to, post_with_job_queue, "
            "job_queue_delay_s, modified_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (company_id) DO UPDATE SET "
            "allow_posting_from = excluded.allow_posting_from, allow_posting_to = excluded.allow_posting_to, "
            "post_with_job_queue = excluded.post_with_job_queue, job_queue_delay_s = excluded.job_queue_delay_s, "
            "modified_at = excluded.modified_at",
            (
                company_id,
                new_id(),
                allow_from,
                allow_to,
                int(post_with_job_queue),
                job_queue_delay_s,
                store.now_text(),
            ),
        )


def list_gl_setup(store: Store, cid: str) -> list[Entity]:
    """``generalLedgerSetup``: one record, blank dates as 0001-01-01 (BC's 0D)."""
    with store.transaction():
        company = company_row(store, cid)
        company_id = row_str(company, "id")
        setup = gl_setup(store, company_id)
        row = store.query_one("SELECT id, modified_at FROM gl_setup WHERE company_id = ?", (company_id,))
        return [
            {
                "id": row_str(row, "id") if row is not None else company_id,
                "allowPostingFrom": setup.allow_from or BLANK_DATE,
                "allowPostingTo": setup.allow_to or BLANK_DATE,
                "additionalReportingCurrency": "",
                "localCurrencyCode": row_str(company, "lcy_code"),
                "localCurrencySymbol": "",
                "lastModifiedDateTime": row_str(row, "modified_at") if row is not None else "",
            }
        ]


def date_allowed(setup: GLSetup, posting_date: str) -> bool:
    """``GenJnlCheckLine.DateNotAllowed`` with General Ledger Setup's range (no User Setup)."""
    if setup.allow_from and posting_date < setup.allow_from:
        return False
    return not (setup.allow_to and posting_date > setup.allow_to)


def check_posting_date(setup: GLSetup, posting_date: str, where: str) -> None:
    """The posting-time check; ``where`` names the journal line as BC's FieldError does."""
    if not date_allowed(setup, posting_date):
        raise field_validation(f"Posting Date is not within your range of allowed posting dates in {where}.")


# --- dimensions ------------------------------------------------------------------------------------


def ensure_dimension_value(store: Store, company_id: str, dimension: str, value: str) -> None:
    """A dimension (and a value of it, when ``value`` is not blank); existing ones are kept."""
    with store.transaction():
        store.execute(
            "INSERT OR IGNORE INTO dimensions (id, company_id, code, name) VALUES (?, ?, ?, ?)",
            (new_id(), company_id, dimension, dimension),
        )
        if value:
            store.execute(
                "INSERT OR IGNORE INTO dimension_values (id, company_id, dimension_code, code, name) "
                "VALUES (?, ?, ?, ?, ?)",
                (new_id(), company_id, dimension, value, value),
            )


def add_default_dimension(
    store: Store, company_id: str, parent_type: str, parent_number: str, dimension: str, value: str, posting: str
) -> None:
    """A default dimension of a customer or G/L account (seeded: the API cannot write one here)."""
    if posting not in VALUE_POSTINGS:
        raise ValueError(f"value posting must be one of {VALUE_POSTINGS}, not {posting!r}")
    with store.transaction():
        ensure_dimension_value(store, company_id, dimension, value)
        store.execute(
            "INSERT INTO default_dimensions (id, company_id, parent_type, parent_number, dimension_code, value_code, "
            "value_posting, modified_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT "
            "(company_id, parent_type, parent_number, dimension_code) DO UPDATE SET value_code = excluded.value_code, "
            "value_posting = excluded.value_posting, modified_at = excluded.modified_at",
            (new_id(), company_id, parent_type, parent_number, dimension, value, posting, store.now_text()),
        )


def defaults_of(store: Store, company_id: str, parent_type: str, parent_number: str) -> list[sqlite3.Row]:
    return store.query(
        "SELECT * FROM default_dimensions WHERE company_id = ? AND parent_type = ? AND parent_number = ? "
        "ORDER BY dimension_code",
        (company_id, parent_type, parent_number),
    )


def _id_of(store: Store, table: str, where: str, params: Sequence[str]) -> str:
    row = store.query_one(f"SELECT id FROM {table} WHERE {where}", params)
    return row_str(row, "id") if row is not None else EMPTY_GUID


def _default_json(store: Store, row: sqlite3.Row, parent_id: str) -> Entity:
    company_id, dimension, value = (
        row_str(row, "company_id"),
        row_str(row, "dimension_code"),
        row_str(row, "value_code"),
    )
    return {
        "parentType": row_str(row, "parent_type"),
        "parentId": parent_id,
        "dimensionId": _id_of(store, "dimensions", "company_id = ? AND code = ?", (company_id, dimension)),
        "dimensionCode": dimension,
        "dimensionValueId": _id_of(
            store,
            "dimension_values",
            "company_id = ? AND dimension_code = ? AND code = ?",
            (company_id, dimension, value),
        )
        if value
        else EMPTY_GUID,
        "dimensionValueCode": value,
        # an enum member as BC's OData writes it: spaces as _x0020_ ("Code_x0020_Mandatory", blank "_x0020_")
        "postingValidation": (row_str(row, "value_posting") or " ").replace(" ", "_x0020_"),
        "lastModifiedDateTime": row_str(row, "modified_at"),
    }


def list_default_dimensions(store: Store, cid: str, customer_id: str) -> list[Entity]:
    """``customers({id})/defaultDimensions`` (the APIV2 customers page's part).

    API v2.0 shows default dimensions of customers, vendors, items and employees only (the
    "Default Dimension Parent Type" enum); a G/L account's (the balancing account's) are checked at
    posting but not readable: ``accounts`` has no such part."""
    with store.transaction():
        company_id = row_str(company_row(store, cid), "id")
        key = json_guid(customer_id)
        parent = (
            store.query_one("SELECT * FROM customers WHERE company_id = ? AND id = ?", (company_id, key))
            if key
            else None
        )
        if parent is None:
            raise not_found("Customer")
        rows = defaults_of(store, company_id, "Customer", row_str(parent, "number"))
        return [_default_json(store, r, row_str(parent, "id")) for r in rows]


def list_all_default_dimensions(store: Store, cid: str) -> list[Entity]:
    """Top-level ``defaultDimensions`` (page 30054, no parent filter required): every default
    dimension; those of a parent API v2.0 has no type for (a G/L account) show parent type blank
    (``_x0020_``) and an empty parent id, as BC's computed ParentId/"Parent Type" leave them."""
    with store.transaction():
        company_id = row_str(company_row(store, cid), "id")
        rows = store.query(
            "SELECT d.*, c.id AS customer_id FROM default_dimensions d LEFT JOIN customers c "
            "ON c.company_id = d.company_id AND c.number = d.parent_number AND d.parent_type = 'Customer' "
            "WHERE d.company_id = ? ORDER BY d.parent_type, d.parent_number, d.dimension_code",
            (company_id,),
        )
        out = []
        for row in rows:
            item = _default_json(store, row, str(row["customer_id"] or EMPTY_GUID))
            item = {"id": row_str(row, "id"), **item}
            if row_str(row, "parent_type") != "Customer":
                item["parentType"] = "_x0020_"
            out.append(item)
        return out


def copy_default_dimensions(store: Store, company_id: str, line_id: str, account_no: str, bal_account: str) -> None:
    """``CreateDimFromDefaultDim``: the defaults with a value code of the account, then of the
    balancing account (the account's value wins for a dimension both have)."""
    store.execute("DELETE FROM line_dimensions WHERE line_id = ?", (line_id,))
    sources = [("Customer", account_no), ("G/L Account", bal_account)]
    for parent_type, number in sources:
        if not number:
            continue
        for row in defaults_of(store, company_id, parent_type, number):
            if row_str(row, "value_code"):
                store.execute(
                    "INSERT OR IGNORE INTO line_dimensions (line_id, dimension_code, value_code) VALUES (?, ?, ?)",
                    (line_id, row_str(row, "dimension_code"), row_str(row, "value_code")),
                )


def line_dimensions(store: Store, line_id: str) -> dict[str, str]:
    rows = store.query("SELECT * FROM line_dimensions WHERE line_id = ? ORDER BY dimension_code", (line_id,))
    return {row_str(r, "dimension_code"): row_str(r, "value_code") for r in rows}


def list_dimension_set_lines(store: Store, company_id: str, line_id: str) -> list[Entity]:
    """A journal line's ``dimensionSetLines`` (page 30022), parent type "Journal Line"."""
    out: list[Entity] = []
    for code, value in line_dimensions(store, line_id).items():
        out.append(
            {
                "id": _id_of(store, "dimensions", "company_id = ? AND code = ?", (company_id, code)),
                "code": code,
                "parentId": line_id,
                "parentType": "Journal Line",
                "displayName": code,
                "valueId": _id_of(
                    store,
                    "dimension_values",
                    "company_id = ? AND dimension_code = ? AND code = ?",
                    (company_id, code, value),
                ),
                "valueCode": value,
                "valueDisplayName": value,
            }
        )
    return out


_TABLE_CAPTIONS = {"Customer": "Customer", "G/L Account": "G/L Account"}


def check_line_dimensions(store: Store, company_id: str, parties: Mapping[str, str], dims: Mapping[str, str]) -> None:
    """``CheckDimValuePosting`` for one line: ``parties`` maps parent type to number (account and
    balancing account), ``dims`` the line's dimension set. Raises BC's dialog on the first rule
    broken (texts of DimensionManagement: DimensionIsBlockedErr family)."""
    for parent_type, number in parties.items():
        if not number:
            continue
        caption = _TABLE_CAPTIONS[parent_type]
        for row in defaults_of(store, company_id, parent_type, number):
            dimension, value = row_str(row, "dimension_code"), row_str(row, "value_code")
            posting, have = row_str(row, "value_posting"), dims.get(row_str(row, "dimension_code"), "")
            if posting == "Code Mandatory" and not have:
                raise dialog(
                    f"Select a Dimension Value Code for the Dimension Code {dimension} for {caption} {number}."
                )
            if posting == "Same Code" and have != value:
                raise dialog(
                    f"The Dimension Value Code for the Dimension Code {dimension} must be {value} "
                    f"for {caption} {number}."
                )
            if posting == "No Code" and have:
                raise dialog(f"{dimension} {have} must not be mentioned for {caption} {number}.")


def refuse_dimension_writes() -> SandboxApiError:
    """Writing a line's dimension set is not emulated (the importer never sends dimensions)."""
    return SandboxApiError(
        501, "BadRequest_MethodNotImplemented", "The sandbox does not implement writing dimensionSetLines."
    )


def list_currencies(store: Store, cid: str) -> list[Entity]:
    """``currencies`` (page 30030): the company's foreign currencies (the local one has no record)."""
    with store.transaction():
        company_id = row_str(company_row(store, cid), "id")
        rows = store.query("SELECT * FROM currencies WHERE company_id = ? ORDER BY code", (company_id,))
        return [
            {
                "id": row_str(r, "id"),
                "code": row_str(r, "code"),
                "displayName": row_str(r, "description"),
                "symbol": "",
                "amountDecimalPlaces": _decimal_places(row_decimal(r, "amount_rounding")),
                "amountRoundingPrecision": row_decimal(r, "amount_rounding"),
                "lastModifiedDateTime": "",
            }
            for r in rows
        ]


def _decimal_places(precision: Decimal) -> str:
    """Currency "Amount Decimal Places" as BC shows it ("2:2"), from the rounding precision."""
    places = max(0, -precision.normalize().as_tuple().exponent)  # type: ignore[operator]
    return f"{places}:{places}"


def list_exchange_rates(store: Store, cid: str) -> list[Entity]:
    """``currencyExchangeRates`` (page 30085, read-only): each currency's rates by starting date,
    as "Exchange Rate Amount" 1 unit = "Relational Exch. Rate Amount" units of LCY (blank relational
    currency). A currency seeded with one fixed ``rate`` and no dated rates has that rate from
    0001-01-01 on, and is listed so."""
    with store.transaction():
        company_id = row_str(company_row(store, cid), "id")
        dated = store.query(
            "SELECT id, currency_code, starting_date, lcy_per_unit FROM currency_exchange_rates WHERE company_id = ?",
            (company_id,),
        )
        with_dates = {row_str(r, "currency_code") for r in dated}
        fixed = store.query("SELECT id, code, lcy_per_unit FROM currencies WHERE company_id = ?", (company_id,))
        rows = [
            (row_str(r, "currency_code"), row_str(r, "starting_date"), row_decimal(r, "lcy_per_unit"), row_str(r, "id"))
            for r in dated
        ] + [
            (row_str(r, "code"), "0001-01-01", row_decimal(r, "lcy_per_unit"), row_str(r, "id"))
            for r in fixed
            if row_str(r, "code") not in with_dates
        ]
        return [
            {
                "id": rate_id,
                "currencyCode": code,
                "startingDate": day,
                "exchangeRateAmount": Decimal(1),
                "relationalCurrencyCode": "",
                "relationalExchangeRateAmount": rate,
                "lastModifiedDateTime": "",
            }
            for code, day, rate, rate_id in sorted(rows)
        ]
