"""Every file reproducer of ``../shared/regressions/robustness/`` gets its answer: no crash, hang,
abort or memory blow-up, no traceback; exit 2 with a message naming the file, or rows refused.

Figures were counted from the files themselves (see each case): e.g. ``late-umlaut.csv`` holds
4,000 rows of 10.00 and one of 20.00 after its header, so 4,001 valid rows and 40,020.00.
The workbook reader's own limits (CPU, memory, wall clock) bound every case; the tests assert
outcomes, never durations. The whole module is skipped when the shared folder is absent.
"""

from __future__ import annotations

import io
import json
import pickle
import random
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner, Result

from pipeline.cli import main
from pipeline.filetype import describe_non_table
from pipeline.readers.sandboxed import Loaded, _CellUnpickler, scan_sheet
from pipeline.report import sheet_title

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "regressions" / "robustness"
C = ROOT / "config.yaml"
A = ROOT / "tests" / "corpus" / "profiles_a.yaml"
B = ROOT / "tests" / "corpus" / "profiles_b.yaml"

needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/regressions/robustness is not checked out")


def _validate(tmp_path: Path, file: Path, config: Path, *extra: str) -> Result:
    args = ["validate", "--config", str(config), "--errors-out", str(tmp_path), *extra, str(file)]
    result = CliRunner().invoke(main, args)
    assert isinstance(result.exception, SystemExit) or result.exception is None, result.exception
    assert "Traceback" not in result.output
    return result


