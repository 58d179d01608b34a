"""The lines of one check or one remittance advice: one payment, posted whole or not at all.

A lockbox file or a customer's remittance advice lists, line by line, the invoices one check (one
transfer) pays. Each line is still an input row with its own exactly-once key, and BC's
``customerPayment`` applies a line to at most one invoice, so the payment is posted as one journal
line per invoice line sharing one ``documentNumber`` (as a receipt split by the matcher,
``pipeline.splits``). A profile names the column that ties the lines together
(``columns.payment_group``: check number, payment reference), and may name the check amount or the
advice's total (``columns.payment_total``) and a discount column (``columns.discount``).

What this module decides, before anything is sent:

* ``mark_payments`` (after the files are read): the rows of one group get the first row's
  ``documentNumber`` and a ``payment_key`` (the first row's key) that the planner reads to keep
  that number for all of them (``pipeline.post.plan.unique_document_numbers``). A group whose lines
  do not add up to its stated total (``payment_total_mismatch``, with both figures and the
  difference), that nets a credit note (a negative line, skipped as not a receipt: ``credit_note``,
  the credit note named), or one of whose lines was rejected (``payment_held``) is marked for review
  as a whole.
* ``resolve_payments`` (around ``pipeline.resolve.resolve``): a line with a discount is resolved at
  the invoice amount it settles (amount paid + discount), so a line paying 1,225.00 with 25.00
  discount on an invoice of 1,250.00 is a full payment, not a short one; it is then applied with the
  amount paid (BC's API has no discount field) and flagged ``payment_discount``. A group with any
  line in review goes to review whole: its other lines wait with ``payment_held``.

What becomes of a held check after that, in the review loop (decided and carried out together),
when BC refuses one of its lines, and in a ledger rebuild: ``pipeline.held_checks``,
``pipeline.post.posting.partly_refused``, ``pipeline.post.rebuild``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipeline.config import ColumnRef
from pipeline.lines import SPLIT_MARK
from pipeline.money import minor_text
from pipeline.parsing import parse_amounts
from pipeline.readers import SOURCE_ROW
from pipeline.resolve import REVIEW_COLUMNS, Resolution
from pipeline.statement import Columns
from pipeline.validate import FileResult
from schemas.codes import Flag, Review, Skip

PAYMENT_KEY = "payment_key"
"""Column of the rows: the key of the first line of the row's payment, "" for a row on its own."""
DISCOUNT = "discount_minor"
"""Column of the rows: the early-payment discount the payer took on the line, in minor units."""
PAYMENT_LABEL = "payment_label"
"""Column of the rows: the payment as people name it ("Check No 10442"), "" for a row on its own."""
_LABEL, _CODE, _NOTE = PAYMENT_LABEL, "payment_code", "payment_note"
"""Columns of the rows: the payment as people name it, and the review code and words for all of it."""


@dataclass(frozen=True)
class _Line:
    """One data row of the file as the payment columns see it, whatever became of the row (valid,
    skipped as a credit note, rejected)."""

    row: int
    group: str
    total: str  # the payment_total cell as written ("" when empty)
    total_minor: int | None
    discount: str
    discount_minor: int | None
    document: str  # the invoice or credit note number the line names
    amount: str  # the amount cell as written


def mark_payments(rows: pd.DataFrame, results: Sequence[FileResult], decimals: int) -> pd.DataFrame:
    """The run's rows with the payment columns (module docstring); unchanged when no profile of the run
    names a payment group or a discount column."""
    marked = [r for r in results if _wants_marks(r)]
    if not marked or rows.empty:
        return rows
    marks = _Marks.of(rows)
    for result in marked:
        _mark_file(marks, result, decimals)
    out = rows.copy()
    out["documentNumber"] = pd.Series(marks.document, index=out.index, dtype="str")
    out[PAYMENT_KEY] = pd.Series(marks.payment, index=out.index, dtype="str")
    out[DISCOUNT] = pd.Series(marks.discount, index=out.index, dtype="int64")
    for column, values in ((_LABEL, marks.label), (_CODE, marks.code), (_NOTE, marks.note)):
        out[column] = pd.Series(values, index=out.index, dtype="str")
    return out


