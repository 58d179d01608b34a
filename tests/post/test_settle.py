"""Settling rows left ``sending`` from what the journal holds, and picking the run to resume.

The rule (DESIGN.md, exactly once): a line at the planned lineNumber with the planned document,
customer and amount is the row; absence means "never created" only while the journal still holds
every line this tool created in it; anything else goes to a person.
"""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.post.journal import judge_doubtful, vote_for_runs

from .test_plan import EARLIER, RUN, record

BODY = {"customerNumber": "C10000", "amount": "-12.50", "documentNumber": "D1", "postingDate": "2026-12-01"}
POSTED = {"D1": [{"entryNumber": 41, "documentNumber": "D1", "postingDate": "2026-12-01"}]}
OTHER_DAY = {"D1": [{"entryNumber": 40, "documentNumber": "D1", "postingDate": "2026-11-30"}]}


def line(
    number: int, *, doc: str = "D1", customer: str = "C10000", amount: str = "-12.5", id: str = "bc"
) -> dict[str, Any]:
    return {"lineNumber": number, "documentNumber": doc, "customerNumber": customer, "amount": amount, "id": id}


@pytest.mark.parametrize(
    ("bc_lines", "created_before", "posted", "created", "planned", "conflict"),
    [
        # BC holds the planned line (amount -12.5 == -12.50; Code fields compared upper-cased)
        ([line(10_000, doc="d1", customer="c10000", id="bc-9")], set(), {}, {"k": "bc-9"}, [], False),
        # absent, and nothing this tool created went missing: never created, may be sent again
        ([], set(), {}, {}, ["k"], False),
        ([line(20_000)], {20_000}, {}, {}, ["k"], False),
        # absent, but a line this tool created vanished (journal posted or edited): a person decides
        ([], {20_000}, {}, {}, [], True),
        # something else sits at the planned lineNumber
        ([line(10_000, amount="-99.00")], set(), {}, {}, [], True),
        ([line(10_000, customer="C20000")], set(), {}, {}, [], True),
        ([line(10_000, doc="D2")], set(), {}, {}, [], True),
        # not in the journal, but BC posted it (a person posted the journal): created, never re-sent
        ([], set(), POSTED, {}, [], False),
        ([], {20_000}, POSTED, {}, [], False),
        # a posted entry of the same number on another day is not this payment
        ([], set(), OTHER_DAY, {}, ["k"], False),
    ],
)
def test_judge_doubtful(
    bc_lines: list[dict[str, Any]],
    created_before: set[int],
    posted: dict[str, list[dict[str, Any]]],
    created: dict[str, str],
    planned: list[str],
    conflict: bool,
) -> None:
    verdicts = judge_doubtful([record("k", "sending", payload=BODY)], bc_lines, created_before, posted)
    assert verdicts.created == created
    assert verdicts.planned == planned
    assert ("k" in verdicts.conflicts) is conflict
    assert ("k" in verdicts.posted) is (posted is POSTED)


def test_a_vanished_line_is_named_in_the_conflict_message() -> None:
    verdicts = judge_doubtful([record("k", "sending", payload=BODY)], [], {20_000, 30_000}, {})
    assert "2 line(s) this tool created are no longer in it" in verdicts.conflicts["k"]


def test_a_posted_payment_is_recorded_with_its_evidence() -> None:
    verdicts = judge_doubtful([record("k", "sending", payload=BODY)], [], set(), POSTED)
    assert verdicts.posted == {"k": "G/L entry 41"}
    assert (verdicts.created, verdicts.planned, verdicts.conflicts) == ({}, [], {})


def test_beside_a_posted_payment_an_absent_one_goes_to_a_person() -> None:
    """The journal was posted by a person: one payment is in the G/L, the other in neither place.
    It may have been deleted on purpose before posting; it is not sent again blindly."""
    other = {**BODY, "documentNumber": "D2"}
    rows = [record("k", "sending", payload=BODY), record("k2", "sending", payload=other, line=20_000)]
    verdicts = judge_doubtful(rows, [], set(), POSTED)
    assert verdicts.posted == {"k": "G/L entry 41"}
    assert list(verdicts.conflicts) == ["k2"] and verdicts.planned == []
    assert "1 payment(s) of it were posted" in verdicts.conflicts["k2"]


def test_the_run_holding_most_of_the_input_is_resumed() -> None:
    records = [
        record("a", "created", run_id=RUN),
        record("b", "sending", run_id=RUN),
        record("c", "planned", run_id=EARLIER),
        record("d", "conflict", run_id=EARLIER),  # a conflict does not tie the input to that run
        record("e", "created", run_id="finished-run"),
    ]
    assert vote_for_runs(records, {RUN, EARLIER}) == {RUN: 2, EARLIER: 1}


def _request(stamp: str, *lines: int) -> list[Any]:
    """Rows marked ``sending`` in one transaction (one ``$batch`` request), document D<lineNumber>."""
    return [
        record(f"k{n}", "sending", line=n, updated=stamp, payload={**BODY, "documentNumber": f"D{n}"}) for n in lines
    ]


