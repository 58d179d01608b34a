"""What the bounded workbook reader costs: one sheet read in-process vs in the limited child.

Usage: ``.venv/bin/python bench/reader_overhead.py [XLSX] [--repeat 7]`` (default: the 100k-row
workbook of ``bench/generate.py``). Runs interleaved, so a noisy machine slows all three alike:
calamine alone (``to_python``), the reader's work in this process (zip checks, calamine, the
hidden-row scan, trimming), and the same work in the child with its limits, including process
start, sending the bytes and the packed columns back; and ``open_sheet``, which adds the parent's
checks of the child's buffers (the form the reader hands on). Prints medians and the child's overhead.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from python_calamine import CalamineWorkbook

from pipeline.readers import excel, sandboxed

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("xlsx", type=Path, nargs="?", default=ROOT / "bench" / "data" / "statement_100000.xlsx")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    data = args.xlsx.read_bytes()
    cases: dict[str, Callable[[], object]] = {
        "calamine alone": lambda: (
            CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python(skip_empty_area=False)
        ),
        "reader in-process": lambda: sandboxed.load_sheet(data, None),
        "reader in bounded child": lambda: sandboxed.load_in_child(data, None),
        "open_sheet (child, checks)": lambda: excel.open_sheet(str(args.xlsx), data, None),
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.repeat):
        for name, run in cases.items():
            started = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - started)
    medians = {name: statistics.median(ts) for name, ts in times.items()}
    for name, ts in times.items():
        print(f"{name:27} median {medians[name]:.2f} s  runs {', '.join(f'{t:.2f}' for t in ts)}")
    inproc, child = medians["reader in-process"], medians["reader in bounded child"]
    print(f"child overhead: {child - inproc:+.2f} s ({(child / inproc - 1) * 100:+.0f}% of the in-process reader)")
    print(f"child vs calamine alone: {child / medians['calamine alone']:.2f}x")


if __name__ == "__main__":
    main()
