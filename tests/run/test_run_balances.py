"""``payimport run`` refuses a statement whose stated balances do not add up: exit 2, nothing sent."""

from __future__ import annotations

from pathlib import Path

from pipeline.sandbox.server import SandboxInfo

from .conftest import BCView, ledger_states, run_cli, write_config

HEADER = "Buchungstag;Valuta;Auftraggeber/Empfänger;Verwendungszweck;Betrag;Währung;Transaktions-ID"


def _statement(path: Path, closing: str) -> Path:
    lines = [
        HEADER,
        "01.03.2026;01.03.2026;;Anfangssaldo;10.000,00;EUR;",
        "02.03.2026;02.03.2026;Müller Maschinenbau GmbH;Rechnung RE-2026-0101 Kd-Nr. C10000;1.190,00;EUR;TXB1",
        "02.03.2026;02.03.2026;Stadtwerke Köln;Strom Februar;-245,80;EUR;TXB2",
        f"31.03.2026;31.03.2026;;Endsaldo;{closing};EUR;",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\n".join(lines) + "\n").encode("cp1252"))
    return path


def test_closing_balance_off_by_a_cent_sends_nothing(tmp_path: Path, sandbox: SandboxInfo) -> None:
    # 10,000.00 + 1,190.00 - 245.80 = 10,944.20; the file says 10,944.21
    view = BCView(sandbox)
    config = write_config(tmp_path / "cfg", sandbox)
    out = run_cli(config, sandbox, _statement(tmp_path / "in" / "statement.csv", "10.944,21"))
    assert out.exit_code == 2, out.output
    assert "says 10,944.21: 0.01 differ" in out.output
    assert view.new_journals() == {}
    assert ledger_states(config) == {}


def test_dated_balance_rows_are_not_posted_and_the_run_says_verified(tmp_path: Path, sandbox: SandboxInfo) -> None:
    config = write_config(tmp_path / "cfg", sandbox)
    out = run_cli(config, sandbox, _statement(tmp_path / "in" / "statement.csv", "10.944,20"), "--dry-run")
    assert out.exit_code == 0, out.output
    assert out.summary is not None
    assert [f["balance"] for f in out.summary["files"]] == ["verified"]
    assert out.summary["skipped"] == 4  # header, two balance rows, the debit
