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

``--check-against REF [--files 400]`` is the differential check of a reader change: it writes
seeded camt files that vary everything the reader looks at (prefixes, versions, padded, nested and
multi-line texts, comments and CDATA, batches with and without amounts, returns, reversals,
pending entries, several statements, entries on one line, truncated files) and compares, file by
file, what the code of ``REF`` and the current code make of them: every statement and row field,
the statement table's cells and skipped rows, or the error message.
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


def _text(rng: random.Random, words: tuple[str, ...]) -> str:
    """A text as banks write it: plain, padded, split over lines, with tabs, markup inside,
    a comment, CDATA or an escaped character."""
    word = rng.choice(words)
    return rng.choice(
        (
            word,
            f"  {word} ",
            word.replace(" ", "\n   "),
            word.replace(" ", "\t"),
            word.replace(" ", "  "),
            f"{word} <Sub>part</Sub> tail",
            f"{word}<!-- note -->end",
            f"<![CDATA[{word} & co]]>",
            f"{word} &amp; Co",
            "",
        )
    )


_NAMES = ("Muster AG", "Beta GmbH", "ACME Corp Ltd", "Ünïcode Straße", "X")
_REFS = ("RE-2026-0001", "Invoice 42 and 43", "RF18539007547034", "NOTPROVIDED", "notprovided", "a b c")


def _party(rng: random.Random, p: str, el: str) -> str:
    parts = []
    if rng.random() < 0.7:
        nm = f"<{p}Nm>{_text(rng, _NAMES)}</{p}Nm>"
        parts.append(f"<{p}{el}>" + (f"<{p}Pty>{nm}</{p}Pty>" if rng.random() < 0.3 else nm) + f"</{p}{el}>")
    if rng.random() < 0.5:
        acct = rng.choice(
            ("<{p}IBAN>DE89 3704 0044 0532 0130 00</{p}IBAN>", "<{p}Othr><{p}Id>0123 4567</{p}Id></{p}Othr>")
        )
        parts.append(f"<{p}{el}Acct><{p}Id>{acct.format(p=p)}</{p}Id></{p}{el}Acct>")
    if rng.random() < 0.2:
        parts.append(f"<{p}Ultmt{el}><{p}Nm>{_text(rng, _NAMES)}</{p}Nm></{p}Ultmt{el}>")
    return "".join(parts)


def _detail(rng: random.Random, p: str, amount: str | None, ind: str) -> str:
    out = ["<{p}TxDtls>"]
    if rng.random() < 0.6:
        refs = [
            r
            for r, chance in (
                ("<{p}AcctSvcrRef>D" + str(rng.randint(1, 9)) + "</{p}AcctSvcrRef>", 0.3),
                ("<{p}EndToEndId>" + rng.choice(_REFS) + "</{p}EndToEndId>", 0.6),
                ("<{p}Prtry><{p}Tp>X</{p}Tp><{p}Ref>PR-" + str(rng.randint(1, 9)) + "</{p}Ref></{p}Prtry>", 0.2),
            )
            if rng.random() < chance
        ]
        out.append("<{p}Refs>" + "".join(refs) + "</{p}Refs>")
    if amount is not None:
        if rng.random() < 0.5:
            out.append(f'<{{p}}Amt Ccy="EUR">{amount}</{{p}}Amt>')
        else:
            out.append(f'<{{p}}AmtDtls><{{p}}TxAmt><{{p}}Amt Ccy="EUR">{amount}</{{p}}Amt></{{p}}TxAmt></{{p}}AmtDtls>')
        if rng.random() < 0.5:
            other = "CRDT" if ind == "DBIT" else "DBIT"
            out.append("<{p}CdtDbtInd>" + (other if rng.random() < 0.003 else ind) + "</{p}CdtDbtInd>")
    if rng.random() < 0.1:
        out.append("<{p}BkTxCd><{p}Domn><{p}Cd>PMNT</{p}Cd></{p}Domn></{p}BkTxCd><!-- c --><?pi x?>")
    if rng.random() < 0.8:
        out.append("<{p}RltdPties>" + _party(rng, "{p}", "Dbtr") + _party(rng, "{p}", "Cdtr") + "</{p}RltdPties>")
    if rng.random() < 0.7:
        rmt = [f"<{{p}}Ustrd>{_text(rng, _REFS)}</{{p}}Ustrd>" for _ in range(rng.randint(0, 2))]
        if rng.random() < 0.4:
            ref = _text(rng, _REFS)
            rmt.append(f"<{{p}}Strd><{{p}}CdtrRefInf><{{p}}Ref>{ref}</{{p}}Ref></{{p}}CdtrRefInf></{{p}}Strd>")
        out.append("<{p}RmtInf>" + "".join(rmt) + "</{p}RmtInf>")
    if rng.random() < 0.2:
        out.append(f"<{{p}}AddtlTxInf>{_text(rng, _REFS)}</{{p}}AddtlTxInf>")
    if rng.random() < 0.1:
        out.append("<{p}RtrInf><{p}Rsn><{p}Cd>AC04</{p}Cd></{p}Rsn></{p}RtrInf>")
    out.append("</{p}TxDtls>")
    return "".join(out).replace("{p}", p)


