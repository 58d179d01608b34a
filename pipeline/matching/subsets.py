"""Which open invoices of one customer a lump sum pays: an exact, bounded search.

The question is "which set of this customer's open invoices has remaining amounts that add up to
exactly the amount received", in integer cents. Greedy allocation (oldest first until the money runs
out) answers another question and may pick the wrong invoices; this search finds *every* set that
fits, so that one set is applied and two sets are a question for a person, never a guess.

How the search is bounded (so one receipt never costs more than a few milliseconds):

* at most ``pool`` invoices (default 200, the oldest by due date) are considered;
* a set holds at most ``max_invoices`` invoices (default 12);
* invoices of equal amount are one group: choosing k of m equal invoices is one step, and when
  k < m that choice alone gives C(m, k) different sets (counted, not listed one by one);
* the depth-first search over groups (largest amount first) prunes every branch whose amount is
  already too high, or can no longer reach the target even with the largest invoices left in the
  slots left;
* it stops as soon as it knows two sets fit (the answer is then "ambiguous"), and after
  ``budget`` steps (default 10,000) it gives up and says so: the receipt goes to a person.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import comb

POOL = 200
MAX_INVOICES = 12
BUDGET = 10_000


@dataclass(frozen=True)
class SubsetResult:
    """``sets``: the fitting sets found (positions into the amounts given), at most two listed;
    ``count``: how many sets fit, at least (2 means "two or more"); ``exhausted``: the step budget ran
    out before the search could tell (then nothing is applied)."""

    sets: tuple[tuple[int, ...], ...]
    count: int
    exhausted: bool

    @property
    def unique(self) -> tuple[int, ...] | None:
        """The one set that fits, when exactly one does and the search finished."""
        return self.sets[0] if self.count == 1 and not self.exhausted else None


def find_subsets(
    amounts: Sequence[int],
    low: int,
    high: int,
    *,
    max_invoices: int = MAX_INVOICES,
    budget: int = BUDGET,
) -> SubsetResult:
    """Sets of ``amounts`` (positive integers; the caller passes at most ``POOL``) whose sum lies in
    ``[low, high]``, searched as the module docstring says. Deterministic: the same input gives the
    same sets in the same order."""
    positive = [a for a in amounts if a > 0]
    if not positive or sum(positive) < low or min(positive) > high:
        return SubsetResult((), 0, False)  # all together too little, or each alone too much: no set fits
    groups: dict[int, list[int]] = {}
    for position, amount in enumerate(amounts):
        if amount > 0:
            groups.setdefault(amount, []).append(position)
    values = sorted(groups, reverse=True)
    flat = [v for v in values for _ in groups[v]]  # every amount, largest first
    prefix = [0]
    for v in flat:
        prefix.append(prefix[-1] + v)
    starts, at = [], 0
    for v in values:
        starts.append(at)
        at += len(groups[v])
    search = _Search(values, groups, (prefix, starts), low, high, max_invoices, budget)
    search.walk(0, 0, 0, [])
    return SubsetResult(tuple(search.found), min(search.count, 2), search.steps > budget)


@dataclass
class _Search:
    values: list[int]
    groups: dict[int, list[int]]
    sums: tuple[list[int], list[int]]  # prefix sums of every amount largest first; where each group starts
    low: int
    high: int
    max_invoices: int
    budget: int
    steps: int = 0
    count: int = 0

    def __post_init__(self) -> None:
        self.found: list[tuple[int, ...]] = []

    def walk(self, i: int, total: int, used: int, chosen: list[tuple[int, int]], fresh: bool = False) -> None:
        """Depth-first over the groups from ``i``: ``chosen`` holds (group, how many) so far;
        ``fresh`` says the last group added something (so each set is recorded once)."""
        if self.count >= 2 or self.steps > self.budget:
            return
        self.steps += 1
        if fresh and self.low <= total <= self.high:
            self._record(chosen)
        if i == len(self.values) or used == self.max_invoices or total + self._most(i, used) < self.low:
            return
        value, members = self.values[i], self.groups[self.values[i]]
        for take in range(min(len(members), self.max_invoices - used, (self.high - total) // value), -1, -1):
            self.walk(i + 1, total + take * value, used + take, [*chosen, (i, take)] if take else chosen, take > 0)
            if self.count >= 2 or self.steps > self.budget:
                return

    def _most(self, i: int, used: int) -> int:
        """The most the invoices from group ``i`` on can add with the slots left: the largest ones."""
        prefix, starts = self.sums
        first = starts[i]
        return prefix[min(first + self.max_invoices - used, len(prefix) - 1)] - prefix[first]

    def _record(self, chosen: list[tuple[int, int]]) -> None:
        ways = 1
        picked: list[int] = []
        for group, take in chosen:
            members = self.groups[self.values[group]]
            ways *= comb(len(members), take)
            picked.extend(members[:take])
        self.count += ways
        self.found.append(tuple(sorted(picked)))
        if ways > 1:
            group, take = next((g, t) for g, t in chosen if comb(len(self.groups[self.values[g]]), t) > 1)
            members = self.groups[self.values[group]]
            other = [p for p in picked if p not in members[:take]] + members[1 : take + 1]
            self.found.append(tuple(sorted(other)))


__all__ = ["BUDGET", "MAX_INVOICES", "POOL", "SubsetResult", "find_subsets"]
