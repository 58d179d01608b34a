"""Typed, frozen configuration parsed once from ``config.yaml``.

Every stage receives these objects; none reads files or the environment on its own.
Loading reports *every* problem at once, each with its YAML path and a hint, because a
finance user fixing a config file should not have to iterate one error at a time.
"""

from __future__ import annotations

import datetime as dt
import re
import string
import sys
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

from pipeline.errors import ConfigError
from pipeline.library import did_you_mean, expand_uses
from pipeline.patterns import check_pattern

ColumnRef = Annotated[str | int, Field(description="header name, or 1-based column position")]
"""A column is named by its header text or by its 1-based position (for headerless files)."""


class _Frozen(BaseModel):
    # attribute docstrings become the fields' descriptions in the published JSON Schema
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class HeaderSpec(_Frozen):
    """Where the header is. A signature finds it anywhere in the first ``search_rows`` rows."""

    present: bool = True
    signature: tuple[str, ...] = ()
    row: int | None = Field(default=None, ge=1)
    search_rows: int = Field(default=100, ge=1)

    @model_validator(mode="after")
    def _need_a_way_to_find_it(self) -> HeaderSpec:
        if self.present and not self.signature and self.row is None:
            raise ValueError("give header.signature (header cells that identify the file) or header.row")
        return self


class ColumnMap(_Frozen):
    """Which input column feeds which statement field."""

    date: ColumnRef
    amount: ColumnRef | None = None
    debit: ColumnRef | None = None
    credit: ColumnRef | None = None
    indicator: ColumnRef | None = None
    currency: ColumnRef | None = None
    payer_name: ColumnRef | tuple[ColumnRef, ...] | None = None
    reference: ColumnRef | tuple[ColumnRef, ...] | None = None
    customer_number: ColumnRef | None = None
    invoice_number: ColumnRef | None = None
    transaction_id: ColumnRef | None = None
    document_number: ColumnRef | None = None
    payer_account: ColumnRef | None = None
    """The payer's IBAN or account number: cash application remembers which customer an account
    paid for (``matching.signals`` ``payer_memory``). Bank statements carry it already."""
    payment_group: ColumnRef | None = None
    """Check number or payment reference: the lines sharing it are one payment (``pipeline.remittance``)."""
    payment_total: ColumnRef | None = None
    """The check amount or the advice's total, on one or every line of the payment; checked against their sum."""
    discount: ColumnRef | None = None
    """Early-payment discount the payer took on the line (the amount column is what was paid)."""

    @model_validator(mode="after")
    def _total_of_a_group(self) -> ColumnMap:
        if self.payment_total is not None and self.payment_group is None:
            raise ValueError("columns.payment_total needs columns.payment_group: the check whose lines it totals")
        return self


class AmountSpec(_Frozen):
    """How amounts are written: layout, marks and what counts as a credit."""

    layout: Literal["signed", "debit_credit", "indicator"] = "signed"
    decimal_mark: Literal[".", ","] = "."
    thousands_mark: Literal["", ",", ".", "'", " "] = ""
    invert_sign: bool = False
    credit_values: tuple[str, ...] = ()
    debit_values: tuple[str, ...] = ()
    unlisted_indicator: Literal["reject", "debit", "credit"] = "reject"
    """What an indicator value in neither list means. ``reject`` (the default) refuses the row with
    ``indicator_unknown``: a bank that writes ``Cr`` where the profile says ``CR`` must not turn a
    receipt into "not a receipt". ``debit`` / ``credit`` are explicit choices for banks that mark only
    one side (an empty cell counts as a value; list ``""`` in ``debit_values`` to say "empty is a debit")."""

    @model_validator(mode="after")
    def _marks_differ(self) -> AmountSpec:
        if self.decimal_mark == self.thousands_mark:
            raise ValueError("decimal_mark and thousands_mark must differ")
        if self.layout == "indicator" and not self.credit_values:
            raise ValueError("layout 'indicator' needs credit_values (e.g. ['C', 'CR'])")
        both = sorted(set(self.credit_values) & set(self.debit_values))
        if both:
            raise ValueError(f"indicator value(s) {both} are listed both as credit and as debit")
        return self


class CurrencySpec(_Frozen):
    """The currency the statement must be in; rows in another currency are rejected."""

    expected: str = "EUR"
    decimals: int | None = Field(default=None, ge=0, le=4)

    @field_validator("expected")
    @classmethod
    def _iso_code(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z]{3}", v):
            raise ValueError("expected an ISO 4217 code such as EUR")
        return v.upper()


class SkipRule(_Frozen):
    """Rows whose ``column`` matches ``pattern`` (a regex, searched) are skipped with ``reason``."""

    column: ColumnRef
    pattern: str
    reason: str

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, v: str) -> str:
        _compile(v)
        return v


