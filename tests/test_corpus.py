"""Real third-party files from ../shared/corpus, with figures worked out by hand (see corpus/RULES.md).

Each entry in ``corpus/expected_*.yaml`` was counted by reading the file; the profiles in
``corpus/profiles_*.yaml`` describe each layout. Skips cleanly when the corpus is absent.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.config import Config, load_config
from pipeline.errors import InputError
from pipeline.profiles import choose_profile
from pipeline.readers import open_source
from pipeline.validate import validate_file

HERE = Path(__file__).parent / "corpus"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def _entries() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted(HERE.glob("expected_*.yaml")):
        suffix = path.stem.split("_", 1)[1]
        for entry in yaml.safe_load(path.read_text(encoding="utf-8")):
            out.append((suffix, entry))
    return out


ENTRIES = _entries()


def _config(suffix: str) -> Config:
    return load_config(HERE / f"profiles_{suffix}.yaml")


needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"corpus folder {CORPUS} is absent")


@needs_corpus
@pytest.mark.parametrize(("suffix", "entry"), ENTRIES, ids=[e["file"] for _, e in ENTRIES])
def test_corpus_file_accounting(suffix: str, entry: dict[str, Any]) -> None:
    config = _config(suffix)
    balance = entry.get("balance", "not_stated")
    if isinstance(balance, dict):
        # The file states balances that do not add up: it is refused, with the difference shown;
        # the hand-counted figures still hold for its rows, read with the check turned off.
        with pytest.raises(InputError, match=balance["refused"]):
            validate_file(CORPUS / entry["file"], config, entry["profile"])
        profile = config.profiles[entry["profile"]]
        off = profile.model_copy(update={"balances": profile.balances.model_copy(update={"check": "off"})})
        config = config.model_copy(update={"profiles": {**config.profiles, entry["profile"]: off}})
        balance = "off"
    result = validate_file(CORPUS / entry["file"], config, entry["profile"])
    got = result.summary()
    assert got["balance"] == balance, got["balance_detail"]
    assert got["rows_read"] == entry["rows_read"]
    assert (got["rows_valid"], got["rows_rejected"], got["rows_skipped"]) == (
        entry["rows_valid"],
        entry["rows_rejected"],
        entry["rows_skipped"],
    ), got["issues"][:5]
    assert Decimal(got["amount_valid"]) == Decimal(str(entry["credit_total"]))
    assert got["currency"] == entry["currency"]
    if entry["rows_valid"]:
        assert got["first_date"] == str(entry["first_date"])
        assert got["last_date"] == str(entry["last_date"])


@needs_corpus
@pytest.mark.parametrize(("suffix", "entry"), ENTRIES, ids=[e["file"] for _, e in ENTRIES])
def test_corpus_profile_is_identified_from_content(suffix: str, entry: dict[str, Any]) -> None:
    source = open_source(CORPUS / entry["file"])
    assert choose_profile(source, _config(suffix)).name == entry["profile"]


def test_corpus_covers_at_least_twenty_files() -> None:
    assert len({e["file"] for _, e in ENTRIES}) >= 20
