"""Rows BC would accept into the journal but refuse to post, held back for a person before sending.

A journal posts all or nothing: one line dated outside General Ledger Setup's allowed posting
dates, or one line whose customer has a "Code Mandatory" default dimension without a value,
makes the whole post fail. A line in a foreign currency needs an exchange rate valid at its posting
date (``Validate("Currency Code")`` reads it; BC refuses the line without one), and BC rounds an
amount to its currency's Amount Rounding Precision without a word (JPY: whole yen), so a payment
finer than that would be booked as another amount. Such rows go to review with a reason that names
the setup to change, and the rest of the run goes on; nothing of them is sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pandas as pd

from pipeline.bc import BCClient
from pipeline.bc.tenant import AllowedDates, missing_dimensions, read_allowed_dates, read_default_dimensions
from pipeline.config import currency_decimals
from pipeline.currency_setup import CurrencySetup, read_currency_setup
from schemas.codes import Review


@dataclass(frozen=True)
class PostingSetup:
    """What the tenant's setup demands of a row: its allowed dates, and per customer number the
    dimensions a line of that customer would lack."""

    dates: AllowedDates = field(default_factory=AllowedDates)
    missing: Mapping[str, list[str]] = field(default_factory=dict)
    currencies: Mapping[str, CurrencySetup] = field(default_factory=dict)
    """Per customer number in a foreign currency: that currency's setup in BC."""
    decimals: int | None = None
    """Decimals of the rows' ``amount_minor``; None: the ISO minor units of the row's currency."""


def read_posting_setup(
    client: BCClient,
    customer_numbers: Sequence[str],
    customers: Sequence[Mapping[str, Any]],
    decimals: int | None = None,
) -> PostingSetup:
    """Read the allowed dates and the default dimensions of these customers (one request per 100
    customers, or one paged read). The balancing account's cannot be read (API v2.0 has no G/L
    account dimensions): a rule there makes ``--post-journal`` fail with BC's message. When some
    of these customers are billed in a foreign currency, also that currency's rounding precision
    and exchange rates (two reads; none for a run in the local currency only)."""
    ids = {str(c.get("number", "")): str(c.get("id", "")).lower() for c in customers}
    wanted = sorted({n for n in customer_numbers if ids.get(n)})
    by_id = read_default_dimensions(client, [ids[n] for n in wanted]) if wanted else {}
    missing = {n: missing_dimensions(by_id.get(ids[n], [])) for n in wanted}
    currency_of = {str(c.get("number", "")): str(c.get("currencyCode") or "").upper() for c in customers}
    foreign = {n: currency_of[n] for n in wanted if currency_of.get(n)}
    setups = read_currency_setup(client, set(foreign.values())) if foreign else {}
    return PostingSetup(
        read_allowed_dates(client),
        {n: m for n, m in missing.items() if m},
        {n: setups[code] for n, code in foreign.items() if code in setups},
        decimals,
    )


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
    currency = setup.currencies.get(str(row.get("customerNumber", "")))
    if currency is not None and not currency.has_rate(day):
        return (
            Review.NO_EXCHANGE_RATE,
            f"BC has no exchange rate for {currency.code} valid on {day.isoformat()} ({_first(currency)}), "
            f"and a payment in {currency.code} needs one at its posting date: BC would "
            "refuse the line; add the exchange rate in BC (Currencies > Exch. Rates), then run the file again",
        )
    if currency is not None and currency.precision is not None:
        amount = Decimal(int(row["amount_minor"])).scaleb(-_decimals(row, setup))
        if amount % currency.precision != 0:
            return (
                Review.AMOUNT_PRECISION,
                f"amount {amount} {currency.code} is finer than BC's Amount Rounding Precision for "
                f"{currency.code} ({currency.precision}): BC would round it and book another amount; "
                "correct the amount, or post this payment by hand",
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


CHECKED_FIELDS = ("postingDate", "customerNumber", "amount_minor", "currency")
"""What ``unpostable_reason`` reads of a row."""
CHECK_CHUNK = 50_000
"""Rows turned into dicts at a time: a million rows of every column as dicts took some 3 GiB."""


def hold_back(to_post: pd.DataFrame, setup: PostingSetup) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split rows to post into (held back with reason_code and message, still to post) (pure; the
    caller may change either: pandas copies on write, so with nothing held back the rows still to
    post are not copied, which for a million rows is a frame's worth of memory)."""
    if to_post.empty:
        return to_post.iloc[0:0].copy(), to_post
    checked = to_post[[c for c in CHECKED_FIELDS if c in to_post.columns]]
    reasons = [
        unpostable_reason({str(k): v for k, v in row.items()}, setup)
        for start in range(0, len(checked), CHECK_CHUNK)
        for row in checked.iloc[start : start + CHECK_CHUNK].to_dict("records")
    ]
    held = pd.Series([r is not None for r in reasons], index=to_post.index)
    review = to_post[held].copy()
    if not review.empty:
        review["reason_code"] = [r[0] for r in reasons if r is not None]
        review["message"] = [r[1] for r in reasons if r is not None]
    return review, to_post.copy(deep=False) if review.empty else to_post[~held]


def _first(currency: CurrencySetup) -> str:
    return f"its first rate starts {currency.rate_dates[0].isoformat()}" if currency.rate_dates else "it has none"


def _decimals(row: Mapping[str, Any], setup: PostingSetup) -> int:
    if setup.decimals is not None:
        return setup.decimals
    return currency_decimals(str(row.get("currency") or ""))