def test_a_line_deleted_from_a_request_whose_answer_was_lost_goes_to_a_person() -> None:
    """One request sent lines 10000-30000 and its answer was lost. BC holds 10000 and 30000 but not
    20000: BC runs a request's operations in order, so it ran 20000 too; it is gone because a person
    deleted it (or BC refused it). Sending it again could pay twice: a person decides."""
    rows = _request("2026-12-02T09:00:00.001Z", 10_000, 20_000, 30_000)
    bc_lines = [line(10_000, doc="D10000", id="a"), line(30_000, doc="D30000", id="c")]
    verdicts = judge_doubtful(rows, bc_lines, set(), {})
    assert verdicts.created == {"k10000": "a", "k30000": "c"}
    assert list(verdicts.conflicts) == ["k20000"] and verdicts.planned == []
    assert "a person deleted it" in verdicts.conflicts["k20000"]


def test_the_tail_of_a_request_cut_short_is_sent_again() -> None:
    """BC holds the first line of the request only: the rest never arrived (the process died while
    BC was working through it), as far as BC shows; nothing marks a person's hand, so they are sent."""
    rows = _request("2026-12-02T09:00:00.001Z", 10_000, 20_000, 30_000)
    verdicts = judge_doubtful(rows, [line(10_000, doc="D10000", id="a")], set(), {})
    assert verdicts.created == {"k10000": "a"}
    assert verdicts.planned == ["k20000", "k30000"] and verdicts.conflicts == {}


def test_a_posted_later_line_proves_the_request_ran() -> None:
    """The journal was posted: 30000 is in the G/L; 20000 of the same request is nowhere."""
    rows = _request("2026-12-02T09:00:00.001Z", 20_000, 30_000)
    posted = {"D30000": [{"entryNumber": 7, "documentNumber": "D30000", "postingDate": "2026-12-01"}]}
    verdicts = judge_doubtful(rows, [], set(), posted)
    assert verdicts.posted == {"k30000": "G/L entry 7"}
    assert list(verdicts.conflicts) == ["k20000"]


def test_another_request_does_not_vouch_for_this_one() -> None:
    """Two requests in flight: the later one arrived, the earlier one never did. Nothing of the
    earlier request is in BC, so its rows are sent again, not held."""
    rows = _request("2026-12-02T09:00:00.001Z", 10_000, 20_000) + _request("2026-12-02T09:00:00.002Z", 30_000)
    verdicts = judge_doubtful(rows, [line(30_000, doc="D30000", id="c")], set(), {})
    assert verdicts.created == {"k30000": "c"}
    assert verdicts.planned == ["k10000", "k20000"] and verdicts.conflicts == {}


def _renumbered(entry: int, sent: str, posted_as: str) -> dict[str, list[dict[str, Any]]]:
    """What ``posted_entries_for`` files under a sent number for a document posted under another."""
    return {
        sent: [{"entryNumber": entry, "documentNumber": posted_as, "postingDate": "2026-12-01", "postedAs": posted_as}]
    }


def test_a_look_alike_under_another_number_is_no_proof_for_a_row_that_may_never_have_left() -> None:
    """The request of 10000 may never have reached BC (``kill -9`` right after the ledger's
    ``sending``). BC posted a payment of the same day and amount under a number this tool never
    sent: a Posting No. Series could have made it of ours, a person keying one by hand too. Taken
    for ours, this payment would be in BC nowhere and never sent: a person decides."""
    rows = _request("2026-12-02T09:00:00.001Z", 10_000)
    verdicts = judge_doubtful(rows, [], set(), _renumbered(5, "D10000", "MANUAL-1"))
    assert verdicts.posted == {} and verdicts.planned == []
    assert list(verdicts.conflicts) == ["k10000"]
    assert "G/L entry 5 (posted as document MANUAL-1)" in verdicts.conflicts["k10000"]


def test_a_look_alike_is_proof_for_a_row_bc_received() -> None:
    """20000 of the same request is in the G/L under its own number, so BC ran 10000 too; a
    document of 10000's day and amount under another number is then 10000 posted under the
    batch's Posting No. Series (the journal was posted), as for a line this tool saw created."""
    rows = _request("2026-12-02T09:00:00.001Z", 10_000, 20_000)
    posted = {
        **_renumbered(5, "D10000", "PMT00001"),
        "D20000": [{"entryNumber": 7, "documentNumber": "D20000", "postingDate": "2026-12-01"}],
    }
    verdicts = judge_doubtful(rows, [], set(), posted)
    assert verdicts.posted == {"k10000": "G/L entry 5 (posted as document PMT00001)", "k20000": "G/L entry 7"}
    assert verdicts.conflicts == {} and verdicts.planned == []


def test_a_posted_document_shared_by_several_lines_proves_none_of_them() -> None:
    """A check's lines share one document number: its posted entries show the document posted,
    not which of its lines; a line in doubt that is not in the journal goes to a person."""
    rows = [record("k", "sending", line=10_000, payload=BODY)]
    verdicts = judge_doubtful(rows, [], set(), POSTED, frozenset({"D1"}))
    assert verdicts.posted == {} and verdicts.planned == []
    assert list(verdicts.conflicts) == ["k"] and "G/L entry 41" in verdicts.conflicts["k"]
