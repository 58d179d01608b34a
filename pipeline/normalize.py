"""Statement receipts -> canonical customerPayment rows, ready for the poster.

BC's conventions are applied here and nowhere else: a receipt is a negative amount,
Code fields are upper-case, API-made journals have no number series (so documentNumber is
always sent), and lineNumbers are explicit (start + 10000 * k in file order). Values too
long for a Code field are rejected, never cut; free text (description, comment) is cut
to its Text[n] limit, because nothing downstream keys on it.
"""

from __future__ import annotations

import functools
import hashlib
import string
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import PurePath

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.compute as pc

from pipeline.config import TEMPLATE_FIELDS, Profile
from pipeline.frames import keep_rows
from pipeline.linenumbers import number_after
from pipeline.money import money_text
from pipeline.readers import SOURCE_ROW
from pipeline.textops import as_series, concat, squeeze_spaces, to_arrow
from schemas.checks import Failure, has_duplicates, row_failures, rows_that_may_fail
from schemas.codes import Reject
from schemas.issues import RowIssue
from schemas.payment import CODE_FIELDS, LIMITS, CustomerPayment

PAYMENT_COLUMNS = (
    "lineNumber",
    "postingDate",
    "documentNumber",
    "externalDocumentNumber",
    "customerNumber",
    "appliesToInvoiceNumber",
    "invoiceCandidates",
    "amount_minor",
    "currency",
    "description",
    "comment",
    "key",
    "source_file",
    "source_row",
    "payer_name",
    "reference",
    "payer_account",
)


_MATCHING_ONLY = ("payer_name", "reference", "payer_account")
"""Columns read by cash application (``pipeline.matching``), not part of the customerPayment."""


@dataclass
class Payments:
    """customerPayment rows (one per valid receipt) and the receipts refused by BC's limits."""

    rows: pd.DataFrame
    decimals: int
    issues: list[RowIssue] = field(default_factory=list)


def render_template(template: str, frame: pd.DataFrame, extra: dict[str, pd.Series]) -> pd.Series:
    """A ``str.format``-style template over whole columns at once (no per-row Python)."""
    parts: list[pd.Series | str] = []
    for literal, name, spec, _conv in string.Formatter().parse(template):
        if literal:
            parts.append(literal)
        if name is None:
            continue
        if name not in TEMPLATE_FIELDS:
            raise ValueError(f"unknown template field {{{name}}}; use one of {sorted(TEMPLATE_FIELDS)}")
        parts.append(_render_field(name, spec or "", frame, extra))
    if len(parts) == 1 and isinstance(parts[0], pd.Series) and parts[0].index.equals(frame.index):
        return parts[0]  # a template of one field is that field (no copy of a million texts)
    return concat(*parts, index=frame.index) if parts else pd.Series("", index=frame.index, dtype="str")


def _render_field(name: str, spec: str, frame: pd.DataFrame, extra: dict[str, pd.Series]) -> pd.Series:
    if name == "date":
        return format_dates(frame["posting_date"], spec or "%Y-%m-%d")
    values = extra[name] if name in extra else frame[name]
    if pd.api.types.is_integer_dtype(values.dtype):
        if spec and spec.endswith("d") and spec[:-1].lstrip("0").isdigit() and spec.startswith("0"):
            padded = _padded(values.to_numpy(dtype="int64"), int(spec[:-1]))
            return as_series(padded, values.index)
        if spec:
            return values.map(lambda v: format(int(v), spec)).astype("str")
        return values.astype("int64").astype("str")
    values = values.fillna("").astype("str")
    if spec:
        return values.map(lambda v: format(v, spec)).astype("str")
    return pd.Series(values, dtype="str")


def format_dates(dates: pd.Series, fmt: str) -> pd.Series:
    """strftime over a whole column: a statement has few distinct dates, so format each once."""
    values = dates.to_numpy(dtype="datetime64[D]")
    if len(values) == 0:
        return pd.Series([], index=dates.index, dtype="str")
    unique, inverse = np.unique(values, return_inverse=True)
    texts = pyarrow.array([d.item().strftime(fmt) if not np.isnat(d) else "" for d in unique], pyarrow.string())
    return as_series(texts.take(pyarrow.array(inverse)), dates.index)


def _padded(values: np.ndarray, width: int) -> pyarrow.Array:
    return pc.utf8_lpad(pc.cast(pyarrow.array(values), pyarrow.string()), width, "0")


