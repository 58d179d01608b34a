"""Lockbox and remittance files through the real command against the sandbox: the lines of one check
are one payment (one shared documentNumber, each line sent exactly once), posted whole or not at all.

Expected BC lines are worked out from the file and the demo seed: Müller Maschinenbau GmbH (C10000)
has open RE-2026-0091 (1250.00), RE-2026-0094 (84.99), RE-2026-0097 (2045.50), RE-2026-0101
(1190.00) and RE-2026-0107 (714.00). The profile numbers payments ``LBX<yymmdd>-<row in file>``, so
the first line of a check dated 18.03.2026 gives ``LBX260318-001``.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.sandbox.runtime import start_sandbox
from pipeline.sandbox.server import SandboxInfo
from pipeline.sandbox.settings import Fault, Latency, SandboxSettings

from .conftest import (
    BCView,
    assert_exactly,
    check_report,
    ledger_states,
    only_new_journal,
    report_lines,
    run_cli,
    secrets_env,
    when,
)
from .conftest import write_config as _write_config

HEADER = "Check No,Check Amount,Customer No,Invoice No,Amount Paid,Discount,Paid On"
LOCKBOX = {
    "title": "Lockbox remittance (CSV)",
    "delimiter": ",",
    "header": {"signature": ["Check No", "Check Amount", "Invoice No", "Amount Paid"]},
    "columns": {
        "date": "Paid On",
        "amount": "Amount Paid",
        "customer_number": "Customer No",
        "invoice_number": "Invoice No",
        "reference": "Check No",
        "payment_group": "Check No",
        "payment_total": "Check Amount",
        "discount": "Discount",
    },
    "amount": {"layout": "signed", "decimal_mark": "."},
    "date_formats": ["%Y-%m-%d"],
    "currency": {"expected": "EUR"},
    "document_number": {"template": "LBX{date:%y%m%d}-{seq:03d}"},
    "external_document_number": "{reference}",
    "description": "Check {reference} {invoice_number}",
}
LATENCY = Latency(per_request_s=0.01, per_operation_s=0.0005)
CHECK = [  # 1250.00 + 84.99 + 2045.50 = 3380.49
    "10442,3380.49,C10000,RE-2026-0091,1250.00,,2026-03-18",
    "10442,3380.49,C10000,RE-2026-0094,84.99,,2026-03-18",
    "10442,3380.49,C10000,RE-2026-0097,2045.50,,2026-03-18",
]


def write_config(folder: Path, sandbox: SandboxInfo, **sections: Any) -> Path:
    return _write_config(folder, sandbox, profiles={"lockbox": LOCKBOX}, **sections)


def _file(path: Path, *rows: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def _new_lines(view: BCView) -> int:
    return sum(len(view.lines(str(j["id"]))) for j in view.new_journals().values())


def test_a_three_line_check_posts_three_lines_sharing_one_document_number_once(
    tmp_path: Path, sandbox: SandboxInfo
) -> None:
    view = BCView(sandbox)
    config = write_config(tmp_path / "cfg", sandbox)
    file = _file(tmp_path / "in" / "lockbox.csv", *CHECK)

    first = run_cli(config, sandbox, "--profile", "lockbox", file)
    assert first.exit_code == 0, first.output
    journal = only_new_journal(view)
    expected = {
        10_000: ("C10000", Decimal("-1250.00"), "LBX260318-001", "RE-2026-0091"),
        20_000: ("C10000", Decimal("-84.99"), "LBX260318-001", "RE-2026-0094"),
        30_000: ("C10000", Decimal("-2045.50"), "LBX260318-001", "RE-2026-0097"),
    }
    assert_exactly(view.lines(str(journal["id"])), expected)
    s = first.summary
    assert s is not None and (s["rows_read"], s["posted"]) == (4, 3)  # the header, three lines of one check
    check_report(s)
    assert all("payment_group" in x["flags"] for x in report_lines(s) if x["state"] == "posted")
    assert ledger_states(config) == {"created": 3}  # one exactly-once key per line of the file

    second = run_cli(config, sandbox, "--profile", "lockbox", file)
    assert second.exit_code == 0, second.output
    assert second.summary is not None and (second.summary["posted"], second.summary["already_posted"]) == (0, 3)
    assert only_new_journal(view) == journal
    assert_exactly(view.lines(str(journal["id"])), expected)  # nothing sent twice
    assert ledger_states(config) == {"created": 3}


def test_a_check_whose_lines_do_not_add_up_goes_to_review_whole(tmp_path: Path, sandbox: SandboxInfo) -> None:
    view = BCView(sandbox)
    config = write_config(tmp_path / "cfg", sandbox)
    rows = [r.replace("3380.49", "3400.00") for r in CHECK]  # 3400.00 - 3380.49 = 19.51
    out = run_cli(config, sandbox, "--profile", "lockbox", _file(tmp_path / "in" / "lockbox.csv", *rows))

    assert out.exit_code == 1, out.output
    assert out.summary is not None and (out.summary["posted"], out.summary["needs_review"]) == (0, 3)
    check_report(out.summary)
    review = [x for x in report_lines(out.summary) if x["state"] == "needs_review"]
    assert {x["reason_code"] for x in review} == {"payment_total_mismatch"}
    for line in review:
        assert all(figure in line["message"] for figure in ("3380.49", "3400.00", "19.51")), line["message"]
    assert _new_lines(view) == 0  # never half a check


def test_a_check_netting_a_credit_note_goes_to_review_naming_it(tmp_path: Path, sandbox: SandboxInfo) -> None:
    view = BCView(sandbox)
    config = write_config(tmp_path / "cfg", sandbox)
    rows = [  # 1250.00 + 84.99 - 100.00 = 1234.99
        "20017,1234.99,C10000,RE-2026-0091,1250.00,,2026-03-18",
        "20017,1234.99,C10000,RE-2026-0094,84.99,,2026-03-18",
        "20017,1234.99,C10000,CN-2026-0007,-100.00,,2026-03-18",
    ]
    out = run_cli(config, sandbox, "--profile", "lockbox", _file(tmp_path / "in" / "lockbox.csv", *rows))

    assert out.exit_code == 1, out.output
    s = out.summary
    assert s is not None and (s["posted"], s["needs_review"], s["skipped"]) == (0, 2, 2)  # header + credit note
    check_report(s)
    review = [x for x in report_lines(s) if x["state"] == "needs_review"]
    assert [x["reason_code"] for x in review] == ["credit_note", "credit_note"]
    assert all("CN-2026-0007" in x["message"] and "-100.00" in x["message"] for x in review)
    assert _new_lines(view) == 0


def test_one_line_for_a_person_holds_the_whole_check(tmp_path: Path, sandbox: SandboxInfo) -> None:
    view = BCView(sandbox)
    config = write_config(tmp_path / "cfg", sandbox)
    rows = [  # 1250.00 + 84.99 = 1334.99; RE-2026-9999 is not an invoice of the seed
        "30001,1334.99,C10000,RE-2026-0091,1250.00,,2026-03-18",
        "30001,1334.99,C10000,RE-2026-9999,84.99,,2026-03-18",
    ]
    out = run_cli(config, sandbox, "--profile", "lockbox", _file(tmp_path / "in" / "lockbox.csv", *rows))

    assert out.exit_code == 1, out.output
    assert out.summary is not None and (out.summary["posted"], out.summary["needs_review"]) == (0, 2)
    lines = report_lines(out.summary)
    review = sorted((x["source_row"], x["reason_code"]) for x in lines if x["state"] == "needs_review")
    assert review == [(2, "payment_held"), (3, "invoice_not_open")]
    assert _new_lines(view) == 0


def test_a_discount_is_applied_with_the_amount_paid_and_flagged(tmp_path: Path, sandbox: SandboxInfo) -> None:
    """RE-2026-0101 is open for 1190.00; the payer took 2% (23.80) and paid 1166.20. With partial
    payments sent to review, the line still posts: paid + discount settle the invoice exactly."""
    view = BCView(sandbox)
    config = write_config(tmp_path / "cfg", sandbox, policies={"partial_payment": "needs_review"})
    rows = [  # 1166.20 + 714.00 = 1880.20
        "40005,1880.20,C10000,RE-2026-0101,1166.20,23.80,2026-03-18",
        "40005,1880.20,C10000,RE-2026-0107,714.00,,2026-03-18",
    ]
    out = run_cli(config, sandbox, "--profile", "lockbox", _file(tmp_path / "in" / "lockbox.csv", *rows))

    assert out.exit_code == 0, out.output
    journal = only_new_journal(view)
    assert_exactly(
        view.lines(str(journal["id"])),
        {
            10_000: ("C10000", Decimal("-1166.20"), "LBX260318-001", "RE-2026-0101"),
            20_000: ("C10000", Decimal("-714.00"), "LBX260318-001", "RE-2026-0107"),
        },
    )
    assert out.summary is not None
    (first,) = [x for x in report_lines(out.summary) if x["source_row"] == 2]
    assert first["amount"] == "-1166.20"
    assert "payment_discount" in first["flags"] and "partial_payment" not in first["flags"]
    assert "discount 23.80 taken" in first["match_details"] and "payment discount date" in first["match_details"]


def test_a_check_interrupted_mid_way_is_finished_under_its_one_document_number(tmp_path: Path) -> None:
    """BC fails (503 on every attempt) once some lines of a 60-line check are in, the run stops with
    exit 3; the next run resumes it: every line once, all under the check's number. The amounts
    (k + 0.37 for k = 1..60, together 1830.00 + 60 x 0.37 = 1852.20) fit no open invoice of C10000,
    so each line is posted unapplied."""
    settings = SandboxSettings(tls=True, state_dir=tmp_path / "sandbox", seed="demo", latency=LATENCY)
    with start_sandbox(settings) as info:
        view = BCView(info)
        config = write_config(tmp_path / "cfg", info, posting={"batch_size": 1, "max_in_flight": 1})
        rows = [f"50001,1852.20,C10000,,{k}.37,,2026-03-18" for k in range(1, 61)]
        file = _file(tmp_path / "in" / "lockbox.csv", *rows)
        when(lambda: view.line_count() >= 3, lambda: info.faults.add(Fault("503", route=r"\$batch", retry_after_s=0)))

        first = run_cli(config, info, "--profile", "lockbox", file)
        assert first.exit_code == 3, first.output
        assert info.faults.fired().get("503", 0) > 0
        sent = view.line_count()
        assert 3 <= sent < 60
        info.faults.clear()

        second = run_cli(config, info, "--profile", "lockbox", file)
        assert second.exit_code == 0, second.output
        expected = {
            10_000 * k: ("C10000", -Decimal(f"{k}.37"), "LBX260318-001", "") for k in range(1, 61)
        }  # fmt: skip
        assert_exactly(view.lines(str(only_new_journal(view)["id"])), expected)
        assert ledger_states(config) == {"created": 60}


@pytest.mark.parametrize("post_journal", [False, True])
def test_a_lost_ledger_is_rebuilt_with_every_line_of_the_check(
    tmp_path: Path, sandbox: SandboxInfo, post_journal: bool
) -> None:
    """The three lines of check 10442 are in BC under one document number (open in the journal, or
    posted). A rebuilt ledger must know all three, so the next run sends none of them again."""
    view = BCView(sandbox)
    config = write_config(tmp_path / "cfg", sandbox)
    file = _file(tmp_path / "in" / "lockbox.csv", *CHECK)
    first = run_cli(config, sandbox, "--profile", "lockbox", *(["--post-journal"] if post_journal else []), file)
    assert first.exit_code == 0, first.output
    for leftover in (config.parent / "state").glob("ledger.sqlite*"):
        leftover.unlink()

    rebuilt = CliRunner().invoke(
        main,
        ["ledger", "rebuild", "--json", "--config", str(config), "--profile", "lockbox", str(file)],
        env=secrets_env(sandbox),
        catch_exceptions=False,
    )
    found = json.loads(rebuilt.stdout.strip().splitlines()[-1])
    assert found["not_in_bc"] == 0 and found["unexplained_journal_lines"] == 0, rebuilt.output
    again = run_cli(config, sandbox, "--profile", "lockbox", file)
    assert again.summary is not None and (again.summary["posted"], again.summary["already_posted"]) == (0, 3)
    lines = sum(len(view.lines(str(j["id"]))) for j in view.new_journals().values())
    assert lines == (0 if post_journal else 3)  # nothing sent twice
