"""Rows waiting for a person, and the decisions people make about them.

Why this exists: resolution sends a payment to a person rather than guess (``pipeline.resolve``).
Without a memory of that, every later run (a nightly run over the same folder, a re-drop of the
same file under another name) would resolve the row afresh: report it as new every night, or
worse, post it, because what held it back may not show in BC yet (an over-payment held because an
earlier row of the file paid the invoice, while BC's ``remainingAmount`` has not moved until that
journal is posted). So a row sent to review is recorded in the ledger (``Ledger.hold_for_review``)
and stays there until a person decides:

* **waiting**: every later run reports it once, as "waiting since <date> (run X)", never resolves
  it again and never posts it; it does not make the run exit 1 (only new rows for a person do),
  unless the team asks for that reminder (``defaults.exit_one_while_waiting``);
* **decided**: a person wrote a decision in the decisions workbook (``pipeline.decisions``) and
  dropped it back; the next run carries it out: the row is resolved again *as the person said*
  (this invoice, this customer on account), with the same checks as any row (an invoice of another
  customer, more than the invoice's remaining amount, an unknown customer are refused, never
  guessed), and posted through the same exactly-once path under the row's own key (a split over
  several invoices under the keys of the matcher's split, ``<key>#><invoice>`` and ``<key>#>rest``);
  the lines of one check are carried out together, once each has a decision (``pipeline.held_checks``);
* **done**: posted, or skipped as handled elsewhere; never reported again, a re-drop of the file
  shows it as already posted or skipped by a person.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

import pandas as pd

from pipeline.config import MatchingRules, Policies
from pipeline.held_checks import (
    hold_refused_checks,
    hold_undecided_checks,
    lines_of_checks,
    mark_checks,
    with_checks,
)
from pipeline.inputs import Inputs
from pipeline.ledger import HeldRow, Ledger, ReviewRecord, RowRecord
from pipeline.lines import payment_lines, receipt_key, split_line_key
from pipeline.money import exact_minor, minor_to_decimal
from pipeline.normalize import PAYMENT_COLUMNS
from pipeline.post.context import RunContext
from pipeline.remittance import PAYMENT_KEY, PAYMENT_LABEL
from pipeline.resolve import Resolution, resolve
from pipeline.split import SPLIT, legacy_part_keys, open_amounts, parse_parts, split_row
from schemas.codes import Review, Skip, describe

ROW_COLUMNS: Final = (*PAYMENT_COLUMNS, "file_sha256")
"""What the ledger keeps of a held row: the payment as read from the file, enough to post it later."""
CHECK_COLUMNS: Final = (PAYMENT_KEY, PAYMENT_LABEL)
"""Kept too for a line of a check (``pipeline.held_checks``): which check, and its name for people."""

APPLY_CANDIDATE: Final = "apply to candidate"
APPLY_INVOICE: Final = "apply to invoice"
ON_ACCOUNT: Final = "on account"
SKIP: Final = "skip"
WAIT: Final = "wait"
DECISION_KINDS: Final = (APPLY_CANDIDATE, APPLY_INVOICE, SPLIT, ON_ACCOUNT, SKIP, WAIT)

# A person said which invoice (or that it is not applied): the amount rules still hold, but a
# partial payment the person chose, or a receipt they put on account, is what they meant. Cash
# application is off: its evidence is for receipts nobody has looked at, and it would apply an
# "on account" payment to an open invoice of the same amount, overriding the person.
_PERSON: Final = MatchingRules(enabled=False)
_INVOICE_POLICY: Final = Policies(
    unapplied="needs_review",
    partial_payment="post",
    over_payment="needs_review",
    unknown_invoice="needs_review",
    matching=_PERSON,
)
_ACCOUNT_POLICY: Final = Policies(unapplied="post", unknown_invoice="needs_review", matching=_PERSON)


@dataclass(frozen=True)
class Decision:
    """What a person decided for one waiting row (``kind`` one of ``DECISION_KINDS``): the invoice
    to apply to, the customer (on account, or the invoice's customer), and a note (why skipped)."""

    kind: str
    invoice: str = ""
    customer: str = ""
    note: str = ""

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "invoice": self.invoice, "customer": self.customer, "note": self.note}

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Decision:
        return cls(
            str(value["kind"]),
            str(value.get("invoice", "")),
            str(value.get("customer", "")),
            str(value.get("note", "")),
        )

    def describe(self) -> str:
        """The decision in the words of the workbook, for reports and messages."""
        if self.kind == APPLY_INVOICE:
            return f"apply to invoice {self.invoice}" + (f" of customer {self.customer}" if self.customer else "")
        if self.kind == SPLIT:
            return f"split over {self.invoice}"
        if self.kind == ON_ACCOUNT:
            return f"on account of customer {self.customer}"
        if self.kind == SKIP:
            return f"not a customer payment: {self.note}" if self.note else "not a customer payment"
        return self.kind


