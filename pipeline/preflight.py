"""Rows BC would accept into the journal but refuse to post, held back for a person before sending.

A journal posts all or nothing: one line dated outside General Ledger Setup's allowed posting
dates, or one line whose customer has a "Code Mandatory" default dimension without a value,
makes the whole post fail. Such rows go to review with a reason
that names the setup to change, and the rest of the run goes on; nothing of them is sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pipeline.bc import BCClient
from pipeline.bc.tenant import AllowedDates, missing_dimensions, read_allowed_dates, read_default_dimensions
from schemas.codes import Review


@dataclass(frozen=True)
class PostingSetup:
    """What the tenant's setup demands of a row: its allowed dates, and per customer number the
    dimensions a line of that customer would lack."""

    dates: AllowedDates = field(default_factory=AllowedDates)
    missing: Mapping[str, list[str]] = field(default_factory=dict)


def read_posting_setup(
    client: BCClient, customer_numbers: Sequence[str], customers: Sequence[Mapping[str, Any]]
) -> PostingSetup:
    """Read the allowed dates and the default dimensions of these customers (one request per 100
    customers, or one paged read). The balancing account's cannot be read (API v2.0 has no G/L
    account dimensions): a rule there makes ``--post-journal`` fail with BC's message."""
    ids = {str(c.get("number", "")): str(c.get("id", "")).lower() for c in customers}
    wanted = sorted({n for n in customer_numbers if ids.get(n)})
    by_id = read_default_dimensions(client, [ids[n] for n in wanted]) if wanted else {}
    missing = {n: missing_dimensions(by_id.get(ids[n], [])) for n in wanted}
    return PostingSetup(read_allowed_dates(client), {n: m for n, m in missing.items() if m})


def unpostable_reason(row: Mapping[str, Any], setup: PostingSetup) -> tuple[str, str] | None:
    """(reason code, message) when BC would refuse to post this row, else None (pure)."""
    day = pd.Timestamp(row["postingDate"]).date()
    if not setup.dates.allows(day):
        return (
            Review.POSTING_DATE_NOT_ALLOWED,
            f"posting date {day.isoformat()} is outside the allowed posting dates in BC ({setup.dates.describe()}, "
            "General Ledger Setup): BC would refuse to post the whole journal; have the allowed dates changed "
            "in BC, then run the file again",
        )
    missing = setup.missing.get(str(row.get("customerNumber", "")), [])
    if missing:
        return (
            Review.DIMENSION_REQUIRED,
            f"BC requires a value for dimension(s) {', '.join(missing)} (Code Mandatory on customer "
            f"{row['customerNumber']}) and this tool sends no dimensions: BC would refuse to post the whole "
            "journal; give the customer's default dimension a value in BC, or post this payment by hand",
        )
    return None


def hold_back(to_post: pd.DataFrame, setup: PostingSetup) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split rows to post into (held back with reason_code and message, still to post) (pure)."""
    if to_post.empty:
        return to_post.iloc[0:0].copy(), to_post
    reasons = [unpostable_reason({str(k): v for k, v in row.items()}, setup) for row in to_post.to_dict("records")]
    held = pd.Series([r is not None for r in reasons], index=to_post.index)
    review = to_post[held].copy()
    if not review.empty:
        review["reason_code"] = [r[0] for r in reasons if r is not None]
        review["message"] = [r[1] for r in reasons if r is not None]
    return review, to_post[~held].copy()
