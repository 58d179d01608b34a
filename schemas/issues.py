"""Row issues and reason codes: how every refused or skipped row is explained.

Reason codes are stable identifiers (reports, tests and the errors workbook rely on them);
messages are for people and name the value and what was expected.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# Rejections: the row looks like a receipt (or cannot be told apart) but a value is refused.
REJECT_CODES: dict[str, str] = {
    "amount_format": "amount does not match the profile's number format",
    "amount_decimals": "amount has more decimals than the currency allows",
    "amount_too_large": "amount is too large",
    "amount_missing": "no amount",
    "amount_both_sides": "both debit and credit are filled in",
    "amount_negative_credit": "negative value in the credit column",
    "indicator_unknown": "debit/credit indicator is not one the profile knows",
    "amount_sign_conflict": "the amount's sign contradicts the debit/credit indicator",
    "currency_mismatch": "currency differs from the profile's expected currency",
    "date_missing": "no date",
    "date_format": "date does not match the profile's date format(s)",
    "date_invalid": "date does not exist in the calendar",
    "date_ambiguous": "date fits two of the profile's formats with different results",
    "date_out_of_range": "date is outside the range Business Central accepts",
    "too_long": "value is longer than Business Central allows",
    "invalid_value": "value breaks a rule of the payment schema",
}

# Skips: the row is not a customer receipt, and that is expected.
SKIP_CODES: dict[str, str] = {
    "header": "header row",
    "preamble": "line before the header",
    "blank": "blank row",
    "repeated_header": "the header repeated",
    "footer": "footer, total or balance row",
    "hidden": "hidden row in the sheet",
    "not_a_transaction": "no date and no amount",
    "continuation": "continuation of the previous row's text",
    "zero_amount": "amount is zero",
    "not_receipt": "not a customer receipt (a debit or filtered out)",
    "rule": "skipped by a profile rule",
}


@dataclass(frozen=True)
class RowIssue:
    """One refused value: where it is (as a person sees the file), what it was, and why."""

    source_file: str
    source_row: int
    column: str
    value: str
    reason_code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
