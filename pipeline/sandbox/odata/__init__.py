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

The package, one module per step of a request: ``filter_tree`` the ``$filter`` syntax tree and
its evaluation, ``filter_parser`` tokenizer and parser, ``options`` the other options and the
parsed ``Query``, ``evaluate`` applying a query to entities, ``paging`` server-driven paging,
``bodies`` JSON and response envelopes. Each imports only from the ones before it. This
``__init__`` names the public surface (``__all__``) for the tests that exercise OData on its
own; the sandbox's modules import from the owning module.
"""

from __future__ import annotations

from pipeline.sandbox.odata.bodies import collection_body, context_url, dumps, entity_body, loads
from pipeline.sandbox.odata.evaluate import apply, check_properties, filter_entities
from pipeline.sandbox.odata.filter_parser import parse_filter
from pipeline.sandbox.odata.filter_tree import (
    And,
    Comparison,
    Filter,
    Ignored,
    InList,
    Or,
    Property,
    StringMatch,
    Value,
)
from pipeline.sandbox.odata.options import ExpandItem, OrderBy, Query, candidates, equalities, parse_query
from pipeline.sandbox.odata.paging import next_link, page, page_size_from_prefer, preference_applied, preferences

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
    "candidates",
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
