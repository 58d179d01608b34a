"""Writes the sample files in this folder (deterministic; run it to regenerate them).

python sample_data/make_samples.py
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

HERE = Path(__file__).parent

BANK_PREAMBLE = [
    "Kontoauszug;Demo Bank AG",
    "Konto;DE89 3704 0044 0532 0130 00",
    "Zeitraum;01.03.2026 - 31.03.2026",
    "",
]
BANK_HEADER = "Buchungstag;Valuta;Auftraggeber/Empfänger;Verwendungszweck;Betrag;Währung;Transaktions-ID"
BANK_ROWS = [
    "02.03.2026;02.03.2026;Müller Maschinenbau GmbH;Rechnung RE-2026-0101 Kd-Nr. C10000;1.190,00;EUR;TX260302001",
    "02.03.2026;02.03.2026;Stadtwerke Köln;Strom Februar;-245,80;EUR;TX260302002",
    "03.03.2026;03.03.2026;Bäckerei Schäfer KG;RE-2026-0102 Danke;357,00;EUR;TX260303001",
    "05.03.2026;05.03.2026;Fernández Logística S.L.;Invoice RE-2026-0103;12.495,00;EUR;TX260305001",
    "06.03.2026;06.03.2026;Büro Plus GmbH;Büromaterial Bestellung 4471;-89,99;EUR;TX260306001",
    '09.03.2026;09.03.2026;"Weber, Sohn & Partner";"Zahlung RE-2026-0104, Teilzahlung";500,00;EUR;TX260309001',
    "10.03.2026;10.03.2026;Kontoführung;Entgelt Februar;-12,50;EUR;TX260310001",
    "12.03.2026;12.03.2026;Jansen Handel B.V.;RE-2026-0105 / RE-2026-0106;2.380,00;EUR;TX260312001",
    "16.03.2026;16.03.2026;Müller Maschinenbau GmbH;Rechnung RE-2026-0107;714,00;EUR;TX260316001",
    "20.03.2026;20.03.2026;Finanzamt Köln-Mitte;USt Februar;-3.420,00;EUR;TX260320001",
    "23.03.2026;23.03.2026;Bäckerei Schäfer KG;Gutschrift ohne Rechnungsnummer;45,50;EUR;TX260323001",
    "27.03.2026;27.03.2026;Fernández Logística S.L.;RE-2026-0108;0,00;EUR;TX260327001",
]
BANK_FOOTER = ["", "Saldo;;;;14.923,21;EUR;"]

ERROR_HEADER = "Date,Payer,Reference,Amount,Currency,Transaction ID,Customer No"
ERROR_ROWS = [
    "2026-03-02,Northwind Traders,INV-5001,1500.00,EUR,PP-0001,C20000",
    '2026-03-02,Contoso Ltd,INV-5002,"1.234,56",EUR,PP-0002,C30000',
    "2026-02-31,Fabrikam Inc,INV-5003,980.00,EUR,PP-0003,C40000",
    "03/25/2026,Adventure Works,INV-5004,250.00,EUR,PP-0004,C50000",
    "2026-03-04,Tailspin Toys,INV-5005,,EUR,PP-0005,C60000",
    "2026-03-05,Wide World Importers,INV-5006,420.00,USD,PP-0006,C70000",
    "2026-03-05,Litware Inc,INV-5007,99.999,EUR,PP-0007,C80000",
    "2026-03-06,Proseware Inc,INV-5008,310.00,EUR,PP-0008-REFERENCE-FROM-THE-PAYMENT-PROVIDER,C90000",
    "2026-03-06,Lucerne Publishing,INV-5009,75.25,EUR,PP-0009,CUSTOMER-NUMBER-TOO-LONG-1",
    '2026-03-09,=HYPERLINK("http://example.invalid"),INV-5010,12.00,EUR,PP-0010,C10000',
    "2026-03-09,Refund to customer,INV-4999,-60.00,EUR,PP-0011,C20000",
    "2026-03-10,Graphic Design Institute,INV-5011,820.40,EUR,PP-0012,C30000",
    "",
    "Total,,,5022.64,,,",
]


def write_bank_statement() -> None:
    lines = [*BANK_PREAMBLE, BANK_HEADER, *BANK_ROWS, *BANK_FOOTER]
    (HERE / "bank_statement.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))


def write_statement_with_errors() -> None:
    (HERE / "payments_with_errors.csv").write_text("\n".join([ERROR_HEADER, *ERROR_ROWS]) + "\n", encoding="utf-8")


def write_remittance() -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "Remittance"
    ws.append(["Remittance advice", None, None, None, None])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(["Payer", "Contoso Retail Ltd", None, None, None])
    ws.append(["Payment date", dt.date(2026, 3, 18), None, None, None])
    ws.append([None, None, None, None, None])
    ws.append(["Invoice No", "Customer No", "Invoice Date", "Amount Paid", "Payment Reference", "Paid On"])
    paid = dt.date(2026, 3, 18)
    rows = [
        ("RE-2026-0091", "C10000", dt.date(2026, 2, 3), 1250.00, "CRL-PAY-88123", paid),
        ("RE-2026-0094", "C10000", dt.date(2026, 2, 10), 84.99, "CRL-PAY-88123", paid),
        ("RE-2026-0097", "C10000", dt.date(2026, 2, 17), 2045.5, "CRL-PAY-88123", paid),
        ("RE-2026-0099", "C10000", dt.date(2026, 2, 24), 19.01, "CRL-PAY-88123", paid),
    ]
    for r in rows:
        ws.append(list(r))
    for letter in ("C", "F"):
        for cell in ws[letter][5:9]:
            cell.number_format = "DD.MM.YYYY"
    for cell in ws["D"][5:10]:
        cell.number_format = "#,##0.00"
    ws.append(["TOTAL", None, None, "=SUM(D6:D9)", None])
    ws["A10"].font = Font(bold=True)
    wb.save(HERE / "remittance.xlsx")


if __name__ == "__main__":
    write_bank_statement()
    write_statement_with_errors()
    write_remittance()
