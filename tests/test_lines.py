"""schemas.lines: the run's lines and discrepancies have one model and one cast."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pandera.pandas as pa
import pytest

from pipeline.reconcile import compare_with_bc
from schemas.lines import (
    DISCREPANCY_COLUMNS,
    LINE_COLUMNS,
    DiscrepancyLine,
    RunLine,
    conform_discrepancies,
    conform_lines,
)

RAW = pd.DataFrame(
    {
        "source_file": ["a.csv", "a.csv", "b.csv"],
        "source_row": [2, 3, 4],
        "state": ["posted", "skipped", "rejected"],
        "lineNumber": [10000, None, None],
        "amount_minor": [-119000, None, -5],
        "postingDate": [pd.Timestamp("2026-03-01"), None, dt.date(2026, 3, 2)],
        "reason_code": [None, "blank", "date_format"],
        "extra": [1, 2, 3],
    }
)


def test_conformed_lines_fit_the_model() -> None:
    lines = conform_lines(RAW)
    RunLine.validate(lines)
    assert list(lines.columns) == list(LINE_COLUMNS)
    assert lines["postingDate"].tolist() == ["2026-03-01", "", "2026-03-02"]
    assert lines["amount_minor"].tolist()[0] == -119000 and lines["amount_minor"].isna().tolist()[1]
    assert lines["reason_code"].tolist() == ["", "blank", "date_format"]


def test_a_conformed_frame_is_not_cast_again() -> None:
    once = conform_lines(RAW)
    assert conform_lines(once) is once
    found = conform_discrepancies(pd.DataFrame())
    assert conform_discrepancies(found) is found


def test_a_frame_that_only_looks_conformed_is_cast() -> None:
    once = conform_lines(RAW)
    long_dates = once.assign(postingDate=pd.Series(["2026-03-01T00:00:00", "", ""], dtype="str"))
    assert conform_lines(long_dates)["postingDate"].tolist() == ["2026-03-01", "", ""]
    with_nan = once.assign(key=pd.Series(["k", None, "m"], dtype="object"))
    assert conform_lines(with_nan)["key"].tolist() == ["k", "", "m"]


def test_a_lines_frame_needs_its_keys() -> None:
    with pytest.raises(ValueError, match="source_file"):
        conform_lines(pd.DataFrame({"state": ["posted"]}))
    assert conform_lines(pd.DataFrame()).empty


def test_discrepancies_fit_the_model() -> None:
    plan = pd.DataFrame(
        {
            "lineNumber": [10000, 20000],
            "key": ["k1", "k2"],
            "customerNumber": ["C1", "C2"],
            "appliesToInvoiceNumber": ["", ""],
            "amount_minor": [-100, -200],
            "postingDate": ["2026-03-01", "2026-03-01"],
            "documentNumber": ["D1", "D2"],
            "externalDocumentNumber": ["", ""],
        }
    )
    bc = [
        {
            "id": "x",
            "lineNumber": 10000,
            "customerNumber": "C1",
            "appliesToInvoiceNumber": "",
            "amount": Decimal("-1.01"),
            "postingDate": "2026-03-01",
            "documentNumber": "D1",
            "externalDocumentNumber": "",
        },
        {"id": "y", "lineNumber": 30000, "customerNumber": "C9", "amount": Decimal("-3"), "documentNumber": "D9"},
    ]
    found = compare_with_bc(plan, bc, 2)
    DiscrepancyLine.validate(found)
    assert list(found.columns) == list(DISCREPANCY_COLUMNS)
    assert found["kind"].tolist() == ["field_mismatch", "missing_in_bc", "not_planned"]


def test_an_unknown_discrepancy_kind_breaks_the_model() -> None:
    bad = conform_discrepancies(pd.DataFrame({"kind": ["something_else"], "lineNumber": [1]}))
    with pytest.raises(pa.errors.SchemaError):
        DiscrepancyLine.validate(bad)
