"""Installment plans (issue 7): schedules, the decision on a proposal, the lifecycle, a broken plan."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from relance.adapters.policies import load_packaged_policy
from relance.domain.errors import (
    InvalidPlanPayment,
    InvalidPlanProposal,
    InvalidSchedule,
    InvalidTransition,
    PlanMixesCurrencies,
    PlanOutsidePolicy,
    RelanceError,
)
from relance.domain.money import Money
from relance.domain.parties import PartyKind
from relance.domain.plans import (
    L312_4_MAX_MONTHS,
    LateFeesDuringPlan,
    PlanEvent,
    PlanInvoice,
    PlanProposal,
    PlanRule,
    PlanRules,
    PlanState,
    add_months,
    apply_payment,
    build_schedule,
    check_due,
    evaluate,
    plan_debt,
    plan_invoices,
    plan_policy_of,
    propose,
    record_reminder,
    resume_after_broken_plan,
    transition,
)

from tests.unit.dunning_builders import FR, LADDER, an_invoice

BUSINESS, CONSUMER = PartyKind.BUSINESS, PartyKind.CONSUMER
TODAY = date(2026, 1, 15)


def eur(minor: int) -> Money:
    return Money(minor, "EUR")


def fr_rules(risk_band: str | None = None) -> PlanRules:
    return plan_policy_of(load_packaged_policy("fr-b2b")).rules_for(risk_band)


def a_proposal(debt=3_000_00, down=300_00, count=3, first_on=date(2026, 2, 15), **kwargs) -> PlanProposal:
    invoices = (PlanInvoice("F-1", eur(debt - debt // 3)), PlanInvoice("F-2", eur(debt // 3)))
    return PlanProposal(
        invoices, build_schedule(eur(debt), eur(down), count, first_on, **kwargs), "cash flow"
    )


# --- schedules -----------------------------------------------------------------------------------


def test_equal_installments_with_the_remainder_cents_on_the_last_one():
    schedule = build_schedule(eur(1_000_00), eur(0), 3, date(2026, 2, 10))

    assert [i.amount for i in schedule] == [eur(333_33), eur(333_33), eur(333_34)]
    assert [i.number for i in schedule] == [1, 2, 3]
    assert schedule.total == eur(1_000_00)


def test_monthly_dates_keep_the_day_of_month_clamped_to_the_month_end():
    schedule = build_schedule(eur(900_00), eur(0), 3, date(2024, 1, 31))

    assert [i.due_on for i in schedule] == [date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31)]


def test_a_31st_gives_28_february_in_a_common_year():
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert add_months(date(2025, 11, 30), 3) == date(2026, 2, 28)


def test_with_closed_days_an_installment_moves_to_the_next_business_day():
    # 1 May 2026 is a Friday and a French public holiday; 1 August 2026 is a Saturday.
    schedule = build_schedule(eur(900_00), eur(0), 4, date(2026, 5, 1), closed=FR)

    assert [i.due_on for i in schedule] == [
        date(2026, 5, 4),
        date(2026, 6, 1),
        date(2026, 7, 1),
        date(2026, 8, 3),
    ]


def test_without_closed_days_the_dates_are_kept_as_they_fall():
    schedule = build_schedule(eur(900_00), eur(0), 1, date(2026, 8, 1))

    assert schedule.first_on == date(2026, 8, 1)


def test_custom_dates_are_used_as_given():
    dates = [date(2026, 2, 2), date(2026, 2, 20), date(2026, 3, 31)]

    schedule = build_schedule(eur(1_000_00), eur(100_00), 3, dates[0], every=dates)

    assert [i.due_on for i in schedule] == dates
    assert schedule.down_payment == eur(100_00)
    assert schedule.total == eur(1_000_00)


@pytest.mark.parametrize(
    ("count", "every", "expected"),
    [
        (0, "monthly", "at least 1 installment"),
        (2, [date(2026, 2, 2)], "2 installments need 2 dates, got 1"),
        (2, [date(2026, 2, 2), date(2026, 2, 2)], "strictly increasing"),
        (2, [date(2026, 2, 3), date(2026, 3, 3)], "is not first_on"),
        (2, "weekly", "expected 'monthly' or a list of dates"),
    ],
)
def test_a_schedule_that_cannot_be_built_says_why(count, every, expected):
    with pytest.raises(InvalidSchedule) as error:
        build_schedule(eur(1_000_00), eur(0), count, date(2026, 2, 2), every=every)

    assert expected in str(error.value)
    assert error.value.code == "plan.invalid_schedule"


def test_custom_dates_that_collide_once_moved_to_business_days_are_refused():
    saturday, sunday = date(2026, 8, 1), date(2026, 8, 2)

    with pytest.raises(InvalidSchedule, match="strictly increasing"):
        build_schedule(eur(1_000_00), eur(0), 2, saturday, every=[saturday, sunday], closed=FR)


def test_a_down_payment_larger_than_the_debt_is_refused():
    with pytest.raises(InvalidSchedule, match="between 0 and the debt"):
        build_schedule(eur(1_000_00), eur(1_000_01), 2, TODAY)


def test_a_plan_covers_one_currency():
    invoices = [an_invoice("F-1"), an_invoice("F-2", currency="GBP")]

    with pytest.raises(PlanMixesCurrencies) as error:
        plan_debt(plan_invoices(invoices))

    assert str(error.value) == "these invoices are in EUR, GBP; propose one plan per currency"
    assert error.value.params["currencies"] == ["EUR", "GBP"]


def test_a_down_payment_in_another_currency_is_refused():
    with pytest.raises(PlanMixesCurrencies):
        build_schedule(eur(1_000_00), Money(100_00, "GBP"), 2, TODAY)


def test_a_proposal_whose_schedule_does_not_add_up_to_the_invoices_is_refused():
    schedule = build_schedule(eur(1_000_00), eur(0), 2, TODAY)

    with pytest.raises(InvalidPlanProposal, match="adds up to 1000.00 EUR, the invoices owe 1200.00 EUR"):
        PlanProposal(plan_invoices([an_invoice("F-1")]), schedule)


# --- the decision --------------------------------------------------------------------------------


def test_a_proposal_inside_the_french_b2b_rules_is_accepted_at_once():
    proposal = a_proposal(debt=3_000_00, down=300_00, count=3, first_on=date(2026, 2, 15))

    plan = propose("p1", proposal, fr_rules(), BUSINESS, False, TODAY)

    assert plan.evaluation.accepted_automatically
    assert plan.evaluation.broken_rules == ()
    assert plan.state is PlanState.ACCEPTED
    assert plan.accepted_on == TODAY
    assert [c.event for c in plan.history] == [PlanEvent.ACCEPT_AUTOMATICALLY]


def test_a_proposal_breaking_two_rules_lists_both_with_limit_and_proposed_value():
    every_two_weeks = [
        date(2026, 2, 2 + 14 * k) if k < 2 else date(2026, 3, 2 + 14 * (k - 2)) for k in range(4)
    ]
    proposal = a_proposal(debt=3_000_00, down=0, count=4, first_on=date(2026, 2, 2), every=every_two_weeks)

    evaluation = evaluate(proposal, fr_rules("high"), BUSINESS, False, TODAY)  # at most 3, 30 % down

    assert not evaluation.accepted_automatically
    assert evaluation.broken() == (PlanRule.MAX_INSTALLMENTS, PlanRule.MIN_DOWN_PAYMENT)
    installments, down_payment = evaluation.broken_rules
    assert (installments.limit, installments.proposed) == (3, 4)
    assert (down_payment.limit, down_payment.proposed) == (eur(900_00), eur(0))
    assert down_payment.code == "plan.min_down_payment"


def test_every_rule_is_checked_not_only_the_first_that_fails():
    proposal = a_proposal(debt=20_000_00, down=0, count=12, first_on=date(2026, 1, 10))

    evaluation = evaluate(proposal, fr_rules("high"), CONSUMER, True, TODAY)

    assert set(evaluation.broken()) == {
        PlanRule.STARTS_IN_THE_PAST,
        PlanRule.MAX_INSTALLMENTS,
        PlanRule.MAX_DURATION,
        PlanRule.MIN_DOWN_PAYMENT,
        PlanRule.MAX_TOTAL,
        PlanRule.AFTER_FORMAL_NOTICE,
        PlanRule.CONSUMER_CREDIT_DURATION,
    }


def test_the_duration_limit_is_counted_from_the_day_of_the_proposal():
    rules = replace(fr_rules(), max_installments=12)
    inside = a_proposal(count=6, first_on=date(2026, 2, 15))  # last on 15 July = 6 months after 15 January
    outside = a_proposal(count=6, first_on=date(2026, 2, 16))

    assert evaluate(inside, rules, BUSINESS, False, TODAY).accepted_automatically
    breach = evaluate(outside, rules, BUSINESS, False, TODAY).broken_rules[0]
    assert (breach.rule, breach.limit, breach.proposed) == (
        PlanRule.MAX_DURATION,
        date(2026, 7, 15),
        date(2026, 7, 16),
    )


def test_a_duration_in_days_is_counted_in_days():
    rules = replace(fr_rules(), max_duration_months=None, max_duration_days=40)

    evaluation = evaluate(a_proposal(count=2, first_on=date(2026, 2, 1)), rules, BUSINESS, False, TODAY)

    assert evaluation.broken() == (PlanRule.MAX_DURATION,)
    assert evaluation.broken_rules[0].limit == date(2026, 2, 24)


def test_an_installment_below_the_minimum_is_named():
    evaluation = evaluate(a_proposal(debt=500_00, down=50_00, count=6), fr_rules(), BUSINESS, False, TODAY)

    assert evaluation.broken_rules[0].rule is PlanRule.MIN_INSTALLMENT
    assert evaluation.broken_rules[0].proposed == eur(75_00)
    assert evaluation.broken_rules[0].limit == eur(100_00)


def test_a_smaller_last_installment_is_the_accepted_remainder():
    invoices = (PlanInvoice("F-1", eur(450_00)),)
    schedule = build_schedule(
        eur(450_00),
        eur(50_00),
        3,
        date(2026, 2, 1),
        every=[date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)],
    )
    custom = replace(
        schedule,
        installments=(
            replace(schedule.installments[0], amount=eur(150_00)),
            replace(schedule.installments[1], amount=eur(150_00)),
            replace(schedule.installments[2], amount=eur(100_00)),
        ),
    )
    proposal = PlanProposal(invoices, custom)

    assert evaluate(
        proposal, replace(fr_rules(), min_installment_minor={"EUR": 120_00}), BUSINESS, False, TODAY
    ).accepted_automatically


def test_a_plan_after_a_formal_notice_goes_to_finance_unless_the_rules_allow_it():
    proposal = a_proposal()

    refused = evaluate(proposal, fr_rules(), BUSINESS, True, TODAY)
    allowed = evaluate(proposal, replace(fr_rules(), allowed_after_formal_notice=True), BUSINESS, True, TODAY)

    assert refused.broken() == (PlanRule.AFTER_FORMAL_NOTICE,)
    assert allowed.accepted_automatically


def test_a_consumer_plan_longer_than_3_months_breaks_the_consumer_credit_exemption():
    proposal = a_proposal(count=4, first_on=date(2026, 2, 15))  # last on 15 May, 4 months away

    evaluation = evaluate(proposal, fr_rules(), CONSUMER, False, TODAY)

    assert L312_4_MAX_MONTHS == 3
    assert evaluation.broken() == (PlanRule.CONSUMER_CREDIT_DURATION,)
    assert evaluation.broken_rules[0].limit == date(2026, 4, 15)
    assert evaluate(proposal, fr_rules(), BUSINESS, False, TODAY).accepted_automatically


def test_a_creditor_who_accepts_the_consumer_credit_rules_turns_the_exemption_off():
    proposal = a_proposal(count=4, first_on=date(2026, 2, 15))

    evaluation = evaluate(
        proposal, replace(fr_rules(), consumer_credit_exemption=False), CONSUMER, False, TODAY
    )

    assert evaluation.accepted_automatically


def test_late_interest_counted_during_a_consumer_plan_breaks_the_exemption():
    rules = replace(fr_rules(), late_fees=LateFeesDuringPlan.COUNTED)

    evaluation = evaluate(a_proposal(), rules, CONSUMER, False, TODAY)

    assert evaluation.broken() == (PlanRule.CONSUMER_CREDIT_INTEREST,)


def test_the_minimum_down_payment_is_rounded_up_to_the_cent():
    rules = replace(fr_rules(), min_down_payment_bp=1_050)  # 10.5 %

    assert rules.min_down_payment(eur(1_000_01)) == eur(105_01)


# --- the lifecycle -------------------------------------------------------------------------------


def a_plan_outside_the_rules():
    return propose("p1", a_proposal(count=6), fr_rules("high"), BUSINESS, False, TODAY)


def test_a_proposal_outside_the_rules_waits_for_finance():
    plan = a_plan_outside_the_rules()

    assert plan.state is PlanState.PROPOSED
    with pytest.raises(PlanOutsidePolicy):
        transition(plan, PlanEvent.ACCEPT_AUTOMATICALLY, TODAY)


def test_accepting_a_withdrawn_proposal_is_refused():
    withdrawn = transition(a_plan_outside_the_rules(), PlanEvent.WITHDRAW, TODAY)

    with pytest.raises(InvalidTransition) as error:
        transition(withdrawn, PlanEvent.APPROVE, TODAY)

    assert isinstance(error.value, RelanceError)
    assert error.value.code == "plan.invalid_transition"
    assert error.value.params["state"] == "withdrawn"
    assert "a withdrawn plan cannot approve" in str(error.value)


def test_finance_approves_a_proposal_outside_the_rules():
    approved = transition(a_plan_outside_the_rules(), PlanEvent.APPROVE, date(2026, 1, 16))

    assert approved.state is PlanState.ACCEPTED
    assert approved.accepted_on == date(2026, 1, 16)


def test_a_counter_replaces_the_schedule_once_the_debtor_accepts_it():
    counter = build_schedule(eur(3_000_00), eur(900_00), 3, date(2026, 2, 15))
    countered = transition(a_plan_outside_the_rules(), PlanEvent.COUNTER, TODAY, counter=counter)

    accepted = transition(countered, PlanEvent.ACCEPT_COUNTER, date(2026, 1, 17))

    assert countered.state is PlanState.COUNTERED
    assert accepted.state is PlanState.ACCEPTED
    assert accepted.schedule == counter
    assert [(c.from_state, c.to_state) for c in accepted.history] == [
        (PlanState.PROPOSED, PlanState.COUNTERED),
        (PlanState.COUNTERED, PlanState.ACCEPTED),
    ]


def test_a_counter_must_cover_the_same_debt():
    with pytest.raises(InvalidPlanProposal):
        transition(
            a_plan_outside_the_rules(),
            PlanEvent.COUNTER,
            TODAY,
            counter=build_schedule(eur(100_00), eur(0), 1, TODAY),
        )


def test_a_declined_counter_is_final():
    counter = build_schedule(eur(3_000_00), eur(900_00), 3, date(2026, 2, 15))
    declined = transition(
        transition(a_plan_outside_the_rules(), PlanEvent.COUNTER, TODAY, counter=counter),
        PlanEvent.DECLINE_COUNTER,
        TODAY,
    )

    with pytest.raises(InvalidTransition, match="allowed: nothing, it is final"):
        transition(declined, PlanEvent.ACCEPT_COUNTER, TODAY)


def test_a_plan_completes_only_once_everything_is_paid():
    active = transition(
        propose("p1", a_proposal(), fr_rules(), BUSINESS, False, TODAY), PlanEvent.ACTIVATE, TODAY
    )

    with pytest.raises(InvalidTransition, match="still waits for 3000.00 EUR"):
        transition(active, PlanEvent.COMPLETE, TODAY)


# --- installment tracking ------------------------------------------------------------------------


def an_active_plan():
    plan = propose("p1", a_proposal(debt=3_000_00, down=300_00, count=3), fr_rules(), BUSINESS, False, TODAY)
    return transition(plan, PlanEvent.ACTIVATE, TODAY)


def test_a_payment_goes_to_the_down_payment_then_the_oldest_installments():
    payment = apply_payment(an_active_plan(), eur(1_500_00), TODAY)

    assert [(a.number, a.amount) for a in payment.allocations] == [
        (0, eur(300_00)),
        (1, eur(900_00)),
        (2, eur(300_00)),
    ]
    assert payment.remainder == eur(0)
    assert payment.plan.outstanding == eur(1_500_00)
    assert payment.plan.state is PlanState.ACTIVE


def test_paying_everything_early_completes_the_plan_and_returns_the_excess():
    payment = apply_payment(an_active_plan(), eur(3_100_00), date(2026, 1, 20))

    assert payment.plan.state is PlanState.COMPLETED
    assert payment.remainder == eur(100_00)
    assert payment.plan.history[-1].event is PlanEvent.COMPLETE


def test_a_plan_that_is_not_running_takes_no_payment():
    with pytest.raises(InvalidPlanPayment):
        apply_payment(a_plan_outside_the_rules(), eur(100_00), TODAY)


def test_a_payment_in_another_currency_is_refused():
    with pytest.raises(PlanMixesCurrencies):
        apply_payment(an_active_plan(), Money(100_00, "GBP"), TODAY)


def test_a_missed_second_installment_gets_a_reminder_a_grace_period_then_breaks_the_plan():
    # Down payment on 15 Jan, installments on 15 Feb, 15 Mar, 15 Apr; grace 7 days.
    plan = apply_payment(an_active_plan(), eur(1_200_00), date(2026, 2, 10)).plan  # down payment + first

    on_due_day = check_due(plan, date(2026, 3, 15), grace_days=7)
    day_after = check_due(plan, date(2026, 3, 16), grace_days=7)
    reminded = record_reminder(plan, day_after.late.number)
    in_grace = check_due(reminded, date(2026, 3, 22), grace_days=7)
    past_grace = check_due(reminded, date(2026, 3, 23), grace_days=7)

    assert on_due_day.late is None and on_due_day.next_due.number == 2
    assert day_after.late.number == 2 and day_after.owed == eur(900_00)
    assert day_after.reminder_due and not day_after.is_broken
    assert (day_after.reminder_on, day_after.breaks_on) == (date(2026, 3, 16), date(2026, 3, 23))
    assert not in_grace.reminder_due and not in_grace.is_broken
    assert past_grace.is_broken
    assert transition(reminded, PlanEvent.BREAK, date(2026, 3, 23)).state is PlanState.BROKEN


def test_paying_the_late_installment_during_the_grace_period_keeps_the_plan():
    plan = apply_payment(an_active_plan(), eur(1_200_00), date(2026, 2, 10)).plan

    caught_up = apply_payment(plan, eur(900_00), date(2026, 3, 20)).plan

    assert check_due(caught_up, date(2026, 3, 23), grace_days=7).late is None


# --- dunning after a broken plan ---------------------------------------------------------------


def test_invoices_of_a_broken_plan_resume_at_the_step_they_had_reached():
    # F-1 had its call (J+15) and F-2 its first reminder before the plan; the plan breaks months later.
    reached_call = an_invoice(
        "F-1", due_on=date(2025, 11, 3), last_step="call", last_step_on=date(2025, 11, 18), in_plan=True
    )
    reached_reminder = an_invoice(
        "F-2",
        due_on=date(2025, 12, 22),
        last_step="reminder_1",
        last_step_on=date(2025, 12, 23),
        in_plan=True,
    )
    broken_on = date(2026, 3, 23)  # a Monday

    first, second = resume_after_broken_plan([reached_call, reached_reminder], LADDER, broken_on, FR)

    assert not first.invoice.in_plan and not second.invoice.in_plan
    assert first.invoice.next_action_on == date(2026, 3, 24)  # the break is the day's contact
    assert first.step.step_id == "formal_notice"  # the next step, never the ladder's start
    # F-2 stood at its first reminder: months later every step up to the formal notice is due, and the
    # engine's gap rule sends only the step reached that day, stopping at the formal notice.
    assert second.step.step_id == "formal_notice"
    assert first.invoice.last_step == "call"  # history kept


def test_a_plan_broken_soon_after_it_started_resumes_with_the_next_step():
    invoice = an_invoice(
        due_on=date(2026, 1, 5), last_step="reminder_1", last_step_on=date(2026, 1, 6), in_plan=True
    )

    (resumed,) = resume_after_broken_plan([invoice], LADDER, date(2026, 1, 12), FR)

    assert resumed.step.step_id == "reminder_2"
    assert resumed.invoice.next_action_on == date(2026, 1, 13)


def test_an_invoice_paid_during_the_plan_does_not_resume():
    invoice = an_invoice(paid=1_200_00, last_step="reminder_2", last_step_on=date(2025, 12, 6), in_plan=True)

    (resumed,) = resume_after_broken_plan([invoice], LADDER, date(2026, 3, 23), FR)

    assert resumed.step is None
    assert resumed.invoice.next_action_on is None and not resumed.invoice.in_plan


def test_an_accepted_plan_whose_down_payment_never_came_can_be_broken():
    accepted = transition(a_plan_outside_the_rules(), PlanEvent.APPROVE, TODAY)

    broken = transition(accepted, PlanEvent.BREAK, TODAY)

    assert accepted.state is PlanState.ACCEPTED
    assert broken.state is PlanState.BROKEN
