"""Time writing the run report (the report workbook + report.json), and its peak memory.

python bench/report_bench.py [LINES ...] [--baseline SOURCE_TREE] [--floor]

prints the figures for each number of lines (200,000 by default); never an assertion on time.
``--baseline`` runs the same measurement, in the same session and on the same lines, with the
``pipeline`` package of another source tree (an older commit unpacked with ``git archive COMMIT
pipeline schemas | tar -x -C /tmp/old``) and prints the ratio, so the comparison is not spoiled by
a machine that is busier in one run than in another. ``--floor`` also times bare XlsxWriter
writing the same lines' cells, one ``write_row`` per line with a preset format (no report sheets,
no JSON): what the library's cell calls alone cost. Each writer runs in its own process, so its
peak resident memory is its own.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
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


def measure(n: int) -> None:
    """Write the report for ``n`` lines with the ``pipeline`` on ``sys.path``; print one JSON line."""
    lines = make_lines(n)
    before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # the lines frame, before writing
    summary = {"run_id": "bench", "target": "bench", "rows_read": n, "files": [{"file": "statement.csv"}]}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        paths = write_run_report(Path(tmp), summary, lines, pd.DataFrame(columns=list(DISCREPANCY_COLUMNS)))
        took = time.perf_counter() - t0
        sizes = {k: p.stat().st_size for k, p in paths.items()}
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"lines": n, "seconds": took, "peak_mb": peak_mb, "before_mb": before_mb, "sizes": sizes}))


def floor(n: int) -> None:
    """Bare XlsxWriter: the lines' cells, one ``write_row`` per line, preset formats; one JSON line."""
    import xlsxwriter

    lines = make_lines(n)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        book = xlsxwriter.Workbook(str(Path(tmp) / "floor.xlsx"), {"constant_memory": True, "tmpdir": tmp})
        sheet = book.add_worksheet("Payments")
        sheet.write_row(0, 0, list(lines.columns), book.add_format({"bold": True}))
        text = book.add_format({"valign": "top"})
        columns = [lines[c].astype("object").where(lines[c].notna(), None).tolist() for c in lines.columns]
        for r, row in enumerate(zip(*columns, strict=True), start=1):
            sheet.write_row(r, 0, row, text)
        book.close()
        took = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"lines": n, "seconds": took, "peak_mb": peak_mb}))


def _child(n: int, source: Path, mode: str = "--measure") -> dict[str, float]:
    """``measure`` (or ``floor``) in a fresh process importing ``pipeline`` from ``source``."""
    env = {**os.environ, "PYTHONPATH": str(source)}
    done = subprocess.run([sys.executable, __file__, str(n), mode], env=env, capture_output=True, text=True, check=True)
    value: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return value


def main() -> None:
    args = sys.argv[1:]
    if "--measure" in args or "--measure-floor" in args:
        (measure if "--measure" in args else floor)(int(args[0]))
        return
    baseline = Path(args[args.index("--baseline") + 1]) if "--baseline" in args else None
    sizes = [int(a) for a in args if a.isdigit()] or [200_000]
    here = Path(__file__).resolve().parents[1]
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for n in sizes:
        now = _child(n, here)
        print(
            f"run report for {n:,} lines: {now['seconds']:.1f} s ({n / now['seconds']:,.0f} lines/s), "
            f"peak memory {now['peak_mb']:,.0f} MB (the generated lines alone: {now['before_mb']:,.0f} MB)"
        )
        if "--floor" in args:
            bare = _child(n, here, "--measure-floor")
            print(
                f"  floor, bare XlsxWriter write_row of the lines' cells: {bare['seconds']:.1f} s, "
                f"peak memory {bare['peak_mb']:,.0f} MB; the report is {bare['seconds'] / now['seconds']:.1f}x as fast"
            )
        if baseline is not None:
            old = _child(n, baseline)
            print(
                f"  baseline ({baseline}): {old['seconds']:.1f} s, peak memory {old['peak_mb']:,.0f} MB; "
                f"now {old['seconds'] / now['seconds']:.1f}x as fast"
            )
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
