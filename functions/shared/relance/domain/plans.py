"""Installment plans (issue 7): the rules, the schedule, the decision, the lifecycle, the resumption of dunning.

Pure: no clock, no storage. `today`, the rules and the closed days come in as arguments.

Rules:
- a plan covers invoices of one currency; its debt is the sum of their balances;
- a schedule is a down payment (due the day the plan is accepted) and `count` installments whose
  amounts add up exactly to the debt: equal installments, the remainder cents on the LAST one;
- monthly dates keep the day of month of the first one, clamped to the month end (31 Jan, 28/29 Feb,
  31 Mar), moved to the next business day when closed days are given;
- a proposal inside every rule is accepted at once; otherwise every broken rule is listed for finance;
- for a consumer debtor the consumer-credit exemption (at most 3 months, no interest) applies on top
  of the creditor's rules unless the creditor turned it off; finance may still approve past it;
- a payment goes to the installments oldest first (the down payment first); paying all completes the plan;
- a missed installment: one reminder the day after its due date, then `grace_days` to catch up, then
  the plan is broken and dunning resumes where each invoice stood, never past the formal notice.
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Container, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from relance.domain.calendar import next_business_day
from relance.domain.dunning import _following, plan_next_action, step_date
from relance.domain.errors import (
    InvalidPlanPayment,
    InvalidPlanProposal,
    InvalidSchedule,
    InvalidTransition,
    PlanMixesCurrencies,
    PlanOutsidePolicy,
)
from relance.domain.invoices import Invoice
from relance.domain.money import Money, total
from relance.domain.parties import PartyKind
from relance.domain.policy import DunningPolicy, PolicyBook, PolicyStep

# --- the consumer-credit exemption ---------------------------------------------------------------
# Code de la consommation L312-4 (domain pack §2 "Instalment plans vs consumer credit", source S29):
# a payment delay is outside the consumer-credit rules (information, withdrawal right) when it is
# repaid within 3 months with no or only negligible interest and fees. Relance reads "negligible"
# as none: the plan itself charges nothing, and late interest must not keep running under it.
L312_4_MAX_MONTHS = 3
L312_4_INTEREST_ALLOWED = False
# The same article also leaves out credits below 200 EUR or above 75,000 EUR. Kept as data and not
# used to relax the 3 months: the domain pack asks Relance to stay within 3 months without fees for
# every consumer plan unless the creditor accepts the consumer-credit rules.
L312_4_BELOW = Money(200_00, "EUR")
L312_4_ABOVE = Money(75_000_00, "EUR")

BASIS_POINTS = 10_000  # 100 %


class LateFeesDuringPlan(StrEnum):
    """What happens to late interest and fees while a plan runs."""

    WAIVED = "waived"  # dropped once the plan completes
    COUNTED = "counted"  # keep running and are owed on top of the plan
    FROZEN = "frozen"  # stop at the plan's start; run again only if the plan breaks


@dataclass(frozen=True, slots=True)
class PlanRules:
    """What a creditor accepts without a human look: limits on duration, count and amounts."""

    max_duration_months: int | None = 6  # from the day of the proposal to the last installment
    max_duration_days: int | None = None  # instead of months; exactly one of the two is set
    max_installments: int = 6
    min_installment_minor: dict[str, int] = field(default_factory=dict)  # per currency; absent = no minimum
    min_down_payment_bp: int = 0  # basis points of the debt: 1000 = 10 %
    max_total_minor: dict[str, int] = field(default_factory=dict)  # per currency; absent = no maximum
    late_fees: LateFeesDuringPlan = LateFeesDuringPlan.FROZEN
    allowed_after_formal_notice: bool = False
    consumer_credit_exemption: bool = True  # False: the creditor accepts the consumer-credit rules
    grace_days: int = 7  # a missed installment breaks the plan this many days after its reminder
    reminder_days_before: int = 3  # the e-mail before each installment goes out this many days ahead

    def latest_end(self, today: date) -> date:
        """The last day the final installment may fall on for a plan proposed `today`."""
        if self.max_duration_days is not None:
            return today + timedelta(days=self.max_duration_days)
        return add_months(today, self.max_duration_months or 0)

    def min_down_payment(self, debt: Money) -> Money:
        """The smallest down payment for `debt`, rounded up to the minor unit (never below the percentage)."""
        return Money(-(-debt.minor * self.min_down_payment_bp // BASIS_POINTS), debt.currency)

    @property
    def min_down_payment_percent(self) -> Decimal:
        return Decimal(self.min_down_payment_bp) / 100


DEFAULT_PLAN_RULES = PlanRules()


@dataclass(frozen=True, slots=True)
class PlanPolicy:
    """A creditor's plan rules: the default and per risk band (low, medium, high)."""

    default: PlanRules = DEFAULT_PLAN_RULES
    risk_bands: dict[str, PlanRules] = field(default_factory=dict)

    def rules_for(self, risk_band: str | None) -> PlanRules:
        """The rules for a debtor of this band; None or an unlisted band gets the default."""
        return self.risk_bands.get(risk_band or "", self.default)


