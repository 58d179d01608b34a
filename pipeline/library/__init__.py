"""The profile library shipped with payimport (``profiles.yaml`` beside this file).

A profile for a bank someone has already described should not be written again: a config says
``use: sparkasse-csv-mt940`` and overrides only what differs (its own ``extract`` patterns, a
stricter currency). Each entry also names the bank, its country and format, and a sample file with
the figures a person counted in it, so ``payimport profile show`` says what the profile was proven
on. The entries are plain YAML mappings: the config's own validation checks them after the merge,
exactly as if they had been written into config.yaml.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml


@dataclass(frozen=True)
class LibraryEntry:
    """One library profile and what is known about it."""

    name: str
    bank: str
    country: str
    format: str
    sample: Mapping[str, Any]
    profile: Mapping[str, Any]


@cache
def library() -> Mapping[str, LibraryEntry]:
    """Every library profile by name, read once from the package data."""
    text = resources.files(__package__).joinpath("profiles.yaml").read_text(encoding="utf-8")
    raw: dict[str, dict[str, Any]] = yaml.safe_load(text)
    return {
        name: LibraryEntry(
            name=name,
            bank=str(item["bank"]),
            country=str(item.get("country", "")),
            format=str(item["format"]),
            sample=item["sample"],
            profile=item["profile"],
        )
        for name, item in raw.items()
    }


def did_you_mean(wrong: str, known: Iterable[str]) -> str:
    """``did you mean 'x'?`` for the names of ``known`` nearest to ``wrong`` (a typo: ``colums``,
    ``sparkase-csv``), or ``""`` when none is near enough to be a guess worth showing."""
    close = difflib.get_close_matches(wrong, list(known), n=2, cutoff=0.6)
    return ("did you mean " + " or ".join(repr(c) for c in close) + "?") if close else ""


def merged(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``override`` laid over it: mappings merge key by key, anything else (a list,
    a value) is replaced whole, so ``date_formats: [...]`` in a config means exactly that list."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def expand_uses(profiles: Mapping[str, Any], source: str) -> tuple[dict[str, Any], list[str]]:
    """``profiles`` with every ``use: NAME`` replaced by the library profile merged with the keys
    given beside it; and the problems (an unknown name, with the nearest library names)."""
    known = library()
    out: dict[str, Any] = {}
    problems: list[str] = []
    for name, raw in profiles.items():
        if not isinstance(raw, Mapping) or "use" not in raw:
            out[name] = raw
            continue
        wanted = raw["use"]
        entry = known.get(wanted) if isinstance(wanted, str) else None
        if entry is None:
            hint = did_you_mean(str(wanted), sorted(known)) or "`payimport profile list` shows them"
            problems.append(f"{source}: profiles.{name}.use: no library profile named {wanted!r} (hint: {hint})")
            continue
        out[name] = merged(entry.profile, raw)
    return out, problems
