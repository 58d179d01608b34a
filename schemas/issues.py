"""Row issues: how every refused value of a row is explained.

The reason codes and their words live in ``schemas.codes`` (``Reject``); an issue's message is
for people and names the value and what was expected.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class RowIssue:
    """One refused value: where it is (as a person sees the file), what it was, and why."""

    source_file: str
    source_row: int
    column: str
    value: str
    reason_code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