class ReceiptFilter(_Frozen):
    """Extra condition a credit must meet to count as a customer receipt: its ``column`` matches
    ``pattern`` (when given) and does not match ``unless`` (when given). ``unless`` exists because
    profile patterns are RE2, which has no negative look-ahead: "a credit, but not the bank's
    interest" is ``unless: Habenzinsen``, not ``^(?!.*Habenzinsen)``."""

    column: ColumnRef
    pattern: str | None = None
    unless: str | None = None

    @field_validator("pattern", "unless")
    @classmethod
    def _compiles(cls, v: str | None) -> str | None:
        if v is not None:
            _compile(v)
        return v

    @model_validator(mode="after")
    def _says_something(self) -> ReceiptFilter:
        if self.pattern is None and self.unless is None:
            raise ValueError("give pattern (what a receipt matches), unless (what it must not match), or both")
        return self


class ExtractSpec(_Frozen):
    """Regexes run over the reference text; the first group (or the match) is the value."""

    customer_number: str | None = None
    invoice_number: str | None = None

    @field_validator("customer_number", "invoice_number")
    @classmethod
    def _compiles(cls, v: str | None) -> str | None:
        if v is not None:
            _compile(v)
        return v


class DocumentNumberSpec(_Frozen):
    """documentNumber from a column, or from a template (BC journals made by the API have no series)."""

    template: str = "{date:%Y%m%d}-{seq:04d}"

    @field_validator("template")
    @classmethod
    def _template_fields(cls, v: str) -> str:
        check_template(v)
        return v


TEMPLATE_FIELDS = frozenset(
    {
        "payer_name",
        "reference",
        "customer_number",
        "invoice_number",
        "transaction_id",
        "currency",
        "date",
        "seq",
        "source_row",
        "amount",
        "file_stem",
        "document_number",
    }
)
_NUMERIC_FIELDS = frozenset({"seq", "source_row"})


def refuse_control_characters(text: str, what: str) -> None:
    """Refuse a text sent to Business Central (a template, a journal's code or name) that holds a
    control character or a line or paragraph separator: YAML's double-quoted escapes (``"\\0"``,
    ``"\\t"``, ``"\\x85"``, ``"\\u2028"``) write them without anyone seeing them. A document
    number or a journal code with one inside is no value a person can find in BC again, and
    SQLite's JSON functions end a text at a NUL."""
    import unicodedata

    hidden = next((ch for ch in text if unicodedata.category(ch) in ("Cc", "Zl", "Zp")), None)
    if hidden is not None:
        raise ValueError(f"{what} {text!r}: holds {hidden!r}, a control character or line break; write plain text")


def check_template(template: str) -> None:
    """Refuse a template that would fail on the first row: unknown field, bad spec, stray brace;
    and one holding a control character (``refuse_control_characters``)."""
    import string

    refuse_control_characters(template, "template")
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"template {template!r}: {exc} (write a literal brace as {{{{ or }}}})") from None
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in TEMPLATE_FIELDS or conversion:
            raise ValueError(f"template {template!r}: unknown field {{{name}}}; use {sorted(TEMPLATE_FIELDS)}")
        if not spec:
            continue
        sample: object = 1 if name in _NUMERIC_FIELDS else "text"
        if name == "date":
            import datetime as _dt

            sample = _dt.date(2024, 1, 31)
        try:
            format(sample, spec)
        except (ValueError, TypeError):
            raise ValueError(f"template {template!r}: {{{name}:{spec}}} is not a valid format") from None


CELL_REF = r"[A-Za-z]{1,3}[1-9][0-9]{0,6}"


class CellSpec(_Frozen):
    """A value outside the table, found in one of two ways.

    ``cell``: a fixed place, as a person names it in a spreadsheet (``B3`` is column B of row 3 of
    the sheet; in a text file, field 2 of line 3). ``label``: the text written before the value
    ("Payment date:"), looked for in every row above, inside and below the table, case-insensitive
    and as plain text (not a regex); the value is the rest of that cell after the label, or else
    the next non-empty cell to its right. Exactly one of the two is given.
    """

    cell: str | None = None
    label: str | None = None

    @model_validator(mode="after")
    def _one_way(self) -> CellSpec:
        if (self.cell is None) == (self.label is None):
            raise ValueError("give either cell (e.g. B3) or label (e.g. 'Payment date:'), not both or neither")
        if self.cell is not None and not re.fullmatch(CELL_REF, self.cell):
            raise ValueError(f"cell {self.cell!r} is not a cell name like B3 (column letters, then the row number)")
        if self.label is not None and not self.label.strip():
            raise ValueError("label is empty")
        return self


