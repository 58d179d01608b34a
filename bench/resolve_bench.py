"""Time ``pipeline.resolve.resolve`` on 1M payments, 10k customers and 50k open invoices (seeded).

The mix: 55% customer and invoice, 10% invoice only, 15% customer only (unapplied), 4% an invoice
that is not open, 3% several invoice numbers, 2% an unknown customer, 1% another currency, the
rest with neither (half of those with the payer's name as the bank writes it). Customers have
realistic names of several countries and legal forms (``matching_bench``).

Two timings of the same rows in the same run: the exact rules alone (``matching.enabled: false``,
the baseline) and with cash application by evidence (the default), with their ratio in wall-clock
and CPU time (CPU time is what a shared machine's load disturbs least), the rows' fates and the
peak memory of the process. Never asserts on time.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import time
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from matching_bench import FIRST, FORMS, TRADE

from pipeline.config import MatchingRules, Policies
from pipeline.normalize import PAYMENT_COLUMNS
from pipeline.resolve import resolve


def build(
    rows: int, customers: int, invoices: int, seed: int = 7
) -> tuple[pd.DataFrame, list[dict[str, Any]], list[dict[str, Any]]]:
    rng = np.random.default_rng(seed)
    cust_no = [f"C{i:06d}" for i in range(customers)]
    blocked = rng.choice(["_x0020_", "Invoice", "All"], size=customers, p=[0.985, 0.01, 0.005])
    names = _names(customers, seed)
    cust = [
        {"id": f"c-{i}", "number": n, "displayName": names[i], "blocked": b, "currencyCode": ""}
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
    payer = np.array([n.upper() for n in names], dtype=object)[owner[pick]]
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
            "payer_name": pd.Series(np.where((kind == 7) & (pick % 2 == 0), payer, ""), dtype="str"),
            "reference": pd.Series(cands, dtype="str"),
            "payer_account": "",
        }
    )
    return frame[list(PAYMENT_COLUMNS)], cust, inv


def _names(count: int, seed: int) -> list[str]:
    """``count`` distinct company names: owner, trade, a number for the many alike, a legal form."""
    rng = random.Random(seed)
    return [f"{rng.choice(FIRST)} {rng.choice(TRADE)} {i} {rng.choice(FORMS)}" for i in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--invoices", type=int, default=50_000)
    args = parser.parse_args()
    frame, cust, inv = build(args.rows, args.customers, args.invoices)
    timings: dict[str, float] = {}
    cpus: dict[str, float] = {}
    for label, policy in (
        ("exact rules only (baseline)", Policies(matching=MatchingRules(enabled=False))),
        ("with cash application", Policies()),
    ):
        start, cpu = time.perf_counter(), time.process_time()
        result = resolve(frame, 2, cust, inv, "EUR", policy)
        took = timings[label] = time.perf_counter() - start
        cpus[label] = time.process_time() - cpu
        reasons = result.review["reason_code"].value_counts().to_dict()
        posted, held = len(result.rows), len(result.review)
        del result  # a run resolves once: the baseline's result is not held while the second runs
        print(f"{label}: {args.rows:,} rows in {took:.2f} s (CPU {cpus[label]:.2f} s) = {args.rows / took:,.0f} rows/s")
        print(f"  posted lines {posted:,}, review {held:,}: {reasons}")
    base, full = timings.values()
    base_cpu, full_cpu = cpus.values()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"ratio with/without cash application: {full / base:.2f}x wall, {full_cpu / base_cpu:.2f}x CPU; "
        f"peak memory {peak:,.0f} MiB; load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
