"""``trim_whitespace``: the same cells as pyarrow's ``utf8_trim_whitespace``, without its copy of a
block that has nothing to trim."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.textops import trim_whitespace

# whitespace by Unicode (and pyarrow's) reckoning, single- and multi-byte, and characters that look
# like space but are not (U+200B zero width space, U+FEFF byte order mark)
_SPACES = "\t\n\x0b\x0c\r \x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2003\u200a\u2028\u2029\u202f\u205f\u3000"
_LOOKALIKES = "\u200b\ufeff\x00\x7f\x08"


def _blocks(values: list[str], size: int, large: bool = True) -> pa.ChunkedArray:
    kind = pa.large_string() if large else pa.string()
    return pa.chunked_array([pa.array(values[i : i + size], kind) for i in range(0, len(values), size)], type=kind)


def test_every_ascii_character_at_either_edge_is_trimmed_exactly_as_pyarrow_does() -> None:
    # one block per character: a block is kept or trimmed on its own cells alone
    values = [v for c in map(chr, range(128)) for v in (c, "a" + c, c + "a", "a" + c + "b", c * 3)]
    arr = _blocks(values, 5)
    assert trim_whitespace(arr).equals(pc.utf8_trim_whitespace(arr))


def test_unicode_spaces_and_lookalikes_at_the_edges_are_trimmed_as_pyarrow_does() -> None:
    values = [v for c in _SPACES + _LOOKALIKES for v in (c + "Müller", "RE-1" + c, c + "x" + c, c)]
    for large in (True, False):
        arr = _blocks(values, 4, large)
        assert trim_whitespace(arr).equals(pc.utf8_trim_whitespace(arr))
    # by hand: the edges that are spaces go, a zero width space and a BOM stay
    assert trim_whitespace(_blocks(["\u3000Müller\xa0", "\u200bX"], 2)).to_pylist() == ["Müller", "\u200bX"]


def test_a_block_with_nothing_to_trim_is_the_same_memory() -> None:
    clean = pa.array(["21.02.2026", "3.647,47", "RE-2026-88697 Danke", "", "EUR"], pa.large_string())
    padded = pa.array([" 21.02.2026", "x"], pa.large_string())
    out = trim_whitespace(pa.chunked_array([clean, padded]))
    assert out.chunk(0).buffers()[2].address == clean.buffers()[2].address  # kept, not copied
    assert out.chunk(1).to_pylist() == ["21.02.2026", "x"]


def test_a_sliced_block_is_screened_on_its_own_cells() -> None:
    whole = pa.array([" padded ", "clean", "also-clean"], pa.large_string())
    sliced = pa.chunked_array([whole.slice(1)])
    assert trim_whitespace(sliced).to_pylist() == ["clean", "also-clean"]
    head = pa.chunked_array([whole.slice(0, 1)])
    assert trim_whitespace(head).to_pylist() == ["padded"]


def test_nulls_are_left_to_pyarrow() -> None:
    arr = pa.chunked_array([pa.array([None, " a "], pa.string())])
    assert trim_whitespace(arr).to_pylist() == [None, "a"]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.sampled_from("ab1,.-" + _SPACES + _LOOKALIKES + "äø€𝄞"), max_size=6),
        max_size=40,
    ),
    st.integers(min_value=1, max_value=7),
)
def test_any_text_in_any_blocks_is_trimmed_as_pyarrow_does(values: list[str], size: int) -> None:
    arr = _blocks(values, size) if values else pa.chunked_array([], type=pa.large_string())
    assert trim_whitespace(arr).equals(pc.utf8_trim_whitespace(arr))
