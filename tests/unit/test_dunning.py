"""The dunning engine's rules, as a careful credit manager would apply them."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from relance.domain.calendar import is_business_day
from relance.domain.dunning import after_step, decide, plan_next_action, replanned
from relance.domain.money import Money
from relance.domain.parties import PartyKind
from relance.domain.policy import Channel, StepCondition
from tests.unit.dunning_builders import FR, LADDER, a_debtor, an_invoice, with_condition


def run_days(debtor, invoices, start: date, days: int, policy=LADDER):
    """Replay the engine day by day; returns [(day, step_id, channel, invoice numbers)] and the final invoices."""
    timeline = []
    current = list(invoices)
    for offset in range(days):
        today = start + timedelta(days=offset)
        decision = decide(debtor, current, policy, today, FR)
        if decision is None:
            continue
        timeline.append((today, decision.step.step_id, decision.channel, [i.number for i in decision.listed]))
        steps = {i.number: s for i, s in decision.advancing}
        current = [after_step(i, steps[i.number], today, policy, FR) if i.number in steps else i for i in current]
    return timeline, current


def test_the_first_reminder_goes_the_business_day_after_the_due_date():
    decision = decide(a_debtor(), [an_invoice(due_on=date(2025, 11, 28))], LADDER, date(2025, 12, 1), FR)

    assert decision.step.step_id == "reminder_1"
    assert decision.channel is Channel.EMAIL


def test_a_courtesy_notice_goes_five_days_before_the_due_date():
    decision = decide(a_debtor(), [an_invoice(due_on=date(2025, 12, 8))], LADDER, date(2025, 12, 3), FR)

    assert decision.step.step_id == "courtesy"
    assert [i.number for i in decision.listed] == ["F-1"]


def test_nothing_goes_out_on_a_public_holiday_or_a_weekend():
    invoice = an_invoice(due_on=date(2025, 12, 1))

    assert decide(a_debtor(), [invoice], LADDER, date(2025, 12, 25), FR) is None
    assert decide(a_debtor(), [invoice], LADDER, date(2025, 12, 6), FR) is None


def test_one_message_lists_every_overdue_invoice_at_the_most_advanced_step():
    old = an_invoice("F-OLD", due_on=date(2025, 11, 14), last_step="reminder_1", last_step_on=date(2025, 11, 17))
    new = an_invoice("F-NEW", due_on=date(2025, 11, 28))

    decision = decide(a_debtor(), [old, new], LADDER, date(2025, 12, 1), FR)

    assert decision.step.step_id == "call"  # F-OLD reached the call; F-NEW only its first reminder
    assert [i.number for i in decision.listed] == ["F-OLD", "F-NEW"]
    assert {i.number: s.step_id for i, s in decision.advancing} == {"F-OLD": "call", "F-NEW": "reminder_1"}
    assert decision.totals == {"EUR": Money(2_400_00, "EUR")}


def test_a_paid_invoice_is_never_chased_and_a_debtor_with_nothing_left_is_left_alone():
    paid = an_invoice(paid=1_200_00, last_step="reminder_1", last_step_on=date(2025, 11, 3))

    assert decide(a_debtor(), [paid], LADDER, date(2025, 12, 15), FR) is None
    assert plan_next_action(paid, LADDER, FR) is None


def test_a_dispute_pauses_only_the_disputed_invoice():
    disputed = an_invoice("F-1", disputed=True)
    other = an_invoice("F-2")

    decision = decide(a_debtor(), [disputed, other], LADDER, date(2025, 12, 1), FR)

    assert [i.number for i in decision.listed] == ["F-2"]
    assert plan_next_action(disputed, LADDER, FR) is None


def test_a_promise_pauses_until_its_date_plus_grace():
    promised = an_invoice(promised_on=date(2025, 12, 10), last_step="reminder_1", last_step_on=date(2025, 12, 1))

    assert decide(a_debtor(), [promised], LADDER, date(2025, 12, 12), FR) is None
    assert plan_next_action(promised, LADDER, FR) == date(2025, 12, 15)  # 10 + 3 days grace + 1, a Monday


def test_a_missed_promise_resumes_at_the_next_step_not_the_first():
    promised = an_invoice(promised_on=date(2025, 12, 10), last_step="reminder_2", last_step_on=date(2025, 12, 8))

    decision = decide(a_debtor(), [promised], LADDER, date(2025, 12, 15), FR)

    assert decision.step.step_id == "call"


def test_a_kept_promise_stops_dunning():
    kept = an_invoice(promised_on=date(2025, 12, 10), paid=1_200_00, last_step="reminder_1",
                      last_step_on=date(2025, 12, 1))

    assert decide(a_debtor(), [kept], LADDER, date(2025, 12, 15), FR) is None


def test_an_active_plan_pauses_and_a_broken_plan_resumes_where_dunning_stood():
    in_plan = an_invoice(in_plan=True, last_step="call", last_step_on=date(2025, 12, 15))

    paused = decide(a_debtor(), [in_plan], LADDER, date(2026, 2, 2), FR)
    resumed = decide(a_debtor(), [replace(in_plan, in_plan=False)], LADDER, date(2026, 2, 2), FR)

    assert paused is None
    assert resumed.step.step_id == "formal_notice"


def test_the_formal_notice_is_never_skipped():
    late = an_invoice(due_on=date(2025, 9, 1), last_step="call", last_step_on=date(2025, 9, 16))

    decision = decide(a_debtor(), [late], LADDER, date(2025, 12, 1), FR)

    assert decision.step.step_id == "formal_notice"


def test_an_invoice_imported_long_overdue_starts_with_a_courteous_reminder():
    ancient = an_invoice(due_on=date(2025, 3, 31))

    decision = decide(a_debtor(), [ancient], LADDER, date(2025, 12, 1), FR)

    assert decision.step.step_id == "reminder_1"


def test_after_an_outage_only_the_current_step_goes_out():
    reminded = an_invoice(due_on=date(2025, 11, 3), last_step="reminder_1", last_step_on=date(2025, 11, 4))

    timeline, _ = run_days(a_debtor(), [reminded], date(2025, 12, 1), 1)

    assert [step for _day, step, _channel, _numbers in timeline] == ["call"]


def test_an_email_step_becomes_a_call_task_when_every_address_bounced():
    debtor = a_debtor(undeliverable=("ap@client.example.fr",))

    decision = decide(debtor, [an_invoice()], LADDER, date(2025, 12, 1), FR)

    assert decision.step.step_id == "reminder_1"
    assert decision.channel is Channel.CALL_TASK


def test_a_step_whose_minimum_amount_is_not_reached_is_skipped():
    policy = with_condition(LADDER, "call", StepCondition(min_overdue_minor={"EUR": 5_000_00}))
    small = an_invoice(last_step="reminder_2", last_step_on=date(2025, 12, 8))

    on_call_day = decide(a_debtor(), [small], policy, date(2025, 12, 15), FR)
    moved = replanned(small, policy, date(2025, 12, 15), FR)

    assert on_call_day is None
    assert moved.next_action_on == date(2025, 12, 29)  # the formal notice's day (J+30, a Sunday -> Monday)


def test_after_four_weeks_without_a_run_the_formal_notice_is_the_step_due():
    old = an_invoice(due_on=date(2025, 10, 31), last_step="reminder_1", last_step_on=date(2025, 11, 3))

    decision = decide(a_debtor(), [old], LADDER, date(2025, 12, 1), FR)

    assert decision.step.step_id == "formal_notice"


def test_a_consumer_only_step_is_not_taken_for_a_business():
    policy = with_condition(LADDER, "reminder_1", StepCondition(debtor_kinds=(PartyKind.CONSUMER,)))

    decision = decide(a_debtor(), [an_invoice(due_on=date(2025, 11, 28))], policy, date(2025, 12, 1), FR)

    assert decision is None


def test_the_whole_ladder_in_order_over_four_months():
    timeline, final = run_days(a_debtor(), [an_invoice(due_on=date(2025, 9, 1))], date(2025, 8, 20), 120)

    assert [step for _d, step, _c, _n in timeline] == [
        "courtesy", "reminder_1", "reminder_2", "call", "formal_notice", "agency"]
    days = {step: day for day, step, _c, _n in timeline}
    assert days["reminder_1"] == date(2025, 9, 2)
    assert days["formal_notice"] == date(2025, 10, 1)
    assert days["agency"] == date(2025, 10, 16)
    assert final[0].next_action_on is None


@settings(max_examples=60, deadline=None)
@given(
    due_on=st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 6, 30)),
    start_gap=st.integers(min_value=-10, max_value=90),
    outage=st.tuples(st.integers(0, 60), st.integers(0, 20)),
)
def test_any_replay_keeps_the_ladder_in_order_on_business_days_once_a_day_with_its_spacing(due_on, start_gap, outage):
    invoice = an_invoice(due_on=due_on)
    start = due_on + timedelta(days=start_gap)
    outage_from, outage_days = outage
    debtor = a_debtor()
    timeline, current = [], [invoice]
    for offset in range(150):
        today = start + timedelta(days=offset)
        if outage_from <= offset < outage_from + outage_days:
            continue  # the engine did not run
        decision = decide(debtor, current, LADDER, today, FR)
        if decision is None:
            continue
        timeline.append((today, decision.step.step_id))
        steps = {i.number: s for i, s in decision.advancing}
        current = [after_step(i, steps[i.number], today, LADDER, FR) if i.number in steps else i for i in current]

    order = [s.step_id for s in LADDER.steps]
    taken = [step for _day, step in timeline]
    assert taken == sorted(taken, key=order.index)
    assert len(set(taken)) == len(taken)
    assert all(is_business_day(day, FR) for day, _step in timeline)
    assert len({day for day, _ in timeline}) == len(timeline)
    if "agency" in taken:
        assert "formal_notice" in taken
        notice_day = dict((s, d) for d, s in timeline)["formal_notice"]
        assert (dict((s, d) for d, s in timeline)["agency"] - notice_day).days >= 15
    for (day_a, step_a), (day_b, step_b) in zip(timeline, timeline[1:], strict=False):
        assert (day_b - day_a).days >= max(LADDER.step(step_b).min_days_after_previous, 1)
