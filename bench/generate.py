"""Synthetic statements for the benchmarks: a 1M-row CSV and a 100k-row xlsx (seeded, realistic).

About 150 bytes a row: booking and value dates (dd.mm.yyyy), payer (accents, some commas,
so quoted), IBAN, BIC, a reference with an invoice number, amount (decimal comma,
thousands dot), currency, a unique bank reference, and a booking text. 0.1% of rows
carry one of seven defects (31.02., zero amount, 1,234.56, long customer text, EURO, ...).
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

HEADER = "Buchungstag;Valuta;Auftraggeber;IBAN;BIC;Verwendungszweck;Betrag;Währung;Transaktions-ID;Buchungstext"
NAMES = [
    "Müller GmbH",
    "Schäfer & Söhne KG",
    "Łukasz Wójcik",
    "Dvořák s.r.o.",
    "Øresund ApS",
    "Café Zürich AG",
    "Weber, Sohn & Partner",
    "Fernández Logística S.L.",
    "Jansen Handel B.V.",
    "Nowak Sp. z o.o.",
]
REFS = [
    "Rechnung RE-{y}-{n:05d}",
    "RE-{y}-{n:05d} Danke",
    "Invoice RE-{y}-{n:05d}",
    "Zahlung RE-{y}-{n:05d} Kd {c}",
    "Teilzahlung RE-{y}-{n:05d}",
    "Miete {m:02d}/{y}",
    "Lastschrift {n}",
    "Gutschrift {c}",
]
DEFECTS = ["31.02.2026", "0,00", "1,234.56", "EURO", "", "x" * 30, "99,999"]


def make_row(rng: random.Random, i: int) -> str:
    d, m = rng.randint(1, 28), rng.randint(1, 12)
    date = f"{d:02d}.{m:02d}.2026"
    name = rng.choice(NAMES)
    if "," in name:
        name = f'"{name}"'
    iban = f"DE{rng.randint(10, 99)}{rng.randint(10**17, 10**18 - 1)}"
    bic = "" if rng.random() < 0.1 else "COBADEFFXXX"
    ref = rng.choice(REFS).format(y=2026, n=rng.randint(1, 99999), c=f"C{rng.randint(10000, 99999)}", m=m)
    cents = rng.randint(100, 2_500_000) * (1 if rng.random() < 0.7 else -1)
    whole, frac = divmod(abs(cents), 100)
    whole_txt = f"{whole:,}".replace(",", ".")
    amount = ("-" if cents < 0 else "") + f"{whole_txt},{frac:02d}"
    currency = "EUR"
    txid = f"TX{i:014d}"
    text = "SEPA-Gutschrift" if cents > 0 else "SEPA-Lastschrift"
    if rng.random() < 0.001:
        kind = rng.randrange(len(DEFECTS))
        if kind == 0:
            date = DEFECTS[0]
        elif kind in (1, 2, 6):
            amount = DEFECTS[kind]
        elif kind == 3:
            currency = DEFECTS[3]
        elif kind == 4:
            date = ""
        else:
            txid = "TX" + "9" * 40 + str(i)
    return f"{date};{date};{name};{iban};{bic};{ref};{amount};{currency};{txid};{text}"


def write_csv(path: Path, rows: int, seed: int = 42) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(HEADER + "\n")
        batch = []
        for i in range(rows):
            batch.append(make_row(rng, i))
            if len(batch) == 50_000:
                fh.write("\n".join(batch) + "\n")
                batch.clear()
        if batch:
            fh.write("\n".join(batch) + "\n")


def write_xlsx(path: Path, rows: int, seed: int = 7) -> None:
    import datetime as dt

    from openpyxl import Workbook

    rng = random.Random(seed)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Statement")
    ws.append(["Account statement"])
    ws.append([])
    ws.append(["Booking date", "Payer", "Reference", "Amount", "Currency", "Bank reference"])
    for i in range(rows):
        cents = rng.randint(100, 2_500_000) * (1 if rng.random() < 0.7 else -1)
        date = dt.date(2026, rng.randint(1, 12), rng.randint(1, 28))
        ref = f"Invoice RE-2026-{rng.randint(1, 99999):05d}"
        ws.append([date, rng.choice(NAMES), ref, cents / 100, "EUR", f"BR{i:012d}"])
    ws.append(["Total", None, None, None, None, None])
    wb.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "data")
    parser.add_argument("--csv-rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=100_000)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    csv_path = args.out / f"statement_{args.csv_rows}.csv"
    xlsx_path = args.out / f"statement_{args.xlsx_rows}.xlsx"
    if not csv_path.exists():
        write_csv(csv_path, args.csv_rows)
    if not xlsx_path.exists():
        write_xlsx(xlsx_path, args.xlsx_rows)
    print(csv_path)
    print(xlsx_path)


if __name__ == "__main__":
    main()
