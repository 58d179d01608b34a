"""Payer memory, per-profile matching rules, the date window and the Finnish and Norwegian references.

Expected values are worked out by hand here (check digits digit by digit, amounts from the open
invoices written in ``tests/test_matching.py``), never taken from what the code returned.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from test_matching import CUSTOMERS, INVOICES, _invoice, _lines, _review, _row, _rules

from pipeline.config import MatchingRules, Policies, Profile
from pipeline.ledger import Ledger
from pipeline.matching import ReferenceIndex
from pipeline.matching.memory import PayerMemory, Remembered, account_key, lessons, name_key
from pipeline.matching.references import Way, finnish_reference_ok, kid_ok
from pipeline.normalize import PAYMENT_COLUMNS
from pipeline.resolve import Resolution, resolve

DE = "DE89 3704 0044 0532 0130 00"


def _with(row: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return {**row, **kw}


def _run(
    *rows: dict[str, Any],
    policy: Policies | None = None,
    memory: PayerMemory | None = None,
    rules_of_file: dict[str, MatchingRules] | None = None,
    invoices: list[dict[str, Any]] | None = None,
) -> Resolution:
    frame = pd.DataFrame(list(rows), columns=list(PAYMENT_COLUMNS))
    for column in ("lineNumber", "amount_minor", "source_row"):
        frame[column] = frame[column].astype("int64")
    return resolve(frame, 2, CUSTOMERS, invoices or INVOICES, "EUR", policy or Policies(), memory, rules_of_file or {})


def _memory(*entries: tuple[str, str, str, str]) -> PayerMemory:
    """(kind, identity as written, customer, source), confirmed on 2026-11-03 by run R1."""
    keyed = [(k, account_key(i) if k == "account" else name_key(i), c, s) for k, i, c, s in entries]
    return PayerMemory([Remembered(k, i, c, s, "2026-11-03T08:00:00+00:00", "R1", 1) for k, i, c, s in keyed])


# --- the memory itself ----------------------------------------------------------------------------


def test_identities_are_remembered_in_one_form() -> None:
    assert account_key("de89 3704-0044 0532 0130 00") == "DE89370400440532013000" == account_key(DE)
    assert account_key("12") == ""  # too short to be an account
    assert name_key("MUELLER MASCHINENBAU GMBH") == name_key("Müller Maschinenbau GmbH") == "muller maschinenbau gmbh"


def test_lessons_keep_a_persons_word_over_the_rules() -> None:
    taught = lessons(
        [
            ("c10000", DE, "Müller Maschinenbau GmbH", False),
            ("C10000", DE.replace(" ", ""), "", True),  # the same account, decided by a person
            ("", "NL91ABNA0417164300", "Nobody", False),  # no customer: nothing to learn
        ]
    )
    assert sorted((x.kind, x.identity, x.customer, x.source) for x in taught) == [
        ("account", "DE89370400440532013000", "C10000", "person"),
        ("name", "muller maschinenbau gmbh", "C10000", "rule"),
    ]


def test_the_ledger_counts_confirmations_and_never_downgrades_a_person(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.sqlite") as ledger:
        ledger.remember_payers("t", "R1", [("account", "DE89", "C10000", "person")])
        ledger.remember_payers("t", "R2", [("account", "DE89", "C10000", "rule"), ("name", "x y", "C2", "rule")])
        found = ledger.payer_memory("t")
        with pytest.raises(ValueError, match="unknown kind"):
            ledger.remember_payers("t", "R3", [("iban", "DE89", "C10000", "rule")])
        assert ledger.payer_memory("other") == []
    assert [(k, i, c, s, run, n) for k, i, c, s, _, run, n in found] == [
        ("account", "DE89", "C10000", "person", "R2", 2),
        ("name", "x y", "C2", "rule", "R2", 1),
    ]


# --- the memory as evidence -----------------------------------------------------------------------


def test_a_remembered_account_names_the_payer_with_its_sentence() -> None:
    # "N. Hansen" matches no customer; the account was confirmed for C30000, whose only open invoice
    # of 300.00 is RE-2026-0303 (100, 200, 300, 400 open)
    memory = _memory(("account", DE, "C30000", "rule"))
    result = _run(_with(_row(1, "300.00", payer="N. Hansen"), payer_account=DE), memory=memory)
    assert [(c, i, a) for c, i, a, _ in _lines(result, 1)] == [("C30000", "RE-2026-0303", -30000)]
    details = str(result.rows["match_details"].iloc[0])
    assert (
        "[payer_account_memory] payer account DE89 3704 0044 0532 0130 00 was confirmed for customer C30000 "
        "'Nordlicht Handels GmbH' on 2026-11-03 (run R1, by a posted payment)"
    ) in details
    assert details.endswith("(confidence 100%)")
    # without the memory the same receipt is nobody's: a person
    assert _review(_run(_with(_row(1, "300.00", payer="N. Hansen"), payer_account=DE)), 1)["reason_code"]


def test_a_remembered_name_counts_when_spelled_the_same() -> None:
    memory = _memory(("name", "ACME Zahlungsdienst GmbH", "C40000", "person"))
    # 480.00 is C40000's RE-2026-0401
    result = _run(_row(1, "480.00", payer="ACME ZAHLUNGSDIENST GMBH"), memory=memory)
    assert [(c, i) for c, i, _, _ in _lines(result, 1)] == [("C40000", "RE-2026-0401")]
    assert "[payer_name_memory]" in str(result.rows["match_details"].iloc[0])
    assert "by a person's decision" in str(result.rows["match_details"].iloc[0])


def test_an_identity_confirmed_for_two_customers_is_no_evidence() -> None:
    memory = _memory(("account", DE, "C30000", "rule"), ("account", DE, "C40000", "rule"))
    review = _review(_run(_with(_row(1, "300.00", payer="N. Hansen"), payer_account=DE), memory=memory), 1)
    assert "payer_account_memory" not in str(review["match_details"])


def test_memory_says_one_customer_the_text_names_anothers_invoice() -> None:
    # the account is C40000's; the text names RE-2026-0101, billed to C10000: a person, nothing applied
    memory = _memory(("account", DE, "C40000", "rule"))
    row = _with(_row(1, "1190.00", payer="N. Hansen", reference="RE-2026-0101"), payer_account=DE)
    review = _review(_run(row, memory=memory), 1)
    assert review["reason_code"] == "conflicting_evidence"
    assert "C40000" in review["message"] and "RE-2026-0101" in review["message"]


def test_memory_stops_the_bill_to_rule_from_following_anothers_invoice() -> None:
    # the file names invoice RE-2026-0102 (C10100's) and no customer: the exact rules would post it
    # to C10100; the account is remembered as C10000's, so a person decides
    row = _with(_row(1, "357.00", payer="N. Hansen"), payer_account=DE, invoiceCandidates="RE-2026-0102")
    row["appliesToInvoiceNumber"] = "RE-2026-0102"
    assert [(c, i) for c, i, _, _ in _lines(_run(row), 1)] == [("C10100", "RE-2026-0102")]
    review = _review(_run(row, memory=_memory(("account", DE, "C10000", "rule"))), 1)
    assert review["reason_code"] == "conflicting_evidence"
    # the same customer remembered: nothing to doubt
    agreed = _run(row, memory=_memory(("account", DE, "C10100", "rule")))
    assert [(c, i) for c, i, _, _ in _lines(agreed, 1)] == [("C10100", "RE-2026-0102")]
    # a profile that does not use the memory keeps the bill-to rule
    no_memory = MatchingRules(signals=("payer_name", "references", "loose_references", "amount", "combinations"))
    kept = _run(row, memory=_memory(("account", DE, "C10000", "rule")), rules_of_file={"statement.csv": no_memory})
    assert [(c, i) for c, i, _, _ in _lines(kept, 1)] == [("C10100", "RE-2026-0102")]


def test_the_memory_signal_can_be_switched_off() -> None:
    memory = _memory(("account", DE, "C30000", "rule"))
    policy = _rules(signals=("payer_name", "references", "loose_references", "amount", "combinations"))
    result = _run(_with(_row(1, "300.00", payer="N. Hansen"), payer_account=DE), memory=memory, policy=policy)
    assert result.rows.empty


# --- rules per profile ----------------------------------------------------------------------------


def test_a_profile_overrides_only_the_keys_it_gives() -> None:
    configured = MatchingRules(automatic=98, tolerance="0.50")  # type: ignore[arg-type]
    profile = Profile.model_validate({"columns": {"date": 1, "amount": 2}, "matching": {"leftover": "post_unapplied"}})
    merged = configured.overridden(profile.matching)
    assert (merged.automatic, str(merged.tolerance), merged.leftover) == (98, "0.50", "post_unapplied")
    assert configured.overridden(None) is configured
    with pytest.raises(ValueError, match="propose must not be above automatic"):
        configured.overridden(MatchingRules.model_validate({"propose": 99}))


def test_each_file_is_matched_by_its_profiles_rules() -> None:
    # 1,000.00 from Sonnenschein: 480.00 + 520.00 exactly; the second file's profile switches
    # combinations off, so there it fits no invoice and the unapplied policy sends it to a person
    a = _row(1, "1000.00", payer="Sonnenschein Reisen GmbH")
    b = _with(_row(2, "1000.00", payer="Sonnenschein Reisen GmbH"), source_file="other.csv")
    off = MatchingRules(signals=("payer_name", "payer_memory", "references", "loose_references", "amount"))
    result = _run(a, b, policy=Policies(unapplied="needs_review"), rules_of_file={"other.csv": off})
    assert [(i, x) for _, i, x, _ in _lines(result, 1)] == [("RE-2026-0401", -48000), ("RE-2026-0402", -52000)]
    assert _review(result, 2)["reason_code"] == "unapplied"


def test_a_profile_may_switch_matching_off() -> None:
    row = _with(_row(1, "714.00", payer="MUELLER MASCHINENBAU"), source_file="off.csv")
    result = _run(row, rules_of_file={"off.csv": MatchingRules(enabled=False)})
    assert _review(result, 1)["reason_code"] == "customer_missing"


# --- the date window ------------------------------------------------------------------------------


def test_the_date_window_leaves_out_invoices_due_far_from_the_receipt() -> None:
    # Sonnenschein's 480.00 is due 2026-01-10 and 520.00 on 2026-01-20; the receipt is dated
    # 2026-03-02: 51 and 41 days later. A window of 45 days keeps 520.00 alone (no set of 1000.00);
    # 60 days keeps both.
    row = _row(1, "1000.00", payer="Sonnenschein Reisen GmbH")
    kept = _run(row, policy=_rules(date_window_days=60))
    assert [i for _, i, _, _ in _lines(kept, 1)] == ["RE-2026-0401", "RE-2026-0402"]
    narrow = _run(row, policy=Policies(unapplied="needs_review", matching=MatchingRules(date_window_days=45)))
    assert _review(narrow, 1)["reason_code"] == "unapplied"
    # 520.00 alone is due 41 days before: inside 45
    one = _run(_row(1, "520.00", payer="Sonnenschein Reisen GmbH"), policy=_rules(date_window_days=45))
    assert [i for _, i, _, _ in _lines(one, 1)] == ["RE-2026-0402"]


def test_the_date_window_never_hides_an_invoice_the_text_names() -> None:
    row = _row(1, "480.00", payer="Sonnenschein Reisen GmbH", reference="RE-2026-0401")
    assert [i for _, i, _, _ in _lines(_run(row, policy=_rules(date_window_days=5)), 1)] == ["RE-2026-0401"]


def test_an_invoice_without_a_due_date_stays_in_the_window() -> None:
    invoices = [*INVOICES, _invoice("RE-2026-0403", "C40000", "77.00", due="")]
    result = _run(
        _row(1, "77.00", payer="Sonnenschein Reisen GmbH"), policy=_rules(date_window_days=1), invoices=invoices
    )
    assert [i for _, i, _, _ in _lines(result, 1)] == ["RE-2026-0403"]


# --- Finnish and Norwegian references -------------------------------------------------------------


def test_finnish_reference_check_digit() -> None:
    # 1232: base 123 weighted 7, 3, 1 from the right: 3*7 + 2*3 + 1*1 = 28; 30 - 28 = 2
    assert finnish_reference_ok("1232")
    assert not finnish_reference_ok("1231")
    # 202601236: base 20260123 from the right 3,2,1,0,6,2,0,2 x 7,3,1,7,3,1,7,3
    # = 21 + 6 + 1 + 0 + 18 + 2 + 0 + 6 = 54; 60 - 54 = 6
    assert finnish_reference_ok("202601236") and not finnish_reference_ok("202601235")
    assert not finnish_reference_ok("123")  # shorter than four digits


def test_norwegian_kid_check_digit_mod10_and_mod11() -> None:
    # MOD10 (Luhn) over 98765: doubling from the right 5->10->1, 6, 7->14->5, 8, 9->18->9: 29; check 1
    assert kid_ok("987651")
    # MOD11 over 98765 weighted 2..6 from the right: 10 + 18 + 28 + 40 + 54 = 150; 150 mod 11 = 7; 11 - 7 = 4
    assert kid_ok("987654")
    assert not kid_ok("987652")
    # remainder 1 gives the check "-": base 6 weighted 2 is 12, 12 mod 11 = 1 ("60" fails Luhn too: 0 + 3)
    assert kid_ok("6-") and not kid_ok("60")


def test_finnish_and_norwegian_references_name_the_invoice_after_their_label() -> None:
    index = ReferenceIndex(["RE-2026-0123", "INV-98765"])
    assert [(f.invoice, f.way) for f in index.find("Viitenumero: 2026 01236")] == [(0, Way.STRUCTURED)]
    assert [(f.invoice, f.way) for f in index.find("viite 202601236")] == [(0, Way.STRUCTURED)]
    assert [(f.invoice, f.way) for f in index.find("KID 987651")] == [(1, Way.STRUCTURED)]
    assert [(f.invoice, f.way) for f in index.find("KID: 987654")] == [(1, Way.STRUCTURED)]
    # a wrong check digit is no structured reference (the digits may still be read as a near number)
    assert Way.STRUCTURED not in {f.way for f in index.find("Viitenumero 202601235")}
    assert Way.STRUCTURED not in {f.way for f in index.find("KID 987652")}
    # without its label a valid Finnish reference is only a string of digits
    assert Way.STRUCTURED not in {f.way for f in index.find("Zahlung 202601236")}


def test_a_kid_pays_its_invoice_through_the_resolver() -> None:
    # KID 20260107 + MOD10 check: 20260107 doubled from the right 7->14->5, 0, 1->2, 0, 6->12->3, 2, 0->0, 2
    # = 5 + 0 + 2 + 0 + 3 + 2 + 0 + 2 = 14; check 6 -> KID 202601076 names RE-2026-0107 (714.00, C10000)
    result = _run(_row(1, "714.00", payer="", reference="KID 202601076"))
    assert [(c, i) for c, i, _, _ in _lines(result, 1)] == [("C10000", "RE-2026-0107")]
    assert "[structured_reference]" in str(result.rows["match_details"].iloc[0])
