"""``rows_to_validate`` hands pandera only the rows that can fail: the failures reported must be
exactly those of validating the whole frame, on clean frames, dirty ones, and cross-row faults."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest

from pipeline.config import load_config
from pipeline.validate import validate_file
from schemas.checks import Failure, row_failures, rows_to_validate
from schemas.payment import CustomerPayment
from schemas.statement import statement_schema

ROOT = Path(__file__).resolve().parents[1]


def failures(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> list[Failure]:
    """Every row failure of a lazy validation, in pandera's order."""
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        return row_failures(exc, frame_level="skip")
    return []


def agree(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> list[Failure]:
    subset = rows_to_validate(schema, frame)
    assert len(subset) <= len(frame)
    expected = failures(schema, frame)
    assert failures(schema, subset) == expected
    return expected


def payments() -> pd.DataFrame:
    """Real customerPayment rows, repeated so the frame is more than a handful."""
    config = load_config(ROOT / "config.yaml")
    rows = validate_file(ROOT / "sample_data" / "bank_statement.csv", config, None).payments.rows
    many = pd.concat([rows] * 40, ignore_index=True)
    many["lineNumber"] = np.arange(1, len(many) + 1, dtype="int64") * 10_000
    many["key"] = [f"k:{i}" for i in range(len(many))]
    many["key"] = many["key"].astype("str")
    return many


def _long_document(f: pd.DataFrame) -> None:
    f.loc[[3, 50], "documentNumber"] = "X" * 21


def _lower_case(f: pd.DataFrame) -> None:
    f.loc[7, "customerNumber"] = "c100"


def _positive_amount(f: pd.DataFrame) -> None:
    f.loc[[0, 9], "amount_minor"] = 5


def _bad_currency(f: pd.DataFrame) -> None:
    f.loc[11, "currency"] = "EURO"


def _duplicate_key(f: pd.DataFrame) -> None:
    f.loc[12, "key"] = str(f["key"].iloc[30])


def _decreasing_line(f: pd.DataFrame) -> None:
    f.loc[20, "lineNumber"] = 10


def _long_description(f: pd.DataFrame) -> None:
    f.loc[2, "description"] = "d" * 101


def _clean(f: pd.DataFrame) -> None:
    return None


@pytest.mark.parametrize(
    "spoil",
    [
        _clean,
        _long_document,
        _lower_case,
        _positive_amount,
        _bad_currency,
        _duplicate_key,
        _decreasing_line,
        _long_description,
    ],
)
def test_payment_failures_match_the_whole_frame(spoil: Callable[[pd.DataFrame], None]) -> None:
    frame = payments()
    spoil(frame)
    found = agree(CustomerPayment.to_schema(), frame)
    assert (found == []) == (spoil is _clean)


def test_cross_row_failure_validates_the_whole_frame() -> None:
    frame = payments()
    _decreasing_line(frame)
    _long_document(frame)
    assert len(rows_to_validate(CustomerPayment.to_schema(), frame)) == len(frame)


def test_clean_rows_are_not_handed_to_pandera() -> None:
    frame = payments()
    _long_document(frame)
    _bad_currency(frame)
    assert sorted(rows_to_validate(CustomerPayment.to_schema(), frame).index) == [3, 11, 50]


def statement_rows() -> pd.DataFrame:
    n = 300
    return pd.DataFrame(
        {
            "source_row": pd.Series(np.arange(2, n + 2), dtype="int64"),
            "posting_date": pd.Series(pd.to_datetime(["2026-03-01"] * n)),
            "amount_minor": pd.Series(np.arange(1, n + 1), dtype="Int64"),
            "currency": pd.Series(["EUR"] * n, dtype="str"),
            "payer_name": pd.Series(["Payer"] * n, dtype="str"),
            "reference": pd.Series(["RE-1"] * n, dtype="str"),
            "customer_number": pd.Series(["C1"] * n, dtype="str"),
            "invoice_number": pd.Series(["RE-1"] * n, dtype="str"),
            "transaction_id": pd.Series([f"T{i}" for i in range(n)], dtype="str"),
        }
    )


def test_statement_failures_match_the_whole_frame() -> None:
    frame = statement_rows()
    frame.loc[4, "currency"] = "USD"
    frame.loc[5, "currency"] = "eur"
    frame.loc[6, "customer_number"] = "C" * 21
    frame.loc[7, "invoice_number"] = "I" * 25
    frame.loc[8, "amount_minor"] = -3
    frame.loc[9, "posting_date"] = pd.Timestamp("1700-01-01")
    frame.loc[10, "payer_name"] = None
    schema = statement_schema("EUR")
    found = agree(schema, frame)
    assert {f.index for f in found} == {4, 5, 6, 7, 8, 9, 10}
    assert sorted(rows_to_validate(schema, frame).index) == [4, 5, 6, 7, 8, 9, 10]
