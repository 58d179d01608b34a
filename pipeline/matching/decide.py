"""The decision for one receipt: which customer, which invoices, how sure, and why.

Rules, in the words the README uses for finance staff:

1. **Who paid.** A customer number in the file, or a payer-map entry, names the customer outright
   (weight 100); so does the payer memory (``memory``): an account confirmed for one customer
   before (weight 100), else a payer name confirmed for one customer before (``MEMORY_NAME``). The
   payer is then *known*. Otherwise every customer the evidence points to is a
   candidate: the bill-to customer of each open invoice found in the text (``references``), and
   each customer whose name scores at least ``name_close`` against the payer's name (``names``).
   A candidate's weight is its strongest piece of evidence, plus ``AGREEMENT_BONUS`` once when two
   independent kinds of evidence (a name, an invoice number, an amount) agree.
2. **Conflicting evidence is a review, not a vote.** When the payer is known and the text names an
   open invoice of *another* customer (and none of the known customer's), nothing is applied: the
   memory says B, the invoice is A's, a person decides.
3. **Which invoices.** For the chosen customer, in this order: the invoices the text names (they
   always win); else the one open invoice whose remaining amount equals the receipt; else the one
   set of open invoices whose remaining amounts add up to it exactly (``subsets``); else, when a
   tolerance is configured, the one set within it (the difference stays open on the last invoice);
   else no invoice (the amount searches look only at invoices due within ``date_window_days`` of
   the receipt's date when that is configured): the receipt is a payment on account (unapplied),
   by the ``unapplied`` policy.
   Invoices named but paid beyond their remaining amount leave a *leftover*: it pays the one
   invoice or set of the customer's other open invoices it fits exactly, or else is posted
   unapplied or goes to a person (``leftover`` policy).
4. **How sure.** The confidence is the lower of the customer's weight and the invoices' weight.
   At or above ``automatic`` the receipt is posted as decided; between ``propose`` and
   ``automatic`` it goes to a person with the best candidates ranked (``match_uncertain``); below
   ``propose`` it goes to a person with "no candidate". Two candidates with the same confidence,
   two invoices of the same amount or two sets that fit are never chosen between: the receipt goes
   to a person with all of them listed (``match_ambiguous``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from pipeline.config import MatchingRules, Policies
from pipeline.matching.evidence import (
    AGREEMENT_BONUS,
    AMOUNT_DISAGREES,
    AMOUNT_ONLY,
    MEMORY_NAME,
    SHARED_NAME,
    WEIGHTS,
    Fact,
)
from pipeline.matching.memory import ACCOUNT, NAME, PayerMemory, Remembered, account_key, name_key
from pipeline.matching.names import NameIndex
from pipeline.matching.references import Found, ReferenceIndex, Way
from pipeline.matching.subsets import SubsetResult, find_subsets
from pipeline.money import minor_text
from schemas.codes import Evidence, Flag, Review

_WAY_CODE = {
    Way.STRUCTURED: Evidence.STRUCTURED_REFERENCE,
    Way.EXACT: Evidence.INVOICE_EXACT,
    Way.DIGITS: Evidence.INVOICE_DIGITS,
    Way.ONE_EDIT: Evidence.INVOICE_ONE_EDIT,
    Way.TAIL: Evidence.INVOICE_TAIL,
}
_SHOWN = 5
_PLANNED = 3
"""Plans (invoice searches) are made for the three customers with the strongest evidence only."""


@dataclass
class Book:
    """Customers and open invoices as the matcher reads them (positions as the resolver numbers
    them). ``left`` is what stays open of each invoice *in this run*, in minor units: it falls as
    receipts are applied, so two receipts never pay the same cent; -1 marks an amount finer than
    the currency (never combined)."""

    decimals: int
    customer_numbers: list[str]
    customer_names: list[str]
    customer_currency: list[str]
    invoice_numbers: list[str]
    invoice_customer: list[int]
    invoice_currency: list[str]
    left: list[int]
    open_of: dict[int, list[int]]
    names: NameIndex
    refs: ReferenceIndex
    payer_map: list[tuple[re.Pattern[str], int, str]]
    twins: set[int] = field(default_factory=set)
    """Invoices whose number BC lists more than once among open invoices: never applied by the matcher."""
    by_amount: dict[int, list[int]] | None = None
    """Invoices by their open amount when the run started (built on first use; checked against ``left``)."""
    memory: PayerMemory = field(default_factory=PayerMemory)
    """Payer accounts and names confirmed for a customer in earlier runs (``memory``)."""
    due_day: list[int] = field(default_factory=list)
    """Each invoice's due date as a day number (``date.toordinal``), -1 when it has none."""
    position: dict[str, int] = field(default_factory=dict)
    """Customer number -> position."""

    def money(self, minor: int, currency: str) -> str:
        """``119000`` -> ``"1190.00 EUR"``."""
        return f"{minor_text(minor, self.decimals)} {currency}"

    def who(self, c: int) -> str:
        """``customer C10000 'Müller Maschinenbau GmbH'``."""
        name = self.customer_names[c]
        return f"customer {self.customer_numbers[c]}" + (f" '{name}'" if name else "")

    def invoice(self, p: int) -> str:
        """``RE-2026-0101 (C10000, open 1190.00 EUR)``."""
        owner = self.invoice_customer[p]
        holder = self.customer_numbers[owner] if owner >= 0 else "?"
        return (
            f"{self.invoice_numbers[p]} ({holder}, open {self.money(max(self.left[p], 0), self.invoice_currency[p])})"
        )


