"""Rows for a person: they stay waiting across runs and re-drops, and a decisions workbook takes them
to done through the real command against the sandbox.

Expected BC lines are worked out here from the input and the decisions (a receipt is a negative
amount; an on-account payment has no invoice), never taken from what the tool returned. The
decisions workbook is filled in with openpyxl, as Excel would save it.
"""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
from click.testing import CliRunner
from generated_layout import GENERATED_PROFILE

from pipeline.cli import main
from pipeline.sandbox.server import SandboxInfo

from .conftest import BCView, check_report, report_lines, run_cli, secrets_env, write_config

HEADER = "Booked,Payer,Amount,TxId,Customer,Invoice"
PROFILE: dict[str, Any] = {
    **GENERATED_PROFILE,
    "header": {"signature": HEADER.split(",")},
    "columns": {**GENERATED_PROFILE["columns"], "invoice_number": "Invoice"},
}


def _statement(path: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    """(txid, customer, amount, invoice) rows booked on 2026-03-02."""
    lines = [HEADER] + [f"2026-03-02,Payer {t},{a},{t},{c},{i}" for t, c, a, i in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _new_lines(view: BCView) -> list[tuple[str, Decimal, str]]:
    """(customer, amount, invoice) of every line in journals the runs made, sorted."""
    out = []
    for code, journal in view.journals().items():
        if code == "GENERAL":
            continue
        for line in view.lines(str(journal["id"])):
            invoice = str(line.get("appliesToInvoiceNumber") or "")
            out.append((str(line["customerNumber"]), Decimal(str(line["amount"])), invoice))
    return sorted(out)


def _lines_of(view: BCView, external: str) -> list[dict[str, Any]]:
    """The journal lines of one receipt (by its External Document No.)."""
    return [
        line
        for code, journal in view.journals().items()
        if code != "GENERAL"
        for line in view.lines(str(journal["id"]))
        if line.get("externalDocumentNumber") == external
    ]


def _ledger_keys(config: Path, tx: str) -> list[str]:
    """What follows the receipt's key in the ledger keys of the lines of transaction ``tx``."""
    with sqlite3.connect(config.parent / "state" / "ledger.sqlite") as db:
        keys = [str(k) for (k,) in db.execute("SELECT key FROM rows WHERE key LIKE ?", (f"%{tx}#%",))]
    return sorted(k[k.index(tx) + len(tx) :] for k in keys)


def _review(config: Path, info: SandboxInfo, out: Path) -> dict[str, Any]:
    result = CliRunner().invoke(
        main, ["review", "--json", "--config", str(config), "--out", str(out)], env=secrets_env(info)
    )
    assert result.exit_code == 0, result.output
    value: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return value


def _decide(path: Path, decisions: dict[str, dict[str, Any]]) -> None:
    """Fill the person's columns of the rows whose External Document No. is a key of ``decisions``."""
    book = openpyxl.load_workbook(path)
    sheet = book["Decisions"]
    header = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        tx = row[header.index("External Document No.")].value
        for name, value in decisions.get(str(tx), {}).items():
            row[header.index(name)].value = value
    book.save(path)


def _results(path: Path) -> dict[str, str]:
    """External Document No. -> Result, as the tool wrote them back."""
    book = openpyxl.load_workbook(path, read_only=True)
    rows = list(book["Decisions"].iter_rows(values_only=True))
    book.close()
    header = list(rows[0])
    ext, result = header.index("External Document No."), header.index("Result")
    return {str(r[ext]): str(r[result] or "") for r in rows[1:]}


def _review_states(config: Path) -> dict[str, str]:
    with sqlite3.connect(config.parent / "state" / "ledger.sqlite") as db:
        return {str(k).rsplit(":", 1)[-1]: str(s) for k, s in db.execute("SELECT key, state FROM reviews")}


def test_a_held_over_payment_stays_waiting_on_a_redrop_and_is_not_new(tmp_path: Path, sandbox: SandboxInfo) -> None:
    """RE-2026-0101 has 1,190.00 open; T2 pays it again. A renamed copy of the file, before anyone
    posted the journal, reports T2 as waiting since the first run, exits 0 and applies nothing more."""
    view = BCView(sandbox)
    config = write_config(tmp_path / "cfg", sandbox, profiles={"invoiced": PROFILE})
    rows = [("T1", "C10000", "1190.00", "RE-2026-0101"), ("T2", "C10000", "500.00", "RE-2026-0101")]
    first = run_cli(config, sandbox, "--profile", "invoiced", _statement(tmp_path / "a.csv", rows))
    assert first.summary is not None and first.exit_code == 1 and first.summary["waiting"] == 0

    again = run_cli(config, sandbox, "--profile", "invoiced", _statement(tmp_path / "copy.csv", rows))

    s = again.summary
    assert s is not None and again.exit_code == 0, again.output
    assert (s["posted"], s["already_posted"], s["needs_review"], s["waiting"]) == (0, 1, 1, 1)
    check_report(s)
    (held,) = [line for line in report_lines(s) if line["state"] == "needs_review"]
    assert held["reason_code"] == "over_payment"
    assert held["message"].startswith(f"waiting since {first.summary['started'][:10]} (run {first.summary['run_id']})")
    assert _new_lines(view) == [("C10000", Decimal("-1190.00"), "RE-2026-0101")]


def test_the_team_can_ask_for_exit_1_while_rows_wait(tmp_path: Path, sandbox: SandboxInfo) -> None:
    config = write_config(
        tmp_path / "cfg", sandbox, profiles={"invoiced": PROFILE}, defaults={"exit_one_while_waiting": True}
    )
    rows = [("W1", "C99999", "10.00", "")]
    assert run_cli(config, sandbox, "--profile", "invoiced", _statement(tmp_path / "a.csv", rows)).exit_code == 1
    again = run_cli(config, sandbox, "--profile", "invoiced", _statement(tmp_path / "a.csv", rows))
    assert again.exit_code == 1 and again.summary is not None and again.summary["waiting"] == 1


def test_decisions_round_trip_posts_each_decision_once(tmp_path: Path, sandbox: SandboxInfo) -> None:
    """Six rows for a person; the workbook decides each kind (two of them wrongly, one not at all);
    what is right is carried out once, what is wrong is refused and waits."""
    view = BCView(sandbox)
    config = write_config(tmp_path / "cfg", sandbox, profiles={"invoiced": PROFILE})
    rows = [
        ("D1", "C10000", "357.00", "RE-2026-0102"),  # C10100's invoice -> candidate 1, customer C10100
        ("D2", "C99999", "45.50", ""),  # unknown customer -> on account of C10100
        ("D3", "C10000", "100.00", "RE-9999"),  # invoice not open -> skip, handled elsewhere
        ("D4", "C99999", "12.00", ""),  # on account of an unknown customer -> refused
        ("D5", "C99999", "2000.00", ""),  # apply to RE-2026-0107 (714.00 open) -> over, refused
        ("D6", "C99999", "7.00", ""),  # left waiting
        ("D7", "C10400", "2400.00", "RE-2026-0105"),  # over -> split: both of C10400's invoices, 20.00 on account
        ("D8", "C10200", "3000.00", "RE-2026-0108"),  # over -> split that does not add up: refused
    ]
    first = run_cli(config, sandbox, "--profile", "invoiced", _statement(tmp_path / "s.csv", rows))
    assert first.summary is not None and first.summary["needs_review"] == 8, first.output
    assert _new_lines(view) == []

    listing = _review(config, sandbox, tmp_path / "decide.xlsx")
    assert sorted(r["row"] for r in listing["waiting"]) == [2, 3, 4, 5, 6, 7, 8, 9]
    _decide(
        tmp_path / "decide.xlsx",
        {
            "D1": {"Decision": "Apply to candidate", "Candidate No.": 1, "Customer No. (decision)": "C10100"},
            "D2": {"Decision": "On account", "Customer No. (decision)": "C10100"},
            "D3": {"Decision": "Not a customer payment - skip", "Note": "refund, handled elsewhere"},
            "D4": {"Decision": "On account", "Customer No. (decision)": "C77777"},
            "D5": {"Decision": "Apply to invoice", "Invoice No.": "RE-2026-0107", "Customer No. (decision)": "C10000"},
            "D7": {"Decision": "Apply to several invoices", "Invoice No.": "RE-2026-0105; RE-2026-0106; on account"},
            "D8": {"Decision": "Apply to several invoices", "Invoice No.": "RE-2026-0108 2000.00; RE-2026-0103 500"},
        },
    )

    decided = run_cli(config, sandbox, tmp_path / "decide.xlsx")

    s = decided.summary
    assert s is not None and decided.exit_code == 1, decided.output
    assert _new_lines(view) == [
        ("C10100", Decimal("-357.00"), "RE-2026-0102"),  # D1
        ("C10100", Decimal("-45.50"), ""),  # D2
        ("C10400", Decimal("-1190.00"), "RE-2026-0105"),  # D7: each invoice's open amount
        ("C10400", Decimal("-1190.00"), "RE-2026-0106"),
        ("C10400", Decimal("-20.00"), ""),  # D7's rest, on account
    ]
    results = _results(tmp_path / "decide.xlsx")
    added = f"added to journal {s['journal']['code']} by run {s['run_id']}"
    assert (results["D1"], results["D2"]) == (added, added)
    assert results["D3"] == "done: skipped: refund, handled elsewhere"
    assert "customer number is not a customer" in results["D4"]
    assert "more than the invoice's remaining amount" in results["D5"]
    assert results["D6"].startswith("waiting since")
    assert results["D7"] == added
    assert "the parts add up to 2500.00, the receipt is 3000.00" in results["D8"]
    (d7,) = [line for line in report_lines(s) if line["externalDocumentNumber"] == "D7"]
    assert (d7["state"], d7["amount"], d7["appliesToInvoiceNumber"]) == (
        "posted",
        "-2400.00",
        "RE-2026-0105 RE-2026-0106",
    )
    # the matcher's form: one payment in BC, one document number on its three lines, summing to the receipt
    d7_lines = _lines_of(view, "D7")
    assert len(d7_lines) == 3 and len({line["documentNumber"] for line in d7_lines}) == 1
    assert sum(Decimal(str(line["amount"])) for line in d7_lines) == Decimal("-2400.00")
    assert _ledger_keys(config, "D7") == ["#>RE-2026-0105", "#>RE-2026-0106", "#>rest"]
    assert _review_states(config) == {
        "D1": "done",
        "D2": "done",
        "D3": "done",
        "D4": "waiting",
        "D5": "waiting",
        "D6": "waiting",
        "D7": "done",
        "D8": "waiting",
    }

    # The same workbook again: nothing is posted twice; the rows already done are named as such.
    again = run_cli(config, sandbox, tmp_path / "decide.xlsx")
    assert again.summary is not None and again.summary["posted"] == 0, again.output
    assert len(_new_lines(view)) == 5
    results = _results(tmp_path / "decide.xlsx")
    assert results["D1"].startswith("row 2: already handled")

    # The statement itself dropped again: done rows are not reported as new, the rest still waits.
    redrop = run_cli(config, sandbox, "--profile", "invoiced", _statement(tmp_path / "s-copy.csv", rows))
    r = redrop.summary
    assert r is not None and redrop.exit_code == 0, redrop.output
    # skipped: the header line and D3, which a person skipped
    assert (r["posted"], r["already_posted"], r["skipped"], r["needs_review"], r["waiting"]) == (0, 3, 2, 4, 4)
    (d3,) = [line for line in report_lines(r) if line["externalDocumentNumber"] == "D3"]
    assert (d3["state"], d3["reason_code"]) == ("skipped", "decided")
    assert "refund, handled elsewhere" in d3["message"]
    assert len(_new_lines(view)) == 5


def test_unreadable_decisions_are_refused_row_by_row(tmp_path: Path, sandbox: SandboxInfo) -> None:
    """A candidate that does not exist, an apply without an invoice, a skip without a reason: each
    refused with a message naming its row; nothing is recorded or posted for them."""
    view = BCView(sandbox)
    config = write_config(tmp_path / "cfg", sandbox, profiles={"invoiced": PROFILE})
    rows = [("E1", "C99999", "1.00", ""), ("E2", "C99999", "2.00", ""), ("E3", "C99999", "3.00", "")]
    run_cli(config, sandbox, "--profile", "invoiced", _statement(tmp_path / "s.csv", rows))
    _review(config, sandbox, tmp_path / "d.xlsx")
    _decide(
        tmp_path / "d.xlsx",
        {
            "E1": {"Decision": "Apply to candidate", "Candidate No.": 3},
            "E2": {"Decision": "Apply to invoice"},
            "E3": {"Decision": "Not a customer payment - skip"},
        },
    )
    run_cli(config, sandbox, tmp_path / "d.xlsx")
    results = _results(tmp_path / "d.xlsx")
    assert results["E1"].startswith("row 2: write the number of a candidate")
    assert results["E2"] == "row 3: Apply to invoice needs the invoice number in Invoice No."
    assert results["E3"].startswith("row 4: say in Note why")
    assert set(_review_states(config).values()) == {"waiting"}
    assert _new_lines(view) == []


def test_a_split_whose_run_stopped_before_recording_it_done_is_not_posted_again(
    tmp_path: Path, sandbox: SandboxInfo
) -> None:
    """The parts of a split are in BC but the ledger still says "decided" (the process was killed
    between the journal and the ledger's last write): the next run finds the parts by their keys,
    sends nothing and closes the decision."""
    view = BCView(sandbox)
    config = write_config(tmp_path / "cfg", sandbox, profiles={"invoiced": PROFILE})
    run_cli(
        config,
        sandbox,
        "--profile",
        "invoiced",
        _statement(tmp_path / "s.csv", [("S1", "C10400", "2380.00", "RE-2026-0105")]),
    )
    _review(config, sandbox, tmp_path / "d.xlsx")
    _decide(
        tmp_path / "d.xlsx",
        {"S1": {"Decision": "Apply to several invoices", "Invoice No.": "RE-2026-0105; RE-2026-0106"}},
    )
    first = run_cli(config, sandbox, tmp_path / "d.xlsx")
    assert first.exit_code == 0, first.output
    lines = _new_lines(view)
    assert lines == [("C10400", Decimal("-1190.00"), "RE-2026-0105"), ("C10400", Decimal("-1190.00"), "RE-2026-0106")]
    with sqlite3.connect(config.parent / "state" / "ledger.sqlite") as db:
        db.execute("UPDATE reviews SET state = 'decided', outcome = NULL")

    again = run_cli(
        config,
        sandbox,
        "--profile",
        "invoiced",
        _statement(tmp_path / "s.csv", [("S1", "C10400", "2380.00", "RE-2026-0105")]),
    )

    s = again.summary
    assert s is not None and again.exit_code == 0, again.output
    assert (s["posted"], s["already_posted"], s["needs_review"]) == (0, 1, 0)
    assert _new_lines(view) == lines
    assert _review_states(config) == {"S1": "done"}


def _split_by_a_person(
    tmp_path: Path, sandbox: SandboxInfo
) -> tuple[BCView, Path, Path, list[tuple[str, Decimal, str]]]:
    """S1 (2,380.00 naming RE-2026-0105) waits, a person splits it over C10400's two invoices and
    the workbook is run: (view, config, statement, the journal lines then)."""
    view = BCView(sandbox)
    config = write_config(tmp_path / "cfg", sandbox, profiles={"invoiced": PROFILE})
    statement = _statement(tmp_path / "s.csv", [("S1", "C10400", "2380.00", "RE-2026-0105")])
    run_cli(config, sandbox, "--profile", "invoiced", statement)
    _review(config, sandbox, tmp_path / "d.xlsx")
    _decide(
        tmp_path / "d.xlsx",
        {"S1": {"Decision": "Apply to several invoices", "Invoice No.": "RE-2026-0105; RE-2026-0106"}},
    )
    assert run_cli(config, sandbox, tmp_path / "d.xlsx").exit_code == 0
    return view, config, statement, _new_lines(view)


def _as_earlier_versions_kept_it(config: Path, keep: int) -> None:
    """Rewrite the ledger as versions before the one split form kept a person's split: its lines
    keyed ``<key>#part<n>``; ``keep`` of them recorded (a ledger that lost the others' rows)."""
    with sqlite3.connect(config.parent / "state" / "ledger.sqlite") as db:
        keys = sorted(str(k) for (k,) in db.execute("SELECT key FROM rows WHERE key LIKE '%#>%'"))
        for n, key in enumerate(keys, start=1):
            if n > keep:
                db.execute("DELETE FROM rows WHERE key = ?", (key,))
            else:
                db.execute("UPDATE rows SET key = ? WHERE key = ?", (f"{key.split('#>')[0]}#part{n}", key))
        db.execute("UPDATE reviews SET state = 'decided', outcome = NULL")


def test_a_split_in_bc_under_the_old_part_keys_is_recognised_and_not_sent_again(
    tmp_path: Path, sandbox: SandboxInfo
) -> None:
    """A ledger written by an earlier version holds a person's split as ``#part1``, ``#part2``, still
    "decided": the next run finds both parts, sends nothing, reports the receipt once and closes it."""
    view, config, statement, lines = _split_by_a_person(tmp_path, sandbox)
    _as_earlier_versions_kept_it(config, keep=2)

    again = run_cli(config, sandbox, "--profile", "invoiced", statement)

    s = again.summary
    assert s is not None and again.exit_code == 0, again.output
    assert (s["posted"], s["already_posted"], s["needs_review"]) == (0, 1, 0)
    (s1,) = [line for line in report_lines(s) if line["externalDocumentNumber"] == "S1"]
    assert (s1["amount"], s1["appliesToInvoiceNumber"]) == ("-2380.00", "RE-2026-0105 RE-2026-0106")
    assert _new_lines(view) == lines
    assert _review_states(config) == {"S1": "done"}


def test_a_split_only_partly_recorded_under_the_old_keys_goes_to_a_person(tmp_path: Path, sandbox: SandboxInfo) -> None:
    """One of the two old parts recorded: sending the split again could pay RE-2026-0105 twice, so
    nothing is sent and the row waits with the count for a person to check the journal."""
    view, config, statement, lines = _split_by_a_person(tmp_path, sandbox)
    _as_earlier_versions_kept_it(config, keep=1)

    again = run_cli(config, sandbox, "--profile", "invoiced", statement)

    s = again.summary
    assert s is not None and s["posted"] == 0, again.output
    (s1,) = [line for line in report_lines(s) if line["externalDocumentNumber"] == "S1"]
    assert s1["state"] == "needs_review"
    assert "1 of 2 parts are in BC already; check the journal" in s1["message"]
    assert _new_lines(view) == lines
    assert _review_states(config) == {"S1": "waiting"}


def test_on_account_stays_on_account_although_an_open_invoice_has_its_amount(
    tmp_path: Path, sandbox: SandboxInfo
) -> None:
    """A person's "on account" is what they meant: cash application must not apply the payment to
    the customer's open invoice of the same amount (C10000's RE-2026-0094, 84.99 open in the seed)."""
    view = BCView(sandbox)
    config = write_config(tmp_path / "cfg", sandbox, profiles={"invoiced": PROFILE})
    first = run_cli(
        config, sandbox, "--profile", "invoiced", _statement(tmp_path / "s.csv", [("A1", "C99999", "84.99", "")])
    )
    assert first.summary is not None and first.summary["needs_review"] == 1, first.output
    _review(config, sandbox, tmp_path / "decide.xlsx")
    _decide(tmp_path / "decide.xlsx", {"A1": {"Decision": "On account", "Customer No. (decision)": "C10000"}})

    decided = run_cli(config, sandbox, tmp_path / "decide.xlsx")

    assert decided.summary is not None and decided.summary["posted"] == 1, decided.output
    assert _new_lines(view) == [("C10000", Decimal("-84.99"), "")]
