"""Map a RawTable through a profile into statement rows, deciding each row's fate.

Every data row ends as exactly one of: a receipt candidate, skipped (with a reason code),
or rejected (with one issue per refused value). The order of decisions is fixed and
documented in docs/finance.md; it matters, because a debit with a bad date is simply not a
receipt, while a credit with a bad date must be fixed by a person.
"""

from __future__ import annotations

import datetime as dt
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow as pa_arrow
import pyarrow.compute as pc

from pipeline import balances, dateorder
from pipeline.config import AmountSpec, ColumnRef, Profile
from pipeline.errors import InputError
from pipeline.frames import keep_rows
from pipeline.parsing import DateWindow, Parsed, parse_amounts, parse_dates
from pipeline.patterns import compile_pattern
from pipeline.readers import SOURCE_ROW, RawTable, col
from pipeline.textops import as_series, concat, contains, extract_first, squeeze_spaces, to_arrow
from schemas.checks import row_failures, rows_that_may_fail
from schemas.codes import Reject, Skip, describe
from schemas.issues import RowIssue
from schemas.statement import statement_schema

TEXT_FIELDS = (
    "payer_name",
    "reference",
    "customer_number",
    "invoice_number",
    "transaction_id",
    "document_number",
    "payer_account",
)


@dataclass
class Statement:
    """Receipts that passed every check, plus the rows that were skipped or rejected."""

    table: RawTable
    receipts: pd.DataFrame
    skips: pd.DataFrame = field(default_factory=pd.DataFrame)
    issues: list[RowIssue] = field(default_factory=list)
    control: balances.Control | None = None


class Columns:
    """Resolves a profile's column references against one table's header."""

    def __init__(self, table: RawTable, profile: Profile) -> None:
        self.table = table
        self.names = table.column_names()
        self.width = table.width
        self.profile = profile

    def position(self, ref: ColumnRef, role: str) -> int:
        if isinstance(ref, int):
            if not 1 <= ref <= self.width:
                raise InputError(
                    self.table.file,
                    f"profile {self.profile.name!r}: column {role} is position "
                    f"{ref}, but rows have {self.width} columns",
                )
            return ref
        name = ref.strip()
        twin = re.compile(rf"{re.escape(name)} \(\d+\)")
        twins = [p for n, p in self.names.items() if n == name or twin.fullmatch(n)]
        if name in self.names and len(twins) > 1:
            where = ", ".join(str(p) for p in sorted(twins))
            raise InputError(
                self.table.file,
                f"profile {self.profile.name!r}: column {role} = {name!r} appears {len(twins)} times in the "
                f"header (columns {where}); name one as {name + ' (2)'!r} or by its position",
            )
        if name not in self.names:
            shown = ", ".join(repr(n) for n in self.names) or "(none)"
            raise InputError(
                self.table.file,
                f"profile {self.profile.name!r}: column {role} = {name!r} is not "
                f"in the header (row {self.table.header_row}); the header has {shown}",
            )
        return self.names[name]

    def label(self, pos: int) -> str:
        """The column as a person would name it: header text, or its position."""
        for name, p in self.names.items():
            if p == pos:
                return name
        return f"column {pos}"

    def text(self, ref: ColumnRef | tuple[ColumnRef, ...] | None, role: str) -> tuple[pd.Series, str]:
        """Stripped text of one column, or of several joined by a space; and its label."""
        data = self.table.data
        if ref is None:
            return pd.Series("", index=data.index, dtype="str"), ""
        refs = ref if isinstance(ref, tuple) else (ref,)
        positions = [self.position(r, role) for r in refs]
        parts = [data[col(p)] for p in positions]
        out = (
            parts[0]
            if len(parts) == 1
            else squeeze_spaces(concat(*[x for p in parts for x in (p, " ")], index=data.index))
        )
        return out, " + ".join(self.label(p) for p in positions)


OPEN, SKIPPED, REJECTED = 0, 1, 2


