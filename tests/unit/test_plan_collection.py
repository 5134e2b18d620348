"""Collecting a running plan day by day (issue 7): reminders before installments, the off-session charge,
the missed-installment reminder, the break, and the sparse index that tells the daily run when to look."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from relance.domain.calendar import is_business_day
from relance.domain.money import Money
from relance.domain.parties import PartyKind
from relance.domain.plans import (
    AttemptStatus,
    Autopay,
    ChargeAttempt,
    Plan,
    PlanInvoice,
    PlanProposal,
    PlanRules,
    PlanState,
    apply_payment,
    attempts_of,
    build_schedule,
    next_work_on,
    plan_work,
    propose,
    record_attempt,
    record_attempt_result,
    record_checked,
    record_notice,
    record_reminder,
    reminder_on,
)

from tests.unit.dunning_builders import FR

ACCEPTED_ON = date(2026, 3, 2)  # a Monday
FIRST_ON = date(2026, 3, 18)  # a Wednesday: 600 € on 18 March, 18 April, 18 May
CARD = Autopay("cus_1", "pm_1", "card", "4242")


def eur(minor: int) -> Money:
    return Money(minor, "EUR")


def a_plan(*, count=3, debt=1_800_00, down=0, first_on=FIRST_ON, autopay=False, state=PlanState.ACTIVE,
           accepted_on=ACCEPTED_ON, **changes) -> Plan:
    """A running plan of `count` equal installments from `first_on`, nothing paid yet."""
    proposal = PlanProposal((PlanInvoice("F-1", eur(debt)),), build_schedule(eur(debt), eur(down), count, first_on))
    plan = Plan("p1", proposal, accepted_on, state=state, accepted_on=accepted_on,
                autopay=CARD if autopay else None)
    return replace(plan, **changes)


def line(plan: Plan, number: int):
    return next(i for i in plan.lines if i.number == number)


def days(start: date, end: date):
    """Every day from `start` to `end`, both included."""
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def run_daily(plan: Plan, start: date, end: date, closed=frozenset(), *, sparse: bool = True):
    """The daily collection run replayed on the domain alone (no charges): what it did, day by day.

    Like relance.services.installments.collect_day: nothing happens on a closed day, and with `sparse` the
    plan is only looked at once the index (`next_work_on`) says so.
    """
    done = []
    for day in days(start, end):
        if plan.state not in (PlanState.ACCEPTED, PlanState.ACTIVE) or not is_business_day(day, closed):
            continue
        work_on = next_work_on(plan)
        if sparse and (work_on is None or work_on > day):
            continue
        work = plan_work(plan, day)
        for installment in work.upcoming:
            done.append((day, "upcoming", installment.number))
            plan = record_notice(plan, installment.number)
        if work.remind_late and work.late is not None:
            done.append((day, "missed", work.late.number))
            plan = record_reminder(plan, work.late.number)
        plan = record_checked(plan, day)
        if work.breaks and work.late is not None:
            done.append((day, "broken", work.late.number))
            plan = replace(plan, state=PlanState.BROKEN)
    return done


# --- the reminder before an installment ----------------------------------------------------------


def test_the_reminder_before_an_installment_falls_reminder_days_before_its_due_date():
    plan = a_plan(reminder_days_before=3)
    first = line(plan, 1)

    before, on_the_day = plan_work(plan, date(2026, 3, 14)), plan_work(plan, date(2026, 3, 15))

    assert reminder_on(first, 3) == date(2026, 3, 15)
    assert before.upcoming == ()
    assert on_the_day.upcoming == (first,)
    assert next_work_on(replace(plan, checked_on=date(2026, 3, 10))) == date(2026, 3, 15)


def test_the_reminder_days_before_of_the_plan_are_the_ones_in_force_not_the_default():
    plan = a_plan(reminder_days_before=10)

    assert plan_work(plan, date(2026, 3, 8)).upcoming == (line(plan, 1),)
    assert plan_work(plan, date(2026, 3, 7)).upcoming == ()


def test_a_proposed_plan_keeps_the_reminder_days_and_grace_of_the_rules_it_was_accepted_under():
    proposal = a_plan().proposal
    rules = PlanRules(reminder_days_before=5, grace_days=12)

    plan = propose("p9", proposal, rules, PartyKind.BUSINESS, False, ACCEPTED_ON)

    assert plan.state is PlanState.ACCEPTED
    assert (plan.reminder_days_before, plan.grace_days) == (5, 12)


def test_reminder_days_before_zero_sends_no_reminder_before_any_installment():
    plan = a_plan(reminder_days_before=0)

    sent = [day for day in days(ACCEPTED_ON, date(2026, 6, 30)) if plan_work(plan, day).upcoming]

    assert sent == []


def test_the_reminder_is_still_sent_late_at_the_latest_on_the_due_date_never_after():
    plan = a_plan(reminder_days_before=3)

    assert plan_work(plan, date(2026, 3, 17)).upcoming == (line(plan, 1),)  # the run missed the 15th
    assert plan_work(plan, date(2026, 3, 18)).upcoming == (line(plan, 1),)  # its own day, if all before were closed
    assert plan_work(plan, date(2026, 3, 19)).upcoming == ()


def test_the_down_payment_gets_no_reminder_before_it():
    plan = a_plan(down=300_00, accepted_on=date(2026, 3, 10), proposed_on=date(2026, 3, 10), reminder_days_before=30)

    work = plan_work(plan, date(2026, 3, 9))

    assert [i.number for i in work.upcoming] == [1]


def test_a_reminder_already_sent_is_not_sent_again_and_recording_it_twice_records_it_once():
    plan = a_plan()

    once = record_notice(plan, 1)
    twice = record_notice(once, 1)

    assert twice == once and once.notified == (1,)
    assert plan_work(twice, date(2026, 3, 16)).upcoming == ()


def test_a_paid_installment_gets_no_reminder_before_it():
    plan = apply_payment(a_plan(), eur(600_00), date(2026, 3, 10)).plan

    assert plan_work(plan, date(2026, 3, 16)).upcoming == ()


def test_a_reminder_due_on_a_weekend_goes_out_on_the_next_business_day_before_the_installment():
    plan = a_plan(first_on=date(2026, 3, 18), reminder_days_before=4)  # reminder due Saturday 14 March

    done = run_daily(plan, ACCEPTED_ON, date(2026, 3, 18))

    assert done == [(date(2026, 3, 16), "upcoming", 1)]  # Monday, still two days ahead


def test_a_reminder_due_on_a_holiday_goes_out_on_the_next_business_day():
    holiday = frozenset({date(2026, 3, 13)})
    plan = a_plan(first_on=date(2026, 3, 18), reminder_days_before=5)  # reminder due Friday 13, a holiday

    done = run_daily(plan, ACCEPTED_ON, date(2026, 3, 18), holiday)

    assert done == [(date(2026, 3, 16), "upcoming", 1)]


# --- the off-session charge ----------------------------------------------------------------------


def test_with_autopay_the_installment_is_charged_on_its_due_date_for_what_is_still_owed():
    plan = a_plan(autopay=True)

    before, on_the_day = plan_work(plan, date(2026, 3, 17)), plan_work(plan, date(2026, 3, 18))

    assert before.charge is None
    assert (on_the_day.charge, on_the_day.charge_attempt, on_the_day.charge_amount) == (line(plan, 1), 1, eur(600_00))


def test_a_partly_paid_installment_is_charged_for_the_rest_only():
    plan = apply_payment(a_plan(autopay=True), eur(250_00), date(2026, 3, 10)).plan

    work = plan_work(plan, date(2026, 3, 18))

    assert work.charge_amount == eur(350_00)


def test_without_autopay_nothing_is_charged():
    plan = a_plan(autopay=False)

    assert plan_work(plan, date(2026, 3, 18)).charge is None


def test_a_charge_recorded_but_never_answered_is_made_again_with_the_same_attempt_number():
    plan = record_attempt(a_plan(autopay=True), 1, 1, date(2026, 3, 18))

    work = plan_work(plan, date(2026, 3, 19))

    assert (work.charge, work.charge_attempt) == (line(plan, 1), 1)
    assert work.remind_late is False  # not missed while Stripe's answer is unknown


@pytest.mark.parametrize("status", [AttemptStatus.PROCESSING, AttemptStatus.SUCCEEDED])
def test_a_charge_on_its_way_is_neither_charged_again_nor_called_missed(status):
    plan = a_plan(autopay=True, grace_days=7)
    plan = record_attempt(plan, 1, 1, date(2026, 3, 18))
    plan = record_attempt_result(plan, 1, 1, status, "pi_1", date(2026, 3, 18))

    works = [plan_work(plan, day) for day in days(date(2026, 3, 19), date(2026, 4, 14))]  # until line 2's turn
    alone = a_plan(count=1, debt=600_00, autopay=True, attempts=plan.attempts, checked_on=date(2026, 3, 18))

    assert all(w.is_empty() for w in works)
    assert next_work_on(alone) is None  # nothing to do but wait for Stripe's event


def test_a_refused_charge_is_not_tried_again_and_the_missed_installment_path_follows():
    plan = a_plan(autopay=True, grace_days=7)
    plan = record_attempt(plan, 1, 1, date(2026, 3, 18))
    plan = record_attempt_result(plan, 1, 1, AttemptStatus.FAILED, "pi_1", date(2026, 3, 18))

    work = plan_work(plan, date(2026, 3, 19))

    assert work.charge is None
    assert (work.late, work.late_owed, work.remind_late) == (line(plan, 1), eur(600_00), True)
    assert work.breaks_on == date(2026, 3, 26)


# --- grace, then break -------------------------------------------------------------------------


def test_a_missed_installment_gets_one_reminder_the_day_after_then_the_plan_breaks_after_the_grace_days():
    plan = a_plan(grace_days=7, notified=(1,))

    done = run_daily(plan, date(2026, 3, 18), date(2026, 4, 15))

    assert done == [(date(2026, 3, 19), "missed", 1), (date(2026, 3, 26), "broken", 1)]


def test_the_plan_never_breaks_before_its_missed_installment_reminder_went_out():
    plan = a_plan(grace_days=7)

    work = plan_work(plan, date(2026, 4, 1))  # long past the grace period, but never reminded

    assert (work.remind_late, work.breaks) == (True, False)


def test_a_missed_reminder_due_on_a_weekend_goes_out_on_monday_and_the_break_waits_for_the_grace():
    plan = a_plan(first_on=date(2026, 3, 20), grace_days=3, notified=(1,))  # due Friday, late from Saturday

    done = run_daily(plan, date(2026, 3, 20), date(2026, 4, 10))

    assert done == [(date(2026, 3, 23), "missed", 1), (date(2026, 3, 24), "broken", 1)]


def test_a_missed_installment_paid_during_the_grace_does_not_break_the_plan():
    plan = record_reminder(a_plan(grace_days=7), 1)

    paid = apply_payment(plan, eur(600_00), date(2026, 3, 22)).plan

    assert plan_work(paid, date(2026, 3, 26)).breaks is False
    assert plan_work(plan, date(2026, 3, 26)).breaks is True


def test_a_partly_paid_missed_installment_is_reminded_for_what_is_left():
    plan = apply_payment(a_plan(), eur(100_00), date(2026, 3, 18)).plan

    work = plan_work(plan, date(2026, 3, 19))

    assert (work.late, work.late_owed, work.remind_late) == (line(plan, 1), eur(500_00), True)


@pytest.mark.parametrize("state", [PlanState.PROPOSED, PlanState.COUNTERED, PlanState.BROKEN, PlanState.COMPLETED])
def test_a_plan_that_is_not_running_has_no_work_and_no_day_in_the_index(state):
    plan = a_plan(state=state, autopay=True)

    assert plan_work(plan, date(2026, 3, 19)).is_empty()
    assert next_work_on(plan) is None


# --- recording attempts and runs ---------------------------------------------------------------


def test_recording_the_same_attempt_twice_records_it_once():
    plan = record_attempt(a_plan(autopay=True), 1, 1, date(2026, 3, 18))

    again = record_attempt(plan, 1, 1, date(2026, 3, 19))

    assert again == plan
    assert attempts_of(again, 1) == (ChargeAttempt(1, 1, date(2026, 3, 18)),)


def test_attempts_of_lists_one_installments_attempts_oldest_first():
    plan = a_plan(autopay=True)
    for number, attempt, on in [(1, 1, date(2026, 3, 18)), (2, 1, date(2026, 4, 18)), (1, 2, date(2026, 3, 20))]:
        plan = record_attempt(plan, number, attempt, on)

    assert [(a.number, a.attempt) for a in attempts_of(plan, 1)] == [(1, 1), (1, 2)]
    assert attempts_of(plan, 3) == ()


def test_stripes_answer_updates_the_attempt_and_keeps_the_payment_intent_already_known():
    plan = record_attempt(a_plan(autopay=True), 1, 1, date(2026, 3, 18))
    plan = record_attempt_result(plan, 1, 1, AttemptStatus.PROCESSING, "pi_1", date(2026, 3, 18))

    settled = record_attempt_result(plan, 1, 1, AttemptStatus.SUCCEEDED, None, date(2026, 3, 21))

    assert attempts_of(settled, 1) == (ChargeAttempt(1, 1, date(2026, 3, 18), AttemptStatus.SUCCEEDED, "pi_1"),)


@pytest.mark.parametrize("final", [AttemptStatus.SUCCEEDED, AttemptStatus.FAILED])
def test_a_late_processing_event_never_overwrites_stripes_final_answer(final):
    plan = record_attempt(a_plan(autopay=True), 1, 1, date(2026, 3, 18))
    plan = record_attempt_result(plan, 1, 1, final, "pi_1", date(2026, 3, 18))

    late = record_attempt_result(plan, 1, 1, AttemptStatus.PROCESSING, "pi_1", date(2026, 3, 19))

    assert late == plan


def test_stripes_event_for_an_attempt_we_never_recorded_is_added():
    plan = a_plan(autopay=True)

    answered = record_attempt_result(plan, 1, 1, AttemptStatus.FAILED, "pi_9", date(2026, 3, 18))

    assert answered.attempts == (ChargeAttempt(1, 1, date(2026, 3, 18), AttemptStatus.FAILED, "pi_9"),)


def test_the_day_a_plan_was_last_checked_never_goes_back():
    plan = record_checked(a_plan(), date(2026, 3, 20))

    assert record_checked(plan, date(2026, 3, 19)).checked_on == date(2026, 3, 20)
    assert record_checked(plan, date(2026, 3, 21)).checked_on == date(2026, 3, 21)


def test_once_the_run_looked_the_index_moves_to_the_next_day_with_work():
    plan = record_notice(a_plan(reminder_days_before=3), 1)

    checked = record_checked(plan, date(2026, 3, 15))

    assert next_work_on(checked) == date(2026, 3, 19)  # installment 1 is late the day after its due date


# --- properties ----------------------------------------------------------------------------------

STATUSES = st.sampled_from(list(AttemptStatus))


@st.composite
def running_plans(draw):
    """A running plan as the daily run can find it: some paid oldest first, some reminders and attempts done."""
    count = draw(st.integers(1, 6))
    down = draw(st.sampled_from([0, 150_00]))
    debt = down + draw(st.integers(count * 10_00, 5_000_00))
    accepted_on = draw(st.dates(date(2026, 1, 1), date(2026, 12, 31)))
    first_on = accepted_on + timedelta(days=draw(st.integers(0, 45)))
    every = draw(st.sampled_from(["monthly", "custom"]))
    dates: object = "monthly"
    if every == "custom":
        gaps = draw(st.lists(st.integers(1, 20), min_size=count - 1, max_size=count - 1))
        dates = [first_on]
        for gap in gaps:
            dates.append(dates[-1] + timedelta(days=gap))
    schedule = build_schedule(eur(debt), eur(down), count, first_on, every=dates)
    plan = Plan(
        "p1",
        PlanProposal((PlanInvoice("F-1", eur(debt)),), schedule),
        accepted_on,
        state=draw(st.sampled_from([PlanState.ACCEPTED, PlanState.ACTIVE])),
        accepted_on=accepted_on,
        autopay=draw(st.sampled_from([None, CARD])),
        grace_days=draw(st.integers(1, 60)),
        reminder_days_before=draw(st.integers(0, 30)),
    )
    paid = draw(st.integers(0, debt - 1))  # not everything: apply_payment would complete the plan
    if paid:
        plan = apply_payment(plan, eur(paid), accepted_on).plan
    lines = plan.lines
    checked_on = draw(st.none() | st.dates(accepted_on - timedelta(days=1), lines[-1].due_on + timedelta(days=90)))
    numbers = [i.number for i in lines if i.number >= 1]
    notified = draw(st.lists(st.sampled_from(numbers), unique=True)) if numbers else []
    late_by_then = [i.number for i in lines if checked_on and i.due_on < checked_on]
    reminded = draw(st.lists(st.sampled_from(late_by_then), unique=True)) if late_by_then else []
    attempts = []
    if plan.autopay is not None and checked_on is not None:
        # a charge is only ever made on or after its installment's due date, by a run that then records its day
        for installment in (i for i in lines if i.due_on <= checked_on):
            for attempt in range(1, draw(st.integers(0, 2)) + 1):
                on = installment.due_on + timedelta(days=draw(st.integers(0, (checked_on - installment.due_on).days)))
                attempts.append(ChargeAttempt(installment.number, attempt, on, draw(STATUSES), f"pi_{attempt}"))
    return replace(plan, checked_on=checked_on, notified=tuple(notified), reminded=tuple(reminded),
                   attempts=tuple(attempts))


def days_after(plan: Plan):
    start = plan.checked_on + timedelta(days=1) if plan.checked_on else plan.proposed_on
    return st.integers(0, 200).map(lambda n: start + timedelta(days=n))


@settings(max_examples=200, deadline=None)
@given(plan=running_plans())
def test_the_next_day_with_work_is_never_on_or_before_the_day_the_run_last_looked(plan):
    work_on = next_work_on(plan)

    if plan.checked_on is not None and work_on is not None:
        assert work_on > plan.checked_on


@settings(max_examples=300, deadline=None)
@given(data=st.data(), plan=running_plans())
def test_the_sparse_index_never_hides_work_plan_work_would_do_on_a_later_day(data, plan):
    day = data.draw(days_after(plan))

    work = plan_work(plan, day)

    if not work.is_empty():
        work_on = next_work_on(plan)
        assert work_on is not None and work_on <= day, (work, work_on)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), plan=running_plans())
def test_the_work_of_a_day_never_repeats_a_sent_reminder_nor_charges_past_a_pending_attempt(data, plan):
    day = data.draw(days_after(plan))

    work = plan_work(plan, day)

    assert not {i.number for i in work.upcoming} & set(plan.notified)
    if work.charge is not None:
        attempts = attempts_of(plan, work.charge.number)
        if attempts:
            assert attempts[-1].status is AttemptStatus.REQUESTED
            assert work.charge_attempt == attempts[-1].attempt  # the same attempt, so the same Stripe key
        else:
            assert work.charge_attempt == 1
        assert work.charge_amount == plan.owed_on(work.charge) and work.charge_amount.is_positive()


@settings(max_examples=100, deadline=None)
@given(data=st.data(), plan=running_plans())
def test_a_fully_paid_plan_has_no_work_and_leaves_the_index(data, plan):
    day = data.draw(days_after(plan))

    paid = apply_payment(plan, plan.outstanding, plan.proposed_on).plan
    paid_but_still_running = replace(plan, paid_minor=tuple(i.amount.minor for i in plan.lines))

    assert paid.state is PlanState.COMPLETED
    for done in (paid, paid_but_still_running):
        assert plan_work(done, day).is_empty()
        assert next_work_on(done) is None


@settings(max_examples=100, deadline=None)
@given(plan=running_plans(), closed=st.sampled_from([frozenset(), FR]))
def test_a_run_that_follows_the_index_does_what_a_run_looking_every_day_does(plan, closed):
    plan = replace(plan, autopay=None, attempts=(), checked_on=None, notified=(), reminded=())
    end = plan.lines[-1].due_on + timedelta(days=plan.grace_days + 10)

    sparse = run_daily(plan, plan.proposed_on, end, closed, sparse=True)
    every_day = run_daily(plan, plan.proposed_on, end, closed, sparse=False)

    assert sparse == every_day


@pytest.mark.parametrize(("first_on", "days_before", "closed"), [
    (date(2026, 4, 7), 3, frozenset({date(2026, 4, 6)})),  # Tuesday after Easter: Sat, Sun, Easter Monday closed
    (date(2026, 3, 16), 1, frozenset()),  # a Monday, one day ahead: Sunday
    (date(2026, 3, 16), 2, frozenset()),  # a Monday, two days ahead: the weekend
])
def test_a_reminder_whose_days_ahead_are_all_closed_goes_out_on_the_installments_day(first_on, days_before, closed):
    plan = a_plan(first_on=first_on, reminder_days_before=days_before)

    done = run_daily(plan, ACCEPTED_ON, first_on, closed)

    assert done == [(first_on, "upcoming", 1)]