@dataclass
class _Marks:
    """The rows' columns as lists while the files mark them (position = the row's place in the run)."""

    file: list[str]
    row: list[int]
    key: list[str]
    paid: list[int]
    document: list[str]
    payment: list[str]
    discount: list[int]
    label: list[str]
    code: list[str]
    note: list[str]

    @classmethod
    def of(cls, rows: pd.DataFrame) -> _Marks:
        n = len(rows)
        return cls(
            rows["source_file"].astype("str").tolist(),
            rows["source_row"].astype("int64").tolist(),
            rows["key"].astype("str").tolist(),
            (-rows["amount_minor"].astype("int64")).tolist(),
            rows["documentNumber"].astype("str").tolist(),
            [""] * n,
            [0] * n,
            [""] * n,
            [""] * n,
            [""] * n,
        )


def _wants_marks(result: FileResult) -> bool:
    c = result.profile.columns
    return c.payment_group is not None or c.discount is not None


def _mark_file(marks: _Marks, result: FileResult, decimals: int) -> None:
    """Discounts and payment groups of one file, written into ``marks`` (the rows of every file)."""
    lines = _read_lines(result, decimals)
    at = {r: i for i, (f, r) in enumerate(zip(marks.file, marks.row, strict=True)) if f == result.file}
    skips = result.skips
    skipped = dict(zip(skips["source_row"].astype("int64"), skips["reason_code"].astype("str"), strict=True))
    rejected = result.rejected_rows
    label = _group_label(result)
    fates = (skipped, rejected, set(at))
    by_group: dict[str, list[_Line]] = {}
    for line in lines:
        i = at.get(line.row)
        if i is not None and line.discount_minor is not None:
            marks.discount[i] = line.discount_minor
        if i is not None and not line.group and _unreadable(line.discount, line.discount_minor):
            marks.code[i] = Review.DISCOUNT_INVALID
            marks.note[i] = _cell_problem(result.file, line.row, result.profile.columns.discount, line.discount)
        if line.group and (i is not None or line.row in rejected or skipped.get(line.row) == Skip.NOT_RECEIPT):
            by_group.setdefault(line.group, []).append(line)
    for group, members in by_group.items():
        valid = [at[m.row] for m in members if m.row in at]
        if not valid:
            continue
        name = f"{label} {group}"
        paid = [marks.paid[i] for i in valid]
        code, note = _group_problem(name, members, paid, fates, result, decimals)
        lead = valid[0]
        for i in valid:
            marks.payment[i], marks.document[i] = marks.key[lead], marks.document[lead]
            marks.label[i], marks.code[i], marks.note[i] = name, code, note


def _group_label(result: FileResult) -> str:
    """How people name a group: the payment_group column's header ("Check No 10442")."""
    ref = result.profile.columns.payment_group
    if ref is None:
        return "payment"
    cols = Columns(result.statement.table, result.profile)
    return cols.label(cols.position(ref, "payment_group"))


def _read_lines(result: FileResult, decimals: int) -> list[_Line]:
    """Group, total, discount and document of every data row of the file (the raw table: credit
    notes and rejected rows are not among the valid rows, and a group must see them)."""
    table, profile = result.statement.table, result.profile
    c = profile.columns
    cols = Columns(table, profile)
    n = len(table.data)

    def text(ref: ColumnRef | None, role: str) -> pd.Series:
        if ref is None:
            return pd.Series([""] * n, dtype="str")
        return cols.text(ref, role)[0].reset_index(drop=True)

    def amounts(ref: ColumnRef | None, role: str) -> tuple[pd.Series, pd.Series]:
        raw = text(ref, role)
        parsed = parse_amounts(raw, profile.amount, decimals, profile.currency.expected)
        return raw, parsed.value.reset_index(drop=True)  # None where the cell is not an amount

    group = text(c.payment_group, "payment_group")
    total_raw, total = amounts(c.payment_total, "payment_total")
    disc_raw, disc = amounts(c.discount, "discount")
    document = text(c.invoice_number, "invoice_number")
    amount = text(c.amount if c.amount is not None else c.debit, "amount")
    rows = table.data[SOURCE_ROW].astype("int64").tolist()
    columns = zip(
        rows,
        group.str.strip().str.upper().tolist(),
        total_raw.tolist(),
        total.astype("object").tolist(),
        disc_raw.tolist(),
        disc.astype("object").tolist(),
        document.tolist(),
        amount.tolist(),
        strict=True,
    )
    out = [
        _Line(row, g, str(tr), _whole(t), str(dr), _whole(d), str(doc), str(a))
        for row, g, tr, t, dr, d, doc, a in columns
    ]
    return out


