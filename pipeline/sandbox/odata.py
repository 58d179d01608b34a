"""OData v4 query options, paging and JSON as Business Central's API v2.0 applies them.

Everything here works on lists of JSON-ready entity dicts (values ``str``, ``int``, ``bool``,
``None``, ``Decimal``; dates as ``'YYYY-MM-DD'`` strings), so the HTTP layer can fetch rows from
the store and hand them over without knowing OData.

What BC does, and what this module therefore does (bc-api.md 3.3, 3.5, 3.6):

* ``$filter``: ``eq ne gt ge lt le``, ``and``, ``or``, parentheses, ``contains``, ``startswith``,
  ``endswith`` and, on the property side, ``tolower``, ``toupper`` and ``substring``.
  ``or`` is only allowed between conditions on the **same** field (BC turns the filter into AL
  field filters, where ``|`` only exists within one field); anything else is refused with BC's
  own text. ``in (...)`` and nested functions exist only with ``$schemaversion=2.1``; without it
  ``in`` is a syntax error, as for the older parser. Lambda operators (``any``/``all``) are
  silently ignored, as BC documents. Number literals are parsed to ``Decimal``, so amounts
  compare exactly. A filter is parsed by a small recursive-descent parser, never evaluated.
* Query syntax and binding errors are ``400 BadRequest_NotFound`` with the OData library's
  wording ("Syntax error at position …", "Could not find a property named …"); BC lists query
  syntax errors under that code. The ``or`` rule is BC's own check and uses ``BadRequest``.
* Server-driven paging: pages of ``min(Prefer: odata.maxpagesize, Limits.max_page_size)``
  entities with an absolute ``@odata.nextLink`` that repeats the request URL plus
  ``$skiptoken``.

Choices where BC's behaviour is not written down (bc-api.md section 6 and around it):

* Filter values are compared with the type the stored value has, because this module has no
  metadata: a string field holding ``'2024-01-31'`` compares with a string literal as text and
  with a date literal as a date. Clear type clashes (a number literal against a text value, a
  text literal against an amount) are refused as the OData binder refuses them. Text
  comparisons are case-sensitive and ordinal; GUIDs compare case-insensitively.
* ``null`` only ever equals ``null``; ordering comparisons with ``null`` are false.
* Sorting puts ``null`` first, then sorts by the ``$orderby`` keys and, as a tie-breaker, by the
  entity set's key fields (BC reads in key order, so pages are stable).
* A ``maxpagesize`` above the server maximum is clamped rather than refused with 413: BC pages
  server-side, so a page over the limit cannot be produced. ``Preference-Applied`` is only sent
  when the requested size was honoured as asked.
* The skip token is opaque to clients; inside it holds the offset and the ``id`` of the last
  entity sent, so a page boundary survives rows inserted or deleted before it (BC resumes from
  a bookmark of the last record too). If that entity is gone, the offset is used.
* Unknown ``$``-options are refused ("The query parameter '$x' is not supported."), other
  parameters (``company``, ``tenant``) are left to the caller; option names are matched
  case-insensitively, operators and property names are case-sensitive.
"""

from __future__ import annotations

import base64
import binascii
import json
import operator
import re
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote, unquote_plus, urlsplit, urlunsplit

from pipeline import exactjson
from pipeline.sandbox.errors import SandboxApiError

__all__ = [
    "And",
    "Comparison",
    "ExpandItem",
    "Filter",
    "Ignored",
    "InList",
    "Or",
    "OrderBy",
    "Property",
    "Query",
    "StringMatch",
    "Value",
    "apply",
    "check_properties",
    "collection_body",
    "context_url",
    "dumps",
    "entity_body",
    "equalities",
    "filter_entities",
    "loads",
    "next_link",
    "page",
    "page_size_from_prefer",
    "parse_filter",
    "parse_query",
    "preference_applied",
    "preferences",
]

QUERY_ERROR = "BadRequest_NotFound"
OR_ERROR_MESSAGE = "The 'OR' operator is not supported on distinct fields on an OData filter."
SCHEMA_2_1 = "2.1"

