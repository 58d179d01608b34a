"""Foreign currencies as BC holds them, for the checks before sending and ``payimport doctor``:
each one's Amount Rounding Precision (``currencies``) and the starting dates of its exchange rates
(``currencyExchangeRates``, API v2.0 page 30085, read-only). Reads only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from pipeline.bc import BCClient
from pipeline.errors import BCPermanentError


@dataclass(frozen=True)
class CurrencySetup:
    """A foreign currency as BC holds it: its Amount Rounding Precision (None when BC does not
    say) and the starting dates of its exchange rates (None when BC's rates cannot be read)."""

    code: str
    precision: Decimal | None = None
    rate_dates: tuple[date, ...] | None = None

    def has_rate(self, day: date) -> bool:
        """A rate starts on or before ``day`` (``CurrExchRate.FindCurrency``); unknown rates: yes."""
        return self.rate_dates is None or any(start <= day for start in self.rate_dates)


def read_currency_setup(client: BCClient, codes: set[str]) -> dict[str, CurrencySetup]:
    """``currencies`` (amountRoundingPrecision) and ``currencyExchangeRates`` (page 30085, read-only:
    currencyCode, startingDate) for those of these codes BC has a Currency for. A tenant without the
    rates page leaves the rates unknown (BC then refuses a line without a rate itself: reported as
    rejected, never sent twice)."""
    precision: dict[str, Decimal | None] = {}
    for row in client.get_all("currencies", {"$select": "code,amountRoundingPrecision"}, read_only=True):
        code = str(row.get("code", "")).upper()
        if code in codes:
            precision[code] = _positive(row.get("amountRoundingPrecision"))
    dates: dict[str, list[date]] | None = {code: [] for code in codes}
    try:
        for row in client.get_all("currencyExchangeRates", {"$select": "currencyCode,startingDate"}, read_only=True):
            code = str(row.get("currencyCode", "")).upper()
            if dates is not None and code in dates and row.get("startingDate"):
                dates[code].append(date.fromisoformat(str(row["startingDate"])[:10]))
    except BCPermanentError as exc:
        if exc.status != 404:
            raise
        dates = None
    # a code BC has no Currency record for is the local currency written out: nothing to check
    return {
        code: CurrencySetup(code, precision[code], None if dates is None else tuple(sorted(dates[code])))
        for code in codes
        if code in precision
    }


def _positive(value: object) -> Decimal | None:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() and number > 0 else None
