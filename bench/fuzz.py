"""Fuzz ``payimport validate`` with mutated statements: every input must end in exit 0, 1 or 2.

Usage: ``.venv/bin/python bench/fuzz.py [-n 10000] [--seed 1] [--jobs 2] [--out bench/fuzz-out]``.

Each input is a seed file (``sample_data/``, and the small workbooks of
``../shared/regressions/robustness/`` when present) changed by one to three mutations: byte
flips, truncation, inserted or repeated bytes, and for zip workbooks a mutation of one entry's
XML (flipped bytes, a huge row or cell reference, a repeated attribute, a DTD, a truncated part)
re-zipped. Each input runs the real command in a forked process (the parent imported the tool
once, so an input costs its own work only), with a 30 s wall-clock limit; ``wait4`` gives the
process's peak memory, its own or its children's (the bounded workbook reader), whichever is
higher. Printed at the end: inputs, outcomes by exit code, crashes (any other exit code, a
signal, or a traceback on stderr), hangs over 30 s, and inputs whose peak memory passed 1 GiB;
the inputs behind each crash or hang are kept in ``--out`` to become regression tests.

``mutate`` and ``seed_files`` are also used by ``tests/test_fuzz.py`` (a few hundred inputs in CI).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import re
import signal
import sys
import tempfile
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROBUSTNESS = ROOT.parent / "shared" / "regressions" / "robustness"
STATEMENTS = ROOT / "tests" / "readers" / "fixtures"
HANG_SECONDS = 30.0
MEMORY_LIMIT_KIB = 1 << 20  # 1 GiB, as ru_maxrss counts it


def seed_files() -> list[Path]:
    """Small real inputs of every kind the tool reads: sample CSV and xlsx, and (when the shared
    reproducers are checked out) small xls and ods files and the ones that once broke it."""
    seeds = sorted(p for p in (ROOT / "sample_data").iterdir() if p.suffix in (".csv", ".xlsx"))
    seeds += statement_seeds()
    if ROBUSTNESS.is_dir():
        seeds += sorted(
            p
            for p in ROBUSTNESS.iterdir()
            if p.suffix in (".xls", ".ods", ".xlsx", ".csv") and p.stat().st_size < 64_000
        )
    return seeds


def statement_seeds() -> list[Path]:
    """The small bank statements of the reader tests: camt, MT940/MT942, BAI2, CODA, OFX."""
    return sorted(p for p in STATEMENTS.iterdir() if p.is_file())


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One to three random mutations of ``data``."""
    for _ in range(rng.randint(1, 3)):
        inside_zip = data.startswith(b"PK") and rng.random() < 0.6
        if inside_zip:
            data = _mutate_zip(data, rng)
        elif rng.random() < 0.3 and any(re.search(p, data) for p, _ in _STATEMENT_MUTATIONS):
            data = _mutate_statement(data, rng)
        else:
            data = _mutate_bytes(data, rng)
    return data


