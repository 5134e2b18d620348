"""Collecting installment plans day by day (issue 7): reminders before each installment, the off-session
charge on its date, the missed-installment reminder, the break that hands the invoices back to dunning.

The rules live in relance.domain.plans (`plan_work`, `next_work_on`); this module reads, asks, acts, records.
Every step is safe to run twice on the same day:
- a mail is recorded on the plan (conditional on the version read) right after it is sent, so a second run
  finds it done; a crash in between re-sends it once (a duplicate reminder is preferred to a lost one);
- a charge attempt is recorded on the plan BEFORE Stripe is called, and its Stripe idempotency key is built
  from the plan, the installment and the attempt number: a second delivery of the day reads the same
  attempt and sends the same key, so Stripe creates one PaymentIntent;
- the break is one transaction (plan, invoices, audit, finance task) conditional on the plan still running.
"""

from __future__ import annotations

from collections.abc import Callable, Container
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from relance.domain.calendar import is_business_day
from relance.domain.money import Money
from relance.domain.parties import Creditor, Debtor
from relance.domain.plans import (
    RUNNING,
    AttemptStatus,
    Installment,
    next_work_on,
    plan_work,
    record_attempt,
    record_attempt_result,
    record_checked,
    record_notice,
    record_reminder,
)
from relance.domain.policy import PolicyBook
from relance.services.plans import ENGINE, PlanAlreadyDecided, PlanChanged, PlanStore, StoredPlan, break_plan

MAX_CONFLICT_RETRIES = 3
ACTOR = ENGINE


class PlanMailKind(StrEnum):
    UPCOMING = "installment_upcoming"  # N days before an installment
    MISSED = "installment_missed"  # the one reminder during the grace period
    BROKEN = "plan_broken"  # the plan is over; dunning resumes


@dataclass(frozen=True, slots=True)
class PlanMail:
    """Everything a plan e-mail says; the mailer only renders it in the debtor's language and sends it."""

    kind: PlanMailKind
    creditor: Creditor
    debtor: Debtor
    recipients: tuple[str, ...]
    plan_id: str
    installment: Installment
    owed: Money  # what is still owed on that installment
    outstanding: Money  # what the whole plan still waits for
    autopay: bool  # the installment is charged automatically
    breaks_on: date | None = None  # MISSED: the day the plan breaks without payment
    link: str = ""  # the debtor's personal portal link; empty where no portal is configured

    @property
    def language(self) -> str:
        return self.debtor.language

    @property
    def mail_id(self) -> str:
        """One id per mail and installment: the same mail sent again carries the same reference."""
        return f"{self.plan_id}:{self.kind.value}:{self.installment.number}"


class PlanMailer(Protocol):
    def send_plan_mail(self, mail: PlanMail) -> str:
        """Send the mail; returns the provider's message id."""


@dataclass(frozen=True, slots=True)
class ChargeRequest:
    """One off-session charge of one installment, as Stripe will be asked for it."""

    creditor_id: str
    debtor_id: str
    plan_id: str
    number: int
    attempt: int
    amount: Money
    customer_id: str
    payment_method_id: str
    method: str
    description: str

    @property
    def idempotency_key(self) -> str:
        """The same installment attempt always sends the same key, so Stripe creates one PaymentIntent."""
        return installment_idempotency_key(self.plan_id, self.number, self.attempt)


def installment_idempotency_key(plan_id: str, number: int, attempt: int) -> str:
    return f"relance-installment-{plan_id}-{number}-{attempt}"


@dataclass(frozen=True, slots=True)
class ChargeResult:
    """What Stripe answered: the attempt's status, the PaymentIntent id, the decline code when refused."""

    status: AttemptStatus
    payment_id: str | None
    decline_code: str | None = None


class Charges(Protocol):
    def charge(self, request: ChargeRequest) -> ChargeResult: ...


class InstallmentStore(PlanStore, Protocol):
    def list_creditors(self) -> list[Creditor]: ...

    def due_plan_debtors(self, creditor_id: str, day: date, counter: list[int] | None = None) -> list[str]: ...

    def plans_of(self, creditor_id: str, debtor_id: str) -> list[StoredPlan]: ...

    def save_plan(self, stored: StoredPlan, audit: dict[str, Any] | None, now: datetime) -> None:
        """Conditional on the state and version read; PlanChanged otherwise."""


