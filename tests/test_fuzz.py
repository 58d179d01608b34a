"""A bounded, seeded fuzz run in CI: mutated statements (byte flips, truncation, repeated
slices, late non-ASCII bytes, mutated zip entries) must each end in exit 0, 1 or 2, never a
traceback. ``bench/fuzz.py`` runs the long version (10,000 inputs, each in its own process,
with hang and memory accounting); this test reuses its mutator on a fixed seed.

Workbooks are read by the bounded child reader, so no input can hang or abort this process
in native code; an alarm bounds the Python side generously (60 s per input) all the same.
"""

from __future__ import annotations

import importlib.util
import random
import signal
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import FrameType, ModuleType

import pytest
from click.testing import CliRunner

from pipeline.cli import main

ROOT = Path(__file__).resolve().parent.parent
INPUTS = 300
"""A few hundred mutations: about a minute of CI on a quiet machine."""
SEED = 20261202


def _fuzz_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_fuzz", ROOT / "bench" / "fuzz.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_fuzz"] = module  # dataclasses look their module up while it is created
    spec.loader.exec_module(module)
    return module


class _TooSlow(Exception):
    pass


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise _TooSlow


@pytest.fixture
def alarm() -> Iterator[None]:
    previous = signal.signal(signal.SIGALRM, _alarm)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _validate_mutations(
    tmp_path: Path, seeds: list[tuple[str, bytes]], count: int, rng: random.Random, forbidden: tuple[str, ...]
) -> Counter[int]:
    """``validate`` each of ``count`` mutations of the seeds (named by suffix or file name): every
    one ends in exit 0, 1 or 2 without a traceback or a ``forbidden`` word; the exit codes counted."""
    fuzz = _fuzz_module()
    exits: Counter[int] = Counter()
    for n in range(count):
        name, data = rng.choice(seeds)
        path = tmp_path / (f"input-{n:03d}{name}" if name.startswith(".") else f"input-{n:03d}-{name}")
        path.write_bytes(fuzz.mutate(data, rng))
        args = ["validate", "--config", str(ROOT / "config.yaml"), "--errors-out", str(tmp_path / "out"), str(path)]
        signal.alarm(60)
        result = CliRunner().invoke(main, args)
        signal.alarm(0)
        assert result.exit_code in (0, 1, 2), (path.name, result.exit_code, result.exception)
        assert result.exception is None or isinstance(result.exception, SystemExit), (path.name, result.exception)
        assert not any(word in result.output for word in forbidden), (path.name, result.output)
        exits[result.exit_code] += 1
        path.unlink()
    return exits


def test_mutated_inputs_end_in_an_exit_code(tmp_path: Path, alarm: None) -> None:
    fuzz = _fuzz_module()
    rng = random.Random(SEED)
    seeds = [(p.suffix, p.read_bytes()) for p in fuzz.seed_files() if p.parent.name == "sample_data"]
    assert {s for s, _ in seeds} == {".csv", ".xlsx"}
    exits = _validate_mutations(tmp_path, seeds, INPUTS, rng, ("Traceback",))
    assert sum(exits.values()) == INPUTS
    assert exits[2] < INPUTS  # the mutations are small: some inputs still import


STATEMENT_INPUTS = 200
"""Mutated bank statements (camt, MT940/MT942, BAI2, CODA, OFX): each is read in well under a second."""


def test_mutated_statements_end_in_an_exit_code(tmp_path: Path, alarm: None) -> None:
    fuzz = _fuzz_module()
    rng = random.Random(SEED + 1)
    seeds = [(p.name, p.read_bytes()) for p in fuzz.statement_seeds()]
    assert len(seeds) >= 7
    exits = _validate_mutations(tmp_path, seeds, STATEMENT_INPUTS, rng, ("Traceback", "unexpected"))
    assert sum(exits.values()) == STATEMENT_INPUTS
    assert exits[2] < STATEMENT_INPUTS
