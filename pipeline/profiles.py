"""Choosing a profile for a file: by name, or by the header signature found in its content."""

from __future__ import annotations

from pipeline.config import Config, Profile
from pipeline.errors import InputError, ProfileError
from pipeline.readers import Source
from pipeline.readers import matches as _matches


def choose_profile(source: Source, config: Config, name: str | None = None) -> Profile:
    """The named profile, or the single profile whose signature matches; else ProfileError.

    Guessing between two layouts is how amounts end up multiplied by 100, so none or several
    matches is an error that lists the candidates rather than a pick.
    """
    if name is not None:
        if name not in config.profiles:
            raise ProfileError(
                source.name,
                f"no profile named {name!r}; known profiles: {', '.join(sorted(config.profiles))}",
                tuple(sorted(config.profiles)),
            )
        return config.profiles[name]
    unreadable: list[InputError] = []
    found = [p for p in config.profiles.values() if _matches(source, p, unreadable)]
    if len(found) == 1:
        return found[0]
    known = tuple(sorted(config.profiles))
    if not found and unreadable and len(unreadable) == len(config.profiles):
        raise unreadable[0]  # the file itself is the problem (binary, damaged), not the profiles
    if not found:
        raise ProfileError(
            source.name,
            "no profile matches this file's header; pass --profile NAME or add a profile whose "
            f"header.signature fits it (profiles tried: {', '.join(known)})",
            known,
        )
    names = tuple(p.name for p in found)
    raise ProfileError(
        source.name,
        f"several profiles match this file ({', '.join(names)}); pass --profile NAME "
        "or make their header signatures more specific",
        names,
    )
