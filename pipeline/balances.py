"""Stated balances and totals as control totals: the one check that proves nothing was lost or misread.

A bank statement says where the account started and where it ended; a remittance advice says what
its lines add up to. When a file states them, ``opening + every movement = closing`` (and ``sum of
the rows = total``) must hold exactly, in integer minor units, or the file is refused: a dropped
line, a swapped sign or a misread amount anywhere in the file shows up here, even in rows that are
not imported (debits count as movements too).

Three parts, used in this order:

* ``balance_kinds`` recognises balance and total rows by their words (markers), dated or not, so
  that a closing balance is never imported as a receipt of the whole balance;
* ``collect`` gathers, per file, the stated values (marked rows and marked lines above the table)
  and every movement's signed amount, with the rows whose amount could not be read;
* ``verify`` adds up and either says what it proved or raises ``InputError`` with the difference.

Which rows are movements: every row with an amount except blank, repeated header, footer, balance,
total, "no date and no amount", continuation and profile-rule rows (a rule says "this row is not
part of the statement", e.g. a pending booking). A row whose amount cannot be read makes the
balance unverifiable rather than wrong, and the message says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.config import BalanceSpec, CellSpec, Profile
from pipeline.errors import InputError
from pipeline.fixedcells import Grid, required
from pipeline.money import minor_text
from pipeline.parsing import parse_amounts
from pipeline.readers import RawTable
from pipeline.readers.text import split_cells
from pipeline.textops import leading_bytes, to_arrow
from schemas.codes import Skip

OPENING, CLOSING, TOTAL = "opening", "closing", "total"
KIND_WORDS = {OPENING: "opening balance", CLOSING: "closing balance", TOTAL: "total"}
NOT_MOVEMENTS = frozenset(
    str(c)
    for c in (
        Skip.BLANK,
        Skip.REPEATED_HEADER,
        Skip.FOOTER,
        Skip.BALANCE,
        Skip.TOTAL,
        Skip.NOT_A_TRANSACTION,
        Skip.CONTINUATION,
        Skip.RULE,
    )
)


def marker_regex(markers: tuple[str, ...]) -> str | None:
    """An RE2 pattern for the markers: plain words, at the start of a cell, ending at a word's end.

    Markers are literal text (escaped here), so no user-written regex ever runs.
    """
    if not markers:
        return None
    words = [r"\s+".join(_escape(w) for w in m.split()) for m in markers]
    return r"^\s*(?:" + "|".join(words) + r")(?:$|[^\pL\pN])"


def _escape(word: str) -> str:
    return "".join(ch if ch.isalnum() else "\\" + ch for ch in word)


def _matches(text: pa.Array | pa.ChunkedArray, pattern: str) -> np.ndarray:
    hit = pc.match_substring_regex(text, pattern, ignore_case=True)
    return np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)


_SPACE = tuple(b"\t\n\v\f\r ")
_ANY = tuple(range(257))
_NON_ASCII = tuple(range(0x80, 0x100))


def _bytes_for(ch: str) -> tuple[int, ...]:
    """The bytes a cell's character can start with where the marker has ``ch``, case ignored."""
    if ch == " ":
        return _SPACE  # the whitespace between a marker's words
    if not ch.isascii():
        return _ANY
    return (ord(ch.lower()), ord(ch.upper()), *_NON_ASCII)  # "ſ" matches "s", "K" (Kelvin) "k"


def start_table(markers: tuple[str, ...]) -> np.ndarray:
    """Which first two bytes of a cell (256: none) can begin a match of ``marker_regex(markers)``.

    Wider than the regex, never narrower: leading whitespace, a non-ASCII first byte (it may fold
    to a marker's letter) and any case of a marker's first two characters pass; the regex then
    decides. Most cells (dates, names, references) fail here for a few milliseconds a million.
    """
    table = np.zeros((257, 257), dtype=bool)
    table[list(_SPACE), :] = True
    table[0x80:0x100, :] = True
    for marker in markers:
        text = " ".join(marker.split())
        second = _bytes_for(text[1]) if len(text) > 1 else _ANY
        table[np.ix_(_bytes_for(text[0]), second)] = True
    return table


