"""Resolution of payments to BC customers and open invoices: expected values worked out by hand.

Customers and invoices have the shapes BC's API returns (``blocked`` ``_x0020_``, Decimal amounts,
``currencyCode`` blank or the local currency) and the names of the sandbox's demo data.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.config import Policies
from pipeline.normalize import PAYMENT_COLUMNS
from pipeline.resolve import (
    RESOLVED_COLUMNS,
    REVIEW_COLUMNS,
    Resolution,
    resolve,
)
from schemas.codes import REVIEW_DESCRIPTIONS as REASON_CODES


def _customer(number: str, name: str, blocked: str = "_x0020_", currency: str = "") -> dict[str, Any]:
    return {"id": f"id-{number}", "number": number, "displayName": name, "blocked": blocked, "currencyCode": currency}


def _invoice(
    number: str, sell_to: str, remaining: str | Decimal | int, bill_to: str = "", currency: str = "EUR", **kw: Any
) -> dict[str, Any]:
    amount = remaining if isinstance(remaining, (Decimal, int)) else Decimal(remaining)
    return {
        "id": f"id-{number}",
        "number": number,
        "customerNumber": sell_to,
        "billToCustomerNumber": bill_to or sell_to,
        "currencyCode": currency,
        "remainingAmount": amount,
        "totalAmountIncludingTax": amount,
        "status": "Open",
        "dueDate": "2026-03-31",
        **kw,
    }


CUSTOMERS = [
    _customer("C10000", "Müller Maschinenbau GmbH"),
    _customer("C10100", "Bäckerei Schäfer KG", blocked="", currency="EUR"),
    _customer("C10400", "Jansen Handel B.V."),
    _customer("C20000", "Northwind Traders", blocked="Invoice"),
    _customer("C30000", "Graphic Design Institute", blocked="Ship"),
    _customer("C70000", "Wide World Importers", currency="USD"),
    _customer("C99000", "Coho Winery", blocked="All"),
]
INVOICES = [
    _invoice("RE-2026-0101", "C10000", "1190.00"),
    _invoice("RE-2026-0107", "C10000", "714.00", currency=""),
    _invoice("RE-2026-0102", "C10100", "357.00"),
    _invoice("RE-2026-0105", "C10400", "1190.00"),
    _invoice("RE-2026-0106", "C10400", "1190.00"),
    _invoice("RE-2026-0200", "C10100", "250.00", bill_to="C10000"),
    _invoice("RE-2026-0300", "C99000", "100.00"),
    _invoice("RE-2026-0400", "C10000", "50.00", currency="USD"),
    _invoice("INV-5001", "C20000", "1500.00"),
    _invoice("INV-5002", "C30000", "1234.56"),
    _invoice("INV-5006", "C70000", "420.00", currency="USD"),
    _invoice("INV-4999", "C20000", "0", status="Paid"),
]
MUELLER = "customer C10000 (Müller Maschinenbau GmbH)"


def _row(
    line: int,
    customer: str = "",
    invoice: str = "",
    amount: str = "1.00",
    *,
    candidates: str | None = None,
    currency: str = "EUR",
    decimals: int = 2,
) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(PAYMENT_COLUMNS, "")
    row.update(
        lineNumber=line * 10_000,
        postingDate=pd.Timestamp("2026-03-02"),
        documentNumber=f"BANK-{line:04d}",
        externalDocumentNumber=f"TX{line}",
        customerNumber=customer,
        appliesToInvoiceNumber=invoice,
        invoiceCandidates=invoice if candidates is None else candidates,
        amount_minor=-int(Decimal(amount).scaleb(decimals)),
        currency=currency,
        description="payer",
        key=f"demo:tx:TX{line}",
        source_file="statement.csv",
        source_row=line + 5,
    )
    return row


def _frame(*rows: dict[str, Any]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=list(PAYMENT_COLUMNS))
    for column in PAYMENT_COLUMNS:
        if column not in ("lineNumber", "postingDate", "amount_minor", "source_row"):
            frame[column] = frame[column].astype("str")
    frame["lineNumber"] = frame["lineNumber"].astype("int64")
    frame["amount_minor"] = frame["amount_minor"].astype("int64")
    frame["source_row"] = frame["source_row"].astype("int64")
    return frame


def _run(*rows: dict[str, Any], policy: Policies | None = None, **kw: Any) -> Resolution:
    return resolve(
        _frame(*rows),
        kw.get("decimals", 2),
        kw.get("customers", CUSTOMERS),
        kw.get("invoices", INVOICES),
        kw.get("lcy", "EUR"),
        policy or Policies(),
    )


def _posted(result: Resolution, line: int) -> dict[str, Any]:
    found = result.rows[result.rows["lineNumber"] == line * 10_000]
    assert len(found) == 1, f"line {line} is not among the posted rows: {result.review.to_dict('records')}"
    return dict(found.iloc[0])


def _reviewed(result: Resolution, line: int) -> dict[str, Any]:
    found = result.review[result.review["lineNumber"] == line * 10_000]
    assert len(found) == 1, f"line {line} is not among the review rows: {result.rows.to_dict('records')}"
    return dict(found.iloc[0])


# --- the happy path ------------------------------------------------------------------------------------


def test_exact_payment_gets_customer_and_invoice_ids() -> None:
    result = _run(_row(1, "C10000", "RE-2026-0101", "1190.00"))
    assert result.review.empty
    row = _posted(result, 1)
    assert row["customerId"] == "id-C10000"
    assert row["appliesToInvoiceId"] == "id-RE-2026-0101"
    assert row["appliesToInvoiceNumber"] == "RE-2026-0101"
    assert row["application"] == "exact"
    assert row["flags"] == ""
    assert row["amount_minor"] == -119000


def test_missing_customer_is_the_invoices_bill_to_customer_not_its_sell_to() -> None:
    # RE-2026-0200 was sold to C10100 but is billed to C10000: BC books the payment on C10000.
    row = _posted(_run(_row(1, "", "RE-2026-0200", "250.00")), 1)
    assert (row["customerNumber"], row["customerId"]) == ("C10000", "id-C10000")
    assert row["flags"] == "customer_from_invoice"
    assert row["application"] == "exact"


def test_sell_to_stands_in_when_bill_to_is_blank() -> None:
    invoice = _invoice("RE-9", "C10100", "10.00")
    invoice["billToCustomerNumber"] = ""
    row = _posted(_run(_row(1, "", "RE-9", "10.00"), invoices=[invoice]), 1)
    assert row["customerNumber"] == "C10100"


def test_columns_order_and_partition() -> None:
    payments = _frame(
        _row(1, "C10000", "RE-2026-0101", "1190.00"),
        _row(2, "C55555", "", "5.00"),
        _row(3, "C10100", "", "45.50"),
    )
    payments.index = pd.RangeIndex(100, 103)  # a slice of a bigger frame
    result = resolve(payments, 2, CUSTOMERS, INVOICES, "EUR", Policies())
    assert tuple(result.rows.columns) == RESOLVED_COLUMNS
    assert tuple(result.review.columns) == REVIEW_COLUMNS
    assert list(result.rows["source_row"]) == [6, 8]
    assert list(result.review["source_row"]) == [7]
    assert list(result.rows.index) == [0, 1]
    assert set(result.review["reason_code"]) <= set(REASON_CODES)


def test_empty_input_and_empty_bc_lists() -> None:
    result = resolve(_frame(), 2, [], [], "EUR", Policies())
    assert result.rows.empty and result.review.empty
    assert tuple(result.review.columns) == REVIEW_COLUMNS
    nobody = _run(_row(1, "C10000", "RE-2026-0101", "1.00"), customers=[], invoices=[])
    assert _reviewed(nobody, 1)["reason_code"] == "customer_unknown"


# --- customers -------------------------------------------------------------------------------------------


def test_unknown_customer_names_the_invoice_it_meant() -> None:
    row = _reviewed(_run(_row(1, "C55555", "RE-2026-0101", "1190.00")), 1)
    assert row["reason_code"] == "customer_unknown"
    assert row["message"] == (
        "Customer C55555 does not exist in Business Central; the invoice named is RE-2026-0101 (C10000, open "
        "1190.00 EUR)"
    )
    assert row["customerId"] == ""


def test_customer_blocked_all_is_refused_whether_named_or_found_through_the_invoice() -> None:
    result = _run(_row(1, "C99000", "", "80.00"), _row(2, "", "RE-2026-0300", "100.00"))
    named, via_invoice = _reviewed(result, 1), _reviewed(result, 2)
    assert named["reason_code"] == via_invoice["reason_code"] == "customer_blocked"
    assert named["message"] == (
        "Customer C99000 (Coho Winery) is blocked for all transactions (Blocked = All): Business Central refuses "
        "the payment of 80.00 EUR"
    )
    assert via_invoice["message"] == (
        "Customer C99000 (Coho Winery) (the bill-to customer of invoice RE-2026-0300) is blocked for all "
        "transactions (Blocked = All): Business Central refuses the payment of 100.00 EUR"
    )


def test_blocked_for_invoicing_still_posts_with_a_flag_and_ship_is_ignored() -> None:
    result = _run(
        _row(1, "C20000", "INV-5001", "1000.00"),
        _row(2, "", "INV-5001", "500.00"),
        _row(3, "", "INV-5002", "1234.56"),
    )
    assert result.review.empty
    assert _posted(result, 1)["flags"] == "customer_blocked_invoice,partial_payment,several_payments"
    assert _posted(result, 2)["flags"] == "customer_from_invoice,customer_blocked_invoice,several_payments"
    assert _posted(result, 3)["flags"] == "customer_from_invoice"


def test_unknown_blocked_value_counts_as_blocked() -> None:
    customers = [_customer("C1", "Odd", blocked="Privacy")]
    row = _reviewed(_run(_row(1, "C1", "", "1.00"), customers=customers, invoices=[]), 1)
    assert row["reason_code"] == "customer_blocked"
    assert "'Privacy'" in row["message"]


def test_no_customer_and_no_open_invoice() -> None:
    result = _run(_row(1, "", "", "45.50"), _row(2, "", "RE-2026-0007", "12.00"))
    assert _reviewed(result, 1)["reason_code"] == "customer_missing"
    assert _reviewed(result, 1)["message"] == "No customer number and no invoice number: cannot tell who paid 45.50 EUR"
    assert _reviewed(result, 2)["reason_code"] == "customer_missing"
    assert _reviewed(result, 2)["message"] == (
        "No customer number, and invoice RE-2026-0007 is not open (paid or unknown): cannot tell who paid 12.00 EUR"
    )


def test_invoice_billed_to_another_customer() -> None:
    row = _reviewed(_run(_row(1, "C10100", "RE-2026-0200", "250.00")), 1)
    assert row["reason_code"] == "customer_mismatch"
    assert row["message"] == (
        f"Invoice RE-2026-0200 is billed to {MUELLER}, not to customer C10100 (Bäckerei Schäfer KG) named in the "
        "file: the payment of 250.00 EUR cannot be applied to it (Business Central applies a payment only to "
        "invoices of its bill-to customer)"
    )
    assert row["candidates"] == "RE-2026-0200 (C10000, open 250.00 EUR)"


# --- invoices --------------------------------------------------------------------------------------------


def test_invoice_not_open_lists_the_customers_open_invoices() -> None:
    row = _reviewed(_run(_row(1, "C10000", "RE-2026-0007", "500.00")), 1)
    assert row["reason_code"] == "invoice_not_open"
    assert row["message"] == (
        f"Invoice RE-2026-0007 is not open (paid or unknown); {MUELLER} has open invoices RE-2026-0101 (1190.00 EUR), "
        "RE-2026-0107 (714.00 EUR), RE-2026-0200 (250.00 EUR), RE-2026-0400 (50.00 USD)"
    )
    assert row["candidates"] == "RE-2026-0007 (not open)"
    assert row["appliesToInvoiceNumber"] == "RE-2026-0007"  # what the file said, for the person


def test_invoice_not_open_points_at_an_open_invoice_of_exactly_the_amount() -> None:
    row = _reviewed(_run(_row(1, "C10000", "RE-2026-0170", "714.00")), 1)
    assert row["message"] == (
        f"Invoice RE-2026-0170 is not open (paid or unknown); {MUELLER} has open invoices RE-2026-0101 (1190.00 EUR), "
        "RE-2026-0107 (714.00 EUR), RE-2026-0200 (250.00 EUR), RE-2026-0400 (50.00 USD); RE-2026-0107 is open for "
        "exactly the 714.00 EUR paid"
    )


def test_paid_invoice_in_the_list_is_not_open() -> None:
    row = _reviewed(_run(_row(1, "C20000", "INV-4999", "60.00")), 1)
    assert row["reason_code"] == "invoice_not_open"
    assert row["message"] == (
        "Invoice INV-4999 is not open (paid or unknown); customer C20000 (Northwind Traders) has open invoices "
        "INV-5001 (1500.00 EUR)"
    )


def test_unknown_invoice_posted_unapplied_by_policy() -> None:
    policy = Policies(unknown_invoice="post_unapplied")
    row = _posted(_run(_row(1, "C10000", "RE-2026-0007", "500.00"), policy=policy), 1)
    assert row["application"] == "unapplied"
    assert row["appliesToInvoiceNumber"] == ""  # BC would accept the number and fail at posting
    assert row["appliesToInvoiceId"] == ""
    assert row["invoiceCandidates"] == "RE-2026-0007"
    assert row["flags"] == "invoice_not_open"
    # the policy never posts a row whose customer is unknown
    nobody = _run(_row(1, "", "RE-2026-0007", "500.00"), policy=policy)
    assert _reviewed(nobody, 1)["reason_code"] == "customer_missing"


def test_invoice_number_listed_twice_among_open_invoices_is_ambiguous() -> None:
    twins = [_invoice("RE-1", "C10000", "10.00"), _invoice("RE-1", "C10000", "10.00", id="id-other")]
    row = _reviewed(_run(_row(1, "C10000", "RE-1", "10.00"), invoices=twins), 1)
    assert row["reason_code"] == "several_invoices"
    assert row["message"] == (
        "Business Central lists 2 open invoices numbered RE-1; a person must choose the one this payment of "
        "10.00 EUR applies to"
    )


# --- several invoice numbers in one reference --------------------------------------------------------------


def test_one_transfer_for_two_open_invoices_is_split_over_both() -> None:
    # bank_statement.csv line 13: "RE-2026-0105 / RE-2026-0106", 2380.00, no customer number. Both are
    # C10400's and open for 1190.00 each: 1190.00 + 1190.00 = 2380.00, so one line per invoice.
    result = _run(_row(1, "", "RE-2026-0105", "2380.00", candidates="RE-2026-0105 RE-2026-0106"))
    assert result.review.empty
    lines = result.rows.to_dict("records")
    assert [(x["appliesToInvoiceNumber"], x["appliesToInvoiceId"], x["amount_minor"]) for x in lines] == [
        ("RE-2026-0105", "id-RE-2026-0105", -119000),
        ("RE-2026-0106", "id-RE-2026-0106", -119000),
    ]
    assert sum(x["amount_minor"] for x in lines) == -238000
    assert {x["documentNumber"] for x in lines} == {"BANK-0001"}
    assert {x["customerNumber"] for x in lines} == {"C10400"}
    assert [x["key"] for x in lines] == ["demo:tx:TX1#>RE-2026-0105", "demo:tx:TX1#>RE-2026-0106"]
    assert [x["application"] for x in lines] == ["exact", "exact"]
    assert all("split" in x["flags"].split(",") for x in lines)
    assert "[invoice_exact]" in lines[0]["match_details"] and "(confidence 100%)" in lines[0]["match_details"]


def test_several_open_invoices_of_the_named_customer() -> None:
    row = _reviewed(_run(_row(1, "C10400", "RE-2026-0105", "1000.00", candidates="RE-2026-0105 RE-2026-0106")), 1)
    assert row["message"] == (
        "The payment of 1000.00 EUR names 2 open invoices of customer C10400 (Jansen Handel B.V.): RE-2026-0105 "
        "(open 1190.00 EUR), RE-2026-0106 (open 1190.00 EUR); together they are open for 2380.00 EUR; a person "
        "must split it"
    )


def test_several_open_invoices_of_different_customers() -> None:
    # each number is an exact, equally strong pointer to another customer: a tie, never a vote
    row = _reviewed(_run(_row(1, "", "RE-2026-0101", "1547.00", candidates="RE-2026-0101 RE-2026-0102")), 1)
    assert row["reason_code"] == "match_ambiguous"
    assert row["message"] == (
        "Customer C10000 'Müller Maschinenbau GmbH' and customer C10100 'Bäckerei Schäfer KG' fit the evidence "
        "equally well (100%): a person chooses"
    )
    assert row["candidates"].startswith("customer C10000 'Müller Maschinenbau GmbH' (100%): RE-2026-0101 1190.00 EUR")
    assert "[invoice_exact]" in row["match_details"]


def test_the_only_open_invoice_among_several_numbers_is_applied() -> None:
    result = _run(
        _row(1, "C10000", "RE-2026-0007", "714.00", candidates="RE-2026-0007 RE-2026-0107"),
        # RE-2026-0102 is open but C10100's: of C10000's numbers only RE-2026-0101 is left
        _row(2, "C10000", "RE-2026-0102", "1190.00", candidates="RE-2026-0102 RE-2026-0101"),
    )
    first, second = _posted(result, 1), _posted(result, 2)
    assert (first["appliesToInvoiceNumber"], first["appliesToInvoiceId"]) == ("RE-2026-0107", "id-RE-2026-0107")
    assert (first["application"], first["flags"]) == ("exact", "one_open_of_several")
    assert (second["appliesToInvoiceNumber"], second["application"]) == ("RE-2026-0101", "exact")


def test_several_numbers_none_of_them_usable() -> None:
    result = _run(
        _row(1, "C10000", "RE-2026-0102", "1.00", candidates="RE-2026-0102 RE-2026-0105"),
        _row(2, "C10000", "RE-2026-0007", "1.00", candidates="RE-2026-0007 RE-2026-0008"),
        _row(3, "", "RE-2026-0007", "1.00", candidates="RE-2026-0007 RE-2026-0008"),
    )
    mismatch = _reviewed(result, 1)
    assert mismatch["reason_code"] == "customer_mismatch"
    assert mismatch["message"].startswith(
        "Invoice RE-2026-0102 is billed to customer C10100 (Bäckerei Schäfer KG); invoice RE-2026-0105 is billed to "
        f"customer C10400 (Jansen Handel B.V.), not to {MUELLER} named in the file"
    )
    not_open = _reviewed(result, 2)
    assert not_open["reason_code"] == "invoice_not_open"
    assert not_open["message"].startswith(
        "None of the invoices RE-2026-0007, RE-2026-0008 is open (paid or unknown); " + MUELLER
    )
    assert _reviewed(result, 3)["reason_code"] == "customer_missing"


def test_empty_candidate_list_falls_back_to_the_invoice_number() -> None:
    row = _posted(_run(_row(1, "C10000", "RE-2026-0101", "1190.00", candidates="")), 1)
    assert row["appliesToInvoiceId"] == "id-RE-2026-0101"


# --- currency --------------------------------------------------------------------------------------------


def test_currency_blank_means_local_currency_for_customers_and_invoices() -> None:
    result = _run(
        _row(1, "C10000", "RE-2026-0107", "714.00"),  # customer "" and invoice "" -> EUR
        _row(2, "C10100", "RE-2026-0102", "357.00"),  # customer "EUR" as the sandbox writes it
        _row(3, "C70000", "INV-5006", "420.00", currency="USD"),
    )
    assert result.review.empty
    assert list(result.rows["application"]) == ["exact"] * 3


def test_currency_mismatch_with_customer_or_invoice() -> None:
    result = _run(
        _row(1, "C70000", "INV-5006", "420.00"),
        _row(2, "C10000", "RE-2026-0400", "50.00"),
        _row(3, "C10000", "RE-2026-0400", "50.00", currency="USD"),
    )
    assert list(result.review["reason_code"]) == ["customer_currency_mismatch"] * 3
    assert _reviewed(result, 1)["message"] == (
        "The payment of 420.00 EUR is in another currency: customer C70000 (Wide World Importers) is kept in USD "
        "(Business Central books a payment in the currency of the customer card) and invoice INV-5006 is in USD"
    )
    assert _reviewed(result, 2)["message"] == (
        "The payment of 50.00 EUR is in another currency: invoice RE-2026-0400 is in USD"
    )
    assert _reviewed(result, 3)["message"] == (
        f"The payment of 50.00 USD is in another currency: {MUELLER} is kept in EUR (Business Central books a "
        "payment in the currency of the customer card)"
    )


# --- amounts ---------------------------------------------------------------------------------------------


def test_partial_payment_posts_by_default_and_can_be_sent_to_review() -> None:
    row = _posted(_run(_row(1, "C10000", "RE-2026-0101", "500.00")), 1)
    assert (row["application"], row["flags"]) == ("partial", "partial_payment")
    review = _reviewed(
        _run(_row(1, "C10000", "RE-2026-0101", "500.00"), policy=Policies(partial_payment="needs_review")), 1
    )
    assert review["reason_code"] == "partial_payment"
    assert review["application"] == "partial"
    assert review["message"] == (
        f"Payment of 500.00 EUR is less than invoice RE-2026-0101 of {MUELLER} (1190.00 EUR open); 690.00 EUR would "
        "stay open"
    )


def test_over_payment_goes_to_review_by_default_and_can_be_posted() -> None:
    review = _reviewed(_run(_row(1, "C10400", "RE-2026-0105", "2380.00")), 1)
    assert review["reason_code"] == "over_payment"
    assert review["message"] == (
        "Payment of 2380.00 EUR is more than invoice RE-2026-0105 of customer C10400 (Jansen Handel B.V.) "
        "(1190.00 EUR open); 1190.00 EUR would stay as a credit"
    )
    row = _posted(_run(_row(1, "C10400", "RE-2026-0105", "2380.00"), policy=Policies(over_payment="post")), 1)
    assert (row["application"], row["flags"]) == ("over", "over_payment")


def test_running_total_in_line_number_order_not_frame_order() -> None:
    # 1190.00 open; by lineNumber: 700.00, 90.00, 400.00 (closes it), 5.00 (nothing left).
    result = _run(
        _row(3, "C10000", "RE-2026-0101", "400.00"),
        _row(1, "C10000", "RE-2026-0101", "700.00"),
        _row(4, "C10000", "RE-2026-0101", "5.00"),
        _row(2, "C10000", "RE-2026-0101", "90.00"),
    )
    assert [_posted(result, k)["application"] for k in (1, 2, 3)] == ["partial", "partial", "exact"]
    assert _posted(result, 1)["flags"] == "partial_payment,several_payments"
    assert _posted(result, 3)["flags"] == "several_payments"
    late = _reviewed(result, 4)
    assert late["reason_code"] == "over_payment"
    assert late["message"] == (
        f"Invoice RE-2026-0101 of {MUELLER} (1190.00 EUR open) is already paid in full by 3 earlier payments in this "
        "run; this payment of 5.00 EUR would only be a credit on the customer"
    )


def test_second_payment_turns_the_invoice_over_paid() -> None:
    result = _run(_row(1, "C10000", "RE-2026-0101", "600.00"), _row(2, "C10000", "RE-2026-0101", "700.00"))
    assert _posted(result, 1)["application"] == "partial"
    assert _reviewed(result, 2)["message"] == (
        f"Payment of 700.00 EUR is more than invoice RE-2026-0101 of {MUELLER} (1190.00 EUR open) after 1 earlier "
        "payment of 600.00 EUR in this run; 110.00 EUR would stay as a credit"
    )


def test_earlier_row_in_review_still_counts_but_a_refused_row_does_not() -> None:
    # An over-payment waiting for a person may still be posted: the next exact payment must not
    # slip through. A row refused for its currency never reaches BC: it does not count.
    result = _run(
        _row(1, "C10000", "RE-2026-0101", "1500.00"),
        _row(2, "C10000", "RE-2026-0101", "1190.00"),
        _row(3, "C10400", "RE-2026-0105", "1190.00", currency="USD"),
        _row(4, "C10400", "RE-2026-0105", "1190.00"),
    )
    assert _reviewed(result, 1)["reason_code"] == "over_payment"
    assert _reviewed(result, 2)["reason_code"] == "over_payment"
    assert _reviewed(result, 3)["reason_code"] == "customer_currency_mismatch"
    assert (_posted(result, 4)["application"], _posted(result, 4)["flags"]) == ("exact", "")


def test_remaining_amount_finer_than_the_minor_unit_is_compared_exactly() -> None:
    invoices = [_invoice("RE-1", "C10000", Decimal("100.005")), _invoice("RE-2", "C10000", 120)]
    result = _run(
        _row(1, "C10000", "RE-1", "100.00"),
        _row(2, "C10000", "RE-2", "120.00"),
        invoices=invoices,
        policy=Policies(partial_payment="needs_review"),
    )
    assert _reviewed(result, 1)["message"] == (
        f"Payment of 100.00 EUR is less than invoice RE-1 of {MUELLER} (100.005 EUR open); 0.005 EUR would stay open"
    )
    assert _posted(result, 2)["application"] == "exact"  # an int from JSON is exact too
    over = _run(_row(1, "C10000", "RE-1", "100.01"), invoices=invoices)
    assert _reviewed(over, 1)["message"].endswith("; 0.005 EUR would stay as a credit")
    three = _run(_row(1, "C10000", "RE-1", "100.005", decimals=3), invoices=invoices, decimals=3)
    assert _posted(three, 1)["application"] == "exact"


def test_float_amounts_from_bc_are_refused() -> None:
    with pytest.raises(TypeError, match="remainingAmount must be a Decimal"):
        _run(_row(1), invoices=[_invoice("RE-1", "C10000", "1.00") | {"remainingAmount": 1.0}])


# --- no invoice ------------------------------------------------------------------------------------------


def test_unapplied_posts_by_default_and_can_be_sent_to_review() -> None:
    row = _posted(_run(_row(1, "C10100", "", "45.50")), 1)
    assert (row["application"], row["appliesToInvoiceNumber"], row["appliesToInvoiceId"]) == ("unapplied", "", "")
    review = _reviewed(_run(_row(1, "C10100", "", "45.50"), policy=Policies(unapplied="needs_review")), 1)
    assert review["reason_code"] == "unapplied"
    assert review["message"] == (
        "Payment of 45.50 EUR from customer C10100 (Bäckerei Schäfer KG) names no invoice; open invoices: RE-2026-0102"
    )
    assert review["candidates"] == "RE-2026-0102 (C10100, open 357.00 EUR)"


def test_unknown_invoice_posted_unapplied_even_when_unapplied_rows_need_review() -> None:
    # The file named an invoice: post_unapplied is the rule for it, not the unapplied policy.
    policy = Policies(unapplied="needs_review", unknown_invoice="post_unapplied")
    result = _run(_row(1, "C10000", "RE-2026-0007", "5.00"), _row(2, "C10000", "", "5.00"), policy=policy)
    assert _posted(result, 1)["flags"] == "invoice_not_open"
    assert _reviewed(result, 2)["reason_code"] == "unapplied"


def test_local_currency_is_required() -> None:
    with pytest.raises(ValueError, match="lcy"):
        _run(_row(1, "C10000", "", "1.00"), lcy="")


def test_policy_values_are_checked() -> None:
    with pytest.raises(ValueError, match="over_payment"):
        Policies(over_payment="maybe")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown_invoice"):
        Policies(unknown_invoice="post")  # type: ignore[arg-type]


# --- invariants ------------------------------------------------------------------------------------------

_NUMBERS = ["RE-2026-0101", "RE-2026-0107", "RE-2026-0105", "RE-2026-0200", "RE-2026-0007", ""]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["", "C10000", "C10400", "C55555"]),
            st.lists(st.sampled_from(_NUMBERS), max_size=3),
            st.integers(min_value=1, max_value=150_000),
        ),
        max_size=25,
    ),
    st.permutations(list(range(25))),
)
def test_every_row_lands_once_and_posted_rows_never_exceed_an_invoice(
    specs: list[tuple[str, list[str], int]], order: list[int]
) -> None:
    rows = []
    for k, (customer, numbers, minor) in enumerate(specs):
        listed = " ".join(dict.fromkeys(n for n in numbers if n))
        row = _row(order[k] + 1, customer, listed.split(" ")[0], "0.01", candidates=listed)
        row["amount_minor"] = -minor
        rows.append(row)
    result = _run(*rows, policy=Policies(partial_payment="post", over_payment="needs_review"))
    posted_rows = list(dict.fromkeys(result.rows["source_row"]))  # a split row is several consecutive lines
    assert sorted([*posted_rows, *result.review["source_row"]]) == sorted(r["source_row"] for r in rows)
    paid_by_row = result.rows.groupby("source_row")["amount_minor"].sum()
    assert all(paid_by_row[r["source_row"]] == r["amount_minor"] for r in rows if r["source_row"] in paid_by_row)
    assert not result.rows["key"].duplicated().any()
    remaining = {i["number"]: int(i["remainingAmount"] * 100) for i in INVOICES}
    posted = result.rows[result.rows["appliesToInvoiceNumber"] != ""]
    for number, paid in (-posted.groupby("appliesToInvoiceNumber")["amount_minor"].sum()).items():
        assert paid <= remaining[str(number)]
    assert (result.rows["customerId"] != "").all()