DEFAULT_PLAN_POLICY = PlanPolicy()


def plan_policy_of(book: PolicyBook) -> PlanPolicy:
    """The plan rules of a policy book; a book without a `plans:` section gets the defaults."""
    return book.plans if book.plans is not None else DEFAULT_PLAN_POLICY


# --- schedules -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Installment:
    """One payment of a plan; number 0 is the down payment."""

    number: int
    due_on: date
    amount: Money


@dataclass(frozen=True, slots=True)
class Schedule:
    """A down payment and the installments that follow; together they add up to the debt."""

    down_payment: Money
    installments: tuple[Installment, ...]

    def __iter__(self) -> Iterator[Installment]:
        return iter(self.installments)

    def __len__(self) -> int:
        return len(self.installments)

    @property
    def currency(self) -> str:
        return self.down_payment.currency

    @property
    def total(self) -> Money:
        """The down payment plus every installment."""
        return self.down_payment + total([i.amount for i in self.installments], self.currency)

    @property
    def first_on(self) -> date:
        return self.installments[0].due_on

    @property
    def last_on(self) -> date:
        return self.installments[-1].due_on


def add_months(start: date, months: int) -> date:
    """The same day of month `months` later, clamped to the month end (31 Jan + 1 month = 28/29 Feb)."""
    year, month = divmod(start.month - 1 + months, 12)
    year += start.year
    return date(year, month + 1, min(start.day, monthrange(year, month + 1)[1]))


def build_schedule(
    debt: Money,
    down_payment: Money,
    count: int,
    first_on: date,
    *,
    every: Literal["monthly"] | Sequence[date] = "monthly",
    closed: Container[date] | None = None,
) -> Schedule:
    """`count` equal installments of what the down payment leaves, the remainder cents on the last one.

    Monthly: installment k falls k-1 months after `first_on`, on the same day of month clamped to the
    month end. Custom: `every` lists the `count` dates, the first being `first_on`. With `closed`, each
    date moves to the next business day.
    """
    if down_payment.currency != debt.currency:
        raise PlanMixesCurrencies(
            f"the down payment is in {down_payment.currency} and the debt in {debt.currency}; "
            f"a plan covers one currency",
            currencies=sorted({down_payment.currency, debt.currency}),
        )
    if type(count) is not int or count < 1:
        raise InvalidSchedule(f"a plan needs at least 1 installment, got {count!r}", count=count)
    if down_payment.minor < 0 or down_payment > debt:
        raise InvalidSchedule(
            f"the down payment must be between 0 and the debt {debt}, got {down_payment}",
            down_payment=str(down_payment),
            debt=str(debt),
        )
    rest = debt - down_payment
    if rest.minor < count:
        raise InvalidSchedule(
            f"{rest} left after the down payment cannot be spread over {count} installments "
            f"of at least one minor unit each",
            rest=str(rest),
            count=count,
        )
    dates = _dates(count, first_on, every, closed)
    base, remainder = divmod(rest.minor, count)
    amounts = [base] * (count - 1) + [base + remainder]  # the remainder cents go on the last installment
    return Schedule(
        down_payment,
        tuple(
            Installment(n, d, Money(a, debt.currency))
            for n, (d, a) in enumerate(zip(dates, amounts, strict=True), 1)
        ),
    )


def _dates(
    count: int, first_on: date, every: Literal["monthly"] | Sequence[date], closed: Container[date] | None
) -> list[date]:
    if every == "monthly":
        dates = [add_months(first_on, k) for k in range(count)]
    elif isinstance(every, str):
        raise InvalidSchedule(f"expected 'monthly' or a list of dates, got {every!r}", every=every)
    else:
        dates = list(every)
        if len(dates) != count:
            raise InvalidSchedule(
                f"{count} installments need {count} dates, got {len(dates)}", count=count, dates=len(dates)
            )
        if dates[0] != first_on:
            raise InvalidSchedule(
                f"the first date {dates[0].isoformat()} is not first_on {first_on.isoformat()}",
                first=dates[0].isoformat(),
                first_on=first_on.isoformat(),
            )
    if closed is not None:
        dates = [next_business_day(d, closed) for d in dates]
    for previous, current in zip(dates, dates[1:], strict=False):
        if current <= previous:
            raise InvalidSchedule(
                f"installment dates must be strictly increasing (after moving to business days), "
                f"got {current.isoformat()} after {previous.isoformat()}",
                previous=previous.isoformat(),
                current=current.isoformat(),
            )
    return dates


