"""Payments: how money a debtor pays is spread over their invoices, and what it does to dunning.

Pure: no Stripe, no DynamoDB, no clock. The service (relance.services.payments) reads the
debtor's invoices, asks these functions what changes, and writes the answer in one transaction.

Rules (issue 6):
- an amount goes to the open invoices of its currency, oldest first (due date, then issue date,
  then number), never more than an invoice's balance; what is left is a credit, never lost;
- "pay these invoices" pays each chosen invoice's whole balance, one currency at a time;
- a payment is keyed by its id (the Stripe PaymentIntent): applying it again changes nothing;
- a debit still processing (SEPA) holds dunning on its invoices like a payment promise, until it
  succeeds (the invoices are paid) or fails (the hold is lifted, the balance never moved);
- a refund first takes back the payment's credit, then re-opens its invoices, most recent
  allocation first.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum

from relance.domain.dunning import plan_next_action
from relance.domain.errors import InvalidAllocation
from relance.domain.invoices import Invoice
from relance.domain.money import Money, total
from relance.domain.policy import DunningPolicy

# Stripe Checkout takes at most 100 line items; one DynamoDB transaction at most 100 writes. Fifty
# invoices per payment leaves room for the payment, its audit event and the debtor's summary.
MAX_INVOICES_PER_PAYMENT = 50

# Stripe: a SEPA Direct Debit is confirmed or fails within 14 business days at most (usually 5).
# Twenty calendar days covers that; if Stripe never answers, dunning resumes by itself afterwards.
SEPA_HOLD_DAYS = 20


@dataclass(frozen=True, slots=True)
class Allocation:
    """Part of a payment going to one invoice."""

    invoice_number: str
    amount: Money


@dataclass(frozen=True, slots=True)
class AllocationResult:
    """Where an amount goes: the invoices it pays, oldest first, and what is left over as a credit."""

    allocations: tuple[Allocation, ...]
    unallocated: Money

    @property
    def currency(self) -> str:
        return self.unallocated.currency

    @property
    def allocated(self) -> Money:
        """The part that pays invoices."""
        return total([a.amount for a in self.allocations], self.currency)

    @property
    def amount(self) -> Money:
        """The whole amount: allocated plus the credit."""
        return self.allocated + self.unallocated

    def numbers(self) -> tuple[str, ...]:
        return tuple(a.invoice_number for a in self.allocations)


def oldest_first(invoices: Iterable[Invoice]) -> list[Invoice]:
    """Invoices in the order money pays them: due date, then issue date, then number."""
    return sorted(invoices, key=lambda i: (i.due_on, i.issued_on, i.number))


def open_in(invoices: Iterable[Invoice], currency: str) -> list[Invoice]:
    """The invoices of `currency` with something still owed, oldest first."""
    return oldest_first(i for i in invoices if i.currency == currency and i.balance.is_positive())


def allocate(amount: Money, invoices: Sequence[Invoice], max_invoices: int | None = None) -> AllocationResult:
    """Spread `amount` over the open invoices of its currency, oldest first; the rest stays unallocated."""
    if amount.minor < 0:
        raise InvalidAllocation(f"cannot allocate a negative amount, got {amount}", reason="negative_amount",
                                amount_minor=amount.minor)
    remaining = amount
    allocations: list[Allocation] = []
    for invoice in open_in(invoices, amount.currency):
        if not remaining.is_positive():
            break
        if max_invoices is not None and len(allocations) >= max_invoices:
            break
        share = min(remaining, invoice.balance, key=lambda m: m.minor)
        allocations.append(Allocation(invoice.number, share))
        remaining = remaining - share
    return AllocationResult(tuple(allocations), remaining)


def settle_invoices(invoices: Sequence[Invoice], numbers: Iterable[str]) -> AllocationResult:
    """"Pay these invoices": each chosen invoice's whole balance, oldest first, in one currency."""
    chosen = list(dict.fromkeys(numbers))
    if not chosen:
        raise InvalidAllocation("choose at least one invoice to pay", reason="nothing_selected")
    if len(chosen) > MAX_INVOICES_PER_PAYMENT:
        raise InvalidAllocation(f"at most {MAX_INVOICES_PER_PAYMENT} invoices can be paid at once, got {len(chosen)}",
                                reason="too_many_invoices", maximum=MAX_INVOICES_PER_PAYMENT, count=len(chosen))
    by_number = {i.number: i for i in invoices}
    not_open = [n for n in chosen if n not in by_number or not by_number[n].balance.is_positive()]
    if not_open:
        raise InvalidAllocation(f"these invoices have nothing left to pay: {', '.join(not_open)}",
                                reason="not_open", numbers=not_open)
    currencies = sorted({by_number[n].currency for n in chosen})
    if len(currencies) > 1:
        raise InvalidAllocation(f"invoices in {' and '.join(currencies)} cannot be paid together; one currency at a time",
                                reason="mixed_currencies", currencies=currencies)
    picked = oldest_first(by_number[n] for n in chosen)
    return AllocationResult(tuple(Allocation(i.number, i.balance) for i in picked), Money.zero(currencies[0]))