@dataclass(frozen=True)
class CollectionPorts:
    """What the daily collection run needs, built by the entry point."""

    store: InstallmentStore
    mailer: PlanMailer
    charges: Charges | None  # None: no Stripe key configured, nothing is charged automatically
    closed_for: Callable[[Creditor], Container[date]]
    policies_for: Callable[[Creditor], PolicyBook]
    # Issues and stores a fresh personal link for the debtor, returning its URL (None: mails carry none).
    link_for: Callable[[Debtor, datetime], str] | None = None


@dataclass
class CollectionReport:
    """What one daily run did."""

    creditors: int = 0
    closed: list[str] | None = None
    plans: int = 0
    reminders_sent: int = 0
    charges: int = 0
    late_reminders_sent: int = 0
    broken: int = 0
    items_read: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"creditors": self.creditors, "closed": self.closed or [], "plans": self.plans,
                "reminders_sent": self.reminders_sent, "charges": self.charges,
                "late_reminders_sent": self.late_reminders_sent, "broken": self.broken,
                "items_read": self.items_read}


def collect_day(now: datetime, ports: CollectionPorts, business_date: date | None = None) -> CollectionReport:
    """Do the day's collection work on every running plan that has some, for every creditor open today.

    Reads the sparse index (AP11) only: the cost follows the plans with something due, not the table.
    `business_date` replaces each creditor's local today (the demo and the tests replay a calendar).
    """
    report = CollectionReport(closed=[])
    for creditor in ports.store.list_creditors():
        report.creditors += 1
        zone = ZoneInfo(creditor.timezone)
        today = business_date or now.astimezone(zone).date()
        if not is_business_day(today, ports.closed_for(creditor)):
            report.closed.append(creditor.creditor_id)  # type: ignore[union-attr]
            continue
        at = now if business_date is None else datetime.combine(today, time(9), zone)
        counter = [0]
        for debtor_id in ports.store.due_plan_debtors(creditor.creditor_id, today, counter):
            for stored in ports.store.plans_of(creditor.creditor_id, debtor_id):
                work_on = next_work_on(stored.plan)
                if stored.plan.state in RUNNING and work_on is not None and work_on <= today:
                    report.plans += 1
                    collect_plan(creditor, stored.debtor_id, stored.plan.plan_id, today, at, ports, report)
        report.items_read += counter[0]
    return report


def collect_plan(creditor: Creditor, debtor_id: str, plan_id: str, today: date, now: datetime,
                 ports: CollectionPorts, report: CollectionReport | None = None) -> None:
    """The day's work on one plan, each step recorded on the plan before the next; read again on a conflict."""
    report = report or CollectionReport()
    for _attempt in range(MAX_CONFLICT_RETRIES):
        try:
            _collect(creditor, debtor_id, plan_id, today, now, ports, report)
        except PlanChanged:
            continue  # the webhook or another run wrote first: read again, the work left is recomputed
        return
    raise PlanChanged(f"plan {plan_id} kept changing during collection")


def _collect(creditor: Creditor, debtor_id: str, plan_id: str, today: date, now: datetime,
             ports: CollectionPorts, report: CollectionReport) -> None:
    store = ports.store
    stored = store.find_plan(creditor.creditor_id, debtor_id, plan_id)
    debtor, _invoices = store.dunning_view(creditor.creditor_id, debtor_id)
    if stored is None or debtor is None or stored.plan.state not in RUNNING:
        return
    work = plan_work(stored.plan, today)
    if work.charge is not None and ports.charges is not None and stored.plan.autopay is not None:
        stored = _charge(stored, work.charge, work.charge_attempt, work.charge_amount, today, now, ports, report)
        work = plan_work(stored.plan, today)
    for installment in work.upcoming:
        _mail(PlanMailKind.UPCOMING, creditor, debtor, stored, installment, None, ports, now)
        stored = _save(stored, record_notice(stored.plan, installment.number), now, store,
                       _mail_audit("installment_reminder_sent", stored, installment, today))
        report.reminders_sent += 1
    if work.remind_late and work.late is not None:
        _mail(PlanMailKind.MISSED, creditor, debtor, stored, work.late, work.breaks_on, ports, now)
        audit = _mail_audit("installment_missed_reminder_sent", stored, work.late, today)
        audit["breaks_on"] = work.breaks_on.isoformat() if work.breaks_on else None
        stored = _save(stored, record_reminder(stored.plan, work.late.number), now, store, audit)
        report.late_reminders_sent += 1
    stored = _save(stored, record_checked(stored.plan, today), now, store, None)
    if work.breaks and work.late is not None:
        _break(creditor, debtor, stored, work.late, today, now, ports)
        report.broken += 1


