"""G/L accounts and company information: read-only entity sets.

The client reads ``accounts`` for balancing accounts and ``companyInformation`` for the local
currency; nothing here writes.
"""

from __future__ import annotations

from decimal import Decimal

from pipeline.sandbox.rules.companies import company_row
from pipeline.sandbox.rules.conversions import Entity, row_int, row_str
from pipeline.sandbox.rules.etags import etag
from pipeline.sandbox.store import Store


def list_accounts(store: Store, cid: str) -> list[Entity]:
    """``accounts``: the chart of accounts (API page "APIV2 - Accounts"), for balancing accounts."""
    with store.transaction():
        company_id = row_str(company_row(store, cid), "id")
        rows = store.query("SELECT * FROM gl_accounts WHERE company_id = ? ORDER BY number", (company_id,))
        return [
            {
                "@odata.etag": etag(row_str(r, "id"), row_int(r, "version")),
                "id": row_str(r, "id"),
                "number": row_str(r, "number"),
                "displayName": row_str(r, "name"),
                "category": "",
                "subCategory": "",
                "blocked": bool(row_int(r, "blocked")),
                "accountType": row_str(r, "account_type"),
                "directPosting": bool(row_int(r, "direct_posting")),
                "netChange": Decimal(0),
                "consolidationTranslationMethod": "Average_x0020_Rate_x0020__x0028_Manual_x0029_",
                "consolidationDebitAccount": "",
                "consolidationCreditAccount": "",
                "excludeFromConsolidation": False,
                "lastModifiedDateTime": row_str(r, "modified_at"),
            }
            for r in rows
        ]


def company_information(store: Store, cid: str) -> list[Entity]:
    """``companyInformation``: one record; its ``currencyCode`` is the local currency (LCY)."""
    with store.transaction():
        company = company_row(store, cid)
        return [
            {
                "@odata.etag": etag(row_str(company, "id"), row_int(company, "version")),
                "id": row_str(company, "id"),
                "displayName": row_str(company, "display_name"),
                "currencyCode": row_str(company, "lcy_code"),
                "lastModifiedDateTime": row_str(company, "modified_at"),
            }
        ]
