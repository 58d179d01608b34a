"""Reading a journal back page by page from the embedded sandbox: the general path (the whole batch
read, serialised and sliced for every page) against paging by key (only the page is read).

python bench/sandbox_paging.py [LINES ...]   (default 20000 100000 200000) prints seconds and CPU
seconds per read, both paths in the same run, and their ratio; never an assertion. The journal is
seeded straight into the store (one line through the rules, copied with new ids and numbers), and
every page is requested as BC's client does, with the server's page size of 20,000.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.sandbox import rules, seed
from pipeline.sandbox.app import Dispatcher, Outcome
from pipeline.sandbox.settings import SandboxSettings
from pipeline.sandbox.store import Store

API = "http://bench.invalid/v2.0/sandbox/api/v2.0"


def _seed(lines: int) -> tuple[Store, str, str]:
    store = Store(":memory:")
    cid = seed.seed_demo(store)
    jid = str(rules.create_journal(store, cid, {"code": "BENCH"})["id"])
    first = rules.create_payment(store, cid, jid, {"customerNumber": "C10000", "documentNumber": "P-0", "amount": -1})
    with store.transaction():
        row = store.query_one("SELECT * FROM journal_lines WHERE id = ?", (first["id"],))
        assert row is not None
        names = list(row.keys())
        insert = f"INSERT INTO journal_lines ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        for n in range(1, lines):
            values = dict(zip(names, tuple(row), strict=True))
            values.update(id=str(uuid.uuid4()), line_number=(n + 1) * 10000, document_number=f"P-{n}")
            store.execute(insert, [values[name] for name in names])
    return store, cid, jid


def _read(answer: Callable[[dict[str, str]], Outcome]) -> int:
    token: str | None = None
    count = 0
    while True:
        outcome = answer({"$skiptoken": token} if token is not None else {})
        assert outcome.status == 200, outcome.body
        count += len(outcome.body["value"])
        link = outcome.body.get("@odata.nextLink")
        if link is None:
            return count
        token = dict(parse_qsl(urlsplit(link).query))["$skiptoken"]


def _timed(answer: Callable[[dict[str, str]], Outcome]) -> tuple[float, float, int]:
    wall, cpu = time.perf_counter(), time.process_time()
    count = _read(answer)
    return time.perf_counter() - wall, time.process_time() - cpu, count


def _measure(lines: int) -> tuple[float, float, float, float]:
    """Seconds and CPU seconds of one full read by the general path, then by key."""
    store, cid, jid = _seed(lines)
    dispatcher = Dispatcher(SandboxSettings(), store, API)
    path = f"companies({cid})/customerPaymentJournals({jid})/customerPayments"

    def by_key(params: dict[str, str]) -> Outcome:
        url = path + ("?$skiptoken=" + params["$skiptoken"] if params else "")
        return dispatcher.execute("GET", url, {}, None, request_url=f"{API}/{url}")

    def whole(params: dict[str, str]) -> Outcome:
        items: list[dict[str, Any]] = rules.list_payments(store, cid, jid)
        url = path + ("?$skiptoken=" + params["$skiptoken"] if params else "")
        return dispatcher._collection(items, path, params, {}, f"{API}/{url}")

    old_s, old_cpu, old_n = _timed(whole)
    new_s, new_cpu, new_n = _timed(by_key)
    assert old_n == new_n == lines
    store.close()
    return old_s, old_cpu, new_s, new_cpu


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [20_000, 100_000, 200_000]
    print(f"load average at start: {os.getloadavg()}")
    print(f"{'lines':>8} {'old s':>8} {'old cpu':>8} {'new s':>8} {'new cpu':>8} {'old/new':>8}")
    for lines in sizes:
        old_s, old_cpu, new_s, new_cpu = _measure(lines)
        print(f"{lines:>8} {old_s:>8.2f} {old_cpu:>8.2f} {new_s:>8.2f} {new_cpu:>8.2f} {old_s / new_s:>7.1f}x")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
