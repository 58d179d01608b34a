"""Balances and control totals of bank statements, verified per statement before anything is imported.

``opening + every booked entry = closing`` must hold exactly (``Decimal``, never float) for each
statement that states both balances, and each control total the format carries (BAI2 ``49``/``98``/
``99``, MT942 ``:90C:``/``:90D:``, CODA trailers) must match its entries. A statement that does not
add up is refused with both figures and the difference: a dropped line, a swapped sign or a
misread amount shows up here. Test files edited by hand often do not reconcile; a person who has
checked such a file sets ``balances.check: off`` in the profile, and the result records that the
check was overridden and what it found.
"""

from __future__ import annotations

from decimal import Decimal

from pipeline.balances import BalanceCheck
from pipeline.config import Profile
from pipeline.errors import InputError
from pipeline.readers.statements.model import NOT_BOOKED, BankStatement


def _movements(stmt: BankStatement) -> tuple[Decimal, int]:
    booked = [e.amount for e in stmt.entries if e.flag != NOT_BOOKED]
    return sum(booked, Decimal(0)), len(booked)


def statement_findings(stmt: BankStatement) -> tuple[list[str], list[str]]:
    """(what was proved, what failed) for one statement."""
    proved: list[str] = []
    failed: list[str] = []
    total, count = _movements(stmt)
    cur = stmt.currency
    if stmt.opening is not None and stmt.closing is not None:
        expected = stmt.opening + total
        sums = (
            f"{stmt.where} (account {stmt.account or '?'}): opening balance {stmt.opening} {cur} "
            f"({stmt.opening_where}) + entries {total} ({count} entries) = {expected}"
        )
        if expected == stmt.closing:
            proved.append(f"{sums} = closing balance")
        else:
            failed.append(
                f"{sums}, but the closing balance ({stmt.closing_where}) says {stmt.closing}: "
                f"{abs(stmt.closing - expected)} differ"
            )
    for c in stmt.controls:
        if c.unit != "entries":
            if c.holds():
                proved.append(f"{c.what}: {c.count_computed} {c.unit}")
            else:
                failed.append(f"{c.what}: {c.count_computed} {c.unit}, but the file states {c.count_stated}")
            continue
        counts = f", {c.count_computed} entries" if c.count_stated is not None else ""
        if c.holds():
            proved.append(f"{c.what}: entries add up to the stated {c.stated}{counts}")
            continue
        says = f"{c.stated}" + (f" in {c.count_stated} entries" if c.count_stated is not None else "")
        failed.append(
            f"{c.what}: the entries add up to {c.computed}{counts}, but the file states {says}: "
            f"{abs(c.stated - c.computed)} differ"
        )
    return proved, failed


def verify_statements(file: str, statements: list[BankStatement], profile: Profile) -> BalanceCheck:
    """Every selected statement's balances and control totals; ``InputError`` when one does not add up
    (unless the profile overrides the check, which the result then says)."""
    proved: list[str] = []
    failed: list[str] = []
    unstated: list[str] = []  # what each statement without a check states
    partial = False
    for stmt in statements:
        ok, bad = statement_findings(stmt)
        proved += ok
        failed += bad
        if not ok and not bad:
            unstated.append(_missing(stmt))
            partial = partial or stmt.opening is not None or stmt.closing is not None
    if failed and profile.balances.check == "off":
        return BalanceCheck(
            "overridden",
            f"balance check overridden by profile {profile.name!r} (balances.check: off); it found: "
            + "; ".join(failed)
            + (f"; verified: {'; '.join(proved)}" if proved else ""),
        )
    if failed:
        raise InputError(
            file,
            "the statement does not add up: "
            + "; and ".join(failed)
            + ". Nothing is imported from this file (a person who has checked it may set balances.check: off).",
        )
    if unstated and profile.balances.check == "required":
        raise InputError(
            file,
            f"the profile requires stated balances, but {', '.join(unstated)} states none; nothing is imported",
        )
    if proved and not unstated:
        return BalanceCheck("verified", "balance verified: " + "; ".join(proved))
    if proved or partial:
        said = ("balance verified: " + "; ".join(proved) + "; ") if proved else ""
        return BalanceCheck("incomplete", f"{said}balance not verified: {'; '.join(unstated)}")
    return BalanceCheck("not_stated", f"no balance stated in {', '.join(unstated) or 'the file'}")


def _missing(stmt: BankStatement) -> str:
    """What a statement without a check states: nothing, or one balance with nothing to check it against."""
    if stmt.opening is not None:
        return f"{stmt.where} states only an opening balance ({stmt.opening_where}), no closing balance"
    if stmt.closing is not None:
        return f"{stmt.where} states only a closing balance ({stmt.closing_where}), no opening balance"
    return stmt.where
