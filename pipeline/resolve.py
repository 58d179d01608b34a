"""Which customer and which open invoice each payment applies to, decided before anything is sent.

BC checks little at insert time: an ``appliesToInvoiceNumber`` that is not a posted invoice is
accepted silently and only fails when the journal is posted (bc-api.md 4, pitfall 9), and a
payment applied to another customer's invoice fails at posting too. Posting is all-or-nothing per
journal, so one such row would hold up a whole run. This module therefore decides every row
locally, from what the poster fetched once per run (``customers`` and the ``status eq 'Open'``
``salesInvoices``), and sends a row to a person (``Resolution.review``) rather than guess.

Rules, checked in this order; the first that fails gives the row's ``reason_code``:

1. **Customer named in the file.** Unknown number -> ``customer_unknown``. ``blocked = All``
   -> ``customer_blocked`` (BC refuses the line at insert). ``Invoice`` blocking does not stop a
   payment line in BC, so the row is posted with the flag ``customer_blocked_invoice`` (the poster
   must not make it the first line of an empty journal: BC validates the customer before the
   document type is set there and refuses it, bc-api.md 1.3 step 6). ``Ship`` and blank
   (``""``, ``"_x0020_"``) are not blocking. An unknown ``blocked`` value is treated as ``All``.
2. **Invoice numbers.** ``invoiceCandidates`` lists every invoice number the row names (the first
   is ``appliesToInvoiceNumber``; when the column is empty, ``appliesToInvoiceNumber`` alone is the
   candidate). Only *open* invoices count (``status`` Open; the list may hold others, they are
   ignored), and of those only the ones billed to the row's customer when the file names one:
   - exactly one left -> the row applies to it (``one_open_of_several`` when the row named more);
   - several left -> ``several_invoices`` (a person splits the payment);
   - none, but open invoices of *other* customers were named -> ``customer_mismatch`` (BC applies a
     payment only to an invoice of the customer it is booked on: the invoice's **bill-to**);
   - none at all -> ``invoice_not_open`` when the customer is known (the number is paid, cancelled
     or unknown: the open list cannot tell which), or ``customer_missing`` when the file names no
     customer. Policy ``unknown_invoice = post_unapplied`` posts such a row unapplied instead, with
     ``appliesToInvoiceNumber`` blanked (else BC fails at posting) and the flag ``invoice_not_open``;
     ``invoiceCandidates`` keeps what the file said.
   A number BC lists twice among open invoices is ambiguous -> ``several_invoices``.
   No invoice number and no customer -> ``customer_missing``.
3. **Customer from the invoice.** When the file names no customer, the invoice's bill-to customer
   (its sell-to when bill-to is blank) is filled in (flag ``customer_from_invoice``), as BC would do,
   and checked as in 1.
4. **Currency.** The row's currency must equal the customer's (BC books a payment in the currency of
   the customer card) and the invoice's (an application needs one currency). ``""`` means the
   company's local currency ``lcy`` for customers and invoices alike -> else
   ``customer_currency_mismatch``.
5. **Amount**, exact in minor units: ``remainingAmount * 10**decimals`` is compared with the running
   total of the run's payments to that invoice, in ``lineNumber`` order: every earlier row that got
   this far counts, even if it ends in review (a person may still post it; counting too much sends a
   row to review, counting too little would post an over-payment unseen). Equal -> ``exact``;
   less -> ``partial``; more -> ``over``. A ``remainingAmount`` finer than the currency's minor unit
   (say 100.005 with 2 decimals) is never equal: it is compared exactly as a Decimal. Policies
   ``partial_payment`` / ``over_payment`` either post (flags ``partial_payment`` / ``over_payment``)
   or send the row to review with that reason. Rows sharing an invoice get ``several_payments``.
6. **No invoice** (customer known, none named): ``application = unapplied``; policy ``unapplied``
   posts it or sends it to review (reason ``unapplied``).

Output: ``rows`` carry ``customerId``, ``appliesToInvoiceId`` (both "" when none), the resolved
``customerNumber`` and ``appliesToInvoiceNumber`` (the chosen invoice, "" when unapplied),
``application`` and ``flags`` (comma-separated ``schemas.codes.Flag`` values). ``review`` rows carry the same
columns, as far as resolution got (``application`` is "" unless the amount or the missing invoice
was the reason; the file's invoice number stays when no invoice was chosen), plus ``reason_code``,
``message`` (for finance staff: customer, invoice, amounts with currency) and ``candidates`` (the
invoices considered, e.g. ``RE-2026-0001 (C10000, open 120.00 EUR); RE-2026-0007 (not open)``).
``invoiceCandidates`` always keeps what the file said.

Not detectable here: BC's ``status eq 'Open'`` also lists released, unposted drafts. Their id is
refused by BC at insert (``appliesToInvoiceId`` is strict), so such a row ends as rejected by BC.
The poster should send ``appliesToInvoiceId`` (strict) rather than rely on the number alone.

Performance: lookups are hash joins (pyarrow ``index_in``) and the rules numpy over whole columns;
per-row Python runs only for rows naming several invoices and for the messages of rows in review
(``bench/resolve_bench.py``: 1M rows, 10k customers, 50k invoices).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.config import MatchingRules, Policies
from pipeline.lines import split_line_key
from pipeline.matching import Book, Decision, Receipt, build_book, decide, details_text
from pipeline.matching.decide import day_number
from pipeline.matching.memory import PayerMemory, account_key, name_key
from pipeline.money import decimal_text, decimal_to_minor, minor_text, minor_to_decimal, remaining_in_minor
from pipeline.normalize import PAYMENT_COLUMNS
from pipeline.textops import as_series, to_arrow
from schemas.codes import Application, Flag, Review

RESOLVED_COLUMNS: tuple[str, ...] = (
    *PAYMENT_COLUMNS,
    "customerId",
    "appliesToInvoiceId",
    "application",
    "flags",
    "match_details",
)
REVIEW_COLUMNS: tuple[str, ...] = (*RESOLVED_COLUMNS, "reason_code", "message", "candidates")


@dataclass(frozen=True, eq=False)
class Resolution:
    """``rows`` go to BC (``RESOLVED_COLUMNS``); ``review`` needs a person (``REVIEW_COLUMNS``).
    Every input row is in exactly one of them, in input order; a row split over several invoices is
    several consecutive lines of ``rows`` (keys ``pipeline.lines.split_line_key``)."""

    rows: pd.DataFrame
    review: pd.DataFrame


# Internal codes: small ints over whole columns, turned into text once at the end.
_REASONS: tuple[str, ...] = ("", *Review)
_R = {name: i for i, name in enumerate(_REASONS)}
_FLAG_NAMES: tuple[Flag, ...] = tuple(Flag)
_F = {name: 1 << i for i, name in enumerate(_FLAG_NAMES)}
_APPLICATIONS: tuple[str, ...] = ("", *Application)
_EXACT, _PARTIAL, _OVER, _UNAPPLIED = (
    _APPLICATIONS.index(a) for a in (Application.EXACT, Application.PARTIAL, Application.OVER, Application.UNAPPLIED)
)
_NONE, _SHIP, _INVOICE, _ALL = 0, 1, 2, 3
_BLOCKED = {"": _NONE, "_x0020_": _NONE, "ship": _SHIP, "invoice": _INVOICE, "all": _ALL}
_LIST_MAX = 5

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass
class _Customers:
    numbers: list[str]
    ids: list[str]
    names: list[str]
    blocked_raw: list[str]
    currency: list[str]
    blocked: npt.NDArray[np.int8]
    keys: pa.Array


@dataclass
class _Invoices:
    numbers: list[str]
    ids: list[str]
    bill_to: list[str]
    currency: list[str]
    remaining: list[Decimal]
    due: list[str]
    rem_floor: IntArray  # floor(remaining * 10**decimals)
    rem_whole: BoolArray  # remaining * 10**decimals is a whole number of minor units
    copies: IntArray  # how many open invoices BC lists under this number (> 1: ambiguous)
    customer: IntArray  # position of the bill-to customer in _Customers, -1 if not there
    keys: pa.Array
    position: dict[str, int]


def resolve(
    payments: pd.DataFrame,
    decimals: int,
    customers: Sequence[Mapping[str, Any]],
    invoices: Sequence[Mapping[str, Any]],
    lcy: str,
    policy: Policies | None = None,
    memory: PayerMemory | None = None,
    rules_of_file: Mapping[str, MatchingRules] | None = None,
) -> Resolution:
    """Decide customer, invoice and application of every payment (rules in the module docstring).
    ``memory`` is the ledger's payer memory; ``rules_of_file`` the matching rules of each source
    file whose profile overrides ``policy.matching`` (``MatchingRules.overridden``)."""
    policy = policy or Policies()
    memory = memory or PayerMemory()
    if not lcy.strip():
        raise ValueError("lcy: the company's local currency code is needed (BC writes it as a blank currency)")
    lcy = lcy.strip().upper()
    cust = _customer_table(customers, lcy)
    inv = _invoice_table(invoices, lcy, decimals, cust)
    frame = payments.reset_index(drop=True)
    for column in ("payer_name", "reference", "payer_account"):  # what cash application reads; "" when none
        if column not in frame.columns:
            frame[column] = pd.Series("", index=frame.index, dtype="str")
    w = _Work.of(frame, cust)
    _check_named_customer(w, cust)  # 1
    _choose_invoices(w, inv, policy)  # 2
    _customer_from_invoice(w, cust, inv)  # 3
    _memory_disagrees(w, frame, cust, memory, policy, rules_of_file or {})  # 3, the payer remembered as another
    _check_currency(w, cust, inv, lcy)  # 4
    applied = np.flatnonzero((w.reason == 0) & (w.chosen >= 0))  # 5
    if applied.size:
        _apply_amounts(applied, w, inv)
        _amount_policy(applied, w.application, w.reason, w.flags, policy)
    _no_invoice(w, policy)  # 6
    matched = match_by_evidence(frame, _MatchInput(w, cust, inv, decimals, memory), policy, rules_of_file or {})  # 7
    return _resolution(frame, w, cust, inv, decimals, matched)


@dataclass
class _Work:
    """The payments as columns and the decisions so far, one entry per row, shared by the rules."""

    given_no: pd.Series  # the customer number the file names ("" when none)
    candidates: pd.Series  # invoice numbers the row names, space-separated
    currency: pd.Series
    paid: IntArray  # positive minor units
    line: IntArray
    given: BoolArray
    c_idx: IntArray  # position of the customer in _Customers, -1 when none
    chosen: IntArray  # position of the invoice in _Invoices, -1 when none
    reason: npt.NDArray[np.int8]  # index into _REASONS; 0 while nothing is wrong
    flags: IntArray  # bits of _F
    application: npt.NDArray[np.int8]  # index into _APPLICATIONS
    before: IntArray  # paid to the same invoice by earlier rows of the run
    earlier: IntArray  # how many earlier rows of the run paid that invoice

    @classmethod
    def of(cls, frame: pd.DataFrame, cust: _Customers) -> _Work:
        n = len(frame)
        given_no = frame["customerNumber"].fillna("").astype("str")
        return cls(
            given_no=given_no,
            candidates=_candidate_text(frame),
            currency=frame["currency"].fillna("").astype("str").str.upper(),
            paid=-frame["amount_minor"].to_numpy(dtype=np.int64),
            line=frame["lineNumber"].to_numpy(dtype=np.int64),
            given=(given_no != "").to_numpy(dtype=bool),
            c_idx=_positions(given_no, cust.keys),
            chosen=np.full(n, -1, dtype=np.int64),
            reason=np.zeros(n, dtype=np.int8),
            flags=np.zeros(n, dtype=np.int64),
            application=np.zeros(n, dtype=np.int8),
            before=np.zeros(n, dtype=np.int64),
            earlier=np.zeros(n, dtype=np.int64),
        )


def _check_named_customer(w: _Work, cust: _Customers) -> None:
    """Rule 1: the customer the file names exists and is not blocked for all transactions."""
    w.reason[w.given & (w.c_idx < 0)] = _R[Review.CUSTOMER_UNKNOWN]
    _check_blocked(w.reason, w.flags, w.c_idx, w.given & (w.reason == 0), cust)


def _choose_invoices(w: _Work, inv: _Invoices, policy: Policies) -> None:
    """Rule 2: single candidates over whole columns, rows naming several one by one."""
    reason, flags, candidates = w.reason, w.flags, w.candidates
    has_cand = (candidates != "").to_numpy(dtype=bool)
    multi = candidates.str.contains(" ", regex=False).to_numpy(dtype=bool)
    chosen = _positions(candidates, inv.keys)
    chosen[multi | ~has_cand] = -1
    todo = reason == 0
    single = todo & has_cand & ~multi
    found = single & (chosen >= 0)
    reason[found & (_at(inv.copies, chosen, 0) > 1)] = _R[Review.SEVERAL_INVOICES]
    other = _at(inv.customer, chosen, -1) != w.c_idx  # positions, so no string compare
    reason[found & w.given & other & (reason == 0)] = _R[Review.CUSTOMER_MISMATCH]
    not_open = single & (chosen < 0)
    _not_open(reason, flags, not_open & w.given, policy)
    reason[(not_open | (todo & ~has_cand)) & ~w.given] = _R[Review.CUSTOMER_MISSING]
    several = np.flatnonzero(todo & multi)
    for i, text, number in zip(several, candidates.iloc[several], w.given_no.iloc[several], strict=True):
        pick, why = _pick(text.split(), number, inv)
        if pick >= 0:
            chosen[i] = pick
            flags[i] |= _F[Flag.ONE_OPEN_OF_SEVERAL]
        elif why != Review.INVOICE_NOT_OPEN:
            reason[i] = _R[why]
        elif not number:
            reason[i] = _R[Review.CUSTOMER_MISSING]
        elif policy.unknown_invoice == "post_unapplied":
            flags[i] |= _F[Flag.INVOICE_NOT_OPEN]
        else:
            reason[i] = _R[Review.INVOICE_NOT_OPEN]
    chosen[reason != 0] = -1  # no application was established for these rows
    w.chosen = chosen


def _customer_from_invoice(w: _Work, cust: _Customers, inv: _Invoices) -> None:
    """Rule 3: a row naming no customer gets its invoice's bill-to customer, checked as in rule 1."""
    fill = (w.reason == 0) & ~w.given & (w.chosen >= 0)
    w.c_idx[fill] = inv.customer[w.chosen[fill]]
    w.flags[fill] |= _F[Flag.CUSTOMER_FROM_INVOICE]
    w.reason[fill & (w.c_idx < 0)] = _R[Review.CUSTOMER_UNKNOWN]
    _check_blocked(w.reason, w.flags, w.c_idx, fill & (w.reason == 0), cust)


