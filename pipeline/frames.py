"""Row filters of large frames that do not hold two copies of the frame at once.

A million-row statement's receipts and payments are a few hundred MiB of text; pandas' boolean
filter copies every column while the original is still alive, which set the peak memory of the
benchmark run. pyarrow's arrays share buffers between slices, so dropping a few hundred refused
rows can leave the texts where they are.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline.arrowpool import release_unused
from pipeline.textops import as_series


def keep_rows(frame: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    """The rows ``keep`` marks, on a fresh RangeIndex, filtered one column at a time with each
    original column let go (popped from ``frame``) once filtered: a whole-frame filter holds every
    column twice at once, which was the peak of a large file's run.

    A text column becomes slices of itself between the dropped rows (no copy: pyarrow's arrays
    share their buffers), as long as there are few runs; whatever else holds the same texts (the
    receipts frame holds most of the payments' texts) then holds no second copy.
    """
    edges = np.flatnonzero(np.diff(np.concatenate(([0], keep.astype(np.int8), [0]))))
    runs = list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))
    index = pd.RangeIndex(int(keep.sum()))
    out: dict[str, pd.Series] = {}
    for name in list(frame.columns):
        column = frame.pop(name)
        if column.dtype == "str" and len(runs) <= MAX_SLICES:
            out[name] = as_series(_slices(pa.array(column, from_pandas=True), runs), index)
        else:
            out[name] = pd.Series(column.array[keep], index=index, dtype=column.dtype)
        del column
        release_unused()
    return pd.DataFrame(out)


MAX_SLICES = 1024
"""Beyond this many runs of kept rows, a text column is copied rather than sliced (every operation
on a column then pays a little per slice)."""


def _slices(arr: pa.Array | pa.ChunkedArray, runs: list[tuple[int, int]]) -> pa.ChunkedArray:
    whole = arr if isinstance(arr, pa.ChunkedArray) else pa.chunked_array([arr])
    parts = [chunk for start, stop in runs for chunk in whole.slice(start, stop - start).chunks]
    return pa.chunked_array(parts, type=whole.type)


__all__ = ["MAX_SLICES", "keep_rows"]
