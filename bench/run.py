"""Benchmarks of the local stages (read + validate + normalise), printed as figures and ratios.

Runs each case ``--repeat`` times in a fresh interpreter under ``/usr/bin/time -v`` and reports
the median operation time (imports excluded, as in reference/performance-notes.md), the
whole-process wall time, and the peak RSS. Never an assertion: machines are shared and noisy.

    python bench/run.py [--repeat 3] [--csv-rows 1000000] [--xlsx-rows 100000] [--only csv|xlsx]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUDGET = {"payimport-csv": (5.0, 1.2 * 1024), "payimport-xlsx": (2.0, None)}
# The targets are ratios to yardsticks measured in the same run (the machine's speed drifts):
# payimport-csv within 1.5x of plain polars doing the same work, at most 1 GiB; payimport-xlsx
# within 1.5x of calamine alone.
TARGETS = {"csv": ("polars-csv", 1.5, 1024.0), "xlsx": ("baseline-xlsx", 1.5, None)}


def run_case(args: list[str]) -> dict[str, float]:
    cmd = ["/usr/bin/time", "-v", sys.executable, str(HERE / "measure.py"), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", proc.stderr)
    result["peak_mib"] = int(rss.group(1)) / 1024 if rss else float("nan")
    # CPU seconds of the whole process (imports included): steadier than wall time on a loaded
    # machine, though a multi-threaded case spends more of it for the same wall time
    cpu = re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", proc.stderr)
    result["cpu_s"] = sum(float(x) for x in cpu) if cpu else float("nan")
    if wall:
        h, m, s = wall.groups()
        result["wall_s"] = int(h or 0) * 3600 + int(m) * 60 + float(s)
    return result


def interleaved_medians(cases: dict[str, list[str]], repeat: int) -> dict[str, dict[str, float]]:
    """Each case ``repeat`` times, the cases taking turns: a slow phase of a shared machine then
    slows every case alike instead of the one that happened to run during it."""
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in cases}
    for _ in range(repeat):
        for name, argv in cases.items():
            runs[name].append(run_case(argv))
    out = {}
    for name, results in runs.items():
        first = dict(results[0])
        for key in ("op_s", "import_s", "peak_mib", "wall_s", "cpu_s"):
            first[key] = statistics.median(r[key] for r in results)
        first["op_runs"] = [r["op_s"] for r in results]  # type: ignore[assignment]
        out[name] = first
    return out


def print_targets(results: dict[str, dict[str, float]], kinds: tuple[str, ...] = ("csv", "xlsx")) -> None:
    """The ratio of each payimport case to its yardstick, and whether it meets its target."""
    for kind, (yardstick, ratio_max, peak_max) in TARGETS.items():
        if kind not in kinds:
            continue
        ours, base = results[f"payimport-{kind}"], results[yardstick]
        ratio = ours["op_s"] / base["op_s"]
        met = ratio <= ratio_max and (peak_max is None or ours["peak_mib"] <= peak_max)
        peak = f", peak {ours['peak_mib']:.0f} MiB (<= {peak_max:.0f})" if peak_max else ""
        print(
            f"target payimport-{kind} / {yardstick}: {ratio:.2f}x (<= {ratio_max}x){peak}  "
            + ("met" if met else "NOT MET")
        )
    if "csv" in kinds:
        # the engine's floor: the yardstick's work as one plain pyarrow plan (no pandas, no pandera,
        # none of payimport's accounting); payimport's frames stand on pyarrow, and do more work
        floor, ours, polars = results["pyarrow-csv"], results["payimport-csv"], results["polars-csv"]
        print(
            f"floor pyarrow-csv / polars-csv: {floor['op_s'] / polars['op_s']:.2f}x; "
            f"payimport-csv / pyarrow-csv: {ours['op_s'] / floor['op_s']:.2f}x"
        )
    for name in ("polars-csv", "pyarrow-csv", "payimport-csv") if "csv" in kinds else ():
        r = results[name]
        print(f"{name}: valid {r['rows_valid']}, rejected {r['rows_rejected']}, amount {r['amount_valid']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--csv-rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=100_000)
    parser.add_argument("--only", choices=("csv", "xlsx"), help="run only the CSV cases or only the xlsx cases")
    args = parser.parse_args()
    subprocess.run(
        [
            sys.executable,
            str(HERE / "generate.py"),
            "--csv-rows",
            str(args.csv_rows),
            "--xlsx-rows",
            str(args.xlsx_rows),
        ],
        check=True,
        capture_output=True,
    )
    data = HERE / "data"
    csv = data / f"statement_{args.csv_rows}.csv"
    xlsx = data / f"statement_{args.xlsx_rows}.xlsx"
    cases = {
        "baseline-csv": ["baseline-csv", str(csv)],
        "polars-csv": ["polars-csv", str(csv)],
        "pyarrow-csv": ["pyarrow-csv", str(csv)],
        "payimport-csv": ["payimport", str(csv), "bench-de"],
        "baseline-xlsx": ["baseline-xlsx", str(xlsx)],
        "payimport-xlsx": ["payimport", str(xlsx), "bench-xlsx"],
    }
    if args.only:
        cases = {name: argv for name, argv in cases.items() if name.endswith(args.only)}
    results = interleaved_medians(cases, args.repeat)
    print(f"{'case':<16}{'op s':>8}  {'runs':<32}{'wall s':>8}{'cpu s':>8}{'peak MiB':>10}  budget")
    for name, r in results.items():
        budget = BUDGET.get(name)
        note = ""
        if budget:
            secs, mib = budget
            note = f"<= {secs:.1f} s" + (f", <= {mib:.0f} MiB" if mib else "")
            note += "  OK" if r["op_s"] <= secs and (mib is None or r["peak_mib"] <= mib) else "  OVER"
        runs = ",".join(f"{x:.2f}" for x in r["op_runs"])
        times = f"{r['op_s']:>8.2f}  {runs:<32}{r['wall_s']:>8.2f}{r['cpu_s']:>8.2f}"
        print(f"{name:<16}{times}{r['peak_mib']:>10.0f}  {note}")
    kinds = (args.only,) if args.only else ("csv", "xlsx")
    for kind in kinds:
        base, ours = results[f"baseline-{kind}"], results[f"payimport-{kind}"]
        print(
            f"ratio payimport/baseline ({kind}): time {ours['op_s'] / base['op_s']:.1f}x, "
            f"peak {ours['peak_mib'] / base['peak_mib']:.1f}x"
        )
    print_targets(results, kinds)
    for name in (f"payimport-{kind}" for kind in kinds):
        r = results[name]
        print(
            f"{name}: rows_read {r['rows_read']}, valid {r['rows_valid']}, rejected {r['rows_rejected']}, "
            f"skipped {r['rows_skipped']}"
        )


if __name__ == "__main__":
    main()
