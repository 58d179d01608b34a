"""The run's lines frame: one line per input line, in the state it ended in (posted, already
posted, skipped, rejected, needs review), with its reason and, for payments, what was planned.

Every stage of a run adds its lines here in this one shape (``schemas.lines.RunLine``, cast once
by ``conform_lines``); the accounting and the reports read nothing else.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from pipeline.validate import FileResult
from schemas.codes import Outcome
from schemas.lines import conform_lines


def empty_lines() -> pd.DataFrame:
    """A lines frame with no line (every column present, typed)."""
    return conform_lines(pd.DataFrame())


def issue_lines(result: FileResult) -> pd.DataFrame:
    """Rejected rows (one line per row, every reason) and skipped rows of one file."""
    by_row: dict[int, list[Any]] = {}
    for issue in result.issues:
        by_row.setdefault(issue.source_row, []).append(issue)
    rejected = [
        {
            "source_file": result.file,
            "source_row": row,
            "state": "rejected",
            "reason_code": ",".join(dict.fromkeys(i.reason_code for i in issues)),
            "message": "; ".join(
                i.message if i.message.startswith(f"{i.column}:") else f"{i.column}: {i.message}" for i in issues
            ),
        }
        for row, issues in by_row.items()
    ]
    skips = result.skips
    skipped = pd.DataFrame(
        {
            "source_file": result.file,
            "source_row": skips["source_row"].astype("int64"),
            "state": "skipped",
            "reason_code": skips["reason_code"].astype("str"),
            "message": skips["detail"].astype("str"),
        }
    )
    return conform_lines(pd.concat([pd.DataFrame(rejected), skipped], ignore_index=True))


PAYMENT_COLUMNS = (
    "source_file",
    "source_row",
    "lineNumber",
    "key",
    "customerNumber",
    "appliesToInvoiceNumber",
    "amount_minor",
    "currency",
    "postingDate",
    "documentNumber",
    "externalDocumentNumber",
    "description",
)
"""What every payment row carries by the time it becomes a line (the rest is filled in by stages)."""


def payment_lines(frame: pd.DataFrame, state: str) -> pd.DataFrame:
    """Payment rows (resolved, planned or sent) as lines in ``state``: the one cast of ``schemas.lines``."""
    if frame.empty:
        return empty_lines()
    missing = [c for c in PAYMENT_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"payment rows without {missing} cannot become lines")
    return conform_lines(frame.assign(state=state))


def repeat_first_fate(lines: pd.DataFrame) -> pd.DataFrame:
    """A payment repeated within one run shares its first occurrence's fate: ``already_posted``
    when that one is in BC, else the same state (a repeat of a payment that needs review needs
    review too; it was never sent)."""
    repeat = (lines["reason_code"] == Outcome.DUPLICATE_IN_RUN).to_numpy()
    if not repeat.any():
        return lines
    first = lines[~repeat & lines["key"].notna()].drop_duplicates("key").set_index("key")["state"]
    fate = lines.loc[repeat, "key"].map(first).fillna("needs_review")
    lines.loc[repeat, "state"] = fate.where(~fate.isin(["posted", "already_posted"]), "already_posted")
    return lines


SPLIT_MARK = "#>"
"""Separates a receipt's key from the part that names one line of a split receipt (``K#>RE-1``).

A receipt that pays several invoices becomes several journal lines, and each line needs its own
exactly-once key, stable across runs: the receipt's key, this mark and the invoice number (``rest``
for the unapplied remainder; invoice numbers are upper-case, so it never collides). A receipt's own
key never contains the mark: a ``#`` from a bank's transaction id is doubled (``normalize``) and
hash keys have none, so ``K#>`` starts no other receipt's key."""


def split_line_key(receipt_key: str, invoice_number: str) -> str:
    """The key of the line of a split receipt that applies to ``invoice_number`` ("" = the remainder)."""
    return f"{receipt_key}{SPLIT_MARK}{invoice_number or 'rest'}"


def receipt_key(key: str) -> str:
    """The receipt a line belongs to: its own key, or the receipt's key for a line of a split one."""
    head, mark, _tail = key.rpartition(SPLIT_MARK)
    return head if mark else key
