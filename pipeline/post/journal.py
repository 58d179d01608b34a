"""The run's journals in BC: found or created (exactly the recorded ones, even across a crash),
posted when asked, and the rows an earlier process left in doubt settled from them before anything
is sent. A run spreads its lines over several journals only when it is large enough to gain from
it (``journal_count``); they share the run's name with "(part/count)" after it.

Which run an input belongs to is decided here too: an interrupted run is resumed in its own
journal with its own lineNumbers, never started again beside it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pipeline.bc import BatchOp, BCClient
from pipeline.config import JournalSpec, PostingSpec
from pipeline.errors import BCOutcomeUnknown, BCPermanentError, BCTransientError, ConfigError
from pipeline.ledger import Ledger, RowRecord, RunRecord
from pipeline.post.batches import PlannedLine, Settlement, match_lines, read_journal_lines, to_json_body
from pipeline.post.evidence import posted_entries_for, posted_evidence

log = logging.getLogger("payimport.run")

NOT_FOUND_CODES = ("BadRequest_NotFound", "Internal_RecordNotFound")
"""BC's codes for a record that does not exist (beside HTTP 404)."""


@dataclass(frozen=True)
class Journal:
    """A customer payment journal of BC, as the run knows it. ``fresh``: this process created it
    just now (BC answered 201), so it holds no line and need not be read before planning."""

    code: str
    id: str
    fresh: bool = field(default=False, compare=False)


# --- finding, creating and posting ----------------------------------------------------------------


def find_journal(client: BCClient, code: str) -> dict[str, Any] | None:
    """The customer payment journal with this code, or None."""
    found = list(client.get_all("customerPaymentJournals", {"$filter": f"code eq '{code}'"}))
    return found[0] if found else None


def journal_code(template: str, day: date, taken: Iterable[str]) -> str:
    """The first code ``template`` gives for ``day`` that BC does not have yet (Code[10])."""
    used = set(taken)
    for n in range(1, 10_000):
        code = template.format(date=day, n=n).upper()
        if len(code) > 10:
            raise ConfigError(f"journal.code_template gives {code!r}, longer than BC's Code[10]")
        if code not in used:
            return code
    raise ConfigError("journal.code_template: no free journal code left for today")


def _balancing_account_id(client: BCClient, number: str | None) -> str | None:
    if not number:
        return None
    found = list(client.get_all("accounts", {"$filter": f"number eq '{number}'", "$select": "id,number"}))
    if not found:
        raise ConfigError(f"journal.balancing_account: G/L account {number} does not exist in BC")
    return str(found[0]["id"])


def open_journal(
    client: BCClient, ledger: Ledger, spec: JournalSpec, run: RunRecord, files: Sequence[str], now: datetime
) -> Journal:
    """The run's journal: found (resume, or ``journal.existing``) or created; recorded in the ledger.

    The code is recorded *before* the create request, so a crash in between is resolved by
    looking the code up, never by creating a second journal.
    """
    found = _existing_journal(client, spec, run)
    if found is not None:
        ledger.set_journal(run.run_id, found.code, found.id, "created")
        return found
    code = run.journal_code
    if not code:
        taken = {str(j["code"]) for j in client.get_all("customerPaymentJournals", {"$select": "code"})}
        code = journal_code(spec.code_template, now.date(), taken)
        ledger.set_journal(run.run_id, code, None, "planned")
    body: dict[str, Any] = {
        "code": code,
        "displayName": spec.display_name.format(files=", ".join(files), date=now, run_id=run.run_id)[:100],
    }
    account_id = _balancing_account_id(client, spec.balancing_account)
    if account_id:
        body["balancingAccountId"] = account_id
    created = _create_journal(client, body)
    ledger.set_journal(run.run_id, code, str(created["id"]), "created")
    return Journal(code, str(created["id"]))


