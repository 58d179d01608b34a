"""Payments waiting in open journals count against the invoices they apply to.

BC lowers an invoice's ``remainingAmount`` only when a payment is *posted*. Until then, a payment
sitting in a customer payment journal (this tool's, from an earlier run, or a person's) is invisible
to it: a second statement paying the same invoice, or a re-drop of a file whose over-payments were
held for review, would see the whole amount still open and apply more than the invoice's remaining
amount between them. So before resolving, the lines still waiting in this tool's journals that
apply to an invoice are subtracted from that invoice's remaining amount (one read per journal
that may hold such lines, two fields each). A person's own journals are not read: BC lists lines
per journal only, and a company may keep hundreds of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from pipeline.bc import BCClient


def pending_by_invoice(client: BCClient, journal_ids: Iterable[str]) -> tuple[dict[str, Decimal], list[str]]:
    """Sum of the lines still in these journals that apply to an invoice, per invoice (BC's sign:
    receipts negative), and the journals that hold none any more (``Ledger.mark_drained``, so they
    are not read again every run). BC lists journal lines per journal only, so the journals are the
    ones where this tool's applied payments may still wait (``Ledger.journals_with_applied_payments``)."""
    pending: dict[str, Decimal] = {}
    drained: list[str] = []
    for journal_id in journal_ids:
        lines = client.get_all(
            f"customerPaymentJournals({journal_id})/customerPayments",
            {"$filter": "appliesToInvoiceNumber ne ''", "$select": "appliesToInvoiceNumber,amount"},
            read_only=False,
        )
        applied = 0
        for line in lines:
            number = str(line.get("appliesToInvoiceNumber") or "").upper()
            if number:
                applied += 1
                pending[number] = pending.get(number, Decimal(0)) + Decimal(str(line.get("amount") or 0))
        if not applied:
            drained.append(journal_id)
    return pending, drained


def net_of_pending(invoices: Iterable[Mapping[str, Any]], pending: Mapping[str, Decimal]) -> list[dict[str, Any]]:
    """The invoices with ``remainingAmount`` lowered by the receipts already waiting for them (never
    below zero: an invoice already fully paid in a journal has nothing left to apply)."""
    out = []
    for invoice in invoices:
        row = dict(invoice)
        waiting = pending.get(str(row.get("number", "")).upper())
        if waiting:
            remaining = Decimal(str(row.get("remainingAmount") or 0)) + waiting
            row["remainingAmount"] = max(remaining, Decimal(0))
        out.append(row)
    return out
