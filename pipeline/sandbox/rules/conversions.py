"""Small conversions between stored values and the forms BC writes them in.

GUIDs, Code fields, amounts and dates as BC's JSON and AL's message formatting write them, AL's
``IncStr``, and typed reads of a store row. Every entity module needs these, so they sit below
all of them and import nothing of the rules.
"""

from __future__ import annotations

import re
import sqlite3
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pipeline.sandbox.store import to_decimal

Entity = dict[str, Any]  # one entity in BC's v2.0 JSON shape, as every operation returns it

_GUID = re.compile(r"^\{?([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\}?$")
_CENT = Decimal("0.01")


def json_guid(text: str | None) -> str | None:
    """A GUID in BC's JSON form (lower-case, no braces), or None when ``text`` is not one."""
    if text is None:
        return None
    m = _GUID.match(text.strip().strip("'"))
    return m.group(1).lower() if m else None


def al_guid(text: str) -> str:
    """A GUID as AL's ``Format`` writes it into messages: upper-case, in braces."""
    key = json_guid(text)
    return "{" + key.upper() + "}" if key else text


def code_upper(text: str) -> str:
    """Code-field upper-casing that keeps the length (AL keeps ``ß``; Python would write ``SS``)."""
    return "".join(c.upper() if len(c.upper()) == 1 else c for c in text)


def round_cents(amount: Decimal) -> Decimal:
    """AL ``Round(x, 0.01)``: to the nearest cent, halves away from zero."""
    return amount.quantize(_CENT, rounding=ROUND_HALF_UP)


def json_amount(amount: Decimal) -> Decimal:
    """An amount in the minimal form BC writes in JSON (``1190``, ``84.99``, never ``-0``)."""
    if amount == 0:
        return Decimal(0)
    if amount == amount.to_integral_value():
        return amount.quantize(Decimal(1))
    return amount.normalize()


def json_date(text: str) -> str:
    """A stored date for JSON; BC writes its blank date (0D) as ``0001-01-01``."""
    return text or "0001-01-01"


def al_decimal(amount: Decimal) -> str:
    """A decimal as AL's ``Format`` writes it into a message: thousands separators, no trailing zeros."""
    sign = "-" if amount < 0 else ""
    whole = int(abs(amount))
    text = f"{whole:,}"
    fraction = abs(amount) - whole
    if fraction:
        text += format(fraction.normalize(), "f")[1:]
    return sign + text


def incstr(text: str) -> str:
    """AL ``IncStr``: add one to the last number in ``text``, keeping its width; ``''`` if none."""
    m = re.search(r"(\d+)(?!.*\d)", text)
    if m is None:
        return ""
    digits = m.group(1)
    return text[: m.start()] + str(int(digits) + 1).zfill(len(digits)) + text[m.end() :]


def row_str(row: sqlite3.Row, key: str) -> str:
    """A store column as text (the rules read every row through these typed accessors)."""
    return str(row[key])


def row_int(row: sqlite3.Row, key: str) -> int:
    """A store column as an integer."""
    return int(row[key])


def row_decimal(row: sqlite3.Row, key: str) -> Decimal:
    """A store column (stored as exact text) as a ``Decimal``."""
    return to_decimal(row[key])
