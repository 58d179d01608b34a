"""Server-driven paging, as BC pages a collection.

The ``Prefer: odata.maxpagesize`` preference, pages of ``min(requested, server maximum)``
entities, and the opaque ``$skiptoken`` of ``@odata.nextLink`` that resumes after the last
entity sent even when rows were inserted or deleted before it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, unquote_plus, urlsplit, urlunsplit

from pipeline.sandbox.errors import query_error


def preferences(header_value: str | None) -> dict[str, str | None]:
    """The ``Prefer`` header as ``name -> value`` (names lower-cased; ``None`` without ``=``).

    Several ``Prefer`` headers may be joined with commas before calling this.
    """
    found: dict[str, str | None] = {}
    for item in (header_value or "").split(","):
        head = item.split(";", 1)[0].strip()
        if not head:
            continue
        name, sep, value = head.partition("=")
        found[name.strip().lower()] = value.strip().strip('"') if sep else None
    return found


def _requested_page_size(header_value: str | None) -> int | None:
    prefs = preferences(header_value)
    raw = prefs.get("odata.maxpagesize", prefs.get("maxpagesize"))
    if raw is None or not raw.isdigit() or int(raw) <= 0:
        return None
    return int(raw)


def page_size_from_prefer(header_value: str | None, max_page_size: int) -> int:
    """``min(odata.maxpagesize, max_page_size)``; a missing or unreadable preference gives the maximum.

    A preference is a hint (RFC 7240), so a malformed one is ignored rather than refused.
    """
    requested = _requested_page_size(header_value)
    return max_page_size if requested is None else min(requested, max_page_size)


def preference_applied(header_value: str | None, max_page_size: int) -> str | None:
    """The ``Preference-Applied`` value (``odata.maxpagesize=N``) when the requested size was honoured."""
    requested = _requested_page_size(header_value)
    if requested is None or requested > max_page_size:
        return None
    return f"odata.maxpagesize={requested}"


def _encode_token(offset: int, last_id: object) -> str:
    raw = json.dumps([offset, last_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _decode_token(token: str) -> tuple[int, object]:
    invalid = query_error(f"The skip token '{token}' is not valid.")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        decoded = json.loads(raw)
    except (binascii.Error, ValueError):
        raise invalid from None
    if (
        not isinstance(decoded, list)
        or len(decoded) != 2
        or not isinstance(decoded[0], int)
        or isinstance(decoded[0], bool)
        or decoded[0] < 0
    ):
        raise invalid
    return decoded[0], decoded[1]


def resume_point(skiptoken: str | None) -> tuple[int, object]:
    """``(offset, last id)`` of a ``$skiptoken`` (``(0, None)`` without one), for a reader that pages by key.

    Raises:
        SandboxApiError: the same 400 as :func:`page` for a token it cannot read.
    """
    return (0, None) if skiptoken is None else _decode_token(skiptoken)


def next_token(start: int, items: Sequence[dict[str, Any]], page_size: int, more: bool) -> str | None:
    """The token :func:`page` would give for ``items`` sent from position ``start`` (``None`` at the end)."""
    if not more:
        return None
    return _encode_token(start + page_size, items[-1].get("id") if items else None)


def page(
    entities: Sequence[dict[str, Any]], page_size: int, skiptoken: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of an already queried result and the skip token of the next page (``None`` at the end).

    The caller re-applies the same query on every page request (the next link repeats it), then
    passes ``Query.skiptoken`` here.
    """
    if page_size <= 0:
        raise ValueError(f"page_size must be positive, not {page_size}")
    start = 0
    if skiptoken is not None:
        offset, last_id = _decode_token(skiptoken)
        start = min(offset, len(entities))
        if last_id is not None and not (0 < offset <= len(entities) and entities[offset - 1].get("id") == last_id):
            for index, entity in enumerate(entities):
                if entity.get("id") == last_id:
                    start = index + 1
                    break
    items = list(entities[start : start + page_size])
    return items, next_token(start, items, page_size, start + page_size < len(entities))


def next_link(request_url: str, skiptoken: str) -> str:
    """The request URL with its ``$skiptoken`` replaced (or added); other parameters kept as sent."""
    parts = urlsplit(request_url)
    kept = [
        item for item in parts.query.split("&") if item and unquote_plus(item.split("=", 1)[0]).lower() != "$skiptoken"
    ]
    kept.append("$skiptoken=" + quote(skiptoken, safe=""))
    return urlunsplit(parts._replace(query="&".join(kept)))
