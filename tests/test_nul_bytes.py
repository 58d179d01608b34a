"""A NUL character anywhere in a text file (a table or a statement) refuses the whole file, naming
the line a person opens in an editor: the reader cannot say what a value with a NUL inside means,
and the zero bytes padding a copy cut short are no rows at all. Before, only the first 8 KiB were
looked at, and a NUL further on reached a transaction id or a document number.

Lines and positions are counted from the files as written here (header = line 1).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.config import parse_config
from pipeline.errors import InputError
from pipeline.filetype import nul_refusal
from pipeline.validate import validate_file

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "readers" / "fixtures"
PROFILE = {
    "delimiter": ";",
    "header": {"signature": ["Date", "Payer", "Amount", "Transaction ID"]},
    "columns": {"date": "Date", "payer_name": "Payer", "amount": "Amount", "transaction_id": "Transaction ID"},
    "date_formats": ["%Y-%m-%d"],
}
CONFIG = {"profiles": {"p": PROFILE}}


def _lines(count: int) -> list[str]:
    """A header and ``count`` receipts of 10.00, each row about 45 bytes (1,000 rows: 45 KB)."""
    return ["Date;Payer;Amount;Transaction ID"] + [
        f"2026-03-02;Payer {i:05d};10.00;TX-{i:07d}" for i in range(1, count + 1)
    ]


def _refusal(path: Path) -> str:
    with pytest.raises(InputError) as info:
        validate_file(path, parse_config(CONFIG), "p")
    return " ".join(str(info.value).split())


def test_a_nul_inside_a_transaction_id_far_past_the_head_is_refused_through_the_cli(tmp_path: Path) -> None:
    lines = _lines(1_000)
    lines[700] = lines[700].replace("TX-", "TX\x00-")  # data row 700 is line 701
    byte = lines[700].encode().index(b"\x00") + 1  # "2026-03-02;Payer 00700;10.00;TX" is 31 bytes
    assert byte == 32
    path = tmp_path / "statement.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode())
    assert path.read_bytes().index(b"\x00") > 8192  # past what the file-type sniffing reads
    config = tmp_path / "config.yaml"
    config.write_text(
        "profiles:\n  p:\n    delimiter: ';'\n"
        "    header: {signature: [Date, Payer, Amount, Transaction ID]}\n"
        "    columns: {date: Date, payer_name: Payer, amount: Amount, transaction_id: Transaction ID}\n"
        "    date_formats: ['%Y-%m-%d']\n"
    )
    result = CliRunner().invoke(main, ["validate", "--config", str(config), "--profile", "p", str(path)])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert f"{path}: line 701 holds a NUL character (byte 32 of the line)" in text
    assert "Traceback" not in result.output


def test_a_copy_cut_short_and_padded_with_zeros_is_refused_at_the_first_zero(tmp_path: Path) -> None:
    lines = _lines(500)
    path = tmp_path / "cut.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode() + bytes(65_536))
    # 501 lines end in a newline, so the zeros start line 502 at its first byte
    assert "line 502 holds a NUL character (byte 1 of the line)" in _refusal(path)


def test_crlf_and_cr_line_ends_count_as_one_line_each() -> None:
    assert "line 3 holds a NUL character (byte 2 of the line)" in (nul_refusal(b"a;b\r\nc;d\r\ne\x00") or "")
    assert "line 4 holds a NUL character (byte 1 of the line)" in (nul_refusal(b"a\rb\r\nc\n\x00") or "")
    assert nul_refusal(b"a;b\r\nc;d\r\n") is None


@pytest.mark.parametrize(("codec", "bom"), [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")])
def test_utf16_nul_characters_are_refused_and_its_zero_bytes_are_not(tmp_path: Path, codec: str, bom: bytes) -> None:
    lines = _lines(300)
    lines[250] = lines[250].replace("Payer ", "Payer \x00")  # line 251, character 18
    path = tmp_path / "utf16.csv"
    path.write_bytes(bom + ("\n".join(lines) + "\n").encode(codec))
    assert "line 251 holds a NUL character (character 18 of the line)" in _refusal(path)
    # "A" and "Ā" (U+0100) side by side: 41 00 00 01 in UTF-16-LE, 00 41 01 00 ("ĀA") in BE:
    # two zero bytes in a row, halves of two characters, no NUL character
    lines = _lines(300)
    lines[250] = lines[250].replace("Payer ", "PayerAĀA ")
    path.write_bytes(bom + ("\n".join(lines) + "\n").encode(codec))
    assert b"\x00\x00" in path.read_bytes()
    result = validate_file(path, parse_config(CONFIG), "p")
    assert result.summary()["rows_valid"] == 300
    assert "PayerAĀA 00250" in result.payments.rows["payer_name"].tolist()


def test_a_table_whose_first_letters_are_pk_is_searched_like_any_text(tmp_path: Path) -> None:
    # only a zip's own signatures (PK 03 04, PK 05 06) mark a workbook, which its reader checks
    lines = ["PK;" + line for line in _lines(1_000)]
    lines[0] = "PK;Date;Payer;Amount;Transaction ID"
    lines[700] = lines[700].replace("TX-", "TX\x00-")  # "PK;" + 31 bytes before the NUL
    path = tmp_path / "pk.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode())
    assert "line 701 holds a NUL character (byte 35 of the line)" in _refusal(path)


def test_a_utf8_byte_order_mark_is_no_byte_of_the_first_line() -> None:
    assert "line 1 holds a NUL character (byte 3 of the line)" in (nul_refusal(b"\xef\xbb\xbfab\x00") or "")


def test_utf32_is_named_not_taken_for_utf16_with_nuls(tmp_path: Path) -> None:
    path = tmp_path / "utf32.csv"
    path.write_bytes(("\n".join(_lines(3)) + "\n").encode("utf-32"))
    message = _refusal(path)
    assert "is UTF-32 text" in message
    assert "NUL" not in message


def test_a_bank_statement_with_a_nul_names_its_line_not_a_table_error(tmp_path: Path) -> None:
    text = (FIXTURES / "mt940_german.sta").read_bytes()
    assert text.split(b"\n")[5].startswith(b":86:166?00GUTSCHRIFT")  # line 6; "GUT" ends at byte 13
    path = tmp_path / "statement.sta"
    path.write_bytes(text.replace(b"?00GUTSCHRIFT", b"?00GUT\x00SCHRIFT", 1))
    message = _refusal(path)
    assert "line 6 holds a NUL character (byte 14 of the line)" in message
    assert "not a table" not in message


def test_a_file_whose_head_is_binary_is_still_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "noise.csv"
    path.write_bytes(b"\x00\x01\x02\x03" * 1024)
    message = _refusal(path)
    assert "this looks like binary data (not text)" in message
