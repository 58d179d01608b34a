"""Cash application on a seeded, labelled statement: automatic-match rate, precision of what is
posted automatically, ambiguous receipts left for a person, per category, and the matcher's time.

The company: ``--customers`` customers with realistic names from several countries and legal forms
(a few pairs share a name once the legal form is set aside), about ten open invoices each, some
customers with many invoices of one identical amount. The statement: ``--receipts`` receipts of the
kinds below, each labelled with the answer a careful person would give, worked out here from the
generated data alone (brute force over the customer's invoices), never from the matcher:

* ``exact_keys``: customer number and invoice number in the file;
* ``invoice_in_text``: only the invoice number, somewhere in the free text;
* ``invoice_mangled``: the invoice number with another prefix, separators, zeros or O for 0;
* ``name_amount``: the payer's name (as a bank writes it) and the open amount of one invoice;
* ``name_lump``: the payer's name and the sum of two to four of its invoices, no number;
* ``remittance``: two or three invoice numbers in the text and their sum;
* ``on_account``: the payer's name and an amount no invoice or set of invoices fits;
* ``ambiguous``: a name two customers share, or an amount equal to two invoices of the customer:
  only a person can tell (the label is "review");
* ``unknown``: a payer nobody knows and an amount nothing fits ("review").

A posted line is a false match when its customer or its invoice differs from the label. Prints a
table; never asserts (the tests do that on hand-made cases).

Then the payer memory (``pipeline.matching.memory``), on the same company: every customer has an
IBAN; a **history month** of receipts naming the customer number (posted by the rules) and of
receipts nobody can place (sent to a person) is resolved, and the memory learns from the posted
rows only, through a real ledger file, as a run does. The **test month**'s receipts carry no
usable name ("SEPA GUTSCHRIFT"):

* ``account_amount``: an account seen in the history month and the open amount of one invoice;
* ``account_conflict``: an account seen as customer B's, a text naming an invoice of customer A
  (the exact rules would follow the invoice's bill-to): only a person can tell ("review");
* ``account_unseen``: an account that only ever paid in rows sent to a person, and the amount of
  one invoice: an amount alone is a proposal ("review").
"""

from __future__ import annotations

import argparse
import itertools
import random
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.config import MatchingRules, Policies
from pipeline.ledger import Ledger
from pipeline.matching import find_subsets
from pipeline.matching.memory import PayerMemory, Remembered, lessons
from pipeline.normalize import PAYMENT_COLUMNS
from pipeline.resolve import resolve

FIRST = [
    "Müller",
    "Schäfer",
    "Weber",
    "Fernández",
    "Jansen",
    "Nowak",
    "Dubois",
    "Rossi",
    "Virtanen",
    "Andersson",
    "Kowalski",
    "García",
    "Martin",
    "Bianchi",
    "de Vries",
    "Novák",
    "Horváth",
    "Papadopoulos",
    "O'Brien",
    "Smith",
    "Lefèvre",
    "Bauer",
    "Hoffmann",
    "Peeters",
    "Silva",
    "Jensen",
    "Nieminen",
    "Costa",
    "Wagner",
    "Schmitt",
]
TRADE = [
    "Maschinenbau",
    "Bäckerei",
    "Logística",
    "Handel",
    "Transport",
    "Elektro",
    "Bau",
    "Consulting",
    "Software",
    "Metallbau",
    "Druckerei",
    "Reisen",
    "Textil",
    "Holz",
    "Medizintechnik",
    "Gastronomie",
    "Immobilien",
    "Foods",
    "Logistics",
    "Engineering",
    "Trading",
    "Systems",
    "Services",
    "Automotive",
    "Agrar",
    "Energie",
]
FORMS = [
    "GmbH",
    "AG",
    "KG",
    "GmbH & Co. KG",
    "S.L.",
    "S.A.",
    "B.V.",
    "N.V.",
    "Ltd",
    "Oy",
    "AB",
    "S.r.l.",
    "sp. z o.o.",
    "s.r.o.",
    "SARL",
    "Inc.",
]
KINDS = (
    "exact_keys",
    "invoice_in_text",
    "invoice_mangled",
    "name_amount",
    "name_lump",
    "remittance",
    "on_account",
    "ambiguous",
    "unknown",
)
SHARE = (0.15, 0.15, 0.10, 0.15, 0.10, 0.10, 0.10, 0.10, 0.05)


@dataclass
class Company:
    customers: list[dict[str, Any]] = field(default_factory=list)
    invoices: list[dict[str, Any]] = field(default_factory=list)
    open_of: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # customer -> (number, cents)
    twins: list[tuple[str, str]] = field(default_factory=list)  # customers sharing a name
    base: dict[str, str] = field(default_factory=dict)  # customer -> its name without the legal form