def _entry(rng: random.Random, p: str, n: int) -> tuple[str, Decimal]:
    credit = rng.random() >= 0.3
    cents = rng.randint(1, 99_999)
    amount = Decimal(cents).scaleb(-2)
    written = rng.choice((str(amount), f" {amount} ", f"{amount}0", str(amount.normalize())))
    if rng.random() < 0.002:
        written = rng.choice(("1e3", "abc", ""))
    out = [f'<{p}Amt Ccy="{rng.choice(("EUR", "EUR", "EUR", "CHF", ""))}">{written}</{p}Amt>']
    if rng.random() < 0.998:
        out.append(f"<{p}CdtDbtInd>{'CRDT' if credit else 'DBIT'}</{p}CdtDbtInd>")
    if rng.random() < 0.05:
        out.append(f"<{p}RvslInd>{rng.choice(('true', 'false', 'TRUE'))}</{p}RvslInd>")
    status = rng.choice(("BOOK", "BOOK", "BOOK", "PDNG", "INFO", "BOOKED"))
    out.append(f"<{p}Sts><{p}Cd>{status}</{p}Cd></{p}Sts>" if rng.random() < 0.5 else f"<{p}Sts>{status}</{p}Sts>")
    day = f"2026-03-{rng.randint(1, 28):02d}"
    date = rng.choice(
        (
            f"<{p}BookgDt><{p}Dt>{day}</{p}Dt></{p}BookgDt>",
            f"<{p}BookgDt><{p}DtTm>{day}T10:00:00</{p}DtTm></{p}BookgDt>",
            f"<{p}ValDt><{p}Dt>{day}</{p}Dt></{p}ValDt>",
            f"<{p}BookgDt><{p}Dt> {day} </{p}Dt></{p}BookgDt>",
            "",
        )
    )
    if rng.random() < 0.002:
        date = f"<{p}BookgDt><{p}Dt>2026-13-01</{p}Dt></{p}BookgDt>"
    out.append(date)
    ref = rng.random()
    if ref < 0.5:
        out.append(f"<{p}AcctSvcrRef>R{rng.randint(1, 60)}</{p}AcctSvcrRef>")
    elif ref < 0.7:
        out.append(f"<{p}NtryRef>N{n}</{p}NtryRef>")
    k = rng.choice((0, 0, 1, 1, 1, 2, 3, 4))
    if rng.random() < 0.6 and k > 1:
        parts = [Decimal(rng.randint(0, cents // k)).scaleb(-2) for _ in range(k - 1)]
        last = amount - sum(parts, Decimal(0))
        if rng.random() < 0.005:
            last += Decimal("0.01")
        amounts: list[str | None] = [str(a) for a in [*parts, last]]
    else:
        amounts = [None] * k if rng.random() < 0.7 or k != 1 else [str(amount)]
    cut = rng.randint(0, k) if rng.random() < 0.2 else k
    ind = "CRDT" if credit else "DBIT"
    groups = [] if k == 0 and rng.random() < 0.5 else [amounts[:cut]]
    if cut < k:
        groups.append(amounts[cut:])
    for group in groups:
        out.append(
            "<{p}NtryDtls>".replace("{p}", p) + "".join(_detail(rng, p, a, ind) for a in group) + f"</{p}NtryDtls>"
        )
    if rng.random() < 0.2:
        out.append(f"<{p}AddtlNtryInf>{_text(rng, _REFS)}</{p}AddtlNtryInf>")
    sep = rng.choice(("", "\n", "\n  "))
    signed = amount if credit else -amount
    booked = status in ("BOOK", "BOOKED")
    return f"<{p}Ntry>{sep}" + sep.join(out) + f"</{p}Ntry>", signed if booked else Decimal(0)


def generate_varied(rng: random.Random) -> bytes:
    """One camt file for the differential check (see ``--check-against``)."""
    prefix = rng.choice(("", "c:"))
    version = rng.choice(("02", "04", "08", "08", "13"))
    kind, container = rng.choice((("053", "Stmt"), ("052", "Rpt"), ("054", "Ntfctn")))
    p = prefix
    xmlns = f'xmlns{":" + prefix[:-1] if prefix else ""}="urn:iso:std:iso:20022:tech:xsd:camt.{kind}.001.{version}"'
    root = {"053": "BkToCstmrStmt", "052": "BkToCstmrAcctRpt", "054": "BkToCstmrDbtCdtNtfctn"}[kind]
    newline = "\n" if rng.random() < 0.9 else ""
    parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<{p}Document {xmlns}><{p}{root}>{newline}']
    parts.append(f"<{p}GrpHdr><{p}MsgId>M</{p}MsgId></{p}GrpHdr>{newline}")
    for s in range(rng.choice((1, 1, 2, 3))):
        body = [f"<{p}{container}>"]
        if rng.random() < 0.95:
            body.append(f"<{p}Id>S{s}</{p}Id>")
        iban = rng.choice(("DE89370400440532013000", "CH9300762011623852957", ""))
        ccy = rng.choice(("EUR", "EUR", "CHF", ""))
        body.append(f"<{p}Acct><{p}Id><{p}IBAN>{iban}</{p}IBAN></{p}Id><{p}Ccy>{ccy}</{p}Ccy></{p}Acct>{newline}")
        entries = []
        total = Decimal(0)
        for n in range(rng.randint(0, 40)):
            text, signed = _entry(rng, p, n)
            entries.append(text)
            total += signed
        opening = Decimal(rng.randint(-100000, 100000)).scaleb(-2)
        closing = opening + total + (Decimal("0.01") if rng.random() < 0.05 else Decimal(0))

        def bal(code: str, value: Decimal) -> str:
            return (
                f"<{p}Bal><{p}Tp><{p}CdOrPrtry><{p}Cd>{code}</{p}Cd></{p}CdOrPrtry></{p}Tp>"
                f'<{p}Amt Ccy="EUR">{abs(value)}</{p}Amt><{p}CdtDbtInd>{"CRDT" if value >= 0 else "DBIT"}'
                f"</{p}CdtDbtInd></{p}Bal>{newline}"
            )

        if rng.random() < 0.8:
            body.append(bal(rng.choice(("OPBD", "PRCD")), opening))
        if rng.random() < 0.8:
            body.append(bal("CLBD", closing))
        if rng.random() < 0.2:
            body.append(bal("ITBD", opening))
        body.append(newline.join(entries) + newline)
        body.append(f"</{p}{container}>{newline}")
        parts += body
    parts.append(f"</{p}{root}></{p}Document>\n")
    data = "".join(parts).encode()
    if rng.random() < 0.05:
        data = data[: rng.randint(1, len(data))]
    return data


def dump(paths: list[Path]) -> None:
    """In the child: what this code makes of each file, as JSON lines (fields, table, or the error)."""
    from pipeline.config import Config
    from pipeline.errors import InputError
    from pipeline.readers.statements import read_bank_statement, read_statements

    for path in paths:
        data = path.read_bytes()
        out: dict[str, object] = {"file": path.name}
        try:
            parsed = read_statements(data, path.name, "camt")
            out["fmt"] = parsed.fmt
            out["statements"] = [
                {
                    **{k: str(v) for k, v in vars(s).items() if k not in ("entries", "controls")},
                    "entries": [
                        [str(getattr(e, k)) for k in ("line", "where", "booking_date", "amount", "currency")]
                        + [
                            str(getattr(e, k))
                            for k in ("payer_name", "payer_iban", "reference", "transaction_id", "flag")
                        ]
                        for e in s.entries
                    ],
                }
                for s in parsed.statements
            ]
            read = read_bank_statement(data, path.name, "camt", Config(profiles={}), None)
            out["balance"] = [read.balance.status, read.balance.message]
            out["table"] = read.table.data.astype(str).to_numpy().tolist()
            out["dtypes"] = [str(t) for t in read.table.data.dtypes]
            out["skipped"] = [[s.source_row, s.reason, s.text] for s in read.table.skipped]
            out["read"] = [read.table.rows_read, read.table.statement_format]
        except InputError as exc:
            out["error"] = str(exc)
        print(json.dumps(out, sort_keys=True))


def check_against(ref: str, files: int) -> int:
    """Compare the reader of ``ref`` with the current one on ``files`` generated files; 1 if any differs."""
    rng = random.Random(files)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "files"
        folder.mkdir()
        for n in range(files):
            (folder / f"varied_{n:04d}.xml").write_bytes(generate_varied(rng))
        base = export(ref, Path(tmp) / "ref")
        results = []
        for src in (base, None):
            env = dict(os.environ)
            if src is not None:
                env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(src), env.get("PYTHONPATH"))))
            cmd = [sys.executable, __file__, "--dump", str(folder)]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env, cwd=src or ROOT).stdout
            results.append(out.splitlines())
    old, new = results
    differ = [(a, b) for a, b in zip(old, new, strict=True) if a != b]
    rows = sum(len(json.loads(line).get("table", ())) for line in new)
    errors = sum("error" in json.loads(line) for line in new)
    print(f"{files} files ({rows} table rows, {errors} refused): {len(differ)} differ from {ref}")
    for a, b in differ[:5]:
        print(f"  {ref}: {a[:2000]}\n  this: {b[:2000]}")
    return 1 if differ else 0


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
    parser.add_argument("--check-against", metavar="REF", help="differential check of the reader against REF")
    parser.add_argument("--files", type=int, default=400, help="files the differential check generates")
    parser.add_argument("--dump", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.dump:
        dump(sorted(args.dump.iterdir()))
        return
    if args.check_against:
        sys.exit(check_against(args.check_against, args.files))
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
