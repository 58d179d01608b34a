"""OData JSON ``$batch`` as Business Central runs it (bc-api.md 3.7).

The HTTP layer parses the body with :func:`parse_batch`, then hands the operations to
`run_batch` together with a callable that performs one
operation exactly as a single request would and returns its status, headers and body. This
module owns only the batch semantics:

* Operations run one after the other, in the order sent.
* By default the batch stops at the first failing operation (status >= 400). What ran before it
  stays committed; the failing operation is reported; the later ones are not executed and are
  left out of the response.
* ``Prefer: odata.continue-on-error`` runs every operation, each with its own status.
* ``Isolation: snapshot`` makes the batch one transaction: if any operation fails, the caller's
  :class:`Snapshot` is rolled back, yet the operations that ran before still report their
  success statuses (BC does exactly this, so a 201 in the response may describe undone work).
* The overall HTTP status is 200 whenever the batch could be parsed; errors live per operation.

Choices where BC's behaviour is not written down:

* More than ``max_operations`` operations: 400 with code ``Unknown`` and the OData library's
  message "The current batch message contains too many parts. A maximum number of '100' query
  operations and change sets are allowed in a batch message." (reported by users of BC online;
  the status is not documented, and OData raises it while reading the request, so 400).
* A body that is not JSON, or not ``{"requests": [...]}`` with well-formed requests: 400
  ``BadRequest`` "Invalid Request Body: …" (BC's text for an unreadable body, plus the reason).
* Absolute request URLs are accepted and reduced to the part after ``/api/v2.0/``; an absolute
  URL outside that root is refused. A leading ``/`` on a relative URL is dropped.
* ``Isolation: snapshot`` together with ``continue-on-error``: every operation runs, and the
  whole batch is rolled back at the end if any failed (all or nothing, as snapshot promises).
* ``dependsOn`` (OData 4.01) is accepted; it must name earlier requests. An operation whose
  dependency failed is not executed and reports 424 Failed Dependency (only reachable with
  ``continue-on-error``, since otherwise the batch has stopped already).
* ``atomicityGroup`` with more than one request in a group: the whole batch is refused before
  any request runs (400 ``BadRequest``, the text BC answers for a change set of several requests,
  microsoft/AL#5553), so a group is never half applied. BC's transaction mechanism is
  ``Isolation: snapshot``. A group of one request is the request alone.
* A response item has no ``body`` key when the operation returned none (204), as in the OData
  JSON batch format.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl

from pipeline.sandbox.errors import SandboxApiError
from pipeline.sandbox.odata.bodies import loads
from pipeline.sandbox.odata.paging import preferences

__all__ = [
    "API_ROOT_MARKER",
    "METHODS",
    "Operation",
    "OperationResult",
    "Snapshot",
    "batch_preference_applied",
    "parse_batch",
    "run_batch",
    "wants_continue_on_error",
    "wants_snapshot",
]

API_ROOT_MARKER = "/api/v2.0/"
METHODS = frozenset({"GET", "POST", "PATCH", "PUT", "DELETE"})
FAILED_DEPENDENCY = 424


@dataclass(frozen=True)
class Operation:
    """One request of the batch. ``url`` is relative to the API root and keeps its query string.

    ``body`` is the parsed JSON (non-integer numbers as ``Decimal``) or ``None``.
    """

    id: str
    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    depends_on: tuple[str, ...] = ()

    def header(self, name: str) -> str | None:
        """A header of this operation, looked up case-insensitively."""
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None

    @property
    def path(self) -> str:
        """The URL without its query string (``companies(<id>)/customers``)."""
        return self.url.split("?", 1)[0]

    @property
    def params(self) -> dict[str, str]:
        """The query parameters, decoded (``{"$select": "id,number"}``)."""
        _, _, query = self.url.partition("?")
        return dict(parse_qsl(query, keep_blank_values=True))


@dataclass(frozen=True)
class OperationResult:
    """What one operation produced: the status, headers and JSON body of a single request."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None

    @classmethod
    def from_error(cls, error: SandboxApiError) -> OperationResult:
        return cls(error.status, dict(error.headers), error.body())

    @property
    def failed(self) -> bool:
        return self.status >= 400


class Snapshot(Protocol):
    """The caller's open transaction for ``Isolation: snapshot``.

    :func:`run_batch` calls ``rollback()`` at most once, when an operation failed (or the
    executor raised). If it was not called, the caller commits.
    """

    def rollback(self) -> None: ...


def _invalid(reason: str) -> SandboxApiError:
    return SandboxApiError(400, "BadRequest", f"Invalid Request Body: {reason}")


def _relative_url(url: str) -> str:
    marker = url.find(API_ROOT_MARKER)
    if marker >= 0:
        return url[marker + len(API_ROOT_MARKER) :]
    if "://" in url:
        raise _invalid(f"the URL '{url}' is not under the API root '{API_ROOT_MARKER}'.")
    return url.lstrip("/")