def company(rng: random.Random, customers: int) -> Company:
    """Customers with names of several countries and legal forms, about ten open invoices each."""
    out = Company()
    names: set[str] = set()
    for i in range(customers):
        while True:
            base = f"{rng.choice(FIRST)} {rng.choice(TRADE)}" + (f" {rng.choice(TRADE)}" if rng.random() < 0.3 else "")
            if base not in names:
                break
        names.add(base)
        number = f"C{10000 + i * 10}"
        out.customers.append(_customer(number, f"{base} {rng.choice(FORMS)}"))
        out.base[number] = base
        if i % 50 == 49:  # a second company of the same name under another legal form
            twin = f"C{10000 + i * 10 + 5}"
            out.customers.append(_customer(twin, f"{base} {rng.choice(FORMS)}"))
            out.base[twin] = base
            out.twins.append((number, twin))
    seq = 0
    for c in out.customers:
        count = rng.randint(3, 18)
        same = rng.randint(100, 900) * 100 if rng.random() < 0.1 else 0  # many invoices of one amount
        for _ in range(count):
            seq += 1
            cents = same or rng.randint(1_000, 2_000_000)
            number = f"RE-2026-{seq:05d}"
            out.invoices.append(
                _invoice(number, c["number"], cents, f"2026-{rng.randint(1, 3):02d}-{rng.randint(1, 28):02d}")
            )
            out.open_of.setdefault(c["number"], []).append((number, cents))
    return out


def _customer(number: str, name: str) -> dict[str, Any]:
    return {"id": f"id-{number}", "number": number, "displayName": name, "blocked": "_x0020_", "currencyCode": ""}


def _invoice(number: str, customer: str, cents: int, due: str) -> dict[str, Any]:
    return {
        "id": f"id-{number}",
        "number": number,
        "customerNumber": customer,
        "billToCustomerNumber": customer,
        "currencyCode": "",
        "remainingAmount": Decimal(cents).scaleb(-2),
        "status": "Open",
        "dueDate": due,
    }


def bank_name(name: str, rng: random.Random) -> str:
    """The payer's name as a bank writes it: upper case, umlauts spelled out, legal form dropped or not."""
    text = name
    if rng.random() < 0.5:
        text = text.upper().replace("Ü", "UE").replace("Ä", "AE").replace("Ö", "OE")
    if rng.random() < 0.4:
        text = " ".join(w for w in text.split() if w.strip(".").lower() not in {"gmbh", "ag", "kg", "ltd", "oy", "ab"})
    return text


@dataclass(frozen=True)
class Label:
    kind: str
    customer: str  # "" when the answer is "a person decides"
    invoices: tuple[str, ...]  # () for a payment on account


def _sets(pool: list[tuple[str, int]], cents: int, largest: int = 4) -> list[tuple[str, ...]]:
    """Every set of up to ``largest`` invoices adding up to ``cents``, by brute force (the label)."""
    found = []
    for size in range(1, largest + 1):
        for combo in itertools.combinations(pool, size):
            if sum(c for _, c in combo) == cents:
                found.append(tuple(n for n, _ in combo))
                if len(found) > 1:
                    return found
    return found


def receipts(co: Company, rng: random.Random, count: int) -> tuple[pd.DataFrame, list[Label]]:
    """``count`` labelled receipts (module docstring); each invoice is paid at most once."""
    rows: list[dict[str, Any]] = []
    labels: list[Label] = []
    used: set[str] = set()
    twin_of = dict(co.twins) | {b: a for a, b in co.twins}
    for i in range(count):
        kind = rng.choices(KINDS, weights=SHARE)[0]
        c = rng.choice(co.customers)
        pool = [(n, cents) for n, cents in co.open_of[c["number"]] if n not in used]
        if c["number"] in twin_of and kind in _BY_NAME:
            made = _twin(c, pool, co.base[c["number"]], rng)  # the name alone cannot tell the two apart
        else:
            made = _MAKERS[kind](c, pool, rng) or _MAKERS["unknown"](c, pool, rng)
        assert made is not None
        row, label = made
        used.update(label.invoices)
        rows.append(_row(i, row))
        labels.append(label)
    return pd.DataFrame(rows, columns=list(PAYMENT_COLUMNS)), labels


Made = tuple[dict[str, Any], Label] | None
Pool = list[tuple[str, int]]


