"""Paying online: open a Checkout Session for what the debtor chose, and apply what Stripe reports.

Stripe delivers each event at least once and in any order. Two guards make that harmless
(docs/architecture/payments.md):
- each event id is recorded once, in the same transaction as what it changes, so a second delivery
  changes nothing;
- a payment is keyed by its PaymentIntent id and carries its status and a version, so
  `checkout.session.completed` and `payment_intent.succeeded` for one payment apply it once,
  whichever comes first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from relance.adapters.dynamo import VersionConflict
from relance.domain.errors import InvalidAllocation, RelanceError, UnknownDebtor
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.parties import Creditor, Debtor
from relance.domain.payments import (
    MAX_INVOICES_PER_PAYMENT,
    Allocation,
    AllocationResult,
    Payment,
    PaymentChange,
    PaymentStatus,
    allocate,
    fail_payment,
    hold_while_processing,
    refund_payment,
    settle_invoices,
    settle_payment,
)
from relance.domain.plans import RUNNING, AttemptStatus, apply_payment, record_attempt_result
from relance.domain.policy import DunningPolicy, PolicyBook
from relance.services.plans import StoredPlan

if TYPE_CHECKING:
    from relance.services.autopay import AutopayPorts, AutopaySetup

MAX_CONFLICT_RETRIES = 5
ACTOR = "stripe"


class StripeEventKind(StrEnum):
    CHECKOUT_COMPLETED = "checkout.session.completed"
    ASYNC_PAYMENT_SUCCEEDED = "checkout.session.async_payment_succeeded"
    ASYNC_PAYMENT_FAILED = "checkout.session.async_payment_failed"
    PAYMENT_INTENT_SUCCEEDED = "payment_intent.succeeded"
    PAYMENT_INTENT_FAILED = "payment_intent.payment_failed"
    CHARGE_REFUNDED = "charge.refunded"
    DISPUTE_CREATED = "charge.dispute.created"


HANDLED_STRIPE_EVENTS = frozenset(kind.value for kind in StripeEventKind)
_SUCCESS = {StripeEventKind.ASYNC_PAYMENT_SUCCEEDED, StripeEventKind.PAYMENT_INTENT_SUCCEEDED}


class Outcome(StrEnum):
    APPLIED = "applied"  # the money paid invoices (and maybe left a credit)
    PROCESSING = "processing"  # a debit is on its way: dunning waits
    FAILED = "failed"  # the debit was refused: dunning resumes
    REFUNDED = "refunded"  # a refund re-opened invoices or took back a credit
    DISPUTE_TASK = "dispute_task"  # a card dispute became a task for finance
    LINKED = "linked"  # nothing moved; the event only told us an id we did not have yet
    ALREADY_APPLIED = "already_applied"  # another event about the same payment had done it
    DUPLICATE = "duplicate"  # this very event was handled before
    IGNORED = "ignored"  # a type we do not act on, or a state that needs nothing
    NOT_OURS = "not_ours"  # no Relance metadata: a payment made another way on the same Stripe account
    UNKNOWN_DEBTOR = "unknown_debtor"  # Relance metadata naming a debtor we do not have
    AUTOPAY_SET = "autopay_set"  # a saved card or SEPA mandate now pays a plan's installments (services.autopay)
    PLAN_NOT_RUNNING = "plan_not_running"  # ... refused: the plan is no longer accepted or active


@dataclass(frozen=True, slots=True)
class StripeFact:
    """What one Stripe event says, reduced to what Relance acts on (built by adapters.checkout)."""

    event_id: str
    event_type: str
    payment_id: str | None = None  # the PaymentIntent id
    checkout_session_id: str | None = None
    charge_id: str | None = None
    amount: Money | None = None  # the payment's amount (or the disputed amount)
    paid: bool = False  # the money is in (a completed session with payment_status "paid", a succeeded intent)
    creditor_id: str | None = None  # from our metadata
    debtor_id: str | None = None
    requested: tuple[Allocation, ...] = ()
    method: str | None = None  # "card" | "sepa_debit" when the event says
    refunded_total: Money | None = None  # charge.amount_refunded: Stripe's running total
    dispute_id: str | None = None
    dispute_reason: str | None = None
    relance_kind: str | None = None  # "installment": a payment for a plan installment (metadata)
    plan_id: str | None = None
    installment: int | None = None  # the installment number it pays
    attempt: int | None = None  # the off-session attempt number (relance.services.installments)
    autopay: AutopaySetup | None = None  # a completed Checkout Session in setup mode for a plan (services.autopay)

    @property
    def kind(self) -> StripeEventKind | None:
        return StripeEventKind(self.event_type) if self.event_type in HANDLED_STRIPE_EVENTS else None


@dataclass(frozen=True, slots=True)
class PaymentWrite:
    """Everything one event changes, written in one transaction with the event's own record."""

    event_id: str
    event_type: str
    outcome: Outcome
    payment: Payment | None = None  # the payment's new state; its `version` is the one read
    creditor_id: str | None = None  # whose audit trail, credit and tasks the write touches
    debtor_id: str | None = None
    invoices: tuple[Invoice, ...] = ()
    credit_delta: Money | None = None
    audit: dict[str, Any] | None = None
    task: dict[str, Any] | None = None
    plan: StoredPlan | None = None  # the installment plan the payment paid (its `version` is the one read)
    collected_on: date | None = None  # the money came in that day: a line of the collections export (AP14)


