"""Profile patterns are RE2: refused at config load when RE2 cannot run them, linear on any text.

The reproducers are in ../shared/regressions/robustness (skipped when that folder is absent).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from pipeline.patterns import check_pattern, compile_pattern
from pipeline.textops import contains, extract_first, squeeze_spaces

ROOT = Path(__file__).resolve().parents[1]
ROBUSTNESS = ROOT.parent / "shared" / "regressions" / "robustness"


@pytest.mark.parametrize(
    "pattern",
    [r"(?<=INV-)(\d+)", r"(?<!x)y", r"^(?!.*Habenzinsen)", r"a(?=b)", r"(a)\1", "(RE-", "[C"],
)
def test_patterns_re2_cannot_run_are_refused(pattern: str) -> None:
    with pytest.raises(ValueError, match="invalid regular expression"):
        check_pattern(pattern)


@pytest.mark.parametrize("pattern", [r"(?i)^\s*(total|saldo)\b", r"RE-(\d{4}-\d{4})", r"^(a+)+$", r"[(]x(\d)"])
def test_patterns_re2_runs_are_accepted(pattern: str) -> None:
    assert check_pattern(pattern) == pattern


def test_a_catastrophic_pattern_for_backtracking_is_linear_under_re2() -> None:
    """``^(a+)+$`` over 'aaaa...b' takes exponential time in Python's re; RE2 answers at once."""
    text = pd.Series(["a" * 100_000 + "b", "aaa"], dtype="str")
    assert contains(text, r"^(a+)+$").tolist() == [False, True]
    assert compile_pattern(r"^(a+)+$").search("a" * 100_000 + "b") is None


@pytest.mark.parametrize(
    ("pattern", "cells", "values"),
    [
        (r"RE-\d+", ["paid RE-101 and RE-102", "none"], ["RE-101", ""]),  # no group: the whole match
        (r"C(\d{5})", ["cust C10000 x", "C1"], ["10000", ""]),  # the first group
        (r"[(]x(\d)", ["(x7", "x7"], ["7", ""]),  # a "(" in a character class is not the group
    ],
)
def test_extract_first(pattern: str, cells: list[str], values: list[str]) -> None:
    assert extract_first(pd.Series(cells, dtype="str"), pattern).tolist() == values


def _validate(config: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The real command, in its own process, bounded by a generous timeout (never a speed assertion)."""
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "validate", "--config", str(ROBUSTNESS / config), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )


@pytest.mark.slow
@pytest.mark.skipif(not ROBUSTNESS.is_dir(), reason="../shared/regressions/robustness is absent")
@pytest.mark.parametrize(
    ("config", "args", "yaml_path"),
    [
        (
            "config-lookbehind.yaml",
            ("--profile", "demo-payments", "payments-for-lookbehind.csv"),
            "profiles.demo-payments.extract.invoice_number",
        ),
        (
            "config-redos-footer.yaml",
            ("--profile", "demo-payments", "redos-footer.csv"),
            "profiles.demo-payments.footer_pattern",
        ),
    ],
)
def test_reproducer_config_is_refused_at_load_with_its_yaml_path(
    config: str, args: tuple[str, ...], yaml_path: str
) -> None:
    done = _validate(config, *args[:-1], str(ROBUSTNESS / args[-1]))
    assert done.returncode == 2
    assert f"{yaml_path}: invalid regular expression" in done.stderr
    assert "RE2 syntax" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
@pytest.mark.skipif(not ROBUSTNESS.is_dir(), reason="../shared/regressions/robustness is absent")
def test_reproducer_redos_identify_pattern_answers_without_backtracking() -> None:
    """identify_pattern '^(a+)+$' over a file of a's: RE2 finds no match at once, so no profile fits."""
    done = _validate("config-redos.yaml", str(ROBUSTNESS / "redos.csv"))
    assert done.returncode == 2
    assert "no profile matches this file" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("cells", "squeezed"),
    [
        (["a  b", "ab", " a b "], ["a b", "ab", "a b"]),
        (["a\tb", "x \r\n y", "ab", "a   b  c"], ["a b", "x y", "ab", "a b c"]),
        (["Müller  GmbH", "\u00a0Ørsted\u3000"], ["Müller GmbH", "Ørsted"]),
        (["", "  ", "\t"], ["", "", ""]),
    ],
)
def test_squeeze_spaces_trims_and_collapses_runs(cells: list[str], squeezed: list[str]) -> None:
    assert squeeze_spaces(pd.Series(cells, dtype="str")).tolist() == squeezed


def test_squeeze_spaces_on_slices_whose_buffer_holds_other_rows() -> None:
    """A tab outside the slice's rows (still in its buffer) changes nothing in the rows inside."""
    whole = pa.array(["a\tb", "c  d", "e f"], pa.large_string())
    text = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([whole.slice(1, 2)])), dtype="str")
    assert squeeze_spaces(text).tolist() == ["c d", "e f"]
    clean = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([whole.slice(2, 1), whole.slice(0, 1)])))
    assert squeeze_spaces(clean).tolist() == ["e f", "a b"]
