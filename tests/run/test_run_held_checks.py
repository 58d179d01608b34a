"""A check held for a person, decided through the decisions workbook, against the sandbox with the
real command: the check's lines are decided together, posted together under the check's one
document number, exactly once, or not at all.

Expected lines are worked out from the file and the demo seed (``test_run_remittance``): C10000 has
open RE-2026-0091 (1250.00) and RE-2026-0094 (84.99); RE-2026-9999 is no invoice of the seed. The
lockbox profile numbers a payment ``LBX<yymmdd>-<row in file>``: the check's first line (file row 2)
on 18.03.2026 gives ``LBX260318-001`` for every line of the check.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.sandbox import rules
from pipeline.sandbox.runtime import start_sandbox
from pipeline.sandbox.seed import add_customer
from pipeline.sandbox.server import SandboxInfo
from pipeline.sandbox.settings import Latency, SandboxSettings

from .conftest import BCView, check_report, report_lines, run_cli, secrets_env, when
from .test_run_remittance import _file, write_config

CHECK = [  # 1250.00 + 84.99 = 1334.99; the second line names no open invoice
    "30001,1334.99,C10000,RE-2026-0091,1250.00,,2026-03-18",
    "30001,1334.99,C10000,RE-2026-9999,84.99,,2026-03-18",
]


def _workbook(config: Path, info: SandboxInfo, out: Path) -> dict[str, Any]:
    result = CliRunner().invoke(
        main, ["review", "--json", "--config", str(config), "--out", str(out)], env=secrets_env(info)
    )
    assert result.exit_code == 0, result.output
    value: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return value


def _sheet(path: Path) -> list[dict[str, Any]]:
    book = openpyxl.load_workbook(path, read_only=True)
    rows = list(book["Decisions"].iter_rows(values_only=True))
    book.close()
    header = [str(h) for h in rows[0]]
    return [dict(zip(header, r, strict=True)) for r in rows[1:]]


def _decide(path: Path, by_row: dict[int, dict[str, Any]]) -> None:
    """Fill the person's columns of the workbook rows whose file Row is a key of ``by_row``."""
    book = openpyxl.load_workbook(path)
    sheet = book["Decisions"]
    header = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        for name, value in by_row.get(int(row[header.index("Row")].value), {}).items():
            row[header.index(name)].value = value
    book.save(path)


def _lines(view: BCView) -> list[tuple[str, Decimal, str, str]]:
    """(customer, amount, documentNumber, invoice) of every line of the runs' journals, sorted."""
    out = []
    for journal in view.new_journals().values():
        for line in view.lines(str(journal["id"])):
            out.append(
                (
                    str(line["customerNumber"]),
                    Decimal(str(line["amount"])),
                    str(line["documentNumber"]),
                    str(line.get("appliesToInvoiceNumber") or ""),
                )
            )
    return sorted(out)


def _held_check(tmp_path: Path, sandbox: SandboxInfo) -> tuple[Path, Path]:
    config = write_config(tmp_path / "cfg", sandbox)
    file = _file(tmp_path / "in" / "lockbox.csv", *CHECK)
    first = run_cli(config, sandbox, "--profile", "lockbox", file)
    assert first.summary is not None and (first.summary["posted"], first.summary["needs_review"]) == (0, 2)
    return config, file


