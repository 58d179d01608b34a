"""ISO 20022 camt.053 (statement), camt.052 (account report) and camt.054 (debit/credit notification).

Namespace-agnostic: elements are found by local name, so every version from 001.02 to 001.13 reads
the same way (v8 moved the party name to ``Dbtr/Pty/Nm``; both places are read). The file is
streamed with ``iterparse`` and each ``<Ntry>`` is dropped once read, so a 100,000-entry statement
costs the memory of one entry. The parser never resolves entities, never loads a DTD and never
touches the network, and a file that declares a DTD is refused before parsing: a bank statement
has no reason to carry one, and entity expansion is how a small XML file becomes gigabytes.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache

from lxml import etree

from pipeline.errors import InputError
from pipeline.readers.statements.model import (
    NOT_BOOKED,
    RETURN,
    BankStatement,
    Entry,
    StatementFile,
    date_of,
    decimal_of,
)

_NAMESPACE = re.compile(r"urn:iso:std:iso:20022:tech:xsd:(camt\.05[234])\.001\.(\d{2})$")
VERSIONS = range(2, 14)
"""camt message versions read (001.02 to 001.13): every published one with the same entry layout."""
_CONTAINERS = {"Stmt": "statement", "Rpt": "report", "Ntfctn": "notification"}
_OPENING = ("OPBD", "PRCD")
_CLOSING = ("CLBD",)
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.I)


@cache
def _path(ns: str, path: str) -> str:
    """``"Refs/EndToEndId"`` -> ``"{ns}Refs/{ns}EndToEndId"`` in the document's own namespace
    (read from the element, so every version reads the same; a wildcard search is 4x slower)."""
    return "/".join(ns + part for part in path.split("/"))


def _ns(el: etree._Element) -> str:
    tag = str(el.tag)
    return tag[: tag.index("}") + 1] if tag.startswith("{") else ""


def _text(el: etree._Element, path: str) -> str:
    found = el.find(_path(_ns(el), path))
    return "" if found is None else _squeezed(found)


def _local(el: etree._Element) -> str:
    return str(el.tag).rpartition("}")[2]


def _squeezed(found: etree._Element) -> str:
    text = found.text or ""
    if len(found) or text != text.strip() or "  " in text:  # nested or padded: gather and squeeze
        return " ".join("".join(found.itertext()).split())
    return text


_PARTY_PATHS = {
    party: (
        f"RltdPties/{party}/Nm",
        f"RltdPties/{party}/Pty/Nm",
        f"RltdPties/Ultmt{party}/Nm",
        f"RltdPties/Ultmt{party}/Pty/Nm",
        f"RltdPties/{party}Acct/Id/IBAN",
        f"RltdPties/{party}Acct/Id/Othr/Id",
    )
    for party in ("Dbtr", "Cdtr")
}
"""Name, name under ``Pty`` (version 8 on), the ultimate party's two, IBAN, other account id."""
_ASKED = (
    *("Amt", "CdtDbtInd", "BookgDt/Dt", "BookgDt/DtTm", "ValDt/Dt", "Sts", "AcctSvcrRef", "NtryRef", "RvslInd"),
    *("AddtlNtryInf", "NtryDtls", "Refs/AcctSvcrRef", "Refs/EndToEndId", "Refs/Prtry/Ref", "AmtDtls/TxAmt/Amt"),
    *("RmtInf/Strd/CdtrRefInf/Ref", "RmtInf/Ustrd", "AddtlTxInf", "RtrInf"),
    *(path for paths in _PARTY_PATHS.values() for path in paths),
)
"""Every path an entry, a transaction detail or a balance is asked for: the walk keeps only these."""
_WANTED = frozenset(_ASKED)
_INNER = frozenset(path.rsplit("/", k)[0] for path in _ASKED for k in range(1, path.count("/") + 1))
"""The paths a walk goes into (those above an asked path); other subtrees (bank transaction codes,
agents, addresses, the details below ``NtryDtls``) are passed over in one step."""
_STEPS: dict[str, dict[str, tuple[str, bool, bool]]] = {}
"""Per path walked into, per child tag met there: the child's path, whether it is kept, whether
gone into (worked out once per tag: a file has some dozens)."""