def _json(tmp_path: Path, file: Path, config: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    result = _validate(tmp_path, file, config, "--json", *extra)
    return result.exit_code, json.loads(result.stdout)


UNSAFE = "this workbook cannot be read safely"

REFUSED: list[tuple[str, Path, tuple[str, ...], str]] = [
    ("ods-stray-lt.ods", C, (), UNSAFE),  # calamine spins forever: stopped by the CPU limit
    ("crash-xls_ods-387.ods", C, (), UNSAFE),
    ("crash-xls_ods-439.xls", A, ("--profile", "uob-sg-xls"), UNSAFE),  # a Rust panic
    ("xlsx-date-neg-inf.xlsx", C, (), UNSAFE),  # a Rust panic on a -inf date cell
    ("xlsx-far-cell.xlsx", C, (), UNSAFE),  # aborts asking for the whole grid
    ("xls-alloc-1-xls_ods-655.xls", A, ("--profile", "uob-sg-xls"), UNSAFE),  # asks for 8 GiB
    ("xls-alloc-1-bytemut-2664.xls", A, ("--profile", "uob-sg-xls"), UNSAFE),
    ("xlsx-sst-bomb.xlsx", C, (), UNSAFE),  # one 20 MB shared string used 200 times
    ("xlsx-doctype.xlsx", C, (), "declares a DTD"),
    ("crash-bytemut-1008.xlsx", B, ("--profile", "oca-meta-credit-debit"), "zip structure cannot be read"),
    ("long-cell.csv", C, (), "line 2: a field is longer than 131,072 characters"),
    ("wide-100k.csv", C, (), "line 3: has 100,007 fields; payimport reads tables of at most 1,000 columns"),
    ("wide-20k.csv", C, (), "line 3: has 20,007 fields; payimport reads tables of at most 1,000 columns"),
]


@needs_shared
@pytest.mark.parametrize(("name", "config", "extra", "message"), REFUSED, ids=[r[0] for r in REFUSED])
def test_reproducer_is_refused(tmp_path: Path, name: str, config: Path, extra: tuple[str, ...], message: str) -> None:
    result = _validate(tmp_path, SHARED / name, config, *extra)
    assert result.exit_code == 2
    assert f"{SHARED / name}: " in result.output
    assert message in " ".join(result.output.split())


@needs_shared
def test_late_umlaut_is_read_as_cp1252(tmp_path: Path) -> None:
    """The first non-ASCII byte (0xFC, ü in cp1252) is at 240,076 of 240,124 bytes."""
    code, s = _json(tmp_path, SHARED / "late-umlaut.csv", C, "--show-payments")
    assert code == 0
    assert (s["rows_read"], s["rows_valid"], s["rows_rejected"], s["amount_valid"]) == (4002, 4001, 0, "40020.00")
    last = [p for p in s["payments"] if p["externalDocumentNumber"] == "TXLAST"]
    assert [p["description"] for p in last] == ["Müller GmbH"]


@needs_shared
@pytest.mark.parametrize(
    ("name", "figures"),
    [
        # one cell at A1048576 below a 10-row remittance: every row accounted for, four receipts
        ("xlsx-far-row.xlsx", (1048576, 4, 0, 1048572, "3399.50")),
        # two payments, then a blank row repeated to the end of the sheet
        ("ods-repeat.ods", (1048573, 2, 0, 1048571, "20.00")),
        # the 200 MB of whitespace is read in linear time
        ("xlsx-ws-200MB.xlsx", (10, 4, 0, 6, "3399.50")),
    ],
)
def test_huge_but_harmless_workbooks_are_read(tmp_path: Path, name: str, figures: tuple[Any, ...]) -> None:
    code, s = _json(tmp_path, SHARED / name, C)
    assert code == 0
    assert (s["rows_read"], s["rows_valid"], s["rows_rejected"], s["rows_skipped"], s["amount_valid"]) == figures


@needs_shared
def test_ods_repeated_values_are_refused_row_by_row(tmp_path: Path) -> None:
    """One good payment, then a row of 'x' repeated 100,000 times: each is an amount_format rejection."""
    code, s = _json(tmp_path, SHARED / "ods-repeat-values.ods", C)
    assert code == 1
    assert (s["rows_read"], s["rows_valid"], s["rows_rejected"], s["amount_valid"]) == (100002, 1, 100000, "10.00")
    assert s["rejected_by_reason"] == {"amount_format": 100000}


@needs_shared
def test_sheet_named_with_a_slash_gets_its_errors_workbook(tmp_path: Path) -> None:
    code, s = _json(tmp_path, SHARED / "xlsx-sheet-slash.xlsx", C)
    assert code == 1
    assert s["rejected_by_reason"] == {"amount_format": 1}
    wb = openpyxl.load_workbook(s["errors_workbook"], read_only=True)
    assert wb.sheetnames == ["Paid_2026Remittance", "Issues"]


@needs_shared
def test_excel_serial_60_is_refused(tmp_path: Path) -> None:
    """Row 6's Paid On cell is serial 60, Excel's 29.02.1900, which never existed."""
    code, s = _json(tmp_path, SHARED / "xlsx-date-serial-60.xlsx", C)
    assert code == 1
    assert [(i["source_row"], i["column"]) for i in s["issues"]] == [(6, "Paid On")]
    assert "invalid Excel date" in s["issues"][0]["message"]


@needs_shared
def test_unwritable_errors_folder_is_a_warning(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    args = [
        "validate",
        "--config",
        str(C),
        "--errors-out",
        str(blocker / "x.xlsx"),
        str(SHARED / "xlsx-sheet-slash.xlsx"),
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert "the errors workbook could not be written" in " ".join(result.output.split())
    assert "Traceback" not in result.output


NOT_TABLES: list[tuple[str, bytes, str]] = [
    ("statement.pdf", b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n", "a PDF document"),
    ("scan.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "a PNG image"),
    ("photo.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "a JPEG image"),
    ("data.xml", b'<?xml version="1.0"?>\n<invoices><invoice no="1"/></invoices>\n', "an XML document"),
    ("noise.csv", random.Random(7).randbytes(4096), "binary data"),
]


@pytest.mark.parametrize(("name", "data", "what"), NOT_TABLES, ids=[n[0] for n in NOT_TABLES])
def test_files_that_are_not_tables_are_named(tmp_path: Path, name: str, data: bytes, what: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    result = _validate(tmp_path, path, C)
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert f"{path}: this looks like" in text
    assert what in text
    assert "payimport reads CSV, TXT, XLSX, XLS and ODS files" in text


@pytest.mark.parametrize(
    "text",
    [
        b"Date;Payer;Amount\n01.03.2024;M\xfcller;10,00\n",  # cp1252 text
        "Datum;Zahler;Betrag\n01.03.2024;Müller;10,00\n".encode("utf-16"),
        b"\xef\xbb\xbfDate,Amount\n2024-03-01,10.00\n",
        b":20: is not a tag in a CSV cell\n",
    ],
)
def test_text_tables_are_not_mistaken_for_other_files(text: bytes) -> None:
    assert describe_non_table(text) is None


def test_hidden_rows_are_found_across_chunk_boundaries() -> None:
    """The scan cuts only after ``</row>``; a row end split over two chunks still cuts once."""
    hidden = ' hidden="1"'
    xml = b"".join(
        f'<row r="{n}"{hidden if n in (2, 5) else ""}><c r="A{n}"><v>{n}</v></c></row>'.encode() for n in range(1, 7)
    )
    for size in (1, 3, 5, 7, 64, len(xml)):
        chunks = [xml[i : i + size] for i in range(0, len(xml), size)]
        assert scan_sheet(chunks).hidden == frozenset({2, 5}), size


@pytest.mark.parametrize(
    ("name", "title"),
    [("Paid/2026", "Paid_2026"), ("a" * 40, "a" * 31), ("[x]*?:\\", "_x_____"), ("'", "Rejected"), ("", "Rejected")],
)
def test_sheet_titles_excel_accepts(name: str, title: str) -> None:
    assert sheet_title(name) == title


def test_the_reader_answer_carries_cells_only() -> None:
    """A child that parsed hostile bytes is not trusted with classes: only cells come back."""
    good = pickle.dumps(("ok", Loaded("S", [["a", 1.5]], frozenset({2}))))
    status, loaded = _CellUnpickler(io.BytesIO(good)).load()
    assert status == "ok" and loaded.rows == [["a", 1.5]]
    evil = pickle.dumps(("ok", Path("/etc/passwd")))
    with pytest.raises(pickle.UnpicklingError):
        _CellUnpickler(io.BytesIO(evil)).load()
