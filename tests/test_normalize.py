"""Statement receipts -> customerPayment rows: BC's conventions, its field limits, idempotency keys."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pipeline.config import Config, Profile, parse_config
from pipeline.money import money_text
from pipeline.normalize import (
    PAYMENT_COLUMNS,
    format_dates,
    idempotency_keys,
    normalize,
    render_template,
)
from pipeline.validate import validate_file

TEXT_COLUMNS = (
    "currency",
    "payer_name",
    "reference",
    "customer_number",
    "invoice_number",
    "transaction_id",
    "document_number",
)


def _profile(**overrides: Any) -> Profile:
    spec: dict[str, Any] = {
        "header": {"signature": ["Date", "Amount"]},
        "columns": {"date": "Date", "amount": "Amount"},
    }
    spec.update(overrides)
    return parse_config({"version": 1, "profiles": {"p": spec}}).profiles["p"]


def _receipt(**values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "source_row": 2,
        "posting_date": "2026-03-02",
        "amount_minor": 100,
        "currency": "EUR",
        "payer_name": "Payer",
        "reference": "Ref",
        "customer_number": "",
        "invoice_number": "",
        "transaction_id": "",
        "document_number": "",
    }
    row.update(values)
    return row


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A receipts frame shaped like ``Statement.receipts``."""
    return pd.DataFrame(
        {
            "source_row": pd.Series([r["source_row"] for r in rows], dtype="int64"),
            "posting_date": pd.Series(pd.to_datetime([r["posting_date"] for r in rows])).astype("datetime64[s]"),
            "amount_minor": pd.Series([r["amount_minor"] for r in rows], dtype="Int64"),
            **{c: pd.Series([r[c] for r in rows], dtype="str") for c in TEXT_COLUMNS},
        }
    )


def _rows(rows: list[dict[str, Any]], profile: Profile | None = None, file: str = "in.csv", start: int = 0) -> Any:
    return normalize(_frame(rows), profile or _profile(), file, start=start)


# --- sign, line numbers, Code fields -------------------------------------------------------------


def test_receipts_become_negative_amounts() -> None:
    out = _rows([_receipt(amount_minor=119000, source_row=2), _receipt(amount_minor=1, source_row=3)])
    assert out.rows["amount_minor"].tolist() == [-119000, -1]
    assert (out.rows["amount_minor"] < 0).all()
    assert out.decimals == 2
    assert out.issues == []
    assert list(out.rows.columns) == list(PAYMENT_COLUMNS)


@pytest.mark.parametrize("start", [0, 30000, 1_230_000])
def test_line_numbers_follow_file_order(start: int) -> None:
    rows = [
        _receipt(source_row=9, posting_date="2026-03-09", transaction_id="T9"),
        _receipt(source_row=4, posting_date="2026-03-01", transaction_id="T4"),
        _receipt(source_row=12, posting_date="2026-03-05", transaction_id="T12"),
    ]
    out = _rows(rows, start=start)
    assert out.rows["lineNumber"].tolist() == [start + 10000, start + 20000, start + 30000]
    assert out.rows["source_row"].tolist() == [9, 4, 12]  # file order is the order given, not sorted
    assert out.rows["externalDocumentNumber"].tolist() == ["T9", "T4", "T12"]


def test_line_numbers_stay_contiguous_after_rejections() -> None:
    rows = [
        _receipt(source_row=2, transaction_id="A"),
        _receipt(source_row=3, transaction_id="X" * 36),  # too long for externalDocumentNumber
        _receipt(source_row=4, transaction_id="B"),
        _receipt(source_row=5, transaction_id="D", customer_number="C" * 21),  # too long for customerNumber
        _receipt(source_row=6, transaction_id="C"),
    ]
    out = _rows(rows, start=50000)
    assert out.rows["source_row"].tolist() == [2, 4, 6]
    assert out.rows["lineNumber"].tolist() == [60000, 70000, 80000]
    assert sorted(i.source_row for i in out.issues) == [3, 5]