_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
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
_MIRRORED = {"eq": "eq", "ne": "ne", "gt": "lt", "ge": "le", "lt": "gt", "le": "ge"}
_STRING_MATCHES = ("contains", "startswith", "endswith")
_VALUE_FUNCTIONS = ("tolower", "toupper", "substring")
_KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false", "null", *_COMPARISONS})
_KNOWN_OPTIONS = ("filter", "select", "top", "skip", "orderby", "expand", "count", "schemaversion", "skiptoken")


def _query_error(message: str) -> SandboxApiError:
    return SandboxApiError(400, QUERY_ERROR, message)


# --------------------------------------------------------------------------------------------
# $filter: tokens


@dataclass(frozen=True)
class _Token:
    kind: str  # string guid datetime date number ident punct end
    text: str
    pos: int


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
    |(?P<string>'(?:[^']|'')*')
    |(?P<guid>[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}(?![\w-]))
    |(?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:\d{2})(?![\w-]))
    |(?P<date>\d{4}-\d{2}-\d{2}(?![\w-]))
    |(?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[mMdDfFlL]?(?![\w.]))
    |(?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<punct>[(),/:])
    """,
    re.VERBOSE,
)


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            if text[pos] == "'":
                raise _query_error(f"There is an unterminated string literal at position {pos} in '{text}'.")
            raise _query_error(f"Syntax error: character '{text[pos]}' is not valid at position {pos} in '{text}'.")
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(_Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


# --------------------------------------------------------------------------------------------
# $filter: syntax tree


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
                raise _query_error(
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
            raise _query_error(
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


def _as_date(text: str) -> date | None:
    if len(text) != 10:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _as_datetime(text: str) -> datetime | None:
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
            converted = _as_date(actual)
        elif kind == "datetime":
            converted = _as_datetime(actual)
        if converted is not None:
            return converted, literal.value
    raise _query_error(
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
    return _COMPARISONS[op](left, right)


# --------------------------------------------------------------------------------------------
# $filter: parser


class _FilterParser:
    """Recursive descent over the tokens: or_expr > and_expr > primary (parentheses or predicate)."""

    def __init__(self, text: str, schema_version: str | None) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0
        self.v21 = schema_version == SCHEMA_2_1

    # helpers
    def peek(self, offset: int = 0) -> _Token:
        return self.tokens[min(self.index + offset, len(self.tokens) - 1)]

    def take(self) -> _Token:
        token = self.peek()
        self.index += 1
        return token

    def is_word(self, word: str, offset: int = 0) -> bool:
        token = self.peek(offset)
        return token.kind == "ident" and token.text == word

    def is_punct(self, char: str, offset: int = 0) -> bool:
        token = self.peek(offset)
        return token.kind == "punct" and token.text == char

    def syntax_error(self, token: _Token | None = None) -> SandboxApiError:
        at = (token or self.peek()).pos
        return _query_error(f"Syntax error at position {at} in '{self.text}'.")

    def expect_punct(self, char: str) -> _Token:
        if not self.is_punct(char):
            token = self.peek()
            if char == ")":
                raise _query_error(f"')' or ',' expected at position {token.pos} in '{self.text}'.")
            raise self.syntax_error(token)
        return self.take()

    # grammar
    def parse(self) -> Filter:
        if self.peek().kind == "end":
            raise _query_error(f"Expression expected at position 0 in '{self.text}'.")
        node = self.or_expr()
        if self.peek().kind != "end":
            raise self.syntax_error()
        return node

    def or_expr(self) -> Filter:
        node = self.and_expr()
        while self.is_word("or"):
            self.take()
            node = Or(node, self.and_expr())
        return node

    def and_expr(self) -> Filter:
        node = self.primary()
        while self.is_word("and"):
            self.take()
            node = And(node, self.primary())
        return node

    def primary(self) -> Filter:
        token = self.peek()
        if token.kind == "end":
            raise _query_error(f"Expression expected at position {token.pos} in '{self.text}'.")
        if self.is_punct("("):
            self.take()
            node = self.or_expr()
            self.expect_punct(")")
            return node
        if token.kind == "ident" and token.text in _STRING_MATCHES and self.is_punct("(", 1):
            return self.string_match()
        if token.kind == "ident" and token.text not in _KEYWORDS and self.is_punct("/", 1):
            return self.lambda_expr()
        return self.comparison()

    def string_match(self) -> StringMatch:
        function = self.take().text
        self.take()  # (
        prop = self.property_expr(nested=True)
        self.expect_punct(",")
        literal = self.take()
        if literal.kind != "string":
            raise _query_error(
                f"No function signature for the function with name '{function}' matches the specified arguments."
            )
        self.expect_punct(")")
        expected = True
        if self.peek().kind == "ident" and self.peek().text in ("eq", "ne"):
            op = self.take().text
            flag = self.take()
            if flag.kind != "ident" or flag.text not in ("true", "false"):
                raise self.syntax_error(flag)
            expected = (flag.text == "true") == (op == "eq")
        return StringMatch(function, prop, _unquote(literal.text), expected)

    def lambda_expr(self) -> Ignored:
        start = self.peek().pos
        self.take()  # collection property
        self.take()  # /
        if not (self.is_word("any") or self.is_word("all")) or not self.is_punct("(", 1):
            raise self.syntax_error()
        self.take()
        depth = 0
        while True:
            token = self.take()
            if token.kind == "end":
                raise _query_error(f"')' or ',' expected at position {token.pos} in '{self.text}'.")
            if token.kind == "punct" and token.text == "(":
                depth += 1
            elif token.kind == "punct" and token.text == ")":
                depth -= 1
                if depth == 0:
                    return Ignored(self.text[start : token.pos + 1])

    def comparison(self) -> Filter:
        left = self.operand()
        op_token = self.peek()
        if op_token.kind != "ident" or (op_token.text not in _COMPARISONS and op_token.text != "in"):
            raise self.syntax_error(op_token)
        self.take()
        if op_token.text == "in":
            if not self.v21 or not isinstance(left, Property):
                raise self.syntax_error(op_token)
            return InList(left, self.literal_list())
        right = self.operand()
        if isinstance(left, Property) and isinstance(right, Value):
            return Comparison(op_token.text, left, right)
        if isinstance(left, Value) and isinstance(right, Property):
            return Comparison(_MIRRORED[op_token.text], right, left)
        if isinstance(left, Property) and isinstance(right, Property):
            raise _query_error(
                f"Comparing the property '{left.name}' with the property '{right.name}' is not supported in a filter."
            )
        raise _query_error(f"A filter comparison must have a property on one side: '{self.text}'.")

    def literal_list(self) -> tuple[Value, ...]:
        self.expect_punct("(")
        values = [self.literal()]
        while self.is_punct(","):
            self.take()
            values.append(self.literal())
        self.expect_punct(")")
        return tuple(values)

    def operand(self) -> Property | Value:
        token = self.peek()
        if token.kind == "ident" and token.text not in ("true", "false", "null"):
            return self.property_expr(nested=False)
        return self.literal()

    def property_expr(self, *, nested: bool) -> Property:
        token = self.take()
        if token.kind != "ident" or token.text in _KEYWORDS:
            raise self.syntax_error(token)
        if not self.is_punct("("):
            if self.is_punct("/"):
                raise _query_error(
                    f"Navigation paths such as '{token.text}/…' are not supported in a filter ('{self.text}')."
                )
            return Property(token.text)
        if token.text in _STRING_MATCHES:
            raise _query_error(f"The function '{token.text}' returns a boolean and cannot be compared as text.")
        if token.text not in _VALUE_FUNCTIONS:
            raise _query_error(
                f"An unknown function with name '{token.text}' was found. This may also be a function import "
                "or a key lookup on a navigation property, which is not allowed."
            )
        if nested and not self.v21:
            raise _query_error(
                f"Nested functions such as '{token.text}' inside another function need $schemaversion=2.1 "
                f"('{self.text}')."
            )
        self.take()  # (
        inner = self.property_expr(nested=True)
        args: list[int] = []
        while self.is_punct(","):
            self.take()
            number = self.take()
            if number.kind != "number" or not re.fullmatch(r"\d+", number.text):
                raise _query_error(
                    f"No function signature for the function with name '{token.text}' matches the specified arguments."
                )
            args.append(int(number.text))
        self.expect_punct(")")
        wanted = (1, 2) if token.text == "substring" else (0,)
        if len(args) not in wanted:
            raise _query_error(
                f"No function signature for the function with name '{token.text}' matches the specified arguments."
            )
        return Property(inner.name, (*inner.functions, (token.text, tuple(args))))

    def literal(self) -> Value:
        token = self.take()
        text = token.text
        if token.kind == "string":
            return Value("string", _unquote(text), text)
        if token.kind == "number":
            digits = text.rstrip("mMdDfFlL")
            try:
                return Value("number", Decimal(digits), text)
            except InvalidOperation:
                raise self.syntax_error(token) from None
        if token.kind == "guid":
            return Value("guid", uuid.UUID(text), text)
        if token.kind == "date":
            parsed_date = _as_date(text)
            if parsed_date is None:
                raise self.unrecognized("Edm.Date", token)
            return Value("date", parsed_date, text)
        if token.kind == "datetime":
            parsed = _as_datetime(text)
            if parsed is None:
                raise self.unrecognized("Edm.DateTimeOffset", token)
            return Value("datetime", parsed, text)
        if token.kind == "ident" and text in ("true", "false"):
            return Value("bool", text == "true", text)
        if token.kind == "ident" and text == "null":
            return Value("null", None, text)
        if token.kind == "end":
            raise _query_error(f"Expression expected at position {token.pos} in '{self.text}'.")
        raise self.syntax_error(token)

    def unrecognized(self, edm: str, token: _Token) -> SandboxApiError:
        return _query_error(f"Unrecognized '{edm}' literal '{token.text}' at '{token.pos}' in '{self.text}'.")


def _unquote(text: str) -> str:
    return text[1:-1].replace("''", "'")


def _check_or(node: Filter) -> None:
    """BC's rule: every ``or`` must combine conditions on one single field."""
    if isinstance(node, Or) and len(node.fields()) > 1:
        raise SandboxApiError(400, "BadRequest", OR_ERROR_MESSAGE)
    if isinstance(node, And | Or):
        _check_or(node.left)
        _check_or(node.right)