def plan_debt(invoices: Iterable[PlanInvoice]) -> Money:
    """What the invoices of a plan still owe together; refuses invoices in several currencies."""
    invoices = tuple(invoices)
    if not invoices:
        raise InvalidPlanProposal("a plan needs at least one invoice", count=0)
    currencies = sorted({i.balance.currency for i in invoices})
    if len(currencies) > 1:
        raise PlanMixesCurrencies(
            f"these invoices are in {', '.join(currencies)}; propose one plan per currency",
            currencies=currencies,
        )
    return total([i.balance for i in invoices], currencies[0])


# --- proposals and their evaluation ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlanInvoice:
    """An invoice a plan covers, with what it still owed when the plan was proposed."""

    number: str
    balance: Money


def plan_invoices(invoices: Iterable[Invoice]) -> tuple[PlanInvoice, ...]:
    """The invoices a debtor picked, as a plan sees them (number and balance), oldest first."""
    ordered = sorted(invoices, key=lambda i: (i.due_on, i.issued_on, i.number))
    return tuple(PlanInvoice(i.number, i.balance) for i in ordered)


@dataclass(frozen=True, slots=True)
class PlanProposal:
    """What a debtor (or finance, in a counter) puts forward: invoices, a schedule, a reason."""

    invoices: tuple[PlanInvoice, ...]
    schedule: Schedule
    reason: str = ""

    def __post_init__(self) -> None:
        debt = plan_debt(self.invoices)
        numbers = [i.number for i in self.invoices]
        if len(set(numbers)) != len(numbers):
            raise InvalidPlanProposal("an invoice is listed twice in the proposal", numbers=numbers)
        if not all(i.balance.is_positive() for i in self.invoices):
            raise InvalidPlanProposal("every invoice of a plan must still be owed", numbers=numbers)
        _check_covers(self.schedule, debt)

    @property
    def debt(self) -> Money:
        return plan_debt(self.invoices)

    @property
    def down_payment(self) -> Money:
        return self.schedule.down_payment


def _check_covers(schedule: Schedule, debt: Money) -> None:
    if schedule.currency != debt.currency:
        raise PlanMixesCurrencies(
            f"the schedule is in {schedule.currency} and the invoices in {debt.currency}",
            currencies=sorted({schedule.currency, debt.currency}),
        )
    if not schedule.installments:
        raise InvalidPlanProposal("a schedule needs at least one installment", count=0)
    if schedule.total != debt:
        raise InvalidPlanProposal(
            f"the schedule adds up to {schedule.total}, the invoices owe {debt}; they must be equal",
            schedule_total=str(schedule.total),
            debt=str(debt),
        )
    dates = [i.due_on for i in schedule.installments]
    if any(later <= earlier for earlier, later in zip(dates, dates[1:], strict=False)):
        raise InvalidPlanProposal(
            "installment dates must be strictly increasing", dates=[d.isoformat() for d in dates]
        )


class PlanRule(StrEnum):
    """The rules a proposal is checked against; the value is the last part of the breach's code."""

    MAX_INSTALLMENTS = "max_installments"
    MAX_DURATION = "max_duration"
    MIN_INSTALLMENT = "min_installment"
    MIN_DOWN_PAYMENT = "min_down_payment"
    MAX_TOTAL = "max_total"
    AFTER_FORMAL_NOTICE = "allowed_after_formal_notice"
    CONSUMER_CREDIT_DURATION = "consumer_credit_duration"
    CONSUMER_CREDIT_INTEREST = "consumer_credit_interest"
    STARTS_IN_THE_PAST = "starts_in_the_past"