class _Fates:
    """Each row's state so far: "" (still a candidate), "skipped" or "rejected", with reasons."""

    def __init__(self, file: str, rows: np.ndarray, profile: Profile) -> None:
        n = len(rows)
        self.file, self.rows, self.profile, self.n = file, rows, profile, n
        self.state = np.zeros(n, dtype=np.int8)  # OPEN, SKIPPED or REJECTED
        self.reason = np.full(n, "", dtype=object)
        self.detail = np.full(n, "", dtype=object)
        self.issues: list[RowIssue] = []

    def skip(self, mask: np.ndarray, code: str, why: str = "") -> None:
        m = mask & (self.state == OPEN)
        self.state[m] = SKIPPED
        self.reason[m] = str(code)
        if why:
            self.detail[m] = why

    def reject(self, mask: np.ndarray, column: str, values: pd.Series, codes: np.ndarray | str) -> None:
        """Reject rows still undecided (or already rejected, to collect every issue of a row)."""
        pos = np.flatnonzero(mask & (self.state != SKIPPED))
        if pos.size == 0:
            return
        self.state[pos] = REJECTED
        vals = values.iloc[pos].tolist()
        cds = np.broadcast_to(np.asarray(codes, dtype=object), (self.n,))[pos]
        for r, v, code in zip(self.rows[pos], vals, cds, strict=True):
            msg = _message(str(code), column, str(v), self.profile)
            self.issues.append(RowIssue(self.file, int(r), column, str(v), str(code), msg))

    def reject_row(self, position: int, column: str, value: str, code: str) -> None:
        self.state[position] = REJECTED
        msg = _message(code, column, value, self.profile)
        self.issues.append(RowIssue(self.file, int(self.rows[position]), column, value, str(code), msg))


def map_statement(table: RawTable, profile: Profile, today: dt.date | None = None) -> Statement:
    """Apply the profile to a table: skip what is not a receipt, reject what is refused.

    The steps run in the documented order (docs/finance.md): a row skipped by an earlier step is not
    looked at by a later one, while a rejected row collects every issue it has. ``today`` (the run
    date) places two-digit years and the latest date accepted. A file whose dates say the profile
    has day and month swapped is refused whole (``InputError``, see ``pipeline.dateorder``).
    """
    today = today or dt.date.today()
    cols = Columns(table, profile)
    rows = table.data[SOURCE_ROW].to_numpy()
    fates = _Fates(table.file, rows, profile)
    cells = _Cells.of(table)
    _skip_blank_repeated_and_ruled(fates, cells, table, cols, profile)
    stated_kind = _skip_balance_rows(fates, cells, cols, profile)
    date_text, date_label = cols.text(profile.columns.date, "date")
    date_empty = (date_text == "").to_numpy()
    window = DateWindow.ahead(today, profile.date_earliest, profile.date_days_ahead)
    dates, amount = _parse_dates_and_amounts(cols, profile, date_text, window)
    _skip_footers(fates, cells, cols, profile, dates.value.isna().to_numpy(), date_empty)
    no_txn = date_empty & amount.all_empty
    fates.skip(no_txn, Skip.CONTINUATION if profile.continuation_rows == "join" else Skip.NOT_A_TRANSACTION)
    _refuse_swapped_dates(table.file, profile, date_text, (fates.state != SKIPPED) & ~date_empty, today)
    minor_np = _sort_by_amount(fates, cols, profile, amount)
    receipt = (fates.state == OPEN) | ((fates.state == REJECTED) & (minor_np > 0))
    fates.reject(receipt & (dates.error != ""), date_label, date_text, dates.error)
    fates.reject(receipt & dates.empty, date_label, date_text, Reject.DATE_MISSING)
    if table.hidden:  # hidden_rows: reject (the default): a hidden receipt is never imported unseen
        hidden = np.isin(rows, np.fromiter(table.hidden, dtype=np.int64))
        fates.reject(receipt & hidden, "row", pd.Series(["hidden"] * len(rows)), Reject.HIDDEN_ROW)
    keep, frame, labels = _receipt_frame(cols, profile, fates, cells, receipt, dates.value, amount.value)
    labels["posting_date"] = date_label
    for row, column, value, code in _schema_failures(frame, profile):
        fates.reject_row(int(np.searchsorted(rows, row)), labels.get(column, column), value, code)
    skipped = fates.state == SKIPPED
    skips = _skips_frame(table, rows[skipped], fates.reason[skipped], fates.detail[skipped])
    control = _control_totals(table, cols, profile, fates, stated_kind, amount.value)
    receipts = keep_rows(frame, fates.state[keep] == OPEN)
    return Statement(table, receipts, skips, fates.issues, control)