OPENING_MARKERS: tuple[str, ...] = (
    "opening balance",
    "balance brought forward",
    "brought forward",
    "balance at start of period",
    "balance at the start of the period",
    "start balance",
    "starting balance",
    "beginning balance",
    "previous balance",
    "anfangssaldo",
    "alter kontostand",
    "alter saldo",
    "saldovortrag",
    "saldo inicial",
    "saldo anterior",
    "solde initial",
    "solde précédent",
    "solde precedent",
    "ancien solde",
    "saldo iniziale",
    "saldo precedente",
    "beginsaldo",
    "openingssaldo",
    "saldo begin",
)
CLOSING_MARKERS: tuple[str, ...] = (
    "closing balance",
    "balance carried forward",
    "carried forward",
    "balance at end of period",
    "balance at the end of the period",
    "end balance",
    "ending balance",
    "final balance",
    "new balance",
    "endsaldo",
    "schlusssaldo",
    "neuer kontostand",
    "neuer saldo",
    "saldo final",
    "saldo actual",
    "solde final",
    "nouveau solde",
    "solde nouveau",
    "saldo finale",
    "eindsaldo",
    "slotsaldo",
    "saldo eind",
)


class BalanceSpec(_Frozen):
    """Stated balances and totals, checked against the rows as control totals (``pipeline.balances``).

    Markers are plain words (not regexes), matched case-insensitively at the start of a row's
    first non-empty cell or of a ``marker_columns`` cell, as whole words. ``opening``, ``closing``
    and ``total`` take the value from a cell outside the table instead of a marked row. ``running``
    names a column holding the balance after each row, checked row by row.
    """

    check: Literal["auto", "required", "off"] = "auto"
    opening_markers: tuple[str, ...] = OPENING_MARKERS
    closing_markers: tuple[str, ...] = CLOSING_MARKERS
    total_markers: tuple[str, ...] = ()
    marker_columns: tuple[ColumnRef, ...] | None = None
    opening: CellSpec | None = None
    closing: CellSpec | None = None
    total: CellSpec | None = None
    running: ColumnRef | None = None

    @field_validator("opening_markers", "closing_markers", "total_markers")
    @classmethod
    def _words(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if any(not m.strip() for m in v):
            raise ValueError("a marker is empty")
        return tuple(m.strip() for m in v)


class ConstantsSpec(_Frozen):
    """Values for every row taken from cells outside the table (a remittance advice's title block)."""

    posting_date: CellSpec | None = None
    customer_number: CellSpec | None = None
    reference: CellSpec | None = None
    payer_name: CellSpec | None = None


class PayerMapEntry(_Frozen):
    """A payer whose name never matches the customer card: a regex on the payer name or the
    reference text (searched, case-insensitive) names the customer outright."""

    pattern: str
    customer: str = Field(min_length=1, max_length=20)

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, v: str) -> str:
        _compile(v)
        return v


MatchingSignal = Literal["payer_name", "payer_memory", "references", "loose_references", "amount", "combinations"]
MATCHING_SIGNALS: tuple[MatchingSignal, ...] = (
    "payer_name",
    "payer_memory",
    "references",
    "loose_references",
    "amount",
    "combinations",
)
"""The evidence a profile can switch off (``docs/finance.md``): ``payer_name`` (the payer's name
against customer names), ``payer_memory`` (payer accounts and names confirmed before),
``references`` (invoice numbers and check-digit references in the text), ``loose_references``
(digits only, one typing error, last digits), ``amount`` (one open invoice of the amount),
``combinations`` (a set of open invoices adding up to it, with the tolerance)."""


class MatchingRules(_Frozen):
    """Cash application by evidence (``pipeline.matching``): what decides a receipt the file does
    not settle by its customer and invoice numbers. The defaults are safe on a statement nobody
    configured: only evidence scoring ``automatic`` or more is posted without a person."""

    enabled: bool = True
    signals: tuple[MatchingSignal, ...] = MATCHING_SIGNALS
    """The kinds of evidence the matcher may use (all by default); a customer number in the file
    and the payer map always count."""
    automatic: int = Field(default=95, ge=1, le=100)
    propose: int = Field(default=65, ge=1, le=100)
    name_close: int = Field(default=65, ge=1, le=100)
    tolerance: Decimal = Field(default=Decimal(0), ge=0)
    discount_percent: Decimal = Field(default=Decimal(0), ge=0, le=50)
    max_invoices: int = Field(default=12, ge=1, le=20)
    pool: int = Field(default=200, ge=1, le=1000)
    leftover: Literal["post_unapplied", "needs_review"] = "needs_review"
    date_window_days: int | None = Field(default=None, ge=0, le=3660)
    """Only invoices due at most this many days before or after the receipt's date are searched by
    amount (one invoice or a set); ``None`` searches the ``pool`` oldest whatever their due date.
    Invoices the text names are never left out, and an invoice without a due date is kept."""
    payer_map: tuple[PayerMapEntry, ...] = ()

    @model_validator(mode="after")
    def _ordered(self) -> MatchingRules:
        if self.propose > self.automatic:
            raise ValueError("propose must not be above automatic")
        return self

    def uses(self, signal: MatchingSignal) -> bool:
        """Whether this kind of evidence counts (``signals``)."""
        return signal in self.signals

    def overridden(self, by: MatchingRules | None) -> MatchingRules:
        """These rules with the keys a profile's ``matching`` section gives in its place (keys it
        leaves out stay as configured here); checked again as a whole."""
        if by is None or not by.model_fields_set:
            return self
        given = {name: getattr(by, name) for name in by.model_fields_set}
        return MatchingRules.model_validate({**dict(self), **given})


