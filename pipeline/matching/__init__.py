"""Cash application by evidence: who paid, which invoices, how sure, and why.

``names`` compares payer names with customer names, ``references`` finds invoice numbers in free
text, ``subsets`` searches the set of open invoices a lump sum pays, and ``decide`` weighs the
evidence into one decision per receipt with the facts behind it (``evidence``). The resolver
(``pipeline.resolve``) hands it the receipts its exact rules cannot settle.
"""

from pipeline.matching.decide import Book, Decision, Receipt, build_book, decide
from pipeline.matching.evidence import Fact, details_text
from pipeline.matching.names import NameIndex, canonical_name
from pipeline.matching.references import ReferenceIndex
from pipeline.matching.subsets import find_subsets

__all__ = [
    "Book",
    "Decision",
    "Fact",
    "NameIndex",
    "Receipt",
    "ReferenceIndex",
    "build_book",
    "canonical_name",
    "decide",
    "details_text",
    "find_subsets",
]
