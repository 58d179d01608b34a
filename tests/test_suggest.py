"""`payimport profile suggest`: a profile inferred from files, with what it could not decide."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.config import load_config, parse_config
from pipeline.errors import ConfigError
from pipeline.suggest import add_to_config, default_name, suggest_profile
from pipeline.validate import validate_file

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
HERE = Path(__file__).parent / "corpus"

GERMAN = (
    "Kontoauszug Demo Bank;;;;\n"
    "Konto;DE12 3456;;;\n"
    ";;;;\n"
    "Buchungstag;Valuta;Auftraggeber;Verwendungszweck;Betrag\n"
    "02.01.2024;03.01.2024;Müller GmbH;RE-2024-0001 Kd-Nr A10001;1.250,00\n"
    "15.01.2024;15.01.2024;Stadtwerke;Strom Januar;-89,90\n"
    "25.01.2024;26.01.2024;Schulz KG;Zahlung RE-2024-0002;300,50\n"
    "30.01.2024;30.01.2024;Weber AG;RE-2024-0003;12,00\n"
    "Endsaldo;;;;1.472,60\n"
)


def _write(tmp_path: Path, name: str, text: str, encoding: str = "cp1252") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_a_german_statement_is_read_completely(tmp_path: Path) -> None:
    file = _write(tmp_path, "umsatz.csv", GERMAN)
    found = suggest_profile([file], "demo")
    # ü is 0xFC in cp1252 and in cp1250 alike: either reads this file right
    assert found.profile.pop("encoding") in {"cp1252", "cp1250"}
    assert found.profile == {
        "title": "suggested from umsatz.csv",
        "delimiter": ";",
        "date_formats": ["%d.%m.%Y"],
        "amount": {"layout": "signed", "decimal_mark": ",", "thousands_mark": "."},
        "header": {"signature": ["Buchungstag", "Betrag", "Auftraggeber", "Verwendungszweck"]},
        "columns": {
            "date": "Buchungstag",  # the booking date, not the value date
            "amount": "Betrag",
            "payer_name": "Auftraggeber",
            "reference": "Verwendungszweck",
        },
        "currency": {"expected": "EUR"},
        "extract": {"invoice_number": r"\b(RE-\d[\d-]*\d)\b"},
    }
    assert any("currency: no currency column" in u for u in found.undecided)  # EUR is an assumption, said so
    assert any("header: row 4" in n for n in found.notes)
    assert any("1 row(s) below the table (first: 'Endsaldo')" in n for n in found.notes)
    # the suggestion, used as it is: 3 receipts 1250.00 + 300.50 + 12.00, one debit, preamble, header, balance
    config = parse_config({"version": 1, "profiles": {"demo": found.profile}})
    summary = validate_file(file, config, "demo").summary()
    assert (summary["rows_read"], summary["rows_valid"], summary["rows_rejected"], summary["rows_skipped"]) == (
        9,
        3,
        0,
        6,
    )
    assert Decimal(summary["amount_valid"]) == Decimal("1562.50")


AMBIGUOUS = "Date,Payer,Amount,Reference\n03/04/2024,A Ltd,100.00,INV 1001\n05/06/2024,B Ltd,-20.00,fee\n"
SETTLING = "Date,Payer,Amount,Reference\n25/04/2024,C Ltd,50.00,INV 1002\n"


def test_day_month_order_is_not_guessed_when_every_date_reads_both_ways(tmp_path: Path) -> None:
    found = suggest_profile([_write(tmp_path, "a.csv", AMBIGUOUS)], "x")
    assert found.profile["date_formats"] == ["%d/%m/%Y", "%m/%d/%Y"]
    assert any(
        u.startswith("date order: every date in 'Date' reads both as %d/%m/%Y and as %m/%d/%Y") for u in found.undecided
    )
    config = parse_config({"version": 1, "profiles": {"x": found.profile}})
    issues = validate_file(tmp_path / "a.csv", config, "x").issues
    assert [i.reason_code for i in issues] == ["date_ambiguous"]  # the receipt is refused, not dated a month off


def test_several_files_of_one_bank_decide_together(tmp_path: Path) -> None:
    files = [_write(tmp_path, "a.csv", AMBIGUOUS), _write(tmp_path, "b.csv", SETTLING)]
    found = suggest_profile(files, "x")
    assert found.profile["date_formats"] == ["%d/%m/%Y"]  # the 25th settles it for both files
    assert not any(u.startswith("date order") for u in found.undecided)


def test_debit_and_credit_columns_and_an_indicator_column(tmp_path: Path) -> None:
    soll_haben = "Datum;Text;Soll;Haben\n01.02.2024;Miete;500,00;\n02.02.2024;Eingang;;70,00\n"
    found = suggest_profile([_write(tmp_path, "sh.csv", soll_haben)], "sh")
    assert found.profile["amount"] == {"layout": "debit_credit", "decimal_mark": ",", "thousands_mark": ""}
    assert (found.profile["columns"]["debit"], found.profile["columns"]["credit"]) == ("Soll", "Haben")
    marked = "Date,Name,Amount,CD\n2024-03-01,X,10.00,C\n2024-03-02,Y,4.50,D\n2024-03-03,Z,1.00,C\n"
    found = suggest_profile([_write(tmp_path, "cd.csv", marked)], "cd")
    assert found.profile["amount"] == {
        "layout": "indicator",
        "credit_values": ["C"],
        "debit_values": ["D"],
        "decimal_mark": ".",
        "thousands_mark": "",
    }
    assert found.profile["columns"]["indicator"] == "CD"


def test_added_to_the_config_that_init_wrote(tmp_path: Path) -> None:
    assert CliRunner().invoke(main, ["init", str(tmp_path)]).exit_code == 0
    config_file = tmp_path / "config.yaml"
    found = suggest_profile([_write(tmp_path, "umsatz.csv", GERMAN)], "demo")
    add_to_config(config_file, found)
    config = load_config(config_file)
    assert list(config.profiles) == ["demo"]
    assert config.profiles["demo"].columns.payer_name == "Auftraggeber"
    assert "  # suggested by `payimport profile suggest`" in config_file.read_text(encoding="utf-8")
    before = config_file.read_bytes()
    with pytest.raises(ConfigError, match="a profile named 'demo' exists"):
        add_to_config(config_file, found)
    flow = tmp_path / "flow.yaml"
    flow.write_text("version: 1\nprofiles: {}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="paste the profile under it by hand"):
        add_to_config(flow, found)
    assert config_file.read_bytes() == before


def test_cli_suggest_adds_prints_and_validates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(main, ["init"]).exit_code == 0
    file = _write(tmp_path, "Umsatz_2024-01.csv", GERMAN)
    result = runner.invoke(main, ["profile", "suggest", str(file)])
    assert result.exit_code == 1, result.output  # the currency is an assumption: a person checks it
    assert "NOT DECIDED" in result.output
    assert "added profile 'umsatz'" in result.output
    assert "valid             3" in result.output
    assert yaml.safe_load((tmp_path / "config.yaml").read_text(encoding="utf-8"))["profiles"]["umsatz"]
    validated = runner.invoke(main, ["validate", str(file)])  # the profile is now found from the header
    assert validated.exit_code == 0, validated.output
    assert default_name(Path("Kontoauszug 2024.CSV")) == "kontoauszug"


@pytest.mark.slow
@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"corpus folder {CORPUS} is absent")
def test_corpus_suggestions_stay_as_good_as_measured() -> None:
    """bench/suggest_corpus.py measures exact / one edit; this keeps the exact count from falling."""
    exact = 0
    entries = [e for p in sorted(HERE.glob("expected_*.yaml")) for e in yaml.safe_load(p.read_text(encoding="utf-8"))]
    for entry in entries:
        file = CORPUS / entry["file"]
        found = suggest_profile([file], "p")
        try:
            config = parse_config({"version": 1, "profiles": {"p": {**found.profile, "balances": {"check": "off"}}}})
            s = validate_file(file, config, "p").summary()
        except Exception:
            continue
        got = (s["rows_read"], s["rows_valid"], s["rows_rejected"], s["rows_skipped"], Decimal(s["amount_valid"]))
        keys = ("rows_read", "rows_valid", "rows_rejected", "rows_skipped")
        exact += got == (*(entry[k] for k in keys), Decimal(str(entry["credit_total"])))
    assert len(entries) == 34
    assert exact >= 15
