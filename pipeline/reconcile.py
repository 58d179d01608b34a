"""Proof of what a run did: BC's journal compared with the plan, and every input line accounted for.

Two questions, answered without I/O (the poster reads BC back; this module only compares):

* Does BC hold exactly what we planned? ``compare_with_bc`` matches BC's customerPayments to the
  plan by ``lineNumber`` (the journal's primary key, which we choose and send explicitly) and lists
  every difference as a *discrepancy*: a planned line BC does not have (``missing_in_bc``), a line
  BC has that we did not plan (``not_planned``), a field that differs (``field_mismatch``), and a
  payment BC holds twice (``duplicate_in_bc``: a second line with the content of a planned line that
  is also present at its own lineNumber, or two lines with one lineNumber in the list read back).
  Amounts are compared exactly in minor units; Code fields upper-cased, because BC upper-cases them
  when it stores them and an equal value must not look like a difference.

* Did every physical input line end in exactly one state? ``account`` counts the run's lines per
  state with exact totals (Python ``int`` sums of minor units, shown as ``Decimal``; one total per
  currency, since one run can carry several) and refuses a frame where ``lines read`` differs from
  the sum of the states or where a (source_file, source_row) appears twice: a silent drop or a
  double count is a bug, never a report.

Totals keep BC's sign: receipts are negative, as in the journal, so a total can be checked against
the journal in BC without flipping anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd

from pipeline.money import decimal_to_minor, minor_text, minor_to_decimal
from schemas.codes import STATE_LABELS, STATES, Discrepancy
from schemas.lines import DISCREPANCY_COLUMNS, conform_discrepancies, iso_dates

DISCREPANCY_KINDS: tuple[str, ...] = tuple(k.value for k in Discrepancy)  # the order a report lists them in

# The fields of a customerPayment we send and can read back unchanged ("amount" is compared in
# minor units against the plan's amount_minor).
COMPARED_FIELDS = (
    "customerNumber",
    "appliesToInvoiceNumber",
    "amount",
    "postingDate",
    "documentNumber",
    "externalDocumentNumber",
)
_CODE_FIELDS = ("customerNumber", "appliesToInvoiceNumber", "documentNumber", "externalDocumentNumber")
_TEXT_FIELDS = (*_CODE_FIELDS, "postingDate")
_INT64_MAX = 2**63 - 1


# --- places per currency -----------------------------------------------------------------------------------


def decimals_for(currency: str, decimals: int | Mapping[str, int]) -> int:
    """Places of ``currency``: one number for every currency, or a mapping that must name it.

    A currency missing from the mapping is an error, not a default of 2: guessing the places would
    show a yen amount a hundred times too small.
    """
    if isinstance(decimals, int):
        return decimals
    if currency not in decimals:
        raise ValueError(f"no decimals known for currency {currency!r}; known: {sorted(decimals)}")
    return decimals[currency]


# --- the run's lines ---------------------------------------------------------------------------------------


def totals_by_state(lines: pd.DataFrame, decimals: int | Mapping[str, int]) -> dict[str, dict[str, Decimal]]:
    """Exact totals of ``amount_minor`` per state and currency (lines without an amount add nothing).

    Sums are Python ``int`` sums: an int64 sum of a million large amounts could overflow silently.
    """
    totals: dict[str, dict[str, Decimal]] = {s: {} for s in STATES}
    if lines.empty or "amount_minor" not in lines.columns:
        return totals
    amounts = lines["amount_minor"].astype("Int64")
    has = amounts.notna().to_numpy(dtype=bool)
    if not has.any():
        return totals
    currency = (
        lines["currency"].fillna("").astype("str") if "currency" in lines.columns else pd.Series("", index=lines.index)
    )
    frame = pd.DataFrame(
        {
            "state": lines["state"].astype("str").to_numpy()[has],
            "currency": currency.to_numpy()[has],
            "minor": amounts.to_numpy(dtype="int64", na_value=0)[has],
        }
    )
    for (state, cur), group in frame.groupby(["state", "currency"], sort=True):
        total = sum(group["minor"].tolist())
        totals.setdefault(str(state), {})[str(cur)] = minor_to_decimal(total, decimals_for(str(cur), decimals))
    return totals


def count_states(lines: pd.DataFrame) -> dict[str, int]:
    """Lines per state, every state present (0 when none); unknown states keep their own entry."""
    counts = dict.fromkeys(STATES, 0)
    if not lines.empty:
        for state, n in lines["state"].astype("str").value_counts(sort=False).items():
            counts[str(state)] = int(n)
    return counts


def identity_text(rows_read: int, counts: Mapping[str, int]) -> str:
    """``lines read = posted + already posted + skipped + rejected + needs review`` with the numbers."""
    terms = " + ".join(f"{STATE_LABELS[s]} {counts.get(s, 0)}" for s in STATES)
    return f"lines read {rows_read} = {terms}"


@dataclass(frozen=True)
class Accounting:
    """Counts and exact totals per state; built only when every line is accounted for once."""

    rows_read: int
    counts: Mapping[str, int]
    totals: Mapping[str, Mapping[str, Decimal]]

    @property
    def identity(self) -> str:
        return identity_text(self.rows_read, self.counts)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: amounts as exact decimal strings (``"-1234.50"``), never numbers."""
        return {
            "rows_read": self.rows_read,
            "counts": {s: self.counts.get(s, 0) for s in STATES},
            "totals": {s: {c: str(v) for c, v in self.totals.get(s, {}).items()} for s in STATES},
            "identity": self.identity,
        }


