"""One receipt a person splits over several invoices (the decision "Apply to several invoices").

Why lines: a BC payment journal line applies to one invoice at most (``appliesToInvoiceId``), so
a receipt that pays two invoices becomes two lines, each applied to its invoice, plus one on
account for a stated remainder. A person's split takes the same form as a split the matcher makes
(``pipeline.splits``): one line per invoice keyed ``<receipt key>#><invoice>`` and ``#>rest`` for
the remainder (``pipeline.lines.split_line_key``), sharing the receipt's one documentNumber, the
amounts adding up to the receipt exactly. So the same machinery posts, resumes, rebuilds and
reports both, and a re-run finds the lines in the ledger as it finds any split receipt's.

Earlier versions keyed a person's split ``<receipt key>#part<n>`` with a document number per part.
Those ledger rows stay readable (``legacy_part_keys``): a split already (partly) in BC under the
old keys is recognised by the review loop and never sent again.

The split is checked strictly before anything is sent: every invoice named must be open, the
amounts (each invoice's open amount when none is written) must add up to the receipt exactly, or
the rest must be put "on account" explicitly; otherwise the decision is refused with the numbers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from pipeline.lines import split_line_key
from pipeline.money import minor_text, remaining_in_minor

SPLIT: Final = "apply to invoices"
ACCOUNT: Final = "on account"
_AMOUNT: Final = re.compile(r"^\d+(?:[.,]\d+)?$")


def legacy_part_keys(key: str, parts: int) -> list[str]:
    """The keys earlier versions gave the ``parts`` lines of a person's split of ``key`` (read only)."""
    return [f"{key}#part{n}" for n in range(1, parts + 1)]


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
    """The lines of one row as the matcher's split has them (``#>`` keys, the row's documentNumber
    on every line, BC's sign, amounts summing to the receipt), or ValueError when the split does not
    add up to the receipt or names an invoice that is not open."""
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
    for (name, _), part in zip(parts, amounts, strict=True):
        assert part is not None
        out.append(
            {
                **row,
                "key": split_line_key(str(row["key"]), name),
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