def parse_filter(text: str, schema_version: str | None = None) -> Filter:
    """Parse a ``$filter`` expression (raises :class:`SandboxApiError` 400 on anything BC would refuse)."""
    node = _FilterParser(text, schema_version).parse()
    _check_or(node)
    return node


# --------------------------------------------------------------------------------------------
# The other query options


@dataclass(frozen=True)
class OrderBy:
    """One ``$orderby`` key (``amount desc``)."""

    name: str
    descending: bool = False


@dataclass(frozen=True)
class ExpandItem:
    """One ``$expand`` term: a navigation property and its nested options (``a($select=x;$expand=b)``)."""

    name: str
    options: Query


@dataclass(frozen=True)
class Query:
    """The parsed query options of one request. ``None``/empty means the option was absent."""

    filter: Filter | None = None
    filter_text: str | None = None
    select: tuple[str, ...] | None = None
    top: int | None = None
    skip: int | None = None
    orderby: tuple[OrderBy, ...] = ()
    expand: tuple[ExpandItem, ...] = ()
    expand_text: str | None = None
    count: bool = False
    schema_version: str | None = None
    skiptoken: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _non_negative(name: str, raw: str) -> int:
    if not re.fullmatch(r"\s*\d+\s*", raw):
        raise _query_error(
            f"Invalid value '{raw}' for ${name} query option found. "
            f"The ${name} query option requires a non-negative integer value."
        )
    return int(raw)


