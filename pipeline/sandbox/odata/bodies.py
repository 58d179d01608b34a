"""The JSON bodies going in and out of the API.

Exact-``Decimal`` JSON through ``pipeline.exactjson`` (the one product module the sandbox
shares: the client and the emulated server must agree on every number), and BC's response
envelopes (``@odata.context``, ``value``, ``@odata.nextLink``, ``@odata.count``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pipeline import exactjson


def context_url(api_root: str, path: str, *, select: Sequence[str] | None = None, entity: bool = False) -> str:
    """``{api_root}/$metadata#{path}[(select)][/$entity]``, the shape of BC's ``@odata.context``.

    ``path`` is the entity-set path with the keys of the parents only
    (``companies(<id>)/customerPaymentJournals(<id>)/customerPayments``).
    """
    url = f"{api_root.rstrip('/')}/$metadata#{path}"
    if select:
        url += f"({','.join(select)})"
    return url + "/$entity" if entity else url


def collection_body(
    context: str, items: Sequence[Mapping[str, Any]], next_link: str | None, *, count: int | None = None
) -> dict[str, Any]:
    """``{"@odata.context", ["@odata.count",] "value", ["@odata.nextLink"]}``."""
    body: dict[str, Any] = {"@odata.context": context}
    if count is not None:
        body["@odata.count"] = count
    body["value"] = [dict(item) for item in items]
    if next_link is not None:
        body["@odata.nextLink"] = next_link
    return body


def entity_body(context: str, item: Mapping[str, Any]) -> dict[str, Any]:
    """A single entity with ``@odata.context`` first, ending in ``/$entity``."""
    if not context.endswith("/$entity"):
        context += "/$entity"
    return {"@odata.context": context, **{k: v for k, v in item.items() if k != "@odata.context"}}


def loads(data: bytes | str) -> Any:
    """Parse a JSON body with every non-integer number as ``Decimal`` (amounts stay exact).

    ``NaN`` and ``Infinity`` are refused, since they are not JSON. Raises ``ValueError``
    (``json.JSONDecodeError`` or ``UnicodeDecodeError``) on bad input.
    """
    return exactjson.loads(data)


def dumps(obj: object) -> bytes:
    """Compact UTF-8 JSON as BC writes it: ``Decimal`` as an exact number (never through float),
    dates ``YYYY-MM-DD``, date-times in UTC ending in ``Z``, GUIDs lower-case.
    """
    return exactjson.dumps(obj, strict=False)
