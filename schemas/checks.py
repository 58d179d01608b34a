"""Vectorised helpers behind the schemas' custom checks, and the one reading of their failures."""

from __future__ import annotations

import contextlib
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd
import pandera.pandas as pandera
import pyarrow as pa
import pyarrow.compute as pc


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


RowCheck = Callable[[pd.Series], np.ndarray]
"""A caller's column-wise stand-in for one of its custom checks: True on every row it could fail."""

_COMPARISONS: dict[str, tuple[str, Callable[[Any, Any], Any]]] = {
    "greater_than": ("min_value", operator.gt),
    "greater_than_or_equal_to": ("min_value", operator.ge),
    "less_than": ("max_value", operator.lt),
    "less_than_or_equal_to": ("max_value", operator.le),
    "equal_to": ("value", operator.eq),
}
# a class that matches more under RE2 than under Python's re (\D holds "٣" for RE2, not for re)
_NEGATED_CLASS = re.compile(r"\\[DSWB]")


def rows_that_may_fail(
    frame: pd.DataFrame, schema: pandera.DataFrameSchema, row_checks: Mapping[str, RowCheck]
) -> np.ndarray | None:
    """Positions of the rows some check of ``schema`` could fail, judged column by column in C
    (pyarrow, numpy), or None when a check cannot be judged so and the whole frame must be validated.

    pandera's lazy validation of a million rows costs about a second even when every row passes,
    while the same comparisons in pyarrow take a few milliseconds each; pandera then validates only
    the rows found here, and its verdicts and failure cases are the ones a whole-frame validation
    gives for those rows, because each check judges a row by its own values. The judgement here
    errs on the side of sending a row: a null anywhere, a comparison that cannot be made, a
    pattern RE2 might read more loosely than Python's ``re``. A check neither built in nor given in
    ``row_checks`` (a custom one, or one that compares rows with each other) sends the whole frame.
    """
    if schema.checks:
        return None
    n = len(frame)
    may_fail = np.zeros(n, dtype=bool)
    for name, column in schema.columns.items():
        if name not in frame.columns:
            return None
        values = frame[name]
        if not column.nullable or column.unique:
            may_fail |= values.isna().to_numpy()
        if column.unique:
            return None
        for check in column.checks:
            if check.name in row_checks:
                may_fail |= row_checks[check.name](values)
                continue
            fails = _builtin_failures(values, str(check.name), check.statistics)
            if fails is None:
                return None
            may_fail |= fails
    return np.flatnonzero(may_fail)


def _builtin_failures(values: pd.Series, name: str, stats: dict[str, Any]) -> np.ndarray | None:
    """True where the built-in check ``name`` could fail on ``values``; None for any other check."""
    is_text = isinstance(values.dtype, pd.StringDtype)
    if name == "str_length" and is_text:
        lengths = pc.utf8_length(pa.array(values, from_pandas=True))
        low, high, exact = stats.get("min_value"), stats.get("max_value"), stats.get("exact_value")
        bad = pa.scalar(False)
        for bound, op in ((exact, "not_equal"), (low, "less"), (high, "greater")):
            if bound is not None:
                bad = pc.or_(bad, pc.call_function(op, [lengths, pa.scalar(bound, lengths.type)]))
                if exact is not None:
                    break
        return _as_mask(bad, len(values))
    if name == "str_matches" and is_text:
        pattern = stats.get("pattern")
        if not isinstance(pattern, str) or _NEGATED_CLASS.search(pattern):
            return None
        try:
            found = pc.match_substring_regex(pa.array(values, from_pandas=True), f"^(?:{pattern})")
        except pa.ArrowInvalid:
            return None
        return _as_mask(pc.invert(found), len(values))
    if name in _COMPARISONS and not is_text:
        key, compare = _COMPARISONS[name]
        try:
            passed = compare(values, stats[key])
        except (TypeError, ValueError):
            return None
        return ~np.asarray(pd.Series(passed).fillna(False).to_numpy(dtype=bool))
    if name == "equal_to" and is_text:
        equal = pc.equal(pa.array(values, from_pandas=True), pa.scalar(str(stats["value"])))
        return _as_mask(pc.invert(equal), len(values))
    return None


def _as_mask(result: Any, n: int) -> np.ndarray:
    """A pyarrow boolean result as a numpy mask, a null counted as a possible failure."""
    if isinstance(result, pa.Scalar):
        return np.full(n, bool(result.as_py()), dtype=bool)
    return np.asarray(pc.fill_null(result, True).to_numpy(zero_copy_only=False), dtype=bool)


def prepare_checks() -> None:
    """Validate a one-cell frame, so that the first real validation of a process does not pay for
    pandera registering its pandas backends (it imports its data-synthesis strategies, and
    hypothesis when installed: 0.3 s of CPU, a tenth of the local stages of a million-row file).
    Meant to run in a thread while a reader waits on pyarrow or on a child process; a failure is
    left for the real validation to meet and report."""
    with contextlib.suppress(Exception):  # only a warm-up: the real validation reports what is wrong
        pandera.DataFrameSchema({"cell": pandera.Column(str)}).validate(pd.DataFrame({"cell": ["x"]}))
