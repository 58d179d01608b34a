"""Every structured statement file of ../shared/corpus gives the figures counted by hand
(``expected_statements.yaml``); the balance check runs on each, and each file whose balances add up
is refused once one of its amounts is changed. Skips cleanly when the corpus is absent."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.config import STATEMENT_COLUMNS, BalanceSpec, ColumnMap, Config, CurrencySpec, HeaderSpec, Profile
from pipeline.errors import InputError
from pipeline.readers import STATEMENT, open_source
from pipeline.readers.statements import read_statements
from pipeline.validate import validate_file

HERE = Path(__file__).parent
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
EXPECTED: list[dict[str, Any]] = yaml.safe_load((HERE / "expected_statements.yaml").read_text(encoding="utf-8"))
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"corpus folder {CORPUS} is absent")
ids = [e["file"] for e in EXPECTED]


def _config(currency: str | None = None) -> Config:
    """No profiles at all: a statement needs none. With ``currency``, one profile that overrides
    the balance check, as a person who has checked a hand-edited file would write it."""
    profiles = {}
    if currency is not None:
        profiles["checked"] = Profile(
            name="checked",
            header=HeaderSpec(present=True, row=1),
            columns=ColumnMap(**STATEMENT_COLUMNS),
            currency=CurrencySpec(expected=currency),
            balances=BalanceSpec(check="off"),
        )
    return Config(profiles=profiles)


@needs_corpus
@pytest.mark.parametrize("entry", EXPECTED, ids=ids)
def test_statement_file_figures(entry: dict[str, Any]) -> None:
    path = CORPUS / entry["file"]
    source = open_source(path)
    assert source.kind == STATEMENT
    parsed = read_statements(source.data, str(path), source.fmt)
    assert (parsed.fmt, len(parsed.statements)) == (entry["format"], entry["statements"])
    if entry["balance"] == "refused":
        with pytest.raises(InputError, match="does not add up"):
            validate_file(path, _config())
        result = validate_file(path, _config(entry["currency"]), "checked")
        assert result.balance.status == "overridden"
        assert "overridden" in result.balance.message and "differ" in result.balance.message
    else:
        result = validate_file(path, _config())
        assert result.balance.status == entry["balance"], result.balance.message
    got = result.summary()
    assert got["rows_read"] == entry["rows_read"]
    assert (got["rows_valid"], got["rows_rejected"]) == (entry["rows_valid"], entry["rows_rejected"]), got["issues"]
    assert got["skipped_by_reason"] == entry["skipped"]
    assert Decimal(got["amount_valid"]) == Decimal(entry["credit_total"])
    assert got["currency"] == entry["currency"]
    assert (got["first_date"], got["last_date"]) == (
        None if entry["first_date"] is None else str(entry["first_date"]),
        None if entry["last_date"] is None else str(entry["last_date"]),
    )


_FIRST_AMOUNT = {
    "camt": re.compile(rb"(<Ntry>.*?<Amt[^>]*>)(\d+)", re.S),
    "mt940": re.compile(rb"(^:61:\d{6}(?:\d{4}|\s{4})?R?[CD][A-Z]?)(\d+)", re.M),
    "bai2": re.compile(rb"(^16,\d+,)(\d+)", re.M),
    "coda": re.compile(rb"(^21\d{8}.{21}[01])(\d{15})", re.M),
}


def _tampered(data: bytes, fmt: str) -> bytes:
    """The same file with the first entry's amount one unit higher."""

    def bump(m: re.Match[bytes]) -> bytes:
        digits = m.group(2)
        return m.group(1) + str(int(digits) + 1).zfill(len(digits)).encode()

    out, n = _FIRST_AMOUNT[fmt].subn(bump, data, count=1)
    assert n == 1
    return out


VERIFIED = [e for e in EXPECTED if e["balance"] == "verified" and e["rows_read"] > 0]


@needs_corpus
@pytest.mark.parametrize("entry", VERIFIED, ids=[e["file"] for e in VERIFIED])
def test_one_amount_changed_is_refused(tmp_path: Path, entry: dict[str, Any]) -> None:
    source = open_source(CORPUS / entry["file"])
    path = tmp_path / Path(entry["file"]).name
    path.write_bytes(_tampered(source.data, source.fmt))
    with pytest.raises(InputError, match=r"does not add up|cannot be split"):
        validate_file(path, _config())


def test_the_corpus_list_covers_every_family() -> None:
    families = {e["format"].split(".")[0].split(" ")[0] for e in EXPECTED}
    assert families >= {"camt", "MT940", "MT942", "BAI2", "CODA", "OFX"}
    assert len(EXPECTED) >= 34
