"""A row in doubt and a payment a person keyed by hand that looks like it.

A ``kill -9`` between the ledger's ``sending`` and the request leaves a row whose request never
reached BC. Settling it reads the journal (the line is not there) and BC's posted entries. A
payment a person keyed and posted by hand with the same posting date and amount (and, when the
tool sends one, the same description) under a number of their own is what a Posting No. Series
would have made of ours, too: the entries cannot tell the two apart. Taking it for ours would mark
a payment that is nowhere in BC as posted, and nobody would ever send it: it must go to a person.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from pipeline.ledger import Ledger, PlannedRow
from pipeline.sandbox import rules
from pipeline.sandbox.server import SandboxInfo

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


def _leave_unsent_in_doubt(
    config: Path, tx: Tx, journal_id: str, journal_code: str, line_number: int, document: str = ""
) -> None:
    """What ``kill -9`` right after the ledger's ``sending`` leaves: the request never left.
    ``document``: the payment's document number when it is not its own (a check's second line)."""
    with Ledger.open(config.parent / "state" / "ledger.sqlite") as ledger:
        scope, run_id = ledger._db.execute("SELECT target, run_id FROM runs ORDER BY started DESC LIMIT 1").fetchone()
        body = {
            "lineNumber": line_number,
            "customerNumber": tx.customer,
            "postingDate": tx.day.isoformat(),
            "documentNumber": document or tx.txid.upper(),
            "externalDocumentNumber": document or tx.txid.upper(),
            "amount": f"-{tx.cents // 100}.{tx.cents % 100:02d}",
            "comment": "",
        }
        row = PlannedRow(
            f"generated:tx:{tx.txid}",
            str(run_id),
            "0" * 64,
            "statement.csv",
            999,
            journal_id,
            journal_code,
            line_number,
            body,
        )
        ledger.plan(str(scope), str(run_id), [row])
        ledger.mark_sending(str(scope), [row.key])


def test_a_payment_keyed_by_hand_like_one_in_doubt_never_makes_ours_posted(
    tmp_path: Path, sandbox: SandboxInfo
) -> None:
    view = BCView(sandbox)
    txs = make_transactions(11, seed=31)
    first, extra = txs[:10], txs[10]
    config = write_config(tmp_path / "cfg", sandbox)
    assert run_cli(config, sandbox, write_statement(tmp_path / "a.csv", first)).exit_code == 0
    journal = only_new_journal(view)
    _leave_unsent_in_doubt(config, extra, str(journal["id"]), str(journal["code"]), 990_000)
    # a person keys a payment of the same day and amount in a journal of their own (another
    # customer, their own document number) and posts it
    account = view.store.query_one("SELECT id FROM gl_accounts WHERE number = ?", ("2910",))
    hand = rules.create_journal(view.store, view.cid, {"code": "HAND", "balancingAccountId": str(account["id"])})
    other = next(t.customer for t in first if t.customer != extra.customer)
    amount = -Decimal(extra.cents).scaleb(-2)
    rules.create_payment(
        view.store,
        view.cid,
        str(hand["id"]),
        {"customerNumber": other, "postingDate": extra.day.isoformat(), "documentNumber": "MANUAL-1", "amount": amount},
    )
    rules.post_journal(view.store, view.cid, str(hand["id"]))

    again = run_cli(config, sandbox, write_statement(tmp_path / "b.csv", txs))

    s = again.summary
    assert s is not None, again.output
    (line,) = [line for line in report_lines(s) if line["documentNumber"] == extra.txid.upper()]
    in_bc = [
        e
        for e in rules.customer_ledger_entries(view.store, view.cid, extra.customer)
        if e["documentNumber"] == extra.txid.upper()
    ]
    lines = [x for x in view.lines(str(journal["id"])) if x["documentNumber"] == extra.txid.upper()]
    # the payment is nowhere in BC, and the tool cannot show whether its request left: a person decides
    assert (line["state"], line["reason_code"]) == ("needs_review", "bc_conflict"), line
    assert "MANUAL-1" in line["message"]
    assert in_bc == [] and lines == []  # not sent blindly either: a Posting No. Series could have posted it
    assert s["already_posted"] == 10
    check_report(s)


def test_the_posted_first_line_of_a_check_is_no_proof_for_its_second_line_in_doubt(
    tmp_path: Path, sandbox: SandboxInfo
) -> None:
    """The lines of one check share one document number (``plan.payment_groups``). The first line
    was created and the journal posted; the second line's request may never have left (``kill -9``
    right after the ledger's ``sending``). BC's posted entries hold the check's number and date,
    but that proves the first line, not the second: taken as proof, the second line would be in
    BC nowhere and never sent. A person decides."""
    view = BCView(sandbox)
    txs = make_transactions(5, seed=32)
    config = write_config(tmp_path / "cfg", sandbox)
    file = write_statement(tmp_path / "a.csv", txs)
    assert run_cli(config, sandbox, file, "--post-journal").exit_code == 0
    journal = only_new_journal(view)
    first = txs[0]
    second = Tx(first.txid + "-2", first.day, first.payer, first.customer, 4_321)
    _leave_unsent_in_doubt(config, second, str(journal["id"]), str(journal["code"]), 990_000, first.txid.upper())

    again = run_cli(config, sandbox, file)

    assert again.exit_code == 0, again.output
    with Ledger.open(config.parent / "state" / "ledger.sqlite") as ledger:
        scope = ledger._db.execute("SELECT target FROM runs LIMIT 1").fetchone()[0]
        record = ledger.lookup(str(scope), [f"generated:tx:{second.txid}"])[f"generated:tx:{second.txid}"]
    amounts = [e["amount"] for e in rules.customer_ledger_entries(view.store, view.cid, first.customer)]
    assert Decimal("-43.21") not in [Decimal(str(a)) for a in amounts]  # the second line is not in BC
    assert record.state == "conflict", record


def test_a_line_a_person_deleted_is_not_taken_as_posted_on_a_look_alike(tmp_path: Path, sandbox: SandboxInfo) -> None:
    """A run created its lines and died before closing (it is resumed next time). A person deleted
    one of its lines from the journal and keyed a payment of the same day, amount and payer by hand
    in a journal of their own. The run's journal is the tool's, made through the API: no Posting No.
    Series can have renumbered the line, so the look-alike is not it: the resumed run reports the
    line missing from the journal (exit 1), not posted."""
    view = BCView(sandbox)
    txs = make_transactions(5, seed=33)
    config = write_config(tmp_path / "cfg", sandbox)
    file = write_statement(tmp_path / "a.csv", txs)
    assert run_cli(config, sandbox, file).exit_code == 0
    with Ledger.open(config.parent / "state" / "ledger.sqlite") as ledger:
        ledger._db.execute("UPDATE runs SET status = 'failed'")  # what a process killed before closing leaves
        ledger._db.commit()
    journal = only_new_journal(view)
    victim = txs[0]
    (line,) = [x for x in view.lines(str(journal["id"])) if x["documentNumber"] == victim.txid.upper()]
    rules.delete_payment(view.store, view.cid, str(line["id"]), "*", str(journal["id"]))
    account = view.store.query_one("SELECT id FROM gl_accounts WHERE number = ?", ("2910",))
    hand = rules.create_journal(view.store, view.cid, {"code": "HAND", "balancingAccountId": str(account["id"])})
    other = next(t.customer for t in txs if t.customer != victim.customer)
    body = {
        "customerNumber": other,
        "postingDate": victim.day.isoformat(),
        "documentNumber": "MANUAL-1",
        "amount": -Decimal(victim.cents).scaleb(-2),
        "description": victim.payer,
    }
    rules.create_payment(view.store, view.cid, str(hand["id"]), body)
    rules.post_journal(view.store, view.cid, str(hand["id"]))

    again = run_cli(config, sandbox, file)

    s = again.summary
    assert s is not None and again.exit_code == 1, again.output
    assert s["discrepancies"] == 1
    report = check_report(s)
    assert [d["kind"] for d in report["discrepancies"]] == ["missing_in_bc"], report["discrepancies"]
    assert victim.txid.upper() in str(report["discrepancies"][0]), report["discrepancies"]
