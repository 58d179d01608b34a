"""The sample files behave as sample_data/README.md says (figures counted from the files)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.validate import validate_file

ROOT = Path(__file__).resolve().parents[1]
CONFIG = load_config(ROOT / "config.yaml")


@pytest.mark.parametrize(
    ("name", "profile", "read", "valid", "rejected", "skipped", "total"),
    [
        ("bank_statement.csv", "demo-bank-de", 19, 7, 0, 12, "17681.50"),
        ("remittance.xlsx", "demo-remittance", 10, 4, 0, 6, "3399.50"),
        ("payments_with_errors.csv", "demo-payments", 15, 3, 8, 4, "2332.40"),
    ],
)
def test_sample_accounting(
    name: str, profile: str, read: int, valid: int, rejected: int, skipped: int, total: str
) -> None:
    result = validate_file(ROOT / "sample_data" / name, CONFIG)
    s = result.summary()
    assert s["profile"] == profile
    assert (s["rows_read"], s["rows_valid"], s["rows_rejected"], s["rows_skipped"]) == (read, valid, rejected, skipped)
    assert Decimal(s["amount_valid"]) == Decimal(total)


def test_bank_statement_rows_and_references() -> None:
    result = validate_file(ROOT / "sample_data" / "bank_statement.csv", CONFIG)
    rows = result.payments.rows
    assert rows["source_row"].tolist() == [6, 8, 9, 11, 13, 14, 16]
    assert rows["amount_minor"].tolist() == [-119000, -35700, -1249500, -50000, -238000, -71400, -4550]
    assert rows["lineNumber"].tolist() == [10000 * k for k in range(1, 8)]
    assert rows["appliesToInvoiceNumber"].tolist() == [
        "RE-2026-0101",
        "RE-2026-0102",
        "RE-2026-0103",
        "RE-2026-0104",
        "RE-2026-0105",
        "RE-2026-0107",
        "",
    ]
    assert rows["customerNumber"].tolist()[0] == "C10000"
    assert rows["documentNumber"].tolist()[0] == "BANK260302-001"
    assert rows["externalDocumentNumber"].tolist()[0] == "TX260302001"
    assert rows["description"].tolist()[3] == "Weber, Sohn & Partner"
    skips = result.skips.set_index("source_row")["reason_code"].to_dict()
    assert skips == {
        1: "preamble",
        2: "preamble",
        3: "preamble",
        4: "blank",
        5: "header",
        7: "not_receipt",
        10: "not_receipt",
        12: "not_receipt",
        15: "not_receipt",
        17: "zero_amount",
        18: "blank",
        19: "footer",
    }


def test_errors_file_reasons_per_row() -> None:
    result = validate_file(ROOT / "sample_data" / "payments_with_errors.csv", CONFIG)
    reasons = {(i.source_row, i.reason_code) for i in result.issues}
    assert reasons == {
        (3, "amount_format"),
        (4, "date_invalid"),
        (5, "date_format"),
        (6, "amount_missing"),
        (7, "currency_mismatch"),
        (8, "amount_decimals"),
        (9, "too_long"),
        (10, "too_long"),
    }
    for issue in result.issues:
        assert issue.source_file.endswith("payments_with_errors.csv")
        assert issue.message


def test_remittance_uses_payment_date_and_invoice_columns() -> None:
    result = validate_file(ROOT / "sample_data" / "remittance.xlsx", CONFIG)
    rows = result.payments.rows
    assert {d.date().isoformat() for d in rows["postingDate"]} == {"2026-03-18"}
    assert rows["appliesToInvoiceNumber"].tolist() == ["RE-2026-0091", "RE-2026-0094", "RE-2026-0097", "RE-2026-0099"]
    assert rows["amount_minor"].tolist() == [-125000, -8499, -204550, -1901]
