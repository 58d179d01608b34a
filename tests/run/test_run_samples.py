"""``payimport run`` on the shipped samples, with the shipped profiles, against a demo-seeded sandbox.

Expected figures come from ``sample_data/README.md`` (rows read, valid, rejected, skipped) and the
demo seed (``pipeline/sandbox/seed.py``: which invoices are open, for how much, billed to whom):

* ``bank_statement.csv``: 7 valid credits. Lines 6, 8, 9, 11 and 14 name one open invoice each and
  pay it exactly (1190.00 RE-2026-0101 C10000; 357.00 RE-2026-0102 C10100; 12495.00 RE-2026-0103
  C10200; 500.00 RE-2026-0104 C10300; 714.00 RE-2026-0107 C10000): posted. Line 13 names two open
  invoices (RE-2026-0105 and 0106, 1190.00 each, together the 2380.00 paid): a person must split
  it (several_invoices). Line 16 names neither a customer nor an invoice (customer_missing).
* ``remittance.xlsx``: one advice paying four of C10000's open invoices exactly (RE-2026-0091
  1250.00, 0094 84.99, 0097 2045.50, 0099 19.01): four lines sharing the advice's document number.
* ``payments_with_errors.csv``: rows 2 (INV-5001 C20000 1500.00), 11 (INV-5010 C10000 12.00)
  and 13 (INV-5011 C30000 820.40) are exact payments; rows 3-10 are rejected as the README says.

Document numbers follow the profiles' templates with ``{seq}``, the receipt's number in the file
(the credits that passed the statement checks, in file order). In payments_with_errors.csv those
are rows 2, 9, 11, 13: row 9's transaction id is too long only as the externalDocumentNumber made
from it, a check on the payment row, so it keeps its number; row 10's customer number is refused
by the statement checks.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.sandbox.server import SandboxInfo

from .conftest import (
    SAMPLES,
    BCHttp,
    BCView,
    Line,
    assert_exactly,
    check_report,
    ledger_states,
    only_new_journal,
    plan_new_journal,
    report_lines,
    run_cli,
    write_config,
)


def d(text: str) -> Decimal:
    return Decimal(text)


BANK_LINES: list[Line] = [
    ("C10000", d("-1190.00"), "BANK260302-001", "RE-2026-0101"),
    ("C10100", d("-357.00"), "BANK260303-002", "RE-2026-0102"),
    ("C10200", d("-12495.00"), "BANK260305-003", "RE-2026-0103"),
    ("C10300", d("-500.00"), "BANK260309-004", "RE-2026-0104"),
    # line 13: 2380.00 names RE-2026-0105 and RE-2026-0106 (C10400, 1190.00 open each): one line per invoice,
    # one document number, 1190.00 + 1190.00 = 2380.00
    ("C10400", d("-1190.00"), "BANK260312-005", "RE-2026-0105"),
    ("C10400", d("-1190.00"), "BANK260312-005", "RE-2026-0106"),
    ("C10000", d("-714.00"), "BANK260316-006", "RE-2026-0107"),
    # line 16: 45.50 from "Bäckerei Schäfer KG", the name of C10100 alone; its one open invoice RE-2026-0102
    # (357.00) is paid by line 8 of the same file, so nothing fits: a payment on account
    ("C10100", d("-45.50"), "BANK260323-007", ""),
]
REMITTANCE_LINES: list[Line] = [  # one advice (Payment Reference CRL-PAY-88123): one payment, one number
    ("C10000", d("-1250.00"), "REM260318-001", "RE-2026-0091"),
    ("C10000", d("-84.99"), "REM260318-001", "RE-2026-0094"),
    ("C10000", d("-2045.50"), "REM260318-001", "RE-2026-0097"),
    ("C10000", d("-19.01"), "REM260318-001", "RE-2026-0099"),
]
ERROR_FILE_LINES: list[Line] = [
    ("C20000", d("-1500.00"), "PSP260302-001", "INV-5001"),
    ("C10000", d("-12.00"), "PSP260309-003", "INV-5010"),
    ("C30000", d("-820.40"), "PSP260310-004", "INV-5011"),
]


@dataclass(frozen=True)
class Sample:
    rows_read: int
    skipped: int
    rejected: int
    needs_review: int
    exit_code: int
    lines: list[Line]  # the new journal's lines, in file order
    posted_rows: list[int]  # source row of each of those lines (a receipt split over two invoices: twice)
    not_posted: dict[int, str]  # source row -> reason code


SAMPLE_CASES = {
    "bank_statement.csv": Sample(19, 12, 0, 0, 0, BANK_LINES, [6, 8, 9, 11, 13, 13, 14, 16], {}),
    "remittance.xlsx": Sample(10, 6, 0, 0, 0, REMITTANCE_LINES, [6, 7, 8, 9], {}),
    "payments_with_errors.csv": Sample(
        15,
        4,
        8,
        0,
        1,
        ERROR_FILE_LINES,
        [2, 11, 13],
        {
            3: "amount_format",
            4: "date_invalid",
            5: "date_format",
            6: "amount_missing",
            7: "currency_mismatch",
            8: "amount_decimals",
            9: "too_long",
            10: "too_long",
        },
    ),
}


def copy_sample(tmp_path: Path, name: str) -> Path:
    (tmp_path / "in").mkdir(exist_ok=True)
    return Path(shutil.copy(SAMPLES / name, tmp_path / "in" / name))


@pytest.mark.parametrize("name", list(SAMPLE_CASES))
def test_sample_is_imported_exactly_as_planned(
    name: str, tmp_path: Path, sandbox: SandboxInfo, bc_http: BCHttp
) -> None:
    case = SAMPLE_CASES[name]
    lines = case.lines
    config = write_config(tmp_path / "cfg", sandbox)
    before = bc_http.journals()

    out = run_cli(config, sandbox, copy_sample(tmp_path, name))

    assert out.exit_code == case.exit_code, out.output
    s = out.summary
    assert s is not None
    assert (s["rows_read"], s["posted"], s["already_posted"], s["skipped"], s["rejected"], s["needs_review"]) == (
        case.rows_read,
        len(set(case.posted_rows)),
        0,
        case.skipped,
        case.rejected,
        case.needs_review,
    )
    assert s["dry_run"] is False and s["discrepancies"] == 0 and s["error"] is None
    assert Decimal(s["amount_posted"]) == -sum(line[1] for line in lines)

    # BC: one new journal, holding exactly the planned lines (read through the HTTP API)
    journal = only_new_journal(bc_http)
    assert set(bc_http.journals()) - set(before) == {journal["code"]}
    assert s["journal"] == {"code": journal["code"], "id": journal["id"], "posted": False}
    bc_lines = bc_http.lines(journal["id"])
    assert_exactly(bc_lines, plan_new_journal(lines))
    assert all(line["journalDisplayName"] == journal["code"] for line in bc_lines)

    # the report: every line of the input once, posted lines pointing at BC's lines
    check_report(s)
    by_row = {line["source_row"]: line for line in report_lines(s)}
    bc_by_number = {int(line["lineNumber"]): line for line in bc_lines}
    for row in dict.fromkeys(case.posted_rows):
        entry = by_row[row]
        numbers = [10_000 * (k + 1) for k, r in enumerate(case.posted_rows) if r == row]
        assert entry["state"] == "posted"
        assert entry["lineNumber"] == numbers[0]
        assert entry["bc_id"] == " ".join(str(bc_by_number[n]["id"]) for n in numbers)
        assert entry["journal_code"] == journal["code"]
    for row, reason in case.not_posted.items():
        assert by_row[row]["reason_code"] == reason
        assert by_row[row]["state"] in ("rejected", "needs_review")
        assert by_row[row]["lineNumber"] is None  # not in BC: no journal line to point at
    assert ledger_states(config) == {"created": len(lines)}


@pytest.mark.parametrize("name", ["bank_statement.csv", "remittance.xlsx"])
def test_post_journal_posts_and_closes_the_paid_invoices(
    name: str, tmp_path: Path, sandbox: SandboxInfo, bc_http: BCHttp
) -> None:
    exit_code, lines, rows = SAMPLE_CASES[name].exit_code, SAMPLE_CASES[name].lines, SAMPLE_CASES[name].posted_rows
    config = write_config(tmp_path / "cfg", sandbox)
    invoices_before = bc_http.invoices()
    paid = {line[3]: -line[1] for line in lines if line[3]}  # the unapplied 45.50 closes no invoice
    for number, amount in paid.items():  # the seed has each open for exactly the amount paid
        assert (invoices_before[number]["status"], invoices_before[number]["remainingAmount"]) == ("Open", amount)

    out = run_cli(config, sandbox, "--post-journal", copy_sample(tmp_path, name))

    assert out.exit_code == exit_code, out.output
    assert out.summary is not None and out.summary["journal"]["posted"] is True
    assert out.summary["posted"] == len(set(rows))  # receipts; a split one is two journal lines
    journal = only_new_journal(bc_http)
    assert bc_http.lines(journal["id"]) == []  # posting empties the journal
    invoices = bc_http.invoices()
    for number, before in invoices_before.items():
        if number in paid:
            assert invoices[number]["remainingAmount"] == before["remainingAmount"] - paid[number] == 0
            assert invoices[number]["status"] == "Paid"
        else:  # invoices no line of the file pays
            assert (invoices[number]["remainingAmount"], invoices[number]["status"]) == (
                before["remainingAmount"],
                before["status"],
            )


def test_dry_run_creates_nothing_in_bc(tmp_path: Path, sandbox: SandboxInfo) -> None:
    view = BCView(sandbox)
    config = write_config(tmp_path / "cfg", sandbox)
    file = copy_sample(tmp_path, "bank_statement.csv")
    journals_before = view.journals()

    out = run_cli(config, sandbox, "--dry-run", file)

    assert out.exit_code == 0, out.output  # as in a real run: every receipt is decided
    s = out.summary
    assert s is not None and s["dry_run"] is True
    assert (s["rows_read"], s["posted"], s["already_posted"], s["skipped"], s["needs_review"]) == (19, 7, 0, 12, 0)
    assert s["journal"]["code"] is None and s["journal"]["posted"] is False
    check_report(s)
    assert view.journals() == journals_before  # no journal made, none touched
    assert all(view.lines(str(j["id"])) == [] for j in journals_before.values())
    assert ledger_states(config) == {}  # nothing remembered as sent

    # the real run afterwards posts everything: the dry run recorded nothing as imported
    real = run_cli(config, sandbox, file)
    assert real.exit_code == 0, real.output
    assert real.summary is not None and (real.summary["posted"], real.summary["already_posted"]) == (7, 0)
    assert_exactly(view.lines(str(only_new_journal(view)["id"])), plan_new_journal(BANK_LINES))


def test_several_sample_files_share_one_journal_in_order(tmp_path: Path, sandbox: SandboxInfo) -> None:
    """Two files in one run: one journal, lines 10000 apart in the order the files were given."""
    view = BCView(sandbox)
    config = write_config(tmp_path / "cfg", sandbox)
    files = [copy_sample(tmp_path, "payments_with_errors.csv"), copy_sample(tmp_path, "remittance.xlsx")]

    out = run_cli(config, sandbox, *files)

    assert out.exit_code == 1, out.output  # rows of the first file were rejected
    s = out.summary
    assert s is not None
    assert (s["rows_read"], s["posted"], s["skipped"], s["rejected"], s["needs_review"]) == (25, 7, 10, 8, 0)
    check_report(s)
    assert_exactly(view.lines(str(only_new_journal(view)["id"])), plan_new_journal(ERROR_FILE_LINES + REMITTANCE_LINES))


def test_missing_file_is_unusable_input_and_sends_nothing(tmp_path: Path, sandbox: SandboxInfo) -> None:
    view = BCView(sandbox)
    config = write_config(tmp_path / "cfg", sandbox)
    out = run_cli(config, sandbox, copy_sample(tmp_path, "remittance.xlsx"), tmp_path / "in" / "no-such-file.csv")
    assert out.exit_code == 2, out.output
    assert view.new_journals() == {}
    assert ledger_states(config) == {}