def test_a_held_check_is_posted_only_once_every_line_is_decided_under_its_one_number(
    tmp_path: Path, sandbox: SandboxInfo
) -> None:
    view = BCView(sandbox)
    config, file = _held_check(tmp_path, sandbox)
    book = tmp_path / "decide.xlsx"
    listing = _workbook(config, sandbox, book)
    assert sorted(r["row"] for r in listing["waiting"]) == [2, 3]
    shown = _sheet(book)
    assert [(r["Row"], r["Check"], r["Check total"]) for r in shown] == [
        (2, "Check No 30001", 1334.99),
        (3, "Check No 30001", 1334.99),
    ]

    # one line decided: nothing posted, the decided line waits naming the undecided one
    _decide(book, {3: {"Decision": "Apply to invoice", "Invoice No.": "RE-2026-0094"}})
    part = run_cli(config, sandbox, book)
    assert part.summary is not None and part.summary["posted"] == 0, part.output
    assert _lines(view) == []
    (row3,) = [x for x in report_lines(part.summary) if x["source_row"] == 3]
    assert row3["state"] == "needs_review" and row3["reason_code"] == "payment_held"
    assert "still undecided: lockbox.csv row 2 (RE-2026-0091)" in row3["message"], row3["message"]
    results = {r["Row"]: str(r["Result"]) for r in _sheet(book)}
    assert "still undecided: lockbox.csv row 2" in results[3]
    assert results[2].startswith("waiting since")

    # the last line decided (a later workbook, which shows the first decision kept): the whole check
    book2 = tmp_path / "decide2.xlsx"
    _workbook(config, sandbox, book2)
    assert {r["Row"]: r["Invoice No."] for r in _sheet(book2)}[3] == "RE-2026-0094"
    _decide(book2, {2: {"Decision": "Apply to invoice", "Invoice No.": "RE-2026-0091"}})
    whole = run_cli(config, sandbox, book2)
    s = whole.summary
    assert s is not None and whole.exit_code == 0 and s["posted"] == 2, whole.output
    check_report(s)
    expected = [
        ("C10000", Decimal("-1250.00"), "LBX260318-001", "RE-2026-0091"),
        ("C10000", Decimal("-84.99"), "LBX260318-001", "RE-2026-0094"),
    ]
    assert _lines(view) == expected  # one document number, no /2

    # exactly once: the workbook dropped again, the file run again
    again = run_cli(config, sandbox, book2)
    assert again.summary is not None and again.summary["posted"] == 0, again.output
    rerun = run_cli(config, sandbox, "--profile", "lockbox", file)
    assert rerun.summary is not None and (rerun.summary["posted"], rerun.summary["already_posted"]) == (0, 2)
    assert _lines(view) == expected


def test_a_refused_decision_holds_the_other_lines_of_its_check(tmp_path: Path, sandbox: SandboxInfo) -> None:
    """Row 3 is put on account of C77777, no customer of the seed: refused. Row 2's decision is
    sound, but the check is posted whole or not at all: nothing goes to BC; deciding row 3 again
    posts both."""
    view = BCView(sandbox)
    config, _ = _held_check(tmp_path, sandbox)
    book = tmp_path / "decide.xlsx"
    _workbook(config, sandbox, book)
    _decide(
        book,
        {
            2: {"Decision": "Apply to invoice", "Invoice No.": "RE-2026-0091"},
            3: {"Decision": "On account", "Customer No. (decision)": "C77777"},
        },
    )
    refused = run_cli(config, sandbox, book)
    assert refused.summary is not None and refused.summary["posted"] == 0, refused.output
    assert _lines(view) == []
    by_row = {x["source_row"]: x for x in report_lines(refused.summary)}
    assert by_row[2]["state"] == "needs_review" and by_row[2]["reason_code"] == "payment_held"
    assert "the decision for lockbox.csv row 3 of Check No 30001 was refused" in by_row[2]["message"]
    assert "customer number is not a customer" in str(by_row[3]["message"])

    book2 = tmp_path / "decide2.xlsx"
    _workbook(config, sandbox, book2)
    _decide(book2, {3: {"Decision": "Apply to invoice", "Invoice No.": "RE-2026-0094"}})
    whole = run_cli(config, sandbox, book2)
    assert whole.summary is not None and whole.summary["posted"] == 2, whole.output
    assert _lines(view) == [
        ("C10000", Decimal("-1250.00"), "LBX260318-001", "RE-2026-0091"),
        ("C10000", Decimal("-84.99"), "LBX260318-001", "RE-2026-0094"),
    ]


SPLIT_CHECK = [  # 1250.00 + 84.99 + 357.00 = 1691.99
    "60001,1691.99,C10000,RE-2026-0091,1250.00,,2026-03-18",
    "60001,1691.99,C10000,RE-2026-0094,84.99,,2026-03-18",
    "60001,1691.99,C10100,RE-2026-0102,357.00,,2026-03-18",
]
IN_JOURNAL = [
    ("C10000", Decimal("-1250.00"), "LBX260318-001", "RE-2026-0091"),
    ("C10000", Decimal("-84.99"), "LBX260318-001", "RE-2026-0094"),
]


def _slow_sandbox(tmp_path: Path) -> SandboxSettings:
    """A sandbox slow enough (50 ms a request) for a watcher to block a customer between two lines."""
    return SandboxSettings(tls=True, state_dir=tmp_path / "sandbox", seed="demo", latency=Latency(per_request_s=0.05))