def test_code_fields_are_upper_cased() -> None:
    profile = _profile(document_number={"template": "bank-{seq:03d}"})
    out = _rows(
        [_receipt(customer_number="c10000", invoice_number="re-2026-0101", transaction_id="tx-ab-1")],
        profile,
    )
    (row,) = out.rows.to_dict("records")
    assert row["documentNumber"] == "BANK-001"
    assert row["externalDocumentNumber"] == "TX-AB-1"
    assert row["customerNumber"] == "C10000"
    assert row["appliesToInvoiceNumber"] == "RE-2026-0101"


def test_document_number_from_a_column_is_upper_cased() -> None:
    profile = _profile(columns={"date": "Date", "amount": "Amount", "document_number": "Beleg"})
    out = _rows([_receipt(document_number="beleg-7")], profile)
    assert out.rows["documentNumber"].tolist() == ["BELEG-7"]


# --- BC field limits -------------------------------------------------------------------------------


def test_document_number_longer_than_20_is_rejected_not_cut() -> None:
    profile = _profile(columns={"date": "Date", "amount": "Amount", "document_number": "Beleg"})
    rows = [
        _receipt(source_row=2, document_number="D" * 20, transaction_id="T1"),
        _receipt(source_row=3, document_number="D" * 21, transaction_id="T2"),
    ]
    out = _rows(rows, profile, file="docs.csv")
    assert out.rows["documentNumber"].tolist() == ["D" * 20]
    assert out.rows["source_row"].tolist() == [2]
    (issue,) = out.issues
    assert (issue.source_file, issue.source_row, issue.reason_code) == ("docs.csv", 3, "too_long")
    assert issue.column == "documentNumber"
    assert issue.value == "D" * 21
    assert "documentNumber" in issue.message and "20" in issue.message and "21" in issue.message


def test_document_number_template_longer_than_20_is_rejected() -> None:
    profile = _profile(document_number={"template": "{reference}-{seq:03d}"})
    out = _rows(
        [
            _receipt(reference="R" * 17, transaction_id="T1"),
            _receipt(reference="R" * 16, transaction_id="T2", source_row=3),
        ],
        profile,
    )
    assert out.rows["documentNumber"].tolist() == ["R" * 16 + "-002"]
    assert [(i.source_row, i.column, i.reason_code) for i in out.issues] == [(2, "documentNumber", "too_long")]


def test_external_document_number_longer_than_35_is_rejected_not_cut() -> None:
    rows = [
        _receipt(source_row=2, transaction_id="E" * 35),
        _receipt(source_row=3, transaction_id="E" * 36),
    ]
    out = _rows(rows)
    assert out.rows["externalDocumentNumber"].tolist() == ["E" * 35]
    (issue,) = out.issues
    assert (issue.source_row, issue.column, issue.reason_code) == (3, "externalDocumentNumber", "too_long")
    assert "externalDocumentNumber" in issue.message and "35" in issue.message


def test_description_and_comment_are_cut_to_their_limits() -> None:
    payer = "".join(chr(ord("a") + i % 26) for i in range(150))
    reference = "ü" * 300
    out = _rows([_receipt(payer_name=payer, reference=reference)])
    (row,) = out.rows.to_dict("records")
    assert row["description"] == payer[:100]
    assert row["comment"] == reference[:250]
    assert out.issues == []


def test_empty_receipts_frame_gives_no_rows() -> None:
    out = normalize(_frame([_receipt()]).iloc[0:0], _profile(), "x.csv", start=0)
    assert len(out.rows) == 0
    assert out.issues == []


# --- idempotency keys -----------------------------------------------------------------------------

HASH_KEY = re.compile(r"^(?P<ns>[^:]+):h:(?P<digest>[0-9a-f]{16,}):(?P<occ>\d+)$")


def _keys(rows: list[dict[str, Any]], profile: Profile | None = None, file: str = "in.csv") -> list[str]:
    return list(_rows(rows, profile, file).rows["key"])


def test_key_is_the_transaction_id_when_present() -> None:
    assert _keys([_receipt(transaction_id="TX260302001")]) == ["p:tx:TX260302001"]
    named = _profile(key_namespace="acme-bank")
    assert _keys([_receipt(transaction_id="TX1")], named) == ["acme-bank:tx:TX1"]


