"""The $batch envelope: request body shape and one result per operation sent, in order."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from pipeline.bc.batch import NOT_EXECUTED, BatchOp, build_batch_body, parse_batch_response
from pipeline.bc.jsonio import dumps

URL = "companies(c1)/customerPaymentJournals(j1)/customerPayments"


def _ops(n: int) -> list[BatchOp]:
    return [BatchOp(f"r{i}", "post", URL, {"amount": Decimal(f"-{i}.10")}) for i in range(1, n + 1)]


def test_body_has_one_request_per_op_with_json_content_type() -> None:
    ops = [
        BatchOp("r1", "post", URL, {"amount": Decimal("-10.50")}),
        BatchOp("r2", "PATCH", f"/{URL}(x)", {"description": "x"}, {"If-Match": "*"}),
        BatchOp("r3", "GET", "companies(c1)/customers?$top=1"),
    ]
    assert build_batch_body(ops) == {
        "requests": [
            {
                "id": "r1",
                "method": "POST",
                "url": URL,
                "headers": {"Content-Type": "application/json"},
                "body": {"amount": Decimal("-10.50")},
            },
            {
                "id": "r2",
                "method": "PATCH",
                "url": f"{URL}(x)",
                "headers": {"If-Match": "*", "Content-Type": "application/json"},
                "body": {"description": "x"},
            },
            {"id": "r3", "method": "GET", "url": "companies(c1)/customers?$top=1"},
        ]
    }
    assert b'"body":{"amount":-10.50}' in dumps(build_batch_body(ops))


def test_a_given_content_type_is_kept() -> None:
    body = build_batch_body([BatchOp("r1", "POST", URL, {}, {"content-type": "application/json;odata=x"})])
    assert body["requests"][0]["headers"] == {"content-type": "application/json;odata=x"}


def test_100_ops_are_fine_101_are_refused() -> None:
    assert len(build_batch_body(_ops(100))["requests"]) == 100
    with pytest.raises(ValueError, match="at most 100"):
        build_batch_body(_ops(101))


def test_duplicate_ids_and_absolute_urls_are_refused() -> None:
    with pytest.raises(ValueError, match="more than once"):
        build_batch_body([BatchOp("a", "GET", "x"), BatchOp("a", "GET", "y")])
    with pytest.raises(ValueError, match="relative"):
        build_batch_body([BatchOp("a", "GET", "https://bc.test/api/v2.0/companies")])


def _created(op_id: str, amount: str) -> dict[str, Any]:
    return {"id": op_id, "status": 201, "headers": {}, "body": {"id": f"line-{op_id}", "amount": Decimal(amount)}}


def test_results_follow_request_order_whatever_the_response_order() -> None:
    ops = _ops(3)
    response = {"responses": [_created("r3", "-3.10"), _created("r1", "-1.10"), _created("r2", "-2.10")]}
    results = parse_batch_response(ops, response)
    assert [(r.id, r.status, r.body["id"]) for r in results] == [
        ("r1", 201, "line-r1"),
        ("r2", 201, "line-r2"),
        ("r3", 201, "line-r3"),
    ]
    assert all(r.verdict.kind == "success" for r in results)


def test_stopped_batch_reports_the_failure_and_marks_the_rest_not_executed() -> None:
    ops = _ops(4)
    failure = {
        "id": "r2",
        "status": 400,
        "headers": {"Content-Type": "application/json"},
        "body": {"error": {"code": "Application_DialogException", "message": "The customer does not exist."}},
    }
    results = parse_batch_response(ops, {"responses": [_created("r1", "-1.10"), failure]})
    assert [r.status for r in results] == [201, 400, None, None]
    assert results[1].verdict.kind == "permanent"
    assert results[1].verdict.code == "Application_DialogException"
    assert results[1].verdict.message == "The customer does not exist."
    assert results[2].verdict == NOT_EXECUTED
    assert (results[3].verdict.kind, results[3].verdict.maybe_executed) == ("transient", False)
    assert results[3].body is None


def test_sub_response_429_is_transient_with_its_retry_after() -> None:
    item = {
        "id": "r1",
        "status": 429,
        "headers": {"retry-after": "4"},
        "body": {"error": {"code": "x", "message": "y"}},
    }
    (result,) = parse_batch_response(_ops(1), {"responses": [item]})
    assert (result.verdict.kind, result.verdict.retry_after_s, result.verdict.maybe_executed) == (
        "transient",
        4.0,
        False,
    )


def test_204_without_body() -> None:
    (result,) = parse_batch_response([BatchOp("d", "DELETE", URL)], {"responses": [{"id": "d", "status": 204}]})
    assert (result.status, result.body, result.verdict.kind) == (204, None, "success")


@pytest.mark.parametrize(
    "body",
    [None, {}, {"responses": {}}, {"responses": [{"status": 201}]}, {"responses": [{"id": "r1", "status": "201"}]}],
)
def test_unreadable_response_raises(body: Any) -> None:
    with pytest.raises(ValueError):
        parse_batch_response(_ops(1), body)