def _step(prefix: str, tag: str) -> tuple[str, bool, bool]:
    path = prefix + (tag[tag.index("}") + 1 :] if tag[:1] == "{" else tag)
    return path, path in _WANTED, path in _INNER


def _walk(el: etree._Element, prefix: str, found: dict[str, list[etree._Element]]) -> None:
    steps = _STEPS.get(prefix)
    if steps is None:
        steps = _STEPS[prefix] = {}  # prefixes are "" and the _INNER paths only
    for child in el:
        tag = child.tag
        step = steps.get(tag)
        if step is None:
            if tag.__class__ is not str:  # a comment or processing instruction
                continue
            step = _step(prefix, tag)
            if len(steps) < 4096:
                steps[tag] = step
        path, wanted, inner = step
        if wanted:
            same = found.get(path)
            if same is None:
                found[path] = [child]
            else:
                same.append(child)
        if inner and len(child):
            _walk(child, path + "/", found)


class _Fields:
    """An entry's (or a transaction detail's, or a balance's) elements by local path
    (``"RltdPties/Dbtr/Nm"``), in document order, read in one walk of the subtree: an entry is asked
    for some twenty fields, and a ``find`` (or ``iterfind``) per field cost more than reading the
    entry once. Only the paths this reader asks for (``_ASKED``) are kept and gone into."""

    __slots__ = ("_found", "el")

    def __init__(self, el: etree._Element) -> None:
        self.el = el
        self._found: dict[str, list[etree._Element]] = {}
        _walk(el, "", self._found)

    def find(self, path: str) -> etree._Element | None:
        """The first element at ``path``, as ``find`` gives it."""
        same = self._found.get(path)
        return None if same is None else same[0]

    def text(self, path: str) -> str:
        same = self._found.get(path)
        if same is None:
            return ""
        found = same[0]
        text = found.text or ""
        if len(found) or text != text.strip() or "  " in text:  # nested or padded: gather and squeeze
            return " ".join("".join(found.itertext()).split())
        return text

    def first(self, path: str, other: str) -> str:
        """``text(path) or text(other)``, in one call (the describing of a row asks this a lot)."""
        return (path in self._found and self.text(path)) or (other in self._found and self.text(other)) or ""

    def texts(self, path: str) -> list[str]:
        """Every element at ``path``, its text gathered and squeezed (as ``iterfind`` finds them)."""
        return [" ".join("".join(f.itertext()).split()) for f in self._found.get(path, ())]

    def details(self) -> list[etree._Element]:
        """The entry's ``NtryDtls/TxDtls`` elements, in order."""
        return [
            d
            for group in self._found.get("NtryDtls", ())
            for d in group
            if d.tag.__class__ is str and _local(d) == "TxDtls"
        ]


@dataclass
class _State:
    """The statement being read (its container element), and how many entries it has had."""

    file: str
    fmt: str = ""
    statements: list[BankStatement] = field(default_factory=list)
    current: BankStatement | None = None
    container: etree._Element | None = None
    entries: int = 0


_EVENTS = tuple(f"{{*}}{name}" for name in ("Ntry", "Bal", "Acct", *_CONTAINERS))
"""Only these elements' ends reach Python; everything else is parsed (and dropped) in C."""


def read_camt(data: bytes, file: str) -> StatementFile:
    """Every statement, report or notification of a camt.05x file."""
    if _DTD.search(data[:65536]):
        raise InputError(file, "this XML declares a DTD or entities; a camt statement never does, so it is refused")
    parser = etree.iterparse(
        io.BytesIO(data),
        events=("end",),
        tag=_EVENTS,
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        remove_comments=True,
        remove_pis=True,
    )
    state = _State(file)
    try:
        for _, el in parser:
            _ended(state, el)
        root = parser.root
    except etree.XMLSyntaxError as exc:
        raise InputError(file, f"is not well-formed XML (line {exc.lineno}): {exc.msg}") from None
    if root is None:
        raise InputError(file, "holds no camt document")
    state.fmt = state.fmt or _version(file, root)
    return StatementFile(state.fmt, state.statements)


