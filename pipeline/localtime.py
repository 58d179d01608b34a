"""Local time for what people read: run folder names, reports, the lock's holder note.

A finance user in Vienna who starts a run at 08:15 looks for a folder with 08:15 in its name, not
07:15; the offset is always written next to the time so that two machines in different zones (or
one machine across a daylight-saving change) still name one instant one way. The ledger and BC's
own timestamps stay in UTC (``pipeline.ledger``), because they are compared, not read.
"""

from __future__ import annotations

from datetime import datetime


def now_local() -> datetime:
    """Now, in this machine's zone, with its offset attached."""
    return datetime.now().astimezone()


def as_local(moment: datetime) -> datetime:
    """``moment`` in this machine's zone (a naive ``moment`` is taken as already local)."""
    return moment.astimezone()


def file_stamp(moment: datetime) -> str:
    """``20261202T081500+0100``: local time and its offset, safe in a file name on every system."""
    return as_local(moment).strftime("%Y%m%dT%H%M%S%z")


def describe_zone(moment: datetime) -> str:
    """``CET (UTC+01:00)``: the zone's name as the system gives it, and its offset at ``moment``."""
    local = as_local(moment)
    offset = local.strftime("%z")
    return f"{local.tzname()} (UTC{offset[:3]}:{offset[3:]})"