def _memory_disagrees(
    w: _Work,
    frame: pd.DataFrame,
    cust: _Customers,
    memory: PayerMemory,
    policy: Policies,
    rules_of_file: Mapping[str, MatchingRules],
) -> None:
    """A row whose customer came from the invoice it names, while the payer memory knows its account
    (or name) as another customer's, is not applied to that invoice: the matcher hears both and
    sends it to a person (``conflicting_evidence``). Today's bill-to rule would follow the invoice."""
    if not memory:
        return
    rows = np.flatnonzero((w.reason == 0) & ((w.flags & _F[Flag.CUSTOMER_FROM_INVOICE]) != 0))
    files = _text_of(frame, ("source_file",), rows) if rules_of_file else [""] * int(rows.size)
    used = {f: rules_of_file.get(f, policy.matching) for f in set(files)}
    on = np.array([used[f].enabled and used[f].uses("payer_memory") for f in files], dtype=bool)
    rows = rows[on] if rows.size else rows
    if not rows.size:
        return
    position = {number: k for k, number in enumerate(cust.numbers)}
    remembered = np.full(rows.size, -1, dtype=np.int64)
    for column, key_of, known in (
        ("payer_name", name_key, memory.names()),
        ("payer_account", account_key, memory.accounts()),  # an account outweighs a name: written last
    ):
        codes, uniques = pd.factorize(frame[column].iloc[rows].fillna("").astype("str"))
        said = np.array([position.get(known.get(key_of(u), ""), -1) for u in uniques.tolist()] + [-1], dtype=np.int64)
        found = said[codes]  # code -1 (missing) takes the appended -1
        remembered = np.where(found >= 0, found, remembered)
    other = rows[(remembered >= 0) & (remembered != w.c_idx[rows])]
    w.reason[other] = _R[Review.CUSTOMER_MISSING]  # the matcher decides these, as if no customer were known
    w.flags[other] &= ~_F[Flag.CUSTOMER_FROM_INVOICE]
    w.c_idx[other] = -1
    w.chosen[other] = -1


