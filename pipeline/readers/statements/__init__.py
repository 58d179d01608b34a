"""Bank statements (camt.052/053/054, MT940/MT942, BAI2, CODA, OFX) as the same table a CSV gives.

A statement file is identified from its bytes (``pipeline.filetype.statement_format``), read by its
format's reader into ``BankStatement`` objects, checked (balances and control totals, per
statement), and turned into a ``RawTable`` with fixed columns plus the profile that maps them. From
there validation, matching, exactly-once keys, reports and the errors workbook are the CSV path's,
unchanged. Each row's ``source_row`` is the line a person can open in the file (the ``:61:`` line,
the ``16`` record, the ``<Ntry>``/``<TxDtls>`` element); only when two rows would share a line (a
camt file written on one line) are rows numbered in file order instead.

No profile is needed: the format, version, accounts and currency come from the file. A profile
(``--profile NAME``, or the one whose ``statement_accounts`` names an account of the file) may
restrict the accounts and fix the currency, and brings its own policies (``extract``,
``receipts_only_when``, templates, ``key_namespace``, ``balances.check``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

import pandas as pd

from pipeline.balances import BalanceCheck
from pipeline.config import STATEMENT_COLUMNS, AmountSpec, BalanceSpec, ColumnMap, Config, HeaderSpec, Profile
from pipeline.config import currency_decimals as _decimals
from pipeline.errors import InputError, ProfileError
from pipeline.readers.statements.bai2 import read_bai2
from pipeline.readers.statements.camt import read_camt
from pipeline.readers.statements.checks import verify_statements
from pipeline.readers.statements.coda import read_coda
from pipeline.readers.statements.model import NOT_BOOKED, RETURN, BankStatement, Entry, StatementFile
from pipeline.readers.statements.mt940 import read_mt940
from pipeline.readers.statements.ofx import read_ofx
from pipeline.readers.table import SOURCE_ROW, RawTable, SkippedRow, col
from schemas.codes import Skip

__all__ = ["HEADER", "READERS", "StatementRead", "read_bank_statement", "read_statements"]

READERS: dict[str, Callable[[bytes, str], StatementFile]] = {
    "camt": read_camt,
    "mt940": read_mt940,
    "bai2": read_bai2,
    "coda": read_coda,
    "ofx": read_ofx,
}
HEADER = tuple(dict.fromkeys((*STATEMENT_COLUMNS.values(), "payer_iban", "account", "statement", "entry")))
_KEY_NAMESPACE = "bank-statement"
"""The exactly-once namespace of statements read without a profile: the same for every format, so a
bank reference is one payment whether it arrives in the camt or the MT940 file of the day."""


@dataclass(frozen=True)
class StatementRead:
    """What the statement path hands to validation: the profile, the table and the balance result."""

    profile: Profile
    table: RawTable
    balance: BalanceCheck


def read_statements(data: bytes, file: str, fmt: str) -> StatementFile:
    """Every statement of the file, read by its format's reader."""
    return READERS[fmt](data, file)


def read_bank_statement(data: bytes, file: str, fmt: str, config: Config, name: str | None) -> StatementRead:
    """Read, choose the profile and the accounts, verify the balances, and build the table."""
    parsed = read_statements(data, file, fmt)
    if not parsed.statements:
        raise InputError(file, f"this {parsed.fmt} file holds no statement, report or notification; nothing to import")
    base = _base_profile(file, parsed, config, name)
    currency = base.currency.expected if base.name else _first_currency(parsed)
    chosen, others = _select(parsed, base, currency)
    if not chosen:
        accounts = ", ".join(sorted({f"{s.account} ({s.currency})" for s in parsed.statements})) or "none"
        raise InputError(
            file,
            f"none of the file's {len(parsed.statements)} statements is for an account and currency profile "
            f"{base.name or parsed.family!r} imports (file: {accounts}; profile: "
            f"{', '.join(base.statement_accounts) or 'any account'} in {currency})",
        )
    profile = _mapping_profile(base, parsed, currency)
    balance = verify_statements(file, chosen, base)
    table = _table(file, parsed, others)
    return StatementRead(profile, table, balance)


def _first_currency(parsed: StatementFile) -> str:
    for stmt in parsed.statements:
        cur = stmt.currency or next((e.currency for e in stmt.entries if e.currency), "")
        if cur:
            return cur
    return "EUR"


def _account_key(account: str) -> str:
    return "".join(account.split()).upper()


def _base_profile(file: str, parsed: StatementFile, config: Config, name: str | None) -> Profile:
    """The named profile, else the one profile naming an account of the file, else none (``Profile``
    with no name: every account, in the first statement's currency)."""
    if name is not None:
        if name not in config.profiles:
            known = tuple(sorted(config.profiles))
            raise ProfileError(file, f"no profile named {name!r}; known profiles: {', '.join(known)}", known)
        return config.profiles[name]
    accounts = {_account_key(s.account) for s in parsed.statements}
    found = [p for p in config.profiles.values() if any(_matches(a, p.statement_accounts) for a in accounts if a)]
    if len(found) > 1:
        names = tuple(p.name for p in found)
        raise ProfileError(file, f"several profiles name an account of this file ({', '.join(names)})", names)
    if found:
        return found[0]
    return Profile(header=HeaderSpec(present=True, row=1), columns=ColumnMap(**STATEMENT_COLUMNS))


def _matches(account: str, wanted: tuple[str, ...]) -> bool:
    """An account matches as written, without spaces, or with the currency some banks append."""
    for w in wanted:
        key = _account_key(w)
        if account == key or (
            account.startswith(key) and account[len(key) :].isalpha() and len(account) - len(key) == 3
        ):
            return True
    return False


