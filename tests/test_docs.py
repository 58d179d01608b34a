"""The docs (README.md and docs/*.md) document every command-line option and every config key the
code accepts, and every command they show exists.

In the style of sqlite-utils' ``tests/test_docs.py``: the lists come from the code itself (the
click group and the pydantic config models), so adding an option or a key without documenting
it fails a test that names exactly what is missing. The config reference is also checked the
other way round (a key the docs show must exist), because a finance user copies from it and
an unknown key is an error at load time. The docs are split by audience (README.md: what it is,
install, first run; docs/: finance, operations, profiles, internals); README stays short.
"""

from __future__ import annotations

import re
import types
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import click
import pytest
import yaml
from click.testing import CliRunner
from pydantic import BaseModel

from pipeline.cli import main
from pipeline.config import Config, Profile, load_config, parse_config
from pipeline.linenumbers import LINE_STEP
from pipeline.validate import validate_file

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
AUDIENCES = ("finance", "operations", "profiles", "internals")
DOC_FILES = [ROOT / "README.md", *(ROOT / "docs" / f"{name}.md" for name in AUDIENCES)]
DOCS = "\n".join(path.read_text(encoding="utf-8") for path in DOC_FILES if path.is_file())
ANY_KEY = "*"  # a mapping's user-chosen key: a profile's name (written NAME in the README)
ANY_ITEM = "[]"  # an item of a list of sections (skip_rows)

# Fields of the models that are not keys a user writes, with the reason.
NOT_CONFIG_KEYS = {
    # filled from the profile's key under ``profiles:`` when the config is loaded; a value written
    # in the file is replaced, so documenting it as a key would mislead.
    (Profile, "name"),
}


# --- command-line options ------------------------------------------------------------------


def _commands(
    command: click.Command, path: tuple[str, ...] = (), parent: click.Context | None = None
) -> Iterator[tuple[tuple[str, ...], click.Command, click.Context]]:
    """Every command and subcommand under ``command`` with its path, depth first, each in a context
    whose parent is its group's (so options such as ``help_option_names`` are inherited as at run time).
    """
    context = click.Context(command, info_name=path[-1] if path else "payimport", parent=parent)
    yield path, command, context
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from _commands(sub, (*path, name), context)


def _options() -> list[tuple[str, str]]:
    """(command path, long option) for every option, ``--help`` and both halves of ``--x/--no-x``."""
    found: list[tuple[str, str]] = []
    for path, command, context in _commands(main):
        for param in command.get_params(context):
            if isinstance(param, click.Option):
                for opt in (*param.opts, *param.secondary_opts):
                    if opt.startswith("--"):
                        found.append((" ".join(("payimport", *path)), opt))
    return found


OPTIONS = _options()


def test_the_walk_reaches_nested_commands() -> None:
    """``sandbox serve`` is a command of a subgroup: the walk must reach it, or its options go unchecked."""
    assert ("payimport sandbox serve", "--fault-seed") in OPTIONS
    assert ("payimport", "--version") in OPTIONS


@pytest.mark.parametrize(("command", "option"), OPTIONS, ids=[f"{c} {o}" for c, o in OPTIONS])
def test_option_is_documented(command: str, option: str) -> None:
    """Each option appears in the docs spelt as typed (``--db`` is not found inside ``--dry-run``)."""
    assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", DOCS), f"{command} {option} is not in the docs"


# --- config keys -----------------------------------------------------------------------------


