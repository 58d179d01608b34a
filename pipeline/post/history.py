"""A ledger that knows no import into a company where BC shows this tool's work must not post.

The ledger is the exactly-once record, but a record can be lost (a deleted ``state_dir``, a new
machine without the backup) or doubled (two config folders, two state folders, one company). A
fresh ledger then believes nothing was imported and would post every payment again. So the first
run of a ledger into a company looks at BC first: customer payment journals named the way this
tool names them (``journal.code_template`` and ``journal.display_name`` up to their first field),
and BC's posted entries for a sample of this input's document numbers. Any trace refuses the run
(exit 2) with what was found, until a person restores the ledger or says explicitly that this
ledger is new on purpose (``payimport run --accept-new-ledger``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.bc import BCClient
from pipeline.config import JournalSpec
from pipeline.errors import LedgerHistoryError
from pipeline.post.evidence import posted_entries

SAMPLE = 1_500
"""Document numbers of the input looked up in BC's posted entries (100 requests at most)."""
_SHOWN = 5


@dataclass(frozen=True)
class Traces:
    """What BC holds that a fresh ledger does not know about."""

    journals: list[str]  # "CODE 'display name'"
    posted: list[str]  # document numbers of this input already in BC's posted entries

    def __bool__(self) -> bool:
        return bool(self.journals or self.posted)


def _literal_prefix(template: str) -> str:
    """The text before a template's first field ("payimport " of "payimport {files} {date}")."""
    return template.split("{", 1)[0]


def _sample(numbers: Sequence[str], size: int) -> list[str]:
    """Up to ``size`` numbers spread evenly over the input (a migration's first and last rows alike)."""
    unique = sorted({n for n in numbers if n})
    if len(unique) <= size:
        return unique
    step = len(unique) / size
    return [unique[int(i * step)] for i in range(size)]


def tool_journals(client: BCClient, spec: JournalSpec, *, with_existing: bool = False) -> list[dict[str, Any]]:
    """Customer payment journals named the way this tool names its own (id, code, displayName);
    the configured ``journal.existing`` one only when asked (it is a person's journal too)."""
    code_prefix = _literal_prefix(spec.code_template).upper()
    name_prefix = _literal_prefix(spec.display_name)
    found = []
    for journal in client.get_all("customerPaymentJournals", {"$select": "id,code,displayName"}):
        code, name = str(journal.get("code", "")), str(journal.get("displayName", ""))
        if spec.existing and code == spec.existing:
            if with_existing:
                found.append(dict(journal))
        elif (code_prefix or name_prefix) and code.upper().startswith(code_prefix) and name.startswith(name_prefix):
            found.append(dict(journal))
    return found


def find_traces(client: BCClient, spec: JournalSpec, document_numbers: Sequence[str]) -> Traces:
    """Journals that look like this tool's, and this input's payments already posted in BC."""
    journals = [f"{j.get('code', '')} '{j.get('displayName', '')}'" for j in tool_journals(client, spec)]
    posted = sorted(posted_entries(client, _sample(document_numbers, SAMPLE)))
    return Traces(journals, posted)


def refuse_unknown_history(traces: Traces, state_dir: str, company: str) -> None:
    """Raise ``LedgerHistoryError`` naming what BC holds, when it holds anything."""
    if not traces:
        return
    found = []
    if traces.journals:
        shown = ", ".join(traces.journals[:_SHOWN]) + (" ..." if len(traces.journals) > _SHOWN else "")
        found.append(f"{len(traces.journals)} customer payment journal(s) named like this tool's ({shown})")
    if traces.posted:
        shown = ", ".join(traces.posted[:_SHOWN]) + (" ..." if len(traces.posted) > _SHOWN else "")
        found.append(f"{len(traces.posted)} payment(s) of this input already posted (documents {shown})")
    raise LedgerHistoryError(
        f"the ledger in {state_dir} has no record of any import into {company}, but Business Central holds "
        f"{' and '.join(found)}. If the ledger was lost, or another state folder imports into this company, "
        "importing now would post those payments a second time. Restore the ledger (state_dir/ledger.sqlite) "
        "from its backup, or run from the state folder that made them; if you are sure this is a new ledger "
        "on purpose, run again with --accept-new-ledger. Without the backup, `payimport ledger rebuild FILES` "
        "rebuilds the ledger from what Business Central holds for the files imported before."
    )
