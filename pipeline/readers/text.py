"""Delimited text files: encoding, line ends, delimiter, preamble, quoted multi-line fields.

Large regular files go through pyarrow's CSV parser (7x faster than pandas' C engine with
``dtype=str``); files pyarrow refuses (ragged rows, broken quoting) go through the stdlib
``csv`` module, which tracks physical lines itself. Both produce the same table.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from charset_normalizer import from_bytes

from pipeline.errors import InputError
from pipeline.readers.table import SOURCE_ROW, RawTable, SkippedRow, col, find_header
from pipeline.textops import trim_whitespace

DELIMITERS = (";", ",", "\t", "|")
#: No statement has this many columns; a row this wide is refused before pandas builds a column per field.
MAX_COLUMNS = 1000
_MAX_RECORD_LINES = 50
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


_HEAD_BYTES = 1 << 20
_UTF8 = {"utf-8", "utf_8", "utf8", "utf-8-sig", "ascii", "us-ascii"}


@dataclass
class TextFile:
    """A text file's bytes, its encoding, and its first MiB decoded (enough to find the header).

    The whole file is decoded only when it must be: a UTF-8 file with LF or CRLF line ends
    goes to pyarrow as bytes (which checks the UTF-8 itself), saving a decode, a re-encode
    and twice the file's size in memory.
    """

    file: str
    data: bytes
    encoding: str
    configured: bool
    head: str
    head_is_all: bool
    _full: str | None = None

    def full_text(self) -> str:
        if self._full is None:
            try:
                text = self.data.decode(self.encoding)
            except UnicodeDecodeError as exc:
                if self.configured:
                    raise InputError(
                        self.file,
                        f"cannot be read as {self.encoding} (byte {exc.start}: "
                        f"{self.data[exc.start : exc.start + 1]!r}); set the profile's encoding",
                    ) from None
                self.encoding = _detect_by_content(self.data, self.file)
                text = self.data.decode(self.encoding, errors="strict")
            self._full = normalize_line_ends(text.removeprefix("\ufeff"))
        return self._full

    @property
    def bytes_are_parseable(self) -> bool:
        """Can pyarrow take the bytes as they are: UTF-8, and line ends only LF or CRLF?"""
        if self.encoding.lower() not in _UTF8:
            return False
        if self.data.find(b"\r") < 0:
            return True
        return self.data.count(b"\r") == self.data.count(b"\r\n") and b"\r\r" not in self.data


def open_text(data: bytes, file: str, encoding: str | None) -> TextFile:
    """Decide the encoding (configured, BOM, UTF-8 by its first MiB, else detected) and decode the head."""
    configured = encoding is not None
    if encoding is None:
        encoding = detect_encoding(data, file)
    head_bytes = data[:_HEAD_BYTES]
    head_is_all = len(data) <= _HEAD_BYTES
    try:
        decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        head = decoder.decode(head_bytes, final=head_is_all)
    except UnicodeDecodeError as exc:
        if configured:
            raise InputError(
                file,
                f"cannot be read as {encoding} (byte {exc.start}: {data[exc.start : exc.start + 1]!r}); "
                "set the profile's encoding",
            ) from None
        encoding = _detect_by_content(data, file)
        head = codecs.getincrementaldecoder(encoding)(errors="replace").decode(head_bytes, final=head_is_all)
    head = normalize_line_ends(head.removeprefix("\ufeff"))
    if not head_is_all and "\n" in head:
        head = head[: head.rindex("\n") + 1]
    if _looks_binary(head):
        raise InputError(file, "does not look like a text table (binary content); expected CSV/TXT or Excel")
    return TextFile(file, data, encoding, configured, head, head_is_all)


def detect_encoding(data: bytes, file: str) -> str:
    """BOM first, then UTF-8 if the first MiB is valid UTF-8, then charset-normalizer."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data[:_HEAD_BYTES], final=len(data) <= _HEAD_BYTES)
        return "utf-8"
    except UnicodeDecodeError:
        return _detect_by_content(data, file)


def _detect_by_content(data: bytes, file: str) -> str:
    """The legacy encoding the *whole* file needs, checked by decoding all of it.

    The sample given to charset-normalizer is every line with a non-ASCII byte (up to 200 kB of
    them), wherever it is: a cp1252 file whose first umlaut comes after 200 kB of ASCII is still
    seen as cp1252. An encoding that then fails on some byte is refused, never patched over.
    """
    if b"\x00" in data[:4096]:
        raise InputError(file, "does not look like a text table (binary content); expected CSV/TXT or Excel")
    sample = _non_ascii_lines(data, 200_000)
    best = from_bytes(sample or data[:200_000]).best()
    if best is None:
        raise InputError(file, "encoding could not be detected; set the profile's encoding (e.g. cp1252)")
    encoding = str(best.encoding)
    try:
        data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            file,
            f"is not UTF-8 and looks like {encoding}, but line {line} has a byte {data[exc.start : exc.start + 1]!r} "
            f"that {encoding} cannot read; set the profile's encoding (e.g. cp1252, latin-1) to the one "
            "the bank uses",
        ) from None
    return encoding


