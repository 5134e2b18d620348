"""Installment plans (issue 7): a debtor proposes, the policy or finance decides, a broken plan resumes dunning.

Every state change is one transaction (relance.adapters.plans_store): the plan, conditional on the
state and version read; the audit event with its actor and reason; the invoices it pauses or
releases; finance's queue. Two finance users approving one proposal at once: one wins, the other
gets PlanAlreadyDecided naming the state it found.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from relance.adapters.dynamo import VersionConflict
from relance.domain.dunning import plan_next_action
from relance.domain.errors import InvalidPlanProposal, RelanceError
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.parties import Creditor, Debtor
from relance.domain.plans import (
    Plan,
    PlanEvent,
    PlanProposal,
    PlanState,
    Schedule,
    build_schedule,
    plan_debt,
    plan_invoices,
    plan_policy_of,
    propose,
    resume_after_broken_plan,
    transition,
)
from relance.domain.policy import Channel, DunningPolicy, PolicyBook

class PlanNews(StrEnum):
    """What the debtor is told by e-mail once a decision on their plan is written."""

    ACCEPTED = "plan_accepted"  # accepted at once, approved by finance, or finance's counter accepted
    COUNTERED = "plan_countered"  # finance proposes another schedule, to accept or decline on the portal
    REJECTED = "plan_rejected"  # with finance's message


_NEWS = {PlanState.ACCEPTED: PlanNews.ACCEPTED, PlanState.COUNTERED: PlanNews.COUNTERED,
         PlanState.REJECTED: PlanNews.REJECTED}


@dataclass(frozen=True, slots=True)
class PlanDecisionMail:
    """The mail telling the debtor what became of their proposal; the mailer renders it in their language."""

    news: PlanNews
    creditor: Creditor
    debtor: Debtor
    recipients: tuple[str, ...]
    plan: Plan
    message: str | None = None  # finance's words, when it rejected or countered with a message
    link: str = ""  # a fresh personal portal link, set by the notifier

    @property
    def language(self) -> str:
        return self.debtor.language

    @property
    def mail_id(self) -> str:
        """The same decision mailed again carries the same reference."""
        return f"{self.plan.plan_id}:{self.news.value}"


# Sends the decision mail once the change is written; a failure to send is logged by the notifier, never
# undoes the decision (the debtor sees it on the portal whatever happens to the mail).
Notify = Callable[[PlanDecisionMail], None]


def _tell(notify: Notify | None, context: _Context, stored: StoredPlan, message: str | None) -> None:
    news = _NEWS.get(stored.plan.state)
    recipients = tuple(context.debtor.reachable_emails)
    if notify is None or news is None or not recipients:
        return
    notify(PlanDecisionMail(news, context.creditor, context.debtor, recipients, stored.plan, _text(message)))


MAX_ATTEMPTS = 3  # reads and writes again when an invoice changed meanwhile (a payment, an import)
MAX_TEXT_CHARS = 1_000
ENGINE = "engine"
DEBTOR = "debtor"


class PlanNotFound(RelanceError):
    code = "plan.not_found"


class PlanAlreadyDecided(RelanceError):
    """Someone else changed the plan first (another finance user, the debtor): it is no longer in the state acted on."""

    code = "plan.already_decided"


class NothingToPlan(RelanceError):
    """No open invoice a plan could cover (not disputed, not already in a plan)."""

    code = "plan.nothing_to_plan"


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    COUNTER = "counter"


class CounterAnswer(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"


@dataclass(frozen=True, slots=True)
class ScheduleTerms:
    """How a schedule is asked for: `count` installments from `first_on` (monthly, or on `dates`), a down payment."""

    count: int
    first_on: date
    down_payment: Money | None = None  # None: no down payment
    dates: tuple[date, ...] | None = None  # custom dates, the first being `first_on`; None: monthly

    def schedule(self, debt: Money, closed: Container[date]) -> Schedule:
        """The schedule these terms give for `debt`, dates moved off closed days."""
        down = self.down_payment if self.down_payment is not None else Money(0, debt.currency)
        every: Any = list(self.dates) if self.dates is not None else "monthly"
        return build_schedule(debt, down, self.count, self.first_on, every=every, closed=closed)


@dataclass(frozen=True, slots=True)
class StoredPlan:
    """A plan as stored: the domain plan, whose it is, its version and its annotated history."""

    creditor_id: str
    debtor_id: str
    plan: Plan
    version: int  # optimistic lock: every change writes version + 1, conditional on the version read
    proposed_at: str  # ISO instant; with the plan id, the key of its line in finance's queue
    log: tuple[dict[str, Any], ...] = ()  # one entry per change: event, states, at, actor, message


@dataclass(frozen=True, slots=True)
class PlanChangeWrite:
    """What one transaction writes: the new plan, the state it must still have, the invoices, the queue."""

    stored: StoredPlan  # the new plan, with the version read (the store writes version + 1)
    expected_state: PlanState | None  # None: a new plan, written only if absent
    audit: dict[str, Any]
    invoices: list[Invoice] = field(default_factory=list)
    queue: str | None = None  # "put" or "delete" finance's queue line
    task: dict[str, Any] | None = None  # a to-do for finance written with the change (a broken plan)


class PlanStore(Protocol):
    def get_creditor(self, creditor_id: str) -> Creditor | None: ...

    def dunning_view(self, creditor_id: str, debtor_id: str) -> tuple[Debtor | None, list[Invoice]]: ...

    def find_plan(self, creditor_id: str, debtor_id: str, plan_id: str) -> StoredPlan | None: ...

    def write_plan_change(self, change: PlanChangeWrite, now: datetime) -> None:
        """In one transaction; PlanChanged when the plan moved on, VersionConflict when an invoice did."""


class PlanChanged(Exception):
    """The plan's state or version is no longer the one read: read it again."""


