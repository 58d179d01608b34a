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

READS = "payimport reads CSV, TXT, XLSX, XLS and ODS files (text tables and Excel or LibreOffice workbooks)"

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


def describe_non_table(data: bytes) -> str | None:
    """``None`` for something that may be a table; otherwise the refusal's text, which names what
    the file looks like and what the tool reads (``this looks like a PDF document; ...``)."""
    what = _looks_like(data)
    if what is None:
        return None
    advice = "; export it from online banking as CSV or Excel" if "statement" in what else ""
    return f"this looks like {what}, not a table; {READS}{advice}"


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