def _skip_balance_rows(fates: _Fates, cells: _Cells, cols: Columns, profile: Profile) -> np.ndarray:
    """Opening/closing balance and stated-total rows (``pipeline.balances``), dated or not: never
    receipts, whatever their amount. Returns each row's kind ("" for every other row)."""
    refs = profile.balances.marker_columns
    if refs is None:
        named = (profile.columns.payer_name, profile.columns.reference)
        refs = tuple(r for ref in named if ref is not None for r in (ref if isinstance(ref, tuple) else (ref,)))
    extra = [cols.text(ref, "balances.marker_columns")[0] for ref in refs]
    kind = balances.balance_kinds([cells.text[c] for c in cells.columns], extra, profile.balances, fates.state == OPEN)
    fates.skip((kind == balances.OPENING) | (kind == balances.CLOSING), Skip.BALANCE)
    fates.skip(kind == balances.TOTAL, Skip.TOTAL)
    return kind


def _control_totals(
    table: RawTable, cols: Columns, profile: Profile, fates: _Fates, kind: np.ndarray, value: pd.Series
) -> balances.Control | None:
    """Stated balances and every movement, for ``balances.verify`` (None when the check is off)."""
    if profile.balances.check == "off":
        return None
    c = profile.columns
    roles = {
        "amount": c.amount,
        "debit": c.debit,
        "credit": c.credit,
        "indicator": c.indicator,
        "running": profile.balances.running,
    }
    texts = {role: cols.text(ref, role)[0] for role, ref in roles.items() if ref is not None}
    # compared code by code on the object array, at the skipped rows only: a fixed-width text copy
    # of a million reasons (``astype(str)``) cost 60 MiB and more time than the comparisons
    skipped = np.flatnonzero(fates.state == SKIPPED)
    reasons = fates.reason[skipped]
    listed = np.zeros(len(skipped), dtype=bool)
    for code in balances.NOT_MOVEMENTS:
        listed |= reasons == code
    not_movement = np.zeros(fates.n, dtype=bool)
    not_movement[skipped[listed]] = True
    return balances.collect(table, profile, kind, not_movement, value, texts)


@dataclass(frozen=True)
class _Cells:
    """The table's cells by column (readers trim every cell) and where each one is non-empty."""

    columns: list[str]
    text: dict[str, pd.Series]
    nonempty: dict[str, np.ndarray]

    @classmethod
    def of(cls, table: RawTable) -> _Cells:
        data = table.data
        columns = [c for c in data.columns if c != SOURCE_ROW]
        text = {c: data[c] for c in columns}
        return cls(columns, text, {c: (text[c] != "").to_numpy() for c in columns})


def _skip_blank_repeated_and_ruled(
    fates: _Fates, cells: _Cells, table: RawTable, cols: Columns, profile: Profile
) -> None:
    """Blank rows, the header repeated (e.g. on every page of an export), and the profile's rules."""
    n = fates.n
    blank = ~np.logical_or.reduce([cells.nonempty[c] for c in cells.columns]) if cells.columns else np.ones(n, bool)
    fates.skip(blank, Skip.BLANK)
    if table.header:
        same = np.ones(n, dtype=bool)
        for pos, name in enumerate(table.header, start=1):
            if col(pos) in cells.text:
                same &= (cells.text[col(pos)] == name.strip()).to_numpy()
        fates.skip(same, Skip.REPEATED_HEADER)
    for rule in profile.skip_rows:
        text, _ = cols.text(rule.column, "skip_rows.column")
        fates.skip(contains(text, rule.pattern), Skip.RULE, rule.reason)