def _split_top_level(text: str, separator: str) -> list[str]:
    """Split on ``separator`` outside parentheses and quoted strings."""
    parts: list[str] = []
    depth = 0
    quoted = False
    current: list[str] = []
    for char in text:
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
            if depth < 0:
                raise _query_error(f"Term '{text}' is not valid in a $select or $expand expression.")
        if char == separator and depth == 0 and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if depth != 0 or quoted:
        raise _query_error(f"Term '{text}' is not valid in a $select or $expand expression.")
    parts.append("".join(current))
    return parts


def _parse_select(raw: str) -> tuple[str, ...] | None:
    names: list[str] = []
    for term in _split_top_level(raw, ","):
        name = term.strip()
        if name == "*":
            return None
        if not _IDENT.fullmatch(name):
            raise _query_error(f"Term '{term}' is not valid in a $select or $expand expression.")
        if name not in names:
            names.append(name)
    return tuple(names)


def _parse_orderby(raw: str) -> tuple[OrderBy, ...]:
    keys: list[OrderBy] = []
    for term in raw.split(","):
        words = term.split()
        if not words or len(words) > 2 or not _IDENT.fullmatch(words[0]):
            raise _query_error(f"Syntax error at position {raw.find(term)} in '{raw}'.")
        direction = words[1] if len(words) == 2 else "asc"
        if direction not in ("asc", "desc"):
            raise _query_error(f"Syntax error at position {raw.find(direction)} in '{raw}'.")
        keys.append(OrderBy(words[0], direction == "desc"))
    return tuple(keys)


