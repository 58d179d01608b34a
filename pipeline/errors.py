"""The project's exception tree, grouped by what the caller should do.

    PayimportError
     +-- ConfigError        config.yaml or a profile is unusable: fix the config (exit 2)
     +-- InputError         a file cannot be read as the profile says: fix or replace the file (exit 2)
     +-- ProfileError       no profile, or several, match a file (exit 2)

Data problems in individual rows are *results* (row issues), never exceptions.
"""

from __future__ import annotations


class PayimportError(Exception):
    """Base of every error the tool raises on purpose."""


class ConfigError(PayimportError):
    """config.yaml is unreadable or invalid; ``problems`` lists each one with its YAML path."""

    def __init__(self, message: str, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


class InputError(PayimportError):
    """A file cannot be used at all; the message names the file and what was expected."""

    def __init__(self, file: str, message: str) -> None:
        super().__init__(f"{file}: {message}")
        self.file = file


class ProfileError(InputError):
    """No profile or more than one profile matches the file; ``candidates`` lists the ones considered."""

    def __init__(self, file: str, message: str, candidates: tuple[str, ...] = ()) -> None:
        super().__init__(file, message)
        self.candidates = candidates