def allocate_as_requested(amount: Money, requested: Sequence[Allocation], invoices: Sequence[Invoice]) -> AllocationResult:
    """What a payment made for `requested` pays today: each share capped by the invoice's current balance.

    Balances may have moved since the debtor chose (a bank transfer imported meanwhile); what no
    longer finds an invoice stays unallocated, as a credit finance can see. With nothing requested,
    the amount goes oldest first.
    """
    if not requested:
        return allocate(amount, invoices)
    wanted: dict[str, Money] = {}
    for share in requested:
        wanted[share.invoice_number] = wanted.get(share.invoice_number, Money.zero(amount.currency)) + share.amount
    remaining = amount
    allocations: list[Allocation] = []
    for invoice in open_in(invoices, amount.currency):
        if invoice.number not in wanted or not remaining.is_positive():
            continue
        share = min(remaining, invoice.balance, wanted[invoice.number], key=lambda m: m.minor)
        if share.is_positive():
            allocations.append(Allocation(invoice.number, share))
            remaining = remaining - share
    return AllocationResult(tuple(allocations), remaining)


# --- a payment and what happens to it -----------------------------------------------------------


class PaymentStatus(StrEnum):
    PROCESSING = "processing"  # a SEPA debit was authorised; the bank has not confirmed it yet
    SUCCEEDED = "succeeded"  # the money is in: the invoices are paid
    FAILED = "failed"  # the debit was refused: nothing was paid


@dataclass(frozen=True, slots=True)
class Payment:
    """One payment by a debtor, keyed by its Stripe PaymentIntent id."""

    payment_id: str
    creditor_id: str
    debtor_id: str
    amount: Money
    status: PaymentStatus
    requested: tuple[Allocation, ...] = ()  # what the debtor chose to pay, oldest first
    allocations: tuple[Allocation, ...] = ()  # what it paid, once it succeeded (net of refunds)
    credit: Money | None = None  # the part no invoice could take (net of refunds)
    refunded: Money | None = None  # refunds applied so far
    refund_seen: Money | None = None  # the highest refunded total Stripe reported (applied once succeeded)
    method: str | None = None  # "card" | "sepa_debit"
    checkout_session_id: str | None = None
    charge_id: str | None = None
    held_until: date | None = None  # dunning held on the requested invoices while the debit processes
    version: int = 0  # optimistic lock, like invoices
    reference: str | None = None  # a payment recorded by finance: the transfer's reference, the cheque number

    @property
    def currency(self) -> str:
        return self.amount.currency

    @property
    def credit_or_zero(self) -> Money:
        return self.credit if self.credit is not None else Money.zero(self.currency)

    @property
    def refunded_or_zero(self) -> Money:
        return self.refunded if self.refunded is not None else Money.zero(self.currency)

    def is_settled(self) -> bool:
        return self.status is PaymentStatus.SUCCEEDED


@dataclass(frozen=True, slots=True)
class PaymentChange:
    """What one fact about a payment changes: the payment itself, its invoices, the debtor's credit."""

    payment: Payment
    invoices: tuple[Invoice, ...] = ()  # only the invoices that changed
    credit_delta: Money | None = None  # added to (or taken from) the debtor's credit
    applied: tuple[Allocation, ...] = ()  # what this change paid (positive) on each invoice
    reopened: tuple[Allocation, ...] = ()  # what this change re-opened on each invoice (refunds)
    refunded: Money | None = None  # the refund this change applied


def _replanned(invoice: Invoice, policy: DunningPolicy, closed: Container[date]) -> Invoice:
    return replace(invoice, next_action_on=plan_next_action(invoice, policy, closed))


def _release_hold(invoice: Invoice, payment: Payment) -> Invoice:
    """Lift the hold this payment put on the invoice; a promise the debtor made themselves stays."""
    if payment.held_until is not None and invoice.promised_on == payment.held_until:
        return replace(invoice, promised_on=None)
    return invoice


def hold_while_processing(payment: Payment, invoices: Sequence[Invoice], today: date, policy: DunningPolicy,
                          closed: Container[date], hold_days: int = SEPA_HOLD_DAYS) -> PaymentChange:
    """A debit is on its way: dunning waits on the invoices it is for, the balance does not move yet.

    The hold is a promise to pay by `today + hold_days`: the engine already leaves promised
    invoices alone, and takes them up again by itself if the bank never answers.
    """
    held_until = today + timedelta(days=hold_days)
    wanted = {a.invoice_number for a in payment.requested}
    changed: list[Invoice] = []
    for invoice in invoices:
        if invoice.number not in wanted or invoice.is_settled():
            continue
        if invoice.promised_on is not None and invoice.promised_on >= held_until:
            continue  # the debtor's own promise already holds it longer
        changed.append(_replanned(replace(invoice, promised_on=held_until), policy, closed))
    processing = replace(payment, status=PaymentStatus.PROCESSING, held_until=held_until)
    return PaymentChange(processing, tuple(changed))


