"""Receipts split over several invoices, as the exactly-once machinery sees them.

A receipt that pays several invoices is posted as several journal lines sharing one
``documentNumber`` (BC's API applies a ``customerPayment`` line to at most one invoice). Each line
has its own ledger row, keyed ``<receipt key>#><invoice>`` (``pipeline.lines.split_line_key``), so
every line is planned, sent and settled exactly once on its own. The input, however, knows only the
receipt's key. This module is the bridge:

* ``receipt_records``: one record per split receipt, standing for all its lines, so the ledger split
  of a run (already imported? resumed? in conflict?) decides the receipt as a whole. A receipt whose
  lines were all created is imported; one with a line in doubt is in doubt; one created only in part
  by an earlier run is a conflict for a person (a line refused by BC must not be forgotten).
* ``expand_resumed``: a resumed receipt becomes its lines again, each as planned (lineNumber,
  amount, invoice from the ledger), so an interrupted run sends the lines it had not sent yet.
* ``one_line_per_receipt``: the run's report has one line per input line; the lines of a split
  receipt are shown as one (amounts summed, invoices listed, the least finished state).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from decimal import Decimal

import pandas as pd

from pipeline.ledger import RowRecord
from pipeline.lines import SPLIT_MARK, receipt_key

_STATE_ORDER = ("needs_review", "rejected", "posted", "already_posted")
"""The state a split receipt is shown in when its lines differ: the first one any line is in."""


def receipt_records(lines: Mapping[str, RowRecord]) -> dict[str, RowRecord]:
    """One record per split receipt from the records of its lines (module docstring), keyed by the
    receipt's key, carrying the first line's journal and lineNumber."""
    by_receipt: dict[str, list[RowRecord]] = {}
    for key, record in lines.items():
        by_receipt.setdefault(receipt_key(key), []).append(record)
    out: dict[str, RowRecord] = {}
    for key, records in by_receipt.items():
        records.sort(key=lambda r: (r.journal_id, r.line_number))
        out[key] = _as_one(key, records)
    return out


def _as_one(key: str, records: list[RowRecord]) -> RowRecord:
    states = {r.state for r in records}
    for state in ("sending", "conflict"):
        if state in states:
            return dataclasses.replace(next(r for r in records if r.state == state), key=key)
    created = [r for r in records if r.state == "created"]
    if created and len(created) < len(records) and len({r.run_id for r in records}) > 1:
        message = (
            f"{len(created)} of the {len(records)} lines of this split receipt are in Business Central "
            f"(journal {created[0].journal_code}), the others are not: a person checks"
        )
        return dataclasses.replace(created[0], key=key, state="conflict", error_message=message)
    return dataclasses.replace(created[0] if created else records[0], key=key)


def expand_resumed(resumed: pd.DataFrame, lines: Mapping[str, RowRecord], decimals: int) -> pd.DataFrame:
    """The resumed rows with each split receipt replaced by its lines as the ledger planned them."""
    if resumed.empty or not lines:
        return resumed
    by_receipt: dict[str, list[RowRecord]] = {}
    for key, record in lines.items():
        by_receipt.setdefault(receipt_key(key), []).append(record)
    parts: list[pd.DataFrame] = []
    for _, row in resumed.iterrows():
        family = sorted(by_receipt.get(str(row["key"]), []), key=lambda r: r.line_number)
        if not family:
            parts.append(row.to_frame().T)
            continue
        copies = pd.DataFrame([row] * len(family)).reset_index(drop=True)
        payloads = [r.payload for r in family]
        copies["key"] = [r.key for r in family]
        copies["lineNumber"] = [r.line_number for r in family]
        copies["appliesToInvoiceNumber"] = [str(p.get("appliesToInvoiceNumber", "")) for p in payloads]
        copies["appliesToInvoiceId"] = [str(p.get("appliesToInvoiceId", "")) for p in payloads]
        copies["amount_minor"] = [int(Decimal(str(p["amount"])).scaleb(decimals)) for p in payloads]
        parts.append(copies)
    out = pd.concat(parts, ignore_index=True)
    return out.astype(resumed.dtypes.to_dict())


def one_line_per_receipt(lines: pd.DataFrame) -> pd.DataFrame:
    """The run's lines with the lines of each split receipt shown as one (module docstring)."""
    if lines.empty:
        return lines
    keys = lines["key"].astype("str")
    split = keys.str.contains(SPLIT_MARK, regex=False)
    if not split.any():
        return lines
    lines = lines.copy()
    lines.loc[split, "key"] = [receipt_key(k) for k in keys[split]]
    place = ["source_file", "source_row"]
    several = lines.duplicated(place, keep=False) & split
    if not several.any():
        return lines
    merged = [_merged(group) for _, group in lines[several].groupby(place, sort=False)]
    out = pd.concat([lines[~several], pd.DataFrame(merged)], ignore_index=True)
    return out.astype(lines.dtypes.to_dict())


def _merged(group: pd.DataFrame) -> dict[str, object]:
    """One report line for the lines of one split receipt."""
    states = group["state"].astype("str").tolist()
    state = next(s for s in (*_STATE_ORDER, states[0]) if s in states)
    lead = group[group["state"] == state].iloc[0]
    row: dict[str, object] = {str(k): v for k, v in lead.to_dict().items()}
    row["amount_minor"] = int(group["amount_minor"].astype("int64").sum())

    def joined(column: str, sep: str) -> str:
        return sep.join(dict.fromkeys(v for v in group[column].astype("str") if v))

    row["appliesToInvoiceNumber"] = joined("appliesToInvoiceNumber", " ")
    row["bc_id"] = joined("bc_id", " ")
    row["message"] = joined("message", "; ")
    row["flags"] = ",".join(dict.fromkeys(f for v in group["flags"].astype("str") for f in v.split(",") if f))
    return row


__all__ = ["expand_resumed", "one_line_per_receipt", "receipt_records"]