_STATEMENT_MUTATIONS: tuple[tuple[bytes, bytes], ...] = (
    (rb"<\?xml[^>]*\?>", b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'),
    (rb"<\?xml[^>]*\?>", b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'),
    (rb"<Ntry>", b"<Ntry>" + b"<a>" * 5000),
    (rb"<Amt Ccy=\"[A-Z]{3}\">[^<]*<", b'<Amt Ccy="EUR">1e999999<'),
    (rb"<CdtDbtInd>[A-Z]*<", b"<CdtDbtInd>RVSL<"),
    (rb"camt\.05[234]\.001\.\d\d", b"camt.053.001.77"),
    (rb"</Stmt>", b""),
    (rb"(?m)^:62F:.*$", b""),
    (rb"(?m)^:61:(\d{6})", b":61:991399"),
    (rb"(?m)^:86:", b":86:?20?21?22" + b"?2" * 2000),
    (rb"(?m)^(16,\d+,)\d+", b"16,999,99999999999999999999999"),
    (rb"(?m)^49,[^/]*/", b"49,,/"),
    (rb"(?m)^88,", b"88," + b"x," * 5000),
    (rb"(?m)^21\d{4}", b"21ZZZZ"),
    (rb"<TRNAMT>[^<\r\n]*", b"<TRNAMT>NaN"),
    (rb"<OFX>", b"<OFX>" + b"<STMTTRN>" * 3000),
)


def _mutate_statement(data: bytes, rng: random.Random) -> bytes:
    """A change a bank statement reader must refuse (or read) cleanly: entity expansion, external
    entities, deep nesting, absurd amounts and dates, missing balances, broken continuations."""
    pattern, replacement = rng.choice([m for m in _STATEMENT_MUTATIONS if re.search(m[0], data)])
    return re.sub(pattern, lambda _: replacement, data, count=rng.choice((1, 0)))


def _mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return bytes(rng.randrange(256) for _ in range(16))
    buf = bytearray(data)
    kind = rng.randrange(6)
    pos = rng.randrange(len(buf))
    if kind == 0:  # flip a few bytes
        for _ in range(rng.randint(1, 8)):
            buf[rng.randrange(len(buf))] = rng.randrange(256)
    elif kind == 1:  # truncate
        del buf[pos:]
    elif kind == 2:  # insert random bytes
        buf[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    elif kind == 3:  # repeat a slice many times (wide rows, long cells, many lines)
        piece = bytes(buf[pos : pos + rng.randint(1, 40)])
        buf[pos:pos] = piece * rng.choice((10, 1000, 20_000))
    elif kind == 4:  # a non-ASCII byte late in the file (legacy encodings)
        buf[rng.randrange(len(buf) // 2, len(buf))] = rng.choice((0xFC, 0xE4, 0xA0, 0x80, 0xFF))
    else:  # swap delimiters, quotes and line ends
        a, b = rng.sample([b",", b";", b'"', b"\n", b"\r", b"\t", b"."], 2)
        return bytes(buf).replace(a, b)
    return bytes(buf)


_XML_MUTATIONS: tuple[tuple[bytes, bytes], ...] = (
    (rb'r="([A-Z]+)(\d+)"', b'r="XFD1048576"'),
    (rb'<row r="(\d+)"', b'<row r="1048576"'),
    (rb"<row ", b'<row hidden="1" '),
    (rb't="n"', b't="e"'),
    (rb"<v>[^<]*</v>", b"<v>-inf</v>"),
    (rb"<v>[^<]*</v>", b"<v>60</v>"),
    (rb"<v>[^<]*</v>", b"<v>1e308</v>"),
    (rb"table:number-rows-repeated=\"\d+\"", b'table:number-rows-repeated="1048576"'),
    (rb"<table:table-row", b'<table:table-row table:number-rows-repeated="100000"'),
    (rb"<table:table-cell", b'<table:table-cell table:number-columns-repeated="16384"'),
    (rb"<\?xml[^>]*\?>", b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "e">]>'),
)


def _mutate_zip(data: bytes, rng: random.Random) -> bytes:
    """Change one entry's content (or the zip's own bytes when it is not a readable zip)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            entries = [(i, zf.read(i.filename)) for i in zf.infolist()]
    except Exception:
        return _mutate_bytes(data, rng)
    if not entries:
        return _mutate_bytes(data, rng)
    k = rng.randrange(len(entries))
    info, content = entries[k]
    if rng.random() < 0.5:
        pattern, replacement = rng.choice(_XML_MUTATIONS)
        content = re.sub(pattern, replacement, content, count=rng.choice((1, 0)))
    else:
        content = _mutate_bytes(content, rng)
    entries[k] = (info, content)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for i, c in entries:
            zf.writestr(i.filename, c)
    return out.getvalue()


@dataclass
class Tally:
    """What the inputs ended in."""

    exits: Counter[str] = field(default_factory=Counter)
    crashes: list[str] = field(default_factory=list)
    hangs: list[str] = field(default_factory=list)
    memory: list[str] = field(default_factory=list)
    peak_kib: int = 0
    slowest: float = 0.0


def _run_one(path: Path, config: Path, errors_out: Path, log: Path) -> None:
    """In the forked child: the real command, its exit code as the process's, stderr to ``log``."""
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 2)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    code = 99
    try:
        from pipeline.cli import main

        main(["validate", "--config", str(config), "--errors-out", str(errors_out), str(path)], prog_name="payimport")
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 99
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 98
    finally:
        sys.stderr.flush()
    os._exit(code)


def _settle(pid: int, started: float, name: str, work: Path, tally: Tally, status: int, kib: int) -> None:
    elapsed = time.monotonic() - started
    tally.slowest = max(tally.slowest, elapsed)
    tally.peak_kib = max(tally.peak_kib, kib)
    log = (work / f"{name}.log").read_text(errors="replace")
    if os.WIFSIGNALED(status):
        tally.exits[f"signal {os.WTERMSIG(status)}"] += 1
        tally.crashes.append(name)
    else:
        code = os.WEXITSTATUS(status)
        tally.exits[str(code)] += 1
        if code not in (0, 1, 2) or "Traceback" in log:
            tally.crashes.append(name)
    if kib > MEMORY_LIMIT_KIB:
        tally.memory.append(name)
    if name not in tally.crashes and name not in tally.memory:
        for p in work.glob(f"{name}*"):
            p.unlink()


def fuzz(count: int, seed: int, jobs: int, out: Path) -> Tally:
    """Run ``count`` mutated inputs, at most ``jobs`` at a time."""
    import pipeline.cli  # noqa: F401  (imported once, shared by every forked child)

    rng = random.Random(seed)
    seeds = [(p.suffix, p.read_bytes()) for p in seed_files()]
    ordinary = [s for s, p in zip(seeds, seed_files(), strict=True) if p.parent.name == "sample_data"]
    out.mkdir(parents=True, exist_ok=True)
    config = ROOT / "config.yaml"
    tally = Tally()
    running: dict[int, tuple[float, str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        errors_out = Path(tmp)
        for n in range(count):
            while len(running) >= jobs:
                _reap(running, out, tally)
            suffix, data = rng.choice(ordinary if rng.random() < 0.8 else seeds)
            name = f"fuzz-{seed}-{n:05d}"
            path = out / f"{name}{suffix}"
            path.write_bytes(mutate(data, rng))
            pid = os.fork()
            if pid == 0:
                _run_one(path, config, errors_out, out / f"{name}.log")
            running[pid] = (time.monotonic(), name)
            if (n + 1) % 500 == 0:
                counts = f"crashes {len(tally.crashes)}, hangs {len(tally.hangs)}, over 1 GiB {len(tally.memory)}"
                print(f"{n + 1} inputs, exits {dict(tally.exits)}, {counts}", flush=True)
        while running:
            _reap(running, out, tally)
    return tally


def _reap(running: dict[int, tuple[float, str]], work: Path, tally: Tally) -> None:
    """Wait for any child; kill the ones past the hang limit (counted as hangs)."""
    pid, status, usage = os.wait4(-1, os.WNOHANG)
    if pid == 0:
        now = time.monotonic()
        for p, (started, name) in list(running.items()):
            if now - started > HANG_SECONDS and name not in tally.hangs:
                os.kill(p, signal.SIGKILL)
                tally.hangs.append(name)
        time.sleep(0.01)
        return
    started, name = running.pop(pid)
    if name in tally.hangs:
        tally.exits["hang"] += 1
        return
    _settle(pid, started, name, work, tally, status, usage.ru_maxrss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "fuzz-out")
    args = parser.parse_args()
    started = time.monotonic()
    tally = fuzz(args.count, args.seed, args.jobs, args.out)
    print(f"inputs: {args.count} in {time.monotonic() - started:.0f} s (seed {args.seed}, {args.jobs} at a time)")
    print(f"exit codes: {dict(sorted(tally.exits.items()))}")
    print(f"crashes: {len(tally.crashes)} {tally.crashes[:20]}")
    print(f"hangs over {HANG_SECONDS:.0f} s: {len(tally.hangs)} {tally.hangs[:20]}")
    print(f"peak memory over 1 GiB: {len(tally.memory)} {tally.memory[:20]}")
    print(f"highest peak: {tally.peak_kib / 1024:.0f} MiB; slowest input: {tally.slowest:.1f} s")
    print(f"kept for inspection: {args.out}")


if __name__ == "__main__":
    main()
