"""File-level check that a profile's day/month order fits the file's dates.

A numeric date such as ``03/04/2024`` is a real date read either way, so a profile whose format
has day and month swapped for the data (``%m/%d/%Y`` on a file of ``dd/mm/yyyy`` dates) reads every
such date as the wrong day without one rejection, and refuses only the rows whose day is above 12:
the rows that get through are precisely the misread ones. A row cannot tell; the file can. This
module reads the file's date column both ways (the profile's formats, and the same formats with
``%d`` and ``%m`` exchanged) and refuses the whole file when the evidence says the profile has the
order wrong, naming the format the data looks like. Nothing of such a file is posted.

The evidence, over the dates of every row still in play (blank, header, footer and rule-skipped
rows excluded; debits included, their dates are as good a witness as receipts'):

1. **Rows that settle the order.** A date valid as the profile reads it but impossible swapped
   (``25/03/2024`` under ``%d/%m/%Y``) confirms the profile; one impossible as the profile reads it
   but valid swapped contradicts it. The file is refused when contradictions exist and are not an
   isolated slip among confirmations: ``contradicting * 20 > confirming`` (so one contradiction
   needs 20 confirmations to pass as a typo, which is then rejected on its own row as
   ``date_invalid``). With no confirmation at all, one contradiction is enough. Where both kinds
   are many, the file mixes the two orders and its ambiguous dates cannot be read either way.

2. **Plausibility, when no row settles it** (every date has day and month both 12 or less, or the
   same). A statement's dates run in order and span days or weeks. The file is refused when the
   swapped reading is in order (ascending or descending, in file order) within ``PLAUSIBLE_SPAN``
   days while the profile's reading is out of order, or spans more than
   ``SPREAD_FACTOR * swapped span + SPREAD_SLACK`` days: e.g. ``01/02 02/02 05/02`` under
   ``%m/%d``, Jan 2, Feb 2 and May 2, against Feb 1, 2 and 5. A profile's reading within a few
   weeks always passes, whatever the swapped one looks like (``01/03 .. 12/03`` read as 1-12 March
   is fine although swapped it would be in order too: it spans 11 months). A monthly statement
   whose days are all 1-12 is always caught (read swapped its dates are a month or more apart per
   day). Across a month boundary the two readings can be equally plausible (1 January and 1
   February read swapped are 1 and 2 January, both an ordered run): such a file is kept as the
   profile says; nothing in it can tell, and rule 1 catches it as soon as one day is above 12.
   What this can refuse
   wrongly is a file whose dates really are the same day of consecutive months (the 5th of
   January, February, March): ``date_plausibility_check: false`` in the profile turns rule 2 off
   for such a layout; rule 1 stays.

Only formats with a numeric day and month are swapped (``%b`` names its month); a profile that
already lists both orders gets ``date_ambiguous`` per row instead. The work is done on the
distinct date texts (a statement has few), so it costs little on a million rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.parsing import NO_DATE, calendar_days
from pipeline.textops import as_series, to_arrow

PLAUSIBLE_SPAN = 62
SPREAD_FACTOR = 3
SPREAD_SLACK = 14
SLIP_RATIO = 20


def swapped(formats: tuple[str, ...]) -> tuple[str, ...] | None:
    """The formats with ``%d`` and ``%m`` exchanged; None when that reads nothing differently."""
    out = tuple(_swap(f) if "%d" in f and "%m" in f else f for f in formats)
    return None if set(out) == set(formats) else out


def _swap(fmt: str) -> str:
    return fmt.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")


@dataclass(frozen=True)
class Evidence:
    """What the file's dates say about the order: counts, and an example of each side."""

    confirming: int
    contradicting: int
    example: str
    swapped_fits_better: bool