def _check_currency(w: _Work, cust: _Customers, inv: _Invoices, lcy: str) -> None:
    """Rule 4: the row's currency is the customer's and (when applied) the invoice's."""
    codes = sorted({lcy, *cust.currency, *inv.currency})
    code_of = {code: k for k, code in enumerate(codes)}
    row_cur = _positions(w.currency, pa.array(codes, pa.string()))
    cust_cur = _at(np.array([code_of[x] for x in cust.currency], dtype=np.int64), w.c_idx, -2)
    inv_cur = _at(np.array([code_of[x] for x in inv.currency], dtype=np.int64), w.chosen, -2)
    ok = (w.reason == 0) & (w.c_idx >= 0)
    bad_cur = ok & ((cust_cur != row_cur) | ((w.chosen >= 0) & (inv_cur != row_cur)))
    w.reason[bad_cur] = _R[Review.CUSTOMER_CURRENCY_MISMATCH]


def _no_invoice(w: _Work, policy: Policies) -> None:
    """Rule 6: a row left without an invoice is unapplied; the policy may send it to a person."""
    bare = (w.reason == 0) & (w.chosen < 0)
    w.application[bare] = _UNAPPLIED
    if policy.unapplied == "needs_review":
        w.reason[bare & ((w.flags & _F[Flag.INVOICE_NOT_OPEN]) == 0)] = _R[Review.UNAPPLIED]  # that policy said post


def _resolution(
    frame: pd.DataFrame, w: _Work, cust: _Customers, inv: _Invoices, decimals: int, matched: Matched
) -> Resolution:
    """The rows to post and the rows for a person, with the reason and message of each of those."""
    out = _assemble(frame, cust, inv, w)
    out["match_details"] = _plain_details(out, w, matched)
    review_at = np.flatnonzero(w.reason != 0)
    rows = _expand_splits(out, w.reason == 0, matched, inv)
    review = out.iloc[review_at].reset_index(drop=True)
    review["reason_code"] = as_series(
        pa.array(list(_REASONS), pa.string()).take(pa.array(w.reason[review_at].astype(np.int64))), review.index
    )
    review["message"], review["candidates"] = _explain_all(review_at, w, _Texts(cust, inv, decimals))
    for k, i in enumerate(review_at.tolist()):
        if i in matched.review_text:
            review.loc[k, "message"], review.loc[k, "candidates"] = matched.review_text[i]
    return Resolution(rows[list(RESOLVED_COLUMNS)], review[list(REVIEW_COLUMNS)])


# --- input tables ---------------------------------------------------------------------------------


def _customer_table(customers: Sequence[Mapping[str, Any]], lcy: str) -> _Customers:
    """Customers by number (the first of a repeated number wins; BC's numbers are unique)."""
    seen: dict[str, Mapping[str, Any]] = {}
    for c in customers:
        seen.setdefault(str(c.get("number") or "").upper(), c)
    seen.pop("", None)
    rows = list(seen.values())
    raw = [str(c.get("blocked") or "").strip() for c in rows]
    return _Customers(
        numbers=list(seen),
        ids=[str(c.get("id") or "") for c in rows],
        names=[str(c.get("displayName") or "") for c in rows],
        blocked_raw=raw,
        currency=[(str(c.get("currencyCode") or "") or lcy).upper() for c in rows],
        blocked=np.array([_BLOCKED.get(b.lower(), _ALL) for b in raw], dtype=np.int8),
        keys=pa.array(list(seen), pa.string()),
    )


