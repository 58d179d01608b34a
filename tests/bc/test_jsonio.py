"""Exact JSON for money: Decimal written digit for digit, read back as Decimal."""

from __future__ import annotations

import datetime
import enum
import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.bc.jsonio import dumps, loads


def test_decimal_is_written_exactly_as_typed() -> None:
    assert dumps({"amount": Decimal("-1234.50")}) == b'{"amount":-1234.50}'
    assert dumps([Decimal("0.10"), Decimal("-0.01"), Decimal("100")]) == b"[0.10,-0.01,100]"


def test_decimal_in_exponent_form_is_written_positionally() -> None:
    # BC's decimal fields want plain numbers; Decimal("1E+3") would print as 1E+3.
    assert dumps(Decimal("1E+3")) == b"1000"
    assert dumps(Decimal("1.5E-7")) == b"0.00000015"


def test_other_values_match_the_standard_json_module() -> None:
    value = {"text": 'Müller "quoted" \\ \n', "n": 7, "neg": -3, "t": True, "f": False, "none": None, "list": [1, "a"]}
    assert json.loads(dumps(value)) == value
    assert dumps(value).decode("utf-8").count("Müller") == 1  # UTF-8, not \u escapes


def test_dates_are_iso() -> None:
    assert dumps({"postingDate": datetime.date(2026, 3, 1)}) == b'{"postingDate":"2026-03-01"}'


def test_int_enum_is_written_as_its_number() -> None:
    class Level(enum.IntEnum):
        HIGH = 3

    assert dumps({"level": Level.HIGH}) == b'{"level":3}'


@pytest.mark.parametrize("bad", [1.5, datetime.datetime(2026, 1, 1), object(), {1: "a"}, b"bytes"])
def test_float_and_unknown_types_are_refused(bad: object) -> None:
    with pytest.raises(TypeError):
        dumps({"x": bad})


@pytest.mark.parametrize("bad", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_non_finite_decimal_is_refused(bad: Decimal) -> None:
    with pytest.raises(ValueError):
        dumps(bad)


def test_loads_gives_decimal_for_non_integers_and_int_for_integers() -> None:
    parsed = loads(b'{"amount": -1234.50, "lineNumber": 10000, "rate": 1e-2}')
    assert parsed == {"amount": Decimal("-1234.50"), "lineNumber": 10000, "rate": Decimal("0.01")}
    assert isinstance(parsed["amount"], Decimal)
    assert str(parsed["amount"]) == "-1234.50"
    assert type(parsed["lineNumber"]) is int


def test_loads_refuses_nan() -> None:
    with pytest.raises(ValueError):
        loads("[NaN]")


@given(st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-(10**12), max_value=10**12))
def test_round_trip_is_exact(amount: Decimal) -> None:
    back = loads(dumps({"amount": amount}))["amount"]
    assert back == amount
    assert Decimal(back).as_tuple().exponent == amount.as_tuple().exponent or back == amount
