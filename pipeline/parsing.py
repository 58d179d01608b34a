"""Strict, vectorised parsing of amounts and dates from text.

Amounts become integer minor units (exact; no float anywhere). A value that does not fit
the profile's format is an error with a reason, never a reinterpretation: ``1,234.56`` in
a decimal-comma profile is refused, not read as 1.23456 or 123456. Dates must match one of
the profile's formats and be real calendar dates (``31.02.2024`` is refused; pyarrow's
strptime would silently roll it into March).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.config import AmountSpec

SYMBOLS = {"£": "GBP", "$": "USD", "€": "EUR", "¥": "JPY"}
_MAX_INT_DIGITS = 15
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

# Reason codes (stable; reports and tests rely on them).
AMOUNT_FORMAT = "amount_format"
AMOUNT_DECIMALS = "amount_decimals"
AMOUNT_CURRENCY = "currency_mismatch"
AMOUNT_TOO_LARGE = "amount_too_large"
DATE_FORMAT = "date_format"
DATE_INVALID = "date_invalid"
DATE_AMBIGUOUS = "date_ambiguous"


@dataclass(frozen=True)
class Parsed:
    """Values aligned with the input; ``error`` holds a reason code where a value was refused."""

    value: pd.Series
    error: pd.Series
    empty: pd.Series


def _arrow(s: pd.Series) -> pa.Array:
    arr = pa.array(s.to_numpy(dtype=object, na_value=""), type=pa.string()) if s.dtype == object else None
    if arr is None:
        arr = pa.Array.from_pandas(s.astype("str"))
    if arr.type != pa.string():
        arr = arr.cast(pa.string())
    return pc.fill_null(arr, "")


def clean_text(arr: pa.Array) -> pa.Array:
    """Trim whitespace (including no-break spaces) and an Excel text-guard apostrophe."""
    arr = pc.utf8_trim(arr, " \t\u00a0\u202f")
    return pc.replace_substring_regex(arr, "^'", "")


def _number_pattern(spec: AmountSpec) -> str:
    dec = re.escape(spec.decimal_mark)
    plain = rf"\d+(?:{dec}\d*)?|{dec}\d+"
    if not spec.thousands_mark:
        return plain
    th = _WS if spec.thousands_mark == " " else re.escape(spec.thousands_mark)
    return rf"\d{{1,3}}(?:{th}\d{{3}})+(?:{dec}\d*)?|{plain}"


def amount_regex(spec: AmountSpec) -> str:
    """Sign, optional currency symbol or code on either side, then the number."""
    cur = r"[A-Za-z]{3}|[£$€¥]"
    return (
        rf"^(?P<s1>[+-]?){_WS}*(?P<c1>{cur})?{_WS}*(?P<s2>[+-]?){_WS}*(?P<num>{_number_pattern(spec)})"
        rf"{_WS}*(?P<c2>{cur})?{_WS}*(?P<s3>-?)$"
    )


def parse_amounts(text: pd.Series, spec: AmountSpec, decimals: int, currency: str) -> Parsed:
    """Text -> signed integer minor units of ``currency``; errors carry a reason code."""
    n = len(text)
    arr = clean_text(_arrow(text))
    empty = pc.equal(arr, "")
    struct = pc.extract_regex(arr, amount_regex(spec))
    matched = pc.is_valid(struct)
    num = pc.fill_null(pc.struct_field(struct, "num"), "")
    signs = [pc.fill_null(pc.struct_field(struct, f"s{i}"), "") for i in (1, 2, 3)]
    c1 = pc.fill_null(pc.struct_field(struct, "c1"), "")
    c2 = pc.fill_null(pc.struct_field(struct, "c2"), "")
    nsigns = pc.add(
        pc.add(pc.cast(pc.not_equal(signs[0], ""), pa.int8()), pc.cast(pc.not_equal(signs[1], ""), pa.int8())),
        pc.cast(pc.not_equal(signs[2], ""), pa.int8()),
    )
    negative = pc.or_(pc.or_(pc.equal(signs[0], "-"), pc.equal(signs[1], "-")), pc.equal(signs[2], "-"))
    digits = num
    if spec.thousands_mark:
        th = _WS if spec.thousands_mark == " " else re.escape(spec.thousands_mark)
        digits = pc.replace_substring_regex(digits, th, "")
    split = pc.extract_regex(digits, rf"^(?P<i>\d*)(?:{re.escape(spec.decimal_mark)}(?P<f>\d*))?$")
    int_part = pc.fill_null(pc.struct_field(split, "i"), "")
    int_part = pc.if_else(pc.equal(int_part, ""), "0", int_part)
    frac = pc.fill_null(pc.struct_field(split, "f"), "")
    excess = pc.utf8_slice_codeunits(frac, decimals)
    bad_decimals = pc.invert(pc.match_substring_regex(excess, "^0*$"))
    frac_fixed = pc.utf8_slice_codeunits(pc.utf8_rpad(frac, decimals, "0"), 0, decimals)
    too_large = pc.greater(pc.utf8_length(pc.utf8_ltrim(int_part, "0")), _MAX_INT_DIGITS)

    code1 = _currency_codes(c1)
    code2 = _currency_codes(c2)
    cur_u = currency.upper()
    wrong_cur = pc.or_(
        pc.and_(pc.not_equal(code1, ""), pc.not_equal(code1, cur_u)),
        pc.and_(pc.not_equal(code2, ""), pc.not_equal(code2, cur_u)),
    )
    ok = pc.and_(matched, pc.less_equal(nsigns, 1))
    error = np.full(n, "", dtype=object)
    np_ok = ok.to_numpy(zero_copy_only=False)
    np_empty = empty.to_numpy(zero_copy_only=False)
    error[~np_ok & ~np_empty] = AMOUNT_FORMAT
    np_dec = pc.and_(ok, bad_decimals).to_numpy(zero_copy_only=False)
    error[np_dec] = AMOUNT_DECIMALS
    np_large = pc.and_(ok, too_large).to_numpy(zero_copy_only=False)
    error[np_large] = AMOUNT_TOO_LARGE
    np_cur = pc.and_(ok, wrong_cur).to_numpy(zero_copy_only=False)
    error[np_cur] = AMOUNT_CURRENCY
    good = np_ok & ~np_dec & ~np_large & ~np_empty
    canonical = pc.binary_join_element_wise(int_part, frac_fixed, "")
    canonical = pc.if_else(pa.array(good), canonical, "0")
    minor = pc.cast(canonical, pa.int64()).to_numpy(zero_copy_only=False)
    minor = np.where(negative.to_numpy(zero_copy_only=False), -minor, minor)
    value = pd.Series(minor, index=text.index, dtype="Int64")
    value[~good] = pd.NA
    return Parsed(value, pd.Series(error, index=text.index), pd.Series(np_empty, index=text.index))


def _currency_codes(arr: pa.Array) -> pa.Array:
    upper = pc.utf8_upper(arr)
    for sym, code in SYMBOLS.items():
        upper = pc.if_else(pc.equal(upper, sym), code, upper)
    return upper


def date_regex(fmt: str) -> str:
    """A strptime-style format as an anchored regex with named groups Y, y, m, b, d."""
    out, i = [], 0
    pieces = {
        "d": r"(?P<d>\d{1,2})",
        "m": r"(?P<m>\d{1,2})",
        "Y": r"(?P<Y>\d{4})",
        "y": r"(?P<y>\d{2})",
        "b": r"(?P<b>[A-Za-z]{3,4}\.?)",
        "B": r"(?P<b>[A-Za-z]{3,9})",
        "H": r"\d{1,2}",
        "M": r"\d{2}",
        "S": r"\d{2}",
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


def _parse_one_format(arr: pa.Array, fmt: str, index: pd.Index) -> pd.Series:
    """Datetime64 per row where ``fmt`` matches and the date exists; NaT elsewhere."""
    struct = pc.extract_regex(arr, date_regex(fmt))
    names = {struct.type.field(i).name for i in range(struct.type.num_fields)}
    if "Y" in names:
        year = pc.cast(pc.struct_field(struct, "Y"), pa.int32())
    else:
        yy = pc.cast(pc.struct_field(struct, "y"), pa.int32())
        year = pc.if_else(pc.less(yy, 69), pc.add(yy, 2000), pc.add(yy, 1900))
    if "m" in names:
        month = pc.cast(pc.struct_field(struct, "m"), pa.int32())
    else:
        mon_names = pd.Series(pc.utf8_lower(pc.utf8_trim(pc.struct_field(struct, "b"), ".")).to_pandas())
        month = pa.array(mon_names.map(_MONTHS).astype("Int32"), type=pa.int32())
    day = pc.cast(pc.struct_field(struct, "d"), pa.int32())
    frame = pd.DataFrame(
        {
            "year": pd.array(year.to_pandas(), dtype="Int32"),
            "month": pd.array(month.to_pandas(), dtype="Int32"),
            "day": pd.array(day.to_pandas(), dtype="Int32"),
        },
        index=index,
    )
    complete = frame.notna().all(axis=1)
    result = pd.Series(pd.NaT, index=index, dtype="datetime64[s]")
    if complete.any():
        sub = frame[complete].astype("int64")
        result[complete] = pd.to_datetime(sub, errors="coerce").astype("datetime64[s]")
    matched = pd.Series(pc.is_valid(struct).to_numpy(zero_copy_only=False), index=index)
    # Matched the shape but is no real date: mark with a sentinel so the caller can tell apart.
    result.attrs["matched"] = matched
    return result


def parse_dates(text: pd.Series, formats: tuple[str, ...]) -> Parsed:
    """Text -> datetime64[s]; refuses values that fit no format, are impossible, or are ambiguous."""
    arr = clean_text(_arrow(text))
    empty = pc.equal(arr, "").to_numpy(zero_copy_only=False)
    value = pd.Series(pd.NaT, index=text.index, dtype="datetime64[s]")
    shaped = np.zeros(len(text), dtype=bool)
    ambiguous = np.zeros(len(text), dtype=bool)
    for fmt in formats:
        parsed = _parse_one_format(arr, fmt, text.index)
        matched = parsed.attrs["matched"].to_numpy()
        have = value.notna().to_numpy()
        new = parsed.notna().to_numpy()
        ambiguous |= have & new & (value.to_numpy() != parsed.to_numpy())
        fill = ~have & new
        value[fill] = parsed[fill]
        shaped |= matched
    error = np.full(len(text), "", dtype=object)
    error[~empty & ~shaped] = DATE_FORMAT
    error[~empty & shaped & value.isna().to_numpy()] = DATE_INVALID
    error[ambiguous] = DATE_AMBIGUOUS
    value[ambiguous] = pd.NaT
    return Parsed(value, pd.Series(error, index=text.index), pd.Series(empty, index=text.index))
