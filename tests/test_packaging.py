"""The wheel holds every module and works from a clean virtualenv (no network, no source tree).

The wheel is built without build isolation (so no download), installed with ``--no-deps`` into a
fresh venv, and imported there with the development venv's site-packages placed *after* the
clean venv's own: the dependencies resolve, but a module left out of the wheel cannot be picked
up from the source tree unnoticed, because the test checks where each module was loaded from.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
TOP_LEVEL_SKIP = {".venv", ".git", "build", "dist", "payimport-runs", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
MODULES = ("pipeline", "pipeline.readers", "pipeline.cli", "schemas")
BANK = PROJECT / "sample_data" / "bank_statement.csv"


def _ignore(folder: str, names: list[str]) -> set[str]:
    """Copy the project as a clean checkout would have it: no venv, caches or old build output."""
    here = Path(folder)
    skip = {n for n in names if n == "__pycache__" or n.endswith(".egg-info") or n == ".hypothesis"}
    if here == PROJECT:
        skip |= TOP_LEVEL_SKIP & set(names)
    if here == PROJECT / "bench":
        skip |= {"data"} & set(names)
    return skip


def _run(cmd: list[str | Path], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    proc = subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, env=env, cwd=cwd, timeout=600, check=False
    )
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _backend_diagnosis() -> str:
    import setuptools

    has_wheel = importlib.util.find_spec("wheel") is not None
    return (
        f"development venv: setuptools {setuptools.__version__}, 'wheel' package "
        f"{'present' if has_wheel else 'absent'}; pyproject.toml's build-system requires setuptools>=69 and wheel"
    )


def _source_modules() -> set[str]:
    out = set()
    for package in ("pipeline", "schemas"):
        for path in (PROJECT / package).rglob("*"):
            if "__pycache__" in path.parts or not path.is_file():
                continue
            if path.suffix == ".py" or path.name == "py.typed":
                out.add(path.relative_to(PROJECT).as_posix())
    return out


@pytest.mark.slow
def test_wheel_installs_and_runs_from_a_clean_venv(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(PROJECT, src, ignore=_ignore)
    wheelhouse = tmp_path / "wheelhouse"
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PIP_REQUIRE_VIRTUALENV"}}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"

    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-w",
            wheelhouse,
            src,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert build.returncode == 0, (
        f"the wheel cannot be built offline ({_backend_diagnosis()}):\n{build.stdout[-3000:]}\n{build.stderr[-3000:]}"
    )
    (wheel,) = wheelhouse.glob("payimport-*.whl")

    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        missing = _source_modules() - names
        assert not missing, f"modules missing from the wheel: {sorted(missing)}"
        (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        assert "payimport = pipeline.cli:main" in zf.read(entry_points).decode()
        assert not any(n.startswith(("tests/", "sample_data/", "bench/")) for n in names)

    venv = tmp_path / "clean-venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], env=env)
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", wheel], env=env)

    dev_site = sysconfig.get_paths()["purelib"]
    script = textwrap.dedent(
        """
        import importlib, json, sys, sysconfig

        own = sysconfig.get_paths()["purelib"]
        sys.path.insert(sys.path.index(own) + 1, sys.argv[1])  # dependencies, after the venv's own
        found = {}
        for name in sys.argv[2:]:
            found[name] = importlib.import_module(name).__file__
        import pipeline.validate, schemas.payment  # noqa: E401  the whole import graph loads
        print(json.dumps({"own": own, "modules": found}))
        """
    )
    out = json.loads(_run([python, "-c", script, dev_site, *MODULES], env=env, cwd=tmp_path))
    own = Path(out["own"]).resolve()
    assert own.is_relative_to(venv.resolve())
    for name in MODULES:
        where = Path(out["modules"][name]).resolve()
        assert where.is_relative_to(own), f"{name} was imported from {where}, not from the clean venv"
        assert not where.is_relative_to(PROJECT), f"{name} came from the source tree"
    assert (own / "pipeline" / "py.typed").is_file()
    assert (own / "schemas" / "py.typed").is_file()

    cli_env = {**env, "PYTHONPATH": dev_site}
    help_text = _run([venv / "bin" / "payimport", "--help"], env=cli_env, cwd=tmp_path)
    assert "validate" in help_text
    summary = json.loads(
        _run(
            [venv / "bin" / "payimport", "validate", "--json", "--config", PROJECT / "config.yaml", BANK],
            env=cli_env,
            cwd=tmp_path,
        )
    )
    assert (summary["rows_read"], summary["rows_valid"], summary["amount_valid"]) == (19, 7, "17681.50")
