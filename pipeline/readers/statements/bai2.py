"""BAI2 (the Bank Administration Institute's cash management balance report, US and UK banks).

Parsing is the ``bai2`` library's (records, ``88`` continuations, availability and funds types),
behind this adapter: the library hands back integer amounts in implied minor units and its own
models, and nothing else in the tool sees them. The library's integrity check is turned off and
the control totals are checked here instead, so that a file that does not add up is refused with
the figures and the line (and a person may override it, as for any statement): the account total
``49`` (every ``03`` and ``16`` amount), its record count, and the group ``98`` and file ``99``
totals. Type codes 100-399 are credits, 400-699 debits; ``010``/``015`` are the opening and closing
ledger balances of an account.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from bai2 import bai2 as bai2_parser
from bai2.exceptions import IntegrityException, NotSupportedYetException, ParsingException

from pipeline.config import currency_decimals
from pipeline.errors import InputError
from pipeline.readers.statements.model import NOT_BOOKED, BankStatement, Control, Entry, StatementFile

_OPENING, _CLOSING = "010", "015"
_INFO = "890"
_SPLIT_AVAILABILITY = re.compile(r"^(16,\d+,[^,]*,S,)([^,]*),([^,]*),([^,]*),")
"""A ``16`` with funds type S (immediate, one-day, two-or-more-day amounts) may leave one blank."""


def read_bai2(data: bytes, file: str) -> StatementFile:
    """Every account of every group of a BAI2 file, each accounted separately."""
    text = data.decode("latin-1").replace("\r\n", "\n").replace("\r", "\n")
    numbered = [(n, line.strip()) for n, line in enumerate(text.split("\n"), start=1) if line.strip()]
    bad = next(
        ((n, line) for n, line in numbered if line[:2] not in {"01", "02", "03", "16", "88", "49", "98", "99"}), None
    )
    if bad is not None:
        raise InputError(file, f"line {bad[0]}: {bad[1][:20]!r} is not a BAI2 record (01, 02, 03, 16, 88, 49, 98, 99)")
    _check_structure(file, numbered)
    try:
        parsed = bai2_parser.parse_from_lines(iter(_merge_summaries(numbered)), check_integrity=False)
    except (ParsingException, NotSupportedYetException, IntegrityException, ValueError, IndexError, KeyError) as exc:
        raise InputError(file, f"cannot be read as BAI2: {exc}") from None
    except StopIteration:
        raise InputError(file, "is truncated: a BAI2 group, account or file trailer (49, 98, 99) is missing") from None
    lines_16 = iter(n for n, line in numbered if line.startswith("16"))
    counts = iter(_record_counts(numbered))
    statements: list[BankStatement] = []
    for g, group in enumerate(parsed.children, start=1):
        for a, account in enumerate(group.children, start=1):
            statements.append(_account(file, group, account, f"group {g}, account {a}", lines_16, next(counts, 0)))
        _group_total(statements, group, g)
    if statements:
        total = sum((_total(g.trailer.group_control_total) for g in parsed.children), 0)
        _control(statements[-1], "file trailer 99", parsed.trailer.file_control_total, total, statements[-1].currency)
    return StatementFile("BAI2", statements)


_NEXT = {
    "": {"01"},
    "01": {"02"},
    "02": {"03"},
    "03": {"16", "49"},
    "16": {"16", "49"},
    "49": {"03", "98"},
    "98": {"02", "99"},
    "99": set(),
}
"""Which record may follow which (``88`` continues any record): the nesting of file, groups and accounts."""


def _check_structure(file: str, numbered: list[tuple[int, str]]) -> None:
    """File header ``01``, groups ``02``..``98``, accounts ``03``..``49``, file trailer ``99``, in
    that nesting, before the library sees the records: it loops without end on a file cut short."""
    last = ""
    for number, line in numbered:
        code = line[:2]
        if code == "88":
            if not last:
                raise InputError(file, f"line {number}: a continuation record (88) before any record")
            continue
        if code not in _NEXT[last]:
            wanted = " or ".join(sorted(_NEXT[last])) or "nothing (99 ends the file)"
            raise InputError(file, f"line {number}: record {code} cannot follow record {last}; expected {wanted}")
        last = code
    if last != "99":
        raise InputError(file, f"is truncated: it ends with record {last or 'nothing'}, not the file trailer 99")


def _merge_summaries(numbered: list[tuple[int, str]]) -> list[str]:
    """Each ``03`` record joined with its ``88`` continuations into one line.

    A ``/`` ends a record's last field, so an ``88`` after it always starts a new field
    (``...,190/`` + ``88,500000,,,`` is type code 190 with amount 500000). The library guesses
    from the number of commas instead and runs ``190`` and ``500000`` together.
    """
    out: list[str] = []
    in_summary = False
    for _, line in numbered:
        if line.startswith("88") and in_summary:
            out[-1] = out[-1].removesuffix("/") + "," + line[3:]
            continue
        in_summary = line.startswith("03")
        out.append(
            _SPLIT_AVAILABILITY.sub(lambda m: m.group(1) + ",".join(v or "0" for v in m.group(2, 3, 4)) + ",", line)
        )
    return out


def _record_counts(numbered: list[tuple[int, str]]) -> list[int]:
    """Physical records (``03`` to ``49`` inclusive, ``88`` included) of each account, in file order."""
    counts: list[int] = []
    for _, line in numbered:
        if line.startswith("03"):
            counts.append(0)
        if counts and not line.startswith(("98", "99", "02", "01")):
            counts[-1] += 1
    return counts


def _total(value: Any) -> int:
    return int(value) if isinstance(value, int) else 0


def _control(stmt: BankStatement, what: str, stated: Any, computed: int, currency: str) -> None:
    """A stated control total (``None``: left blank in the file, nothing to check)."""
    if stated is None:
        return
    places = currency_decimals(currency) if currency else 2
    stmt.controls.append(Control(what, _money(int(stated), places), _money(computed, places)))


def _money(minor: int, places: int) -> Decimal:
    return Decimal(minor).scaleb(-places)


def _group_total(statements: list[BankStatement], group: Any, g: int) -> None:
    if not group.children:
        return
    computed = sum((_total(acc.trailer.account_control_total) for acc in group.children), 0)
    _control(
        statements[-1], f"group {g} trailer 98", group.trailer.group_control_total, computed, statements[-1].currency
    )


def _account(file: str, group: Any, account: Any, where: str, lines_16: Any, records: int) -> BankStatement:
    head = account.header
    currency = str(head.currency or group.header.currency or "USD")
    places = currency_decimals(currency)
    ident = str(head.customer_account_number or "")
    stmt = BankStatement(ident=ident, account=ident, currency=currency, where=f"{where} ({ident})")
    as_of = group.header.as_of_date
    booking = as_of if isinstance(as_of, dt.date) else None
    for summary in head.summary_items:
        code = str(summary.type_code.code if hasattr(summary.type_code, "code") else summary.type_code)
        if code == _OPENING and summary.amount is not None:
            stmt.opening, stmt.opening_where = _money(int(summary.amount), places), f"{stmt.where}, 03 summary 010"
        elif code == _CLOSING and summary.amount is not None:
            stmt.closing, stmt.closing_where = _money(int(summary.amount), places), f"{stmt.where}, 03 summary 015"
    for k, detail in enumerate(account.children, start=1):
        stmt.entries.append(_detail(file, stmt, detail, next(lines_16, 0), k, booking, places))
    computed = sum((int(d.amount or 0) for d in account.children), 0) + sum(
        (int(s.amount or 0) for s in head.summary_items), 0
    )
    _control(stmt, f"{stmt.where}, account trailer 49", account.trailer.account_control_total, computed, currency)
    stated = account.trailer.number_of_records
    if stated is not None and int(stated) != records:
        what = f"{stmt.where}, record count in 49"
        stmt.controls.append(Control(what, Decimal(0), Decimal(0), int(stated), records, unit="records"))
    return stmt


def _detail(
    file: str, stmt: BankStatement, detail: Any, line: int, k: int, booking: dt.date | None, places: int
) -> Entry:
    code_obj = detail.type_code
    code = str(code_obj.code if hasattr(code_obj, "code") else code_obj)
    where = f"{stmt.where}, detail {k} (16 record on line {line})"
    if not code.isdigit():
        raise InputError(file, f"{where}: type code {code!r} is not a number")
    number = int(code)
    if not (100 <= number <= 699 or code == _INFO):
        raise InputError(file, f"{where}: type code {code} is neither a credit (100-399) nor a debit (400-699)")
    amount = _money(int(detail.amount or 0), places)
    return Entry(
        line=line,
        where=where,
        booking_date=booking,
        amount=-amount if number >= 400 and code != _INFO else amount,
        currency=stmt.currency,
        reference=" ".join(str(detail.text or "").split()),
        transaction_id=str(detail.bank_reference or detail.customer_reference or ""),
        flag=NOT_BOOKED if code == _INFO else "",
    )