def _version(file: str, root: etree._Element) -> str:
    """``camt.053.001.08`` from the root's namespace; a version this reader does not know is refused."""
    ns = etree.QName(root).namespace or ""
    found = _NAMESPACE.match(ns)
    if _local(root) != "Document" or found is None:
        raise InputError(
            file,
            f"is XML but not a camt.052/053/054 document (root {_local(root)!r}, namespace {ns!r}); "
            "expected urn:iso:std:iso:20022:tech:xsd:camt.05x.001.NN",
        )
    if int(found.group(2)) not in VERSIONS:
        raise InputError(
            file,
            f"{found.group(1)}.001.{found.group(2)} is a camt version this tool does not read; "
            f"it reads versions 001.{VERSIONS[0]:02d} to 001.{VERSIONS[-1]:02d}",
        )
    return f"{found.group(1)}.001.{found.group(2)}"


def _is_container(el: etree._Element | None) -> bool:
    parent = None if el is None else el.getparent()
    return (
        el is not None and _local(el) in _CONTAINERS and parent is not None and _local(parent).startswith("BkToCstmr")
    )


def _statement_of(state: _State, container: etree._Element) -> BankStatement:
    """The statement ``container`` is, started at its first balance, account or entry (its ``Id``
    comes before those, so it is still there to read)."""
    if state.current is None or state.container is not container:
        if not state.fmt:
            state.fmt = _version(state.file, container.getroottree().getroot())
        n = len(state.statements) + 1
        ident = _text(container, "Id") or str(n)
        state.current = BankStatement(
            ident=ident, account="", currency="", where=f"{_CONTAINERS[_local(container)]} {ident}"
        )
        state.container, state.entries = container, 0
    return state.current


def _ended(state: _State, el: etree._Element) -> None:
    name = _local(el)
    if name in _CONTAINERS:
        if _is_container(el):
            stmt = _statement_of(state, el)
            stmt.currency = stmt.currency or next((e.currency for e in stmt.entries), "")
            state.statements.append(stmt)
            state.current = state.container = None
            _drop(el)
        return
    parent = el.getparent()
    if parent is None or (parent is not state.container and not _is_container(parent)):
        return
    stmt = _statement_of(state, parent)
    if name == "Ntry":
        state.entries += 1
        stmt.entries += _entry_rows(state.file, stmt, el, state.entries)
        _drop(el)
    elif name == "Bal":
        _balance(state.file, stmt, el)
    elif name == "Acct":
        stmt.account = _text(el, "Id/IBAN") or _text(el, "Id/Othr/Id")
        stmt.currency = _text(el, "Ccy")


def _drop(el: etree._Element) -> None:
    """Free what was read: the element, and the siblings before it (streaming, bounded memory)."""
    el.clear(keep_tail=False)
    parent = el.getparent()
    while parent is not None and el.getprevious() is not None:
        del parent[0]


def _balance(file: str, stmt: BankStatement, el: etree._Element) -> None:
    code = _text(el, "Tp/CdOrPrtry/Cd") or _text(el, "Tp/CdOrPrtry/Prtry")
    if code not in _OPENING + _CLOSING:
        return
    where = f"{stmt.where}, balance {code} (line {el.sourceline})"
    fields = _Fields(el)
    value = _signed(file, fields, where)
    amt = fields.find("Amt")
    stmt.currency = stmt.currency or ("" if amt is None else amt.get("Ccy", ""))
    if code in _OPENING and (stmt.opening is None or code == "OPBD"):
        stmt.opening, stmt.opening_where = value, where
    elif code in _CLOSING:
        stmt.closing, stmt.closing_where = value, where


def _signed(file: str, el: _Fields, where: str) -> Decimal:
    """``Amt`` with ``CdtDbtInd`` applied: credit positive, debit negative."""
    amount = decimal_of(el.text("Amt"), file, where, "Amt")
    indicator = el.text("CdtDbtInd")
    if indicator not in ("CRDT", "DBIT"):
        raise InputError(file, f"{where}: CdtDbtInd is {indicator!r}; expected CRDT or DBIT")
    return amount if indicator == "CRDT" else -amount


