"""Read and validate a large camt.053 statement: time and peak memory.

Usage: ``.venv/bin/python bench/camt_bench.py [--entries 100000] [--repeat 3]``. Generates (seeded,
once) ``bench/data/camt053_<N>.xml``: one statement of N entries (a fifth of them debits, every
tenth credit a batch of two transaction details), with opening and closing balances that add up.
Each case runs in a fresh interpreter so its peak memory (``ru_maxrss``) is its own:

- ``parse``: the camt reader alone (``iterparse``, each entry dropped once read);
- ``validate``: ``validate_file`` without a profile: detection, the reader, the balance check,
  the statement table, the CSV path's mapping, schema checks and customerPayment rows.

``cpu`` is the process's own CPU time: on a shared, loaded machine the wall clock also counts
the time the process waited for a CPU. The figures are printed, never asserted.

``--against REF`` also runs the code of git revision ``REF`` (exported to a temporary directory
and put first on ``PYTHONPATH``), the two taking turns run by run, and prints the ratios: on a
shared machine only figures measured side by side compare.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"


def generate(entries: int, path: Path) -> None:
    """A statement whose balances add up; written in pieces (the file is large)."""
    rng = random.Random(entries)
    total = Decimal(0)
    body: list[str] = []
    for n in range(1, entries + 1):
        credit = rng.random() >= 0.2
        cents = rng.randint(100, 5_000_000)
        amount = Decimal(cents).scaleb(-2)
        total += amount if credit else -amount
        ind = "CRDT" if credit else "DBIT"
        details = ""
        if credit and n % 10 == 0 and cents > 1:
            a = Decimal(cents // 2).scaleb(-2)
            parts = (a, amount - a)
            details = "".join(
                f'<TxDtls><Refs><AcctSvcrRef>R{n}-{k}</AcctSvcrRef></Refs><Amt Ccy="EUR">{p}</Amt>'
                f"<CdtDbtInd>CRDT</CdtDbtInd><RltdPties><Dbtr><Nm>Customer {n % 997}</Nm></Dbtr></RltdPties>"
                f"<RmtInf><Ustrd>Invoice RE-2026-{n:06d}-{k}</Ustrd></RmtInf></TxDtls>"
                for k, p in enumerate(parts, start=1)
            )
        else:
            details = (
                f"<TxDtls><Refs><EndToEndId>E2E{n}</EndToEndId></Refs><RltdPties><Dbtr><Nm>Customer {n % 997}"
                f"</Nm></Dbtr></RltdPties><RmtInf><Ustrd>Invoice RE-2026-{n:06d}</Ustrd></RmtInf></TxDtls>"
            )
        body.append(
            f'<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{ind}</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>'
            f"<BookgDt><Dt>2026-03-{1 + n % 28:02d}</Dt></BookgDt><AcctSvcrRef>R{n}</AcctSvcrRef>"
            f"<NtryDtls>{details}</NtryDtls></Ntry>\n"
        )
    opening = Decimal("1000000.00")
    closing = opening + total
    sign = "CRDT" if closing >= 0 else "DBIT"
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">'
        "<BkToCstmrStmt><GrpHdr><MsgId>BENCH</MsgId><CreDtTm>2026-03-31T18:00:00</CreDtTm></GrpHdr>\n"
        "<Stmt><Id>BENCH-1</Id><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>\n"
        f'<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{opening}</Amt>'
        "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-03-01</Dt></Dt></Bal>\n"
        f'<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{abs(closing)}</Amt>'
        f"<CdtDbtInd>{sign}</CdtDbtInd><Dt><Dt>2026-03-31</Dt></Dt></Bal>\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        out.write(head)
        out.writelines(body)
        out.write("</Stmt></BkToCstmrStmt></Document>\n")


def one(case: str, path: Path) -> None:
    """In the child: run the case once and print its time, peak memory and figures as JSON."""
    from pipeline.config import Config
    from pipeline.readers.statements import read_statements
    from pipeline.validate import validate_file

    began, cpu = time.perf_counter(), time.process_time()
    figures: dict[str, object]
    if case == "parse":
        parsed = read_statements(path.read_bytes(), str(path), "camt")
        figures = {"entries": sum(len(s.entries) for s in parsed.statements)}
    else:
        result = validate_file(path, Config(profiles={}))
        figures = {"rows_read": result.rows_read, "valid": result.rows_valid, "balance": result.balance.status}
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(json.dumps({"s": seconds, "cpu_s": cpu, "peak_mib": peak, **figures}))


def export(ref: str, into: Path) -> Path:
    """The tree of git revision ``ref``, written under ``into``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def run(case: str, path: Path, src: Path | None) -> dict[str, Any]:
    """One fresh interpreter running ``case``, on ``src``'s code when given."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(src), env.get("PYTHONPATH"))))
    cmd = [sys.executable, __file__, "--one", case, "--file", str(path)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env, cwd=src or ROOT).stdout
    return dict(json.loads(out))


def summary(label: str, runs: list[dict[str, Any]]) -> str:
    times = [r["s"] for r in runs]
    extra = {k: v for k, v in runs[0].items() if k not in ("s", "cpu_s", "peak_mib")}
    return (
        f"{label:9} median {statistics.median(times):.2f} s (cpu {statistics.median(r['cpu_s'] for r in runs):.2f} s)  "
        f"runs {', '.join(f'{t:.2f}' for t in times)}  peak {max(r['peak_mib'] for r in runs)} MiB  {extra}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--against", metavar="REF", help="git revision to compare with, turn by turn")
    parser.add_argument("--one", choices=("parse", "validate"))
    parser.add_argument("--file", type=Path)
    args = parser.parse_args()
    if args.one:
        one(args.one, args.file)
        return
    path = DATA / f"camt053_{args.entries}.xml"
    if not path.exists():
        generate(args.entries, path)
    print(f"{path.name}: {path.stat().st_size / 2**20:.1f} MiB; load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        base = export(args.against, Path(tmp)) if args.against else None
        for case in ("parse", "validate"):
            new: list[dict[str, Any]] = []
            old: list[dict[str, Any]] = []
            for _ in range(args.repeat):
                if base is not None:
                    old.append(run(case, path, base))
                new.append(run(case, path, None))
            print(summary(case, new))
            if old:
                print(summary(f"  {args.against}", old))
                cpu = statistics.median(r["cpu_s"] for r in old) / statistics.median(r["cpu_s"] for r in new)
                wall = statistics.median(r["s"] for r in old) / statistics.median(r["s"] for r in new)
                print(f"  ratio {args.against} / this: cpu {cpu:.2f}x, wall {wall:.2f}x")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
