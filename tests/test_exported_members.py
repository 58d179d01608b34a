"""The library's public names: every one in ``__all__`` exists, comes from this project, and the
README's example is written with them (in the style of httpx's test_exported_members.py)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pipeline

ROOT = Path(__file__).resolve().parents[1]


def test_all_exports() -> None:
    exported_members = [member for member in dir(pipeline) if not member.startswith("_")]
    assert sorted(exported_members) == sorted(m for m in pipeline.__all__ if not m.startswith("_"))
    for name in pipeline.__all__:
        value = getattr(pipeline, name)
        if name != "__version__":
            assert value.__module__.startswith("pipeline."), name


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        pipeline.no_such_thing  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:
        raise AssertionError("pipeline.no_such_thing should not exist")


def test_importing_the_sandbox_does_not_load_the_product() -> None:
    """The sandbox runs in its own process: ``import pipeline`` must not drag pandas in with it."""
    code = "import sys, pipeline.sandbox.settings; print('pandas' in sys.modules, 'pipeline.runner' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split() == ["False", "False"]


def test_the_readme_example_uses_public_names_only() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Using it from Python", 1)[1].split("\n## ", 1)[0]
    example = section.split("```python", 1)[1].split("```", 1)[0]
    used = set(re.findall(r"\bpipeline\.([A-Za-z_]+)", example))
    assert used, "the example calls the library"
    assert used <= set(pipeline.__all__)
    compile(example, "README example", "exec")