def waiting_since(record: ReviewRecord) -> str:
    """How a later run words a row that still waits: since when, which run, and why."""
    text = f"waiting since {record.first_seen[:10]} (run {record.first_run}): {record.message}"
    if record.outcome:
        text += f"; the last decision was refused: {record.outcome}"
    return text


def held_rows(todo: pd.DataFrame, review: pd.DataFrame) -> list[HeldRow]:
    """The rows resolution sent to a person this run, as the ledger keeps them: the input row (not
    the half-resolved one), its reason, message and candidates."""
    if review.empty:
        return []
    kept = [c for c in (*ROW_COLUMNS, *CHECK_COLUMNS) if c in todo.columns]
    by_key = {str(r["key"]): r for r in todo[kept].to_dict("records")}
    out = []
    for r in review.to_dict("records"):
        key = str(r["key"])
        source = by_key[key]
        row = {name: _plain(source.get(name)) for name in ROW_COLUMNS}
        row["candidates"] = str(r.get("candidates") or "")
        for name in CHECK_COLUMNS:
            if _plain(source.get(name)):
                row[name] = str(source[name])
        out.append(
            HeldRow(
                key,
                str(source["file_sha256"]),
                str(r["source_file"]),
                int(r["source_row"]),
                str(r["reason_code"]),
                str(r["message"]),
                row,
            )
        )
    return out