@dataclass(frozen=True, slots=True)
class _Context:
    creditor: Creditor
    debtor: Debtor
    invoices: list[Invoice]
    policy: DunningPolicy
    book: PolicyBook
    closed: Container[date]
    today: date


def _context(creditor_id: str, debtor_id: str, now: datetime, store: PlanStore,
             policies_for: Callable[[Creditor], PolicyBook],
             closed_for: Callable[[Creditor], Container[date]]) -> _Context:
    creditor = store.get_creditor(creditor_id)
    debtor, invoices = store.dunning_view(creditor_id, debtor_id) if creditor else (None, [])
    if creditor is None or debtor is None:
        raise PlanNotFound(f"no debtor {debtor_id!r} for creditor {creditor_id!r}",
                           creditor_id=creditor_id, debtor_id=debtor_id)
    book = policies_for(creditor)
    return _Context(creditor, debtor, invoices, book.for_debtor(debtor.kind, debtor.risk_band), book,
                    closed_for(creditor), now.astimezone(ZoneInfo(creditor.timezone)).date())


def has_formal_notice(invoices: Sequence[Invoice], policy: DunningPolicy) -> bool:
    """True when one of the invoices already went through the ladder's formal notice (or a step after it)."""
    steps = [s.step_id for s in policy.steps]
    notices = [n for n, s in enumerate(policy.steps) if s.channel is Channel.FORMAL_NOTICE]
    if not notices:
        return False
    return any(i.last_step in steps and steps.index(i.last_step) >= notices[0] for i in invoices)


def _chosen(invoices: list[Invoice], numbers: Sequence[str] | None, today: date) -> list[Invoice]:
    """The invoices a proposal covers: the ones named, else every overdue one free of dispute and plan."""
    free = {i.number: i for i in invoices if not i.disputed and not i.in_plan and not i.is_settled()}
    if not numbers:
        chosen = [i for i in free.values() if i.is_overdue(today)]
        if not chosen:
            raise NothingToPlan("no overdue invoice free of a dispute or a plan to propose a plan for")
        currencies = sorted({i.currency for i in chosen})
        if len(currencies) > 1:  # one plan per currency: the debtor (or finance) says which invoices
            raise InvalidPlanProposal(
                f"the overdue invoices are in {', '.join(currencies)}: name the invoices of one currency",
                currencies=currencies)
        return chosen
    unknown = sorted(set(numbers) - set(free))
    if unknown:
        raise InvalidPlanProposal(
            f"these invoices are not open, or are disputed or already in a plan: {', '.join(unknown)}",
            numbers=unknown)
    return [free[n] for n in dict.fromkeys(numbers)]


def _paused(invoices: list[Invoice], numbers: Sequence[str], context: _Context) -> list[Invoice]:
    """The plan's invoices still open, out of the daily scan while the plan runs."""
    paused = []
    for invoice in invoices:
        if invoice.number in numbers and not invoice.is_settled():
            held = replace(invoice, in_plan=True)
            paused.append(replace(held, next_action_on=plan_next_action(held, context.policy, context.closed)))
    return paused


def _log_entry(before: Plan, after: Plan, now: datetime, actor: str, message: str | None) -> dict[str, Any]:
    change = after.history[-1]
    return {"event": change.event.value, "from_state": before.state.value, "to_state": after.state.value,
            "on": change.on.isoformat(), "at": now.isoformat(), "actor": actor, "message": message or None}