class PaymentStore(Protocol):
    def event_seen(self, event_id: str) -> bool: ...

    def get_creditor(self, creditor_id: str) -> Creditor | None: ...

    def debtor_with_invoices(self, creditor_id: str, debtor_id: str) -> tuple[Debtor | None, list[Invoice]]: ...

    def get_payment(self, payment_id: str) -> Payment | None: ...

    def payment_id_for_charge(self, charge_id: str) -> str | None: ...

    def plans_of(self, creditor_id: str, debtor_id: str) -> list[StoredPlan]: ...

    def commit(self, write: PaymentWrite, now: datetime) -> bool:
        """Write it all in one transaction; False when the event was recorded meanwhile.

        Raises VersionConflict when the payment or an invoice changed since it was read.
        """


@dataclass(frozen=True)
class PaymentPorts:
    """What applying Stripe's facts needs, built by the webhook handler."""

    store: PaymentStore
    closed_for: Callable[[Creditor], Container[date]]
    policies_for: Callable[[Creditor], PolicyBook]
    autopay: AutopayPorts | None = None  # None: saved payment methods are not recorded here


def handle_stripe_event(fact: StripeFact, now: datetime, ports: PaymentPorts) -> Outcome:
    """Apply one verified Stripe event once; read again and retry when a dunning step wrote meanwhile."""
    if ports.store.event_seen(fact.event_id):
        return Outcome.DUPLICATE
    if fact.autopay is not None:
        from relance.services.autopay import record_autopay  # autopay imports this module

        return record_autopay(fact.autopay, fact.event_id, now, ports.autopay)
    for _attempt in range(MAX_CONFLICT_RETRIES):
        write = _decide(fact, now, ports)
        try:
            if not ports.store.commit(write, now):
                return Outcome.DUPLICATE
        except VersionConflict:
            continue
        return write.outcome
    raise VersionConflict(f"payment {fact.payment_id} kept changing while event {fact.event_id} was applied")


@dataclass
class _Context:
    """What applying a fact to one debtor needs: their invoices, policy, closed days and today."""

    creditor: Creditor
    debtor: Debtor
    invoices: list[Invoice]
    book: PolicyBook
    closed: Container[date]
    today: date

    @property
    def policy(self) -> DunningPolicy:
        return self.book.for_debtor(self.debtor.kind, self.debtor.risk_band)


def _context(ports: PaymentPorts, creditor_id: str, debtor_id: str, now: datetime) -> _Context | None:
    creditor = ports.store.get_creditor(creditor_id)
    if creditor is None:
        return None
    debtor, invoices = ports.store.debtor_with_invoices(creditor_id, debtor_id)
    if debtor is None:
        return None
    return _Context(creditor, debtor, invoices, ports.policies_for(creditor), ports.closed_for(creditor),
                    now.astimezone(ZoneInfo(creditor.timezone)).date())


def _decide(fact: StripeFact, now: datetime, ports: PaymentPorts) -> PaymentWrite:
    kind = fact.kind
    if kind is None or (fact.payment_id is None and fact.charge_id is None):
        return PaymentWrite(fact.event_id, fact.event_type, Outcome.IGNORED)
    if kind is StripeEventKind.CHARGE_REFUNDED:
        return _refund(fact, now, ports)
    if kind is StripeEventKind.DISPUTE_CREATED:
        return _dispute(fact, now, ports)
    return _payment_event(fact, kind, now, ports)