def _invoice_table(invoices: Sequence[Mapping[str, Any]], lcy: str, decimals: int, cust: _Customers) -> _Invoices:
    """Open invoices by number with their remaining amount in minor units (exact, see rule 5)."""
    position: dict[str, int] = {}
    kept: list[Mapping[str, Any]] = []
    copies: list[int] = []
    for inv in invoices:
        if str(inv.get("status", "Open")).lower() != "open":
            continue
        number = str(inv.get("number") or "").upper()
        if not number:
            continue
        if number in position:
            copies[position[number]] += 1
            continue
        position[number] = len(kept)
        kept.append(inv)
        copies.append(1)
    remaining = [_decimal(inv.get("remainingAmount"), str(inv.get("number"))) for inv in kept]
    in_minor = [remaining_in_minor(r, decimals) for r in remaining]
    bill_to = [str(inv.get("billToCustomerNumber") or inv.get("customerNumber") or "").upper() for inv in kept]
    numbers = list(position)
    return _Invoices(
        numbers=numbers,
        ids=[str(inv.get("id") or "") for inv in kept],
        bill_to=bill_to,
        currency=[(str(inv.get("currencyCode") or "") or lcy).upper() for inv in kept],
        remaining=remaining,
        due=[str(inv.get("dueDate") or "") for inv in kept],
        rem_floor=np.array([floor for floor, _ in in_minor], dtype=np.int64),
        rem_whole=np.array([whole for _, whole in in_minor], dtype=bool),
        copies=np.array(copies, dtype=np.int64),
        customer=_positions(pd.Series(bill_to, dtype="str"), cust.keys),
        keys=pa.array(numbers, pa.string()),
        position=position,
    )


def _positions(values: pd.Series, keys: pa.Array) -> IntArray:
    """Position of each value among ``keys`` (unique), -1 when absent: a hash join in C++."""
    found = pc.index_in(to_arrow(values), value_set=keys)
    return pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.int64)  # type: ignore[no-any-return]


def _decimal(value: object, where: str) -> Decimal:
    """BC's amounts parsed with ``parse_float=Decimal`` (whole numbers arrive as int). A float here
    means someone parsed JSON the lossy way: refuse it rather than compare rounded money."""
    if isinstance(value, (bool, float)) or value is None:
        raise TypeError(f"invoice {where}: remainingAmount must be a Decimal, int or str, not {value!r}")
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))


def _candidate_text(frame: pd.DataFrame) -> pd.Series:
    """Every invoice number the row names; ``appliesToInvoiceNumber`` when the list is empty."""
    first = frame["appliesToInvoiceNumber"].fillna("").astype("str")
    if "invoiceCandidates" not in frame.columns:
        return first
    listed = frame["invoiceCandidates"].fillna("").astype("str").str.strip()
    return listed.where(listed != "", first)


# --- the decisions --------------------------------------------------------------------------------


def _check_blocked(
    reason: npt.NDArray[np.int8], flags: IntArray, c_idx: IntArray, where: BoolArray, cust: _Customers
) -> None:
    blocked = np.where(where, _at(cust.blocked, c_idx, _NONE), _NONE)
    reason[blocked == _ALL] = _R[Review.CUSTOMER_BLOCKED]
    flags[blocked == _INVOICE] |= _F[Flag.CUSTOMER_BLOCKED_INVOICE]


def _not_open(reason: npt.NDArray[np.int8], flags: IntArray, where: BoolArray, policy: Policies) -> None:
    if policy.unknown_invoice == "post_unapplied":
        flags[where] |= _F[Flag.INVOICE_NOT_OPEN]
    else:
        reason[where] = _R[Review.INVOICE_NOT_OPEN]


def _pick(numbers: list[str], customer: str, inv: _Invoices) -> tuple[int, str]:
    """One open invoice among several numbers, or the reason there is none."""
    found = [inv.position[x] for x in dict.fromkeys(numbers) if x in inv.position]
    if not found:
        return -1, Review.INVOICE_NOT_OPEN
    mine = [p for p in found if not customer or inv.bill_to[p] == customer]
    if not mine:
        return -1, Review.CUSTOMER_MISMATCH
    if len(mine) > 1 or inv.copies[mine[0]] > 1:
        return -1, Review.SEVERAL_INVOICES
    return mine[0], ""


def _apply_amounts(applied: IntArray, w: _Work, inv: _Invoices) -> None:
    """Rule 5: running total per invoice in lineNumber order; exact / partial / over for each row."""
    order = applied[np.lexsort((w.line[applied], w.chosen[applied]))]  # stable: ties keep input order
    target = w.chosen[order]
    amount = w.paid[order]
    start = np.ones(len(order), dtype=bool)
    start[1:] = target[1:] != target[:-1]
    group = np.cumsum(start) - 1
    cum = np.cumsum(amount)
    base = (cum - amount)[start][group]
    running = cum - base
    w.before[order] = running - amount
    first = np.flatnonzero(start)[group]
    w.earlier[order] = np.arange(len(order)) - first
    sizes = np.bincount(group)
    w.flags[order[sizes[group] > 1]] |= _F[Flag.SEVERAL_PAYMENTS]
    floor = inv.rem_floor[target]
    whole = inv.rem_whole[target]
    exact = whole & (running == floor)
    partial = (running < floor) | (~whole & (running == floor))
    w.application[order] = np.where(exact, _EXACT, np.where(partial, _PARTIAL, _OVER))


def _amount_policy(
    applied: IntArray,
    application: npt.NDArray[np.int8],
    reason: npt.NDArray[np.int8],
    flags: IntArray,
    policy: Policies,
) -> None:
    for kind, flag, code, choice in (
        (_PARTIAL, Flag.PARTIAL_PAYMENT, Review.PARTIAL_PAYMENT, policy.partial_payment),
        (_OVER, Flag.OVER_PAYMENT, Review.OVER_PAYMENT, policy.over_payment),
    ):
        rows = applied[application[applied] == kind]
        if choice == "post":
            flags[rows] |= _F[flag]
        else:
            reason[rows] = _R[code]


# --- output ---------------------------------------------------------------------------------------