def _parse_dates_and_amounts(
    cols: Columns, profile: Profile, date_text: pd.Series, window: DateWindow
) -> tuple[Parsed, _Amounts]:
    """Dates and amounts are independent and their kernels release the GIL: parse them side by side."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        amount_job = pool.submit(_signed_amounts, cols, profile)
        dates = parse_dates(date_text, profile.date_formats, window)
        return dates, amount_job.result()


def _refuse_swapped_dates(
    file: str, profile: Profile, date_text: pd.Series, in_play: np.ndarray, today: dt.date
) -> None:
    """Refuse the whole file when its dates (of the rows ``in_play``) say the profile has day and
    month swapped."""
    why = dateorder.refusal(date_text, profile.date_formats, today.year, profile.date_plausibility_check, in_play)
    if why is not None:
        raise InputError(file, f"profile {profile.name!r}: {why}")


def _skip_footers(
    fates: _Fates, cells: _Cells, cols: Columns, profile: Profile, no_date: np.ndarray, date_empty: np.ndarray
) -> None:
    """Footer, total and balance rows: the first non-empty cell of an undated row matches the footer
    pattern (a row with a real date is never a footer)."""
    footer = np.zeros(fates.n, dtype=bool)
    seen = np.zeros(fates.n, dtype=bool)
    undated = np.flatnonzero(no_date & (fates.state == OPEN))
    date_col = col(cols.position(profile.columns.date, "date"))
    for c in cells.columns:
        first = (cells.nonempty[c] & ~seen)[undated]
        if first.any():
            at = undated[first]
            footer[at] = contains(cells.text[c].iloc[at], profile.footer_pattern)
            # ... and a row whose date cell holds a non-date is a receipt with a bad date, unless
            # that cell is the footer text itself ("Total" written in the date column).
            if c != date_col:
                footer[at] &= date_empty[at]
        seen |= cells.nonempty[c]
    fates.skip(footer, Skip.FOOTER)


def _sort_by_amount(fates: _Fates, cols: Columns, profile: Profile, amount: _Amounts) -> np.ndarray:
    """Reject refused amounts; skip zero amounts, debits and rows the profile does not count as
    receipts. Returns the signed minor units (0 where unknown)."""
    for mask, column, values, codes in amount.errors:
        fates.reject(mask, column, values, codes)
    minor = amount.value
    known = minor.notna().to_numpy() & (fates.state == OPEN)
    minor_np = minor.fillna(0).to_numpy(dtype="int64")
    fates.skip(known & (minor_np == 0), Skip.ZERO_AMOUNT)
    fates.skip(known & (minor_np < 0), Skip.NOT_RECEIPT, "debit")
    if profile.receipts_only_when is not None:
        f = profile.receipts_only_when
        ftext, flabel = cols.text(f.column, "receipts_only_when.column")
        if f.pattern is not None:
            fates.skip(~contains(ftext, f.pattern), Skip.NOT_RECEIPT, f"{flabel} does not match")
        if f.unless is not None:
            fates.skip(contains(ftext, f.unless), Skip.NOT_RECEIPT, f"{flabel} matches unless")
    return minor_np


def _receipt_frame(
    cols: Columns,
    profile: Profile,
    fates: _Fates,
    cells: _Cells,
    receipt: np.ndarray,
    dates: pd.Series,
    minor: pd.Series,
) -> tuple[np.ndarray, pd.DataFrame, dict[str, str]]:
    """The statement rows of every receipt still open or rejected (a rejected receipt is checked by
    the schema too, to report all its issues): their positions, the frame, and each field's column
    label as a person knows it (posting_date's is the caller's)."""
    texts = {f: cols.text(getattr(profile.columns, f), f) for f in TEXT_FIELDS}
    if profile.continuation_rows == "join":
        _join_continuations(texts, fates.state, fates.reason, cells.text, cells.columns)
    currency_text, currency_label = cols.text(profile.columns.currency, "currency")
    joined = profile.continuation_rows == "join"  # (a continuation's text joins the reference, read or not)
    read = {f for f in TEXT_FIELDS if getattr(profile.columns, f) is not None or (joined and f == "reference")}
    wanted = (fates.state == OPEN) | ((fates.state == REJECTED) & receipt)
    keep = np.flatnonzero(wanted)
    frame = pd.DataFrame(
        {
            SOURCE_ROW: fates.rows[keep].astype("int64"),
            "posting_date": dates.iloc[keep].to_numpy(),
            "amount_minor": minor.iloc[keep].to_numpy(),
            "currency": _currency(_rows_of(currency_text, wanted), profile),
            **{f: _rows_of(texts[f][0], wanted, f in read) for f in TEXT_FIELDS},
        }
    )
    for name, values in _extract(profile, frame).items():
        frame[name] = values
    frame["invoice_candidates"] = _invoice_candidates(profile, frame)
    labels = {
        "currency": currency_label or "currency",
        "customer_number": texts["customer_number"][1] or texts["reference"][1] or "customer_number",
        "invoice_number": texts["invoice_number"][1] or texts["reference"][1] or "invoice_number",
        "amount_minor": "amount",
    }
    return keep, frame, labels


def _rows_of(text: pd.Series, wanted: np.ndarray, read: bool = True) -> pd.Series:
    """The texts of the ``wanted`` rows, on a fresh RangeIndex: pyarrow's filter by mask, where
    pandas' positional take of a column parsed in blocks (a chunked array) cost 0.2-0.3 s a column
    on the million-row benchmark, ten times the filter. A field the profile does not read
    (``read`` False) is empty on every row, and is not filtered at all."""
    index = pd.RangeIndex(int(wanted.sum()))
    if not read:
        return pd.Series("", index=index, dtype="str")
    return as_series(pc.filter(pa_arrow.array(text, from_pandas=True), pa_arrow.array(wanted)), index)


def _currency(text: pd.Series, profile: Profile) -> pd.Series:
    """The currency cell upper-cased; an empty cell (or no column) is the profile's currency."""
    if profile.columns.currency is None:
        return pd.Series(profile.currency.expected, index=range(len(text)), dtype="str")
    upper = text.str.upper().reset_index(drop=True)
    return upper.where(upper != "", profile.currency.expected).astype("str")