def idempotency_keys(frame: pd.DataFrame, namespace: str, decimals: int) -> pd.Series:
    """Stable key per receipt: the bank transaction id, else a content hash + occurrence number.

    The occurrence number tells apart identical rows in one file (two equal payments on one day)
    while keeping the same key for the same row in an overlapping statement.
    """
    txid = frame["transaction_id"].fillna("").astype("str")
    # "#" marks the occurrence number, so a "#" inside an id is doubled: ids X#2 and X (2nd) stay apart.
    if pc.any(pc.match_substring(to_arrow(txid), "#")).as_py():
        txid = txid.str.replace("#", "##", regex=False)
    has_tx = txid != ""
    every = bool(has_tx.all())
    keys = pd.Series("", index=frame.index, dtype="str")
    if has_tx.any():
        tx = txid if every else txid[has_tx]  # (no copy of the ids when every receipt has one)
        if has_duplicates(tx):
            occ = tx.groupby(tx).cumcount() + 1
            suffix = ("#" + occ.astype("str")).where(occ > 1, "")
            made = concat(namespace + ":tx:", tx, suffix, index=tx.index)
        else:
            made = concat(namespace + ":tx:", tx, index=tx.index)
        if every:
            return made
        keys[has_tx] = made
    if (~has_tx).any():
        sub = frame[~has_tx]
        parts: list[pd.Series | str] = [
            format_dates(sub["posting_date"], "%Y-%m-%d"),
            money_text(sub["amount_minor"], decimals),
        ]
        parts += [sub[c] for c in ("currency", "payer_name", "reference", "customer_number", "invoice_number")]
        escaped = [_escape(p) for p in parts]  # "a|" + "b" must not hash like "a" + "|b"
        ident = concat(*[x for p in escaped for x in (p, "|")][:-1], index=sub.index)
        digest = pd.Series(
            [hashlib.sha256(v.encode("utf-8")).hexdigest()[:24] for v in ident.tolist()], index=sub.index, dtype="str"
        )
        occ = digest.groupby(digest).cumcount() + 1
        keys[~has_tx] = concat(namespace + ":h:", digest, ":", occ.astype("int64").astype("str"), index=sub.index)
    return keys


def _escape(text: pd.Series | str) -> pd.Series | str:
    if isinstance(text, str):
        return text
    return text.str.replace("\\", "\\\\", regex=False).str.replace("|", "\\|", regex=False)


def normalize(receipts: pd.DataFrame, profile: Profile, file: str, *, start: int = 0) -> Payments:
    """Build customerPayment rows; reject receipts whose Code fields exceed BC's limits."""
    decimals = profile.decimals
    frame = receipts.reset_index(drop=True)
    seq = pd.Series(np.arange(1, len(frame) + 1), dtype="int64")
    extra = {
        "seq": seq,
        "date": frame["posting_date"],
        "source_row": frame[SOURCE_ROW].astype("int64"),
    }
    templates = (
        profile.document_number.template,
        profile.external_document_number,
        profile.description,
        profile.comment,
    )
    if any("{file_stem" in t for t in templates):
        extra["file_stem"] = pd.Series(PurePath(file).stem, index=frame.index, dtype="str")
    if any("{amount" in t for t in templates):
        extra["amount"] = money_text(frame["amount_minor"].astype("int64"), decimals)
    if profile.columns.document_number is not None:
        doc = frame["document_number"].astype("str")
    else:
        doc = render_template(profile.document_number.template, frame, extra)
    # The key (hashing, duplicate search) is independent of the text fields: build it alongside.
    with ThreadPoolExecutor(max_workers=1) as pool:
        keys = pool.submit(idempotency_keys, frame, profile.key_namespace or profile.name, decimals)
        texts = {
            "description": _cut(render_template(profile.description, frame, extra), LIMITS["description"]),
            "comment": _cut(render_template(profile.comment, frame, extra), LIMITS["comment"]),
        }
        key = keys.result()
    rows = pd.DataFrame(
        {
            "lineNumber": number_after(start, len(frame)),
            "postingDate": frame["posting_date"].astype("datetime64[s]"),
            "documentNumber": _upper(doc),
            "externalDocumentNumber": _upper(render_template(profile.external_document_number, frame, extra)),
            "customerNumber": _upper(frame["customer_number"].astype("str")),
            "appliesToInvoiceNumber": _upper(frame["invoice_number"].astype("str")),
            "invoiceCandidates": _upper(frame.get("invoice_candidates", frame["invoice_number"]).astype("str")),
            "amount_minor": -frame["amount_minor"].astype("int64"),
            "currency": frame["currency"].astype("str"),
            "description": texts["description"],
            "comment": texts["comment"],
            "key": key,
            "source_file": pd.Series(file, index=frame.index, dtype="str"),
            "source_row": frame[SOURCE_ROW].astype("int64"),
            # what cash application reads (payer name, free text); never sent to BC
            "payer_name": frame["payer_name"].fillna("").astype("str"),
            "reference": frame["reference"].fillna("").astype("str"),
            "payer_account": frame["payer_account"].fillna("").astype("str")
            if "payer_account" in frame.columns
            else pd.Series("", index=frame.index, dtype="str"),
        }
    )
    issues = _limit_issues(rows, file)
    if issues:
        # lineNumbers run on without gaps; {seq} keeps the receipt's number in the file, so a
        # document number does not change when a person fixes a neighbouring row.
        bad = {i.source_row for i in issues}
        rows = keep_rows(rows, ~rows["source_row"].isin(bad).to_numpy())
        rows["lineNumber"] = number_after(start, len(rows))
    return Payments(rows[list(PAYMENT_COLUMNS)], decimals, issues)


