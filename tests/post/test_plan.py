"""Planning, unit by unit: what the ledger already decides, lineNumbers, and request bodies.

Expected values are worked out from BC's rules by hand: lineNumber is an AL Integer (int32, at most
2,147,483,647); BC's own step is 10,000; a resumed run keeps the numbers it planned.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest

from pipeline.config import JournalSpec, PostingSpec
from pipeline.errors import BCOutcomeUnknown, ConfigError
from pipeline.ledger import RowRecord
from pipeline.linenumbers import MAX_LINE_NUMBER, assign_line_numbers, line_step
from pipeline.post.journal import journal_count, part_name
from pipeline.post.plan import (
    first_line_not_invoice_blocked,
    kept_line_numbers,
    number_dry_run,
    payment_groups,
    request_body,
    split_by_ledger,
    spread_rows,
    unique_document_numbers,
)

RUN = "20261202T090000Z-aaaaaa"
EARLIER = "20261101T090000Z-bbbbbb"


def record(
    key: str, state: str, *, run_id: str = RUN, journal_id: str = "J1", line: int = 10_000, **kw: Any
) -> RowRecord:
    payload = kw.pop("payload", {"customerNumber": "C10000", "amount": "-12.50", "documentNumber": "D1"})
    return RowRecord(
        target="scope",
        key=key,
        run_id=run_id,
        file_sha256="sha",
        source_file="f.csv",
        source_row=2,
        journal_id=journal_id,
        journal_code="PI26120201",
        line_number=line,
        state=state,
        bc_id=kw.pop("bc_id", None),
        payload_json=json.dumps(payload),
        error_code=None,
        error_message=kw.pop("error_message", None),
        updated=kw.pop("updated", "2026-12-02T09:00:00Z"),
    )


@pytest.mark.parametrize(
    ("last", "count", "step"),
    [
        (0, 0, 10_000),  # nothing to add: BC's usual step
        (0, 3, 10_000),
        (0, 214_748, 10_000),  # 214,748 x 10,000 = 2,147,480,000 still fits in int32
        (0, 214_749, 9_999),  # one more line would pass 2,147,483,647: the step shrinks
        (0, 1_000_000, 2_147),  # a million-payment migration into one journal
        (2_147_000_000, 100, 4_836),  # (2,147,483,647 - 2,147,000,000) // 100
        (MAX_LINE_NUMBER - 3, 3, 1),
    ],
)
def test_line_step_stays_within_int32(last: int, count: int, step: int) -> None:
    assert line_step(last, count) == step
    assert last + step * count <= MAX_LINE_NUMBER


def test_a_journal_with_no_room_left_is_refused() -> None:
    with pytest.raises(ConfigError, match="no room for 4 more lines after lineNumber 2147483644"):
        line_step(MAX_LINE_NUMBER - 3, 4)


@pytest.mark.parametrize(
    ("kept", "last", "numbers"),
    [
        ([None, None, None], 0, [10_000, 20_000, 30_000]),
        ([None, None], 70_000, [80_000, 90_000]),  # continues after the journal's last line
        ([30_000, None, 10_000, None], 40_000, [30_000, 50_000, 10_000, 60_000]),  # a resume keeps its numbers
        ([20_000, 10_000], 20_000, [20_000, 10_000]),  # all kept: nothing moves
        ([None, None, None], MAX_LINE_NUMBER - 30, [MAX_LINE_NUMBER - 20, MAX_LINE_NUMBER - 10, MAX_LINE_NUMBER]),
    ],
)
def test_assign_line_numbers(kept: list[int | None], last: int, numbers: list[int]) -> None:
    assert assign_line_numbers(kept, last) == numbers


def test_kept_line_numbers_only_for_this_run_in_this_journal() -> None:
    records = {
        "mine": record("mine", "planned", line=30_000),
        "other-run": record("other-run", "planned", run_id=EARLIER, line=40_000),
        "other-journal": record("other-journal", "sending", journal_id="J2", line=50_000),
    }
    keys = ["mine", "other-run", "other-journal", "new"]
    assert kept_line_numbers(keys, records, RUN, "J1") == [30_000, None, None, None]


def test_dry_run_numbers_lines_as_a_new_journal_would() -> None:
    rows = pd.DataFrame({"key": ["a", "b", "c"]}, index=[7, 3, 9])
    assert number_dry_run(rows)["lineNumber"].tolist() == [10_000, 20_000, 30_000]


@pytest.mark.parametrize(
    ("flags", "last", "order"),
    [
        (["customer_blocked_invoice", "", ""], 0, ["r1", "r0", "r2"]),  # first clean row moves up
        (["customer_blocked_invoice", "customer_blocked_invoice", ""], 0, ["r2", "r0", "r1"]),
        (["", "customer_blocked_invoice", ""], 0, ["r0", "r1", "r2"]),  # first row already fine
        (["customer_blocked_invoice", ""], 10_000, ["r0", "r1"]),  # journal not empty: BC accepts it
        (["customer_blocked_invoice", "customer_blocked_invoice"], 0, ["r0", "r1"]),  # none better: BC decides
    ],
)
def test_first_line_of_an_empty_journal_is_not_blocked_for_invoices(
    flags: list[str], last: int, order: list[str]
) -> None:
    rows = pd.DataFrame({"key": [f"r{i}" for i in range(len(flags))], "flags": flags})
    assert first_line_not_invoice_blocked(rows, last)["key"].tolist() == order


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
            "documentNumber": [f"D{i}" for i in range(n)],
            "externalDocumentNumber": [""] * n,
            "description": [""] * n,
        }
    )


def test_split_by_ledger_gives_every_row_one_place() -> None:
    rows = _rows("new", "earlier", "mine", "conflict", "new")  # the last row repeats the first
    records = {
        "earlier": record("earlier", "created", run_id=EARLIER, line=70_000, bc_id="bc-1"),
        "mine": record("mine", "created", line=20_000, bc_id="bc-2", payload={"customerNumber": "C20000"}),
        "conflict": record("conflict", "conflict", error_message="line 30000 holds another payment"),
    }
    split = split_by_ledger(rows, records, RUN)
    known = pd.concat(split.known, ignore_index=True).set_index("source_row")
    assert split.todo["key"].tolist() == ["new"]
    assert split.resumed["key"].tolist() == ["mine"]
    assert split.resumed["customerNumber"].tolist() == ["C20000"]  # reported from what was sent
    assert split.resumed["lineNumber"].tolist() == [20_000]
    assert known.loc[3, "state"] == "already_posted" and known.loc[3, "bc_id"] == "bc-1"
    assert known.loc[3, "lineNumber"] == 70_000
    assert (known.loc[5, "state"], known.loc[5, "reason_code"]) == ("needs_review", "bc_conflict")
    assert known.loc[5, "message"] == "line 30000 holds another payment"
    assert (known.loc[6, "state"], known.loc[6, "reason_code"]) == ("already_posted", "duplicate_in_run")
    assert known.loc[6, "message"] == "same payment as f.csv row 2 in this run"
    assert known["lineNumber"].isna()[6]  # the first occurrence holds the line
    assert sorted([*known.index, *split.todo["source_row"], *split.resumed["source_row"]]) == [2, 3, 4, 5, 6]


def test_a_row_still_in_doubt_stops_a_real_run_but_not_a_dry_run() -> None:
    rows = _rows("doubt")
    records = {"doubt": record("doubt", "sending")}
    with pytest.raises(BCOutcomeUnknown):
        split_by_ledger(rows, records, RUN)
    split = split_by_ledger(rows, records, RUN, dry_run=True)
    (line,) = split.known
    assert (line.loc[0, "state"], line.loc[0, "reason_code"]) == ("needs_review", "outcome_unknown")
    assert split.todo.empty


@pytest.mark.parametrize(
    ("minor", "decimals", "amount"),
    [(-123456, 2, "-1234.56"), (-5, 3, "-0.005"), (-1000, 0, "-1000"), (-100, 2, "-1.00")],
)
def test_request_body_carries_the_exact_amount(minor: int, decimals: int, amount: str) -> None:
    row = {
        "lineNumber": 30_000,
        "customerNumber": "C10000",
        "postingDate": pd.Timestamp("2026-12-01"),
        "documentNumber": "D1",
        "externalDocumentNumber": "E1",
        "amount_minor": minor,
        "comment": "",
        "appliesToInvoiceId": "",
        "appliesToInvoiceNumber": "",
        "description": "",
    }
    body = request_body(row, decimals)
    assert body["amount"] == amount
    assert body["postingDate"] == "2026-12-01" and body["lineNumber"] == 30_000
    assert "appliesToInvoiceId" not in body and "description" not in body


def test_request_body_applies_to_the_invoice_by_id_and_number() -> None:
    row = {
        "lineNumber": 10_000,
        "customerNumber": "C10000",
        "postingDate": "2026-12-01",
        "documentNumber": "D1",
        "externalDocumentNumber": "",
        "amount_minor": -119000,
        "comment": "",
        "appliesToInvoiceId": "inv-guid",
        "appliesToInvoiceNumber": "RE-2026-0101",
        "description": "Rechnung RE-2026-0101",
    }
    body = request_body(row, 2)
    assert (body["appliesToInvoiceId"], body["appliesToInvoiceNumber"]) == ("inv-guid", "RE-2026-0101")
    assert body["description"] == "Rechnung RE-2026-0101"


@pytest.mark.parametrize(
    ("numbers", "keys", "kept", "ledger", "expected"),
    [
        # nobody holds them: the profile's numbers as they are
        (["B-001", "B-002"], ["a", "b"], {}, {}, ["B-001", "B-002"]),
        # the same payment keeps its own number (a resume, a re-plan)
        (["B-001"], ["a"], {}, {"B-001": "a"}, ["B-001"]),
        # another payment (an earlier run, another file of the same day) holds it: /2
        (["B-001"], ["b"], {}, {"B-001": "a"}, ["B-001/2"]),
        (["B-001"], ["c"], {}, {"B-001": "a", "B-001/2": "b"}, ["B-001/3"]),
        # two payments of this run with one number
        (["B-001", "B-001", "B-001"], ["a", "b", "c"], {}, {}, ["B-001", "B-001/2", "B-001/3"]),
        # a number recorded earlier for this key wins over the profile's
        (["B-001"], ["b"], {"b": "B-001/2"}, {"B-001": "a", "B-001/2": "b"}, ["B-001/2"]),
        # Code[20]: the suffix is kept whole, the number is cut
        (["PAYMENT-20261202-001"], ["b"], {}, {"PAYMENT-20261202-001": "a"}, ["PAYMENT-20261202-0/2"]),
    ],
)
def test_unique_document_numbers(
    numbers: list[str], keys: list[str], kept: dict[str, str], ledger: dict[str, str], expected: list[str]
) -> None:
    result = unique_document_numbers(numbers, keys, kept, ledger.get)
    assert result == expected
    assert all(len(n) <= 20 for n in result)


# --- several journals -----------------------------------------------------------------------------


def test_rows_fill_the_journals_in_input_order_to_an_even_share() -> None:
    keys = [f"k{i}" for i in range(10)]
    # 10 lines (batches of one) over 3 journals: 4, 3, 3
    assert spread_rows(keys, {}, RUN, ["A", "B", "C"]) == [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]


def test_the_lines_of_a_split_receipt_stay_in_one_journal() -> None:
    # k1 is one receipt split over three invoices: one document number, so one journal (BC
    # balances per document); the share of journal A (3 of 6 lines) is reached inside it
    keys = ["k0", "k1#>INV1", "k1#>INV2", "k1#>INV3", "k2", "k3"]
    assert spread_rows(keys, {}, RUN, ["A", "B"]) == [0, 0, 0, 0, 1, 1]


def test_the_lines_of_a_check_stay_in_one_journal() -> None:
    # k1, k2 and k3 are the three lines of one check (pipeline.remittance: one payment_key, one
    # document number): journal A's share (3 of 6 lines) is reached at k2, yet k3 follows the check
    to_post = pd.DataFrame({"key": ["k0", "k1", "k2", "k3", "k4", "k5"], "payment_key": ["", "k1", "k1", "k1", "", ""]})
    keys = to_post["key"].tolist()
    assert spread_rows(keys, {}, RUN, ["A", "B"], payment_of=payment_groups(to_post)) == [0, 0, 0, 0, 1, 1]
    # without the check's grouping the same rows would be parted at the share
    assert spread_rows(keys, {}, RUN, ["A", "B"]) == [0, 0, 0, 1, 1, 1]


def test_rows_this_run_planned_stay_in_their_journal_and_their_receipt_follows() -> None:
    records = {
        "k3": record("k3", "created", journal_id="B"),
        "k0#>INV1": record("k0#>INV1", "sending", journal_id="B"),
        "k5": record("k5", "planned", run_id=EARLIER, journal_id="B"),  # another run's: placed anew
    }
    keys = ["k0#>INV1", "k0#>INV2", "k1", "k2", "k3", "k4", "k5"]
    assert spread_rows(keys, records, RUN, ["A", "B"]) == [1, 1, 0, 0, 1, 0, 0]


def test_a_run_spreads_only_above_journal_lines_and_never_beyond_its_requests_in_flight() -> None:
    posting = PostingSpec(journal_lines=1000, max_in_flight=6)
    spec = JournalSpec()
    assert journal_count(1000, spec, posting) == 1
    assert journal_count(1001, spec, posting) == 2
    assert journal_count(4500, spec, posting) == 5
    assert journal_count(50_000, spec, posting) == 6  # one per request in flight
    assert journal_count(50_000, spec, posting, principals=3) == 18
    assert journal_count(50_000, spec, PostingSpec(journal_lines=1000, max_journals=4), principals=3) == 4
    assert journal_count(50_000, JournalSpec(existing="CASH"), posting) == 1  # a person's journal is not spread


def test_journal_names_carry_their_part_within_bcs_text_100() -> None:
    assert part_name("payimport a.csv 2026-12-02", 1, 1) == "payimport a.csv 2026-12-02"
    assert part_name("payimport a.csv 2026-12-02", 2, 3) == "payimport a.csv 2026-12-02 (2/3)"
    long = "payimport " + "x" * 120
    assert part_name(long, 12, 12) == long[:92] + " (12/12)"
    assert len(part_name(long, 12, 12)) == 100


def test_the_share_of_each_journal_is_counted_in_whole_batches() -> None:
    # 2,000 lines in batches of 100 over 3 journals: 20 requests as 7, 7, 6 (not 667 lines each: 21)
    where = spread_rows([f"k{i}" for i in range(2000)], {}, RUN, ["A", "B", "C"], batch_size=100)
    assert [where.count(j) for j in range(3)] == [700, 700, 600]
    assert where == sorted(where)  # input order
