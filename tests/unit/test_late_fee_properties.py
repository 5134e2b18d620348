"""Properties of the late-fee engine that hold for any invoice, day and amount."""

from dataclasses import fields, is_dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from relance.adapters.rate_tables import load_rules
from relance.domain.late_fees import LateFeeClaim, LateFeeResult, Payment, compute_late_fees
from relance.domain.money import Money

RATES, RULES = load_rules()
# Every rate needed is published from 2023-01-01 to 2026-06-30; due days + 360 late days stay inside.
due_days = st.dates(min_value=date(2023, 1, 1), max_value=date(2025, 6, 30))
late_days = st.integers(min_value=0, max_value=180)
principals = st.integers(min_value=1, max_value=10**10).map(lambda minor: Money(minor, "EUR"))
jurisdictions = st.sampled_from(["FR", "EU", "IE", "BE", "ES", "IT"])


def a_claim(principal: Money, due_on: date, jurisdiction: str = "FR", **changes) -> LateFeeClaim:
    return LateFeeClaim(principal, due_on, jurisdiction, **changes)


def fees(claim: LateFeeClaim, as_of: date) -> LateFeeResult:
    return compute_late_fees(claim, as_of, RATES, RULES)


@given(principal=principals, due_on=due_days, early=late_days, jurisdiction=jurisdictions)
def test_no_interest_and_no_fee_when_paid_on_or_before_the_due_date(principal, due_on, early, jurisdiction):
    paid_on = due_on - timedelta(days=early)

    result = fees(a_claim(principal, due_on, jurisdiction).settled_on(paid_on), paid_on)

    assert result.segments == () and result.total == Money.zero("EUR")


@given(principal=principals, due_on=due_days, first=late_days, more=late_days, jurisdiction=jurisdictions)
def test_interest_never_decreases_with_more_days_late(principal, due_on, first, more, jurisdiction):
    claim = a_claim(principal, due_on, jurisdiction)

    shorter = fees(claim, due_on + timedelta(days=first))
    longer = fees(claim, due_on + timedelta(days=first + more))

    assert shorter.late_interest <= longer.late_interest
    assert shorter.total <= longer.total


@given(small=principals, extra=principals, due_on=due_days, late=late_days, jurisdiction=jurisdictions)
def test_interest_never_decreases_with_a_larger_principal(small, extra, due_on, late, jurisdiction):
    as_of = due_on + timedelta(days=late)

    lower = fees(a_claim(small, due_on, jurisdiction), as_of)
    higher = fees(a_claim(small + extra, due_on, jurisdiction), as_of)

    assert lower.late_interest <= higher.late_interest


@settings(max_examples=200)
@given(principal=principals, due_on=due_days, cut=late_days, rest=late_days,
       paid=st.integers(min_value=0, max_value=360), paid_share=st.integers(min_value=1, max_value=99))
def test_splitting_a_late_period_at_any_day_adds_up_within_a_cent_per_segment(
    principal, due_on, cut, rest, paid, paid_share
):
    payment = Money(principal.minor * paid_share // 100, "EUR")
    payments = (Payment(due_on + timedelta(days=paid), payment),) if payment.is_positive() else ()
    claim = a_claim(principal, due_on, payments=payments)
    split_on, end_on = due_on + timedelta(days=cut), due_on + timedelta(days=cut + rest)

    whole = fees(claim, end_on)
    before = fees(claim, split_on)
    after = fees(replace(claim, due_on=split_on), end_on)  # interest from the day after the split

    parts = before.late_interest + after.late_interest
    assert abs(whole.late_interest.minor - parts.minor) <= len(before.segments) + len(after.segments)
    assert sum(s.days for s in before.segments + after.segments) == sum(s.days for s in whole.segments)


def _values(value):
    """Every leaf value of a result, walking dataclasses, tuples and dicts."""
    if is_dataclass(value):
        for field in fields(value):
            yield from _values(getattr(value, field.name))
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _values(item)
    else:
        yield value


@given(principal=principals, due_on=due_days, late=late_days,
       jurisdiction=st.sampled_from(["FR", "IE", "BE"]),
       contract=st.none() | st.decimals(min_value=0, max_value=30, places=2))
def test_no_float_anywhere_in_a_result(principal, due_on, late, jurisdiction, contract):
    claim = a_claim(principal, due_on, jurisdiction, contract_rate_percent=contract)

    result = fees(claim, due_on + timedelta(days=late))

    leaves = list(_values(result))
    assert not any(isinstance(leaf, float) for leaf in leaves)
    assert all(type(m.minor) is int for m in (result.late_interest, result.recovery_fee, result.total))
    for segment in result.segments:
        assert type(segment.amount.minor) is int and type(segment.base.minor) is int
        assert isinstance(segment.annual_rate_percent, Decimal)
        assert type(segment.days) is int