def _payment_event(fact: StripeFact, kind: StripeEventKind, now: datetime, ports: PaymentPorts) -> PaymentWrite:
    """A checkout or PaymentIntent event: the payment processing, succeeded or failed."""
    ignored = PaymentWrite(fact.event_id, fact.event_type, Outcome.IGNORED)
    if fact.payment_id is None:
        return ignored
    known = ports.store.get_payment(fact.payment_id)
    is_new = known is None or not known.creditor_id  # unknown, or only known from an early refund
    creditor_id = known.creditor_id if not is_new else fact.creditor_id
    debtor_id = known.debtor_id if not is_new else fact.debtor_id
    if not creditor_id or not debtor_id or (is_new and fact.amount is None):
        return PaymentWrite(fact.event_id, fact.event_type, Outcome.NOT_OURS)
    context = _context(ports, creditor_id, debtor_id, now)
    if context is None:
        return PaymentWrite(fact.event_id, fact.event_type, Outcome.UNKNOWN_DEBTOR)
    plan = _plan_paid(fact, creditor_id, debtor_id, ports)
    if is_new and plan is not None and not fact.requested and fact.amount is not None:
        # An off-session charge names no invoice: it pays the plan's invoices, oldest first.
        fact = replace(fact, requested=_plan_shares(plan, context.invoices, fact.amount))
    payment = _with_links(_payment_from(fact, known) if is_new else known, fact)
    policy = context.policy
    change: PaymentChange | None = None
    if kind is StripeEventKind.PAYMENT_INTENT_FAILED and plan is not None and fact.installment is not None:
        failed = _installment_failed(fact, plan, context.today)
        if failed is not None and (is_new or payment.status is not PaymentStatus.PROCESSING):
            return failed
    if kind in _SUCCESS or (kind is StripeEventKind.CHECKOUT_COMPLETED and fact.paid):
        change = settle_payment(payment, context.invoices, policy, context.closed)
    elif kind is StripeEventKind.CHECKOUT_COMPLETED and is_new:
        change = hold_while_processing(payment, context.invoices, context.today, policy, context.closed)
    elif kind is StripeEventKind.ASYNC_PAYMENT_FAILED and (is_new or payment.status is PaymentStatus.PROCESSING):
        change = fail_payment(payment, context.invoices, policy, context.closed)
    elif kind is StripeEventKind.PAYMENT_INTENT_FAILED and not is_new and payment.status is PaymentStatus.PROCESSING:
        change = fail_payment(payment, context.invoices, policy, context.closed)
    # A failed card attempt on a payment we do not know yet needs nothing: the debtor is still on the
    # checkout page and can try again; `checkout.session.async_payment_failed` ends a debit for good.
    if change is None:
        if is_new or known is None:
            return ignored
        if payment == known:
            outcome = Outcome.ALREADY_APPLIED if known.is_settled() else Outcome.IGNORED
            return PaymentWrite(fact.event_id, fact.event_type, outcome)
        return PaymentWrite(fact.event_id, fact.event_type, Outcome.LINKED, payment=payment,
                            creditor_id=creditor_id, debtor_id=debtor_id)
    outcome = {PaymentStatus.SUCCEEDED: Outcome.APPLIED, PaymentStatus.PROCESSING: Outcome.PROCESSING,
               PaymentStatus.FAILED: Outcome.FAILED}[change.payment.status]
    audit = _payment_audit(fact, change)
    paid_plan = None
    if change.payment.status is PaymentStatus.SUCCEEDED:
        paid_plan = plan or _plan_of_invoices(creditor_id, debtor_id, change, ports)
        if paid_plan is not None:
            paid_plan, plan_audit = _pay_installments(paid_plan, fact, change, context.today)
            audit.update(plan_audit)
    elif change.payment.status is PaymentStatus.FAILED and plan is not None and fact.installment is not None:
        failed = _installment_failed(fact, plan, context.today)
        if failed is not None and failed.plan is not None and failed.audit is not None:
            paid_plan = failed.plan
            audit.update({k: v for k, v in failed.audit.items() if k.startswith("plan") or k == "installment"})
    return PaymentWrite(fact.event_id, fact.event_type, outcome, payment=change.payment, creditor_id=creditor_id,
                        debtor_id=debtor_id, invoices=change.invoices, credit_delta=change.credit_delta,
                        audit=audit, plan=paid_plan,
                        collected_on=context.today if outcome is Outcome.APPLIED else None)


# --- installment plans: payments during a plan go to its installments first (issue 7) -------------


def _plan_paid(fact: StripeFact, creditor_id: str, debtor_id: str, ports: PaymentPorts) -> StoredPlan | None:
    """The running plan a payment names in its metadata (an installment charge or a portal installment payment)."""
    if fact.relance_kind != "installment" or not fact.plan_id:
        return None
    return next((p for p in ports.store.plans_of(creditor_id, debtor_id)
                 if p.plan.plan_id == fact.plan_id and p.plan.state in RUNNING), None)