def _whole(value: object) -> int | None:
    """A parsed amount (minor units) as an int, None where the cell held none."""
    return None if value is None or value is pd.NA else int(str(value))


def _group_problem(
    name: str,
    members: list[_Line],
    paid: list[int],
    fates: tuple[dict[int, str], set[int], set[int]],
    result: FileResult,
    decimals: int,
) -> tuple[str, str]:
    """The review code and words for the whole payment, ("", "") when its lines may be posted."""
    skipped, rejected, valid = fates
    file, cols = result.file, result.profile.columns
    money = _money(decimals)
    credit = [m for m in members if skipped.get(m.row) == Skip.NOT_RECEIPT]
    if credit:
        named = ", ".join(f"{m.document or 'row ' + str(m.row)} ({m.amount}, row {m.row})" for m in credit)
        return Review.CREDIT_NOTE, (
            f"{name} in {file} nets {len(credit)} credit note(s) against the payment: {named}. Business Central's "
            f"API cannot apply a credit memo, so the whole payment ({len(paid)} invoice line(s), "
            f"{money(sum(paid))} paid) waits for a person"
        )
    bad = [m.row for m in members if m.row in rejected and m.row not in valid]
    if bad:
        return Review.PAYMENT_HELD, (
            f"{name} in {file}: row(s) {', '.join(map(str, bad))} of this payment were rejected (see their reason); "
            "no line of it is posted until the file is corrected"
        )
    for m in members:
        for code, column, raw, value in (
            (Review.PAYMENT_TOTAL_MISMATCH, cols.payment_total, m.total, m.total_minor),
            (Review.DISCOUNT_INVALID, cols.discount, m.discount, m.discount_minor),
        ):
            if _unreadable(raw, value):
                return code, (
                    f"{name}: {_cell_problem(file, m.row, column, raw)}; no line of this payment is posted until it "
                    "is corrected"
                )
    stated = {m.total_minor for m in members if m.total and m.total_minor is not None}
    if len(stated) > 1:
        figures = " and ".join(money(v) for v in sorted(stated))
        return Review.PAYMENT_TOTAL_MISMATCH, f"{name} in {file} states two different totals: {figures}"
    if stated:
        total, lines = stated.pop(), sum(paid)
        if total != lines:
            return Review.PAYMENT_TOTAL_MISMATCH, (
                f"{name} in {file}: its {len(paid)} line(s) add up to {money(lines)}, the stated total is "
                f"{money(total)} (difference {money(total - lines)}); the whole payment waits for a person"
            )
    return "", ""


def _unreadable(raw: str, value: int | None) -> bool:
    """A cell that holds something, but not an amount of zero or more."""
    return bool(raw) and (value is None or value < 0)


def _cell_problem(file: str, row: int, column: ColumnRef | None, raw: str) -> str:
    return f"{file}, row {row}, column {column} holds {raw!r}, not an amount of zero or more in the profile's format"


def _money(decimals: int) -> Callable[[int], str]:
    return lambda minor: minor_text(minor, decimals)


# --- around resolution ----------------------------------------------------------------------------