def _operation(index: int, raw: object, seen: set[str]) -> Operation:
    where = f"request {index + 1}"
    if not isinstance(raw, dict):
        raise _invalid(f"{where} is not a JSON object.")
    op_id = raw.get("id")
    if not isinstance(op_id, str) or not op_id:
        raise _invalid(f"{where} has no 'id' string.")
    where = f"request '{op_id}'"
    if op_id in seen:
        raise _invalid(f"the request id '{op_id}' is used more than once; ids must be unique in a batch.")
    method = raw.get("method")
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise _invalid(f"{where} has no valid 'method' (one of {', '.join(sorted(METHODS))}).")
    url = raw.get("url")
    if not isinstance(url, str) or not url.strip():
        raise _invalid(f"{where} has no 'url' string.")
    headers = raw.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(value, str) for value in headers.values()):
        raise _invalid(f"{where} has 'headers' that are not an object of strings.")
    depends_on = raw.get("dependsOn", [])
    if not isinstance(depends_on, list) or not all(isinstance(dep, str) for dep in depends_on):
        raise _invalid(f"{where} has a 'dependsOn' that is not an array of request ids.")
    for dep in depends_on:
        if dep not in seen:
            raise _invalid(f"{where} depends on '{dep}', which is not an earlier request of the batch.")
    return Operation(
        id=op_id,
        method=method.upper(),
        url=_relative_url(url.strip()),
        headers=dict(headers),
        body=raw.get("body"),
        depends_on=tuple(depends_on),
    )


def parse_batch(body: bytes, max_operations: int) -> list[Operation]:
    """The operations of a JSON ``$batch`` body, checked before any of them runs.

    Raises:
        SandboxApiError: 400 ``BadRequest`` for a malformed body, 400 ``Unknown`` for more than
            ``max_operations`` operations (see the module docstring).
    """
    try:
        document = loads(body)
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise _invalid(f"the body is not valid JSON ({error}).") from None
    requests = document.get("requests") if isinstance(document, dict) else None
    if not isinstance(requests, list):
        raise _invalid("a JSON batch must be an object with a 'requests' array.")
    if len(requests) > max_operations:
        raise SandboxApiError(
            400,
            "Unknown",
            "The current batch message contains too many parts. A maximum number of "
            f"'{max_operations}' query operations and change sets are allowed in a batch message.",
        )
    operations: list[Operation] = []
    seen: set[str] = set()
    groups: dict[str, int] = {}
    for index, raw in enumerate(requests):
        operation = _operation(index, raw, seen)
        seen.add(operation.id)
        operations.append(operation)
        group = raw.get("atomicityGroup") if isinstance(raw, dict) else None
        if group is not None:
            groups[str(group)] = groups.get(str(group), 0) + 1
    if any(count > 1 for count in groups.values()):
        raise SandboxApiError(400, "BadRequest", CHANGE_SETS_NOT_SUPPORTED)
    return operations


CHANGE_SETS_NOT_SUPPORTED = (
    "Multiple requests within the same change set are not supported by Microsoft Dynamics 365 Business Central "
    "OData web services."
)


def wants_continue_on_error(prefer_header: str | None) -> bool:
    """``Prefer: odata.continue-on-error`` (or 4.01's ``continue-on-error``, ``=false`` turns it off)."""
    prefs = preferences(prefer_header)
    for name in ("odata.continue-on-error", "continue-on-error"):
        if name in prefs:
            value = prefs[name]
            return value is None or value.lower() == "true"
    return False


def wants_snapshot(isolation_header: str | None) -> bool:
    """``Isolation: snapshot`` (BC 17.1+); any other value is ignored."""
    return (isolation_header or "").strip().lower() == "snapshot"


def batch_preference_applied(prefer_header: str | None) -> str | None:
    """The ``Preference-Applied`` value (``odata.continue-on-error``) when that preference is honoured."""
    return "odata.continue-on-error" if wants_continue_on_error(prefer_header) else None


class _Run:
    """The bookkeeping shared by the sync and async runners."""

    def __init__(self, continue_on_error: bool, snapshot: Snapshot | None) -> None:
        self.continue_on_error = continue_on_error
        self.snapshot = snapshot
        self.responses: list[dict[str, Any]] = []
        self.failed: set[str] = set()
        self.rolled_back = False

    def blocked(self, operation: Operation) -> OperationResult | None:
        """The 424 result of an operation whose dependency failed, else ``None`` (run it)."""
        for dep in operation.depends_on:
            if dep in self.failed:
                error = SandboxApiError(
                    FAILED_DEPENDENCY,
                    "BadRequest",
                    f"The request '{operation.id}' was not executed because the request '{dep}' it depends on failed.",
                )
                return OperationResult.from_error(error)
        return None

    def record(self, operation: Operation, result: OperationResult) -> bool:
        """Add the response; ``True`` when the batch goes on with the next operation."""
        response: dict[str, Any] = {"id": operation.id, "status": result.status, "headers": dict(result.headers)}
        if result.body is not None:
            response["body"] = result.body
        self.responses.append(response)
        if not result.failed:
            return True
        self.failed.add(operation.id)
        return self.continue_on_error

    def rollback(self) -> None:
        if self.snapshot is not None and not self.rolled_back:
            self.rolled_back = True
            self.snapshot.rollback()

    def finish(self) -> dict[str, Any]:
        if self.failed:
            self.rollback()
        return {"responses": self.responses}


def run_batch(
    operations: Sequence[Operation],
    execute: Callable[[Operation], OperationResult],
    *,
    continue_on_error: bool = False,
    snapshot: Snapshot | None = None,
) -> dict[str, Any]:
    """Run the operations in order and return the ``{"responses": [...]}`` body (sent with 200).

    ``execute`` returns BC errors as results; a :class:`SandboxApiError` it raises anyway is reported
    the same way. Any other exception is a bug: the snapshot (if any) is rolled back and the
    exception propagates.
    """
    run = _Run(continue_on_error, snapshot)
    try:
        for operation in operations:
            result = run.blocked(operation)
            if result is None:
                try:
                    result = execute(operation)
                except SandboxApiError as error:
                    result = OperationResult.from_error(error)
            if not run.record(operation, result):
                break
    except BaseException:
        run.rollback()
        raise
    return run.finish()
