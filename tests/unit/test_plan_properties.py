"""Installment plans (issue 7), properties: schedules add up, accepted plans respect the rules, payments conserve."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st
from relance.domain.money import Money
from relance.domain.parties import PartyKind
from relance.domain.plans import (
    LateFeesDuringPlan,
    PlanEvent,
    PlanInvoice,
    PlanProposal,
    PlanRules,
    PlanState,
    add_months,
    apply_payment,
    build_schedule,
    consumer_credit_end,
    evaluate,
    propose,
    transition,
)

from tests.unit.dunning_builders import FR

TODAY = date(2026, 1, 15)
days = st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31))


@st.composite
def schedules(draw):
    """A debt, a down payment and a monthly schedule of it, with or without business days."""
    count = draw(st.integers(1, 36))
    debt = Money(draw(st.integers(count, 10**9)), "EUR")
    down = Money(draw(st.integers(0, debt.minor - count)), "EUR")
    first_on = draw(days)
    closed = draw(st.sampled_from([None, FR]))
    return debt, build_schedule(debt, down, count, first_on, closed=closed), first_on, closed


@given(case=schedules())
def test_any_schedule_adds_up_exactly_to_the_debt(case):
    debt, schedule, _first_on, _closed = case

    assert schedule.total == debt


@given(case=schedules())
def test_installments_are_equal_but_the_last_which_carries_the_remainder(case):
    _debt, schedule, _first_on, _closed = case
    amounts = [i.amount.minor for i in schedule]

    assert len(set(amounts[:-1])) <= 1
    assert 0 <= amounts[-1] - amounts[0] < len(amounts)


@given(case=schedules())
def test_monthly_dates_are_strictly_increasing_and_stay_in_their_month(case):
    _debt, schedule, first_on, closed = case
    dates = [i.due_on for i in schedule]

    assert all(earlier < later for earlier, later in zip(dates, dates[1:], strict=False))
    for months, due_on in enumerate(dates):
        expected = add_months(first_on, months)
        assert expected <= due_on <= expected + timedelta(days=0 if closed is None else 6)


@given(dates=st.lists(days, min_size=1, max_size=24, unique=True), minor=st.integers(24, 10**8))
def test_custom_dates_add_up_and_keep_their_order(dates, minor):
    dates = sorted(dates)

    schedule = build_schedule(Money(minor, "EUR"), Money(0, "EUR"), len(dates), dates[0], every=dates)

    assert schedule.total == Money(minor, "EUR")
    assert [i.due_on for i in schedule] == dates


@st.composite
def rules(draw) -> PlanRules:
    in_days = draw(st.booleans())
    return PlanRules(
        max_duration_months=None if in_days else draw(st.integers(1, 36)),
        max_duration_days=draw(st.integers(1, 1096)) if in_days else None,
        max_installments=draw(st.integers(1, 36)),
        min_installment_minor=draw(st.sampled_from([{}, {"EUR": draw(st.integers(1, 100_000))}])),
        min_down_payment_bp=draw(st.integers(0, 10_000)),
        max_total_minor=draw(st.sampled_from([{}, {"EUR": draw(st.integers(1, 10**8))}])),
        late_fees=draw(st.sampled_from(list(LateFeesDuringPlan))),
        allowed_after_formal_notice=draw(st.booleans()),
        consumer_credit_exemption=draw(st.booleans()),
    )


@st.composite
def proposals(draw) -> PlanProposal:
    count = draw(st.integers(1, 12))
    debt = Money(draw(st.integers(count, 10**8)), "EUR")
    down = Money(draw(st.integers(0, debt.minor - count)), "EUR")
    first_on = TODAY + timedelta(days=draw(st.integers(0, 90)))
    if draw(st.booleans()):
        schedule = build_schedule(debt, down, count, first_on)
    else:
        gaps = draw(st.lists(st.integers(1, 60), min_size=count - 1, max_size=count - 1))
        dates = [first_on]
        for gap in gaps:
            dates.append(dates[-1] + timedelta(days=gap))
        schedule = build_schedule(debt, down, count, first_on, every=dates)
    return PlanProposal((PlanInvoice("F-1", debt),), schedule, "")


@given(proposal=proposals(), plan_rules=rules(), kind=st.sampled_from(list(PartyKind)), notice=st.booleans())
def test_an_accepted_proposal_respects_every_rule(proposal, plan_rules, kind, notice):
    evaluation = evaluate(proposal, plan_rules, kind, notice, TODAY)

    if evaluation.accepted_automatically:
        schedule = proposal.schedule
        amounts = [i.amount for i in schedule]
        minimum = plan_rules.min_installment_minor.get("EUR", 0)
        assert schedule.total == proposal.debt
        assert len(amounts) <= plan_rules.max_installments
        assert all(a.minor >= minimum for a in amounts[:-1])
        assert amounts[-1].minor >= minimum or amounts[-1] < min(amounts[:-1])  # only a smaller remainder
        assert TODAY <= schedule.first_on and schedule.last_on <= plan_rules.latest_end(TODAY)
        assert proposal.down_payment >= plan_rules.min_down_payment(proposal.debt)
        assert not notice or plan_rules.allowed_after_formal_notice
    else:
        assert evaluation.broken_rules


@given(proposal=proposals(), plan_rules=rules())
def test_an_accepted_consumer_plan_stays_within_the_exemption_unless_overridden(proposal, plan_rules):
    evaluation = evaluate(proposal, plan_rules, PartyKind.CONSUMER, False, TODAY)

    if evaluation.accepted_automatically and plan_rules.consumer_credit_exemption:
        assert proposal.schedule.last_on <= consumer_credit_end(TODAY)
        assert plan_rules.late_fees is not LateFeesDuringPlan.COUNTED


def accepted(proposal: PlanProposal):
    """The plan of `proposal`, accepted at once or approved by finance."""
    plan = propose("p", proposal, PlanRules(), PartyKind.BUSINESS, False, TODAY)
    return plan if plan.state is PlanState.ACCEPTED else transition(plan, PlanEvent.APPROVE, TODAY)


@given(proposal=proposals(), payments=st.lists(st.integers(1, 10**8), min_size=1, max_size=8))
def test_payments_never_overpay_an_installment_and_conserve_the_amount(proposal, payments):
    plan = transition(accepted(proposal), PlanEvent.ACTIVATE, TODAY)

    for minor in payments:
        if plan.state is PlanState.COMPLETED:
            break
        before = plan.paid
        result = apply_payment(plan, Money(minor, "EUR"), TODAY)
        plan = result.plan

        allocated = sum(a.amount.minor for a in result.allocations)
        assert allocated + result.remainder.minor == minor
        assert plan.paid.minor == before.minor + allocated
        assert all(plan.paid_on_line(index) <= line.amount for index, line in enumerate(plan.lines))
        assert result.remainder.is_zero() or plan.is_paid()
    assert plan.paid <= plan.schedule.total
    assert (plan.state is PlanState.COMPLETED) == plan.is_paid()


@given(proposal=proposals())
def test_paying_everything_at_once_completes_the_plan(proposal):
    result = apply_payment(accepted(proposal), proposal.debt, TODAY)

    assert result.plan.state is PlanState.COMPLETED
    assert result.remainder.is_zero()
