"""pandera models of what a run reports: its lines (one per physical input line) and its discrepancies.

Why a model: the run's lines frame is assembled from several parts (rejected and skipped rows of
each file, rows the ledger already knows, rows needing review, rows posted) and read by the
accounting, the reports and ``report.json``. Its columns and their types are defined here once;
``conform_lines`` / ``conform_discrepancies`` are the one cast to those types, and a frame that
already has them passes through without a second cast.

Types: integers that a line may lack (a skipped row has no lineNumber or amount) are nullable
``Int64``; every other column is text, "" where empty (never NaN, so a report never shows "nan");
``postingDate`` is ISO ``YYYY-MM-DD`` text, however it arrived.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from schemas.codes import DISCREPANCY_DESCRIPTIONS

_ISO_DATE_OR_EMPTY = r"^(\d{4}-\d{2}-\d{2})?$"


class RunLine(pa.DataFrameModel):
    """One physical input line and where it ended (``state``; see ``schemas.codes.State``)."""

    source_file: Series[str]
    source_row: Series[pd.Int64Dtype] = pa.Field(nullable=True)
    state: Series[str]
    reason_code: Series[str]  # a code of schemas.codes; several rejections of one row comma-separated
    message: Series[str]
    lineNumber: Series[pd.Int64Dtype] = pa.Field(nullable=True)
    key: Series[str]
    customerNumber: Series[str]
    appliesToInvoiceNumber: Series[str]
    amount_minor: Series[pd.Int64Dtype] = pa.Field(nullable=True)  # BC's sign: receipts negative
    currency: Series[str]
    postingDate: Series[str] = pa.Field(str_matches=_ISO_DATE_OR_EMPTY)
    documentNumber: Series[str]
    externalDocumentNumber: Series[str]
    description: Series[str]
    bc_id: Series[str]
    journal_code: Series[str]
    flags: Series[str]  # schemas.codes.Flag values, comma-separated
    candidates: Series[str]
    match_details: Series[str]  # the evidence behind a matching decision, in words (pipeline.matching)

    class Config:
        strict = True
        ordered = True
        coerce = False


class DiscrepancyLine(pa.DataFrameModel):
    """One difference between BC's journal read back and the plan (``reconcile.compare_with_bc``)."""

    kind: Series[str] = pa.Field(isin=list(DISCREPANCY_DESCRIPTIONS))
    lineNumber: Series[pd.Int64Dtype] = pa.Field(nullable=True)
    key: Series[str]
    field: Series[str]
    expected: Series[str]
    actual: Series[str]
    bc_id: Series[str]
    message: Series[str]

    class Config:
        strict = True
        ordered = True
        coerce = False


_LINES: Final = RunLine.to_schema()
_DISCREPANCIES: Final = DiscrepancyLine.to_schema()
LINE_COLUMNS: Final[tuple[str, ...]] = tuple(_LINES.columns)
DISCREPANCY_COLUMNS: Final[tuple[str, ...]] = tuple(_DISCREPANCIES.columns)
_REQUIRED_IN_LINES = ("source_file", "source_row", "state")


def conform_lines(lines: pd.DataFrame) -> pd.DataFrame:
    """The lines frame as ``RunLine``: exactly ``LINE_COLUMNS`` in order; missing text columns are "",
    missing numbers <NA>; integer columns nullable ``Int64``; postingDate ISO text even when it
    arrives as datetimes. Extra columns are dropped. A frame already in that form is returned as is.
    """
    if len(lines) and not set(_REQUIRED_IN_LINES) <= set(lines.columns):
        raise ValueError("a lines frame needs source_file, source_row and state")
    return _conform(lines, _LINES, dates=("postingDate",))


def conform_discrepancies(frame: pd.DataFrame) -> pd.DataFrame:
    """The discrepancies frame as ``DiscrepancyLine``: exactly ``DISCREPANCY_COLUMNS``, text "" where
    empty, lineNumber nullable ``Int64``. A frame already in that form is returned as is."""
    return _conform(frame, _DISCREPANCIES, dates=())


def _conform(frame: pd.DataFrame, schema: pa.DataFrameSchema, dates: tuple[str, ...]) -> pd.DataFrame:
    """Cast ``frame`` to ``schema``'s columns: the one cast pass of every frame a run reports."""
    if _has_form(frame, schema, dates):
        return frame
    out: dict[str, pd.Series] = {}
    for name, column in schema.columns.items():
        present = name in frame.columns
        if str(column.dtype) == "Int64":
            out[name] = (
                frame[name].astype("Int64")
                if present
                else pd.Series(pd.array([pd.NA] * len(frame), dtype="Int64"), index=frame.index)
            )
        elif not present:
            out[name] = pd.Series("", index=frame.index, dtype="str")
        elif name in dates:
            out[name] = iso_dates(frame[name])
        else:
            out[name] = frame[name].fillna("").astype("str")
    return pd.DataFrame(out, index=frame.index)


def _has_form(frame: pd.DataFrame, schema: pa.DataFrameSchema, dates: tuple[str, ...]) -> bool:
    """Columns in order with the model's dtypes (text with no NaN, dates no longer than ISO): nothing
    left to cast."""
    if list(frame.columns) != list(schema.columns):
        return False
    for name, column in schema.columns.items():
        values = frame[name]
        if str(column.dtype) == "Int64":
            if str(values.dtype) != "Int64":
                return False
        elif not _is_text(values) or (name in dates and not _is_iso_length(values)):
            return False
    return True


def _is_text(values: pd.Series) -> bool:
    """A pandas text column (not object, which may hold anything) without a missing value."""
    return bool(pd.api.types.is_string_dtype(values.dtype) and values.dtype != object and not values.hasnans)


def _is_iso_length(values: pd.Series) -> bool:
    return values.empty or int(values.str.len().max()) <= len("YYYY-MM-DD")


def iso_dates(values: pd.Series) -> pd.Series:
    """postingDate as ``YYYY-MM-DD`` text, whether it holds datetimes, dates or ISO text ("" when none)."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return pd.Series(values.dt.strftime("%Y-%m-%d").fillna(""), index=values.index, dtype="str")
    return pd.Series([_iso_date(v) for v in values.tolist()], index=values.index, dtype="str")


def _iso_date(value: Any) -> str:
    if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, dt.datetime | pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)[:10]


__all__ = [
    "DISCREPANCY_COLUMNS",
    "LINE_COLUMNS",
    "DiscrepancyLine",
    "RunLine",
    "conform_discrepancies",
    "conform_lines",
    "iso_dates",
]
