"""BC's journal compared with the plan line by line, and the per-state accounting of a run's lines.

Expected values are written out by hand from the inputs (amounts in cents, BC amounts as Decimal),
never computed by the code under test.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.money import decimal_to_minor, minor_to_decimal
from pipeline.reconcile import (
    account,
    compare_with_bc,
)
from schemas.codes import STATES
from schemas.lines import DISCREPANCY_COLUMNS, LINE_COLUMNS, conform_lines

# --- compare_with_bc ---------------------------------------------------------------------------------------


def _plan(*rows: dict[str, Any]) -> pd.DataFrame:
    base = {
        "customerNumber": "C10000",
        "appliesToInvoiceNumber": "",
        "postingDate": "2026-03-02",
        "externalDocumentNumber": "",
    }
    frame = pd.DataFrame([{**base, **r} for r in rows])
    frame["amount_minor"] = frame["amount_minor"].astype("int64")
    return frame


def _bc(line_number: int, amount: Any, **fields: Any) -> dict[str, Any]:
    """A customerPayments entity as BC returns it (Code fields upper-case, amount Decimal)."""
    entity = {
        "@odata.etag": 'W/"x"',
        "id": f"id-{line_number}",
        "journalId": "jid",
        "journalDisplayName": "PAYIMP",
        "lineNumber": line_number,
        "customerId": "cid",
        "customerNumber": "C10000",
        "postingDate": "2026-03-02",
        "documentNumber": f"PAY-{line_number // 10000}",
        "externalDocumentNumber": "",
        "amount": amount,
        "appliesToInvoiceId": "00000000-0000-0000-0000-000000000000",
        "appliesToInvoiceNumber": "",
        "description": "Payment",
        "comment": "",
    }
    entity.update(fields)
    return entity


PLAN = _plan(
    {
        "lineNumber": 10000,
        "key": "bank:tx:1",
        "amount_minor": -12000,
        "documentNumber": "PAY-1",
        "appliesToInvoiceNumber": "RE-2026-0001",
    },
    {"lineNumber": 20000, "key": "bank:tx:2", "amount_minor": -550, "documentNumber": "PAY-2"},
)
BC_EXACT = [
    _bc(10000, Decimal("-120.00"), appliesToInvoiceNumber="RE-2026-0001"),
    _bc(20000, Decimal("-5.50")),
]


def _kinds(found: pd.DataFrame) -> list[tuple[str, int | None, str]]:
    return [
        (k, None if pd.isna(n) else int(n), f)
        for k, n, f in zip(found["kind"], found["lineNumber"], found["field"], strict=True)
    ]


def test_exact_match_has_no_discrepancies() -> None:
    found = compare_with_bc(PLAN, BC_EXACT, 2)
    assert list(found.columns) == list(DISCREPANCY_COLUMNS)
    assert found.empty


def test_amount_given_as_json_integer_or_without_trailing_zeros_is_the_same_amount() -> None:
    bc = [_bc(10000, -120, appliesToInvoiceNumber="RE-2026-0001"), _bc(20000, Decimal("-5.5"))]
    assert compare_with_bc(PLAN, bc, 2).empty


def test_planned_line_missing_in_bc() -> None:
    found = compare_with_bc(PLAN, BC_EXACT[:1], 2)
    assert _kinds(found) == [("missing_in_bc", 20000, "")]
    row = found.iloc[0]
    assert row["key"] == "bank:tx:2"
    assert row["bc_id"] == ""
    assert "20000" in row["message"] and "-5.50" in row["message"]


def test_foreign_line_is_not_planned() -> None:
    foreign = _bc(30000, Decimal("-99.99"), customerNumber="C20000", documentNumber="MANUAL-7")
    found = compare_with_bc(PLAN, [*BC_EXACT, foreign], 2)
    assert _kinds(found) == [("not_planned", 30000, "")]
    row = found.iloc[0]
    assert row["bc_id"] == "id-30000"
    assert row["key"] == ""
    assert "C20000" in row["message"] and "-99.99" in row["message"] and "MANUAL-7" in row["message"]


def test_amount_one_cent_off_is_a_field_mismatch() -> None:
    bc = [BC_EXACT[0], _bc(20000, Decimal("-5.49"))]
    found = compare_with_bc(PLAN, bc, 2)
    assert _kinds(found) == [("field_mismatch", 20000, "amount")]
    row = found.iloc[0]
    assert (row["expected"], row["actual"], row["bc_id"], row["key"]) == ("-5.50", "-5.49", "id-20000", "bank:tx:2")


def test_amount_with_more_places_than_the_currency_is_a_mismatch_shown_exactly() -> None:
    bc = [BC_EXACT[0], _bc(20000, Decimal("-5.501"))]
    found = compare_with_bc(PLAN, bc, 2)
    assert _kinds(found) == [("field_mismatch", 20000, "amount")]
    assert found.iloc[0]["actual"] == "-5.501"


def test_positive_amount_in_bc_is_a_mismatch() -> None:
    bc = [BC_EXACT[0], _bc(20000, Decimal("5.50"))]
    found = compare_with_bc(PLAN, bc, 2)
    assert [(r["field"], r["expected"], r["actual"]) for _, r in found.iterrows()] == [("amount", "-5.50", "5.50")]


def test_lower_case_code_fields_in_the_plan_equal_bc_upper_cased_values() -> None:
    plan = _plan(
        {
            "lineNumber": 10000,
            "key": "k",
            "amount_minor": -100,
            "documentNumber": "pay-1",
            "customerNumber": "c10000",
            "externalDocumentNumber": "ref 77/a",
            "appliesToInvoiceNumber": "re-2026-0001",
        }
    )
    bc = [_bc(10000, Decimal("-1.00"), externalDocumentNumber="REF 77/A", appliesToInvoiceNumber="RE-2026-0001")]
    assert compare_with_bc(plan, bc, 2).empty


def test_code_field_that_really_differs_is_reported_upper_cased() -> None:
    plan = _plan({"lineNumber": 10000, "key": "k", "amount_minor": -100, "documentNumber": "pay-1"})
    bc = [_bc(10000, Decimal("-1.00"), documentNumber="PAY-2")]
    found = compare_with_bc(plan, bc, 2)
    assert [(r["field"], r["expected"], r["actual"]) for _, r in found.iterrows()] == [
        ("documentNumber", "PAY-1", "PAY-2")
    ]


def test_every_differing_field_is_reported_separately() -> None:
    plan = _plan({"lineNumber": 10000, "key": "k", "amount_minor": -100, "documentNumber": "PAY-1"})
    bc = [
        _bc(
            10000,
            Decimal("-1.00"),
            customerNumber="C20000",
            postingDate="2026-03-03",
            appliesToInvoiceNumber="RE-9",
            externalDocumentNumber="X",
        )
    ]
    found = compare_with_bc(plan, bc, 2)
    assert sorted(found["field"]) == [
        "appliesToInvoiceNumber",
        "customerNumber",
        "externalDocumentNumber",
        "postingDate",
    ]
    dates = found[found["field"] == "postingDate"].iloc[0]
    assert (dates["expected"], dates["actual"]) == ("2026-03-02", "2026-03-03")


def test_posting_date_as_datetime_or_date_in_the_plan() -> None:
    for value in (pd.Timestamp("2026-03-02"), dt.date(2026, 3, 2), dt.datetime(2026, 3, 2, 0, 0)):
        plan = _plan({"lineNumber": 10000, "key": "k", "amount_minor": -100, "documentNumber": "PAY-1"})
        plan["postingDate"] = [value]
        assert compare_with_bc(plan, [_bc(10000, Decimal("-1.00"))], 2).empty, value
    plan = _plan({"lineNumber": 10000, "key": "k", "amount_minor": -100, "documentNumber": "PAY-1"})
    plan["postingDate"] = pd.to_datetime(["2026-03-02"]).astype("datetime64[s]")
    assert compare_with_bc(plan, [_bc(10000, Decimal("-1.00"))], 2).empty


def test_same_payment_twice_in_bc_is_a_duplicate() -> None:
    again = _bc(30000, Decimal("-120.00"), documentNumber="PAY-1", appliesToInvoiceNumber="RE-2026-0001")
    found = compare_with_bc(PLAN, [*BC_EXACT, again], 2)
    assert _kinds(found) == [("duplicate_in_bc", 30000, "")]
    row = found.iloc[0]
    assert (row["key"], row["bc_id"]) == ("bank:tx:1", "id-30000")
    assert "10000" in row["message"] and "twice" in row["message"]


def test_one_line_number_returned_twice_is_a_duplicate() -> None:
    again = _bc(20000, Decimal("-5.50"), id="other-id")
    found = compare_with_bc(PLAN, [*BC_EXACT, again], 2)
    assert _kinds(found) == [("duplicate_in_bc", 20000, "")]
    assert found.iloc[0]["bc_id"] == "other-id"


def test_planned_content_at_another_line_number_is_missing_plus_not_planned_naming_it() -> None:
    moved = _bc(90000, Decimal("-5.50"), documentNumber="PAY-2")
    found = compare_with_bc(PLAN, [BC_EXACT[0], moved], 2)
    assert _kinds(found) == [("missing_in_bc", 20000, ""), ("not_planned", 90000, "")]
    hint = found.iloc[1]
    assert hint["key"] == "bank:tx:2"
    assert "planned line 20000" in hint["message"]


def test_zero_decimal_and_three_decimal_currencies() -> None:
    yen = _plan({"lineNumber": 10000, "key": "k", "amount_minor": -1500, "documentNumber": "PAY-1"})
    assert compare_with_bc(yen, [_bc(10000, Decimal("-1500"))], 0).empty
    off = compare_with_bc(yen, [_bc(10000, Decimal("-1500.5"))], 0)
    assert [(r["expected"], r["actual"]) for _, r in off.iterrows()] == [("-1500", "-1500.5")]
    dinar = _plan({"lineNumber": 10000, "key": "k", "amount_minor": -1234, "documentNumber": "PAY-1"})
    assert compare_with_bc(dinar, [_bc(10000, Decimal("-1.234"))], 3).empty
    off = compare_with_bc(dinar, [_bc(10000, Decimal("-1.235"))], 3)
    assert [(r["expected"], r["actual"]) for _, r in off.iterrows()] == [("-1.234", "-1.235")]


def test_results_are_ordered_by_line_number() -> None:
    plan = _plan(
        *(
            {"lineNumber": n, "key": f"k{n}", "amount_minor": -100, "documentNumber": f"PAY-{n // 10000}"}
            for n in (10000, 20000, 30000)
        )
    )
    bc = [_bc(40000, Decimal("-9.00")), _bc(20000, Decimal("-1.01")), _bc(5000, Decimal("-3.00"))]
    found = compare_with_bc(plan, bc, 2)
    assert _kinds(found) == [
        ("not_planned", 5000, ""),
        ("missing_in_bc", 10000, ""),
        ("field_mismatch", 20000, "amount"),
        ("missing_in_bc", 30000, ""),
        ("not_planned", 40000, ""),
    ]


def test_empty_plan_and_empty_journal() -> None:
    assert compare_with_bc(PLAN.iloc[:0], [], 2).empty
    found = compare_with_bc(PLAN.iloc[:0], BC_EXACT, 2)
    assert _kinds(found) == [("not_planned", 10000, ""), ("not_planned", 20000, "")]
    assert _kinds(compare_with_bc(PLAN, [], 2)) == [("missing_in_bc", 10000, ""), ("missing_in_bc", 20000, "")]


def test_float_amount_from_bc_is_refused() -> None:
    with pytest.raises(TypeError, match="parse_float=Decimal"):
        compare_with_bc(PLAN, [BC_EXACT[0], _bc(20000, -5.5)], 2)


def test_plan_with_a_line_number_twice_is_refused() -> None:
    plan = pd.concat([PLAN, PLAN.iloc[:1]], ignore_index=True)
    with pytest.raises(ValueError, match="10000"):
        compare_with_bc(plan, BC_EXACT, 2)


# --- exact money helpers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minor", "decimals", "text"),
    [
        (-123456, 2, "-1234.56"),
        (5, 2, "0.05"),
        (-5, 2, "-0.05"),
        (0, 2, "0.00"),
        (1500, 0, "1500"),
        (-1, 3, "-0.001"),
        (-(2**63), 2, "-92233720368547758.08"),
        (10**30 + 1, 2, "10000000000000000000000000000.01"),
    ],
)
def test_minor_to_decimal_is_exact(minor: int, decimals: int, text: str) -> None:
    assert str(minor_to_decimal(minor, decimals)) == text


@pytest.mark.parametrize(
    ("value", "decimals", "minor"),
    [
        (Decimal("-1234.56"), 2, -123456),
        (Decimal("-1234.5"), 2, -123450),
        (-12, 2, -1200),
        ("0.10", 2, 10),
        (Decimal("1.005"), 2, None),
        (Decimal("7"), 0, 7),
        (Decimal("7.1"), 0, None),
    ],
)
def test_decimal_to_minor(value: Any, decimals: int, minor: int | None) -> None:
    assert decimal_to_minor(value, decimals) == minor


# --- account -----------------------------------------------------------------------------------------------


def _lines(*rows: tuple[str, int, str, int | None, str]) -> pd.DataFrame:
    """(source_file, source_row, state, amount_minor, currency) per line."""
    columns = ["source_file", "source_row", "state", "amount_minor", "currency"]
    frame = pd.DataFrame({c: [r[i] for r in rows] for i, c in enumerate(columns)}, columns=columns)
    # built from the Python ints: a column with None would be inferred as float and lose cents
    frame["amount_minor"] = pd.array([r[3] for r in rows], dtype="Int64")
    return frame


RUN = _lines(
    ("a.csv", 2, "posted", -12000, "EUR"),
    ("a.csv", 3, "posted", -1, "EUR"),
    ("a.csv", 4, "posted", -250000, "USD"),
    ("a.csv", 5, "already_posted", -550, "EUR"),
    ("a.csv", 6, "skipped", None, ""),
    ("a.csv", 7, "rejected", None, "EUR"),
    ("b.xlsx", 2, "rejected", -700, "EUR"),
    ("b.xlsx", 3, "needs_review", -13000, "EUR"),
    ("b.xlsx", 4, "needs_review", -1500, "JPY"),
)
PLACES = {"EUR": 2, "USD": 2, "JPY": 0, "": 2}


def test_account_counts_and_exact_totals_per_state_and_currency() -> None:
    acc = account(RUN, 9, PLACES)
    assert dict(acc.counts) == {"posted": 3, "already_posted": 1, "skipped": 1, "rejected": 2, "needs_review": 2}
    assert {s: dict(t) for s, t in acc.totals.items()} == {
        "posted": {"EUR": Decimal("-120.01"), "USD": Decimal("-2500.00")},
        "already_posted": {"EUR": Decimal("-5.50")},
        "skipped": {},
        "rejected": {"EUR": Decimal("-7.00")},
        "needs_review": {"EUR": Decimal("-130.00"), "JPY": Decimal("-1500")},
    }
    assert acc.identity == ("lines read 9 = posted 3 + already posted 1 + skipped 1 + rejected 2 + needs review 2")


def test_account_as_dict_writes_money_as_exact_strings() -> None:
    d = account(RUN, 9, PLACES).as_dict()
    assert d["rows_read"] == 9
    assert d["counts"] == {"posted": 3, "already_posted": 1, "skipped": 1, "rejected": 2, "needs_review": 2}
    assert d["totals"]["posted"] == {"EUR": "-120.01", "USD": "-2500.00"}
    assert d["totals"]["needs_review"] == {"EUR": "-130.00", "JPY": "-1500"}
    assert d["totals"]["skipped"] == {}


def test_totals_are_exact_beyond_float_and_int64() -> None:
    # 3 x 10000000000000.01: a float sum loses the cents.
    big = _lines(*(("a.csv", r, "posted", 10**15 + 1, "EUR") for r in (1, 2, 3)))
    assert account(big, 3).totals["posted"]["EUR"] == Decimal("30000000000000.03")
    # 3 x -2**62 cents overflows an int64 sum (the total is below -2**63).
    huge = _lines(*(("a.csv", r, "posted", -(2**62), "EUR") for r in (1, 2, 3)))
    assert account(huge, 3).totals["posted"]["EUR"] == Decimal("-138350580552821637.12")


def test_identity_that_does_not_hold_raises_with_the_numbers() -> None:
    with pytest.raises(AssertionError, match=r"lines read 10 = posted 3 .* needs review 2 does not hold"):
        account(RUN, 10, PLACES)


def test_line_accounted_twice_raises_naming_it() -> None:
    twice = pd.concat([RUN, RUN.iloc[[3]].assign(state="skipped")], ignore_index=True)
    with pytest.raises(
        AssertionError, match=r"more than once: a.csv row 5 \(already_posted\), a.csv row 5 \(skipped\)"
    ):
        account(twice, 10, PLACES)


def test_same_row_number_in_two_files_is_two_lines() -> None:
    assert (
        account(_lines(("a.csv", 2, "posted", -1, "EUR"), ("b.csv", 2, "posted", -1, "EUR")), 2).counts["posted"] == 2
    )


def test_unknown_state_raises() -> None:
    with pytest.raises(AssertionError, match=r"unknown state: a.csv row 2 \(sent\)"):
        account(_lines(("a.csv", 2, "sent", -1, "EUR")), 1)


def test_currency_without_known_decimals_is_an_error_not_a_guess() -> None:
    with pytest.raises(ValueError, match="'KWD'"):
        account(_lines(("a.csv", 2, "posted", -1000, "KWD")), 1, {"EUR": 2})


def test_empty_run_accounts_for_zero_lines() -> None:
    acc = account(_lines(), 0)
    assert dict(acc.counts) == dict.fromkeys(STATES, 0)
    with pytest.raises(AssertionError):
        account(_lines(), 1)


def test_conform_lines_fills_missing_columns() -> None:
    frame = conform_lines(RUN)
    assert list(frame.columns) == list(LINE_COLUMNS)
    assert str(frame["lineNumber"].dtype) == "Int64" and frame["lineNumber"].isna().all()
    assert (frame["message"] == "").all()
    assert frame["amount_minor"].tolist()[:2] == [-12000, -1]
    assert conform_lines(pd.DataFrame()).empty


@st.composite
def runs(draw: st.DrawFn) -> tuple[pd.DataFrame, list[tuple[str, int, str, int | None, str]]]:
    rows = []
    for file in draw(st.lists(st.sampled_from(["a.csv", "b.xlsx", "c.ods"]), unique=True, max_size=3)):
        for row in range(2, 2 + draw(st.integers(0, 30))):
            state = draw(st.sampled_from(STATES))
            amount = draw(st.one_of(st.none(), st.integers(-(10**17), 10**17)))
            rows.append((file, row, state, amount, draw(st.sampled_from(["EUR", "USD", "JPY"]))))
    return _lines(*rows), rows


@settings(max_examples=60, deadline=None)
@given(runs())
def test_property_counts_and_totals_match_a_line_by_line_tally(
    run: tuple[pd.DataFrame, list[tuple[str, int, str, int | None, str]]],
) -> None:
    frame, rows = run
    acc = account(frame, len(rows), PLACES)
    counts = dict.fromkeys(STATES, 0)
    totals: dict[str, dict[str, Decimal]] = {s: {} for s in STATES}
    for _file, _row, state, amount, currency in rows:
        counts[state] += 1
        if amount is not None:
            value = Decimal(amount).scaleb(-PLACES[currency])  # Decimal arithmetic: exact for these sizes
            totals[state][currency] = totals[state].get(currency, Decimal(0)) + value
    assert dict(acc.counts) == counts
    assert {s: dict(t) for s, t in acc.totals.items()} == totals
    with pytest.raises(AssertionError):
        account(frame, len(rows) + 1, PLACES)
