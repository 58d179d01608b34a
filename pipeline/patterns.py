"""The regular expressions a profile brings (footer, skip rules, receipt filter, customer and
invoice extraction, identification): one dialect, one engine, checked when the config is loaded.

Profile patterns run over untrusted text (a bank's file), so they run on RE2: linear time in the
text whatever the pattern (``'^(a+)+$'`` cannot take 42 seconds), with its memory bounded. The
vectorised column paths run RE2 through pyarrow, the few scalar paths (identifying a file,
finding every invoice number of a reference) through google-re2, the same library, so a pattern
that loads is a pattern every path can run. RE2 has no look-around (``(?=``, ``(?!``, ``(?<=``)
and no back-references; a profile using them is refused at load with its YAML path.
"""

from __future__ import annotations

import functools
from typing import Any

import re2

__all__ = ["check_pattern", "compile_pattern"]

_MAX_MEM = 64 << 20
"""RE2's memory budget per compiled pattern (its DFA cache); plenty for any profile pattern."""


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # a refused pattern is reported once, by us, with its YAML path
    options.max_mem = _MAX_MEM
    return options


@functools.lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> Any:
    """The RE2 program for ``pattern`` (cached: a profile's patterns are compiled once per process).

    Raises ``ValueError`` naming what RE2 refused.
    """
    try:
        return re2.compile(pattern, options=_options())
    except re2.error as exc:
        reason = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ValueError(
            f"invalid regular expression {pattern!r}: {reason}; profile patterns use RE2 syntax "
            "(no look-ahead or look-behind: (?=, (?!, (?<=, (?<!; no back-references)"
        ) from None


def check_pattern(pattern: str) -> str:
    """``pattern`` if RE2 accepts it; ``ValueError`` otherwise (used by the config's validators)."""
    compile_pattern(pattern)
    return pattern