def account(lines: pd.DataFrame, rows_read: int, decimals: int | Mapping[str, int] = 2) -> Accounting:
    """Count the run's lines per state and prove nothing was dropped or counted twice.

    Raises ``AssertionError`` (explicitly, so ``python -O`` cannot skip it) naming the offending
    rows when a state is unknown, a (source_file, source_row) appears more than once, or
    ``rows_read`` differs from the sum of the states.
    """
    if not lines.empty:
        states = lines["state"].astype("str")
        unknown = ~states.isin(STATES)
        if unknown.any():
            raise AssertionError(f"lines in an unknown state: {_where(lines[unknown.to_numpy()])}")
        place = lines[["source_file", "source_row"]]
        twice = place.duplicated(keep=False).to_numpy()
        if twice.any():
            raise AssertionError(f"lines accounted for more than once: {_where(lines[twice])}")
    counts = count_states(lines)
    accounted = sum(counts.values())
    if accounted != rows_read:
        raise AssertionError(
            f"{identity_text(rows_read, counts)} does not hold: {accounted} lines accounted for, {rows_read} read"
            + _per_file(lines)
        )
    return Accounting(rows_read, counts, totals_by_state(lines, decimals))


def _where(rows: pd.DataFrame, limit: int = 20) -> str:
    where = zip(rows["source_file"].tolist(), rows["source_row"].tolist(), rows["state"].tolist(), strict=True)
    shown = [f"{f} row {r} ({s})" for f, r, s in where]
    more = f" and {len(shown) - limit} more" if len(shown) > limit else ""
    return ", ".join(shown[:limit]) + more


def _per_file(lines: pd.DataFrame) -> str:
    if lines.empty:
        return "; no lines at all"
    per = lines.groupby("source_file", sort=True).size()
    return "; lines per file: " + ", ".join(f"{f} {n}" for f, n in per.items())


# --- BC compared with the plan -----------------------------------------------------------------------------


def compare_with_bc(plan: pd.DataFrame, bc_lines: Sequence[Mapping[str, Any]], decimals: int) -> pd.DataFrame:
    """Discrepancies between the planned lines and BC's customerPayments of the journal, by lineNumber.

    ``plan``: ``lineNumber, key, customerNumber, appliesToInvoiceNumber, amount_minor, postingDate
    (datetime or ISO text), documentNumber, externalDocumentNumber``: the lines that should be in
    BC. ``bc_lines``: the entities read back (amount as ``Decimal``). Returns a frame of
    ``DISCREPANCY_COLUMNS`` (empty when BC holds exactly the plan), ordered by lineNumber.
    """
    expected = _expected(plan, decimals)
    actual, repeated = _actual(bc_lines, decimals)
    present = set(actual["lineNumber"].tolist())
    found = [
        *_field_mismatches(expected.merge(actual, on="lineNumber", how="inner", suffixes=("_plan", "_bc"))),
        *_missing(expected[~expected["lineNumber"].isin(present)]),
        *_foreign(expected, actual, repeated, present),
    ]
    out = conform_discrepancies(pd.DataFrame(found, columns=list(DISCREPANCY_COLUMNS)))
    order = out["kind"].map({k: i for i, k in enumerate(DISCREPANCY_KINDS)})
    out = out.assign(_o=order).sort_values(["lineNumber", "_o"], kind="stable", na_position="last")
    return out.drop(columns="_o").reset_index(drop=True)


