"""The ``companies`` entity set, and finding the company a URL names.

Every company-scoped operation starts with ``company_row``, which accepts the id or the name (as
BC's endpoints do) and answers 404 otherwise.
"""

from __future__ import annotations

import sqlite3

from pipeline.sandbox.errors import not_found
from pipeline.sandbox.rules.conversions import Entity, json_guid, row_int, row_str
from pipeline.sandbox.rules.etags import etag
from pipeline.sandbox.store import EMPTY_GUID, Store

SYSTEM_VERSION = "28.0.0.0"


def company_row(store: Store, cid: str) -> sqlite3.Row:
    """The company a URL names, by id or by name (BC's OData endpoints accept both); 404 otherwise."""
    key = json_guid(cid)
    row = store.query_one("SELECT * FROM companies WHERE id = ?", (key,)) if key else None
    if row is None:
        row = store.query_one("SELECT * FROM companies WHERE name = ?", (cid,))
    if row is None:
        raise not_found("Company")
    return row


def _company_json(row: sqlite3.Row) -> Entity:
    return {
        "@odata.etag": etag(row_str(row, "id"), row_int(row, "version")),
        "id": row_str(row, "id"),
        "systemVersion": SYSTEM_VERSION,
        "timestamp": row_int(row, "version"),
        "name": row_str(row, "name"),
        "displayName": row_str(row, "display_name"),
        "businessProfileId": row_str(row, "business_profile_id"),
        "systemCreatedAt": row_str(row, "created_at"),
        "systemCreatedBy": EMPTY_GUID,
        "systemModifiedAt": row_str(row, "modified_at"),
        "systemModifiedBy": EMPTY_GUID,
    }


def list_companies(store: Store) -> list[Entity]:
    with store.transaction():
        return [_company_json(row) for row in store.query("SELECT * FROM companies ORDER BY name")]


def get_company(store: Store, cid: str) -> Entity:
    """The company by id (or by name, as ``?company=`` allows); 404 when unknown."""
    with store.transaction():
        return _company_json(company_row(store, cid))
