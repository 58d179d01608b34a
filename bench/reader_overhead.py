"""What the bounded workbook reader costs: one sheet read in-process vs in the limited child.

Usage: ``.venv/bin/python bench/reader_overhead.py [XLSX] [--repeat 7]`` (default: the 100k-row
workbook of ``bench/generate.py``). Runs interleaved, so a noisy machine slows all three alike:
calamine alone (``to_python``), the reader's work in this process (zip checks, calamine, the
hidden-row scan, trimming), and the same work in the child with its limits, including process
start, sending the bytes and the packed columns back; and ``open_sheet``, which adds the parent's
checks of the child's buffers (the form the reader hands on). Prints medians of the wall time and
of the CPU time (this process's threads and its children's: steadier on a loaded machine; above
the wall time where threads run side by side) and the child's overhead.
"""

from __future__ import annotations

import argparse
import io
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from python_calamine import CalamineWorkbook

from pipeline.readers import excel, sandboxed

ROOT = Path(__file__).resolve().parent.parent


def _cpu() -> float:
    """CPU seconds of this process (all threads) and of its children that have ended."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


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
    cpu: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.repeat):
        for name, run in cases.items():
            started, spent = time.perf_counter(), _cpu()
            run()
            times[name].append(time.perf_counter() - started)
            cpu[name].append(_cpu() - spent)
    medians = {name: statistics.median(ts) for name, ts in times.items()}
    for name, ts in times.items():
        runs = ", ".join(f"{t:.2f}" for t in ts)
        print(f"{name:27} median {medians[name]:.2f} s  CPU {statistics.median(cpu[name]):.2f} s  runs {runs}")
    inproc, child = medians["reader in-process"], medians["reader in bounded child"]
    print(f"child overhead: {child - inproc:+.2f} s ({(child / inproc - 1) * 100:+.0f}% of the in-process reader)")
    print(f"child vs calamine alone: {child / medians['calamine alone']:.2f}x")


if __name__ == "__main__":
    main()
