"""Late interest and recovery fees: every vector of the domain pack to the cent, and the rules around them."""

import csv
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from relance.adapters.rate_tables import load_rules
from relance.domain.errors import (
    ClaimNotCovered,
    ContractRateNotAllowed,
    FormalNoticeRequired,
    InvalidAllocation,
    InvalidLateFeeClaim,
    RuleNotModelled,
    UnknownJurisdiction,
)
from relance.domain.late_fees import (
    LateFeeClaim,
    Payment,
    allocate_payment,
    compute_late_fees,
    segment_interest,
)
from relance.domain.money import Money

PACK = Path(__file__).resolve().parents[3] / "shared" / "domain"
RATES, RULES = load_rules()


def _rows(name: str) -> list[dict[str, str]]:
    with (PACK / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


VECTORS = _rows("late_fee_vectors.csv")
PARTIAL_PAYMENTS = _rows("partial_payment_vectors.csv")


def money(text: str, currency: str = "EUR") -> Money:
    return Money.from_decimal(Decimal(text), currency)


def a_claim(
    principal: str = "10000.00", due_on: date = date(2025, 6, 20), jurisdiction: str = "FR", **changes
) -> LateFeeClaim:
    currency = changes.pop("currency", "EUR")
    return LateFeeClaim(money(principal, currency), due_on, jurisdiction, **changes)


def _vector_claim(vector: dict[str, str]) -> LateFeeClaim:
    currency = vector["currency"]
    payments = tuple(
        Payment(date.fromisoformat(row["received_date"]), money(row["amount"], currency))
        for row in PARTIAL_PAYMENTS if row["vector_id"] == vector["id"]
    )
    rate = vector["contract_rate_percent"]
    return LateFeeClaim(
        principal=money(vector["principal"], currency), due_on=date.fromisoformat(vector["due_date"]),
        jurisdiction=vector["jurisdiction"], creditor_kind=vector["creditor_kind"],
        debtor_kind=vector["debtor_kind"], payments=payments,
        contract_rate_percent=Decimal(rate) if rate else None,
    )


@pytest.mark.parametrize("vector", VECTORS, ids=[vector["id"] for vector in VECTORS])
def test_every_pack_vector_gives_the_expected_cent(vector):
    paid_on = date.fromisoformat(vector["paid_date"])
    claim = _vector_claim(vector).settled_on(paid_on)

    result = compute_late_fees(claim, paid_on, RATES, RULES)

    assert result.late_interest == money(vector["expected_interest"], vector["currency"])
    assert result.recovery_fee == money(vector["expected_indemnity"], vector["currency"])
    assert result.total == money(vector["expected_total"], vector["currency"])
    assert not result.uses_provisional_rate


PAYMENT_IDS = [f"{row['vector_id']}-{row['payment_no']}" for row in PARTIAL_PAYMENTS]


@pytest.mark.parametrize("row", PARTIAL_PAYMENTS, ids=PAYMENT_IDS)
def test_a_payment_lowers_the_base_from_the_day_after_receipt(row):
    vector = next(v for v in VECTORS if v["id"] == row["vector_id"])
    claim = _vector_claim(vector)
    received_on = date.fromisoformat(row["received_date"])

    on_the_day = claim.balance_on(received_on)
    day_after = claim.balance_on(received_on + timedelta(days=1))

    assert day_after == money(row["balance_after"])
    assert on_the_day == day_after + money(row["amount"])


def test_partial_payments_split_segments_and_keep_one_recovery_fee():
    vector = next(v for v in VECTORS if v["id"] == "FR-B2B-07")

    result = compute_late_fees(_vector_claim(vector), date(2025, 8, 14), RATES, RULES)

    assert [(s.days, s.base, s.annual_rate_percent, s.amount) for s in result.segments] == [
        (20, money("20000.00"), Decimal("13.15"), money("144.11")),
        (10, money("12000.00"), Decimal("13.15"), money("43.23")),
        (45, money("12000.00"), Decimal("12.15"), money("179.75")),
    ]
    assert result.recovery_fee == money("40.00")


def test_semesters_with_the_same_rate_form_one_segment():
    claim = a_claim("8000.00", date(2025, 12, 15))

    result = compute_late_fees(claim, date(2026, 1, 20), RATES, RULES)

    assert [(s.starts_on, s.ends_on, s.days, s.annual_rate_percent) for s in result.segments] == [
        (date(2025, 12, 16), date(2026, 1, 20), 36, Decimal("12.15"))
    ]
    assert "2025-07-01" in result.segments[0].rate_source and "2026-01-01" in result.segments[0].rate_source


def test_segment_interest_rounds_half_up_not_half_even():
    half_a_cent = segment_interest(Money(18250, "EUR"), Decimal(1), 1)
    two_and_a_half = segment_interest(Money(91250, "EUR"), Decimal(1), 1)

    assert (half_a_cent, two_and_a_half) == (Money(1, "EUR"), Money(3, "EUR"))


def test_a_leap_day_is_one_more_day_over_365():
    february = segment_interest(money("10000.00"), Decimal("14.50"), 29)

    assert february == money("115.21")  # 10000 × 14.5% × 29/365 = 115.205… (C3), not 29/366 = 114.89


def test_paid_early_owes_neither_interest_nor_fee():
    result = compute_late_fees(a_claim().settled_on(date(2025, 6, 1)), date(2025, 6, 1), RATES, RULES)

    assert result.segments == () and result.total == Money.zero("EUR")


def test_an_unpaid_invoice_owes_the_fee_as_soon_as_it_is_late():
    result = compute_late_fees(a_claim(), date(2025, 6, 21), RATES, RULES)

    assert result.recovery_fee == money("40.00")
    assert result.late_interest == money("3.60")  # 1 day × 10000 × 13.15% / 365


def test_contract_rate_is_floored_per_semester_at_three_times_the_legal_rate():
    claim = a_claim(due_on=date(2025, 6, 10), contract_rate_percent=Decimal("9.5"))
    claim = claim.settled_on(date(2025, 7, 20))

    result = compute_late_fees(claim, date(2025, 7, 20), RATES, RULES)

    assert [(s.days, s.annual_rate_percent, s.amount) for s in result.segments] == [
        (20, Decimal("11.13"), money("60.99")),  # H1 2025: 3 × 3.71 = 11.13 > 9.5
        (20, Decimal("9.5"), money("52.05")),  # H2 2025: 3 × 2.76 = 8.28 < 9.5
    ]
    assert "floor" in result.segments[0].rate_source


def test_a_contract_rate_above_the_floor_replaces_the_default_rate():
    claim = a_claim(contract_rate_percent=Decimal("15")).settled_on(date(2025, 7, 20))

    result = compute_late_fees(claim, date(2025, 7, 20), RATES, RULES)

    assert {s.annual_rate_percent for s in result.segments} == {Decimal("15")}
    assert result.late_interest == money("123.29")  # 30 days × 10000 × 15% / 365


@pytest.mark.parametrize(("creditor", "rates", "amounts"), [
    ("business", ["3.71", "2.76"], ["7.72", "3.40"]),
    ("consumer", ["7.21", "6.65"], ["15.01", "8.20"]),
])
def test_a_consumer_owes_the_creditors_legal_rate_from_the_day_after_the_notice(creditor, rates, amounts):
    claim = a_claim("1000.00", date(2025, 3, 31), creditor_kind=creditor, debtor_kind="consumer",
                    formal_notice_on=date(2025, 4, 15)).settled_on(date(2025, 8, 14))

    result = compute_late_fees(claim, date(2025, 8, 14), RATES, RULES)

    assert result.interest_starts_on == date(2025, 4, 16)
    assert [str(s.annual_rate_percent) for s in result.segments] == rates
    assert [str(s.amount.to_decimal()) for s in result.segments] == amounts
    assert result.recovery_fee == Money.zero("EUR")


def test_a_consumer_claim_without_formal_notice_is_refused():
    with pytest.raises(FormalNoticeRequired):
        compute_late_fees(a_claim(debtor_kind="consumer"), date(2025, 8, 1), RATES, RULES)


def test_a_contract_rate_is_refused_on_a_consumer_claim():
    claim = a_claim(
        debtor_kind="consumer", formal_notice_on=date(2025, 7, 1), contract_rate_percent=Decimal(12)
    )

    with pytest.raises(ContractRateNotAllowed):
        compute_late_fees(claim, date(2025, 8, 1), RATES, RULES)


def test_the_uk_act_does_not_cover_consumers():
    with pytest.raises(ClaimNotCovered, match="business-to-business|does not cover"):
        compute_late_fees(
            a_claim(jurisdiction="UK", currency="GBP", debtor_kind="consumer"), date(2025, 8, 1), RATES, RULES
        )


def test_an_unknown_jurisdiction_lists_the_known_ones():
    with pytest.raises(UnknownJurisdiction, match="known: .*FR"):
        compute_late_fees(a_claim(jurisdiction="XX"), date(2025, 8, 1), RATES, RULES)


def test_payments_above_the_principal_are_refused():
    claim = a_claim("100.00", payments=(Payment(date(2025, 7, 1), money("100.01")),))

    with pytest.raises(InvalidLateFeeClaim, match="exceed"):
        compute_late_fees(claim, date(2025, 8, 1), RATES, RULES)


@pytest.mark.parametrize(("principal", "fee"), [
    ("1000.00", "40.00"), ("1000.01", "70.00"), ("10000.00", "70.00"), ("10000.01", "100.00"),
])
def test_ireland_fee_bands_include_their_upper_bound(principal, fee):
    result = compute_late_fees(a_claim(principal, jurisdiction="IE"), date(2025, 7, 1), RATES, RULES)

    assert result.recovery_fee == money(fee)


@pytest.mark.parametrize(("principal", "fee"), [
    ("999.99", "40.00"), ("1000.00", "70.00"), ("9999.99", "70.00"), ("10000.00", "100.00"),
])
def test_uk_fee_bands_start_at_their_lower_bound(principal, fee):
    claim = a_claim(principal, jurisdiction="UK", currency="GBP")

    result = compute_late_fees(claim, date(2025, 7, 1), RATES, RULES)

    assert result.recovery_fee == money(fee, "GBP")


def test_ireland_fixes_the_rate_at_the_start_where_the_directive_default_follows_each_semester():
    paid_on = date(2025, 7, 20)

    ireland = compute_late_fees(a_claim(jurisdiction="IE").settled_on(paid_on), paid_on, RATES, RULES)
    default = compute_late_fees(a_claim(jurisdiction="EU").settled_on(paid_on), paid_on, RATES, RULES)

    assert [s.annual_rate_percent for s in ireland.segments] == [Decimal("11.15")]
    assert [s.annual_rate_percent for s in default.segments] == [Decimal("11.15"), Decimal("10.15")]
    assert default.recovery_fee == money("40.00")


def test_belgium_rounds_the_rate_up_to_the_next_half_point():
    result = compute_late_fees(a_claim(jurisdiction="BE"), date(2025, 7, 20), RATES, RULES)

    assert [s.annual_rate_percent for s in result.segments] == [Decimal("11.5"), Decimal("10.5")]


def test_netherlands_refuses_periods_that_the_law_capitalises_yearly():
    with pytest.raises(RuleNotModelled, match="6:119a"):
        compute_late_fees(a_claim(jurisdiction="NL", due_on=date(2024, 6, 20)), date(2025, 6, 21),
                          RATES, RULES)


def test_oldest_invoice_is_paid_first_by_default():
    invoices = [_open("F-2", date(2025, 3, 1), "300.00"), _open("F-1", date(2025, 2, 1), "200.00")]

    allocation = allocate_payment(money("350.00"), invoices)

    assert allocation.parts == (("F-1", money("200.00")), ("F-2", money("150.00")))
    assert allocation.unallocated == Money.zero("EUR")


def test_the_payer_designates_which_invoice_a_payment_settles():
    invoices = [_open("F-1", date(2025, 2, 1), "200.00"), _open("F-2", date(2025, 3, 1), "300.00")]

    allocation = allocate_payment(money("600.00"), invoices, designated=["F-2"])

    assert allocation.parts == (("F-2", money("300.00")), ("F-1", money("200.00")))
    assert allocation.unallocated == money("100.00")


def test_designating_an_unknown_invoice_is_refused():
    with pytest.raises(InvalidAllocation):
        allocate_payment(money("10.00"), [_open("F-1", date(2025, 2, 1), "200.00")], designated=["F-9"])


def _open(number: str, due_on: date, balance: str):
    from types import SimpleNamespace

    return SimpleNamespace(number=number, due_on=due_on, balance=money(balance))


def test_a_claim_settled_on_a_day_keeps_its_earlier_payments():
    claim = a_claim(payments=(Payment(date(2025, 7, 1), money("4000.00")),))

    settled = claim.settled_on(date(2025, 7, 10))

    assert settled.payments[-1] == Payment(date(2025, 7, 10), money("6000.00"))
    assert replace(settled, payments=settled.payments[:1]) == claim