def _select(
    parsed: StatementFile, base: Profile, currency: str
) -> tuple[list[BankStatement], list[tuple[BankStatement, str]]]:
    """(statements imported, statements skipped with the reason)."""
    chosen: list[BankStatement] = []
    others: list[tuple[BankStatement, str]] = []
    for stmt in parsed.statements:
        account = _account_key(stmt.account)
        if base.statement_accounts and not _matches(account, base.statement_accounts):
            others.append((stmt, f"account {stmt.account} is not one profile {base.name!r} imports"))
        elif stmt.currency and stmt.currency != currency:
            others.append((stmt, f"{stmt.where} is in {stmt.currency}; this import takes {currency}"))
        else:
            chosen.append(stmt)
    return chosen, others


def _mapping_profile(base: Profile, parsed: StatementFile, currency: str) -> Profile:
    """``base`` with the statement table's columns and formats: what the reader wrote, read back exactly."""
    update = {
        "name": base.name or parsed.family,
        "title": base.title or f"{parsed.fmt} bank statement",
        "header": HeaderSpec(present=True, row=1),
        "columns": ColumnMap(**STATEMENT_COLUMNS),
        "amount": AmountSpec(layout="signed", decimal_mark="."),
        "date_formats": ("%Y-%m-%d",),
        "currency": base.currency.model_copy(update={"expected": currency}),
        "balances": BalanceSpec(check="off", opening_markers=(), closing_markers=(), total_markers=()),
        "footer_pattern": r"(?!)",
        "key_namespace": base.key_namespace or _KEY_NAMESPACE,
        "encoding": None,
        "delimiter": None,
    }
    return base.model_copy(update=update)


def _amount_text(value: Decimal, currency: str) -> str:
    """The amount with the currency's places when it has no more (``-9`` EUR is ``-9.00``)."""
    text = str(value)
    point = text.find(".")
    if point >= 0 and "E" not in text and len(text) - point - 1 == _places(currency):  # written with its places
        return text
    quantum = _quantum(currency)
    rounded = value.quantize(quantum)
    return f"{rounded:f}" if value == rounded else f"{value:f}"


@cache
def _places(currency: str) -> int:
    return _decimals(currency) if len(currency) == 3 else 2


@cache
def _quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-_places(currency))


def _table(file: str, parsed: StatementFile, others: list[tuple[BankStatement, str]]) -> RawTable:
    """Data rows (entries of the chosen statements), skipped rows (returns, pending entries, other
    accounts), each with the line a person finds it on; transaction ids made unique in the file.

    Built a column at a time (one list per column of ``HEADER``), statement by statement: a large
    statement has a hundred thousand rows, and a list of cells per row cost more than the rest."""
    why = {id(s): reason for s, reason in others}
    lines = [e.line for s in parsed.statements for e in s.entries]
    by_line = len(set(lines)) == len(lines) and all(n > 0 for n in lines)
    columns: list[list[str]] = [[] for _ in HEADER]
    numbers: list[int] = []
    skipped: list[SkippedRow] = []
    seen: dict[str, int] = {}
    n = 0
    for stmt in parsed.statements:
        reason = why.get(id(stmt))
        kept: list[Entry] = []
        for entry in stmt.entries:
            n += 1
            number = entry.line if by_line else n
            if entry.transaction_id:
                entry.transaction_id = _unique_id(entry.transaction_id, seen)
            if reason is not None:
                skipped.append(SkippedRow(number, str(Skip.OTHER_ACCOUNT), f"{entry.where}: {reason}"))
            elif entry.flag == RETURN:
                skipped.append(SkippedRow(number, str(Skip.RETURN), f"{entry.where}: a return or reversal"))
            elif entry.flag == NOT_BOOKED:
                skipped.append(SkippedRow(number, str(Skip.NOT_BOOKED), f"{entry.where}: not booked"))
            else:
                kept.append(entry)
                numbers.append(number)
        _add_columns(columns, stmt, kept)
    frame = pd.DataFrame({col(i): pd.Series(columns[i - 1], dtype="str") for i in range(1, len(HEADER) + 1)})
    frame[SOURCE_ROW] = pd.Series(numbers, dtype="int64")
    accounts = ", ".join(dict.fromkeys(f"{s.account} ({s.currency})" for s in parsed.statements))
    table = RawTable(file, "statement", frame, HEADER, None, len(numbers) + len(skipped), skipped)
    table.statement_format = f"{parsed.fmt}, {len(parsed.statements)} statement(s), account(s) {accounts}"
    return table


def _add_columns(columns: list[list[str]], stmt: BankStatement, kept: list[Entry]) -> None:
    """The cells of ``kept`` (entries of ``stmt``), appended column by column in ``HEADER``'s order."""
    dates, amounts, currencies, names, references, idents, ibans, accounts, statements, wheres = columns
    dates += [e.booking_date.isoformat() if e.booking_date is not None else "" for e in kept]
    amounts += [_amount_text(e.amount, e.currency or stmt.currency) for e in kept]
    currencies += [e.currency or stmt.currency for e in kept]
    names += [e.payer_name for e in kept]
    references += [e.reference for e in kept]
    idents += [e.transaction_id for e in kept]
    ibans += ["".join(e.payer_iban.split()) for e in kept]
    accounts += [stmt.account] * len(kept)
    statements += [stmt.where] * len(kept)
    wheres += [e.where for e in kept]


def _unique_id(ident: str, seen: dict[str, int]) -> str:
    """A bank reference shared by the details of one batch gets ``-2``, ``-3`` ... after the first."""
    seen[ident] = seen.get(ident, 0) + 1
    return ident if seen[ident] == 1 else f"{ident}-{seen[ident]}"
