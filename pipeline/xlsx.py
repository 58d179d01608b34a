"""Excel-native tables for people: the one place that writes report and decisions sheets.

Why XlsxWriter: it streams rows to disk (``constant_memory``), so a million-line report is
written in bounded memory several times faster than openpyxl's write-only mode, and it writes
what finance staff expect of a sheet: real dates and numbers with formats, a frozen bold header
row with filters, sensible widths, wrapped messages and a page set up to print landscape, one
page wide.

Safety: text is always written as text (``strings_to_formulas``/``_numbers``/``_urls`` off); text
that starts like a formula (``= + - @``, tab, CR) gets Excel's quote prefix so it stays text even
when the cell is edited; characters XML cannot carry are written as ``\\xNN``.

Money at the Excel boundary: amounts are exact (integer minor units) everywhere in the tool. A
cell gets an Excel number (a binary float) only when that float equals the exact amount
(``pipeline.money.exact_float``, at most 15 significant digits); otherwise the exact text is
written, so a cell is never off by a cent.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import tempfile
import uuid
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeAlias

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from pipeline.money import minor_text

FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")
DATE_FORMAT: Final = "yyyy-mm-dd"
MAX_WIDTH: Final = 60
MAX_DECIMALS: Final = 5
"""Most decimals a currency has in BC (amounts are rounded to at most 5 places)."""


@dataclass(frozen=True)
class Money:
    """An amount for a money cell: the float Excel stores (exact, see module docstring) and its
    currency's decimals, which choose the number format."""

    number: float
    decimals: int


@dataclass(frozen=True)
class Table:
    """A sheet's name and columns: (header, kind, width); kind is text, wrap, int, date or money."""

    name: str
    columns: tuple[tuple[str, str, int], ...]
    decimals: int = 2
    printed: int = 0
    """How many columns from the left a printout shows (0: all): the ones a person reads, not
    the ids kept for filters and tools, so the print stays legible one page wide."""


def money_format(decimals: int) -> str:
    """Thousands separators and the currency's decimals ("#,##0.00")."""
    return "#,##0" if decimals <= 0 else "#,##0." + "0" * decimals


def is_formula_like(text: str) -> bool:
    return text.startswith(FORMULA_START)


def clean_text(text: str) -> str:
    """Characters XML cannot carry, written as ``\\xNN`` (so nothing is lost silently)."""
    if ILLEGAL_CHARACTERS_RE.search(text):
        return ILLEGAL_CHARACTERS_RE.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)
    return text


@contextmanager
def open_workbook(path: Path, *, subject: str = "", title: str = "") -> Iterator[Any]:
    """An XlsxWriter workbook built in a scratch folder and moved into place when the block ends,
    so a reader (or a crash) never sees half a file."""
    import xlsxwriter

    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = tempfile.TemporaryDirectory(prefix="payimport-xlsx-")
    try:
        built = Path(scratch.name) / "book.xlsx"
        options = {"constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False}
        book = xlsxwriter.Workbook(str(built), {**options, "strings_to_urls": False, "tmpdir": scratch.name})
        book.set_properties({"subject": subject, "title": title, "author": "payimport"})
        try:
            yield book
        except BaseException:
            with suppress(Exception):  # let XlsxWriter close its scratch files; the book is dropped
                book.close()
            raise
        book.close()
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            _pack(built, tmp, getattr(book, "_payimport_bodies", {}))
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    finally:
        scratch.cleanup()


_DIMENSION: Final = re.compile(rb'<dimension ref="[^"]*"/>')
_COMPRESS_LEVEL: Final = 1
"""Deflate level of the packed workbook: 1 compresses the sheet XML about three times faster than
zlib's default 6 for a file some 15% larger (``bench/README.md``, "Run report")."""


def _pack(built: Path, out: Path, bodies: dict[int, tuple[int, int, Iterator[bytes]]]) -> None:
    """The workbook XlsxWriter built, with the rows of each ``write_columns`` sheet streamed into
    its part (between the header row and ``</sheetData>``) and its dimension set to the full range."""
    from xlsxwriter.utility import xl_rowcol_to_cell

    if not bodies:
        shutil.copyfile(built, out)
        return
    parts = {f"xl/worksheets/sheet{index + 1}.xml": body for index, body in bodies.items()}
    with (
        zipfile.ZipFile(built) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=_COMPRESS_LEVEL) as packed,
    ):
        for info in source.infolist():
            data = source.read(info)
            if info.filename not in parts:
                packed.writestr(info.filename, data)
                continue
            count, width, chunks = parts[info.filename]
            head, found, tail = data.partition(b"</sheetData>")
            if not found:
                raise ValueError(f"{info.filename} has no sheetData to fill")
            ref = f'<dimension ref="A1:{xl_rowcol_to_cell(count, width - 1)}"/>'.encode()
            head = _DIMENSION.sub(ref, head, count=1)
            with packed.open(info.filename, "w", force_zip64=count >= 100_000) as fh:
                fh.write(head)
                for chunk in chunks:
                    fh.write(chunk)
                fh.write(found + tail)


