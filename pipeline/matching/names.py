"""Payer names against customer names, the way a person reading a statement compares them.

A bank writes the payer as the payer's bank knows it: ``MUELLER MASCHINENBAU``, ``Müller
Maschinenbau GmbH``, ``Maschinenbau Müller``. Names are therefore compared in a canonical form:
case folded, accents and umlauts transliterated and then reduced (``ü``, ``ue`` and ``u`` all
become ``u``, so ``Müller``, ``Mueller`` and ``Muller`` meet), legal forms dropped (``GmbH``,
``S.L.``, ``B.V.``, ``Ltd`` ...), punctuation ignored, and words compared in any order
(rapidfuzz ``token_sort_ratio``); the legal form is looked at only to tell apart two customers of
the same name. The score is a percentage like Business Central's "string
nearness": 95 or more counts as the same name, 65 or more as a close one (BC's own thresholds,
``MatchBankPayments``), below that as no evidence at all.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

_TRANSLITERATE = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "æ": "ae", "ø": "oe", "å": "aa", "œ": "oe", "ł": "l", "đ": "d"}
)
_REDUCE = (("ae", "a"), ("oe", "o"), ("ue", "u"))
_DROPPED = re.compile(r"[./']")
_NOT_WORD = re.compile(r"[^0-9a-z]+")
LEGAL_FORMS: frozenset[str] = frozenset(
    [
        "gmbh",
        "mbh",
        "ag",
        "kg",
        "kgaa",
        "ohg",
        "gbr",
        "ug",
        "ek",
        "ev",
        "eg",
        "se",
        "co",
        "cokg",
        "ltd",
        "limited",
        "llc",
        "llp",
        "lp",
        "inc",
        "incorporated",
        "corp",
        "corporation",
        "company",
        "plc",
        "sa",
        "sas",
        "sarl",
        "sl",
        "slu",
        "srl",
        "spa",
        "snc",
        "sca",
        "bv",
        "nv",
        "vof",
        "cv",
        "oy",
        "oyj",
        "ab",
        "as",
        "asa",
        "aps",
        "sp",
        "z",
        "oo",
        "zoo",
        "sro",
        "doo",
        "kft",
        "zrt",
        "sia",
        "uab",
        "ou",
        "pty",
        "pvt",
    ]
)
"""Legal forms left out of a name (after dots and slashes are removed: ``S.L.`` is ``sl``)."""


def canonical_name(name: str, *, keep_legal_form: bool = False) -> str:
    """The form two names are compared in (module docstring); the name itself when nothing is left.
    ``keep_legal_form`` keeps the legal form's words, to tell apart two companies of one name."""
    text = name.casefold().translate(_TRANSLITERATE)
    if not text.isascii():  # plain ASCII has no accents to take off
        text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    for long, short in _REDUCE:
        text = text.replace(long, short)
    words = _NOT_WORD.sub(" ", _DROPPED.sub("", text)).split()
    kept = words if keep_legal_form else [w for w in words if w not in LEGAL_FORMS]
    return " ".join(kept or words)


def _words(form: str) -> set[str]:
    """The words of a canonical name and the first four letters of each longer one (a typo late in
    a word still finds it)."""
    words = set(form.split())
    return words | {w[:4] for w in words if len(w) > 4}


FORM_DIFFERS = 90.0
"""The score left to a customer whose name equals the payer's but whose legal form does not, when
another customer of that name has the payer's legal form (``Horváth Maschinenbau B.V.`` paying,
``Horváth Maschinenbau B.V.`` and ``Horváth Maschinenbau Inc.`` on file)."""


@dataclass(frozen=True)
class NameHit:
    """A customer whose name is near the payer's: its position and the score (0-100)."""

    customer: int
    score: float


@dataclass
class NameIndex:
    """Every customer name in canonical form, searched once per distinct payer name."""

    names: Sequence[str]
    close: float = 65.0
    _canonical: list[str] = field(init=False)
    _full: list[str] = field(init=False)
    _by_word: dict[str, list[int]] = field(init=False)
    _common: int = field(init=False)
    _cache: dict[str, list[NameHit]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._canonical = [canonical_name(n) if n.strip() else "" for n in self.names]
        self._full = [canonical_name(n, keep_legal_form=True) if n.strip() else "" for n in self.names]
        self._by_word = {}
        for position, form in enumerate(self._canonical):
            for word in _words(form):
                self._by_word.setdefault(word, []).append(position)
        self._common = max(50, len(self.names) // 100)

    def _choices(self, form: str) -> dict[int, str]:
        """The customers worth scoring: those sharing a word, or a word's first four letters, with
        the payer that few customers have (one in more than 1% of the names, like "Bau" or
        "Handel", narrows nothing). Scoring 10,000 names per payer would cost milliseconds; this
        costs microseconds. A payer whose every word is common is scored against every customer."""
        lists = [self._by_word.get(w, []) for w in _words(form)]
        rare = [found for found in lists if len(found) <= self._common]
        if not rare:
            return dict(enumerate(self._canonical))
        return {p: self._canonical[p] for found in rare for p in found}

    def search(self, payer: str, limit: int = 5) -> list[NameHit]:
        """Customers whose name scores at least ``close`` against ``payer``, best first (ties in
        customer order). When several score 95 or more and the payer wrote a legal form only one
        of them has, the others keep ``FORM_DIFFERS``."""
        form = canonical_name(payer) if payer.strip() else ""
        if not form:
            return []
        key = canonical_name(payer, keep_legal_form=True)
        if key in self._cache:
            return self._cache[key]
        choices = self._choices(form)
        found = process.extract(form, choices, scorer=fuzz.token_sort_ratio, score_cutoff=self.close, limit=limit)
        hits = [NameHit(int(p), float(score)) for _, score, p in found]
        same = [h for h in hits if h.score >= 95]
        if len(same) > 1 and key != form:
            with_form = [h for h in same if self._full[h.customer] == key]
            if len(with_form) == 1:
                hits = [h if h.score < 95 or h in with_form else NameHit(h.customer, FORM_DIFFERS) for h in hits]
        hits.sort(key=lambda h: (-h.score, h.customer))
        self._cache[key] = hits
        return hits


__all__ = ["FORM_DIFFERS", "LEGAL_FORMS", "NameHit", "NameIndex", "canonical_name"]