def _plan_of_invoices(creditor_id: str, debtor_id: str, change: PaymentChange,
                      ports: PaymentPorts) -> StoredPlan | None:
    """The running plan covering invoices this payment paid (a plain portal payment during a plan)."""
    paid = {a.invoice_number for a in change.applied if a.amount.is_positive()}
    if not paid:
        return None
    return next((p for p in ports.store.plans_of(creditor_id, debtor_id) if p.plan.state in RUNNING
                 and paid & {i.number for i in p.plan.proposal.invoices}), None)


def _plan_shares(stored: StoredPlan, invoices: Sequence[Invoice], amount: Money) -> tuple[Allocation, ...]:
    numbers = {i.number for i in stored.plan.proposal.invoices}
    return allocate(amount, [i for i in invoices if i.number in numbers]).allocations


def _pay_installments(stored: StoredPlan, fact: StripeFact, change: PaymentChange,
                      today: date) -> tuple[StoredPlan, dict[str, Any]]:
    """The plan once what the payment paid on its invoices went to its installments, oldest first."""
    plan = stored.plan
    numbers = {i.number for i in plan.proposal.invoices}
    on_plan = sum((a.amount.minor for a in change.applied if a.invoice_number in numbers), 0)
    if fact.plan_id == plan.plan_id and fact.installment is not None:
        on_plan = change.payment.amount.minor  # paid for the plan itself: all of it counts
    amount = Money(min(on_plan, plan.outstanding.minor), plan.currency)
    if fact.plan_id == plan.plan_id and fact.installment is not None and fact.attempt is not None:
        plan = record_attempt_result(plan, fact.installment, fact.attempt, AttemptStatus.SUCCEEDED,
                                     change.payment.payment_id, today)
    audit: dict[str, Any] = {"plan_id": plan.plan_id}
    if amount.is_positive():
        result = apply_payment(plan, amount, today)
        plan = result.plan
        audit["plan_installments"] = {str(a.number): a.amount.minor for a in result.allocations}
    audit["plan_state"] = plan.state.value
    if plan.state is not stored.plan.state:
        audit["plan_from_state"] = stored.plan.state.value
    return replace(stored, plan=plan), audit


def _installment_failed(fact: StripeFact, stored: StoredPlan, today: date) -> PaymentWrite | None:
    """Stripe refused an installment charge: the attempt is recorded as failed; grace and reminder follow."""
    if fact.installment is None or fact.attempt is None:
        return None  # a portal payment of an installment that failed: the debtor is still on the page
    attempt = fact.attempt
    plan = record_attempt_result(stored.plan, fact.installment, attempt, AttemptStatus.FAILED, fact.payment_id,
                                 today)
    if plan == stored.plan:
        return None
    audit = {"action": "installment_charge_failed", "actor": ACTOR, "plan_id": plan.plan_id,
             "installment": fact.installment, "attempt": attempt, "payment_id": fact.payment_id,
             "stripe_event_id": fact.event_id,
             "amount_minor": fact.amount.minor if fact.amount else None,
             "currency": fact.amount.currency if fact.amount else None}
    return PaymentWrite(fact.event_id, fact.event_type, Outcome.FAILED, creditor_id=stored.creditor_id,
                        debtor_id=stored.debtor_id, audit=audit, plan=replace(stored, plan=plan))


def _payment_from(fact: StripeFact, skeleton: Payment | None) -> Payment:
    """A payment first heard of through this event (keeping what an early refund recorded)."""
    assert fact.amount is not None and fact.creditor_id and fact.debtor_id
    base = Payment(fact.payment_id or "", fact.creditor_id, fact.debtor_id, fact.amount, PaymentStatus.PROCESSING,
                   fact.requested)
    if skeleton is None:
        return base
    return replace(base, refund_seen=skeleton.refund_seen, charge_id=skeleton.charge_id, version=skeleton.version)


def _with_links(payment: Payment, fact: StripeFact) -> Payment:
    """The payment with the ids and method this event tells, where they were not known yet."""
    return replace(
        payment,
        checkout_session_id=payment.checkout_session_id or fact.checkout_session_id,
        charge_id=payment.charge_id or fact.charge_id,
        method=payment.method or fact.method,
    )


