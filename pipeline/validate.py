"""One file from bytes to customerPayment rows: read, identify, map, check, normalise.

This is the library entry point behind ``payimport validate``; it returns results and never
prints. Data problems are results (issues, skips); only an unusable file raises.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.arrowpool import release_unused, use_jemalloc
from pipeline.balances import CLOSING, NOT_STATED, OPENING, TOTAL, BalanceCheck, verify
from pipeline.config import Config, Profile
from pipeline.fixedcells import Grid, apply_constants
from pipeline.money import minor_to_decimal
from pipeline.normalize import Payments, normalize
from pipeline.profiles import choose_profile
from pipeline.readers import STATEMENT, open_source
from pipeline.readers.statements import read_bank_statement
from pipeline.statement import Statement, map_statement
from schemas.issues import RowIssue


@dataclass
class FileResult:
    """The accounting of one file: every row is valid, rejected or skipped, exactly once."""

    file: str
    profile: Profile
    statement: Statement
    payments: Payments
    balance: BalanceCheck = NOT_STATED

    @property
    def rows_read(self) -> int:
        return self.statement.table.rows_read

    @property
    def issues(self) -> list[RowIssue]:
        return sorted(self.statement.issues + self.payments.issues, key=lambda i: (i.source_row, i.column))

    @property
    def rejected_rows(self) -> set[int]:
        return {i.source_row for i in self.issues}

    @property
    def skips(self) -> pd.DataFrame:
        """One row per skipped input row: source_row, reason_code, detail."""
        return self.statement.skips

    @property
    def rows_valid(self) -> int:
        return len(self.payments.rows)

    @property
    def currency(self) -> str:
        return self.profile.currency.expected

    @property
    def amount_valid(self) -> Decimal:
        """Sum of valid receipts, positive, exact."""
        minor = self.payments.rows["amount_minor"].to_numpy(dtype="int64")
        # int64 could overflow on a huge file of huge amounts; Python's int cannot.
        total = (
            -sum(int(x) for x in minor)
            if minor.size and abs(int(minor.min())) > (2**62) // minor.size
            else (-int(minor.sum()) if minor.size else 0)
        )
        return minor_to_decimal(total, self.payments.decimals)

    def amount_text(self) -> str:
        return f"{self.amount_valid:.{self.payments.decimals}f}"

    def summary(self) -> dict[str, Any]:
        """The ``--json`` object of ``payimport validate`` for this file."""
        rows = self.payments.rows
        dates = rows["postingDate"] if self.rows_valid else None
        return {
            "file": self.file,
            "profile": self.profile.name,
            "rows_read": self.rows_read,
            "rows_valid": self.rows_valid,
            "rows_rejected": len(self.rejected_rows),
            "rows_skipped": len(self.skips),
            "amount_valid": self.amount_text(),
            "currency": self.currency,
            "first_date": None if dates is None else dates.min().date().isoformat(),
            "last_date": None if dates is None else dates.max().date().isoformat(),
            "rejected_by_reason": dict(Counter(i.reason_code for i in self.issues)),
            "skipped_by_reason": {str(k): int(v) for k, v in self.skips["reason_code"].value_counts().items()},
            "issues": [i.as_dict() for i in self.issues],
            "balance": self.balance.status,
            "balance_detail": self.balance.message,
        }

    def check_accounting(self) -> None:
        """rows_read == valid + rejected + skipped, each row in exactly one state (a bug otherwise)."""
        rows = np.concatenate(
            [
                self.payments.rows["source_row"].to_numpy(dtype="int64"),
                np.fromiter(self.rejected_rows, dtype="int64"),
                self.skips["source_row"].to_numpy(dtype="int64"),
            ]
        )
        counts = np.bincount(rows) if len(rows) else np.zeros(1, dtype=np.int64)
        if (counts > 1).any():
            raise AssertionError(
                f"{self.file}: rows in more than one state: {np.flatnonzero(counts > 1)[:10].tolist()}"
            )
        if len(rows) != self.rows_read:
            raise AssertionError(f"{self.file}: {self.rows_read} rows read but {len(rows)} accounted for")


def validate_file(
    path: Path, config: Config, profile_name: str | None = None, *, start: int | None = None
) -> FileResult:
    """Read, identify, map, check and normalise one file."""
    use_jemalloc()
    source = open_source(path)
    if source.kind == STATEMENT:
        read = read_bank_statement(source.data, str(path), source.fmt, config, profile_name)
        profile, balance = read.profile, read.balance
        del source
        statement = map_statement(read.table, profile)
    else:
        profile = choose_profile(source, config, profile_name)
        table = source.read(profile)
        # the file's bytes outlive reading only for a profile that reads cells outside the table
        grid = Grid.of(source, profile, table.delimiter) if _reads_fixed_cells(profile) else None
        del source
        release_unused()
        statement = map_statement(table, profile)
        balance = verify(str(path), profile, statement.control, grid)
        if grid is not None and _has_constants(profile):
            statement.receipts = apply_constants(statement.receipts, profile, grid, str(path))
        del grid
    release_unused()
    first = config.defaults.first_line_number if start is None else start
    payments = normalize(statement.receipts, profile, str(path), start=first)
    result = FileResult(str(path), profile, statement, payments, balance)
    result.check_accounting()
    return result


def _has_constants(profile: Profile) -> bool:
    return any(getattr(profile.constants, name) is not None for name in type(profile.constants).model_fields)


def _reads_fixed_cells(profile: Profile) -> bool:
    """Does the profile take a value from a cell outside the table (a constant, a stated balance)?"""
    stated = (getattr(profile.balances, kind) for kind in (OPENING, CLOSING, TOTAL))
    return _has_constants(profile) or any(spec is not None for spec in stated)
