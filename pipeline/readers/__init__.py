"""Readers: bytes -> RawTable of text cells with provenance.

The format is decided by content, never by extension: a Swedbank ``.xls`` that is really a
quoted CSV is read as text, and a file with no extension is still recognised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pipeline.config import Profile
from pipeline.errors import InputError
from pipeline.filetype import READS, describe_non_table, nul_refusal, statement_format
from pipeline.patterns import compile_pattern
from pipeline.readers.excel import CellFormat, Sheet, UnsafeWorkbook, open_sheet, read_sheet_table, render_cell
from pipeline.readers.table import SOURCE_ROW, RawTable, SkippedRow, col
from pipeline.readers.text import TextFile, open_text, read_text_table, sniff_delimiter, split_cells, split_lines

__all__ = ["SOURCE_ROW", "STATEMENT", "RawTable", "SkippedRow", "Source", "col", "open_source"]

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
STATEMENT = "statement"
"""``Source.kind`` of a bank statement (camt, MT940/MT942, BAI2, CODA, OFX): read by
``pipeline.readers.statements``, not as a table."""


@dataclass
class Source:
    """An opened input file; decodes and loads sheets lazily, once per encoding or sheet."""

    path: Path
    data: bytes
    kind: str
    _texts: dict[str | None, TextFile] = field(default_factory=dict)
    _sheets: dict[str | int | None, Sheet] = field(default_factory=dict)
    _unreadable: InputError | None = None
    fmt: str = ""
    """The bank-statement format (``statement_format``) when ``kind`` is ``STATEMENT``."""

    @property
    def name(self) -> str:
        return str(self.path)

    def text(self, encoding: str | None) -> TextFile:
        if encoding not in self._texts:
            self._texts[encoding] = open_text(self.data, self.name, encoding)
        return self._texts[encoding]

    def sheet(self, which: str | int | None) -> Sheet:
        """One sheet, loaded once; a workbook that could not be read safely is not tried again
        (each try costs the reader's full time limit), whichever sheet a profile asks for."""
        if self._unreadable is not None:
            raise self._unreadable
        if which not in self._sheets:
            try:
                self._sheets[which] = open_sheet(self.name, self.data, which)
            except UnsafeWorkbook as exc:
                self._unreadable = exc
                raise
        return self._sheets[which]

    def preview(self, profile: Profile, limit: int) -> tuple[list[list[str]], str]:
        """The first ``limit`` rows as cells, and their text, the way ``profile`` would read them."""
        fmt = cell_format(profile)
        if self.kind == "excel":
            rows = self.sheet(profile.sheet).head(limit)
            cells = [[render_cell(v, fmt) for v in r] for r in rows]
            return cells, "\n".join(";".join(r) for r in cells)
        lines = split_lines(self.text(profile.encoding).head)[:limit]
        delim = profile.delimiter or sniff_delimiter(lines, profile.quotechar)
        return [split_cells(ln, delim, profile.quotechar) for ln in lines], "\n".join(lines)

    def read(self, profile: Profile) -> RawTable:
        """The whole file as a RawTable, read with ``profile``'s options."""
        h = profile.header
        if self.kind == "excel":
            return read_sheet_table(
                self.name,
                self.sheet(profile.sheet),
                cell_format(profile),
                header_present=h.present,
                signature=h.signature,
                header_row=h.row,
                search_rows=h.search_rows,
                hidden_rows=profile.hidden_rows,
            )
        return read_text_table(
            self.text(profile.encoding),
            delimiter=profile.delimiter,
            quotechar=profile.quotechar,
            header_present=h.present,
            signature=h.signature,
            header_row=h.row,
            search_rows=h.search_rows,
        )


def cell_format(profile: Profile) -> CellFormat:
    """Typed cells are written the way the profile reads text; dates with a 4-digit year when it can
    (a typed 1960 written as ``%y`` would come back as 2060)."""
    full_year = [f for f in profile.date_formats if "%Y" in f]
    return CellFormat(decimal_mark=profile.amount.decimal_mark, date_format=(full_year or profile.date_formats)[0])


def detect_kind(data: bytes, file: str) -> str:
    """'excel' or 'text', from the first bytes."""
    if data.startswith(_OLE2):
        return "excel"
    if data.startswith(_ZIP):
        head = data[:4096]
        if b"xl/" in data or b"mimetype" in head or b"[Content_Types].xml" in head:
            return "excel"
        raise InputError(file, f"this looks like a zip archive but not a workbook; {READS}")
    what = describe_non_table(data)
    if what is not None:
        raise InputError(file, what)
    return "text"


def open_source(path: Path) -> Source:
    """Read a file's bytes and decide, by content, how to read it."""
    file = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(file, "does not exist") from None
    except IsADirectoryError:
        raise InputError(file, "is a folder, not a file") from None
    except OSError as exc:
        raise InputError(file, f"cannot be read: {exc.strerror}") from None
    if not data or data.isspace():  # (``strip`` would copy the whole file to find out)
        raise InputError(file, "is empty; expected a header and at least one data row")
    fmt = statement_format(data)
    nul = None if data.startswith((_OLE2, *_ZIP)) else nul_refusal(data)  # (a workbook's reader checks its cells)
    if nul is not None:  # a file whose head already says what it is (binary data, a PDF...) is named so
        raise InputError(file, nul if fmt is not None else describe_non_table(data) or nul)
    if fmt is not None:
        return Source(path, data, STATEMENT, fmt=fmt)
    return Source(path, data, detect_kind(data, file))


def matches(source: Source, profile: Profile, unreadable: list[InputError] | None = None) -> bool:
    """Does ``profile``'s header signature (or identify_pattern) fit this file?

    A file the profile cannot even open counts as no match; the error goes to ``unreadable``.
    """
    limit = profile.header.search_rows
    try:
        rows, text = source.preview(profile, limit)
    except InputError as exc:
        if unreadable is not None:
            unreadable.append(exc)
        return False
    if profile.identify_pattern and not compile_pattern(f"(?m){profile.identify_pattern}").search(text):
        return False
    if profile.header.present and profile.header.signature:
        wanted = {s.strip() for s in profile.header.signature}
        return any(wanted <= {c.replace("\ufeff", "").strip() for c in r} for r in rows)
    return profile.identify_pattern is not None