def _first_nonempty(arrays: list[pa.Array | pa.ChunkedArray], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row: which of ``arrays`` holds its first non-empty cell (0 when none does), and that
    cell's first two bytes (``leading_bytes``; 256 for none), from the buffers: no text is copied."""
    which = np.zeros(n, dtype=np.int32)
    lead = np.full((n, 2), 256, dtype=np.uint16)
    unset = np.arange(n)  # the rows whose cells so far were all empty
    for i, arr in enumerate(arrays):
        if not unset.size:
            break
        # a later column is read only at the rows still unset (a few, past the date column)
        bytes_of = leading_bytes(arr if unset.size == n else arr.take(pa.array(unset)), 2)
        here = bytes_of[:, 0] != 256
        which[unset[here]] = i
        lead[unset[here]] = bytes_of[here]
        unset = unset[~here]
    return which, lead


def balance_kinds(
    cells: list[pd.Series], extra: list[pd.Series], spec: BalanceSpec, candidate: np.ndarray
) -> np.ndarray:
    """Per row: "opening", "closing", "total" or "" (not a stated row), among ``candidate`` rows.

    A marker counts at the start of the row's first non-empty cell or of an ``extra`` cell (the
    profile's payer and reference columns, or ``balances.marker_columns``): "Endsaldo per 31.12."
    in the reference of a dated row is a closing balance, "Invoice 12, opening balance adj." is not.
    Recognition does not depend on ``check``: with the check off, a balance is still never a receipt.
    """
    kind = np.full(len(candidate), "", dtype=object)
    every = marker_regex((*spec.opening_markers, *spec.closing_markers, *spec.total_markers))
    if every is None or not candidate.any():
        return kind
    table = start_table((*spec.opening_markers, *spec.closing_markers, *spec.total_markers))
    arrays = [to_arrow(c) for c in cells]
    if len({a.type for a in arrays}) > 1:
        arrays = [a.cast(pa.large_string()) for a in arrays]
    which, first_lead = _first_nonempty(arrays, len(candidate))
    extras = [to_arrow(t) for t in extra]

    def texts_at(column: int, rows: np.ndarray) -> pa.Array | pa.ChunkedArray:
        """Column ``column`` (0: each row's first non-empty cell, then ``extra``) at ``rows``."""
        at = pa.array(rows, pa.int64())
        if column:
            return extras[column - 1].take(at)
        return pc.choose(pa.array(which[rows]), *[a.take(at) for a in arrays])

    # one pass with every marker over the cells that can start with one (screened by their first
    # two bytes: most cells cannot); the few rows it finds are then told apart
    leads = [first_lead, *(leading_bytes(a, 2) for a in extras)]
    found = np.zeros(len(candidate), dtype=bool)
    for column, lead in enumerate(leads):
        maybe = np.flatnonzero(candidate & table[lead[:, 0], lead[:, 1]])
        if maybe.size:
            found[maybe] |= _matches(texts_at(column, maybe), every)
    at = np.flatnonzero(found)
    texts = [texts_at(column, at) for column in range(len(leads))]
    sub = kind[at]
    for name, markers in (
        (OPENING, spec.opening_markers),
        (CLOSING, spec.closing_markers),
        (TOTAL, spec.total_markers),
    ):
        pattern = marker_regex(markers)
        if pattern is not None and at.size:
            hit = np.logical_or.reduce([_matches(t, pattern) for t in texts])
            sub[hit & (sub == "")] = name
    kind[at] = sub
    return kind


@dataclass(frozen=True)
class Stated:
    """A balance or total the file states: its kind, the row it is on, its value (None: unreadable)."""

    kind: str
    row: int
    minor: int | None
    text: str
    where: str
    in_table: bool = True


@dataclass(frozen=True)
class Control:
    """What a file states and every movement's signed amount (credit positive), in file order."""

    unit: str
    stated: tuple[Stated, ...]
    rows: np.ndarray
    minor: np.ndarray
    unreadable: tuple[tuple[int, str], ...]
    running: Running | None = None


@dataclass(frozen=True)
class Running:
    """The balance after each movement, from ``balances.running`` (aligned with ``Control.rows``)."""

    minor: np.ndarray
    unreadable: tuple[tuple[int, str], ...]


def stated_values(texts: dict[str, pd.Series], profile: Profile, at: np.ndarray) -> list[tuple[int | None, str]]:
    """(signed minor units or None, the text as written) of the amount cells of rows ``at``.

    Read with the profile's number format; the sign as a balance is written: an indicator's debit
    value makes it negative, a debit column holds a negative balance; ``invert_sign`` applies as
    for movements, so both are in the same convention.
    """
    spec, dec, cur = profile.amount, profile.decimals, profile.currency.expected

    def parse(role: str) -> tuple[list[str], list[int | None]]:
        text = texts[role].iloc[at].reset_index(drop=True)
        p = parse_amounts(text, spec, dec, cur)
        bad = (p.error != "") | p.empty
        vals = [None if b or pd.isna(v) else int(v) for b, v in zip(bad, p.value, strict=True)]
        return text.tolist(), vals

    out: list[tuple[int | None, str]] = []
    if spec.layout == "debit_credit":
        dtext, dval = parse("debit")
        ctext, cval = parse("credit")
        for dt_, dv, ct, cv in zip(dtext, dval, ctext, cval, strict=True):
            bad = (dv is None and dt_ != "") or (cv is None and ct != "") or (dv is None and cv is None)
            out.append((None if bad else (cv or 0) - abs(dv or 0), ct or dt_))
    else:
        atext, aval = parse("amount")
        itext = texts["indicator"].iloc[at].tolist() if spec.layout == "indicator" else [""] * len(at)
        for t, v, ind in zip(atext, aval, itext, strict=True):
            if v is not None and ind in spec.credit_values:
                v = abs(v)
            elif v is not None and ind in spec.debit_values:
                v = -abs(v)
            out.append((v, t))
    return [(None if v is None else (-v if spec.invert_sign else v), t) for v, t in out]


def _patterns(spec: BalanceSpec) -> list[str]:
    markers = (spec.opening_markers, spec.closing_markers, spec.total_markers)
    return [p for p in (marker_regex(m) for m in markers) if p is not None]


def _after_marker(cells: list[str], patterns: list[str]) -> str:
    """The first non-empty cell after the cell that holds a marker ("" when there is none)."""
    hit = (
        _matches(to_arrow(pd.Series(cells, dtype="str")), "|".join(patterns))
        if patterns
        else np.zeros(len(cells), bool)
    )
    at = np.flatnonzero(hit)
    return next((c.strip() for c in cells[int(at[0]) + 1 :] if c.strip()), "") if at.size else ""


def _label_value(stated: Stated, text: str, profile: Profile) -> Stated:
    """A balance row whose amount column is empty (or holds the marker itself) takes the cell after
    the marker, as a labelled cell does: ";;Closing balance;1.150,00"."""
    if not text:
        return stated
    [(v, t)] = stated_values({"amount": pd.Series([text], dtype="str")}, _signed(profile), np.array([0]))
    return Stated(stated.kind, stated.row, v, t, stated.where)


def _signed(profile: Profile) -> Profile:
    """The profile reading one value written with its sign (a balance in a cell of its own)."""
    return profile.model_copy(update={"amount": profile.amount.model_copy(update={"layout": "signed"})})


def _preamble_stated(table: RawTable, profile: Profile) -> list[Stated]:
    """Balances stated on marked lines above the header ("Balance at end of period;;+31070,11").

    The value is the next non-empty cell after the marker; a line whose value does not read as an
    amount is not taken as a stated balance (it may be a heading such as "Opening balance date").
    """
    spec = profile.balances
    lines = [s for s in table.skipped if s.reason == "preamble" and s.text]
    if not lines or spec.check == "off":
        return []
    unit = "row" if table.kind == "excel" else "line"
    cells = [
        [
            c.strip()
            for c in (
                s.text.split("; ")
                if table.kind == "excel"
                else split_cells(s.text, table.delimiter or ",", profile.quotechar)
            )
        ]
        for s in lines
    ]
    cells = [[c for c in row if c] for row in cells]
    first = pd.Series([row[0] if row else "" for row in cells], dtype="str")
    value = pd.Series([row[1] if len(row) > 1 else "" for row in cells], dtype="str")
    kind = balance_kinds([first], [], spec, np.ones(len(lines), dtype=bool))
    at = np.flatnonzero(kind != "")
    if not at.size:
        return []
    vals = stated_values({"amount": value}, _signed(profile), at)
    return [
        Stated(str(kind[i]), lines[i].source_row, v, t, f"{unit} {lines[i].source_row}", in_table=False)
        for i, (v, t) in zip(at.tolist(), vals, strict=True)
        if v is not None
    ]


def collect(
    table: RawTable,
    profile: Profile,
    kind: np.ndarray,
    not_movement: np.ndarray,
    value: pd.Series,
    texts: dict[str, pd.Series],
) -> Control:
    """The file's stated values and movements, once every row's fate is known.

    ``not_movement`` marks the rows skipped for a reason in ``NOT_MOVEMENTS`` (the caller knows the
    fates); ``value`` is each row's signed amount (NA where it could not be read).
    """
    rows = table.data["source_row"].to_numpy(dtype="int64")
    unit = "row" if table.kind == "excel" else "line"
    at = np.flatnonzero(kind != "")
    stated = [
        Stated(str(kind[i]), int(rows[i]), v, t, f"{unit} {int(rows[i])}")
        for i, (v, t) in zip(at.tolist(), stated_values(texts, profile, at), strict=True)
    ]
    patterns = _patterns(profile.balances)
    for n, (i, s) in enumerate(zip(at.tolist(), stated, strict=True)):
        if s.minor is None and (
            not s.text or _matches(to_arrow(pd.Series([s.text], dtype="str")), "|".join(patterns))[0]
        ):
            cells = [str(table.data[c].iat[i]) for c in table.data.columns if c != "source_row"]
            stated[n] = _label_value(s, _after_marker(cells, patterns), profile)
    movement = ~not_movement & (kind == "")
    known = value.notna().to_numpy()
    minor = value.fillna(0).to_numpy(dtype="int64")
    bad = np.flatnonzero(movement & ~known)
    unreadable = tuple(zip(rows[bad].tolist(), _amount_texts(texts, bad), strict=True))
    return Control(
        unit,
        tuple(_preamble_stated(table, profile) + stated),
        rows[movement],
        np.where(known, minor, 0)[movement],
        unreadable,
        _running(texts.get("running"), profile, rows, movement),
    )


def _amount_texts(texts: dict[str, pd.Series], at: np.ndarray) -> list[str]:
    """The amounts of rows ``at`` as written (both cells of a debit/credit layout), taken by
    position in one pass: a file of 100,000 unreadable amounts must not cost 100,000 lookups, and
    only those rows become Python objects (all of a million-row column took 0.9 s and 100 MiB)."""
    if "amount" in texts:
        return [str(v) for v in texts["amount"].iloc[at].to_numpy(dtype=object).tolist()]
    sides = [texts[r].iloc[at].to_numpy(dtype=object).tolist() for r in ("debit", "credit") if r in texts]
    return (
        [" / ".join(str(v) for v in cells if v != "") for cells in zip(*sides, strict=True)]
        if sides
        else [""] * len(at)
    )


def _running(text: pd.Series | None, profile: Profile, rows: np.ndarray, movement: np.ndarray) -> Running | None:
    """The running-balance cells of the movements, read like a signed amount (vectorised: it runs
    over every row); an empty or unreadable cell is listed, as the check cannot step over it."""
    if text is None:
        return None
    at = np.flatnonzero(movement)
    sub = text.iloc[at].reset_index(drop=True)
    parsed = parse_amounts(sub, profile.amount, profile.decimals, profile.currency.expected)
    bad = np.flatnonzero((parsed.error != "") | parsed.empty | parsed.value.isna().to_numpy())
    values = parsed.value.fillna(0).to_numpy(dtype="int64")
    unreadable = tuple((int(rows[at[i]]), str(sub.iat[i])) for i in bad[:10].tolist())
    return Running(-values if profile.amount.invert_sign else values, unreadable)


@dataclass(frozen=True)
class BalanceCheck:
    """What the balance check proved: ``status`` is verified, not_stated, incomplete or off."""

    status: str
    message: str


NOT_STATED = BalanceCheck("not_stated", "no balance stated")


def show(minor: int, decimals: int) -> str:
    """Minor units as finance reads them: ``-123456789`` with 2 decimals is ``-1,234,567.89``."""
    whole, _, frac = minor_text(abs(minor), decimals).partition(".")
    return ("-" if minor < 0 else "") + f"{int(whole):,}" + ("." + frac if frac else "")


def _exact_sum(values: np.ndarray) -> int:
    """Sum of int64 values as a Python int (int64 when it cannot overflow, else exact objects)."""
    if not values.size:
        return 0
    if int(np.abs(values).max()) <= (2**62) // values.size:
        return int(values.sum())
    return sum(int(v) for v in values.tolist())


def _configured(profile: Profile, grid: Grid | None, file: str) -> list[Stated]:
    """Balances and totals the profile takes from fixed or labelled cells (an error if absent)."""
    out: list[Stated] = []
    for kind in (OPENING, CLOSING, TOTAL):
        spec: CellSpec | None = getattr(profile.balances, kind)
        if spec is None:
            continue
        if grid is None:
            raise InputError(file, f"balances.{kind}: cells outside the table cannot be read here")
        found = required(grid, spec, file, f"balances.{kind}")
        [(v, t)] = stated_values({"amount": pd.Series([found.text], dtype="str")}, _signed(profile), np.array([0]))
        out.append(Stated(kind, found.row, v, t, found.where, in_table=False))
    return out


@dataclass(frozen=True)
class _Sum:
    """The movements of one check: their exact sum, how many, and those that could not be read."""

    total: int
    count: int
    unreadable: tuple[tuple[int, str], ...]


def _movements(control: Control, lo: int | None, hi: int | None) -> _Sum:
    mask = np.ones(control.rows.size, dtype=bool)
    if lo is not None:
        mask &= control.rows > lo
    if hi is not None:
        mask &= control.rows < hi
    bad = tuple((r, t) for r, t in control.unreadable if (lo is None or r > lo) and (hi is None or r < hi))
    return _Sum(_exact_sum(control.minor[mask]), int(mask.sum()) + len(bad), bad)


def _pairs(balances: list[Stated]) -> list[tuple[Stated, Stated, bool]] | None:
    """(opening, closing, whole file?) pairs; None when they cannot be paired.

    One opening and one closing balance bound the whole file wherever they are written (a bank
    may print the closing balance above the table); several are paired in file order, each pair
    bounding the rows between them (one statement per day or per account).
    """
    opens = [s for s in balances if s.kind == OPENING]
    closes = [s for s in balances if s.kind == CLOSING]
    if len(opens) == 1 and len(closes) == 1:
        return [(opens[0], closes[0], True)]
    ordered = sorted(balances, key=lambda s: s.row)
    if len(opens) != len(closes):
        return None
    pairs: list[tuple[Stated, Stated, bool]] = []
    for a, b in zip(ordered[::2], ordered[1::2], strict=True):
        if {a.kind, b.kind} != {OPENING, CLOSING}:
            return None
        pairs.append((a, b, False) if a.kind == OPENING else (b, a, False))
    return pairs


def _unverifiable(bad: tuple[tuple[int, str], ...], unit: str) -> str:
    listed = ", ".join(f"{unit} {r} ({t!r})" if t else f"{unit} {r} (empty)" for r, t in bad[:5])
    more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
    return (
        f"; the amount of {listed}{more} cannot be read, so the balance cannot be verified: fix "
        f"{'that row' if len(bad) == 1 else 'those rows'} (or the profile) and import the file again"
    )


def _without(bad: tuple[tuple[int, str], ...], unit: str) -> str:
    """Said of a sum that holds although some amounts could not be read (those rows are rejected)."""
    if not bad:
        return ""
    return f" (without {', '.join(f'{unit} {r}' for r, _ in bad[:5])}{' ...' if len(bad) > 5 else ''}, unreadable)"


def _check_pair(opening: Stated, closing: Stated, s: _Sum, decimals: int, unit: str) -> tuple[str, str | None]:
    """(what was proved, or None) and the failure message (or None) of one opening/closing pair."""
    assert opening.minor is not None and closing.minor is not None
    expected = opening.minor + s.total
    sums = (
        f"opening balance {show(opening.minor, decimals)} ({opening.where}) + movements {show(s.total, decimals)} "
        f"({s.count} rows) = {show(expected, decimals)}"
    )
    diff = closing.minor - expected
    if diff == 0:
        return f"{sums} = closing balance ({closing.where}){_without(s.unreadable, unit)}", None
    says = show(closing.minor, decimals)
    head = f"{sums}, but the closing balance ({closing.where}) says {says}: {show(abs(diff), decimals)} differ"
    if s.unreadable:
        return "", head + _unverifiable(s.unreadable, unit)
    return "", head + "; rows may be missing or misread"


def _check_total(total: Stated, s: _Sum, decimals: int, unit: str) -> tuple[str, str | None]:
    assert total.minor is not None
    sums = f"the rows add up to {show(s.total, decimals)} ({s.count} rows)"
    diff = total.minor - s.total
    if diff == 0:
        return f"{sums} = the total ({total.where}){_without(s.unreadable, unit)}", None
    head = (
        f"{sums}, but the total ({total.where}) says {show(total.minor, decimals)}: {show(abs(diff), decimals)} differ"
    )
    if s.unreadable:
        return "", head + _unverifiable(s.unreadable, unit)
    return "", head + "; rows may be missing or misread"


def verify(file: str, profile: Profile, control: Control | None, grid: Grid | None = None) -> BalanceCheck:
    """Check every stated balance and total against the movements; raise ``InputError`` on a mismatch."""
    spec = profile.balances
    if spec.check == "off" or control is None:
        return BalanceCheck("off", "balance check turned off in the profile")
    configured = _configured(profile, grid, file)
    replaced = {s.kind for s in configured}
    stated = [s for s in control.stated if s.kind not in replaced] + configured
    unreadable = [s for s in stated if s.minor is None]
    if unreadable:
        s = unreadable[0]
        what = (
            f"cannot be read: {s.text!r}"
            if s.text
            else "has no amount in the profile's amount column(s) there; only that column is read"
        )
        raise InputError(file, f"the {KIND_WORDS[s.kind]} ({s.where}) {what}; nothing is imported from this file")
    proved, failed = _run_checks(stated, control, profile)
    currency = profile.currency.expected
    if failed:
        raise InputError(
            file,
            f"the stated balances do not add up ({currency}): "
            + "; and ".join(failed)
            + ". Nothing is imported from this file.",
        )
    if proved:
        return BalanceCheck("verified", f"balance verified ({currency}): " + "; ".join(proved))
    balances = [s for s in stated if s.kind != TOTAL]
    if spec.check == "required":
        what = "no balance or total" if not balances else _incomplete(balances)
        raise InputError(file, f"the profile requires a stated balance, but {what}; nothing is imported from this file")
    if not balances:
        return NOT_STATED
    return BalanceCheck("incomplete", f"balance not verified: {_incomplete(balances)}")


def _incomplete(balances: list[Stated]) -> str:
    kinds = ", ".join(f"{KIND_WORDS[s.kind]} ({s.where})" for s in balances)
    opens = sum(s.kind == OPENING for s in balances)
    if opens == 0 or opens == len(balances):
        return f"only {kinds} is stated; there is nothing to check it against"
    return f"{kinds} cannot be paired as opening and closing balances"


def _check_running(control: Control, decimals: int) -> tuple[str, str | None]:
    """Each running balance = the one before it + its row's amount, oldest row first or newest first.

    This proves every row on its own (not only the sum), and which way the file is sorted is read
    from the data: the order where every step holds, else the one where more do (for the message).
    """
    run, unit, rows, amount = control.running, control.unit, control.rows, control.minor
    assert run is not None
    if run.unreadable:
        r, t = run.unreadable[0]
        return "", f"the running balance of {unit} {r} cannot be read ({t!r})"
    if rows.size < 2:
        return "", None
    bal = run.minor
    up = bal[1:] - bal[:-1] == amount[1:]  # oldest first: a balance = the one above + this row
    down = bal[:-1] - bal[1:] == amount[:-1]  # newest first: a balance = the one below + this row
    if up.all() or down.all():
        order = "oldest first" if up.all() else "newest first"
        return f"each running balance = the one before it + its row's amount ({rows.size} rows, {order})", None
    if up.sum() >= down.sum():
        k = int(np.flatnonzero(~up)[0])
        before, row = k, k + 1
    else:
        k = int(np.flatnonzero(~down)[0])
        before, row = k + 1, k
    expected = int(bal[before]) + int(amount[row])
    was, this, says = (show(int(v), decimals) for v in (bal[before], amount[row], bal[row]))
    head = (
        f"the balance of {unit} {rows[before]} ({was}) + the amount of {unit} {rows[row]} ({this}) = "
        f"{show(expected, decimals)}, but {unit} {rows[row]}'s running balance says {says}: "
        f"{show(abs(int(bal[row]) - expected), decimals)} differ"
    )
    bad = tuple((r, t) for r, t in control.unreadable if r in (int(rows[before]), int(rows[row])))
    return "", head + (_unverifiable(bad, unit) if bad else "; rows may be missing or misread")


def _run_checks(stated: list[Stated], control: Control, profile: Profile) -> tuple[list[str], list[str]]:
    """(what each passing check proved, why each failing one failed)."""
    decimals, unit = profile.decimals, control.unit
    proved: list[str] = []
    failed: list[str] = []
    balances = [s for s in stated if s.kind != TOTAL]
    for opening, closing, whole in _pairs(balances) or []:
        lo, hi = (None, None) if whole else (min(opening.row, closing.row), max(opening.row, closing.row))
        ok, bad = _check_pair(opening, closing, _movements(control, lo, hi), decimals, unit)
        proved += [ok] if bad is None else []
        failed += [bad] if bad is not None else []
    totals = sorted((s for s in stated if s.kind == TOTAL), key=lambda s: s.row)
    previous: int | None = None
    for total in totals:
        whole = len(totals) == 1 or not total.in_table
        s = _movements(control, None, None) if whole else _movements(control, previous, total.row)
        ok, bad = _check_total(total, s, decimals, unit)
        proved += [ok] if bad is None else []
        failed += [bad] if bad is not None else []
        previous = total.row
    if control.running is not None:
        ok, bad = _check_running(control, decimals)
        proved += [ok] if ok else []
        failed += [bad] if bad is not None else []
    return proved, failed


__all__ = [
    "CLOSING",
    "NOT_MOVEMENTS",
    "NOT_STATED",
    "OPENING",
    "TOTAL",
    "BalanceCheck",
    "Control",
    "Running",
    "Stated",
    "balance_kinds",
    "collect",
    "marker_regex",
    "show",
    "start_table",
    "stated_values",
    "verify",
]
