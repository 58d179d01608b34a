"""Strict, vectorised parsing of amounts and dates from text.

Amounts become integer minor units (exact; no float anywhere). A value that does not fit
the profile's format is an error with a reason, never a reinterpretation: ``1,234.56`` in
a decimal-comma profile is refused, not read as 1.23456 or 123456. Dates must match one of
the profile's formats and be real calendar dates (``31.02.2024`` is refused; pyarrow's
strptime would silently roll it into March).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.config import AmountSpec
from schemas.codes import Reject

SYMBOLS = {"£": "GBP", "$": "USD", "€": "EUR", "¥": "JPY"}
_MAX_INT_DIGITS = 15
_MAX_DIGITS = 18  # int64 holds any 18-digit number
_WS = "[\\s\u00a0\u202f]"
_MONTHS = {
    m: i
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for m in names
}


@dataclass(frozen=True)
class Parsed:
    """Values aligned with the input; ``error`` holds a reason code where a value was refused."""

    value: pd.Series
    error: np.ndarray
    empty: np.ndarray


def _arrow(s: pd.Series) -> pa.Array:
    arr = pa.array(s.to_numpy(dtype=object, na_value=""), type=pa.string()) if s.dtype == object else None
    if arr is None:
        arr = pa.Array.from_pandas(s.astype("str"))
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.type != pa.string():
        arr = arr.cast(pa.string())
    return pc.fill_null(arr, "")


def clean_text(arr: pa.Array) -> pa.Array:
    """Trim whitespace (including no-break spaces) and an Excel text-guard apostrophe."""
    arr = pc.utf8_trim(arr, " \t\u00a0\u202f")
    return pc.utf8_ltrim(arr, "'")


_SPACE_MARKS = "[ \u00a0\u202f]"
"""What ``thousands_mark: " "`` matches: a space, a no-break space (U+00A0) or a narrow no-break
space (U+202F). Spreadsheets and French/Swiss/Nordic locale exports write the digit-grouping space
as one of the no-break kinds, and each can only ever be that mark: none of them ends a line or
separates fields. A TAB, a line break or any other space inside a number is refused
(``amount_whitespace``): it is what a cell joined from two cells or a broken line looks like."""

# Whitespace between two characters of a number (digits or marks): refused as amount_whitespace
# where the number does not otherwise match the profile's format.
_INNER_SPACE = r"[\d.,'][\s\v\p{Z}\x{85}]+[\d.,']"


def _number_pattern(spec: AmountSpec) -> str:
    """The number: digits with at most one decimal mark, or groups of three split by the thousands
    mark. How many decimals it may have is checked afterwards, so that too many is its own code."""
    dec = re.escape(spec.decimal_mark)
    plain = rf"\d+(?:{dec}\d*)?|{dec}\d+"
    if not spec.thousands_mark:
        return plain
    th = _SPACE_MARKS if spec.thousands_mark == " " else re.escape(spec.thousands_mark)
    return rf"\d{{1,3}}(?:{th}\d{{3}})+(?:{dec}\d*)?|{plain}"


def amount_regex(spec: AmountSpec) -> str:
    """Sign, optional currency symbol or code on either side, then the number."""
    cur = r"[A-Za-z]{3}|[£$€¥]"
    return (
        rf"^(?P<s1>[+-]?){_WS}*(?P<c1>{cur})?{_WS}*(?P<s2>[+-]?){_WS}*(?P<num>{_number_pattern(spec)})"
        rf"{_WS}*(?P<c2>{cur})?{_WS}*(?P<s3>-?)$"
    )


def _simple_regex(spec: AmountSpec) -> str:
    """The shape almost every row has: an optional sign and the number, nothing else."""
    return rf"^[+-]?(?:{_number_pattern(spec)})$"


def parse_amounts(text: pd.Series, spec: AmountSpec, decimals: int, currency: str) -> Parsed:
    """Text -> signed integer minor units of ``currency``; errors carry a reason code.

    The common shape (sign and number) is matched with one RE2 pass; only the rest goes
    through the full pattern with currency symbols and codes. The number becomes an
    integer by removing its marks and scaling by the count of decimals it had, so no value
    ever passes through float.

    More decimals than the currency has is refused (``amount_decimals``) even when the extra
    digits are zeros: ``2.500`` in a EUR file may be 2.50 written with three decimals or 2,500
    written with a thousands mark the profile does not expect, and reading it as 2.50 would post
    a thousandth of the payment if it is the latter. The profile's marks settle every other case:
    ``1.000`` under decimal ``,`` / thousands ``.`` is one thousand (the grouping fits, no decimals).
    """
    n = len(text)
    arr = clean_text(_arrow(text))
    empty = pc.equal(arr, "").to_numpy(zero_copy_only=False)
    shape = _match_shapes(arr, empty, spec, currency)
    num = _without_thousands_marks(shape.num, spec)
    length, point, frac_len = _places(num, spec)
    digits = pc.replace_substring(num, spec.decimal_mark, "")
    digit_count = length - (point >= 0)
    matched = shape.matched
    bad_decimals = matched & (frac_len > decimals)
    int_digits = digit_count - frac_len
    too_large = matched & ~bad_decimals & ((int_digits > _MAX_INT_DIGITS) | (int_digits + decimals > _MAX_DIGITS))
    usable = matched & ~too_large & ~bad_decimals & (digit_count > 0)
    digits = pc.if_else(pa.array(usable), digits, "0")
    digits = pc.if_else(pc.equal(digits, ""), "0", digits)
    whole = pc.cast(digits, pa.int64()).to_numpy(zero_copy_only=False)
    minor = whole * np.power(10, np.where(usable, decimals - frac_len, 0), dtype=np.int64)
    minor = np.where(shape.negative, -minor, minor)
    error = np.full(n, "", dtype=object)
    unmatched = ~matched & ~empty
    error[unmatched] = Reject.AMOUNT_FORMAT
    error[_has_inner_space(arr, unmatched)] = Reject.AMOUNT_WHITESPACE
    error[bad_decimals] = Reject.AMOUNT_DECIMALS
    error[too_large] = Reject.AMOUNT_TOO_LARGE
    error[shape.wrong_currency & usable] = Reject.CURRENCY_MISMATCH
    value = pd.Series(pd.array(minor, dtype="Int64"), index=text.index)
    value[~usable] = pd.NA
    return Parsed(value, error, empty)


def _has_inner_space(arr: pa.Array, unmatched: np.ndarray) -> np.ndarray:
    """Among values that did not match, those with whitespace between two characters of the number."""
    out = np.zeros(len(arr), dtype=bool)
    rest = np.flatnonzero(unmatched)
    if rest.size:
        found = pc.match_substring_regex(arr.take(pa.array(rest)), _INNER_SPACE)
        out[rest] = found.to_numpy(zero_copy_only=False)
    return out


@dataclass(frozen=True)
class _Shapes:
    """Per value: did it match an amount shape, is it negative, does it name another currency, and
    the number's text (sign, symbols and codes removed; marks still in)."""

    matched: np.ndarray
    negative: np.ndarray
    wrong_currency: np.ndarray
    num: pa.Array


