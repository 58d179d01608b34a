"""The lines of one check kept together where a line is refused or decided alone (pure parts; the
behaviour through the real command is in tests/run/test_run_held_checks.py).

Expected values are worked out from the rows given here: a check is the ``payment_key`` its lines
share (the first line's key).
"""

from __future__ import annotations

import json

import pandas as pd

from pipeline.held_checks import hold_refused_checks, hold_undecided_checks
from pipeline.ledger import ReviewRecord, RowRecord
from pipeline.post.plan import split_by_ledger
from pipeline.post.posting import partly_refused

RUN = "20261202T090000Z-aaaaaa"
EARLIER = "20261101T090000Z-bbbbbb"


def _rows(*keys: str) -> pd.DataFrame:
    n = len(keys)
    return pd.DataFrame(
        {
            "source_file": ["f.csv"] * n,
            "source_row": list(range(2, 2 + n)),
            "key": list(keys),
            "lineNumber": [10_000 * (i + 1) for i in range(n)],
            "customerNumber": ["C10000"] * n,
            "appliesToInvoiceNumber": [""] * n,
            "amount_minor": [-1250] * n,
            "currency": ["EUR"] * n,
            "postingDate": pd.to_datetime(["2026-12-01"] * n),
            "documentNumber": ["LBX-1"] * n,
            "externalDocumentNumber": [""] * n,
            "description": [""] * n,
        }
    )


def record(key: str, state: str, *, run_id: str, payload: dict[str, str] | None = None) -> RowRecord:
    return RowRecord(
        "scope", key, run_id, "sha", "f.csv", 2, "J1", "PI26110101", 10_000, state, None,
        json.dumps(payload or {}), None, None, "2026-11-01T09:00:00Z",
    )  # fmt: skip


def _check(rows: pd.DataFrame, check: str, *keys: str) -> pd.DataFrame:
    out = rows.copy()
    out["payment_key"] = ["" if k not in keys else check for k in out["key"]]
    out["payment_label"] = ["" if k not in keys else "Check No 7" for k in out["key"]]
    return out


def _held(key: str, row: int, state: str, check: str = "a", invoice: str = "") -> ReviewRecord:
    body = {"payment_key": check, "payment_label": "Check No 7", "appliesToInvoiceNumber": invoice}
    return ReviewRecord(
        "scope", key, "sha", "in/lockbox.csv", row, "payment_held", "held", json.dumps(body), RUN, "2026-12-01",
        RUN, "2026-12-01", state, None, None, None,
    )  # fmt: skip


def test_lines_in_bc_of_a_check_with_a_refused_line_are_named_with_the_refused_row() -> None:
    rows = _check(_rows("a", "b", "c", "d"), "a", "a", "b", "c")  # d: a payment on its own
    rows["journal_code"] = "PI1"
    check = dict(zip(rows["key"], rows["payment_key"].where(rows["payment_key"] != "", rows["key"]), strict=True))
    halves = partly_refused(
        rows, {"c": ("BadRequest", "Customer C10100 is blocked")}, {"a", "b", "d"}, check.__getitem__
    )
    assert sorted(halves) == ["a", "b"]  # not d, another payment; not c, refused itself
    assert "row 4 (Customer C10100 is blocked)" in halves["a"] and "journal PI1" in halves["a"]
    assert partly_refused(rows, {}, {"a", "b"}, check.__getitem__) == {}


def test_a_line_of_a_check_an_earlier_run_put_in_bc_in_part_is_a_conflict_not_sent() -> None:
    rows = _check(_rows("a", "b", "c", "x"), "a", "a", "b", "c")
    records = {
        "a": record("a", "created", run_id=EARLIER, payload={"documentNumber": "LBX-1"}),
        "b": record("b", "created", run_id=EARLIER, payload={"documentNumber": "LBX-1"}),
        "c": record("c", "refused", run_id=EARLIER),
    }
    split = split_by_ledger(rows, records, RUN)
    assert split.todo["key"].tolist() == ["x"]
    known = pd.concat(split.known, ignore_index=True).set_index("key")
    assert known.loc["c", "state"] == "needs_review" and known.loc["c", "reason_code"] == "bc_conflict"
    assert "2 other line(s) of this payment" in str(known.loc["c", "message"])
    assert "document LBX-1" in str(known.loc["c", "message"])
    assert (known.loc["a", "state"], known.loc["b", "state"]) == ("already_posted", "already_posted")


def test_a_decided_line_waits_while_a_line_of_its_check_is_undecided() -> None:
    decided = _check(_rows("a", "b"), "a", "a", "b")
    members = {"a": [_held("a", 2, "decided"), _held("b", 3, "waiting", invoice="RE-9")]}
    ready, waiting = hold_undecided_checks(decided[decided["key"] == "a"], members, {"a": "apply to invoice RE-1"})
    assert ready.empty
    (message,) = waiting["message"].tolist()
    assert message == (
        "decided (apply to invoice RE-1), not carried out yet: Check No 7 is posted only when each of its 2 "
        "lines is decided; still undecided: lockbox.csv row 3 (RE-9)"
    )
    members = {"a": [_held("a", 2, "decided"), _held("b", 3, "decided")]}
    ready, waiting = hold_undecided_checks(decided, members, {})
    assert ready["key"].tolist() == ["a", "b"] and waiting.empty


def test_a_refused_decision_takes_its_checks_other_lines_out_of_posting_and_skipping() -> None:
    decided = _check(_rows("a", "b", "c", "x"), "a", "a", "b", "c")
    rows = decided[decided["key"].isin(["a", "x"])]  # a and x to post (b refused, c skipped)
    skip = decided[decided["key"] == "c"]
    left, skipped, waiting = hold_refused_checks(decided, rows, skip, {"b": "unknown customer"})
    assert left["key"].tolist() == ["x"] and skipped.empty
    assert sorted(waiting["key"]) == ["a", "c"]
    assert all("the decision for f.csv row 3 of Check No 7 was refused" in m for m in waiting["message"])
