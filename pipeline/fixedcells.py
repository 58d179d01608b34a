"""Values taken from cells outside the table: a fixed cell (``B3``) or the cell after a label.

Why: a remittance advice states its payment date, customer number and payment reference once, in
a title block above the table, and a statement may state its balances there; the table's rows do
not repeat them. The reader keeps only a short text of the rows above the header, so this module
looks at the whole file again (the sheet the reader already loaded, or the decoded text), and only
when a profile asks for such a value.

A value that is asked for and not found, or found empty, is an error naming the cell or the label:
taking a guess (an invoice date for the payment date) is what this replaces.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline.config import CellSpec, Profile
from pipeline.errors import InputError
from pipeline.parsing import parse_dates
from pipeline.readers import Source, cell_format
from pipeline.readers.excel import render_cell
from pipeline.readers.text import split_cells, split_lines


@dataclass(frozen=True)
class Found:
    """A value found outside the table: its text, the 1-based row and column, and how a person names it."""

    text: str
    row: int
    column: int
    where: str


@dataclass
class Grid:
    """Every row of the file as cells (row 1 first), computed once and only when first asked for."""

    kind: str
    load: Callable[[], list[list[str]]]
    _rows: list[list[str]] | None = field(default=None, repr=False)

    @property
    def rows(self) -> list[list[str]]:
        if self._rows is None:
            self._rows = self.load()
        return self._rows

    @classmethod
    def of(cls, source: Source, profile: Profile, delimiter: str | None) -> Grid:
        """The grid of ``source`` read the way ``profile`` reads it (the sheet, encoding and delimiter)."""
        if source.kind == "excel":
            fmt = cell_format(profile)
            sheet = source.sheet(profile.sheet)
            return cls("excel", lambda: [[render_cell(v, fmt).strip() for v in r] for r in sheet.rows])
        delim = delimiter or profile.delimiter or ","

        def lines() -> list[list[str]]:
            text = source.text(profile.encoding).full_text().removeprefix("\ufeff")
            return [[c.strip() for c in split_cells(ln, delim, profile.quotechar)] for ln in split_lines(text)]

        return cls("text", lines)

    def unit(self) -> str:
        """What a person calls a row here: a sheet row or a line."""
        return "row" if self.kind == "excel" else "line"


def cell_position(name: str) -> tuple[int, int]:
    """``B3`` -> (row 3, column 2), both 1-based."""
    match = re.fullmatch(r"([A-Za-z]{1,3})([0-9]+)", name)
    if match is None:
        raise ValueError(f"{name!r} is not a cell name like B3")
    column = 0
    for ch in match.group(1).upper():
        column = column * 26 + ord(ch) - 64
    return int(match.group(2)), column


def find(grid: Grid, spec: CellSpec) -> Found | None:
    """The value ``spec`` names, or None when the file has no such cell or label (empty counts as found)."""
    if spec.cell is not None:
        row, column = cell_position(spec.cell)
        rows = grid.rows
        if row > len(rows) or column > len(rows[row - 1]):
            return None
        return Found(rows[row - 1][column - 1], row, column, f"cell {spec.cell.upper()}")
    assert spec.label is not None
    label = " ".join(spec.label.split()).casefold()
    for r, cells in enumerate(grid.rows, start=1):
        for c, cell in enumerate(cells, start=1):
            text = " ".join(cell.split())
            if not text.casefold().startswith(label):
                continue
            rest = text[len(label) :].strip()
            where = f"{grid.unit()} {r}, after {spec.label.strip()!r}"
            if rest:
                return Found(rest, r, c, where)
            after = [(k, v) for k, v in enumerate(cells[c:], start=c + 1) if v]
            return Found(after[0][1], r, after[0][0], where) if after else Found("", r, c, where)
    return None


def required(grid: Grid, spec: CellSpec, file: str, role: str) -> Found:
    """Like ``find``, but a missing or empty value is an error naming what was looked for."""
    found = find(grid, spec)
    if found is None:
        what = f"cell {spec.cell}" if spec.cell is not None else f"no cell starts with {spec.label!r}"
        raise InputError(file, f"{role}: {what} is not in this file; check the profile's {role}")
    if not found.text:
        raise InputError(file, f"{role}: {found.where} is empty; expected a value there")
    return found


CONSTANT_FIELDS = ("posting_date", "customer_number", "reference", "payer_name")


def apply_constants(receipts: pd.DataFrame, profile: Profile, grid: Grid, file: str) -> pd.DataFrame:
    """The receipts with each configured constant written into every row.

    A constant replaces the row's own value (a remittance's rows carry invoice dates; the payment
    date in its title block is the one to post). Customer numbers are upper-cased like the column's.
    """
    out = receipts.copy()
    for name in CONSTANT_FIELDS:
        spec = getattr(profile.constants, name)
        if spec is None:
            continue
        found = required(grid, spec, file, f"constants.{name}")
        if name == "posting_date":
            parsed = parse_dates(pd.Series([found.text], dtype="str"), profile.date_formats)
            if parsed.error[0] or pd.isna(parsed.value.iloc[0]):
                formats = " or ".join(repr(f) for f in profile.date_formats)
                raise InputError(
                    file, f"constants.posting_date: {found.where} holds {found.text!r}, not a date like {formats}"
                )
            out[name] = pd.Series(np.repeat(parsed.value.to_numpy(), len(out)), index=out.index)
        else:
            value = found.text.upper() if name == "customer_number" else found.text
            out[name] = pd.Series([value] * len(out), index=out.index, dtype="str")
    return out


__all__ = ["CONSTANT_FIELDS", "Found", "Grid", "apply_constants", "cell_position", "find", "required"]
