"""Vectorised helpers behind the schemas' custom checks, and the one reading of their failures."""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd
import pandera.pandas as pandera
import pyarrow as pa


def has_duplicates(text: pd.Series) -> bool:
    """Does any value occur twice? (dictionary-encoding in C++, twice as fast as ``duplicated``.)"""
    arr = pa.array(text.astype("str"), from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return len(arr.dictionary_encode().dictionary) != len(arr)


def duplicated_mask(text: pd.Series) -> pd.Series:
    """True on every row whose value occurs more than once; all False quickly when none does."""
    if not has_duplicates(text):
        return pd.Series(False, index=text.index)
    return text.duplicated(keep=False)


class Failure(NamedTuple):
    """One failed value of a lazy pandera validation: the row's label, the column, the check, the value."""

    index: Any
    column: str
    check: str
    value: str


def row_failures(exc: pandera.errors.SchemaErrors, *, frame_level: Literal["skip", "raise"]) -> list[Failure]:
    """Every failure case of ``exc`` that names a row, as ``Failure``s (pandera's own frame, turned
    into plain values once here so each caller only maps them to its reason codes).

    A failure without a row (a wrong dtype, a missing column) is a bug in the caller's frame rather
    than a bad value: ``frame_level="raise"`` re-raises ``exc``, ``"skip"`` leaves it out (for a
    caller whose frame-level problems are reported by an earlier step).
    """
    out: list[Failure] = []
    for _, r in exc.failure_cases.iterrows():
        idx = r["index"]
        if idx is None or pd.isna(idx):
            if frame_level == "raise":
                raise exc
            continue
        out.append(Failure(idx, str(r["column"]), str(r["check"]), str(r["failure_case"])))
    return out


def rows_to_validate(schema: pandera.DataFrameSchema, frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``frame`` a lazy validation must see to report every failure it would report
    on the whole frame: those failing a nullability or built-in check, found by running the
    schema's own checks column-wise without pandera's per-failure bookkeeping.

    pandera's lazy validation of a clean 700k-row frame spends most of its time building failure
    reports and copying columns; a statement has a few hundred bad rows. Built-in checks (``gt``,
    ``str_length``, ``str_matches`` ...) judge each value alone, so the failing rows fail the same
    way on their own. A custom check may compare rows (unique, increasing): when one fails, or
    when the schema has frame-wide checks, the whole frame is returned and validated as before.
    """
    if schema.checks or schema.unique is not None:
        return frame
    suspect = np.zeros(len(frame), dtype=bool)
    for name, column in schema.columns.items():
        if column.regex or column.unique or name not in frame.columns:
            return frame
        values = frame[name]
        if not column.nullable:
            suspect |= values.isna().to_numpy(dtype=bool)
        for check in column.checks:
            passed = _passed(check, values)
            if passed is None or (not pandera.Check.is_builtin_check(check.name) and not passed.all()):
                return frame
            suspect |= ~passed
    return frame.iloc[np.flatnonzero(suspect)]


def _passed(check: pandera.Check, values: pd.Series) -> np.ndarray | None:
    """Which values pass ``check`` (a missing value counts as failing: it is looked at again),
    or ``None`` when the check does not answer value by value."""
    output = check(values).check_output
    if not isinstance(output, pd.Series) or len(output) != len(values):
        return None
    return output.to_numpy(dtype=bool, na_value=False)
