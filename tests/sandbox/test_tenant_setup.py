"""Setup BC has but API v2.0 cannot change, as the seed file builds it: "Increment Batch Name" on
the customer-payments template, a batch's Posting No. Series, a currency's Amount Rounding
Precision and exchange rates by date, and a customer's Application Method "Apply to Oldest".

Expected values follow BC's AL (``GenJnlPostBatch``), not the code: ``UpdateAndDeleteLines`` calls
``IncrementBatchName`` when the template asks and the posted batch is empty: ``GenJnlBatch.Delete()``,
``Name := IncStr(name)``, ``if GenJnlBatch.Insert() then;`` (a new record: a new SystemId; an existing
name is left alone), and the hidden line 10000 goes into the batch under its new name.
``CheckDocumentNo`` gives each new document of a batch with a Posting No. Series the series' next
number at posting; lines of one document share it. ``GenJournalLine.ValidateAmount`` rounds to the
currency's precision; ``CurrExchRate.FindCurrency`` needs a rate starting on or before the posting
date; ``PrepareTempCustLedgEntry`` applies an Apply-to-Oldest customer's payment to the oldest open
entries. Work date 2026-03-20 (the fixed clock).
"""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from pipeline.sandbox import rules, seed
from pipeline.sandbox.errors import SandboxApiError
from pipeline.sandbox.store import Store


def _gl_id(store: Store, number: str = "2910") -> str:
    row = store.query_one("SELECT id FROM gl_accounts WHERE number = ?", (number,))
    assert row is not None
    return str(row["id"])


def _journals(store: Store, cid: str) -> dict[str, str]:
    return {str(j["code"]): str(j["id"]) for j in rules.list_journals(store, cid)}


def _pay(store: Store, cid: str, jid: str, **body: Any) -> dict[str, Any]:
    return rules.create_payment(store, cid, jid, body)


def _documents(store: Store, cid: str) -> list[tuple[str, str, Any, Any]]:
    return [
        (str(e["documentNumber"]), str(e["accountNumber"]), e["debitAmount"], e["creditAmount"])
        for e in rules.list_gl_entries(store, cid)
        if e["documentType"] == "Payment" and not str(e["documentNumber"]).startswith("PAY-")
    ]


@pytest.fixture
def incrementing(store: Store, cid: str) -> str:
    seed.apply_seed(store, {"journalTemplate": {"incrementBatchName": True}})
    return cid


def test_increment_batch_name_renames_the_posted_batch_under_a_new_id(store: Store, incrementing: str) -> None:
    cid = incrementing
    created = rules.create_journal(store, cid, {"code": "PAYIMP01", "balancingAccountId": _gl_id(store)})
    _pay(store, cid, str(created["id"]), customerNumber="C20000", amount=-1500, documentNumber="D1")

    rules.post_journal(store, cid, str(created["id"]))

    journals = _journals(store, cid)
    assert "PAYIMP01" not in journals
    assert "PAYIMP02" in journals and journals["PAYIMP02"] != str(created["id"])
    renamed = next(j for j in rules.list_journals(store, cid) if j["code"] == "PAYIMP02")
    assert renamed["balancingAccountNumber"] == "2910" and renamed["displayName"] == created["displayName"]
    # the hidden line 10000 went with the new name: a new line there gets 20000
    assert rules.list_payments(store, cid, journals["PAYIMP02"]) == []
    line = _pay(store, cid, journals["PAYIMP02"], customerNumber="C20000", amount=-1, documentNumber="D2")
    assert line["lineNumber"] == 20000
    assert [d[0] for d in _documents(store, cid)] == ["D1", "D1"]


def test_increment_batch_name_keeps_an_existing_next_batch(store: Store, incrementing: str) -> None:
    cid = incrementing
    first = str(rules.create_journal(store, cid, {"code": "PAYIMP01", "balancingAccountId": _gl_id(store)})["id"])
    second = str(rules.create_journal(store, cid, {"code": "PAYIMP02", "balancingAccountId": _gl_id(store)})["id"])
    _pay(store, cid, second, customerNumber="C20000", amount=-7, documentNumber="KEEP")
    _pay(store, cid, first, customerNumber="C20000", amount=-1500, documentNumber="D1")

    rules.post_journal(store, cid, first)

    journals = _journals(store, cid)
    assert "PAYIMP01" not in journals and journals["PAYIMP02"] == second
    assert [p["documentNumber"] for p in rules.list_payments(store, cid, second)] == ["KEEP"]