def _match_shapes(arr: pa.Array, empty: np.ndarray, spec: AmountSpec, currency: str) -> _Shapes:
    """Match the simple shape over all values, then the full pattern over the rest only."""
    n = len(arr)
    simple = pc.match_substring_regex(arr, _simple_regex(spec)).to_numpy(zero_copy_only=False)
    negative = pc.starts_with(arr, "-").to_numpy(zero_copy_only=False)
    num = pc.utf8_ltrim(arr, "+-")
    matched = simple.copy()
    wrong_currency = np.zeros(n, dtype=bool)
    rest = np.flatnonzero(~simple & ~empty)
    if rest.size:
        sub = pc.extract_regex(arr.take(pa.array(rest)), amount_regex(spec))
        ok = pc.is_valid(sub).to_numpy(zero_copy_only=False)
        signs = [pc.fill_null(pc.struct_field(sub, f"s{i}"), "") for i in (1, 2, 3)]
        nsigns = sum(pc.not_equal(sg, "").to_numpy(zero_copy_only=False).astype(int) for sg in signs)
        neg = np.logical_or.reduce([pc.equal(sg, "-").to_numpy(zero_copy_only=False) for sg in signs])
        good = ok & (nsigns <= 1)
        matched[rest] = good
        negative[rest] = neg & good
        wrong_currency[rest] = _names_other_currency(sub, currency) & good
        sub_num = pc.fill_null(pc.struct_field(sub, "num"), "")
        mask = np.zeros(n, dtype=bool)
        mask[rest] = True
        num = pc.replace_with_mask(num, pa.array(mask), sub_num.cast(num.type))
    return _Shapes(matched, negative, wrong_currency, num)


