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


def setup_logging(
    fmt: Literal["text", "json"] = "text", *, level: int = logging.INFO, stream: TextIO | None = None
) -> None:
    """Route ``payimport.*`` records to ``stream`` (stderr) in the chosen format."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLines() if fmt == "json" else Text())
    root = logging.getLogger("payimport")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
