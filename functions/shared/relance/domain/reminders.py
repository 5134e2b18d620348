"""When a debtor is reminded, and about what. Pure: `today` and the closed days come in."""

from __future__ import annotations

from collections.abc import Container, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum

from relance.domain.calendar import next_business_day
from relance.domain.invoices import Invoice
from relance.domain.money import Money, totals_by_currency


class Step(StrEnum):
    FIRST_REMINDER = "first_reminder"


# Reference ladder step 1 (domain pack §10): a courteous reminder the day after the due date (J+1).
FIRST_REMINDER_OFFSET_DAYS = 1


def plan_next_action(invoice: Invoice, closed: Container[date]) -> date | None:
    """The business day this invoice next needs the engine, or None when nothing is left to do."""
    if invoice.is_settled() or invoice.steps_done >= 1:
        return None
    return next_business_day(invoice.due_on + timedelta(days=FIRST_REMINDER_OFFSET_DAYS), closed)


@dataclass(frozen=True, slots=True)
class ReminderDecision:
    """One message to one debtor on one day, listing every overdue invoice."""

    step: Step
    business_date: date
    overdue: tuple[Invoice, ...]  # everything the message lists, oldest due first
    advancing: tuple[Invoice, ...]  # the invoices whose step this message takes

    @property
    def totals(self) -> dict[str, Money]:
        return totals_by_currency([invoice.balance for invoice in self.overdue])


def decide_reminder(invoices: Sequence[Invoice], today: date, closed: Container[date]) -> ReminderDecision | None:
    """The reminder this debtor should get today, or None to leave them alone.

    Nothing is sent on a closed day; a step whose date has passed (after an outage or a
    weekend) is taken on the next business day, once.
    """
    if today.weekday() >= 5 or today in closed:
        return None
    overdue = sorted((i for i in invoices if i.is_overdue(today)), key=lambda i: (i.due_on, i.number))
    advancing = tuple(
        i for i in overdue if i.steps_done == 0 and (plan := plan_next_action(i, closed)) is not None and plan <= today
    )
    if not advancing:
        return None
    return ReminderDecision(Step.FIRST_REMINDER, today, tuple(overdue), advancing)


def after_reminder(invoice: Invoice, decision: ReminderDecision, closed: Container[date]) -> Invoice:
    """The invoice once this reminder has gone out."""
    done = replace(invoice, steps_done=invoice.steps_done + 1, last_step_on=decision.business_date)
    return replace(done, next_action_on=plan_next_action(done, closed))


def reminder_id(creditor_id: str, debtor_id: str, business_date: date) -> str:
    """The business key of a debtor's contact on a day: at most one per debtor per day."""
    return f"{creditor_id}:{debtor_id}:{business_date.isoformat()}"