def _upper(text: pd.Series) -> pd.Series:
    """The column upper-cased (BC's Code fields), or the column itself when it already is: a
    statement's customer and invoice numbers and bank ids mostly are, and a second copy of each
    beside the receipts' own was part of the peak memory of a large file."""
    arr = pyarrow.array(text, from_pandas=True)
    if pc.all(pc.equal(arr, pc.utf8_upper(arr))).as_py() is not False:
        return text
    return text.str.upper()


def _cut(text: pd.Series, limit: int) -> pd.Series:
    squeezed = squeeze_spaces(text)
    arr = pyarrow.array(squeezed, from_pandas=True)
    # a text of at most ``limit`` bytes has at most ``limit`` characters: count them only when not
    longest = pc.max(pc.binary_length(arr)).as_py()
    if (longest or 0) > limit:
        longest = pc.max(pc.utf8_length(arr)).as_py()
    return squeezed.str.slice(0, limit) if (longest or 0) > limit else squeezed


_FIELD_LABEL = {
    "documentNumber": "documentNumber (Code[20])",
    "externalDocumentNumber": "externalDocumentNumber (Code[35])",
    "customerNumber": "customerNumber (Code[20])",
    "appliesToInvoiceNumber": "appliesToInvoiceNumber (Code[20])",
}


def _limit_issues(rows: pd.DataFrame, file: str) -> list[RowIssue]:
    """Validate against the CustomerPayment schema lazily; map failures to row issues.

    pandera sees only the rows a check could fail (``rows_that_may_fail``); the frame's columns
    and dtypes are still checked when none could, on no rows at all.
    """
    if rows.empty:
        return []
    frame = rows.drop(columns=list(_MATCHING_ONLY))
    schema = _payment_schema()
    suspects = rows_that_may_fail(frame, schema, _ROW_CHECKS)
    try:
        schema.validate(frame if suspects is None else frame.iloc[suspects], lazy=True)
    except pa.errors.SchemaErrors as exc:
        issues = []
        for f in row_failures(exc, frame_level="raise"):
            code, msg = _limit_reason(f)
            issues.append(RowIssue(file, int(str(rows.at[f.index, "source_row"])), f.column, f.value, str(code), msg))
        return issues
    return []


@functools.cache
def _payment_schema() -> pa.DataFrameSchema:
    """CustomerPayment without its key-uniqueness check: ``idempotency_keys`` makes every key of a
    file unique by construction (an occurrence number on a repeated transaction id or content hash,
    a doubled "#" inside an id, ``:tx:`` and ``:h:`` apart), and a second hash pass over every key
    cost as much as building them."""
    schema = CustomerPayment.to_schema()
    key = schema.columns["key"]
    return schema.update_column("key", checks=[c for c in key.checks if c.name != "unique"])


def _increasing(s: pd.Series) -> np.ndarray:
    """Every row, when lineNumber is not strictly increasing (the check compares neighbours)."""
    values = s.to_numpy()
    return np.full(len(values), bool(len(values) > 1 and not (np.diff(values) > 0).all()))


def _never(s: pd.Series) -> np.ndarray:
    """No row: every Code field is built by ``_upper``, and upper-casing twice changes nothing
    (pyarrow's ``utf8_upper`` maps code point by code point, and is idempotent on each of them;
    tests/test_normalize.py checks all 1,112,064), so ``upper_case`` cannot fail here."""
    return np.zeros(len(s), dtype=bool)


_ROW_CHECKS = {"increasing_in_file_order": _increasing, "upper_case": _never}


def _limit_reason(f: Failure) -> tuple[Reject, str]:
    """Reason code and message of one failed value of the CustomerPayment schema."""
    column, value = f.column, f.value
    limit = LIMITS.get(column)
    if not (f.check.startswith("str_length") and limit is not None):
        return Reject.INVALID_VALUE, f"{column}: {value!r} fails {f.check}"
    if len(value) > limit:
        label = _FIELD_LABEL.get(column, column)
        return Reject.TOO_LONG, f"{label}: {value!r} is {len(value)} characters; Business Central allows {limit}"
    return Reject.INVALID_VALUE, f"{column}: must not be empty"


__all__ = ["CODE_FIELDS", "PAYMENT_COLUMNS", "Payments", "normalize"]
