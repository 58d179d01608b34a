"""The lines of one check or remittance advice as one payment: grouping, stated totals, credit notes
and discounts, from the file up to the rows resolution hands the poster. Every expected sum is worked
out by hand from the file in the test."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.config import Policies, parse_config
from pipeline.errors import ConfigError
from pipeline.inputs import read_inputs
from pipeline.remittance import DISCOUNT, PAYMENT_KEY, mark_payments, resolve_payments
from pipeline.resolve import Resolution, resolve

HEADER = "Check,Total,Customer,Invoice,Paid,Discount,Date"
PROFILE: dict[str, Any] = {
    "delimiter": ",",
    "header": {"signature": ["Check", "Total", "Paid"]},
    "columns": {
        "date": "Date",
        "amount": "Paid",
        "customer_number": "Customer",
        "invoice_number": "Invoice",
        "reference": "Check",
        "payment_group": "Check",
        "payment_total": "Total",
        "discount": "Discount",
    },
    "amount": {"layout": "signed", "decimal_mark": "."},
    "date_formats": ["%Y-%m-%d"],
    "document_number": {"template": "LBX-{seq:03d}"},
}


def _rows(path: Path, *lines: str) -> pd.DataFrame:
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    inputs = read_inputs([path], parse_config({"profiles": {"lbx": PROFILE}}), "lbx")
    return mark_payments(inputs.rows, inputs.results, inputs.decimals)


def _by_row(rows: pd.DataFrame) -> dict[int, dict[str, Any]]:
    return {int(r["source_row"]): r for r in rows.to_dict("records")}


def test_lines_of_one_check_share_the_first_lines_number_and_key(tmp_path: Path) -> None:
    rows = _by_row(
        _rows(
            tmp_path / "a.csv",
            "A1,400.00,C1,I-1,100.00,,2026-03-18",  # 100.00 + 250.50 + 49.50 = 400.00
            "B2,,C1,I-4,5.00,,2026-03-18",  # another check between the lines of A1
            "A1,400.00,C1,I-2,250.50,,2026-03-18",
            "A1,,C1,I-3,49.50,,2026-03-18",  # the total written on some lines only
            ",,C1,I-5,7.00,,2026-03-18",  # no check number: a payment on its own
        )
    )
    a = [rows[2], rows[4], rows[5]]
    assert {r["documentNumber"] for r in a} == {"LBX-001"}
    assert {r[PAYMENT_KEY] for r in a} == {rows[2]["key"]}
    assert len({r["key"] for r in a}) == 3  # each line keeps its own exactly-once key
    assert all(r["payment_code"] == "" for r in a)
    assert (rows[3]["documentNumber"], rows[3][PAYMENT_KEY]) == ("LBX-002", rows[3]["key"])
    assert (rows[6]["documentNumber"], rows[6][PAYMENT_KEY]) == ("LBX-005", "")


def test_stated_totals_are_checked_against_the_lines(tmp_path: Path) -> None:
    rows = _by_row(
        _rows(
            tmp_path / "a.csv",
            "B1,30.00,C1,I-1,10.01,,2026-03-18",  # 10.01 + 20.02 = 30.03: 0.03 more than stated
            "B1,30.00,C1,I-2,20.02,,2026-03-18",
            "D1,50.00,C1,I-3,25.00,,2026-03-18",  # two totals for one check
            "D1,60.00,C1,I-4,25.00,,2026-03-18",
            "E1,12.5x,C1,I-5,12.50,,2026-03-18",  # a total that is not an amount
        )
    )
    assert {rows[2]["payment_code"], rows[3]["payment_code"]} == {"payment_total_mismatch"}
    assert "add up to 30.03, the stated total is 30.00 (difference -0.03)" in rows[2]["payment_note"]
    assert rows[2]["payment_note"] == rows[3]["payment_note"]
    assert rows[4]["payment_code"] == "payment_total_mismatch" and "50.00 and 60.00" in rows[4]["payment_note"]
    assert rows[6]["payment_code"] == "payment_total_mismatch"
    assert "row 6, column Total holds '12.5x'" in rows[6]["payment_note"]


def test_a_credit_note_and_a_rejected_line_stop_the_check(tmp_path: Path) -> None:
    rows = _by_row(
        _rows(
            tmp_path / "a.csv",
            "F1,150.00,C1,I-1,200.00,,2026-03-18",  # 200.00 - 50.00 = 150.00, the credit note netted
            "F1,150.00,C1,CN-9,-50.00,,2026-03-18",
            "G1,,C1,I-2,10.00,,2026-03-18",
            "G1,,C1,I-3,11.00,,2026-02-31",  # no such date: rejected, so G1 is not whole
        )
    )
    assert rows[2]["payment_code"] == "credit_note"
    assert "CN-9 (-50.00, row 3)" in rows[2]["payment_note"] and "200.00 paid" in rows[2]["payment_note"]
    assert 3 not in rows and 5 not in rows
    assert rows[4]["payment_code"] == "payment_held" and "row(s) 5" in rows[4]["payment_note"]


def test_discounts_are_read_in_minor_units_and_a_bad_one_is_never_dropped(tmp_path: Path) -> None:
    rows = _by_row(
        _rows(
            tmp_path / "a.csv",
            ",,C1,I-1,98.00,2.00,2026-03-18",
            ",,C1,I-2,5.00,,2026-03-18",
            ",,C1,I-3,5.00,2%,2026-03-18",  # on its own: this row waits
            "K1,,C1,I-4,5.00,-1.00,2026-03-18",  # in a check: the whole check waits
            "K1,,C1,I-5,6.00,,2026-03-18",
        )
    )
    assert (rows[2][DISCOUNT], rows[3][DISCOUNT]) == (200, 0)
    assert (rows[2]["payment_code"], rows[3]["payment_code"]) == ("", "")
    assert rows[4]["payment_code"] == "discount_invalid"
    assert "row 4, column Discount holds '2%'" in rows[4]["payment_note"]
    assert {rows[5]["payment_code"], rows[6]["payment_code"]} == {"discount_invalid"}
    assert "row 5, column Discount holds '-1.00'" in rows[6]["payment_note"]
    # I-1 is open for 100.00 = 98.00 + 2.00: settled; I-2 (250.50) is paid 5.00 in part (posted by policy)
    res = _resolved(pd.DataFrame([rows[k] for k in (2, 3, 4, 5, 6)]))
    assert res.rows["source_row"].tolist() == [2, 3]
    assert list(zip(res.review["source_row"], res.review["reason_code"], strict=True)) == [
        (4, "discount_invalid"), (5, "discount_invalid"), (6, "discount_invalid")
    ]  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(
    cents=st.lists(st.integers(1, 10**7), min_size=1, max_size=6),
    delta=st.sampled_from([0, 0, 1, -1, 99, -100_00]),
)
def test_a_check_is_whole_exactly_when_its_lines_add_up(tmp_path_factory: Any, cents: list[int], delta: int) -> None:
    total = sum(cents) + delta
    if total <= 0:
        return
    text = f"{total // 100}.{total % 100:02d}"
    lines = [f"H7,{text},C1,I-{k},{c // 100}.{c % 100:02d},,2026-03-18" for k, c in enumerate(cents)]
    rows = _rows(tmp_path_factory.mktemp("h") / "a.csv", *lines)
    assert len(rows) == len(cents) and rows["documentNumber"].nunique() == 1 and rows[PAYMENT_KEY].nunique() == 1
    codes = set(rows["payment_code"])
    if delta == 0:
        assert codes == {""}
    else:
        assert codes == {"payment_total_mismatch"}
        diff = f"{'-' if delta < 0 else ''}{abs(delta) // 100}.{abs(delta) % 100:02d}"
        assert f"(difference {diff})" in rows["payment_note"].iloc[0]


# --- around resolution: the real resolver over a small company -------------------------------------

CUSTOMERS = [{"id": "c1", "number": "C1", "displayName": "One", "blocked": "", "currencyCode": ""}]
INVOICES = [
    {"id": f"i{n}", "number": f"I-{n}", "customerNumber": "C1", "billToCustomerNumber": "C1", "currencyCode": "",
     "remainingAmount": Decimal(amount), "totalAmountIncludingTax": Decimal(amount), "status": "Open",
     "dueDate": "2026-03-01"}
    for n, amount in ((1, "100.00"), (2, "250.50"), (3, "49.50"))
]  # fmt: skip


def _resolved(rows: pd.DataFrame, **policy: Any) -> Resolution:
    policies = Policies.model_validate(policy)
    return resolve_payments(rows, 2, lambda frame: resolve(frame, 2, CUSTOMERS, INVOICES, "EUR", policies))


def test_a_whole_check_is_posted_one_line_per_invoice(tmp_path: Path) -> None:
    rows = _rows(
        tmp_path / "a.csv",
        "A1,400.00,C1,I-1,100.00,,2026-03-18",
        "A1,400.00,C1,I-2,250.50,,2026-03-18",
        "A1,400.00,C1,I-3,49.50,,2026-03-18",
    )
    res = _resolved(rows)
    assert res.review.empty
    posted = res.rows
    assert posted["appliesToInvoiceNumber"].tolist() == ["I-1", "I-2", "I-3"]
    assert posted["amount_minor"].tolist() == [-10000, -25050, -4950]
    assert set(posted["documentNumber"]) == {"LBX-001"}
    assert all("payment_group" in f for f in posted["flags"])


def test_one_line_for_a_person_sends_the_whole_check_in_input_order(tmp_path: Path) -> None:
    rows = _rows(
        tmp_path / "a.csv",
        "A1,,C1,I-1,100.00,,2026-03-18",
        "A1,,C1,I-9,250.50,,2026-03-18",  # not an open invoice
        "A1,,C1,I-3,49.50,,2026-03-18",
        ",,C1,I-2,250.50,,2026-03-18",  # on its own: posted
    )
    res = _resolved(rows)
    assert res.rows["appliesToInvoiceNumber"].tolist() == ["I-2"]
    review = res.review
    assert review["source_row"].tolist() == [2, 3, 4]
    assert review["reason_code"].tolist() == ["payment_held", "invoice_not_open", "payment_held"]
    assert review["amount_minor"].tolist() == [-10000, -25050, -4950]
    assert "row 3: invoice_not_open" in review["message"].iloc[0]
    assert "the other lines of Check A1 wait with it" in review["message"].iloc[1]


def test_a_discount_settles_the_invoice_it_names_and_posts_the_amount_paid(tmp_path: Path) -> None:
    # I-2 is open for 250.50: paid 245.49 + discount 5.01 = 250.50 exactly
    rows = _rows(tmp_path / "a.csv", ",,C1,I-2,245.49,5.01,2026-03-18")
    res = _resolved(rows, partial_payment="needs_review")
    assert res.review.empty
    (line,) = res.rows.to_dict("records")
    assert (line["amount_minor"], line["application"]) == (-24549, "exact")
    assert line["flags"] == "payment_discount"
    assert "discount 5.01 taken: the line pays 245.49 of I-2's 250.50" in line["match_details"]
    # a discount that does not settle it (245.49 + 5.00 = 250.49 < 250.50) is a partial payment
    short = _resolved(_rows(tmp_path / "b.csv", ",,C1,I-2,245.49,5.00,2026-03-18"), partial_payment="needs_review")
    (held,) = short.review.to_dict("records")
    assert (held["reason_code"], held["amount_minor"]) == ("partial_payment", -24549)
    assert held["message"].startswith("discount 5.00 taken, 245.49 paid: ")


def test_a_total_without_a_group_is_refused_when_the_config_is_read() -> None:
    columns = {k: v for k, v in PROFILE["columns"].items() if k != "payment_group"}
    with pytest.raises(ConfigError, match=r"payment_total needs columns\.payment_group"):
        parse_config({"profiles": {"lbx": {**PROFILE, "columns": columns}}})