def _parse_expand(raw: str, schema_version: str | None) -> tuple[ExpandItem, ...]:
    items: list[ExpandItem] = []
    for term in _split_top_level(raw, ","):
        text = term.strip()
        match = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?", text, re.DOTALL)
        if match is None:
            raise _query_error(f"Term '{term}' is not valid in a $select or $expand expression.")
        name, inner = match.group(1), match.group(2)
        options: dict[str, str] = {}
        if inner is not None:
            for part in _split_top_level(inner, ";"):
                key, sep, value = part.strip().partition("=")
                if not sep or not key.startswith("$"):
                    raise _query_error(f"Term '{term}' is not valid in a $select or $expand expression.")
                options[key.strip()] = value
        if schema_version is not None:
            options.setdefault("$schemaversion", schema_version)
        items.append(ExpandItem(name, parse_query(options)))
    return tuple(items)


def parse_query(params: Mapping[str, str]) -> Query:
    """Read the ``$``-options of a request; other parameters are returned in ``Query.extra``.

    Raises:
        SandboxApiError: 400 ``BadRequest_NotFound`` for malformed options (as the OData library words
            them), 400 ``BadRequest`` for an ``or`` across fields.
    """
    options: dict[str, str] = {}
    extra: dict[str, str] = {}
    for key, value in params.items():
        if not key.startswith("$"):
            extra[key] = value
            continue
        name = key[1:].lower()
        if name not in _KNOWN_OPTIONS:
            raise _query_error(f"The query parameter '{key}' is not supported.")
        options[name] = value

    schema_version = options.get("schemaversion")
    if schema_version is not None:
        schema_version = schema_version.strip()
        if not re.fullmatch(r"\d+\.\d+", schema_version):
            raise _query_error(f"The value '{schema_version}' is not a valid $schemaversion.")

    count = False
    if "count" in options:
        flag = options["count"].strip()
        if flag not in ("true", "false"):
            raise _query_error(
                f"'{flag}' is not a valid count option. The $count query option requires 'true' or 'false'."
            )
        count = flag == "true"

    filter_text = options.get("filter")
    return Query(
        filter=parse_filter(filter_text, schema_version) if filter_text is not None else None,
        filter_text=filter_text,
        select=_parse_select(options["select"]) if "select" in options else None,
        top=_non_negative("top", options["top"]) if "top" in options else None,
        skip=_non_negative("skip", options["skip"]) if "skip" in options else None,
        orderby=_parse_orderby(options["orderby"]) if "orderby" in options else (),
        expand=_parse_expand(options["expand"], schema_version) if "expand" in options else (),
        expand_text=options.get("expand"),
        count=count,
        schema_version=schema_version,
        skiptoken=options.get("skiptoken"),
        extra=extra,
    )


def equalities(query: Query) -> dict[str, object]:
    """``property -> value`` for each ``property eq literal`` ANDed at the top of the filter.

    This is what AL code sees through ``GetFilter`` (for example the journal id that a top-level
    ``customerPayments`` list requires). GUIDs and dates come back as text, numbers as Decimal.
    """
    found: dict[str, object] = {}
    pending: list[Filter] = [query.filter] if query.filter is not None else []
    while pending:
        node = pending.pop()
        if isinstance(node, And):
            pending.extend((node.right, node.left))
        elif isinstance(node, Comparison) and node.op == "eq" and not node.prop.functions and node.value.kind != "null":
            found.setdefault(node.prop.name, node.value.plain())
    return found


