"""The dunning engine: which step each debtor gets today, if any. Pure: `today`, the policy and closed days come in.

Rules (issue 5, domain pack §10):
- at most one contact per debtor per day, all channels together; nothing on a closed day;
- one message per debtor, at the most advanced step any of their invoices has reached;
- a settled, disputed, promised (until the date + grace) or planned invoice is left alone;
- after a gap (outage, pause, broken plan) only the step reached today goes out, never a burst,
  and a required step (the formal notice) is never skipped;
- courteous first: an invoice never chased starts no higher than the first reminder after its
  due date, however late it was imported; each later step then waits its spacing;
- an e-mail step for a debtor with no reachable address becomes a call task for finance;
- a changed ladder applies to what comes next: an invoice carries on from its last step, or, when the
  new ladder lacks that step, from the day that step reached, never past a required step not taken.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from relance.domain.calendar import is_business_day, next_business_day
from relance.domain.invoices import Invoice
from relance.domain.money import Money, totals_by_currency
from relance.domain.parties import Debtor
from relance.domain.policy import Channel, DunningPolicy, PolicyStep


def is_paused(invoice: Invoice, policy: DunningPolicy, today: date) -> bool:
    """True while a dispute, an active plan or a promise (until its date + grace) holds the invoice."""
    if invoice.disputed or invoice.in_plan:
        return True
    return invoice.promised_on is not None and today <= invoice.promised_on + timedelta(days=policy.promise_grace_days)


def _following(invoice: Invoice, policy: DunningPolicy) -> tuple[PolicyStep, ...]:
    """The steps after the last one this invoice went through."""
    if invoice.last_step is None:
        return policy.steps
    try:
        return policy.steps[policy.index_of(invoice.last_step) + 1 :]
    except ValueError:  # the policy changed and no longer has that step
        return policy.steps[_passed_on_a_changed_ladder(invoice, policy) :]


def _passed_on_a_changed_ladder(invoice: Invoice, policy: DunningPolicy) -> int:
    """How many steps of a new ladder count as done for an invoice whose last step the ladder no longer has.

    The invoice records the id and the day of its last step, not that step's offset, so its place is
    the day it reached: it sits at the last step whose offset is at or before that day and carries on
    from the next one. A required step (the formal notice) never counts as done: nothing says the step
    that is gone was one, and a formal notice sent twice does less harm than an agency hand-off without one.
    """
    if invoice.last_step_on is None:
        return 0
    reached = (invoice.last_step_on - invoice.due_on).days
    passed = 0
    for step in policy.steps:
        if step.offset_days > reached or step.required:
            break
        passed += 1
    return passed


def step_date(invoice: Invoice, step: PolicyStep, closed: Container[date]) -> date:
    """The business day `step` falls on for this invoice: its offset, the spacing, the end of a missed promise."""
    day = invoice.due_on + timedelta(days=step.offset_days)
    if invoice.last_step_on is not None:
        day = max(day, invoice.last_step_on + timedelta(days=max(step.min_days_after_previous, 1)))
    return next_business_day(day, closed)


def _applies(step: PolicyStep, debtor: Debtor, overdue: dict[str, Money], currency: str) -> bool:
    condition = step.condition
    if condition.debtor_kinds and debtor.kind not in condition.debtor_kinds:
        return False
    if condition.risk_bands and (debtor.risk_band or "") not in condition.risk_bands:
        return False
    minimum = condition.min_overdue_minor.get(currency)
    return minimum is None or overdue.get(currency, Money.zero(currency)).minor >= minimum


def due_step(
    invoice: Invoice, debtor: Debtor, policy: DunningPolicy, today: date, closed: Container[date],
    overdue: dict[str, Money] | None = None,
) -> PolicyStep | None:
    """The step this invoice has reached today and not yet taken, or None."""
    if invoice.is_settled() or is_paused(invoice, policy, today):
        return None
    overdue = overdue if overdue is not None else {}
    reached: PolicyStep | None = None
    for step in _following(invoice, policy):
        if step_date(invoice, step, closed) > today:
            break
        if step.offset_days < 0 and today > invoice.due_on:
            continue  # a notice before the due date makes no sense once the invoice is late
        if not _applies(step, debtor, overdue, invoice.currency):
            continue
        reached = step
        if step.required:  # never jump over the formal notice
            break
        if invoice.last_step is None and step.offset_days > 0:
            break  # courteous first: an invoice never chased starts with the first reminder, however late
    return reached


def is_paused_by_finance(debtor: Debtor, today: date) -> bool:
    """True while finance's manual pause of the debtor's dunning runs (its end day included)."""
    return debtor.dunning_paused_until is not None and today <= debtor.dunning_paused_until


def plan_next_action(invoice: Invoice, policy: DunningPolicy, closed: Container[date]) -> date | None:
    """The business day this invoice next needs the engine, or None when nothing is left to do.

    A dispute or an active plan removes the invoice from the daily scan until it changes; a
    promise brings it back the day after the promised date plus the grace period.
    """
    if invoice.is_settled() or invoice.disputed or invoice.in_plan:
        return None
    following = _following(invoice, policy)
    if not following:
        return None
    planned = step_date(invoice, following[0], closed)
    if invoice.promised_on is not None:
        resume = invoice.promised_on + timedelta(days=policy.promise_grace_days + 1)
        planned = max(planned, next_business_day(resume, closed))
    return planned


@dataclass(frozen=True, slots=True)
class DunningDecision:
    """One contact with one debtor on one day."""

    step: PolicyStep
    channel: Channel  # the step's channel, or a call task when e-mail cannot reach the debtor
    business_date: date
    listed: tuple[Invoice, ...]  # what the contact is about: every overdue invoice not on hold, oldest first
    advancing: tuple[tuple[Invoice, PolicyStep], ...]  # each invoice that takes a step, with its own step

    @property
    def totals(self) -> dict[str, Money]:
        return totals_by_currency([invoice.balance for invoice in self.listed])


def decide(
    debtor: Debtor, invoices: Sequence[Invoice], policy: DunningPolicy, today: date, closed: Container[date]
) -> DunningDecision | None:
    """The contact this debtor gets today, or None to leave them alone."""
    if not is_business_day(today, closed) or is_paused_by_finance(debtor, today):
        return None
    open_invoices = [i for i in invoices if not i.is_settled()]
    held = [i for i in open_invoices if not is_paused(i, policy, today)]
    overdue = totals_by_currency([i.balance for i in held if i.is_overdue(today)])
    advancing = [(i, s) for i in held if (s := due_step(i, debtor, policy, today, closed, overdue)) is not None]
    if not advancing:
        return None
    return _decision(debtor, held, advancing, policy, today)


def decide_now(
    debtor: Debtor, invoices: Sequence[Invoice], policy: DunningPolicy, today: date, closed: Container[date]
) -> DunningDecision | None:
    """The contact finance asked for today: the step due today or, when none is, each overdue invoice's
    next step brought forward to today. None on a closed day, during finance's pause, or with nothing overdue.

    Holds (dispute, plan, promise) and step conditions still apply, and a required step is never skipped:
    only the very next step of each invoice can be brought forward.
    """
    decision = decide(debtor, invoices, policy, today, closed)
    if decision is not None or not is_business_day(today, closed) or is_paused_by_finance(debtor, today):
        return decision
    held = [i for i in invoices if not i.is_settled() and not is_paused(i, policy, today)]
    overdue = totals_by_currency([i.balance for i in held if i.is_overdue(today)])
    advancing = [(i, s) for i in held if i.is_overdue(today)
                 and (s := _next_step(i, debtor, policy, overdue)) is not None]
    if not advancing:
        return None
    return _decision(debtor, held, advancing, policy, today)


def _next_step(invoice: Invoice, debtor: Debtor, policy: DunningPolicy, overdue: dict[str, Money]) -> PolicyStep | None:
    """The first step after the invoice's last one that applies to this overdue invoice (as `due_step` skips)."""
    for step in _following(invoice, policy):
        if step.offset_days < 0:
            continue  # a notice before the due date makes no sense once the invoice is late
        if _applies(step, debtor, overdue, invoice.currency):
            return step
    return None


