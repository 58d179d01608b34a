"""JSON for money in the BC client: the strict mode of ``pipeline.exactjson``.

``-1234.50`` must reach BC exactly as typed, so ``Decimal`` is written digit for digit; a
``float`` (or a date-time, or a GUID object) in a request body is a bug to surface, not to round,
so it raises ``TypeError``. ``loads`` parses every non-integer number as ``Decimal``.
"""

from __future__ import annotations

from pipeline.exactjson import dumps as _dumps
from pipeline.exactjson import loads

__all__ = ["dumps", "loads"]


def dumps(obj: object) -> bytes:
    """UTF-8 JSON for ``obj`` (dicts with string keys, lists/tuples, str, int, bool, None,
    ``Decimal``, ``datetime.date`` as ``YYYY-MM-DD``). Raises TypeError for anything else,
    ``float`` included, and ValueError for a NaN or infinite ``Decimal``."""
    return _dumps(obj, strict=True)
