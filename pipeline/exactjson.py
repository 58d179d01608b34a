"""JSON for money, shared by the BC client and the sandbox: ``Decimal`` in, exact numbers out.

The standard ``json`` module can only write ``Decimal`` through ``float`` (or as a string, which
BC refuses for a decimal field), and ``-1234.50`` must cross the wire exactly as typed, in both
directions. ``dumps`` walks the value itself and writes each ``Decimal`` in plain positional
notation (``format(d, "f")``: no exponent, trailing zeros kept); ``loads`` reads every
non-integer number as ``Decimal`` and refuses ``NaN``/``Infinity``.

``strict`` is the client's mode: a ``float``, a date-time or a GUID object in a request body is a
bug to surface (money is never a float here), so it raises ``TypeError``. The sandbox writes
BC's responses leniently: date-times in UTC ending in ``Z``, GUIDs as text, finite floats.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from json.encoder import encode_basestring, encode_basestring_ascii
from typing import Any

__all__ = ["dumps", "loads"]


def loads(data: bytes | str) -> Any:
    """Parse JSON with non-integer numbers as ``Decimal``; ``NaN``/``Infinity`` are refused.

    Raises ``ValueError`` (``json.JSONDecodeError`` or ``UnicodeDecodeError``) on bad input.
    """
    return json.loads(data, parse_float=Decimal, parse_constant=_refuse_constant)


def dumps(obj: object, *, strict: bool) -> bytes:
    """Compact UTF-8 JSON (see the module docstring for ``strict``). A lone surrogate in a text
    (from a ``"\\ud800"`` escape) cannot be UTF-8: the whole text is then written ASCII-escaped."""
    out: list[str] = []
    _write(obj, out, encode_basestring, strict)
    try:
        return "".join(out).encode("utf-8")
    except UnicodeEncodeError:
        out.clear()
        _write(obj, out, encode_basestring_ascii, strict)
        return "".join(out).encode("ascii")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _write(value: object, out: list[str], encode: Callable[[str], str], strict: bool) -> None:
    """Append ``value`` as JSON to ``out``.

    The checks run in one fixed order (scalars, then objects and arrays, then the lenient-only
    types) because the order decides ambiguous cases: ``True`` is an ``int`` and must stay
    ``true``, a ``datetime`` is a ``date`` and must keep its time.
    """
    text = _scalar_text(value, encode, strict)
    if text is not None:
        out.append(text)
    elif isinstance(value, Mapping):
        _write_object(value, out, encode, strict)
    elif isinstance(value, list | tuple):
        _write_array(value, out, encode, strict)
    else:
        out.append(_other_text(value, encode, strict))


def _scalar_text(value: object, encode: Callable[[str], str], strict: bool) -> str | None:
    """JSON text of a plain JSON scalar (text, null, boolean, number), or ``None`` when ``value``
    is not one, so that the caller goes on to containers."""
    if isinstance(value, str):
        return encode(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)  # an IntEnum would otherwise write its name
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a JSON number")
        return format(value, "f")
    if isinstance(value, float) and not strict:
        if not math.isfinite(value):
            raise ValueError(f"{value} is not a JSON number")
        return float.__repr__(value)
    return None


def _write_object(value: Mapping[Any, Any], out: list[str], encode: Callable[[str], str], strict: bool) -> None:
    """A mapping as a JSON object; a non-text key is a bug in the caller, not something to coerce."""
    out.append("{")
    for index, (key, item) in enumerate(value.items()):
        if not isinstance(key, str):
            raise TypeError(f"JSON object keys must be str, not {type(key).__name__}")
        if index:
            out.append(",")
        out.append(encode(key))
        out.append(":")
        _write(item, out, encode, strict)
    out.append("}")


def _write_array(
    value: list[Any] | tuple[Any, ...], out: list[str], encode: Callable[[str], str], strict: bool
) -> None:
    """A list or tuple as a JSON array."""
    out.append("[")
    for index, item in enumerate(value):
        if index:
            out.append(",")
        _write(item, out, encode, strict)
    out.append("]")


def _other_text(value: object, encode: Callable[[str], str], strict: bool) -> str:
    """JSON text of the types only the lenient (sandbox) mode writes, plus dates; anything else,
    and a float in strict mode, raises ``TypeError`` so that the bug surfaces at the caller."""
    if isinstance(value, datetime) and not strict:
        return encode(_format_datetime(value))
    if isinstance(value, date) and not isinstance(value, datetime):
        return encode(value.isoformat())
    if isinstance(value, uuid.UUID) and not strict:
        return encode(str(value))
    if isinstance(value, float):
        raise TypeError(f"refusing to write the float {value!r} to JSON: use Decimal for amounts")
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _format_datetime(value: datetime) -> str:
    utc = value.astimezone(UTC) if value.tzinfo is not None else value
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond:06d}".rstrip("0")
    return text + "Z"