def _at(values: npt.NDArray[Any], idx: IntArray, default: int) -> npt.NDArray[Any]:
    """``values[idx]`` with ``-1`` giving ``default`` (also when ``values`` is empty)."""
    table = np.append(values, np.array([default], dtype=values.dtype))
    return table[np.where(idx < 0, len(values), idx)]


def _take_series(values: list[str], idx: IntArray, index: pd.Index) -> pd.Series:
    table = pa.array([*values, ""], pa.string())
    return as_series(table.take(pa.array(np.where(idx < 0, len(values), idx))), index)


def _flag_text(flags: IntArray, index: pd.Index) -> pd.Series:
    """Comma-separated flag names; a run has few distinct combinations, so each is built once."""
    uniq, inverse = np.unique(flags, return_inverse=True)
    names = [",".join(n for n in _FLAG_NAMES if int(u) & _F[n]) for u in uniq]
    return as_series(pa.array(names, pa.string()).take(pa.array(inverse.ravel())), index)


def _assemble(frame: pd.DataFrame, cust: _Customers, inv: _Invoices, w: _Work) -> pd.DataFrame:
    c_idx, chosen, reason = w.c_idx, w.chosen, w.reason
    out = frame.copy(deep=False)  # copy on write: the columns set below are new, the rest shared
    index = out.index
    filled = _take_series(cust.numbers, c_idx, index)
    out["customerNumber"] = filled.where(c_idx >= 0, out["customerNumber"].fillna("").astype("str"))
    number = _take_series(inv.numbers, chosen, index)
    keep_file_value = (chosen < 0) & (reason != 0)  # review rows show what the file said
    out["appliesToInvoiceNumber"] = number.where(~keep_file_value, out["appliesToInvoiceNumber"])
    out["customerId"] = _take_series(cust.ids, c_idx, index)
    out["appliesToInvoiceId"] = _take_series(inv.ids, chosen, index)
    out["application"] = as_series(
        pa.array(list(_APPLICATIONS), pa.string()).take(pa.array(w.application.astype(np.int64))), index
    )
    out["flags"] = _flag_text(w.flags, index)
    return out


# --- messages for people --------------------------------------------------------------------------


class _Texts:
    """Text for people: amounts, customers and invoices, each formatted once however many rows use it."""

    def __init__(self, cust: _Customers, inv: _Invoices, decimals: int) -> None:
        self.cust, self.inv, self.decimals = cust, inv, decimals
        self._remaining: dict[int, str] = {}
        self._invoice: dict[tuple[int, bool], str] = {}
        self._open: dict[str, tuple[list[int], str, dict[int, int]]] = {}
        self._by_customer: dict[str, list[int]] | None = None

    def minor(self, value: int) -> str:
        """119000 -> "1190.00" in the run's currency places."""
        return minor_text(value, self.decimals)

    def decimal(self, value: Decimal) -> str:
        """A Decimal in major units; shown with the currency's decimals unless it has finer digits."""
        return decimal_text(value, self.decimals)

    def remaining(self, p: int) -> str:
        if p not in self._remaining:
            self._remaining[p] = f"{self.decimal(self.inv.remaining[p])} {self.inv.currency[p]}"
        return self._remaining[p]

    def customer(self, position: int, number: str = "") -> str:
        if position < 0:
            return f"customer {number}"
        name = self.cust.names[position]
        return f"customer {self.cust.numbers[position]}" + (f" ({name})" if name else "")

    def invoice(self, p: int, with_customer: bool = True) -> str:
        """``RE-1 (C10000, open 120.00 EUR)``: one invoice as the candidates column lists it."""
        key = (p, with_customer)
        if key not in self._invoice:
            who = f"{self.inv.bill_to[p]}, " if with_customer else ""
            self._invoice[key] = f"{self.inv.numbers[p]} ({who}open {self.remaining(p)})"
        return self._invoice[key]

    def open_of(self, number: str) -> tuple[list[int], str, dict[int, int]]:
        """A customer's open invoices by number, their listing, and which one is open for an amount."""
        if self._by_customer is None:
            self._by_customer = {}
            for p, bill in enumerate(self.inv.bill_to):
                self._by_customer.setdefault(bill, []).append(p)
        if number not in self._open:
            found = sorted(self._by_customer.get(number, []), key=lambda p: self.inv.numbers[p])
            listing = _listing([f"{self.inv.numbers[p]} ({self.remaining(p)})" for p in found])
            exact: dict[int, int] = {}
            for p in found:
                if self.inv.rem_whole[p]:
                    exact.setdefault(int(self.inv.rem_floor[p]), p)
            self._open[number] = (found, listing, exact)
        return self._open[number]


class _Row(NamedTuple):
    """One review row as plain Python values."""

    code: str
    given: str
    numbers: list[str]
    currency: str
    paid: int
    c: int
    p: int
    before: int
    earlier: int


def _explain_all(at: IntArray, w: _Work, texts: _Texts) -> tuple[pd.Series, pd.Series]:
    """``message`` and ``candidates`` of the review rows (per-row Python: only these rows pay for it)."""
    columns = zip(
        w.reason[at].tolist(),
        w.given_no.iloc[at].tolist(),
        w.candidates.iloc[at].tolist(),
        w.currency.iloc[at].tolist(),
        w.paid[at].tolist(),
        w.c_idx[at].tolist(),
        w.chosen[at].tolist(),
        w.before[at].tolist(),
        w.earlier[at].tolist(),
        strict=True,
    )
    messages, considered = [], []
    for code, given, cands, cur, amount, c, p, prior, k in columns:
        numbers = cands.split()
        if len(numbers) > 1:
            numbers = list(dict.fromkeys(numbers))
        row = _Row(_REASONS[code], given, numbers, cur, amount, c, p, prior, k)
        message, listed = _explain(row, texts)
        messages.append(message[:1].upper() + message[1:])
        considered.append(listed)
    index = pd.RangeIndex(len(at))
    return pd.Series(messages, index=index, dtype="str"), pd.Series(considered, index=index, dtype="str")


def _listing(items: list[str]) -> str:
    more = len(items) - _LIST_MAX
    return ", ".join(items[:_LIST_MAX]) + (f" and {more} more" if more > 0 else "")


class _Said(NamedTuple):
    """What every explanation of a row starts from: the amount and customer in words, the invoices
    considered (the ``candidates`` column) and the named numbers that are open invoices."""

    amount: str
    who: str
    considered: str
    named: list[str]


