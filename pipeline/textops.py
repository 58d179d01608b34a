"""Regex and text operations over whole columns, in C++ (RE2 through pyarrow) where possible.

pandas sends ``str.extract`` and regex ``str.replace`` through Python's ``re`` row by row
(1.8 s and 0.4 s per million rows here); pyarrow's RE2 kernels take milliseconds, and run in
linear time whatever the pattern. Profile patterns are RE2 by contract (``pipeline.patterns``
refuses any other at config load), so there is no fallback to Python's backtracking ``re``.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.patterns import compile_pattern


def to_arrow(text: pd.Series) -> pa.Array:
    """The column as a pyarrow string array (zero-copy for pandas' pyarrow-backed ``str``)."""
    arr = pa.array(text, from_pandas=True)
    if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
        arr = pa.array(text.astype("str"), from_pandas=True)
    return pc.fill_null(arr, "")


def as_series(arr: pa.Array | pa.ChunkedArray, index: pd.Index) -> pd.Series:
    """A pyarrow string array as a ``str`` Series on ``index``, by position (never by label)."""
    values = arr.to_pandas()
    return pd.Series(values.array if isinstance(values, pd.Series) else values, index=index, dtype="str")


def leading_bytes(arr: pa.Array | pa.ChunkedArray, count: int = 2) -> np.ndarray:
    """The first ``count`` bytes of each cell's UTF-8, as an (n, count) array; 256 past a cell's end.

    Read from the array's offsets and data buffers (no string copied), so that a column can be
    screened by how its cells start before a regex runs on the few that can match: RE2 costs
    about 0.15 s per million cells here whatever the cell, this a few milliseconds.
    """
    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    blocks = [np.zeros((0, count), dtype=np.uint16)]
    for a in chunks:
        if a.null_count:
            a = pc.fill_null(a, "")
        width = np.int64 if pa.types.is_large_string(a.type) else np.int32
        _, offsets_buf, data_buf = a.buffers()
        offsets = np.frombuffer(offsets_buf, dtype=width)[a.offset : a.offset + len(a) + 1].astype(np.int64)
        data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, dtype=np.uint8)
        starts, sizes = offsets[:-1], np.diff(offsets)
        block = np.full((len(a), count), 256, dtype=np.uint16)
        for k in range(count):
            has = sizes > k
            block[has, k] = data[starts[has] + k]
        blocks.append(block)
    return np.concatenate(blocks)


def trim_whitespace(arr: pa.ChunkedArray) -> pa.ChunkedArray:
    """``utf8_trim_whitespace`` of a column, without its copy where there is nothing to trim.

    Trimming writes every cell anew, and on a large file that fresh memory costs more than the
    trimming itself (page faults: about 0.4 s for the ten columns of the 1M-row benchmark against
    0.06 s into reused memory). Each block of the column is screened from its buffers: a cell
    whose first and last bytes are printable ASCII other than a space neither starts nor ends with
    whitespace (Unicode's other spaces are multi-byte, and so screened in), and a block made only
    of such cells (or empty ones) is kept as it is; the others are trimmed as before.
    """
    return pa.chunked_array([_trim_block(a) for a in arr.chunks], type=arr.type)


def _trim_block(a: pa.Array) -> pa.Array:
    if a.null_count or not (pa.types.is_string(a.type) or pa.types.is_large_string(a.type)):
        return pc.utf8_trim_whitespace(a)
    width = np.int64 if pa.types.is_large_string(a.type) else np.int32
    _, offsets_buf, data_buf = a.buffers()
    if data_buf is None:
        return a
    offsets = np.frombuffer(offsets_buf, dtype=width)[a.offset : a.offset + len(a) + 1].astype(np.int64, copy=False)
    data = np.frombuffer(data_buf, dtype=np.uint8)
    starts, ends = offsets[:-1], offsets[1:]
    filled = ends > starts
    first, last = data[starts[filled]], data[ends[filled] - 1]
    if ((first <= 0x20) | (first >= 0x7F) | (last <= 0x20) | (last >= 0x7F)).any():
        return pc.utf8_trim_whitespace(a)
    return a


def contains(text: pd.Series, pattern: str) -> np.ndarray:
    """Does ``pattern`` occur in each cell (``re.search`` semantics)? A boolean array."""
    return pc.match_substring_regex(to_arrow(text), pattern).to_numpy(zero_copy_only=False)  # type: ignore[no-any-return]


def extract_first(text: pd.Series, pattern: str) -> pd.Series:
    """The first group of the first match (or the whole match when there is no group); "" if none."""
    rx = compile_pattern(pattern)
    # name the first capturing group: "(" not followed by "?" (and not escaped)
    named = f"(?P<value>{pattern})" if rx.groups == 0 else re.sub(r"(?<!\\)\((?!\?)", "(?P<value>", pattern, count=1)
    try:
        struct = pc.extract_regex(to_arrow(text), named)
        found = pc.fill_null(pc.struct_field(struct, "value"), "")
        return as_series(found, text.index)
    except (pa.ArrowInvalid, KeyError):
        # the rename missed (a "(" inside a character class, say): the same RE2 program, cell by cell
        values = []
        for v in text.tolist():
            m = rx.search(v)
            values.append("" if m is None else (m.group(1) if rx.groups else m.group(0)) or "")
        return pd.Series(values, index=text.index, dtype="str")


def squeeze_spaces(text: pd.Series) -> pd.Series:
    """Trim and collapse runs of whitespace to one space (multi-column joins, padded fields)."""
    arr = to_arrow(text)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    # RE2's \s is [\t\n\f\r ]: a row has a run to squeeze when it holds two spaces or one of the
    # control bytes 9-13; a plain substring search finds the first (0.02 s a million, the regex 0.035),
    # and the regex runs only when the text holds a byte below 14 at all
    runs = pc.match_substring(arr, "  ")
    if _has_byte_below(arr, 14):
        runs = pc.match_substring_regex(arr, r"\s\s|[\t\n\r\f\v]")
    if pc.any(runs).as_py():
        fixed = pc.replace_substring_regex(pc.filter(arr, runs), r"\s+", " ")
        arr = pc.replace_with_mask(arr, runs, fixed)
    return as_series(pc.utf8_trim_whitespace(arr), text.index)


def _has_byte_below(arr: pa.Array, limit: int) -> bool:
    """Does the array's data buffer hold a byte below ``limit``? (All of the buffer: a sliced
    array may answer yes for bytes outside its rows, never no for bytes inside.)"""
    data = arr.buffers()[2]
    return data is not None and bool((np.frombuffer(data, dtype=np.uint8) < limit).any())


def concat(*parts: pd.Series | str, index: pd.Index) -> pd.Series:
    """Element-wise string concatenation of columns and literals, without index alignment."""
    if all(isinstance(p, str) for p in parts):
        return pd.Series("".join(str(p) for p in parts), index=index, dtype="str")
    big = pa.large_string()
    arrays = [pa.scalar(p, big) if isinstance(p, str) else to_arrow(p).cast(big) for p in parts]
    return as_series(pc.binary_join_element_wise(*arrays, pa.scalar("", big)), index)