_HIGH_BYTE = re.compile(rb"[\x80-\xff]")


def _non_ascii_lines(data: bytes, limit: int) -> bytes:
    """The lines holding non-ASCII bytes, joined, up to about ``limit`` bytes.

    Linear in the file: find a high byte, take its line, continue after that line (a regex
    such as ``[^\\n]*[\\x80-\\xff]`` backtracks over every start of a long ASCII line).
    """
    out: list[bytes] = []
    size, pos = 0, 0
    while size < limit and (m := _HIGH_BYTE.search(data, pos)):
        start = data.rfind(b"\n", 0, m.start()) + 1
        end = data.find(b"\n", m.start())
        end = len(data) if end < 0 else end
        out.append(data[start : min(end, start + 4096)])
        size += len(out[-1]) + 1
        pos = end + 1
    return b"\n".join(out)


def _looks_binary(text: str) -> bool:
    sample = text[:20_000]
    if not sample:
        return False
    return len(_CONTROL.findall(sample)) > max(2, len(sample) // 200)


def normalize_line_ends(text: str) -> str:
    """CR CR LF, CRLF and lone CR all become LF (CR CR LF is one line end: a double conversion)."""
    if "\r" not in text:
        return text
    return text.replace("\r\r\n", "\n").replace("\r\n", "\n").replace("\r", "\n")


def split_lines(text: str) -> list[str]:
    """Physical lines, without a phantom empty line after a final line end."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def split_cells(line: str, delimiter: str, quotechar: str) -> list[str]:
    """One line's cells (used for preamble and header lines, which never span lines).

    A field longer than the csv module's limit is split naively: these cells only serve to find
    the delimiter and the header, and the table parsers refuse such a field with a message.
    """
    try:
        return next(csv.reader([line], delimiter=delimiter, quotechar=quotechar), [])
    except csv.Error:
        return line.split(delimiter)


def sniff_delimiter(lines: list[str], quotechar: str) -> str:
    """The delimiter that gives the most lines with the same (more than one) field count."""
    sample = [ln for ln in lines[:60] if ln.strip()]
    best, best_score = ",", -1
    for delim in DELIMITERS:
        counts = Counter(len(split_cells(ln, delim, quotechar)) for ln in sample)
        counts.pop(1, None)
        if not counts:
            continue
        width, freq = counts.most_common(1)[0]
        score = freq * 1000 + width
        if score > best_score:
            best, best_score = delim, score
    return best


def locate_header(
    lines: list[str],
    delimiter: str,
    quotechar: str,
    *,
    present: bool,
    signature: tuple[str, ...],
    row: int | None,
    limit: int,
) -> int | None:
    """0-based line index of the header, ``None`` for headerless files; InputError if absent."""
    if not present:
        return None
    if signature:
        preview = [(i + 1, split_cells(ln, delimiter, quotechar)) for i, ln in enumerate(lines[:limit])]
        found = find_header(preview, signature, limit)
        if found is None:
            raise InputError("", f"no header row with {list(signature)} in the first {limit} lines")
        return found
    assert row is not None
    if row > len(lines):
        raise InputError("", f"header row {row} is past the end of the file ({len(lines)} lines)")
    return row - 1


def read_text_table(
    text_file: TextFile,
    *,
    delimiter: str | None,
    quotechar: str,
    header_present: bool,
    signature: tuple[str, ...],
    header_row: int | None,
    search_rows: int,
) -> RawTable:
    """Parse a text file into a RawTable with every line accounted for."""
    file = text_file.file
    head_lines = split_lines(text_file.head)
    if not head_lines or not text_file.head.strip():
        raise InputError(file, "is empty; expected a header and at least one data row")
    delim = delimiter or sniff_delimiter(head_lines, quotechar)
    try:
        hdr = locate_header(
            head_lines,
            delim,
            quotechar,
            present=header_present,
            signature=signature,
            row=header_row,
            limit=search_rows,
        )
    except InputError as exc:
        raise InputError(file, str(exc).lstrip(": ")) from None
    skipped: list[SkippedRow] = []
    header: tuple[str, ...] | None = None
    first_data = 0
    if hdr is not None:
        for i in range(hdr):
            line = head_lines[i]
            skipped.append(SkippedRow(i + 1, "blank" if not line.strip(delim + " ") else "preamble", line[:200]))
        header = tuple(split_cells(head_lines[hdr], delim, quotechar))
        skipped.append(SkippedRow(hdr + 1, "header", head_lines[hdr][:200]))
        first_data = hdr + 1
    width = len(header) if header else 0
    if width > MAX_COLUMNS:
        raise InputError(file, f"line {hdr + 1 if hdr is not None else 1}: {_too_wide(width)}")
    data = None
    if text_file.bytes_are_parseable:
        start = _body_start(text_file.data, first_data)
        data = _parse_fast(text_file.data, start, delim, quotechar, width, first_data + 1)
    if data is None:
        body = _body_text(text_file.full_text(), first_data)
        data = _parse_fast(body.encode("utf-8"), 0, delim, quotechar, width, first_data + 1)
        if data is None:
            data = _parse_slow(file, body, delim, quotechar, width, first_data + 1)
    if hdr is not None and len(data) == 0:
        raise InputError(file, f"has a header (line {hdr + 1}) but no rows after it; expected at least one data row")
    _refuse_huge_fields(file, data)
    return RawTable(
        file=file,
        kind="text",
        data=data,
        header=header,
        header_row=None if hdr is None else hdr + 1,
        rows_read=first_data + len(data),
        skipped=skipped,
        encoding=text_file.encoding,
        delimiter=delim,
    )


def _body_start(data: bytes, skip_lines: int) -> int:
    """Byte offset after the first ``skip_lines`` lines (and after a UTF-8 BOM)."""
    pos = 3 if data.startswith(codecs.BOM_UTF8) else 0
    for _ in range(skip_lines):
        nl = data.find(b"\n", pos)
        if nl < 0:
            return len(data)
        pos = nl + 1
    return pos


def _body_text(text: str, skip_lines: int) -> str:
    pos = 0
    for _ in range(skip_lines):
        nl = text.find("\n", pos)
        if nl < 0:
            return ""
        pos = nl + 1
    return text[pos:]


def _parse_fast(
    data: bytes, start: int, delim: str, quotechar: str, width: int, first_line: int
) -> pd.DataFrame | None:
    """pyarrow path over ``data[start:]``; ``None`` when irregular or not UTF-8 (slower paths take over)."""
    if start >= len(data):
        return _empty_frame(width)
    first_nl = data.find(b"\n", start, start + 65536)
    first = data[start : first_nl if first_nl >= 0 else start + 65536].decode("utf-8", errors="replace").rstrip("\r")
    ncols = max(width, len(split_cells(first, delim, quotechar)), 1)
    if ncols > MAX_COLUMNS:
        return None  # the stdlib path names the line and refuses it
    names = [col(i) for i in range(1, ncols + 1)]
    has_quotes = data.find(quotechar.encode(), start) >= 0
    body = pa.py_buffer(memoryview(data)[start:])
    lines = data.count(b"\n", start) + (0 if data.endswith(b"\n") else 1) if has_quotes else -1
    with ThreadPoolExecutor(max_workers=1) as pool:
        if len(data) - start > _WARM_UP_BYTES:  # the checks' first use costs as much as a tenth of this parse
            from schemas.checks import prepare_checks  # (pandera only for a file that will need it)

            pool.submit(prepare_checks)
        table = _arrow_table(body, names, delim, quotechar if has_quotes else None, multiline=False)
    if has_quotes and (table is None or table.num_rows != lines):
        # A quoted value may hold a line break: only the serial chunker, which follows the quotes,
        # finds where records end. Blocks cut at every newline are exact when no record spans lines,
        # and a record that does makes the parallel parse come up short or fail: either way this.
        table = _arrow_table(body, names, delim, quotechar, multiline=True)
    if table is None:
        return None
    if table.num_rows == lines:  # no record spans lines: row k is line first_line + k
        rows = pc.add(pa.array(np.arange(table.num_rows, dtype=np.int64)), first_line)
    else:
        spans = None
        for name in names:
            extra = pc.count_substring(table.column(name), "\n")
            spans = extra if spans is None else pc.add(spans, extra)
        assert spans is not None
        spans = pc.add(spans, 1)
        if pc.max(spans).as_py() > _MAX_RECORD_LINES or pc.sum(spans).as_py() != lines:
            return None
        rows = pc.add(pc.subtract(pc.cumulative_sum(spans), spans), first_line)
    with ThreadPoolExecutor(max_workers=2) as pool:  # pyarrow kernels release the GIL
        columns = list(pool.map(lambda n: trim_whitespace(table.column(n)), names))
    if has_quotes and data.find(b"\r", start) >= 0:  # a quoted CRLF is a line end like any other
        columns = [pc.replace_substring(c, "\r\n", "\n") for c in columns]
    trimmed = pa.table([rows, *columns], names=[SOURCE_ROW, *names])
    frame: pd.DataFrame = trimmed.to_pandas()
    return frame


_WARM_UP_BYTES = 1 << 24
"""From this size on, pandera is made ready in a thread while pyarrow parses (``prepare_checks``)."""


def _arrow_table(
    body: pa.Buffer, names: list[str], delim: str, quotechar: str | None, *, multiline: bool
) -> pa.Table | None:
    """Every cell as text, or ``None`` when pyarrow cannot split the bytes (ragged rows...).

    Without line breaks inside values pyarrow cuts the file into 4 MiB blocks at newlines and
    parses them on every core (4.6x faster on a 1M-row statement with quoted names than the
    quote-following chunker, which cuts one block at a time).
    """
    try:
        return pacsv.read_csv(
            body,
            read_options=pacsv.ReadOptions(column_names=names, block_size=(1 << 24) if multiline else (1 << 22)),
            parse_options=pacsv.ParseOptions(
                delimiter=delim,
                quote_char=quotechar if quotechar is not None else False,
                double_quote=True,
                newlines_in_values=multiline,
                ignore_empty_lines=False,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.large_string() for n in names},  # pandas' str: no cast later
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _refuse_huge_fields(file: str, data: pd.DataFrame) -> None:
    """A field longer than the csv module's limit (131,072 characters) is never a statement value:
    refuse the file the same way whichever parser read it (one vectorised length per column)."""
    limit = csv.field_size_limit()
    for name in data.columns:
        if name == SOURCE_ROW or not len(data):
            continue
        longest = pc.max(pc.binary_length(pa.array(data[name], from_pandas=True))).as_py()
        if longest is None or longest <= limit:  # bytes >= characters: no cell can be too long
            continue
        lengths = data[name].str.len()
        if int(lengths.max()) > limit:
            line = int(data[SOURCE_ROW].iloc[int(lengths.to_numpy().argmax())])
            raise InputError(
                file,
                f"line {line}: a field is longer than {limit:,} characters; no statement field is that long "
                "(a quote never closed, or not a statement?)",
            )


def _too_wide(fields: int) -> str:
    return (
        f"has {fields:,} fields; payimport reads tables of at most {MAX_COLUMNS:,} columns "
        "(is the delimiter right, or is this not a statement?)"
    )


def _empty_frame(width: int) -> pd.DataFrame:
    data = pd.DataFrame({SOURCE_ROW: pd.Series([], dtype="int64")})
    for pos in range(1, max(width, 1) + 1):
        data[col(pos)] = pd.Series([], dtype="str")
    return data


def _parse_slow(file: str, body: str, delim: str, quotechar: str, width: int, first_line: int) -> pd.DataFrame:
    """stdlib csv path: ragged rows, stray quotes; counts physical lines per record."""
    reader = csv.reader(io.StringIO(body, newline=""), delimiter=delim, quotechar=quotechar)
    records: list[list[str]] = []
    starts: list[int] = []
    prev = 0
    try:
        for cells in reader:
            starts.append(first_line + prev)
            if len(cells) > MAX_COLUMNS:
                raise InputError(file, f"line {first_line + prev}: {_too_wide(len(cells))}")
            if reader.line_num - prev > _MAX_RECORD_LINES:
                raise InputError(
                    file,
                    f"line {first_line + prev}: a quote opened here is never closed "
                    f"(the field runs over {reader.line_num - prev} lines); fix the quoting",
                )
            prev = reader.line_num
            records.append(cells)
    except csv.Error as exc:
        if "field limit" in str(exc):
            raise InputError(
                file,
                f"line {first_line + prev}: a field is longer than {csv.field_size_limit():,} characters; "
                "no statement field is that long (a quote never closed, or not a statement?)",
            ) from None
        raise InputError(file, f"line {first_line + prev}: cannot split into fields: {exc}") from None
    ncols = max([width, *(len(r) for r in records)])
    columns: dict[str, object] = {SOURCE_ROW: pd.Series(starts, dtype="int64")}
    for pos in range(ncols):
        columns[col(pos + 1)] = pd.Series([r[pos].strip() if pos < len(r) else "" for r in records], dtype="str")
    return pd.DataFrame(columns)
