"""Property: every physical line ends in exactly one state, and the valid receipts are what was written.

The generator builds a statement line by line and knows each line's fate from what it wrote:
a credit is valid; a debit, a zero amount, a blank line, a line without date and amount, a
repeated header and a footer are skipped; a credit with a bad date, or any line with a bad or
missing amount, is rejected.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.config import parse_config
from pipeline.validate import validate_file

CONFIG = parse_config(
    {
        "version": 1,
        "profiles": {
            "acct": {
                "delimiter": ",",
                "header": {"signature": ["Date", "Amount", "Text"]},
                "columns": {"date": "Date", "amount": "Amount", "reference": "Text"},
                "date_formats": ["%Y-%m-%d"],
                # Random dates from 27 years can look like a swapped month-long run (5 March and
                # 5 April alone); this test is about line fates, not the file-level order check.
                "date_plausibility_check": False,
                "currency": {"expected": "EUR"},
            }
        },
    }
)
HEADER = "Date,Amount,Text"

VALID, REJECTED, SKIPPED = "valid", "rejected", "skipped"


@dataclass(frozen=True)
class Line:
    text: str
    fate: str
    minor: int = 0  # for valid lines: the receipt in cents


# Up to the day this was written: a date more than date_days_ahead (366) after the run is refused.
dates = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2026, 12, 1)).map(lambda d: d.isoformat())
cents = st.integers(min_value=1, max_value=10**13)
words = st.text(alphabet="abcXYZ019 -/.üß€", max_size=12)
# No bad date here is a real date read with day and month swapped (2026-13-01 would be, and a file
# whose only telling date it is is refused whole by the date-order check: no per-line fate).
bad_dates = st.sampled_from(["2026-02-30", "2026-13-32", "2025-02-29", "31.12.2026", "2026/03/01", "someday"])
bad_amounts = st.sampled_from(["1.2.3", "abc", "12.345", "--5", "1e5", "12.3.4", "0.001", "1 2"])


def money(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


@st.composite
def lines(draw: st.DrawFn) -> Line:
    kind = draw(
        st.sampled_from(
            [
                "credit",
                "credit",
                "credit",
                "debit",
                "zero",
                "blank",
                "empty_cells",
                "no_txn",
                "bad_date_credit",
                "bad_date_debit",
                "bad_amount",
                "bad_amount_bad_date",
                "missing_amount",
                "footer",
                "quoted_credit",
                "repeated_header",
            ]
        )
    )
    text = draw(words)
    if kind == "credit":
        minor = draw(cents)
        plus = draw(st.sampled_from(["", "+"]))
        return Line(f"{draw(dates)},{plus}{money(minor)},{text}", VALID, minor)
    if kind == "debit":
        return Line(f"{draw(dates)},-{money(draw(cents))},{text}", SKIPPED)
    if kind == "zero":
        return Line(f"{draw(dates)},{draw(st.sampled_from(['0', '0.00', '-0.00', '+0']))},{text}", SKIPPED)
    if kind == "blank":
        return Line(draw(st.sampled_from(["", "   "])), SKIPPED)
    if kind == "empty_cells":
        return Line(",,", SKIPPED)
    if kind == "no_txn":
        return Line(f",,note {text}", SKIPPED)
    if kind == "bad_date_credit":
        return Line(f"{draw(bad_dates)},{money(draw(cents))},{text}", REJECTED)
    if kind == "bad_date_debit":
        return Line(f"{draw(bad_dates)},-{money(draw(cents))},{text}", SKIPPED)
    if kind == "bad_amount":
        return Line(f"{draw(dates)},{draw(bad_amounts)},{text}", REJECTED)
    if kind == "bad_amount_bad_date":
        return Line(f"{draw(bad_dates)},{draw(bad_amounts)},{text}", REJECTED)
    if kind == "missing_amount":
        return Line(f"{draw(dates)},,{text}", REJECTED)
    if kind == "quoted_credit":  # a delimiter and a doubled quote inside a quoted text cell
        minor = draw(cents)
        return Line(f'{draw(dates)},{money(minor)},"{text}, ""{text}"""', VALID, minor)
    if kind == "repeated_header":
        return Line(HEADER, SKIPPED)
    assert kind == "footer"
    label = draw(st.sampled_from(["Total", "TOTAL", "Summe", "Saldo", "Closing balance", "sum"]))
    return Line(f"{label},{money(draw(cents))},", SKIPPED)


@st.composite
def statements(draw: st.DrawFn) -> tuple[list[str], list[Line], str, bool]:
    preamble = draw(st.lists(st.sampled_from(["Account,DE89 3704,", "Statement March", ""]), max_size=3))
    body = draw(st.lists(lines(), min_size=1, max_size=25))  # header-only files are unusable
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    final_newline = draw(st.booleans())
    return preamble, body, newline, final_newline


@settings(max_examples=60, deadline=None)
@given(statements())
def test_every_line_is_accounted_for_once(statement: tuple[list[str], list[Line], str, bool]) -> None:
    preamble, body, newline, final_newline = statement
    physical = [*preamble, HEADER, *(ln.text for ln in body)]
    if physical[-1] == "":
        final_newline = True  # an empty last line exists only if a line end closes it
    content = newline.join(physical) + (newline if final_newline else "")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "statement.csv"
        path.write_bytes(content.encode("utf-8"))
        result = validate_file(path, CONFIG)
        s = result.summary()

    expected_valid = [ln for ln in body if ln.fate == VALID]
    assert s["rows_read"] == len(physical)
    assert s["rows_read"] == s["rows_valid"] + s["rows_rejected"] + s["rows_skipped"]
    assert s["rows_valid"] == len(expected_valid)
    assert Decimal(s["amount_valid"]) == Decimal(sum(ln.minor for ln in expected_valid)) / 100
    assert s["rows_rejected"] == sum(ln.fate == REJECTED for ln in body)
    assert s["rows_skipped"] == len(preamble) + 1 + sum(ln.fate == SKIPPED for ln in body)

    first_body_line = len(preamble) + 2
    valid_rows = [first_body_line + i for i, ln in enumerate(body) if ln.fate == VALID]
    rejected_rows = {first_body_line + i for i, ln in enumerate(body) if ln.fate == REJECTED}
    rows = result.payments.rows
    assert rows["source_row"].tolist() == valid_rows
    assert rows["amount_minor"].tolist() == [-ln.minor for ln in expected_valid]
    assert rows["lineNumber"].tolist() == [10000 * k for k in range(1, len(valid_rows) + 1)]
    assert rows["key"].is_unique
    assert result.rejected_rows == rejected_rows