def _names_other_currency(sub: pa.Array, currency: str) -> np.ndarray:
    """True where a currency symbol or code on either side of the number is not ``currency``."""
    codes = [_currency_codes(pc.fill_null(pc.struct_field(sub, c), "")) for c in ("c1", "c2")]
    cur = currency.upper()
    return np.logical_or.reduce(  # type: ignore[no-any-return]
        [
            (pc.not_equal(c, "").to_numpy(zero_copy_only=False) & pc.not_equal(c, cur).to_numpy(zero_copy_only=False))
            for c in codes
        ]
    )


def _without_thousands_marks(num: pa.Array, spec: AmountSpec) -> pa.Array:
    if not spec.thousands_mark:
        return num
    if spec.thousands_mark == " ":
        return pc.replace_substring_regex(num, _SPACE_MARKS, "")
    return pc.replace_substring(num, spec.thousands_mark, "")


def _places(num: pa.Array, spec: AmountSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(length of the number text, position of the decimal mark or -1, count of decimals written)."""
    length = pc.utf8_length(num).to_numpy(zero_copy_only=False).astype("int64")
    point = pc.find_substring(num, spec.decimal_mark).to_numpy(zero_copy_only=False).astype("int64")
    return length, point, np.where(point >= 0, length - point - 1, 0)


def _currency_codes(arr: pa.Array) -> pa.Array:
    upper = pc.utf8_upper(arr)
    for sym, code in SYMBOLS.items():
        upper = pc.if_else(pc.equal(upper, sym), code, upper)
    return upper


def date_regex(fmt: str) -> str:
    """A strptime-style format as an anchored regex with named groups Y, y, m, b, d.

    Day and month may be written with one digit (``2/1/2020``) only where a separator follows
    or precedes them; in a compact format such as ``%d%m%Y`` they must have two, or ``1022024``
    could be read as 1 February or 10 February.
    """
    out, i = [], 0
    compact = bool(re.search(r"%[dmYyHMS]%[dmYyHMS]", fmt))
    width = r"\d{2}" if compact else r"\d{1,2}"
    pieces = {
        "d": rf"(?P<d>{width})",
        "m": rf"(?P<m>{width})",
        "Y": r"(?P<Y>\d{4})",
        "y": r"(?P<y>\d{2})",
        "b": r"(?P<b>[A-Za-z]{3,4}\.?)",
        "B": r"(?P<b>[A-Za-z]{3,9})",
        "H": r"(?:[01]?\d|2[0-3])",
        "M": r"[0-5]\d",
        "S": r"[0-5]\d",
        "f": r"\d{1,9}",
        "%": "%",
    }
    while i < len(fmt):
        ch = fmt[i]
        if ch == "%" and i + 1 < len(fmt):
            out.append(pieces[fmt[i + 1]])
            i += 2
        elif ch == " ":
            out.append(r"\s+")
            i += 1
        else:
            out.append(re.escape(ch))
            i += 1
    return "^" + "".join(out) + "$"


_FIXED = {"d": 2, "m": 2, "Y": 4, "y": 2, "H": 2, "M": 2, "S": 2}


def _fixed_layout(fmt: str) -> tuple[str, dict[str, int]] | None:
    """For a format of zero-padded numbers and literals: an anchored regex and each field's offset."""
    out: list[str] = []
    offsets: dict[str, int] = {}
    pos = i = 0
    while i < len(fmt):
        if fmt[i] == "%":
            code = fmt[i + 1] if i + 1 < len(fmt) else ""
            if code not in _FIXED:
                return None
            offsets.setdefault(code, pos)
            out.append(rf"\d{{{_FIXED[code]}}}")
            pos += _FIXED[code]
            i += 2
        else:
            out.append(re.escape(fmt[i]))
            pos += 1
            i += 1
    return "^" + "".join(out) + "$", offsets


def _parse_fixed(arr: pa.Array, fmt: str, layout: tuple[str, dict[str, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Zero-padded values: shape checked by regex, parsed by pyarrow's strptime, then verified.

    strptime alone is no validator (it rolls 31.02. into March), so the day it returns must equal
    the day written in the text; a month or year out of range already makes it return null.
    """
    pattern, offsets = layout
    matched = pc.match_substring_regex(arr, pattern)
    placeholder = dt.datetime(2000, 1, 1).strftime(fmt)
    safe = pc.if_else(matched, arr, pa.scalar(placeholder, arr.type))
    stamps = pc.strptime(safe, format=fmt, unit="s", error_is_null=True)
    start = offsets["d"]
    written_day = pc.cast(pc.utf8_slice_codeunits(safe, start, start + 2), pa.int64())
    real = pc.and_(pc.is_valid(stamps), pc.equal(pc.day(stamps), written_day))
    ok = pc.and_(matched, pc.fill_null(real, False)).to_numpy(zero_copy_only=False)
    seconds = pc.fill_null(pc.cast(stamps, pa.int64()), 0).to_numpy(zero_copy_only=False)
    days = np.where(ok, np.floor_divide(seconds, 86_400), _NO_DATE)
    return days, matched.to_numpy(zero_copy_only=False)


def _parse_one_format(arr: pa.Array, fmt: str, run_year: int) -> tuple[np.ndarray, np.ndarray]:
    """(days since 1970 or _NO_DATE where no real date, did-the-shape-match) for one format.

    Two-digit years never go through pyarrow's strptime (its pivot is 1969): only four-digit
    formats take the fixed-layout fast path.
    """
    layout = _fixed_layout(fmt) if "%y" not in fmt else None
    if layout is None:
        return _parse_general(arr, fmt, run_year)
    days, matched = _parse_fixed(arr, fmt, layout)
    rest = np.flatnonzero(~matched & pc.not_equal(arr, "").to_numpy(zero_copy_only=False))
    if rest.size:
        sub_days, sub_matched = _parse_general(arr.take(pa.array(rest)), fmt, run_year)
        days[rest] = sub_days
        matched[rest] = sub_matched
    return days, matched


def _parse_general(arr: pa.Array, fmt: str, run_year: int) -> tuple[np.ndarray, np.ndarray]:
    """Any supported format, through a regex with named groups."""
    struct = pc.extract_regex(arr, date_regex(fmt))
    matched = pc.is_valid(struct).to_numpy(zero_copy_only=False)
    names = {struct.type.field(i).name for i in range(struct.type.num_fields)}

    def ints(name: str) -> np.ndarray:
        field = pc.fill_null(pc.struct_field(struct, name), "0")
        cleaned = pc.if_else(pc.equal(field, ""), "0", field)
        return np.asarray(pc.cast(cleaned, pa.int64()).to_numpy(zero_copy_only=False))

    year = ints("Y") if "Y" in names else two_digit_years(ints("y"), run_year)
    if "m" in names:
        month = ints("m")
    else:
        words = pc.utf8_lower(pc.utf8_trim(pc.fill_null(pc.struct_field(struct, "b"), ""), "."))
        month = pd.Series(words.to_pandas()).map(_MONTHS).fillna(0).to_numpy(dtype="int64")
    day = ints("d")
    return _days(year, month, day, matched), matched


_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype="int64")


def _days(year: np.ndarray, month: np.ndarray, day: np.ndarray, matched: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 for real calendar dates; -1 (never a valid result here) otherwise."""
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    month_ok = (month >= 1) & (month <= 12)
    dim = _DAYS_IN_MONTH[np.where(month_ok, month, 0)] + (leap & (month == 2))
    ok = matched & month_ok & (day >= 1) & (day <= dim) & (year >= 1) & (year <= 9999)
    months = ((np.where(ok, year, 1970) - 1970) * 12 + np.where(ok, month, 1) - 1).astype("datetime64[M]")
    days = (months.astype("datetime64[D]") + (np.where(ok, day, 1) - 1)).astype("int64")
    return np.where(ok, days, _NO_DATE)


_NO_DATE = np.iinfo(np.int64).min
NO_DATE = _NO_DATE
"""Days-since-1970 value meaning "no date" in :func:`calendar_days`."""

YY_PAST = 50
YY_FUTURE = 20


def two_digit_years(yy: np.ndarray, run_year: int) -> np.ndarray:
    """The year ending in ``yy`` within [run_year - YY_PAST, run_year + YY_FUTURE]; 0 where none is.

    Python's strptime pivots at 1969 (``68`` is 2068), a rule a person reading a statement would
    never apply. The window is what a payment file can mean: up to 20 years ahead (a later year is
    refused anyway as too far in the future, but then with a message about the date, not the
    century) and 50 back. In 2026, ``76``..``99`` are 1976..1999, ``00``..``46`` 2000..2046, and
    ``47``..``75`` are refused (``date_two_digit_year``: 1947 or 2047? 1968 or 2068?). The window
    is 71 years, so no two-digit year can land in two centuries. Year 0 is never a valid result.
    """
    start = run_year - YY_PAST
    year = start + np.mod(yy - start, 100)  # the first year from ``start`` on that ends in yy
    return np.where(year > run_year + YY_FUTURE, 0, year)


@dataclass(frozen=True)
class DateWindow:
    """What a date may be, relative to the run: ``today`` places two-digit years; dates before
    ``earliest`` or after ``latest`` are refused. ``None`` bounds are not checked."""

    today: dt.date
    earliest: dt.date | None = dt.date(1990, 1, 1)
    latest: dt.date | None = None

    @classmethod
    def ahead(cls, today: dt.date, earliest: dt.date, days_ahead: int) -> DateWindow:
        """The profile's window: ``earliest`` up to ``days_ahead`` days after ``today``."""
        return cls(today, earliest, today + dt.timedelta(days=days_ahead))


def _epoch_days(day: dt.date | None, default: int) -> int:
    return default if day is None else (day - dt.date(1970, 1, 1)).days


def calendar_days(
    text: pd.Series, formats: tuple[str, ...], run_year: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(days since 1970 or NO_DATE, reason code or "", empty) per value, without the window's bounds.

    The calendar verdict alone: ``date_format``, ``date_invalid``, ``date_ambiguous`` or
    ``date_two_digit_year``. :mod:`pipeline.dateorder` reads a file both ways with it.

    The verdict depends on the text alone, and a statement writes a few hundred distinct dates
    over a million rows: each distinct text is judged once and the verdicts are spread back.
    """
    arr = _arrow(text)
    if len(arr) >= _DISTINCT_FROM:
        encoded = pc.dictionary_encode(arr)
        if 2 * len(encoded.dictionary) <= len(arr):
            days, error, empty = _verdicts(encoded.dictionary, formats, run_year)
            at = encoded.indices.to_numpy(zero_copy_only=False)
            return days[at], error[at], empty[at]
    return _verdicts(arr, formats, run_year)


_DISTINCT_FROM = 4096
"""Columns shorter than this are judged value by value (encoding would not pay for itself)."""


def _verdicts(raw: pa.Array, formats: tuple[str, ...], run_year: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`calendar_days` of every value of ``raw`` (a string array without nulls)."""
    arr = clean_text(raw)
    n = len(arr)
    empty = pc.equal(arr, "").to_numpy(zero_copy_only=False)
    days = np.full(n, _NO_DATE, dtype="int64")
    shaped = np.zeros(n, dtype=bool)
    ambiguous = np.zeros(n, dtype=bool)
    for fmt in formats:
        found, matched = _parse_one_format(arr, fmt, run_year)
        have, new = days != _NO_DATE, found != _NO_DATE
        ambiguous |= have & new & (days != found)
        days = np.where(~have & new, found, days)
        shaped |= matched
    error = np.full(n, "", dtype=object)
    valid = days != _NO_DATE
    error[~empty & ~shaped] = Reject.DATE_FORMAT
    error[~empty & shaped & ~valid] = Reject.DATE_INVALID
    if any("%y" in f for f in formats):
        error[~empty & shaped & ~valid & _year_outside_window(arr, formats, run_year)] = Reject.DATE_TWO_DIGIT_YEAR
    error[ambiguous] = Reject.DATE_AMBIGUOUS
    return np.where(ambiguous, _NO_DATE, days), error, empty


def _year_outside_window(arr: pa.Array, formats: tuple[str, ...], run_year: int) -> np.ndarray:
    """Where a two-digit-year format's shape matches and its year has no place in the window."""
    out = np.zeros(len(arr), dtype=bool)
    for fmt in (f for f in formats if "%y" in f):
        struct = pc.extract_regex(arr, date_regex(fmt))
        yy = pc.fill_null(pc.struct_field(struct, "y"), "")
        digits = pc.if_else(pc.equal(yy, ""), "0", yy)
        year = two_digit_years(pc.cast(digits, pa.int64()).to_numpy(zero_copy_only=False), run_year)
        out |= pc.is_valid(struct).to_numpy(zero_copy_only=False) & (year == 0)
    return out


def parse_dates(text: pd.Series, formats: tuple[str, ...], window: DateWindow | None = None) -> Parsed:
    """Text -> datetime64[s]; refuses values that fit no format, are impossible, ambiguous, or
    outside the window (``date_too_early`` / ``date_too_late``; default: today, from 1990-01-01)."""
    window = window or DateWindow(dt.date.today())
    days, error, empty = calendar_days(text, formats, window.today.year)
    valid = days != _NO_DATE
    early = valid & (days < _epoch_days(window.earliest, _NO_DATE))
    late = valid & (days > _epoch_days(window.latest, np.iinfo(np.int64).max))
    error[early] = Reject.DATE_TOO_EARLY
    error[late] = Reject.DATE_TOO_LATE
    valid &= ~early & ~late
    stamps = np.where(valid, days, 0).astype("datetime64[D]").astype("datetime64[s]")
    value = pd.Series(stamps, index=text.index)
    value[~valid] = pd.NaT
    return Parsed(value, error, empty)
