"""Workbooks are opened in a child process with CPU, memory and wall-clock limits.

calamine is native code: on hostile input it has spun forever, panicked (pyo3's
``PanicException`` derives from ``BaseException`` and escapes ``except Exception``), aborted the
whole process, and asked for gigabytes. None of that may reach the caller, who may hold the run
lock or be the inbox watcher. So the parent sends the file's bytes to a fresh interpreter running
this module (imported from its cached bytecode, ``_CHILD``); the child limits itself
(``RLIMIT_AS``, ``RLIMIT_CPU``, no core dumps), checks cheap structural limits (zip entry sizes
and ratios, DTDs), reads the one sheet and writes back the sheet column by column in a compact
form (``encode_column``: text cells as one UTF-8 buffer, numbers as packed doubles, dates as
packed integers), so the answer is a few large buffers rather than one pickled object per cell.
Whatever else happens (a signal, a timeout, a panic, garbage on stdout) becomes "this workbook
cannot be read safely" for that file.

This module imports only the standard library at module level so that the child starts in
milliseconds (no pandas, no pipeline package); calamine, defusedxml and openpyxl are imported in
the child only, from the folders the parent names (``reader_paths``), the child running with
``-I -S`` (no site processing). The parent's unpickler accepts plain cells only (no classes but ``datetime``'s).
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import os
import pickle
import posixpath
import re
import sys
import zipfile
from array import array
from collections.abc import Callable, Iterable, Iterator
from itertools import compress, repeat
from operator import itemgetter
from threading import Thread
from typing import Any, ClassVar, NamedTuple

#: Address space of the child: enough for a large real workbook, far below what a bomb asks for.
MEMORY_BYTES = 1 << 30
#: A real workbook needs this much address space per byte of file beyond the base (100k rows: 5 MB).
MEMORY_PER_FILE_BYTE = 40
MEMORY_CAP = 6 << 30
#: CPU seconds: a base for the interpreter and the smallest files, plus a generous rate per MB.
CPU_SECONDS = 6
CPU_SECONDS_PER_MB = 2
#: Unpacked XML of the whole workbook beyond this, or a compression ratio beyond this, is refused
#: before any parsing: real workbooks compress 5-20x; 100x over 256 MiB is a bomb.
MAX_UNPACKED_BYTES = 2 << 30
MAX_RATIO = 100
_RATIO_FLOOR = 256 << 20  # smaller entries may have any ratio (a sheet of blanks or whitespace reads fast)

_ROW_END = b"</row>"
_ROW_TAG = re.compile(rb"<(?:\w+:)?row\b[^>]*>")
_ROW_NUM = re.compile(rb'\br="(\d+)"')
_HIDDEN = re.compile(rb'\bhidden="(?:1|true)"')
_ERROR_CELL = re.compile(rb'<(?:\w+:)?c\b[^>]*?\br="([A-Z]+)(\d+)"[^>]*?\bt="e"[^>]*>.*?<(?:\w+:)?v>([^<]*)</', re.S)
_DOCTYPE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.I)
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class Refused(Exception):
    """The workbook is damaged or not allowed (a DTD, a bomb): a message for a person, no traceback."""


class Unsafe(Exception):
    """The reader itself failed (panic, signal, timeout, limit): the file cannot be read safely."""


class Loaded:
    """One sheet as the child read it: typed cells (row 1 first, error cells as their text such as
    ``#N/A``, empty margins trimmed) and the numbers of its hidden rows.

    The child sends ``columns`` (one ``encode_column`` each, ``height`` rows) and leaves ``rows``
    empty; ``cells_by_column`` gives the cells column by column either way. (A plain class, not a
    dataclass: importing ``dataclasses`` would cost every child a tenth of its start.)"""

    def __init__(
        self,
        name: str,
        rows: list[list[Any]],
        hidden: frozenset[int] = frozenset(),
        columns: list[tuple[Any, ...]] | None = None,
        height: int = 0,
    ) -> None:
        self.name = name
        self.rows = rows
        self.hidden = hidden
        self.columns = columns
        self.height = height

    def cells_by_column(self) -> list[list[Any]]:
        """Every column's cells, top to bottom (all columns as long as the sheet)."""
        if self.columns is None:
            return [list(c) for c in zip(*self.rows, strict=True)] if self.rows else []
        return [decode_column(c, self.height) for c in self.columns]


# --------------------------------------------------------------------------- parent side


def _has_limits() -> bool:
    """Whether the child can be bounded (``resource`` is POSIX only)."""
    try:
        import resource  # noqa: F401
    except ImportError:
        return False
    return True


_HAS_LIMITS = _has_limits()


def limits_for(size: int) -> tuple[int, int, float]:
    """(address-space bytes, CPU seconds, wall seconds) for a file of ``size`` bytes."""
    memory = min(MEMORY_CAP, max(MEMORY_BYTES, MEMORY_BYTES // 2 + MEMORY_PER_FILE_BYTE * size))
    cpu = CPU_SECONDS + CPU_SECONDS_PER_MB * size // (1 << 20)
    return memory, cpu, cpu * 1.5 + 2


def load_in_child(data: bytes, sheet: str | int | None) -> Loaded:
    """Read one sheet in a bounded child; Refused for a damaged or forbidden file, Unsafe otherwise.

    The child's bounds are POSIX resource limits; where the platform has none (Windows), a workbook
    is refused with what to do rather than read unbounded (CSV and text files read everywhere).
    """
    if not _HAS_LIMITS:
        raise Refused(
            "Excel workbooks are read in a process bounded by POSIX resource limits, which this platform "
            "(Windows) does not offer; save the sheet as CSV (UTF-8) and import that, or run payimport on "
            "Linux or macOS (WSL works)"
        )
    import subprocess

    memory, cpu, wall = limits_for(len(data))
    request = pickle.dumps((data, sheet, memory, cpu, reader_paths()), protocol=pickle.HIGHEST_PROTOCOL)
    cmd = [sys.executable, "-I", "-S", "-X", "utf8", "-c", _CHILD.format(folder=os.path.dirname(__file__))]
    with subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as child:
        try:
            out, _ = child.communicate(request, timeout=wall)
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()
            raise Unsafe(f"reading it took longer than {wall:.0f} s") from None
    if child.returncode != 0:
        raise Unsafe(_death(child.returncode))
    try:
        status, payload = _CellUnpickler(io.BytesIO(out)).load()
    except Exception:
        raise Unsafe("the reader gave no usable answer") from None
    if status == "ok" and isinstance(payload, Loaded):
        return payload
    if status == "refused":
        raise Refused(str(payload))
    raise Unsafe(str(payload))


#: The child imports this module by its file name rather than running it as a script, so Python
#: loads its cached bytecode instead of compiling 700 lines at every start (20 ms).
_CHILD = "import sys; sys.path.append({folder!r}); import sandboxed; sandboxed._child_main()"

_READER_LIBRARIES = ("python_calamine", "defusedxml", "openpyxl", "et_xmlfile")


@functools.cache
def reader_paths() -> list[str]:
    """The folders holding the child's libraries (calamine, defusedxml, openpyxl), so the child
    starts with ``-S``: no ``site`` processing (``.pth`` files, the editable install's finder),
    which cost it a third of its start-up, and nothing importable but the standard library and
    these folders."""
    from importlib.util import find_spec

    paths: list[str] = []
    for name in _READER_LIBRARIES:
        spec = find_spec(name)
        if spec is None:
            continue  # not installed: the child fails to import it as it would have anyway
        for location in spec.submodule_search_locations or ([spec.origin] if spec.origin else []):
            folder = os.path.dirname(location)
            if folder not in paths:
                paths.append(folder)
    return paths


def _death(code: int) -> str:
    """Why the child died, in words: a negative code is the signal that ended it."""
    import signal

    if code >= 0:
        return f"the reader stopped with status {code} (out of memory?)"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = f"signal {-code}"
    reasons = {"SIGXCPU": "it used more CPU time than allowed", "SIGKILL": "it was stopped (time or memory)"}
    return reasons.get(name, f"the reader was ended by {name} (it asked for too much memory or crashed)")


class _CellUnpickler(pickle.Unpickler):
    """Plain cells only: the child parses untrusted bytes, so its answer is not trusted with classes."""

    _ALLOWED: ClassVar[frozenset[tuple[str, str]]] = frozenset(
        {
            ("datetime", "datetime"),
            ("datetime", "date"),
            ("datetime", "time"),
            ("datetime", "timedelta"),
            (__name__, "Loaded"),
            ("sandboxed", "Loaded"),  # the child's name for this module (``_CHILD``)
            ("__main__", "Loaded"),
            ("builtins", "frozenset"),
            ("builtins", "set"),
        }
    )

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not a cell type")
        if name == "Loaded":
            return Loaded
        return super().find_class(module, name)


# --------------------------------------------------------------------------- child side


def _child_main() -> None:
    """Read the request on stdin, limit this process, answer on stdout; never a traceback.

    The cyclic garbage collector is off: the child lives for one sheet, and its hundreds of
    thousands of new row lists (none in a cycle) would otherwise set off collection after
    collection (a third of the time of ``to_python`` and of packing the columns); its memory
    is bounded by ``RLIMIT_AS`` all the same."""
    import gc
    import resource

    gc.disable()
    data, sheet, memory, cpu, paths = pickle.loads(sys.stdin.buffer.read())
    sys.path.extend(paths)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    try:
        answer: tuple[str, Any] = ("ok", load_sheet(data, sheet))
    except Refused as exc:
        answer = ("refused", str(exc))
    except MemoryError:
        answer = ("unsafe", "it needs more memory than allowed")
    except BaseException as exc:  # a Rust panic is a BaseException; nothing may escape as a traceback
        answer = ("unsafe", f"the reader failed: {type(exc).__name__}: {str(exc)[:200]}")
    out = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
    sys.stdout.buffer.write(out)
    sys.stdout.flush()
    os._exit(0)


def load_sheet(data: bytes, sheet: str | int | None) -> Loaded:
    """Check the container, then read one sheet with calamine (openpyxl if calamine refuses an xlsx)."""
    if not data.startswith(_OLE2):
        check_zip(data)
    from python_calamine import CalamineWorkbook, SheetVisibleEnum

    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:  # calamine raises its own error types for damaged files
        return _load_with_openpyxl(data, sheet, exc)
    names = list(wb.sheet_names)
    name = choose_sheet(names, sheet, [m.visible == SheetVisibleEnum.Visible for m in wb.sheets_metadata])
    marks: list[SheetMarks | BaseException] = []
    scan = Thread(target=_scan_into, args=(marks, data, name))  # unzipping the sheet XML overlaps the parse
    scan.start()
    try:
        rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
    except Exception as exc:
        raise Refused(f"sheet {name!r} cannot be read ({exc}); the workbook may be damaged") from None
    finally:
        scan.join()
    if not isinstance(marks[0], SheetMarks):
        raise marks[0]
    return finish(name, rows, marks[0])


def _scan_into(out: list[SheetMarks | BaseException], data: bytes, name: str) -> None:
    try:
        out.append(sheet_marks(data, name))
    except BaseException as exc:  # handed to the reading thread, which raises it as its own
        out.append(exc)


def check_zip(data: bytes) -> None:
    """Refuse, before parsing, what no real workbook has: bombs, DTDs, unreadable zip features."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            total = sum(i.file_size for i in infos)
            if total > MAX_UNPACKED_BYTES:
                raise Refused(f"its contents would unpack to {total:,} bytes; that is not a real workbook")
            for info in infos:
                ratio = info.file_size / max(info.compress_size, 1)
                if info.file_size > _RATIO_FLOOR and ratio > MAX_RATIO:
                    raise Refused(f"its part {info.filename} unpacks {ratio:,.0f} times larger than stored (zip bomb?)")
                if info.filename.endswith((".xml", ".rels")):
                    _refuse_dtd(zf, info)
    except zipfile.BadZipFile as exc:
        raise Refused(f"is not a readable workbook (truncated or damaged zip: {exc})") from None
    except (NotImplementedError, zipfile.LargeZipFile, EOFError, ValueError, OSError) as exc:
        raise Refused(f"is not a readable workbook (its zip structure cannot be read: {exc})") from None


def _refuse_dtd(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """A DTD can only come before the root element: look at the prolog, not the whole part."""
    with zf.open(info) as fh:
        head = fh.read(1 << 16)
    if _DOCTYPE.search(head):
        raise Refused(
            f"its part {info.filename} declares a DTD (<!DOCTYPE>); workbooks never need one and "
            "payimport refuses them (save the file again from Excel or LibreOffice)"
        )


def choose_sheet(names: list[str], sheet: str | int | None, visible: list[bool]) -> str:
    """The sheet asked for by name or 1-based number, else the first visible one."""
    if not names:
        raise Refused("the workbook has no sheets")
    if sheet is None:
        for name, vis in zip(names, visible, strict=False):
            if vis:
                return name
        return names[0]
    if isinstance(sheet, int):
        if not 1 <= sheet <= len(names):
            raise Refused(f"has no sheet number {sheet}; it has {len(names)}: {names}")
        return names[sheet - 1]
    if sheet not in names:
        raise Refused(f"has no sheet named {sheet!r}; its sheets are {names}")
    return sheet


def _load_with_openpyxl(data: bytes, sheet: str | int | None, first: Exception) -> Loaded:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:
        raise Refused(f"is not a readable workbook (truncated or damaged?): {first}") from None
    try:
        names = list(wb.sheetnames)
        visible = [wb[n].sheet_state == "visible" for n in names]
        name = choose_sheet(names, sheet, visible)
        rows = [["" if v is None else v for v in r] for r in wb[name].iter_rows(values_only=True)]
    finally:
        wb.close()
    return finish(name, rows, sheet_marks(data, name))


def finish(name: str, rows: list[list[Any]], marks: SheetMarks) -> Loaded:
    """Put error cells back as text, drop the empty margins, keep only hidden rows that remain,
    and pack the sheet column by column (``encode_column``)."""
    for (row, col), text in marks.errors.items():
        if row - 1 < len(rows) and col < len(rows[row - 1]):
            rows[row - 1][col] = text
    height = len(rows)
    while height and all(map(_empty, rows[height - 1])):  # trailing empty rows
        height -= 1
    rows = rows[:height]
    column = _column_getter(rows)
    width = max(map(len, rows), default=0)
    while width and _blank(column(width - 1)):  # the empty right-hand columns of a huge used range
        width -= 1
    hidden = frozenset(n for n in marks.hidden if n <= height)
    return Loaded(name, [], hidden, [encode_column(column(i)) for i in range(width)], height)


def _column_getter(rows: list[list[Any]]) -> Callable[[int], list[Any]]:
    """A function giving column ``i`` of ``rows`` as a list, a short row counting as empty cells."""
    if len(set(map(len, rows))) <= 1:  # calamine's rows are all as wide as the used range
        return lambda i: list(map(itemgetter(i), rows))
    return lambda i: [r[i] if i < len(r) else "" for r in rows]


def _blank(values: list[Any]) -> bool:
    """Whether every cell is empty (``_empty``), by C-level passes rather than one call a cell."""
    kinds = set(map(type, values))
    if not kinds <= {str, type(None)}:
        return False
    return not "".join(values if kinds <= {str} else [v for v in values if v is not None]).strip()


def _empty(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


class SheetMarks(NamedTuple):
    """What calamine does not tell: hidden rows, and error cells (``#N/A``) it returns as empty."""

    hidden: frozenset[int] = frozenset()
    errors: dict[tuple[int, int], str] = {}  # noqa: RUF012  (a tuple's field: never assigned to)


def sheet_marks(data: bytes, sheet_name: str) -> SheetMarks:
    """Scan an xlsx sheet's XML (nothing for xls/ods, whose hidden rows are not detected)."""
    if not data.startswith(b"PK"):
        return SheetMarks()
    from defusedxml import DefusedXmlException, ElementTree

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            path = _sheet_path(zf, sheet_name)
            if path is None:
                return SheetMarks()
            with zf.open(path) as fh:
                if not mentions_marks(iter(lambda: fh.read(1 << 20), b"")):
                    return SheetMarks()  # the usual sheet: one pass that copies nothing
            with zf.open(path) as fh:
                return scan_sheet(iter(lambda: fh.read(1 << 20), b""))
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError):
        return SheetMarks()
    except DefusedXmlException:
        raise Refused("its workbook.xml declares entities or a DTD, which payimport refuses") from None


def _sheet_path(zf: zipfile.ZipFile, sheet_name: str) -> str | None:
    from defusedxml import ElementTree

    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    rel_ns = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    wb = ElementTree.fromstring(zf.read("xl/workbook.xml"))
    rid = None
    for s in wb.iterfind("m:sheets/m:sheet", ns):
        if s.get("name") == sheet_name:
            rid = s.get(rel_ns)
    if rid is None:
        return None
    rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    for rel in rels:
        if rel.get("Id") == rid:
            target = rel.get("Target", "")
            return target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
    return None


_MARKS = (b"hidden=", b't="e"')


def mentions_marks(chunks: Iterable[bytes]) -> bool:
    """Whether the XML holds ``hidden=`` or ``t="e"`` anywhere (across chunk boundaries too):
    without either, ``scan_sheet`` finds nothing, so most sheets need no second pass."""
    tail = b""
    for chunk in chunks:
        edge = tail + chunk[:8]  # a mark cut by the chunk boundary
        if any(mark in chunk or mark in edge for mark in _MARKS):
            return True
        tail = chunk[-8:] if len(chunk) >= 8 else (tail + chunk)[-8:]
    return False


def scan_sheet(chunks: Iterable[bytes]) -> SheetMarks:
    """Hidden rows and error cells, reading the XML a chunk at a time, cut only after ``</row>``.

    Linear: only the new chunk (and the few bytes that could complete ``</row>``) is searched for
    the cut, so megabytes without a row end are not searched again for every chunk.
    """
    hidden: set[int] = set()
    errors: dict[tuple[int, int], str] = {}
    for body in _row_bodies(chunks):
        if b"hidden=" in body:  # the usual case skips the regex over megabytes of XML
            for m in _ROW_TAG.finditer(body):
                tag = m.group(0)
                if _HIDDEN.search(tag) and (num := _ROW_NUM.search(tag)):
                    hidden.add(int(num.group(1)))
        if b't="e"' in body:
            for m in _ERROR_CELL.finditer(body):
                letters, number, value = m.group(1), int(m.group(2)), m.group(3)
                errors[(number, column_index(letters.decode()))] = value.decode("utf-8", "replace")
    return SheetMarks(frozenset(hidden), errors)


def _row_bodies(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Pieces of the XML that each end just after a ``</row>`` (the last piece: whatever is left)."""
    pending: list[bytes] = []
    carry = b""
    for chunk in chunks:
        window = carry + chunk  # carry is at most len("</row>") - 1 bytes
        cut = window.rfind(_ROW_END)
        if cut < 0:
            pending.append(chunk)
            carry = window[-(len(_ROW_END) - 1) :]
            continue
        end = cut + len(_ROW_END) - len(carry)  # in chunk, just after the row end (carry < len("</row>"))
        pending.append(chunk[:end])
        yield b"".join(pending)
        pending = [chunk[end:]]
        carry = window[-(len(_ROW_END) - 1) :]
    if pending:
        yield b"".join(pending)


# Kinds of an encoded column, and the tag of each cell of a mixed one.
_TEXT, _FLOAT, _MIXED, _CELLS = "text", "float", "mixed", "cells"
_T_STR, _T_FLOAT, _T_DATETIME, _T_DATE, _T_OTHER = 0, 1, 2, 3, 4
_SEP = "\x00"  # XML 1.0 cannot carry NUL, so no cell holds one (checked all the same)
_DAY_US = 86_400_000_000


def encode_column(values: list[Any]) -> tuple[Any, ...]:
    """A column of typed cells as a few buffers, so that returning a sheet costs no per-cell pickle:

    - ``("text", utf8)``: text cells only, joined by NUL;
    - ``("float", doubles)``: number cells only, packed;
    - ``("mixed", tags, utf8, doubles, stamps, others)``: one tag byte per cell saying where its
      value is: the text buffer, the doubles, the stamps (a naive datetime as microseconds since
      0001-01-01, a date as its ordinal) or the plain list ``others`` (bools, ints, times...);
    - ``("cells", values)``: the cells as they are, when text cannot be joined safely.
    """
    kinds = set(map(type, values))
    if kinds <= {str}:
        joined = _joined(values)
        return (_TEXT, joined) if joined is not None else (_CELLS, values)
    if kinds == {float}:
        return (_FLOAT, array("d", values).tobytes())
    # Sorted by type with C-level passes (map, compress over the tags translated to 0/1), each
    # distinct datetime converted once. A pass per kind the column has (a column of dates under a
    # text header: two of the four).
    tags = bytes(map(_TAG_OF.get, map(type, values), repeat(_T_OTHER)))
    texts = list(compress(values, tags.translate(_SELECT[0]))) if str in kinds else []
    floats = array("d", compress(values, tags.translate(_SELECT[1])) if float in kinds else ())
    when = list(compress(values, tags.translate(_SELECT[2]))) if kinds & _WHEN_TYPES else []
    if dt.datetime in kinds:
        stamp_of: dict[Any, int] = {}
        for v in set(when):
            stamp = _stamp(v)
            if stamp is None:
                return (_CELLS, values)  # an aware datetime: sent as it is
            stamp_of[v] = stamp
        stamps = array("q", map(stamp_of.__getitem__, when))
    else:  # dates only: their ordinals, in C
        stamps = array("q", map(dt.date.toordinal, when))
    others = list(compress(values, tags.translate(_SELECT[3]))) if kinds - _TAG_OF.keys() else []
    joined = _joined(texts)
    if joined is None:
        return (_CELLS, values)
    return (_MIXED, tags, joined, floats.tobytes(), stamps.tobytes(), others)


#: ``bytes.translate`` tables turning a column's tags into 1 for the cells of one kind, 0 for the
#: others: text, number, date or datetime, other.
_SELECT = tuple(
    bytes(int(tag in kind) for tag in range(256))
    for kind in ((_T_STR,), (_T_FLOAT,), (_T_DATETIME, _T_DATE), (_T_OTHER,))
)
_WHEN_TYPES = frozenset({dt.datetime, dt.date})
_TAG_OF: dict[type, int] = {str: _T_STR, float: _T_FLOAT, dt.datetime: _T_DATETIME, dt.date: _T_DATE}


def _stamp(v: dt.date) -> int | None:
    """A naive datetime as microseconds since 0001-01-01, a date as its ordinal (None: aware)."""
    if type(v) is dt.date:
        return v.toordinal()
    assert isinstance(v, dt.datetime)
    if v.tzinfo is not None:
        return None
    seconds = (v.hour * 60 + v.minute) * 60 + v.second
    return v.toordinal() * _DAY_US + seconds * 1_000_000 + v.microsecond


def _joined(texts: list[str]) -> bytes | None:
    joined = _SEP.join(texts)
    if joined.count(_SEP) != max(len(texts) - 1, 0):
        return None
    try:
        return joined.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: send the cells as they are
        return None


def decode_column(encoded: tuple[Any, ...], height: int) -> list[Any]:
    """The cells of one ``encode_column``, as the child had them. The parent does not trust the
    child: a column whose buffers do not add up to ``height`` cells is an error (``ValueError``)."""
    kind = encoded[0]
    if kind == _CELLS:
        out = list(encoded[1])
    elif kind == _TEXT:
        out = encoded[1].decode("utf-8").split(_SEP) if height else []
    elif kind == _FLOAT:
        out = array("d", encoded[1]).tolist()
    elif kind == _MIXED:
        out = _decode_mixed(*encoded[1:])
    else:
        raise ValueError(f"unknown column kind {kind!r}")
    if len(out) != height:
        raise ValueError(f"a column of {len(out)} cells in a sheet of {height} rows")
    return out


def check_column(encoded: tuple[Any, ...], height: int) -> None:
    """That one ``encode_column`` holds exactly ``height`` cells of the types it says, without
    building them (``ValueError`` otherwise): the parent renders checked buffers column-wise and
    builds cells one by one only where it needs them (``decode_head``, ``decode_column``)."""
    kind = encoded[0] if encoded else None
    if kind == _CELLS:
        if not isinstance(encoded[1], list) or len(encoded[1]) != height:
            raise ValueError("a column of cells that does not fill the sheet")
    elif kind == _TEXT:
        _check_texts(encoded[1], height)
    elif kind == _FLOAT:
        _check_packed(encoded[1], height, "doubles")
    elif kind == _MIXED:
        tags, text, floats, stamps, others = encoded[1:]
        if not isinstance(tags, bytes) or len(tags) != height or (height and max(tags) > _T_OTHER):
            raise ValueError(f"a column of {len(tags)} cells in a sheet of {height} rows")
        _check_texts(text, tags.count(_T_STR))
        _check_packed(floats, tags.count(_T_FLOAT), "doubles")
        _check_packed(stamps, tags.count(_T_DATETIME) + tags.count(_T_DATE), "dates")
        if not isinstance(others, list) or len(others) != tags.count(_T_OTHER):
            raise ValueError("a column whose other cells do not fill it")
        _check_days(tags, stamps)
    else:
        raise ValueError(f"unknown column kind {kind!r}")


def _check_days(tags: bytes, stamps: bytes) -> None:
    """Every date and datetime of a mixed column is a day of the calendar (``date.fromordinal``)."""
    if not stamps:
        return
    import numpy as np  # the parent's side only: the child imports the standard library alone

    kinds = np.frombuffer(tags, np.uint8)
    kinds = kinds[(kinds == _T_DATETIME) | (kinds == _T_DATE)]
    when = np.frombuffer(stamps, np.int64)
    days = np.where(kinds == _T_DATETIME, when // _DAY_US, when)
    if days.min() < 1 or days.max() > dt.date.max.toordinal():
        raise ValueError("a column with a date outside the calendar")


def _check_texts(text: Any, count: int) -> None:
    if not isinstance(text, bytes) or text.count(b"\x00") != max(count - 1, 0) or (not count and text):
        raise ValueError(f"a text buffer that does not hold {count} cells")
    text.decode("utf-8")  # UnicodeDecodeError is a ValueError


def _check_packed(buffer: Any, count: int, what: str) -> None:
    if not isinstance(buffer, bytes) or len(buffer) != 8 * count:
        raise ValueError(f"packed {what} that do not hold {count} cells")


def decode_head(encoded: tuple[Any, ...], count: int) -> list[Any]:
    """The first ``count`` cells of a checked ``encode_column``, building no others."""
    kind = encoded[0]
    if kind == _CELLS:
        return list(encoded[1][:count])
    if kind == _TEXT:
        return [t.decode("utf-8") for t in encoded[1].split(b"\x00", count)[:count]]
    if kind == _FLOAT:
        return array("d", encoded[1][: 8 * count]).tolist()
    tags, text, floats, stamps, others = encoded[1:]
    tags = tags[:count]
    texts = tags.count(_T_STR)
    when = tags.count(_T_DATETIME) + tags.count(_T_DATE)
    return _decode_mixed(
        tags,
        b"\x00".join(text.split(b"\x00", texts)[:texts]),
        floats[: 8 * tags.count(_T_FLOAT)],
        stamps[: 8 * when],
        others[: tags.count(_T_OTHER)],
    )


def _decode_mixed(tags: bytes, text: bytes, floats: bytes, stamps: bytes, others: list[Any]) -> list[Any]:
    texts = iter(text.decode("utf-8").split(_SEP) if _T_STR in tags else ())
    numbers = iter(array("d", floats).tolist())
    when = iter(array("q", stamps).tolist())
    rest = iter(others)
    seen: dict[int, Any] = {}  # a sheet has few distinct dates: build each once
    out: list[Any] = []
    append = out.append
    for tag in tags:
        if tag == _T_STR:
            append(next(texts))
        elif tag == _T_FLOAT:
            append(next(numbers))
        elif tag == _T_OTHER:
            append(next(rest))
        else:
            stamp = next(when)
            key = stamp if tag == _T_DATETIME else -stamp - 1
            value = seen.get(key)
            if value is None:
                value = seen[key] = _from_stamp(stamp) if tag == _T_DATETIME else dt.date.fromordinal(stamp)
            append(value)
    return out


def _from_stamp(stamp: int) -> dt.datetime:
    day, micro = divmod(stamp, _DAY_US)
    return dt.datetime.combine(dt.date.fromordinal(day), dt.time()) + dt.timedelta(microseconds=micro)


def column_index(letters: str) -> int:
    """``A`` -> 0, ``AB`` -> 27."""
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n - 1


if __name__ == "__main__":
    _child_main()