def test_a_batch_name_without_a_number_is_not_incremented(store: Store, incrementing: str) -> None:
    cid = incrementing
    jid = str(rules.create_journal(store, cid, {"code": "BANK", "balancingAccountId": _gl_id(store)})["id"])
    _pay(store, cid, jid, customerNumber="C20000", amount=-1500, documentNumber="D1")
    rules.post_journal(store, cid, jid)
    assert _journals(store, cid)["BANK"] == jid


@pytest.fixture
def posting_series(store: Store, cid: str) -> str:
    seed.apply_seed(
        store,
        {
            "noSeries": [{"code": "PMT-POST", "startingNo": "PMT00001"}],
            "journals": [{"code": "BANK", "balancingAccount": "2910", "postingNoSeries": "PMT-POST"}],
        },
    )
    return cid


def test_a_posting_no_series_replaces_the_posted_document_numbers(store: Store, posting_series: str) -> None:
    cid = posting_series
    jid = _journals(store, cid)["BANK"]
    _pay(store, cid, jid, customerNumber="C20000", amount=-1500, documentNumber="SENT-B", postingDate="2026-03-19")
    _pay(store, cid, jid, customerNumber="C30000", amount=-1234.56, documentNumber="SENT-A", postingDate="2026-03-19")
    _pay(store, cid, jid, customerNumber="C40000", amount=-980, documentNumber="SENT-A", postingDate="2026-03-19")

    rules.post_journal(store, cid, jid)

    # posted in (posting date, document no.) order: SENT-A's two lines share PMT00001, SENT-B gets PMT00002
    assert _documents(store, cid) == [
        ("PMT00001", "2910", D("1234.56"), 0),
        ("PMT00001", "2310", 0, D("1234.56")),
        ("PMT00001", "2910", 980, 0),
        ("PMT00001", "2310", 0, 980),
        ("PMT00002", "2910", 1500, 0),
        ("PMT00002", "2310", 0, 1500),
    ]
    assert not rules.list_gl_entries(store, cid, ["SENT-A", "SENT-B"])


def test_the_seed_refuses_a_journal_whose_series_is_unknown_or_the_same(store: Store, cid: str) -> None:
    with pytest.raises(seed.SeedError, match=r"journals\[0\]\.postingNoSeries: no series NOPE"):
        seed.apply_seed(store, {"journals": [{"code": "X", "postingNoSeries": "NOPE"}]})
    with pytest.raises(seed.SeedError, match="must not be the same"):
        seed.apply_seed(
            store,
            {
                "noSeries": [{"code": "S", "startingNo": "S1"}],
                "journals": [{"code": "X", "noSeries": "S", "postingNoSeries": "S"}],
            },
        )
    with pytest.raises(seed.SeedError, match="incrementBatchName: true or false"):
        seed.apply_seed(store, {"journalTemplate": {"incrementBatchName": "yes"}})


# --- currencies: rounding precision and exchange rates by date -------------------------------------


@pytest.fixture
def yen(store: Store, cid: str) -> str:
    """JPY with Amount Rounding Precision 1 and a rate from 2026-03-10 on; customer C71000 bills in it."""
    seed.apply_seed(
        store,
        {
            "currencies": [
                {
                    "code": "JPY",
                    "amountRoundingPrecision": 1,
                    "exchangeRates": [
                        {"startingDate": "2026-03-10", "rate": "0.0062"},
                        {"startingDate": "2026-03-15", "rate": "0.0064"},
                    ],
                }
            ],
            "customers": [{"number": "C71000", "name": "Yamato KK", "currency": "JPY"}],
        },
    )
    return cid


def _bank(store: Store, cid: str) -> str:
    return str(rules.create_journal(store, cid, {"code": "FX1", "balancingAccountId": _gl_id(store)})["id"])