@dataclass(frozen=True, slots=True)
class RuleBreach:
    """One rule a proposal breaks: the limit and what was proposed, for finance's queue."""

    rule: PlanRule
    limit: int | date | Money | bool | str
    proposed: int | date | Money | bool | str

    @property
    def code(self) -> str:
        """A stable code for the translated message, e.g. "plan.max_installments"."""
        return f"plan.{self.rule.value}"


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The decision on a proposal: accepted at once, or every broken rule for finance."""

    accepted_automatically: bool
    broken_rules: tuple[RuleBreach, ...]

    def broken(self) -> tuple[PlanRule, ...]:
        return tuple(b.rule for b in self.broken_rules)


def evaluate(
    proposal: PlanProposal, rules: PlanRules, debtor_kind: PartyKind, has_formal_notice: bool, today: date
) -> Evaluation:
    """Every rule the proposal breaks (never only the first); none broken = accepted at once."""
    debt, schedule = proposal.debt, proposal.schedule
    currency = debt.currency
    breaches: list[RuleBreach] = []
    if schedule.first_on < today:
        breaches.append(RuleBreach(PlanRule.STARTS_IN_THE_PAST, today, schedule.first_on))
    if len(schedule) > rules.max_installments:
        breaches.append(RuleBreach(PlanRule.MAX_INSTALLMENTS, rules.max_installments, len(schedule)))
    if schedule.last_on > rules.latest_end(today):
        breaches.append(RuleBreach(PlanRule.MAX_DURATION, rules.latest_end(today), schedule.last_on))
    below = _below_minimum(schedule, rules.min_installment_minor.get(currency))
    if below is not None:
        breaches.append(
            RuleBreach(
                PlanRule.MIN_INSTALLMENT, Money(rules.min_installment_minor[currency], currency), below
            )
        )
    minimum_down = rules.min_down_payment(debt)
    if proposal.down_payment < minimum_down:
        breaches.append(RuleBreach(PlanRule.MIN_DOWN_PAYMENT, minimum_down, proposal.down_payment))
    maximum = rules.max_total_minor.get(currency)
    if maximum is not None and debt.minor > maximum:
        breaches.append(RuleBreach(PlanRule.MAX_TOTAL, Money(maximum, currency), debt))
    if has_formal_notice and not rules.allowed_after_formal_notice:
        breaches.append(RuleBreach(PlanRule.AFTER_FORMAL_NOTICE, False, True))
    if debtor_kind is PartyKind.CONSUMER and rules.consumer_credit_exemption:
        breaches.extend(_consumer_credit_breaches(schedule, rules, today))
    return Evaluation(not breaches, tuple(breaches))


def _below_minimum(schedule: Schedule, minimum_minor: int | None) -> Money | None:
    """The smallest installment under the minimum, or None; a final remainder smaller than the rest may be."""
    if minimum_minor is None:
        return None
    amounts = [i.amount for i in schedule.installments]
    checked = amounts
    if len(amounts) > 1 and amounts[-1] < min(amounts[:-1]):
        checked = amounts[:-1]  # the last installment is the remainder of equal installments
    low = min(checked, key=lambda m: m.minor)
    return low if low.minor < minimum_minor else None


def consumer_credit_end(today: date) -> date:
    """The last day a consumer plan proposed `today` may run to and stay outside consumer credit (L312-4)."""
    return add_months(today, L312_4_MAX_MONTHS)


def _consumer_credit_breaches(schedule: Schedule, rules: PlanRules, today: date) -> list[RuleBreach]:
    breaches = []
    if schedule.last_on > consumer_credit_end(today):
        breaches.append(
            RuleBreach(PlanRule.CONSUMER_CREDIT_DURATION, consumer_credit_end(today), schedule.last_on)
        )
    if not L312_4_INTEREST_ALLOWED and rules.late_fees is LateFeesDuringPlan.COUNTED:
        # Interest running during the delay is a cost of credit; frozen or waived fees are not.
        breaches.append(
            RuleBreach(PlanRule.CONSUMER_CREDIT_INTEREST, "waived or frozen", rules.late_fees.value)
        )
    return breaches


# --- the lifecycle ------------------------------------------------------------------------------


class PlanState(StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    COUNTERED = "countered"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    DECLINED = "declined"  # the debtor declined finance's counter
    ACTIVE = "active"
    COMPLETED = "completed"
    BROKEN = "broken"


class PlanEvent(StrEnum):
    ACCEPT_AUTOMATICALLY = "accept_automatically"  # inside every rule
    APPROVE = "approve"  # by finance, whatever the rules
    COUNTER = "counter"  # finance proposes another schedule
    REJECT = "reject"
    WITHDRAW = "withdraw"  # the debtor takes the proposal back
    ACCEPT_COUNTER = "accept_counter"
    DECLINE_COUNTER = "decline_counter"
    ACTIVATE = "activate"  # collection starts (down payment received or payment set up)
    COMPLETE = "complete"  # everything paid
    BREAK = "break"  # an installment missed past its grace period


_TRANSITIONS: dict[tuple[PlanState, PlanEvent], PlanState] = {
    (PlanState.PROPOSED, PlanEvent.ACCEPT_AUTOMATICALLY): PlanState.ACCEPTED,
    (PlanState.PROPOSED, PlanEvent.APPROVE): PlanState.ACCEPTED,
    (PlanState.PROPOSED, PlanEvent.COUNTER): PlanState.COUNTERED,
    (PlanState.PROPOSED, PlanEvent.REJECT): PlanState.REJECTED,
    (PlanState.PROPOSED, PlanEvent.WITHDRAW): PlanState.WITHDRAWN,
    (PlanState.COUNTERED, PlanEvent.ACCEPT_COUNTER): PlanState.ACCEPTED,
    (PlanState.COUNTERED, PlanEvent.DECLINE_COUNTER): PlanState.DECLINED,
    (PlanState.ACCEPTED, PlanEvent.ACTIVATE): PlanState.ACTIVE,
    (PlanState.ACTIVE, PlanEvent.COMPLETE): PlanState.COMPLETED,
    (PlanState.ACTIVE, PlanEvent.BREAK): PlanState.BROKEN,
    (PlanState.ACCEPTED, PlanEvent.BREAK): PlanState.BROKEN,  # e.g. the down payment never came
}

RUNNING = (PlanState.ACCEPTED, PlanState.ACTIVE)  # states in which installments are owed and paid


@dataclass(frozen=True, slots=True)
class PlanChange:
    """One line of a plan's history, for the audit trail."""

    event: PlanEvent
    from_state: PlanState
    to_state: PlanState
    on: date


