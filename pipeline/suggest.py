"""``payimport profile suggest``: a first profile for a new bank layout, inferred from its files.

BC's own "Simplified Bank Statement Import" looks at 50 lines and maps three fields; a profile
needs more (which rows are the table, which column is the receipt's amount and how it is written,
the day/month order, the payer and the invoice numbers in the reference text). Everything here
is read from the files' own cells: the header is the first row as wide as the data below it with
no number or date in it; a column's role comes from what its values parse as, and among columns
that parse alike, from its header text. When the data cannot decide (a date such as 03/04/2024 in
every row, a column of unsigned amounts with no sign anywhere) the suggestion says so in
``undecided`` instead of choosing: a profile that reads 3 April as 4 March posts every payment a
month off without a single rejected row. Several files of one bank are read together, so the one
with a day above 12 settles the order for all.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.config import Profile
from pipeline.readers import open_source
from pipeline.readers.excel import CellFormat, render_cell
from pipeline.readers.text import sniff_delimiter, split_lines

#: Formats tried on a date column, day-first before month-first; each pair differing only in
#: the order of %d and %m is what ``_date_formats`` refuses to choose between.
DATE_FORMATS = (
    "%Y-%m-%d",
    "%d.%m.%Y",
    "%d.%m.%y",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d/%m/%y",
    "%m/%d/%y",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%d-%m-%y",
    "%Y/%m/%d",
    "%Y.%m.%d",
    "%Y.%m.%d.",
    "%Y%m%d",
    "%d-%b-%Y",
    "%d %b %Y",
    "%d-%b-%y",
    "%b %d, %Y",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y:%m:%d",
    "%d.%m.%Y %H:%M:%S",
    "%d/%m/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M",
)

#: Header words, lower case, by the role they suggest; earlier words weigh more.
ROLE_WORDS: dict[str, tuple[str, ...]] = {
    "date": (
        "buchungstag",
        "buchungsdatum",
        "booking date",
        "transaction date",
        "date",
        "datum",
        "fecha",
        "data",
        "datum transakce",
        "transactiedatum",
        "boekdatum",
        "posted",
        "dátum",
        "дата",
        "tarih",
    ),
    "value_date": ("valuta", "value date", "wertstellung", "rentedatum", "valutadatum", "fecha valor"),
    "payer_name": (
        "auftraggeber",
        "beguenstigter",
        "begünstigter",
        "zahlungspflichtiger",
        "naam tegenpartij",
        "tegenrekeninghouder",
        "counterparty",
        "payer",
        "name",
        "naam",
        "nom",
        "nombre",
        "beneficiary",
        "partner",
        "empfänger",
        "ordinante",
        "from",
        "gegenpartei",
    ),
    "reference": (
        "verwendungszweck",
        "purpose",
        "reference",
        "description",
        "omschrijving",
        "mededeling",
        "libellé",
        "libelle",
        "concepto",
        "descrizione",
        "details",
        "memo",
        "narrative",
        "betalingskenmerk",
        "text",
        "buchungstext",
        "particulars",
        "message",
        "remittance",
    ),
    "transaction_id": (
        "transaktions-id",
        "transaction id",
        "transaction reference",
        "reference number",
        "volgnr",
        "id transakce",
        "referenz",
        "transaction number",
        "bank reference",
        "id",
    ),
}
CREDIT_WORDS = (
    "haben", "credit", "bij", "inkomsten", "abono", "money in", "paid in", "deposit", "accrediti",
    "entrate", "crédit", "gutschrift", "příjem", "jóváírás",
)  # fmt: skip
DEBIT_WORDS = (
    "soll", "debit", "af", "uitgaven", "cargo", "money out", "paid out", "withdrawal", "addebiti",
    "uscite", "débit", "lastschrift",
)  # fmt: skip
CREDIT_MARKS = ("C", "CR", "H", "Bij", "K", "+", "Credit", "CRDT", "Haben", "Gutschrift", "Inkomsten")
INVOICE_PREFIXES = r"(?:RE|RG|INV|INVOICE|RECHNUNG|RECHNR|FACTUUR|FACTURE|FACTURA|FATTURA|FAKTURA|FA|RN|NR)"
CUSTOMER_PREFIXES = r"(?:KD|KUNDE|KUNDENNR|K-NR|CUSTOMER|CUST|KLANT|CLIENT|CLIENTE|DEBITOR|DEB)"
_AMOUNT = re.compile(
    r"^[+-]?\s*(?:[A-Z]{3}\s+|[€£$¥₽]\s*)?[+-]?\s*\d{1,3}(?:[.,' ]?\d{3})*(?:[.,]\d{1,3})?"
    r"(?:\s*[€£$¥₽]|\s+[A-Z]{3}|\s*zł|\s*Kč|\s*Ft)?\s*-?$"
)
#: ISO 4217 codes a statement is likely to be in; a three-letter word that is none of them
#: (``REF``, ``SUM``) is not taken for a currency.
ISO_CURRENCIES = frozenset(
    {
        "EUR", "USD", "GBP", "CHF", "SEK", "NOK", "DKK", "ISK", "PLN", "CZK", "HUF", "RON", "BGN", "RSD", "TRY",
        "RUB", "UAH", "JPY", "CNY", "HKD", "SGD", "MYR", "THB", "IDR", "PHP", "INR", "AUD", "NZD", "CAD", "MXN",
        "BRL", "ARS", "CLP", "COP", "PEN", "ZAR", "NGN", "KES", "EGP", "MAD", "ILS", "AED", "SAR", "QAR", "KWD",
        "BHD", "OMR", "JOD",
    }
)  # fmt: skip
_SAMPLE_ROWS = 2000


@dataclass
class Grid:
    """The cells of the files, as text: one list of rows per file."""

    files: list[list[list[str]]]
    encoding: str | None = None
    delimiter: str | None = None
    excel: bool = False


@dataclass
class Suggestion:
    """What was inferred (``profile`` is config.yaml's mapping), why, and what was left open."""

    name: str
    profile: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    undecided: list[str] = field(default_factory=list)


def read_grid(paths: Sequence[Path]) -> Grid:
    """Every file's cells, read the way a profile without options would read them (detected
    encoding, sniffed delimiter; typed workbook cells rendered with ISO dates and a decimal point)."""
    grid = Grid(files=[])
    for path in paths:
        source = open_source(path)
        if source.kind == "excel":
            grid.excel = True
            sheet = source.sheet(None)
            fmt = CellFormat()
            grid.files.append([[render_cell(v, fmt).strip() for v in row] for row in sheet.rows[:_SAMPLE_ROWS]])
            continue
        text = source.text(None)
        full = text.full_text()
        grid.encoding = grid.encoding or text.encoding
        grid.delimiter = grid.delimiter or sniff_delimiter(split_lines(full)[:60], '"')
        # csv, not line by line: a quoted reference spanning lines is one row, as the reader sees it
        records = csv.reader(io.StringIO(full), delimiter=grid.delimiter, quotechar='"')
        grid.files.append([[c.strip() for c in r] for r, _ in zip(records, range(_SAMPLE_ROWS), strict=False)])
    return grid


def _filled(row: Sequence[str]) -> int:
    return sum(1 for c in row if c)


def _is_number(cell: str) -> bool:
    return bool(cell) and bool(_AMOUNT.match(cell)) and any(ch.isdigit() for ch in cell)


def find_header(rows: list[list[str]]) -> int | None:
    """Index of the header row: the nearest row above the first two dated rows that has at least
    two cells and no number or date in any of them (the rows above it are a preamble)."""
    dated = [i for i, r in enumerate(rows[:200]) if any(_date_formats_of(c) for c in r if c)]
    first = next((i for i, j in itertools.pairwise(dated) if j - i <= 2), dated[0] if dated else None)
    if first is None:
        return None
    for i in range(first - 1, -1, -1):
        texts = [c for c in rows[i] if c]
        if len(texts) >= 2 and not any(_is_number(c) or _date_formats_of(c) for c in texts):
            return i
    return None


def _date_formats_of(cell: str) -> list[str]:
    out = []
    for fmt in DATE_FORMATS:
        try:
            dt.datetime.strptime(cell, fmt)
        except ValueError:
            continue
        out.append(fmt)
    return out


@dataclass
class Column:
    """One column of the table: its header, 1-based position and its data cells."""

    header: str
    position: int
    values: list[str]

    @property
    def filled(self) -> list[str]:
        return [v for v in self.values if v]

    def share(self, test: Callable[[str], bool]) -> float:
        cells = self.filled
        return sum(1 for v in cells if test(v)) / len(cells) if cells else 0.0


def build_columns(grid: Grid, header: list[int | None]) -> list[Column]:
    """The columns of every file's table side by side (files of one bank share their layout)."""
    names: list[str] = []
    data: list[list[str]] = []
    for rows, at in zip(grid.files, header, strict=True):
        if at is not None and not names:
            names = rows[at]
        data += [r for r in rows[(at + 1 if at is not None else 0) :] if _filled(r) >= 2]
    width = max([len(names), *(len(r) for r in data)], default=0)
    return [
        Column(names[i] if i < len(names) else "", i + 1, [r[i] if i < len(r) else "" for r in data])
        for i in range(width)
    ]


def _word_rank(header: str, role: str) -> int:
    """How strongly a header names ``role``: 100 for the first word of its list, less for later ones, 0 for none."""
    text = header.lower()
    words = ROLE_WORDS[role]
    for i, word in enumerate(words):
        if word == text or (len(word) > 3 and word in text):
            return 100 - i
    return 0


def _formats_of_column(column: Column) -> list[str]:
    """The formats that read (almost) every filled value of ``column``: a stray ``Pending`` or a
    total row's label may be among them, a second date layout may not."""
    cells = column.filled[:_SAMPLE_ROWS]
    if not cells:
        return []
    counts: Counter[str] = Counter()
    for cell in cells:
        counts.update(_date_formats_of(cell))
    return [f for f in DATE_FORMATS if counts[f] >= 0.75 * len(cells)]


def _date_rank(column: Column) -> int:
    """Booking date before value date: a payment is dated when the bank booked it."""
    return _word_rank(column.header, "date") - _word_rank(column.header, "value_date")


def _swapped(fmt: str) -> str:
    return fmt.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")


def choose_date(columns: list[Column], out: Suggestion) -> Column | None:
    """The date column (the booking date rather than the value date, by header) and its format;
    both orders when the data reads either way (then each such row is refused, never guessed)."""
    found = [(c, f) for c in columns if (f := _formats_of_column(c))]
    if not found:
        out.undecided.append("date: no column reads as dates; set columns.date and date_formats")
        return None
    column, formats = max(
        found, key=lambda cf: _word_rank(cf[0].header, "date") - _word_rank(cf[0].header, "value_date")
    )
    fmt = formats[0]
    if _swapped(fmt) in formats and _swapped(fmt) != fmt:
        out.profile["date_formats"] = [fmt, _swapped(fmt)]
        out.undecided.append(
            f"date order: every date in {column.header or column.position!r} reads both as {fmt} and as "
            f"{_swapped(fmt)} (no day above 12); both are listed, so each such row is refused as "
            "date_ambiguous until you keep the right one"
        )
    else:
        out.profile["date_formats"] = [fmt]
        out.notes.append(f"date: column {column.header or column.position!r}, every date reads as {fmt}")
    return column


def _number_text(cell: str) -> str:
    """The digits, marks and sign of an amount cell (currency symbols and words removed)."""
    return re.sub(r"[^\d.,' +-]", "", cell).strip()


def choose_marks(values: list[str], out: Suggestion) -> dict[str, str]:
    """Decimal and thousands marks from the amounts themselves: the last of '.' and ',' in a value
    holding both is the decimal mark; one mark followed by exactly 1-2 digits at the end is too."""
    decimal: Counter[str] = Counter()
    thousands: Counter[str] = Counter()
    for raw in values:
        text = _number_text(raw).lstrip("+-").rstrip("-").strip()
        tail = re.search(r"([.,])(\d{1,2})$", text)
        if tail:
            decimal[tail.group(1)] += 1
            body = text[: tail.start()]
        else:
            body = text
        for mark in ("'", " ", ".", ","):
            if re.search(rf"\d{re.escape(mark)}\d{{3}}", body):
                thousands[mark] += 1
    dec = decimal.most_common(1)[0][0] if decimal else "."
    if not decimal:
        out.undecided.append("decimal mark: no amount has decimals; '.' assumed")
    thou = next((m for m, _ in thousands.most_common() if m != dec), "")
    return {"decimal_mark": dec, "thousands_mark": thou}


def _is_amount_column(column: Column) -> bool:
    return column.share(_is_number) >= 0.8 and column.share(lambda v: bool(_date_formats_of(v))) < 0.5


def _nonzero(cell: str) -> bool:
    return _is_number(cell) and any(ch in "123456789" for ch in cell)


def _negative(cell: str) -> bool:
    text = cell.strip()
    return text.startswith("-") or text.endswith("-") or bool(re.match(r"^[^\d]{0,3}\s*-", text)) or "(" in text


AMOUNT_WORDS = (
    "betrag",
    "amount",
    "bedrag",
    "importe",
    "montant",
    "importo",
    "summe",
    "kwota",
    "částka",
    "сумма",
    "összeg",
)
BALANCE_WORDS = ("saldo", "balance", "kontostand", "solde", "running")


def _amount_rank(column: Column) -> int:
    text = column.header.lower()
    if any(w in text for w in BALANCE_WORDS):
        return -100
    named = 50 if any(w in text for w in AMOUNT_WORDS) else 0
    return named + (20 if column.share(lambda v: bool(re.search(r"[.,]\d{1,2}$", v))) >= 0.5 else 0)


def _side(header: str) -> str:
    text = header.lower()
    if any(w == text or (len(w) > 2 and w in text) for w in CREDIT_WORDS):
        return "credit"
    if any(w == text or (len(w) > 2 and w in text) for w in DEBIT_WORDS):
        return "debit"
    return ""


def _debit_credit(numeric: list[Column]) -> tuple[Column, Column] | None:
    """Two amount columns named as the debit and the credit side, filled in turn (one per row)."""
    credit = [c for c in numeric if _side(c.header) == "credit"]
    debit = [c for c in numeric if _side(c.header) == "debit"]
    if not credit or not debit:
        return None
    d, c = debit[0], credit[0]
    both = sum(1 for a, b in zip(d.values, c.values, strict=True) if _nonzero(a) and _nonzero(b))
    return (d, c) if both <= 0.2 * max(1, len(d.values)) else None


def _indicator(columns: list[Column], amount: Column) -> tuple[Column, list[str], list[str]] | None:
    """A column of a few short marks (C/D, Af/Bij, S/H) beside an unsigned amount column."""
    for column in columns:
        if column is amount or not column.filled:
            continue
        marks = Counter(column.values)
        if len(marks) > 4 or any(len(v) > 12 for v in marks):
            continue
        credit = [v for v in marks if v.lower() in {m.lower() for m in CREDIT_MARKS}]
        if credit and len(credit) < len(marks):
            return column, sorted(credit), sorted(v for v in marks if v not in credit)
    return None


def choose_amount(columns: list[Column], date: Column | None, out: Suggestion) -> dict[str, str | int]:
    """The amount layout and its columns: signed, debit and credit, or an indicator column."""
    numeric = [c for c in columns if c is not date and _is_amount_column(c)]
    numeric.sort(key=lambda c: -_amount_rank(c))
    amount_spec: dict[str, Any] = {}
    mapping: dict[str, str | int] = {}
    # a credit column may be empty in a file without receipts: named by its header, it still counts
    sided = [c for c in columns if c is not date and _side(c.header) and (not c.filled or _is_amount_column(c))]
    pair = _debit_credit(sided)
    if pair is not None:
        mapping = {"debit": _ref(pair[0]), "credit": _ref(pair[1])}
        amount_spec["layout"] = "debit_credit"
        values = pair[0].filled + pair[1].filled
        out.notes.append(f"amount: debit {pair[0].header!r} and credit {pair[1].header!r}, one filled per row")
    elif numeric and _amount_rank(numeric[0]) >= 0:
        amount = numeric[0]
        mapping = {"amount": _ref(amount)}
        values = amount.filled
        _sign_or_indicator(columns, amount, mapping, amount_spec, out)
    else:
        out.undecided.append("amount: no column reads as amounts; set columns.amount and amount.layout")
        return {}
    amount_spec.update(choose_marks(values, out))
    out.profile["amount"] = amount_spec
    return mapping


def _sign_or_indicator(
    columns: list[Column], amount: Column, mapping: dict[str, str | int], spec: dict[str, Any], out: Suggestion
) -> None:
    negatives = amount.share(_negative)
    if negatives > 0:
        spec["layout"] = "signed"
        out.notes.append(f"amount: column {amount.header or amount.position!r}, signed (debits are negative)")
        return
    found = _indicator(columns, amount)
    if found is None:
        spec["layout"] = "signed"
        out.undecided.append(
            f"amount sign: no value in {amount.header or amount.position!r} is negative and no column marks "
            "credit or debit; every row counts as a receipt (if receipts are the negative ones, set invert_sign)"
        )
        return
    column, credit, debit = found
    mapping["indicator"] = _ref(column)
    spec.update(layout="indicator", credit_values=credit, debit_values=debit)
    out.notes.append(f"amount: unsigned, {column.header or column.position!r} says credit with {credit}")


def _ref(column: Column) -> str | int:
    return column.header if column.header else column.position


def choose_texts(columns: list[Column], used: set[int], out: Suggestion) -> dict[str, Any]:
    """Payer, reference, transaction id and currency columns, by header words and by content."""
    mapping: dict[str, Any] = {}
    free = [c for c in columns if c.position not in used and c.filled]
    currency = [c for c in free if c.share(lambda v: v.upper() in ISO_CURRENCIES) >= 0.9]
    if currency:
        mapping["currency"] = _ref(currency[0])
        used.add(currency[0].position)
    for role in ("transaction_id", "payer_name", "reference"):
        ranked = sorted(
            ((_word_rank(c.header, role), c) for c in free if c.position not in used),
            key=lambda rc: -rc[0],
        )
        if not ranked or ranked[0][0] == 0:
            out.notes.append(f"{role}: none (no column's header names one; map it by hand if the file has it)")
            continue
        best = ranked[0][1]
        group = _numbered_siblings(best, free) if role == "reference" else [best]
        mapping[role] = _ref(best) if len(group) == 1 else [_ref(c) for c in group]
        used.update(c.position for c in group)
        out.notes.append(f"{role}: {', '.join(repr(c.header) for c in group)}")
    return mapping


def _numbered_siblings(column: Column, columns: list[Column]) -> list[Column]:
    """``VWZ1`` .. ``VWZ14`` or ``Omschrijving-1`` .. ``-3``: a reference split over numbered columns."""
    stem = re.sub(r"[\s_-]*\d+$", "", column.header)
    if stem == column.header:
        return [column]
    return [c for c in columns if re.sub(r"[\s_-]*\d+$", "", c.header) == stem and c.header != stem] or [column]


SYMBOLS = {"€": "EUR", "£": "GBP", "$": "USD", "kč": "CZK", "ft": "HUF", "zł": "PLN", "chf": "CHF", "₽": "RUB"}


def choose_currency(columns: list[Column], mapping: dict[str, Any], out: Suggestion) -> None:
    """The statement currency: the currency column's most common code, else a code or symbol in
    the amount headers or cells; EUR only as a stated assumption."""
    by_ref = {_ref(c): c for c in columns}
    if "currency" in mapping:
        out.profile["currency"] = {"expected": Counter(by_ref[mapping["currency"]].filled).most_common(1)[0][0]}
        return
    texts = " ".join(
        [str(mapping.get(k, "")) for k in ("amount", "credit", "debit")]
        + [v for k in ("amount", "credit") if k in mapping for v in by_ref[mapping[k]].filled[:50]]
    )
    code = next((c for c in re.findall(r"\b([A-Z]{3})\b", texts) if c in ISO_CURRENCIES), None)
    if code is None:
        code = next((c for s, c in SYMBOLS.items() if s in texts.lower()), None)
    if code is None:
        out.undecided.append("currency: no currency column, code or symbol; EUR assumed (currency.expected)")
        code = "EUR"
    out.profile["currency"] = {"expected": code}


def choose_extract(columns: list[Column], mapping: dict[str, Any], out: Suggestion) -> None:
    """Invoice and customer number patterns seen in the reference text (a prefix such as ``RE-`` or
    ``Rechnung`` followed by a number, in at least two rows or a tenth of them)."""
    refs = mapping.get("reference")
    if refs is None:
        return
    by_ref = {_ref(c): c for c in columns}
    wanted = refs if isinstance(refs, list) else [refs]
    texts = [" ".join(parts) for parts in zip(*(by_ref[r].values for r in wanted), strict=True)]
    extract: dict[str, str] = {}
    for key, prefixes in (("invoice_number", INVOICE_PREFIXES), ("customer_number", CUSTOMER_PREFIXES)):
        pattern = _seen_pattern(texts, prefixes)
        if pattern is not None:
            extract[key] = pattern
            out.notes.append(f"extract.{key}: {pattern} (seen in the reference text)")
    if extract:
        out.profile["extract"] = extract


def _seen_pattern(texts: list[str], prefixes: str) -> str | None:
    attached = Counter(m.group(1) for t in texts for m in re.finditer(rf"\b({prefixes})-\d[\d-]*\d\b", t, re.I))
    spaced = Counter(m.group(1) for t in texts for m in re.finditer(rf"\b({prefixes})\.?[\s:#]+\d{{3,}}", t, re.I))
    need = max(2, len(texts) // 10)
    if attached and attached.most_common(1)[0][1] >= need:
        word = attached.most_common(1)[0][0]
        return rf"\b({re.escape(word)}-\d[\d-]*\d)\b"
    if spaced and spaced.most_common(1)[0][1] >= need:
        word = spaced.most_common(1)[0][0]
        return rf"(?i)\b{re.escape(word)}\.?[\s:#]+(\d{{3,}})"
    return None


def suggest_profile(paths: Sequence[Path], name: str) -> Suggestion:
    """A profile for the layout shared by ``paths``, with notes on each decision and the list of
    what the files could not decide."""
    out = Suggestion(name=name, profile={"title": "suggested from " + ", ".join(p.name for p in paths)})
    grid = read_grid(paths)
    if grid.encoding and grid.encoding.lower().replace("_", "-") not in {"utf-8", "ascii", "utf-8-sig"}:
        out.profile["encoding"] = grid.encoding
    if grid.delimiter:
        out.profile["delimiter"] = grid.delimiter
    headers = [find_header(rows) for rows in grid.files]
    columns = build_columns(grid, headers)
    date = choose_date(columns, out)
    mapping: dict[str, Any] = {} if date is None else {"date": _ref(date)}
    mapping.update(choose_amount(columns, date, out))
    used = {c.position for c in columns if _ref(c) in _flat(mapping.values())}
    mapping.update(choose_texts(columns, used, out))
    _place_header(grid, headers, columns, mapping, out)
    out.profile["columns"] = mapping
    choose_currency(columns, mapping, out)
    choose_extract(columns, mapping, out)
    _describe_edges(grid, headers, out)
    _check(out)
    return out


def _flat(values: Any) -> list[Any]:
    return [x for v in values for x in (v if isinstance(v, list) else [v])]


def _place_header(
    grid: Grid, headers: list[int | None], columns: list[Column], mapping: dict[str, Any], out: Suggestion
) -> None:
    """``header.signature``: the header cells of the mapped columns (they identify the layout)."""
    if all(h is None for h in headers):
        out.profile["header"] = {"present": False}
        out.undecided.append("header: none found; columns are named by position and the profile must be named")
        return
    names = [c.header for c in columns]
    chosen = [v for v in _flat(mapping.values()) if isinstance(v, str) and names.count(v) == 1]
    signature = list(dict.fromkeys(chosen))[:4]
    out.profile["header"] = {"signature": signature}
    deepest = max(h for h in headers if h is not None)
    if deepest >= 100:
        out.profile["header"]["search_rows"] = deepest + 1
    if deepest:
        out.notes.append(f"header: row {deepest + 1} (the {deepest} row(s) above it are a preamble, skipped)")


def _describe_edges(grid: Grid, headers: list[int | None], out: Suggestion) -> None:
    """Rows below the table (totals, balances): the default footer pattern and balance markers
    skip them; say how many there are so that a person can check the counts."""
    for rows, at in zip(grid.files, headers, strict=True):
        body = rows[(at or 0) + 1 :]
        width = Counter(_filled(r) for r in body if _filled(r) >= 2).most_common(1)
        if not width:
            continue
        last = max((i for i, r in enumerate(body) if _filled(r) >= width[0][0] * 0.6), default=len(body))
        tail = [r for r in body[last + 1 :] if _filled(r)]
        if tail:
            first = next(c for c in tail[0] if c)
            out.notes.append(f"{len(tail)} row(s) below the table (first: {first[:40]!r}): totals or balances")


def _check(out: Suggestion) -> None:
    """The suggestion must load as a profile; if it does not, say why (it is still written)."""
    from pydantic import ValidationError

    try:
        Profile.model_validate(out.profile)
    except ValidationError as exc:
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"])
            out.undecided.append(f"{where or 'profile'}: {err['msg'].removeprefix('Value error, ')}")


def render(suggestion: Suggestion, indent: int = 0) -> str:
    """The profile as commented YAML (``NAME:`` and its keys), indented for ``profiles:``."""
    import yaml

    pad = " " * indent
    lines = [f"{pad}# suggested by `payimport profile suggest`; what it decided and why:"]
    lines += [f"{pad}#   {note}" for note in suggestion.notes]
    if suggestion.undecided:
        lines.append(f"{pad}# NOT DECIDED (check these before importing):")
        lines += [f"{pad}#   {item}" for item in suggestion.undecided]
    order = ("title", "encoding", "delimiter", "header", "columns", "amount", "date_formats", "currency", "extract")
    ordered = {k: suggestion.profile[k] for k in (*order, *suggestion.profile) if k in suggestion.profile}
    body = yaml.safe_dump({suggestion.name: ordered}, sort_keys=False, allow_unicode=True, width=1000)
    lines += [pad + line for line in body.splitlines()]
    return "\n".join(lines) + "\n"


def default_name(path: Path) -> str:
    """A profile name from a file name: ``Umsatz_2024-03.CSV`` -> ``umsatz``."""
    stem = re.sub(r"[^a-z]+", "-", path.stem.lower()).strip("-")
    return stem.split("-")[0] if stem else "bank"


def add_to_config(path: Path, suggestion: Suggestion) -> None:
    """Append the profile, commented, under ``profiles:`` of the config at ``path``.

    Only when ``profiles:`` is the file's last key and written as a block (as ``payimport init``
    writes it), so that appending text cannot land inside another key; and only when the config
    still loads with it. Otherwise ``ConfigError`` says to paste it by hand, and the file is untouched."""
    import yaml

    from pipeline.config import parse_config
    from pipeline.errors import ConfigError

    text = path.read_text(encoding="utf-8")
    root = yaml.compose(text)
    last = root.value[-1] if isinstance(root, yaml.MappingNode) and root.value else None
    if last is None or last[0].value != "profiles" or getattr(last[1], "flow_style", False):
        raise ConfigError(
            f"{path}: `profiles:` is not the last key written as a block; paste the profile under it by hand"
        )
    data = yaml.safe_load(text)
    if suggestion.name in (data.get("profiles") or {}):
        raise ConfigError(f"{path}: a profile named {suggestion.name!r} exists; choose another --name")
    new = text.rstrip("\n") + "\n\n" + render(suggestion, indent=2)
    parse_config(yaml.safe_load(new), str(path))
    path.write_text(new, encoding="utf-8")