def journal_count(lines: int, spec: JournalSpec, posting: PostingSpec, principals: int = 1) -> int:
    """How many journals a run of ``lines`` new lines spreads over (pure).

    BC writes the lines of one journal one at a time (``GenJournalLine.OnInsert`` locks the table),
    so one journal takes at most 1/Lo lines per second whatever the requests in flight; more
    journals let requests run side by side. Each journal costs a few requests (create, read back,
    post), so a run spreads only above ``posting.journal_lines`` lines, giving each journal about
    that many, and never more journals than requests it can have in flight (``max_in_flight`` per
    principal) or ``posting.max_journals``. A person's ``journal.existing`` is never spread.
    """
    if spec.existing or lines <= posting.journal_lines:
        return 1
    cap = posting.max_journals if posting.max_journals is not None else posting.max_in_flight * max(1, principals)
    return max(1, min(cap, -(-lines // posting.journal_lines)))


def part_name(name: str, part: int, count: int) -> str:
    """The displayName of journal ``part`` of ``count``: the run's name with "(part/count)" after it,
    so a person sees the journals belong together (cut to BC's Text[100] before the suffix)."""
    if count <= 1:
        return name[:100]
    suffix = f" ({part}/{count})"
    return name[: 100 - len(suffix)] + suffix


def open_journals(
    client: BCClient,
    ledger: Ledger,
    spec: JournalSpec,
    run: RunRecord,
    files: Sequence[str],
    now: datetime,
    count: int,
) -> list[Journal]:
    """The run's journals, the first as ``open_journal`` gives it and, when the run spreads its lines,
    journals 2 .. ``count`` beside it (a resumed run keeps every journal it recorded, whatever
    ``count`` says now).

    Every code is recorded in the ledger *before* any create request, so a crash in between is
    settled by looking the codes up, never by creating second journals; the missing journals are
    then created in one ``$batch``.
    """
    more = ledger.more_journals(run.run_id)
    count = 1 if spec.existing else max(count, 1 + len(more))
    if count == 1:
        return [open_journal(client, ledger, spec, run, files, now)]
    name = spec.display_name.format(files=", ".join(files), date=now, run_id=run.run_id)
    in_bc = {str(j["code"]): j for j in client.get_all("customerPaymentJournals", {"$select": "id,code,displayName"})}
    if not run.journal_code or len(more) < count - 1:
        taken = set(in_bc) | {code for _, code, _, _ in more}
        first = run.journal_code or journal_code(spec.code_template, now.date(), taken)
        taken.add(first)
        new: list[tuple[int, str, str | None, str]] = []
        for part in range(len(more) + 2, count + 1):
            code = journal_code(spec.code_template, now.date(), taken)
            taken.add(code)
            new.append((part, code, None, "planned"))
        ledger.set_more_journals(run.run_id, new)
        if not run.journal_code:
            ledger.set_journal(run.run_id, first, None, "planned")
        more = ledger.more_journals(run.run_id)
        refreshed = ledger.get_run(run.run_id)
        assert refreshed is not None
        run = refreshed
    assert run.journal_code is not None
    wanted = [(1, run.journal_code), *((part, code) for part, code, _, _ in more)]
    found = {code: in_bc[code] for _, code in wanted if code in in_bc}
    missing = [(part, code) for part, code in wanted if code not in found]
    account_id = _balancing_account_id(client, spec.balancing_account) if missing else None
    bodies = {code: _journal_body(code, part_name(name, part, count), account_id) for part, code in missing}
    created = _create_journals(client, list(bodies.values()))
    journals = []
    for _, code in wanted:
        if code in created:
            journal = Journal(code, str(created[code]["id"]), fresh=True)
        elif code in found:
            journal = Journal(code, str(found[code]["id"]))
        else:
            journal = Journal(code, str(_create_journal(client, bodies[code])["id"]))
        journals.append(journal)
    ledger.set_journal(run.run_id, journals[0].code, journals[0].id, _kept_state(run.journal_state))
    ledger.set_more_journals(
        run.run_id,
        [(part, j.code, j.id, _kept_state(state)) for (part, _, _, state), j in zip(more, journals[1:], strict=True)],
    )
    return journals


def _kept_state(state: str | None) -> str:
    """A journal found or created is ``created``, unless the ledger already knows more of it."""
    return state if state in ("posting", "posted") else "created"


def _journal_body(code: str, name: str, account_id: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "displayName": name}
    if account_id:
        body["balancingAccountId"] = account_id
    return body


def _create_journals(client: BCClient, bodies: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Create journals in one ``$batch`` (BC's limit is 100 operations); the code -> journal of those
    BC answered 201 for. The others (refused, or in doubt) are left to ``_create_journal``, which
    settles a create in doubt by looking the code up."""
    if not bodies:
        return {}
    ops = [
        BatchOp(str(i + 1), "POST", client.company_path("customerPaymentJournals"), dict(b), None)
        for i, b in enumerate(bodies)
    ]
    try:
        results = client.batch(ops, continue_on_error=True)
    except (BCOutcomeUnknown, BCTransientError):
        return {}
    return {
        str(body["code"]): result.body
        for body, result in zip(bodies, results, strict=True)
        if result.verdict.kind == "success" and isinstance(result.body, Mapping) and result.body.get("id")
    }


def _existing_journal(client: BCClient, spec: JournalSpec, run: RunRecord) -> Journal | None:
    """``journal.existing`` (which must exist), or the journal a resumed run already created."""
    if spec.existing:
        journal = find_journal(client, spec.existing.upper())
        if journal is None:
            raise ConfigError(f"journal.existing: BC has no customer payment journal {spec.existing.upper()}")
        return Journal(str(journal["code"]), str(journal["id"]))
    if run.journal_code:
        journal = find_journal(client, run.journal_code)
        if journal is not None:
            return Journal(run.journal_code, str(journal["id"]))
    return None


def _create_journal(client: BCClient, body: Mapping[str, Any]) -> Mapping[str, Any]:
    """POST the journal; a create that timed out, or a code already taken, is settled by looking.

    A duplicate code may be our own earlier attempt, recognised by its displayName (which names
    this run's files): someone else's journal is never adopted.
    """
    code = str(body["code"])
    try:
        created = client.send("POST", "customerPaymentJournals", dict(body))
        assert created is not None  # a create answers 201 with the journal
        return created
    except (BCOutcomeUnknown, BCPermanentError) as exc:
        found = find_journal(client, code)
        if found is None:
            raise
        if found.get("displayName") != body["displayName"]:
            raise BCPermanentError(
                f"journal code {code} was taken in BC by someone else meanwhile; run again for a new code",
                status=exc.status,
                code=exc.code,
            ) from None
        log.info("journal %s found after %s", code, type(exc).__name__)
        return found


def post_journal(client: BCClient, ledger: Ledger, run_id: str, journal: Journal) -> None:
    """Ask BC to post the verified journal (the ledger says ``posting`` first, so a crash is settled
    from BC's posted entries on resume); an unanswered post is settled by looking whether lines
    remain. Whether it *was* posted is for the caller to confirm from the posted entries."""
    record_journal_state(ledger, run_id, journal, "posting")
    try:
        client.send("POST", f"journals({journal.id})/Microsoft.NAV.post")
    except BCOutcomeUnknown:
        if lines_after_post(client, journal):
            raise


def lines_after_post(client: BCClient, journal: Journal) -> list[dict[str, Any]]:
    """The journal's lines after a post: none when the journal is gone. A template with "Increment
    Batch Name" makes BC delete the posted batch and insert it again under the next name
    (``GenJnlPostBatch.IncrementBatchName``: PI26120201 becomes PI26120202, with a new id), so the id
    posted no longer exists; what was posted is then confirmed from the posted entries, as always.
    (A journal a person deleted instead has no posted entries: the post stays unconfirmed.)"""
    try:
        return read_journal_lines(client, journal.id)
    except BCPermanentError as exc:
        if exc.status != 404 and exc.code not in NOT_FOUND_CODES:
            raise
        log.info("journal %s is gone after the post (renamed by Increment Batch Name?)", journal.code)
        return []


def record_journal_state(ledger: Ledger, run_id: str, journal: Journal, state: str) -> None:
    """Record the state of one of the run's journals, the first in the run's record, the others
    beside it."""
    for part, code, _, _ in ledger.more_journals(run_id):
        if code == journal.code:
            ledger.set_more_journals(run_id, [(part, code, journal.id, state)])
            return
    ledger.set_journal(run_id, journal.code, journal.id, state)


# --- rows in doubt --------------------------------------------------------------------------------


@dataclass
class Verdicts:
    """What reading BC back decided for rows left ``sending``."""

    created: dict[str, str] = field(default_factory=dict)  # key -> BC id of its journal line
    posted: dict[str, str] = field(default_factory=dict)  # key -> the posted entry that proves it
    planned: list[str] = field(default_factory=list)  # certainly not in BC: may be sent again
    conflicts: dict[str, str] = field(default_factory=dict)  # key -> message for a person


def judge_doubtful(
    records: Sequence[RowRecord],
    bc_lines: Sequence[Mapping[str, Any]],
    created_line_numbers: set[int],
    posted: Mapping[str, list[dict[str, Any]]],
    shared: Set[str] = frozenset(),
) -> Verdicts:
    """Decide the rows of one journal left ``sending`` from what BC holds now (pure).

    A line at the planned lineNumber with the planned content is the row (created); a row whose
    document number and date are in BC's posted entries was created and then posted by a person
    (``posted``, from ``evidence.posted_entries``). A row found in neither was never created and may
    be sent again, *unless* the journal shows a person's hand (lines this tool created are gone, or
    some of its payments were posted): then it may have been deleted on purpose (booked another
    way), and a person decides (conflict), never a second payment. The same holds for a row BC
    must have received because a later line of its request is in BC (``received_by_bc``).

    A posted document under a number this tool never sent, of the row's date and amount (a Posting
    No. Series, ``evidence.posted_entries_for``), proves the row only when BC received it: a row
    whose request may never have left would otherwise be taken for a payment a person keyed by
    hand, marked posted, and never sent; it goes to a person instead. So does a row whose document
    number other rows of ours hold too (``shared``: the lines of one check): the entries show the
    document posted, not which of its lines.
    """
    code = records[0].journal_code if records else ""
    found: Settlement = match_lines(
        [PlannedLine(r.key, r.line_number, to_json_body(r.payload)) for r in records], bc_lines
    )
    verdicts = Verdicts(created=dict(found.created), conflicts=dict(found.conflicts))
    payload = {r.key: r.payload for r in records}
    absent = []
    for key in found.absent:
        evidence = posted_evidence(payload[key], posted, renumbered=False)
        if evidence is None:
            absent.append(key)
        elif _number(payload[key]) in shared:
            verdicts.conflicts[key] = _shared_message(code, _number(payload[key]), evidence)
        else:
            verdicts.posted[key] = evidence
    received = received_by_bc(records, {*verdicts.created, *verdicts.posted})
    look_alike = {k: e for k in absent if (e := posted_evidence(payload[k], posted)) is not None}
    for key, evidence in look_alike.items():
        # under another number: ours (Posting No. Series) only if BC is known to have received it
        if key in received:
            verdicts.posted[key] = evidence
        else:
            verdicts.conflicts[key] = _look_alike_message(code, evidence)
    absent = [key for key in absent if key not in look_alike]
    deleted = [key for key in absent if key in received]
    if deleted:
        verdicts.conflicts.update(dict.fromkeys(deleted, _deleted_message(code)))
        absent = [key for key in absent if key not in received]
    vanished = created_line_numbers - {int(line["lineNumber"]) for line in bc_lines}
    if absent and (vanished or verdicts.posted or deleted):
        message = (
            f"journal {code} was posted or edited in BC since this payment was sent ({len(vanished)} line(s) "
            f"this tool created are no longer in it, {len(verdicts.posted)} payment(s) of it were posted), and "
            "this payment is neither in the journal nor in BC's posted entries: if a person deleted it, it may "
            "have been booked another way; check the customer's ledger before importing it again"
        )
        verdicts.conflicts.update(dict.fromkeys(absent, message))
    else:
        verdicts.planned = absent
    return verdicts


def received_by_bc(records: Sequence[RowRecord], found: set[str]) -> set[str]:
    """Rows BC must have received although they are not in it now (pure).

    Rows marked ``sending`` together went out in one ``$batch`` request (the ledger stamps them in
    one transaction: same ``updated``), whose operations BC runs in order, lowest lineNumber first.
    When a later line of the request is in BC (``found``: in the journal or posted), BC ran the
    earlier ones too; one that is absent now was deleted by a person, or refused by BC, and must
    not be sent again blindly. (Two requests stamped in the same millisecond only make this
    stricter: a row may go to a person that could have been re-sent, never the other way round.)
    """
    by_request: dict[str, list[RowRecord]] = {}
    for record in records:
        by_request.setdefault(record.updated, []).append(record)
    received: set[str] = set()
    for request in by_request.values():
        last_found = max((r.line_number for r in request if r.key in found), default=None)
        if last_found is not None:
            received.update(r.key for r in request if r.key not in found and r.line_number < last_found)
    return received


def _number(payload: Mapping[str, Any]) -> str:
    return str(payload.get("documentNumber", "")).upper()


def _shared_message(code: str, number: str, evidence: str) -> str:
    return (
        f"this line is not in journal {code}; its payment's document {number} is posted in BC ({evidence}), but "
        "the document holds other lines of the same payment, and BC's posted entries do not show which lines "
        "were posted: check the customer's ledger before importing it again"
    )


def _look_alike_message(code: str, evidence: str) -> str:
    return (
        f"this payment is not in journal {code}, and BC's posted entries hold one of its posting date and amount "
        f"under a number this tool did not send ({evidence}): this payment posted under the batch's Posting No. "
        "Series, or a payment a person keyed by hand; whether this one reached BC cannot be shown, so check the "
        "customer's ledger before importing it again"
    )


def _deleted_message(code: str) -> str:
    return (
        f"BC received this payment (a payment sent after it in the same request is in BC), but it is neither "
        f"in journal {code} nor in BC's posted entries: a person deleted it, perhaps because it was booked "
        "another way (or BC refused it); check the customer's ledger before importing it again"
    )


def settle_unknown(client: BCClient, ledger: Ledger, scope: str) -> int:
    """Rows an earlier process left ``sending``: read their journals, and BC's posted entries for
    those not in them, before anything is sent (``judge_doubtful`` decides); returns how many rows
    were in doubt."""
    doubtful = ledger.rows_in_state(scope, ["sending"])
    by_journal: dict[str, list[RowRecord]] = {}
    for record in doubtful:
        by_journal.setdefault(record.journal_id or "", []).append(record)
    for journal_id, records in by_journal.items():
        try:
            bc_lines = read_journal_lines(client, journal_id)
        except BCPermanentError as exc:
            if exc.status != 404 and exc.code not in NOT_FOUND_CODES:
                raise
            bc_lines = None
        present = {int(line["lineNumber"]) for line in bc_lines or []}
        posted = posted_entries_for(
            client,
            [r.payload for r in records if r.line_number not in present],
            owned=lambda numbers: ledger.document_owners(scope, numbers),
        )
        shared = {
            n.upper()
            for n in ledger.shared_documents(scope, [str(r.payload.get("documentNumber", "")) for r in records])
        }
        if bc_lines is None:
            _settle_without_journal(ledger, scope, records, posted, shared)
            continue
        created = ledger.created_line_numbers(scope, journal_id)
        _record(ledger, scope, judge_doubtful(records, bc_lines, created, posted, shared))
    return len(doubtful)


def _settle_without_journal(
    ledger: Ledger,
    scope: str,
    records: Sequence[RowRecord],
    posted: Mapping[str, list[dict[str, Any]]],
    shared: Set[str],
) -> None:
    """The journal is gone (deleted, or posted and removed): posted entries prove what was posted;
    the rest cannot be read back and goes to a person."""
    verdicts = Verdicts()
    message = (
        f"journal {records[0].journal_code} no longer exists in BC and this payment is not in BC's posted "
        "entries, so whether it reached BC cannot be read back; check the customer's ledger in BC before "
        "importing it again"
    )
    for record in records:
        evidence = posted_evidence(record.payload, posted, renumbered=False)
        look_alike = posted_evidence(record.payload, posted)
        if evidence is not None and _number(record.payload) in shared:
            verdicts.conflicts[record.key] = _shared_message(
                records[0].journal_code or "", _number(record.payload), evidence
            )
        elif evidence is not None:
            verdicts.posted[record.key] = evidence
        elif look_alike is not None:  # never proof for a row that may not have reached BC
            verdicts.conflicts[record.key] = _look_alike_message(records[0].journal_code or "", look_alike)
        else:
            verdicts.conflicts[record.key] = message
    _record(ledger, scope, verdicts)


def _record(ledger: Ledger, scope: str, verdicts: Verdicts) -> None:
    """Write the verdicts, conflicts first: a process killed between these writes leaves the rest
    ``sending``, judged again next time without the rows already written, and a row that went to a
    person because a created line of its request proved BC received it (``received_by_bc``) must
    not lose that proof and be sent again. Rows decided created only ever make the next judgement
    stricter (their lines count as vanished or present), never looser."""
    if verdicts.conflicts:
        ledger.mark_conflict(scope, list(verdicts.conflicts.items()))
    created = {**verdicts.created, **verdicts.posted}
    if created:
        ledger.mark_created(scope, list(created.items()))
    if verdicts.planned:
        ledger.mark_planned(scope, verdicts.planned)


# --- which run this input continues ---------------------------------------------------------------


def pick_resumed_run(
    client: BCClient, ledger: Ledger, scope: str, records: Mapping[str, RowRecord], shas: Sequence[str]
) -> RunRecord | None:
    """The interrupted run this input belongs to: the one holding most of its keys, if any."""
    unfinished = {r.run_id: r for r in ledger.unfinished_runs(scope)}
    votes = vote_for_runs(records.values(), set(unfinished))
    if votes:
        return unfinished[max(votes, key=lambda k: votes[k])]
    return _run_stopped_before_planning(client, ledger, scope, list(unfinished.values()), shas)


def vote_for_runs(records: Iterable[RowRecord], unfinished: set[str]) -> dict[str, int]:
    """How many of the input's rows each unfinished run holds as planned, sending or created (pure)."""
    votes: dict[str, int] = {}
    for rec in records:
        if rec.run_id in unfinished and rec.state in ("planned", "sending", "created"):
            votes[rec.run_id] = votes.get(rec.run_id, 0) + 1
    return votes


def _run_stopped_before_planning(
    client: BCClient, ledger: Ledger, scope: str, unfinished: Sequence[RunRecord], shas: Sequence[str]
) -> RunRecord | None:
    """An unfinished run of these same files that chose its journal but planned no row yet.

    A process killed between recording the journal code and planning its rows may have created
    the journal in BC; no row key points at that run, so without this it would not be resumed and
    the next run would leave that journal behind, empty, and create another. Only a journal that
    is absent or still empty in BC is taken up again: one holding lines (e.g. a ``journal.existing``
    refused for its foreign lines) is left to the configuration of this run.
    """
    wanted = sorted(shas)
    for run in reversed(unfinished):
        same_files = sorted(str(f.get("sha256", "")) for f in run.files) == wanted
        if not (run.journal_code and same_files) or any(ledger.count_by_state(scope, run.run_id).values()):
            continue
        journal = find_journal(client, run.journal_code)
        if journal is None or not read_journal_lines(client, str(journal["id"])):
            return run
    return None
