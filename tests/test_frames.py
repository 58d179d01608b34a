"""``pipeline.frames.keep_rows``: the same rows as pandas' boolean filter, without a second copy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from pipeline.frames import MAX_SLICES, keep_rows


def _frame(n: int) -> pd.DataFrame:
    text = pd.Series([f"t{i}" for i in range(n)], dtype="str")
    text.iloc[1] = np.nan
    return pd.DataFrame(
        {
            "n": np.arange(n, dtype="int64"),
            "text": text,
            "maybe": pd.Series(list(range(n)), dtype="Int64"),
            "day": pd.Series(pd.to_datetime(["2026-01-01"] * n)).astype("datetime64[s]"),
        },
        index=pd.RangeIndex(n),
    )


@pytest.mark.parametrize("dropped", [[], [0], [3, 4, 9], list(range(10))])
def test_keep_rows_is_the_boolean_filter(dropped: list[int]) -> None:
    keep = np.ones(10, dtype=bool)
    keep[dropped] = False
    expected = _frame(10)[keep].reset_index(drop=True)
    got = keep_rows(_frame(10), keep)
    pd.testing.assert_frame_equal(got, expected)
    assert got["text"].dtype == "str"


def test_text_is_sliced_not_copied() -> None:
    frame = _frame(10)
    before = pa.array(frame["text"], from_pandas=True)
    keep = np.ones(10, dtype=bool)
    keep[5] = False
    text = pa.array(keep_rows(frame, keep)["text"], from_pandas=True)
    assert isinstance(text, pa.ChunkedArray) and text.num_chunks == 2
    assert text.chunk(0).buffers()[2].address == before.buffers()[2].address


def test_many_runs_are_copied_and_still_right() -> None:
    n = 2 * MAX_SLICES + 10
    keep = np.arange(n) % 2 == 0
    got = keep_rows(_frame(n), keep)
    pd.testing.assert_frame_equal(got, _frame(n)[keep].reset_index(drop=True))
