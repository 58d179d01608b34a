"""The ``customerPaymentJournals`` entity set: list, get, create, patch and delete of batches.

A create may carry a ``customerPayments`` array, deep-inserted through the payment rules; the
balancing account must be a G/L account that allows direct posting.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pipeline.sandbox.errors import SandboxApiError, dialog
from pipeline.sandbox.rules.batches import default_template, journal_row
from pipeline.sandbox.rules.bodies import Prop, assigned, duplicate_key, field_validation, read_body
from pipeline.sandbox.rules.companies import company_row
from pipeline.sandbox.rules.conversions import Entity, row_int, row_str
from pipeline.sandbox.rules.etags import check_if_match, etag
from pipeline.sandbox.rules.payments import create_payment
from pipeline.sandbox.rules.texts import BALANCING_ACCOUNT_NOT_FOUND
from pipeline.sandbox.store import EMPTY_GUID, Store, new_id


def _journal_json(row: sqlite3.Row) -> Entity:
    return {
        "@odata.etag": etag(row_str(row, "id"), row_int(row, "version")),
        "id": row_str(row, "id"),
        "code": row_str(row, "code"),
        "displayName": row_str(row, "display_name"),
        "lastModifiedDateTime": row_str(row, "modified_at"),
        "balancingAccountId": row_str(row, "bal_account_id"),
        "balancingAccountNumber": row_str(row, "bal_account_number"),
    }


_JOURNAL_PROPS: dict[str, Prop] = {
    "id": Prop("guid", read_only=True),
    "code": Prop("code", 10),
    "displayName": Prop("text", 100),
    "lastModifiedDateTime": Prop("datetime", read_only=True),
    "balancingAccountId": Prop("guid"),
    "balancingAccountNumber": Prop("code", 20, read_only=True),
    "customerPayments": Prop("nav"),
}


def _balancing_account(store: Store, company_id: str, account_id: str) -> tuple[str, str]:
    """``balancingAccountId`` validation: a direct-posting, unblocked posting G/L account."""
    if account_id == EMPTY_GUID:
        return EMPTY_GUID, ""
    row = store.query_one("SELECT * FROM gl_accounts WHERE company_id = ? AND id = ?", (company_id, account_id))
    if row is None:
        raise dialog(BALANCING_ACCOUNT_NOT_FOUND)
    number = row_str(row, "number")
    where = f"in G/L Account: No.={number}."
    if row_str(row, "account_type") != "Posting":
        raise field_validation(
            f"Account Type must be equal to 'Posting'  {where} Current value is '{row_str(row, 'account_type')}'."
        )
    if row_int(row, "blocked"):
        raise field_validation(f"Blocked must be equal to 'No'  {where} Current value is 'Yes'.")
    if not row_int(row, "direct_posting"):
        raise field_validation(f"Direct Posting must be equal to 'Yes'  {where} Current value is 'No'.")
    return row_str(row, "id"), number


def _code_must_have_value(template: str) -> SandboxApiError:
    return field_validation(
        f"Name must have a value in Gen. Journal Batch: Journal Template Name={template}, Name=. "
        "It cannot be zero or empty."
    )


def list_journals(store: Store, cid: str) -> list[Entity]:
    with store.transaction():
        company_id = row_str(company_row(store, cid), "id")
        rows = store.query(
            "SELECT * FROM journals WHERE company_id = ? AND template_name = ? ORDER BY code",
            (company_id, default_template(store, company_id)),
        )
        return [_journal_json(r) for r in rows]


def get_journal(store: Store, cid: str, jid: str) -> Entity:
    with store.transaction():
        company_id = row_str(company_row(store, cid), "id")
        return _journal_json(journal_row(store, company_id, jid))


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
    for name, value in assigned(values, _JOURNAL_PROPS):
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
        raise duplicate_key("Gen. Journal Batch", [("Journal Template Name", template), ("Name", code)])


def create_journal(store: Store, cid: str, body: Mapping[str, Any]) -> Entity:
    """POST customerPaymentJournals: a batch in the payments template, with no number series.

    Batches created through the API get no No. Series (the page does not run
    ``SetupNewBatch``), so their lines get blank document numbers unless the client sends them.
    ``code`` is required; a duplicate code is a duplicate key. A ``customerPayments`` array is
    deep-inserted into the new batch.
    """
    with store.transaction():
        company_id = row_str(company_row(store, cid), "id")
        template = default_template(store, company_id)
        values = read_body(body, _JOURNAL_PROPS, "customerPaymentJournal")
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
        return _journal_json(journal_row(store, company_id, journal_id))


def patch_journal(store: Store, cid: str, jid: str, body: Mapping[str, Any], if_match: str | None) -> Entity:
    """PATCH a batch; a new ``code`` renames it (its lines follow, as BC's rename does)."""
    with store.transaction():
        company_id = row_str(company_row(store, cid), "id")
        row = journal_row(store, company_id, jid)
        check_if_match(if_match, row_str(row, "id"), row_int(row, "version"))
        template = row_str(row, "template_name")
        values = read_body(body, _JOURNAL_PROPS, "customerPaymentJournal")
        current = _JournalFields(
            row_str(row, "code"),
            row_str(row, "display_name"),
            row_str(row, "bal_account_id"),
            row_str(row, "bal_account_number"),
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
            (code, display, bal_id, bal_no, store.now_text(), row_str(row, "id")),
        )
        return _journal_json(journal_row(store, company_id, row_str(row, "id")))


def delete_journal(store: Store, cid: str, jid: str, if_match: str | None) -> None:
    """DELETE a batch and, as the batch's OnDelete trigger does, all of its lines. Answer 204."""
    with store.transaction():
        company_id = row_str(company_row(store, cid), "id")
        row = journal_row(store, company_id, jid)
        check_if_match(if_match, row_str(row, "id"), row_int(row, "version"))
        store.execute("DELETE FROM journal_lines WHERE journal_id = ?", (row_str(row, "id"),))
        store.execute("DELETE FROM journals WHERE id = ?", (row_str(row, "id"),))
