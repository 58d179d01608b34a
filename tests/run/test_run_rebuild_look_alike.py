"""A rebuild and a payment a person keyed by hand that looks like one of the files'.

A rebuild (``payimport ledger rebuild``) finds a payment posted from a batch with a Posting No.
Series by its posting date and amount (and description, when the profile gives one) among posted
documents under numbers no row holds. A payment a person keyed and posted by hand with the same
date and amount looks the same. Recorded as this tool's, a payment of the files that never reached
BC would be in BC nowhere and never sent: the rebuild leaves such a match to a person.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from pipeline.sandbox import rules
from pipeline.sandbox.server import SandboxInfo

from .conftest import BCView, make_transactions, report_lines, run_cli, write_config, write_statement
from .test_run_rebuild import lose_ledger, rebuild


def test_a_look_alike_keyed_by_hand_is_not_recorded_as_the_files_payment(tmp_path: Path, sandbox: SandboxInfo) -> None:
    view = BCView(sandbox)
    txs = make_transactions(11, seed=64)
    imported, never = txs[:10], txs[10]
    config = write_config(tmp_path / "cfg", sandbox)
    file_a, file_b = write_statement(tmp_path / "a.csv", imported), write_statement(tmp_path / "b.csv", [never])
    assert run_cli(config, sandbox, "--post-journal", file_a).exit_code == 0
    # b.csv was never imported; a person keys a payment of its day and amount for another customer,
    # named after the same payer (as a payment keyed from the bank statement would be)
    account = view.store.query_one("SELECT id FROM gl_accounts WHERE number = ?", ("2910",))
    hand = rules.create_journal(view.store, view.cid, {"code": "HAND", "balancingAccountId": str(account["id"])})
    other = next(t.customer for t in imported if t.customer != never.customer)
    body = {
        "customerNumber": other,
        "postingDate": never.day.isoformat(),
        "documentNumber": "MANUAL-1",
        "amount": -Decimal(never.cents).scaleb(-2),
        "description": never.payer,
    }
    rules.create_payment(view.store, view.cid, str(hand["id"]), body)
    rules.post_journal(view.store, view.cid, str(hand["id"]))
    lose_ledger(config)

    rebuilt = rebuild(config, sandbox, file_a, file_b)

    assert rebuilt.exit_code == 0, rebuilt.output
    assert rebuilt.found["already_in_ledger"] == 0
    again = run_cli(config, sandbox, file_b)
    s = again.summary
    assert s is not None, again.output
    (line,) = [x for x in report_lines(s) if x["documentNumber"] == never.txid.upper()]
    # the payment is in BC nowhere: never "already posted" on the strength of a person's payment
    assert (line["state"], line["reason_code"]) == ("needs_review", "bc_conflict"), line
    assert "MANUAL-1" in line["message"]
    assert rebuilt.found["matched_by_date_and_amount"] == 1
    posted = [e["documentNumber"] for e in rules.customer_ledger_entries(view.store, view.cid, never.customer)]
    lines = [x["documentNumber"] for j in view.new_journals().values() for x in view.lines(str(j["id"]))]
    assert posted.count(never.txid.upper()) + lines.count(never.txid.upper()) == (line["state"] == "posted")
