"""Exactly once when people act between runs (re-drops, hand-posted or edited journals).

Each test sets BC and the ledger up the way an interrupted run and a person would leave them,
runs the real command again, and checks BC's final state payment by payment against what the
input says it must be: every payment once, no invoice applied beyond its remaining amount.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

from generated_layout import GENERATED_PROFILE

from pipeline.sandbox import rules
from pipeline.sandbox.server import SandboxInfo
from pipeline.sandbox.settings import Fault

from .conftest import (
    BCView,
    Tx,
    check_report,
    make_transactions,
    only_new_journal,
    report_lines,
    run_cli,
    write_config,
    write_statement,
)

INVOICED_HEADER = "Booked,Payer,Amount,TxId,Customer,Invoice"
INVOICED_PROFILE: dict[str, Any] = {
    **GENERATED_PROFILE,
    "header": {"signature": INVOICED_HEADER.split(",")},
    "columns": {**GENERATED_PROFILE["columns"], "invoice_number": "Invoice"},
}


def _invoiced_statement(path: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    """(txid, customer, amount, invoice) rows on 2026-03-02, in the invoiced layout."""
    lines = [INVOICED_HEADER] + [f"2026-03-02,Payer {t},{a},{t},{c},{i}" for t, c, a, i in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _applied(view: BCView, invoice: str) -> Decimal:
    """What the open journals apply to ``invoice`` in BC (receipts are negative)."""
    total = Decimal(0)
    for journal in view.journals().values():
        for line in view.lines(str(journal["id"])):
            if str(line.get("appliesToInvoiceNumber") or "") == invoice:
                total += Decimal(str(line["amount"]))
    return total


def test_a_redrop_never_posts_the_payments_held_for_over_payment(tmp_path: Path, sandbox: SandboxInfo) -> None:
    """RE-2026-0101 has 1,190.00 open. A statement pays it twice (1,190.00 and 500.00): the second
    is an over-payment held for review. Before the journal is posted, BC's remainingAmount is still
    1,190.00; the same file dropped again (renamed) must hold the second payment again, not post it."""
    view = BCView(sandbox)
    config = write_config(tmp_path / "cfg", sandbox, profiles={"invoiced": INVOICED_PROFILE})
    rows = [("T1", "C10000", "1190.00", "RE-2026-0101"), ("T2", "C10000", "500.00", "RE-2026-0101")]
    first = run_cli(config, sandbox, "--profile", "invoiced", _invoiced_statement(tmp_path / "a.csv", rows))
    assert first.summary is not None and first.exit_code == 1, first.output
    assert (first.summary["posted"], first.summary["needs_review"]) == (1, 1)

    again = run_cli(config, sandbox, "--profile", "invoiced", _invoiced_statement(tmp_path / "a-copy.csv", rows))

    s = again.summary
    # exit 0: the held row waits from the first run (reported as waiting, not as new)
    assert s is not None and again.exit_code == 0, again.output
    assert (s["posted"], s["already_posted"], s["needs_review"], s["waiting"]) == (0, 1, 1, 1)
    (held,) = [line for line in report_lines(s) if line["state"] == "needs_review"]
    assert held["reason_code"] == "over_payment"
    assert _applied(view, "RE-2026-0101") == Decimal("-1190.00")  # never more than was open


def test_two_statements_before_posting_never_apply_more_than_the_invoice(tmp_path: Path, sandbox: SandboxInfo) -> None:
    """Statement A pays RE-2026-0101 in full; statement B (another day's file) pays it again before
    anyone posted A's journal: B's payment is an over-payment for review, not a second application."""
    view = BCView(sandbox)
    config = write_config(tmp_path / "cfg", sandbox, profiles={"invoiced": INVOICED_PROFILE})
    a = run_cli(
        config,
        sandbox,
        "--profile",
        "invoiced",
        _invoiced_statement(tmp_path / "a.csv", [("A1", "C10000", "1190.00", "RE-2026-0101")]),
    )
    assert a.exit_code == 0, a.output

    b = run_cli(
        config,
        sandbox,
        "--profile",
        "invoiced",
        _invoiced_statement(tmp_path / "b.csv", [("B1", "C10000", "1190.00", "RE-2026-0101")]),
    )

    assert b.summary is not None and b.exit_code == 1, b.output
    assert (b.summary["posted"], b.summary["needs_review"]) == (0, 1)
    assert _applied(view, "RE-2026-0101") == Decimal("-1190.00")


# --- a person posts or edits the journal of an interrupted run ------------------------------------


def _paid_once(view: BCView, txs: list[Tx]) -> None:
    """Every payment is in BC exactly once: as an open journal line or as a posted customer ledger
    entry (document number = the transaction id, by the generated profile), never both, never twice."""
    open_docs = [str(line["documentNumber"]) for j in view.new_journals().values() for line in view.lines(str(j["id"]))]
    posted_docs = [str(e["documentNumber"]) for e in rules.customer_ledger_entries(view.store, view.cid)]
    for tx in txs:
        doc = tx.txid.upper()
        assert open_docs.count(doc) + posted_docs.count(doc) == 1, (doc, open_docs.count(doc), posted_docs.count(doc))


def _ledger_sql(config: Path, sql: str, *params: object) -> None:
    """Change the ledger the way an interrupted run would have left it (the tests' only shortcut:
    reaching that state through a real crash is what tests/run/test_run_kill.py does)."""
    with sqlite3.connect(config.parent / "state" / "ledger.sqlite") as db:
        db.execute(sql, params)
    db.close()


def _as_interrupted(config: Path, *, rows_state: str, where_line_above: int = 0) -> None:
    """The last run is unfinished and its rows from ``where_line_above`` on are back in ``rows_state``."""
    _ledger_sql(config, "UPDATE runs SET status = 'interrupted', finished = NULL")
    _ledger_sql(config, "UPDATE rows SET state = ?, bc_id = NULL WHERE line_number > ?", rows_state, where_line_above)


def _hand_line(view: BCView, journal: dict[str, Any], line_number: int, document: str) -> None:
    """A payment line a person keys into the journal in BC (5.00 from C20000)."""
    body = {"lineNumber": line_number, "customerNumber": "C20000", "postingDate": "2026-03-02"}
    rules.create_payment(
        view.store, view.cid, str(journal["id"]), {**body, "documentNumber": document, "amount": Decimal("-5.00")}
    )


def test_a_journal_posted_by_a_person_after_an_interrupted_run_is_not_posted_again(
    tmp_path: Path, sandbox: SandboxInfo
) -> None:
    """Issue scenario 1: BC committed lines but the answers were lost (the ledger holds every row as
    ``sending``), a person posts the journal, the same command runs again. Reading the journal back
    finds nothing; BC's posted entries prove which payments were posted: none is sent again. The
    rows BC never received (their lines are not in the posted journal) go to a person, because a
    journal a person posted may also have been edited."""
    view = BCView(sandbox)
    txs = make_transactions(400, seed=31)  # over 300 gone lines: the G/L is read by posting date
    file = write_statement(tmp_path / "a.csv", txs)
    config = write_config(tmp_path / "cfg", sandbox)
    assert run_cli(config, sandbox, file).exit_code == 0
    journal = only_new_journal(view)
    _as_interrupted(config, rows_state="sending")
    never_arrived = view.lines(str(journal["id"]))[350:]  # the last 50 requests never reached BC
    for line in never_arrived:
        rules.delete_payment(view.store, view.cid, str(line["id"]), "*", str(journal["id"]))
    rules.post_journal(view.store, view.cid, str(journal["id"]))  # a person posts the journal

    again = run_cli(config, sandbox, file)

    s = again.summary
    assert s is not None and again.exit_code == 1, again.output
    assert (s["posted"], s["already_posted"], s["needs_review"]) == (350, 0, 50)  # resumed: its own run
    assert s["journal"]["posted"] is True and s["discrepancies"] == 0
    missing = {str(line["documentNumber"]) for line in never_arrived}
    posted_docs = [str(e["documentNumber"]) for e in rules.customer_ledger_entries(view.store, view.cid)]
    for tx in txs:
        assert posted_docs.count(tx.txid.upper()) == (0 if tx.txid.upper() in missing else 1)
    assert not view.lines(str(journal["id"]))  # nothing was sent again
    held = [line for line in report_lines(s) if line["state"] == "needs_review"]
    assert {line["reason_code"] for line in held} == {"bc_conflict"}
    check_report(s)


def test_a_resumed_run_whose_post_committed_reports_posted_not_missing(tmp_path: Path, sandbox: SandboxInfo) -> None:
    """Issue scenario 5: the run asked BC to post, BC posted, the answer was lost (the ledger says
    ``posting``). The next run must say the journal is posted, not that every line is missing."""
    view = BCView(sandbox)
    txs = make_transactions(30, seed=32)
    file = write_statement(tmp_path / "a.csv", txs)
    config = write_config(tmp_path / "cfg", sandbox)
    sandbox.faults.add(Fault("504-after-commit", route=r"Microsoft\.NAV\.post", times=0))
    sandbox.faults.add(Fault("503", route=r"customerPayments", methods=("GET",), times=0, retry_after_s=0.0))
    first = run_cli(config, sandbox, "--post-journal", file)
    sandbox.faults.clear()
    assert first.exit_code == 3, first.output

    again = run_cli(config, sandbox, "--post-journal", file)

    s = again.summary
    assert s is not None and again.exit_code == 0, again.output
    assert s["discrepancies"] == 0 and s["journal"]["posted"] is True
    assert (s["posted"] + s["already_posted"]) == len(txs)
    _paid_once(view, txs)


def test_post_journal_refuses_a_journal_a_person_added_to(tmp_path: Path, sandbox: SandboxInfo) -> None:
    """Issue scenario 4: a run stopped after 10 of 20 lines; a person keyed a line into its journal;
    the same command with --post-journal sends the other 10 and must not post the journal (the
    person's line would be posted with ours): exit 1, the line reported, nothing in the G/L."""
    view = BCView(sandbox)
    txs = make_transactions(20, seed=33)
    file = write_statement(tmp_path / "a.csv", txs)
    config = write_config(tmp_path / "cfg", sandbox)
    assert run_cli(config, sandbox, file).exit_code == 0
    journal = only_new_journal(view)
    for line in view.lines(str(journal["id"]))[10:]:
        rules.delete_payment(view.store, view.cid, str(line["id"]), "*", str(journal["id"]))
    _as_interrupted(config, rows_state="planned", where_line_above=100_000)
    _hand_line(view, journal, 995_000, "HAND-1")

    again = run_cli(config, sandbox, "--post-journal", file)

    s = again.summary
    assert s is not None and again.exit_code == 1, again.output
    assert s["journal"]["posted"] is False and s["discrepancies"] == 1
    assert len(view.lines(str(journal["id"]))) == len(txs) + 1  # nothing was posted
    assert "HAND-1" not in {e["documentNumber"] for e in rules.customer_ledger_entries(view.store, view.cid)}
    (found,) = check_report(s)["discrepancies"]
    assert found["kind"] == "not_planned" and "HAND-1" in found["message"]


def test_a_foreign_line_in_an_interrupted_journal_does_not_wedge_the_run(tmp_path: Path, sandbox: SandboxInfo) -> None:
    """Issue scenario 6: a run stopped after 20 of 40 lines; a person put a line high in its journal.
    The same command sends the other 20 after all, and reports the foreign line (exit 1)."""
    view = BCView(sandbox)
    txs = make_transactions(40, seed=34)
    file = write_statement(tmp_path / "a.csv", txs)
    config = write_config(tmp_path / "cfg", sandbox)
    assert run_cli(config, sandbox, file).exit_code == 0
    journal = only_new_journal(view)
    for line in view.lines(str(journal["id"]))[20:]:  # lines 210000.. were never sent
        rules.delete_payment(view.store, view.cid, str(line["id"]), "*", str(journal["id"]))
    _as_interrupted(config, rows_state="planned", where_line_above=200_000)
    _hand_line(view, journal, 9_000_000, "HAND-2")

    again = run_cli(config, sandbox, file)

    s = again.summary
    assert s is not None and again.exit_code == 1, again.output
    assert (s["posted"], s["already_posted"], s["discrepancies"]) == (40, 0, 1)
    assert len(view.lines(str(journal["id"]))) == 41
    _paid_once(view, txs)


def test_a_file_imported_before_is_named_as_such_at_file_level(tmp_path: Path, sandbox: SandboxInfo) -> None:
    """The same statement dropped again under another name: the report says so for the file, not
    only row by row (20 x "already posted")."""
    txs = make_transactions(20, seed=35)
    config = write_config(tmp_path / "cfg", sandbox)
    first = run_cli(config, sandbox, write_statement(tmp_path / "monday.csv", txs))
    assert first.summary is not None and first.exit_code == 0, first.output
    assert first.summary["files"][0]["imported_before"] is None

    again = run_cli(config, sandbox, write_statement(tmp_path / "monday (1).csv", txs))

    assert again.summary is not None and again.exit_code == 0, again.output
    note = again.summary["files"][0]["imported_before"]
    day = first.summary["started"][:10]
    assert note == f"imported before by run {first.summary['run_id']} on {day} (as monday.csv)"


# --- a lost or second ledger ----------------------------------------------------------------------


def test_a_lost_ledger_refuses_to_post_what_bc_already_holds(tmp_path: Path, sandbox: SandboxInfo) -> None:
    """Issue scenario 2: the ledger is deleted (or a second state folder imports into the same
    company). Re-running the file must post nothing: exit 2 naming the journals and payments found."""
    view = BCView(sandbox)
    txs = make_transactions(30, seed=36)
    file = write_statement(tmp_path / "a.csv", txs)
    config = write_config(tmp_path / "cfg", sandbox)
    assert run_cli(config, sandbox, "--post-journal", file).exit_code == 0
    journal = only_new_journal(view)
    for leftover in (config.parent / "state").glob("ledger.sqlite*"):
        leftover.unlink()  # the ledger is lost

    again = run_cli(config, sandbox, "--post-journal", file)

    assert again.exit_code == 2, again.output
    assert again.summary is not None
    message = again.summary["error"]
    assert "has no record of any import" in message and str(journal["code"]) in message
    assert "30 payment(s) of this input already posted" in message and "--accept-new-ledger" in message
    _paid_once(view, txs)
    second = write_config(tmp_path / "other-folder", sandbox)  # a second state folder, same company
    other = run_cli(second, sandbox, write_statement(tmp_path / "b.csv", make_transactions(5, seed=37)))
    assert other.exit_code == 2 and str(journal["code"]) in other.output


def test_a_new_ledger_on_purpose_posts_when_told_so(tmp_path: Path, sandbox: SandboxInfo) -> None:
    """A second state folder for another kind of file, said explicitly: it posts its own payments."""
    view = BCView(sandbox)
    config = write_config(tmp_path / "cfg", sandbox)
    assert run_cli(config, sandbox, write_statement(tmp_path / "a.csv", make_transactions(5, seed=38))).exit_code == 0
    second = write_config(tmp_path / "other-folder", sandbox)
    txs = make_transactions(5, seed=39)

    told = run_cli(second, sandbox, "--accept-new-ledger", write_statement(tmp_path / "b.csv", txs))

    assert told.exit_code == 0, told.output
    assert told.summary is not None and told.summary["posted"] == 5
    _paid_once(view, txs)