def _payment_audit(fact: StripeFact, change: PaymentChange) -> dict[str, Any]:
    """The audit event finance reads: amounts, invoice numbers, Stripe ids, method."""
    payment = change.payment
    action = {PaymentStatus.SUCCEEDED: "payment_received", PaymentStatus.PROCESSING: "payment_processing",
              PaymentStatus.FAILED: "payment_failed"}[payment.status]
    audit: dict[str, Any] = {
        "action": action,
        "actor": ACTOR,
        "payment_id": payment.payment_id,
        "checkout_session_id": payment.checkout_session_id,
        "charge_id": payment.charge_id,
        "stripe_event_id": fact.event_id,
        "method": payment.method,
        "currency": payment.currency,
        "amount_minor": payment.amount.minor,
        "invoices": [a.invoice_number for a in (change.applied or payment.requested)],
    }
    if payment.status is PaymentStatus.SUCCEEDED:
        audit["allocations"] = {a.invoice_number: a.amount.minor for a in change.applied}
        audit["credit_minor"] = payment.credit_or_zero.minor
    if change.refunded is not None:
        audit["refunded_minor"] = change.refunded.minor
        audit["reopened"] = {a.invoice_number: a.amount.minor for a in change.reopened}
    if payment.status is PaymentStatus.PROCESSING and payment.held_until is not None:
        audit["dunning_held_until"] = payment.held_until.isoformat()
    return audit


def _payment_of(fact: StripeFact, ports: PaymentPorts) -> tuple[str | None, Payment | None]:
    payment_id = fact.payment_id or (ports.store.payment_id_for_charge(fact.charge_id) if fact.charge_id else None)
    return payment_id, ports.store.get_payment(payment_id) if payment_id else None


def _refund(fact: StripeFact, now: datetime, ports: PaymentPorts) -> PaymentWrite:
    """Stripe refunded (part of) a payment: take back its credit, then re-open what it had paid."""
    payment_id, payment = _payment_of(fact, ports)
    if payment_id is None or fact.refunded_total is None:
        return PaymentWrite(fact.event_id, fact.event_type, Outcome.NOT_OURS)
    if payment is None or not payment.is_settled():
        # The refund overtook the payment's own events: keep Stripe's total until the payment arrives.
        seen = fact.refunded_total
        if payment is None:
            payment = Payment(payment_id, "", "", fact.amount or seen, PaymentStatus.PROCESSING)
        elif payment.refund_seen is not None and payment.refund_seen >= seen:
            return PaymentWrite(fact.event_id, fact.event_type, Outcome.ALREADY_APPLIED)
        return PaymentWrite(fact.event_id, fact.event_type, Outcome.LINKED,
                            payment=replace(_with_links(payment, fact), refund_seen=seen))
    context = _context(ports, payment.creditor_id, payment.debtor_id, now)
    if context is None:
        return PaymentWrite(fact.event_id, fact.event_type, Outcome.UNKNOWN_DEBTOR)
    change = refund_payment(_with_links(payment, fact), fact.refunded_total, context.invoices, context.policy,
                            context.closed)
    if change is None:
        return PaymentWrite(fact.event_id, fact.event_type, Outcome.ALREADY_APPLIED)
    audit = _payment_audit(fact, change) | {"action": "payment_refunded"}
    return PaymentWrite(fact.event_id, fact.event_type, Outcome.REFUNDED, payment=change.payment,
                        creditor_id=payment.creditor_id, debtor_id=payment.debtor_id, invoices=change.invoices,
                        credit_delta=change.credit_delta, audit=audit)


def _dispute(fact: StripeFact, now: datetime, ports: PaymentPorts) -> PaymentWrite:
    """A card dispute: finance must answer it (with evidence) before Stripe's deadline."""
    _payment_id, payment = _payment_of(fact, ports)
    if payment is None or not payment.creditor_id:
        return PaymentWrite(fact.event_id, fact.event_type, Outcome.NOT_OURS)
    creditor = ports.store.get_creditor(payment.creditor_id)
    today = now.astimezone(ZoneInfo(creditor.timezone if creditor else "Europe/Paris")).date()
    details = {
        "payment_id": payment.payment_id,
        "charge_id": fact.charge_id or payment.charge_id,
        "dispute_id": fact.dispute_id,
        "reason": fact.dispute_reason,
        "currency": (fact.amount or payment.amount).currency,
        "amount_minor": (fact.amount or payment.amount).minor,
        "invoices": [a.invoice_number for a in payment.allocations or payment.requested],
    }
    task = {"creditor_id": payment.creditor_id, "debtor_id": payment.debtor_id, "due_on": today.isoformat(),
            "kind": "card_dispute", **details}
    audit = {"action": "card_dispute_opened", "actor": ACTOR, "stripe_event_id": fact.event_id, **details}
    return PaymentWrite(fact.event_id, fact.event_type, Outcome.DISPUTE_TASK, creditor_id=payment.creditor_id,
                        debtor_id=payment.debtor_id, task=task, audit=audit)


# --- the debtor's side: choosing what to pay -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckoutSession:
    """A Stripe Checkout Session (or the stand-in's): where to send the debtor to pay."""

    session_id: str
    url: str