def test_key_without_transaction_id_is_hash_and_occurrence() -> None:
    (key,) = _keys([_receipt()])
    m = HASH_KEY.match(key)
    assert m is not None, key
    assert m["ns"] == "p" and m["occ"] == "1"


def test_identical_rows_get_different_keys() -> None:
    same = [_receipt(source_row=2), _receipt(source_row=3), _receipt(source_row=4, amount_minor=999)]
    keys = _keys(same)
    assert len(set(keys)) == 3
    m1, m2, m3 = (HASH_KEY.match(k) for k in keys)
    assert m1 and m2 and m3
    assert m1["digest"] == m2["digest"] != m3["digest"]
    assert (m1["occ"], m2["occ"], m3["occ"]) == ("1", "2", "1")


@pytest.mark.parametrize("with_tx", [False, True], ids=["hash", "transaction-id"])
def test_same_row_in_an_overlapping_file_gets_the_same_key(with_tx: bool) -> None:
    def tx(n: int) -> str:
        return f"TX{n}" if with_tx else ""

    r1 = _receipt(posting_date="2026-03-01", amount_minor=100, payer_name="A", transaction_id=tx(1))
    r2 = _receipt(posting_date="2026-03-02", amount_minor=200, payer_name="B", transaction_id=tx(2))
    r3 = _receipt(posting_date="2026-03-03", amount_minor=300, payer_name="C", transaction_id=tx(3))
    r4 = _receipt(posting_date="2026-03-04", amount_minor=400, payer_name="D", transaction_id=tx(4))
    first = _keys([{**r, "source_row": i + 5} for i, r in enumerate([r1, r2, r3])], file="march-1.csv")
    second = _keys([{**r, "source_row": i + 2} for i, r in enumerate([r2, r3, r4])], file="march-2.csv")
    assert first[1:] == second[:2]
    assert first[0] not in second and second[2] not in first


def test_keys_when_only_some_rows_have_a_transaction_id() -> None:
    """A statement where a few rows lack the bank's transaction id (a correction, a manual booking)."""
    rows = [
        _receipt(source_row=2, transaction_id="TX1", payer_name="A"),
        _receipt(source_row=3, transaction_id="", payer_name="B"),
        _receipt(source_row=4, transaction_id="TX3", payer_name="C"),
        _receipt(source_row=5, transaction_id="", payer_name="D"),
    ]
    keys = _keys(rows)
    assert keys[0] == "p:tx:TX1" and keys[2] == "p:tx:TX3"
    assert HASH_KEY.match(keys[1]) and HASH_KEY.match(keys[3])
    # the hash rows get the same keys as they would alone (same content, same occurrence)
    assert keys[1] == _keys([rows[1]])[0]
    assert keys[3] == _keys([rows[3]])[0]


def test_keys_do_not_depend_on_file_name_or_row_position() -> None:
    rows = [_receipt(payer_name=f"P{i}", amount_minor=100 + i, source_row=10 + i) for i in range(4)]
    base = dict(zip([r["payer_name"] for r in rows], _keys(rows, file="a.csv"), strict=True))
    moved = [{**r, "source_row": r["source_row"] * 7 + 100} for r in reversed(rows)]
    other = dict(zip([r["payer_name"] for r in moved], _keys(moved, file="/elsewhere/renamed.xlsx"), strict=True))
    assert base == other


def test_keys_depend_on_every_identifying_value() -> None:
    base = _receipt()
    variants = [
        base,
        {**base, "posting_date": "2026-03-03"},
        {**base, "amount_minor": 101},
        {**base, "payer_name": "Payer2"},
        {**base, "reference": "Ref2"},
        {**base, "customer_number": "C1"},
        {**base, "invoice_number": "I1"},
    ]
    keys = [_keys([v])[0] for v in variants]  # one file each: every key is occurrence 1
    assert len(set(keys)) == len(keys)


def test_different_rows_in_different_files_never_share_a_key() -> None:
    """Fields are joined before hashing; a separator inside a value must not make two rows equal."""
    a = _keys([_receipt(payer_name="ACME|INV-1", reference="")], file="a.csv")
    b = _keys([_receipt(payer_name="ACME", reference="INV-1|")], file="b.csv")
    assert a != b


