"""The ``$filter`` syntax tree, and how each node tests an entity.

A parsed filter is a tree of these frozen nodes; ``matches`` evaluates one against an entity
dict, comparing with the type the stored value has (the sandbox has no metadata). Kept apart
from the parser so that the query and evaluation modules depend on the tree, not on the grammar.
"""

from __future__ import annotations

import operator
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from pipeline.sandbox.errors import query_error

COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}
_OPERATOR_KIND = {
    "eq": "Equal",
    "ne": "NotEqual",
    "gt": "GreaterThan",
    "ge": "GreaterThanOrEqual",
    "lt": "LessThan",
    "le": "LessThanOrEqual",
}


@dataclass(frozen=True)
class Value:
    """A literal of the filter: ``kind`` is string, number, bool, null, date, datetime or guid.

    ``value`` is the Python form compared against entities: ``str``, ``Decimal`` (every number,
    so amounts compare exactly), ``bool``, ``None``, ``date``, aware ``datetime`` or ``UUID``.
    """

    kind: str
    value: object
    text: str

    @property
    def edm_type(self) -> str:
        """The OData type name, for messages worded like the OData library's."""
        if self.kind == "number":
            return "Edm.Int32" if re.fullmatch(r"-?\d+[lL]?", self.text) else "Edm.Decimal"
        return {
            "string": "Edm.String",
            "bool": "Edm.Boolean",
            "null": "null",
            "date": "Edm.Date",
            "datetime": "Edm.DateTimeOffset",
            "guid": "Edm.Guid",
        }[self.kind]

    def plain(self) -> object:
        """The value as the entity dicts hold it (GUID and date as text), for :func:`equalities`."""
        if isinstance(self.value, uuid.UUID):
            return str(self.value)
        if isinstance(self.value, date | datetime):
            return self.text
        return self.value


@dataclass(frozen=True)
class Property:
    """A property, possibly wrapped in ``tolower``/``toupper``/``substring`` (innermost first)."""

    name: str
    functions: tuple[tuple[str, tuple[int, ...]], ...] = ()

    def evaluate(self, entity: Mapping[str, Any]) -> Any:
        result = entity.get(self.name)
        for function, args in self.functions:
            if result is None:
                return None
            if not isinstance(result, str):
                raise query_error(
                    f"No function signature for the function with name '{function}' matches the specified arguments."
                )
            if function == "tolower":
                result = result.lower()
            elif function == "toupper":
                result = result.upper()
            else:
                start = args[0]
                result = result[start:] if len(args) == 1 else result[start : start + args[1]]
        return result


@dataclass(frozen=True)
class Comparison:
    """``property op literal`` (a literal on the left is turned around when parsed)."""

    op: str
    prop: Property
    value: Value

    def matches(self, entity: Mapping[str, Any]) -> bool:
        return _test(self.op, self.prop.evaluate(entity), self.value)

    def fields(self) -> frozenset[str]:
        return frozenset({self.prop.name})


@dataclass(frozen=True)
class StringMatch:
    """``contains``/``startswith``/``endswith(property, 'text')``, optionally ``eq false``."""

    function: str
    prop: Property
    text: str
    expected: bool = True

    def matches(self, entity: Mapping[str, Any]) -> bool:
        actual = self.prop.evaluate(entity)
        if actual is None:
            return False
        if not isinstance(actual, str):
            raise query_error(
                f"No function signature for the function with name '{self.function}' matches the specified arguments."
            )
        if self.function == "contains":
            found = self.text in actual
        elif self.function == "startswith":
            found = actual.startswith(self.text)
        else:
            found = actual.endswith(self.text)
        return found == self.expected

    def fields(self) -> frozenset[str]:
        return frozenset({self.prop.name})


@dataclass(frozen=True)
class InList:
    """``property in (literal, ...)`` ($schemaversion=2.1 only)."""

    prop: Property
    values: tuple[Value, ...]

    def matches(self, entity: Mapping[str, Any]) -> bool:
        actual = self.prop.evaluate(entity)
        return any(_test("eq", actual, value) for value in self.values)

    def fields(self) -> frozenset[str]:
        return frozenset({self.prop.name})


