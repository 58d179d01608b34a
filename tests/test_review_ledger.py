"""The ledger's memory of rows waiting for a person (schema v4): held once, decided, done."""

from __future__ import annotations

import sqlite3
import zipfile
from pathlib import Path

import pytest

from pipeline.decisions import is_decisions_workbook
from pipeline.ledger import HeldRow, Ledger

T = "target"


def _held(key: str, message: str = "why") -> HeldRow:
    return HeldRow(key, "sha", "s.csv", 7, "over_payment", message, {"key": key, "amount_minor": -50000})


def test_a_version_3_ledger_gains_the_reviews_table_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with Ledger.open(path) as ledger:
        ledger.start_run(T, "run-1", [])
        ledger._db.execute("DROP TABLE reviews")
        ledger._db.execute("DROP TABLE payer_memory")  # versions 5 and 6: a version 3 file has none of these
        ledger._db.execute("DROP TABLE run_journals")
        ledger._db.execute("UPDATE meta SET value = '3' WHERE name = 'schema_version'")
    with Ledger.open(path) as again:
        assert again.schema_version() == 6
        assert again.knows(T)
        again.hold_for_review(T, "run-2", [_held("k1")])
        assert list(again.reviews(T)) == ["k1"]


def test_a_row_held_again_keeps_since_when_it_waits(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.sqlite") as ledger:
        ledger.hold_for_review(T, "run-1", [_held("k1", "first words")])
        first = ledger.reviews(T)["k1"]
        ledger.hold_for_review(T, "run-2", [_held("k1", "second words")])
        again = ledger.reviews(T)["k1"]
    assert (again.first_run, again.first_seen, again.message) == ("run-1", first.first_seen, "first words")
    assert (again.last_run, again.state, again.row["amount_minor"]) == ("run-2", "waiting", -50000)


def test_decided_then_done_is_final(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.sqlite") as ledger:
        ledger.hold_for_review(T, "run-1", [_held("k1"), _held("k2")])
        ledger.record_decisions(T, [("k1", {"kind": "skip", "note": "refund"}), ("k2", {"kind": "on account"})])
        ledger.finish_reviews(T, [("k1", "skipped: refund")])
        ledger.refuse_decisions(T, [("k2", "unknown customer")])
        with pytest.raises(ValueError, match=r"'k1' \(done\)"):
            ledger.record_decisions(T, [("k1", {"kind": "skip"})])
        with pytest.raises(ValueError, match="not in the ledger"):
            ledger.finish_reviews(T, [("nope", "x")])
        rows = ledger.reviews(T)
    assert (rows["k1"].state, rows["k1"].outcome, rows["k1"].decision) == (
        "done",
        "skipped: refund",
        {"kind": "skip", "note": "refund"},
    )
    assert (rows["k2"].state, rows["k2"].outcome, rows["k2"].decision) == ("waiting", "unknown customer", None)


def test_the_table_refuses_an_unknown_state(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.sqlite") as ledger:
        ledger.hold_for_review(T, "run-1", [_held("k1")])
    with sqlite3.connect(tmp_path / "l.sqlite") as db, pytest.raises(sqlite3.IntegrityError):
        db.execute("UPDATE reviews SET state = 'maybe'")


@pytest.mark.parametrize(
    ("core", "expected"),
    [
        # XlsxWriter and Excel: the namespace declared on the root
        ('<cp:coreProperties xmlns:dc="x"><dc:subject>payimport decisions</dc:subject></cp:coreProperties>', True),
        # openpyxl with lxml installed: declared on the element itself
        ('<cp:coreProperties><dc:subject xmlns:dc="x">payimport decisions</dc:subject></cp:coreProperties>', True),
        ('<cp:coreProperties><dc:subject xmlns:dc="x">payimport run report</dc:subject></cp:coreProperties>', False),
        ("<cp:coreProperties></cp:coreProperties>", False),
    ],
)
def test_a_decisions_workbook_is_known_by_its_subject_however_it_was_saved(
    tmp_path: Path, core: str, expected: bool
) -> None:
    path = tmp_path / "any name.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("docProps/core.xml", core)
    assert is_decisions_workbook(path) is expected
