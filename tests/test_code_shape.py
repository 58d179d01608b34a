"""Every function in ``pipeline/`` and ``schemas/`` stays small enough to read in one sitting.

ruff's complexity rules count branches and statements; this test counts what a reader feels: a
function at most ``MAX_LINES`` lines long (from ``def`` to the last line of its body) taking at
most ``MAX_PARAMS`` parameters (positional, keyword-only, ``*args`` and ``**kwargs``; ``self`` and
``cls`` are not counted). The sandbox (``pipeline/sandbox/``) is exempt: it mirrors BC's AL code
rule by rule, so its shape follows BC's.

There are no exceptions: the wave-2 re-cut split every function that broke these limits.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("pipeline", "schemas")
EXEMPT = (Path("pipeline", "sandbox"),)
MAX_LINES = 80
MAX_PARAMS = 8


@dataclass(frozen=True)
class Shape:
    """One function's size, named as ``module:qualname`` (nested functions as ``outer.<locals>.inner``)."""

    name: str
    lines: int
    params: int

    @property
    def offends(self) -> bool:
        """Whether the function is longer or takes more parameters than the limits allow."""
        return self.lines > MAX_LINES or self.params > MAX_PARAMS

    def describe(self) -> str:
        """The name with both measures, for a failure message a reader can act on."""
        return f"{self.name} ({self.lines} lines, {self.params} parameters)"


def _param_count(args: ast.arguments) -> int:
    """Parameters a caller has to think about: all of them except a leading ``self`` or ``cls``."""
    names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
    names += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
    if names and names[0] in ("self", "cls") and (args.posonlyargs or args.args):
        names = names[1:]
    return len(names)


def function_shapes(source: str, module: str) -> list[Shape]:
    """The shape of every function and method in ``source``, nested ones included."""
    shapes: list[Shape] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                qualname = prefix + child.name
                end = child.end_lineno if child.end_lineno is not None else child.lineno
                shapes.append(Shape(f"{module}:{qualname}", end - child.lineno + 1, _param_count(child.args)))
                visit(child, qualname + ".<locals>.")
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".")
            else:
                visit(child, prefix)

    visit(ast.parse(source), "")
    return shapes


def _modules() -> Iterator[tuple[str, Path]]:
    """Each checked source file with its dotted module name."""
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if any(relative.is_relative_to(exempt) for exempt in EXEMPT):
                continue
            parts = relative.with_suffix("").parts
            yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def offenders() -> dict[str, Shape]:
    """Every function in the checked packages that breaks a limit, by name."""
    found: dict[str, Shape] = {}
    for module, path in _modules():
        for shape in function_shapes(path.read_text(encoding="utf-8"), module):
            if shape.offends:
                found[shape.name] = shape
    return found


def test_no_new_offenders() -> None:
    """A new long or many-parameter function is split before it lands."""
    new = [shape.describe() for _, shape in sorted(offenders().items())]
    assert not new, (
        f"functions over {MAX_LINES} lines or {MAX_PARAMS} parameters; split them into named steps "
        f"(or group parameters in a dataclass): {new}"
    )


def test_checker_catches_synthetic_offenders() -> None:
    """The measures are the ones the docstring promises, at the exact limits."""
    body_80 = "\n".join(f"    x{i} = {i}" for i in range(79))  # def line + 79 = 80 lines
    body_81 = body_80 + "\n    x79 = 79"
    source = textwrap.dedent(
        """
        def eighty_lines():
        {body_80}

        def eighty_one_lines():
        {body_81}

        def eight(a, b, /, c, d, *args, e, f, **kwargs):
            pass

        def nine(a, b, c, d, e, f, g, h, i):
            pass

        class Host:
            def method(self, a, b, c, d, e, f, g, h):
                pass

            @classmethod
            def too_many(cls, a, b, c, d, e, f, g, h, i):
                pass

            async def outer(self):
                def inner(a, b, c, d, e, f, g, h, *rest):
                    pass
        """
    ).format(body_80=body_80, body_81=body_81)
    shapes = {shape.name: shape for shape in function_shapes(source, "synthetic")}

    assert shapes["synthetic:eighty_lines"].lines == 80
    assert shapes["synthetic:eighty_one_lines"].lines == 81
    assert shapes["synthetic:eight"].params == 8
    assert shapes["synthetic:Host.method"].params == 8
    assert shapes["synthetic:Host.outer.<locals>.inner"].params == 9
    assert {name for name, shape in shapes.items() if shape.offends} == {
        "synthetic:eighty_one_lines",
        "synthetic:nine",
        "synthetic:Host.too_many",
        "synthetic:Host.outer.<locals>.inner",
    }


def test_sandbox_is_exempt_and_packages_are_found() -> None:
    """The walk covers both packages (so an empty result means clean, not unscanned) minus the sandbox."""
    modules = dict(_modules())
    assert "pipeline.exactjson" in modules
    assert "pipeline.readers" in modules
    assert any(name.startswith("schemas") for name in modules)
    assert not any(name.startswith("pipeline.sandbox") for name in modules)
