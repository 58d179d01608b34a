"""Re-runs never post twice: the same file again, under another name, overlapping statements, and
a journal named in ``journal.existing`` that already holds someone else's line.

Expected journals are worked out from the generated transactions (``conftest.Tx.line``) and the
samples' figures (``test_run_samples``), never from what the runs reported.
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

from pipeline.sandbox.server import SandboxInfo

from .conftest import (
    SAMPLES,
    BCHttp,
    BCView,
    assert_exactly,
    check_report,
    ledger_states,
    make_transactions,
    only_new_journal,
    plan_new_journal,
    report_lines,
    run_cli,
    write_config,
    write_statement,
)
from .test_run_samples import BANK_LINES, REMITTANCE_LINES


def test_same_file_twice_posts_nothing_the_second_time(tmp_path: Path, sandbox: SandboxInfo) -> None:
    view = BCView(sandbox)
    txs = make_transactions(150)
    file = write_statement(tmp_path / "statement.csv", txs)
    config = write_config(tmp_path / "cfg", sandbox)
    expected = plan_new_journal([t.line() for t in txs])

    first = run_cli(config, sandbox, file)
    assert first.exit_code == 0, first.output
    journal = only_new_journal(view)
    assert_exactly(view.lines(str(journal["id"])), expected)

    second = run_cli(config, sandbox, file)

    assert second.exit_code == 0, second.output
    s = second.summary
    assert s is not None
    assert (s["rows_read"], s["posted"], s["already_posted"], s["skipped"]) == (151, 0, 150, 1)
    assert s["journal"]["code"] is None  # no journal for a run with nothing to send
    check_report(s)
    assert only_new_journal(view) == journal  # no second journal
    assert_exactly(view.lines(str(journal["id"])), expected)  # nothing new in BC
    for line in report_lines(s):
        if line["state"] == "already_posted":
            assert line["journal_code"] == journal["code"]
    assert ledger_states(config) == {"created": 150}


def test_sample_with_a_split_receipt_twice(tmp_path: Path, sandbox: SandboxInfo) -> None:
    """The receipt split over two invoices (two journal lines) is one already-posted line the second time."""
    view = BCView(sandbox)
    file = Path(shutil.copy(SAMPLES / "bank_statement.csv", tmp_path / "bank_statement.csv"))
    config = write_config(tmp_path / "cfg", sandbox)

    assert run_cli(config, sandbox, file).exit_code == 0
    second = run_cli(config, sandbox, file)

    assert second.exit_code == 0, second.output
    s = second.summary
    assert s is not None and (s["posted"], s["already_posted"], s["needs_review"], s["skipped"]) == (0, 7, 0, 12)
    assert s["waiting"] == 0
    assert_exactly(view.lines(str(only_new_journal(view)["id"])), plan_new_journal(BANK_LINES))


def test_same_file_under_another_name_is_already_posted(tmp_path: Path, sandbox: SandboxInfo, bc_http: BCHttp) -> None:
    """The remittance has no transaction ids: rows are known again by their content, not the file name."""
    original = Path(shutil.copy(SAMPLES / "remittance.xlsx", tmp_path / "remittance.xlsx"))
    renamed = Path(shutil.copy(original, tmp_path / "remittance (1).xlsx"))
    config = write_config(tmp_path / "cfg", sandbox)

    assert run_cli(config, sandbox, original).exit_code == 0
    journal = only_new_journal(bc_http)
    again = run_cli(config, sandbox, renamed)

    assert again.exit_code == 0, again.output
    s = again.summary
    assert s is not None and (s["rows_read"], s["posted"], s["already_posted"], s["skipped"]) == (10, 0, 4, 6)
    check_report(s)
    assert only_new_journal(bc_http) == journal
    assert_exactly(bc_http.lines(journal["id"]), plan_new_journal(REMITTANCE_LINES))


def test_one_file_given_twice_in_one_run(tmp_path: Path, sandbox: SandboxInfo) -> None:
    """A copy beside the original in the same run: its rows are the same payments, sent once."""
    view = BCView(sandbox)
    txs = make_transactions(40, seed=3)
    a = write_statement(tmp_path / "a.csv", txs)
    b = Path(shutil.copy(a, tmp_path / "b.csv"))
    config = write_config(tmp_path / "cfg", sandbox)

    out = run_cli(config, sandbox, a, b)

    assert out.exit_code == 0, out.output
    s = out.summary
    assert s is not None and (s["rows_read"], s["posted"], s["already_posted"], s["skipped"]) == (82, 40, 40, 2)
    check_report(s)
    dup = [line for line in report_lines(s) if line["source_file"].endswith("b.csv") and line["state"] != "skipped"]
    assert len(dup) == 40 and all(line["state"] == "already_posted" for line in dup)
    assert all(line["reason_code"] == "duplicate_in_run" and line["lineNumber"] is None for line in dup)
    assert_exactly(view.lines(str(only_new_journal(view)["id"])), plan_new_journal([t.line() for t in txs]))


def test_overlapping_statement_posts_only_the_new_rows(tmp_path: Path, sandbox: SandboxInfo) -> None:
    """A holds transactions 1-60, B 31-90 (same ids): B's run posts 61-90 only, into its own journal."""
    view = BCView(sandbox)
    txs = make_transactions(90, seed=5)
    a = write_statement(tmp_path / "a.csv", txs[:60])
    b = write_statement(tmp_path / "b.csv", txs[30:90])
    config = write_config(tmp_path / "cfg", sandbox)

    first = run_cli(config, sandbox, a)
    assert first.exit_code == 0, first.output
    journal_a = only_new_journal(view)
    second = run_cli(config, sandbox, b)

    assert second.exit_code == 0, second.output
    s = second.summary
    assert s is not None and (s["rows_read"], s["posted"], s["already_posted"], s["skipped"]) == (61, 30, 30, 1)
    check_report(s)
    journals = view.new_journals()
    assert set(journals) == {journal_a["code"], s["journal"]["code"]}
    assert_exactly(view.lines(str(journal_a["id"])), plan_new_journal([t.line() for t in txs[:60]]))
    assert_exactly(view.lines(s["journal"]["id"]), plan_new_journal([t.line() for t in txs[60:90]]))
    states = {line["source_row"]: line["state"] for line in report_lines(s)}
    assert all(states[row] == "already_posted" for row in range(2, 32))  # B's lines 2..31 are txs 31..60
    assert all(states[row] == "posted" for row in range(32, 62))
    assert ledger_states(config) == {"created": 90}