def _explain(row: _Row, t: _Texts) -> tuple[str, str]:
    """(message, candidates) for one review row, in the words a finance person uses."""
    inv = t.inv

    def describe(x: str) -> str:
        q = inv.position.get(x)
        if q is None:
            return f"{x} (not open)"
        if inv.copies[q] > 1:
            return f"{x} ({inv.copies[q]} open invoices with this number)"
        return t.invoice(q)

    numbers = row.numbers
    said = _Said(
        amount=f"{t.minor(row.paid)} {row.currency}",
        who=t.customer(row.c, row.given),
        considered="; ".join([describe(x) for x in numbers]) if numbers else "",
        named=[x for x in numbers if x in inv.position] if numbers else numbers,
    )
    return _EXPLAIN.get(row.code, _explain_unapplied)(row, t, said)


def _explain_customer_unknown(row: _Row, t: _Texts, said: _Said) -> tuple[str, str]:
    inv, p = t.inv, row.p
    if row.given:
        hint = [t.invoice(inv.position[x]) for x in said.named]
        extra = f"; the invoice named is {', '.join(hint)}" if hint else ""
        return f"Customer {row.given} does not exist in Business Central{extra}", said.considered
    bill = inv.bill_to[p] if p >= 0 else ""
    return (
        f"Invoice {inv.numbers[p]} is billed to customer {bill}, which Business Central does not list",
        said.considered,
    )


def _explain_customer_blocked(row: _Row, t: _Texts, said: _Said) -> tuple[str, str]:
    inv, p, amount = t.inv, row.p, said.amount
    raw = t.cust.blocked_raw[row.c]
    via = f" (the bill-to customer of invoice {inv.numbers[p]})" if not row.given and p >= 0 else ""
    if raw.lower() != "all":
        return (
            f"{said.who}{via} has Blocked = {raw!r}, a value payimport does not know, so it is treated as blocked "
            f"for all transactions; payment of {amount}"
        ), said.considered
    return (
        f"{said.who}{via} is blocked for all transactions (Blocked = All): Business Central refuses the payment "
        f"of {amount}"
    ), said.considered


def _explain_customer_missing(row: _Row, t: _Texts, said: _Said) -> tuple[str, str]:
    if not row.numbers:
        return f"No customer number and no invoice number: cannot tell who paid {said.amount}", ""
    return (
        f"No customer number, and {_not_open_text(row.numbers)}: cannot tell who paid {said.amount}",
        said.considered,
    )


def _explain_invoice_not_open(row: _Row, t: _Texts, said: _Said) -> tuple[str, str]:
    inv, c = t.inv, row.c
    found, listing, exact = t.open_of(t.cust.numbers[c] if c >= 0 else "")
    if not found:
        return f"{_not_open_text(row.numbers)}; {said.who} has no open invoices", said.considered
    text = f"{_not_open_text(row.numbers)}; {said.who} has open invoices {listing}"
    q = exact.get(row.paid, -1)
    if q >= 0 and inv.currency[q] == row.currency:
        text += f"; {inv.numbers[q]} is open for exactly the {said.amount} paid"
    return text, said.considered


def _explain_customer_mismatch(row: _Row, t: _Texts, said: _Said) -> tuple[str, str]:
    inv = t.inv
    others = [
        f"invoice {x} is billed to {t.customer(int(inv.customer[inv.position[x]]), inv.bill_to[inv.position[x]])}"
        for x in said.named
    ]
    return (
        f"{'; '.join(others)}, not to {said.who} named in the file: the payment of {said.amount} cannot be applied "
        f"to it (Business Central applies a payment only to invoices of its bill-to customer)"
    ), said.considered


def _explain_several_invoices(row: _Row, t: _Texts, said: _Said) -> tuple[str, str]:
    inv, given, cur, amount = t.inv, row.given, row.currency, said.amount
    twins = [x for x in said.named if inv.copies[inv.position[x]] > 1]
    if twins:
        x = twins[0]
        return (
            f"Business Central lists {inv.copies[inv.position[x]]} open invoices numbered {x}; a person must "
            f"choose the one this payment of {amount} applies to"
        ), said.considered
    mine = [inv.position[x] for x in said.named if not given or inv.bill_to[inv.position[x]] == given]
    total = sum((inv.remaining[q] for q in mine), Decimal(0))
    payers = {int(inv.customer[q]) for q in mine}
    scope = f"of {said.who}" if given else "(no customer number in the file)"
    if not given and len(payers) == 1 and -1 not in payers:
        scope = f"billed to {t.customer(payers.pop())} (no customer number in the file)"
    same = all(inv.currency[q] == cur for q in mine)
    together = (
        f"; together they are open for {t.decimal(total)} {cur}"
        + (" (exactly the amount paid)" if decimal_to_minor(total, t.decimals) == row.paid else "")
        if same
        else ""
    )
    return (
        f"The payment of {amount} names {len(mine)} open invoices {scope}: "
        f"{_listing([t.invoice(q, not given) for q in mine])}{together}; a person must split it"
    ), said.considered


def _explain_currency(row: _Row, t: _Texts, said: _Said) -> tuple[str, str]:
    inv, c, p, cur = t.inv, row.c, row.p, row.currency
    parts = []
    if t.cust.currency[c] != cur:
        parts.append(
            f"{said.who} is kept in {t.cust.currency[c]} (Business Central books a payment in the currency of "
            f"the customer card)"
        )
    if p >= 0 and inv.currency[p] != cur:
        parts.append(f"invoice {inv.numbers[p]} is in {inv.currency[p]}")
    return f"The payment of {said.amount} is in another currency: {' and '.join(parts)}", said.considered


def _explain_amount(row: _Row, t: _Texts, said: _Said) -> tuple[str, str]:
    return _amount_text(row, t, said.amount, said.who), said.considered


def _explain_unapplied(row: _Row, t: _Texts, said: _Said) -> tuple[str, str]:
    """The policy asks for review of a payment naming no invoice: offer the customer's open invoices."""
    inv, c = t.inv, row.c
    found, _listed, _exact = t.open_of(t.cust.numbers[c] if c >= 0 else "")
    offer = "; ".join(t.invoice(q) for q in found[:_LIST_MAX])
    tail = f"; open invoices: {_listing([inv.numbers[q] for q in found])}" if found else "; no open invoices"
    return f"Payment of {said.amount} from {said.who} names no invoice{tail}", offer


_EXPLAIN: dict[str, Callable[[_Row, _Texts, _Said], tuple[str, str]]] = {
    Review.CUSTOMER_UNKNOWN: _explain_customer_unknown,
    Review.CUSTOMER_BLOCKED: _explain_customer_blocked,
    Review.CUSTOMER_MISSING: _explain_customer_missing,
    Review.INVOICE_NOT_OPEN: _explain_invoice_not_open,
    Review.CUSTOMER_MISMATCH: _explain_customer_mismatch,
    Review.SEVERAL_INVOICES: _explain_several_invoices,
    Review.CUSTOMER_CURRENCY_MISMATCH: _explain_currency,
    Review.OVER_PAYMENT: _explain_amount,
    Review.PARTIAL_PAYMENT: _explain_amount,
    Review.UNAPPLIED: _explain_unapplied,
}