def build_book(
    decimals: int,
    customers: tuple[list[str], list[str], list[str]],
    invoices: tuple[list[str], list[int], list[str], list[int], list[str]],
    rules: MatchingRules,
    memory: PayerMemory | None = None,
) -> Book:
    """The matcher's view: customers (numbers, names, currencies) and open invoices (numbers, bill-to
    position, currency, open minor units, due date ``YYYY-MM-DD``), the indexes over them, the payer
    map and the payer memory."""
    numbers, names, currencies = customers
    inv_numbers, inv_customer, inv_currency, left, due = invoices
    open_of: dict[int, list[int]] = {}
    for p in sorted(range(len(inv_numbers)), key=lambda q: (due[q] or "9999", inv_numbers[q])):
        if inv_customer[p] >= 0:
            open_of.setdefault(inv_customer[p], []).append(p)
    position = {n: i for i, n in enumerate(numbers)}
    payer_map = [
        (re.compile(entry.pattern, re.IGNORECASE), position.get(entry.customer.upper(), -1), entry.pattern)
        for entry in rules.payer_map
    ]
    return Book(
        decimals,
        numbers,
        names,
        currencies,
        inv_numbers,
        inv_customer,
        inv_currency,
        list(left),
        open_of,
        NameIndex(names, close=float(rules.name_close)),
        ReferenceIndex(inv_numbers),
        payer_map,
        memory=memory or PayerMemory(),
        due_day=[day_number(d) for d in due],
        position=position,
    )


def day_number(text: str | None) -> int:
    """``2026-11-03`` -> its day number (``date.toordinal``); -1 when there is no such date."""
    try:
        return dt.date.fromisoformat(str(text or "")[:10]).toordinal()
    except ValueError:
        return -1


@dataclass(frozen=True)
class Receipt:
    """One receipt as the matcher reads it: amount (positive minor units), currency, the customer
    the file names (-1 when none), the payer's name and every free text (reference, description,
    the invoice numbers the file names)."""

    paid: int
    currency: str
    customer: int
    payer: str
    text: str
    account: str = ""
    """The payer's IBAN or account number as the file gives it ("" when it gives none)."""
    day: int = -1
    """The receipt's date as a day number (``day_number``), for ``date_window_days``."""


@dataclass
class Decision:
    """What to do with one receipt. ``lines``: (invoice position or -1 for unapplied, minor units),
    summing exactly to the receipt; ``review``: a ``Review`` code, "" when posted as decided;
    ``candidates``: what a person chooses from, best first; ``found``: whether any candidate at all
    was found (else the resolver's own reason stands)."""

    customer: int = -1
    lines: list[tuple[int, int]] = field(default_factory=list)
    confidence: int = 0
    review: str = ""
    facts: list[Fact] = field(default_factory=list)
    candidates: list[str] = field(default_factory=list)
    flags: set[Flag] = field(default_factory=set)
    message: str = ""
    found: bool = True
    strength: int = 0
    """The customer's evidence before it is capped at 100: two candidates at 100% are told apart by
    it (a name with its legal form and the exact amount beats the same name without)."""