class Formats:
    """The cell formats of one workbook (XlsxWriter wants them created once per workbook)."""

    def __init__(self, book: Any) -> None:
        self.book = book
        self.header = book.add_format({"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#DDEBF7"})
        self.text = book.add_format({"valign": "top"})
        self.quoted = book.add_format({"valign": "top", "quote_prefix": True})
        self.wrap = book.add_format({"valign": "top", "text_wrap": True})
        self.wrap_quoted = book.add_format({"valign": "top", "text_wrap": True, "quote_prefix": True})
        self.date = book.add_format({"valign": "top", "num_format": DATE_FORMAT})
        self.int = book.add_format({"valign": "top", "num_format": "0"})
        self._money: dict[int, Any] = {}

    def cell_formats(self) -> list[Any]:
        """Every format a table's cell can have (money with 0 to ``MAX_DECIMALS`` decimals)."""
        fixed = [self.text, self.quoted, self.wrap, self.wrap_quoted, self.date, self.int]
        return fixed + [self.money(d) for d in range(MAX_DECIMALS + 1)]

    def money(self, decimals: int) -> Any:
        if not 0 <= decimals <= MAX_DECIMALS:
            raise ValueError(f"{decimals} decimals: a currency has 0 to {MAX_DECIMALS}")
        if decimals not in self._money:
            self._money[decimals] = self.book.add_format({"valign": "top", "num_format": money_format(decimals)})
        return self._money[decimals]


def formats_of(book: Any) -> Formats:
    """One ``Formats`` per workbook, kept on the workbook object."""
    found = getattr(book, "_payimport_formats", None)
    if isinstance(found, Formats):
        return found
    made = Formats(book)
    book._payimport_formats = made
    return made


@dataclass(frozen=True)
class Amounts:
    """A whole column of money cells at once: integer minor units (None = empty cell) with the
    decimals of each cell's currency (``Money`` is the same for one cell). Exact text is written
    where the float Excel stores would not be the amount (more than 15 significant digits)."""

    minor: Sequence[int | None] | pa.Array
    decimals: Sequence[int] | npt.NDArray[np.int64]


Cells: TypeAlias = Sequence[Any] | Amounts | pa.Array
"""One column of a table: Python values (``_one_cell`` says how each is written), an Arrow array
(text, integers or dates), or ``Amounts``."""


def write_table(book: Any, table: Table, rows: Iterable[Sequence[Any]]) -> Any:
    """``write_columns`` for a table given row by row (small tables: decisions, review listings)."""
    materialised = [list(r) for r in rows]
    width = len(table.columns)
    columns = [[r[c] if c < len(r) else None for r in materialised] for c in range(width)]
    return write_columns(book, table, len(materialised), [columns] if materialised else [])


