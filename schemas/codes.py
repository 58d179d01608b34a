"""Every code payimport writes, with its words for people: the one home of the vocabulary.

A code is a stable identifier: reports (``report.xlsx``, ``report.json``), the errors workbook, the
``--json`` output, logs and tests rely on the exact text, so a member's value never changes once
released. The words for people (``describe``) may be reworded freely.

Each family is a ``StrEnum``: a member *is* its text (``Reject.DATE_FORMAT == "date_format"``), so
it can be written to a frame, a JSON document or a workbook as it is, while mypy checks that code
names a member that exists. Each family has exactly one description table, and ``describe``
answers for a code of any family.

Families:

* ``Reject``: an input row looks like a receipt but a value is refused (state ``rejected``).
* ``Skip``: an input row is not a customer receipt, and that is expected (state ``skipped``).
* ``Review``: resolution against BC's customers and open invoices sends a payment to a person
  (state ``needs_review``; ``pipeline.resolve``).
* ``Outcome``: what happened when a line was (or was not) sent to BC, and repeats in one run.
* ``Flag``: a payment posted with something worth knowing (the ``flags`` column, comma-separated).
* ``Evidence``: one piece of evidence behind a matching decision (the ``match_details`` column).
* ``Discrepancy``: BC's journal read back differs from the plan (``pipeline.reconcile``).
* ``Application``: how a posted payment meets its invoice.
* ``State``: where an input line ended; every line is in exactly one.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Final


class Reject(StrEnum):
    """Why a value of a receipt row is refused (parsing, mapping and BC's field limits)."""

    AMOUNT_FORMAT = "amount_format"
    AMOUNT_DECIMALS = "amount_decimals"
    AMOUNT_WHITESPACE = "amount_whitespace"
    AMOUNT_TOO_LARGE = "amount_too_large"
    AMOUNT_MISSING = "amount_missing"
    AMOUNT_BOTH_SIDES = "amount_both_sides"
    AMOUNT_NEGATIVE_CREDIT = "amount_negative_credit"
    INDICATOR_UNKNOWN = "indicator_unknown"
    AMOUNT_SIGN_CONFLICT = "amount_sign_conflict"
    CURRENCY_MISMATCH = "currency_mismatch"
    DATE_MISSING = "date_missing"
    DATE_FORMAT = "date_format"
    DATE_INVALID = "date_invalid"
    DATE_AMBIGUOUS = "date_ambiguous"
    DATE_OUT_OF_RANGE = "date_out_of_range"
    DATE_TWO_DIGIT_YEAR = "date_two_digit_year"
    DATE_TOO_EARLY = "date_too_early"
    DATE_TOO_LATE = "date_too_late"
    TOO_LONG = "too_long"
    INVALID_VALUE = "invalid_value"
    HIDDEN_ROW = "hidden_row"


REJECT_DESCRIPTIONS: Final[Mapping[Reject, str]] = {
    Reject.AMOUNT_FORMAT: "amount does not match the profile's number format",
    Reject.AMOUNT_DECIMALS: "amount has more decimals than the currency allows",
    Reject.AMOUNT_WHITESPACE: "amount has a tab, line break or other space inside the number",
    Reject.AMOUNT_TOO_LARGE: "amount is too large",
    Reject.AMOUNT_MISSING: "no amount",
    Reject.AMOUNT_BOTH_SIDES: "both debit and credit are filled in",
    Reject.AMOUNT_NEGATIVE_CREDIT: "negative value in the credit column",
    Reject.INDICATOR_UNKNOWN: "debit/credit indicator is not one the profile knows",
    Reject.AMOUNT_SIGN_CONFLICT: "the amount's sign contradicts the debit/credit indicator",
    Reject.CURRENCY_MISMATCH: "currency differs from the profile's expected currency",
    Reject.DATE_MISSING: "no date",
    Reject.DATE_FORMAT: "date does not match the profile's date format(s)",
    Reject.DATE_INVALID: "date does not exist in the calendar",
    Reject.DATE_AMBIGUOUS: "date fits two of the profile's formats with different results",
    Reject.DATE_OUT_OF_RANGE: "date is outside the range Business Central accepts",
    Reject.DATE_TWO_DIGIT_YEAR: "two-digit year cannot be placed in a century with certainty",
    Reject.DATE_TOO_EARLY: "date is earlier than the profile accepts",
    Reject.DATE_TOO_LATE: "date is too far in the future",
    Reject.TOO_LONG: "value is longer than Business Central allows",
    Reject.INVALID_VALUE: "value breaks a rule of the payment schema",
    Reject.HIDDEN_ROW: "the row is hidden in the sheet, so nobody checking the file saw it",
}


class Skip(StrEnum):
    """Why an input row is not a receipt (readers and ``pipeline.statement``)."""

    HEADER = "header"
    PREAMBLE = "preamble"
    BLANK = "blank"
    REPEATED_HEADER = "repeated_header"
    FOOTER = "footer"
    HIDDEN = "hidden"
    NOT_A_TRANSACTION = "not_a_transaction"
    CONTINUATION = "continuation"
    ZERO_AMOUNT = "zero_amount"
    NOT_RECEIPT = "not_receipt"
    RULE = "rule"
    BALANCE = "balance"
    TOTAL = "total"
    DECIDED = "decided"
    RETURN = "return"
    NOT_BOOKED = "not_booked"
    OTHER_ACCOUNT = "other_account"


SKIP_DESCRIPTIONS: Final[Mapping[Skip, str]] = {
    Skip.HEADER: "header row",
    Skip.PREAMBLE: "line before the header",
    Skip.BLANK: "blank row",
    Skip.REPEATED_HEADER: "the header repeated",
    Skip.FOOTER: "footer, total or balance row",
    Skip.HIDDEN: "hidden row in the sheet",
    Skip.NOT_A_TRANSACTION: "no date and no amount",
    Skip.CONTINUATION: "continuation of the previous row's text",
    Skip.ZERO_AMOUNT: "amount is zero",
    Skip.NOT_RECEIPT: "not a customer receipt (a debit or filtered out)",
    Skip.RULE: "skipped by a profile rule",
    Skip.BALANCE: "opening or closing balance (checked against the rows, never a receipt)",
    Skip.TOTAL: "stated total (checked against the rows, never a receipt)",
    Skip.DECIDED: "a person decided it is not a customer payment to import (handled elsewhere)",
    Skip.RETURN: "a returned or reversed payment (bank statement), never a receipt",
    Skip.NOT_BOOKED: "a pending or information-only entry of a bank statement, not booked",
    Skip.OTHER_ACCOUNT: "a bank statement entry of an account or currency this import does not take",
}


class Review(StrEnum):
    """Why resolution sends a payment to a person instead of BC (rules in ``pipeline.resolve``)."""

    CUSTOMER_UNKNOWN = "customer_unknown"
    CUSTOMER_BLOCKED = "customer_blocked"
    CUSTOMER_MISSING = "customer_missing"
    INVOICE_NOT_OPEN = "invoice_not_open"
    CUSTOMER_MISMATCH = "customer_mismatch"
    # not Reject.CURRENCY_MISMATCH (the row's currency is not the profile's): here the row's currency is
    # fine, but BC holds the customer or the invoice in another one
    CUSTOMER_CURRENCY_MISMATCH = "customer_currency_mismatch"
    OVER_PAYMENT = "over_payment"
    PARTIAL_PAYMENT = "partial_payment"
    UNAPPLIED = "unapplied"
    SEVERAL_INVOICES = "several_invoices"
    POSTING_DATE_NOT_ALLOWED = "posting_date_not_allowed"
    DIMENSION_REQUIRED = "dimension_required"
    NO_EXCHANGE_RATE = "no_exchange_rate"
    AMOUNT_PRECISION = "amount_precision"
    MATCH_UNCERTAIN = "match_uncertain"
    MATCH_AMBIGUOUS = "match_ambiguous"
    CONFLICTING_EVIDENCE = "conflicting_evidence"
    LEFTOVER = "leftover"
    PAYMENT_TOTAL_MISMATCH = "payment_total_mismatch"
    CREDIT_NOTE = "credit_note"
    PAYMENT_HELD = "payment_held"
    DISCOUNT_INVALID = "discount_invalid"


REVIEW_DESCRIPTIONS: Final[Mapping[Review, str]] = {
    Review.CUSTOMER_UNKNOWN: "the customer number is not a customer in Business Central",
    Review.CUSTOMER_BLOCKED: "the customer is blocked for all transactions (Blocked = All)",
    Review.CUSTOMER_MISSING: "no customer number and no open invoice to find the customer by",
    Review.INVOICE_NOT_OPEN: "the invoice number is not an open posted invoice (paid, cancelled or unknown)",
    Review.CUSTOMER_MISMATCH: "the invoice is billed to another customer than the one in the file",
    Review.CUSTOMER_CURRENCY_MISMATCH: "the payment's currency differs from the customer's or the invoice's",
    Review.OVER_PAYMENT: "the payment is more than the invoice's remaining amount",
    Review.PARTIAL_PAYMENT: "the payment is less than the invoice's remaining amount",
    Review.UNAPPLIED: "the payment names no invoice",
    Review.SEVERAL_INVOICES: "the payment names several open invoices; a person must split it",
    Review.POSTING_DATE_NOT_ALLOWED: "the posting date is outside BC's allowed posting dates (General Ledger Setup)",
    Review.DIMENSION_REQUIRED: "the customer or balancing account requires a dimension value this tool cannot send",
    Review.NO_EXCHANGE_RATE: "BC has no exchange rate for the payment's foreign currency at its posting date",
    Review.AMOUNT_PRECISION: "the amount is finer than its currency's Amount Rounding Precision (BC would round it)",
    Review.MATCH_UNCERTAIN: "the evidence points to a customer or invoices, but not surely enough to post",
    Review.MATCH_AMBIGUOUS: "two or more customers or sets of invoices fit the evidence equally well",
    Review.CONFLICTING_EVIDENCE: "the payer is known as one customer, but the text names another customer's invoice",
    Review.LEFTOVER: "the payment is more than the invoices it pays; the policy sends the rest to a person",
    Review.PAYMENT_TOTAL_MISMATCH: "the lines of one check or remittance advice do not add up to its stated total",
    Review.CREDIT_NOTE: "a credit note is netted against the payment; BC's API cannot apply a credit memo",
    Review.PAYMENT_HELD: "another line of the same check or remittance advice needs a person; no part is posted alone",
    Review.DISCOUNT_INVALID: "the discount column holds something that is not an amount of zero or more",
}


class Outcome(StrEnum):
    """What became of a line handed to BC (or kept from it): the ``reason_code`` of a sent line."""

    BC_REFUSED = "bc_refused"
    BC_CONFLICT = "bc_conflict"
    OUTCOME_UNKNOWN = "outcome_unknown"
    NOT_SENT = "not_sent"
    DUPLICATE_IN_RUN = "duplicate_in_run"


OUTCOME_DESCRIPTIONS: Final[Mapping[Outcome, str]] = {
    Outcome.BC_REFUSED: "Business Central refused the line",
    Outcome.BC_CONFLICT: "what Business Central holds cannot be matched to what was sent; a person must check",
    Outcome.OUTCOME_UNKNOWN: "sent, but Business Central's answer was lost; the next run reads the journal back",
    Outcome.NOT_SENT: "not sent: Business Central failed or the run was stopped",
    Outcome.DUPLICATE_IN_RUN: "the same payment appears earlier in this run",
}


class Flag(StrEnum):
    """Something worth knowing about a payment that is posted anyway (``flags`` column)."""

    CUSTOMER_FROM_INVOICE = "customer_from_invoice"
    CUSTOMER_BLOCKED_INVOICE = "customer_blocked_invoice"
    ONE_OPEN_OF_SEVERAL = "one_open_of_several"
    INVOICE_NOT_OPEN = "invoice_not_open"
    PARTIAL_PAYMENT = "partial_payment"
    OVER_PAYMENT = "over_payment"
    SEVERAL_PAYMENTS = "several_payments"
    SPLIT = "split"
    MATCHED_BY_EVIDENCE = "matched_by_evidence"
    SHORT_PAYMENT = "short_payment"
    LEFTOVER_UNAPPLIED = "leftover_unapplied"
    PAYMENT_GROUP = "payment_group"
    PAYMENT_DISCOUNT = "payment_discount"


FLAG_DESCRIPTIONS: Final[Mapping[Flag, str]] = {
    Flag.CUSTOMER_FROM_INVOICE: "customer number filled in from the invoice's bill-to customer",
    Flag.CUSTOMER_BLOCKED_INVOICE: "customer is blocked for invoicing (payments are still accepted)",
    Flag.ONE_OPEN_OF_SEVERAL: "the reference named several invoices; the only open one was applied",
    Flag.INVOICE_NOT_OPEN: "the named invoice is not open; posted unapplied by policy",
    Flag.PARTIAL_PAYMENT: "less than the invoice's remaining amount; posted by policy",
    Flag.OVER_PAYMENT: "more than the invoice's remaining amount; posted by policy",
    Flag.SEVERAL_PAYMENTS: "more than one payment in this run applies to this invoice",
    Flag.SPLIT: "one receipt paying several invoices: one line per invoice, one shared document number",
    Flag.MATCHED_BY_EVIDENCE: "customer or invoices found by evidence (name, reference, amount), see match details",
    Flag.SHORT_PAYMENT: "less than the invoices within the tolerance; the difference stays open on the last one",
    Flag.LEFTOVER_UNAPPLIED: "the rest after the invoices paid is posted unapplied to the customer",
    Flag.PAYMENT_GROUP: "one line of a check or remittance advice: its lines share one document number",
    Flag.PAYMENT_DISCOUNT: (
        "early-payment discount taken by the payer: applied with the amount paid; Business Central closes the "
        "invoice only within its payment discount date or tolerance"
    ),
}


class Evidence(StrEnum):
    """One piece of evidence behind a matching decision (``match_details``; ``pipeline.matching``)."""

    CUSTOMER_NUMBER = "customer_number"
    PAYER_MAP = "payer_map"
    PAYER_NAME = "payer_name"
    PAYER_ACCOUNT_MEMORY = "payer_account_memory"
    PAYER_NAME_MEMORY = "payer_name_memory"
    STRUCTURED_REFERENCE = "structured_reference"
    INVOICE_EXACT = "invoice_exact"
    INVOICE_DIGITS = "invoice_digits"
    INVOICE_ONE_EDIT = "invoice_one_edit"
    INVOICE_TAIL = "invoice_tail"
    AMOUNT_ONE_INVOICE = "amount_one_invoice"
    AMOUNT_COMBINATION = "amount_combination"
    AMOUNT_WITHIN_TOLERANCE = "amount_within_tolerance"
    NO_INVOICE_FITS = "no_invoice_fits"


EVIDENCE_DESCRIPTIONS: Final[Mapping[Evidence, str]] = {
    Evidence.CUSTOMER_NUMBER: "the file names the customer number",
    Evidence.PAYER_MAP: "the payer map (config) names the customer for this payer or reference",
    Evidence.PAYER_NAME: "the payer's name matches the customer's name (score in percent)",
    Evidence.PAYER_ACCOUNT_MEMORY: "the payer's account was confirmed for this customer in an earlier run",
    Evidence.PAYER_NAME_MEMORY: "the payer's name, spelled the same, was confirmed for this customer in an earlier run",
    Evidence.STRUCTURED_REFERENCE: "a creditor reference with valid check digits carries the invoice number",
    Evidence.INVOICE_EXACT: "an open invoice's number is written in the text",
    Evidence.INVOICE_DIGITS: "an open invoice's number is in the text with other separators, prefix or zeros",
    Evidence.INVOICE_ONE_EDIT: "the text has an open invoice's number with one typing error (only one invoice fits)",
    Evidence.INVOICE_TAIL: "the text has only the last number of an open invoice's number (weak evidence)",
    Evidence.AMOUNT_ONE_INVOICE: "the amount equals the remaining amount of exactly one open invoice",
    Evidence.AMOUNT_COMBINATION: "the amount equals the sum of exactly one set of the customer's open invoices",
    Evidence.AMOUNT_WITHIN_TOLERANCE: "the amount is within the tolerance of exactly one set of open invoices",
    Evidence.NO_INVOICE_FITS: "no open invoice or set of open invoices of the customer fits the amount",
}


class Discrepancy(StrEnum):
    """How BC's journal read back differs from the plan, in the order a report lists them."""

    MISSING_IN_BC = "missing_in_bc"
    NOT_PLANNED = "not_planned"
    FIELD_MISMATCH = "field_mismatch"
    DUPLICATE_IN_BC = "duplicate_in_bc"


DISCREPANCY_DESCRIPTIONS: Final[Mapping[Discrepancy, str]] = {
    Discrepancy.MISSING_IN_BC: "a planned line Business Central does not have",
    Discrepancy.NOT_PLANNED: "a line Business Central has that this run did not plan",
    Discrepancy.FIELD_MISMATCH: "a field of a planned line differs in Business Central",
    Discrepancy.DUPLICATE_IN_BC: "a payment Business Central holds twice",
}


class Application(StrEnum):
    """How a payment meets the invoice it is applied to (``application`` column of resolution)."""

    EXACT = "exact"
    PARTIAL = "partial"
    OVER = "over"
    UNAPPLIED = "unapplied"


APPLICATION_DESCRIPTIONS: Final[Mapping[Application, str]] = {
    Application.EXACT: "pays the invoice's remaining amount exactly",
    Application.PARTIAL: "pays less than the invoice's remaining amount",
    Application.OVER: "pays more than the invoice's remaining amount",
    Application.UNAPPLIED: "applied to no invoice (a credit on the customer)",
}


class State(StrEnum):
    """Where an input line ended; the order is the order of the identity line and the reports."""

    POSTED = "posted"
    ALREADY_POSTED = "already_posted"
    SKIPPED = "skipped"
    REJECTED = "rejected"
    NEEDS_REVIEW = "needs_review"


STATE_LABELS: Final[Mapping[str, str]] = {
    State.POSTED: "posted",
    State.ALREADY_POSTED: "already posted",
    State.SKIPPED: "skipped",
    State.REJECTED: "rejected",
    State.NEEDS_REVIEW: "needs review",
}
STATES: Final[tuple[str, ...]] = tuple(s.value for s in State)

_TABLES: Final[tuple[Mapping[Any, str], ...]] = (
    REJECT_DESCRIPTIONS,
    SKIP_DESCRIPTIONS,
    REVIEW_DESCRIPTIONS,
    OUTCOME_DESCRIPTIONS,
    FLAG_DESCRIPTIONS,
    EVIDENCE_DESCRIPTIONS,
    DISCREPANCY_DESCRIPTIONS,
    APPLICATION_DESCRIPTIONS,
    STATE_LABELS,
)


def describe(code: str) -> str:
    """The words for people of ``code`` (of any family); an unknown code is shown as itself.

    A code spelled the same in two families (``invoice_not_open`` is a review reason and a flag)
    has the words of the first family listed in the module docstring.
    """
    for table in _TABLES:
        if code in table:
            return table[code]
    return code


__all__ = [
    "APPLICATION_DESCRIPTIONS",
    "DISCREPANCY_DESCRIPTIONS",
    "EVIDENCE_DESCRIPTIONS",
    "FLAG_DESCRIPTIONS",
    "OUTCOME_DESCRIPTIONS",
    "REJECT_DESCRIPTIONS",
    "REVIEW_DESCRIPTIONS",
    "SKIP_DESCRIPTIONS",
    "STATES",
    "STATE_LABELS",
    "Application",
    "Discrepancy",
    "Evidence",
    "Flag",
    "Outcome",
    "Reject",
    "Review",
    "Skip",
    "State",
    "describe",
]