@dataclass(frozen=True, slots=True)
class CheckoutRecord:
    """What the portal keeps of a Checkout Session it opened, to show the right page on return."""

    session_id: str
    creditor_id: str
    debtor_id: str
    allocation: AllocationResult
    url: str
    created_at: datetime
    success_url: str
    cancel_url: str
    payment_id: str | None = None  # known once Stripe reported the session completed
    metadata: tuple[tuple[str, str], ...] = ()  # more metadata for Stripe, e.g. the plan installment it pays


class Checkout(Protocol):
    def create_checkout(self, debtor: Debtor, creditor: Creditor, allocations: AllocationResult, success_url: str,
                        cancel_url: str, idempotency_key: str,
                        metadata_extra: dict[str, str] | None = None) -> CheckoutSession: ...


class CheckoutStore(Protocol):
    def put_checkout(self, record: CheckoutRecord) -> None: ...

    def get_checkout(self, session_id: str) -> CheckoutRecord | None: ...

    def get_payment(self, payment_id: str) -> Payment | None: ...


def choose_invoices(invoices: Sequence[Invoice], numbers: Sequence[str]) -> AllocationResult:
    """What paying the chosen invoices means: their whole balances, oldest first, one currency."""
    return settle_invoices(invoices, numbers)


def choose_amount(invoices: Sequence[Invoice], amount: Money) -> AllocationResult:
    """What paying `amount` means: the oldest open invoices of its currency first, never more than is owed."""
    if not amount.is_positive():
        raise InvalidAllocation(f"the amount must be more than zero, got {amount}", reason="not_positive")
    result = allocate(amount, invoices, max_invoices=MAX_INVOICES_PER_PAYMENT)
    if result.unallocated.is_positive():
        raise InvalidAllocation(f"{amount} is more than the {result.allocated} owed in {amount.currency}",
                                reason="more_than_owed", owed_minor=result.allocated.minor, currency=amount.currency)
    return result


def idempotency_key(creditor_id: str, debtor_id: str, allocation: AllocationResult, nonce: str) -> str:
    """The key of one Checkout Session request: the same form sent twice opens one session.

    It names the debtor, what is paid (amounts from our data) and the form's own nonce, so a
    changed balance or a new visit to the page asks Stripe for a new session.
    """
    shares = ",".join(f"{a.invoice_number}={a.amount.minor}" for a in allocation.allocations)
    text = f"{creditor_id}\n{debtor_id}\n{allocation.currency}\n{shares}\n{nonce}"
    return "relance-pay-" + hashlib.sha256(text.encode()).hexdigest()[:40]


def start_checkout(creditor: Creditor, debtor: Debtor, allocation: AllocationResult, nonce: str, success_url: str,
                   cancel_url: str, now: datetime, checkout: Checkout, store: CheckoutStore) -> CheckoutSession:
    """Open (once per form) the Checkout Session paying `allocation`, and remember whose it is."""
    key = idempotency_key(creditor.creditor_id, debtor.debtor_id, allocation, nonce)
    session = checkout.create_checkout(debtor, creditor, allocation, success_url, cancel_url, key)
    store.put_checkout(CheckoutRecord(session.session_id, creditor.creditor_id, debtor.debtor_id, allocation,
                                      session.url, now, success_url, cancel_url))
    return session


class PaymentProgress(StrEnum):
    CONFIRMING = "confirming"  # back from Stripe; its confirmation has not reached us yet
    PROCESSING = "processing"
    PAID = "paid"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ReturnView:
    """What the return page says about one Checkout Session."""

    record: CheckoutRecord
    progress: PaymentProgress
    payment: Payment | None


def payment_progress(session_id: str, creditor_id: str, debtor_id: str, store: CheckoutStore) -> ReturnView | None:
    """Where the debtor's payment through this session stands; None when it is not this debtor's session."""
    record = store.get_checkout(session_id)
    if record is None or (record.creditor_id, record.debtor_id) != (creditor_id, debtor_id):
        return None
    payment = store.get_payment(record.payment_id) if record.payment_id else None
    if payment is None or not payment.creditor_id:
        return ReturnView(record, PaymentProgress.CONFIRMING, None)
    progress = {PaymentStatus.SUCCEEDED: PaymentProgress.PAID, PaymentStatus.PROCESSING: PaymentProgress.PROCESSING,
                PaymentStatus.FAILED: PaymentProgress.FAILED}[payment.status]
    return ReturnView(record, progress, payment)


# --- finance records a payment made outside Stripe (issue 8): a bank transfer or a cheque ---------

