"""The reader's output: a grid of text cells with provenance, plus the rows that are not data.

Columns are positional (``c1``, ``c2``, ...) so that a profile can name a column by header
text or by the position a person counts in the file; ``names`` maps header text to position.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

SOURCE_ROW = "source_row"


@dataclass(frozen=True)
class SkippedRow:
    """A row that is not data, and why."""

    source_row: int
    reason: str
    text: str = ""


@dataclass
class RawTable:
    """Everything a reader found in one file.

    ``data`` holds one row per candidate data row (text cells ``c1..cN`` and ``source_row``,
    the line or sheet row a person sees); ``skipped`` holds every other row of the file, so
    that ``rows_read == len(data) + len(skipped)``.
    """

    file: str
    kind: str
    data: pd.DataFrame
    header: tuple[str, ...] | None
    header_row: int | None
    rows_read: int
    skipped: list[SkippedRow] = field(default_factory=list)
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    hidden: frozenset[int] = frozenset()
    """Rows hidden in the sheet that are kept as data (``hidden_rows: reject``): the statement
    rejects the receipts among them with reason ``hidden_row``."""
    statement_format: str | None = None
    """A bank statement's format, version and accounts (``camt.053.001.08, 1 statement(s), ...``)."""

    @property
    def width(self) -> int:
        return sum(1 for c in self.data.columns if c != SOURCE_ROW)

    def column_names(self) -> dict[str, int]:
        """Header text -> 1-based position; the second of two equal names becomes ``NAME (2)``."""
        names: dict[str, int] = {}
        for pos, raw in enumerate(self.header or (), start=1):
            name = clean_cell(raw)
            if not name:
                continue
            candidate, n = name, 1
            while candidate in names:
                n += 1
                candidate = f"{name} ({n})"
            names[candidate] = pos
        return names


def col(pos: int) -> str:
    """Positional column name used inside every table."""
    return f"c{pos}"


def clean_cell(text: str) -> str:
    """Trim spaces and a leading BOM the way a person reads a header cell."""
    return text.replace("\ufeff", "").strip()


def find_header(rows: list[tuple[int, list[str]]], signature: tuple[str, ...], limit: int) -> int | None:
    """Index (in ``rows``) of the first row that holds every signature cell."""
    wanted = {clean_cell(s) for s in signature}
    for i, (_, cells) in enumerate(rows[:limit]):
        if wanted <= {clean_cell(c) for c in cells}:
            return i
    return None
