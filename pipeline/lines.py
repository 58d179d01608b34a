"""The run's lines frame: one line per input line, in the state it ended in (posted, already
posted, skipped, rejected, needs review), with its reason and, for payments, what was planned.

Every stage of a run adds its lines here in this one shape (``reconcile.LINE_COLUMNS``); the
accounting and the reports read nothing else.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from pipeline.reconcile import LINE_COLUMNS
from pipeline.validate import FileResult


def empty_lines() -> pd.DataFrame:
    """A lines frame with no line (every column present)."""
    return pd.DataFrame({c: pd.Series(dtype="object") for c in LINE_COLUMNS})


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
            "message": "; ".join(f"{i.column}: {i.message}" for i in issues),
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
    return pd.concat([pd.DataFrame(rejected), skipped], ignore_index=True)


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    """A text column that only some stages fill in ("" where the frame has none)."""
    return frame.get(column, pd.Series("", index=frame.index)).astype("str")


def payment_lines(frame: pd.DataFrame, state: str) -> pd.DataFrame:
    """Payment rows (resolved, planned or sent) as lines in ``state``."""
    if frame.empty:
        return empty_lines()
    return pd.DataFrame(
        {
            "source_file": frame["source_file"].astype("str"),
            "source_row": frame["source_row"].astype("int64"),
            "state": state,
            "reason_code": _text(frame, "reason_code"),
            "message": _text(frame, "message"),
            "lineNumber": frame["lineNumber"].astype("Int64"),
            "key": frame["key"].astype("str"),
            "customerNumber": frame["customerNumber"].astype("str"),
            "appliesToInvoiceNumber": frame["appliesToInvoiceNumber"].astype("str"),
            "amount_minor": frame["amount_minor"].astype("Int64"),
            "currency": frame["currency"].astype("str"),
            "postingDate": pd.to_datetime(frame["postingDate"]).dt.strftime("%Y-%m-%d"),
            "documentNumber": frame["documentNumber"].astype("str"),
            "externalDocumentNumber": frame["externalDocumentNumber"].astype("str"),
            "description": frame["description"].astype("str"),
            "bc_id": _text(frame, "bc_id"),
            "journal_code": _text(frame, "journal_code"),
            "flags": _text(frame, "flags"),
            "candidates": _text(frame, "candidates"),
        }
    )


def repeat_first_fate(lines: pd.DataFrame) -> pd.DataFrame:
    """A payment repeated within one run shares its first occurrence's fate: ``already_posted``
    when that one is in BC, else the same state (a repeat of a payment that needs review needs
    review too; it was never sent)."""
    repeat = (lines["reason_code"] == "duplicate_in_run").to_numpy()
    if not repeat.any():
        return lines
    first = lines[~repeat & lines["key"].notna()].drop_duplicates("key").set_index("key")["state"]
    fate = lines.loc[repeat, "key"].map(first).fillna("needs_review")
    lines.loc[repeat, "state"] = fate.where(~fate.isin(["posted", "already_posted"]), "already_posted")
    return lines
