"""Payer names against customer names, the way a person reading a statement compares them.

A bank writes the payer as the payer's bank knows it: ``MUELLER MASCHINENBAU``, ``Müller
Maschinenbau GmbH``, ``Maschinenbau Müller``. Names are therefore compared in a canonical form:
case folded, accents and umlauts transliterated and then reduced (``ü``, ``ue`` and ``u`` all
become ``u``, so ``Müller``, ``Mueller`` and ``Muller`` meet), legal forms dropped (``GmbH``,
``S.L.``, ``B.V.``, ``Ltd`` ...), punctuation ignored, and words compared in any order
(rapidfuzz ``token_sort_ratio``). The score is a percentage like Business Central's "string
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


def canonical_name(name: str) -> str:
    """The form two names are compared in (module docstring); the name itself when nothing is left."""
    text = name.casefold().translate(_TRANSLITERATE)
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    for long, short in _REDUCE:
        text = text.replace(long, short)
    text = re.sub(r"[./']", "", text)
    words = re.sub(r"[^0-9a-z]+", " ", text).split()
    kept = [w for w in words if w not in LEGAL_FORMS]
    return " ".join(kept or words)


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
    _exact: dict[str, list[int]] = field(init=False)
    _cache: dict[str, list[NameHit]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._canonical = [canonical_name(n) if n.strip() else "" for n in self.names]
        self._exact = {}
        for position, form in enumerate(self._canonical):
            if form:
                self._exact.setdefault(form, []).append(position)

    def search(self, payer: str, limit: int = 5) -> list[NameHit]:
        """Customers whose name scores at least ``close`` against ``payer``, best first (ties in
        customer order). A canonical name equal to the payer's scores 100 and ends the search."""
        form = canonical_name(payer) if payer.strip() else ""
        if not form:
            return []
        if form in self._cache:
            return self._cache[form]
        exact = self._exact.get(form)
        if exact:
            hits = [NameHit(p, 100.0) for p in exact]
        else:
            found = process.extract(
                form, self._canonical, scorer=fuzz.token_sort_ratio, score_cutoff=self.close, limit=limit
            )
            hits = sorted(
                (NameHit(int(p), float(score)) for _, score, p in found), key=lambda h: (-h.score, h.customer)
            )
        self._cache[form] = hits
        return hits


__all__ = ["LEGAL_FORMS", "NameHit", "NameIndex", "canonical_name"]
