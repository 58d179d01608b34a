"""One measurement in a fresh interpreter; prints a JSON line. Called by bench/run.py.

python bench/measure.py baseline-csv FILE
python bench/measure.py baseline-xlsx FILE
python bench/measure.py polars-csv FILE
python bench/measure.py payimport FILE PROFILE
"""

from __future__ import annotations

import json
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def polars_statement(file: Path) -> dict[str, Any]:
    """The work of ``payimport validate`` on the bench-de profile, written plainly in polars.

    The yardstick for the local stages: every column read as text and trimmed, dd.mm.yyyy dates
    refusing non-dates (31.02.), decimal-comma amounts with thousands dots to int64 minor units
    refusing malformed ones, receipts only, invoice and customer numbers by regex, BC's length
    and currency checks, documentNumber, key and lineNumber. It agrees with payimport on which
    rows are valid; the per-row messages and the accounting of payimport are not reproduced.
    """
    import polars as pl

    raw = pl.read_csv(file, separator=";", infer_schema=False, encoding="utf8")
    frame = raw.select(pl.all().str.strip_chars())
    amount_ok = r"^-?(?:\d{1,3}(?:\.\d{3})+|\d+),\d{2}$"
    amount = pl.col("Betrag")
    minor = pl.when(amount.str.contains(amount_ok)).then(
        amount.str.replace_all(r"[.,]", "").cast(pl.Int64, strict=False)
    )
    date = pl.when(pl.col("Buchungstag").str.contains(r"^\d{2}\.\d{2}\.\d{4}$")).then(
        pl.col("Buchungstag").str.to_date("%d.%m.%Y", strict=False)
    )
    frame = frame.with_columns(
        minor.alias("amount_minor"),
        date.alias("posting_date"),
        pl.int_range(1, pl.len() + 1).alias("source_row"),
    )
    receipts = frame.filter(pl.col("amount_minor").is_null() | (pl.col("amount_minor") > 0))
    valid = receipts.filter(
        pl.col("amount_minor").is_not_null()
        & pl.col("posting_date").is_not_null()
        & pl.col("Währung").str.contains(r"^[A-Z]{3}$")
        & (pl.col("Währung") == "EUR")
        & (pl.col("Transaktions-ID").str.len_chars() <= 35)
    )
    payments = valid.select(
        (pl.int_range(1, pl.len() + 1) * 10_000).alias("lineNumber"),
        pl.col("posting_date").alias("postingDate"),
        pl.concat_str(
            pl.lit("BANK"),
            pl.col("posting_date").dt.strftime("%y%m%d"),
            pl.lit("-"),
            pl.int_range(1, pl.len() + 1).cast(pl.String).str.zfill(7),
        ).alias("documentNumber"),
        pl.col("Transaktions-ID").str.to_uppercase().alias("externalDocumentNumber"),
        pl.col("Verwendungszweck").str.extract(r"\b(C\d{5})\b").str.to_uppercase().alias("customerNumber"),
        pl.col("Verwendungszweck").str.extract(r"\b(RE-\d{4}-\d{5})\b").alias("appliesToInvoiceNumber"),
        (-pl.col("amount_minor")).alias("amount_minor"),
        pl.col("Auftraggeber").str.slice(0, 100).alias("description"),
        pl.concat_str(pl.lit("bench-de:tx:"), pl.col("Transaktions-ID")).alias("key"),
        pl.col("source_row"),
    )
    payments = payments.filter(pl.col("documentNumber").str.len_chars() <= 20)
    return {
        "rows_read": raw.height + 1,
        "rows_valid": payments.height,
        "rows_rejected": receipts.height - payments.height,
        "amount_valid": str(Decimal(-int(payments["amount_minor"].sum())).scaleb(-2)),
    }


def main() -> None:
    case, file = sys.argv[1], Path(sys.argv[2])
    t0 = time.perf_counter()
    if case == "baseline-csv":
        import pandas as pd

        t1 = time.perf_counter()
        frame = pd.read_csv(file, engine="pyarrow", dtype=str, sep=";")
        rows = len(frame)
        out: dict[str, Any] = {"rows": rows}
    elif case == "baseline-xlsx":
        from python_calamine import CalamineWorkbook

        t1 = time.perf_counter()
        rows = len(CalamineWorkbook.from_path(str(file)).get_sheet_by_index(0).to_python())
        out = {"rows": rows}
    elif case == "polars-csv":
        import polars  # noqa: F401  (imports stay outside the timer, as for the other cases)

        t1 = time.perf_counter()
        out = polars_statement(file)
    else:
        from pipeline.config import load_config
        from pipeline.validate import validate_file

        config = load_config(HERE / "config.yaml")
        t1 = time.perf_counter()
        result = validate_file(file, config, sys.argv[3])
        s = result.summary()
        out = {k: s[k] for k in ("rows_read", "rows_valid", "rows_rejected", "rows_skipped", "amount_valid")}
    t2 = time.perf_counter()
    out.update(case=case, file=file.name, import_s=round(t1 - t0, 3), op_s=round(t2 - t1, 3))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