def _model_keys(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The path of every key of ``model``, sections and the keys inside them."""
    for name, field in model.model_fields.items():
        if (model, name) in NOT_CONFIG_KEYS:
            continue
        path = (*prefix, name)
        yield path
        yield from _nested_keys(field.annotation, path)


def _nested_keys(annotation: Any, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    """Keys under a field's type: a model's fields, a mapping's values, a tuple's items, a union's arms."""
    origin = get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield from _model_keys(annotation, path)
    elif origin is Annotated:
        yield from _nested_keys(get_args(annotation)[0], path)
    elif origin in (Union, types.UnionType):
        for arm in get_args(annotation):
            yield from _nested_keys(arm, path)
    elif isinstance(origin, type) and issubclass(origin, Mapping):
        yield (*path, ANY_KEY)
        yield from _nested_keys(get_args(annotation)[1], (*path, ANY_KEY))
    elif origin is tuple:
        for item in get_args(annotation):
            if item is not Ellipsis:
                yield from _nested_keys(item, (*path, ANY_ITEM))


CONFIG_KEYS = list(dict.fromkeys(_model_keys(Config)))


def _dotted(path: tuple[str, ...]) -> str:
    """How the README would spell a path in prose: ``profiles.NAME.header.row``, ``skip_rows[].reason``."""
    return ".".join("NAME" if part == ANY_KEY else part for part in path).replace(".[]", "[]")


def _config_section() -> str:
    """The docs' configuration reference: from its heading to the next section or document."""
    match = re.search(r"^## Configuration\b.*?(?=^#{1,2} |\Z)", DOCS, re.S | re.M)
    assert match, "the docs have no '## Configuration' section"
    return match.group(0)


def _config_examples() -> list[Any]:
    """The YAML blocks of the configuration reference, parsed."""
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", _config_section(), re.S)]


def _has_path(node: Any, path: tuple[str, ...]) -> bool:
    """Whether ``path`` exists in parsed YAML; ``*`` matches any key, ``[]`` any list item."""
    if not path:
        return True
    head, rest = path[0], path[1:]
    if head == ANY_ITEM:
        return isinstance(node, list) and any(_has_path(item, rest) for item in node)
    if not isinstance(node, dict):
        return False
    if head == ANY_KEY:
        return any(_has_path(value, rest) for value in node.values())
    return head in node and _has_path(node[head], rest)


def _yaml_paths(node: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every key path written in a parsed YAML example, with profile names as ``*``."""
    if isinstance(node, list):
        for item in node:
            if isinstance(item, dict):
                yield from _yaml_paths(item, (*prefix, ANY_ITEM))
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        path = (*prefix, ANY_KEY if prefix == ("profiles",) else str(key))
        yield path
        yield from _yaml_paths(value, path)


def test_the_walk_reaches_nested_keys() -> None:
    """Profile keys, keys of a list of sections, and keys two sections deep are all checked."""
    assert ("profiles", ANY_KEY, "header", "signature") in CONFIG_KEYS
    assert ("profiles", ANY_KEY, "skip_rows", ANY_ITEM, "reason") in CONFIG_KEYS
    assert ("target", "timeouts", "read_s") in CONFIG_KEYS
    assert ("watch", "folders", "inbox") in CONFIG_KEYS


@pytest.mark.parametrize("path", CONFIG_KEYS, ids=[_dotted(p) for p in CONFIG_KEYS])
def test_config_key_is_documented(path: tuple[str, ...]) -> None:
    """Each key appears where it lives in a YAML example of the reference, or by its full dotted
    name in backticks there."""
    examples = _config_examples()
    in_yaml = any(_has_path(example, path) for example in examples)
    in_prose = f"`{_dotted(path)}`" in _config_section()
    assert in_yaml or in_prose, f"config key {_dotted(path)} is not in the docs' configuration reference"


def test_config_reference_shows_only_real_keys() -> None:
    """A key shown in the reference exists: copying from the docs never earns an 'unknown key' error."""
    known = set(CONFIG_KEYS)
    shown = {path for example in _config_examples() for path in _yaml_paths(example)}
    assert not sorted(shown - known), f"README shows keys the config does not accept: {sorted(shown - known)}"


def test_example_config_loads() -> None:
    """config.yaml at the repository root is what ``make demo`` and a fresh checkout use."""
    config = load_config(ROOT / "config.yaml")
    assert config.profiles


# --- defaults.first_line_number --------------------------------------------------------------


def test_first_line_number_is_documented_for_validate_only() -> None:
    """README says what the code does: only ``validate`` numbers lines from
    ``defaults.first_line_number``; ``run`` continues after the journal's last line in BC."""
    lines = _config_section().splitlines()
    at = [i for i, line in enumerate(lines) if "first_line_number:" in line]
    assert len(at) == 1
    comment = [lines[at[0]]]
    comment += _continuation(lines[at[0] + 1 :])
    text = " ".join(comment)
    assert "validate only" in text
    assert "run ignores it" in text
    users = sorted(
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "pipeline").rglob("*.py")
        if "first_line_number" in path.read_text(encoding="utf-8")
    )
    assert users == ["pipeline/config.py", "pipeline/validate.py"], (
        "another module now reads defaults.first_line_number: update README's configuration reference"
    )


def _continuation(lines: list[str]) -> Iterator[str]:
    """The comment-only lines that continue a YAML line's comment."""
    for line in lines:
        if not line.lstrip().startswith("#"):
            return
        yield line


def test_validate_numbers_lines_from_first_line_number(tmp_path: Path) -> None:
    """The behaviour the README line describes: the first new line is first_line_number + 10000."""
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    data["defaults"]["first_line_number"] = 30_000
    config = parse_config(data)
    result = validate_file(ROOT / "sample_data" / "bank_statement.csv", config)
    assert int(result.payments.rows["lineNumber"].iloc[0]) == 30_000 + LINE_STEP


# --- docs by audience, and every command they show ----------------------------------------


def test_readme_is_short_and_points_to_each_audience() -> None:
    """README.md is what a newcomer reads whole: what it is, install, first run, where to read on."""
    assert len(README.splitlines()) <= 200
    for name in AUDIENCES:
        assert (ROOT / "docs" / f"{name}.md").is_file(), f"docs/{name}.md is missing"
        assert f"(docs/{name}.md)" in README, f"README.md does not link docs/{name}.md"
    assert README.index("pipx install") < README.index("make demo")  # a user's install comes first


def _code_spans(text: str) -> Iterator[str]:
    """Inline code and the lines of fenced code blocks: where a command is shown to be typed."""
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, re.S):
        yield from (re.sub(r"(^|\s)#.*", "", line) for line in block.splitlines())  # comments are prose
    yield from re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S))


def _documented_commands() -> list[tuple[str, ...]]:
    """Every ``payimport WORD [WORD]`` shown in code, as the command path it names."""
    found: set[tuple[str, ...]] = set()
    for span in _code_spans(DOCS):
        for match in re.finditer(r"(?:^|[\s/=])payimport((?:[ \t]+[a-z][a-z-]*){1,2})", span):
            found.add(tuple(match.group(1).split()))
    return sorted(found)


DOCUMENTED = _documented_commands()


def test_the_docs_show_commands() -> None:
    assert ("profile", "suggest") in DOCUMENTED
    assert ("run",) in DOCUMENTED or any(words[0] == "run" for words in DOCUMENTED)


@pytest.mark.parametrize("words", DOCUMENTED, ids=[" ".join(w) for w in DOCUMENTED])
def test_documented_command_runs(words: tuple[str, ...]) -> None:
    """A command the docs show exists and answers ``--help`` (a word after it that is no subcommand
    is an argument, such as ``payimport init mywork``)."""
    command: click.Command = main
    path: list[str] = []
    for word in words:
        if not (isinstance(command, click.Group) and word in command.commands):
            break
        command = command.commands[word]
        path.append(word)
    assert path, f"`payimport {' '.join(words)}` in the docs names no command"
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert " ".join(path) + " [OPTIONS]" in result.output
