"""Exact money: integer minor units <-> ``Decimal`` <-> exact text <-> an Excel number cell.

Why one module: a payment import that is off by a cent is wrong, and a float cannot hold 0.10
exactly. Amounts therefore live as integer *minor units* (cents; whole yen when a currency has no
decimals) from parsing to posting, and every conversion to and from that form is here, exact and
without float, so there is one place to read to trust it:

* ``minor_to_decimal`` / ``decimal_to_minor`` / ``exact_minor``: minor units <-> ``Decimal``. A value
  with more places than the currency has is never rounded: it is ``None`` (BC read back: "not the
  amount we sent") or an error (``exact_minor``).
* ``minor_text`` (one value) and ``money_text`` (a pandas column): exact decimal text, what BC's
  JSON, the ledger and the reports carry (``-123456`` with 2 decimals is ``"-1234.56"``).
* ``decimal_text``: a ``Decimal`` in major units as people read it (an invoice's remaining amount).
* ``remaining_in_minor``: an invoice's remaining amount as floor minor units plus "was it whole",
  so a remaining amount finer than the minor unit is compared exactly, never rounded.
* ``exact_float``: the **only** float: a number for an Excel cell, given only when the float stands
  for exactly the amount (otherwise the report writes exact text).

``decimals`` is the currency's number of places (0 to 4 in BC); the same number of places is used
on both sides of a conversion, so ``minor_text(m, d)`` equals ``str(minor_to_decimal(m, d))``.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

import pandas as pd

MAX_SIGNIFICANT = 15
"""Significant digits Excel keeps and shows of a double: a longer amount is written as text."""


def minor_to_decimal(minor: int, decimals: int) -> Decimal:
    """Exact ``Decimal`` of integer minor units, built digit by digit (no context rounding, no float).

    ``-123456`` with 2 decimals is ``Decimal("-1234.56")``; zero keeps its places (``0.00``).
    """
    digits = tuple(int(c) for c in str(abs(int(minor))))
    return Decimal((1 if minor < 0 else 0, digits, -decimals))


def decimal_to_minor(value: object, decimals: int) -> int | None:
    """An exact amount in minor units, or None when it has more places than the currency (not exact).

    Accepts ``Decimal``, ``int`` and decimal text: what ``exactjson.loads`` returns for BC's JSON. A
    ``float`` is refused: it has already lost the exact value, so a comparison with it would prove
    nothing.
    """
    if isinstance(value, bool | float):
        raise TypeError(f"amount {value!r} is a {type(value).__name__}; read BC's JSON with parse_float=Decimal")
    exact = Decimal(value) if isinstance(value, int | str) else value
    if not isinstance(exact, Decimal) or not exact.is_finite():
        raise TypeError(f"amount {value!r} is not an exact decimal number")
    scaled = exact.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        return None
    return int(scaled)


def exact_minor(value: object, decimals: int) -> int:
    """Like ``decimal_to_minor``, but an amount with too many places is an error, never rounded.

    For totals this program computed itself: a fraction of a minor unit there is a bug.
    """
    minor = decimal_to_minor(value, decimals)
    if minor is None:
        raise ValueError(f"amount {value!r} has more than {decimals} decimal places; it is not rounded")
    return minor


def minor_text(minor: int, decimals: int) -> str:
    """Exact decimal text of integer minor units: ``119000`` -> ``"1190.00"``, ``-5`` (3 places) ->
    ``"-0.005"``, ``1190`` (0 places) -> ``"1190"``.

    Integer arithmetic, so it is exact for any size and never switches to exponent notation.
    """
    if not decimals:
        return str(minor)
    whole, frac = divmod(abs(minor), 10**decimals)
    return f"{'-' if minor < 0 else ''}{whole}.{str(frac).zfill(decimals)}"


def money_text(minor: pd.Series, decimals: int) -> pd.Series:
    """``minor_text`` over a whole column of integer minor units, vectorised (no per-row Python)."""
    neg = minor < 0
    digits = minor.abs().astype("int64").astype("str").str.zfill(decimals + 1)
    body = digits.str.slice(0, -decimals) + "." + digits.str.slice(-decimals) if decimals else digits
    return body.where(~neg, "-" + body)


def decimal_text(value: Decimal, decimals: int) -> str:
    """A ``Decimal`` in major units as people read it: with the currency's places (``120`` ->
    ``"120.00"``), unless it has finer digits, which are shown rather than rounded away
    (``100.005`` stays ``"100.005"``)."""
    step = minor_to_decimal(1, decimals)
    if value == value.quantize(step):
        value = value.quantize(step)
    return f"{value:f}"


def remaining_in_minor(value: Decimal, decimals: int) -> tuple[int, bool]:
    """(floor of ``value`` in minor units, whether that floor is exactly ``value``).

    BC may hold a remaining amount finer than the currency's minor unit (``100.005`` with 2 places);
    comparing payments with the floor *and* knowing it was not whole keeps that comparison exact.
    """
    scaled = value.scaleb(decimals)
    floor = int(scaled.to_integral_value(rounding=ROUND_FLOOR))
    return floor, floor == scaled


def exact_float(minor: int, decimals: int) -> float | None:
    """The float of ``minor / 10**decimals`` when it stands for exactly that amount, else None.

    This is the one conversion to float, and it exists only to write a number cell in Excel, which
    stores doubles. Excel keeps 15 significant digits of a double; more digits, or a float whose
    shortest text is not the amount, would show a different number than the one posted, so the
    caller writes exact text instead.
    """
    digits = str(abs(minor)).rstrip("0")
    if len(digits) > MAX_SIGNIFICANT:
        return None
    value = minor / int(10**decimals)  # int / int is correctly rounded: no float on the way
    if Decimal(repr(value)) != minor_to_decimal(minor, decimals):
        return None
    return value


__all__ = [
    "MAX_SIGNIFICANT",
    "decimal_text",
    "decimal_to_minor",
    "exact_float",
    "exact_minor",
    "minor_text",
    "minor_to_decimal",
    "money_text",
    "remaining_in_minor",
]
