"""Finding a customer payment journal (a General Journal Batch of the customer-payments template).

Journals, payments and posting all look batches up. The look-ups live here, below all three, so
that journals can deep-insert payments (journals imports payments) without payments importing
journals back.
"""

from __future__ import annotations

import sqlite3

from pipeline.sandbox.errors import SandboxApiError, not_found
from pipeline.sandbox.rules.conversions import json_guid, row_str
from pipeline.sandbox.store import Store

CASH_RECEIPT_JOURNAL_PAGE = 255


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
    return row_str(row, "name")


def journal_row(store: Store, company_id: str, jid: str) -> sqlite3.Row:
    """A customer payment journal addressed in the URL: only batches of the payments template."""
    key = json_guid(jid)
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


def journal_by_id_any_template(store: Store, company_id: str, journal_id: str) -> sqlite3.Row | None:
    """A batch by SystemId in any template, or None: posting finds its batch this way, as BC's action does."""
    return store.query_one("SELECT * FROM journals WHERE company_id = ? AND id = ?", (company_id, journal_id))