@dataclass(frozen=True, slots=True)
class Autopay:
    """The debtor's standing authority to charge each installment: a Stripe customer and payment method."""

    customer_id: str
    payment_method_id: str
    method: str  # "card" or "sepa_debit"
    last4: str | None = None  # the card's or the IBAN's last four digits, when Stripe told them


class AttemptStatus(StrEnum):
    """Where an off-session charge of one installment stands."""

    REQUESTED = "requested"  # recorded before calling Stripe; Stripe's answer not known yet
    PROCESSING = "processing"  # Stripe accepted it; the money is on its way (a SEPA debit)
    SUCCEEDED = "succeeded"  # Stripe took the money; the webhook allocates it
    FAILED = "failed"  # refused: the missed-installment path (grace, one reminder, break) applies


IN_FLIGHT = (AttemptStatus.PROCESSING, AttemptStatus.SUCCEEDED)  # wait for Stripe's event before calling it missed


@dataclass(frozen=True, slots=True)
class ChargeAttempt:
    """One off-session charge of installment `number`; `attempt` counts from 1 for each installment."""

    number: int
    attempt: int
    on: date
    status: AttemptStatus = AttemptStatus.REQUESTED
    payment_id: str | None = None  # the PaymentIntent, once Stripe answered


@dataclass(frozen=True, slots=True)
class Plan:
    """An installment plan: the proposal, where it stands, what was paid on each installment."""

    plan_id: str
    proposal: PlanProposal
    proposed_on: date
    state: PlanState = PlanState.PROPOSED
    evaluation: Evaluation | None = None
    counter: Schedule | None = None  # finance's schedule, when it countered
    accepted_on: date | None = None
    paid_minor: tuple[int, ...] = ()  # per line of `lines`, once accepted
    reminded: tuple[int, ...] = ()  # installment numbers that got their missed-installment reminder
    history: tuple[PlanChange, ...] = ()
    autopay: Autopay | None = None  # set once the debtor authorised automatic payment
    # Collection (relance.services.installments): the terms in force, copied from the rules when proposed,
    # so a later policy change does not move the dates of a plan the debtor already agreed to.
    grace_days: int = DEFAULT_PLAN_RULES.grace_days
    reminder_days_before: int = DEFAULT_PLAN_RULES.reminder_days_before
    notified: tuple[int, ...] = ()  # installment numbers whose reminder before the due date went out
    attempts: tuple[ChargeAttempt, ...] = ()  # off-session charges, oldest first
    checked_on: date | None = None  # the last day the daily collection run looked at the plan

    @property
    def schedule(self) -> Schedule:
        """The schedule in force: finance's counter when there is one, else the debtor's."""
        return self.counter if self.counter is not None else self.proposal.schedule

    @property
    def currency(self) -> str:
        return self.schedule.currency

    @property
    def lines(self) -> tuple[Installment, ...]:
        """What is owed and when: the down payment (number 0, due on acceptance) then the installments."""
        down = self.schedule.down_payment
        due_on = self.accepted_on or self.proposed_on
        first = (Installment(0, due_on, down),) if down.is_positive() else ()
        return first + self.schedule.installments

    def paid_on_line(self, index: int) -> Money:
        minor = self.paid_minor[index] if index < len(self.paid_minor) else 0
        return Money(minor, self.currency)

    def owed_on(self, installment: Installment) -> Money:
        """What is still owed on one line."""
        return installment.amount - self.paid_on_line(self.lines.index(installment))

    @property
    def paid(self) -> Money:
        return Money(sum(self.paid_minor), self.currency)

    @property
    def outstanding(self) -> Money:
        """What the plan still waits for."""
        return self.schedule.total - self.paid

    def is_paid(self) -> bool:
        return not self.outstanding.is_positive()


def propose(
    plan_id: str,
    proposal: PlanProposal,
    rules: PlanRules,
    debtor_kind: PartyKind,
    has_formal_notice: bool,
    today: date,
) -> Plan:
    """A new plan for `proposal`: accepted at once when inside the rules, else proposed to finance."""
    evaluation = evaluate(proposal, rules, debtor_kind, has_formal_notice, today)
    plan = Plan(plan_id, proposal, today, evaluation=evaluation, grace_days=rules.grace_days,
                reminder_days_before=rules.reminder_days_before)
    if evaluation.accepted_automatically:
        return transition(plan, PlanEvent.ACCEPT_AUTOMATICALLY, today)
    return plan