def _not_open_text(numbers: list[str]) -> str:
    if len(numbers) == 1:
        return f"invoice {numbers[0]} is not open (paid or unknown)"
    return f"none of the invoices {', '.join(numbers)} is open (paid or unknown)"


def _amount_text(row: _Row, t: _Texts, amount: str, who: str) -> str:
    inv, p, cur, k = t.inv, row.p, row.currency, row.earlier
    rem = inv.remaining[p]
    plural = "s" if k > 1 else ""
    prior = f" after {k} earlier payment{plural} of {t.minor(row.before)} {cur} in this run" if k else ""
    head = f"invoice {inv.numbers[p]} of {who} ({t.remaining(p)} open)"
    if row.code == Review.PARTIAL_PAYMENT:
        left = rem - minor_to_decimal(row.before + row.paid, t.decimals)
        return f"Payment of {amount} is less than {head}{prior}; {t.decimal(left)} {cur} would stay open"
    if minor_to_decimal(row.before, t.decimals) >= rem:
        return (
            f"Invoice {inv.numbers[p]} of {who} ({t.remaining(p)} open) is already paid in full by {k} earlier "
            f"payment{plural} in this run; this payment of {amount} would only be a credit on the customer"
        )
    extra = minor_to_decimal(row.before + row.paid, t.decimals) - rem
    return f"Payment of {amount} is more than {head}{prior}; {t.decimal(extra)} {cur} would stay as a credit"


# --- evidence (rule 7) ----------------------------------------------------------------------------


class _MatchInput(NamedTuple):
    w: _Work
    cust: _Customers
    inv: _Invoices
    decimals: int
    memory: PayerMemory


@dataclass
class Matched:
    """What the matcher decided beyond the exact rules: the lines of split rows (invoice position or
    -1, minor units, application index), the ``match_details`` of each row it saw, and the message
    and candidates of the rows it sent to a person."""

    splits: dict[int, list[tuple[int, int, int]]]
    details: npt.NDArray[np.object_]
    """Each row's ``match_details`` text, None where the matcher did not see the row."""
    review_text: dict[int, tuple[str, str]]


_TO_MATCH = (Review.CUSTOMER_MISSING, Review.SEVERAL_INVOICES, Review.UNAPPLIED)


def match_by_evidence(
    frame: pd.DataFrame, m: _MatchInput, policy: Policies, rules_of_file: Mapping[str, MatchingRules]
) -> Matched:
    """Rule 7: rows the exact rules leave without a customer or an invoice (``customer_missing``,
    ``several_invoices``, ``unapplied``, and rows about to be posted unapplied) are decided by
    evidence (``pipeline.matching``), in lineNumber order, each seeing what earlier rows took, by
    the matching rules of the profile that read their file."""
    w = m.w
    matched = Matched({}, np.full(len(w.paid), None, dtype=object), {})
    bare = (w.reason == 0) & (w.application == _UNAPPLIED) & ((w.flags & _F[Flag.INVOICE_NOT_OPEN]) == 0)
    todo = np.flatnonzero(np.isin(w.reason, [_R[code] for code in _TO_MATCH]) | bare)
    policies = {file: policy.model_copy(update={"matching": rules}) for file, rules in rules_of_file.items()}
    todo = todo[np.argsort(w.line[todo], kind="stable")]
    files = _text_of(frame, ("source_file",), todo) if policies else [""] * int(todo.size)
    on = np.array([policies.get(f, policy).matching.enabled for f in files], dtype=bool)
    todo, files = todo[on], [f for f, keep in zip(files, on.tolist(), strict=True) if keep]
    if not todo.size:
        return matched
    book = _book(m, policy, [p.matching for p in policies.values()])
    # the free text is the statement's reference; the transaction id and the payer's name are not
    # searched for invoice numbers (a bank id "TX101" is not invoice 101). The rows' values are read
    # MATCH_CHUNK_ROWS rows at a time, in the same order, against the same book, so the decisions are
    # those of one pass while a million rows are never ten lists of Python values at once
    said = ("reference",) if "reference" in frame.columns else ("description", "comment")
    for start in range(0, int(todo.size), MATCH_CHUNK_ROWS):
        rows = todo[start : start + MATCH_CHUNK_ROWS]
        columns = zip(
            rows.tolist(),
            w.paid[rows].tolist(),
            w.currency.iloc[rows].tolist(),
            w.c_idx[rows].tolist(),
            _text_of(frame, ("payer_name",), rows),
            _text_of(frame, said, rows),
            w.candidates.iloc[rows].tolist(),
            _text_of(frame, ("payer_account",), rows),
            _days(frame, rows),
            files[start : start + MATCH_CHUNK_ROWS],
            strict=True,
        )
        for i, paid, currency, customer, name, words, named, acct, day, file in columns:
            receipt = Receipt(paid, currency, customer, name, f"{words} {named}", acct, day)
            _take_decision(i, decide(receipt, book, policies.get(file, policy)), m, matched, book)
    return matched


MATCH_CHUNK_ROWS = 50_000
"""Rows whose values the matcher reads at a time (``match_by_evidence``): memory, not decisions."""


_EPOCH_DAY = day_number("1970-01-01")


def _days(frame: pd.DataFrame, todo: IntArray) -> list[int]:
    """Each row's posting date as a day number (-1 when it has none), for the date window."""
    if "postingDate" not in frame.columns:
        return [-1] * int(todo.size)
    dates = pd.to_datetime(frame["postingDate"].iloc[todo], errors="coerce")
    days = dates.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    ordinal = days.astype(np.int64) + _EPOCH_DAY  # date.toordinal, for the whole column at once
    return [int(x) for x in np.where(np.isnat(days), -1, ordinal).tolist()]


def _book(m: _MatchInput, policy: Policies, others: Sequence[MatchingRules]) -> Book:
    """The matcher's view of customers and open invoices, net of what the exact rules applied (the
    name index keeps the lowest ``name_close`` of any profile; each decision applies its own)."""
    inv, w = m.inv, m.w
    left = np.where(inv.rem_whole, inv.rem_floor, -1).astype(np.int64)
    taken = w.chosen >= 0
    np.add.at(left, w.chosen[taken], -w.paid[taken])
    twins = inv.copies > 1
    left[~inv.rem_whole | twins] = -1
    close = min([policy.matching.name_close, *(r.name_close for r in others)])
    book = build_book(
        m.decimals,
        (m.cust.numbers, m.cust.names, m.cust.currency),
        (inv.numbers, inv.customer.tolist(), inv.currency, left.tolist(), inv.due),
        policy.matching.model_copy(update={"name_close": close}),
        m.memory,
    )
    book.twins = set(np.flatnonzero(twins).tolist())
    return book