def _twin(c: dict[str, Any], pool: Pool, base: str, rng: random.Random) -> Made:
    cents = rng.choice(pool)[1] if pool else 5000
    return {"payer": base, "cents": cents, "text": "Zahlung"}, Label("ambiguous", "", ())


def _unknown(c: dict[str, Any], pool: Pool, rng: random.Random) -> Made:
    return {"payer": "Privatperson Unbekannt", "cents": rng.randint(1, 99) * 7 + 13, "text": "Danke"}, Label(
        "unknown", "", ()
    )


def _exact_keys(c: dict[str, Any], pool: Pool, rng: random.Random) -> Made:
    if not pool:
        return None
    n, cents = rng.choice(pool)
    row = {"payer": bank_name(c["displayName"], rng), "cents": cents, "text": f"Rechnung {n}"}
    return {**row, "customer": c["number"], "invoice": n}, Label("exact_keys", c["number"], (n,))


def _invoice_in_text(c: dict[str, Any], pool: Pool, rng: random.Random) -> Made:
    if not pool:
        return None
    n, cents = rng.choice(pool)
    return {"payer": "Zahlung", "cents": cents, "text": f"Ihre Rechnung {n} vom Februar"}, Label(
        "invoice_in_text", c["number"], (n,)
    )


def _invoice_mangled(c: dict[str, Any], pool: Pool, rng: random.Random) -> Made:
    if not pool:
        return None
    n, cents = rng.choice(pool)
    digits = n.split("-", 1)[1]
    text = rng.choice(
        [f"INV {digits.replace('-', '/')}", f"RG{digits.replace('-', '')}", f"Re.Nr. {digits.replace('0', 'O', 1)}"]
    )
    payer = bank_name(c["displayName"], rng)
    return {"payer": payer, "cents": cents, "text": text}, Label("invoice_mangled", c["number"], (n,))


def _name_amount(c: dict[str, Any], pool: Pool, rng: random.Random) -> Made:
    amounts = Counter(cents for _, cents in pool)
    unique = [(n, cents) for n, cents in pool if amounts[cents] == 1]
    if not unique:
        return None
    n, cents = rng.choice(unique)
    payer = bank_name(c["displayName"], rng)
    return {"payer": payer, "cents": cents, "text": "Zahlung"}, Label("name_amount", c["number"], (n,))


def _name_lump(c: dict[str, Any], pool: Pool, rng: random.Random) -> Made:
    if not 3 <= len(pool) <= 20:
        return None
    chosen = rng.sample(pool, rng.randint(2, min(4, len(pool))))
    cents = sum(x for _, x in chosen)
    sets = _sets(pool, cents)
    label = Label("name_lump", c["number"], tuple(sorted(sets[0]))) if len(sets) == 1 else Label("ambiguous", "", ())
    return {"payer": bank_name(c["displayName"], rng), "cents": cents, "text": "Sammelzahlung"}, label


def _remittance(c: dict[str, Any], pool: Pool, rng: random.Random) -> Made:
    if len(pool) < 2:
        return None
    chosen = rng.sample(pool, rng.randint(2, min(3, len(pool))))
    text = "Remittance " + ", ".join(n for n, _ in chosen)
    row = {"payer": bank_name(c["displayName"], rng), "cents": sum(x for _, x in chosen), "text": text}
    return row, Label("remittance", c["number"], tuple(sorted(n for n, _ in chosen)))


def _on_account(c: dict[str, Any], pool: Pool, rng: random.Random) -> Made:
    cents = rng.randint(1, 99) * 100 + 37
    if len(pool) > 20 or _sets(pool, cents):
        return None
    payer = bank_name(c["displayName"], rng)
    return {"payer": payer, "cents": cents, "text": "Vorauszahlung"}, Label("on_account", c["number"], ())


def _ambiguous(c: dict[str, Any], pool: Pool, rng: random.Random) -> Made:
    amounts = Counter(cents for _, cents in pool)
    twins = [cents for cents, k in amounts.items() if k > 1]
    if not twins:
        return None
    payer = bank_name(c["displayName"], rng)
    return {"payer": payer, "cents": twins[0], "text": "Zahlung"}, Label("ambiguous", "", ())


_MAKERS = {
    "exact_keys": _exact_keys,
    "invoice_in_text": _invoice_in_text,
    "invoice_mangled": _invoice_mangled,
    "name_amount": _name_amount,
    "name_lump": _name_lump,
    "remittance": _remittance,
    "on_account": _on_account,
    "ambiguous": _ambiguous,
    "unknown": _unknown,
}
_BY_NAME = {"name_amount", "name_lump", "on_account", "ambiguous"}


