"""SWIFT MT940 (customer statement) and MT942 (interim report), through the ``mt-940`` library.

The library parses one statement at a time well but merges the statement-level fields of several
statements into one, so the file is first cut into statements at each ``:20:`` (keeping line
numbers, so every row names the line of its ``:61:``), and each is parsed on its own. What the
library leaves as text is mapped here: the ``:86:`` dialects that carry the payer and the
remittance text differently per bank (German ``?20..?32`` subfields with SEPA keys ``EREF+`` and
``SVWZ+``; the Dutch ``/CNTP/``, ``/NAME/``, ``/REMI/``, ``/EREF/`` tags of ING, ABN AMRO, Rabobank
and Knab; ABN AMRO's older ``NAAM:`` and ``OMSCHRIJVING:``), and the returns (``RC``/``RD`` marks
and German return codes) that must never become receipts.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import mt940
from mt940.models import Transactions
from mt940.processors import transaction_details_post_processor

from pipeline.errors import InputError
from pipeline.readers.statements.model import RETURN, BankStatement, Control, Entry, StatementFile

logging.getLogger("mt940").addHandler(logging.NullHandler())
logging.getLogger("mt940").propagate = False
"""The library logs each pattern it could not match at error level; the refusal says it once, with
the file and the line, so its log lines would only repeat it in a person's terminal."""
_OPTIONS = mt940.Options(reversal_sign=True, case_insensitive_marks=True, applicant_iban=True, gvc_leading_text=True)
_NOISE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_END = re.compile(r"^-\}?\s*$|^\{?5:|^\}")
_POINT_61 = re.compile(r"^(:61:\d{6}(?:\d{4}|\s{4})?R?[CDcd][A-Z]?)(\d+)\.(\d*)")
_POINT_BAL = re.compile(r"^(:(?:60|62|64|65)[FM]?:[CD]\d{6}[A-Z]{3})(\d+)\.(\d*)")
_SINGLE_LINE = re.compile(r"^:(?:20|25|28C?|6[02][FM]|64|65):")
_TAG = re.compile(r"^:(?:\d\d[A-Z]?|NS):")
_WIDTH = 65
"""SWIFT's line width: a line this long was cut by the bank, not ended by the writer."""
_UNUSED = re.compile(r"^:6[45][A-Z]?:")
"""Available balances: not part of the check, and some banks write them broken (``:65F:Dnullnull``)."""
_GERMAN = re.compile(r"^\d{3}\?\d{2}")
_RETURN_GVC = {"109", "159"}
"""German business transaction codes (GVC) of returned SEPA payments: a returned transfer is
booked as a credit, but it is the payer's own money coming back, not a customer's receipt."""
_NL_TAGS = ("TRTP", "CNTP", "REMI", "EREF", "NAME", "IBAN", "BIC", "MARF", "CSID", "PREF", "RTRN", "ORDP", "BENM")
_NL_TAG = re.compile(r"/(" + "|".join(_NL_TAGS) + r")/")
_LABEL = re.compile(r"\b(NAAM|OMSCHRIJVING|IBAN|BIC|KENMERK|MACHTIGING)\s*:\s*")


@dataclass(frozen=True)
class _Chunk:
    """One statement's lines: the text to parse and the line number of each ``:61:``."""

    text: str
    first_line: int
    lines_61: list[int]


def read_mt940(data: bytes, file: str) -> StatementFile:
    """Every statement of an MT940 or MT942 file, each accounted separately."""
    text = _decode(data)
    chunks = _chunks(text)
    if not chunks:
        raise InputError(file, "holds no MT940 statement (no :20: line); the file may be truncated")
    kind = "MT942" if any(re.search(r"^:(?:34F|90[CD]|13D):", c.text, re.M) for c in chunks) else "MT940"
    statements = [_statement(file, kind, c, n) for n, c in enumerate(chunks, start=1)]
    return StatementFile(kind, statements)


