"""How good is `payimport profile suggest` on real files? Every corpus file with hand-counted
figures (tests/corpus/expected_*.yaml, counted without running payimport) gets a suggested
profile from that file alone; the suggestion is then used as it is to validate the file.

- exact, no edit: rows read / valid / rejected / skipped and the receipts' total are the counted ones;
- one edit: not exact, but replacing ONE key of the suggestion with the hand-written profile's
  value (a top-level key, or one key inside columns, amount or header) makes it exact.

Run: .venv/bin/python bench/suggest_corpus.py [--verbose]  (needs ../shared/corpus)
"""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from pipeline.config import parse_config
from pipeline.errors import PayimportError
from pipeline.suggest import suggest_profile
from pipeline.validate import validate_file

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
NESTED = ("columns", "amount", "header")


def figures(path: Path, profile: dict[str, Any]) -> tuple[Any, ...] | str:
    """The counted figures of ``path`` read with ``profile`` (balance check off: the count is what
    is compared), or the reason it could not be read."""
    try:
        config = parse_config({"version": 1, "profiles": {"p": {**profile, "balances": {"check": "off"}}}})
        s = validate_file(path, config, "p").summary()
    except PayimportError as exc:
        return str(exc).splitlines()[0][:120]
    return (s["rows_read"], s["rows_valid"], s["rows_rejected"], s["rows_skipped"], Decimal(s["amount_valid"]))


def expected_figures(entry: dict[str, Any]) -> tuple[Any, ...]:
    keys = ("rows_read", "rows_valid", "rows_rejected", "rows_skipped")
    return (*(entry[k] for k in keys), Decimal(str(entry["credit_total"])))


def one_edits(suggested: dict[str, Any], hand: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every suggestion with one key set to the hand profile's value (or removed, if it has none)."""
    out = []
    for key in sorted(set(suggested) | set(hand)):
        if key in NESTED and isinstance(hand.get(key), dict) and isinstance(suggested.get(key), dict):
            for sub in sorted(set(suggested[key]) | set(hand[key])):
                if suggested[key].get(sub) != hand[key].get(sub):
                    inner = {k: v for k, v in suggested[key].items() if k != sub}
                    if sub in hand[key]:
                        inner[sub] = hand[key][sub]
                    out.append((f"{key}.{sub}", {**suggested, key: inner}))
        elif suggested.get(key) != hand.get(key) and key != "title":
            edited = {k: v for k, v in suggested.items() if k != key}
            if key in hand:
                edited[key] = hand[key]
            out.append((key, edited))
    return out


def main() -> None:
    verbose = "--verbose" in sys.argv
    hand_profiles: dict[str, Any] = {}
    entries: list[dict[str, Any]] = []
    for path in sorted((ROOT / "tests" / "corpus").glob("profiles_*.yaml")):
        hand_profiles.update(yaml.safe_load(path.read_text(encoding="utf-8"))["profiles"])
    for path in sorted((ROOT / "tests" / "corpus").glob("expected_*.yaml")):
        entries += yaml.safe_load(path.read_text(encoding="utf-8"))
    exact = one = 0
    for entry in entries:
        file = CORPUS / entry["file"]
        suggestion = suggest_profile([file], "p")
        want = expected_figures(entry)
        got = figures(file, suggestion.profile)
        verdict = "exact"
        if got == want:
            exact += 1
        else:
            fixes = [
                k
                for k, edited in one_edits(suggestion.profile, hand_profiles[entry["profile"]])
                if figures(file, edited) == want
            ]
            verdict = f"one edit ({fixes[0]})" if fixes else "more"
            one += bool(fixes)
        print(f"{verdict:<28} {entry['file']}")
        if verbose and verdict != "exact":
            print(f"    want {want}\n    got  {got}\n    undecided: {suggestion.undecided}")
    rest = len(entries) - exact - one
    print(f"\n{len(entries)} files: {exact} exact with no edit, {one} more with one edit, {rest} need more")


if __name__ == "__main__":
    main()
