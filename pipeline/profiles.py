"""Choosing a profile for a file: by name, or by the header signature found in its content."""

from __future__ import annotations

from pipeline.config import Config, Profile
from pipeline.errors import InputError, ProfileError
from pipeline.library import did_you_mean, library
from pipeline.readers import Source
from pipeline.readers import matches as _matches


def choose_profile(source: Source, config: Config, name: str | None = None) -> Profile:
    """The named profile (from config.yaml, else the shipped library), or the single profile of
    config.yaml whose signature matches; else ProfileError.

    Guessing between two layouts is how amounts end up multiplied by 100, so none or several
    matches is an error that lists the candidates rather than a pick.
    """
    if name is not None:
        if name not in config.profiles and name in library():
            return Profile.model_validate({**library()[name].profile, "name": name, "use": name})
        if name not in config.profiles:
            names = tuple(sorted(config.profiles))
            guess = did_you_mean(name, names)
            listed = f"known profiles: {', '.join(names)}"
            hint = f"{guess} ({listed})" if guess else listed
            raise ProfileError(source.name, f"no profile named {name!r}; {hint}", names)
        return config.profiles[name]
    unreadable: list[InputError] = []
    found = [p for p in config.profiles.values() if _matches(source, p, unreadable)]
    if len(found) == 1:
        return found[0]
    known = tuple(sorted(config.profiles))
    if not found and unreadable and len(unreadable) == len(config.profiles):
        raise unreadable[0]  # the file itself is the problem (binary, damaged), not the profiles
    if not found and not known:
        raise ProfileError(
            source.name,
            "config.yaml has no profiles yet; add one with `payimport profile suggest FILE --name NAME`, "
            "or pass --profile with a library profile (`payimport profile list`)",
            known,
        )
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
