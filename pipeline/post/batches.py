"""Send planned journal lines to BC in ``$batch`` requests, exactly once, and settle doubt by reading back.

Exactly once rests on three things, in this order of trust:

1. **The ledger is written before and after every request.** A row is ``sending`` from just before
   its batch leaves until its outcome is known, so after a crash or ``kill -9`` the ledger names
   every row whose fate is in doubt, and only those.
2. **Doubt is settled by reading BC, never by guessing.** A timeout, a dropped connection, a 502 or
   504, or a ``sending`` row found at start-up, is resolved by reading the journal's lines in the
   batch's lineNumber range: a line at the planned lineNumber with the planned document number,
   customer and amount *is* the row (created); no line means it was never created (planned again);
   a different line there is someone else's (conflict, for a person).
3. **lineNumbers are explicit and unique in the journal**, so even a resend that slipped past 1 and 2
   would be refused by BC as a duplicate key instead of creating a second line; that refusal is
   itself treated as doubt and settled by reading back.

Throughput: BC serialises the inserts into one journal (``GenJournalLine.OnInsert`` locks the table;
Microsoft: do not insert children of one parent in parallel), so parallel requests into one journal
gain nothing and only risk lock timeouts and deadlocks. The poster therefore keeps at most
``IN_FLIGHT_PER_JOURNAL`` (one) request in flight into any journal; parallelism comes from other
journals of the run (``journal.journal_count``) and from other principals (``target.principals``):
requests go round robin over the principals, each with its own window of ``max_in_flight``
requests (BC's limits count per client id), narrowed when BC throttles that principal (429) and
widened again after a run of clean batches. A principal whose credentials fail mid-run sends
nothing more; its request is settled by reading back, like any outcome in doubt, and the others
go on. (Measured in bench/README.md: under per-journal locks six requests in flight into one
journal were no faster than one.) Worker threads only do HTTP; every ledger write happens on the
calling thread.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pipeline.bc import MAX_BATCH_OPERATIONS, BatchOp, BCClient, OpResult
from pipeline.config import PostingSpec
from pipeline.errors import BCAuthError, BCError, BCOutcomeUnknown, BCPermanentError, BCTransientError
from pipeline.ledger import Ledger

log = logging.getLogger("payimport.poster")

DUPLICATE_KEY = "Internal_EntityWithSameKeyExists"
IN_FLIGHT_PER_JOURNAL = 1
"""Requests in flight into one journal: BC runs inserts into one batch one at a time anyway."""
MAX_ROUNDS = 8
"""Times the poster sends lines BC certainly did not create before it gives up (state recorded)."""
LINE_FIELDS = (
    "id",
    "lineNumber",
    "customerNumber",
    "postingDate",
    "documentNumber",
    "externalDocumentNumber",
    "amount",
    "appliesToInvoiceNumber",
    "description",
    "comment",
)
"""What the poster and the reconciliation read back from BC for each journal line."""


@dataclass(frozen=True)
class PlannedLine:
    """One journal line as it will be sent: its idempotency key, lineNumber and JSON body, and the
    journal it goes to ("" for the poster's own).

    ``body`` holds the exact request body; money is a ``Decimal`` so JSON carries the exact value.
    """

    key: str
    line_number: int
    body: Mapping[str, Any]
    journal_id: str = ""


def _by_journal(lines: Iterable[PlannedLine], default: str) -> dict[str, list[PlannedLine]]:
    """The lines per journal, each journal's in lineNumber order."""
    out: dict[str, list[PlannedLine]] = {}
    for line in lines:
        out.setdefault(line.journal_id or default, []).append(line)
    return {journal_id: sorted(group, key=lambda p: p.line_number) for journal_id, group in out.items()}


@dataclass
class PostOutcome:
    """What happened to the lines handed to ``post``; keys not listed stayed ``planned``."""

    created: dict[str, str] = field(default_factory=dict)  # key -> BC id
    refused: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (BC code, message)
    conflicts: dict[str, str] = field(default_factory=dict)  # key -> message
    error: BCError | None = None  # set when BC failed after retries: state is recorded, re-run is safe
    interrupted: bool = False  # stopped on request before every line was sent


@dataclass
class Settlement:
    """The result of reading BC back for lines whose outcome was unknown."""

    created: dict[str, str] = field(default_factory=dict)
    absent: list[str] = field(default_factory=list)
    conflicts: dict[str, str] = field(default_factory=dict)


def line_matches(body: Mapping[str, Any], line: Mapping[str, Any]) -> bool:
    """Is the BC line at a planned lineNumber the planned line? Code fields are upper-cased by BC."""
    return (
        str(line.get("documentNumber", "")).upper() == str(body.get("documentNumber", "")).upper()
        and str(line.get("customerNumber", "")).upper() == str(body.get("customerNumber", "")).upper()
        and Decimal(str(line.get("amount", "0"))) == Decimal(str(body.get("amount", "0")))
    )


def payments_path(journal_id: str) -> str:
    return f"customerPaymentJournals({journal_id})/customerPayments"


def read_journal_lines(
    client: BCClient, journal_id: str, *, first: int | None = None, last: int | None = None
) -> list[dict[str, Any]]:
    """The journal's lines (all, or a lineNumber range), read from the primary: it must see our writes."""
    params = {"$select": ",".join(LINE_FIELDS)}
    if first is not None and last is not None:
        params["$filter"] = f"lineNumber ge {first} and lineNumber le {last}"
    return list(client.get_all(payments_path(journal_id), params, read_only=False))


def read_journals_lines(client: BCClient, journal_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Every line of several journals in as few requests as BC allows: one ``$batch`` of GETs per
    100 journals (a run spread over J journals then reads them back in one request, not J). A
    journal whose answer is not a complete page (an error, a next link) is read on its own."""
    out: dict[str, list[dict[str, Any]]] = {}
    query = "$select=" + ",".join(LINE_FIELDS)
    for start in range(0, len(journal_ids), MAX_BATCH_OPERATIONS):
        chunk = journal_ids[start : start + MAX_BATCH_OPERATIONS]
        ops = [
            BatchOp(str(i + 1), "GET", f"{client.company_path(payments_path(j))}?{query}") for i, j in enumerate(chunk)
        ]
        try:
            results = client.batch(ops, continue_on_error=True)
        except BCError:
            results = []
        for i, journal_id in enumerate(chunk):
            body = results[i].body if i < len(results) and results[i].verdict.ok else None
            values = body.get("value") if isinstance(body, Mapping) and "@odata.nextLink" not in body else None
            if isinstance(values, list):
                out[journal_id] = [dict(v) for v in values if isinstance(v, Mapping)]
            else:
                out[journal_id] = read_journal_lines(client, journal_id)
    return out


def settle(client: BCClient, journal_id: str, lines: Sequence[PlannedLine]) -> Settlement:
    """Find out from BC which of ``lines`` exist: one GET over their lineNumber range."""
    if not lines:
        return Settlement()
    numbers = [p.line_number for p in lines]
    return match_lines(lines, read_journal_lines(client, journal_id, first=min(numbers), last=max(numbers)))


def match_lines(lines: Sequence[PlannedLine], bc_lines: Iterable[Mapping[str, Any]]) -> Settlement:
    """Which planned lines BC holds (same lineNumber and content), lacks, or holds something else at."""
    out = Settlement()
    found = {int(line["lineNumber"]): line for line in bc_lines}
    for planned in lines:
        line = found.get(planned.line_number)
        if line is None:
            out.absent.append(planned.key)
        elif line_matches(planned.body, line):
            out.created[planned.key] = str(line["id"])
        else:
            out.conflicts[planned.key] = (
                f"journal line {planned.line_number} in BC is not the planned payment "
                f"(BC: document {line.get('documentNumber')!s}, customer {line.get('customerNumber')!s}, "
                f"amount {line.get('amount')!s}; planned: document {planned.body.get('documentNumber')!s}, "
                f"customer {planned.body.get('customerNumber')!s}, amount {planned.body.get('amount')!s})"
            )
    return out


@dataclass
class Writer:
    """One principal's client as the poster uses it: its own window of requests in flight, narrowed
    when BC throttles it (429) and widened after clean batches, and whether its credentials still
    work."""

    client: BCClient
    window: int
    limit: int
    in_flight: int = 0
    clean: int = 0
    throttled_seen: int = 0
    failed: bool = False

    def adapt(self) -> None:
        """Narrower after throttling, wider after a run of clean batches (per principal: BC counts
        its limits per client id)."""
        if self.client.throttled > self.throttled_seen:
            self.throttled_seen = self.client.throttled
            self.window = max(1, self.window - 1)
            self.clean = 0
        else:
            self.clean += 1
            if self.clean >= 4 * self.window and self.window < self.limit:
                self.window += 1
                self.clean = 0


class RequestQueue:
    """One journal's requests still to start: lines known absent to send again first, then the next
    batches cut from its chunks (in lineNumber order), a chunk drawn only when its first batch is
    about to start. True while it has work."""

    def __init__(self, chunks: Iterable[Sequence[PlannedLine]], batch_size: int) -> None:
        self._chunks = iter(chunks)
        self._batch_size = batch_size
        self._again: deque[tuple[list[PlannedLine], int]] = deque()
        self._cut: deque[list[PlannedLine]] = deque()

    def __bool__(self) -> bool:
        while not self._again and not self._cut:
            chunk = next(self._chunks, None)
            if chunk is None:
                return False
            size = self._batch_size
            self._cut.extend(list(chunk[i : i + size]) for i in range(0, len(chunk), size))
        return True

    def popleft(self) -> tuple[list[PlannedLine], int]:
        """The next request's lines and how many rounds they have been sent already."""
        if not self:
            raise IndexError("no request left in this journal's queue")
        return self._again.popleft() if self._again else (self._cut.popleft(), 0)

    def appendleft(self, request: tuple[list[PlannedLine], int]) -> None:
        """Lines BC certainly did not create, to be sent again before anything new."""
        self._again.appendleft(request)


@dataclass
class _Request:
    journal_id: str
    batch: list[PlannedLine]
    rounds: int
    writer: Writer


class Poster:
    """Posts planned lines into one or more journals; records every step in the ledger (see the
    module docstring). Requests go round robin over ``writers`` (one client per principal; the
    reading client alone by default), at most ``IN_FLIGHT_PER_JOURNAL`` into any journal at once."""

    def __init__(
        self,
        client: BCClient,
        ledger: Ledger,
        target: str,
        journal_id: str,
        *,
        posting: PostingSpec | None = None,
        writers: Sequence[BCClient] = (),
        progress: Callable[[int], None] | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        posting = posting if posting is not None else PostingSpec()
        self.client = client
        self.ledger = ledger
        self.target = target
        self.journal_id = journal_id
        self.batch_size = posting.batch_size  # 1..100, BC's $batch limit (checked by the config)
        self.max_in_flight = posting.max_in_flight
        self.writers = [Writer(c, posting.max_in_flight, posting.max_in_flight) for c in (writers or [client])]
        self.progress = progress or (lambda n: None)
        self.stop = stop or threading.Event()
        self._turn = 0

    def _url(self, journal_id: str) -> str:
        return f"companies({self.client.company_id})/{payments_path(journal_id)}"

    # --- settling ---------------------------------------------------------------------------------

    def settle_and_record(
        self, lines: Sequence[PlannedLine], outcome: PostOutcome, journal_id: str | None = None
    ) -> list[PlannedLine]:
        """Read BC back for ``lines``, record what it says, return the lines that are not in BC."""
        found = settle(self._reader(), journal_id or self.journal_id, lines)
        if found.created:
            self.ledger.mark_created(self.target, list(found.created.items()))
            outcome.created.update(found.created)
            self.progress(len(found.created))
        if found.conflicts:
            self.ledger.mark_conflict(self.target, list(found.conflicts.items()))
            outcome.conflicts.update(found.conflicts)
        if found.absent:
            self.ledger.mark_planned(self.target, found.absent)
        absent = set(found.absent)
        return [p for p in lines if p.key in absent]

    def _reader(self) -> BCClient:
        """The client that reads back: the run's own, unless its principal's credentials failed."""
        live = [w.client for w in self.writers if not w.failed]
        return self.client if self.client in live or not live else live[0]

    # --- posting ----------------------------------------------------------------------------------

    def post(
        self, lines: Iterable[PlannedLine] = (), *, sources: Mapping[str, Iterable[Sequence[PlannedLine]]] | None = None
    ) -> PostOutcome:
        """Send ``lines`` (all ``planned`` in the ledger) in batches; return what became of them.

        Each line goes to its own journal (``PlannedLine.journal_id``, else the poster's). A request
        starts when a principal has room in its window and a journal has work and no request in
        flight; journals take turns, and so do principals.

        ``sources`` gives a journal's lines lazily instead, in chunks in lineNumber order (journal id
        -> chunks): a chunk is drawn only when the journal's next request is about to start, so a
        run of a million lines never holds every request body at once (``posting._send`` reads each
        chunk's bodies from the ledger).
        """
        queues: dict[str, RequestQueue] = {
            journal_id: RequestQueue([ordered], self.batch_size)
            for journal_id, ordered in _by_journal(lines, self.journal_id).items()
        }
        for journal_id, chunks in (sources or {}).items():
            queues[journal_id] = RequestQueue(chunks, self.batch_size)
        outcome = PostOutcome()
        busy: set[str] = set()
        in_flight: dict[Future[list[OpResult]], _Request] = {}
        workers = max(1, sum(w.limit for w in self.writers))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="payimport-post") as pool:
            while any(queues.values()) or in_flight:
                while outcome.error is None and not self.stop.is_set():
                    request = self._next_request(queues, busy)
                    if request is None:
                        break
                    self.ledger.mark_sending(self.target, [p.key for p in request.batch])
                    url = self._url(request.journal_id)
                    ops = [BatchOp(str(i + 1), "POST", url, p.body, None) for i, p in enumerate(request.batch)]
                    busy.add(request.journal_id)
                    request.writer.in_flight += 1
                    in_flight[pool.submit(request.writer.client.batch, ops, continue_on_error=True)] = request
                if not in_flight:
                    break  # an error, a stop request, or no principal left: what is left stays planned
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    request = in_flight.pop(future)
                    busy.discard(request.journal_id)
                    request.writer.in_flight -= 1
                    again = self._conclude(future, request, outcome)
                    request.writer.adapt()
                    if again:
                        if request.rounds + 1 >= MAX_ROUNDS:
                            attempts = request.rounds + 1
                            outcome.error = outcome.error or BCTransientError(
                                f"{len(again)} journal line(s) could not be created after {attempts} attempts",
                            )
                        else:
                            queues[request.journal_id].appendleft((again, request.rounds + 1))
        if self.stop.is_set() and any(queues.values()):
            outcome.interrupted = True
        return outcome

    def _next_request(self, queues: Mapping[str, RequestQueue], busy: set[str]) -> _Request | None:
        """The next request to start: a journal with work and nothing in flight, a principal whose
        credentials work and whose window has room (both taken in turn), or None."""
        writers = [w for w in self.writers if not w.failed and w.in_flight < w.window]
        journals = [j for j, queue in queues.items() if queue and j not in busy]
        if not writers or not journals:
            return None
        writer = writers[self._turn % len(writers)]
        journal_id = journals[self._turn % len(journals)]
        self._turn += 1
        batch, rounds = queues[journal_id].popleft()
        return _Request(journal_id, batch, rounds, writer)

    def _conclude(self, future: Future[list[OpResult]], request: _Request, outcome: PostOutcome) -> list[PlannedLine]:
        """Record one finished request; return the lines that must be sent again (known absent)."""
        batch, journal_id = request.batch, request.journal_id
        try:
            results = future.result()
        except BCOutcomeUnknown as exc:
            log.warning("batch outcome unknown (%s); reading the journal back", exc)
            return self._settle_or_fail(batch, outcome, journal_id)
        except (BCTransientError, BCAuthError, BCPermanentError) as exc:
            return self._refused_whole(request, exc, outcome)
        created: list[tuple[str, str]] = []
        refused: list[tuple[str, str, str]] = []
        doubtful: list[PlannedLine] = []
        resend: list[PlannedLine] = []
        for planned, result in zip(batch, results, strict=True):
            verdict = result.verdict
            if verdict.kind == "success" and isinstance(result.body, Mapping) and result.body.get("id"):
                created.append((planned.key, str(result.body["id"])))
            elif verdict.kind == "permanent" and verdict.code != DUPLICATE_KEY:
                refused.append((planned.key, verdict.code or "", verdict.message or ""))
            elif verdict.kind == "transient" and not verdict.maybe_executed:
                resend.append(planned)
            else:  # maybe executed, a duplicate lineNumber, or a success without an id: read back
                doubtful.append(planned)
        if created:
            self.ledger.mark_created(self.target, created)
            outcome.created.update(created)
            self.progress(len(created))
        if refused:
            self.ledger.mark_refused(self.target, refused)
            outcome.refused.update({k: (c, m) for k, c, m in refused})
        if resend:
            self.ledger.mark_planned(self.target, [p.key for p in resend])
        if doubtful:
            resend += self._settle_or_fail(doubtful, outcome, journal_id)
        return sorted(resend, key=lambda p: p.line_number)

    def _refused_whole(self, request: _Request, exc: BCError, outcome: PostOutcome) -> list[PlannedLine]:
        """The whole request was refused before BC ran it: nothing of it exists in BC. Refused
        credentials with other principals left retire only this principal (``_retire``)."""
        if isinstance(exc, BCAuthError) and len(self.writers) > 1:
            return self._retire(request, exc, outcome)
        self.ledger.mark_planned(self.target, [p.key for p in request.batch])
        outcome.error = outcome.error or exc
        return []

    def _retire(self, request: _Request, exc: BCAuthError, outcome: PostOutcome) -> list[PlannedLine]:
        """A principal whose credentials failed mid-run: it sends nothing more, and its request is
        settled like any outcome in doubt, by reading the journal back; the other principals send
        what is not in BC. Only when no principal is left does the run stop (rows stay planned)."""
        request.writer.failed = True
        who = request.writer.client.target.client_id
        log.warning("principal %s: credentials refused (%s); the other principals go on", who, exc.code or exc.status)
        if all(w.failed for w in self.writers):
            outcome.error = outcome.error or exc
        return self._settle_or_fail(request.batch, outcome, request.journal_id)

    def _settle_or_fail(
        self, lines: list[PlannedLine], outcome: PostOutcome, journal_id: str | None = None
    ) -> list[PlannedLine]:
        try:
            return self.settle_and_record(lines, outcome, journal_id)
        except BCError as exc:
            # still in doubt: the rows stay ``sending`` and the next run settles them first
            outcome.error = outcome.error or exc
            return []


def to_json_body(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A ledger payload (money as text) as the request body (money as exact ``Decimal``)."""
    body = dict(payload)
    body["amount"] = Decimal(str(body["amount"]))
    return body