def _row(i: int, r: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(PAYMENT_COLUMNS, "")
    row.update(
        lineNumber=(i + 1) * 10_000,
        postingDate=pd.Timestamp("2026-03-15"),
        documentNumber=f"B{i:06d}",
        externalDocumentNumber=f"TX{i}",
        customerNumber=r.get("customer", ""),
        appliesToInvoiceNumber=r.get("invoice", ""),
        invoiceCandidates=r.get("invoice", ""),
        amount_minor=-int(r["cents"]),
        currency="EUR",
        payer_account=r.get("account", ""),
        description=r["payer"],
        key=f"bench:tx:TX{i}",
        source_file="bench.csv",
        source_row=i + 2,
        payer_name=r["payer"],
        reference=r["text"],
    )
    return row


def score(frame: pd.DataFrame, labels: list[Label], result: Any) -> dict[str, Counter[str]]:
    """Per category: receipts, posted, posted wrong (a line to a wrong customer or invoice), review."""
    stats: dict[str, Counter[str]] = {}
    posted = result.rows.groupby("source_row")
    posted_rows = set(result.rows["source_row"])
    for row, label in zip(frame["source_row"].tolist(), labels, strict=True):
        s = stats.setdefault(label.kind, Counter())
        s["receipts"] += 1
        if row not in posted_rows:
            s["review"] += 1
            continue
        lines = posted.get_group(row)
        s["posted"] += 1
        invoices = tuple(sorted(x for x in lines["appliesToInvoiceNumber"] if x))
        right = label.customer != "" and set(lines["customerNumber"]) == {label.customer} and invoices == label.invoices
        s["posted_wrong"] += 0 if right else 1
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--receipts", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    co = company(rng, args.customers)
    frame, labels = receipts(co, rng, args.receipts)
    for column in ("lineNumber", "amount_minor", "source_row"):
        frame[column] = frame[column].astype("int64")
    print(f"{len(co.customers)} customers, {len(co.invoices)} open invoices, {len(frame)} receipts")
    for label, policy in (
        ("exact rules only (before)", Policies(matching=MatchingRules(enabled=False))),
        ("with cash application", Policies()),
    ):
        start = time.perf_counter()
        result = resolve(frame, 2, co.customers, co.invoices, "EUR", policy)
        took = time.perf_counter() - start
        print(f"\n== {label}: {took:.2f} s ({len(frame) / took:,.0f} receipts/s)")
        report(score(frame, labels, result), result)
    memory_round(co, args.seed)
    subset_timing(args.seed)


MEMORY_KINDS = ("account_amount", "account_conflict", "account_unseen")


def memory_round(co: Company, seed: int, receipts: int = 300) -> None:
    """The payer memory: learned from a history month, used on a test month (module docstring)."""
    rng = random.Random(seed + 1)
    iban = {c["number"]: f"DE{10 + k % 89:02d}3704004405{k:08d}" for k, c in enumerate(co.customers)}
    seen = rng.sample(sorted(iban), len(iban) // 2)
    unseen = sorted(set(iban) - set(seen))
    history = [
        {"customer": c, "account": iban[c], "payer": "SEPA GUTSCHRIFT", "cents": 100_00, "text": "Vorauszahlung"}
        for c in seen
    ]  # posted on account by the rules: they teach
    history += [
        {"account": iban[c], "payer": "SEPA GUTSCHRIFT", "cents": rng.randint(1, 99) * 7 + 13, "text": "Danke"}
        for c in unseen
    ]  # nobody: sent to a person, they teach nothing
    past = pd.DataFrame([_row(i, r) for i, r in enumerate(history)], columns=list(PAYMENT_COLUMNS))
    for column in ("lineNumber", "amount_minor", "source_row"):
        past[column] = past[column].astype("int64")
    done = resolve(past, 2, co.customers, co.invoices, "EUR", Policies())
    with tempfile.TemporaryDirectory() as folder, Ledger.open(Path(folder) / "ledger.sqlite") as ledger:
        posted = zip(
            done.rows["customerNumber"], done.rows["payer_account"], done.rows["payer_name"], itertools.repeat(False)
        )
        ledger.remember_payers(
            "bench", "history", [(x.kind, x.identity, x.customer, x.source) for x in lessons(posted)]
        )
        memory = PayerMemory([Remembered(*r) for r in ledger.payer_memory("bench")])
    rows, labels = [], []
    used: set[str] = set()  # each invoice is paid at most once in the month
    for i in range(receipts):
        kind = MEMORY_KINDS[i % 3]
        c = rng.choice(seen if kind != "account_unseen" else unseen)
        amounts = Counter(cents for n, cents in co.open_of[c] if n not in used)
        unique = [(n, cents) for n, cents in co.open_of[c] if amounts[cents] == 1 and n not in used]
        if not unique:
            continue
        n, cents = rng.choice(unique)
        row = {"account": iban[c], "payer": "SEPA GUTSCHRIFT", "cents": cents, "text": "Zahlung"}
        label = Label(kind, c, (n,)) if kind == "account_amount" else Label(kind, "", ())
        if kind == "account_conflict":
            other = rng.choice([x for x in seen if x != c])
            n, cents = rng.choice([(m, x) for m, x in co.open_of[other] if m not in used] or co.open_of[other])
            row = {**row, "cents": cents, "text": f"Rechnung {n}", "invoice": n}
        used.update(label.invoices)
        rows.append(_row(len(rows), row))
        labels.append(label)
    frame = pd.DataFrame(rows, columns=list(PAYMENT_COLUMNS))
    for column in ("lineNumber", "amount_minor", "source_row"):
        frame[column] = frame[column].astype("int64")
    print(f"\n== payer memory: {len(memory.accounts())} accounts learned from {len(history)} history receipts")
    for label_text, mem in (("without the memory", None), ("with the memory", memory)):
        start = time.perf_counter()
        result = resolve(frame, 2, co.customers, co.invoices, "EUR", Policies(), mem)
        took = time.perf_counter() - start
        print(f"-- {label_text}: {took:.2f} s")
        stats = score(frame, labels, result)
        print(f"{'category':18} {'receipts':>8} {'posted':>7} {'wrong':>6} {'review':>7}")
        for kind in MEMORY_KINDS:
            s = stats.get(kind, Counter())
            print(f"{kind:18} {s['receipts']:8} {s['posted']:7} {s['posted_wrong']:6} {s['review']:7}")


def subset_timing(seed: int, receipts: int = 200, pool: int = 200) -> None:
    """Time of the set search alone for one customer with ``pool`` open invoices: half the receipts
    are a set of 2-12 of them, half an amount no set may fit (the search then runs to its bounds)."""
    rng = random.Random(seed)
    times = []
    found = Counter[str]()
    for k in range(receipts):
        amounts = [rng.randint(1_000, 2_000_000) for _ in range(pool)]
        target = sum(rng.sample(amounts, rng.randint(2, 12))) if k % 2 else rng.randint(10_000, 5_000_000)
        start = time.perf_counter()
        result = find_subsets(amounts, target, target)
        times.append(time.perf_counter() - start)
        found["exhausted" if result.exhausted else f"{min(result.count, 2)} set(s)"] += 1
    times.sort()
    p50, p95 = times[len(times) // 2] * 1000, times[int(len(times) * 0.95)] * 1000
    print(
        f"\nset search, {pool} open invoices, {receipts} receipts: p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
        f"max {times[-1] * 1000:.1f} ms; outcomes {dict(found)}"
    )


def report(stats: dict[str, Counter[str]], result: Any) -> None:
    """The per-category table and the headline figures."""
    print(f"{'category':18} {'receipts':>8} {'posted':>7} {'wrong':>6} {'review':>7}")
    total: Counter[str] = Counter()
    for kind in KINDS:
        s = stats.get(kind, Counter())
        total += s
        print(f"{kind:18} {s['receipts']:8} {s['posted']:7} {s['posted_wrong']:6} {s['review']:7}")
    person_kinds = ("ambiguous", "unknown")
    answerable = sum(stats.get(k, Counter())["receipts"] for k in KINDS if k not in person_kinds)
    auto = sum(
        stats.get(k, Counter())["posted"] - stats.get(k, Counter())["posted_wrong"]
        for k in KINDS
        if k not in person_kinds
    )
    person = sum(stats.get(k, Counter())["review"] for k in person_kinds)
    left = sum(stats.get(k, Counter())["receipts"] for k in person_kinds)
    right = total["posted"] - total["posted_wrong"]
    print(f"automatic match (one defensible answer): {auto}/{answerable} = {auto / max(answerable, 1):.1%}")
    print(f"precision of what was posted: {right}/{total['posted']} = {right / max(total['posted'], 1):.2%}")
    print(f"ambiguous or unknown left for a person: {person}/{left} = {person / max(left, 1):.1%}")
    evidence = (result.rows["match_details"] != "").mean() if len(result.rows) else 1.0
    print(f"posted lines carrying their evidence: {evidence:.1%}")


if __name__ == "__main__":
    main()
