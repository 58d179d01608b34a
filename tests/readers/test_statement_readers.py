"""Each bank-statement reader on small hand-written files (``fixtures/``), so that CI without the
shared corpus still exercises every format, dialect and refusal."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.config import STATEMENT_COLUMNS, BalanceSpec, ColumnMap, Config, CurrencySpec, HeaderSpec, Profile
from pipeline.errors import InputError
from pipeline.filetype import statement_format
from pipeline.readers.statements import read_statements
from pipeline.readers.statements.model import RETURN, StatementFile
from pipeline.validate import FileResult, validate_file

FIXTURES = Path(__file__).parent / "fixtures"


def _profile(name: str = "bank", currency: str = "EUR", accounts: tuple[str, ...] = (), check: str = "auto") -> Profile:
    return Profile(
        name=name,
        header=HeaderSpec(present=True, row=1),
        columns=ColumnMap(**STATEMENT_COLUMNS),
        currency=CurrencySpec(expected=currency),
        balances=BalanceSpec(check=check),  # type: ignore[arg-type]
        statement_accounts=accounts,
    )


def _validate(path: Path, *profiles: Profile, name: str | None = None) -> FileResult:
    return validate_file(path, Config(profiles={p.name: p for p in profiles}), name)


def _read(name: str) -> StatementFile:
    data = (FIXTURES / name).read_bytes()
    fmt = statement_format(data)
    assert fmt is not None
    return read_statements(data, name, fmt)


def _write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("camt053_demo.xml", "camt"),
        ("mt940_german.sta", "mt940"),
        ("mt940_ing.sta", "mt940"),
        ("mt942.sta", "mt940"),
        ("bai2.txt", "bai2"),
        ("coda.txt", "coda"),
        ("ofx1.ofx", "ofx"),
    ],
)
def test_format_is_told_from_the_bytes(name: str, fmt: str) -> None:
    assert statement_format((FIXTURES / name).read_bytes()) == fmt


def test_csv_is_not_a_statement() -> None:
    root = Path(__file__).resolve().parents[2] / "sample_data"
    for path in root.iterdir():
        assert statement_format(path.read_bytes()) is None, path


# --- camt ---------------------------------------------------------------------------------------------


def test_camt_rows_batches_returns_and_provenance() -> None:
    result = _validate(FIXTURES / "camt053_demo.xml")
    s = result.summary()
    assert (s["rows_read"], s["rows_valid"], s["rows_skipped"]) == (7, 4, 3)
    assert s["skipped_by_reason"] == {"not_receipt": 1, "return": 1, "not_booked": 1}
    assert Decimal(s["amount_valid"]) == Decimal("14542.00")
    assert result.balance.status == "verified"
    assert result.balance.message.count("= closing balance") == 2
    receipts = result.statement.receipts
    # the batch entry of 12852.00 is one row per transaction detail, on the detail's own line
    batch = receipts[receipts["transaction_id"].str.startswith("CAMT260305001")]
    assert sorted(batch["amount_minor"].tolist()) == [35700, 1249500]
    text = (FIXTURES / "camt053_demo.xml").read_text(encoding="utf-8").splitlines()
    assert all(text[r - 1].strip() == "<TxDtls>" for r in batch["source_row"])
    first = receipts.iloc[0]
    assert first["payer_name"] == "Müller Maschinenbau GmbH"
    assert "RE-2026-0101" in first["reference"] and "E2E-RE-2026-0101" in first["reference"]
    assert first["transaction_id"] == "CAMT260302001"
    assert "RF18RE20260102" in batch.iloc[0]["reference"]


def test_camt_any_version_and_namespace_prefix(tmp_path: Path) -> None:
    text = (FIXTURES / "camt053_demo.xml").read_text(encoding="utf-8")
    v2 = text.replace("camt.053.001.08", "camt.053.001.02")
    prefixed = v2.replace("<Document xmlns=", "<c:Document xmlns:c=").replace("</Document>", "</c:Document>")
    for name, body in (("v2.xml", v2), ("prefixed.xml", prefixed)):
        s = _validate(_write(tmp_path, name, body)).summary()
        assert (s["rows_valid"], s["amount_valid"]) == (4, "14542.00"), name


def test_camt_unknown_version_is_refused(tmp_path: Path) -> None:
    text = (FIXTURES / "camt053_demo.xml").read_text(encoding="utf-8").replace("camt.053.001.08", "camt.053.001.99")
    with pytest.raises(InputError, match=r"camt\.053\.001\.99 is a camt version this tool does not read"):
        _validate(_write(tmp_path, "v99.xml", text))


HOSTILE = {
    "billion laughs": (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>&lol2;</BkToCstmrStmt>'
        "</Document>"
    ),
    "external entity": (
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>&x;</BkToCstmrStmt>'
        "</Document>"
    ),
}


@pytest.mark.parametrize("body", HOSTILE.values(), ids=HOSTILE.keys())
def test_camt_with_a_dtd_is_refused(tmp_path: Path, body: str) -> None:
    with pytest.raises(InputError, match="declares a DTD or entities"):
        _validate(_write(tmp_path, "hostile.xml", body))


def test_truncated_camt_is_refused_with_the_line(tmp_path: Path) -> None:
    text = (FIXTURES / "camt053_demo.xml").read_text(encoding="utf-8")
    with pytest.raises(InputError, match=r"is not well-formed XML \(line \d+\)"):
        _validate(_write(tmp_path, "cut.xml", text[: len(text) // 2]))


def test_camt_batch_details_must_add_up(tmp_path: Path) -> None:
    text = (FIXTURES / "camt053_demo.xml").read_text(encoding="utf-8").replace(">12495.00<", ">12495.01<")
    with pytest.raises(InputError, match=r"books 12852.00 but its 2 transaction details add up to 12852.01"):
        _validate(_write(tmp_path, "batch.xml", text))


def test_balance_mismatch_is_refused_and_can_be_overridden(tmp_path: Path) -> None:
    text = (FIXTURES / "camt053_demo.xml").read_text(encoding="utf-8").replace(">1190.00<", ">1191.00<")
    path = _write(tmp_path, "tampered.xml", text)
    with pytest.raises(InputError, match=r"says 24234.20: 1.00 differ\. Nothing is imported"):
        _validate(path)
    result = _validate(path, _profile(check="off"), name="bank")
    assert result.balance.status == "overridden"
    assert "overridden by profile 'bank'" in result.balance.message and "1.00 differ" in result.balance.message
    assert result.rows_valid == 4


def test_a_profile_restricts_the_accounts(tmp_path: Path) -> None:
    """The profile naming an account of the file is chosen without --profile; the other account's
    entries are skipped with the reason."""
    result = _validate(FIXTURES / "camt053_demo.xml", _profile(accounts=("DE89 3704 0044 0532 0130 00",)))
    s = result.summary()
    assert s["profile"] == "bank"
    assert (s["rows_valid"], s["skipped_by_reason"].get("other_account")) == (3, 1)
    detail = result.skips[result.skips["reason_code"] == "other_account"]["detail"].iloc[0]
    assert "DE27100777770209299700 is not one profile 'bank' imports" in detail


def test_no_account_selected_is_refused() -> None:
    with pytest.raises(InputError, match="none of the file's 2 statements"):
        _validate(FIXTURES / "camt053_demo.xml", _profile(accounts=("NL00XXXX0000000000",)), name="bank")


def test_a_rejected_row_names_its_line(tmp_path: Path) -> None:
    text = (FIXTURES / "camt053_demo.xml").read_text(encoding="utf-8")
    text = text.replace(">1190.00<", ">1190.005<").replace(">24234.20<", ">24234.205<")
    result = _validate(_write(tmp_path, "decimals.xml", text))
    [issue] = result.issues
    assert issue.reason_code == "amount_decimals" and issue.column == "amount"
    assert text.splitlines()[issue.source_row - 1].strip() == "<Ntry>"


# --- MT940 / MT942 ------------------------------------------------------------------------------------


def test_mt940_german_subfields_and_returns() -> None:
    [stmt] = _read("mt940_german.sta").statements
    first, debit, back = stmt.entries
    assert first.payer_name == "Mueller Maschinenbau GmbH"
    assert first.payer_iban == "DE02120300000000202051"
    assert "Rechnung RE-2026-0101 Kd-Nr. C10000" in first.reference and "E2E-RE-2026-0101" in first.reference
    assert (first.transaction_id, first.line, first.booking_date) == ("TX260302001", 5, dt.date(2026, 3, 2))
    assert debit.amount == Decimal("-245.80")
    assert back.flag == RETURN and back.amount == Decimal("438.00")
    result = _validate(FIXTURES / "mt940_german.sta")
    assert result.summary()["skipped_by_reason"] == {"not_receipt": 1, "return": 1}


def test_mt940_ing_structured_details() -> None:
    [stmt] = _read("mt940_ing.sta").statements
    credit = stmt.entries[0]
    assert (credit.payer_name, credit.payer_iban) == ("Baeckerei Schaefer KG", "NL91ABNA0417164300")
    assert credit.reference == "RE-2026-0102 Danke RE-2026-0102"
    assert credit.transaction_id == "00000000001001"


def test_mt942_sums_are_checked(tmp_path: Path) -> None:
    assert _validate(FIXTURES / "mt942.sta").balance.status == "verified"
    text = (FIXTURES / "mt942.sta").read_text().replace(":90C:1PLN125,00", ":90C:2PLN125,00")
    with pytest.raises(InputError, match=r":90C:: the entries add up to 125.00, 1 entries, but the file states"):
        _validate(_write(tmp_path, "mt942.sta", text))


def test_truncated_mt940_is_refused(tmp_path: Path) -> None:
    lines = (FIXTURES / "mt940_german.sta").read_text().splitlines()
    with pytest.raises(InputError, match=r"has no closing balance \(:62F:\) and ends at :61:; the file is truncated"):
        _validate(_write(tmp_path, "cut.sta", "\n".join(lines[:8])))


def _mt940(amounts: list[tuple[bool, int]], day: dt.date) -> str:
    """A one-statement MT940 file of the given (credit?, cents) entries, balances included."""
    opening = 100_000
    closing = opening + sum(c if credit else -c for credit, c in amounts)
    ymd = day.strftime("%y%m%d")

    def money(cents: int) -> str:
        return f"{cents // 100},{cents % 100:02d}"

    lines = [":20:GEN", ":25:10020030/1234567", ":28C:1/1", f":60F:C{ymd}EUR{money(opening)}"]
    for n, (credit, cents) in enumerate(amounts, start=1):
        lines += [f":61:{ymd}{ymd[2:]}{'C' if credit else 'D'}{money(cents)}NTRFNONREF//REF{n}", f":86:Entry {n}"]
    mark = "C" if closing >= 0 else "D"
    return "\n".join([*lines, f":62F:{mark}{ymd}EUR{money(abs(closing))}", "-"]) + "\n"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    amounts=st.lists(st.tuples(st.booleans(), st.integers(min_value=1, max_value=10**11)), min_size=1, max_size=8),
    day=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2049, 12, 31)),
)
def test_mt940_amounts_and_dates_round_trip(amounts: list[tuple[bool, int]], day: dt.date) -> None:
    text = _mt940(amounts, day)
    [stmt] = read_statements(text.encode(), "gen.sta", "mt940").statements
    got = [(e.amount > 0, int(abs(e.amount) * 100), e.booking_date) for e in stmt.entries]
    assert got == [(credit, cents, day) for credit, cents in amounts]
    assert [e.line for e in stmt.entries] == [5 + 2 * k for k in range(len(amounts))]


# --- BAI2 ---------------------------------------------------------------------------------------------


def test_bai2_accounts_continuations_and_totals() -> None:
    parsed = _read("bai2.txt")
    assert [s.account for s in parsed.statements] == ["0123456789", "9876543210"]
    first = parsed.statements[0].entries[0]
    assert first.reference == "Northwind Traders payment invoice RE-2026-0106 and RE-2026-0107"
    assert (first.amount, first.transaction_id, first.line) == (Decimal("1500.00"), "BR0001", 4)
    assert parsed.statements[1].closing == Decimal("600.00")  # 015 continued on an 88 record
    result = _validate(FIXTURES / "bai2.txt")
    assert result.balance.status == "verified" and "file trailer 99" in result.balance.message


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("49,2300000,5/", "49,2300001,5/", r"account trailer 49: the entries add up to 23000.00, but the file states"),
        ("49,2300000,5/", "49,2300000,6/", r"record count in 49: 5 records, but the file states 6"),
        ("99,2420000,1,13/\n", "", r"is truncated: it ends with record 98, not the file trailer 99"),
        ("88,invoice", "8,invoice", r"line 5: '8,invoice[^']*' is not a BAI2 record"),
        ("49,120000,4/\n", "", r"line 11: record 98 cannot follow record 16; expected 16 or 49"),
        ("03,0123456789", "XX,0123456789", r"line 3: 'XX,0123456789,USD,01' is not a BAI2 record"),
    ],
)
def test_bai2_broken_files_are_refused(tmp_path: Path, old: str, new: str, message: str) -> None:
    text = (FIXTURES / "bai2.txt").read_text()
    assert old in text
    with pytest.raises(InputError, match=message):
        _validate(_write(tmp_path, "bad.bai2", text.replace(old, new)))


# --- CODA and OFX ---------------------------------------------------------------------------------------


def test_coda_structured_reference_and_globalisation() -> None:
    [stmt] = _read("coda.txt").statements
    ogm, *batch, debit = stmt.entries
    assert ogm.reference == "+++240/2838/42818+++"
    assert (ogm.payer_name, ogm.payer_iban) == ("Muller Maschinenbau GmbH", "DE02120300000000202051")
    assert [e.amount for e in batch] == [Decimal("357.000"), Decimal("12495.000")]
    assert [e.line for e in batch] == [7, 9]
    assert debit.amount == Decimal("-245.800")
    assert _validate(FIXTURES / "coda.txt").balance.status == "verified"


def test_bai2_cut_at_any_line_is_refused(tmp_path: Path) -> None:
    """The library loops without end on a file cut short; the reader refuses it before."""
    lines = (FIXTURES / "bai2.txt").read_text().splitlines(keepends=True)
    for n in range(1, len(lines)):
        with pytest.raises(InputError, match=r"truncated|cannot follow"):
            _validate(_write(tmp_path, "cut.bai2", "".join(lines[:n])))


def test_coda_trailer_mismatch_is_refused(tmp_path: Path) -> None:
    lines = (FIXTURES / "coda.txt").read_text().splitlines()
    lines[-1] = lines[-1].replace("000000014042000", "000000014041000")
    with pytest.raises(InputError, match=r"credit total: the entries add up to 14042.000, but the file states 14041"):
        _validate(_write(tmp_path, "coda.txt", "\n".join(lines)))


def test_ofx_with_a_malformed_header_is_read() -> None:
    result = _validate(FIXTURES / "ofx1.ofx")
    s = result.summary()
    assert (s["rows_read"], s["rows_valid"], s["amount_valid"], s["currency"]) == (2, 1, "1500.00", "USD")
    assert result.statement.receipts.iloc[0]["transaction_id"] == "OFX0001"
    assert result.balance.status == "not_stated"


@pytest.mark.parametrize("cut", [0.3, 0.6, 0.9])
@pytest.mark.parametrize("name", ["mt940_german.sta", "bai2.txt", "coda.txt", "ofx1.ofx", "camt053_demo.xml"])
def test_truncated_files_are_refused_or_accounted(tmp_path: Path, name: str, cut: float) -> None:
    """A file cut anywhere is refused with a message naming it, or read with every row accounted;
    never a crash."""
    data = (FIXTURES / name).read_bytes()
    path = _write(tmp_path, name, data[: int(len(data) * cut)])
    try:
        result = _validate(path)
    except InputError as exc:
        assert str(path) in str(exc)
    else:
        result.check_accounting()


def test_a_camt_document_without_statements_is_refused(tmp_path: Path) -> None:
    body = '<?xml version="1.0"?>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"></Document>\n'
    with pytest.raises(InputError, match=r"this camt\.053\.001\.02 file holds no statement, report or notification"):
        _validate(_write(tmp_path, "empty.xml", body))


_CAMT_V8 = """<?xml version="1.0" encoding="UTF-8"?>
<p:Document xmlns:p="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><p:BkToCstmrStmt>
<p:Stmt><p:Id>S-9</p:Id><p:Acct><p:Id><p:IBAN>CH9300762011623852957</p:IBAN></p:Id><p:Ccy>CHF</p:Ccy></p:Acct>
<p:Ntry><p:Amt Ccy="CHF">300.00</p:Amt><p:CdtDbtInd>CRDT</p:CdtDbtInd><p:Sts><p:Cd>BOOK</p:Cd></p:Sts>
<p:BookgDt><p:DtTm>2026-04-02T09:15:00</p:DtTm></p:BookgDt>
<p:BkTxCd><p:Domn><p:Cd>PMNT</p:Cd><p:Fmly><p:Cd>RCDT</p:Cd><p:SubFmlyCd>ESCT</p:SubFmlyCd></p:Fmly></p:Domn></p:BkTxCd>
<p:NtryDtls><p:TxDtls>
 <p:Refs><p:Prtry><p:Tp>BANK</p:Tp><p:Ref>PR-1</p:Ref></p:Prtry></p:Refs>
 <p:AmtDtls><p:TxAmt><p:Amt Ccy="CHF">120.50</p:Amt></p:TxAmt></p:AmtDtls>
 <p:RltdPties><p:Dbtr><p:Pty><p:Nm>  Muster
   AG </p:Nm><p:PstlAdr><p:TwnNm>Bern</p:TwnNm></p:PstlAdr></p:Pty></p:Dbtr>
 <p:DbtrAcct><p:Id><p:Othr><p:Id>0123 4567</p:Id></p:Othr></p:Id></p:DbtrAcct>
 <p:UltmtDbtr><p:Pty><p:Nm>Muster Holding</p:Nm></p:Pty></p:UltmtDbtr></p:RltdPties>
 <p:RltdAgts><p:DbtrAgt><p:FinInstnId><p:BICFI>POFICHBEXXX</p:BICFI></p:FinInstnId></p:DbtrAgt></p:RltdAgts>
 <p:RmtInf><p:Ustrd>Rechnung
   4711</p:Ustrd><p:Strd><p:CdtrRefInf><p:Ref>RF18539007547034</p:Ref></p:CdtrRefInf></p:Strd></p:RmtInf>
