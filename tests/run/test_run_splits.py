"""A receipt split over several invoices, through the real command against the sandbox: every line
is sent exactly once, shares the receipt's document number, is found posted by that number, and
counts against its own invoice while it waits in a journal.

Expected BC lines are worked out from the statement and the demo seed: Jansen Handel B.V. (C10400)
has RE-2026-0105 and RE-2026-0106 open for 1190.00 each, and pays 2380.00 naming both.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from pipeline.sandbox.server import SandboxInfo

from .conftest import (
    BCHttp,
    BCView,
    assert_exactly,
    check_report,
    ledger_states,
    only_new_journal,
    report_lines,
    run_cli,
    write_config,
)

HEADER = "Buchungstag;Valuta;Auftraggeber/Empfänger;Verwendungszweck;Betrag;Währung;Transaktions-ID"
SPLIT_ROW = "12.03.2026;12.03.2026;Jansen Handel B.V.;RE-2026-0105 / RE-2026-0106;2.380,00;EUR;TX9001"
SPLIT_LINES = {
    10_000: ("C10400", Decimal("-1190.00"), "BANK260312-001", "RE-2026-0105"),
    20_000: ("C10400", Decimal("-1190.00"), "BANK260312-001", "RE-2026-0106"),
}


def _statement(path: Path, *rows: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\r\n".join([HEADER, *rows]) + "\r\n").encode("cp1252"))
    return path


def test_a_split_receipt_run_twice_posts_each_line_once(tmp_path: Path, sandbox: SandboxInfo) -> None:
    view = BCView(sandbox)
    config = write_config(tmp_path / "cfg", sandbox)
    file = _statement(tmp_path / "in" / "split.csv", SPLIT_ROW)

    first = run_cli(config, sandbox, file)
    assert first.exit_code == 0, first.output
    journal = only_new_journal(view)
    assert_exactly(view.lines(str(journal["id"])), SPLIT_LINES)
    s = first.summary
    assert s is not None and (s["rows_read"], s["posted"]) == (2, 1)  # the header, and one receipt
    check_report(s)
    (line,) = [x for x in report_lines(s) if x["state"] == "posted"]
    assert (line["appliesToInvoiceNumber"], line["amount"]) == ("RE-2026-0105 RE-2026-0106", "-2380.00")
    assert "split" in line["flags"] and "[invoice_exact]" in line["match_details"]
    assert ledger_states(config) == {"created": 2}  # one ledger row per journal line

    second = run_cli(config, sandbox, file)
    assert second.exit_code == 0, second.output
    assert second.summary is not None and (second.summary["posted"], second.summary["already_posted"]) == (0, 1)
    assert only_new_journal(view) == journal
    assert_exactly(view.lines(str(journal["id"])), SPLIT_LINES)  # nothing sent twice
    assert ledger_states(config) == {"created": 2}


def test_a_posted_split_receipt_is_found_posted(tmp_path: Path, sandbox: SandboxInfo, bc_http: BCHttp) -> None:
    config = write_config(tmp_path / "cfg", sandbox)
    file = _statement(tmp_path / "in" / "split.csv", SPLIT_ROW)

    first = run_cli(config, sandbox, "--post-journal", file)
    assert first.exit_code == 0, first.output
    assert first.summary is not None and first.summary["journal"]["posted"] is True
    invoices = bc_http.invoices()
    for number in ("RE-2026-0105", "RE-2026-0106"):  # 1190.00 - 1190.00 = 0: both closed
        assert (invoices[number]["remainingAmount"], invoices[number]["status"]) == (0, "Paid")
    journal = only_new_journal(bc_http)
    assert bc_http.lines(journal["id"]) == []

    again = run_cli(config, sandbox, "--post-journal", file)
    assert again.exit_code == 0, again.output
    assert again.summary is not None and (again.summary["posted"], again.summary["already_posted"]) == (0, 1)
    assert again.summary["journal"]["code"] is None  # nothing to send, no journal
    assert ledger_states(config) == {"created": 2}


def test_split_lines_waiting_in_a_journal_count_per_invoice(tmp_path: Path, sandbox: SandboxInfo) -> None:
    """The split lines are not posted yet: BC still shows both invoices open for 1190.00, but this
    tool's journal holds 1190.00 for each, so a second transfer naming RE-2026-0106 would overpay it."""
    config = write_config(tmp_path / "cfg", sandbox)
    assert run_cli(config, sandbox, _statement(tmp_path / "in" / "split.csv", SPLIT_ROW)).exit_code == 0

    again = "20.03.2026;20.03.2026;Jansen Handel B.V.;RE-2026-0106;1.190,00;EUR;TX9002"
    out = run_cli(config, sandbox, _statement(tmp_path / "in" / "second.csv", again))

    assert out.exit_code == 1, out.output
    assert out.summary is not None and (out.summary["posted"], out.summary["needs_review"]) == (0, 1)
    (line,) = [x for x in report_lines(out.summary) if x["state"] == "needs_review"]
    assert (line["reason_code"], line["appliesToInvoiceNumber"]) == ("over_payment", "RE-2026-0106")
