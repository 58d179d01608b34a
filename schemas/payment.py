"""pandera model of the canonical customerPayment row, with Business Central's field limits.

Limits come from BC's table 81 (Gen. Journal Line) as exposed by API page 30055:
documentNumber Code[20], externalDocumentNumber Code[35], customerNumber Code[20],
appliesToInvoiceNumber Code[20] (Code fields are upper-cased by BC), description
Text[100], comment Text[250]. A customer receipt is a *negative* amount in BC's journal.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from schemas.checks import duplicated_mask
from schemas.statement import MAX_DATE, MIN_DATE

LIMITS: dict[str, int] = {
    "documentNumber": 20,
    "externalDocumentNumber": 35,
    "customerNumber": 20,
    "appliesToInvoiceNumber": 20,
    "description": 100,
    "comment": 250,
}
CODE_FIELDS = ("documentNumber", "externalDocumentNumber", "customerNumber", "appliesToInvoiceNumber")


def _upper(s: pd.Series) -> pd.Series:
    return s == s.str.upper()


class CustomerPayment(pa.DataFrameModel):
    """One row the poster will send to ``customerPaymentJournals({id})/customerPayments``."""

    lineNumber: Series[int] = pa.Field(gt=0)
    postingDate: Series[pd.Timestamp] = pa.Field(nullable=False, ge=MIN_DATE, le=MAX_DATE)
    documentNumber: Series[str] = pa.Field(str_length={"min_value": 1, "max_value": LIMITS["documentNumber"]})
    externalDocumentNumber: Series[str] = pa.Field(str_length={"max_value": LIMITS["externalDocumentNumber"]})
    customerNumber: Series[str] = pa.Field(str_length={"max_value": LIMITS["customerNumber"]})
    appliesToInvoiceNumber: Series[str] = pa.Field(str_length={"max_value": LIMITS["appliesToInvoiceNumber"]})
    # every invoice number the reference names (space-separated); resolution picks among them
    invoiceCandidates: Series[str]
    amount_minor: Series[int] = pa.Field(lt=0)
    currency: Series[str] = pa.Field(str_matches=r"^[A-Z]{3}$")
    description: Series[str] = pa.Field(str_length={"max_value": LIMITS["description"]})
    comment: Series[str] = pa.Field(str_length={"max_value": LIMITS["comment"]})
    key: Series[str] = pa.Field(str_length={"min_value": 1})
    source_file: Series[str]
    source_row: Series[int] = pa.Field(gt=0)

    @pa.check("lineNumber", name="increasing_in_file_order")
    def _line_numbers_increase(cls, s: Series[int]) -> Series[bool]:
        """Strictly increasing in file order (so also unique): BC refuses a duplicate lineNumber."""
        previous = s.shift(1)
        return (previous.isna() | (s > previous)).astype(bool)  # type: ignore[return-value]

    @pa.check("key", name="unique")
    def _key_unique(cls, s: Series[str]) -> Series[bool]:
        """One payment per idempotency key: a second row with a key is a second posting."""
        return ~duplicated_mask(s)  # type: ignore[return-value]

    @pa.check("documentNumber", "externalDocumentNumber", "customerNumber", "appliesToInvoiceNumber", name="upper_case")
    def _code_upper(cls, s: Series[str]) -> Series[bool]:
        return _upper(s)  # type: ignore[return-value]

    class Config:
        strict = True
        coerce = False
        ordered = False