def test_existing_journal_with_a_foreign_line(tmp_path: Path, sandbox: SandboxInfo, bc_http: BCHttp) -> None:
    """journal.existing holding a line no run planned: refused (exit 2, nothing sent) unless
    journal.allow_foreign_lines, then the new lines go after it."""
    created = bc_http.request("POST", "customerPaymentJournals", {"code": "manual1", "displayName": "by hand"})
    assert created.status_code == 201, created.text
    journal = created.json()
    foreign = bc_http.request(
        "POST",
        f"customerPaymentJournals({journal['id']})/customerPayments",
        {"lineNumber": 10000, "customerNumber": "C20000", "amount": -5, "documentNumber": "HAND-1"},
    )
    assert foreign.status_code == 201, foreign.text
    foreign_line = (10_000, ("C20000", Decimal("-5"), "HAND-1", ""))
    txs = make_transactions(25, seed=9)
    file = write_statement(tmp_path / "statement.csv", txs)

    refused = run_cli(write_config(tmp_path / "cfg", sandbox, journal={"existing": "MANUAL1"}), sandbox, file)

    assert refused.exit_code == 2, refused.output
    assert "MANUAL1" in refused.output and "allow_foreign_lines" in refused.output
    assert_exactly(bc_http.lines(journal["id"]), dict([foreign_line]))
    assert set(bc_http.journals()) == {"GENERAL", "MANUAL1"}

    # the person allows it and runs the same command again (same state folder)
    allowed_config = write_config(
        tmp_path / "cfg", sandbox, journal={"existing": "MANUAL1", "allow_foreign_lines": True}
    )
    allowed = run_cli(allowed_config, sandbox, file)

    assert allowed.exit_code == 0, allowed.output
    s = allowed.summary
    assert s is not None and (s["posted"], s["already_posted"], s["discrepancies"]) == (25, 0, 0)
    assert s["journal"]["code"] == "MANUAL1"
    check_report(s)
    expected = dict([foreign_line, *plan_new_journal([t.line() for t in txs], first=10_000).items()])
    assert_exactly(bc_http.lines(journal["id"]), expected)
    assert set(bc_http.journals()) == {"GENERAL", "MANUAL1"}


def test_refused_existing_journal_then_a_new_journal(tmp_path: Path, sandbox: SandboxInfo, bc_http: BCHttp) -> None:
    """After the refusal the person drops journal.existing: the run goes into a new journal of its
    own and leaves the other journal as it was (the refused run is not taken up again)."""
    created = bc_http.request("POST", "customerPaymentJournals", {"code": "MANUAL2", "displayName": "by hand"})
    assert created.status_code == 201, created.text
    journal = created.json()
    foreign = bc_http.request(
        "POST",
        f"customerPaymentJournals({journal['id']})/customerPayments",
        {"lineNumber": 10000, "customerNumber": "C30000", "amount": -7.5, "documentNumber": "HAND-2"},
    )
    assert foreign.status_code == 201, foreign.text
    txs = make_transactions(25, seed=10)
    file = write_statement(tmp_path / "statement.csv", txs)

    refused = run_cli(write_config(tmp_path / "cfg", sandbox, journal={"existing": "MANUAL2"}), sandbox, file)
    assert refused.exit_code == 2, refused.output
    out = run_cli(write_config(tmp_path / "cfg", sandbox), sandbox, file)

    assert out.exit_code == 0, out.output
    s = out.summary
    assert s is not None and s["posted"] == 25 and s["journal"]["code"] not in ("MANUAL2", None)
    assert set(bc_http.journals()) == {"GENERAL", "MANUAL2", s["journal"]["code"]}
    assert_exactly(bc_http.lines(s["journal"]["id"]), plan_new_journal([t.line() for t in txs]))
    assert_exactly(bc_http.lines(journal["id"]), {10_000: ("C30000", Decimal("-7.5"), "HAND-2", "")})