def transition(plan: Plan, event: PlanEvent, today: date, *, counter: Schedule | None = None) -> Plan:
    """The plan after `event`; InvalidTransition when its state does not allow the event."""
    target = _TRANSITIONS.get((plan.state, event))
    if target is None:
        allowed = sorted(e.value for (s, e) in _TRANSITIONS if s is plan.state)
        raise InvalidTransition(
            f"a {plan.state.value} plan cannot {event.value}; "
            f"allowed: {', '.join(allowed) or 'nothing, it is final'}",
            plan_id=plan.plan_id,
            state=plan.state.value,
            event=event.value,
            allowed=allowed,
        )
    changes: dict[str, object] = {}
    if event is PlanEvent.ACCEPT_AUTOMATICALLY and (
        plan.evaluation is None or not plan.evaluation.accepted_automatically
    ):
        breaches = plan.evaluation.broken_rules if plan.evaluation is not None else ()
        raise PlanOutsidePolicy(
            "this proposal breaks the plan rules; finance must approve it",
            plan_id=plan.plan_id,
            rules=[b.rule.value for b in breaches],
        )
    if event is PlanEvent.COUNTER:
        if counter is None:
            raise InvalidTransition(
                "a counter needs finance's schedule", plan_id=plan.plan_id, event=event.value
            )
        _check_covers(counter, plan.proposal.debt)
        changes["counter"] = counter
    elif counter is not None:
        raise InvalidTransition(f"only a counter carries a schedule, not {event.value}", event=event.value)
    if target is PlanState.ACCEPTED:
        changes["accepted_on"] = today
    if event is PlanEvent.COMPLETE and not plan.is_paid():
        raise InvalidTransition(
            f"the plan still waits for {plan.outstanding}; it completes once everything is paid",
            plan_id=plan.plan_id,
            outstanding=str(plan.outstanding),
        )
    change = PlanChange(event, plan.state, target, today)
    return replace(plan, state=target, history=(*plan.history, change), **changes)  # type: ignore[arg-type]


# --- installment tracking -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InstallmentPayment:
    """Part of a payment going to one installment (number 0 = the down payment)."""

    number: int
    amount: Money


@dataclass(frozen=True, slots=True)
class PlanPayment:
    """Where a payment went: the installments it paid, oldest first, and what is left over."""

    plan: Plan
    allocations: tuple[InstallmentPayment, ...]
    remainder: Money


def apply_payment(plan: Plan, amount: Money, today: date) -> PlanPayment:
    """`amount` spread over the installments oldest first; paying everything completes the plan."""
    if plan.state not in RUNNING:
        raise InvalidPlanPayment(
            f"a {plan.state.value} plan takes no payment", plan_id=plan.plan_id, state=plan.state.value
        )
    if amount.currency != plan.currency:
        raise PlanMixesCurrencies(
            f"a payment in {amount.currency} cannot go to a plan in {plan.currency}",
            currencies=sorted({amount.currency, plan.currency}),
        )
    if not amount.is_positive():
        raise InvalidPlanPayment(f"a payment must be positive, got {amount}", amount=str(amount))
    left = amount.minor
    paid = [plan.paid_on_line(index).minor for index in range(len(plan.lines))]
    allocations = []
    for index, line in enumerate(plan.lines):
        share = min(left, line.amount.minor - paid[index])
        if share > 0:
            paid[index] += share
            left -= share
            allocations.append(InstallmentPayment(line.number, Money(share, plan.currency)))
    updated = replace(plan, paid_minor=tuple(paid))
    if updated.is_paid():
        if updated.state is PlanState.ACCEPTED:
            updated = transition(updated, PlanEvent.ACTIVATE, today)
        updated = transition(updated, PlanEvent.COMPLETE, today)
    return PlanPayment(updated, tuple(allocations), Money(left, plan.currency))


@dataclass(frozen=True, slots=True)
class DueCheck:
    """Where a running plan stands today: the installment missed, its reminder, the day the plan breaks."""

    late: Installment | None  # the oldest installment past its due date and not fully paid
    owed: Money | None  # what is still owed on it
    reminder_on: date | None  # the day after its due date
    breaks_on: date | None  # the day after the grace period, if still unpaid then
    reminder_due: bool  # its one reminder is due and was not sent
    is_broken: bool  # the grace period is over: break the plan
    next_due: Installment | None  # the next installment not yet due, if any