def _skips_frame(table: RawTable, rows: np.ndarray, reasons: np.ndarray, details: np.ndarray) -> pd.DataFrame:
    """Every skipped row (the reader's and the profile's) as one frame, in file order.

    ``detail`` is empty unless there is more to say than the reason code (``schemas.codes.Skip``
    has the words for each code).
    """
    from_reader = pd.DataFrame(
        {
            "source_row": np.array([s.source_row for s in table.skipped], dtype="int64"),
            "reason_code": np.array([s.reason for s in table.skipped], dtype=object),
            "detail": np.array([s.text for s in table.skipped], dtype=object),
        }
    )
    from_rows = pd.DataFrame({"source_row": rows.astype("int64"), "reason_code": reasons, "detail": details})
    frame = pd.concat([from_reader, from_rows], ignore_index=True)
    if not frame["source_row"].is_monotonic_increasing:
        frame = frame.sort_values("source_row", kind="stable").reset_index(drop=True)
    return frame


@dataclass
class _Amounts:
    value: pd.Series
    all_empty: np.ndarray
    errors: list[tuple[np.ndarray, str, pd.Series, np.ndarray]]


def _signed_amounts(cols: Columns, profile: Profile) -> _Amounts:
    """Signed minor units per row (credit positive), whatever the layout."""
    spec, dec, cur = profile.amount, profile.decimals, profile.currency.expected
    c = profile.columns
    errors: list[tuple[np.ndarray, str, pd.Series, np.ndarray]] = []
    n = len(cols.table.data)
    if spec.layout == "debit_credit":
        assert c.debit is not None and c.credit is not None
        dtext, dlabel = cols.text(c.debit, "debit")
        ctext, clabel = cols.text(c.credit, "credit")
        d, k = parse_amounts(dtext, spec, dec, cur), parse_amounts(ctext, spec, dec, cur)
        d_has = d.value.fillna(0).to_numpy(dtype="int64") != 0
        k_has = k.value.fillna(0).to_numpy(dtype="int64") != 0
        d_err, k_err = _err(d), _err(k)
        errors.append((d_err, dlabel, dtext, d.error))
        errors.append((k_err, clabel, ctext, k.error))
        k_val = k.value.fillna(0).to_numpy(dtype="int64")
        errors.append((k_has & (k_val < 0) & ~k_err, clabel, ctext, np.full(n, Reject.AMOUNT_NEGATIVE_CREDIT, object)))
        both = d_has & k_has & ~d_err & ~k_err
        errors.append((both, f"{dlabel} / {clabel}", ctext, np.full(n, Reject.AMOUNT_BOTH_SIDES, object)))
        all_empty = d.empty & k.empty
        errors.append((all_empty, clabel, ctext, np.full(n, Reject.AMOUNT_MISSING, object)))
        d_val = d.value.fillna(0).to_numpy(dtype="int64")
        signed = np.where(k_has, k_val, -np.abs(d_val))
        ok = ~d_err & ~k_err & ~both & ~(k_has & (k_val < 0)) & ~all_empty
        out = pd.Series(signed, index=cols.table.data.index, dtype="Int64")
        out[~ok] = pd.NA
        return _Amounts(_invert(out, spec.invert_sign), all_empty, errors)
    assert c.amount is not None
    atext, alabel = cols.text(c.amount, "amount")
    a = parse_amounts(atext, spec, dec, cur)
    a_err = _err(a)
    errors.append((a_err, alabel, atext, a.error))
    errors.append((a.empty, alabel, atext, np.full(n, Reject.AMOUNT_MISSING, object)))
    value = a.value.copy()
    if spec.layout == "indicator":
        assert c.indicator is not None
        itext, ilabel = cols.text(c.indicator, "indicator")
        is_credit, unknown = _indicator_sides(itext, spec)
        errors.append((unknown & ~a_err, ilabel, itext, np.full(n, Reject.INDICATOR_UNKNOWN, object)))
        # A minus sign on a row the indicator calls a credit contradicts it: refuse to pick one.
        negative = (value.fillna(0) < 0).to_numpy()
        conflict = is_credit & negative & ~a_err
        errors.append((conflict, f"{alabel} / {ilabel}", atext, np.full(n, Reject.AMOUNT_SIGN_CONFLICT, object)))
        unknown = unknown | conflict
        absval = value.abs()
        value = absval.where(pd.Series(is_credit, index=value.index, dtype=bool), -absval)
        value[pd.Series(unknown, index=value.index, dtype=bool)] = pd.NA
    return _Amounts(_invert(value, spec.invert_sign), a.empty, errors)


