"""Errors in Business Central's shape: ``{"error": {"code", "message"}}``, message ending in a correlation id."""

from __future__ import annotations

import uuid
from typing import Any


class SandboxApiError(Exception):
    """An error response of the emulated BC API (HTTP status, BC error code, message text).

    This is what the *server* answers with; the client's view of such an answer is the product's
    ``pipeline.errors.BCError``. The two are kept apart (and named apart) so that the sandbox
    never depends on the product and a reader never mistakes one side's error for the other's.
    """

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON body; BC appends ``  CorrelationId:  <guid>.`` to every message."""
        return {"error": {"code": self.code, "message": f"{self.message}  CorrelationId:  {uuid.uuid4()}."}}


def dialog(message: str) -> SandboxApiError:
    """An AL ``Error(...)``: every validation error of the customerPayments page is one of these."""
    return SandboxApiError(400, "Application_DialogException", message)


def not_found(what: str) -> SandboxApiError:
    return SandboxApiError(404, "BadRequest_NotFound", f"The {what} does not exist.")


def no_resource(path: str) -> SandboxApiError:
    return SandboxApiError(
        404, "BadRequest_NotFound", f"No HTTP resource was found that matches the request URI '{path}'."
    )


QUERY_ERROR = "BadRequest_NotFound"


def query_error(message: str) -> SandboxApiError:
    """A query the OData library cannot parse or bind: BC lists these under ``BadRequest_NotFound`` (400)."""
    return SandboxApiError(400, QUERY_ERROR, message)