def check_due(plan: Plan, today: date, grace_days: int) -> DueCheck:
    """Which installment is late today, when its reminder goes out, and when the plan breaks.

    An installment is late from the day after its due date. Its one reminder goes out that day
    and says the plan breaks after `grace_days` more days without payment.
    """
    if grace_days < 1:
        raise InvalidSchedule(f"grace_days must be at least 1, got {grace_days}", grace_days=grace_days)
    late = next(
        (line for line in plan.lines if line.due_on < today and plan.owed_on(line).is_positive()), None
    )
    upcoming = next(
        (line for line in plan.lines if line.due_on >= today and plan.owed_on(line).is_positive()), None
    )
    if late is None or plan.state not in RUNNING:
        return DueCheck(None, None, None, None, False, False, upcoming if plan.state in RUNNING else None)
    reminder_on = late.due_on + timedelta(days=1)
    breaks_on = reminder_on + timedelta(days=grace_days)
    return DueCheck(
        late,
        plan.owed_on(late),
        reminder_on,
        breaks_on,
        today >= reminder_on and late.number not in plan.reminded and today < breaks_on,
        today >= breaks_on,
        upcoming,
    )


def record_reminder(plan: Plan, number: int) -> Plan:
    """The plan once the missed-installment reminder for `number` went out (at most one each)."""
    if number in plan.reminded:
        return plan
    return replace(plan, reminded=(*plan.reminded, number))


# --- collection, day by day (relance.services.installments) ----------------------------------


@dataclass(frozen=True, slots=True)
class PlanWork:
    """What the daily collection run does for one plan today; nothing at all when every field is empty."""

    upcoming: tuple[Installment, ...] = ()  # reminders before their due date to send today
    charge: Installment | None = None  # the installment to charge off-session today
    charge_attempt: int = 0  # its attempt number (the same one again when Stripe's answer was never recorded)
    charge_amount: Money | None = None  # what is still owed on it
    late: Installment | None = None  # the oldest installment past due and not paid
    late_owed: Money | None = None
    remind_late: bool = False  # its one missed-installment reminder goes out today
    breaks: bool = False  # its grace period is over: the plan breaks today
    breaks_on: date | None = None  # the day the plan breaks if the late installment stays unpaid

    def is_empty(self) -> bool:
        return not (self.upcoming or self.charge or self.remind_late or self.breaks)


def reminder_on(installment: Installment, days_before: int) -> date:
    """The day the reminder before `installment` is due; a closed day waits for the next run, at the latest
    on the installment's own day."""
    return installment.due_on - timedelta(days=days_before)


def attempts_of(plan: Plan, number: int) -> tuple[ChargeAttempt, ...]:
    return tuple(a for a in plan.attempts if a.number == number)


def _in_flight(plan: Plan, number: int) -> bool:
    attempts = attempts_of(plan, number)
    return bool(attempts) and attempts[-1].status in IN_FLIGHT


def _owed_lines(plan: Plan) -> list[Installment]:
    return [line for line in plan.lines if plan.owed_on(line).is_positive()]


def plan_work(plan: Plan, today: date) -> PlanWork:
    """The day's work on a running plan: reminders before installments, the off-session charge, the
    missed-installment reminder, the break.

    Rules (issue 7):
    - one reminder per installment (never the down payment, due on acceptance), from `reminder_days_before`
      days ahead until the day it is due (the run skips closed days, and a schedule's dates are business
      days, so a reminder whose days ahead were all closed still goes out, on the due date); 0: none;
    - with autopay, the oldest installment due and unpaid is charged once; an attempt recorded but never
      answered is made again with the same attempt number (so with the same Stripe idempotency key);
    - an installment whose charge is processing or succeeded is not missed: Stripe's event settles it;
    - a missed installment gets its one reminder the day after its due date (check_due), and the plan breaks
      `grace_days` later, never before that reminder went out.
    """
    if plan.state not in RUNNING:
        return PlanWork()
    upcoming = tuple(
        line for line in _owed_lines(plan)
        if line.number >= 1 and line.number not in plan.notified
        and plan.reminder_days_before > 0 and reminder_on(line, plan.reminder_days_before) <= today <= line.due_on
    )
    charge, attempt, amount = None, 0, None
    if plan.autopay is not None:
        due = next((line for line in _owed_lines(plan) if line.due_on <= today), None)
        if due is not None:
            attempts = attempts_of(plan, due.number)
            if not attempts:
                charge, attempt = due, 1
            elif attempts[-1].status is AttemptStatus.REQUESTED:
                charge, attempt = due, attempts[-1].attempt
            if charge is not None:
                amount = plan.owed_on(charge)
    check = check_due(plan, today, plan.grace_days)
    late = check.late
    if late is None or _in_flight(plan, late.number) or charge == late:
        return PlanWork(upcoming, charge, attempt, amount)
    reminded = late.number in plan.reminded
    return PlanWork(
        upcoming, charge, attempt, amount, late, check.owed,
        remind_late=not reminded and check.reminder_on is not None and today >= check.reminder_on,
        breaks=reminded and check.breaks_on is not None and today >= check.breaks_on,
        breaks_on=check.breaks_on,
    )


