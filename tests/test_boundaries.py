"""The sandbox is a separate program inside the package: the import graph must say so.

``pipeline/sandbox/`` emulates Business Central's server. If it imported the product (the client's
errors, its config, its JSON rules), a change on the client side could silently change what the
"server" answers, and tests against the sandbox would test the client against itself. So:

(a) the sandbox imports nothing of the product (``pipeline.*``, ``schemas.*``) except its own
    modules and ``pipeline.exactjson`` (the one exact-number JSON both sides must share);
(b) outside the sandbox, only the modules that open it may import it: ``pipeline.cli`` (the
    ``sandbox serve`` command) and ``pipeline.session`` (opening the BC client or the embedded
    sandbox for a run).

Every ``.py`` under ``pipeline/`` and ``schemas/`` is read with ``ast``, and every import counts,
including those inside functions and under ``if TYPE_CHECKING:`` (a type-only import is still a
dependency a refactor has to respect).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
PACKAGES = ("pipeline", "schemas")
SANDBOX = "pipeline.sandbox"
SANDBOX_MAY_IMPORT = frozenset({SANDBOX, "pipeline.exactjson"})
SANDBOX_IMPORTERS = frozenset({"pipeline.cli", "pipeline.session"})
SANDBOX_RULE = "the sandbox may import only its own modules and pipeline.exactjson (move what it needs into it)"
PRODUCT_RULE = f"outside the sandbox only {', '.join(sorted(SANDBOX_IMPORTERS))} may import it"


@dataclass(frozen=True)
class Import:
    """One imported name, resolved to an absolute dotted target (``from a import b`` is ``a.b``)."""

    target: str
    line: int


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _is_product(name: str) -> bool:
    return any(_within(name, package) for package in PACKAGES)


def module_name(path: Path) -> str:
    """``pipeline/sandbox/rules/__init__.py`` is ``pipeline.sandbox.rules``."""
    parts = list(path.relative_to(PROJECT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(module: str, source: str, *, is_package: bool = False) -> Iterator[Import]:
    """Every import of ``source`` anywhere in the tree, with relative imports made absolute."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                yield Import(base if alias.name == "*" else f"{base}.{alias.name}", node.lineno)


def violations(module: str, source: str, where: str, *, is_package: bool = False) -> list[str]:
    """``file:line: message`` for each import of ``source`` that crosses the sandbox boundary."""
    found = []
    in_sandbox = _within(module, SANDBOX)
    for imp in imports(module, source, is_package=is_package):
        if in_sandbox:
            if _is_product(imp.target) and not any(_within(imp.target, ok) for ok in SANDBOX_MAY_IMPORT):
                found.append(f"{where}:{imp.line}: the sandbox module {module} imports {imp.target}; {SANDBOX_RULE}")
        elif _within(imp.target, SANDBOX) and module not in SANDBOX_IMPORTERS:
            found.append(f"{where}:{imp.line}: {module} imports {imp.target}; {PRODUCT_RULE}")
    return found


def _sources() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((PROJECT / package).rglob("*.py")):
            if "__pycache__" not in path.parts:
                yield module_name(path), path


def _check(module: str, path: Path) -> list[str]:
    where = path.relative_to(PROJECT).as_posix()
    return violations(module, path.read_text(encoding="utf-8"), where, is_package=path.name == "__init__.py")


def test_the_sandbox_and_the_product_import_each_other_only_through_the_allowed_doors() -> None:
    sources = list(_sources())
    sandbox_modules = [m for m, _ in sources if _within(m, SANDBOX)]
    assert len(sandbox_modules) >= 20, f"the walk found too few sandbox modules to mean anything: {sandbox_modules}"
    found = [message for module, path in sources for message in _check(module, path)]
    assert not found, "imports across the sandbox boundary:\n" + "\n".join(found)


def test_the_checker_catches_a_product_import_hidden_in_the_sandbox() -> None:
    source = (
        "from __future__ import annotations\n"
        "from typing import TYPE_CHECKING\n"
        "from pipeline import exactjson\n"
        "from pipeline.sandbox.store import Store\n"
        "from . import errors\n"
        "if TYPE_CHECKING:\n"
        "    from pipeline.bc.target import BCTarget\n"
        "def load() -> None:\n"
        "    from ..errors import BCError\n"
        "    import schemas.payment\n"
    )
    found = violations("pipeline.sandbox.fake", source, "pipeline/sandbox/fake.py")
    prefix = "pipeline/sandbox/fake.py:{}: the sandbox module pipeline.sandbox.fake imports {}; " + SANDBOX_RULE
    assert found == [
        prefix.format(7, "pipeline.bc.target.BCTarget"),
        prefix.format(9, "pipeline.errors.BCError"),
        prefix.format(10, "schemas.payment"),
    ]


def test_the_checker_catches_the_product_reaching_into_the_sandbox() -> None:
    source = "def f() -> None:\n    from pipeline import sandbox\n    from pipeline.sandbox.rules import payments\n"
    assert violations("pipeline.report", source, "pipeline/report.py") == [
        f"pipeline/report.py:2: pipeline.report imports pipeline.sandbox; {PRODUCT_RULE}",
        f"pipeline/report.py:3: pipeline.report imports pipeline.sandbox.rules.payments; {PRODUCT_RULE}",
    ]
    assert violations("pipeline.session", source, "pipeline/session.py") == []
    assert violations("pipeline.cli", source, "pipeline/cli.py") == []