def _decode(data: bytes) -> str:
    """UTF-8 when it is (a few German banks write it), else Latin-1; control bytes (SOH/ETX frames,
    a DOS end-of-file byte) become nothing, so line numbers stay those a person sees."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return _NOISE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _chunks(text: str) -> list[_Chunk]:
    """The file cut at each ``:20:``; each chunk ends at the next ``:20:`` or a ``-`` end marker.

    A header field wrapped onto a second line (``:28C:0000`` / ``0``) is joined back: only
    ``:61:`` and ``:86:`` may span lines.
    """
    chunks: list[_Chunk] = []
    lines: list[str] = []
    first = 0
    lines_61: list[int] = []
    every = text.split("\n")
    previous = ""
    for number, line in enumerate(every, start=1):
        if line.startswith(":20:"):
            if lines:
                chunks.append(_Chunk("\n".join(lines), first, lines_61))
            lines, first, lines_61 = [], number, []
        if not first:
            continue
        if _END.match(line) and _ends_message(line, lines, every[number:]):
            if lines:
                chunks.append(_Chunk("\n".join(lines), first, lines_61))
            lines, first, lines_61 = [], 0, []
            continue
        if line.startswith(":61:"):
            lines_61.append(number)
        if lines and line.strip() and not line.startswith(":") and _SINGLE_LINE.match(lines[-1]):
            lines[-1] += line.strip()
            continue
        if len(lines) > 1 and line.strip() and not _TAG.match(line) and _is_61_detail(lines):
            lines[-1] += " " + line.strip()  # a third line of :61: supplementary details
            continue
        if lines and line and not _TAG.match(line) and lines[-1].startswith(":86:"):
            lines[-1] += _joint(previous, line) + line.rstrip()
            previous = line
            continue
        previous = line
        lines.append(_POINT_BAL.sub(r"\1\2,\3", _POINT_61.sub(r"\1\2,\3", line)))
    if lines:
        chunks.append(_Chunk("\n".join(lines), first, lines_61))
    return chunks


def _is_61_detail(lines: list[str]) -> bool:
    """Is the last line the second line of a ``:61:`` (its supplementary details)?"""
    return lines[-2].startswith(":61:") and not _TAG.match(lines[-1])


def _joint(previous: str, line: str) -> str:
    """How a wrapped ``:86:`` line continues the one before: banks cut at 65 characters wherever
    the text is (``Strukturier`` / ``ter``), and German subfields start with ``?``; a shorter line
    was ended on purpose (one word per line, Knab), so a space goes between."""
    return "" if line.startswith("?") or len(previous.rstrip("\r")) >= _WIDTH else " "


def _parse_text(text: str) -> str:
    """What the library parses: without available balances (``:64:``/``:65:``), and without the
    information ``:86:`` some banks write after the closing balance (ING's ``/SUM/``), which the
    library would otherwise append to the last entry's remittance text."""
    out: list[str] = []
    closed = dropping = False
    for line in text.split("\n"):
        closed = closed or line.startswith((":62F:", ":62M:"))
        if re.match(r"^:\d\d[A-Z]?:", line):
            dropping = _UNUSED.match(line) is not None or (closed and line.startswith(":86:"))
        if not dropping:
            out.append(line)
    return "\n".join(out)


def _ends_message(line: str, lines: list[str], rest: list[str]) -> bool:
    """Is this ``-`` the end of a message? ``-}`` always is; a bare ``-`` inside a wrapped ``:86:``
    (ING wraps ``MND-EV01`` as ``MND`` / ``-`` / ``EV01``) is text, unless a new message follows."""
    if line.strip() != "-":
        return True
    tags = [ln for ln in lines if re.match(r"^:\d\d[A-Z]?:", ln)]
    if not tags or not tags[-1].startswith((":61:", ":86:")):
        return True
    following = next((ln for ln in rest if ln.strip()), "")
    header = re.fullmatch(r"[A-Z0-9]+|:940:", following.strip())  # ABNANL2A / 940 lines of the next message
    return not following or following.startswith((":20:", "{")) or header is not None


def _statement(file: str, kind: str, chunk: _Chunk, n: int) -> BankStatement:
    parsed = Transactions(
        processors={"post_transaction_details": [transaction_details_post_processor]}, options=_OPTIONS
    )
    try:
        transactions = parsed.parse(_parse_text(chunk.text))
    except Exception as exc:
        raise InputError(
            file, f"statement {n} (line {chunk.first_line}) cannot be read as {kind}: {type(exc).__name__}: {exc}"
        ) from None
    head: dict[str, Any] = parsed.data
    ident = str(head.get("transaction_reference") or n)
    number = head.get("statement_number")
    stmt = BankStatement(
        ident=ident,
        account=str(head.get("account_identification") or ""),
        currency=str(parsed.currency or ""),
        where=f"statement {ident}" + (f"/{number}" if number else "") + f" (line {chunk.first_line})",
    )
    _balances(stmt, head)
    _refuse_truncated(file, kind, stmt, chunk)
    if len(transactions) != len(chunk.lines_61):
        raise InputError(
            file,
            f"{stmt.where}: {len(chunk.lines_61)} :61: lines but {len(transactions)} could be read; "
            "a :61: line is malformed or the file is truncated",
        )
    for k, (t, line) in enumerate(zip(transactions, chunk.lines_61, strict=True), start=1):
        stmt.entries.append(_entry(file, stmt, t.data, line, k))
    stmt.controls += _sums(stmt, head)
    return stmt


def _refuse_truncated(file: str, kind: str, stmt: BankStatement, chunk: _Chunk) -> None:
    """An MT940 statement that stops at an entry, with no closing balance, was cut off: refused. One
    that has a later tag (``:64:``, ``:65:``) but no ``:62F:`` was finished without it; it is read,
    and its balance is reported as not verified."""
    if kind != "MT940" or stmt.closing is not None:
        return
    tags = re.findall(r"^:(\d\d[A-Z]?):", chunk.text, re.M)
    if not tags or tags[-1] in {"20", "25", "28C", "60F", "60M", "61", "86"}:
        raise InputError(
            file,
            f"{stmt.where} has no closing balance (:62F:) and ends at :{tags[-1] if tags else '20'}:; "
            "the file is truncated, so nothing is imported from it",
        )


def _balances(stmt: BankStatement, head: dict[str, Any]) -> None:
    for key, tag in (("final_opening_balance", ":60F:"), ("intermediate_opening_balance", ":60M:")):
        if key in head and stmt.opening is None:
            stmt.opening = Decimal(head[key].amount.amount)
            stmt.opening_where = f"{stmt.where}, {tag}"
    for key, tag in (("final_closing_balance", ":62F:"), ("intermediate_closing_balance", ":62M:")):
        if key in head and stmt.closing is None:
            stmt.closing = Decimal(head[key].amount.amount)
            stmt.closing_where = f"{stmt.where}, {tag}"


def _sums(stmt: BankStatement, head: dict[str, Any]) -> list[Control]:
    """MT942 ``:90C:``/``:90D:``: the number and sum of credit and debit entries."""
    out = []
    for key, tag, sign in (("sum_credit_entries", ":90C:", 1), ("sum_debit_entries", ":90D:", -1)):
        if key in head:
            mine = [e.amount for e in stmt.entries if (e.amount > 0 if sign > 0 else e.amount < 0)]
            number = str(getattr(head[key], "number", "") or "")
            out.append(
                Control(
                    f"{stmt.where}, {tag}",
                    abs(Decimal(head[key].amount)),
                    abs(sum(mine, Decimal(0))),
                    int(number) if number.isdigit() else None,
                    len(mine),
                )
            )
    return out


def _entry(file: str, stmt: BankStatement, data: dict[str, Any], line: int, k: int) -> Entry:
    amount = data["amount"]
    status = str(data.get("status") or "").upper()
    date = data.get("entry_date") or data.get("date")
    details = str(data.get("transaction_details") or "")
    entry = Entry(
        line=line,
        where=f"{stmt.where}, entry {k} (:61: on line {line})",
        booking_date=date,
        amount=Decimal(amount.amount),
        currency=str(amount.currency or stmt.currency),
        transaction_id=_reference(data),
        flag=RETURN if status.startswith("R") else "",
    )
    if data.get("purpose") is not None or data.get("transaction_code") is not None or _GERMAN.match(details):
        _german(entry, data)
    elif _NL_TAG.search(details):
        _dutch(entry, details)
    else:
        _plain(entry, details, str(data.get("extra_details") or ""))
    return entry


def _reference(data: dict[str, Any]) -> str:
    """The bank's reference after ``//``, else the account owner's reference; never ``NONREF``."""
    for key in ("bank_reference", "customer_reference"):
        value = str(data.get(key) or "").strip()
        if value and value.upper() != "NONREF":
            return value
    return ""


def _german(entry: Entry, data: dict[str, Any]) -> None:
    """The ZKA/DATEV subfields: ``?32``/``?33`` name, ``?31`` IBAN, ``?20..?29`` purpose (``SVWZ+``)."""
    code = str(data.get("transaction_code") or "")
    posting = str(data.get("posting_text") or "")
    entry.payer_name = " ".join(str(data.get("applicant_name") or "").split())
    entry.payer_iban = str(data.get("applicant_iban") or data.get("gvc_applicant_iban") or "").strip()
    parts = [data.get("purpose"), data.get("end_to_end_reference"), data.get("customer_reference")]
    words = [" ".join(str(p).split()) for p in parts if p]
    entry.reference = " ".join(w for w in words if w and w.upper() != "NOTPROVIDED")
    if code in _RETURN_GVC or "RETOURE" in posting.upper():
        entry.flag = RETURN


def _dutch(entry: Entry, details: str) -> None:
    """``/TAG/value`` fields (ING, ABN AMRO, Rabobank, Knab); a value may itself contain ``/``."""
    flat = "".join(details.split("\n"))
    fields: dict[str, str] = {}
    found = list(_NL_TAG.finditer(flat))
    for i, m in enumerate(found):
        end = found[i + 1].start() if i + 1 < len(found) else len(flat)
        fields.setdefault(m.group(1), flat[m.end() : end].strip("/ "))
    cntp = fields.get("CNTP", "").split("/")
    entry.payer_iban = fields.get("IBAN") or (cntp[0] if cntp else "")
    entry.payer_name = fields.get("NAME") or (cntp[2] if len(cntp) > 2 else "")
    remi = fields.get("REMI", "")
    remi = re.sub(r"^(?:USTD|STRD)/+(?:CUR/+)?", "", remi)
    parts = [remi, fields.get("EREF", ""), fields.get("MARF", "")]
    entry.reference = " ".join(p for p in parts if p and p.upper() != "NOTPROVIDED")
    if fields.get("RTRN"):
        entry.flag = RETURN


def _plain(entry: Entry, details: str, extra: str) -> None:
    """Free text: ABN AMRO's ``NAAM:``/``OMSCHRIJVING:`` labels when present, else the whole ``:86:``
    as remittance text (and a Rabobank-style counterparty name on the ``:61:`` second line)."""
    flat = " ".join(details.split())
    labels = list(_LABEL.finditer(flat))
    values = {
        m.group(1): flat[m.end() : labels[i + 1].start() if i + 1 < len(labels) else len(flat)].strip()
        for i, m in enumerate(labels)
    }
    entry.payer_name = values.get("NAAM", "") or " ".join(extra.split())
    entry.payer_iban = values.get("IBAN", "")
    entry.reference = values.get("OMSCHRIJVING", "") or flat