def write_columns(book: Any, table: Table, count: int, chunks: Iterable[Sequence[Cells]]) -> Any:
    """A sheet with a frozen, filtered header row, widths, print setup, and ``count`` rows given
    as chunks of columns (each chunk: one ``Cells`` per column, all of one length).

    Why not a cell call per value: XlsxWriter spends some 20 microseconds of Python per cell on a
    busy machine, so a million-line report (19 million cells) took minutes. XlsxWriter writes the
    sheet's frame (header, widths, panes, filter, print setup, validations, formats); the rows are
    turned into the sheet's XML column by column with Arrow's string kernels (``_body_chunks``)
    and streamed into the sheet's part when the workbook is packed (``open_workbook``). The cells
    are those XlsxWriter would write for the same values and formats (inline strings, quote prefix,
    ``_xHHHH_`` escapes, preserved edge whitespace). ``chunks`` is read lazily, at packing, so a
    caller can hand a generator over slices of a large frame and memory stays bounded.
    """
    fmt = formats_of(book)
    sheet = book.add_worksheet(table.name)
    for c, (name, kind, width) in enumerate(table.columns):
        sheet.set_column(c, c, min(width, MAX_WIDTH), fmt.wrap if kind == "wrap" else None)
        sheet.write_string(0, c, name, fmt.header)
    if any(len(name) > min(width, MAX_WIDTH) for name, _, width in table.columns):
        sheet.set_row(0, 2 * LINE_HEIGHT)  # a header wrapped over two lines, not cut
    sheet.freeze_panes(1, 0)
    sheet.set_landscape()
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(0)
    sheet.set_paper(9)  # A4
    if table.printed:
        sheet.print_area(0, 0, max(count, 1), table.printed - 1)
    sheet.autofilter(0, 0, max(count, 1), len(table.columns) - 1)
    for cell_format in fmt.cell_formats():  # styles.xml is written at close, before the rows are made
        _xf(cell_format)
    if count:
        bodies: dict[int, tuple[int, int, Iterator[bytes]]] = getattr(book, "_payimport_bodies", {})
        bodies[sheet.index] = (count, len(table.columns), _body_chunks(fmt, table, chunks))
        book._payimport_bodies = bodies
    return sheet


# --- the rows of a table as sheet XML ------------------------------------------------------------------

_ILLEGAL: Final = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"
_SPECIAL: Final = r"[\x00-\x08\x0b-\x1f&<>_\x{fffe}\x{ffff}]"
"""Any character that needs more than copying: illegal in XML, escaped by Excel or by XML."""
_ESCAPES: Final = (
    ("\r", "_x000D_"),
    ("\ufffe", "_xFFFE_"),
    ("\uffff", "_xFFFF_"),
    ("&", "&amp;"),
    ("<", "&lt;"),
    (">", "&gt;"),
)
_FORMULA_START: Final = pa.array(list(FORMULA_START), pa.string())
_SPACES: Final = pa.array([c for c in map(chr, range(0x3000 + 1)) if c.isspace()], pa.string())
"""What Python's ``\\s`` matches (XlsxWriter preserves whitespace at either end by that rule)."""
_DATE_EPOCH: Final = 25569  # Excel's serial number of 1970-01-01, where Arrow's dates count from
_EXACT_LIMIT: Final = 10**15  # at most 15 significant digits: Excel's double is the amount exactly


def _body_chunks(fmt: Formats, table: Table, chunks: Iterable[Sequence[Cells]]) -> Iterator[bytes]:
    """The ``<row>`` elements of the table's lines, one block of bytes per chunk of columns.

    No string is built per cell or per row: each cell is five pieces (``<c r="A``, the row number,
    ``" s="3" t="inlineStr"><is><t>``, the value, ``</t></is></c>``; all "" for an empty cell)
    taken from a pool of the few constant pieces and the chunk's value arrays, so one Arrow
    ``take`` lays the whole chunk out, row by row, in one buffer."""
    from xlsxwriter.utility import xl_col_to_name

    letters = [xl_col_to_name(c) for c in range(len(table.columns))]
    first = 2  # Excel's row number of the first line: row 1 is the header
    for columns in chunks:
        n = len(columns[0].minor) if isinstance(columns[0], Amounts) else len(columns[0])
        if not n:
            continue
        pool = TextPool(n)
        numbers = pool.add(pc.cast(pa.array(np.arange(first, first + n, dtype=np.int64)), pa.string()))
        cells: list[Any] = []
        lines = np.ones(n, dtype=np.int64)
        for column, (_, kind, width), letter in zip(columns, table.columns, letters, strict=True):
            slots, texts = _cell_slots(pool, numbers, letter, column, kind, table.decimals, fmt)
            cells += slots
            if kind == "wrap" and texts is not None:
                lines = np.maximum(lines, _wrapped_lines(texts, min(width, MAX_WIDTH)))
        heights = [pool.constant(_row_height(int(h))) for h in range(MAX_LINES + 1)]
        row_end = np.asarray(heights, dtype=np.int64)[np.minimum(lines, MAX_LINES)]
        yield joined_bytes(pool.lay_out([pool.constant('<row r="'), numbers, row_end, *cells, pool.constant("</row>")]))
        first += n


