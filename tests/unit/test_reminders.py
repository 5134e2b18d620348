from datetime import date

from relance.adapters.calendars import closed_days
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.reminders import Step, after_reminder, decide_reminder, plan_next_action

FR = closed_days("FR")


def an_invoice(number="F-1", due_on=date(2025, 11, 28), total=120_00, paid=0, steps_done=0, currency="EUR"):
    return Invoice("c1", "d1", number, date(2025, 10, 29), due_on, Money(total, currency), Money(paid, currency),
                   steps_done=steps_done)


def test_first_reminder_is_planned_the_business_day_after_the_due_date():
    friday_due = an_invoice(due_on=date(2025, 11, 28))

    assert plan_next_action(friday_due, FR) == date(2025, 12, 1)


def test_first_reminder_after_a_due_date_before_a_holiday_waits_for_the_next_business_day():
    due_on_christmas_eve = an_invoice(due_on=date(2025, 12, 24))

    assert plan_next_action(due_on_christmas_eve, FR) == date(2025, 12, 26)


def test_a_paid_invoice_needs_no_action():
    assert plan_next_action(an_invoice(paid=120_00), FR) is None


def test_one_message_lists_every_overdue_invoice_of_the_debtor():
    invoices = [an_invoice("F-1", date(2025, 11, 3)), an_invoice("F-2", date(2025, 11, 20)),
                an_invoice("F-3", date(2025, 12, 20))]

    decision = decide_reminder(invoices, date(2025, 12, 1), FR)

    assert decision is not None
    assert decision.step is Step.FIRST_REMINDER
    assert [i.number for i in decision.overdue] == ["F-1", "F-2"]
    assert decision.totals == {"EUR": Money(240_00, "EUR")}


def test_no_reminder_on_a_public_holiday():
    assert decide_reminder([an_invoice(due_on=date(2025, 12, 1))], date(2025, 12, 25), FR) is None


def test_no_reminder_on_a_weekend():
    assert decide_reminder([an_invoice(due_on=date(2025, 12, 1))], date(2025, 12, 6), FR) is None


def test_no_reminder_for_a_paid_invoice():
    assert decide_reminder([an_invoice(paid=120_00)], date(2025, 12, 1), FR) is None


def test_no_second_first_reminder():
    reminded = an_invoice(steps_done=1)

    assert decide_reminder([reminded], date(2025, 12, 10), FR) is None


def test_a_late_invoice_found_after_an_outage_is_reminded_once():
    invoice = an_invoice(due_on=date(2025, 10, 1))

    decision = decide_reminder([invoice], date(2025, 12, 1), FR)
    done = after_reminder(invoice, decision, FR)

    assert decision is not None
    assert decide_reminder([done], date(2025, 12, 2), FR) is None
    assert done.next_action_on is None
    assert done.last_step_on == date(2025, 12, 1)


def test_not_yet_due_invoices_are_not_reminded():
    assert decide_reminder([an_invoice(due_on=date(2025, 12, 1))], date(2025, 12, 1), FR) is None
