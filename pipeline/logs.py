"""Log set-up for people (one readable line per event) and for log collectors (JSON lines).

Events are ordinary ``logging`` records on the ``payimport`` loggers; the fields a collector
wants (run id, file, counts, durations) travel in ``extra={"fields": {...}}`` so the same call
reads well as text and parses as JSON. Secrets never reach a record: the BC client logs method,
path and status only.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

EVENTS = logging.getLogger("payimport.events")


def emit(event: str, **fields: Any) -> None:
    """One event (``run_started``, ``file_done``, ...) with its fields."""
    EVENTS.info(event, extra={"fields": fields})


class JsonLines(logging.Formatter):
    """``{"ts", "level", "logger", "event", ...fields}`` on one line per record."""

    def format(self, record: logging.LogRecord) -> str:
        obj: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            obj.update(fields)
        if record.exc_info:
            obj["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(obj, ensure_ascii=False, default=str)


class Text(logging.Formatter):
    """``2026-11-21T05:00:00Z info file_done run_id=... file=... posted=12``."""

    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        text = f"{ts} {record.levelname.lower()} {record.getMessage()}"
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            text += "".join(f" {k}={v}" for k, v in fields.items())
        return text


class RetryBursts(logging.StreamHandler):  # type: ignore[type-arg]
    """Retries on a terminal as one line per burst, with counts, instead of one line per retry.

    A 429 storm makes the client retry a hundred times in a minute; a person at a terminal needs
    "BC asked to slow down 37 times", not 105 lines. Records carrying ``retry`` (the verdict, set by
    the BC client) are counted; the burst's line is written when another record comes, when
    ``window_s`` passed since the burst's last line, or when the handler is flushed at the end of a
    command. Every other record passes through unchanged. At debug level nothing is grouped.
    """

    def __init__(self, stream: TextIO | None = None, window_s: float = 10.0) -> None:
        super().__init__(stream or sys.stderr)
        self.window_s = window_s
        self._counts: dict[str, int] = {}
        self._since = 0.0
        self._last_line = 0.0

    def emit(self, record: logging.LogRecord) -> None:
        verdict = getattr(record, "retry", None)
        if verdict is None or logging.getLogger("payimport").getEffectiveLevel() <= logging.DEBUG:
            self.flush_burst()
            super().emit(record)
            return
        if not self._counts:
            self._since = self._last_line = record.created
        self._counts[str(verdict)] = self._counts.get(str(verdict), 0) + 1
        if record.created - self._last_line >= self.window_s:
            self._write_burst(record.created, ongoing=True)

    def flush_burst(self) -> None:
        """Write the burst counted so far (if any) as one line."""
        if self._counts:
            self._write_burst(datetime.now(UTC).timestamp(), ongoing=False)

    def _write_burst(self, now: float, *, ongoing: bool) -> None:
        total = sum(self._counts.values())
        kinds = ", ".join(f"{verdict} x{n}" for verdict, n in sorted(self._counts.items(), key=lambda kv: -kv[1]))
        ts = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        state = "still retrying" if ongoing else "then went on"
        line = f"{ts} warning Business Central retries: {total} in {now - self._since:.0f} s ({kinds}); {state}"
        self.stream.write(line + self.terminator)
        self.flush()
        self._last_line = now
        if not ongoing:
            self._counts = {}

    def close(self) -> None:
        self.flush_burst()
        super().close()


def setup_logging(
    fmt: Literal["text", "json"] = "text", *, level: int = logging.INFO, stream: TextIO | None = None
) -> None:
    """Route ``payimport.*`` records to ``stream`` (stderr) in the chosen format: JSON lines one per
    record (a collector wants each retry), text with retries grouped per burst (a person reads it)."""
    handler: logging.Handler
    if fmt == "json":
        handler = logging.StreamHandler(stream or sys.stderr)
        handler.setFormatter(JsonLines())
    else:
        handler = RetryBursts(stream)
        handler.setFormatter(Text())
    root = logging.getLogger("payimport")
    for old in root.handlers:
        old.close()
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def setup_quiet_logging(stream: TextIO | None = None) -> None:
    """Without ``--log-format``: only warnings reach stderr, retries grouped per burst (rather than
    Python's last-resort handler printing every retry as a bare line)."""
    setup_logging("text", level=logging.WARNING, stream=stream)


def flush_logs() -> None:
    """Write what a handler still holds (a retry burst) before the command prints its summary."""
    for handler in logging.getLogger("payimport").handlers:
        if isinstance(handler, RetryBursts):
            handler.flush_burst()