def _refused_third_line(tmp_path: Path, info: SandboxInfo, view: BCView) -> tuple[Path, Path, dict[str, Any]]:
    """Check 60001 pays C10000's RE-2026-0091 (1250.00) and RE-2026-0094 (84.99) and, for a sister
    company, C10100's RE-2026-0102 (357.00). C10100 is blocked (All) in BC once the first line is in
    the journal, so BC refuses the third line (400) when it is sent, one line a request."""
    config = write_config(tmp_path / "cfg", info, posting={"batch_size": 1, "max_in_flight": 1})
    file = _file(tmp_path / "in" / "lockbox.csv", *SPLIT_CHECK)
    when(
        lambda: view.line_count() >= 1,
        lambda: add_customer(view.store, view.cid, "C10100", "Bäckerei Schäfer KG", blocked="All"),
    )
    out = run_cli(config, info, "--profile", "lockbox", "--post-journal", file)
    assert out.summary is not None and out.exit_code == 1, out.output
    return config, file, out.summary


def test_a_line_of_a_check_refused_by_bc_holds_the_check_and_the_journal_is_not_posted(tmp_path: Path) -> None:
    """The two lines in the journal are not posted by ``--post-journal``: a person sees them as a
    conflict naming the refused row; a later run never sends the refused row alone."""
    with start_sandbox(_slow_sandbox(tmp_path)) as info:
        view = BCView(info)
        config, file, s = _refused_third_line(tmp_path, info, view)

        assert (s["posted"], s["rejected"], s["needs_review"]) == (0, 1, 2)
        assert s["journal"]["posted"] is False
        by_row = {x["source_row"]: x for x in report_lines(s)}
        assert by_row[4]["state"] == "rejected"
        for row in (2, 3):
            assert by_row[row]["state"] == "needs_review" and by_row[row]["reason_code"] == "bc_conflict"
            assert "refused another line of the same payment" in by_row[row]["message"]
            assert "row 4" in by_row[row]["message"]
        assert _lines(view) == IN_JOURNAL  # in the journal, not posted: the invoices stay open
        assert view.invoices()["RE-2026-0091"]["status"] == "Open"

        # the next run does not send the refused line alone (even once C10100 is unblocked): the
        # check is in BC in part, a person checks the journal
        add_customer(view.store, view.cid, "C10100", "Bäckerei Schäfer KG")
        again = run_cli(config, info, "--profile", "lockbox", "--post-journal", file)
        s2 = again.summary
        assert s2 is not None and again.exit_code == 1, again.output
        assert (s2["posted"], s2["already_posted"], s2["needs_review"]) == (0, 2, 1)
        (row4,) = [x for x in report_lines(s2) if x["source_row"] == 4]
        assert row4["reason_code"] == "bc_conflict" and "2 other line(s) of this payment" in row4["message"]
        assert _lines(view) == IN_JOURNAL
        assert view.invoices()["RE-2026-0102"]["status"] == "Open"


def test_a_rebuilt_ledger_counts_only_the_lines_of_a_posted_check_its_entries_show(tmp_path: Path) -> None:
    """A person posts the journal holding two of the check's three lines by hand; the ledger is lost.
    The check's document is in BC's posted entries, but only two receivables credits (1250.00 and
    84.99) are under it: the rebuild records those two lines, not the refused 357.00, and the next
    run holds row 4 for a person instead of sending it alone."""
    with start_sandbox(_slow_sandbox(tmp_path)) as info:
        view = BCView(info)
        config, file, _ = _refused_third_line(tmp_path, info, view)
        (journal,) = view.new_journals().values()
        rules.post_journal(view.store, view.cid, str(journal["id"]))  # a person posts it
        assert view.invoices()["RE-2026-0091"]["status"] == "Paid"
        for leftover in (config.parent / "state").glob("ledger.sqlite*"):
            leftover.unlink()

        rebuilt = CliRunner().invoke(
            main,
            ["ledger", "rebuild", "--json", "--config", str(config), "--profile", "lockbox", str(file)],
            env=secrets_env(info),
            catch_exceptions=False,
        )
        found = json.loads(rebuilt.stdout.strip().splitlines()[-1])
        assert (found["found_posted"], found["not_in_bc"], found["unexplained_journal_lines"]) == (2, 1, 0), found

        add_customer(view.store, view.cid, "C10100", "Bäckerei Schäfer KG")
        again = run_cli(config, info, "--profile", "lockbox", file)
        s = again.summary
        assert s is not None and again.exit_code == 1, again.output
        assert (s["posted"], s["already_posted"], s["needs_review"]) == (0, 2, 1)
        (row4,) = [x for x in report_lines(s) if x["source_row"] == 4]
        assert row4["reason_code"] == "bc_conflict"
        assert view.line_count() == 0 and view.invoices()["RE-2026-0102"]["status"] == "Open"  # nothing sent