@dataclass
class _Plan:
    """The invoices one customer's receipt would pay: lines, the facts and weight behind them."""

    lines: list[tuple[int, int]]
    facts: list[Fact]
    weight: int
    flags: set[Flag] = field(default_factory=set)
    review: str = ""
    message: str = ""
    candidates: list[str] = field(default_factory=list)
    by_amount: bool = False


@dataclass
class _Candidate:
    customer: int
    facts: list[Fact] = field(default_factory=list)
    kinds: set[str] = field(default_factory=set)
    weight: int = 0
    named: list[Found] = field(default_factory=list)

    def add(self, fact: Fact, kind: str) -> None:
        self.facts.append(fact)
        self.kinds.add(kind)
        self.weight = max(self.weight, fact.weight)


def decide(r: Receipt, book: Book, policy: Policies) -> Decision:
    """The decision for one receipt (module docstring); applied amounts are taken off ``book.left``."""
    rules = policy.matching
    found = [f for f in book.refs.find(r.text) if book.invoice_currency[f.invoice] == r.currency]
    if not rules.uses("references"):
        found = []
    elif not rules.uses("loose_references"):
        found = [f for f in found if f.way <= Way.EXACT]
    known, known_fact = _known_payer(r, book, rules)
    if known >= 0:
        conflict = _conflict(known, found, book)
        if conflict is not None:
            return conflict
    candidates = _candidates(r, book, found, known, known_fact, rules)
    if not candidates:
        return _amount_only(r, book) if rules.uses("amount") else Decision(found=False, message="no candidate")
    ranked = _ranked(r, book, candidates, policy)
    decision = _choose(r, book, ranked, rules)
    if not decision.review:
        for p, amount in decision.lines:
            if p >= 0:
                book.left[p] -= amount
    return decision


def _known_payer(r: Receipt, book: Book, rules: MatchingRules) -> tuple[int, Fact | None]:
    """The customer the file, the payer map or the payer memory names, with the fact that says so."""
    if r.customer >= 0:
        return r.customer, Fact(Evidence.CUSTOMER_NUMBER, f"the file names {book.who(r.customer)}", 100)
    for pattern, c, text in book.payer_map:
        if c >= 0 and (pattern.search(r.payer) or pattern.search(r.text)):
            return c, Fact(Evidence.PAYER_MAP, f"the payer map entry {text!r} names {book.who(c)}", 100)
    if not book.memory or not rules.uses("payer_memory"):
        return -1, None
    for kind, said, identity in ((ACCOUNT, r.account, account_key(r.account)), (NAME, r.payer, name_key(r.payer))):
        found = book.memory.recall(kind, identity)
        c = book.position.get(found[0].customer, -1) if len(found) == 1 else -1
        if c >= 0 and book.customer_currency[c] == r.currency:
            return c, _memory_fact(kind, said.strip(), found[0], book.who(c))
    return -1, None


def _memory_fact(kind: str, said: str, seen: Remembered, who: str) -> Fact:
    """``payer account DE89... was confirmed for customer C10000 'X' on 2026-11-03 (run ...)``."""
    how = "by a person's decision" if seen.source == "person" else "by a posted payment"
    times = f", {seen.times} times" if seen.times > 1 else ""
    text = f"was confirmed for {who} on {seen.confirmed[:10]} (run {seen.run_id}, {how}{times})"
    if kind == ACCOUNT:
        return Fact(
            Evidence.PAYER_ACCOUNT_MEMORY, f"payer account {said} {text}", WEIGHTS[Evidence.PAYER_ACCOUNT_MEMORY]
        )
    return Fact(Evidence.PAYER_NAME_MEMORY, f"payer name {said!r} {text}", MEMORY_NAME)


