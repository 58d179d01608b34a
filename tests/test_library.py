"""The shipped profile library: the corpus profiles with their banks, usable by `use:` and by name."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.config import Config, Profile, load_config, parse_config
from pipeline.errors import ConfigError
from pipeline.library import library, merged
from pipeline.validate import validate_file

HERE = Path(__file__).parent / "corpus"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"corpus folder {CORPUS} is absent")


def _corpus_profiles() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path in sorted(HERE.glob("profiles_*.yaml")):
        out.update(yaml.safe_load(path.read_text(encoding="utf-8"))["profiles"])
    return out


def _expected() -> dict[str, dict[str, Any]]:
    """The first hand-counted entry of each profile (the library's sample is that file)."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(HERE.glob("expected_*.yaml")):
        for entry in yaml.safe_load(path.read_text(encoding="utf-8")):
            out.setdefault(entry["profile"], entry)
    return out


def test_library_holds_exactly_the_corpus_profiles_and_their_counted_samples() -> None:
    corpus, expected = _corpus_profiles(), _expected()
    assert set(library()) == set(corpus)
    assert len(library()) == 33
    for name, entry in library().items():
        assert dict(entry.profile) == corpus[name], name
        counted = expected[name]
        assert entry.sample == {k: counted[k] for k in entry.sample}, name
        assert entry.sample["file"] == counted["file"]
        assert entry.bank and entry.format
        assert entry.country == "" or len(entry.country) == 2
    assert (library()["ing-nl-csv"].bank, library()["ing-nl-csv"].country) == ("ING", "NL")


@needs_corpus
@pytest.mark.parametrize("name", sorted(library()))
def test_each_library_profile_gives_its_samples_counted_figures(name: str) -> None:
    entry = library()[name]
    config = parse_config({"version": 1, "profiles": {"mine": {"use": name, "balances": {"check": "off"}}}})
    got = validate_file(CORPUS / entry.sample["file"], config, "mine").summary()
    sample = entry.sample
    assert (got["rows_read"], got["rows_valid"], got["rows_rejected"], got["rows_skipped"]) == (
        sample["rows_read"],
        sample["rows_valid"],
        sample["rows_rejected"],
        sample["rows_skipped"],
    )
    assert Decimal(got["amount_valid"]) == Decimal(str(sample["credit_total"]))


def test_use_merges_overrides_mapping_by_mapping() -> None:
    config = parse_config(
        {
            "version": 1,
            "profiles": {
                "bank": {
                    "use": "sparkasse-csv-mt940",
                    "extract": {"invoice_number": "RE-(\\d+)"},
                    "amount": {"thousands_mark": "."},
                    "date_formats": ["%d.%m.%Y"],
                }
            },
        }
    )
    p = config.profiles["bank"]
    assert p.use == "sparkasse-csv-mt940"
    assert p.extract.invoice_number == "RE-(\\d+)"
    assert p.extract.customer_number == "K-NR\\.?\\s*(\\d+)"  # kept from the library
    assert (p.amount.decimal_mark, p.amount.thousands_mark) == (",", ".")
    assert p.date_formats == ("%d.%m.%Y",)  # a list replaces, never appends to, the library's
    assert p.columns.payer_name == "Beguenstigter/Zahlungspflichtiger"
    assert merged({"a": {"b": 1, "c": 2}, "d": [1]}, {"a": {"c": 3}, "d": [2]}) == {"a": {"b": 1, "c": 3}, "d": [2]}


def test_unknown_library_name_is_refused_with_the_nearest_names() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config({"version": 1, "profiles": {"x": {"use": "sparkase-csv-mt940"}}}, "c.yaml")
    assert raised.value.problems == (
        "c.yaml: profiles.x.use: no library profile named 'sparkase-csv-mt940' "
        "(hint: did you mean 'sparkasse-csv-mt940'?)",
    )


def test_profile_list_and_show() -> None:
    runner = CliRunner()
    listed = runner.invoke(main, ["profile", "list", "--json"])
    assert listed.exit_code == 0
    rows = {r["name"]: r for r in json.loads(listed.output)}
    assert len(rows) == 33
    assert rows["knab-nl-csv"] == {"name": "knab-nl-csv", "bank": "Knab", "country": "NL", "format": "CSV"}
    shown = runner.invoke(main, ["profile", "show", "gls-csv"])
    assert shown.exit_code == 0
    body = yaml.safe_load(shown.output)  # the comment lines vanish; what is left is the profile
    assert body == {"gls-csv": _corpus_profiles()["gls-csv"]}
    assert "# GLS Gemeinschaftsbank, DE, CSV" in shown.output
    wrong = runner.invoke(main, ["profile", "show", "gls-cvs"])
    assert wrong.exit_code == 2
    assert "did you mean 'gls-csv'?" in wrong.output


def test_library_profile_by_name_without_config_profiles(tmp_path: Path) -> None:
    """`validate --profile NAME` takes a library profile when config.yaml has none of that name."""
    config: Config = load_config(_empty_config(tmp_path))
    assert dict(config.profiles) == {}
    csv = tmp_path / "knab.csv"
    csv.write_text("a;b\n1;2\n", encoding="utf-8")  # a profile named on the command line is not checked here
    from pipeline.profiles import choose_profile
    from pipeline.readers import open_source

    profile: Profile = choose_profile(open_source(csv), config, "knab-nl-csv")
    assert profile.use == "knab-nl-csv"
    assert profile.columns == Profile.model_validate(library()["knab-nl-csv"].profile).columns


def _empty_config(folder: Path) -> Path:
    path = folder / "config.yaml"
    path.write_text("version: 1\nprofiles:\n", encoding="utf-8")
    return path
