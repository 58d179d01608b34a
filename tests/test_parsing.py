"""Amounts and dates from text: exact round trips (hypothesis) and every documented refusal.

Expected values are worked out from the rules in ``pipeline.parsing``'s docstrings and the
reason codes it names, never by printing what the parser returns. Amounts are compared as
integers of minor units built with integer arithmetic; no value in these tests is a float.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.config import AmountSpec
from pipeline.parsing import (
    YY_FUTURE,
    YY_PAST,
    DateWindow,
    Parsed,
    calendar_days,
    parse_amounts,
    parse_dates,
    two_digit_years,
)

FAST = settings(max_examples=200, deadline=None)

# (decimal mark, thousands mark) pairs an AmountSpec accepts (the two marks must differ).
MARKS = [
    (".", ""),
    (".", ","),
    (".", "'"),
    (".", " "),
    (",", ""),
    (",", "."),
    (",", "'"),
    (",", " "),
]
# The profile currency, and the ways a statement writes it next to a number.
CURRENCIES = {"EUR": ("EUR", "eur", "€"), "USD": ("USD", "$"), "GBP": ("GBP", "£"), "CHF": ("CHF",)}


def _spec(decimal_mark: str = ".", thousands_mark: str = "") -> AmountSpec:
    return AmountSpec.model_validate({"decimal_mark": decimal_mark, "thousands_mark": thousands_mark})


def _amounts(values: list[str], spec: AmountSpec, decimals: int = 2, currency: str = "EUR") -> Parsed:
    return parse_amounts(pd.Series(values, dtype="str"), spec, decimals, currency)


def _one_amount(value: str, spec: AmountSpec, decimals: int = 2, currency: str = "EUR") -> tuple[object, str]:
    parsed = _amounts([value], spec, decimals, currency)
    return parsed.value.iloc[0], str(parsed.error[0])


TODAY = dt.date(2026, 12, 2)
# No earliest or latest date: the calendar alone (two-digit years still need a run date).
CALENDAR = DateWindow(TODAY, None, None)


def _dates(values: list[str], *formats: str, window: DateWindow = CALENDAR) -> Parsed:
    return parse_dates(pd.Series(values, dtype="str"), formats, window)


# ---------------------------------------------------------------------------------------------
# Amounts: round trip


def _digits(whole: int, thousands: str, group: bool) -> str:
    """The integer part, grouped by threes with ``thousands`` when ``group``."""
    text = str(whole)
    if not group:
        return text
    head = len(text) % 3 or 3
    groups = [text[:head]] + [text[i : i + 3] for i in range(head, len(text), 3)]
    return thousands.join(groups)


@st.composite
def written_amount(draw: st.DrawFn, decimals: int, dec: str, th: str, currency: str) -> tuple[str, int]:
    """An exact amount in minor units and one way a statement may write it."""
    minor = draw(st.integers(min_value=-(10**13) + 1, max_value=10**13 - 1))
    whole, frac = divmod(abs(minor), 10**decimals)
    number = _digits(whole, th, bool(th) and draw(st.booleans()))
    if th == " " and draw(st.booleans()):
        number = number.replace(" ", draw(st.sampled_from(["\u00a0", "\u202f"])))
    frac_text = str(frac).zfill(decimals) if decimals else ""
    # Fewer decimals than the currency has is exact (2.5 is 2.50); more is refused, zeros or not
    # (test_amount_with_more_decimals_than_the_currency_is_refused_even_zeros).
    if draw(st.booleans()):
        frac_text = frac_text.rstrip("0")
    if frac_text:
        number += dec + frac_text

    symbol = draw(st.sampled_from(["", *CURRENCIES[currency]]))
    where = draw(st.sampled_from(["before", "after"]))
    gap = draw(st.sampled_from(["", " "])) if symbol else ""
    prefix, suffix = (symbol + gap, "") if where == "before" else ("", gap + symbol)

    if minor < 0:
        sign_at = draw(st.sampled_from(["lead", "mid", "trail"]))
        sign = "-"
    else:
        sign_at = draw(st.sampled_from(["lead", "mid"]))
        sign = draw(st.sampled_from(["", "+"]))
    if sign_at == "lead":
        text = sign + prefix + number + suffix
    elif sign_at == "mid":
        text = prefix + sign + number + suffix
    else:
        text = prefix + number + suffix + sign
    pad = draw(st.sampled_from(["", " ", "\u00a0"]))
    return pad + text + pad, minor


@st.composite
def amount_case(draw: st.DrawFn) -> tuple[AmountSpec, int, str, list[tuple[str, int]]]:
    dec, th = draw(st.sampled_from(MARKS))
    decimals = draw(st.sampled_from([0, 2, 3]))
    currency = draw(st.sampled_from(sorted(CURRENCIES)))
    rows = draw(st.lists(written_amount(decimals, dec, th, currency), min_size=1, max_size=4))
    return _spec(dec, th), decimals, currency, rows


@settings(max_examples=150, deadline=None)  # each example is a list of up to four amounts
@given(amount_case())
def test_amount_round_trip_is_exact(case: tuple[AmountSpec, int, str, list[tuple[str, int]]]) -> None:
    spec, decimals, currency, rows = case
    texts = [t for t, _ in rows]
    # A non-default index: values must stay aligned with their rows.
    index = pd.RangeIndex(100, 100 + len(rows))
    parsed = parse_amounts(pd.Series(texts, index=index, dtype="str"), spec, decimals, currency)
    assert len(parsed.error) == len(index)  # positional, like the input rows
    assert list(parsed.value.index) == list(index)
    for pos, (text, minor) in enumerate(rows):
        assert parsed.error[pos] == "", (text, parsed.error[pos])
        got = parsed.value.iloc[pos]
        assert not pd.isna(got), text
        assert int(got) == minor, (text, got)
        assert not parsed.empty[pos]


@FAST
@given(
    st.integers(min_value=-(10**13) + 1, max_value=10**13 - 1),
    st.sampled_from(MARKS),
)
def test_amount_with_too_many_significant_decimals_is_refused(minor: int, marks: tuple[str, str]) -> None:
    """One more significant decimal than the currency has: refused, never rounded."""
    dec, th = marks
    whole, frac = divmod(abs(minor), 100)
    text = ("-" if minor < 0 else "") + str(whole) + dec + str(frac).zfill(2) + "5"
    value, error = _one_amount(text, _spec(dec, th), decimals=2)
    assert error == "amount_decimals"
    assert pd.isna(value)


@FAST
@given(
    st.integers(min_value=0, max_value=10**12),
    st.sampled_from(MARKS),
    st.sampled_from([0, 2, 3]),
    st.text(alphabet="0123456789", min_size=1, max_size=4),
    st.booleans(),
)
def test_amount_with_more_decimals_than_the_currency_is_refused_even_zeros(
    whole: int, marks: tuple[str, str], decimals: int, extra: str, group: bool
) -> None:
    """Any amount text with more decimals than the currency has is refused, whatever the extra
    digits are (``2.500`` was 2.50: issue 10), grouped or not, in every pair of marks."""
    dec, th = marks
    frac = "7" * decimals + extra  # decimals + 1 to decimals + 4 digits, the extra ones often zeros
    text = _digits(whole, th, bool(th) and group) + dec + frac
    value, error = _one_amount(text, _spec(dec, th), decimals=decimals)
    assert error == "amount_decimals", text
    assert pd.isna(value)


@FAST
@given(
    st.integers(min_value=1000, max_value=10**12),
    st.sampled_from([(",", " "), (".", " "), (",", "."), (".", ","), (",", ""), (".", "")]),
    st.sampled_from(["\t", "\n", "\r", "\u2009", "\u2007", "\u3000", "\x0b", "  "]),
)
def test_whitespace_inside_a_number_that_is_not_the_mark_is_refused(
    whole: int, marks: tuple[str, str], space: str
) -> None:
    """A TAB, line break or other space between digit groups is never a thousands mark."""
    dec, th = marks
    grouped = _digits(whole, " ", True).replace(" ", space)
    value, error = _one_amount(grouped + dec + "00", _spec(dec, th))
    assert error == "amount_whitespace", repr(grouped)
    assert pd.isna(value)


# ---------------------------------------------------------------------------------------------
# Amounts: refusals and edges named in the brief and the module docstring


def test_thousands_comma_in_a_decimal_comma_profile_is_refused() -> None:
    value, error = _one_amount("1,234.56", _spec(",", "."))
    assert error == "amount_format"
    assert pd.isna(value)


def test_point_in_a_decimal_comma_profile_without_thousands_is_refused() -> None:
    value, error = _one_amount("12.345", _spec(",", ""))
    assert error == "amount_format"
    assert pd.isna(value)


def test_third_decimal_refused_even_when_zero() -> None:
    """``10.500`` was read as 10.50 (issue 10): it may be 10,500 with a thousands mark the profile
    does not expect, so it is refused like ``99.999``."""
    parsed = _amounts(["99.999", "10.500", "10.5", "10"], _spec(".", ""), decimals=2)
    assert parsed.error.tolist() == ["amount_decimals", "amount_decimals", "", ""]
    assert parsed.value.iloc[:2].isna().all()
    assert [int(v) for v in parsed.value.iloc[2:]] == [1050, 1000]


def test_zero_decimal_currency() -> None:
    parsed = _amounts(["1500", "1,500", "1500.0", "1500.5", "1.500"], _spec(".", ","), decimals=0, currency="JPY")
    assert parsed.error.tolist() == ["", "", "amount_decimals", "amount_decimals", "amount_decimals"]
    assert [int(v) for v in parsed.value.iloc[:2]] == [1500, 1500]


def test_three_decimal_currency() -> None:
    parsed = _amounts(["12.345", "12.3456", "12.3450", "1,000", "1.000"], _spec(".", ","), decimals=3, currency="KWD")
    assert parsed.error.tolist() == ["", "amount_decimals", "amount_decimals", "", ""]
    assert [int(parsed.value.iloc[i]) for i in (0, 3, 4)] == [12345, 1000000, 1000]


def test_other_currency_is_refused() -> None:
    parsed = _amounts(["USD 12.00", "12.00 $", "£5.00", "12.00 EUR", "€ 12.00", "eur12.00"], _spec())
    assert parsed.error.tolist() == ["currency_mismatch"] * 3 + [""] * 3
    assert [int(v) for v in parsed.value.iloc[3:]] == [1200, 1200, 1200]


def test_more_than_one_sign_is_refused() -> None:
    parsed = _amounts(["--5", "+-5", "-5-", "- EUR -5", "-5", "+5", "5-", "- 5"], _spec())
    assert parsed.error.tolist() == ["amount_format"] * 4 + [""] * 4
    assert parsed.value.iloc[:4].isna().all()
    assert [int(v) for v in parsed.value.iloc[4:]] == [-500, 500, -500, -500]


@pytest.mark.parametrize(
    ("text", "dec", "th"),
    [
        ("1,23,456.00", ".", ","),  # grouping not by threes
        ("12,5", ".", ","),  # a thousands mark must be followed by three digits
        ("1.2.3", ",", "."),
        ("1,2,3", ",", "."),
        ("abc", ".", ""),
        ("12.00 EURO", ".", ""),
        ("1e5", ".", ""),
        ("0x10", ".", ""),
        ("(12.00)", ".", ""),
        ("12..00", ".", ""),
        ("EUR", ".", ""),
        ("-", ".", ""),
    ],
)
def test_malformed_amount_is_refused(text: str, dec: str, th: str) -> None:
    value, error = _one_amount(text, _spec(dec, th))
    assert error == "amount_format", text
    assert pd.isna(value)


def test_separators_and_guards() -> None:
    parsed = _amounts(
        ["1.234,56", "1 234,56", "1\u00a0234,56", "1234,56", "'1.234,56", "  -1.234,56  ", ",5"],
        _spec(",", "."),
    )
    # "1 234,56" and "1\u00a0234,56" use a mark this profile does not have: refused.
    assert parsed.error.tolist() == ["", "amount_whitespace", "amount_whitespace", "", "", "", ""]
    got = [None if pd.isna(v) else int(v) for v in parsed.value]
    assert got == [123456, None, None, 123456, 123456, -123456, 50]


def test_space_thousands_accepts_no_break_spaces() -> None:
    parsed = _amounts(["1 234,56", "1\u00a0234,56", "1\u202f234,56", "12 345 678,00"], _spec(",", " "))
    assert parsed.error.tolist() == [""] * 4
    assert [int(v) for v in parsed.value] == [123456, 123456, 123456, 1234567800]


def test_empty_amount_is_empty_not_an_error() -> None:
    parsed = _amounts(["", "   ", "\u00a0"], _spec())
    assert parsed.empty.tolist() == [True, True, True]
    assert parsed.error.tolist() == ["", "", ""]
    assert parsed.value.isna().all()


def test_integer_part_over_fifteen_digits_is_too_large() -> None:
    parsed = _amounts(["123456789012345.00", "1234567890123456.00", "1,234,567,890,123,456"], _spec(".", ","))
    assert parsed.error.tolist() == ["", "amount_too_large", "amount_too_large"]
    assert int(parsed.value.iloc[0]) == 12345678901234500


def test_trailing_zeros_beyond_any_integer_width_are_refused_not_a_crash() -> None:
    """``1.0000000000000000000000`` has 22 decimals where EUR has 2: refused (it was read as 1.00)."""
    value, error = _one_amount("1." + "0" * 22, _spec(".", ""), decimals=2)
    assert error == "amount_decimals"
    assert pd.isna(value)


def test_many_decimals_are_refused_not_a_crash() -> None:
    value, error = _one_amount("0." + "0" * 19 + "1", _spec(".", ""), decimals=2)
    assert error == "amount_decimals"
    assert pd.isna(value)


def test_amount_whose_minor_units_do_not_fit_is_too_large() -> None:
    """15 integer digits and 4 decimals (each allowed) make 19 digits of minor units: more than int64 holds."""
    value, error = _one_amount("999999999999999.9999", _spec(".", ""), decimals=4)
    assert error == "amount_too_large"
    assert pd.isna(value)


# ---------------------------------------------------------------------------------------------
# Dates: round trip

DATE_FORMATS = ["%d.%m.%Y", "%Y-%m-%d", "%m/%d/%Y", "%d-%b-%Y", "%Y%m%d", "%d.%m.%y", "%d/%m/%Y", "%d %b %Y"]


@st.composite
def date_case(draw: st.DrawFn) -> tuple[str, list[dt.date]]:
    fmt = draw(st.sampled_from(DATE_FORMATS))
    # %y is read within 50 years before and 20 after the run year (TODAY): 1976..2046.
    if "%y" in fmt:
        low, high = dt.date(1976, 1, 1), dt.date(2046, 12, 31)
    else:
        low, high = dt.date(1900, 1, 1), dt.date(2099, 12, 31)
    days = draw(st.lists(st.dates(min_value=low, max_value=high), min_size=1, max_size=6))
    return fmt, days


@FAST
@given(date_case())
def test_date_round_trip(case: tuple[str, list[dt.date]]) -> None:
    fmt, days = case
    parsed = _dates([d.strftime(fmt) for d in days], fmt)
    assert parsed.error.tolist() == [""] * len(days)
    assert [ts.date() for ts in parsed.value] == days


@FAST
@given(st.lists(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31)), min_size=1, max_size=6))
def test_unpadded_day_and_month_are_read(days: list[dt.date]) -> None:
    """strptime reads ``1.2.2024`` with %d.%m.%Y; so does the parser."""
    parsed = _dates([f"{d.day}.{d.month}.{d.year}" for d in days], "%d.%m.%Y")
    assert parsed.error.tolist() == [""] * len(days)
    assert [ts.date() for ts in parsed.value] == days


@FAST
@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31)))
def test_two_formats_agree_or_are_ambiguous(day: dt.date) -> None:
    """Under both day-first and month-first, a date is ambiguous exactly when both readings differ."""
    text = day.strftime("%d/%m/%Y")
    parsed = _dates([text], "%d/%m/%Y", "%m/%d/%Y")
    if day.day == day.month:
        assert parsed.error[0] == ""
        assert parsed.value.iloc[0].date() == day
    elif day.day <= 12:
        assert parsed.error[0] == "date_ambiguous"
        assert pd.isna(parsed.value.iloc[0])
    else:
        assert parsed.error[0] == ""
        assert parsed.value.iloc[0].date() == day


# ---------------------------------------------------------------------------------------------
# Dates: refusals


@pytest.mark.parametrize(
    ("text", "fmt", "expected"),
    [
        ("31.02.2024", "%d.%m.%Y", "date_invalid"),
        ("29.02.2023", "%d.%m.%Y", "date_invalid"),
        ("29.02.2024", "%d.%m.%Y", dt.date(2024, 2, 29)),
        ("29.02.1900", "%d.%m.%Y", "date_invalid"),  # divisible by 100, not by 400
        ("29.02.2000", "%d.%m.%Y", dt.date(2000, 2, 29)),
        ("31.04.2024", "%d.%m.%Y", "date_invalid"),
        ("00.01.2024", "%d.%m.%Y", "date_invalid"),
        ("01.00.2024", "%d.%m.%Y", "date_invalid"),
        ("31.12.2024", "%d.%m.%Y", dt.date(2024, 12, 31)),
        # The shape fits (two digits, slash, two digits...) but 13 is not a month: "does not
        # exist in the calendar" (date_invalid), not "does not match the format".
        ("13/25/2024", "%m/%d/%Y", "date_invalid"),
        ("12/25/2024", "%m/%d/%Y", dt.date(2024, 12, 25)),
        ("20240230", "%Y%m%d", "date_invalid"),
        ("20240229", "%Y%m%d", dt.date(2024, 2, 29)),
        ("29.02.23", "%d.%m.%y", "date_invalid"),
        ("29.02.24", "%d.%m.%y", dt.date(2024, 2, 29)),
        # Two-digit years: within [run year - 50, run year + 20] (run date 2026-12-02), else refused.
        # 68 was 2068 (Python's 1969 pivot, issue 10): 1968 or 2068, neither is in the window.
        ("01.03.69", "%d.%m.%y", "date_two_digit_year"),
        ("01.03.68", "%d.%m.%y", "date_two_digit_year"),
        ("01.03.47", "%d.%m.%y", "date_two_digit_year"),
        ("01.03.46", "%d.%m.%y", dt.date(2046, 3, 1)),
        ("01.03.76", "%d.%m.%y", dt.date(1976, 3, 1)),
        ("01.03.75", "%d.%m.%y", "date_two_digit_year"),
        ("01.03.99", "%d.%m.%y", dt.date(1999, 3, 1)),
        ("010368", "%d%m%y", "date_two_digit_year"),
        ("010399", "%d%m%y", dt.date(1999, 3, 1)),
        ("2024-03-01", "%d.%m.%Y", "date_format"),
        ("01.03.24", "%d.%m.%Y", "date_format"),
        ("1 March", "%d.%m.%Y", "date_format"),
        ("yesterday", "%Y-%m-%d", "date_format"),
        (" 2024-03-01 ", "%Y-%m-%d", dt.date(2024, 3, 1)),
        ("'2024-03-01", "%Y-%m-%d", dt.date(2024, 3, 1)),
        ("01-Mar-2024", "%d-%b-%Y", dt.date(2024, 3, 1)),
        ("30-Feb-2024", "%d-%b-%Y", "date_invalid"),
    ],
)
def test_date_verdicts(text: str, fmt: str, expected: str | dt.date) -> None:
    parsed = _dates([text], fmt)
    if isinstance(expected, dt.date):
        assert parsed.error[0] == ""
        assert parsed.value.iloc[0].date() == expected
    else:
        assert parsed.error[0] == expected
        assert pd.isna(parsed.value.iloc[0])


@FAST
@given(st.integers(0, 99), st.integers(1900, 9000))
def test_a_two_digit_year_lands_in_the_window_or_nowhere(yy: int, run_year: int) -> None:
    """The year ends in ``yy`` and lies within [run year - 50, run year + 20]; where no such year
    exists, it is refused (0). The window is shorter than a century, so there is never a choice."""
    got = int(two_digit_years(np.array([yy]), run_year)[0])
    fits = [y for y in range(run_year - YY_PAST, run_year + YY_FUTURE + 1) if y % 100 == yy]
    assert len(fits) <= 1
    assert got == (fits[0] if fits else 0)


@FAST
@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31)), st.integers(0, 400))
def test_dates_outside_the_window_are_refused(day: dt.date, ahead: int) -> None:
    window = DateWindow.ahead(TODAY, dt.date(1990, 1, 1), ahead)
    parsed = _dates([day.isoformat()], "%Y-%m-%d", window=window)
    if day < dt.date(1990, 1, 1):
        assert parsed.error[0] == "date_too_early"
    elif day > TODAY + dt.timedelta(days=ahead):
        assert parsed.error[0] == "date_too_late"
    else:
        assert parsed.error[0] == ""
        assert parsed.value.iloc[0].date() == day


def test_day_month_order_ambiguity() -> None:
    parsed = _dates(["03/04/2024", "04/04/2024", "13/04/2024", "04/13/2024", "13/13/2024"], "%d/%m/%Y", "%m/%d/%Y")
    assert parsed.error.tolist() == ["date_ambiguous", "", "", "", "date_invalid"]
    assert pd.isna(parsed.value.iloc[0])
    assert [ts.date() for ts in parsed.value.iloc[1:4]] == [
        dt.date(2024, 4, 4),
        dt.date(2024, 4, 13),
        dt.date(2024, 4, 13),
    ]


def test_empty_date_is_empty_not_an_error() -> None:
    parsed = _dates(["", "  ", "2024-03-01"], "%Y-%m-%d")
    assert parsed.empty.tolist() == [True, True, False]
    assert parsed.error.tolist() == ["", "", ""]
    assert parsed.value.iloc[:2].isna().all()


@pytest.mark.parametrize("formats", [("%d.%m.%Y",), ("%d.%m.%Y", "%Y-%m-%d"), ("%d.%m.%y", "%m/%d/%Y"), ("%d %b %Y",)])
def test_calendar_days_of_distinct_values_agree_with_value_by_value(formats: tuple[str, ...]) -> None:
    """A long column is judged once per distinct text: the verdicts equal those of short columns,
    which are judged value by value, on tricky values repeated many times."""
    tricky = [
        "31.02.2026", "29.02.2024", "29.02.2025", " 01.02.2026 ", "'01.02.2026", "\u00a001.02.2026", "",
        "2026-13-01", "1.2.2026", "01.02.26", "01.02.75", "12/31/2026", "02/30/2026", "3 Mar 2026",
        "03 mar. 2026", "01.02.2026x", "0001-01-01", "9999-12-31", "01.02.2O26", "２０２６-01-01",
    ]  # fmt: skip
    column = pd.Series(tricky * 400, dtype="str")
    days, error, empty = calendar_days(column, formats, 2026)
    for i, value in enumerate(tricky):
        one_days, one_error, one_empty = calendar_days(pd.Series([value], dtype="str"), formats, 2026)
        at = np.arange(i, len(column), len(tricky))
        assert (days[at] == one_days[0]).all(), value
        assert (error[at] == one_error[0]).all(), value
        assert (empty[at] == one_empty[0]).all(), value
