"""Time ``pipeline.resolve.resolve`` on 1M payments, 10k customers and 50k open invoices (seeded).

The mix: 55% customer and invoice, 10% invoice only, 15% customer only (unapplied), 4% an invoice
that is not open, 3% several invoice numbers, 2% an unknown customer, 1% another currency, the
rest with neither. Prints the time and rows/s; never asserts on time.
"""

from __future__ import annotations

import argparse
import time
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from pipeline.config import Policies
from pipeline.normalize import PAYMENT_COLUMNS
from pipeline.resolve import resolve


def build(
    rows: int, customers: int, invoices: int, seed: int = 7
) -> tuple[pd.DataFrame, list[dict[str, Any]], list[dict[str, Any]]]:
    rng = np.random.default_rng(seed)
    cust_no = [f"C{i:06d}" for i in range(customers)]
    blocked = rng.choice(["_x0020_", "Invoice", "All"], size=customers, p=[0.985, 0.01, 0.005])
    cust = [
        {"id": f"c-{i}", "number": n, "displayName": f"Customer {i}", "blocked": b, "currencyCode": ""}
        for i, (n, b) in enumerate(zip(cust_no, blocked, strict=True))
    ]
    owner = rng.integers(0, customers, size=invoices)
    cents = rng.integers(50_000, 5_000_000, size=invoices)
    inv_no = [f"RE-{i:07d}" for i in range(invoices)]
    inv = [
        {
            "id": f"i-{k}",
            "number": inv_no[k],
            "customerNumber": cust_no[o],
            "billToCustomerNumber": cust_no[o],
            "currencyCode": "EUR",
            "remainingAmount": Decimal(int(c)).scaleb(-2),
            "status": "Open",
        }
        for k, (o, c) in enumerate(zip(owner, cents, strict=True))
    ]
    kind = rng.choice(8, size=rows, p=[0.55, 0.10, 0.15, 0.04, 0.03, 0.02, 0.01, 0.10])
    pick = rng.integers(0, invoices, size=rows)
    amount = np.maximum(cents[pick] // 25, 1)
    number = np.array(inv_no, dtype=object)[pick]
    customer = np.array(cust_no, dtype=object)[owner[pick]]
    customer[kind == 5] = "C9999999"
    customer[(kind == 1) | (kind == 7)] = ""
    number[(kind == 2) | (kind == 7)] = ""
    number[kind == 3] = "RE-9999999"
    cands = number.copy()
    other = np.array(inv_no, dtype=object)[rng.integers(0, invoices, size=rows)]
    cands[kind == 4] = number[kind == 4] + " " + other[kind == 4]
    frame = pd.DataFrame(
        {
            "lineNumber": np.arange(1, rows + 1, dtype=np.int64) * 10_000,
            "postingDate": pd.Timestamp("2026-03-02"),
            "documentNumber": pd.Series([f"B{i:07d}" for i in range(rows)], dtype="str"),
            "externalDocumentNumber": "",
            "customerNumber": pd.Series(customer, dtype="str"),
            "appliesToInvoiceNumber": pd.Series(number, dtype="str"),
            "invoiceCandidates": pd.Series(cands, dtype="str"),
            "amount_minor": -amount.astype(np.int64),
            "currency": pd.Series(np.where(kind == 6, "USD", "EUR"), dtype="str"),
            "description": "",
            "comment": "",
            "key": pd.Series([f"b:tx:{i}" for i in range(rows)], dtype="str"),
            "source_file": "bench.csv",
            "source_row": np.arange(2, rows + 2, dtype=np.int64),
        }
    )
    return frame[list(PAYMENT_COLUMNS)], cust, inv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--invoices", type=int, default=50_000)
    args = parser.parse_args()
    frame, cust, inv = build(args.rows, args.customers, args.invoices)
    start = time.perf_counter()
    result = resolve(frame, 2, cust, inv, "EUR", Policies())
    took = time.perf_counter() - start
    reasons = result.review["reason_code"].value_counts().to_dict()
    print(f"resolve: {args.rows:,} rows in {took:.2f} s = {args.rows / took:,.0f} rows/s")
    print(f"  posted {len(result.rows):,}, review {len(result.review):,}: {reasons}")


if __name__ == "__main__":
    main()