def _entry_rows(file: str, stmt: BankStatement, el: etree._Element, n: int) -> list[Entry]:
    """One row per transaction detail of the entry (batch bookings), or one row for the entry."""
    where = f"{stmt.where}, entry {n}"
    fields = _Fields(el)
    amount = _signed(file, fields, f"{where} (line {el.sourceline})")
    amt = fields.find("Amt")
    currency = "" if amt is None else amt.get("Ccy", "")
    booked = fields.first("BookgDt/Dt", "BookgDt/DtTm") or fields.text("ValDt/Dt")
    status = fields.text("Sts")
    base = Entry(
        line=el.sourceline or 0,
        where=where,
        booking_date=date_of(booked, file, where, "BookgDt") if booked else None,
        amount=amount,
        currency=currency,
        transaction_id=fields.first("AcctSvcrRef", "NtryRef"),
        flag=NOT_BOOKED if status and status not in ("BOOK", "BOOKED") else "",
    )
    reversal = fields.text("RvslInd").lower() == "true"
    details = [_Fields(d) for d in fields.details()]
    rows = _split(file, base, details, fields.text("AddtlNtryInf"))
    for row in rows:
        if reversal:
            row.flag = row.flag or RETURN
    return rows


def _split(file: str, base: Entry, details: list[_Fields], extra: str) -> list[Entry]:
    """Details with their own amounts become one row each, and must add up to the entry."""
    amounts = [_detail_amount(file, base, d, k) for k, d in enumerate(details, start=1)]
    if len(details) <= 1 or any(a is None for a in amounts):
        merged = _describe(base, details, base.amount >= 0, extra)
        return [merged]
    total = sum((a for a in amounts if a is not None), Decimal(0))
    if total != base.amount:
        raise InputError(
            file,
            f"{base.where} (line {base.line}) books {base.amount} but its {len(details)} transaction details "
            f"add up to {total}: {abs(base.amount - total)} differ; the batch cannot be split",
        )
    rows = []
    for k, (d, a) in enumerate(zip(details, amounts, strict=True), start=1):
        assert a is not None
        row = Entry(
            line=d.el.sourceline or base.line,
            where=f"{base.where}, detail {k}",
            booking_date=base.booking_date,
            amount=a,
            currency=base.currency,
            transaction_id=d.text("Refs/AcctSvcrRef") or (f"{base.transaction_id}-{k}" if base.transaction_id else ""),
            flag=base.flag,
        )
        rows.append(_describe(row, [d], a >= 0, ""))
    return rows


def _detail_amount(file: str, base: Entry, d: _Fields, k: int) -> Decimal | None:
    where = f"{base.where}, detail {k} (line {d.el.sourceline})"
    text = d.first("Amt", "AmtDtls/TxAmt/Amt")
    if not text:
        return None
    value = decimal_of(text, file, where, "Amt")
    indicator = d.text("CdtDbtInd")
    if indicator == "DBIT" or (not indicator and base.amount < 0):
        return -value
    return value


def _describe(row: Entry, details: list[_Fields], credit: bool, extra: str) -> Entry:
    """Payer, IBAN, remittance text and references of ``details``, written onto ``row``."""
    name, pty_name, ultimate, pty_ultimate, iban, other_id = _PARTY_PATHS["Dbtr" if credit else "Cdtr"]
    names: list[str] = []
    ibans: list[str] = []
    refs: list[str] = []
    for d in details:
        names += [d.first(name, pty_name), d.first(ultimate, pty_ultimate)]
        ibans += [d.first(iban, other_id)]
        refs += d.texts("RmtInf/Strd/CdtrRefInf/Ref") + d.texts("RmtInf/Ustrd") + [d.text("AddtlTxInf")]
        e2e = d.text("Refs/EndToEndId")
        refs += [e2e] if e2e.upper() != "NOTPROVIDED" else []
        if d.find("RtrInf") is not None:
            row.flag = row.flag or RETURN
        if len(details) == 1 and not row.transaction_id:
            row.transaction_id = d.first("Refs/AcctSvcrRef", "Refs/Prtry/Ref")
    row.payer_name = _unique(names)
    row.payer_iban = _unique(ibans)
    row.reference = _unique(refs) or extra
    return row


def _unique(parts: list[str]) -> str:
    """Non-empty parts in order, each once, joined by a space."""
    return " ".join(dict.fromkeys(p for p in parts if p))
