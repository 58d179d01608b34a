"""The lines of one check in the review loop: decided together, carried out together, or not at all.

A check (a lockbox or remittance payment, ``pipeline.remittance``) goes to a person whole: when any
of its lines needs a decision, every line waits. The person then decides line by line in the
decisions workbook, but the lines are still one payment: one ``documentNumber``, posted whole or
not at all. So:

* ``hold_undecided_checks``: a decided line whose check still has a line waiting for a decision is
  not carried out; it stays decided and is reported with the lines still undecided, so the person
  sees what is missing. Once every line has a decision that posts or skips it, the check is carried
  out in one run.
* ``hold_refused_checks``: when the checks refuse the decision of one line (an invoice of another
  customer, more than the open amount ...), the check's other lines are not posted either: they
  stay decided and wait for the refused line to be decided again.
* ``with_checks``: the rows carried out keep their check's ``payment_key``, so the planner gives
  every line the check's one document number (``pipeline.post.plan.unique_document_numbers``)
  instead of a ``/2``, ``/3`` per line.

Each line keeps its own exactly-once key throughout: a re-drop of the workbook or of the file finds
the posted lines in the ledger and sends nothing again.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

import pandas as pd

from pipeline.ledger import Ledger, ReviewRecord
from pipeline.lines import payment_lines, receipt_key
from pipeline.remittance import PAYMENT_KEY, PAYMENT_LABEL
from schemas.codes import Review


def check_of(record: ReviewRecord) -> str:
    """The check a held row belongs to (its first line's key), "" for a row on its own."""
    return str(record.row.get(PAYMENT_KEY) or "")


def label_of(record: ReviewRecord) -> str:
    """The check as people name it ("Check No 10442"), or a neutral word when the row lacks it."""
    return str(record.row.get(PAYMENT_LABEL) or "this payment")


def lines_of_checks(ledger: Ledger, scope: str, checks: set[str]) -> dict[str, list[ReviewRecord]]:
    """Every line still held (waiting or decided) of each of these checks, in the ledger's order."""
    out: dict[str, list[ReviewRecord]] = {}
    if not checks:
        return out
    for record in ledger.reviews(scope, states=("waiting", "decided")).values():
        check = check_of(record)
        if check in checks:
            out.setdefault(check, []).append(record)
    return out


def mark_checks(decided: pd.DataFrame, held: Mapping[str, ReviewRecord]) -> pd.DataFrame:
    """The decided rows with their check's key and name, as the ledger kept them when they were held."""
    out = decided.copy()
    out[PAYMENT_KEY] = pd.Series([check_of(held[k]) for k in out["key"]], index=out.index, dtype="str")
    out[PAYMENT_LABEL] = pd.Series([label_of(held[k]) for k in out["key"]], index=out.index, dtype="str")
    return out


def hold_undecided_checks(
    decided: pd.DataFrame, members: Mapping[str, list[ReviewRecord]], describe: Mapping[str, str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(decided rows to carry out, needs-review lines of decided rows whose check still has a line
    without a decision). ``members``: the held lines of each check; ``describe``: each decided row's
    decision in the workbook's words."""
    if decided.empty or PAYMENT_KEY not in decided.columns:
        return decided, payment_lines(decided.iloc[0:0], "needs_review")
    undecided = {check: [r for r in records if r.state == "waiting"] for check, records in members.items() if check}
    checks = decided[PAYMENT_KEY].astype("str")
    waits = checks.map(lambda c: bool(undecided.get(c))).astype("bool").to_numpy()
    held = decided[waits].copy()
    if not held.empty:
        held["reason_code"] = str(Review.PAYMENT_HELD)
        held["message"] = [
            _still_undecided(str(k), members[str(c)], undecided[str(c)], describe.get(str(k), ""))
            for k, c in zip(held["key"], held[PAYMENT_KEY], strict=True)
        ]
        held["lineNumber"] = pd.NA
    return decided[~waits].reset_index(drop=True), payment_lines(held, "needs_review")


def _still_undecided(key: str, members: list[ReviewRecord], undecided: list[ReviewRecord], decision: str) -> str:
    label = next((label_of(r) for r in members if r.key == key), "this payment")
    rows = "; ".join(_where(r) for r in undecided)
    return (
        f"decided ({decision}), not carried out yet: {label} is posted only when each of its {len(members)} "
        f"lines is decided; still undecided: {rows}"
    )


def _where(record: ReviewRecord) -> str:
    invoice = str(record.row.get("appliesToInvoiceNumber") or "")
    return f"{PurePath(record.source_file).name} row {record.source_row}" + (f" ({invoice})" if invoice else "")


def hold_refused_checks(
    decided: pd.DataFrame, rows: pd.DataFrame, skip: pd.DataFrame, refused: Mapping[str, str]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(rows to post, rows skipped, needs-review lines): the other lines of a check with a refused
    decision leave both the rows to post and the skipped rows; they stay decided and wait with it."""
    if decided.empty or PAYMENT_KEY not in decided.columns or not refused:
        return rows, skip, payment_lines(decided.iloc[0:0], "needs_review")
    check_of_key = _checks_by_key(decided)
    stopped: dict[str, list[str]] = {}
    for key in refused:
        if check_of_key.get(key):
            stopped.setdefault(check_of_key[key], []).append(key)
    if not stopped:
        return rows, skip, payment_lines(decided.iloc[0:0], "needs_review")
    files = decided["source_file"].astype("str").map(lambda f: PurePath(f).name)
    numbers = decided["source_row"].astype("int64")
    place = dict(zip(decided["key"].astype("str"), zip(files, numbers, strict=True), strict=True))

    def waits(keys: pd.Series) -> Any:
        return keys.astype("str").map(receipt_key).map(lambda k: check_of_key.get(k, "") in stopped).to_numpy()

    held = decided[waits(decided["key"]) & ~decided["key"].isin(refused).to_numpy()].copy()
    if not held.empty:
        held["reason_code"] = str(Review.PAYMENT_HELD)
        held["message"] = [
            f"decided, not carried out: the decision for "
            f"{'; '.join(f'{place[k][0]} row {place[k][1]}' for k in stopped[str(c)])} of {label} was refused, and "
            "the lines of one check are posted together or not at all"
            for c, label in zip(held[PAYMENT_KEY], held[PAYMENT_LABEL], strict=True)
        ]
        held["lineNumber"] = pd.NA
    rows = rows[~waits(rows["key"])] if not rows.empty else rows
    skip = skip[~waits(skip["key"])] if not skip.empty else skip
    return rows, skip, payment_lines(held, "needs_review")


def with_checks(rows: pd.DataFrame, decided: pd.DataFrame) -> pd.DataFrame:
    """The rows to post (a split's lines too) with their check's key, so they share its document number."""
    if rows.empty or PAYMENT_KEY not in decided.columns:
        return rows
    check_of_key = _checks_by_key(decided)
    out = rows.copy()
    out[PAYMENT_KEY] = out["key"].astype("str").map(receipt_key).map(check_of_key).fillna("").astype("str")
    return out


def _checks_by_key(decided: pd.DataFrame) -> dict[str, str]:
    keys = decided["key"].astype("str").tolist()
    checks = decided[PAYMENT_KEY].fillna("").astype("str").tolist()
    return dict(zip(keys, checks, strict=True))


__all__ = ["check_of", "hold_refused_checks", "hold_undecided_checks", "label_of", "lines_of_checks", "with_checks"]
