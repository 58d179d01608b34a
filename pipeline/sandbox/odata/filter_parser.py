"""Parsing ``$filter`` text: the tokenizer and a recursive-descent parser into the syntax tree.

BC's grammar as its OData library accepts it, including the ``$schemaversion=2.1`` extensions
(``in``, nested functions) and BC's own ``or``-on-one-field rule, with the library's error texts.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from pipeline.sandbox.errors import SandboxApiError, query_error
from pipeline.sandbox.odata.filter_tree import (
    COMPARISONS,
    And,
    Comparison,
    Filter,
    Ignored,
    InList,
    Or,
    Property,
    StringMatch,
    Value,
    as_date,
    as_datetime,
)

OR_ERROR_MESSAGE = "The 'OR' operator is not supported on distinct fields on an OData filter."
SCHEMA_2_1 = "2.1"
_MIRRORED = {"eq": "eq", "ne": "ne", "gt": "lt", "ge": "le", "lt": "gt", "le": "ge"}
_STRING_MATCHES = ("contains", "startswith", "endswith")
_VALUE_FUNCTIONS = ("tolower", "toupper", "substring")
_KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false", "null", *COMPARISONS})


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
                raise query_error(f"There is an unterminated string literal at position {pos} in '{text}'.")
            raise query_error(f"Syntax error: character '{text[pos]}' is not valid at position {pos} in '{text}'.")
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(_Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


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
        return query_error(f"Syntax error at position {at} in '{self.text}'.")

    def expect_punct(self, char: str) -> _Token:
        if not self.is_punct(char):
            token = self.peek()
            if char == ")":
                raise query_error(f"')' or ',' expected at position {token.pos} in '{self.text}'.")
            raise self.syntax_error(token)
        return self.take()

    # grammar
    def parse(self) -> Filter:
        if self.peek().kind == "end":
            raise query_error(f"Expression expected at position 0 in '{self.text}'.")
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
            raise query_error(f"Expression expected at position {token.pos} in '{self.text}'.")
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
            raise query_error(
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
                raise query_error(f"')' or ',' expected at position {token.pos} in '{self.text}'.")
            if token.kind == "punct" and token.text == "(":
                depth += 1
            elif token.kind == "punct" and token.text == ")":
                depth -= 1
                if depth == 0:
                    return Ignored(self.text[start : token.pos + 1])

    def comparison(self) -> Filter:
        left = self.operand()
        op_token = self.peek()
        if op_token.kind != "ident" or (op_token.text not in COMPARISONS and op_token.text != "in"):
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
            raise query_error(
                f"Comparing the property '{left.name}' with the property '{right.name}' is not supported in a filter."
            )
        raise query_error(f"A filter comparison must have a property on one side: '{self.text}'.")

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
                raise query_error(
                    f"Navigation paths such as '{token.text}/…' are not supported in a filter ('{self.text}')."
                )
            return Property(token.text)
        if token.text in _STRING_MATCHES:
            raise query_error(f"The function '{token.text}' returns a boolean and cannot be compared as text.")
        if token.text not in _VALUE_FUNCTIONS:
            raise query_error(
                f"An unknown function with name '{token.text}' was found. This may also be a function import "
                "or a key lookup on a navigation property, which is not allowed."
            )
        if nested and not self.v21:
            raise query_error(
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
                raise query_error(
                    f"No function signature for the function with name '{token.text}' matches the specified arguments."
                )
            args.append(int(number.text))
        self.expect_punct(")")
        wanted = (1, 2) if token.text == "substring" else (0,)
        if len(args) not in wanted:
            raise query_error(
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
            parsed_date = as_date(text)
            if parsed_date is None:
                raise self.unrecognized("Edm.Date", token)
            return Value("date", parsed_date, text)
        if token.kind == "datetime":
            parsed = as_datetime(text)
            if parsed is None:
                raise self.unrecognized("Edm.DateTimeOffset", token)
            return Value("datetime", parsed, text)
        if token.kind == "ident" and text in ("true", "false"):
            return Value("bool", text == "true", text)
        if token.kind == "ident" and text == "null":
            return Value("null", None, text)
        if token.kind == "end":
            raise query_error(f"Expression expected at position {token.pos} in '{self.text}'.")
        raise self.syntax_error(token)

    def unrecognized(self, edm: str, token: _Token) -> SandboxApiError:
        return query_error(f"Unrecognized '{edm}' literal '{token.text}' at '{token.pos}' in '{self.text}'.")


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