</p:TxDtls><p:TxDtls>
 <p:AmtDtls><p:TxAmt><p:Amt Ccy="CHF">179.50</p:Amt></p:TxAmt></p:AmtDtls>
 <p:RltdPties><p:Dbtr><p:Nm>Beta <p:Sub>GmbH</p:Sub></p:Nm></p:Dbtr></p:RltdPties>
 <p:RtrInf><p:Rsn><p:Cd>AC04</p:Cd></p:Rsn></p:RtrInf>
</p:TxDtls></p:NtryDtls><p:AddtlNtryInf>Sammelgutschrift</p:AddtlNtryInf></p:Ntry>
</p:Stmt></p:BkToCstmrStmt></p:Document>
"""


def test_camt_fields_at_every_place_the_reader_looks() -> None:
    """A version-8 batch with a prefix, every field in its less common place (name under ``Pty``,
    account as ``Othr/Id``, the proprietary reference, ``AmtDtls/TxAmt``), texts padded and split
    over lines, and elements the reader passes over (bank transaction code, agents, addresses)."""
    parsed = read_statements(_CAMT_V8.encode(), "v8.xml", "camt")
    (stmt,) = parsed.statements
    first, second = stmt.entries
    assert (stmt.account, stmt.currency, parsed.fmt) == ("CH9300762011623852957", "CHF", "camt.053.001.08")
    assert (first.amount, second.amount) == (Decimal("120.50"), Decimal("179.50"))
    assert first.booking_date == second.booking_date == dt.date(2026, 4, 2)
    assert first.payer_name == "Muster AG Muster Holding"  # padded and split: squeezed
    assert first.payer_iban == "0123 4567"
    assert first.reference == "RF18539007547034 Rechnung 4711"  # structured reference first
    assert first.transaction_id == "PR-1"
    assert first.where == "statement S-9, entry 1, detail 1" and first.flag == ""
    assert second.payer_name == "Beta GmbH"  # a name with markup inside: its text gathered
    assert second.reference == "" and second.flag == RETURN
    assert (first.line, second.line) == (7, 17)


def test_camt_entries_in_a_long_statement_keep_order_and_lines(tmp_path: Path) -> None:
    """Entries are dropped as they are read; a long statement still gives every entry, in order,
    each with its own line."""
    head = (FIXTURES / "camt053_demo.xml").read_text(encoding="utf-8").partition("<Ntry>")[0]
    entries = "".join(
        f'<Ntry><Amt Ccy="EUR">{n}.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>'
        f"<BookgDt><Dt>2026-03-02</Dt></BookgDt><AcctSvcrRef>L{n}</AcctSvcrRef></Ntry>\n"
        for n in range(1, 2501)
    )
    stmt_start = head.rindex("<Stmt>")
    stmt_head = head[stmt_start:]
    body = head[:stmt_start] + stmt_head.split("<Bal>")[0] + entries + "</Stmt></BkToCstmrStmt></Document>\n"
    parsed = read_statements(body.encode(), "long.xml", "camt")
    rows = parsed.statements[0].entries
    assert [r.transaction_id for r in rows] == [f"L{n}" for n in range(1, 2501)]
    assert sum(r.amount for r in rows) == Decimal(2500 * 2501 // 2)
    first_line = body.count("\n", 0, body.index("<Ntry>")) + 1
    assert [r.line for r in rows[:3]] == [first_line, first_line + 1, first_line + 2]
    assert rows[-1].line == first_line + 2499


_CAMT_TEXTS = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"><BkToCstmrDbtCdtNtfctn>
<Ntfctn><Id>N-1</Id><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>
<Ntry><Amt Ccy="EUR"> 12.50 </Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2026-05-04</Dt></BookgDt>
<NtryRef>N9</NtryRef><NtryDtls><TxDtls><RltdPties><Dbtr><Nm>Tab\tName</Nm></Dbtr>
<DbtrAcct><Id><IBAN>DE89 3704 0044 0532 0130 00</IBAN></Id></DbtrAcct></RltdPties>
<RmtInf><Ustrd>Invoice\t42</Ustrd><Ustrd>Invoice\t42</Ustrd><Ustrd>and <!-- x -->43</Ustrd></RmtInf>
<Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs></TxDtls></NtryDtls></Ntry>
<Ntry><Amt Ccy="EUR">3.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts><ValDt><Dt>2026-05-05</Dt></ValDt>
<NtryDtls><TxDtls><RltdPties><Dbtr><Nm>Not the payee</Nm></Dbtr><Cdtr><Nm>Payee Ltd</Nm></Cdtr></RltdPties></TxDtls>
</NtryDtls><AddtlNtryInf>Fee  May</AddtlNtryInf></Ntry>
</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>
"""


def test_camt_texts_as_written_and_remittance_lines_squeezed() -> None:
    """A single-line field is taken as written unless padded or holding double spaces; every
    remittance line is squeezed (tabs and comments gone) and given once; ``NOTPROVIDED`` is no
    reference; a debit describes its creditor; a padded amount reads; no entry reference falls back
    to ``NtryRef`` and no booking date to the value date."""
    parsed = read_statements(_CAMT_TEXTS.encode(), "texts.xml", "camt")
    ((credit, debit),) = [s.entries for s in parsed.statements]
    assert (credit.amount, credit.transaction_id, credit.booking_date) == (Decimal("12.50"), "N9", dt.date(2026, 5, 4))
    assert credit.payer_name == "Tab\tName"
    assert credit.payer_iban == "DE89 3704 0044 0532 0130 00"
    assert credit.reference == "Invoice 42 and 43"
    assert (debit.amount, debit.booking_date, debit.transaction_id) == (Decimal("-3.00"), dt.date(2026, 5, 5), "")
    assert debit.payer_name == "Payee Ltd"
    assert debit.reference == "Fee May"
