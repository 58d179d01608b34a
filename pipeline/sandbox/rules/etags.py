"""ETags in BC's shape, and BC's ``If-Match`` check.

Every entity carries an ``@odata.etag`` made from its id and version, and PATCH and DELETE of
journals and payments check it; one module, so that the writer and the check agree on the format.
"""

from __future__ import annotations

import base64
import re
import uuid

from pipeline.sandbox.errors import SandboxApiError
from pipeline.sandbox.rules.texts import ENTITY_CHANGED, MISSING_IF_MATCH


def etag(entity_id: str, version: int) -> str:
    """An ETag shaped like BC's (``W/"JzQ0O..."``: base64 of ``'<n>;<key>1;<version>;'``)."""
    key = base64.b64encode(uuid.UUID(entity_id).bytes).decode("ascii")
    raw = f"'{len(key)};{key}1;{version};'"
    return 'W/"' + base64.b64encode(raw.encode("ascii")).decode("ascii") + '"'


def _parse_etag(value: str) -> tuple[str, int] | None:
    """``(key, version)`` from an ETag this module wrote; None for anything else."""
    text = value.strip()
    if text.startswith("W/"):
        text = text[2:]
    text = text.strip('"')
    try:
        raw = base64.b64decode(text, validate=True).decode("ascii")
    except ValueError:
        return None
    m = re.fullmatch(r"'(\d+);(.*)1;(\d+);'", raw)
    if m is None or len(m.group(2)) != int(m.group(1)):
        return None
    return m.group(2), int(m.group(3))


def check_if_match(if_match: str | None, entity_id: str, version: int) -> None:
    """BC's concurrency check for PATCH and DELETE.

    Missing (or an unreadable token): 400 ``BadRequest_InvalidToken``; a readable token of
    another version or entity: 409 ``Request_EntityChanged``; ``*`` always passes.
    """
    if if_match is None or not if_match.strip():
        raise SandboxApiError(400, "BadRequest_InvalidToken", MISSING_IF_MATCH)
    key = base64.b64encode(uuid.UUID(entity_id).bytes).decode("ascii")
    readable = False
    for candidate in if_match.split(","):
        if candidate.strip() == "*":
            return
        parsed = _parse_etag(candidate)
        if parsed is None:
            continue
        readable = True
        if parsed == (key, version):
            return
    if not readable:
        raise SandboxApiError(400, "BadRequest_InvalidToken", MISSING_IF_MATCH)
    raise SandboxApiError(409, "Request_EntityChanged", ENTITY_CHANGED)