def test_an_amount_is_rounded_to_its_currency_precision(store: Store, yen: str) -> None:
    jid = _bank(store, yen)
    # ValidateAmount: Round(Amount, Currency."Amount Rounding Precision"): JPY to whole yen, halves away from zero
    assert _pay(store, yen, jid, customerNumber="C71000", amount=-1234.5, postingDate="2026-03-12")["amount"] == -1235
    assert _pay(store, yen, jid, customerNumber="C71000", amount=-99.49, postingDate="2026-03-12")["amount"] == -99
    assert _pay(store, yen, jid, customerNumber="C20000", amount=-10.005)["amount"] == D("-10.01")
    listed = {c["code"]: c for c in rules.list_currencies(store, yen)}
    assert (listed["JPY"]["amountRoundingPrecision"], listed["JPY"]["amountDecimalPlaces"]) == (1, "0:0")
    assert (listed["USD"]["amountRoundingPrecision"], listed["USD"]["amountDecimalPlaces"]) == (D("0.01"), "2:2")


def test_a_foreign_currency_line_needs_a_rate_at_its_posting_date(store: Store, yen: str) -> None:
    jid = _bank(store, yen)
    with pytest.raises(SandboxApiError) as refused:
        _pay(store, yen, jid, customerNumber="C71000", amount=-1000, postingDate="2026-03-09", documentNumber="Y0")
    assert (refused.value.status, refused.value.code) == (400, "Internal_DataNotFoundFilter")
    assert "Currency Code: JPY, Starting Date: ''..2026-03-09" in refused.value.message
    _pay(store, yen, jid, customerNumber="C71000", amount=-1000, postingDate="2026-03-12", documentNumber="Y1")
    _pay(store, yen, jid, customerNumber="C71000", amount=-1000, postingDate="2026-03-16", documentNumber="Y2")

    rules.post_journal(store, yen, jid)

    # each line in LCY at the rate valid on its own posting date: 1000 x 0.0062, 1000 x 0.0064
    credits = {
        e["documentNumber"]: e["creditAmount"]
        for e in rules.list_gl_entries(store, yen)
        if e["accountNumber"] == "2310" and e["documentNumber"] in ("Y1", "Y2")
    }
    assert credits == {"Y1": D("6.2"), "Y2": D("6.4")}
    rates = [
        (r["currencyCode"], r["startingDate"], r["relationalExchangeRateAmount"])
        for r in rules.list_exchange_rates(store, yen)
    ]
    assert rates == [
        ("JPY", "2026-03-10", D("0.0062")),
        ("JPY", "2026-03-15", D("0.0064")),
        ("USD", "0001-01-01", D("0.92")),
    ]


# --- customer Application Method "Apply to Oldest" -----------------------------------------------------


def test_apply_to_oldest_closes_the_oldest_open_invoices_of_an_unapplied_payment(store: Store, cid: str) -> None:
    """C10000 has open invoices (demo seed, due 14 days after the invoice date), oldest due first:
    RE-2026-0091 1250.00 (02-17), INV-5010 12.00 (02-23), RE-2026-0094 84.99 (02-24), RE-2026-0101
    1190.00 (03-02), RE-2026-0097 2045.50 (03-03), ... A payment of 1400.00 without Applies-to closes
    0091, 5010 and 0094 (1346.99) and takes the remaining 53.01 off 0101."""
    seed.apply_seed(
        store, {"customers": [{"number": "C10000", "name": "Müller", "applicationMethod": "Apply to Oldest"}]}
    )
    jid = str(rules.create_journal(store, cid, {"code": "OLD1", "balancingAccountId": _gl_id(store)})["id"])
    _pay(store, cid, jid, customerNumber="C10000", amount=-1400, documentNumber="P1", postingDate="2026-03-19")

    rules.post_journal(store, cid, jid)

    remaining = {
        i["number"]: i["remainingAmount"]
        for i in rules.list_sales_invoices(store, cid)
        if i["customerNumber"] == "C10000"
    }
    assert (remaining["RE-2026-0091"], remaining["INV-5010"], remaining["RE-2026-0094"]) == (0, 0, 0)
    assert remaining["RE-2026-0101"] == D("1136.99")
    assert remaining["RE-2026-0097"] == D("2045.50")


def test_a_manual_customer_keeps_an_unapplied_payment_open(store: Store, cid: str) -> None:
    jid = str(rules.create_journal(store, cid, {"code": "MAN1", "balancingAccountId": _gl_id(store)})["id"])
    _pay(store, cid, jid, customerNumber="C10000", amount=-1400, documentNumber="P1", postingDate="2026-03-19")
    rules.post_journal(store, cid, jid)
    remaining = {i["number"]: i["remainingAmount"] for i in rules.list_sales_invoices(store, cid)}
    assert remaining["RE-2026-0091"] == D("1250")