def _conflict(known: int, found: Sequence[Found], book: Book) -> Decision | None:
    """A known payer whose text names only other customers' invoices (by an exact or checked number)."""
    sure = [f for f in found if f.way <= Way.EXACT]
    others = [f for f in sure if book.invoice_customer[f.invoice] != known]
    if not others or any(book.invoice_customer[f.invoice] == known for f in found):
        return None
    listed = [book.invoice(f.invoice) for f in others]
    return Decision(
        customer=known,
        review=Review.CONFLICTING_EVIDENCE,
        message=(
            f"The payer is {book.who(known)}, but the text names invoice(s) {', '.join(listed)} of another "
            "customer: nothing is applied, a person decides"
        ),
        candidates=listed,
        facts=[Fact(_WAY_CODE[f.way], f"the text names invoice {book.invoice(f.invoice)}", 0) for f in others],
    )


def _candidates(
    r: Receipt, book: Book, found: Sequence[Found], known: int, known_fact: Fact | None, rules: MatchingRules
) -> dict[int, _Candidate]:
    """Every customer the evidence points to, with its facts (rule 1)."""
    words: dict[str, set[int]] = {}
    for f in found:
        words.setdefault(f.word, set()).add(f.invoice)
    out: dict[int, _Candidate] = {}
    if known >= 0 and known_fact is not None:
        out[known] = _Candidate(known)
        out[known].add(known_fact, "known")
    for f in found:
        c = book.invoice_customer[f.invoice]
        if c < 0 or (known >= 0 and c != known):
            continue
        cand = out.setdefault(c, _Candidate(c))
        several = len(words[f.word]) > 1
        text = f"the text {f.word!r} names invoice {book.invoice(f.invoice)}"
        if several:
            text += f" (the word fits {len(words[f.word])} open invoices)"
        weight = WEIGHTS[_WAY_CODE[f.way]] if not several else AMOUNT_ONLY
        cand.add(Fact(_WAY_CODE[f.way], text, weight), "reference")
        if not several:
            cand.named.append(f)
    if known < 0 and rules.uses("payer_name"):
        hits = [
            h
            for h in book.names.search(r.payer)
            if book.customer_currency[h.customer] == r.currency and h.score >= rules.name_close
        ]
        same = sum(1 for h in hits if h.score >= 95)
        for hit in hits:
            cand = out.setdefault(hit.customer, _Candidate(hit.customer))
            score = int(hit.score)
            text = f"payer name {r.payer.strip()!r} matches {book.who(hit.customer)} ({score}%)"
            if same > 1 and hit.score >= 95:
                score = min(score, SHARED_NAME)
                text += f", but {same} customers have this name"
            cand.add(Fact(Evidence.PAYER_NAME, text, score), "name")
    return out


def _ranked(r: Receipt, book: Book, candidates: dict[int, _Candidate], policy: Policies) -> list[tuple[int, Decision]]:
    """Each candidate customer with its plan and confidence, best first (ties in customer order)."""
    rules = policy.matching
    ranked: list[tuple[int, Decision]] = []
    strongest = sorted(candidates.values(), key=lambda x: (-x.weight, x.customer))[:_PLANNED]
    for c, cand in sorted((x.customer, x) for x in strongest):
        if cand.weight < rules.propose and len(candidates) > 1:
            continue
        plan = _plan(r, book, c, cand.named, policy)
        kinds = len(cand.kinds | ({"amount"} if plan.by_amount else set()))
        strength = cand.weight + (AGREEMENT_BONUS if kinds > 1 else 0)  # above 100 only to rank
        confidence = min(100, strength, plan.weight)
        decision = Decision(
            customer=c,
            lines=plan.lines,
            confidence=confidence,
            review=plan.review,
            facts=[*cand.facts, *plan.facts],
            candidates=plan.candidates,
            flags=plan.flags | {Flag.MATCHED_BY_EVIDENCE},
            message=plan.message,
            strength=strength,
        )
        ranked.append((confidence, decision))
    ranked.sort(key=lambda item: (-item[0], -item[1].strength))
    return ranked