def next_work_on(plan: Plan) -> date | None:
    """The next day the daily run has something to do for the plan (the key of its line in the sparse index).

    Never on or before `checked_on`, the last day the run looked: anything due then was done. None when the
    plan has nothing left to do, or waits for Stripe's answer on a charge.
    """
    if plan.state not in RUNNING:
        return None
    floor = plan.checked_on + timedelta(days=1) if plan.checked_on else None
    candidates: list[date] = []
    for line in _owed_lines(plan):
        if _in_flight(plan, line.number):
            continue
        if (line.number >= 1 and line.number not in plan.notified and plan.reminder_days_before > 0
                and (floor is None or line.due_on >= floor)):
            candidates.append(reminder_on(line, plan.reminder_days_before))
        attempts = attempts_of(plan, line.number)
        if plan.autopay is not None and (not attempts or attempts[-1].status is AttemptStatus.REQUESTED):
            candidates.append(line.due_on)
        late_on = line.due_on + timedelta(days=1)
        candidates.append(late_on if line.number not in plan.reminded else late_on + timedelta(days=plan.grace_days))
    if not candidates:
        return None
    first = min(candidates)
    return max(first, floor) if floor else first


def record_notice(plan: Plan, number: int) -> Plan:
    """The plan once the reminder before installment `number` went out (at most one each)."""
    return plan if number in plan.notified else replace(plan, notified=(*plan.notified, number))


def record_attempt(plan: Plan, number: int, attempt: int, today: date) -> Plan:
    """The plan with attempt `attempt` on installment `number` recorded, before Stripe is called."""
    if any(a.number == number and a.attempt == attempt for a in plan.attempts):
        return plan
    return replace(plan, attempts=(*plan.attempts, ChargeAttempt(number, attempt, today)))


def record_attempt_result(
    plan: Plan, number: int, attempt: int, status: AttemptStatus, payment_id: str | None, today: date
) -> Plan:
    """The plan once Stripe answered (or its event told) how attempt `attempt` on installment `number` went.

    A final answer (succeeded, failed) is never overwritten by a late "processing"; an attempt
    unknown here (Stripe's event overtook our own record) is added.
    """
    attempts = list(plan.attempts)
    for index, known in enumerate(attempts):
        if known.number == number and known.attempt == attempt:
            if known.status in (AttemptStatus.SUCCEEDED, AttemptStatus.FAILED) and status is AttemptStatus.PROCESSING:
                return plan
            attempts[index] = replace(known, status=status, payment_id=payment_id or known.payment_id)
            return replace(plan, attempts=tuple(attempts))
    return replace(plan, attempts=(*attempts, ChargeAttempt(number, attempt, today, status, payment_id)))


def record_checked(plan: Plan, today: date) -> Plan:
    """The plan once the daily run looked at it `today`."""
    return replace(plan, checked_on=max(today, plan.checked_on) if plan.checked_on else today)


# --- dunning after a broken plan ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Resumption:
    """An invoice back under dunning after its plan broke, and the step it resumes with."""

    invoice: Invoice  # out of the plan, with its next action planned
    step: PolicyStep | None  # the step the engine takes on `invoice.next_action_on`; None: nothing left to do


def resume_after_broken_plan(
    invoices: Iterable[Invoice], policy: DunningPolicy, today: date, closed: Container[date]
) -> tuple[Resumption, ...]:
    """The plan's invoices released to dunning: each carries on after the step it had reached.

    The break itself is the debtor's contact of the day, so dunning resumes the next business
    day at the earliest. Each invoice keeps its last step, so it never starts the ladder again; the
    engine's gap rule then sends only the step reached that day, and never jumps over a required
    step (the formal notice).
    """
    resumed = []
    for invoice in invoices:
        released = replace(invoice, in_plan=False)
        planned = plan_next_action(released, policy, closed)
        if planned is None:
            resumed.append(Resumption(replace(released, next_action_on=None), None))
            continue
        on = max(planned, next_business_day(today + timedelta(days=1), closed))
        resumed.append(
            Resumption(replace(released, next_action_on=on), _step_reached(released, policy, on, closed))
        )
    return tuple(resumed)


def _step_reached(
    invoice: Invoice, policy: DunningPolicy, on: date, closed: Container[date]
) -> PolicyStep | None:
    """The step the engine's due_step takes on `on`, before step conditions (debtor kind, band, amount)."""
    reached = None
    for step in _following(invoice, policy):
        if step_date(invoice, step, closed) > on:
            break
        if step.offset_days < 0 and on > invoice.due_on:
            continue
        reached = step
        if step.required or (invoice.last_step is None and step.offset_days > 0):
            break
    return reached
