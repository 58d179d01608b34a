"""One receipt a person splits over several invoices (the decision "Apply to several invoices").

Why parts: a BC payment journal line applies to one invoice at most (``appliesToInvoiceId``), so
a receipt that pays two invoices becomes two lines, each applied to its invoice, plus one on
account for a stated remainder. Each part is a payment of its own for the exactly-once record:
its key is the row's key with ``#part<n>`` (stable, so a re-run finds the same parts in the
ledger), its document number the row's (made unique per part by the poster, as for any payment).
For people the parts are one line again (``merge_parts``): the input line they came from, with
what each part became.

The split is checked strictly before anything is sent: every invoice named must be open, the
amounts (each invoice's open amount when none is written) must add up to the receipt exactly, or
the rest must be put "on account" explicitly; otherwise the decision is refused with the numbers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import pandas as pd

from pipeline.money import minor_text, remaining_in_minor
from schemas.lines import conform_lines

SPLIT: Final = "apply to invoices"
ACCOUNT: Final = "on account"
_PART: Final = re.compile(r"#part(\d+)$")
_AMOUNT: Final = re.compile(r"^\d+(?:[.,]\d+)?$")


def part_key(key: str, n: int) -> str:
    return f"{key}#part{n}"


def base_key(key: str) -> str:
    """The input row's key of a part (any other key as it is)."""
    return _PART.sub("", key)


def parse_parts(text: str) -> list[tuple[str, Decimal | None]]:
    """``"RE-1 600.00; RE-2; on account 45.50"`` -> ``[("RE-1", 600.00), ("RE-2", None), ("", 45.50)]``
    (``""`` is on account); ValueError saying what cannot be read."""
    out: list[tuple[str, Decimal | None]] = []
    for entry in re.split(r"[;\n]", text):
        words = entry.split()
        if not words:
            continue
        account = [w.lower() for w in words[:2]] == ["on", "account"]
        name, rest = ("", words[2:]) if account else (words[0].upper(), words[1:])
        if len(rest) > 1 or (rest and not _AMOUNT.match(rest[0])):
            raise ValueError(f"{entry.strip()!r} is not 'INVOICE [AMOUNT]' or 'on account [AMOUNT]'")
        try:
            amount = Decimal(rest[0].replace(",", ".")) if rest else None
        except InvalidOperation:
            raise ValueError(f"{rest[0]!r} is not an amount") from None
        if any(n == name for n, _ in out):
            raise ValueError(f"{name or 'on account'} is written twice")
        out.append((name, amount))
    if len([n for n, _ in out if n]) < 1 or len(out) < 2:
        raise ValueError("write at least two parts (two invoices, or an invoice and 'on account')")
    return out


def split_row(row: Mapping[Any, Any], text: str, open_minor: Mapping[str, int], decimals: int) -> list[dict[str, Any]]:
    """The parts of one row (payment rows with their own keys and amounts, BC's sign), or ValueError
    when the split does not add up to the receipt or names an invoice that is not open."""
    receipt = -int(row["amount_minor"])
    parts = parse_parts(text)
    amounts: list[int | None] = []
    for name, amount in parts:
        if amount is not None:
            amounts.append(_minor(amount, decimals))
        elif name:
            if name not in open_minor:
                raise ValueError(f"invoice {name} is not open in Business Central; write its amount or choose another")
            amounts.append(open_minor[name])
        else:
            amounts.append(None)  # on account: the rest
    known = sum(a for a in amounts if a is not None)
    amounts = [receipt - known if a is None else a for a in amounts]
    if sum(a for a in amounts if a is not None) != receipt or any(a is None or a <= 0 for a in amounts):
        raise ValueError(
            f"the parts add up to {minor_text(known, decimals)}, the receipt is {minor_text(receipt, decimals)}; "
            "write the amounts so they add up, or put the rest 'on account'"
        )
    out = []
    for n, ((name, _), part) in enumerate(zip(parts, amounts, strict=True), start=1):
        assert part is not None
        out.append(
            {
                **row,
                "key": part_key(str(row["key"]), n),
                "amount_minor": -part,
                "appliesToInvoiceNumber": name,
                "invoiceCandidates": name,
            }
        )
    return out


def _minor(amount: Decimal, decimals: int) -> int:
    scaled = amount.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more decimals than the currency allows")
    return int(scaled)


def open_amounts(invoices: Sequence[Mapping[str, Any]], decimals: int) -> dict[str, int]:
    """Open invoices' remaining amounts in whole minor units, by number (an amount finer than the
    currency's minor unit is left out: a person must write that part's amount)."""
    out: dict[str, int] = {}
    for invoice in invoices:
        minor, whole = remaining_in_minor(Decimal(str(invoice.get("remainingAmount") or 0)), decimals)
        if whole:
            out[str(invoice.get("number", "")).upper()] = minor
    return out


def merge_parts(lines: pd.DataFrame, decimals: int) -> pd.DataFrame:
    """The parts of split receipts as one line per input line again: posted when every part is,
    else the state of the first part that is not, with what each part became in the message."""
    keys = lines["key"].astype("str")
    is_part = keys.str.contains(r"#part\d+$", regex=True).to_numpy()
    if not is_part.any():
        return lines
    merged = []
    for base, group in lines[is_part].groupby(keys[is_part].map(base_key), sort=False):
        first = group.iloc[0].to_dict()
        states = group["state"].astype("str").tolist()
        done = all(s in ("posted", "already_posted") for s in states)
        state = (
            ("posted" if "posted" in states else "already_posted")
            if done
            else next(s for s in states if s not in ("posted", "already_posted"))
        )
        described = [
            f"{r['appliesToInvoiceNumber'] or 'on account'} {minor_text(-int(r['amount_minor']), decimals)}"
            + ("" if done else f" ({str(r['state']).replace('_', ' ')}: {r['message']})")
            for r in group.to_dict("records")
        ]
        first.update(
            key=base,
            state=state,
            amount_minor=int(group["amount_minor"].astype("int64").sum()),
            appliesToInvoiceNumber=", ".join(n for n in group["appliesToInvoiceNumber"].astype("str") if n),
            bc_id=", ".join(b for b in group["bc_id"].astype("str") if b),
            message="split by a person: " + "; ".join(described),
        )
        merged.append(first)
    rest = lines[~is_part]
    return conform_lines(pd.concat([rest, pd.DataFrame(merged)], ignore_index=True))