def _choose(r: Receipt, book: Book, ranked: list[tuple[int, Decision]], rules: MatchingRules) -> Decision:
    """Rule 4: thresholds and ties."""
    if not ranked or ranked[0][0] < rules.propose:
        shown = [f"{book.who(d.customer)} ({conf}%)" for conf, d in ranked[:_SHOWN]]
        facts = [f for _, d in ranked[:_SHOWN] for f in d.facts]
        return Decision(found=False, facts=facts, candidates=shown, message="no candidate is sure enough to propose")
    best_conf, best = ranked[0]
    tied = [d for conf, d in ranked if conf == best_conf and d.strength == best.strength]

    def listing() -> list[str]:  # written only for a receipt that goes to a person
        return [f"{book.who(d.customer)} ({conf}%): {_lines_text(book, d, r.currency)}" for conf, d in ranked[:_SHOWN]]

    if len(tied) > 1:
        names = " and ".join(book.who(d.customer) for d in tied[:_SHOWN])
        return Decision(
            review=Review.MATCH_AMBIGUOUS,
            confidence=best_conf,
            facts=[f for d in tied for f in d.facts],
            candidates=listing(),
            message=f"{names} fit the evidence equally well ({best_conf}%): a person chooses",
        )
    if best.review:
        best.candidates = best.candidates or listing()
        return best
    if best_conf < rules.automatic:
        best.review = Review.MATCH_UNCERTAIN
        best.candidates = listing()
        best.message = (
            f"The best candidate is {book.who(best.customer)} at {best_conf}%, below the {rules.automatic}% needed "
            f"to post without a person: {_lines_text(book, best, r.currency)}"
        )
    return best


def _lines_text(book: Book, d: Decision, currency: str) -> str:
    parts = [
        f"{book.invoice_numbers[p]} {book.money(amount, currency)}"
        if p >= 0
        else f"unapplied {book.money(amount, currency)}"
        for p, amount in d.lines
    ]
    return ", ".join(parts) if parts else "no lines"


def _amount_only(r: Receipt, book: Book) -> Decision:
    """No customer evidence at all: an open invoice of exactly this amount is a proposal, never a post."""
    if book.by_amount is None:
        book.by_amount = {}
        for p, left in enumerate(book.left):
            book.by_amount.setdefault(left, []).append(p)
    candidates = book.by_amount.get(r.paid, [])
    fits = [p for p in candidates if book.left[p] == r.paid and book.invoice_currency[p] == r.currency]
    if not fits:
        return Decision(found=False, message="no customer and no open invoice fits the receipt")
    facts = [
        Fact(Evidence.AMOUNT_ONE_INVOICE, f"the amount {book.money(r.paid, r.currency)} equals {book.invoice(p)}", 0)
        for p in fits[:_SHOWN]
    ]
    if len(fits) > 1:
        return Decision(
            review=Review.MATCH_AMBIGUOUS,
            facts=facts,
            candidates=[book.invoice(p) for p in fits[:_SHOWN]],
            message=f"Nothing names the payer, and {len(fits)} open invoices are open for exactly this amount",
        )
    p = fits[0]
    return Decision(
        customer=book.invoice_customer[p],
        lines=[(p, r.paid)],
        confidence=AMOUNT_ONLY,
        review=Review.MATCH_UNCERTAIN,
        facts=[Fact(Evidence.AMOUNT_ONE_INVOICE, facts[0].text + "; nothing else points to its customer", AMOUNT_ONLY)],
        candidates=[book.invoice(p)],
        message=f"Only the amount points to invoice {book.invoice(p)}: a person confirms",
    )


# --- which invoices (rule 3) ----------------------------------------------------------------------


def _plan(r: Receipt, book: Book, c: int, named: Sequence[Found], policy: Policies) -> _Plan:
    """The invoices customer ``c``'s receipt pays (rule 3)."""
    rules = policy.matching
    pool = [p for p in book.open_of.get(c, []) if book.invoice_currency[p] == r.currency and book.left[p] > 0]
    window = rules.date_window_days
    if window is not None and r.day >= 0:
        pool = [p for p in pool if book.due_day[p] < 0 or abs(book.due_day[p] - r.day) <= window]
    pool = pool[: rules.pool]
    twins = [f.invoice for f in named if f.invoice in book.twins]
    if twins:  # BC lists the number twice: the resolver's own review (several_invoices) stands
        return _Plan([], [], 100, review=Review.SEVERAL_INVOICES)
    mine = list(dict.fromkeys(f.invoice for f in named if book.left[f.invoice] > 0))
    if mine:
        weight = min(WEIGHTS[_WAY_CODE[f.way]] for f in named if f.invoice in mine)
        return _pay_named(r, book, mine, [p for p in pool if p not in mine], policy, weight)
    by_amount = _by_amount(r.paid, book, pool, rules, r.currency)
    if by_amount is not None:
        return by_amount
    return _unapplied(r, book, c, policy)