MANUAL_METHODS = ("bank_transfer", "cheque")
MAX_REFERENCE_CHARS = 100
MAX_PAYMENT_AGE_DAYS = 366  # older money belongs in the accounting system, not in dunning
MANUAL_EVENT_TYPE = "manual_payment"


@dataclass(frozen=True, slots=True)
class ManualPayment:
    """What finance typed: money received outside Stripe. `numbers` empty: oldest invoices first."""

    amount: Money
    received_on: date
    method: str
    reference: str
    numbers: tuple[str, ...] = ()
    nonce: str = ""  # the form's own id: the same form sent twice records the payment once


class ManualPaymentRefused(RelanceError):
    """The payment form has problems; `problems` maps each field to the code of what is wrong with it."""

    code = "manual_payment.refused"

    def __init__(self, message: str, problems: dict[str, str]) -> None:
        super().__init__(message, problems=problems)
        self.problems = problems


def check_manual_payment(payment: ManualPayment, invoices: Sequence[Invoice], today: date) -> dict[str, str]:
    """Every problem of the payment form at once, by field."""
    problems: dict[str, str] = {}
    if not payment.amount.is_positive():
        problems["amount"] = "not_positive"
    if payment.received_on > today:
        problems["received_on"] = "in_the_future"
    elif (today - payment.received_on).days > MAX_PAYMENT_AGE_DAYS:
        problems["received_on"] = "too_old"
    if payment.method not in MANUAL_METHODS:
        problems["method"] = "unknown"
    if not payment.reference.strip():
        problems["reference"] = "required"
    elif len(payment.reference) > MAX_REFERENCE_CHARS:
        problems["reference"] = "too_long"
    open_numbers = {i.number for i in invoices if i.balance.is_positive() and i.currency == payment.amount.currency}
    if any(n not in open_numbers for n in payment.numbers):
        problems["invoices"] = "not_open"
    elif len(payment.numbers) > MAX_INVOICES_PER_PAYMENT:
        problems["invoices"] = "too_many"
    if not payment.nonce:
        problems["nonce"] = "missing"
    return problems


def manual_payment_id(creditor_id: str, debtor_id: str, nonce: str) -> str:
    """The payment's id, from the form's nonce: a double submit names the same payment."""
    digest = hashlib.sha256(f"{creditor_id}\n{debtor_id}\n{nonce}".encode()).hexdigest()[:32]
    return f"manual-{digest}"


def record_manual_payment(creditor_id: str, debtor_id: str, entered: ManualPayment, actor: str, now: datetime,
                          ports: PaymentPorts) -> Outcome:
    """Apply money received outside Stripe exactly as a Stripe payment: invoices paid oldest first (or the
    chosen ones), the rest kept as a credit, dunning stopped on what is paid, a plan's installments paid.

    Returns APPLIED, or DUPLICATE when this form was recorded already; raises ManualPaymentRefused,
    or UnknownDebtor when the debtor is not the creditor's.
    """
    payment_id = manual_payment_id(creditor_id, debtor_id, entered.nonce)
    event_id = f"{MANUAL_EVENT_TYPE}:{payment_id}"  # its conditional put makes the second submit do nothing
    if entered.nonce and ports.store.event_seen(event_id):
        return Outcome.DUPLICATE
    for _attempt in range(MAX_CONFLICT_RETRIES):
        context = _context(ports, creditor_id, debtor_id, now)
        if context is None:
            raise UnknownDebtor(f"no debtor {debtor_id!r} for creditor {creditor_id!r}", debtor_id=debtor_id)
        problems = check_manual_payment(entered, context.invoices, context.today)
        if problems:
            raise ManualPaymentRefused(f"the payment form has problems: {sorted(problems)}", problems)
        chosen = [i for i in context.invoices if not entered.numbers or i.number in entered.numbers]
        requested = allocate(entered.amount, chosen, max_invoices=MAX_INVOICES_PER_PAYMENT).allocations
        received = Payment(payment_id, creditor_id, debtor_id, entered.amount, PaymentStatus.PROCESSING, requested,
                           method=entered.method, reference=entered.reference.strip())
        change = settle_payment(received, context.invoices, context.policy, context.closed)
        assert change is not None  # a new payment is never settled already
        fact = StripeFact(event_id, MANUAL_EVENT_TYPE, payment_id=payment_id, amount=entered.amount)
        audit = {**_payment_audit(fact, change), "actor": actor, "stripe_event_id": None,
                 "reference": entered.reference.strip(), "received_on": entered.received_on.isoformat()}
        paid_plan = _plan_of_invoices(creditor_id, debtor_id, change, ports)
        if paid_plan is not None:
            paid_plan, plan_audit = _pay_installments(paid_plan, fact, change, context.today)
            audit.update(plan_audit)
        write = PaymentWrite(event_id, MANUAL_EVENT_TYPE, Outcome.APPLIED, payment=change.payment,
                             creditor_id=creditor_id, debtor_id=debtor_id, invoices=change.invoices,
                             credit_delta=change.credit_delta, audit=audit, plan=paid_plan,
                             collected_on=entered.received_on)
        try:
            if not ports.store.commit(write, now):
                return Outcome.DUPLICATE
        except VersionConflict:
            continue
        return Outcome.APPLIED
    raise VersionConflict(f"invoices of {debtor_id} kept changing while a payment was recorded")


