"""OData query options, paging and JSON of the sandbox, checked against BC's documented behaviour.

Expected values are worked out by hand from the rows below and bc-api.md 3.3/3.6, not taken from
the code's output.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from pipeline.sandbox import odata
from pipeline.sandbox.errors import SandboxApiError

G1 = "11111111-aaaa-4aaa-8aaa-000000000001"
G2 = "22222222-bbbb-4bbb-8bbb-000000000002"
G3 = "33333333-cccc-4ccc-8ccc-000000000003"
G4 = "44444444-dddd-4ddd-8ddd-000000000004"


def _row(
    guid: str,
    line: int,
    customer: str,
    description: str,
    amount: str,
    posting: str,
    modified: str,
    blocked: bool,
    comment: str | None,
) -> dict[str, Any]:
    return {
        "@odata.etag": f'W/"{line}"',
        "id": guid,
        "lineNumber": line,
        "customerNumber": customer,
        "description": description,
        "amount": Decimal(amount),
        "postingDate": posting,
        "lastModifiedDateTime": modified,
        "blocked": blocked,
        "comment": comment,
    }


ROWS = [
    _row(G1, 10000, "C10000", "It's paid", "-100.10", "2024-01-31", "2024-01-31T08:00:00Z", False, None),
    _row(G2, 20000, "C20000", "Invoice 1001", "-250.00", "2024-02-01", "2024-02-01T12:30:00Z", True, "late"),
    _row(G3, 30000, "C10000", "invoice 1002", "-100.1", "2024-02-15", "2024-02-15T23:59:59.5Z", False, None),
    _row(G4, 40000, "C30000", "Refund", "50", "2024-03-01", "2024-03-01T00:00:00Z", False, "ok"),
]
PROPERTIES = frozenset(ROWS[0])
TOP_NEEDS = "The $top query option requires a non-negative integer value."
SKIP_NEEDS = "The $skip query option requires a non-negative integer value."
NO_SIGNATURE = "No function signature for the function with name 'contains' matches the specified arguments."


def _lines(params: Mapping[str, str], rows: list[dict[str, Any]] | None = None) -> list[int]:
    query = odata.parse_query(params)
    result = odata.apply(ROWS if rows is None else rows, query, key_order=("lineNumber",), properties=PROPERTIES)
    return [row["lineNumber"] for row in result]


def _error(params: Mapping[str, str], rows: list[dict[str, Any]] | None = None) -> SandboxApiError:
    with pytest.raises(SandboxApiError) as caught:
        odata.apply(
            ROWS if rows is None else rows,
            odata.parse_query(params),
            key_order=("lineNumber",),
            properties=PROPERTIES,
            entity_type="customerPayment",
        )
    return caught.value


# ---------------------------------------------------------------------------------------------
# $filter operators


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("customerNumber eq 'C10000'", [10000, 30000]),
        ("customerNumber ne 'C10000'", [20000, 40000]),
        ("amount gt -100.10", [40000]),
        ("amount ge -100.10", [10000, 30000, 40000]),
        ("amount lt -100.1", [20000]),
        ("amount le -100.1", [10000, 20000, 30000]),
        ("lineNumber gt 15000 and lineNumber lt 35000", [20000, 30000]),
        ("lineNumber eq 20000", [20000]),
        ("postingDate ge 2024-02-01", [20000, 30000, 40000]),
        ("postingDate lt 2024-02-01", [10000]),
        ("postingDate eq '2024-02-15'", [30000]),
        ("lastModifiedDateTime gt 2024-02-15T23:59:59Z", [30000, 40000]),
        ("lastModifiedDateTime le 2024-02-01T13:30:00+01:00", [10000, 20000]),
        ("description eq 'It''s paid'", [10000]),
        ("blocked eq true", [20000]),
        ("blocked eq false", [10000, 30000, 40000]),
        ("comment eq null", [10000, 30000]),
        ("comment ne null", [20000, 40000]),
        ("comment gt null", []),
        (f"id eq {G3.upper()}", [30000]),
        (f"id eq '{G3.upper()}'", [30000]),
        (f"id ne {G3}", [10000, 20000, 40000]),
        ("contains(description,'nvoice')", [20000, 30000]),
        ("startswith(description, 'Inv')", [20000]),
        ("endswith(description,'paid')", [10000]),
        ("startswith(description,'I') eq false", [30000, 40000]),
        ("contains(description,'voice') eq true", [20000, 30000]),
        ("tolower(description) eq 'invoice 1001'", [20000]),
        ("toupper(customerNumber) eq 'C30000'", [40000]),
        ("substring(customerNumber,1,2) eq '10'", [10000, 30000]),
        ("substring(customerNumber,3) eq '000'", [10000, 20000, 30000, 40000]),
        ("customerNumber eq 'C20000' or customerNumber eq 'C30000'", [20000, 40000]),
        ("(customerNumber eq 'C10000' or customerNumber eq 'C30000') and amount gt 0", [40000]),
        ("(amount gt 0 or amount lt -200) and blocked eq true", [20000]),
        ("customerNumber eq 'C10000' and (postingDate gt 2024-02-01)", [30000]),
        ("-100.1 eq amount", [10000, 30000]),
        ("-200 lt amount", [10000, 30000, 40000]),
        ("amount eq -250", [20000]),
        ("amount eq 50.00M", [40000]),
        ("lines/any(l: l/amount gt 0) and customerNumber eq 'C30000'", [40000]),
    ],
)
def test_filter_operators(expression: str, expected: list[int]) -> None:
    assert _lines({"$filter": expression}) == expected


def test_filter_decimal_comparisons_are_exact() -> None:
    # As floats, -100.100000000000000001 == -100.1; as decimals they differ.
    assert _lines({"$filter": "amount eq -100.100000000000000001"}) == []
    assert _lines({"$filter": "amount gt -100.100000000000000001"}) == [10000, 30000, 40000]
    # 0.1 + 0.2 is 0.3 exactly for BC; float arithmetic would miss it.
    rows = [{**ROWS[0], "amount": Decimal("0.1") + Decimal("0.2")}]
    assert _lines({"$filter": "amount eq 0.3"}, rows) == [10000]


def test_filter_in_and_nested_functions_need_schemaversion_2_1() -> None:
    v21 = {"$schemaversion": "2.1"}
    assert _lines({**v21, "$filter": "customerNumber in ('C20000','C30000')"}) == [20000, 40000]
    assert _lines({**v21, "$filter": "contains(tolower(description),'invoice')"}) == [20000, 30000]
    assert _lines({**v21, "$filter": "toupper(tolower(description)) eq 'REFUND'"}) == [40000]

    in_error = _error({"$filter": "customerNumber in ('C20000','C30000')"})
    assert (in_error.status, in_error.code) == (400, "BadRequest_NotFound")
    assert in_error.message.startswith("Syntax error at position 15 ")
    nested = _error({"$filter": "contains(tolower(description),'invoice')"})
    assert (nested.status, nested.code) == (400, "BadRequest_NotFound")
    assert "$schemaversion=2.1" in nested.message


def test_equalities_are_what_getfilter_sees() -> None:
    query = odata.parse_query({"$filter": f"journalId eq {G2.upper()} and amount gt 0 and postingDate eq 2024-02-01"})
    assert odata.equalities(query) == {"journalId": G2, "postingDate": "2024-02-01"}
    either = odata.parse_query({"$filter": "journalId eq 'a' or journalId eq 'b'"})
    assert odata.equalities(either) == {}
    assert odata.equalities(odata.parse_query({})) == {}


# ---------------------------------------------------------------------------------------------
# $filter errors


def test_or_across_fields_is_refused_with_bcs_text() -> None:
    for expression in (
        "customerNumber eq 'C10000' or amount gt 0",
        "(customerNumber eq 'C10000' and amount gt 0) or customerNumber eq 'C20000'",
        "(customerNumber eq 'C1' or customerNumber eq 'C2') or blocked eq true",
    ):
        error = _error({"$filter": expression})
        assert (error.status, error.code) == (400, "BadRequest")
        assert error.message == "The 'OR' operator is not supported on distinct fields on an OData filter."
        assert "CorrelationId" in error.body()["error"]["message"]


def test_unknown_property_is_named() -> None:
    error = _error({"$filter": "contactId eq 'x'"})
    assert (error.status, error.code) == (400, "BadRequest_NotFound")
    assert error.message == "Could not find a property named 'contactId' on type 'Microsoft.NAV.customerPayment'."
    # Refused on an empty set too when the caller says which properties exist.
    assert _error({"$filter": "contactId eq 'x'"}, rows=[]).message.startswith(
        "Could not find a property named 'contactId'"
    )
    assert "'nope'" in _error({"$select": "id,nope"}).message
    assert "'nope'" in _error({"$orderby": "nope desc"}).message


def test_unknown_property_without_declared_properties_uses_the_entities_keys() -> None:
    with pytest.raises(SandboxApiError) as caught:
        odata.apply(ROWS, odata.parse_query({"$filter": "contactId eq 'x'"}))
    assert caught.value.message == "Could not find a property named 'contactId'."


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("customerNumber eq", "Expression expected at position 17 in 'customerNumber eq'."),
        ("", "Expression expected at position 0 in ''."),
        ("customerNumber eq 'C1' extra", "Syntax error at position 23 in 'customerNumber eq 'C1' extra'."),
        ("customerNumber 'C1'", "Syntax error at position 15 in 'customerNumber 'C1''."),
        ("(customerNumber eq 'C1'", "')' or ',' expected at position 23 in '(customerNumber eq 'C1''."),
        ("customerNumber eq 'C1", "There is an unterminated string literal at position 18 in 'customerNumber eq 'C1'."),
        ("not blocked eq true", "Syntax error at position 0 in 'not blocked eq true'."),
        ("amount eq 1 # 2", "Syntax error: character '#' is not valid at position 12 in 'amount eq 1 # 2'."),
        (
            "postingDate eq 2024-02-30",
            "Unrecognized 'Edm.Date' literal '2024-02-30' at '15' in 'postingDate eq 2024-02-30'.",
        ),
        (
            "length(description) eq 3",
            "An unknown function with name 'length' was found. This may also be a function import or a key "
            "lookup on a navigation property, which is not allowed.",
        ),
        (
            "contains(description, 5)",
            NO_SIGNATURE,
        ),
        (
            "amount eq lineNumber",
            "Comparing the property 'amount' with the property 'lineNumber' is not supported in a filter.",
        ),
    ],
)
def test_filter_syntax_errors(expression: str, message: str) -> None:
    error = _error({"$filter": expression})
    assert (error.status, error.code, error.message) == (400, "BadRequest_NotFound", message)


@pytest.mark.parametrize(
    ("expression", "types"),
    [
        ("amount eq 'x'", "'Edm.Decimal' and 'Edm.String' for operator kind 'Equal'"),
        ("customerNumber eq 10000", "'Edm.String' and 'Edm.Int32' for operator kind 'Equal'"),
        ("customerNumber gt 1.5", "'Edm.String' and 'Edm.Decimal' for operator kind 'GreaterThan'"),
        ("blocked eq 1", "'Edm.Boolean' and 'Edm.Int32' for operator kind 'Equal'"),
        ("customerNumber le 2024-01-01", "'Edm.String' and 'Edm.Date' for operator kind 'LessThanOrEqual'"),
        (f"customerNumber ne {G1}", "'Edm.String' and 'Edm.Guid' for operator kind 'NotEqual'"),
    ],
)
def test_filter_incompatible_types(expression: str, types: str) -> None:
    error = _error({"$filter": expression})
    assert (error.status, error.code) == (400, "BadRequest_NotFound")
    assert error.message == f"A binary operator with incompatible types was detected. Found operand types {types}."


def test_string_function_on_a_number_is_refused() -> None:
    error = _error({"$filter": "contains(amount,'1')"})
    assert error.message == NO_SIGNATURE


# ---------------------------------------------------------------------------------------------
# Other options


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"$top": "-1"}, f"Invalid value '-1' for $top query option found. {TOP_NEEDS}"),
        ({"$top": "ten"}, f"Invalid value 'ten' for $top query option found. {TOP_NEEDS}"),
        ({"$skip": "1.5"}, f"Invalid value '1.5' for $skip query option found. {SKIP_NEEDS}"),
        ({"$search": "x"}, "The query parameter '$search' is not supported."),
        ({"$count": "yes"}, "'yes' is not a valid count option. The $count query option requires 'true' or 'false'."),
        ({"$select": "id number"}, "Term 'id number' is not valid in a $select or $expand expression."),
        ({"$expand": "lines($select=id"}, "Term 'lines($select=id' is not valid in a $select or $expand expression."),
        ({"$expand": "lines(select=id)"}, "Term 'lines(select=id)' is not valid in a $select or $expand expression."),
        ({"$orderby": "amount up"}, "Syntax error at position 7 in 'amount up'."),
        ({"$schemaversion": "latest"}, "The value 'latest' is not a valid $schemaversion."),
    ],
)
def test_option_errors(params: dict[str, str], message: str) -> None:
    with pytest.raises(SandboxApiError) as caught:
        odata.parse_query(params)
    assert (caught.value.status, caught.value.code, caught.value.message) == (400, "BadRequest_NotFound", message)


def test_parse_query_keeps_the_other_parameters_and_reads_every_option() -> None:
    query = odata.parse_query(
        {
            "company": "CRONUS",
            "$TOP": "2",
            "$skip": "1",
            "$count": "true",
            "$select": "id,amount,id",
            "$orderby": "amount desc, lineNumber",
            "$skiptoken": "abc",
        }
    )
    assert query.extra == {"company": "CRONUS"}
    assert (query.top, query.skip, query.count, query.skiptoken) == (2, 1, True, "abc")
    assert query.select == ("id", "amount")
    assert query.orderby == (odata.OrderBy("amount", descending=True), odata.OrderBy("lineNumber"))
    assert odata.parse_query({"$select": "*"}).select is None


def test_expand_is_parsed_with_nested_options() -> None:
    raw = "customerPayments($select=amount,lineNumber;$expand=customer($select=number);$top=5),dimensionSetLines"
    query = odata.parse_query({"$expand": raw, "$schemaversion": "2.1"})
    assert query.expand_text == raw
    assert [item.name for item in query.expand] == ["customerPayments", "dimensionSetLines"]
    payments = query.expand[0].options
    assert payments.select == ("amount", "lineNumber")
    assert payments.top == 5
    assert payments.schema_version == "2.1"
    assert [item.name for item in payments.expand] == ["customer"]
    assert payments.expand[0].options.select == ("number",)
    assert query.expand[1].options == odata.Query(schema_version="2.1")
    nested_filter = odata.parse_query({"$expand": "lines($filter=amount gt 5;$orderby=amount)"}).expand[0].options
    assert nested_filter.filter_text == "amount gt 5"
    assert nested_filter.orderby == (odata.OrderBy("amount"),)


# ---------------------------------------------------------------------------------------------
# Ordering, paging by $skip/$top, $select


def test_default_order_is_the_key() -> None:
    shuffled = [ROWS[2], ROWS[0], ROWS[3], ROWS[1]]
    assert _lines({}, shuffled) == [10000, 20000, 30000, 40000]


def test_orderby_descending_with_key_as_tie_breaker() -> None:
    # amounts: 10000 -> -100.10, 20000 -> -250.00, 30000 -> -100.1, 40000 -> 50
    assert _lines({"$orderby": "amount desc"}) == [40000, 10000, 30000, 20000]
    assert _lines({"$orderby": "amount"}) == [20000, 10000, 30000, 40000]


def test_orderby_two_keys() -> None:
    assert _lines({"$orderby": "customerNumber,postingDate desc"}) == [30000, 10000, 20000, 40000]
    assert _lines({"$orderby": "blocked desc, amount asc"}) == [20000, 10000, 30000, 40000]


def test_orderby_puts_nulls_first() -> None:
    assert _lines({"$orderby": "comment"}) == [10000, 30000, 20000, 40000]
    assert _lines({"$orderby": "comment desc"}) == [40000, 20000, 10000, 30000]


def test_skip_and_top_after_ordering() -> None:
    assert _lines({"$orderby": "lineNumber desc", "$skip": "1", "$top": "2"}) == [30000, 20000]
    assert _lines({"$filter": "amount lt 0", "$top": "0"}) == []
    assert _lines({"$skip": "10"}) == []


def test_select_keeps_etag_and_id_in_entity_order() -> None:
    result = odata.apply(ROWS, odata.parse_query({"$select": "amount,customerNumber", "$top": "1"}))
    assert result == [{"@odata.etag": 'W/"10000"', "id": G1, "customerNumber": "C10000", "amount": Decimal("-100.10")}]
    assert list(result[0]) == ["@odata.etag", "id", "customerNumber", "amount"]


def test_apply_does_not_change_the_input() -> None:
    rows = [dict(row) for row in ROWS]
    odata.apply(rows, odata.parse_query({"$select": "id", "$orderby": "amount desc"}))
    assert rows == ROWS


# ---------------------------------------------------------------------------------------------
# Server-driven paging


def _numbered(count: int) -> list[dict[str, Any]]:
    return [
        {"@odata.etag": f'W/"{n}"', "id": f"00000000-0000-0000-0000-{n:012d}", "lineNumber": n * 10000, "n": n}
        for n in range(1, count + 1)
    ]


def _get(url: str, rows: list[dict[str, Any]], prefer: str | None, max_page_size: int = 20_000) -> dict[str, Any]:
    """What the HTTP layer does for a collection GET."""
    params = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    query = odata.parse_query(params)
    selected = odata.apply(rows, query, key_order=("lineNumber",))
    size = odata.page_size_from_prefer(prefer, max_page_size)
    items, token = odata.page(selected, size, query.skiptoken)
    link = odata.next_link(url, token) if token is not None else None
    return odata.collection_body("https://h/api/v2.0/$metadata#customers", items, link)


def _follow(url: str, rows: list[dict[str, Any]], prefer: str | None, max_page_size: int = 20_000) -> list[list[int]]:
    pages: list[list[int]] = []
    next_url: str | None = url
    while next_url is not None:
        body = _get(next_url, rows, prefer, max_page_size)
        pages.append([item["n"] for item in body["value"]])
        next_url = body.get("@odata.nextLink")
        assert len(pages) < 20
    return pages


def test_next_links_walk_every_page_once() -> None:
    url = "https://sandbox.local/v2.0/sandbox/api/v2.0/companies(c1)/customers"
    assert _follow(url, _numbered(7), "odata.maxpagesize=3") == [[1, 2, 3], [4, 5, 6], [7]]
    assert _follow(url, _numbered(6), "odata.maxpagesize=3") == [[1, 2, 3], [4, 5, 6]]
    assert _follow(url, _numbered(3), None) == [[1, 2, 3]]
    assert _follow(url, [], "odata.maxpagesize=3") == [[]]


def test_next_link_keeps_the_query_and_the_server_maximum_applies() -> None:
    url = "https://sandbox.local/api/v2.0/customers?$filter=n%20ne%203&$orderby=n%20desc&company=c1"
    # 9 rows, n=3 filtered out: 9 8 7 6 5 4 2 1; maxpagesize 50 clamped to the server's 3.
    assert _follow(url, _numbered(9), "odata.maxpagesize=50", max_page_size=3) == [[9, 8, 7], [6, 5, 4], [2, 1]]
    first = _get(url, _numbered(9), "odata.maxpagesize=50", max_page_size=3)
    link = first["@odata.nextLink"]
    assert link.startswith("https://sandbox.local/api/v2.0/customers?$filter=n%20ne%203&$orderby=n%20desc&company=c1&")
    assert link.count("$skiptoken=") == 1
    second = _get(link, _numbered(9), None, max_page_size=3)
    assert second["@odata.nextLink"].count("$skiptoken=") == 1


def test_paging_respects_top() -> None:
    url = "https://h/api/v2.0/customers?$top=5"
    assert _follow(url, _numbered(9), "odata.maxpagesize=2") == [[1, 2], [3, 4], [5]]


def test_page_boundary_survives_inserts_and_deletes_before_it() -> None:
    rows = _numbered(6)
    first, token = odata.page(rows, 3, None)
    assert [item["n"] for item in first] == [1, 2, 3]
    assert token is not None
    inserted = [{"@odata.etag": 'W/"0"', "id": "00000000-0000-0000-0000-0000000000ff", "n": 0}, *rows]
    assert [item["n"] for item in odata.page(inserted, 3, token)[0]] == [4, 5, 6]
    deleted = [row for row in rows if row["n"] != 2]
    assert [item["n"] for item in odata.page(deleted, 3, token)[0]] == [4, 5, 6]


def test_invalid_skiptoken_is_refused() -> None:
    for token in ("not-a-token!", "e30", "WyJhIiwgMV0"):  # garbage, {}, ["a", 1]
        with pytest.raises(SandboxApiError) as caught:
            odata.page(_numbered(3), 2, token)
        assert (caught.value.status, caught.value.code) == (400, "BadRequest_NotFound")


def test_page_size_from_prefer() -> None:
    assert odata.page_size_from_prefer(None, 20_000) == 20_000
    assert odata.page_size_from_prefer("odata.maxpagesize=50", 20_000) == 50
    assert odata.page_size_from_prefer("odata.maxpagesize=50000", 20_000) == 20_000
    assert odata.page_size_from_prefer("odata.continue-on-error, odata.maxpagesize=10", 20_000) == 10
    assert odata.page_size_from_prefer("ODATA.MAXPAGESIZE=5", 20_000) == 5
    assert odata.page_size_from_prefer("maxpagesize=7", 20_000) == 7
    assert odata.page_size_from_prefer("odata.maxpagesize=abc", 20_000) == 20_000
    assert odata.page_size_from_prefer("odata.maxpagesize=0", 20_000) == 20_000


def test_preference_applied_only_when_honoured() -> None:
    assert odata.preference_applied("odata.maxpagesize=50", 20_000) == "odata.maxpagesize=50"
    assert odata.preference_applied("odata.maxpagesize=20000", 20_000) == "odata.maxpagesize=20000"
    assert odata.preference_applied("odata.maxpagesize=50000", 20_000) is None
    assert odata.preference_applied("return=minimal", 20_000) is None
    assert odata.preference_applied(None, 20_000) is None


def test_next_link_replaces_or_adds_the_skiptoken() -> None:
    base = "https://h/v2.0/env/api/v2.0/companies(1)/customers"
    assert odata.next_link(base, "abc") == base + "?$skiptoken=abc"
    assert odata.next_link(f"{base}?$filter=x%20eq%201&$skiptoken=old", "new") == (
        f"{base}?$filter=x%20eq%201&$skiptoken=new"
    )
    assert odata.next_link(f"{base}?%24skiptoken=old&$top=5", "new") == f"{base}?$top=5&$skiptoken=new"


# ---------------------------------------------------------------------------------------------
# Bodies and JSON


def test_collection_and_entity_bodies() -> None:
    context = odata.context_url("https://h/v2.0/sandbox/api/v2.0/", "companies(c1)/customers")
    assert context == "https://h/v2.0/sandbox/api/v2.0/$metadata#companies(c1)/customers"
    item = {"@odata.etag": 'W/"1"', "id": G1, "number": "C1"}
    assert odata.collection_body(context, [item], None) == {"@odata.context": context, "value": [item]}
    assert odata.collection_body(context, [], "https://next") == {
        "@odata.context": context,
        "value": [],
        "@odata.nextLink": "https://next",
    }
    assert odata.collection_body(context, [item], None, count=7)["@odata.count"] == 7
    entity = odata.entity_body(context, item)
    assert entity == {"@odata.context": context + "/$entity", **item}
    assert next(iter(entity)) == "@odata.context"
    assert odata.entity_body(context + "/$entity", item)["@odata.context"] == context + "/$entity"
    assert odata.context_url("https://h/api/v2.0", "customers", select=["id", "number"], entity=True) == (
        "https://h/api/v2.0/$metadata#customers(id,number)/$entity"
    )


def test_dumps_writes_decimals_exactly() -> None:
    assert odata.dumps({"amount": Decimal("-1234.56")}) == b'{"amount":-1234.56}'
    assert odata.dumps([Decimal("0.10"), Decimal("1E+3"), Decimal("0.1") + Decimal("0.2")]) == b"[0.10,1000,0.3]"
    big = Decimal("12345678901234567890.123456789")
    assert odata.dumps(big) == b"12345678901234567890.123456789"
    assert odata.dumps(Decimal("-0.00")) == b"-0.00"
    assert odata.loads(odata.dumps({"a": big})) == {"a": big}


def test_dumps_dates_guids_and_text() -> None:
    assert odata.dumps(date(2024, 1, 31)) == b'"2024-01-31"'
    assert odata.dumps(datetime(2024, 1, 31, 8, 0, tzinfo=UTC)) == b'"2024-01-31T08:00:00Z"'
    plus_two = timezone(timedelta(hours=2))
    assert odata.dumps(datetime(2024, 1, 31, 8, 0, 1, 130000, tzinfo=plus_two)) == b'"2024-01-31T06:00:01.13Z"'
    assert odata.dumps(datetime(2024, 1, 31, 8, 0)) == b'"2024-01-31T08:00:00Z"'  # naive means UTC
    assert odata.dumps({"t": 'a"b\\\n', "u": "é", "n": None, "b": [True, False], "i": 3}) == (
        '{"t":"a\\"b\\\\\\n","u":"é","n":null,"b":[true,false],"i":3}'.encode()
    )
    assert odata.dumps("\ud800") == b'"\\ud800"'  # a lone surrogate stays valid JSON


def test_dumps_refuses_what_json_cannot_hold() -> None:
    with pytest.raises(ValueError):
        odata.dumps(Decimal("NaN"))
    with pytest.raises(ValueError):
        odata.dumps(float("inf"))
    with pytest.raises(TypeError):
        odata.dumps(object())
    with pytest.raises(TypeError):
        odata.dumps({1: "x"})


def test_loads_keeps_amounts_exact() -> None:
    assert odata.loads(b'{"amount": -1500.10, "n": 3}') == {"amount": Decimal("-1500.10"), "n": 3}
    with pytest.raises(ValueError):
        odata.loads(b'{"amount": NaN}')