def test_duplicate_transaction_ids_stay_distinct() -> None:
    keys = _keys([_receipt(transaction_id="T1"), _receipt(transaction_id="T1", source_row=3)])
    assert len(set(keys)) == 2
    assert keys[0] == "p:tx:T1"


def test_idempotency_keys_helper_directly() -> None:
    with_tx = _frame([_receipt(transaction_id="T1"), _receipt(transaction_id="T2")])
    assert idempotency_keys(with_tx, "ns", 2).tolist() == ["ns:tx:T1", "ns:tx:T2"]
    keys = idempotency_keys(_frame([_receipt(), _receipt()]), "ns", 2).tolist()
    assert keys[0].startswith("ns:h:") and keys[0].endswith(":1")
    assert keys[1] == keys[0][:-1] + "2"


def test_keys_are_unique_by_construction_whatever_the_ids_hold() -> None:
    """The payment schema no longer hashes every key a second time: the key builder must make
    them unique itself, "#" in ids and repeated ids included."""
    ids = ["A", "A", "A#2", "A#2", "A##2", "", ""]
    rows = [_receipt(transaction_id=t, source_row=n) for n, t in enumerate(ids, start=2)]
    out = _rows(rows)
    keys = out.rows["key"].tolist()
    assert out.issues == []
    # "#" inside an id is doubled; "#<n>" marks the n-th occurrence of an id
    assert keys[:5] == ["p:tx:A", "p:tx:A#2", "p:tx:A##2", "p:tx:A##2#2", "p:tx:A####2"]
    assert keys[5].startswith("p:h:") and keys[5].endswith(":1") and keys[6] == keys[5][:-1] + "2"
    assert len(set(keys)) == len(keys)


def test_upper_casing_twice_changes_no_code_point() -> None:
    """Why normalize need not re-check upper_case on the Code fields it upper-cased."""
    import pyarrow as pa
    import pyarrow.compute as pc

    points = pa.array([chr(i) for i in range(0x110000) if not 0xD800 <= i <= 0xDFFF])
    once = pc.utf8_upper(points)
    assert len(points) == 1_112_064
    assert pc.all(pc.equal(once, pc.utf8_upper(once))).as_py()


def test_lower_case_code_fields_are_upper_cased_among_upper_case_ones() -> None:
    rows = [_receipt(transaction_id="T1", customer_number="C1"), _receipt(transaction_id="t2", source_row=3)]
    out = _rows(rows)
    assert out.rows["externalDocumentNumber"].tolist() == ["T1", "T2"]
    assert out.rows["customerNumber"].tolist() == ["C1", ""]


# --- helpers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minor", "decimals", "text"),
    [
        (12345678901234, 0, "12345678901234"),
        (12345678901234, 3, "12345678901.234"),
        (12345678901234, 2, "123456789012.34"),
        (-12345678901234, 3, "-12345678901.234"),
        (-12345678901234, 0, "-12345678901234"),
        (999_999_999_999_999_99, 2, "999999999999999.99"),
        (5, 2, "0.05"),
        (-5, 2, "-0.05"),
        (0, 2, "0.00"),
        (-1, 3, "-0.001"),
        (100, 2, "1.00"),
        (7, 0, "7"),
    ],
)
def test_money_text_is_exact(minor: int, decimals: int, text: str) -> None:
    assert money_text(pd.Series([minor], dtype="int64"), decimals).tolist() == [text]


def test_money_text_over_a_column() -> None:
    values = pd.Series([119000, -24580, 0, 1], dtype="Int64")
    assert money_text(values, 2).tolist() == ["1190.00", "-245.80", "0.00", "0.01"]


def test_render_template_fields_and_specs() -> None:
    frame = _frame([_receipt(payer_name="Müller", reference="RE-1"), _receipt(posting_date="2027-12-31")])
    seq = pd.Series([7, 1234], dtype="int64")
    out = render_template("BANK{date:%y%m%d}-{seq:03d}", frame, {"seq": seq})
    assert out.tolist() == ["BANK260302-007", "BANK271231-1234"]
    assert render_template("{payer_name} / {reference}", frame, {}).tolist() == ["Müller / RE-1", "Payer / Ref"]
    assert render_template("{date}", frame, {}).tolist() == ["2026-03-02", "2027-12-31"]
    assert render_template("fixed", frame, {}).tolist() == ["fixed", "fixed"]
    assert render_template("", frame, {}).tolist() == ["", ""]
    with pytest.raises(ValueError, match="unknown template field"):
        render_template("{iban}", frame, {})


