"""Vectorised helpers behind the schemas' custom checks, and the one reading of their failures."""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

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
