"""The exit codes every command and the folder watcher answer with, and the one mapping from an
exception to its code.

Schedulers, cron mail and finance staff's scripts act on these numbers (DESIGN.md section 5), so
they live here once: ``run``, ``validate``, ``watch`` and the library all ask ``exit_code_for``
instead of keeping ladders of ``except`` clauses that drift apart.
"""

from __future__ import annotations

from enum import IntEnum

from pipeline.errors import BCAuthError, BCError, BCTargetError, ConfigError, InputError, LockError, PayimportError


class ExitCode(IntEnum):
    """What the process tells whoever started it."""

    OK = 0
    """Every line accounted for, nothing needs a person."""
    NEEDS_PERSON = 1
    """Done, but rows were rejected or need review, or BC differs from the plan (see the report)."""
    UNUSABLE = 2
    """Unusable input, profile or config (including credentials BC or Entra refuse and a company
    that is not there): nothing was posted by this run."""
    BC_FAILED = 3
    """BC or the network failed after retries (or the run stopped early): state is recorded, run
    the same command again."""
    LOCKED = 4
    """Another run holds the state lock."""


def exit_code_for(exc: BaseException, *, bc_may_have_changed: bool = True) -> ExitCode:
    """The exit code for an exception that ended a command.

    Anything the tool did not raise on purpose (a bug, a full disk) is ``BC_FAILED`` only when BC
    may have changed meanwhile (the ledger holds what was sent, so running the same command again
    is the safe advice); a command that never writes to BC (``validate``) or a failure before the
    first write says ``UNUSABLE``: nothing was posted.
    """
    if isinstance(exc, LockError):
        return ExitCode.LOCKED
    if isinstance(exc, BCAuthError | BCTargetError):
        # A wrong secret or company name does not get better by running again: it is configuration.
        # (Rows a run had already sent when BC refused it mid-run are reported by the run itself.)
        return ExitCode.UNUSABLE
    if isinstance(exc, BCError):
        return ExitCode.BC_FAILED
    if isinstance(exc, (ConfigError, InputError, PayimportError)):
        return ExitCode.UNUSABLE
    return ExitCode.BC_FAILED if bc_may_have_changed else ExitCode.UNUSABLE
