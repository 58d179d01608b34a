"""Applying a parsed ``Query`` to a list of entity dicts, as BC does.

Property checks, ``$filter``, ``$orderby`` (stable: ties broken by the entity set's key, as BC
reads in key order), ``$skip``, ``$top`` and ``$select``. It works on plain dicts so the HTTP
layer can hand over rows from the store without the rules knowing OData.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from decimal import Decimal
from typing import Any

from pipeline.sandbox.errors import query_error
from pipeline.sandbox.odata.filter_tree import And, Filter, Ignored, Or
from pipeline.sandbox.odata.options import OrderBy, Query


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
            raise query_error(f"Could not find a property named '{name}'{on_type}.")


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
