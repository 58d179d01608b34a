"""Kills and people together, in processes: the exactly-once trials of ``bench/people_trials.py``
run on four seeds in every test run.

Each trial runs the sandbox as its own process and ``payimport run`` as another; on the way it
``kill -9``s the client or BC at a random moment while the run posts, and between runs a person
posts the journal or deletes one of its lines in BC (through the API, as a person's client would).
Then the same command runs until it finishes, and BC is read payment by payment. The bench runs
100 such trials (figures in bench/README.md); these seeds cover every action:

- 1: client killed, journal posted by hand and a line deleted by hand, client killed again, ``--post-journal``;
- 11: BC killed, two lines deleted by hand;
- 12: BC killed, a line deleted by hand, client killed, ``--post-journal``;
- 13: BC killed, journal posted by hand, ``--post-journal``.

The moments of the kills vary from run to run (they are times, not request counts); the
properties hold at any moment: no payment twice, none lost unless reported for review.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "people_trials.py"


def _trials() -> ModuleType:
    spec = importlib.util.spec_from_file_location("people_trials", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ACTIONS = {
    1: ["kill-client", "post-by-hand", "delete-by-hand", "kill-client"],
    11: ["kill-bc", "delete-by-hand", "delete-by-hand"],
    12: ["kill-bc", "delete-by-hand", "kill-client"],
    13: ["kill-bc", "post-by-hand"],
}


@pytest.mark.slow
@pytest.mark.parametrize("seed", sorted(ACTIONS))
def test_no_payment_twice_and_none_lost_when_processes_die_and_people_act(seed: int, tmp_path: Path) -> None:
    figures = _trials().trial(seed, 200, tmp_path)

    assert figures["actions"] == ACTIONS[seed]  # the seed chose what the docstring says
    assert figures["exit_codes"][-1] in (0, 1), figures  # finished: every payment accounted for
    assert figures["duplicates"] == [], figures
    assert figures["lost"] == [], figures


@pytest.mark.slow
def test_a_spread_run_keeps_every_payment_once_when_processes_die_and_people_act(tmp_path: Path) -> None:
    """Seed 1 again, each run under a ``posting.journal_lines`` drawn per run (100, 150 or 5000 for
    200 payments: two journals, or one), so a resume may meet another journal count than the run
    it resumes, and the person acts on one of the run's journals only."""
    figures = _trials().trial(1, 200, tmp_path, spread=True)

    assert figures["actions"] == ACTIONS[1]
    assert figures["exit_codes"][-1] in (0, 1), figures
    assert figures["duplicates"] == [], figures
    assert figures["lost"] == [], figures