def _audit(stored: StoredPlan, entry: dict[str, Any], invoices: Sequence[str], **extra: Any) -> dict[str, Any]:
    return {"action": f"plan_{entry['event']}", "actor": entry["actor"], "plan_id": stored.plan.plan_id,
            "from_state": entry["from_state"], "to_state": entry["to_state"], "reason": entry["message"],
            "invoices": list(invoices), **extra}


def _text(value: str | None) -> str | None:
    return (value or "").strip()[:MAX_TEXT_CHARS] or None


def propose_plan(
    creditor_id: str, debtor_id: str, invoice_numbers: Sequence[str] | None, terms: ScheduleTerms, reason: str,
    now: datetime, store: PlanStore, policies_for: Callable[[Creditor], PolicyBook],
    closed_for: Callable[[Creditor], Container[date]], actor: str = DEBTOR, plan_id: str | None = None,
    notify: Notify | None = None,
) -> StoredPlan:
    """A new plan: accepted at once (its invoices leave the daily scan) when inside the creditor's rules,
    else put in finance's queue with every rule it breaks (its invoices stay under dunning)."""
    plan_id = plan_id or uuid.uuid4().hex[:16]
    for _attempt in range(MAX_ATTEMPTS):
        context = _context(creditor_id, debtor_id, now, store, policies_for, closed_for)
        chosen = _chosen(context.invoices, invoice_numbers, context.today)
        invoices = plan_invoices(chosen)
        proposal = PlanProposal(invoices, terms.schedule(plan_debt(invoices), context.closed), _text(reason) or "")
        rules = plan_policy_of(context.book).rules_for(context.debtor.risk_band)
        fresh = Plan(plan_id, proposal, context.today)
        plan = propose(plan_id, proposal, rules, context.debtor.kind,
                       has_formal_notice(chosen, context.policy), context.today)
        numbers = [i.number for i in invoices]
        entry = {"event": "propose", "from_state": None, "to_state": PlanState.PROPOSED.value,
                 "on": context.today.isoformat(), "at": now.isoformat(), "actor": actor, "message": _text(reason)}
        log: list[dict[str, Any]] = [entry]
        if plan.state is PlanState.ACCEPTED:
            log.append(_log_entry(fresh, plan, now, ENGINE, "inside the plan rules"))
        stored = StoredPlan(creditor_id, debtor_id, plan, 0, now.isoformat(), tuple(log))
        breaches = [b.rule.value for b in plan.evaluation.broken_rules] if plan.evaluation else []
        audit = _audit(stored, log[-1], numbers, broken_rules=breaches, proposed_by=actor)
        accepted = plan.state is PlanState.ACCEPTED
        change = PlanChangeWrite(stored, None, audit, _paused(context.invoices, numbers, context) if accepted else [],
                                 None if accepted else "put")
        try:
            store.write_plan_change(change, now)
        except VersionConflict:
            continue
        _tell(notify, context, stored, None)
        return stored
    raise VersionConflict(f"invoices of {debtor_id} kept changing while the plan was proposed")


def _change(
    creditor_id: str, debtor_id: str, plan_id: str, event: PlanEvent, actor: str, message: str | None,
    now: datetime, store: PlanStore, policies_for: Callable[[Creditor], PolicyBook],
    closed_for: Callable[[Creditor], Container[date]], *, expected: PlanState | tuple[PlanState, ...],
    counter: ScheduleTerms | None = None, task: dict[str, Any] | None = None, notify: Notify | None = None,
) -> StoredPlan:
    """Read, apply `event` through the domain, write in one transaction; retried when an invoice changed."""
    for _attempt in range(MAX_ATTEMPTS):
        context = _context(creditor_id, debtor_id, now, store, policies_for, closed_for)
        stored = store.find_plan(creditor_id, debtor_id, plan_id)
        if stored is None:
            raise PlanNotFound(f"no plan {plan_id!r} for debtor {debtor_id!r}", plan_id=plan_id)
        before = stored.plan
        if before.state not in (expected if isinstance(expected, tuple) else (expected,)):
            raise PlanAlreadyDecided(
                f"plan {plan_id} is already {before.state.value}; it can no longer {event.value}",
                plan_id=plan_id, state=before.state.value, event=event.value)
        schedule = counter.schedule(before.proposal.debt, context.closed) if counter is not None else None
        after = transition(before, event, context.today, counter=schedule)
        entry = _log_entry(before, after, now, actor, _text(message))
        updated = replace(stored, plan=after, log=(*stored.log, entry))
        numbers = [i.number for i in after.proposal.invoices]
        invoices: list[Invoice] = []
        extra: dict[str, Any] = {}
        if after.state is PlanState.ACCEPTED:
            invoices = _paused(context.invoices, numbers, context)
        elif after.state is PlanState.BROKEN:
            covered = [i for i in context.invoices if i.number in numbers]
            resumed = resume_after_broken_plan(covered, context.policy, context.today, context.closed)
            invoices = [r.invoice for r in resumed]
            extra["resumes"] = {r.invoice.number: {"on": r.invoice.next_action_on.isoformat()
                                                   if r.invoice.next_action_on else None,
                                                   "step": r.step.step_id if r.step else None} for r in resumed}
        queue = "delete" if before.state is PlanState.PROPOSED else None
        try:
            store.write_plan_change(PlanChangeWrite(updated, before.state, _audit(updated, entry, numbers, **extra),
                                                    invoices, queue, task), now)
        except (VersionConflict, PlanChanged):
            continue  # the next read sees who came first: PlanAlreadyDecided, or a retry on fresh invoices
        written = replace(updated, version=stored.version + 1)
        _tell(notify, context, written, message)
        return written
    raise VersionConflict(f"plan {plan_id} kept changing while it was written")


