"""JSON for money: ``Decimal`` in, exact JSON numbers out, and back to ``Decimal`` on the way in.

The standard ``json`` module can only write ``Decimal`` by going through ``float`` (or as a
string, which BC refuses for a decimal field), and ``-1234.50`` must reach BC exactly as typed.
``dumps`` therefore walks the (small) request bodies itself and writes each ``Decimal`` in plain
positional notation (``format(d, "f")``: no exponent, trailing zeros kept). ``float`` is refused
outright: money is never a float in this project, and a float sneaking into a body is a bug to
surface, not to round. ``loads`` parses every non-integer number as ``Decimal``.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

__all__ = ["dumps", "loads"]

_encode_str = json.JSONEncoder(ensure_ascii=False).encode


def dumps(obj: Any) -> bytes:
    """UTF-8 JSON for ``obj`` (dicts with string keys, lists/tuples, str, int, bool, None,
    ``Decimal``, ``datetime.date`` as ``YYYY-MM-DD``). Raises TypeError for anything else,
    ``float`` included, and ValueError for a NaN or infinite ``Decimal``."""
    parts: list[str] = []
    _write(obj, parts)
    return "".join(parts).encode("utf-8")


def loads(data: bytes | str) -> Any:
    """Parse JSON with non-integer numbers as ``Decimal``; ``NaN``/``Infinity`` are refused."""
    return json.loads(data, parse_float=Decimal, parse_constant=_refuse_constant)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _write(obj: Any, out: list[str]) -> None:
    if obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif isinstance(obj, str):
        out.append(_encode_str(obj))
    elif isinstance(obj, int):
        out.append(int.__repr__(obj))  # an IntEnum would otherwise write its name
    elif isinstance(obj, Decimal):
        out.append(_decimal(obj))
    elif isinstance(obj, float):
        raise TypeError(f"refusing to write the float {obj!r} to JSON: use Decimal for amounts")
    elif isinstance(obj, Mapping):
        _write_object(obj, out)
    elif isinstance(obj, list | tuple):
        out.append("[")
        for index, item in enumerate(obj):
            if index:
                out.append(",")
            _write(item, out)
        out.append("]")
    elif isinstance(obj, datetime.date) and not isinstance(obj, datetime.datetime):
        out.append(f'"{obj.isoformat()}"')
    else:
        raise TypeError(f"cannot write {type(obj).__name__} to JSON")


def _write_object(obj: Mapping[Any, Any], out: list[str]) -> None:
    out.append("{")
    for index, (key, value) in enumerate(obj.items()):
        if not isinstance(key, str):
            raise TypeError(f"JSON object keys must be strings, not {type(key).__name__}")
        if index:
            out.append(",")
        out.append(_encode_str(key))
        out.append(":")
        _write(value, out)
    out.append("}")


def _decimal(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"{value} cannot be written as a JSON number")
    return format(value, "f")
