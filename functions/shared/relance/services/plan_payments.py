"""Paying a plan's next installment from the portal (issue 7), through the same Checkout flow as any payment.

The amount is what the plan still owes on its next line, from our data, never from a form. The
Checkout Session carries `relance_kind="installment"`, the plan id and the installment number in
its metadata (and its PaymentIntent's), so the webhook can credit that installment; the money
itself pays the plan's invoices, oldest first, like any payment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from relance.domain.errors import RelanceError
from relance.domain.invoices import Invoice
from relance.domain.parties import Creditor, Debtor
from relance.domain.payments import AllocationResult
from relance.domain.plans import RUNNING, Installment, Plan
from relance.services.autopay import PlanNotRunning
from relance.services.payments import (
    Checkout,
    CheckoutRecord,
    CheckoutSession,
    CheckoutStore,
    choose_amount,
    idempotency_key,
)
from relance.services.plans import StoredPlan

INSTALLMENT_KIND = "installment"  # metadata.relance_kind of a payment for one plan installment


class NothingOwedOnPlan(RelanceError):
    """Every line of the plan is paid: there is no installment to pay."""

    code = "plan.nothing_owed"


@dataclass(frozen=True, slots=True)
class InstallmentPayment:
    """The next installment of a plan, what it pays on which invoices, and the metadata Stripe carries."""

    plan_id: str
    installment: Installment  # its amount is what is still owed on it
    allocation: AllocationResult

    @property
    def metadata(self) -> dict[str, str]:
        return {"relance_kind": INSTALLMENT_KIND, "plan_id": self.plan_id,
                "installment": str(self.installment.number)}


def next_installment(plan: Plan) -> Installment | None:
    """The first line of a running plan with something still owed, carrying what is owed on it; else None."""
    if plan.state not in RUNNING:
        return None
    for line in plan.lines:
        owed = plan.owed_on(line)
        if owed.is_positive():
            return Installment(line.number, line.due_on, owed)
    return None


def installment_payment(stored: StoredPlan, invoices: Sequence[Invoice]) -> InstallmentPayment:
    """What paying the plan's next installment means: its amount over the plan's invoices, oldest first."""
    plan = stored.plan
    if plan.state not in RUNNING:
        raise PlanNotRunning(f"plan {plan.plan_id} is {plan.state.value}; only a running plan takes installments",
                             plan_id=plan.plan_id, state=plan.state.value)
    line = next_installment(plan)
    if line is None:
        raise NothingOwedOnPlan(f"plan {plan.plan_id} is fully paid", plan_id=plan.plan_id)
    numbers = {i.number for i in plan.proposal.invoices}
    allocation = choose_amount([i for i in invoices if i.number in numbers], line.amount)
    return InstallmentPayment(plan.plan_id, line, allocation)


def start_installment_checkout(creditor: Creditor, debtor: Debtor, payment: InstallmentPayment, nonce: str,
                               success_url: str, cancel_url: str, now: datetime, checkout: Checkout,
                               store: CheckoutStore) -> CheckoutSession:
    """Open (once per form) the Checkout Session paying this installment, and remember whose it is."""
    metadata = payment.metadata
    key = idempotency_key(creditor.creditor_id, debtor.debtor_id, payment.allocation,
                          f"{nonce}\n{payment.plan_id}\n{payment.installment.number}")
    session = checkout.create_checkout(debtor, creditor, payment.allocation, success_url, cancel_url, key,
                                       metadata_extra=metadata)
    store.put_checkout(CheckoutRecord(session.session_id, creditor.creditor_id, debtor.debtor_id, payment.allocation,
                                      session.url, now, success_url, cancel_url,
                                      metadata=tuple(sorted(metadata.items()))))
    return session
