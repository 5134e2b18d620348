"""Automatic payment of a plan's installments (issue 7): the debtor saves a card or a SEPA mandate on
Stripe Checkout (`mode="setup"`), Stripe reports it, the plan keeps it until the debtor stops it.

- `start_autopay_setup` opens (once per form) the setup session for a running plan;
- `record_autopay` applies Stripe's `checkout.session.completed` (mode setup): the plan, still
  running, gets its `Autopay`, with an audit event and the Stripe event's record, in one transaction;
  the same event delivered twice changes the plan once and writes one audit event;
- `stop_autopay` removes it, with an audit event.

Charging each installment off-session on its date is relance.services.installments' job; it reads
`Plan.autopay`. No personal data in metadata or logs: ids only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from relance.domain.errors import RelanceError
from relance.domain.parties import Creditor, Debtor
from relance.domain.plans import RUNNING, Autopay
from relance.services.payments import CheckoutSession, Outcome
from relance.services.plans import PlanChanged, StoredPlan

AUTOPAY_KIND = "autopay"  # metadata.relance_kind of a setup session
METHODS = ("card", "sepa_debit")
ACTOR = "stripe"
MAX_ATTEMPTS = 3


class PlanNotRunning(RelanceError):
    """Automatic payment is only for a plan that is accepted or active (not proposed, broken or completed)."""

    code = "autopay.plan_not_running"


# --- the portal's side: opening the setup session --------------------------------------------------


@dataclass(frozen=True, slots=True)
class SetupRequest:
    """What the setup session is for: whose plan, in which currency, the Stripe customer if we know one."""

    creditor: Creditor
    debtor: Debtor
    plan_id: str
    currency: str
    customer_id: str | None  # None: the adapter creates the customer first
    success_url: str
    cancel_url: str

    @property
    def metadata(self) -> dict[str, str]:
        """The session's and the SetupIntent's metadata: our ids only."""
        return {"relance_kind": AUTOPAY_KIND, "creditor_id": self.creditor.creditor_id,
                "debtor_id": self.debtor.debtor_id, "plan_id": self.plan_id}


@dataclass(frozen=True, slots=True)
class SetupCheckoutRecord:
    """A setup session the portal opened (the stand-in checkout serves its page from it)."""

    session_id: str
    creditor_id: str
    debtor_id: str
    plan_id: str
    currency: str
    customer_id: str
    url: str
    created_at: datetime
    success_url: str
    cancel_url: str


class SetupCheckout(Protocol):
    def create_setup_checkout(self, request: SetupRequest, idempotency_key: str) -> tuple[CheckoutSession, str]:
        """Open a Checkout Session in setup mode; returns it and the Stripe customer id it is for."""


class SetupCheckoutStore(Protocol):
    def put_setup_checkout(self, record: SetupCheckoutRecord) -> None: ...


def known_customer(plans: Sequence[StoredPlan]) -> str | None:
    """The Stripe customer this debtor already has (from any plan's automatic payment), else None."""
    for stored in plans:
        if stored.plan.autopay is not None:
            return stored.plan.autopay.customer_id
    return None


def setup_idempotency_key(creditor_id: str, debtor_id: str, plan_id: str, nonce: str) -> str:
    """The key of one setup request: the same form sent twice opens one session."""
    text = f"{creditor_id}\n{debtor_id}\n{plan_id}\n{nonce}"
    return "relance-autopay-" + hashlib.sha256(text.encode()).hexdigest()[:40]


def start_autopay_setup(creditor: Creditor, debtor: Debtor, stored: StoredPlan, plans: Sequence[StoredPlan],
                        nonce: str, success_url: str, cancel_url: str, now: datetime, checkout: SetupCheckout,
                        store: SetupCheckoutStore) -> CheckoutSession:
    """Open (once per form) the Checkout Session that saves a card or SEPA mandate for `stored`'s installments."""
    plan = stored.plan
    if plan.state not in RUNNING:
        raise PlanNotRunning(f"plan {plan.plan_id} is {plan.state.value}; automatic payment needs an accepted "
                             "or active plan", plan_id=plan.plan_id, state=plan.state.value)
    request = SetupRequest(creditor, debtor, plan.plan_id, plan.currency, known_customer(plans), success_url,
                           cancel_url)
    key = setup_idempotency_key(creditor.creditor_id, debtor.debtor_id, plan.plan_id, nonce)
    session, customer_id = checkout.create_setup_checkout(request, key)
    store.put_setup_checkout(SetupCheckoutRecord(session.session_id, creditor.creditor_id, debtor.debtor_id,
                                                 plan.plan_id, plan.currency, customer_id, session.url, now,
                                                 success_url, cancel_url))
    return session


# --- Stripe's side: the saved payment method ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AutopaySetup:
    """What a completed setup session says (built by adapters.checkout from the verified event)."""

    checkout_session_id: str
    setup_intent_id: str | None
    creditor_id: str | None
    debtor_id: str | None
    plan_id: str | None
    customer_id: str | None
    payment_method_id: str | None = None  # None when the event carries the SetupIntent by id only
    method: str | None = None
    last4: str | None = None


@dataclass(frozen=True, slots=True)
class SavedMethod:
    """A SetupIntent's payment method, as Stripe returns it."""

    payment_method_id: str
    method: str
    last4: str | None


class SetupIntents(Protocol):
    def saved_method(self, setup_intent_id: str) -> SavedMethod | None:
        """The payment method the SetupIntent saved, or None when it has none (not succeeded)."""


class AutopayStore(Protocol):
    def find_plan(self, creditor_id: str, debtor_id: str, plan_id: str) -> StoredPlan | None: ...

    def set_autopay(self, stored: StoredPlan, autopay: Autopay, audit: dict[str, Any], event_id: str | None,
                    now: datetime) -> bool:
        """In one transaction, if the plan is still running: its autopay, the audit event, the event's record.

        False when the event was recorded meanwhile; PlanChanged when the plan stopped running.
        """

    def record_refused_event(self, event_id: str, creditor_id: str, debtor_id: str, audit: dict[str, Any],
                             now: datetime) -> bool:
        """The event's record and an audit event, once; False when the event was recorded meanwhile."""

    def clear_autopay(self, stored: StoredPlan, audit: dict[str, Any], now: datetime) -> bool:
        """Remove the plan's autopay if it is still the one read, with the audit event; False otherwise."""


@dataclass(frozen=True)
class AutopayPorts:
    """What recording a saved payment method needs, built by the webhook handler."""

    store: AutopayStore
    setup_intents: SetupIntents | None = None  # reads a SetupIntent the event names by id (real Stripe only)


def record_autopay(setup: AutopaySetup, event_id: str, now: datetime, ports: AutopayPorts | None) -> Outcome:
    """Keep the saved card or SEPA mandate on the plan, once, if the plan still runs; refuse it clearly otherwise."""
    if ports is None or not (setup.creditor_id and setup.debtor_id and setup.plan_id and setup.customer_id):
        return Outcome.NOT_OURS
    saved = _saved_method(setup, ports)
    if saved is None:
        return Outcome.IGNORED  # a setup not completed: nothing to charge with
    autopay = Autopay(setup.customer_id, saved.payment_method_id, saved.method, saved.last4)
    for _attempt in range(MAX_ATTEMPTS):
        stored = ports.store.find_plan(setup.creditor_id, setup.debtor_id, setup.plan_id)
        if stored is None:
            return Outcome.UNKNOWN_DEBTOR
        audit = {"actor": ACTOR, "plan_id": setup.plan_id, "stripe_event_id": event_id,
                 "checkout_session_id": setup.checkout_session_id, "setup_intent_id": setup.setup_intent_id,
                 "customer_id": autopay.customer_id, "payment_method_id": autopay.payment_method_id,
                 "method": autopay.method}
        if stored.plan.state not in RUNNING:
            refused = {**audit, "action": "autopay_refused", "reason": "plan_not_running",
                       "plan_state": stored.plan.state.value}
            if not ports.store.record_refused_event(event_id, setup.creditor_id, setup.debtor_id, refused, now):
                return Outcome.DUPLICATE
            return Outcome.PLAN_NOT_RUNNING
        if stored.plan.autopay == autopay:
            return Outcome.ALREADY_APPLIED
        try:
            if not ports.store.set_autopay(stored, autopay, {**audit, "action": "autopay_set"}, event_id, now):
                return Outcome.DUPLICATE
        except PlanChanged:
            continue  # broken or completed meanwhile: the next read refuses it
        return Outcome.AUTOPAY_SET
    raise PlanChanged(setup.plan_id)


def _saved_method(setup: AutopaySetup, ports: AutopayPorts) -> SavedMethod | None:
    if setup.payment_method_id and setup.method:
        return SavedMethod(setup.payment_method_id, setup.method, setup.last4)
    # Stripe's events carry the SetupIntent by id: its payment method is read from Stripe.
    if setup.setup_intent_id and ports.setup_intents is not None:
        return ports.setup_intents.saved_method(setup.setup_intent_id)
    return None


# --- the debtor stops it --------------------------------------------------------------------------------


def stop_autopay(stored: StoredPlan, now: datetime, store: AutopayStore, actor: str = "debtor") -> bool:
    """Remove the plan's automatic payment; False when there was none (already stopped)."""
    autopay = stored.plan.autopay
    if autopay is None:
        return False
    audit = {"action": "autopay_stopped", "actor": actor, "plan_id": stored.plan.plan_id,
             "customer_id": autopay.customer_id, "payment_method_id": autopay.payment_method_id,
             "method": autopay.method}
    return store.clear_autopay(stored, audit, now)