def _plain(value: Any) -> Any:
    """A frame value as JSON keeps it: dates as ISO text, numpy integers as int, NA as ""."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if hasattr(value, "item"):
        return value.item()
    return value


def rows_of(records: Sequence[ReviewRecord]) -> pd.DataFrame:
    """Held rows back as payment rows (the input's columns and types), to go through a run again."""
    frame = pd.DataFrame([{name: r.row.get(name, "") for name in ROW_COLUMNS} for r in records], columns=ROW_COLUMNS)
    for name in ROW_COLUMNS:
        if name in ("lineNumber", "amount_minor", "source_row"):
            frame[name] = frame[name].astype("int64")
        elif name == "postingDate":
            frame[name] = pd.to_datetime(frame[name], format="%Y-%m-%d").astype("datetime64[s]")
        else:
            frame[name] = frame[name].astype("str")
    if any(r.row.get(PAYMENT_KEY) for r in records):
        for name in CHECK_COLUMNS:
            frame[name] = pd.Series([str(r.row.get(name) or "") for r in records], dtype="str")
    return frame


@dataclass
class ReviewSplit:
    """The rows of a run by what a person said about them: ``lines`` already decided for this run
    (still waiting, or skipped by a person), ``decided`` rows to carry out, ``rest`` to resolve."""

    lines: list[pd.DataFrame]
    decided: pd.DataFrame
    decisions: dict[str, Decision]
    rest: pd.DataFrame
    waiting: int = 0


def split_by_review(ledger: Ledger, scope: str, todo: pd.DataFrame) -> ReviewSplit:
    """Take the rows a person holds out of ``todo``: waiting rows become needs-review lines that say
    since when; rows a person skipped are skipped lines; decided rows are carried out by the caller."""
    if todo.empty:
        return ReviewSplit([], todo, {}, todo)
    held = ledger.reviews(scope, todo["key"].astype("str").tolist())
    state = pd.Series([held[k].state if k in held else "" for k in todo["key"]], index=todo.index, dtype="str")
    waiting = todo[(state == "waiting").to_numpy()].copy()
    done = todo[(state == "done").to_numpy()].copy()
    decided = todo[(state == "decided").to_numpy()].reset_index(drop=True)
    lines = []
    if not waiting.empty:
        records = [held[k] for k in waiting["key"]]
        waiting["reason_code"] = [r.reason_code for r in records]
        waiting["message"] = [waiting_since(r) for r in records]
        waiting["candidates"] = [str(r.row.get("candidates", "")) for r in records]
        waiting["lineNumber"] = pd.NA
        lines.append(payment_lines(waiting, "needs_review"))
    if not done.empty:
        skipped = pd.Series([(held[k].decision or {}).get("kind") == SKIP for k in done["key"]], index=done.index)
        done["reason_code"] = skipped.map({True: str(Skip.DECIDED), False: ""}).astype("str")
        done["message"] = [f"{held[k].outcome or 'handled'} (decided {str(held[k].decided)[:10]})" for k in done["key"]]
        done["lineNumber"] = pd.NA
        lines.append(payment_lines(done[skipped.to_numpy()], "skipped"))
        lines.append(payment_lines(done[~skipped.to_numpy()], "already_posted"))  # a split: its parts are in BC
    decisions = {k: Decision.from_json(held[k].decision or {"kind": WAIT}) for k in decided["key"]}
    decided, undecided = _whole_checks(ledger, scope, decided, held, decisions)
    lines.append(undecided)
    rest = todo[(state == "").to_numpy()].reset_index(drop=True)
    return ReviewSplit(lines, decided, decisions, rest, waiting=len(waiting))


def _whole_checks(
    ledger: Ledger, scope: str, decided: pd.DataFrame, held: Mapping[str, ReviewRecord], decisions: dict[str, Decision]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The decided rows to carry out now, and the lines of decided rows whose check still has a line
    without a decision (they stay decided: ``pipeline.held_checks``)."""
    if decided.empty:
        return decided, payment_lines(decided, "needs_review")
    decided = mark_checks(decided, held)
    members = lines_of_checks(ledger, scope, set(decided[PAYMENT_KEY]) - {""})
    ready, waiting = hold_undecided_checks(decided, members, {k: d.describe() for k, d in decisions.items()})
    for key in waiting["key"].astype("str"):
        decisions.pop(key, None)
    return ready, waiting


@dataclass(frozen=True)
class Carried:
    """Decided rows carried out: ``rows`` to post (resolved), ``skipped`` lines, ``refused``
    (key, why) for decisions the checks refuse, ``review`` lines of refused rows (waiting again)."""

    rows: pd.DataFrame
    skipped: pd.DataFrame
    refused: list[tuple[str, str]]
    review: pd.DataFrame


def carry_out(
    decided: pd.DataFrame,
    decisions: Mapping[str, Decision],
    bc: tuple[Sequence[Mapping[str, Any]], Sequence[Mapping[str, Any]], str],
    decimals: int,
) -> Carried:
    """Resolve each decided row the way the person said, with resolution's own checks (``bc`` is
    customers, open invoices and the local currency). A row the checks send to review is a refused
    decision: the person is told why and the row waits again; nothing is guessed."""
    customers, invoices, lcy = bc
    if decided.empty:
        return Carried(decided, payment_lines(decided, "skipped"), [], payment_lines(decided, "needs_review"))
    kinds = pd.Series([decisions[k].kind for k in decided["key"]], index=decided.index, dtype="str")
    skip = decided[(kinds == SKIP).to_numpy()].copy()
    skip["reason_code"] = Skip.DECIDED
    skip["message"] = [f"a person decided: {decisions[k].describe()}" for k in skip["key"]]
    skip["lineNumber"] = pd.NA
    split, refused = _split(decided[(kinds == SPLIT).to_numpy()], decisions, invoices, decimals)
    chosen = pd.concat([_as_decided(decided[kinds.isin([APPLY_INVOICE, ON_ACCOUNT]).to_numpy()], decisions), split])
    on_account = (chosen["appliesToInvoiceNumber"] == "").to_numpy()
    parts: list[Resolution] = []
    for rows_of_kind, policy in ((chosen[~on_account], _INVOICE_POLICY), (chosen[on_account], _ACCOUNT_POLICY)):
        if not rows_of_kind.empty:
            parts.append(resolve(rows_of_kind, decimals, customers, invoices, lcy, policy))
    rows = (
        _in_split_order(pd.concat([p.rows for p in parts], ignore_index=True), chosen) if parts else decided.iloc[0:0]
    )
    review = pd.concat([p.review for p in parts], ignore_index=True) if parts else pd.DataFrame()
    reasons = {receipt_key(str(r["key"])): str(r["reason_code"]) for r in review.to_dict("records")}
    refused += [(receipt_key(str(r["key"])), _refusal(r)) for r in review.to_dict("records")]
    refused = list(dict(refused).items())  # one refusal per row, however many of its parts failed
    if not rows.empty:  # a split is carried out whole or not at all
        rows = rows[~rows["key"].astype("str").map(receipt_key).isin(dict(refused)).to_numpy()]
    review = decided[decided["key"].isin(dict(refused)).to_numpy()].copy()
    if not review.empty:
        # the rule that refused it, or (a split that does not add up) the several invoices it pays
        review["reason_code"] = [reasons.get(k, Review.SEVERAL_INVOICES) for k in review["key"]]
        review["message"] = [f"decision refused: {dict(refused)[k]}" for k in review["key"]]
        review["lineNumber"] = pd.NA
    if not rows.empty:
        sha_of = dict(zip(decided["key"], decided["file_sha256"], strict=True))
        rows["file_sha256"] = [sha_of[receipt_key(str(k))] for k in rows["key"]]
    rows, skip, waiting = hold_refused_checks(decided, with_checks(rows, decided), skip, dict(refused))
    review = pd.concat([payment_lines(review, "needs_review"), waiting], ignore_index=True)
    return Carried(rows, payment_lines(skip, "skipped"), refused, review)


def _split(
    rows: pd.DataFrame, decisions: Mapping[str, Decision], invoices: Sequence[Mapping[str, Any]], decimals: int
) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """The parts of every row split over several invoices, and the splits that do not add up."""
    if rows.empty:
        return rows, []
    open_minor = open_amounts(invoices, decimals)
    parts: list[dict[str, Any]] = []
    refused: list[tuple[str, str]] = []
    for row in rows.to_dict("records"):
        decision = decisions[str(row["key"])]
        if decision.customer:
            row["customerNumber"] = decision.customer.upper()
        try:
            parts += split_row(row, decision.invoice, open_minor, decimals)
        except ValueError as exc:
            refused.append((str(row["key"]), str(exc)))
    frame = pd.DataFrame(parts, columns=list(rows.columns))
    return frame.astype(rows.dtypes.to_dict()) if not frame.empty else rows.iloc[0:0], refused


def _in_split_order(rows: pd.DataFrame, chosen: pd.DataFrame) -> pd.DataFrame:
    """The resolved rows back in the order the person wrote them: the lines of a split receipt
    consecutive (its invoices first, then its rest on account), as the matcher's split has them."""
    place = {key: n for n, key in enumerate(chosen["key"].astype("str"))}
    order = rows["key"].astype("str").map(place).fillna(len(place)).to_numpy()
    return rows.iloc[order.argsort(kind="stable")].reset_index(drop=True)


def _as_decided(rows: pd.DataFrame, decisions: Mapping[str, Decision]) -> pd.DataFrame:
    """The rows as the person said: the invoice they chose (and only that one), the customer they named."""
    out = rows.copy()
    chosen = [decisions[k] for k in out["key"]]
    out["appliesToInvoiceNumber"] = [d.invoice.upper() for d in chosen]
    out["invoiceCandidates"] = [d.invoice.upper() for d in chosen]
    out["customerNumber"] = [
        d.customer.upper() if d.customer else (c if d.kind == APPLY_INVOICE else "")
        for d, c in zip(chosen, out["customerNumber"], strict=True)
    ]
    return out


def _refusal(row: Mapping[Any, Any]) -> str:
    """Why resolution will not carry a decision out, in finance words."""
    reason = str(row["reason_code"])
    return f"{describe(reason)} ({row['message']})" if row.get("message") else describe(reason)


def applied_by_decisions(rows: pd.DataFrame, decimals: int) -> dict[str, Decimal]:
    """What the decided rows about to be posted apply per invoice (BC's sign), so the rows resolved
    after them in the same run see those invoices' remaining amounts lowered (``net_of_pending``)."""
    out: dict[str, Decimal] = {}
    if rows.empty:
        return out
    for number, minor in zip(rows["appliesToInvoiceNumber"], rows["amount_minor"], strict=True):
        if number:
            key = str(number).upper()
            out[key] = out.get(key, Decimal(0)) + minor_to_decimal(int(minor), decimals)
    return out


def add_decided_rows(ledger: Ledger, scope: str, inputs: Inputs) -> None:
    """Every decided row not in this run's files joins the run (from the ledger): a decision is
    carried out by the next run, whichever files it reads, and counted as a line of that run."""
    decided = ledger.reviews(scope, states=("decided",))
    present = set(inputs.keys)
    records = [r for k, r in decided.items() if k not in present]
    if not records:
        return
    extra = rows_of(records)
    inputs.rows = pd.concat([inputs.rows, extra], ignore_index=True) if not inputs.rows.empty else extra
    inputs.decided += len(records)


def settle_decisions(ctx: RunContext, held: ReviewSplit, lines: pd.DataFrame) -> None:
    """After the run: a decided row now in a journal (this run, or an earlier one that stopped
    before saying so) or skipped is done; one BC refused waits again with BC's words; one not sent
    stays decided for the next run."""
    if ctx.options.dry_run:
        return
    decided = set(ctx.ledger.reviews(ctx.scope, lines["key"].astype("str").tolist(), states=("decided",)))
    if not decided:
        return
    done: list[tuple[str, str]] = []
    refused: list[tuple[str, str]] = []
    for r in lines[lines["key"].isin(decided).to_numpy()].to_dict("records"):
        key, state = str(r["key"]), str(r["state"])
        if state in ("posted", "already_posted"):
            journal = f"journal {r['journal_code']}" if r.get("journal_code") else "a journal"
            done.append((key, f"added to {journal} by run {ctx.run_id}" if state == "posted" else str(r["message"])))
        elif state == "skipped":
            done.append((key, f"skipped: {held.decisions[key].note}" if key in held.decisions else "skipped"))
        elif state == "rejected":
            refused.append((key, f"Business Central refused it: {r['message']}"))
    ctx.ledger.finish_reviews(ctx.scope, done)
    ctx.ledger.refuse_decisions(ctx.scope, refused)


def resume_splits(ledger: Ledger, scope: str, held: ReviewSplit) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """Splits an earlier version carried out under its old keys (``pipeline.split.legacy_part_keys``)
    while the ledger still says "decided" (it stopped before recording the decision done). A split
    in today's form needs nothing here: its ``#>`` lines are found by the ledger lookup of every run.

    Every part in BC: reported as imported (its lines in today's form, so the report shows the
    receipt as one line), never split again. Some parts recorded but not all in BC: refused, a
    person checks the journal, since sending the split again could pay an invoice twice. Returns
    the lines, and the refused splits; both leave ``held.decided``."""
    splits = [k for k, d in held.decisions.items() if d.kind == SPLIT]
    wanted = {k: legacy_part_keys(k, _parts_of(held.decisions[k].invoice)) for k in splits}
    known = ledger.lookup(scope, [p for parts in wanted.values() for p in parts]) if wanted else {}
    currency_of = dict(zip(held.decided["key"].astype("str"), held.decided["currency"].astype("str"), strict=True))
    lines: list[dict[str, Any]] = []
    finished: list[str] = []
    partly: list[tuple[str, str]] = []
    for key, parts in wanted.items():
        recorded = [known[p] for p in parts if p in known]
        created = [r for r in recorded if r.state == "created"]
        if created and len(created) == len(parts):
            finished.append(key)
            lines += [{**_imported_part(key, r), "currency": currency_of[key]} for r in created]
        elif recorded:
            partly.append((key, f"{len(created)} of {len(parts)} parts are in BC already; check the journal"))
    waiting = held.decided[held.decided["key"].isin(dict(partly)).to_numpy()].copy()
    waiting["reason_code"] = str(Review.SEVERAL_INVOICES)
    waiting["message"] = [f"decision refused: {dict(partly)[k]}" for k in waiting["key"]]
    waiting["lineNumber"] = pd.NA
    gone = set(finished) | set(dict(partly))
    held.decided = held.decided[~held.decided["key"].isin(gone).to_numpy()].reset_index(drop=True)
    imported = payment_lines(pd.DataFrame(lines), "already_posted")
    return pd.concat([imported, payment_lines(waiting, "needs_review")], ignore_index=True), partly


def _parts_of(text: str) -> int:
    """How many parts a split decision names (0 when it cannot be read: no old keys to look for)."""
    try:
        return len(parse_parts(text))
    except ValueError:
        return 0


def _imported_part(receipt: str, record: RowRecord) -> dict[str, Any]:
    """A part in BC under an old key, as a line of today's form (``#>`` key) for the report."""
    payload = record.payload
    invoice = str(payload.get("appliesToInvoiceNumber", ""))
    return {
        "source_file": record.source_file,
        "source_row": record.source_row,
        "key": split_line_key(receipt, invoice),
        "lineNumber": record.line_number,
        "customerNumber": payload.get("customerNumber", ""),
        "appliesToInvoiceNumber": invoice,
        "amount_minor": exact_minor(payload.get("amount", "0"), _places(str(payload.get("amount", "0")))),
        "postingDate": payload.get("postingDate", ""),
        "documentNumber": payload.get("documentNumber", ""),
        "externalDocumentNumber": payload.get("externalDocumentNumber", ""),
        "description": payload.get("description", ""),
        "journal_code": record.journal_code,
        "bc_id": record.bc_id or "",
        "message": f"already imported by run {record.run_id} into journal {record.journal_code}",
    }


def _places(amount: str) -> int:
    """Decimals of an exact amount text as the ledger keeps it ("-1190.00" -> 2)."""
    return len(amount.partition(".")[2])
