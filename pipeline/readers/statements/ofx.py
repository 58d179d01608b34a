"""OFX (Open Financial Exchange) bank and credit-card statements, versions 1 (SGML) and 2 (XML).

``ofxtools`` parses the body and converts values exactly (``TRNAMT`` becomes a ``Decimal``, a
decimal comma included). Its header parser is strict, and banks send headers with missing fields,
wrong versions or blank lines, so the header is not parsed at all: the body from ``<OFX>`` on is
what carries the statement, and the header only says how the bytes are encoded, which is read
here. OFX states a closing (ledger) balance but no opening balance, so its balance cannot be
checked against the entries; the result says so.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from ofxtools.models.base import Aggregate
from ofxtools.Parser import TreeBuilder

from pipeline.errors import InputError
from pipeline.readers.statements.model import BankStatement, Entry, StatementFile

_BODY = re.compile(r"<OFX>", re.I)
_STMTTRN = re.compile(rb"<STMTTRN>", re.I)
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.I)
_CHARSET = re.compile(rb"(?:CHARSET:\s*(\d+)|encoding=[\"']([\w-]+))", re.I)


def read_ofx(data: bytes, file: str) -> StatementFile:
    """Every bank or credit-card statement of an OFX file."""
    if _DTD.search(data[:65536]):
        raise InputError(file, "declares a DTD or entities; an OFX statement never does, so it is refused")
    text = _decode(data)
    found = _BODY.search(text)
    if found is None:
        raise InputError(file, "has no <OFX> element; the file may be truncated or not OFX")
    version = "OFX 2" if "<?OFX" in text[: found.start()].upper() else "OFX 1"
    try:
        builder = TreeBuilder()
        builder.feed(text[found.start() :])
        root = Aggregate.from_etree(builder.close())
    except Exception as exc:  # ofxtools raises its own errors, ValueError and KeyError alike
        raise InputError(file, f"cannot be read as OFX: {type(exc).__name__}: {exc}") from None
    lines = [data.count(b"\n", 0, m.start()) + 1 for m in _STMTTRN.finditer(data)]
    numbers = iter(lines)
    statements = [_statement(s, n, numbers) for n, s in enumerate(root.statements, start=1)]
    return StatementFile(version, statements)


def _decode(data: bytes) -> str:
    """The header's charset (``CHARSET:1252``, an XML ``encoding``), else UTF-8, else Windows-1252."""
    found = _CHARSET.search(data[:1024])
    names = []
    if found is not None:
        names.append(f"cp{found.group(1).decode()}" if found.group(1) else found.group(2).decode())
    for name in (*names, "utf-8", "cp1252"):
        try:
            return data.decode(name)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("latin-1")


def _statement(stmt: Any, n: int, numbers: Any) -> BankStatement:
    account = str(getattr(stmt.account, "acctid", "") or "")
    currency = str(stmt.curdef or "")
    out = BankStatement(ident=str(n), account=account, currency=currency, where=f"statement {n} ({account})")
    for k, t in enumerate(stmt.transactions, start=1):
        line = next(numbers, 0)
        out.entries.append(
            Entry(
                line=line,
                where=f"{out.where}, transaction {k} (line {line})",
                booking_date=t.dtposted.date() if t.dtposted is not None else None,
                amount=Decimal(t.trnamt),
                currency=currency,
                payer_name=" ".join(str(t.name or getattr(t, "payee", None) or "").split()),
                reference=" ".join(" ".join(str(p) for p in (t.memo, t.checknum, t.refnum) if p).split()),
                transaction_id=str(t.fitid or ""),
            )
        )
    return out
