"""JSON ``$batch`` of the sandbox: parsing, limits and the three execution modes of bc-api.md 3.7.

The executor is a small in-memory stand-in for the HTTP layer: a POST adds its body's ``n`` to a
list of committed rows, or fails with 400 when the body says so; the snapshot restores the list.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from pipeline.sandbox import batch, odata
from pipeline.sandbox.batch import Operation, OperationResult
from pipeline.sandbox.errors import SandboxApiError, dialog

ROOT = "https://api.businesscentral.dynamics.com/v2.0/tenant/production/api/v2.0/"


def _body(requests: list[dict[str, Any]]) -> bytes:
    return json.dumps({"requests": requests}).encode()


def _post(op_id: str, n: int, *, fail: bool = False, **extra: Any) -> dict[str, Any]:
    return {
        "id": op_id,
        "method": "POST",
        "url": "companies(c1)/customerPaymentJournals(j1)/customerPayments",
        "headers": {"Content-Type": "application/json"},
        "body": {"n": n, "fail": fail},
        **extra,
    }


class FakeStore:
    """Committed rows, the operations executed, and a snapshot that can undo them."""

    def __init__(self) -> None:
        self.rows: list[int] = []
        self.executed: list[str] = []

    def execute(self, op: Operation) -> OperationResult:
        self.executed.append(op.id)
        if op.method == "DELETE":
            return OperationResult(204, {})
        if op.body["fail"]:
            error = dialog(f"Line {op.body['n']} is not valid.")
            return OperationResult(error.status, {}, error.body())
        self.rows.append(op.body["n"])
        return OperationResult(201, {"ETag": f'W/"{op.body["n"]}"'}, {"n": op.body["n"]})


class FakeSnapshot:
    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.saved = list(store.rows)
        self.rollbacks = 0

    def rollback(self) -> None:
        self.rollbacks += 1
        self.store.rows[:] = self.saved


def _statuses(result: dict[str, Any]) -> list[tuple[str, int]]:
    return [(response["id"], response["status"]) for response in result["responses"]]


THREE = [_post("1", 1), _post("2", 2, fail=True), _post("3", 3)]


# ---------------------------------------------------------------------------------------------
# Parsing


def test_parse_reads_every_field_and_strips_absolute_urls() -> None:
    raw = _body(
        [
            _post("a", 1),
            {
                "id": "b",
                "method": "get",
                "url": ROOT + "companies(c1)/customerPaymentJournals(j1)/customerPayments?$select=id,amount",
                "headers": {"Accept": "application/json", "If-Match": "*"},
            },
            {"id": "c", "method": "DELETE", "url": "/v2.0/production/api/v2.0/companies(c1)/customerPayments(p1)"},
            {"id": "d", "method": "PATCH", "url": "/companies(c1)/customers(x)", "body": {"amount": "AMOUNT"}},
        ]
    )
    # The amount as a client writes it, with its trailing zero.
    operations = batch.parse_batch(raw.replace(b'"AMOUNT"', b"-1500.10"), max_operations=100)
    assert [op.id for op in operations] == ["a", "b", "c", "d"]
    first = operations[0]
    assert (first.method, first.url) == ("POST", "companies(c1)/customerPaymentJournals(j1)/customerPayments")
    assert first.body == {"n": 1, "fail": False}
    second = operations[1]
    assert second.method == "GET"
    assert second.url == "companies(c1)/customerPaymentJournals(j1)/customerPayments?$select=id,amount"
    assert second.path == "companies(c1)/customerPaymentJournals(j1)/customerPayments"
    assert second.params == {"$select": "id,amount"}
    assert second.header("if-match") == "*"
    assert second.header("Prefer") is None
    assert second.body is None
    assert operations[2].url == "companies(c1)/customerPayments(p1)"
    assert operations[2].headers == {}
    assert operations[3].url == "companies(c1)/customers(x)"
    amount = operations[3].body["amount"]
    assert isinstance(amount, Decimal)
    assert amount == Decimal("-1500.10")
    assert str(amount) == "-1500.10"


def test_parse_accepts_an_empty_batch_and_depends_on() -> None:
    assert batch.parse_batch(b'{"requests": []}', 100) == []
    ops = batch.parse_batch(_body([_post("1", 1), _post("2", 2, dependsOn=["1"], atomicityGroup="g")]), 100)
    assert ops[1].depends_on == ("1",)


def test_over_the_operation_limit_is_refused_as_bc_does() -> None:
    assert len(batch.parse_batch(_body([_post(str(i), i) for i in range(100)]), 100)) == 100
    with pytest.raises(SandboxApiError) as caught:
        batch.parse_batch(_body([_post(str(i), i) for i in range(101)]), 100)
    assert (caught.value.status, caught.value.code) == (400, "Unknown")
    assert caught.value.message == (
        "The current batch message contains too many parts. A maximum number of '100' query operations "
        "and change sets are allowed in a batch message."
    )
    with pytest.raises(SandboxApiError) as small:
        batch.parse_batch(_body([_post(str(i), i) for i in range(4)]), 3)
    assert "'3'" in small.value.message


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "not valid JSON"),
        (b"", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b'{"requests": [{"id": "1", "method": "GET", "url": "x", "body": NaN}]}', "not valid JSON"),
        (b"[]", "'requests' array"),
        (b'{"requests": {}}', "'requests' array"),
        (b'{"operations": []}', "'requests' array"),
        (b'{"requests": ["GET customers"]}', "request 1 is not a JSON object"),
        (b'{"requests": [{"method": "GET", "url": "customers"}]}', "request 1 has no 'id'"),
        (b'{"requests": [{"id": 1, "method": "GET", "url": "customers"}]}', "request 1 has no 'id'"),
        (b'{"requests": [{"id": "1", "method": "FETCH", "url": "customers"}]}', "no valid 'method'"),
        (b'{"requests": [{"id": "1", "method": "GET"}]}', "no 'url'"),
        (b'{"requests": [{"id": "1", "method": "GET", "url": "x", "headers": {"A": 1}}]}', "'headers'"),
        (b'{"requests": [{"id": "1", "method": "GET", "url": "x", "headers": []}]}', "'headers'"),
        (b'{"requests": [{"id": "1", "method": "GET", "url": "x", "dependsOn": "0"}]}', "'dependsOn'"),
        (b'{"requests": [{"id": "1", "method": "GET", "url": "x", "dependsOn": ["2"]}]}', "depends on '2'"),
        (
            b'{"requests": [{"id": "1", "method": "GET", "url": "x"}, {"id": "1", "method": "GET", "url": "y"}]}',
            "'1' is used more than once",
        ),
        (
            b'{"requests": [{"id": "1", "method": "GET", "url": "https://host/api/contoso/app/v1.0/items"}]}',
            "not under the API root",
        ),
    ],
)
def test_malformed_batches_are_400(body: bytes, reason: str) -> None:
    with pytest.raises(SandboxApiError) as caught:
        batch.parse_batch(body, 100)
    assert (caught.value.status, caught.value.code) == (400, "BadRequest")
    assert caught.value.message.startswith("Invalid Request Body: ")
    assert reason in caught.value.message


# ---------------------------------------------------------------------------------------------
# Headers


def test_continue_on_error_and_snapshot_headers() -> None:
    assert batch.wants_continue_on_error("odata.continue-on-error")
    assert batch.wants_continue_on_error("odata.maxpagesize=10, odata.continue-on-error")
    assert batch.wants_continue_on_error("continue-on-error=true")
    assert not batch.wants_continue_on_error("odata.continue-on-error=false")
    assert not batch.wants_continue_on_error("return=minimal")
    assert not batch.wants_continue_on_error(None)
    assert batch.wants_snapshot("snapshot")
    assert batch.wants_snapshot(" Snapshot ")
    assert not batch.wants_snapshot("readcommitted")
    assert not batch.wants_snapshot(None)
    assert batch.batch_preference_applied("odata.continue-on-error") == "odata.continue-on-error"
    assert batch.batch_preference_applied(None) is None


# ---------------------------------------------------------------------------------------------
# The three modes


def test_default_stops_at_the_first_failure_and_keeps_what_ran() -> None:
    store = FakeStore()
    result = batch.run_batch(batch.parse_batch(_body(THREE), 100), store.execute)
    assert _statuses(result) == [("1", 201), ("2", 400)]
    assert store.executed == ["1", "2"]
    assert store.rows == [1]
    failed = result["responses"][1]["body"]["error"]
    assert failed["code"] == "Application_DialogException"
    assert failed["message"].startswith("Line 2 is not valid.  CorrelationId:  ")


def test_continue_on_error_runs_everything() -> None:
    store = FakeStore()
    ops = batch.parse_batch(_body(THREE), 100)
    result = batch.run_batch(ops, store.execute, continue_on_error=True)
    assert _statuses(result) == [("1", 201), ("2", 400), ("3", 201)]
    assert store.rows == [1, 3]


def test_snapshot_rolls_back_but_reports_earlier_successes() -> None:
    store = FakeStore()
    store.rows.append(0)  # committed before the batch
    snapshot = FakeSnapshot(store)
    result = batch.run_batch(batch.parse_batch(_body(THREE), 100), store.execute, snapshot=snapshot)
    assert _statuses(result) == [("1", 201), ("2", 400)]
    assert result["responses"][0]["body"] == {"n": 1}
    assert store.executed == ["1", "2"]
    assert snapshot.rollbacks == 1
    assert store.rows == [0]


def test_snapshot_without_failure_is_not_rolled_back() -> None:
    store = FakeStore()
    snapshot = FakeSnapshot(store)
    ops = batch.parse_batch(_body([_post("1", 1), _post("2", 2)]), 100)
    result = batch.run_batch(ops, store.execute, snapshot=snapshot)
    assert _statuses(result) == [("1", 201), ("2", 201)]
    assert snapshot.rollbacks == 0
    assert store.rows == [1, 2]


def test_snapshot_with_continue_on_error_runs_all_then_rolls_back() -> None:
    store = FakeStore()
    snapshot = FakeSnapshot(store)
    ops = batch.parse_batch(_body(THREE), 100)
    result = batch.run_batch(ops, store.execute, continue_on_error=True, snapshot=snapshot)
    assert _statuses(result) == [("1", 201), ("2", 400), ("3", 201)]
    assert store.executed == ["1", "2", "3"]
    assert snapshot.rollbacks == 1
    assert store.rows == []


def test_executor_bug_rolls_back_and_propagates() -> None:
    store = FakeStore()
    snapshot = FakeSnapshot(store)

    def execute(op: Operation) -> OperationResult:
        if op.id == "2":
            raise RuntimeError("bug")
        return store.execute(op)

    with pytest.raises(RuntimeError):
        batch.run_batch(batch.parse_batch(_body(THREE), 100), execute, snapshot=snapshot)
    assert snapshot.rollbacks == 1
    assert store.rows == []


def test_a_raised_bc_error_is_reported_per_operation() -> None:
    def execute(op: Operation) -> OperationResult:
        raise SandboxApiError(404, "BadRequest_NotFound", "The customer does not exist.", {"X-Reason": "gone"})

    result = batch.run_batch(batch.parse_batch(_body(THREE), 100), execute, continue_on_error=True)
    assert _statuses(result) == [("1", 404), ("2", 404), ("3", 404)]
    first = result["responses"][0]
    assert first["headers"] == {"X-Reason": "gone"}
    assert first["body"]["error"]["code"] == "BadRequest_NotFound"


def test_response_items_and_their_json() -> None:
    store = FakeStore()
    ops = batch.parse_batch(_body([_post("1", 7), {"id": "2", "method": "DELETE", "url": "customerPayments(p)"}]), 100)
    result = batch.run_batch(ops, store.execute)
    assert result == {
        "responses": [
            {"id": "1", "status": 201, "headers": {"ETag": 'W/"7"'}, "body": {"n": 7}},
            {"id": "2", "status": 204, "headers": {}},
        ]
    }
    response = {"id": "1", "status": 201, "headers": {}, "body": {"amount": Decimal("-0.10")}}
    assert odata.dumps({"responses": [response]}) == (
        b'{"responses":[{"id":"1","status":201,"headers":{},"body":{"amount":-0.10}}]}'
    )


def test_failed_dependency_is_not_executed() -> None:
    store = FakeStore()
    ops = batch.parse_batch(
        _body([_post("1", 1, fail=True), _post("2", 2, dependsOn=["1"]), _post("3", 3)]),
        100,
    )
    result = batch.run_batch(ops, store.execute, continue_on_error=True)
    assert _statuses(result) == [("1", 400), ("2", 424), ("3", 201)]
    assert store.executed == ["1", "3"]
    assert store.rows == [3]
