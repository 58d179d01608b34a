"""The bookkeeping of receipts split over several invoices: keys, shared document numbers, the
ledger's view of a split receipt, resuming it, and one report line per receipt."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest

from pipeline.ledger import RowRecord
from pipeline.lines import receipt_key, split_line_key
from pipeline.post.plan import unique_document_numbers
from pipeline.splits import expand_resumed, one_line_per_receipt, receipt_records
from schemas.lines import conform_lines

RUN, EARLIER = "20261202T090000Z-aaaaaa", "20261101T090000Z-bbbbbb"
K = "demo-bank-de:tx:TX260312001"


def _record(key: str, state: str, line: int, invoice: str, amount: str, run_id: str = RUN) -> RowRecord:
    payload = {
        "customerNumber": "C10400",
        "amount": amount,
        "documentNumber": "BANK260312-005",
        "appliesToInvoiceNumber": invoice,
        "appliesToInvoiceId": f"id-{invoice}" if invoice else "",
    }
    return RowRecord(
        "scope", key, run_id, "sha", "bank.csv", 13, "J1", "PI26120201", line, state, None,
        json.dumps(payload), None, None, "2026-12-02T09:00:00Z",
    )  # fmt: skip


def test_split_keys_are_distinct_stable_and_lead_back_to_the_receipt() -> None:
    a, b, rest = split_line_key(K, "RE-2026-0105"), split_line_key(K, "RE-2026-0106"), split_line_key(K, "")
    assert (a, b, rest) == (f"{K}#>RE-2026-0105", f"{K}#>RE-2026-0106", f"{K}#>rest")
    assert {receipt_key(x) for x in (a, b, rest, K)} == {K}
    # a bank id with "#" is doubled by normalize ("A##B"), and an occurrence suffix is "#2": neither is a split
    assert receipt_key("ns:tx:A##B#2") == "ns:tx:A##B#2"


@pytest.mark.parametrize(
    ("keys", "ledger", "expected"),
    [
        # the lines of one receipt share its number; the next receipt gets its own
        ([f"{K}#>A", f"{K}#>B", "other"], {}, ["D", "D", "D/2"]),
        # an earlier run holds the number for a line of this receipt: still the same payment
        ([f"{K}#>B"], {"D": f"{K}#>A"}, ["D"]),
        # another receipt holds it: /2, as for any payment
        ([f"{K}#>A"], {"D": "other"}, ["D/2"]),
    ],
)
def test_split_lines_share_one_document_number(keys: list[str], ledger: dict[str, str], expected: list[str]) -> None:
    assert unique_document_numbers(["D"] * len(keys), keys, {}, ledger.get) == expected


def test_receipt_record_stands_for_its_lines() -> None:
    a = _record(f"{K}#>RE-2026-0105", "created", 50_000, "RE-2026-0105", "-1190.00")
    b = _record(f"{K}#>RE-2026-0106", "created", 60_000, "RE-2026-0106", "-1190.00")
    (one,) = receipt_records({a.key: a, b.key: b}).values()
    assert (one.key, one.state, one.line_number) == (K, "created", 50_000)
    doubt = _record(b.key, "sending", 60_000, "RE-2026-0106", "-1190.00")
    assert receipt_records({a.key: a, b.key: doubt})[K].state == "sending"
    # created in part by an earlier run, the rest never made it: a person looks, nothing is forgotten
    lost = _record(b.key, "refused", 60_000, "RE-2026-0106", "-1190.00", run_id=EARLIER)
    part = receipt_records({a.key: a, b.key: lost})[K]
    assert part.state == "conflict" and "1 of the 2 lines" in str(part.error_message)
    # planned only: the receipt is resolved and planned again under the same keys
    planned = _record(a.key, "planned", 50_000, "RE-2026-0105", "-1190.00")
    assert receipt_records({a.key: planned})[K].state == "planned"


def test_a_resumed_split_receipt_becomes_its_planned_lines() -> None:
    a = _record(f"{K}#>RE-2026-0105", "created", 50_000, "RE-2026-0105", "-1190.00")
    b = _record(f"{K}#>RE-2026-0106", "planned", 60_000, "RE-2026-0106", "-1190.00")
    resumed = pd.DataFrame(
        {"key": [K, "single"], "lineNumber": [50_000, 10_000], "amount_minor": [-238000, -500],
         "appliesToInvoiceNumber": ["RE-2026-0105", "X"], "appliesToInvoiceId": ["id-RE-2026-0105", "id-X"]}
    )  # fmt: skip
    out = expand_resumed(resumed, {a.key: a, b.key: b}, 2)
    assert out.to_dict("records") == [
        {"key": a.key, "lineNumber": 50_000, "amount_minor": -119000, "appliesToInvoiceNumber": "RE-2026-0105",
         "appliesToInvoiceId": "id-RE-2026-0105"},
        {"key": b.key, "lineNumber": 60_000, "amount_minor": -119000, "appliesToInvoiceNumber": "RE-2026-0106",
         "appliesToInvoiceId": "id-RE-2026-0106"},
        {"key": "single", "lineNumber": 10_000, "amount_minor": -500, "appliesToInvoiceNumber": "X",
         "appliesToInvoiceId": "id-X"},
    ]  # fmt: skip


def _line(key: str, state: str, invoice: str, minor: int, **kw: Any) -> dict[str, Any]:
    return {"source_file": "bank.csv", "source_row": 13, "state": state, "key": key,
            "appliesToInvoiceNumber": invoice, "amount_minor": minor, **kw}  # fmt: skip


def test_the_report_shows_a_split_receipt_as_one_line() -> None:
    lines = conform_lines(
        pd.DataFrame(
            [
                _line(f"{K}#>RE-2026-0105", "posted", "RE-2026-0105", -119000, bc_id="g1", flags="split"),
                _line(f"{K}#>RE-2026-0106", "posted", "RE-2026-0106", -119000, bc_id="g2", flags="split"),
                {**_line("other", "posted", "RE-1", -100), "source_row": 14},
            ]
        )
    )
    out = one_line_per_receipt(lines).sort_values("source_row").to_dict("records")
    assert [(x["key"], x["state"], x["appliesToInvoiceNumber"], x["amount_minor"], x["bc_id"]) for x in out] == [
        (K, "posted", "RE-2026-0105 RE-2026-0106", -238000, "g1 g2"),
        ("other", "posted", "RE-1", -100, ""),
    ]
    # one line refused by BC: the receipt is not posted as a whole, the refused line decides
    mixed = lines.copy()
    mixed.loc[1, "state"] = "rejected"
    (first,) = [x for x in one_line_per_receipt(mixed).to_dict("records") if x["source_row"] == 13]
    assert first["state"] == "rejected" and first["amount_minor"] == -238000


@pytest.mark.parametrize(
    ("keys", "ledger", "expected"),
    [
        # the three lines of one check (each its own key) are one payment: one number
        (["a", "b", "c", "other"], {}, ["D", "D", "D", "D/2"]),
        # an earlier run planned line a of the check: b and c keep the check's number
        (["b", "c"], {"D": "a"}, ["D", "D"]),
        # another payment holds the number: the check gets /2, all its lines alike
        (["a", "b"], {"D": "other"}, ["D/2", "D/2"]),
    ],
)
def test_lines_of_one_check_share_one_document_number(
    keys: list[str], ledger: dict[str, str], expected: list[str]
) -> None:
    check = {"a": "a", "b": "a", "c": "a"}
    numbers = unique_document_numbers(["D"] * len(keys), keys, {}, ledger.get, lambda k: check.get(k, k))
    assert numbers == expected
