"""One measurement in a fresh interpreter; prints a JSON line. Called by bench/run.py.

python bench/measure.py baseline-csv FILE
python bench/measure.py baseline-xlsx FILE
python bench/measure.py polars-csv FILE
python bench/measure.py pyarrow-csv FILE
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


def pyarrow_statement(file: Path) -> dict[str, Any]:
    """``polars_statement``'s work, step for step, in pyarrow compute alone (no pandas, no pandera).

    Where the local stages could go without changing engine: pyarrow is already the one under
    payimport's frames (the card keeps pandas and pandera above it). A plan of whole-column kernels
    over one table, each step's output the next one's input, and no per-row Python. It agrees with
    the polars yardstick and with payimport on the valid rows and their sum.
    """
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    raw = pacsv.read_csv(
        file,
        parse_options=pacsv.ParseOptions(delimiter=";"),
        convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(_header(file), pa.string())),
    )
    pool = ThreadPoolExecutor(max_workers=2)  # kernels release the GIL: independent ones side by side
    frame = pa.table(list(pool.map(pc.utf8_trim_whitespace, raw.columns)), names=raw.column_names)

    def amounts() -> Any:
        amount = frame["Betrag"]
        amount_ok = pc.match_substring_regex(amount, r"^-?(?:\d{1,3}(?:\.\d{3})+|\d+),\d{2}$")
        digits = pc.replace_substring(pc.replace_substring(amount, ".", ""), ",", "")
        fits = pc.and_(amount_ok, pc.less_equal(pc.utf8_length(digits), 18))  # as polars: too long is null
        return pc.cast(pc.if_else(fits, digits, pa.scalar(None, pa.string())), pa.int64())

    minor_job = pool.submit(amounts)
    # each distinct date text parsed once (a statement has a few hundred); strptime rolls 31.02.
    # over into March, so a date is one only if it reads back as written
    booked = pc.dictionary_encode(frame["Buchungstag"]).combine_chunks()
    texts = booked.dictionary
    parsed = pc.cast(pc.strptime(texts, "%d.%m.%Y", "s", error_is_null=True), pa.date32())
    written = pc.equal(pc.strftime(parsed, "%d.%m.%Y"), texts)
    exact = pc.and_(pc.match_substring_regex(texts, r"^\d{2}\.\d{2}\.\d{4}$"), written)
    dates = pc.take(pc.if_else(exact, parsed, pa.scalar(None, pa.date32())), booked.indices)
    shown = pc.take(pc.strftime(parsed, "%y%m%d"), booked.indices)
    minor = minor_job.result()
    needed = ["Auftraggeber", "Verwendungszweck", "Währung", "Transaktions-ID"]
    names = [*needed, "amount_minor", "posting_date", "shown"]
    frame = pa.table([*(frame[n] for n in needed), minor, dates, shown], names=names)
    frame = frame.append_column("source_row", pa.array(np.arange(1, frame.num_rows + 1, dtype=np.int64)))
    receipts = frame.filter(pc.or_kleene(pc.is_null(minor), pc.greater(minor, 0)))
    currency = receipts["Währung"]
    valid = receipts.filter(
        pc.and_(
            pc.and_(pc.is_valid(receipts["amount_minor"]), pc.is_valid(receipts["posting_date"])),
            pc.and_(
                pc.and_(pc.match_substring_regex(currency, r"^[A-Z]{3}$"), pc.equal(currency, "EUR")),
                pc.less_equal(pc.utf8_length(receipts["Transaktions-ID"]), 35),
            ),
        )
    )
    seq = pa.array(np.arange(1, valid.num_rows + 1, dtype=np.int64))
    tx, reference = valid["Transaktions-ID"], valid["Verwendungszweck"]
    document = pc.binary_join_element_wise(
        "BANK", valid["shown"], "-", pc.utf8_lpad(pc.cast(seq, pa.string()), 7, "0"), ""
    )
    customers = pool.submit(_first_group, reference, r"\b(?P<v>C\d{5})\b")
    invoices = pool.submit(_first_group, reference, r"\b(?P<v>RE-\d{4}-\d{5})\b")
    payments = pa.table(
        {
            "lineNumber": pc.multiply(seq, 10_000),
            "postingDate": valid["posting_date"],
            "documentNumber": document,
            "externalDocumentNumber": pc.utf8_upper(tx),
            "customerNumber": pc.utf8_upper(customers.result()),
            "appliesToInvoiceNumber": invoices.result(),
            "amount_minor": pc.negate(valid["amount_minor"]),
            "description": pc.utf8_slice_codeunits(valid["Auftraggeber"], 0, 100),
            "key": pc.binary_join_element_wise("bench-de:tx:", tx, ""),
            "source_row": valid["source_row"],
        }
    )
    payments = payments.filter(pc.less_equal(pc.utf8_length(payments["documentNumber"]), 20))
    pool.shutdown()
    return {
        "rows_read": raw.num_rows + 1,
        "rows_valid": payments.num_rows,
        "rows_rejected": receipts.num_rows - payments.num_rows,
        "amount_valid": str(Decimal(-int(pc.sum(payments["amount_minor"]).as_py())).scaleb(-2)),
    }


def _header(file: Path) -> list[str]:
    """The file's column names (every column is read as text, as polars' ``infer_schema=False``)."""
    with file.open(encoding="utf-8") as fh:
        return fh.readline().rstrip("\r\n").split(";")


def _first_group(text: Any, pattern: str) -> Any:
    """The first match's group ``v`` of each text (null where none), as polars' ``str.extract``."""
    import pyarrow.compute as pc

    return pc.struct_field(pc.extract_regex(text, pattern), "v")


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
    elif case == "pyarrow-csv":
        import concurrent.futures  # noqa: F401  (imports stay outside the timer)

        import numpy  # noqa: F401
        import pyarrow.compute
        import pyarrow.csv  # noqa: F401

        from pipeline.arrowpool import use_jemalloc

        use_jemalloc()  # Arrow's buffers from the pool payimport takes them from

        t1 = time.perf_counter()
        out = pyarrow_statement(file)
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