def _by_amount(paid: int, book: Book, pool: list[int], rules: MatchingRules, currency: str) -> _Plan | None:
    """One invoice of exactly the amount, else one set adding up to it, else one set within tolerance."""
    exact = [p for p in pool if book.left[p] == paid] if rules.uses("amount") else []
    if len(exact) == 1:
        text = f"the amount {book.money(paid, currency)} equals the open amount of {book.invoice(exact[0])}"
        fact = Fact(Evidence.AMOUNT_ONE_INVOICE, text, WEIGHTS[Evidence.AMOUNT_ONE_INVOICE])
        return _Plan([(exact[0], paid)], [fact], fact.weight, by_amount=True)
    if len(exact) > 1:
        return _Plan(
            [],
            [],
            100,
            review=Review.MATCH_AMBIGUOUS,
            message=f"{len(exact)} open invoices of the customer are open for exactly {book.money(paid, currency)}",
            candidates=[book.invoice(p) for p in exact[:_SHOWN]],
        )
    if not rules.uses("combinations"):
        return None
    amounts = [book.left[p] for p in pool]
    result = find_subsets(amounts, paid, paid, max_invoices=rules.max_invoices)
    plan = _from_subsets(result, paid, book, pool, Evidence.AMOUNT_COMBINATION, currency)
    if plan is not None or result.exhausted:
        return plan or _too_many(book, pool, paid, currency)
    slack = _tolerance(paid, rules, book.decimals)
    if slack <= 0:
        return None
    result = find_subsets(amounts, paid + 1, paid + slack, max_invoices=rules.max_invoices)
    return _from_subsets(result, paid, book, pool, Evidence.AMOUNT_WITHIN_TOLERANCE, currency)


