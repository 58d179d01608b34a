"""Time writing the run report (report.xlsx with openpyxl write_only + report.json) for 200k lines.

python bench/report_bench.py [LINES]    prints the figures; never an assertion on time.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.report import write_run_report
from schemas.codes import STATES
from schemas.lines import DISCREPANCY_COLUMNS


def make_lines(n: int, seed: int = 7) -> pd.DataFrame:
    """A run's lines: mostly posted, a few of each other state, amounts up to 1M EUR."""
    rng = np.random.default_rng(seed)
    states = rng.choice(np.array(STATES), size=n, p=[0.9, 0.04, 0.02, 0.02, 0.02])
    seq = np.arange(1, n + 1)
    text = pd.Series(seq).astype("str")
    return pd.DataFrame(
        {
            "source_file": "statement.csv",
            "source_row": seq + 1,
            "state": states,
            "reason_code": np.where(states == "rejected", "invalid_amount", ""),
            "message": np.where(states == "rejected", "Amount: '1.2.3' is not a number", ""),
            "lineNumber": pd.array(seq * 10_000, dtype="Int64"),
            "key": "bank:tx:" + text,
            "customerNumber": "C" + (seq % 5000).astype("str"),
            "appliesToInvoiceNumber": "RE-2026-" + text.str.zfill(6),
            "amount_minor": pd.array(-rng.integers(1, 100_000_000, size=n), dtype="Int64"),
            "currency": "EUR",
            "postingDate": "2026-03-02",
            "documentNumber": "PAY-" + text,
            "externalDocumentNumber": "REF" + text,
            "description": "Payment " + text,
            "journal_code": "PAYIMP01",
        }
    )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    lines = make_lines(n)
    summary = {"run_id": "bench", "target": "bench", "rows_read": n, "files": [{"file": "statement.csv"}]}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        paths = write_run_report(Path(tmp), summary, lines, pd.DataFrame(columns=list(DISCREPANCY_COLUMNS)))
        took = time.perf_counter() - t0
        sizes = ", ".join(f"{k} {p.stat().st_size / 1e6:.1f} MB" for k, p in paths.items())
    print(f"run report for {n} lines: {took:.1f} s ({n / took:,.0f} lines/s); {sizes}")


if __name__ == "__main__":
    main()
