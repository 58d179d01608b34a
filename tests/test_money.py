"""pipeline.money: exact conversions between minor units, Decimal, text and an Excel number.

The expected values are worked out by hand, not by calling another conversion.
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.money import (
    decimal_text,
    decimal_to_minor,
    exact_float,
    exact_minor,
    minor_text,
    minor_to_decimal,
    money_text,
    remaining_in_minor,
)

CASES = [
    # (minor units, decimals, exact text)
    (123456, 2, "1234.56"),
    (-123456, 2, "-1234.56"),
    (-5, 3, "-0.005"),
    (5, 3, "0.005"),
    (0, 2, "0.00"),
    (1, 2, "0.01"),
    (-99, 2, "-0.99"),
    (100, 2, "1.00"),
    (119000, 0, "119000"),  # JPY: no decimals
    (-7, 0, "-7"),
    (12345, 4, "1.2345"),
    (9_223_372_036_854_775_807, 2, "92233720368547758.07"),  # int64 max
]


@pytest.mark.parametrize(("minor", "decimals", "text"), CASES)
def test_minor_text(minor: int, decimals: int, text: str) -> None:
    assert minor_text(minor, decimals) == text


@pytest.mark.parametrize(("minor", "decimals", "text"), CASES)
def test_minor_to_decimal(minor: int, decimals: int, text: str) -> None:
    value = minor_to_decimal(minor, decimals)
    assert value == Decimal(text)
    assert str(value) == text  # places kept: 0.00, not 0


@pytest.mark.parametrize(("minor", "decimals", "text"), CASES)
def test_money_text_column_is_the_scalar_text(minor: int, decimals: int, text: str) -> None:
    assert money_text(pd.Series([minor], dtype="int64"), decimals).tolist() == [text]


@pytest.mark.parametrize(("minor", "decimals", "text"), CASES)
def test_decimal_to_minor(minor: int, decimals: int, text: str) -> None:
    assert decimal_to_minor(Decimal(text), decimals) == minor
    assert decimal_to_minor(text, decimals) == minor
    assert exact_minor(Decimal(text), decimals) == minor


def test_whole_numbers_and_trailing_zeros_are_exact() -> None:
    assert decimal_to_minor(1190, 2) == 119000
    assert decimal_to_minor(Decimal("1190.5000"), 2) == 119050
    assert decimal_to_minor(Decimal("-0.10"), 2) == -10


def test_too_many_places_is_refused_not_rounded() -> None:
    assert decimal_to_minor(Decimal("1234.565"), 2) is None
    assert decimal_to_minor(Decimal("0.5"), 0) is None
    with pytest.raises(ValueError, match="not rounded"):
        exact_minor(Decimal("1234.565"), 2)
    with pytest.raises(ValueError):
        exact_minor(Decimal("10.001"), 2)


@pytest.mark.parametrize("value", [0.1, 1.0, True, Decimal("NaN"), Decimal("Infinity"), None])
def test_float_and_non_numbers_are_refused(value: object) -> None:
    with pytest.raises(TypeError):
        decimal_to_minor(value, 2)


def test_decimal_text_keeps_finer_digits() -> None:
    assert decimal_text(Decimal("120"), 2) == "120.00"
    assert decimal_text(Decimal("120.5"), 2) == "120.50"
    assert decimal_text(Decimal("100.005"), 2) == "100.005"
    assert decimal_text(Decimal("-3.10"), 0) == "-3.10"
    assert decimal_text(Decimal("7"), 0) == "7"


def test_remaining_in_minor() -> None:
    assert remaining_in_minor(Decimal("1190.00"), 2) == (119000, True)
    assert remaining_in_minor(Decimal("100.005"), 2) == (10000, False)
    assert remaining_in_minor(Decimal("-0.005"), 2) == (-1, False)  # floor, not toward zero
    assert remaining_in_minor(Decimal("500"), 0) == (500, True)


def test_exact_float_only_when_the_double_is_the_amount() -> None:
    assert exact_float(123456, 2) == 1234.56
    assert exact_float(-5, 3) == -0.005
    assert exact_float(119000, 0) == 119000.0
    assert exact_float(123456789012345, 2) == 1234567890123.45  # 15 significant digits
    assert exact_float(1234567890123456, 2) is None  # 16: Excel would show another number


@given(st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1), st.integers(min_value=0, max_value=4))
def test_round_trip(minor: int, decimals: int) -> None:
    """minor -> Decimal -> minor and minor -> text -> Decimal -> minor give back the same integer,
    and the column form writes what the scalar form writes."""
    value = minor_to_decimal(minor, decimals)
    assert decimal_to_minor(value, decimals) == minor
    text = minor_text(minor, decimals)
    assert Decimal(text) == value
    assert decimal_to_minor(text, decimals) == minor
    assert str(value) == text
    assert money_text(pd.Series([minor], dtype="int64"), decimals).tolist() == [text]
    number = exact_float(minor, decimals)
    if number is not None:
        assert Decimal(repr(number)) == value
