"""CODA, the Belgian banks' coded statement (Febelfin standard, version 2), read by position.

Fixed-width 128-character records: ``0`` header, ``1`` old balance, ``21``/``22``/``23`` a movement
and its continuations (communication, counterparty), ``31``/``32``/``33`` information only, ``4``
free text, ``8`` new balance, ``9`` trailer with the debit and credit totals. Amounts have three
implied decimals and a sign digit (0 credit, 1 debit). No Python library reads CODA in a kept-up
way (``pycoda`` targets Odoo's models), and the layout is a table of positions, so it is read here.

A globalised movement (detail number ``0000`` followed by details ``0001``... with the same
sequence number) is a batch booking: its details become one row each when they add up to it;
the balance and the trailer count the booked movement once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from pipeline.errors import InputError
from pipeline.readers.statements.model import BankStatement, Control, Entry, StatementFile

_ACCOUNT = {"0": (5, 17, 18, 21), "1": (5, 39, 39, 42), "2": (5, 21, 39, 42), "3": (5, 39, 39, 42)}
"""Account structure digit -> (account start, end, currency start, end), 0-based slices."""


@dataclass
class _Movement:
    """A ``21`` record with its ``22``/``23`` continuations."""

    line: int
    seq: str
    detail: str
    entry: Entry
    structured: str = ""
    parts: list[str] = field(default_factory=list)


@dataclass
class _Reading:
    file: str
    statements: list[BankStatement] = field(default_factory=list)
    movements: list[_Movement] = field(default_factory=list)
    credits: Decimal = Decimal(0)
    debits: Decimal = Decimal(0)
    closed: bool = True


def read_coda(data: bytes, file: str) -> StatementFile:
    """Every statement of a CODA file (one per ``1``...``8`` block), each accounted separately."""
    text = data.decode("latin-1").replace("\r\n", "\n").replace("\r", "\n")
    state = _Reading(file)
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\n").ljust(128)
        if not raw.strip():
            continue
        _record(state, line, number)
    if not state.statements:
        raise InputError(file, "holds no CODA statement (no record 1 with the old balance)")
    if state.movements:
        raise InputError(file, f"line {state.movements[-1].line}: the file ends before the new balance (record 8)")
    if not state.closed:
        raise InputError(file, "is truncated: the last statement has no trailer (record 9)")
    return StatementFile("CODA", state.statements)


def _record(state: _Reading, line: str, number: int) -> None:
    kind = line[0]
    if kind == "1":
        state.statements.append(_old_balance(state.file, line, number))
        state.closed = False
    elif kind == "2" and state.statements:
        _movement_record(state, line, number)
    elif kind == "8" and state.statements:
        _close(state, line, number)
    elif kind == "9" and state.statements:
        _trailer(state, line, number)
    elif kind not in "0349":
        raise InputError(state.file, f"line {number}: record type {kind!r} is not a CODA record (0, 1, 2, 3, 4, 8, 9)")


def _amount(file: str, line: str, at: int, number: int, what: str) -> Decimal:
    """Sign digit at ``at``, 15 digits after it, three implied decimals: credit positive."""
    sign, digits = line[at], line[at + 1 : at + 16]
    if sign not in "01" or not digits.isdigit():
        raise InputError(
            file, f"line {number}: {what} {line[at : at + 16]!r} is not a CODA amount (sign 0/1, 15 digits)"
        )
    value = Decimal(int(digits)).scaleb(-3)
    return -value if sign == "1" else value


def _date(file: str, text: str, number: int, what: str) -> dt.date | None:
    if not text.strip() or text == "000000":
        return None
    try:
        return dt.datetime.strptime(text, "%d%m%y").date()
    except ValueError:
        raise InputError(file, f"line {number}: {what} {text!r} is not a date (DDMMYY)") from None


def _old_balance(file: str, line: str, number: int) -> BankStatement:
    structure = line[1]
    if structure not in _ACCOUNT:
        raise InputError(file, f"line {number}: account structure {structure!r} is not 0, 1, 2 or 3")
    a, b, c, d = _ACCOUNT[structure]
    account, currency = line[a:b].strip(), line[c:d].strip()
    where = f"statement {line[2:5]} of {account} (line {number})"
    stmt = BankStatement(ident=line[2:5], account=account, currency=currency, where=where)
    stmt.opening = _amount(file, line, 42, number, "old balance")
    stmt.opening_where = f"record 1 on line {number}"
    return stmt


def _movement_record(state: _Reading, line: str, number: int) -> None:
    stmt = state.statements[-1]
    if line[1] == "1":
        amount = _amount(state.file, line, 31, number, "amount")
        entry = Entry(
            line=number,
            where=f"{stmt.where}, movement {line[2:6]}/{line[6:10]} (line {number})",
            booking_date=_date(state.file, line[115:121], number, "entry date"),
            amount=amount,
            currency=stmt.currency,
            transaction_id=" ".join(line[10:31].split()),
        )
        move = _Movement(number, line[2:6], line[6:10], entry)
        if line[61] == "1" and line[62:65] in ("101", "102"):
            digits = line[65:77]
            move.structured = f"+++{digits[:3]}/{digits[3:7]}/{digits[7:]}+++"
        else:
            move.parts.append(line[62:115])
        state.movements.append(move)
    elif line[1] == "2" and state.movements:
        state.movements[-1].parts.append(line[10:63])
    elif line[1] == "3" and state.movements:
        move = state.movements[-1]
        move.entry.payer_iban = line[10:44].strip()
        move.entry.payer_name = " ".join(line[47:82].split())
        move.parts.append(line[82:125])


def _close(state: _Reading, line: str, number: int) -> None:
    """Record 8: the new balance; the statement's movements become its entries."""
    stmt = state.statements[-1]
    stmt.closing = _amount(state.file, line, 41, number, "new balance")
    stmt.closing_where = f"record 8 on line {number}"
    groups: dict[str, list[_Movement]] = {}
    for move in state.movements:
        move.entry.reference = move.structured or " ".join(" ".join(move.parts).split())
        groups.setdefault(move.seq, []).append(move)
    for moves in groups.values():
        booked, details = moves[0], [m for m in moves[1:] if m.detail != "0000"]
        state.credits += booked.entry.amount if booked.entry.amount > 0 else 0
        state.debits += -booked.entry.amount if booked.entry.amount < 0 else 0
        total = sum((m.entry.amount for m in details), Decimal(0))
        stmt.entries += [m.entry for m in details] if details and total == booked.entry.amount else [booked.entry]
    state.movements = []


def _trailer(state: _Reading, line: str, number: int) -> None:
    """Record 9: the debit and credit totals of the movements since the last trailer."""
    stmt = state.statements[-1]
    for what, at, computed in (("debit", 22, state.debits), ("credit", 37, state.credits)):
        digits = line[at : at + 15]
        if not digits.isdigit():
            raise InputError(state.file, f"line {number}: {what} total {digits!r} is not 15 digits")
        stated = Decimal(int(digits)).scaleb(-3)
        stmt.controls.append(Control(f"trailer (record 9, line {number}) {what} total", stated, computed))
    state.credits = state.debits = Decimal(0)
    state.closed = True
