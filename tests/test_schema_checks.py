"""``schemas.checks.rows_that_may_fail``: the rows pandera is given must be every row it would
refuse in the whole frame, so its verdicts on them are the whole frame's verdicts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow
import pytest

from schemas.checks import duplicated_mask, has_duplicates, rows_that_may_fail
from schemas.payment import CustomerPayment
from schemas.statement import statement_schema


def _statement_rows() -> pd.DataFrame:
    n = 8
    frame = pd.DataFrame(
        {
            "source_row": pd.Series(np.arange(2, n + 2), dtype="int64"),
            "posting_date": pd.Series(pd.to_datetime(["2026-03-02"] * n)),
            "amount_minor": pd.Series([100] * n, dtype="Int64"),
            "currency": pd.Series(["EUR"] * n, dtype="str"),
            "payer_name": pd.Series(["Payer"] * n, dtype="str"),
            "reference": pd.Series(["Ref"] * n, dtype="str"),
            "customer_number": pd.Series(["C1"] * n, dtype="str"),
            "invoice_number": pd.Series([""] * n, dtype="str"),
            "transaction_id": pd.Series([f"T{i}" for i in range(n)], dtype="str"),
        }
    )
    frame.loc[1, "currency"] = "USD"  # not the expected currency
    frame.loc[2, "customer_number"] = "C" * 21  # longer than Code[20]
    frame.loc[3, "posting_date"] = pd.Timestamp("1700-01-01")  # before BC's first date
    frame.loc[4, "amount_minor"] = 0  # a receipt is positive
    frame.loc[6, "reference"] = np.nan  # text columns are not nullable
    frame.loc[7, "currency"] = "EURO"  # neither three letters nor EUR
    return frame


def _failures(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> set[tuple[object, ...]]:
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        return {(r["index"], r["column"], r["check"], str(r["failure_case"])) for _, r in cases.iterrows()}
    return set()


def test_the_rows_that_may_fail_are_the_refused_ones() -> None:
    frame = _statement_rows()
    assert rows_that_may_fail(frame, statement_schema("EUR"), {}).tolist() == [1, 2, 3, 4, 6, 7]


def test_pandera_on_those_rows_refuses_what_it_refuses_in_the_whole_frame() -> None:
    frame, schema = _statement_rows(), statement_schema("EUR")
    picked = rows_that_may_fail(frame, schema, {})
    assert picked is not None
    whole = _failures(schema, frame)
    assert len(whole) == 7  # EURO fails both the pattern and the expected currency
    assert _failures(schema, frame.iloc[picked]) == whole


def test_a_clean_frame_sends_no_row() -> None:
    frame = _statement_rows().iloc[[0, 5]]
    assert rows_that_may_fail(frame, statement_schema("EUR"), {}).tolist() == []


def test_a_check_it_cannot_judge_row_by_row_sends_the_whole_frame() -> None:
    frame = _statement_rows()
    custom = statement_schema("EUR").update_column("payer_name", checks=[pa.Check(lambda s: s != "x", name="mine")])
    assert rows_that_may_fail(frame, custom, {}) is None
    judged = rows_that_may_fail(frame, custom, {"mine": lambda s: (s == "Payer").to_numpy()})
    assert judged is not None and judged.tolist() == list(range(8))
    unique = statement_schema("EUR").update_column("transaction_id", unique=True)
    assert rows_that_may_fail(frame, unique, {}) is None


@pytest.mark.parametrize("pattern", [r"^\D{3}$", r"^\S+$"])
def test_a_pattern_re2_may_read_more_loosely_sends_the_whole_frame(pattern: str) -> None:
    schema = statement_schema("EUR").update_column("currency", checks=[pa.Check.str_matches(pattern)])
    assert rows_that_may_fail(_statement_rows(), schema, {}) is None


def test_payment_checks_are_judged_row_by_row_except_the_custom_ones() -> None:
    schema = CustomerPayment.to_schema()
    frame = pd.DataFrame({name: pd.Series([], dtype=str(col.dtype)) for name, col in schema.columns.items()})
    assert rows_that_may_fail(frame, schema, {}) is None  # increasing_in_file_order, upper_case, unique


def _blocks(*blocks: list[str]) -> pd.Series:
    """A ``str`` column stored in several pyarrow blocks, as the CSV reader leaves it."""
    chunked = pyarrow.chunked_array([pyarrow.array(b, pyarrow.large_string()) for b in blocks])
    return pd.Series(chunked.to_pandas(), dtype="str")


@pytest.mark.parametrize(
    ("blocks", "expected"),
    [
        ((["TX1", "TX2"], ["TX3", "TX1"]), True),  # the same id in two blocks
        ((["TX1", "TX1"], ["TX3"]), True),  # twice in one block
        ((["TX1", "TX2"], ["TX3", "tx1"]), False),  # case matters: BC keys are compared as written
        ((["TX1"], [], ["TX2"]), False),
        (([],), False),
    ],
)
def test_has_duplicates_looks_across_every_block(blocks: tuple[list[str], ...], expected: bool) -> None:
    assert has_duplicates(_blocks(*blocks)) is expected
    assert bool(duplicated_mask(_blocks(*blocks)).any()) is expected