def fail_payment(payment: Payment, invoices: Sequence[Invoice], policy: DunningPolicy,
                 closed: Container[date]) -> PaymentChange:
    """The debit was refused: the hold is lifted and dunning takes the invoices up again; nothing was paid."""
    changed = []
    for invoice in invoices:
        released = _release_hold(invoice, payment)
        if released != invoice:
            changed.append(_replanned(released, policy, closed))
    return PaymentChange(replace(payment, status=PaymentStatus.FAILED, held_until=None), tuple(changed))


def settle_payment(payment: Payment, invoices: Sequence[Invoice], policy: DunningPolicy,
                   closed: Container[date]) -> PaymentChange | None:
    """The money is in: pay the requested invoices (re-checked against today's balances), keep the rest
    as a credit, stop dunning on what is paid. None when this payment was already applied.

    A refund Stripe reported before the payment itself arrived is applied right after.
    """
    if payment.is_settled():
        return None
    result = allocate_as_requested(payment.amount, payment.requested, invoices)
    shares = {a.invoice_number: a.amount for a in result.allocations}
    changed: dict[str, Invoice] = {}
    for invoice in invoices:
        paid = shares.get(invoice.number)
        updated = _release_hold(invoice, payment)
        if paid is not None:
            updated = replace(updated, paid=updated.paid + paid)
        if updated != invoice:
            changed[invoice.number] = _replanned(updated, policy, closed)
    settled = replace(payment, status=PaymentStatus.SUCCEEDED, allocations=result.allocations,
                      credit=result.unallocated, refunded=payment.refunded_or_zero, held_until=None)
    change = PaymentChange(settled, tuple(changed.values()), result.unallocated, result.allocations)
    if payment.refund_seen is not None and payment.refund_seen > settled.refunded_or_zero:
        after = {**{i.number: i for i in invoices}, **changed}
        refund = refund_payment(settled, payment.refund_seen, list(after.values()), policy, closed)
        if refund is not None:
            merged = {**changed, **{i.number: i for i in refund.invoices}}
            change = PaymentChange(refund.payment, tuple(merged.values()),
                                   result.unallocated + (refund.credit_delta or Money.zero(payment.currency)),
                                   result.allocations, refund.reopened, refund.refunded)
    return change


def refund_payment(payment: Payment, refunded_total: Money, invoices: Sequence[Invoice], policy: DunningPolicy,
                   closed: Container[date]) -> PaymentChange | None:
    """Stripe refunded `refunded_total` of this payment so far: take back what is new, credit first,
    then the invoices it paid, most recent allocation first. None when nothing new was refunded.

    `refunded_total` is Stripe's running total (`charge.amount_refunded`), so an old or repeated
    event, which reports a total already applied, changes nothing.
    """
    seen = max(refunded_total, payment.refund_seen or Money.zero(payment.currency), key=lambda m: m.minor)
    if not payment.is_settled():
        if payment.refund_seen == seen:
            return None
        return PaymentChange(replace(payment, refund_seen=seen))  # applied when the payment itself arrives
    new = seen - payment.refunded_or_zero
    if not new.is_positive():
        return None
    from_credit = min(new, payment.credit_or_zero, key=lambda m: m.minor)
    to_reopen = new - from_credit
    remaining_allocations = list(payment.allocations)
    reopened: list[Allocation] = []
    by_number = {i.number: i for i in invoices}
    changed: list[Invoice] = []
    while to_reopen.is_positive() and remaining_allocations:
        last = remaining_allocations.pop()
        share = min(to_reopen, last.amount, key=lambda m: m.minor)
        to_reopen = to_reopen - share
        if share < last.amount:
            remaining_allocations.append(Allocation(last.invoice_number, last.amount - share))
        invoice = by_number.get(last.invoice_number)
        if invoice is None:
            continue
        taken_back = min(share, invoice.paid, key=lambda m: m.minor)  # never below nothing paid
        if taken_back.is_positive():
            reopened.append(Allocation(invoice.number, taken_back))
            invoice = _replanned(replace(invoice, paid=invoice.paid - taken_back), policy, closed)
            by_number[invoice.number] = invoice
            changed.append(invoice)
    refunded = replace(payment, refund_seen=seen, refunded=payment.refunded_or_zero + new,
                       credit=payment.credit_or_zero - from_credit, allocations=tuple(remaining_allocations))
    return PaymentChange(refunded, tuple(changed), -from_credit, (), tuple(reopened), new)
