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
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache, lru_cache

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
    return _local_name(str(el.tag))


@lru_cache(maxsize=4096)  # bounded: a hostile file may invent any number of tags
def _local_name(tag: str) -> str:
    return tag.rpartition("}")[2]


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
agents, addresses) are passed over in one step."""
_EVERY = frozenset(("RmtInf/Strd/CdtrRefInf/Ref", "RmtInf/Ustrd"))
"""Paths whose every element is read (remittance lines), each text gathered and squeezed."""
_CCY = "Amt/@Ccy"
"""Where the walk puts the currency attribute of the first ``Amt``."""
_SKIP, _FIRST, _ALL, _AMOUNT, _DETAILS = range(5)
"""What the walk does with an element: pass over it, keep the first text at its path, keep every
text, keep the first text and its currency (``Amt``), read the transaction details (``NtryDtls``)."""
_Steps = dict[str, tuple[str, int, "_Steps | None"]]
_STEPS: dict[str, _Steps] = {}
"""Per path walked into (``""`` for the element itself), per child tag met there: the child's path,
what is done with it, and the steps below it when it is gone into (worked out once per tag: a
file has some dozens)."""


def _steps(prefix: str) -> _Steps:
    return _STEPS.setdefault(prefix, {})


def _step(prefix: str, tag: str) -> tuple[str, int, _Steps | None]:
    path = prefix + (tag[tag.index("}") + 1 :] if tag[:1] == "{" else tag)
    if path in _EVERY:
        kind = _ALL
    elif path == "Amt":
        kind = _AMOUNT
    elif path == "NtryDtls":
        kind = _DETAILS
    else:
        kind = _FIRST if path in _WANTED else _SKIP
    return path, kind, _steps(path + "/") if path in _INNER else None


class _Fields:
    """An entry's (or a transaction detail's, or a balance's) texts by local path
    (``"RltdPties/Dbtr/Nm"``), read in one walk of the subtree: ``first`` holds the text of the first
    element at each path (as ``find`` finds it: squeezed when it is padded, split over lines or
    holds markup), ``every`` the texts of every remittance line, ``details`` the entry's
    ``NtryDtls/TxDtls``, each read the same way. Only the paths this reader asks for (``_ASKED``)
    are kept and gone into; the texts are taken during the walk, so what follows is dictionary
    look-ups (an entry is asked for some twenty fields)."""

    __slots__ = ("details", "every", "first", "line")

    def __init__(self, el: etree._Element, *, entry: bool = False) -> None:
        self.line: int = el.sourceline or 0
        self.first: dict[str, str] = {}
        self.every: dict[str, list[str]] = {}
        self.details: list[_Fields] = []
        self._walk(el, "", _steps(""), entry)

    def _keep(self, child: etree._Element, path: str, kind: int, entry: bool) -> None:
        """A remittance line, the first ``Amt`` with its currency, or the transaction details."""
        if kind == _ALL:
            text = " ".join("".join(child.itertext()).split()) if len(child) else " ".join((child.text or "").split())
            self.every.setdefault(path, []).append(text)
        elif kind == _AMOUNT:
            if path not in self.first:
                self.first[path] = _squeezed(child)
                self.first[_CCY] = child.get("Ccy", "")
        else:  # _DETAILS
            self.first.setdefault(path, "")
            if entry:
                self.details += [_Fields(d) for d in child if d.tag.__class__ is str and _local(d) == "TxDtls"]

    def _walk(self, el: etree._Element, prefix: str, steps: _Steps, entry: bool) -> None:
        first = self.first
        for child in el:
            tag = child.tag
            step = steps.get(tag)
            if step is None:
                if tag.__class__ is not str:  # a comment or processing instruction
                    continue
                step = _step(prefix, tag)
                if len(steps) < 4096:
                    steps[tag] = step
            path, kind, below = step
            if kind == _FIRST:
                if path not in first:  # _squeezed(child), written out: this runs for most elements kept
                    text = child.text or ""
                    if len(child) or text != text.strip() or "  " in text:
                        text = " ".join("".join(child.itertext()).split())
                    first[path] = text
            elif kind:
                self._keep(child, path, kind, entry)
            if below is not None and len(child):
                self._walk(child, path + "/", below, False)


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
    value = _signed(file, fields.first, where)
    stmt.currency = stmt.currency or fields.first.get(_CCY, "")
    if code in _OPENING and (stmt.opening is None or code == "OPBD"):
        stmt.opening, stmt.opening_where = value, where
    elif code in _CLOSING:
        stmt.closing, stmt.closing_where = value, where


def _signed(file: str, first: dict[str, str], where: str, line: int | None = None) -> Decimal:
    """``Amt`` with ``CdtDbtInd`` applied: credit positive, debit negative (``line``, when given,
    is named in an error)."""
    where = where if line is None else f"{where} (line {line})"
    amount = decimal_of(first.get("Amt", ""), file, where, "Amt")
    indicator = first.get("CdtDbtInd", "")
    if indicator not in ("CRDT", "DBIT"):
        raise InputError(file, f"{where}: CdtDbtInd is {indicator!r}; expected CRDT or DBIT")
    return amount if indicator == "CRDT" else -amount


def _entry_rows(file: str, stmt: BankStatement, el: etree._Element, n: int) -> list[Entry]:
    """One row per transaction detail of the entry (batch bookings), or one row for the entry."""
    where = f"{stmt.where}, entry {n}"
    fields = _Fields(el, entry=True)
    get = fields.first.get
    amount = _signed(file, fields.first, where, fields.line)
    booked = get("BookgDt/Dt") or get("BookgDt/DtTm") or get("ValDt/Dt")
    status = get("Sts")
    base = Entry(
        line=fields.line,
        where=where,
        booking_date=date_of(booked, file, where, "BookgDt") if booked else None,
        amount=amount,
        currency=get(_CCY, ""),
        transaction_id=get("AcctSvcrRef") or get("NtryRef", ""),
        flag=NOT_BOOKED if status and status not in ("BOOK", "BOOKED") else "",
    )
    rows = _split(file, base, fields.details, get("AddtlNtryInf", ""))
    if get("RvslInd", "").lower() == "true":
        for row in rows:
            row.flag = row.flag or RETURN
    return rows


def _split(file: str, base: Entry, details: list[_Fields], extra: str) -> list[Entry]:
    """Details with their own amounts become one row each, and must add up to the entry."""
    found = [_detail_amount(file, base, d, k) for k, d in enumerate(details, start=1)]
    amounts = [a for a in found if a is not None]
    if len(details) <= 1 or len(amounts) < len(found):
        return [_describe(base, details, base.amount >= 0, extra)]
    total = sum(amounts, Decimal(0))
    if total != base.amount:
        raise InputError(
            file,
            f"{base.where} (line {base.line}) books {base.amount} but its {len(details)} transaction details "
            f"add up to {total}: {abs(base.amount - total)} differ; the batch cannot be split",
        )
    rows = []
    for k, (d, a) in enumerate(zip(details, amounts, strict=True), start=1):
        row = Entry(
            line=d.line or base.line,
            where=f"{base.where}, detail {k}",
            booking_date=base.booking_date,
            amount=a,
            currency=base.currency,
            transaction_id=d.first.get("Refs/AcctSvcrRef")
            or (f"{base.transaction_id}-{k}" if base.transaction_id else ""),
            flag=base.flag,
        )
        rows.append(_describe(row, [d], a >= 0, ""))
    return rows


def _detail_amount(file: str, base: Entry, d: _Fields, k: int) -> Decimal | None:
    text = d.first.get("Amt") or d.first.get("AmtDtls/TxAmt/Amt")
    if not text:
        return None
    value = decimal_of(text, file, f"{base.where}, detail {k} (line {d.line})", "Amt")
    indicator = d.first.get("CdtDbtInd", "")
    if indicator == "DBIT" or (not indicator and base.amount < 0):
        return -value
    return value


def _describe(row: Entry, details: list[_Fields], credit: bool, extra: str) -> Entry:
    """Payer, IBAN, remittance text and references of ``details``, written onto ``row``."""
    name, pty_name, ultimate, pty_ultimate, iban, other_id = _PARTY_PATHS["Dbtr" if credit else "Cdtr"]
    names: list[str | None] = []
    ibans: list[str | None] = []
    refs: list[str | None] = []
    for d in details:
        get = d.first.get
        names += (get(name) or get(pty_name), get(ultimate) or get(pty_ultimate))
        ibans.append(get(iban) or get(other_id, ""))
        every = d.every.get
        refs += every("RmtInf/Strd/CdtrRefInf/Ref", ())
        refs += every("RmtInf/Ustrd", ())
        refs.append(get("AddtlTxInf", ""))
        e2e = get("Refs/EndToEndId", "")
        if e2e.upper() != "NOTPROVIDED":
            refs.append(e2e)
        if "RtrInf" in d.first:
            row.flag = row.flag or RETURN
        if len(details) == 1 and not row.transaction_id:
            row.transaction_id = get("Refs/AcctSvcrRef") or get("Refs/Prtry/Ref", "")
    row.payer_name = _unique(names)
    row.payer_iban = _unique(ibans)
    row.reference = _unique(refs) or extra
    return row


def _unique(parts: Iterable[str | None]) -> str:
    """Non-empty parts in order, each once, joined by a space."""
    found = dict.fromkeys(parts)
    found.pop("", None)
    found.pop(None, None)
    return " ".join(found)  # type: ignore[arg-type]  # None popped
