"""Invoice numbers in a payment's free text, found the ways people and banks write them.

Each way has its own evidence code and weight, from the surest to the least sure:

* ``structured_reference``: a creditor reference with check digits (ISO 11649 ``RF..``, Belgian
  ``+++123/4567/89002+++``, Swiss QR reference, Finnish reference number ``viitenumero``, Norwegian
  ``KID``). The check digits prove the reference was copied without error; the invoice is the one
  whose digits the reference carries before its check digit. A Finnish or Norwegian reference is a
  plain string of digits, so it is read as one only after its label (``viite``, ``viitenumero``,
  ``ref.nr``; ``KID``): an unlabelled number whose last digit happens to fit is read as digits.
* ``invoice_exact``: an open invoice's number appears as a word of the text.
* ``invoice_digits``: the digits of a word equal an invoice number's digits, leading zeros ignored
  (Odoo's "numerical tokens": ``INV/2026/00123`` and ``2026/00123`` meet); letters that OCR and
  typing confuse with digits (O/0, I and l/1, S/5, B/8, Z/2) are read as digits inside a number.
* ``invoice_one_edit``: the digits are one transposition or one dropped or extra digit away from
  exactly one open invoice. Guarded: when a single edit could lead to two open invoices, neither is
  taken (the payment goes to a person with both listed).
* ``invoice_tail``: only the last group of digits of an invoice number (``RE-2026-0101`` paid as
  "Rechnung 101"). Short numbers like this also occur in bank ids and dates, so this is weak
  evidence: a proposal for a person unless other evidence confirms it.

A number that fits several open invoices (two customers' ``2026-0101``) is never picked: it is
reported as ambiguous with every invoice it fits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum

from stdnum import iso11649, luhn
from stdnum.ch import esr


class Way(IntEnum):
    """How an invoice was found in the text, surest first (lower is surer)."""

    STRUCTURED = 0
    EXACT = 1
    DIGITS = 2
    ONE_EDIT = 3
    TAIL = 4


_WORD = re.compile(r"[0-9A-Za-z][0-9A-Za-z/_.\-]*[0-9A-Za-z]|[0-9A-Za-z]")
_RF = re.compile(r"\bRF\d{2}(?: ?[0-9A-Z]){1,21}\b")
_OGM = re.compile(r"(?:\+{3}|\*{3})(\d{3})/(\d{4})/(\d{5})(?:\+{3}|\*{3})")
_QRR = re.compile(r"\b(\d{2}(?: ?\d{5}){5})\b|\b(\d{27})\b")
_VIITE = re.compile(r"\b(?:VIITE(?:NUMERO|NRO)?|REF\.? ?NR\.?)\s*:?\s*(\d(?: ?\d){3,19})\b")
_KID = re.compile(r"\bKID\s*:?\s*(\d{2,24}[\d-])(?![\dA-Z])")
_LOOKALIKE = str.maketrans({"O": "0", "o": "0", "I": "1", "l": "1", "S": "5", "B": "8", "Z": "2"})
_NUMBERISH = re.compile(r"[0-9OoIlSBZ]*[0-9][0-9OoIlSBZ]*")
_MIN_DIGITS = 3
_NOT_DIGIT = re.compile(r"[^0-9]+")


@dataclass(frozen=True)
class Found:
    """An open invoice (position) the text points to, how, and the word that did it."""

    invoice: int
    way: Way
    word: str
    at: int = 0
    """Where the word starts in the text: invoices are paid in the order the text names them."""


def _digits_key(text: str) -> str:
    """The digits of ``text`` without leading zeros ("" when fewer than three digits remain)."""
    if text.isascii():  # the common case, at C speed
        key = _NOT_DIGIT.sub("", text).lstrip("0")
    else:
        key = "".join(ch for ch in text if ch.isdigit()).lstrip("0")
    return key if len(key) >= _MIN_DIGITS else ""


def _one_edit_variants(key: str) -> set[str]:
    """Keys one adjacent transposition or one deleted digit away from ``key``."""
    out = {key[:i] + key[i + 1] + key[i] + key[i + 2 :] for i in range(len(key) - 1) if key[i] != key[i + 1]}
    out |= {key[:i] + key[i + 1 :] for i in range(len(key))}
    out.discard(key)
    return out


def finnish_reference_ok(reference: str) -> bool:
    """A Finnish reference number (``viitenumero``, 4 to 20 digits): the last digit is the check
    digit over the others, weighted 7, 3, 1, 7, 3, 1 ... from the right, and it brings the weighted
    sum up to the next multiple of ten (``1232``: 3*7 + 2*3 + 1*1 = 28, 30 - 28 = 2). python-stdnum
    has no module for it (it has the RF form, ISO 11649)."""
    if not (reference.isdigit() and 4 <= len(reference) <= 20):
        return False
    base = reference[:-1]
    total = sum(int(d) * (7, 3, 1)[i % 3] for i, d in enumerate(reversed(base)))
    return (10 - total % 10) % 10 == int(reference[-1])


def kid_ok(kid: str) -> bool:
    """A Norwegian KID (2 to 25 characters): the last is a check digit by MOD10 (Luhn,
    python-stdnum) or by MOD11 (weights 2, 3, 4, 5, 6, 7, 2 ... from the right; 11 minus the
    remainder, 0 for remainder 0, ``-`` for remainder 1). Banks accept either, so either counts."""
    if not (2 <= len(kid) <= 25 and kid[:-1].isdigit()):
        return False
    if kid.isdigit() and luhn.is_valid(kid):
        return True
    total = sum(int(d) * (2 + i % 6) for i, d in enumerate(reversed(kid[:-1])))
    rest = total % 11
    check = "0" if rest == 0 else "-" if rest == 1 else str(11 - rest)
    return kid[-1] == check


class ReferenceIndex:
    """The open invoices' numbers, indexed every way the text may name them."""

    def __init__(self, numbers: Sequence[str]) -> None:
        self.exact: dict[str, list[int]] = {}
        self.digits: dict[str, list[int]] = {}
        self._deleted: dict[str, list[int]] | None = None
        self.tails: dict[str, list[int]] = {}
        for position, number in enumerate(numbers):
            upper = number.upper()
            self.exact.setdefault(upper, []).append(position)
            key = _digits_key(upper)
            if key:
                self.digits.setdefault(key, []).append(position)
            groups = re.findall(r"\d+", upper)
            tail = _digits_key(groups[-1]) if len(groups) > 1 else ""
            if tail and tail != key:
                self.tails.setdefault(tail, []).append(position)

    @property
    def deleted(self) -> dict[str, list[int]]:
        """Every invoice under each key one edit away from its digits (built on first use: most
        statements never need it)."""
        if self._deleted is None:
            self._deleted = {}
            for key, positions in self.digits.items():
                for variant in _one_edit_variants(key):
                    self._deleted.setdefault(variant, []).extend(positions)
        return self._deleted

    def find(self, text: str) -> list[Found]:
        """Every open invoice the text points to, each once, by its surest way, in the order the text
        names them. The words of a reference whose check digits hold are not read again as loose
        numbers: its check digit is not a typing error."""
        if not text.strip():
            return []
        best: dict[int, Found] = {}
        spans: list[tuple[int, int]] = []
        structured = list(self._structured(text, spans))
        words = [f for f in self._words(text) if not any(a <= f.at < b for a, b in spans)]
        for found in (*structured, *words):
            held = best.get(found.invoice)
            if held is None or found.way < held.way:
                best[found.invoice] = found
        return sorted(best.values(), key=lambda f: (f.at, f.invoice))

    def _structured(self, text: str, spans: list[tuple[int, int]]) -> Iterable[Found]:
        """References with valid check digits; the span of each is added to ``spans``."""
        upper = text.upper()
        for match in _RF.finditer(upper):
            ref = match.group(0).replace(" ", "")
            if iso11649.is_valid(ref):
                spans.append(match.span())
                yield from self._by_key(_digits_key(ref[4:]), Way.STRUCTURED, ref, match.start())
        for match in _OGM.finditer(upper):
            digits = "".join(match.groups())
            check = int(digits[:10]) % 97 or 97  # a remainder of 0 is written as 97
            if check == int(digits[10:]):
                spans.append(match.span())
                yield from self._by_key(_digits_key(digits[:10]), Way.STRUCTURED, match.group(0), match.start())
        for match in _QRR.finditer(upper):
            digits = (match.group(1) or match.group(2)).replace(" ", "")
            if esr.is_valid(digits):
                spans.append(match.span())
                yield from self._by_key(_digits_key(digits[:-1]), Way.STRUCTURED, digits, match.start())
        for match in _VIITE.finditer(upper):
            digits = match.group(1).replace(" ", "")
            if finnish_reference_ok(digits):
                spans.append(match.span())
                yield from self._by_key(_digits_key(digits[:-1]), Way.STRUCTURED, digits, match.start())
        for match in _KID.finditer(upper):
            kid = match.group(1)
            if kid_ok(kid):
                spans.append(match.span())
                yield from self._by_key(_digits_key(kid[:-1]), Way.STRUCTURED, kid, match.start())

    def _by_key(self, key: str, way: Way, word: str, at: int) -> Iterable[Found]:
        for position in self.digits.get(key, []) if key else []:
            yield Found(position, way, word, at)

    def _words(self, text: str) -> Iterable[Found]:
        for match in _WORD.finditer(text):
            word, at = match.group(0), match.start()
            upper = word.upper()
            if upper in self.exact:
                for position in self.exact[upper]:
                    yield Found(position, Way.EXACT, word, at)
                continue
            read = _NUMBERISH.sub(lambda m: m.group(0).translate(_LOOKALIKE), word)
            key = _digits_key(read)
            if not key:
                continue
            if key in self.digits:
                for position in self.digits[key]:
                    yield Found(position, Way.DIGITS, word, at)
                continue
            if key in self.tails:
                for position in self.tails[key]:
                    yield Found(position, Way.TAIL, word, at)
                continue
            near = {p for v in _one_edit_variants(key) for p in self.digits.get(v, [])}
            near.update(self.deleted.get(key, []))  # the text dropped a digit (or swapped two)
            for position in sorted(near):
                yield Found(position, Way.ONE_EDIT, word, at)


__all__ = ["Found", "ReferenceIndex", "Way", "finnish_reference_ok", "kid_ok"]
