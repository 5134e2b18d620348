"""A policy change mid-ladder: an invoice carries on from where it stands, never from the start, never past a
required step it did not take."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from relance.domain.dunning import decide, plan_next_action
from relance.domain.policy import Channel, PolicyStep
from tests.unit.dunning_builders import FR, LADDER, a_debtor, an_invoice

DUE = date(2025, 11, 3)  # a Monday: J+8 is Tuesday 11, J+15 Tuesday 18, J+30 Wednesday 3 December


def test_an_invoice_whose_step_the_new_ladder_keeps_carries_on_from_that_step():
    later_call = replace(LADDER, steps=tuple(
        replace(step, offset_days=20) if step.step_id == "call" else step for step in LADDER.steps))
    invoice = an_invoice(due_on=DUE, last_step="reminder_2", last_step_on=date(2025, 11, 11))

    assert plan_next_action(invoice, later_call, FR) == date(2025, 11, 24)  # J+20, the new call day
    assert decide(a_debtor(), [invoice], later_call, date(2025, 11, 18), FR) is None
    assert decide(a_debtor(), [invoice], later_call, date(2025, 11, 24), FR).step.step_id == "call"


def test_a_step_the_new_ladder_lacks_places_the_invoice_at_the_last_step_up_to_the_day_it_reached():
    invoice = an_invoice(due_on=DUE, last_step="old_second_reminder", last_step_on=date(2025, 11, 11))  # J+8

    on_the_call_day = decide(a_debtor(), [invoice], LADDER, date(2025, 11, 18), FR)

    assert plan_next_action(invoice, LADDER, FR) == date(2025, 11, 18)
    assert decide(a_debtor(), [invoice], LADDER, date(2025, 11, 17), FR) is None  # no second "reminder_2"
    assert on_the_call_day.step.step_id == "call"


def test_a_changed_ladder_never_counts_the_formal_notice_as_taken():
    invoice = an_invoice(due_on=DUE, last_step="old_third_reminder", last_step_on=date(2025, 12, 8))  # J+35

    decision = decide(a_debtor(), [invoice], LADDER, date(2025, 12, 15), FR)

    assert decision.step.step_id == "formal_notice"  # not the agency: no hand-off without a formal notice
    assert decision.channel is Channel.FORMAL_NOTICE


def test_an_invoice_chased_long_after_its_due_date_stays_on_a_changed_ladder():
    invoice = an_invoice(due_on=date(2025, 3, 31), last_step="old_first_reminder", last_step_on=date(2025, 12, 1))

    planned = plan_next_action(invoice, LADDER, FR)

    assert planned == date(2025, 12, 8)  # the formal notice, 7 days after the last contact; not dropped
    assert decide(a_debtor(), [invoice], LADDER, planned, FR).step.step_id == "formal_notice"


def test_a_new_ladder_starting_later_keeps_an_invoice_that_had_its_courtesy_notice_waiting():
    later = replace(LADDER, steps=(PolicyStep("reminder_1", 3, Channel.EMAIL, "reminder_friendly"),
                                   *LADDER.steps[2:]))
    invoice = an_invoice(due_on=DUE, last_step="courtesy", last_step_on=date(2025, 10, 29))

    assert decide(a_debtor(), [invoice], later, date(2025, 11, 4), FR) is None
    assert decide(a_debtor(), [invoice], later, date(2025, 11, 6), FR).step.step_id == "reminder_1"