def test_format_dates() -> None:
    dates = pd.Series(pd.to_datetime(["2026-03-02", None, "2026-03-02", "1999-12-31"])).astype("datetime64[s]")
    assert format_dates(dates, "%d.%m.%Y").tolist() == ["02.03.2026", "", "02.03.2026", "31.12.1999"]
    assert format_dates(dates.iloc[0:0], "%Y").tolist() == []


def test_format_dates_keeps_each_value_with_its_row_on_a_subset() -> None:
    """Callers pass filtered columns (e.g. the rows without a transaction id)."""
    dates = pd.Series(pd.to_datetime(["2026-03-02", "2026-03-03", "2026-03-04"])).astype("datetime64[s]")
    subset = dates[[False, True, True]]
    assert format_dates(subset, "%Y-%m-%d").to_dict() == {1: "2026-03-03", 2: "2026-03-04"}
    indexed = pd.Series(dates.to_numpy(), index=[10, 11, 12])
    assert format_dates(indexed, "%d").to_dict() == {10: "02", 11: "03", 12: "04"}


# --- end to end through validate_file --------------------------------------------------------------


def _config(**overrides: Any) -> Config:
    spec: dict[str, Any] = {
        "delimiter": ",",
        "header": {"signature": ["Date", "Amount", "Doc", "Tx"]},
        "columns": {
            "date": "Date",
            "amount": "Amount",
            "payer_name": "Payer",
            "reference": "Ref",
            "customer_number": "Cust",
            "transaction_id": "Tx",
            "document_number": "Doc",
        },
    }
    spec.update(overrides)
    return parse_config({"version": 1, "profiles": {"e2e": spec}})


HEADER = "Date,Amount,Payer,Ref,Cust,Tx,Doc"