def _decision(debtor: Debtor, held: list[Invoice], advancing: list[tuple[Invoice, PolicyStep]],
              policy: DunningPolicy, today: date) -> DunningDecision:
    step = max((s for _i, s in advancing), key=lambda s: policy.index_of(s.step_id))
    channel = step.channel
    if channel is Channel.EMAIL and not debtor.reachable_emails:
        channel = Channel.CALL_TASK
    advancing_numbers = {i.number for i, _s in advancing}
    listed = sorted(
        (i for i in held if i.is_overdue(today) or i.number in advancing_numbers), key=lambda i: (i.due_on, i.number)
    )
    ordered = tuple(sorted(advancing, key=lambda pair: (pair[0].due_on, pair[0].number)))
    return DunningDecision(step, channel, today, tuple(listed), ordered)


def after_step(invoice: Invoice, step: PolicyStep, on: date, policy: DunningPolicy, closed: Container[date]) -> Invoice:
    """The invoice once `step` was taken for it on `on`; a missed promise is spent."""
    done = replace(invoice, last_step=step.step_id, last_step_on=on, promised_on=None)
    return replace(done, next_action_on=plan_next_action(done, policy, closed))


def replanned(invoice: Invoice, policy: DunningPolicy, today: date, closed: Container[date]) -> Invoice:
    """The invoice with its next action moved past `today` when today brought it nothing (conditions, pauses)."""
    planned = plan_next_action(invoice, policy, closed)
    if planned is not None and planned <= today:
        following = [s for s in _following(invoice, policy) if step_date(invoice, s, closed) > today]
        planned = step_date(invoice, following[0], closed) if following else None
    return replace(invoice, next_action_on=planned)


def contact_id(creditor_id: str, debtor_id: str, business_date: date) -> str:
    """The business key of a debtor's contact on a day: at most one per debtor per day."""
    return f"{creditor_id}:{debtor_id}:{business_date.isoformat()}"