STATEMENT_COLUMNS = {
    "date": "booking_date",
    "amount": "amount",
    "currency": "currency",
    "payer_name": "payer_name",
    "reference": "reference",
    "transaction_id": "transaction_id",
    "payer_account": "payer_iban",
}
"""The columns of the table a bank-statement reader builds (``pipeline.readers.statements``)."""


class Profile(_Frozen):
    """One bank or remittance layout."""

    name: str = ""
    title: str = ""
    use: str | None = None
    """The library profile this one starts from (``payimport profile list``); the keys given beside
    ``use`` override the library's, mapping by mapping (``pipeline.library.merged``)."""
    encoding: str | None = None
    delimiter: str | None = None
    quotechar: str = '"'
    sheet: str | int | None = None
    header: HeaderSpec = HeaderSpec(present=False)
    columns: ColumnMap
    amount: AmountSpec = AmountSpec()
    date_formats: tuple[str, ...] = ("%Y-%m-%d",)
    date_earliest: dt.date = dt.date(1990, 1, 1)
    """Dates before this are refused (``date_too_early``): BC accepts 1753, but a payment dated 1968
    is a misread two-digit year or a typo, never a receipt to post."""
    date_days_ahead: int = Field(default=366, ge=0)
    """Dates more than this many days after the run date are refused (``date_too_late``)."""
    date_plausibility_check: bool = True
    """The file-level day/month order check (``pipeline.dateorder``) also weighs how plausible the
    dates are when no row settles the order; ``false`` keeps only the row evidence. Turn it off only
    for a file checked by eye whose dates really are e.g. the 5th of consecutive months."""
    currency: CurrencySpec = CurrencySpec()
    receipts_only_when: ReceiptFilter | None = None
    skip_rows: tuple[SkipRule, ...] = ()
    footer_pattern: str = (
        r"(?i)^\s*(total|totals|sum|summe|gesamt|saldo|balance|opening balance|closing balance|"
        r"turnover|umsatz gesamt|subtotal)\b"
    )
    continuation_rows: Literal["skip", "join"] = "skip"
    hidden_rows: Literal["reject", "skip", "include"] = "reject"
    extract: ExtractSpec = ExtractSpec()
    document_number: DocumentNumberSpec = DocumentNumberSpec()
    description: str = "{payer_name}"
    comment: str = "{reference}"
    external_document_number: str = "{transaction_id}"
    identify_pattern: str | None = None
    key_namespace: str | None = None
    balances: BalanceSpec = BalanceSpec()
    constants: ConstantsSpec = ConstantsSpec()
    matching: MatchingRules | None = None
    """Cash application rules for this profile's files: the keys given here replace the same keys
    of ``policies.matching`` (the others stay as configured there)."""
    statement_accounts: tuple[str, ...] = ()
    """Bank statements (camt, MT940/MT942, BAI2, CODA, OFX): the accounts (IBAN or account number)
    this profile imports; the file's other accounts are skipped with a reason. A profile with this key
    needs no ``columns`` or ``header``: a statement's fields are known (``pipeline.readers.statements``)."""

    @model_validator(mode="before")
    @classmethod
    def _statement_profile_columns(cls, data: Any) -> Any:
        """A bank-statement profile maps the statement reader's own columns, so it names none."""
        if isinstance(data, dict) and data.get("statement_accounts") and "columns" not in data:
            data = {
                **data,
                "columns": dict(STATEMENT_COLUMNS),
                "header": data.get("header", {"present": True, "row": 1}),
            }
        return data

    @field_validator("description", "comment", "external_document_number")
    @classmethod
    def _template_fields(cls, v: str) -> str:
        check_template(v)
        return v

    @field_validator("key_namespace")
    @classmethod
    def _no_split_mark(cls, v: str | None) -> str | None:
        if v is not None and "#>" in v:
            raise ValueError("key_namespace must not contain '#>' (it marks the lines of a split receipt)")
        return v

    @field_validator("quotechar")
    @classmethod
    def _one_quote(cls, v: str) -> str:
        if len(v) != 1:
            raise ValueError("quotechar is one character, usually '\"'")
        return v

    @field_validator("delimiter")
    @classmethod
    def _one_char(cls, v: str | None) -> str | None:
        if v is not None and v not in {",", ";", "|", "\t"} and len(v) != 1:
            raise ValueError("delimiter is one character: ',', ';', '|' or '\\t'")
        return v

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, v: str | None) -> str | None:
        if v is None:
            return v
        import codecs

        try:
            codecs.lookup(v)
        except LookupError as exc:
            raise ValueError(f"unknown encoding {v!r} (try utf-8, cp1252, cp1250, cp1257, latin-1)") from exc
        return v

    @field_validator("date_formats")
    @classmethod
    def _date_codes(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v:
            raise ValueError("give at least one date format, e.g. '%d.%m.%Y'")
        for fmt in v:
            bad = set(re.findall(r"%(.)", fmt)) - set("dmyYbBHMSf%")
            if bad:
                raise ValueError(f"unsupported date code(s) {sorted(bad)} in {fmt!r}; use %d %m %Y %y %b %H %M %S")
            codes = set(re.findall(r"%(.)", fmt))
            if not ("d" in codes and codes & {"m", "b", "B"} and codes & {"Y", "y"}):
                raise ValueError(f"date format {fmt!r} needs a day, a month and a year")
        return v

    @field_validator("footer_pattern")
    @classmethod
    def _footer_compiles(cls, v: str) -> str:
        _compile(v)
        return v

    @model_validator(mode="after")
    def _layout_has_columns(self) -> Profile:
        c, a = self.columns, self.amount
        if a.layout in {"signed", "indicator"} and c.amount is None:
            raise ValueError(f"amount layout {a.layout!r} needs columns.amount")
        if a.layout == "indicator" and c.indicator is None:
            raise ValueError("amount layout 'indicator' needs columns.indicator")
        if a.layout == "debit_credit" and (c.debit is None or c.credit is None):
            raise ValueError("amount layout 'debit_credit' needs columns.debit and columns.credit")
        if not self.header.present:
            refs = [v for v in c.model_dump().values() if v is not None]
            flat = [x for v in refs for x in (v if isinstance(v, (list, tuple)) else [v])]
            if any(not isinstance(x, int) for x in flat):
                raise ValueError("a headerless profile names columns by 1-based position (integers)")
        return self

    @property
    def decimals(self) -> int:
        """Minor-unit digits of the statement currency (ISO 4217 unless configured)."""
        if self.currency.decimals is not None:
            return self.currency.decimals
        return currency_decimals(self.currency.expected)


class Defaults(_Frozen):
    """Settings that apply to every file."""

    first_line_number: int = Field(default=0, ge=0)
    errors_workbook: bool = True
    exit_one_while_waiting: bool = False


class Timeouts(_Frozen):
    """httpx timeouts for BC, in seconds; the client takes this type as it is. ``read_s`` is long
    on purpose: BC may take minutes on a big $batch and gives up itself after 8-10 minutes
    (408/504); a shorter client timeout only creates doubt."""

    connect_s: float = Field(default=10.0, gt=0)
    read_s: float = Field(default=600.0, gt=0)
    write_s: float = Field(default=60.0, gt=0)
    pool_s: float = Field(default=60.0, gt=0)


class SandboxTarget(_Frozen):
    """The embedded sandbox (``target.kind: sandbox``): started in-process for the run."""

    state_dir: Path = Path(".payimport/sandbox")
    seed: str = "demo"
    latency_request_s: float = Field(default=0.0, ge=0)
    latency_operation_s: float = Field(default=0.0, ge=0)


class Principal(_Frozen):
    """One more app registration (service principal) of the same tenant, named by the environment
    variables that hold its client id and its secret, or its certificate (a PEM file's path) and
    thumbprint. BC counts its limits per principal; the poster spreads its requests over them."""

    client_id_env: str = Field(min_length=1)
    client_secret_env: str | None = Field(default=None, min_length=1)
    certificate_env: str | None = Field(default=None, min_length=1)
    certificate_thumbprint_env: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _has_credential(self) -> Principal:
        if not self.client_secret_env and not (self.certificate_env and self.certificate_thumbprint_env):
            raise ValueError("name client_secret_env, or certificate_env and certificate_thumbprint_env")
        return self


class Target(_Frozen):
    """Where payments go. Secrets are never here: only the *names* of environment variables."""

    kind: Literal["sandbox", "bc"] = "sandbox"
    tenant: str = ""
    environment: str = "Production"
    company: str = ""
    api_url: str = "https://api.businesscentral.dynamics.com"
    authority_url: str = "https://login.microsoftonline.com"
    scope: str = "https://api.businesscentral.dynamics.com/.default"
    client_id_env: str = "PAYIMPORT_CLIENT_ID"
    client_secret_env: str = "PAYIMPORT_CLIENT_SECRET"
    certificate_env: str = "PAYIMPORT_CERTIFICATE"
    certificate_thumbprint_env: str = "PAYIMPORT_CERTIFICATE_THUMBPRINT"
    principals: tuple[Principal, ...] = Field(default=(), max_length=20)
    """More app registrations beside the one above (``kind: bc``): requests go round robin over all."""
    ca_file: str | None = None
    validate_authority: bool = True
    local_currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    timeouts: Timeouts = Timeouts()
    sandbox: SandboxTarget = SandboxTarget()

    @model_validator(mode="after")
    def _bc_needs_identity(self) -> Target:
        if self.kind == "bc":
            missing = [name for name in ("tenant", "environment", "company") if not getattr(self, name)]
            if missing:
                raise ValueError(f"target kind bc needs {', '.join(missing)}")
        return self


class JournalSpec(_Frozen):
    """The journal each run writes into: a new one per run (the default) or an existing one."""

    existing: str | None = Field(default=None, min_length=1, max_length=10)
    allow_foreign_lines: bool = False
    code_template: str = "PI{date:%y%m%d}{n:02d}"
    display_name: str = "payimport {files} {date:%Y-%m-%d}"
    balancing_account: str | None = "2910"

    @field_validator("existing", "code_template", "display_name")
    @classmethod
    def _plain_text(cls, value: str | None) -> str | None:
        if value is not None:
            refuse_control_characters(value, "value")
        return value

    @field_validator("code_template")
    @classmethod
    def _code_template_fields(cls, value: str) -> str:
        fields = {f for _, f, _, _ in string.Formatter().parse(value) if f}
        unknown = fields - {"date", "n"}
        if unknown:
            raise ValueError(f"unknown field(s) {sorted(unknown)}; use {{date:...}} and {{n:..}}")
        if "n" not in fields:
            raise ValueError("needs {n} so that two runs on one day get different codes")
        return value

    @field_validator("display_name")
    @classmethod
    def _display_name_fields(cls, value: str) -> str:
        fields = {f for _, f, _, _ in string.Formatter().parse(value) if f}
        unknown = fields - {"date", "files", "run_id"}
        if unknown:
            raise ValueError(f"unknown field(s) {sorted(unknown)}; use {{files}}, {{date:...}}, {{run_id}}")
        return value


class Policies(_Frozen):
    """What to do with payments that BC would take but a person may not want posted blindly."""

    unapplied: Literal["post", "needs_review"] = "post"
    partial_payment: Literal["post", "needs_review"] = "post"
    over_payment: Literal["post", "needs_review"] = "needs_review"
    unknown_invoice: Literal["needs_review", "post_unapplied"] = "needs_review"
    matching: MatchingRules = MatchingRules()


class RetryPolicy(_Frozen):
    """When the BC client tries again: bounded by attempts AND by total time (the waits themselves
    are ``pipeline.bc.retry.Backoff``'s business). The client takes this type as it is."""

    max_attempts: int = Field(default=8, ge=1)
    base_delay_s: float = Field(default=0.5, ge=0)
    max_delay_s: float = Field(default=60.0, ge=0)
    max_total_s: float = Field(default=900.0, gt=0)


class PostingSpec(_Frozen):
    """$batch size and how many requests are in flight (BC processes 5 per client at once)."""

    batch_size: int = Field(default=100, ge=1, le=100)
    max_in_flight: int = Field(default=6, ge=1, le=50)
    journal_lines: int = Field(default=5000, ge=1)
    """A run with more lines than this spreads them over several journals of the run, about this many
    each: BC writes into one journal one line at a time, so parallel requests need other journals."""
    max_journals: int | None = Field(default=None, ge=1, le=100)
    """At most this many journals per run; None: one per request the run can have in flight."""
    plan_chunk_rows: int = Field(default=20_000, ge=1)
    """Rows planned into the ledger per transaction: a large run's plan is never all in memory."""
    send_chunk_lines: int = Field(default=2_000, ge=1)
    """Request bodies drawn from the ledger at a time while sending (rounded down to a multiple of
    ``batch_size``, at least one request's worth, so requests are cut as from one list)."""
    verify_lines: int = Field(default=50_000, ge=1)
    """Journal lines read back and compared at a time; a larger journal is read alone, page by page."""
    retry: RetryPolicy = RetryPolicy()


class WatchFolders(_Frozen):
    inbox: str = "inbox"
    processing: str = "processing"
    done: str = "done"
    failed: str = "failed"

    @model_validator(mode="after")
    def _distinct(self) -> WatchFolders:
        names = [self.inbox, self.processing, self.done, self.failed]
        if len(set(names)) != len(names):
            raise ValueError("the four folders must have different names")
        return self


class WatchSpec(_Frozen):
    """Folder mode: how long a file must stay unchanged before it is taken, how often to look,
    and an optional command run after each file (its last argument is the report's JSON path)."""

    folders: WatchFolders = WatchFolders()
    stable_seconds: float = Field(default=5.0, ge=0)
    interval_seconds: float = Field(default=10.0, gt=0)
    hook: tuple[str, ...] | None = None
    hook_timeout_seconds: float = Field(default=60.0, gt=0)


class Config(_Frozen):
    """The whole of config.yaml."""

    version: Literal[1] = 1
    defaults: Defaults = Defaults()
    target: Target = Target()
    journal: JournalSpec = JournalSpec()
    policies: Policies = Policies()
    posting: PostingSpec = PostingSpec()
    watch: WatchSpec = WatchSpec()
    state_dir: Path = Path(".payimport")
    runs_dir: Path = Path("payimport-runs")
    runs_retention_days: int | None = Field(default=None, ge=1)
    """Run folders older than this many days are deleted after each run (``None``: kept for ever)."""
    profiles: Mapping[str, Profile]

    @field_validator("profiles", mode="before")
    @classmethod
    def _none_is_no_profiles(cls, v: Any) -> Any:
        """``profiles:`` with only comments under it (as ``payimport init`` writes it) is no profile yet."""
        return {} if v is None else v

    @model_validator(mode="after")
    def _name_profiles(self) -> Config:
        named = {k: p.model_copy(update={"name": k}) for k, p in self.profiles.items()}
        object.__setattr__(self, "profiles", MappingProxyType(named))
        return self

    @model_validator(mode="after")
    def _no_default_balancing_account_for_a_tenant(self) -> Config:
        """G/L 2910 is the sandbox's bank account; in a real company it may be anything (or a
        revenue account), so a tenant's journal gets a balancing account only when config names one."""
        if self.target.kind == "bc" and "balancing_account" not in self.journal.model_fields_set:
            journal = self.journal.model_copy(update={"balancing_account": None})
            object.__setattr__(self, "journal", journal)
        return self

    @property
    def target_given(self) -> bool:
        """Whether config.yaml has a ``target:`` block (without one, runs go to the embedded sandbox)."""
        return "target" in self.model_fields_set


_ZERO_DECIMAL = {
    "BIF",
    "CLP",
    "DJF",
    "GNF",
    "ISK",
    "JPY",
    "KMF",
    "KRW",
    "PYG",
    "RWF",
    "UGX",
    "VND",
    "VUV",
    "XAF",
    "XOF",
    "XPF",
}
_THREE_DECIMAL = {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"}


def currency_decimals(code: str) -> int:
    """ISO 4217 minor units; HUF keeps 2 as BC's currency table does by default."""
    code = code.upper()
    if code in _ZERO_DECIMAL:
        return 0
    if code in _THREE_DECIMAL:
        return 3
    return 2


def _compile(pattern: str) -> str:
    """A profile pattern must compile with RE2, the engine that will run it (``pipeline.patterns``)."""
    return check_pattern(pattern)


_HINTS = {
    "extra_forbidden": "unknown key; the keys are listed in docs/profiles.md and schemas/config.schema.json",
    "missing": "this key is required",
    "literal_error": "use one of the listed values",
}


def _format_errors(errors: list[ErrorDetails], source: str, prefix: tuple[str, ...] = ()) -> list[str]:
    lines = []
    for err in errors:
        path = ".".join(str(p) for p in (*prefix, *err["loc"]) if not str(p).startswith("function-after"))
        hint = _HINTS.get(err["type"], "")
        if err["type"] == "extra_forbidden":
            loc = tuple(err["loc"])
            guess = did_you_mean(str(loc[-1]), sorted(_keys_at(loc[:-1])))
            hint = f"unknown key; {guess}" if guess else hint
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"{source}: {path or '<top>'}: {msg}" + (f" (hint: {hint})" if hint else ""))
    return lines


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation holds (``Profile`` in ``Mapping[str, Profile]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


def _keys_at(loc: tuple[Any, ...]) -> set[str]:
    """The keys allowed in the mapping at YAML path ``loc`` (a profile name or a list index in the
    path is a step into the same model, not a key)."""
    models: list[type[BaseModel]] = [Config]
    for part in loc:
        fields = {name: f for m in models for name, f in m.model_fields.items()}
        if isinstance(part, str) and part in fields:
            models = _models_in(fields[part].annotation)
    return {name for m in models for name in m.model_fields if name != "name" or m is not Profile}


def parse_config(data: Any, source: str = "config.yaml") -> Config:
    """Validate already-loaded YAML data; raise ConfigError listing every problem.

    Profiles that ``use:`` a library profile are merged with it first, so what is validated (and
    what a problem's path points at) is the profile as the run will see it."""
    if not isinstance(data, dict):
        message = f"{source}: the file must hold a mapping with a 'profiles' key"
        raise ConfigError(message, problems=(message,))
    problems: list[str] = []
    if isinstance(data.get("profiles"), dict):
        profiles, problems = expand_uses(data["profiles"], source)
        data = {**data, "profiles": profiles}
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems += _format_errors(exc.errors(), source)
        problems += [p for p in _hidden_profile_problems(data, exc, source) if p not in problems]
    if problems:
        raise ConfigError(f"{source}: {len(problems)} problem(s)\n" + "\n".join(problems), problems=tuple(problems))
    return config


def _hidden_profile_problems(data: dict[str, Any], exc: ValidationError, source: str) -> list[str]:
    """Problems pydantic did not reach: a profile's cross-field checks run only once its fields are valid.

    Each failing profile is validated again without the keys that failed, so that a typo in one
    key does not hide, say, a layout that lacks its columns.
    """
    profiles = data.get("profiles")
    if not isinstance(profiles, dict):
        return []
    bad: dict[str, set[str]] = {}
    for err in exc.errors():
        loc = err["loc"]
        if len(loc) >= 3 and loc[0] == "profiles" and isinstance(loc[1], str) and isinstance(loc[2], str):
            bad.setdefault(loc[1], set()).add(loc[2])
    found: list[str] = []
    for name, keys in bad.items():
        raw = profiles.get(name)
        if not isinstance(raw, dict):
            continue
        trimmed = {k: v for k, v in raw.items() if k not in keys}
        try:
            Profile.model_validate(trimmed)
        except ValidationError as again:
            # a key removed here and required there is not a new problem
            fresh = [e for e in again.errors() if not (e["loc"] and e["loc"][0] in keys)]
            if fresh:
                found += _format_errors(fresh, source, ("profiles", name))
    return found


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (YAML would keep the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark, "a key must be plain text", key_node.start_mark
                )
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark, f"key {key!r} is given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


CONFIG_ENV = "PAYIMPORT_CONFIG"
CREATE_HINT = "create one with `payimport init` (embedded sandbox) or `payimport init --tenant` (Business Central)"


def user_config_path(environ: Mapping[str, str]) -> Path:
    """The per-user config file: ``%APPDATA%\\payimport\\config.yaml`` on Windows, else
    ``$XDG_CONFIG_HOME/payimport/config.yaml`` (``~/.config/payimport/config.yaml``)."""
    if sys.platform == "win32":
        base = Path(environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    else:
        base = Path(environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "payimport" / "config.yaml"


def locate_config(explicit: Path | None, environ: Mapping[str, str], cwd: Path | None = None) -> Path:
    """The config file to use, in this order: ``--config``; ``$PAYIMPORT_CONFIG``; ``config.yaml`` in
    the current folder; the per-user file (``user_config_path``). The first two are taken as given
    (a missing file is then an error naming it); of the last two the first that exists wins.

    A tool installed with pipx runs from any folder, so it must say where it looked and how to
    start a config, not only "cannot read config.yaml"."""
    if explicit is not None:
        return explicit
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV])
    here = (cwd or Path.cwd()) / "config.yaml"
    user = user_config_path(environ)
    for candidate in (here, user):
        if candidate.is_file():
            return candidate
    message = (
        f"no config found: --config is not given, {CONFIG_ENV} is not set, and neither {here} nor {user} "
        f"exists; {CREATE_HINT}, or point {CONFIG_ENV} or --config at an existing file"
    )
    raise ConfigError(message, problems=(message,))


def load_config(path: Path) -> Config:
    """Read and validate config.yaml."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        hint = f"; {CREATE_HINT}" if isinstance(exc, FileNotFoundError) else ""
        message = f"{path}: cannot read config: {exc.strerror}{hint}"
        raise ConfigError(message, problems=(message,)) from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        message = f"{path}: not valid YAML: {exc}"
        raise ConfigError(message, problems=(message,)) from None
    return resolve_paths(parse_config(data, str(path)), path.resolve().parent)


def resolve_paths(config: Config, base: Path) -> Config:
    """The config with every folder and file it names made absolute against ``base`` (the config
    file's folder), once, at load: a scheduled run started from ``/`` and a person's run from the
    project folder then find the same ledger, and no later stage has to know where config lived."""
    target = config.target
    sandbox = target.sandbox.model_copy(update={"state_dir": base / target.sandbox.state_dir})
    resolved = config.model_copy(
        update={
            "state_dir": base / config.state_dir,
            "runs_dir": base / config.runs_dir,
            "target": target.model_copy(update={"sandbox": sandbox}),
        }
    )
    # model_copy counts updated fields as given; what the file gave is what ``target_given`` reports
    object.__setattr__(resolved, "__pydantic_fields_set__", set(config.model_fields_set))
    return resolved
