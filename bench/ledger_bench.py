"""Ledger speed at migration scale: plan, mark sending, mark created and look up N rows (default 200k).

python bench/ledger_bench.py [ROWS]   prints seconds per stage; never an assertion.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.ledger import Ledger, PlannedRow

TARGET = "https://bench.invalid/api/v2.0|company"


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    rows = [
        PlannedRow(
            key=f"bench:tx:{i:09d}",
            run_id="run-1",
            file_sha256="0" * 64,
            source_file="statement.csv",
            source_row=i + 2,
            journal_id="journal-1",
            journal_code="PAY-1",
            line_number=10_000 * (i + 1),
            payload={
                "lineNumber": 10_000 * (i + 1),
                "customerNumber": "C10000",
                "amount": "-1234.50",
                "postingDate": "2026-11-20",
                "documentNumber": f"PAY{i:09d}",
                "description": "bench",
            },
        )
        for i in range(n)
    ]
    keys = [row.key for row in rows]
    with tempfile.TemporaryDirectory() as tmp, Ledger.open(Path(tmp) / "ledger.sqlite") as ledger:
        ledger.start_run(TARGET, "run-1", [])
        stages: dict[str, Callable[[], object]] = {
            "plan": lambda: ledger.plan(TARGET, "run-1", rows),
            "mark_sending": lambda: ledger.mark_sending(TARGET, keys),
            "mark_created": lambda: ledger.mark_created(TARGET, [(k, "bc-" + k) for k in keys]),
            "lookup": lambda: ledger.lookup(TARGET, keys),
            "rows_in_state": lambda: ledger.rows_in_state(TARGET, ["created"]),
        }
        print(f"ledger bench: {n} rows")
        for name, stage in stages.items():
            t0, c0 = time.perf_counter(), time.process_time()
            stage()
            print(f"  {name:<14} {time.perf_counter() - t0:7.3f} s wall {time.process_time() - c0:7.3f} s cpu")


if __name__ == "__main__":
    main()