@dataclass(frozen=True)
class And:
    """Both sides; ``and`` binds tighter than ``or``."""

    left: Filter
    right: Filter

    def matches(self, entity: Mapping[str, Any]) -> bool:
        return self.left.matches(entity) and self.right.matches(entity)

    def fields(self) -> frozenset[str]:
        return self.left.fields() | self.right.fields()


@dataclass(frozen=True)
class Or:
    """Either side; only ever on one field (checked when parsed, see ``OR_ERROR_MESSAGE``)."""

    left: Filter
    right: Filter

    def matches(self, entity: Mapping[str, Any]) -> bool:
        return self.left.matches(entity) or self.right.matches(entity)

    def fields(self) -> frozenset[str]:
        return self.left.fields() | self.right.fields()


@dataclass(frozen=True)
class Ignored:
    """A lambda (``lines/any(...)``): BC ignores it, so it matches everything."""

    text: str

    def matches(self, entity: Mapping[str, Any]) -> bool:
        return True

    def fields(self) -> frozenset[str]:
        return frozenset()


Filter = Comparison | StringMatch | InList | And | Or | Ignored


def _edm_type(actual: object) -> str:
    if isinstance(actual, bool):
        return "Edm.Boolean"
    if isinstance(actual, int):
        return "Edm.Int32"
    if isinstance(actual, Decimal | float):
        return "Edm.Decimal"
    if isinstance(actual, datetime):
        return "Edm.DateTimeOffset"
    if isinstance(actual, date):
        return "Edm.Date"
    return "Edm.String"


def _as_guid(text: str) -> uuid.UUID | None:
    if len(text) != 36:
        return None
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def as_date(text: str) -> date | None:
    """``text`` as a date when it is exactly ``YYYY-MM-DD``, else None (the parser reads date literals with it)."""
    if len(text) != 10:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def as_datetime(text: str) -> datetime | None:
    """``text`` as an aware date-time (UTC when it names no zone), else None; digits past microseconds dropped."""
    if "T" not in text:
        return None
    try:
        parsed = datetime.fromisoformat(_trim_fraction(text))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _trim_fraction(text: str) -> str:
    """.NET writes up to 7 fractional digits; Python reads at most 6."""
    return re.sub(r"(\.\d{6})\d+", r"\1", text)


def _comparable(op: str, actual: object, literal: Value) -> tuple[Any, Any]:
    """Both sides in one comparable type, or the OData binder's incompatible-types error."""
    kind = literal.kind
    if isinstance(actual, bool):
        if kind == "bool":
            return actual, literal.value
    elif isinstance(actual, int | Decimal | float):
        if kind == "number":
            number = actual if isinstance(actual, Decimal) else Decimal(repr(actual))
            return number, literal.value
    elif isinstance(actual, datetime):
        if kind == "datetime":
            aware = actual if actual.tzinfo is not None else actual.replace(tzinfo=UTC)
            return aware, literal.value
    elif isinstance(actual, date):
        if kind == "date":
            return actual, literal.value
    elif isinstance(actual, str):
        converted: object = None
        if kind == "string":
            assert isinstance(literal.value, str)
            left, right = _as_guid(actual), _as_guid(literal.value)
            if left is not None and right is not None:
                return left, right
            return actual, literal.value
        if kind == "guid":
            converted = _as_guid(actual)
        elif kind == "date":
            converted = as_date(actual)
        elif kind == "datetime":
            converted = as_datetime(actual)
        if converted is not None:
            return converted, literal.value
    raise query_error(
        "A binary operator with incompatible types was detected. Found operand types "
        f"'{_edm_type(actual)}' and '{literal.edm_type}' for operator kind '{_OPERATOR_KIND[op]}'."
    )


def _test(op: str, actual: object, literal: Value) -> bool:
    if literal.kind == "null" or actual is None:
        both_null = actual is None and literal.kind == "null"
        if op == "eq":
            return both_null
        if op == "ne":
            return not both_null
        return False
    left, right = _comparable(op, actual, literal)
    return COMPARISONS[op](left, right)
