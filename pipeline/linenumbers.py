"""BC's journal lineNumber: the one place that numbers lines, for ``validate --show-payments``,
a dry run and a real run's plan alike.

lineNumber is an AL Integer (int32). BC itself puts 10,000 between lines so a person can insert
lines by hand in between; a run too big for that within int32 gets a smaller step, never an
overflow.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from pipeline.errors import ConfigError

MAX_LINE_NUMBER = 2**31 - 1
"""lineNumber is an AL Integer (int32)."""
LINE_STEP = 10_000
"""BC's own distance between journal lines."""
HIDDEN_LINE_NUMBER = 10_000
"""The line BC leaves behind after posting a batch without No. Series (every API-made one):
``GenJnlPostBatch.UpdateAndDeleteLines`` inserts an empty line 10000 that ``customerPayments``
never lists but that holds the key, so sending lineNumber 10000 into such a journal is a duplicate
key that reading back can never explain."""


def first_number_after(last_seen: int, *, may_have_been_posted: bool) -> int:
    """The lineNumber new lines continue after: the last one seen (in BC or in the ledger), or the
    hidden line 10000 when the journal may have been posted before (a journal this run did not
    create: ``journal.existing``), whose hidden line no read can reveal."""
    return max(last_seen, HIDDEN_LINE_NUMBER) if may_have_been_posted else last_seen


def line_step(last: int, count: int) -> int:
    """BC's usual 10000 between lines, or less when ``count`` new lines after ``last`` would pass
    the int32 ceiling (a million-payment migration into one journal gets about 2,000)."""
    if count == 0:
        return LINE_STEP
    step = min(LINE_STEP, (MAX_LINE_NUMBER - last) // count)
    if step < 1:
        raise ConfigError(f"the journal has no room for {count} more lines after lineNumber {last}; use a new journal")
    return step


def number_after(last: int, count: int) -> npt.NDArray[np.int64]:
    """``count`` new lineNumbers after ``last``, in order, ``line_step`` apart."""
    step = line_step(last, count)
    return last + step * np.arange(1, count + 1, dtype="int64")


def assign_line_numbers(kept: Sequence[int | None], last: int) -> list[int]:
    """Kept numbers stay (a resume must not move a line that may exist in BC); new rows (None)
    continue after ``last`` in order, ``line_step`` apart."""
    fresh = iter(number_after(last, sum(value is None for value in kept)).tolist())
    return [next(fresh) if value is None else int(value) for value in kept]
