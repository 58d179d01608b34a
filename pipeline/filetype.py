"""What a file that is not a table looks like, from its first bytes.

People drop whatever the bank gave them into the inbox: a PDF statement, a screenshot, a camt
XML or an MT940 export. Telling them "cannot be read as cp1252, set the profile's encoding" or
"no profile matches this file's header" sends them after the wrong fix; naming what the file
looks like, and what the tool reads, sends them to the right export. All the sniffing lives here
so that the readers ask one question: is this something other than a table?
"""

from __future__ import annotations

import codecs
import re
from typing import AnyStr

READS = (
    "payimport reads CSV, TXT, XLSX, XLS and ODS files (text tables and Excel or LibreOffice workbooks) and bank "
    "statements (camt.052/053/054, MT940/MT942, BAI2, CODA, OFX)"
)

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"BM", "a BMP image"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"{\\rtf", "an RTF document"),
)
_SWIFT_TAGS = re.compile(rb"^:(?:20|25|28C|60[FM]|61|62[FM]|86):", re.M)
_XML_START = re.compile(rb"\A\s*<(?:\?xml|[A-Za-z_][\w.:-]*[\s>/])")
_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f]")


_CAMT = re.compile(rb"urn:iso:std:iso:20022:tech:xsd:camt\.05[234]|<(?:\w+:)?BkToCstmr(?:Stmt|AcctRpt|DbtCdtNtfctn)\b")
_BAI2 = re.compile(rb"\A01,[^,\n]*,[^,\n]*,\d{6},\d{2}:?\d{2}(?::\d{2})?,")
_CODA = re.compile(rb"\A0000\d{6}[ 0-9]{5}[\s\S]{100,}?\r?\n1[0-3]\d{3}")
_OFX = re.compile(rb"\A(?:\s*OFXHEADER\s*:|\s*<\?xml[^>]*>\s*<\?OFX\b|\s*<OFX>)", re.I)


def statement_format(data: bytes) -> str | None:
    """The bank-statement format these bytes are in, from content alone: ``camt``, ``mt940`` (also
    MT942), ``bai2``, ``coda`` or ``ofx``; ``None`` for anything else (a table, or not readable).

    A statement's own readers then say what is wrong with a damaged one: calling a truncated camt
    file "an XML document" would send a person to the wrong fix.
    """
    head = data[:8192].removeprefix(codecs.BOM_UTF8)
    if _OFX.match(head):
        return "ofx"
    if _XML_START.match(head) and _CAMT.search(head):
        return "camt"
    if head.lstrip().startswith(b"{1:") or len(_SWIFT_TAGS.findall(head)) >= 2:
        return "mt940"
    if _BAI2.match(head.lstrip()):
        return "bai2"
    if _CODA.match(head):
        return "coda"
    return None


def describe_non_table(data: bytes) -> str | None:
    """``None`` for something that may be a table; otherwise the refusal's text, which names what
    the file looks like and what the tool reads (``this looks like a PDF document; ...``)."""
    what = _looks_like(data)
    if what is None:
        return None
    advice = "; export it from online banking as CSV or Excel" if "statement" in what else ""
    return f"this looks like {what}, not a table; {READS}{advice}"


def nul_refusal(data: bytes) -> str | None:
    """The refusal's text when a text file (a table or a statement) holds a NUL character anywhere;
    ``None`` when it holds none.

    ``_looks_like`` sees the first 8 KiB only, so a NUL further on would reach the cells: a
    transaction id or a document number with a NUL inside, which a value of the file's cannot
    read with certainty, or the zero bytes that pad a copy cut short (a file copied while it was
    still being written). The whole file is refused, naming the line, as one whose head held them
    is. UTF-16 (told by its BOM) is searched as the characters it decodes to, where zero bytes are
    halves of characters; everything else byte by byte (one ``find``: milliseconds for 140 MB).
    UTF-32, whose BOM begins like UTF-16's, is not read at all.
    """
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "is UTF-32 text (its byte order mark says so), which payimport does not read; save it as UTF-8"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = data.decode("utf-16", errors="replace")
        at = text.find("\x00")
        if at < 0:
            return None
        line, start = _line_of(text[:at], "\n", "\r")
        where = f"character {at - start + 1}"
    else:
        at = data.find(b"\x00")
        if at < 0:
            return None
        line, start = _line_of(data[:at], b"\n", b"\r")
        if line == 1 and data.startswith(codecs.BOM_UTF8):
            start = len(codecs.BOM_UTF8)  # the mark is no byte of the line a person sees
        where = f"byte {at - start + 1}"
    return (
        f"line {line:,} holds a NUL character ({where} of the line); no bank statement or remittance file "
        "has one: the file is damaged (a copy cut short is often padded with zero bytes) or is not a text "
        "export; export it again"
    )


def _line_of(before: AnyStr, lf: AnyStr, cr: AnyStr) -> tuple[int, int]:
    """The 1-based line a text ending in ``before`` is on (LF, CRLF and CR ends), and where it starts."""
    breaks = before.count(lf) + before.count(cr) - before.count(cr + lf)
    start = max(before.rfind(lf), before.rfind(cr)) + 1
    return breaks + 1, start


def _looks_like(data: bytes) -> str | None:
    head = data[:8192]
    for magic, what in _MAGIC:
        if head.startswith(magic) and (magic != b"BM" or _looks_binary(head)):
            return what
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None  # UTF-16 text: its NUL bytes are characters' halves, not binary content
    text = head.removeprefix(codecs.BOM_UTF8)
    if _XML_START.match(text):
        if b"camt.05" in head or b"urn:iso:std:iso:20022" in head:
            return "an ISO 20022 camt XML bank statement"
        return "an XML document"
    if text.lstrip().startswith(b"{1:") or len(_SWIFT_TAGS.findall(head)) >= 2:
        return "a SWIFT MT940/MT942 bank statement"
    if text.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html")):
        return "an HTML page"
    if _looks_binary(head):
        return "binary data (not text)"
    return None


def _looks_binary(head: bytes) -> bool:
    """NUL bytes, or more than 1 in 50 bytes a control character no text file has."""
    if not head:
        return False
    if b"\x00" in head:
        return True
    return len(_CONTROL.findall(head)) > max(2, len(head) // 50)
