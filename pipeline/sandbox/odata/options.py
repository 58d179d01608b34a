"""The query options of a request, parsed into a ``Query``.

``$filter`` (through the parser), ``$select``, ``$orderby``, ``$top``, ``$skip``, ``$expand`` and
``$count``, with BC's refusals of unknown or malformed options. Parsing is kept apart from
applying (``evaluate``): a parsed ``Query`` is also what each ``$expand`` item carries, and the
dispatcher reads ``equalities`` out of one without applying it (top-level customerPayments).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from pipeline.sandbox.errors import query_error
from pipeline.sandbox.odata.filter_parser import parse_filter
from pipeline.sandbox.odata.filter_tree import And, Comparison, Filter, InList, Or

_KNOWN_OPTIONS = ("filter", "select", "top", "skip", "orderby", "expand", "count", "schemaversion", "skiptoken")


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
        raise query_error(
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
                raise query_error(f"Term '{text}' is not valid in a $select or $expand expression.")
        if char == separator and depth == 0 and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if depth != 0 or quoted:
        raise query_error(f"Term '{text}' is not valid in a $select or $expand expression.")
    parts.append("".join(current))
    return parts


def _parse_select(raw: str) -> tuple[str, ...] | None:
    names: list[str] = []
    for term in _split_top_level(raw, ","):
        name = term.strip()
        if name == "*":
            return None
        if not _IDENT.fullmatch(name):
            raise query_error(f"Term '{term}' is not valid in a $select or $expand expression.")
        if name not in names:
            names.append(name)
    return tuple(names)


def _parse_orderby(raw: str) -> tuple[OrderBy, ...]:
    keys: list[OrderBy] = []
    for term in raw.split(","):
        words = term.split()
        if not words or len(words) > 2 or not _IDENT.fullmatch(words[0]):
            raise query_error(f"Syntax error at position {raw.find(term)} in '{raw}'.")
        direction = words[1] if len(words) == 2 else "asc"
        if direction not in ("asc", "desc"):
            raise query_error(f"Syntax error at position {raw.find(direction)} in '{raw}'.")
        keys.append(OrderBy(words[0], direction == "desc"))
    return tuple(keys)


def _parse_expand(raw: str, schema_version: str | None) -> tuple[ExpandItem, ...]:
    items: list[ExpandItem] = []
    for term in _split_top_level(raw, ","):
        text = term.strip()
        match = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?", text, re.DOTALL)
        if match is None:
            raise query_error(f"Term '{term}' is not valid in a $select or $expand expression.")
        name, inner = match.group(1), match.group(2)
        options: dict[str, str] = {}
        if inner is not None:
            for part in _split_top_level(inner, ";"):
                key, sep, value = part.strip().partition("=")
                if not sep or not key.startswith("$"):
                    raise query_error(f"Term '{term}' is not valid in a $select or $expand expression.")
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
            raise query_error(f"The query parameter '{key}' is not supported.")
        options[name] = value

    schema_version = options.get("schemaversion")
    if schema_version is not None:
        schema_version = schema_version.strip()
        if not re.fullmatch(r"\d+\.\d+", schema_version):
            raise query_error(f"The value '{schema_version}' is not a valid $schemaversion.")

    count = False
    if "count" in options:
        flag = options["count"].strip()
        if flag not in ("true", "false"):
            raise query_error(
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


def candidates(query: Query, name: str) -> frozenset[object] | None:
    """The values ``$filter`` allows for property ``name``, when it pins it to a finite set.

    A conjunct at the top of the filter that is ``name eq v``, ``name in (...)`` or an ``or`` of
    those on ``name`` limits the property to those values; several such conjuncts intersect.
    None when the filter does not limit ``name`` that way (the caller then reads everything).
    Like :func:`equalities`, only a shortcut for reading: the whole filter is still applied.
    """
    found: frozenset[object] | None = None
    pending: list[Filter] = [query.filter] if query.filter is not None else []
    while pending:
        node = pending.pop()
        if isinstance(node, And):
            pending.extend((node.right, node.left))
            continue
        values = _pinned(node, name)
        if values is not None:
            found = values if found is None else found & values
    return found


def _pinned(node: Filter, name: str) -> frozenset[object] | None:
    if isinstance(node, Comparison):
        if node.op == "eq" and node.prop.name == name and not node.prop.functions and node.value.kind != "null":
            return frozenset((node.value.plain(),))
        return None
    if isinstance(node, InList):
        if node.prop.name == name and not node.prop.functions and all(v.kind != "null" for v in node.values):
            return frozenset(v.plain() for v in node.values)
        return None
    if isinstance(node, Or):
        left, right = _pinned(node.left, name), _pinned(node.right, name)
        return left | right if left is not None and right is not None else None
    return None
