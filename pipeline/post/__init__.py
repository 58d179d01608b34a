"""The poster: everything between "these rows are to be posted" and "BC holds them, once".

journal.py   the run's journal (find, create, post), rows in doubt settled, the run to resume
plan.py      what is left to send, lineNumbers (once, run and dry run alike), request bodies
batches.py   the ``$batch`` window, each operation's outcome, settling by reading back
posting.py   the phase in order: open, plan, send, read back and compare, maybe post
context.py   ``RunOptions`` (what the caller asked) and ``RunContext`` (one run's fixed facts)
evidence.py  what BC has posted (``generalLedgerEntries``), the proof a hand-posted payment was ours
history.py   a fresh ledger facing a company that shows this tool's work refuses to post
rebuild.py   a lost ledger rebuilt from the files and what BC holds (``payimport ledger rebuild``)
"""

from pipeline.post.context import RunContext, RunOptions
from pipeline.post.journal import Journal, pick_resumed_run, settle_unknown
from pipeline.post.plan import number_dry_run, split_by_ledger
from pipeline.post.posting import Posting, ToPost, post_rows

__all__ = [
    "Journal",
    "Posting",
    "RunContext",
    "RunOptions",
    "ToPost",
    "number_dry_run",
    "pick_resumed_run",
    "post_rows",
    "settle_unknown",
    "split_by_ledger",
]
