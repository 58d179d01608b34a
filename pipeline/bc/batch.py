"""The JSON ``$batch`` envelope: building the request body and reading the per-operation answers.

BC answers a parsable batch with HTTP 200 and one ``{"id", "status", "headers", "body"}`` per
operation that *ran*; by default it stops at the first failure and leaves the later operations
out of the response (bc-api.md 3.7). :func:`parse_batch_response` therefore returns one result per
operation *sent*, in request order: an operation missing from the response gets status None and
a "transient, not executed" verdict, so the caller can simply send it again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.bc.classify import Verdict, classify

__all__ = [
    "MAX_BATCH_OPERATIONS",
    "NOT_EXECUTED",
    "BatchOp",
    "OpResult",
    "build_batch_body",
    "parse_batch_response",
]

MAX_BATCH_OPERATIONS = 100
"""BC online's documented maximum of operations per ``$batch`` (bc-api.md 3.8)."""

NOT_EXECUTED = Verdict(
    kind="transient",
    status=None,
    code="NotExecuted",
    message="BC did not run this operation: the batch stopped at an earlier failure",
    retry_after_s=None,
    maybe_executed=False,
)
"""The verdict of an operation absent from the batch response."""


@dataclass(frozen=True)
class BatchOp:
    """One operation. ``url`` is relative to the API root, e.g.
    ``companies(<cid>)/customerPaymentJournals(<jid>)/customerPayments`` (see ``BCClient.company_path``).
    ``id`` must be unique within a batch."""

    id: str
    method: str
    url: str
    body: Mapping[str, Any] | None = None
    headers: Mapping[str, str] | None = None


@dataclass(frozen=True)
class OpResult:
    """The answer to one operation: ``status``/``body`` as BC sent them (None when not run)."""

    id: str
    status: int | None
    body: Any
    verdict: Verdict


def build_batch_body(ops: Sequence[BatchOp]) -> dict[str, Any]:
    """``{"requests": [...]}`` for ``ops``; ``Content-Type: application/json`` is added to each
    operation that has a body. Raises ValueError for more than 100 operations, duplicate ids or
    an absolute URL (operations address the API root, which the batch endpoint already names)."""
    if len(ops) > MAX_BATCH_OPERATIONS:
        raise ValueError(f"a $batch holds at most {MAX_BATCH_OPERATIONS} operations, not {len(ops)}")
    seen: set[str] = set()
    requests: list[dict[str, Any]] = []
    for op in ops:
        if not op.id:
            raise ValueError("every batch operation needs an id")
        if op.id in seen:
            raise ValueError(f"the batch operation id {op.id!r} is used more than once")
        if "://" in op.url:
            raise ValueError(f"batch operation {op.id!r}: the url must be relative to the API root, not {op.url!r}")
        seen.add(op.id)
        headers = dict(op.headers or {})
        if op.body is not None and not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = "application/json"
        request: dict[str, Any] = {"id": op.id, "method": op.method.upper(), "url": op.url.lstrip("/")}
        if headers:
            request["headers"] = headers
        if op.body is not None:
            request["body"] = op.body
        requests.append(request)
    return {"requests": requests}


def parse_batch_response(ops: Sequence[BatchOp], body: Any) -> list[OpResult]:
    """One :class:`OpResult` per operation of ``ops``, in their order, from a ``$batch`` 200 body.

    Raises ValueError when the body is not ``{"responses": [...]}`` with an ``id`` and integer
    ``status`` per item: the caller cannot tell which operations ran.
    """
    if not isinstance(body, Mapping) or not isinstance(body.get("responses"), list):
        raise ValueError("the $batch response has no 'responses' array")
    answers: dict[str, Mapping[str, Any]] = {}
    for item in body["responses"]:
        if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
            raise ValueError("a $batch response item has no 'id'")
        status = item.get("status")
        if not isinstance(status, int) or isinstance(status, bool):
            raise ValueError(f"the $batch response item {item['id']!r} has no integer 'status'")
        answers[item["id"]] = item
    results: list[OpResult] = []
    for op in ops:
        answer = answers.get(op.id)
        if answer is None:
            results.append(OpResult(op.id, None, None, NOT_EXECUTED))
            continue
        headers = answer.get("headers")
        header_map: Mapping[str, str] = headers if isinstance(headers, Mapping) else {}
        op_body = answer.get("body")
        results.append(OpResult(op.id, answer["status"], op_body, classify(answer["status"], header_map, op_body)))
    return results
