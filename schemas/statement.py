"""pandera model of mapped statement rows: what one receipt looks like after parsing.

Parsing (text -> exact values) happens before, in ``pipeline.parsing``, because pandera's
``coerce=True`` on dirty text is 28x slower and hides other checks on the same column; this
schema checks the parsed values and reports every failure of every row in one lazy pass.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

# BC's Code[20] fields a statement may feed directly.
CODE20 = 20
MIN_DATE = pd.Timestamp("1753-01-02")
MAX_DATE = pd.Timestamp("9998-12-31")


class StatementRow(pa.DataFrameModel):
    """One customer receipt read from a statement, with exact amount in minor units."""

    source_row: Series[int] = pa.Field(gt=0)
    posting_date: Series[pd.Timestamp] = pa.Field(nullable=False, ge=MIN_DATE, le=MAX_DATE)
    amount_minor: Series[pd.Int64Dtype] = pa.Field(nullable=False, gt=0)
    currency: Series[str] = pa.Field(str_matches=r"^[A-Z]{3}$")
    payer_name: Series[str]
    reference: Series[str]
    customer_number: Series[str] = pa.Field(str_length={"max_value": CODE20})
    invoice_number: Series[str] = pa.Field(str_length={"max_value": CODE20})
    transaction_id: Series[str]

    class Config:
        strict = False
        coerce = False


def statement_schema(expected_currency: str) -> pa.DataFrameSchema:
    """The model with the profile's expected currency filled in."""
    schema = StatementRow.to_schema()
    return schema.update_column(
        "currency", checks=[pa.Check.str_matches(r"^[A-Z]{3}$"), pa.Check.eq(expected_currency)]
    )