def evidence(
    text: pd.Series, formats: tuple[str, ...], run_year: int, in_play: np.ndarray | None = None
) -> Evidence | None:
    """Read the dates both ways; None when the formats have no day/month order to get wrong.

    Each distinct text is parsed once each way (pyarrow's dictionary encoding, no copy of the
    column); ``in_play`` selects the rows that count. The file-order pass of rule 2 runs only
    when no row settles the order.
    """
    other = swapped(formats)
    if other is None or text.empty:
        return None
    arr = to_arrow(text)
    encoded = pc.dictionary_encode(arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr)
    codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False))
    if in_play is not None:
        codes = codes[in_play]
    distinct = as_series(encoded.dictionary, pd.RangeIndex(len(encoded.dictionary)))
    days_given = calendar_days(distinct, formats, run_year)[0]
    days_swapped = calendar_days(distinct, other, run_year)[0]
    given_u, swapped_u = days_given != NO_DATE, days_swapped != NO_DATE
    weight = np.bincount(codes, minlength=len(distinct))
    confirming, contradicting = int(weight[given_u & ~swapped_u].sum()), int(weight[~given_u & swapped_u].sum())
    if contradicting:
        example = str(distinct.iloc[int(np.flatnonzero(~given_u & swapped_u & (weight > 0))[0])])
        return Evidence(confirming, contradicting, example, swapped_fits_better=False)
    if confirming:
        return Evidence(confirming, 0, "", swapped_fits_better=False)
    both = codes[given_u[codes] & swapped_u[codes]]
    fits = both.size > 0 and _swapped_is_plausible(days_given[both], days_swapped[both])
    return Evidence(0, 0, str(distinct.iloc[int(both[0])]) if fits else "", fits)


def _monotonic(days: np.ndarray) -> bool:
    step = np.diff(days)
    return bool((step >= 0).all() or (step <= 0).all())


def _span(days: np.ndarray) -> int:
    return int(days.max() - days.min()) if days.size else 0


def _swapped_is_plausible(given: np.ndarray, other: np.ndarray) -> bool:
    """Rule 2: the swapped reading is an ordered run of a few weeks, the profile's is not."""
    if np.unique(other).size < 2 or not _monotonic(other) or _span(other) > PLAUSIBLE_SPAN:
        return False
    return not _monotonic(given) or _span(given) > SPREAD_FACTOR * _span(other) + SPREAD_SLACK


def refusal(
    text: pd.Series,
    formats: tuple[str, ...],
    run_year: int,
    plausibility: bool = True,
    in_play: np.ndarray | None = None,
) -> str | None:
    """Why the file must be refused (a message for a person), or None when the order is not in doubt.

    ``in_play`` (a boolean mask over ``text``) selects the rows whose dates count; default all.
    """
    found = evidence(text, formats, run_year, in_play)
    other = swapped(formats)
    if found is None or other is None:
        return None
    shown, looks = " or ".join(repr(f) for f in formats), " or ".join(repr(f) for f in other)
    if found.contradicting and found.contradicting * SLIP_RATIO > found.confirming:
        if found.confirming:
            return (
                f"its dates mix two orders: {found.contradicting} can only be read as {looks} (e.g. "
                f"{found.example!r}) and {found.confirming} only as {shown}; the rest cannot be told apart, "
                "so nothing was imported. Export the file again with one date format"
            )
        return (
            f"its dates look like {looks}, not the profile's {shown}: {found.contradicting} date(s) (e.g. "
            f"{found.example!r}) exist only with day and month swapped and none only as the profile reads "
            "them, so every date would be misread; nothing was imported. Fix the profile's date_formats"
        )
    if plausibility and found.swapped_fits_better and not found.confirming:
        return (
            f"its dates look like {looks}, not the profile's {shown}: every date reads both ways, and "
            f"read as {looks} they run in order within two months while read as {shown} they do not "
            f"(e.g. {found.example!r}); nothing was imported. Fix the profile's date_formats (or set "
            "date_plausibility_check: false if the dates really are as the profile says)"
        )
    return None