# --------------------------------------------------------------------------------------------
# Applying a query


def _filter_fields(node: Filter) -> list[str]:
    if isinstance(node, And | Or):
        return _filter_fields(node.left) + _filter_fields(node.right)
    if isinstance(node, Ignored):
        return []
    return [node.prop.name]


def check_properties(query: Query, properties: Collection[str], entity_type: str | None = None) -> None:
    """Refuse a ``$filter``, ``$select`` or ``$orderby`` naming a property the entity does not have."""
    names = _filter_fields(query.filter) if query.filter is not None else []
    names += list(query.select or ())
    names += [key.name for key in query.orderby]
    for name in names:
        if name not in properties:
            on_type = f" on type 'Microsoft.NAV.{entity_type}'" if entity_type else ""
            raise _query_error(f"Could not find a property named '{name}'{on_type}.")


def _known_properties(entities: Sequence[Mapping[str, Any]]) -> set[str]:
    names: set[str] = set()
    for entity in entities:
        names.update(entity)
    return names


def filter_entities(
    entities: Sequence[Mapping[str, Any]],
    query: Query,
    *,
    properties: Collection[str] | None = None,
    entity_type: str | None = None,
) -> list[Mapping[str, Any]]:
    """The entities the ``$filter`` keeps (their number is ``@odata.count``)."""
    known = properties if properties is not None else _known_properties(entities)
    if properties is not None or entities:
        check_properties(query, known, entity_type)
    if query.filter is None:
        return list(entities)
    condition = query.filter
    return [entity for entity in entities if condition.matches(entity)]


def _sort_key(value: object) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, value)
    if isinstance(value, int | Decimal | float):
        return (2, value)
    return (3, str(value))


def _by(name: str) -> Callable[[Mapping[str, Any]], tuple[int, Any]]:
    return lambda entity: _sort_key(entity.get(name))


def apply(
    entities: Sequence[Mapping[str, Any]],
    query: Query,
    *,
    key_order: Sequence[str] = (),
    properties: Collection[str] | None = None,
    entity_type: str | None = None,
) -> list[dict[str, Any]]:
    """``$filter``, ``$orderby``, ``$skip``, ``$top`` and ``$select``, in the order OData defines.

    Args:
        entities: the whole entity set (already limited to what the URL addresses).
        query: from :func:`parse_query`.
        key_order: the entity set's key fields; the order without ``$orderby`` and the
            tie-breaker with it, so that pages never shuffle.
        properties: every property of the entity type, so an unknown name is refused even
            when the set is empty; by default the keys found on the entities.
        entity_type: the entity type name for error messages (``customerPayment``).
    """
    rows = filter_entities(entities, query, properties=properties, entity_type=entity_type)
    named = {key.name for key in query.orderby}
    ordering = [*query.orderby, *(OrderBy(name) for name in key_order if name not in named)]
    for key in reversed(ordering):  # stable sorts, least significant key first
        rows.sort(key=_by(key.name), reverse=key.descending)
    if query.skip:
        rows = rows[query.skip :]
    if query.top is not None:
        rows = rows[: query.top]
    if query.select is None:
        return [dict(entity) for entity in rows]
    keep = {"@odata.etag", "id", *query.select}
    return [{name: value for name, value in entity.items() if name in keep} for entity in rows]


# --------------------------------------------------------------------------------------------
# Server-driven paging


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
    invalid = _query_error(f"The skip token '{token}' is not valid.")
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
    end = start + page_size
    items = list(entities[start:end])
    if end >= len(entities):
        return items, None
    return items, _encode_token(end, items[-1].get("id") if items else None)


def next_link(request_url: str, skiptoken: str) -> str:
    """The request URL with its ``$skiptoken`` replaced (or added); other parameters kept as sent."""
    parts = urlsplit(request_url)
    kept = [
        item for item in parts.query.split("&") if item and unquote_plus(item.split("=", 1)[0]).lower() != "$skiptoken"
    ]
    kept.append("$skiptoken=" + quote(skiptoken, safe=""))
    return urlunsplit(parts._replace(query="&".join(kept)))


# --------------------------------------------------------------------------------------------
# Response bodies


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


# --------------------------------------------------------------------------------------------
# JSON


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