def _indicator_sides(itext: pd.Series, spec: AmountSpec) -> tuple[np.ndarray, np.ndarray]:
    """(is a credit, is unknown) per row. Values are compared exactly (cells are already trimmed):
    ``Cr`` is not ``CR``. A value in neither list is unknown unless the profile says what unlisted
    values mean (``unlisted_indicator``); before, it silently became a debit when the profile listed
    no debit values, and a receipt vanished as "not a receipt"."""
    listed_credit = itext.isin(list(spec.credit_values)).to_numpy()
    unlisted = ~listed_credit & ~itext.isin(list(spec.debit_values)).to_numpy()
    is_credit = listed_credit | (unlisted & (spec.unlisted_indicator == "credit"))
    return is_credit, unlisted & (spec.unlisted_indicator == "reject")


def _err(p: Parsed) -> np.ndarray:
    return np.asarray(p.error != "", dtype=bool)


def _invert(value: pd.Series, invert: bool) -> pd.Series:
    return -value if invert else value


def _extract(profile: Profile, frame: pd.DataFrame) -> dict[str, pd.Series]:
    """Customer and invoice numbers from their columns, else from the reference by regex (upper-cased)."""

    def one(name: str) -> pd.Series:
        value = frame[name]
        pattern = getattr(profile.extract, name)
        if pattern is not None:
            empty = (value == "").to_numpy()
            if empty.all():
                value = extract_first(frame["reference"], pattern)
            elif empty.any():
                found = extract_first(frame["reference"], pattern)
                value = as_series(pc.if_else(pa_arrow.array(empty), to_arrow(found), to_arrow(value)), value.index)
        return value.str.upper()

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(one, name) for name in ("customer_number", "invoice_number")}
        return {name: f.result() for name, f in futures.items()}