def test_end_to_end_limits_and_line_numbers(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text(
        "\n".join(
            [
                HEADER,
                "2026-03-02,10.00,Alpha,r1,c1,tx1,doc-1",  # 2 valid
                "2026-03-02,20.00,Beta,r2,c2,tx2," + "D" * 21,  # 3 documentNumber too long
                "2026-03-03,-5.00,Refund,r3,c3,tx3,doc-3",  # 4 debit: skipped
                "2026-03-03,30.00,Gamma,r4,c4," + "T" * 36 + ",doc-4",  # 5 externalDocumentNumber too long
                "2026-03-04,40.00,Delta,r5,c5,tx5,doc-5",  # 6 valid
                "2026-03-04,50.00," + "P" * 120 + ",r6,c6,tx6,doc-6",  # 7 valid, description cut
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    result = validate_file(src, _config(), start=10000)
    rows = result.payments.rows
    assert rows["source_row"].tolist() == [2, 6, 7]
    assert rows["lineNumber"].tolist() == [20000, 30000, 40000]
    assert rows["amount_minor"].tolist() == [-1000, -4000, -5000]
    assert rows["documentNumber"].tolist() == ["DOC-1", "DOC-5", "DOC-6"]
    assert rows["externalDocumentNumber"].tolist() == ["TX1", "TX5", "TX6"]
    assert rows["customerNumber"].tolist() == ["C1", "C5", "C6"]
    assert rows["description"].tolist()[2] == "P" * 100
    assert rows["key"].tolist() == ["e2e:tx:tx1", "e2e:tx:tx5", "e2e:tx:tx6"]
    issues = {(i.source_row, i.column, i.reason_code) for i in result.issues}
    assert issues == {(3, "documentNumber", "too_long"), (5, "externalDocumentNumber", "too_long")}
    s = result.summary()
    assert (s["rows_read"], s["rows_valid"], s["rows_rejected"], s["rows_skipped"]) == (7, 3, 2, 2)
    assert s["amount_valid"] == "100.00"


def test_every_invoice_a_reference_names_is_a_candidate(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text(
        "\n".join(
            [
                HEADER,
                "2026-03-02,10.00,Alpha,RE-2026-00001 und RE-2026-00002; RE-2026-00001,c1,tx1,d1",  # 2
                "2026-03-02,20.00,Beta,ohne Nummer,c2,tx2,d2",  # 3
                "2026-03-02,30.00,Gamma,Zahlung re-2026-00003,c3,tx3,d3",  # 4
                "2026-03-02,40.00,Delta,RE-2026-00004 RE-2026-00005,c4,tx4,d4",  # 5
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    config = _config(extract={"invoice_number": r"(?i)\b(RE-\d{4}-\d{5})\b"})
    rows = validate_file(src, config).payments.rows
    assert rows["appliesToInvoiceNumber"].tolist() == ["RE-2026-00001", "", "RE-2026-00003", "RE-2026-00004"]
    assert rows["invoiceCandidates"].tolist() == [
        "RE-2026-00001 RE-2026-00002",
        "",
        "RE-2026-00003",
        "RE-2026-00004 RE-2026-00005",
    ]


def test_end_to_end_zero_and_three_decimal_currencies(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text(
        f"{HEADER}\n2026-03-02,12345678901234,A,r,c,t1,d1\n2026-03-02,7,B,r,c,t2,d2\n",
        encoding="utf-8",
    )
    jpy = validate_file(src, _config(currency={"expected": "JPY"}))
    assert jpy.payments.rows["amount_minor"].tolist() == [-12345678901234, -7]
    assert jpy.summary()["amount_valid"] == "12345678901241"
    kwd = validate_file(src, _config(currency={"expected": "KWD"}))
    assert kwd.payments.rows["amount_minor"].tolist() == [-12345678901234000, -7000]
    assert kwd.summary()["amount_valid"] == "12345678901241.000"
    assert money_text(kwd.payments.rows["amount_minor"], kwd.payments.decimals).tolist() == [
        "-12345678901234.000",
        "-7.000",
    ]


def test_line_numbers_are_unique_and_ascending(tmp_path: Path) -> None:
    src = tmp_path / "many.csv"
    lines = [HEADER] + [f"2026-03-{1 + i % 28:02d},{i + 1}.00,P{i},r,c,t{i},d{i}" for i in range(250)]
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = validate_file(src, _config()).payments.rows
    assert np.array_equal(rows["lineNumber"].to_numpy(), 10000 * np.arange(1, 251))


def test_end_to_end_file_where_some_rows_lack_a_transaction_id(tmp_path: Path) -> None:
    src = tmp_path / "mixed.csv"
    src.write_text(
        f"{HEADER}\n"
        "2026-03-02,10.00,Alpha,r1,c1,tx1,d1\n"
        "2026-03-03,20.00,Beta,r2,c2,,d2\n"
        "2026-03-04,30.00,Gamma,r3,c3,tx3,d3\n",
        encoding="utf-8",
    )
    result = validate_file(src, _config())
    keys = result.payments.rows["key"].tolist()
    assert keys[0] == "e2e:tx:tx1" and keys[2] == "e2e:tx:tx3"
    assert HASH_KEY.match(keys[1])
    assert result.summary()["amount_valid"] == "60.00"


def test_end_to_end_customer_number_from_column_else_from_reference(tmp_path: Path) -> None:
    """Rows with an empty customer column take it from the reference; each row keeps its own."""
    config = _config(extract={"customer_number": r"\bKd-Nr\.?\s*([A-Z]\d{5})\b"})
    src = tmp_path / "customers.csv"
    src.write_text(
        f"{HEADER}\n"
        "2026-03-02,10.00,Alpha,pay Kd-Nr. C11111,C99999,tx1,d1\n"
        "2026-03-03,20.00,Beta,pay Kd-Nr. C22222,,tx2,d2\n"
        "2026-03-04,30.00,Gamma,pay Kd-Nr. C33333,,tx3,d3\n",
        encoding="utf-8",
    )
    rows = validate_file(src, config).payments.rows
    assert dict(zip(rows["source_row"], rows["customerNumber"], strict=True)) == {
        2: "C99999",
        3: "C22222",
        4: "C33333",
    }
