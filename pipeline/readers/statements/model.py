"""What every bank-statement reader hands back: statements of one account, each with its stated
balances and its booked entries, amounts as exact ``Decimal`` (never float).

A reader only transcribes what the file says. Deciding which rows are receipts (the profile and
``pipeline.statement``), checking the balances (``pipeline.readers.statements.checks``) and
choosing accounts happen afterwards, the same way for every format, so a camt file and the MT940
file of the same day go through the same rules.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from pipeline.errors import InputError

RETURN = "return"
NOT_BOOKED = "not_booked"


@dataclass(slots=True)
class Entry:
    """One booked movement (or one transaction detail of a batch booking), signed: credit positive.

    ``line`` is the line in the file a person can open (the ``:61:`` line, the ``16`` record, the
    ``<Ntry>`` or ``<TxDtls>`` element); ``where`` says the same in the format's own words
    ("statement 58, entry 3, detail 2"). Slotted: a large statement holds one per row.
    """

    line: int
    where: str
    booking_date: dt.date | None
    amount: Decimal
    currency: str
    payer_name: str = ""
    payer_iban: str = ""
    reference: str = ""
    transaction_id: str = ""
    flag: str = ""
    """"" for an ordinary movement; ``RETURN`` for a return or reversal (never a receipt);
    ``NOT_BOOKED`` for a pending or information-only entry (not a movement of the balance)."""


@dataclass
class Control:
    """A control total the file states besides the balances (BAI2 ``49``/``98``/``99``, MT942 ``:90C:``,
    CODA trailer), checked against the entries it covers."""

    what: str
    stated: Decimal
    computed: Decimal
    count_stated: int | None = None
    count_computed: int | None = None
    unit: str = "entries"
    """What ``count_*`` count; a control of records only (BAI2 record counts) has no amounts."""

    def holds(self) -> bool:
        counts_ok = self.count_stated is None or self.count_stated == self.count_computed
        return self.stated == self.computed and counts_ok


@dataclass
class BankStatement:
    """One statement (or report, notification, account section) of one account."""

    ident: str
    account: str
    currency: str
    where: str
    opening: Decimal | None = None
    closing: Decimal | None = None
    opening_where: str = ""
    closing_where: str = ""
    entries: list[Entry] = field(default_factory=list)
    controls: list[Control] = field(default_factory=list)


@dataclass
class StatementFile:
    """Everything one file holds: its format (``camt.053.001.08``, ``MT940``, ``BAI2`` ...) and statements."""

    fmt: str
    statements: list[BankStatement]

    @property
    def family(self) -> str:
        """The format without its version: camt.053, MT940, MT942, BAI2, CODA, OFX."""
        return ".".join(self.fmt.split(".")[:2]) if self.fmt.startswith("camt.") else self.fmt.split(" ")[0]


def decimal_of(text: str, file: str, where: str, what: str) -> Decimal:
    """An amount written with a decimal point (camt, OFX after normalising), exactly; an error naming
    the place otherwise."""
    clean = text.strip()
    try:
        value = Decimal(clean)
    except InvalidOperation:
        value = Decimal("NaN")
    if not clean or not value.is_finite() or "e" in clean.lower():
        raise InputError(file, f"{where}: {what} {text!r} is not an amount; expected digits with a decimal point")
    return value


def date_of(text: str, file: str, where: str, what: str) -> dt.date:
    """An ISO date (or the date part of an ISO date-time, as written), or an error naming the place."""
    clean = text.strip()[:10]
    try:
        return dt.date.fromisoformat(clean)
    except ValueError:
        raise InputError(file, f"{where}: {what} {text.strip()!r} is not a date; expected YYYY-MM-DD") from None