def _tolerance(paid: int, rules: MatchingRules, decimals: int) -> int:
    """How much more than the receipt a set of invoices may be: the fixed tolerance plus the
    early-payment discount, in minor units (rounded down: never more than configured)."""
    fixed = int(rules.tolerance.scaleb(decimals))
    discount = int((rules.discount_percent * paid) // 100)
    return fixed + discount


def _from_subsets(
    result: SubsetResult, paid: int, book: Book, pool: list[int], code: Evidence, currency: str
) -> _Plan | None:
    if result.count == 0:
        return None
    sets = [[pool[i] for i in s] for s in result.sets]
    if result.unique is None:
        listed = ["; ".join(book.invoice(p) for p in s) for s in sets]
        return _Plan(
            [],
            [],
            100,
            review=Review.MATCH_AMBIGUOUS,
            message=f"{'Two or more' if result.count > 1 else 'Several'} sets of open invoices add up to "
            f"{book.money(paid, currency)}: {' | '.join(listed)}",
            candidates=listed,
        )
    chosen = sets[0]
    total = sum(book.left[p] for p in chosen)
    lines = [(p, book.left[p]) for p in chosen]
    flags: set[Flag] = {Flag.SPLIT} if len(chosen) > 1 else set()
    text = f"the amount {book.money(paid, currency)} equals the sum of exactly one set of open invoices: " + ", ".join(
        book.invoice(p) for p in chosen
    )
    if total != paid:
        last, amount = lines[-1]
        lines[-1] = (last, amount - (total - paid))
        flags.add(Flag.SHORT_PAYMENT)
        text = (
            f"the amount {book.money(paid, currency)} is {book.money(total - paid, currency)} short of exactly one set "
            f"of open invoices within the tolerance: {', '.join(book.invoice(p) for p in chosen)}; "
            f"{book.money(total - paid, currency)} stays open on {book.invoice_numbers[last]}"
        )
    fact = Fact(code, text, WEIGHTS[code])
    return _Plan(lines, [fact], fact.weight, flags, by_amount=True)


def _too_many(book: Book, pool: list[int], paid: int, currency: str) -> _Plan:
    return _Plan(
        [],
        [],
        100,
        review=Review.MATCH_UNCERTAIN,
        message=f"The search for the set of {len(pool)} open invoices that adds up to {book.money(paid, currency)} "
        "was too large to finish: a person decides",
        candidates=[book.invoice(p) for p in pool[:_SHOWN]],
    )


def _unapplied(r: Receipt, book: Book, c: int, policy: Policies) -> _Plan:
    """No invoice fits: a payment on account, or a person, by the ``unapplied`` policy."""
    fact = Fact(
        Evidence.NO_INVOICE_FITS,
        f"no open invoice or set of open invoices of {book.who(c)} fits {book.money(r.paid, r.currency)}",
        100,
    )
    plan = _Plan([(-1, r.paid)], [fact], 100)
    if policy.unapplied == "needs_review":
        plan.review = Review.UNAPPLIED
        plan.message = f"Payment of {book.money(r.paid, r.currency)} from {book.who(c)} fits no open invoice"
    return plan


def _pay_named(r: Receipt, book: Book, named: list[int], rest: list[int], policy: Policies, weight: int) -> _Plan:
    """Named invoices win: paid in the order named; less pays the last one partly, more leaves a leftover."""
    total = sum(book.left[p] for p in named)
    text = ", ".join(book.invoice(p) for p in named)
    if r.paid <= total - book.left[named[-1]]:
        # not even the invoices before the last are covered: which to leave open is a person's call
        return _Plan([], [], weight, review=Review.SEVERAL_INVOICES)
    if r.paid <= total:
        lines, left_to_pay = [], r.paid
        for p in named:
            if left_to_pay <= 0:
                break
            take = min(book.left[p], left_to_pay)
            lines.append((p, take))
            left_to_pay -= take
        flags: set[Flag] = {Flag.SPLIT} if len(lines) > 1 else set()
        plan = _Plan(lines, [], weight, flags)
        if r.paid < total and weight < WEIGHTS[Evidence.INVOICE_EXACT]:
            plan.weight -= AMOUNT_DISAGREES
        if r.paid < total:
            plan.flags.add(Flag.PARTIAL_PAYMENT)
            short = book.money(total - r.paid, r.currency)
            plan.message = f"Payment of {book.money(r.paid, r.currency)} pays less than the invoices named ({text})"
            plan.facts.append(Fact(Evidence.NO_INVOICE_FITS, f"{short} of the invoices named stays open", weight))
            if policy.partial_payment == "needs_review":
                plan.review = Review.PARTIAL_PAYMENT
        return plan
    return _leftover(r, book, named, rest, policy, weight)


def _leftover(r: Receipt, book: Book, named: list[int], rest: list[int], policy: Policies, weight: int) -> _Plan:
    """The named invoices are paid in full; what is left pays the one invoice or set it fits, else it
    is posted unapplied or goes to a person (``leftover`` policy)."""
    lines = [(p, book.left[p]) for p in named]
    extra = r.paid - sum(amount for _, amount in lines)
    exact_only = policy.matching.model_copy(update={"tolerance": Decimal(0), "discount_percent": Decimal(0)})
    fits = _by_amount(extra, book, rest, exact_only, r.currency) if rest else None
    plan = _Plan(lines, [], weight, {Flag.SPLIT})
    if fits is not None and not fits.review:
        plan.lines += fits.lines
        plan.facts += fits.facts
        plan.flags |= fits.flags
        return plan
    left = book.money(extra, r.currency)
    if policy.matching.leftover == "post_unapplied":
        plan.lines.append((-1, extra))
        plan.flags.add(Flag.LEFTOVER_UNAPPLIED)
        plan.facts.append(Fact(Evidence.NO_INVOICE_FITS, f"{left} left after the invoices named is unapplied", weight))
        return plan
    plan.review = Review.LEFTOVER
    plan.message = (
        f"Payment of {book.money(r.paid, r.currency)} is {left} more than the invoices named "
        f"({', '.join(book.invoice(p) for p in named)}); no other open invoice fits the rest"
    )
    return plan


__all__ = ["Book", "Decision", "Receipt", "build_book", "decide"]
