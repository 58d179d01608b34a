"""The statement layout generated test files use (tests/run, tests/watch, bench-like loads).

Each row names a demo customer and no invoice, so under the default policy (unapplied: post)
every row is posted, and the transaction id is also the document number: the expected journal
line of each row follows from the row alone.
"""

from __future__ import annotations

from typing import Any

GENERATED_HEADER = "Booked,Payer,Amount,TxId,Customer"
GENERATED_PROFILE: dict[str, Any] = {
    "title": "Generated test statement",
    "delimiter": ",",
    "header": {"signature": ["Booked", "Payer", "Amount", "TxId", "Customer"]},
    "columns": {
        "date": "Booked",
        "amount": "Amount",
        "payer_name": "Payer",
        "customer_number": "Customer",
        "transaction_id": "TxId",
        "document_number": "TxId",
    },
    "amount": {"layout": "signed", "decimal_mark": "."},
    "date_formats": ["%Y-%m-%d"],
    "currency": {"expected": "EUR"},
}
