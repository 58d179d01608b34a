"""Payer memory through the real command against the sandbox: learned only from payments posted by
the rules or decided by a person, never from rows waiting for one; used as evidence the next run;
a remembered payer paying another customer's invoice goes to a person.

Expected lines are worked out from the demo seed (``pipeline.sandbox.seed.DEMO_DATA``): C10000 has
RE-2026-0107 (714.00) and RE-2026-0101 (1,190.00) open among others, C10100 only RE-2026-0102
(357.00). Nothing is taken from what the tool printed.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
from click.testing import CliRunner
from generated_layout import GENERATED_PROFILE

from pipeline.cli import main
from pipeline.sandbox.server import SandboxInfo

from .conftest import BCView, report_lines, run_cli, secrets_env, write_config

HEADER = "Booked,Payer,Account,Amount,TxId,Customer,Invoice"
PROFILE: dict[str, Any] = {
    **GENERATED_PROFILE,
    "header": {"signature": HEADER.split(",")},
    "columns": {**GENERATED_PROFILE["columns"], "invoice_number": "Invoice", "payer_account": "Account"},
}
DE = "DE89 3704 0044 0532 0130 00"
NL = "NL91ABNA0417164300"
GB = "GB29 NWBK 6016 1331 9268 19"


def _statement(path: Path, rows: list[tuple[str, str, str, str, str, str]]) -> Path:
    """(txid, payer, account, amount, customer, invoice) rows booked on 2026-03-02."""
    lines = [HEADER] + [f"2026-03-02,{p},{a},{m},{t},{c},{i}" for t, p, a, m, c, i in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _accounts(config: Path) -> list[tuple[str, str, str]]:
    """The remembered accounts: (account, customer, source)."""
    with sqlite3.connect(config.parent / "state" / "ledger.sqlite") as db:
        rows = db.execute("SELECT identity, customer, source FROM payer_memory WHERE kind = 'account' ORDER BY 1")
        return [(str(a), str(c), str(s)) for a, c, s in rows]


def _lines_of(view: BCView, tx: str) -> list[tuple[str, Decimal, str]]:
    out = []
    for code, journal in view.journals().items():
        if code == "GENERAL":
            continue
        for line in view.lines(str(journal["id"])):
            if line.get("externalDocumentNumber") == tx:
                out.append(
                    (str(line["customerNumber"]), Decimal(str(line["amount"])), str(line["appliesToInvoiceNumber"]))
                )
    return out


def _decide_on_account(path: Path, tx: str, customer: str) -> None:
    book = openpyxl.load_workbook(path)
    sheet = book["Decisions"]
    header = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        if row[header.index("External Document No.")].value == tx:
            row[header.index("Decision")].value = "On account"
            row[header.index("Customer No. (decision)")].value = customer
    book.save(path)


def test_memory_learns_from_confirmed_rows_only_and_is_evidence_next_run(tmp_path: Path, sandbox: SandboxInfo) -> None:
    view = BCView(sandbox)
    config = write_config(tmp_path / "cfg", sandbox, profiles={"accounts": PROFILE})
    first = run_cli(
        config,
        sandbox,
        "--profile",
        "accounts",
        _statement(
            tmp_path / "a.csv",
            [
                ("M1", "Zahler Eins", DE, "714.00", "C10000", "RE-2026-0107"),  # posted by the rules: teaches
                ("M2", "Zahler Zwei", NL, "7.00", "", ""),  # nobody: waits for a person, teaches nothing
                ("M3", "Zahler Drei", GB, "45.50", "C99999", ""),  # unknown customer: waits
                # only the amount points to RE-2026-0091 (C10000's only 1,250.00): a proposal, teaches nothing
                ("M4", "Zahler Vier", "FR1420041010050500013M02606", "1250.00", "", ""),
            ],
        ),
    )
    assert first.summary is not None and first.summary["posted"] == 1, first.output
    proposal = next(line for line in report_lines(first.summary) if line["externalDocumentNumber"] == "M4")
    assert (proposal["state"], proposal["reason_code"]) == ("needs_review", "match_uncertain")
    assert _accounts(config) == [("DE89370400440532013000", "C10000", "rule")]

    out = tmp_path / "decide.xlsx"
    listed = CliRunner().invoke(main, ["review", "--config", str(config), "--out", str(out)], env=secrets_env(sandbox))
    assert listed.exit_code == 0, listed.output
    _decide_on_account(out, "M3", "C10100")
    decided = run_cli(config, sandbox, out)
    assert decided.summary is not None and decided.summary["posted"] == 1, decided.output
    assert _lines_of(view, "M3") == [("C10100", Decimal("-45.50"), "")]
    # a person's decision teaches; the row still waiting (M2) does not
    assert _accounts(config) == [
        ("DE89370400440532013000", "C10000", "rule"),
        ("GB29NWBK60161331926819", "C10100", "person"),
    ]

    third = run_cli(
        config,
        sandbox,
        "--profile",
        "accounts",
        _statement(
            tmp_path / "b.csv",
            [
                ("N1", "Irgendwer", "DE89370400440532013000", "1190.00", "", ""),  # C10000 by account; RE-2026-0101
                ("N2", "Irgendwer", DE.lower(), "357.00", "", "RE-2026-0102"),  # C10000's account, C10100's invoice
                ("N3", "Noch Jemand", NL, "7.00", "", ""),  # learned nothing from M2: still nobody
                ("N4", "Wer Anders", GB, "20.00", "", ""),  # C10100 by a person's word; fits no invoice
            ],
        ),
    )
    s = third.summary
    assert s is not None and (s["posted"], s["needs_review"]) == (2, 2), third.output
    assert _lines_of(view, "N1") == [("C10000", Decimal("-1190.00"), "RE-2026-0101")]
    assert _lines_of(view, "N4") == [("C10100", Decimal("-20.00"), "")]
    lines = {line["externalDocumentNumber"]: line for line in report_lines(s)}
    assert lines["N2"]["reason_code"] == "conflicting_evidence"
    assert "C10000" in lines["N2"]["message"] and "RE-2026-0102" in lines["N2"]["message"]
    assert lines["N3"]["state"] == "needs_review"
    run1 = first.summary["run_id"]
    assert (
        f"[payer_account_memory] payer account DE89370400440532013000 was confirmed for customer C10000 "
        f"'Müller Maschinenbau GmbH' on {first.summary['started'][:10]} (run {run1}, by a posted payment)"
    ) in lines["N1"]["match_details"]
    assert "by a person's decision" in lines["N4"]["match_details"]
