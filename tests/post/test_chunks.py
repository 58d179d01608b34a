"""Posting a large run in chunks: the poster's queue draws a journal's lines only when its next
request is about to start and cuts them into requests exactly as from one list; the journals read
back together stay within a bound (``pipeline.post.posting``, ``pipeline.post.batches``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from pipeline.ledger import Ledger, PlannedRow
from pipeline.post.batches import PlannedLine, RequestQueue
from pipeline.post.posting import verify_groups


def _lines(first: int, last: int) -> list[PlannedLine]:
    return [PlannedLine(f"k{n}", n * 10_000, {"lineNumber": n * 10_000}, "J1") for n in range(first, last + 1)]


def test_the_queue_draws_a_chunk_only_when_a_request_needs_it() -> None:
    drawn: list[int] = []

    def chunks() -> Iterator[list[PlannedLine]]:
        for chunk in (_lines(1, 250), _lines(251, 300)):
            drawn.append(len(chunk))
            yield chunk

    queue = RequestQueue(chunks(), 100)
    assert drawn == []  # nothing read from the ledger before the poster asks
    sizes = []
    while queue:
        batch, rounds = queue.popleft()
        assert rounds == 0
        sizes.append((batch[0].key, len(batch)))
        # the second chunk is read only once the first one's three requests have started
        assert drawn == ([250] if len(sizes) < 4 else [250, 50])
    # 250 + 50 lines are cut at chunk boundaries: a chunk of a multiple of 100 cuts as one list would
    assert sizes == [("k1", 100), ("k101", 100), ("k201", 50), ("k251", 50)]


def test_lines_to_send_again_go_before_anything_new() -> None:
    queue = RequestQueue([_lines(1, 200)], 100)
    first, _ = queue.popleft()
    queue.appendleft((first[:3], 1))
    again, rounds = queue.popleft()
    assert [p.key for p in again] == ["k1", "k2", "k3"] and rounds == 1
    following, rounds = queue.popleft()
    assert following[0].key == "k101" and rounds == 0
    assert not queue


def test_chunks_of_a_multiple_of_the_batch_size_cut_as_one_list() -> None:
    lines = _lines(1, 2_345)
    whole = RequestQueue([lines], 100)
    chunked = RequestQueue([lines[i : i + 2_000] for i in range(0, len(lines), 2_000)], 100)
    cut_whole, cut_chunked = [], []
    while whole:
        cut_whole.append([p.key for p in whole.popleft()[0]])
    while chunked:
        cut_chunked.append([p.key for p in chunked.popleft()[0]])
    assert cut_whole == cut_chunked and len(cut_whole) == 24  # 23 full requests and one of 45 lines


def test_journals_are_read_back_in_groups_within_the_bound() -> None:
    # six journals of a 1M run (166,667 lines each) are each read on their own
    assert verify_groups([166_667] * 6, 50_000) == [[0], [1], [2], [3], [4], [5]]
    # small journals share a $batch while their lines add up to at most the bound
    assert verify_groups([20_000, 20_000, 20_000, 5_000, 100_000, 1], 50_000) == [[0, 1], [2, 3], [4], [5]]
    assert verify_groups([], 50_000) == []


def test_a_lookup_keeps_the_texts_rows_share_once(tmp_path: Path) -> None:
    """A resumed million-row run looks every key up: the run, file, journal and state each row
    repeats are one text per lookup, not one per row (the records stay equal to what was planned)."""
    target = "bc|production|company-1"
    keys = [f"bench:tx:{n:06d}" for n in range(3)]
    with Ledger.open(tmp_path / "ledger.sqlite") as ledger:
        ledger.start_run(target, "run-1", [])
        planned = [
            PlannedRow(k, "run-1", "ab" * 32, "statement.csv", n + 2, "J1", "PAY1", 10_000 * (n + 1), {"n": n})
            for n, k in enumerate(keys)
        ]
        ledger.plan(target, "run-1", planned)
        found = ledger.lookup(target, keys)
    first, second, third = (found[k] for k in keys)
    for shared in ("target", "run_id", "file_sha256", "source_file", "journal_id", "journal_code", "state"):
        assert getattr(first, shared) is getattr(second, shared) is getattr(third, shared), shared
    assert [(r.key, r.line_number, r.payload) for r in (first, second, third)] == [
        (keys[0], 10_000, {"n": 0}),
        (keys[1], 20_000, {"n": 1}),
        (keys[2], 30_000, {"n": 2}),
    ]