def _invoice_candidates(profile: Profile, frame: pd.DataFrame) -> pd.Series:
    """Every invoice number the reference names, in order, space-separated and upper-case.

    A remittance text often pays several invoices at once ("RE-1 and RE-2"); resolution must see
    all of them to tell "one open invoice among them" from "a person must split this". Only rows
    whose reference matches more than once pay for a per-row ``findall``.
    """
    first = frame["invoice_number"]
    pattern = profile.extract.invoice_number
    if pattern is None or first.empty:
        return first
    reference = frame["reference"]
    # counted only where a first number was found (a row without one keeps its "")
    named = np.flatnonzero(pc.binary_length(to_arrow(first)).to_numpy(zero_copy_only=False) > 0)
    if not named.size:
        return first
    counts = pc.count_substring_regex(to_arrow(reference).take(pa_arrow.array(named)), pattern)
    many = named[counts.to_numpy(zero_copy_only=False) > 1]
    if not many.size:
        return first
    rx = compile_pattern(pattern)
    out = first.copy()
    for i in many.tolist():
        text = str(reference.iat[i])
        found = [(m.group(1) if rx.groups else m.group(0)).upper() for m in rx.finditer(text)]
        if found and found[0] == first.iat[i]:
            out.iat[i] = " ".join(dict.fromkeys(found))
    return out


def _join_continuations(
    texts: dict[str, tuple[pd.Series, str]],
    state: np.ndarray,
    reason: np.ndarray,
    stripped: dict[str, pd.Series],
    cell_cols: list[str],
) -> None:
    """Append each continuation row's text to the reference of the row above it.

    "Above" is the nearest earlier row that is neither blank nor a continuation, whatever its
    fate: the text of a refund's second line belongs to the refund, not to the receipt before it.
    """
    ref = texts["reference"][0].copy()
    is_cont = (state == SKIPPED) & (reason == Skip.CONTINUATION)
    anchor = ~is_cont & (reason != Skip.BLANK)
    prev = np.maximum.accumulate(np.where(anchor, np.arange(len(state)), -1))
    for i in np.flatnonzero(is_cont):
        target = prev[i]
        if target >= 0:
            extra = " ".join(v for c in cell_cols if (v := stripped[c].iloc[i]))
            ref.iloc[target] = (ref.iloc[target] + " " + extra).strip()
    texts["reference"] = (ref, texts["reference"][1])


def _schema_failures(frame: pd.DataFrame, profile: Profile) -> list[tuple[int, str, str, str]]:
    """Run the statement schema lazily; each failure as (source_row, column, value, reason_code).

    Rows without a date or an amount were rejected before and are left out; pandera sees only the
    rows one of its checks could fail (``rows_that_may_fail``), picked out without copying the
    frame first.
    """
    dated = (frame["posting_date"].notna() & frame["amount_minor"].notna()).to_numpy()
    if not dated.any():
        return []
    schema = statement_schema(profile.currency.expected)
    suspects = rows_that_may_fail(frame, schema, {})
    picked = np.flatnonzero(dated) if suspects is None else suspects[dated[suspects]]
    valid = frame.iloc[picked]
    try:
        schema.validate(valid, lazy=True)
    except pa.errors.SchemaErrors as exc:
        return [
            (int(str(valid.at[f.index, SOURCE_ROW])), f.column, f.value, _schema_code(f.column, f.check))
            for f in row_failures(exc, frame_level="skip")
        ]
    return []