def as_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts with string keys (pandas' per-row types are too loose for typed code)."""
    return [{str(k): v for k, v in r.items()} for r in frame.to_dict("records")]


def _field_mismatches(both: pd.DataFrame) -> list[dict[str, Any]]:
    """One discrepancy per differing field of a line present in the plan and in BC."""
    found = []
    for field in COMPARED_FIELDS:
        if field == "amount":
            exp_minor, act_minor = both["amount_minor_plan"], both["amount_minor_bc"]
            differs = (act_minor.isna() | (exp_minor != act_minor).fillna(True)).to_numpy(dtype=bool)
        else:
            differs = (both[f"{field}_plan"] != both[f"{field}_bc"]).to_numpy(dtype=bool)
        for row in as_records(both[differs]):
            planned, held = str(row[f"{field}_plan"]), str(row[f"{field}_bc"])
            found.append(
                _discrepancy(
                    Discrepancy.FIELD_MISMATCH,
                    row["lineNumber"],
                    str(row["key"]),
                    str(row["bc_id"]),
                    field=field,
                    expected=planned,
                    actual=held,
                    message=f"line {row['lineNumber']} {field}: planned {planned or '(empty)'}, "
                    f"Business Central has {held or '(empty)'}",
                )
            )
    return found


def _missing(absent: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        _discrepancy(
            Discrepancy.MISSING_IN_BC,
            row["lineNumber"],
            str(row["key"]),
            "",
            message=f"line {row['lineNumber']} (key {row['key']}) was planned but is not in Business Central: "
            + _describe(row),
        )
        for row in as_records(absent)
    ]


def _foreign(
    expected: pd.DataFrame, actual: pd.DataFrame, repeated: pd.DataFrame, present: set[Any]
) -> list[dict[str, Any]]:
    """BC's lines at lineNumbers the plan does not use, and lines repeating a lineNumber.

    A line with the content of a planned line that BC also holds at its own number is the payment
    twice (``duplicate_in_bc``); with the content of a planned line missing at its number it is
    still ``not_planned``, but the message names the planned line it probably is.
    """
    by_content = {sig: (ln, key) for sig, ln, key in _signatures(expected)}
    planned = set(expected["lineNumber"].tolist())
    foreign = pd.concat([actual[~actual["lineNumber"].isin(planned)], repeated], ignore_index=True)
    found = []
    for (sig, _ln, _key), row in zip(_signatures(foreign), as_records(foreign), strict=True):
        match = by_content.get(sig)
        number, bc_id, described = row["lineNumber"], str(row["bc_id"]), _describe(row)
        if match is not None and match[0] in present:
            kind, key = Discrepancy.DUPLICATE_IN_BC, str(match[1])
            message = (
                f"Business Central holds line {_line_text(number)} with the same content as planned line "
                f"{match[0]} (key {key}): the payment is there twice ({described})"
            )
        elif row["repeat"]:
            kind, key = Discrepancy.DUPLICATE_IN_BC, ""
            message = f"Business Central returned lineNumber {_line_text(number)} twice (id {bc_id}: {described})"
        else:
            kind, key = Discrepancy.NOT_PLANNED, "" if match is None else str(match[1])
            message = f"Business Central holds line {_line_text(number)} that this run did not plan ({described})"
            if match is not None:
                message += f"; it has the content of planned line {match[0]} (key {key}), missing at its own lineNumber"
        found.append(_discrepancy(kind, number, key, bc_id, message=message))
    return found


def _describe(row: Mapping[str, Any]) -> str:
    return f"customer {row['customerNumber'] or '(none)'}, amount {row['amount']}, document {row['documentNumber']}"


def _discrepancy(
    kind: str,
    line_number: Any,
    key: str,
    bc_id: str,
    *,
    message: str,
    field: str = "",
    expected: str = "",
    actual: str = "",
) -> dict[str, Any]:
    return {
        "kind": kind,
        "lineNumber": None if pd.isna(line_number) else int(line_number),
        "key": key,
        "field": field,
        "expected": expected,
        "actual": actual,
        "bc_id": bc_id,
        "message": message,
    }


def _line_text(line_number: Any) -> str:
    return "(no lineNumber)" if pd.isna(line_number) else str(int(line_number))


def _expected(plan: pd.DataFrame, decimals: int) -> pd.DataFrame:
    """The plan as comparable text (Code fields upper-cased, dates ISO) plus exact minor amounts."""
    if plan["lineNumber"].isna().any():
        raise ValueError("every planned line needs a lineNumber")
    numbers = plan["lineNumber"].astype("int64")
    if numbers.duplicated().any():
        raise ValueError(f"lineNumbers planned twice: {sorted(set(numbers[numbers.duplicated()].tolist()))}")
    minor = plan["amount_minor"].astype("Int64")
    frame = pd.DataFrame(
        {
            "lineNumber": numbers.to_numpy(),
            "key": plan["key"].fillna("").astype("str").to_numpy(),
            "amount_minor": minor.to_numpy(),
            "amount": [_money(v, decimals) for v in minor.tolist()],
        }
    )
    for name in _CODE_FIELDS:
        frame[name] = plan[name].fillna("").astype("str").str.upper().to_numpy()
    frame["postingDate"] = iso_dates(plan["postingDate"]).to_numpy()
    frame["amount_minor"] = frame["amount_minor"].astype("Int64")
    return frame


def _actual(bc_lines: Sequence[Mapping[str, Any]], decimals: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """BC's lines as comparable columns; the second frame holds later lines that repeat a lineNumber."""
    numbers: list[int | None] = []
    minors: list[int | None] = []
    amounts: list[str] = []
    ids: list[str] = []
    text: dict[str, list[str]] = {name: [] for name in _TEXT_FIELDS}
    for line in bc_lines:
        number = line.get("lineNumber")
        numbers.append(None if number is None else int(number))
        amount = line.get("amount", 0)
        minor = decimal_to_minor(amount if amount is not None else 0, decimals)
        if minor is not None and abs(minor) > _INT64_MAX:
            minor = None
        minors.append(minor)
        amounts.append(_money(minor, decimals) if minor is not None else str(amount))
        ids.append(str(line.get("id") or ""))
        for name in _CODE_FIELDS:
            text[name].append(str(line.get(name) or "").upper())
        text["postingDate"].append(str(line.get("postingDate") or "")[:10])
    frame = pd.DataFrame(
        {
            "lineNumber": pd.array(numbers, dtype="Int64"),
            "bc_id": pd.Series(ids, dtype="str"),
            "amount_minor": pd.array(minors, dtype="Int64"),
            "amount": pd.Series(amounts, dtype="str"),
            **{name: pd.Series(values, dtype="str") for name, values in text.items()},
        }
    )
    repeat = frame["lineNumber"].notna() & frame["lineNumber"].duplicated(keep="first")
    first = frame[~repeat].assign(repeat=False)
    return first.reset_index(drop=True), frame[repeat].assign(repeat=True).reset_index(drop=True)


def _signatures(frame: pd.DataFrame) -> list[tuple[tuple[Any, ...], Any, str]]:
    """(content, lineNumber, key) per line: the content is what identifies a payment apart from its number."""
    keys = frame["key"].tolist() if "key" in frame.columns else [""] * len(frame)
    content = zip(
        *(frame[name].tolist() for name in _TEXT_FIELDS),
        frame["amount_minor"].astype("object").where(frame["amount_minor"].notna(), None).tolist(),
        strict=True,
    )
    return [(tuple(c), ln, k) for c, ln, k in zip(content, frame["lineNumber"].tolist(), keys, strict=True)]


def _money(minor: Any, decimals: int) -> str:
    """Exact text of a nullable minor amount; "" where there is none."""
    return "" if minor is None or minor is pd.NA else minor_text(int(minor), decimals)


__all__ = [
    "COMPARED_FIELDS",
    "DISCREPANCY_KINDS",
    "Accounting",
    "account",
    "compare_with_bc",
    "count_states",
    "decimals_for",
    "identity_text",
    "totals_by_state",
]