# --- credit notes (imported e-invoices of type 381 and the other credit types) -------------------

CREDIT_NOTE_EVENT_TYPE = "credit_note"
CREDIT_NOTE_METHOD = "credit_note"


@dataclass(frozen=True, slots=True)
class CreditNoteEntry:
    """A credit note the creditor issued to a debtor: `amount` off the invoices it names, else a credit."""

    number: str
    amount: Money
    issued_on: date
    referenced_invoices: tuple[str, ...] = ()
    file_name: str | None = None


def credit_note_payment_id(creditor_id: str, number: str) -> str:
    """The credit note's id, from its number: the same credit note imported twice names the same record."""
    digest = hashlib.sha256(f"{creditor_id}\n{number}".encode()).hexdigest()[:32]
    return f"credit-note-{digest}"


def record_credit_note(creditor_id: str, debtor_id: str, note: CreditNoteEntry, actor: str, now: datetime,
                       ports: PaymentPorts) -> tuple[Outcome, PaymentChange | None]:
    """Lower what the debtor owes by a credit note, through the same write as a payment finance records:
    the open invoices it refers to are reduced (each at most to zero, dunning stopped on what is
    settled), the rest, or all of it when it names no open invoice, becomes the debtor's credit.

    Returns (APPLIED, the change) or (DUPLICATE, None) when this credit note was applied already:
    its record is keyed on the creditor and its number, put only if absent with everything else.
    Raises UnknownDebtor when the debtor is not the creditor's.
    """
    payment_id = credit_note_payment_id(creditor_id, note.number)
    event_id = f"{CREDIT_NOTE_EVENT_TYPE}:{payment_id}"
    if ports.store.event_seen(event_id):
        return Outcome.DUPLICATE, None
    for _attempt in range(MAX_CONFLICT_RETRIES):
        context = _context(ports, creditor_id, debtor_id, now)
        if context is None:
            raise UnknownDebtor(f"no debtor {debtor_id!r} for creditor {creditor_id!r}", debtor_id=debtor_id)
        referenced = set(note.referenced_invoices)
        chosen = [i for i in context.invoices if i.number in referenced]
        requested = allocate(note.amount, chosen, max_invoices=MAX_INVOICES_PER_PAYMENT).allocations
        received = Payment(payment_id, creditor_id, debtor_id, note.amount, PaymentStatus.PROCESSING, requested,
                           method=CREDIT_NOTE_METHOD, reference=note.number)
        # Nothing requested would mean "oldest first" to a payment; a credit note that names no open
        # invoice stays a credit finance can see, so it is settled against no invoice at all.
        change = settle_payment(received, context.invoices if requested else [], context.policy, context.closed)
        assert change is not None  # a new record is never settled already
        fact = StripeFact(event_id, CREDIT_NOTE_EVENT_TYPE, payment_id=payment_id, amount=note.amount)
        audit = {**_payment_audit(fact, change), "action": "credit_note_applied", "actor": actor,
                 "stripe_event_id": None, "credit_note": note.number, "issued_on": note.issued_on.isoformat(),
                 "referenced_invoices": list(note.referenced_invoices), "file": note.file_name}
        paid_plan = _plan_of_invoices(creditor_id, debtor_id, change, ports)
        if paid_plan is not None:
            paid_plan, plan_audit = _pay_installments(paid_plan, fact, change, context.today)
            audit.update(plan_audit)
        write = PaymentWrite(event_id, CREDIT_NOTE_EVENT_TYPE, Outcome.APPLIED, payment=change.payment,
                             creditor_id=creditor_id, debtor_id=debtor_id, invoices=change.invoices,
                             credit_delta=change.credit_delta, audit=audit, plan=paid_plan)
        try:
            if not ports.store.commit(write, now):
                return Outcome.DUPLICATE, None
        except VersionConflict:
            continue
        return Outcome.APPLIED, change
    raise VersionConflict(f"invoices of {debtor_id} kept changing while a credit note was applied")
