"""Reading a request body as BC's OData reader and API pages do, and the errors a write raises.

``Prop`` declares a page's properties (Edm kind, length, read-only); ``read_body`` converts each
JSON value to its field's type, ``assigned`` hands them over in page order with the read-only and
length checks. Invoices, journals and payments share this, so they refuse bad bodies with the
same texts and codes, as BC's pages do.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pipeline.sandbox.errors import SandboxApiError
from pipeline.sandbox.rules.conversions import code_upper, json_guid
from pipeline.sandbox.store import EMPTY_GUID

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MAX_DECIMAL = Decimal("1e15")
Kind = Literal["guid", "code", "text", "int", "decimal", "date", "bool", "datetime", "nav"]
_EDM: dict[str, str] = {
    "guid": "Edm.Guid",
    "code": "Edm.String",
    "text": "Edm.String",
    "int": "Edm.Int32",
    "decimal": "Edm.Decimal",
    "date": "Edm.Date",
    "bool": "Edm.Boolean",
    "datetime": "Edm.DateTimeOffset",
    "nav": "Collection",
}


@dataclass(frozen=True)
class Prop:
    """One property of an API page: its Edm kind, its field length (0: unchecked) and whether it is read-only."""

    kind: Kind
    max_len: int = 0
    read_only: bool = False


def _literal(raw: object) -> str:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, Decimal):
        return format(raw, "f")
    return str(raw)


def conversion_error(raw: object, kind: Kind) -> SandboxApiError:
    """The OData reader's refusal of a value that does not convert to the property's Edm type."""
    return SandboxApiError(
        400, "BadRequest", f"Cannot convert the literal '{_literal(raw)}' to the expected type '{_EDM[kind]}'."
    )


def _blank(kind: Kind) -> Any:
    blanks: dict[str, Any] = {
        "guid": EMPTY_GUID,
        "int": 0,
        "decimal": Decimal(0),
        "bool": False,
        "nav": [],
    }
    return blanks.get(kind, "")


def _bc_length(text: str) -> int:
    """Length as BC (.NET) counts it: UTF-16 code units, so an emoji counts two."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _convert(raw: Any, kind: Kind) -> Any:
    """One JSON value to the field's type; JSON ``null`` becomes the type's blank value."""
    if raw is None:
        return _blank(kind)
    if kind == "nav":
        if isinstance(raw, list) and all(isinstance(item, Mapping) for item in raw):
            return list(raw)
        raise conversion_error(raw, kind)
    if kind in ("code", "text", "datetime"):
        if not isinstance(raw, str):
            raise conversion_error(raw, kind)
        return code_upper(raw.strip()) if kind == "code" else raw
    if kind == "guid":
        key = json_guid(raw) if isinstance(raw, str) else None
        if key is None:
            raise conversion_error(raw, kind)
        return key
    if kind == "int":
        if isinstance(raw, bool) or not isinstance(raw, int) or not -(2**31) <= raw < 2**31:
            raise conversion_error(raw, kind)
        return raw
    if kind == "decimal":
        if isinstance(raw, bool) or not isinstance(raw, int | float | Decimal):
            raise conversion_error(raw, kind)
        try:
            number = raw if isinstance(raw, Decimal) else Decimal(repr(raw)) if isinstance(raw, float) else Decimal(raw)
        except InvalidOperation:
            raise conversion_error(raw, kind) from None
        if not number.is_finite() or abs(number) >= _MAX_DECIMAL:
            raise conversion_error(raw, kind)
        return number
    if kind == "date":
        if isinstance(raw, str) and _DATE.match(raw):
            try:
                return date.fromisoformat(raw).isoformat()
            except ValueError:
                pass
        raise conversion_error(raw, kind)
    if not isinstance(raw, bool):
        raise conversion_error(raw, kind)
    return raw


def read_body(body: Mapping[str, Any] | None, props: Mapping[str, Prop], entity: str) -> dict[str, Any]:
    """Deserialise a body as the OData reader does: unknown names and bad values fail here."""
    if body is None:
        return {}
    if not isinstance(body, Mapping):
        raise SandboxApiError(400, "BadRequest", "The request body must be a JSON object.")
    values: dict[str, Any] = {}
    for name, raw in body.items():
        if "@" in name:
            continue
        prop = props.get(name)
        if prop is None:
            raise SandboxApiError(
                400, "BadRequest", f"The property '{name}' does not exist on type 'Microsoft.NAV.{entity}'."
            )
        values[name] = _convert(raw, prop.kind)
    return values


def assigned(values: Mapping[str, Any], props: Mapping[str, Prop]) -> Iterator[tuple[str, Any]]:
    """The body's values in page order, each checked as the page assigns it to its control."""
    for name, prop in props.items():
        if name not in values:
            continue
        if prop.read_only:
            raise SandboxApiError(400, "BadRequest_InvalidOperation", f"Control '{name}' is read-only.")
        value = values[name]
        if prop.max_len and isinstance(value, str) and _bc_length(value) > prop.max_len:
            raise SandboxApiError(
                400,
                "Application_StringExceededLength",
                f"The length of the string is {_bc_length(value)}, but it must be less than or equal to "
                f"{prop.max_len} characters. Value: {value}",
            )
        yield name, value


def duplicate_key(table: str, fields: Sequence[tuple[str, object]]) -> SandboxApiError:
    """BC's runtime error for an insert or rename onto a primary key in use."""
    ident = ",".join(f"{name}='{value}'" for name, value in fields)
    return SandboxApiError(
        400,
        "Internal_EntityWithSameKeyExists",
        f"The record in table {table} already exists. Identification fields and values: {ident}",
    )


def field_validation(message: str) -> SandboxApiError:
    """A TestField/FieldError failure, as BC reports it (``Application_FieldValidationException``)."""
    return SandboxApiError(400, "Application_FieldValidationException", message)


def record_not_found(table: str, fields: Sequence[tuple[str, object]]) -> SandboxApiError:
    """A ``Get`` inside AL that finds nothing (not a missing URL resource): 400 ``Internal_RecordNotFound``."""
    ident = ",".join(f"{name}='{value}'" for name, value in fields)
    return SandboxApiError(
        400, "Internal_RecordNotFound", f"The {table} does not exist. Identification fields and values: {ident}"
    )
