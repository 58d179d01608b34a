"""Rows whose outcome was in doubt when BC changed meanwhile, and the ledger's identity of a company.

Each test sets up the state a crash would leave (a ledger row marked ``sending`` whose request may
or may not have reached BC) and then changes BC the way a person would (posting the journal,
deleting it). Expected BC state follows from the input and BC's rules: a payment is in BC at most
once, and when the tool cannot prove whether it is, a person decides.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from pipeline.ledger import Ledger, PlannedRow
from pipeline.sandbox import rules, seed
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


def _ledger(config: Path) -> Ledger:
    return Ledger.open(config.parent / "state" / "ledger.sqlite")


def _scope_and_run(config: Path) -> tuple[str, str]:
    with _ledger(config) as ledger:
        row = ledger._db.execute("SELECT target, run_id FROM runs ORDER BY started DESC LIMIT 1").fetchone()
    return str(row[0]), str(row[1])


def _body(tx: Tx, line_number: int) -> dict[str, Any]:
    """The request body the importer sends for ``tx`` (the generated profile: TxId is the document number)."""
    return {
        "lineNumber": line_number,
        "customerNumber": tx.customer,
        "postingDate": tx.day.isoformat(),
        "documentNumber": tx.txid.upper(),
        "externalDocumentNumber": tx.txid.upper(),
        "amount": f"-{tx.cents // 100}.{tx.cents % 100:02d}",
        "comment": "",
    }


def _leave_in_doubt(config: Path, tx: Tx, journal: dict[str, Any], line_number: int) -> None:
    """What a crash after sending ``tx`` leaves: the ledger says 'sending' at ``line_number``."""
    scope, run_id = _scope_and_run(config)
    with _ledger(config) as ledger:
        row = PlannedRow(
            key=f"generated:tx:{tx.txid}",
            run_id=run_id,
            file_sha256="0" * 64,
            source_file="statement.csv",
            source_row=999,
            journal_id=str(journal["id"]),
            journal_code=str(journal["code"]),
            line_number=line_number,
            payload=_body(tx, line_number),
        )
        ledger.plan(scope, run_id, [row])
        ledger.mark_sending(scope, [row.key])


def test_a_journal_posted_while_a_row_was_in_doubt_never_gets_the_row_twice(
    tmp_path: Path, sandbox: SandboxInfo
) -> None:
    """The request reached BC, then a person posted the journal: the line is gone from the journal
    but the payment is in the general ledger. Reading the journal back finds nothing, and re-sending
    would pay twice; BC's posted entries (its document number and date) prove it was posted, so it
    is already posted, never sent again."""
    view = BCView(sandbox)
    txs = make_transactions(11, seed=21)
    first, extra = txs[:10], txs[10]
    config = write_config(tmp_path / "cfg", sandbox)
    assert run_cli(config, sandbox, write_statement(tmp_path / "a.csv", first)).exit_code == 0
    journal = only_new_journal(view)
    # the doubtful request did reach BC (line 990000), then the journal was posted
    body = _body(extra, 990_000)
    rules.create_payment(view.store, view.cid, str(journal["id"]), {**body, "amount": Decimal(body["amount"])})
    _leave_in_doubt(config, extra, journal, 990_000)
    rules.post_journal(view.store, view.cid, str(journal["id"]))

    again = run_cli(config, sandbox, write_statement(tmp_path / "b.csv", txs))

    s = again.summary
    assert s is not None and again.exit_code == 0, again.output
    assert (s["posted"], s["already_posted"], s["needs_review"]) == (0, 11, 0)
    (line,) = [line for line in report_lines(s) if line["documentNumber"] == extra.txid.upper()]
    assert line["state"] == "already_posted" and line["bc_id"].startswith("G/L entry ")
    entries = rules.customer_ledger_entries(view.store, view.cid, extra.customer)
    assert [e["documentNumber"] for e in entries].count(extra.txid.upper()) == 1  # paid once, not twice
    check_report(s)


def test_a_deleted_journal_with_a_row_in_doubt_does_not_block_other_files(tmp_path: Path, sandbox: SandboxInfo) -> None:
    view = BCView(sandbox)
    txs = make_transactions(6, seed=22)
    config = write_config(tmp_path / "cfg", sandbox)
    assert run_cli(config, sandbox, write_statement(tmp_path / "a.csv", txs[:3])).exit_code == 0
    journal = only_new_journal(view)
    _leave_in_doubt(config, txs[3], journal, 990_000)
    rules.delete_journal(view.store, view.cid, str(journal["id"]), "*")

    other = run_cli(config, sandbox, write_statement(tmp_path / "b.csv", txs[4:]))

    assert other.exit_code == 0, other.output
    assert other.summary is not None and other.summary["posted"] == 2
    doubtful = run_cli(config, sandbox, write_statement(tmp_path / "c.csv", [txs[3]]))
    assert doubtful.summary is not None and doubtful.summary["needs_review"] == 1
    assert doubtful.summary["posted"] == 0


def test_the_company_spelled_by_name_is_the_same_company(tmp_path: Path, sandbox: SandboxInfo) -> None:
    """config.yaml naming the company by id, then by name, must not make the ledger forget."""
    txs = make_transactions(5, seed=23)
    file = write_statement(tmp_path / "a.csv", txs)
    by_id = write_config(tmp_path / "cfg", sandbox)
    assert run_cli(by_id, sandbox, file).exit_code == 0
    by_name = write_config(tmp_path / "cfg", sandbox, target={"company": seed.DEFAULT_COMPANY})

    again = run_cli(by_name, sandbox, file)

    assert again.summary is not None and (again.summary["posted"], again.summary["already_posted"]) == (0, 5)


def test_a_repeat_of_a_payment_that_needs_review_needs_review_too(tmp_path: Path, sandbox: SandboxInfo) -> None:
    """The same transaction in two files of one run, naming a customer BC does not know: neither
    occurrence was posted, so neither may say 'already posted'."""
    (tx,) = make_transactions(1, seed=24)
    unknown = Tx(tx.txid, tx.day, tx.payer, "C55555", tx.cents)
    config = write_config(tmp_path / "cfg", sandbox)

    out = run_cli(
        config, sandbox, write_statement(tmp_path / "a.csv", [unknown]), write_statement(tmp_path / "b.csv", [unknown])
    )

    s = out.summary
    assert s is not None and out.exit_code == 1
    assert (s["posted"], s["already_posted"], s["needs_review"]) == (0, 0, 2)