def decide_plan(
    creditor_id: str, debtor_id: str, plan_id: str, decision: Decision | str, actor: str, message: str | None,
    now: datetime, store: PlanStore, policies_for: Callable[[Creditor], PolicyBook],
    closed_for: Callable[[Creditor], Container[date]], counter: ScheduleTerms | None = None,
    notify: Notify | None = None,
) -> StoredPlan:
    """Finance's decision on a proposal in its queue: approve (invoices paused), reject, or counter with `counter`;
    the debtor is told by e-mail through `notify`."""
    event = {Decision.APPROVE: PlanEvent.APPROVE, Decision.REJECT: PlanEvent.REJECT,
             Decision.COUNTER: PlanEvent.COUNTER}[Decision(decision)]
    return _change(creditor_id, debtor_id, plan_id, event, actor, message, now, store, policies_for, closed_for,
                   expected=PlanState.PROPOSED, counter=counter, notify=notify)


def answer_counter(
    creditor_id: str, debtor_id: str, plan_id: str, answer: CounterAnswer | str, now: datetime, store: PlanStore,
    policies_for: Callable[[Creditor], PolicyBook], closed_for: Callable[[Creditor], Container[date]],
    message: str | None = None, actor: str = DEBTOR, notify: Notify | None = None,
) -> StoredPlan:
    """The debtor's answer to finance's counter: accept (the counter's schedule is in force, invoices paused) or decline."""
    event = PlanEvent.ACCEPT_COUNTER if CounterAnswer(answer) is CounterAnswer.ACCEPT else PlanEvent.DECLINE_COUNTER
    return _change(creditor_id, debtor_id, plan_id, event, actor, message, now, store, policies_for, closed_for,
                   expected=PlanState.COUNTERED, notify=notify)


def withdraw_plan(
    creditor_id: str, debtor_id: str, plan_id: str, now: datetime, store: PlanStore,
    policies_for: Callable[[Creditor], PolicyBook], closed_for: Callable[[Creditor], Container[date]],
    message: str | None = None, actor: str = DEBTOR,
) -> StoredPlan:
    """The debtor takes back a proposal finance has not decided yet; it leaves finance's queue."""
    return _change(creditor_id, debtor_id, plan_id, PlanEvent.WITHDRAW, actor, message, now, store, policies_for,
                   closed_for, expected=PlanState.PROPOSED)


def activate_plan(
    creditor_id: str, debtor_id: str, plan_id: str, now: datetime, store: PlanStore,
    policies_for: Callable[[Creditor], PolicyBook], closed_for: Callable[[Creditor], Container[date]],
    message: str | None = None, actor: str = ENGINE,
) -> StoredPlan:
    """Collection of an accepted plan starts (down payment received or payment set up)."""
    return _change(creditor_id, debtor_id, plan_id, PlanEvent.ACTIVATE, actor, message, now, store, policies_for,
                   closed_for, expected=PlanState.ACCEPTED)


def break_plan(
    creditor_id: str, debtor_id: str, plan_id: str, reason: str, now: datetime, store: PlanStore,
    policies_for: Callable[[Creditor], PolicyBook], closed_for: Callable[[Creditor], Container[date]],
    actor: str = ENGINE, task: dict[str, Any] | None = None,
) -> StoredPlan:
    """A running plan is broken (the down payment or an installment missed past its grace): its invoices
    resume dunning where they stood; `task` tells finance, in the same transaction."""
    return _change(creditor_id, debtor_id, plan_id, PlanEvent.BREAK, actor, reason, now, store, policies_for,
                   closed_for, expected=(PlanState.ACCEPTED, PlanState.ACTIVE), task=task)
