"""The benchmark's yardsticks do the work they stand for: on a generated statement, plain polars,
plain pyarrow and payimport agree on which rows are valid, how many receipts are refused and the
sum of the valid ones. A yardstick that drifted (pyarrow's ``strptime`` reads 31.02. as 3 March)
would make every ratio ``make bench`` prints meaningless. Only outcomes are compared, never times.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from pipeline.config import load_config
from pipeline.validate import validate_file

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def statement(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bench") / "statement.csv"
    _module("generate").write_csv(path, 20_000)
    return path


def test_polars_pyarrow_and_payimport_agree_on_the_generated_statement(statement: Path) -> None:
    pytest.importorskip("polars")
    measure = _module("measure")
    summary = validate_file(statement, load_config(BENCH / "config.yaml"), "bench-de").summary()
    ours = (summary["rows_valid"], summary["rows_rejected"], str(summary["amount_valid"]))
    fields = ("rows_valid", "rows_rejected", "amount_valid")
    polars = measure.polars_statement(statement)
    plain = measure.pyarrow_statement(statement)
    assert tuple(polars[f] for f in fields) == ours
    assert tuple(plain[f] for f in fields) == ours
    # the generator writes 0.1% defective rows and about 30% debits: both kinds must be present,
    # or agreeing would prove nothing about refusing
    assert summary["rows_rejected"] > 0
    assert summary["rows_skipped"] > 0
    assert polars["rows_read"] == plain["rows_read"] == summary["rows_read"] == 20_001