def _save(stored: StoredPlan, plan: Any, now: datetime, store: InstallmentStore,
          audit: dict[str, Any] | None) -> StoredPlan:
    """The plan written over the version read; the stored plan as it now stands."""
    if plan == stored.plan and audit is None:
        return stored  # nothing new: a second run of the day writes nothing
    updated = replace(stored, plan=plan)
    store.save_plan(updated, audit, now)
    return replace(updated, version=stored.version + 1)


def _charge(stored: StoredPlan, installment: Installment, attempt: int, amount: Money | None, today: date,
            now: datetime, ports: CollectionPorts, report: CollectionReport) -> StoredPlan:
    """Record the attempt, then ask Stripe, then record Stripe's answer; the key is the same on every retry.

    Stripe's event may reach the webhook before its answer reaches us: recording the answer then
    meets a newer plan (PlanChanged) and the caller reads it again; the charge is counted already.
    """
    plan = stored.plan
    assert plan.autopay is not None and amount is not None and ports.charges is not None
    request = ChargeRequest(stored.creditor_id, stored.debtor_id, plan.plan_id, installment.number, attempt, amount,
                            plan.autopay.customer_id, plan.autopay.payment_method_id, plan.autopay.method,
                            f"{plan.plan_id} #{installment.number}")
    recorded = record_attempt(plan, installment.number, attempt, today)
    if recorded != plan:
        stored = _save(stored, recorded, now, ports.store, _charge_audit("installment_charge_requested", request))
    result = ports.charges.charge(request)
    report.charges += 1
    answered = record_attempt_result(stored.plan, installment.number, attempt, result.status, result.payment_id,
                                     today)
    audit = _charge_audit(f"installment_charge_{result.status.value}", request)
    audit.update(payment_id=result.payment_id, decline_code=result.decline_code)
    return _save(stored, answered, now, ports.store, audit)


def _break(creditor: Creditor, debtor: Debtor, stored: StoredPlan, late: Installment, today: date,
           now: datetime, ports: CollectionPorts) -> None:
    """Tell the debtor, then break the plan in one transaction with finance's task and the audit's reason."""
    plan = stored.plan
    owed = plan.owed_on(late)
    _mail(PlanMailKind.BROKEN, creditor, debtor, stored, late, None, ports, now)
    reason = (f"installment {late.number} due on {late.due_on.isoformat()} still owes {owed}; "
              f"reminded, and the {plan.grace_days}-day grace period is over")
    task = {"creditor_id": stored.creditor_id, "debtor_id": stored.debtor_id, "due_on": today.isoformat(),
            "kind": "plan_broken", "plan_id": plan.plan_id, "installment": late.number,
            "currency": owed.currency, "owed_minor": owed.minor, "outstanding_minor": plan.outstanding.minor,
            "invoices": [i.number for i in plan.proposal.invoices]}
    try:
        break_plan(stored.creditor_id, stored.debtor_id, plan.plan_id, reason, now, ports.store, ports.policies_for,
                   ports.closed_for, task=task)
    except PlanAlreadyDecided:
        return  # paid in full or broken by another run meanwhile


def _mail(kind: PlanMailKind, creditor: Creditor, debtor: Debtor, stored: StoredPlan, installment: Installment,
          breaks_on: date | None, ports: CollectionPorts, now: datetime) -> None:
    recipients = tuple(debtor.reachable_emails)
    if not recipients:
        return  # no address to write to: the plan still records the step, finance sees it in the audit
    plan = stored.plan
    link = ports.link_for(debtor, now) if ports.link_for is not None else ""
    ports.mailer.send_plan_mail(PlanMail(kind, creditor, debtor, recipients, plan.plan_id, installment,
                                         plan.owed_on(installment), plan.outstanding, plan.autopay is not None,
                                         breaks_on, link))


def _mail_audit(action: str, stored: StoredPlan, installment: Installment, today: date) -> dict[str, Any]:
    owed = stored.plan.owed_on(installment)
    return {"action": action, "actor": ACTOR, "plan_id": stored.plan.plan_id, "installment": installment.number,
            "due_on": installment.due_on.isoformat(), "currency": owed.currency, "owed_minor": owed.minor,
            "on": today.isoformat()}


def _charge_audit(action: str, request: ChargeRequest) -> dict[str, Any]:
    return {"action": action, "actor": ACTOR, "plan_id": request.plan_id, "installment": request.number,
            "attempt": request.attempt, "currency": request.amount.currency, "amount_minor": request.amount.minor,
            "idempotency_key": request.idempotency_key, "method": request.method}