def _schema_code(column: str, check: str) -> Reject:
    """The reason code of a statement-schema failure."""
    if column == "currency":
        return Reject.CURRENCY_MISMATCH
    if check.startswith("str_length"):
        return Reject.TOO_LONG
    if column == "posting_date":
        return Reject.DATE_OUT_OF_RANGE
    return Reject.INVALID_VALUE


def _message(code: str, column: str, value: str, profile: Profile) -> str:
    base = describe(code)
    a = profile.amount
    marks = f"decimal mark {a.decimal_mark!r}" + (
        f", thousands mark {a.thousands_mark!r}" if a.thousands_mark else ", no thousands mark"
    )
    hints: dict[str, str] = {
        Reject.AMOUNT_FORMAT: f"expected a number written with {marks} (e.g. {_example(profile)})",
        Reject.AMOUNT_DECIMALS: _decimals_hint(value, profile),
        Reject.AMOUNT_WHITESPACE: f"expected a number written with {marks}; a tab or line break is never a mark",
        Reject.CURRENCY_MISMATCH: f"expected {profile.currency.expected}",
        Reject.DATE_FORMAT: "expected a date like " + " or ".join(repr(f) for f in profile.date_formats),
        Reject.DATE_INVALID: "expected a real calendar date",
        Reject.DATE_AMBIGUOUS: "fix the profile's date_formats so only one can match",
        Reject.DATE_MISSING: "expected a date",
        Reject.AMOUNT_MISSING: "expected an amount",
        Reject.INDICATOR_UNKNOWN: (
            f"expected one of {list(a.credit_values)} (credit) or {list(a.debit_values)} (debit), written "
            "exactly so; add the value to the profile's credit_values or debit_values"
        ),
        Reject.DATE_TWO_DIGIT_YEAR: "with two digits the year is neither within the last 50 years nor the "
        "next 20; write the year with four digits",
        Reject.DATE_TOO_EARLY: f"expected a date from {profile.date_earliest.isoformat()} on (the profile's "
        "date_earliest)",
        Reject.DATE_TOO_LATE: f"expected a date at most {profile.date_days_ahead} days after the run date "
        "(the profile's date_days_ahead)",
        Reject.AMOUNT_SIGN_CONFLICT: "the amount is negative but the indicator says credit",
        Reject.TOO_LONG: f"it is {len(value)} characters; Business Central's Code[20] fields allow 20",
        Reject.HIDDEN_ROW: "unhide the row in Excel if it is a payment to import (or delete it), or set the "
        "profile's hidden_rows to skip or include",
    }
    expected = hints.get(code, "")
    shown = repr(value) if value != "" else "(empty)"
    return f"{column}: {shown}: {base}" + (f"; {expected}" if expected else "")


def _decimals_hint(value: str, profile: Profile) -> str:
    """Say what is expected, and why even zeros are not dropped: with three digits after the mark,
    ``2.500`` may be 2.50 or 2500 written with that mark between thousands."""
    hint = f"expected at most {profile.decimals} decimals for {profile.currency.expected}"
    mark = profile.amount.decimal_mark
    frac = value.strip().rsplit(mark, 1)[-1] if mark in value else ""
    if len("".join(ch for ch in frac if ch.isdigit())) == 3:
        hint += f"; it may be a whole number with {mark!r} between thousands: not guessed"
    return hint


def _example(profile: Profile) -> str:
    a = profile.amount
    whole = f"1{a.thousands_mark}234" if a.thousands_mark else "1234"
    return whole + (f"{a.decimal_mark}56" if profile.decimals else "")