MAX_LINES: Final = 8
"""Lines of wrapped text a row is made tall enough for (a longer text scrolls within its cell)."""
LINE_HEIGHT: Final = 15
"""Points per line of the default font (Calibri 11): XlsxWriter's default row height."""


def _row_height(lines: int) -> str:
    """The end of a ``<row>`` tag: a row with wrapped text tall enough for its lines.

    Excel sizes such rows itself, LibreOffice does not when it opens the file: without a height a
    wrapped message is drawn over the rows below it, on screen and in print."""
    return '">' if lines <= 1 else f'" ht="{lines * LINE_HEIGHT}" customHeight="1">'


def _wrapped_lines(texts: pa.Array, width: int) -> npt.NDArray[np.int64]:
    """About how many lines each text takes in a wrapped column ``width`` characters wide: its
    line breaks, and each line's length over the width (words wrap a little earlier: 90%)."""
    per_line = max(int(width * 0.9), 1)
    length = np.asarray(pc.fill_null(pc.utf8_length(texts), 0), dtype=np.int64)
    breaks = np.asarray(pc.fill_null(pc.count_substring(texts, "\n"), 0), dtype=np.int64)
    out: npt.NDArray[np.int64] = np.maximum(-(-length // per_line), 1) + breaks
    return out


class TextPool:
    """Text laid out row by row without a string per row: constant pieces and value arrays of ``n``
    rows; a slot is a constant id (one for all rows, or one per row), or an array's positions
    (``add``). ``lay_out`` takes the slots row by row into one Arrow array (``joined_bytes``)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.constants: dict[str, int] = {"": 0}
        self.arrays: list[pa.Array] = []
        self.size = 0

    def constant(self, text: str) -> int:
        return self.constants.setdefault(text, len(self.constants))

    def add(self, values: pa.Array) -> npt.NDArray[np.int64]:
        """Positions of ``values`` in the pool, offset by the constants once they are all known
        (``lay_out`` adds that offset: positions are stored negative-free as ``_ARRAY + at``)."""
        at = _ARRAY + self.size + np.arange(self.n, dtype=np.int64)
        self.arrays.append(as_array(values))
        self.size += len(values)
        return at

    def lay_out(self, slots: Sequence[Any]) -> pa.Array:
        constants = pa.array(list(self.constants), pa.string())
        grid = np.empty((self.n, len(slots)), dtype=np.int64)
        for j, slot in enumerate(slots):
            grid[:, j] = slot
        grid = np.where(grid >= _ARRAY, grid - _ARRAY + len(constants), grid)
        return pa.concat_arrays([constants, *self.arrays]).take(pa.array(grid.ravel()))


_ARRAY: Final = 1 << 40
"""Marks a slot value as a position in the pool's arrays rather than a constant id."""


def joined_bytes(strings: pa.Array) -> bytes:
    """All the strings of an Arrow string array, end to end (its data buffer, no Python strings)."""
    offsets = np.frombuffer(strings.buffers()[1], dtype=np.int32)[strings.offset : strings.offset + len(strings) + 1]
    data = strings.buffers()[2]
    return b"" if data is None else data[int(offsets[0]) : int(offsets[-1])].to_pybytes()


def _cell_slots(
    pool: TextPool, numbers: Any, letter: str, column: Cells, kind: str, decimals: int, fmt: Formats
) -> tuple[list[Any], pa.Array | None]:
    """The five slots of a column's cells (``_body_chunks``): numbers with their style, text as
    inline strings, as XlsxWriter writes them; all "" where a cell is empty. Also the column's
    texts as written (None when it has none), which size the rows."""
    values, styles, texts = _parts(column, kind, decimals, fmt)
    n = pool.n
    middle = np.zeros(n, dtype=np.int64)
    closing = np.zeros(n, dtype=np.int64)
    filled = np.zeros(n, dtype=bool)
    value: Any = pa.nulls(n, pa.string())
    if texts is not None:
        escaped, quoted, preserve = _text_pieces(texts)
        plain_style, quoted_style = (fmt.wrap, fmt.wrap_quoted) if kind == "wrap" else (fmt.text, fmt.quoted)
        at = np.asarray(pc.is_valid(texts), dtype=bool)
        for q, p in ((False, False), (False, True), (True, False), (True, True)):
            space = ' xml:space="preserve"' if p else ""
            piece = f'" s="{_xf(quoted_style if q else plain_style)}" t="inlineStr"><is><t{space}>'
            middle[at & (quoted == q) & (preserve == p)] = pool.constant(piece)
        closing[at] = pool.constant("</t></is></c>")
        filled |= at
        value = escaped
    if values is not None:
        at = np.asarray(pc.is_valid(values), dtype=bool)
        if isinstance(styles, str):
            middle[at] = pool.constant(f'" s="{styles}"><v>')
        else:
            codes = pc.dictionary_encode(styles)
            ids = np.array([pool.constant(f'" s="{s}"><v>') for s in codes.dictionary.to_pylist()] or [0])
            middle[at] = ids[np.asarray(codes.indices.fill_null(0), dtype=np.int64)[at]]
        closing[at] = pool.constant("</v></c>")
        filled |= at
        value = pc.coalesce(values, value)
    opening = np.where(filled, pool.constant(f'<c r="{letter}'), 0)
    cells = np.where(filled, pool.add(pc.fill_null(value, "")), 0)
    return [opening, np.where(filled, numbers, 0), middle, cells, closing], texts


def _text_pieces(texts: pa.Array) -> tuple[pa.Array, npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Inline-string values: characters XML cannot carry as ``\\xNN`` (``clean_text``), Excel's
    ``_xHHHH_`` escapes (its own escape escaped, CR, U+FFFE/U+FFFF), XML's entities; and which
    start like a formula (quote prefix) or have whitespace at either end (preserved)."""
    formula = pc.is_in(pc.utf8_slice_codeunits(texts, 0, 1), value_set=_FORMULA_START)  # as written, before escapes
    if pc.any(pc.match_substring_regex(texts, _SPECIAL)).as_py():  # one scan; most columns have none
        if pc.any(pc.match_substring_regex(texts, _ILLEGAL)).as_py():
            texts = pa.array([None if t is None else clean_text(t) for t in texts.to_pylist()], pa.string())
        if pc.any(pc.match_substring(texts, "_x")).as_py():
            texts = pc.replace_substring_regex(texts, r"(_x[0-9a-fA-F]{4}_)", r"_x005F\1")
        for plain, escaped in _ESCAPES:
            texts = pc.replace_substring(texts, plain, escaped)
    first = pc.utf8_slice_codeunits(texts, 0, 1)
    last = pc.utf8_slice_codeunits(texts, -1, 2**31 - 1)
    edge = pc.or_(pc.is_in(first, value_set=_SPACES), pc.is_in(last, value_set=_SPACES))
    return texts, np.asarray(formula.fill_null(False), dtype=bool), np.asarray(edge.fill_null(False), dtype=bool)


def _xf(cell_format: Any) -> str:
    """The style index of a format in the workbook (XlsxWriter gives it when a cell first uses it,
    and writes the styles of the formats that have one when the workbook closes)."""
    return str(cell_format._get_xf_index())


def as_array(values: Any) -> pa.Array:
    """One Arrow array (a column of an Arrow-backed frame converts to a chunked one)."""
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks()
    return values


def _parts(cells: Cells, kind: str, decimals: int, fmt: Formats) -> tuple[Any, Any, pa.Array | None]:
    """(numbers as Excel's text, their styles, texts) of a column, null where a cell is not one;
    whole columns at once when their values are all of one type, else value by value."""
    if isinstance(cells, Amounts):
        return _amount_parts(cells, fmt)
    cells = as_array(cells)
    if isinstance(cells, pa.Array):
        return _arrow_parts(cells, kind, decimals, fmt)
    types = set(map(type, cells)) - {type(None)}
    if types <= {str}:
        return _arrow_parts(pa.array(cells, pa.string()), kind, decimals, fmt)
    if types == {int}:
        return _arrow_parts(pa.array(cells, pa.int64()), kind, decimals, fmt)
    if types == {dt.date}:
        return _arrow_parts(pa.array(cells, pa.date32()), kind, decimals, fmt)
    numbers: list[str | None] = []
    styles: list[str | None] = []
    texts: list[str | None] = []
    for value in cells:
        number, style, text = _one_cell(value, kind, decimals, fmt)
        numbers.append(number)
        styles.append(style)
        texts.append(text)
    return pa.array(numbers, pa.string()), pa.array(styles, pa.string()), pa.array(texts, pa.string())


def _arrow_parts(cells: pa.Array, kind: str, decimals: int, fmt: Formats) -> tuple[Any, Any, pa.Array | None]:
    """``_parts`` of an Arrow column: text ("" an empty cell), integers, or dates."""
    if pa.types.is_integer(cells.type):
        style = fmt.money(decimals) if kind == "money" else fmt.int
        return pc.cast(cells, pa.string()), _xf(style), None
    if pa.types.is_date32(cells.type):
        serial = pc.add(pc.cast(pc.cast(cells, pa.int32()), pa.int64()), _DATE_EPOCH)
        return pc.cast(serial, pa.string()), _xf(fmt.date), None
    texts = pc.cast(cells, pa.string())
    return None, None, pc.if_else(pc.equal(texts, ""), pa.scalar(None, pa.string()), texts)


def _one_cell(value: Any, kind: str, decimals: int, fmt: Formats) -> tuple[str | None, str | None, str | None]:
    """(number, style, text) of one cell by its value's type; None and "" stay empty cells."""
    if value is None or value == "":
        return None, None, None
    if isinstance(value, Money):
        return f"{value.number:.16G}", _xf(fmt.money(value.decimals)), None
    if isinstance(value, dt.date):
        serial = (dt.date(value.year, value.month, value.day) - dt.date(1970, 1, 1)).days + _DATE_EPOCH
        return str(serial), _xf(fmt.date), None
    if isinstance(value, bool):
        return None, None, "yes" if value else "no"
    if isinstance(value, int | float):
        style = fmt.money(decimals) if kind == "money" else (fmt.int if isinstance(value, int) else None)
        return f"{value:.16G}" if isinstance(value, float) else str(value), "0" if style is None else _xf(style), None
    return None, None, str(value)


def _amount_parts(cells: Amounts, fmt: Formats) -> tuple[Any, Any, pa.Array | None]:
    """Exact decimal text of each amount as the number (Excel reads it to the float the amount is),
    exact text as a text cell beyond 15 significant digits."""
    minor = as_array(cells.minor) if isinstance(cells.minor, pa.Array | pa.ChunkedArray) else pa.array(cells.minor)
    minor = minor.cast(pa.int64())
    valid = np.asarray(pc.is_valid(minor))
    values = np.asarray(minor.fill_null(0), dtype=np.int64)
    places = np.asarray(cells.decimals, dtype=np.int64)
    exact = valid & (np.abs(values) < _EXACT_LIMIT)
    numbers: Any = pa.nulls(len(values), pa.string())
    styles: Any = pa.nulls(len(values), pa.string())
    for d in np.unique(places[exact]).tolist():
        at = pa.array(exact & (places == d))
        numbers = pc.if_else(at, _decimal_texts(values, int(d)), numbers)
        styles = pc.if_else(at, _xf(fmt.money(int(d))), styles)
    inexact = np.flatnonzero(valid & ~exact).tolist()
    if not inexact:
        return numbers, styles, None
    texts: list[str | None] = [None] * len(values)
    for i in inexact:
        texts[i] = minor_text(int(values[i]), int(places[i]))
    return numbers, styles, pa.array(texts, pa.string())


def _decimal_texts(minor: npt.NDArray[np.int64], decimals: int) -> pa.Array:
    """``minor_text`` of a whole array at once (integer arithmetic, never a float)."""
    sign = pc.if_else(pa.array(minor < 0), "-", "")
    magnitude = np.abs(minor)
    whole = pc.cast(pa.array(magnitude // 10**decimals), pa.string())
    if decimals <= 0:
        return pc.binary_join_element_wise(sign, whole, "")
    fraction = pc.utf8_lpad(pc.cast(pa.array(magnitude % 10**decimals), pa.string()), decimals, "0")
    return pc.binary_join_element_wise(sign, whole, ".", fraction, "")
