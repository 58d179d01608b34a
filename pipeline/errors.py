"""The project's exception tree, grouped by what the caller should do.

    PayimportError
     +-- ConfigError        config.yaml or a profile is unusable: fix the config (exit 2)
     +-- InputError         a file cannot be read as the profile says: fix or replace the file (exit 2)
     +-- ProfileError       no profile, or several, match a file (exit 2)
     +-- LedgerHistoryError a new ledger facing a company with this tool's history (exit 2)
     +-- LockError          another run holds the state lock (exit 4)
     +-- BCError            Business Central or the network failed (exit 3; state is recorded)
          +-- BCAuthError       credentials or token refused (401/403, Entra errors): configuration (exit 2)
          +-- BCTransientError  429, 502, 503, 504, timeouts, connection errors, after retries
          |    +-- BCOutcomeUnknown  the request may have been executed (timeout or drop after sending)
          +-- BCPermanentError  BC refused the request (other 4xx) with its error code and message
               +-- BCTargetError    the company named in config is not there (or not only once): exit 2

Data problems in individual rows are *results* (row issues), never exceptions.
"""

from __future__ import annotations


class PayimportError(Exception):
    """Base of every error the tool raises on purpose."""


class ConfigError(PayimportError):
    """config.yaml is unreadable or invalid; ``problems`` lists each one with its YAML path."""

    def __init__(self, message: str, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


class InputError(PayimportError):
    """A file cannot be used at all; the message names the file and what was expected."""

    def __init__(self, file: str, message: str) -> None:
        super().__init__(f"{file}: {message}")
        self.file = file


class ProfileError(InputError):
    """No profile or more than one profile matches the file; ``candidates`` lists the ones considered."""

    def __init__(self, file: str, message: str, candidates: tuple[str, ...] = ()) -> None:
        super().__init__(file, message)
        self.candidates = candidates


class LedgerHistoryError(PayimportError):
    """The ledger knows no import into a company where BC shows this tool's journals or this input's
    payments posted: a lost or second ledger, which would post them again (exit 2)."""


class LockError(PayimportError):
    """Another process holds the lock; ``holder`` says who (pid, host, command, since)."""

    def __init__(self, message: str, holder: str = "") -> None:
        super().__init__(message)
        self.holder = holder


class BCError(PayimportError):
    """A request to Business Central failed. Messages carry method, path, status and BC's error
    code and text; never a token, secret or Authorization header."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.method = method
        self.path = path


class BCAuthError(BCError):
    """The credentials or the token were refused: fix the app registration or the secret."""


class BCTransientError(BCError):
    """BC or the network was unavailable long enough that retries gave up; safe to re-run."""


class BCOutcomeUnknown(BCTransientError):
    """The request was sent but no answer came back (timeout, dropped connection, 502/504):
    BC may or may not have executed it, so it must be settled by reading back before a resend."""


class BCPermanentError(BCError):
    """BC refused the request for a reason a retry will not change (other 4xx)."""


class BCTargetError(BCPermanentError):
    """The company config names does not exist at the target, or several match: fix the config."""
