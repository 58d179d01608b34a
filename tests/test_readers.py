"""Reader options, one small file each: encodings, delimiters, line ends, preambles, sheets, bad files.

Every input is built here from bytes (workbooks with openpyxl). Expected figures follow
tests/corpus/RULES.md and were worked out from each file as written: a row is a line (or
sheet row) as a person sees it in an editor or in Excel, a quoted field spanning lines makes
one row numbered by its first line, and rows_read == valid + rejected + skipped.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from pipeline.config import Config, Profile, parse_config
from pipeline.errors import InputError, ProfileError
from pipeline.profiles import choose_profile
from pipeline.readers import RawTable, open_source
from pipeline.validate import FileResult, validate_file

ROOT = Path(__file__).resolve().parent.parent

NAME = "p"


def _profile_data(**overrides: Any) -> dict[str, Any]:
    """A plain layout ``Date, Payer, Amount, Reference``; keyword arguments replace top-level keys."""
    data: dict[str, Any] = {
        "header": {"signature": ["Date", "Amount"]},
        "columns": {"date": "Date", "amount": "Amount", "payer_name": "Payer", "reference": "Reference"},
        "date_formats": ["%Y-%m-%d"],
        "currency": {"expected": "EUR"},
    }
    data.update(overrides)
    return data


def _config(**overrides: Any) -> Config:
    return parse_config({"version": 1, "profiles": {NAME: _profile_data(**overrides)}})


def _profile(**overrides: Any) -> Profile:
    return _config(**overrides).profiles[NAME]


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _text(lines: list[str], eol: str = "\n", final: bool = True) -> str:
    return eol.join(lines) + (eol if final else "")


def _read(path: Path, **overrides: Any) -> RawTable:
    return open_source(path).read(_profile(**overrides))


def _validate(path: Path, **overrides: Any) -> FileResult:
    return validate_file(path, _config(**overrides), NAME)


def _summary(result: FileResult) -> dict[str, Any]:
    """The summary, after checking that every row read is valid, rejected or skipped."""
    s = result.summary()
    assert s["rows_read"] == s["rows_valid"] + s["rows_rejected"] + s["rows_skipped"], s
    return s


def _counts(result: FileResult) -> tuple[int, int, int, int]:
    s = _summary(result)
    return s["rows_read"], s["rows_valid"], s["rows_rejected"], s["rows_skipped"]


def _skips(result: FileResult) -> list[tuple[int, str]]:
    frame = result.skips
    assert list(frame.columns[:3]) == ["source_row", "reason_code", "detail"]
    return list(zip(frame["source_row"].tolist(), frame["reason_code"].tolist(), strict=True))


def _valid_rows(result: FileResult) -> list[int]:
    return [int(r) for r in result.payments.rows["source_row"]]


def _amounts(result: FileResult) -> list[int]:
    """Valid receipts as positive minor units (BC stores a receipt as a negative amount)."""
    return [-int(a) for a in result.payments.rows["amount_minor"]]


def _column(table: RawTable, pos: int) -> list[str]:
    return [str(v) for v in table.data[f"c{pos}"]]


def _source_rows(table: RawTable) -> list[int]:
    return [int(v) for v in table.data["source_row"]]


# A plain comma file: header, two credits around a debit.
PLAIN = [
    "Date,Payer,Amount,Reference",
    "2024-03-01,Alpha GmbH,100.00,INV-1",
    "2024-03-02,Beta AG,-20.00,fee",
    "2024-03-04,Gamma Oy,35.50,INV-3",
]


# ---------------------------------------------------------------------------------------------
# Encodings

GERMAN_LINES = [
    "Buchungstag;Auftraggeber/Empfänger;Betrag;Währung;Verwendungszweck",
    "01.03.2024;Müller GmbH;1.234,56;EUR;Rechnung RE-2024-0001 Grüße aus Köln",
    "01.03.2024;Bäckerei Schön KG;-12,00;EUR;Gebühr für Überweisung",
    "04.03.2024;Jörg Weiß;99,90;EUR;Zahlung März RE-2024-0002",
    "05.03.2024;Höfer & Söhne oHG;2.500,00;EUR;Abschlag Straßenbau",
    "06.03.2024;Gärtnerei Blümel;45,10;EUR;Rechnung RE-2024-0007 Pflanzen für Büro",
    "07.03.2024;Überlandwerk Süd;-310,44;EUR;Stromabschlag März",
    "08.03.2024;Fräulein Ströbele;18,00;EUR;Mitgliedsbeitrag Förderverein",
    "11.03.2024;Möbelhaus Küchenträume;730,25;EUR;Anzahlung Küche Nr. 55",
]
GERMAN_PROFILE: dict[str, Any] = {
    "header": {"signature": ["Buchungstag", "Betrag", "Währung"]},
    "columns": {
        "date": "Buchungstag",
        "amount": "Betrag",
        "currency": "Währung",
        "payer_name": "Auftraggeber/Empfänger",
        "reference": "Verwendungszweck",
    },
    "amount": {"decimal_mark": ",", "thousands_mark": "."},
    "date_formats": ["%d.%m.%Y"],
}
# line -> (payer, minor units) of each credit; lines 3 and 7 are debits.
GERMAN_CREDITS = {
    2: ("Müller GmbH", 123456),
    4: ("Jörg Weiß", 9990),
    5: ("Höfer & Söhne oHG", 250000),
    6: ("Gärtnerei Blümel", 4510),
    8: ("Fräulein Ströbele", 1800),
    9: ("Möbelhaus Küchenträume", 73025),
}

CZECH_LINES = [
    "Datum;Protistrana;Částka;Měna;Zpráva pro příjemce",
    "01.03.2024;Železárny Třinec a.s.;15 000,00;CZK;Úhrada faktury č. 2024017",
    "04.03.2024;Řeznictví Dvořák s.r.o.;2 345,50;CZK;Platba za zboží, děkujeme",
    "05.03.2024;Poplatek za vedení účtu;-149,00;CZK;Měsíční poplatek",
    "06.03.2024;Škoda Plzeň spol. s r.o.;120 000,00;CZK;Záloha na dodávku č. 88",
    "07.03.2024;Čistírna Růžička;780,00;CZK;Úhrada faktury č. 2024020 – čištění",
    "08.03.2024;Město Žďár nad Sázavou;9 999,99;CZK;Nájemné březen, přeplatek vrátíme",
]
CZECH_PROFILE: dict[str, Any] = {
    "header": {"signature": ["Datum", "Částka", "Měna"]},
    "columns": {
        "date": "Datum",
        "amount": "Částka",
        "currency": "Měna",
        "payer_name": "Protistrana",
        "reference": "Zpráva pro příjemce",
    },
    "amount": {"decimal_mark": ",", "thousands_mark": " "},
    "date_formats": ["%d.%m.%Y"],
    "currency": {"expected": "CZK"},
}
CZECH_CREDITS = {
    2: ("Železárny Třinec a.s.", 1500000),
    3: ("Řeznictví Dvořák s.r.o.", 234550),
    5: ("Škoda Plzeň spol. s r.o.", 12000000),
    6: ("Čistírna Růžička", 78000),
    7: ("Město Žďár nad Sázavou", 999999),
}

LITHUANIAN_LINES = [
    "Data;Mokėtojas;Suma;Valiuta;Mokėjimo paskirtis",
    "2024-03-01;UAB „Žalgiris“;250.00;EUR;Sąskaita Nr. 15, ačiū",
    "2024-03-04;Jonas Šimkūnas;1200.50;EUR;Už paslaugas vasario mėn.",
    "2024-03-05;Banko mokestis;-2.90;EUR;Mokestis už sąskaitos tvarkymą",
    "2024-03-06;Ūkininkė Rūta Žemaitė;75.00;EUR;Sąskaita Nr. 17 – pieno produktai",
    "2024-03-07;AB „Šiaulių bankas“;10000.00;EUR;Paskolos išmoka įmonės sąskaitai",
    "2024-03-08;Gintarė Čiurlionytė;33.33;EUR;Įmoka už bilietus, ačiū už kantrybę",
]
LITHUANIAN_PROFILE: dict[str, Any] = {
    "header": {"signature": ["Data", "Suma", "Valiuta"]},
    "columns": {
        "date": "Data",
        "amount": "Suma",
        "currency": "Valiuta",
        "payer_name": "Mokėtojas",
        "reference": "Mokėjimo paskirtis",
    },
    "date_formats": ["%Y-%m-%d"],
}
LITHUANIAN_CREDITS = {
    2: ("UAB „Žalgiris“", 25000),
    3: ("Jonas Šimkūnas", 120050),
    5: ("Ūkininkė Rūta Žemaitė", 7500),
    6: ("AB „Šiaulių bankas“", 1000000),
    7: ("Gintarė Čiurlionytė", 3333),
}

LAYOUTS: dict[str, tuple[list[str], dict[str, Any], dict[int, tuple[str, int]]]] = {
    "german": (GERMAN_LINES, GERMAN_PROFILE, GERMAN_CREDITS),
    "czech": (CZECH_LINES, CZECH_PROFILE, CZECH_CREDITS),
    "lithuanian": (LITHUANIAN_LINES, LITHUANIAN_PROFILE, LITHUANIAN_CREDITS),
}


def _check_layout(path: Path, layout: str, encoding: str | None) -> None:
    lines, profile, credits = LAYOUTS[layout]
    overrides = {**profile, "encoding": encoding}
    table = _read(path, **overrides)
    assert table.header == tuple(lines[0].split(";"))
    payers = _column(table, 2)
    assert payers == [ln.split(";")[1] for ln in lines[1:]]

    result = _validate(path, **overrides)
    assert _counts(result) == (len(lines), len(credits), 0, len(lines) - len(credits))
    assert _valid_rows(result) == sorted(credits)
    assert _amounts(result) == [credits[r][1] for r in sorted(credits)]
    assert result.payments.rows["description"].tolist() == [credits[r][0] for r in sorted(credits)]
    debits = [(r, "not_receipt") for r in range(2, len(lines) + 1) if r not in credits]
    assert _skips(result) == [(1, "header"), *debits]


@pytest.mark.parametrize(
    ("layout", "codec", "configured"),
    [
        ("german", "utf-8", None),
        ("german", "utf-8-sig", None),  # UTF-8 with a BOM
        ("german", "utf-16", None),  # Python writes the BOM
        ("german", "cp1252", None),
        ("czech", "utf-8", None),
        ("czech", "cp1250", None),
        ("lithuanian", "utf-8-sig", None),
        # cp1257 is configured only: charset-normalizer reads even 12 KB of Lithuanian cp1257 as cp1250.
        ("german", "utf-8", "utf-8"),
        ("german", "utf-8-sig", "utf-8-sig"),
        ("german", "utf-8-sig", "utf-8"),  # BOM in a file configured as plain UTF-8
        ("german", "utf-16", "utf-16"),
        ("german", "cp1252", "cp1252"),
        ("czech", "cp1250", "cp1250"),
        ("lithuanian", "cp1257", "cp1257"),
    ],
)
@pytest.mark.parametrize("eol", ["\n", "\r\n"])
def test_encoding(tmp_path: Path, layout: str, codec: str, configured: str | None, eol: str) -> None:
    lines = LAYOUTS[layout][0]
    path = _write(tmp_path, "statement.csv", _text(lines, eol).encode(codec))
    _check_layout(path, layout, configured)


def test_wrong_configured_encoding_is_an_input_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "kontoauszug.csv", _text(GERMAN_LINES).encode("cp1252"))
    with pytest.raises(InputError) as info:
        _read(path, **{**GERMAN_PROFILE, "encoding": "utf-8"})
    msg = str(info.value)
    assert str(path) in msg
    assert "utf-8" in msg
    assert "encoding" in msg


# ---------------------------------------------------------------------------------------------
# Delimiters


def _delimited(delim: str) -> str:
    rows = [
        ["Date", "Payer", "Amount", "Reference"],
        ["2024-03-01", '"Alpha, Inc."', "100.00", "INV-1"],
        ["2024-03-02", '"Beta; AG"', "-20.00", '"fee | monthly"'],
        ["2024-03-04", "Gamma Oy", "35.50", '"INV-3, INV-4"'],
    ]
    return _text([delim.join(r) for r in rows])


@pytest.mark.parametrize("delim", [",", ";", "|", "\t"])
@pytest.mark.parametrize("configured", [False, True])
def test_delimiter(tmp_path: Path, delim: str, configured: bool) -> None:
    path = _write(tmp_path, "statement.txt", _delimited(delim).encode())
    overrides = {"delimiter": delim} if configured else {}
    table = _read(path, **overrides)
    assert table.delimiter == delim
    assert table.header == ("Date", "Payer", "Amount", "Reference")
    assert _column(table, 2) == ["Alpha, Inc.", "Beta; AG", "Gamma Oy"]
    assert _column(table, 4) == ["INV-1", "fee | monthly", "INV-3, INV-4"]

    result = _validate(path, **overrides)
    assert _counts(result) == (4, 2, 0, 2)
    assert _valid_rows(result) == [2, 4]
    assert _amounts(result) == [10000, 3550]


def test_semicolon_sniffed_over_decimal_commas(tmp_path: Path) -> None:
    """A ``;`` file whose amounts hold commas: the sniffer must not pick ``,``."""
    path = _write(tmp_path, "statement.csv", _text(GERMAN_LINES).encode())
    assert _read(path, **GERMAN_PROFILE).delimiter == ";"


# ---------------------------------------------------------------------------------------------
# Line ends, quoted multi-line fields, blank lines, preamble and footer in one file

#  1 Statement March 2024
#  2 Date,Payer,Amount,Reference
#  3 2024-03-01,Alpha,100.00,"INV-1      <- one record, lines 3 and 4
#  4 paid in full"
#  5 2024-03-02,Beta,-20.00,fee
#  6 (blank)                            <- only when blank=True
#  7 2024-03-04,"Gamma          <- one record, lines 7 to 9 (6 to 8 without the blank)
#  8 Oy
#  9 Helsinki",35.50,INV-3
# 10 Total,,115.50,


def _mixed_lines(blank: bool) -> list[str]:
    lines = [
        "Statement March 2024",
        "Date,Payer,Amount,Reference",
        '2024-03-01,Alpha,100.00,"INV-1',
        'paid in full"',
        "2024-03-02,Beta,-20.00,fee",
        *([""] if blank else []),
        '2024-03-04,"Gamma',
        "Oy",
        'Helsinki",35.50,INV-3',
        "Total,,115.50,",
    ]
    return lines


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r", "\r\r\n"], ids=["LF", "CRLF", "CR", "CRCRLF"])
@pytest.mark.parametrize("final", [True, False], ids=["final-eol", "no-final-eol"])
@pytest.mark.parametrize("blank", [True, False], ids=["blank", "no-blank"])
def test_line_ends_and_multiline_records(tmp_path: Path, eol: str, final: bool, blank: bool) -> None:
    path = _write(tmp_path, "statement.csv", _text(_mixed_lines(blank), eol, final).encode())
    b = 1 if blank else 0
    table = _read(path)
    assert table.header_row == 2
    # Each record's source_row is its first line; later records keep their physical line numbers.
    assert _source_rows(table) == [3, 5, *([6] if blank else []), 6 + b, 9 + b]

    result = _validate(path)
    # rows: preamble, header, record, debit, [blank], record, footer
    assert _counts(result) == (6 + b, 2, 0, 4 + b)
    assert _valid_rows(result) == [3, 6 + b]
    assert _amounts(result) == [10000, 3550]
    assert _skips(result) == [
        (1, "preamble"),
        (2, "header"),
        (5, "not_receipt"),
        *([(6, "blank")] if blank else []),
        (9 + b, "footer"),
    ]
    assert result.payments.rows["comment"].str.split().tolist() == [["INV-1", "paid", "in", "full"], ["INV-3"]]
    # Last: a line end inside a quoted field reads as LF whatever the file's line ends (as in an editor),
    # and the same on every path through the reader ("Both produce the same table").
    assert _column(table, 4)[0] == "INV-1\npaid in full"
    assert _column(table, 2)[-2] == "Gamma\nOy\nHelsinki"


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r", "\r\r\n"], ids=["LF", "CRLF", "CR", "CRCRLF"])
def test_line_ends_in_a_utf16_file(tmp_path: Path, eol: str) -> None:
    path = _write(tmp_path, "statement.csv", _text(_mixed_lines(True), eol).encode("utf-16"))
    result = _validate(path)
    assert _counts(result) == (7, 2, 0, 5)
    assert _valid_rows(result) == [3, 7]


def test_blank_lines(tmp_path: Path) -> None:
    lines = [
        "Date,Payer,Amount,Reference",  # 1
        "",  # 2
        "2024-03-01,Alpha,1.00,X",  # 3
        "   ",  # 4
        "2024-03-02,Beta,2.00,Y",  # 5
        ",,,",  # 6
        "",  # 7 (the last line; the file ends with a line end after it)
    ]
    path = _write(tmp_path, "statement.csv", _text(lines).encode())
    result = _validate(path)
    assert _counts(result) == (7, 2, 0, 5)
    assert _valid_rows(result) == [3, 5]
    assert _skips(result) == [(1, "header"), (2, "blank"), (4, "blank"), (6, "blank"), (7, "blank")]


def test_many_regular_rows_keep_their_line_numbers(tmp_path: Path) -> None:
    """A file big enough for the fast path, with a multi-line record in the middle and at the end."""
    lines = ["Date,Payer,Amount,Reference"]
    for i in range(1, 2001):
        ref = f'"INV-{i}\nsecond line"' if i in {1000, 2000} else f"INV-{i}"
        lines.append(f"2024-03-{1 + i % 28:02d},Payer {i},{i}.{i % 100:02d},{ref}")
    path = _write(tmp_path, "big.csv", _text(lines, "\r\n").encode())
    table = _read(path)
    # Records 1..999 are on lines 2..1000; record 1000 spans lines 1001-1002; then one line each.
    expected = list(range(2, 1002)) + list(range(1003, 2003))
    assert _source_rows(table) == expected
    result = _validate(path)
    assert _counts(result) == (2001, 2000, 0, 1)
    assert _valid_rows(result) == expected


@pytest.mark.parametrize("multiline", [True, False], ids=["spanning", "one-line"])
def test_records_spanning_lines_at_the_parallel_block_boundaries(tmp_path: Path, multiline: bool) -> None:
    """A file of several 4 MiB blocks (pyarrow's parallel chunks) whose records around each block
    boundary alternate between one line and a quoted value over two lines (or stay on one line),
    with quotes inside unquoted values too: the rows and line numbers are as the file has them."""
    lines = ["Date,Payer,Amount,Reference"]
    expected: list[tuple[int, str, str]] = []
    line, size, i = 2, 0, 0
    while size < 9 * (1 << 20):
        i += 1
        near_boundary = min(size % (1 << 22), (1 << 22) - size % (1 << 22)) < 6000
        spans = multiline and near_boundary and i % 2 == 0
        ref = f'"INV-{i}\nnext"' if spans else f"INV-{i}"
        payer = f'Payer 5" {i}' if i % 7 == 0 else f'"Payer, {i}"'
        text = f"2024-03-{1 + i % 28:02d},{payer},{i % 900 + 1}.00,{ref}"
        lines.append(text)
        expected.append((line, payer.strip('"'), ref.strip('"')))
        line += 2 if spans else 1
        size += len(text) + 1
    path = _write(tmp_path, "blocks.csv", _text(lines).encode())
    table = _read(path)
    assert _source_rows(table) == [e[0] for e in expected]
    assert _column(table, 2) == [e[1] for e in expected]
    assert _column(table, 4) == [e[2] for e in expected]


# ---------------------------------------------------------------------------------------------
# Preamble, header row, headerless files

PREAMBLE = [
    "Kontoauszug;;;",  # 1 preamble
    "Konto: DE89 3704 0044 0532 0130 00;;;",  # 2 preamble
    ";;;",  # 3 blank
    "",  # 4 blank
    "Date;Payer;Amount;Reference",  # 5 header
    "2024-03-01;Alpha;100.00;INV-1",  # 6
    "2024-03-02;Beta;50.00;INV-2",  # 7
]


@pytest.mark.parametrize(
    "header",
    [{"signature": ["Date", "Amount"]}, {"row": 5}],
    ids=["signature", "row"],
)
def test_preamble_before_the_header(tmp_path: Path, header: dict[str, Any]) -> None:
    path = _write(tmp_path, "statement.csv", _text(PREAMBLE).encode())
    table = _read(path, header=header)
    assert table.header_row == 5
    assert table.header == ("Date", "Payer", "Amount", "Reference")
    result = _validate(path, header=header)
    assert _counts(result) == (7, 2, 0, 5)
    assert _valid_rows(result) == [6, 7]
    assert _skips(result) == [(1, "preamble"), (2, "preamble"), (3, "blank"), (4, "blank"), (5, "header")]
    assert "Kontoauszug" in result.skips["detail"].iloc[0]


def test_header_beyond_search_rows_is_an_input_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "statement.csv", _text(PREAMBLE).encode())
    with pytest.raises(InputError) as info:
        _read(path, header={"signature": ["Date", "Amount"], "search_rows": 4})
    msg = str(info.value)
    assert str(path) in msg
    assert "Date" in msg
    assert "4" in msg


def test_headerless_file_by_position(tmp_path: Path) -> None:
    lines = ["01.03.2024;Alpha;100,00;INV-1", "02.03.2024;Beta;-5,00;fee", "03.03.2024;Gamma;7,25;INV-3"]
    path = _write(tmp_path, "statement.txt", _text(lines).encode())
    overrides = {
        "header": {"present": False},
        "columns": {"date": 1, "payer_name": 2, "amount": 3, "reference": 4},
        "amount": {"decimal_mark": ","},
        "date_formats": ["%d.%m.%Y"],
    }
    table = _read(path, **overrides)
    assert table.header is None
    assert _source_rows(table) == [1, 2, 3]
    result = _validate(path, **overrides)
    assert _counts(result) == (3, 2, 0, 1)
    assert _valid_rows(result) == [1, 3]
    assert _skips(result) == [(2, "not_receipt")]


# ---------------------------------------------------------------------------------------------
# Footer, repeated header, ragged rows


def test_footer_and_repeated_header(tmp_path: Path) -> None:
    lines = [
        "Date;Payer;Amount;Reference",  # 1 header
        "2024-03-01;Alpha;100,00;INV-1",  # 2
        "Date;Payer;Amount;Reference",  # 3 repeated header (page break)
        "2024-03-02;Beta;1.050,00;INV-2",  # 4
        "Summe;;1.150,00;",  # 5 footer
        ";;Closing balance;1.150,00",  # 6 balance row (pipeline.balances): its first non-empty cell
        "Total 2 transactions;;;",  # 7 footer
    ]
    path = _write(tmp_path, "statement.csv", _text(lines).encode())
    result = _validate(path, amount={"decimal_mark": ",", "thousands_mark": "."})
    assert _counts(result) == (7, 2, 0, 5)
    assert _valid_rows(result) == [2, 4]
    assert _amounts(result) == [10000, 105000]
    assert _skips(result) == [(1, "header"), (3, "repeated_header"), (5, "footer"), (6, "balance"), (7, "footer")]
    assert result.summary()["balance"] == "incomplete"  # a closing balance alone proves nothing


def test_ragged_rows(tmp_path: Path) -> None:
    lines = [
        "Date;Payer;Amount;Reference",  # 1
        "2024-03-01;Alpha;10,00",  # 2 short: no reference
        "2024-03-02;Beta;20,00;INV-2;TX-0002",  # 3 long: a fifth cell with no header
        "2024-03-04;Gamma",  # 4 short: no amount -> rejected (a date but no amount)
        "2024-03-05;Delta;30,00;INV-4;TX-0004;extra",  # 5 longer still
    ]
    path = _write(tmp_path, "statement.csv", _text(lines).encode())
    overrides = {
        "delimiter": ";",
        # The fifth cell has no header text: reachable by its position.
        "columns": {"date": "Date", "amount": "Amount", "payer_name": "Payer", "reference": ["Reference", 5]},
        "amount": {"decimal_mark": ","},
    }
    table = _read(path, **overrides)
    assert table.width == 6
    assert _column(table, 3) == ["10,00", "20,00", "", "30,00"]
    assert _column(table, 4) == ["", "INV-2", "", "INV-4"]
    assert _column(table, 5) == ["", "TX-0002", "", "TX-0004"]
    assert _column(table, 6) == ["", "", "", "extra"]

    result = _validate(path, **overrides)
    assert _counts(result) == (5, 3, 1, 1)
    assert _valid_rows(result) == [2, 3, 5]
    assert result.rejected_rows == {4}
    assert [i.reason_code for i in result.issues] == ["amount_missing"]
    assert result.payments.rows["comment"].tolist() == ["", "INV-2 TX-0002", "INV-4 TX-0004"]


# ---------------------------------------------------------------------------------------------
# Whole-file cases around the readers' output (values carried to the right row)


def test_some_rows_with_a_transaction_id(tmp_path: Path) -> None:
    """Keys: the bank transaction id where there is one, else a content hash (normalize's docstring)."""
    lines = [
        "Date,Payer,Amount,Reference,Transaction ID",  # 1
        "2024-03-01,Alpha,10.00,INV-1,",  # 2 no id
        "2024-03-02,Beta,20.00,INV-2,TX-0002",  # 3
        "2024-03-04,Gamma,30.00,INV-3,TX-0004",  # 4
    ]
    path = _write(tmp_path, "statement.csv", _text(lines).encode())
    columns = {"date": "Date", "amount": "Amount", "payer_name": "Payer", "reference": "Reference"}
    result = _validate(path, columns={**columns, "transaction_id": "Transaction ID"})
    assert result.issues == []
    assert _counts(result) == (4, 3, 0, 1)
    rows = result.payments.rows
    assert rows["externalDocumentNumber"].tolist() == ["", "TX-0002", "TX-0004"]
    keys = rows["key"].tolist()
    assert keys[0].startswith(f"{NAME}:h:")
    assert keys[1:] == [f"{NAME}:tx:TX-0002", f"{NAME}:tx:TX-0004"]


def test_invoice_number_from_column_else_from_reference(tmp_path: Path) -> None:
    """statement._extract: the column where filled, else the regex over the reference, row by row."""
    lines = [
        "Date;Payer;Amount;Invoice;Reference",  # 1
        "2024-03-01;Alpha;10,00;RE-2024-0001;payment",  # 2 from the column
        "2024-03-02;Beta;20,00;;Rechnung RE-2024-0002",  # 3 from the reference
        "2024-03-04;Gamma;30,00;RE-2024-0003;x",  # 4 from the column
        "2024-03-05;Delta;40,00;;re-2024-0004 danke",  # 5 from the reference, upper-cased
    ]
    path = _write(tmp_path, "statement.csv", _text(lines).encode())
    columns = {"date": "Date", "amount": "Amount", "payer_name": "Payer", "reference": "Reference"}
    result = _validate(
        path,
        columns={**columns, "invoice_number": "Invoice"},
        amount={"decimal_mark": ","},
        extract={"invoice_number": r"(?i)\b(RE-\d{4}-\d{4})\b"},
    )
    assert _counts(result) == (5, 4, 0, 1)
    assert result.payments.rows["appliesToInvoiceNumber"].tolist() == [
        "RE-2024-0001",
        "RE-2024-0002",
        "RE-2024-0003",
        "RE-2024-0004",
    ]


def test_multiline_text_becomes_one_line_in_description_and_comment(tmp_path: Path) -> None:
    """A quoted field's line ends are whitespace; description and comment collapse whitespace to one space."""
    lines = ["Date,Payer,Amount,Reference", '2024-03-01,"Alpha', 'GmbH",100.00,"INV-1', 'paid in full"']
    path = _write(tmp_path, "statement.csv", _text(lines).encode())
    result = _validate(path)
    assert _counts(result) == (2, 1, 0, 1)
    assert _valid_rows(result) == [2]
    assert result.payments.rows["description"].tolist() == ["Alpha GmbH"]
    assert result.payments.rows["comment"].tolist() == ["INV-1 paid in full"]


# ---------------------------------------------------------------------------------------------
# Workbooks


def _xlsx(sheets: dict[str, list[list[Any]]], hidden: dict[str, list[int]] | None = None) -> bytes:
    """A workbook; each sheet's rows start at A1 (None leaves a cell empty)."""
    wb = openpyxl.Workbook()
    wb.remove(wb.worksheets[0])
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is not None:
                    ws.cell(row=r, column=c, value=value)
        for n in (hidden or {}).get(name, []):
            ws.row_dimensions[n].hidden = True
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


D = dt.datetime


@pytest.mark.parametrize("title", [True, False], ids=["title-in-A1", "nothing-above-B3"])
def test_table_at_an_offset_in_a_sheet(tmp_path: Path, title: bool) -> None:
    rows: list[list[Any]] = [
        ["Remittance advice"] if title else [],  # 1 preamble (or blank)
        [],  # 2 blank
        [None, "Date", "Payer", "Amount", "Reference"],  # 3 header at B3
        [None, D(2024, 3, 1), "Alpha", 100.5, "INV-1"],  # 4
        [None, D(2024, 3, 2), "Beta", 12, "INV-2"],  # 5
        [],  # 6 blank, inside the table
        [None, "2024-03-04", "Gamma", "7.25", "INV-3"],  # 7 text cells
        [None, "Total", None, 119.75],  # 8 footer
    ]
    path = _write(tmp_path, "remittance.xlsx", _xlsx({"Sheet1": rows}))
    table = _read(path)
    assert table.kind == "excel"
    assert table.header_row == 3
    assert table.header == ("", "Date", "Payer", "Amount", "Reference")
    assert _source_rows(table) == [4, 5, 6, 7, 8]

    result = _validate(path)
    assert _counts(result) == (8, 3, 0, 5)
    assert _valid_rows(result) == [4, 5, 7]
    assert _amounts(result) == [10050, 1200, 725]
    first = "preamble" if title else "blank"
    assert _skips(result) == [(1, first), (2, "blank"), (3, "header"), (6, "blank"), (8, "footer")]


def test_header_row_configured_in_a_sheet(tmp_path: Path) -> None:
    rows: list[list[Any]] = [
        ["Remittance advice", None, "ACME Ltd"],
        [None, "Date", "Payer", "Amount", "Reference"],
        [None, D(2024, 3, 1), "Alpha", 5, "INV-1"],
    ]
    path = _write(tmp_path, "remittance.xlsx", _xlsx({"Sheet1": rows}))
    result = _validate(path, header={"row": 2})
    assert _counts(result) == (3, 1, 0, 2)
    assert _valid_rows(result) == [3]
    assert _skips(result) == [(1, "preamble"), (2, "header")]


def _with_hidden_row() -> bytes:
    rows: list[list[Any]] = [
        ["Date", "Payer", "Amount", "Reference"],  # 1
        [D(2024, 3, 1), "Alpha", 10, "INV-1"],  # 2
        [D(2024, 3, 2), "Beta", 20, "INV-2"],  # 3 hidden
        [D(2024, 3, 4), "Gamma", 30, "INV-3"],  # 4
        [D(2024, 3, 5), "Delta", 40, "INV-4"],  # 5
    ]
    return _xlsx({"Sheet1": rows}, hidden={"Sheet1": [3]})


def test_hidden_row_is_rejected_by_default(tmp_path: Path) -> None:
    """A receipt on a hidden row is a payment nobody checking the file saw: refused, never dropped."""
    path = _write(tmp_path, "remittance.xlsx", _with_hidden_row())
    result = _validate(path)
    assert _counts(result) == (5, 3, 1, 1)
    assert _valid_rows(result) == [2, 4, 5]
    assert [(i.source_row, i.reason_code) for i in result.issues] == [(3, "hidden_row")]
    assert "unhide" in result.issues[0].message
    assert _skips(result) == [(1, "header")]


def test_hidden_row_is_skipped_when_asked(tmp_path: Path) -> None:
    path = _write(tmp_path, "remittance.xlsx", _with_hidden_row())
    result = _validate(path, hidden_rows="skip")
    assert _counts(result) == (5, 3, 0, 2)
    assert _valid_rows(result) == [2, 4, 5]
    assert _skips(result) == [(1, "header"), (3, "hidden")]


def test_hidden_row_included_when_asked(tmp_path: Path) -> None:
    path = _write(tmp_path, "remittance.xlsx", _with_hidden_row())
    result = _validate(path, hidden_rows="include")
    assert _counts(result) == (5, 4, 0, 1)
    assert _valid_rows(result) == [2, 3, 4, 5]


def _two_sheets() -> bytes:
    summary: list[list[Any]] = [["Summary"], ["Payments received", 3]]
    payments: list[list[Any]] = [
        ["Date", "Payer", "Amount", "Reference"],
        [D(2024, 3, 1), "Alpha", 10, "INV-1"],
        [D(2024, 3, 2), "Beta", 20, "INV-2"],
    ]
    return _xlsx({"Summary": summary, "Payments": payments})


@pytest.mark.parametrize("sheet", ["Payments", 2], ids=["by-name", "by-index"])
def test_sheet_chosen(tmp_path: Path, sheet: str | int) -> None:
    path = _write(tmp_path, "remittance.xlsx", _two_sheets())
    table = _read(path, sheet=sheet)
    assert table.sheet == "Payments"
    assert _column(table, 2) == ["Alpha", "Beta"]
    result = _validate(path, sheet=sheet)
    assert _counts(result) == (3, 2, 0, 1)
    assert _valid_rows(result) == [2, 3]


def test_default_sheet_is_the_first_one(tmp_path: Path) -> None:
    path = _write(tmp_path, "remittance.xlsx", _two_sheets())
    with pytest.raises(InputError) as info:
        _read(path)
    msg = str(info.value)
    assert str(path) in msg
    assert "Summary" in msg  # the sheet it looked at
    assert "Date" in msg  # what it looked for


def test_xls_name_holding_a_csv_is_read_as_text(tmp_path: Path) -> None:
    """Swedbank-style: a quoted CSV saved with an .xls name."""
    quoted = [",".join(f'"{c}"' for c in line.split(",")) for line in PLAIN]
    path = _write(tmp_path, "statement.xls", _text(quoted, "\r\n").encode())
    source = open_source(path)
    assert source.kind == "text"
    result = _validate(path)
    assert _counts(result) == (4, 2, 0, 2)
    assert _valid_rows(result) == [2, 4]
    assert _amounts(result) == [10000, 3550]


def test_profile_identified_from_content(tmp_path: Path) -> None:
    config = parse_config(
        {
            "profiles": {
                "plain": _profile_data(),
                "german": GERMAN_PROFILE,
            }
        }
    )
    plain = _write(tmp_path, "plain.csv", _text(PLAIN).encode())
    german = _write(tmp_path, "german.csv", _text(GERMAN_LINES).encode("cp1252"))
    assert choose_profile(open_source(plain), config).name == "plain"
    assert choose_profile(open_source(german), config).name == "german"
    result = validate_file(german, config)
    assert result.profile.name == "german"
    assert _counts(result) == (9, 6, 0, 3)


# ---------------------------------------------------------------------------------------------
# Bad inputs: each an InputError that names the file and says what was expected


def _message(exc: InputError, path: Path) -> str:
    msg = str(exc)
    assert str(path) in msg
    assert exc.file == str(path)
    return msg


@pytest.mark.parametrize("data", [b"", b"\r\n\r\n", b"   \n\t\n"], ids=["zero-bytes", "line-ends", "spaces"])
def test_empty_file(tmp_path: Path, data: bytes) -> None:
    path = _write(tmp_path, "empty.csv", data)
    with pytest.raises(InputError) as info:
        _validate(path)
    msg = _message(info.value, path)
    assert "empty" in msg
    assert "header" in msg


@pytest.mark.parametrize("name", ["header_only.csv", "header_only_crlf.csv", "preamble_and_header.csv", "header.xlsx"])
def test_header_only_file(tmp_path: Path, name: str) -> None:
    data = {
        "header_only.csv": _text(PLAIN[:1]).encode(),
        "header_only_crlf.csv": _text(PLAIN[:1], "\r\n", final=False).encode(),
        "preamble_and_header.csv": _text(["Statement March 2024", PLAIN[0]]).encode(),
        "header.xlsx": _xlsx({"Sheet1": [PLAIN[0].split(",")]}),
    }[name]
    path = _write(tmp_path, name, data)
    with pytest.raises(InputError) as info:
        _validate(path)
    msg = _message(info.value, path)
    assert "data row" in msg


def test_random_bytes_named_csv(tmp_path: Path) -> None:
    path = _write(tmp_path, "noise.csv", random.Random(20240301).randbytes(8192))
    with pytest.raises(InputError) as info:
        _validate(path)
    msg = _message(info.value, path)
    assert "CSV" in msg
    assert "Excel" in msg


def test_truncated_xlsx(tmp_path: Path) -> None:
    whole = _two_sheets()
    path = _write(tmp_path, "cut.xlsx", whole[: len(whole) // 2])
    with pytest.raises(InputError) as info:
        _validate(path, sheet="Payments")
    msg = _message(info.value, path)
    assert "workbook" in msg
    assert "truncated" in msg or "damaged" in msg


def test_missing_sheet_name(tmp_path: Path) -> None:
    path = _write(tmp_path, "remittance.xlsx", _two_sheets())
    with pytest.raises(InputError) as info:
        _validate(path, sheet="Zahlungen")
    msg = _message(info.value, path)
    assert "'Zahlungen'" in msg
    assert "Summary" in msg
    assert "Payments" in msg


def test_missing_sheet_number(tmp_path: Path) -> None:
    path = _write(tmp_path, "remittance.xlsx", _two_sheets())
    with pytest.raises(InputError) as info:
        _validate(path, sheet=3)
    msg = _message(info.value, path)
    assert "3" in msg
    assert "2" in msg  # how many it has


def test_file_matching_no_profile(tmp_path: Path) -> None:
    path = _write(tmp_path, "other.csv", _text(["Foo,Bar,Baz", "1,2,3"]).encode())
    config = parse_config({"profiles": {"plain": _profile_data(), "german": GERMAN_PROFILE}})
    with pytest.raises(ProfileError) as info:
        choose_profile(open_source(path), config)
    assert isinstance(info.value, InputError)
    msg = _message(info.value, path)
    assert "no profile matches" in msg
    assert "plain" in msg
    assert "german" in msg
    assert set(info.value.candidates) == {"plain", "german"}


def test_a_platform_without_resource_limits_refuses_workbooks_with_what_to_do(tmp_path: Path) -> None:
    """Windows has no POSIX ``resource`` module: the bounded child cannot be bounded there, so a
    workbook is refused with a way forward instead of being read without limits. Simulated in a
    fresh interpreter where importing ``resource`` fails, as it does on Windows."""
    script = (
        "import sys; sys.modules['resource'] = None\n"
        "from pipeline.readers.sandboxed import Refused, load_in_child\n"
        "try:\n"
        "    load_in_child(b'PK\\x03\\x04', None)\n"
        "except Refused as exc:\n"
        "    print('refused:', exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.stdout.startswith("refused: Excel workbooks are read in a process bounded"), done.stdout + done.stderr
    assert "save the sheet as CSV" in done.stdout