def resolve_payments(
    todo: pd.DataFrame, decimals: int, resolve_rows: Callable[[pd.DataFrame], Resolution]
) -> Resolution:
    """``resolve_rows`` over ``todo`` with discounts and payment groups honoured (module docstring)."""
    if PAYMENT_KEY not in todo.columns or DISCOUNT not in todo.columns or todo.empty:
        return resolve_rows(todo)  # DISCOUNT missing: the payment columns came only with decided rows
    group = todo[PAYMENT_KEY].fillna("").astype("str")
    discount = todo[DISCOUNT].fillna(0).astype("int64")
    if not (group != "").any() and not (discount != 0).any():
        return resolve_rows(todo)
    gross = todo.copy()
    gross["amount_minor"] = todo["amount_minor"].astype("int64") - discount  # receipts are negative
    res = resolve_rows(gross)
    keys = todo["key"].astype("str").tolist()

    def by_key(values: pd.Series) -> dict[str, Any]:
        return dict(zip(keys, values.tolist(), strict=True))

    facts = _Facts(
        by_key(group),
        by_key(discount),
        by_key(todo["amount_minor"].astype("int64")),
        by_key(todo[_LABEL].fillna("").astype("str")),
        by_key(todo[_CODE].fillna("").astype("str")),
        by_key(todo[_NOTE].fillna("").astype("str")),
        {k: i for i, k in enumerate(keys)},
        by_key(todo["source_row"].astype("int64")),
        decimals,
    )
    return _settle(res.rows.copy(), res.review.copy(), facts)


@dataclass(frozen=True)
class _Facts:
    """What the rows said, by input key: payment, discount, amount paid, and the group's verdict."""

    group: dict[str, str]
    discount: dict[str, int]
    paid: dict[str, int]
    label: dict[str, str]
    code: dict[str, str]
    note: dict[str, str]
    order: dict[str, int]
    row: dict[str, int]
    decimals: int


def _settle(rows: pd.DataFrame, review: pd.DataFrame, f: _Facts) -> Resolution:
    """Discounts back to the amount paid; every group with a line for a person goes to review whole."""
    money = _money(f.decimals)
    row_receipt = _receipt_keys(rows["key"])
    lines_of = row_receipt.value_counts()
    held: dict[str, tuple[str, str]] = {}  # receipt key -> its own reason, words
    for own, code, message in zip(
        review["key"].astype("str").tolist(),
        review["reason_code"].astype("str").tolist(),
        review["message"].astype("str").tolist(),
        strict=True,
    ):
        held[own] = (code, message)
    for key, n in lines_of.items():
        if f.discount.get(str(key), 0) and n > 1:
            held[str(key)] = (
                Review.PAYMENT_HELD,
                f"the discount of {money(f.discount[str(key)])} is on a line that pays several invoices: a person "
                "splits the discount over them",
            )
    for key, code in f.code.items():
        if code and not f.group.get(key):  # a row on its own with a problem of the file's (a bad discount)
            held[key] = (code, f.note[key])
    stopped = {f.group[k] for k in held if f.group.get(k)} | {g for k, g in f.group.items() if g and f.code[k]}
    moving = row_receipt.isin([k for k in lines_of.index if str(k) in held or f.group.get(str(k), "") in stopped])
    moved = _one_row_each(rows[moving.to_numpy()], row_receipt[moving])
    rows = rows[~moving.to_numpy()].reset_index(drop=True)
    review = pd.concat([review, moved], ignore_index=True) if not moved.empty else review
    _restore_posted(rows, f)
    _explain_review(review, held, stopped, f)
    order = review["key"].astype("str").map(f.order).fillna(len(f.order)).to_numpy()
    review = review.iloc[np.argsort(order, kind="stable")].reset_index(drop=True)
    return Resolution(rows, review[list(REVIEW_COLUMNS)])


def _receipt_keys(keys: pd.Series) -> pd.Series:
    """``receipt_key`` over a whole column: a receipt's own key never holds the split mark, so a line
    of a split receipt is its key up to the mark."""
    return keys.astype("str").str.replace(SPLIT_MARK + ".*$", "", regex=True)


def _one_row_each(lines: pd.DataFrame, receipts: pd.Series) -> pd.DataFrame:
    """The lines of rows that were to be posted, one review row per input row again (the first
    line's columns, the amounts summed, the invoices listed)."""
    if lines.empty:
        return pd.DataFrame(columns=list(REVIEW_COLUMNS))
    by = receipts.to_numpy()
    out = lines[~receipts.duplicated().to_numpy()].reset_index(drop=True)
    order = _receipt_keys(out["key"])
    amounts = lines["amount_minor"].astype("int64").groupby(by, sort=False).sum()
    invoices = lines["appliesToInvoiceNumber"].fillna("").astype("str").groupby(by, sort=False).agg(" ".join)
    out["key"] = order
    out["amount_minor"] = order.map(amounts).astype("int64")
    out["appliesToInvoiceNumber"] = order.map(invoices).str.strip()
    out["appliesToInvoiceId"] = out["application"] = ""
    out["reason_code"] = out["message"] = out["candidates"] = ""
    return out