def _text_of(frame: pd.DataFrame, columns: tuple[str, ...], rows: IntArray) -> list[str]:
    """The named columns that exist, joined by spaces, of these rows ("" when none exists)."""
    parts = [frame[c].iloc[rows].fillna("").astype("str") for c in columns if c in frame.columns]
    if not parts:
        return [""] * int(rows.size)
    out = parts[0]
    for part in parts[1:]:
        out = out + " " + part
    return list(out.tolist())


def _take_decision(i: int, d: Decision, m: _MatchInput, matched: Matched, book: Book) -> None:
    """Write one decision into the row's columns (``_Work``) and the matcher's side tables."""
    w = m.w
    matched.details[i] = details_text(d.facts, d.confidence) or f"no candidate: {d.message}"
    if not d.found:
        return
    if d.customer >= 0:
        w.c_idx[i] = d.customer
    if d.review:
        before = w.reason[i]
        w.reason[i] = _R[d.review]
        w.chosen[i] = -1
        if d.message and w.reason[i] != before:  # the same reason keeps the resolver's own words
            matched.review_text[i] = (d.message[:1].upper() + d.message[1:], "; ".join(d.candidates))
        return
    w.reason[i] = 0
    for flag in d.flags:
        w.flags[i] |= _F[flag]
    blocked = int(m.cust.blocked[d.customer])
    if blocked == _ALL:
        w.reason[i] = _R[Review.CUSTOMER_BLOCKED]
    elif blocked == _INVOICE:
        w.flags[i] |= _F[Flag.CUSTOMER_BLOCKED_INVOICE]
    if w.reason[i]:
        _give_back(d, book)
        return
    lines = [(p, amount, _line_application(p, book)) for p, amount in d.lines]
    w.chosen[i] = lines[0][0]
    w.application[i] = lines[0][2]
    if len(lines) > 1:
        matched.splits[i] = lines


def _line_application(p: int, book: Book) -> int:
    """How a line meets its invoice once applied: closes it (exact), leaves some open, or none."""
    if p < 0:
        return _UNAPPLIED
    return _EXACT if book.left[p] == 0 else _PARTIAL


def _give_back(d: Decision, book: Book) -> None:
    """A decision that ends in review after all (a blocked customer) pays nothing in this run."""
    for p, amount in d.lines:
        if p >= 0:
            book.left[p] += amount


def _plain_details(out: pd.DataFrame, w: _Work, matched: Matched) -> pd.Series:
    """``match_details`` of every row: the matcher's facts, else the exact rules' (customer and
    invoice numbers as the file gives them). The exact rules' text is made only for the rows the
    matcher did not see. The texts become the column ``DETAILS_CHUNK_ROWS`` rows at a time, each
    chunk's Python strings let go (``matched.details`` is emptied) as its Arrow copy is made: a
    million texts are never held twice."""
    values = matched.details
    rest = np.flatnonzero([v is None for v in values.tolist()])
    index = pd.RangeIndex(rest.size)
    customer = out["customerNumber"].iloc[rest].astype("str").reset_index(drop=True)
    invoice = out["appliesToInvoiceNumber"].iloc[rest].astype("str").reset_index(drop=True)
    given = pd.Series(w.given[rest], index=index)
    has_invoice = pd.Series(w.chosen[rest] >= 0, index=index)
    who = ("[customer_number] the file names customer " + customer).where(given, "")
    via = ("[invoice_exact] the file names invoice " + invoice).where(has_invoice, "")
    via = via.where(given | ~has_invoice, via + ", billed to customer " + customer)
    joined = (who + "; " + via).where((who != "") & (via != ""), who + via)
    text = (joined + " (confidence 100%)").where(joined != "", "")
    text = text.where(pd.Series(w.reason[rest] == 0, index=index) | given, "")
    values[rest] = text.to_numpy(dtype=object)
    del text, joined, who, via
    chunks = []
    for start in range(0, len(values), DETAILS_CHUNK_ROWS):
        chunks.append(pa.array(values[start : start + DETAILS_CHUNK_ROWS], pa.large_string()))
        values[start : start + DETAILS_CHUNK_ROWS] = None
    column = pd.arrays.ArrowStringArray(pa.chunked_array(chunks, pa.large_string()))
    return pd.Series(column, index=out.index, dtype="str")


DETAILS_CHUNK_ROWS = 50_000
"""Rows of ``match_details`` turned from Python strings into the Arrow column at a time."""


def _expand_splits(out: pd.DataFrame, post: BoolArray, matched: Matched, inv: _Invoices) -> pd.DataFrame:
    """The rows to post, a split row as one line per invoice (and one for an unapplied rest): same
    documentNumber, its own key, amounts summing exactly to the receipt."""
    keep = np.flatnonzero(post)
    if keep.size == len(out) and not matched.splits:
        return out  # every row posted as one line (a large payment-on-account run): no copy to take
    counts = np.array([len(matched.splits.get(int(i), ())) or 1 for i in keep], dtype=np.int64)
    rows = out.iloc[np.repeat(keep, counts)].reset_index(drop=True)
    if not matched.splits:
        return rows
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    key = rows["key"].astype("str").tolist()
    number = rows["appliesToInvoiceNumber"].astype("str").tolist()
    ident = rows["appliesToInvoiceId"].astype("str").tolist()
    amount = rows["amount_minor"].to_numpy(dtype=np.int64).copy()
    application = rows["application"].astype("str").tolist()
    for start, i in zip(starts.tolist(), keep.tolist(), strict=True):
        for at, (p, paid, applied) in enumerate(matched.splits.get(i, ()), start=start):
            number[at] = inv.numbers[p] if p >= 0 else ""
            key[at] = split_line_key(key[at], number[at])
            ident[at] = inv.ids[p] if p >= 0 else ""
            amount[at] = -paid
            application[at] = _APPLICATIONS[applied]
    rows["key"] = pd.Series(key, index=rows.index, dtype="str")
    rows["appliesToInvoiceNumber"] = pd.Series(number, index=rows.index, dtype="str")
    rows["appliesToInvoiceId"] = pd.Series(ident, index=rows.index, dtype="str")
    rows["amount_minor"] = amount
    rows["application"] = pd.Series(application, index=rows.index, dtype="str")
    return rows


__all__ = [
    "RESOLVED_COLUMNS",
    "REVIEW_COLUMNS",
    "Resolution",
    "resolve",
]
