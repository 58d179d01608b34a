"""Where Arrow's buffers (every text column of a file) come from, and handing freed ones back.

pyarrow's default allocator, mimalloc, is the slow and the large choice for this work: reading,
validating and normalising the 1M-row benchmark spent 1.6-1.9 s of system time in it (page
faults and purges of the memory each stage's temporaries free) against 0.7-1.1 s from jemalloc
or the system allocator, 3.0-3.2 s of work against 2.0-2.5 s, and peaked at 950 MiB against
870-930 (``bench/README.md``, "The Arrow allocator"). So the tool asks for jemalloc, and for the
system allocator where pyarrow was built without it (some platforms' wheels); the environment
variable ``ARROW_DEFAULT_MEMORY_POOL`` (``mimalloc``, ``jemalloc``, ``system``) still decides
when it is set, as pyarrow documents.
"""

from __future__ import annotations

import os

import pyarrow as pa


def use_jemalloc(*, give_back_at_once: bool = False) -> None:
    """Take Arrow's buffers from jemalloc from now on (buffers made before keep their pool).

    ``give_back_at_once``: freed pages go back to the system at once rather than after about a
    second, which a ``payimport run`` wants: it holds a million rows' lines and ledger placements
    while it frees copies, and a resumed 200,000-row run peaked at 765 MiB this way against 921
    MiB from the system allocator. Reading alone is faster with the default (half the page
    faults), and its peak is set by the columns it holds, not by what it frees. jemalloc applies
    the setting to the arenas it makes afterwards, so the first caller of a process decides it.
    """
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    try:
        if give_back_at_once:
            pa.jemalloc_set_decay_ms(0)
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except NotImplementedError:  # pyarrow built without jemalloc
        pa.set_memory_pool(pa.system_memory_pool())


def release_unused() -> None:
    """Hand what Arrow's allocator keeps of freed buffers back to the system, between the stages
    of a large file: otherwise the next stage's columns add to the peak rather than reuse it
    (after reading the 1M-row benchmark, mimalloc kept 220 MiB; the system allocator keeps what
    ``malloc_trim`` would return)."""
    pa.default_memory_pool().release_unused()