def _restore_posted(rows: pd.DataFrame, f: _Facts) -> None:
    """Lines to post: the amount paid (not the discounted invoice amount), the flags and the words."""
    money = _money(f.decimals)
    receipts = _receipt_keys(rows["key"])
    group = receipts.map(f.group).fillna("").astype("str")
    discount = receipts.map(f.discount).fillna(0).astype("int64")
    flags = rows["flags"].fillna("").astype("str")
    for mask, flag in ((group != "", Flag.PAYMENT_GROUP), (discount != 0, Flag.PAYMENT_DISCOUNT)):
        flags = flags.where(~mask, (flags + "," + flag).str.lstrip(","))
    rows["flags"] = flags
    rows[PAYMENT_KEY] = group
    with_discount = np.flatnonzero((discount != 0).to_numpy()).tolist()
    if not with_discount:
        return
    taken_of, keys = discount.tolist(), receipts.tolist()
    amounts = rows["amount_minor"].astype("int64").tolist()
    details = rows["match_details"].fillna("").astype("str").tolist()
    invoices = rows["appliesToInvoiceNumber"].fillna("").astype("str").tolist()
    for i in with_discount:
        k, taken = keys[i], int(taken_of[i])
        amounts[i] = f.paid[k]
        words = (
            f"discount {money(taken)} taken: the line pays {money(-f.paid[k])} of {invoices[i] or 'the invoice'}'s "
            f"{money(taken - f.paid[k])}; Business Central closes the invoice only if the payment is posted "
            f"within its payment discount date or payment tolerance, else {money(taken)} stays open"
        )
        details[i] = f"{details[i]}; {words}" if details[i] else words
    rows["amount_minor"] = pd.Series(amounts, index=rows.index, dtype="int64")
    rows["match_details"] = pd.Series(details, index=rows.index, dtype="str")


def _explain_review(review: pd.DataFrame, held: dict[str, tuple[str, str]], stopped: set[str], f: _Facts) -> None:
    """The reason and words of each row for a person: its own, its payment's, or "waits with it"."""
    money = _money(f.decimals)
    own_of_group: dict[str, list[str]] = {}
    for k, (code, _words) in held.items():
        if f.group.get(k):
            own_of_group.setdefault(f.group[k], []).append(f"row {f.row[k]}: {code}")
    size = Counter(g for g in f.group.values() if g in stopped)
    keys = review["key"].astype("str").tolist()
    amounts = review["amount_minor"].astype("int64").tolist()
    codes = review["reason_code"].fillna("").astype("str").tolist()
    messages = review["message"].fillna("").astype("str").tolist()
    for i, key in enumerate(keys):
        discount = f.discount.get(key, 0)
        if discount:
            amounts[i] = f.paid[key]
        group = f.group.get(key, "")
        code, words = held.get(key, (codes[i], messages[i]))
        if group in stopped and f.code[key]:
            code, words = f.code[key], f.note[key]
        elif group in stopped and key not in held:
            others = "; ".join(own_of_group.get(group, []))
            code = Review.PAYMENT_HELD
            words = (
                f"{f.label[key]}: another line of this payment needs a person ({others}); its "
                f"{size[group]} lines are posted together or not at all"
            )
        elif group in stopped:
            words = f"{words}; the other lines of {f.label[key]} wait with it (posted together or not at all)"
        if discount:
            words = f"discount {money(discount)} taken, {money(-f.paid[key])} paid: {words}"
        codes[i], messages[i] = code, words
    review["amount_minor"] = pd.Series(amounts, index=review.index, dtype="int64")
    review["reason_code"] = pd.Series(codes, index=review.index, dtype="str")
    review["message"] = pd.Series(messages, index=review.index, dtype="str")


__all__ = ["DISCOUNT", "PAYMENT_KEY", "PAYMENT_LABEL", "mark_payments", "resolve_payments"]
