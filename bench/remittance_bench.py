"""Time the payment groups of a lockbox file (``pipeline.remittance``) against reading and resolving it.

A seeded lockbox CSV: checks of 1 to 6 lines, each line paying one open invoice of the check's
customer (some with a 2% discount taken), 3% of the checks stating a wrong check amount and 2%
netting a credit note. In the same run: reading and validating the file (``read_inputs``, the
baseline), ``mark_payments``, ``resolve`` alone and ``resolve_payments`` around it, with the ratios
of the grouping's cost to the read and to the resolve. Never asserts on time.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from pipeline.config import parse_config
from pipeline.inputs import read_inputs
from pipeline.remittance import mark_payments, resolve_payments
from pipeline.resolve import resolve

HEADER = "Check No,Check Amount,Customer No,Invoice No,Amount Paid,Discount,Paid On"
PROFILE: dict[str, Any] = {
    "delimiter": ",",
    "header": {"signature": ["Check No", "Check Amount", "Amount Paid"]},
    "columns": {
        "date": "Paid On",
        "amount": "Amount Paid",
        "customer_number": "Customer No",
        "invoice_number": "Invoice No",
        "reference": "Check No",
        "payment_group": "Check No",
        "payment_total": "Check Amount",
        "discount": "Discount",
    },
    "amount": {"layout": "signed", "decimal_mark": "."},
    "date_formats": ["%Y-%m-%d"],
    "currency": {"expected": "EUR"},
    "document_number": {"template": "LBX{date:%y%m%d}-{seq:06d}"},
}


def _text(cents: int) -> str:
    return f"{'-' if cents < 0 else ''}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def build(lines: int, seed: int = 7) -> tuple[list[str], list[dict[str, Any]], list[dict[str, Any]]]:
    """The file's lines, the customers and the open invoices (one per invoice line of the file)."""
    rng = random.Random(seed)
    customers = [
        {"id": f"c{i}", "number": f"C{i:05d}", "displayName": f"Customer {i}", "blocked": "", "currencyCode": ""}
        for i in range(max(lines // 10, 1))
    ]
    invoices: list[dict[str, Any]] = []
    out: list[str] = []
    check = 0
    while len(out) < lines:
        check += 1
        customer = rng.choice(customers)["number"]
        rows: list[tuple[str, int, int]] = []
        for _ in range(rng.randint(1, 6)):
            number, cents = f"INV{len(invoices):07d}", rng.randint(1_00, 9_999_99)
            invoices.append(
                {"id": f"i{len(invoices)}", "number": number, "customerNumber": customer,
                 "billToCustomerNumber": customer, "currencyCode": "", "remainingAmount": Decimal(cents).scaleb(-2),
                 "totalAmountIncludingTax": Decimal(cents).scaleb(-2), "status": "Open", "dueDate": "2026-03-01"}
            )  # fmt: skip
            discount = cents * 2 // 100 if rng.random() < 0.1 else 0
            rows.append((number, cents - discount, discount))
        if rng.random() < 0.02:
            rows.append((f"CN{check:07d}", -rng.randint(1_00, 99_99), 0))
        total = sum(paid for _n, paid, _d in rows) + (rng.randint(1, 500) if rng.random() < 0.03 else 0)
        for number, paid, discount in rows:
            taken = _text(discount) if discount else ""
            out.append(f"{check},{_text(total)},{customer},{number},{_text(paid)},{taken},2026-03-18")
    return out[:lines], customers, invoices


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=100_000)
    args = parser.parse_args()
    lines, customers, invoices = build(args.lines)
    config = parse_config({"profiles": {"lbx": PROFILE}})
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "lockbox.csv"
        path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
        began = time.perf_counter()
        inputs = read_inputs([path], config, "lbx")
        read_s = time.perf_counter() - began
    began = time.perf_counter()
    rows = mark_payments(inputs.rows, inputs.results, inputs.decimals)
    mark_s = time.perf_counter() - began
    began = time.perf_counter()
    plain = resolve(inputs.rows, 2, customers, invoices, "EUR")
    resolve_s = time.perf_counter() - began
    began = time.perf_counter()
    grouped = resolve_payments(rows, 2, lambda frame: resolve(frame, 2, customers, invoices, "EUR"))
    grouped_s = time.perf_counter() - began
    load = os.getloadavg()[0]
    print(f"lockbox lines {args.lines:,}: {len(inputs.rows):,} valid, load average {load:.2f}")
    print(f"read + validate (baseline)      {read_s:7.2f} s")
    print(f"mark_payments                   {mark_s:7.2f} s  ({mark_s / read_s:.2f}x the read)")
    print(f"resolve alone                   {resolve_s:7.2f} s  ({len(plain.rows):,} lines to post)")
    print(
        f"resolve_payments                {grouped_s:7.2f} s  ({grouped_s / resolve_s:.2f}x resolve alone; "
        f"{len(grouped.rows):,} to post, {len(grouped.review):,} for a person)"
    )
    reasons = grouped.review["reason_code"].value_counts().to_dict()
    print(f"review reasons: {reasons}")


if __name__ == "__main__":
    main()
