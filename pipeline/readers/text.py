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
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from charset_normalizer import from_bytes

from pipeline.errors import InputError
from pipeline.readers.table import SOURCE_ROW, RawTable, SkippedRow, col, find_header

DELIMITERS = (";", ",", "\t", "|")
_MAX_RECORD_LINES = 50
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Decoded:
    """A file's text with line ends made uniform, and what it took to get there."""

    text: str
    encoding: str


def decode(data: bytes, file: str, encoding: str | None) -> Decoded:
    """Bytes -> text; a configured encoding wins, else BOM, strict UTF-8, then detection."""
    if encoding is None:
        encoding = detect_encoding(data, file)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InputError(
            file,
            f"cannot be read as {encoding} (byte {exc.start}: {data[exc.start : exc.start + 1]!r}); "
            "set the profile's encoding",
        ) from None
    text = text.removeprefix("\ufeff")
    if _looks_binary(text):
        raise InputError(file, "does not look like a text table (binary content); expected CSV/TXT or Excel")
    return Decoded(normalize_line_ends(text), encoding)


def detect_encoding(data: bytes, file: str) -> str:
    """BOM first, then strict UTF-8, then charset-normalizer on a sample."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    if b"\x00" in data[:4096]:
        raise InputError(file, "does not look like a text table (binary content); expected CSV/TXT or Excel")
    best = from_bytes(data[:200_000]).best()
    if best is None:
        raise InputError(file, "encoding could not be detected; set the profile's encoding (e.g. cp1252)")
    return str(best.encoding)


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
    """One line's cells (used for preamble and header lines, which never span lines)."""
    return next(csv.reader([line], delimiter=delimiter, quotechar=quotechar), [])


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
    file: str,
    decoded: Decoded,
    *,
    delimiter: str | None,
    quotechar: str,
    header_present: bool,
    signature: tuple[str, ...],
    header_row: int | None,
    search_rows: int,
) -> RawTable:
    """Parse a decoded text file into a RawTable with every line accounted for."""
    text = decoded.text
    lines = split_lines(text)
    if not lines or not text.strip():
        raise InputError(file, "is empty; expected a header and at least one data row")
    delim = delimiter or sniff_delimiter(lines, quotechar)
    try:
        hdr = locate_header(
            lines,
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
            skipped.append(SkippedRow(i + 1, "blank" if not lines[i].strip() else "preamble", lines[i][:200]))
        header = tuple(split_cells(lines[hdr], delim, quotechar))
        skipped.append(SkippedRow(hdr + 1, "header", lines[hdr][:200]))
        first_data = hdr + 1
    width = len(header) if header else 0
    body_lines = lines[first_data:]
    if not body_lines:
        data = pd.DataFrame({SOURCE_ROW: pd.Series([], dtype="int64")})
        for pos in range(1, max(width, 1) + 1):
            data[col(pos)] = pd.Series([], dtype="str")
        return RawTable(
            file, "text", data, header, None if hdr is None else hdr + 1, len(lines), skipped, decoded.encoding, delim
        )
    body = "\n".join(body_lines) + "\n"
    fast = _parse_fast(body, delim, quotechar, width, first_data + 1)
    data = fast if fast is not None else _parse_slow(file, body, delim, quotechar, width, first_data + 1)
    return RawTable(
        file=file,
        kind="text",
        data=data,
        header=header,
        header_row=None if hdr is None else hdr + 1,
        rows_read=first_data + len(data),
        skipped=skipped,
        encoding=decoded.encoding,
        delimiter=delim,
    )


def _parse_fast(body: str, delim: str, quotechar: str, width: int, first_line: int) -> pd.DataFrame | None:
    """pyarrow path; ``None`` when the block is irregular (then the stdlib path takes over)."""
    first = body[: body.find("\n")]
    ncols = max(width, len(split_cells(first, delim, quotechar)))
    names = [col(i) for i in range(1, ncols + 1)]
    has_quotes = quotechar in body
    try:
        table = pacsv.read_csv(
            io.BytesIO(body.encode("utf-8")),
            read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(
                delimiter=delim,
                quote_char=quotechar if has_quotes else False,
                double_quote=True,
                newlines_in_values=has_quotes,
                ignore_empty_lines=False,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    nlines = body.count("\n")
    if table.num_rows == nlines:
        rows = pa.array(range(first_line, first_line + nlines), type=pa.int64())
    else:
        spans = None
        for name in names:
            extra = pc.count_substring(table.column(name), "\n")
            spans = extra if spans is None else pc.add(spans, extra)
        assert spans is not None
        spans = pc.add(spans, 1)
        ends = pc.cumulative_sum(spans)
        if ends[-1].as_py() != nlines:
            return None
        rows = pc.add(pc.subtract(ends, spans), first_line)
        if pc.max(spans).as_py() > _MAX_RECORD_LINES:
            return None
    frame: pd.DataFrame = table.append_column(SOURCE_ROW, rows).to_pandas()
    return frame[[SOURCE_ROW, *names]]


def _parse_slow(file: str, body: str, delim: str, quotechar: str, width: int, first_line: int) -> pd.DataFrame:
    """stdlib csv path: ragged rows, stray quotes; counts physical lines per record."""
    reader = csv.reader(io.StringIO(body, newline=""), delimiter=delim, quotechar=quotechar)
    records: list[list[str]] = []
    starts: list[int] = []
    prev = 0
    try:
        for cells in reader:
            starts.append(first_line + prev)
            if reader.line_num - prev > _MAX_RECORD_LINES:
                raise InputError(
                    file,
                    f"line {first_line + prev}: a quote opened here is never closed "
                    f"(the field runs over {reader.line_num - prev} lines); fix the quoting",
                )
            prev = reader.line_num
            records.append(cells)
    except csv.Error as exc:
        raise InputError(file, f"line {first_line + prev}: cannot split into fields: {exc}") from None
    ncols = max([width, *(len(r) for r in records)])
    columns: dict[str, object] = {SOURCE_ROW: pd.Series(starts, dtype="int64")}
    for pos in range(ncols):
        columns[col(pos + 1)] = pd.Series([r[pos] if pos < len(r) else "" for r in records], dtype="str")
    return pd.DataFrame(columns)
