"""Finance's manual actions on one debtor beyond pauses: write an invoice off, send the next step now,
edit the debtor's contact details.

Each change is one conditional write with its audit event (relance.adapters.backoffice_store); sending
the next step now queues the dunning worker's own job, so the one-contact-a-day rule and the step's
record stay where they are (relance.services.dunning).
"""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import replace
from datetime import date, datetime
from typing import Any, Protocol

from relance.adapters.dynamo import VersionConflict
from relance.domain.dunning import DunningDecision, decide_now, plan_next_action
from relance.domain.errors import RelanceError
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.parties import Debtor
from relance.domain.policy import DunningPolicy
from relance.services.jobs import JobQueue, ReminderJob
from relance.services.pauses import DebtorNotFound

MAX_REASON_CHARS = 500
MAX_EMAILS = 5
MAX_PHONE_CHARS = 30
MAX_ADDRESS_CHARS = 300
MAX_ATTEMPTS = 3
_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
_PHONE = re.compile(r"^\+?[0-9 .()\-]{6,}$")
_SEPARATORS = re.compile(r"[\s,;]+")


class FormRefused(RelanceError):
    """A form has problems; `problems` maps each field to the code of what is wrong with it."""

    code = "form.refused"

    def __init__(self, message: str, problems: dict[str, str]) -> None:
        super().__init__(message, problems=problems)
        self.problems = problems


class NothingToWriteOff(RelanceError):
    """The invoice is not this debtor's, or nothing is owed on it any more (someone settled it first)."""

    code = "write_off.nothing_owed"


class WriteOffBlocked(RelanceError):
    """A dispute or a plan covers the invoice: finance resolves it there first."""

    code = "write_off.blocked"


class NothingToSendNow(RelanceError):
    """No step can be brought forward today: nothing overdue, everything on hold, a pause or a closed day."""

    code = "next_step.nothing"


class AlreadyContactedToday(RelanceError):
    """The debtor had their one contact of the day already."""

    code = "next_step.already_contacted"


# --- write off ------------------------------------------------------------------------------------


class WriteOffStore(Protocol):
    def find_invoice(self, creditor_id: str, debtor_id: str, number: str) -> Invoice | None: ...

    def write_off(self, invoice: Invoice, amount: Money, reason: str, audit: dict[str, Any], now: datetime) -> None:
        """The invoice (version-checked, with the debtor's summary), the write-off record and the audit event."""


def write_off_invoice(creditor_id: str, debtor_id: str, number: str, reason: str, actor: str, now: datetime,
                      store: WriteOffStore, policy: DunningPolicy, closed: Container[date]) -> Money:
    """Write off what is still owed on the invoice: it leaves dunning, and the amount is recorded as written
    off, never as collected. Returns the amount written off."""
    if not reason.strip():
        raise FormRefused("a write-off needs a reason", {"reason": "required"})
    if len(reason) > MAX_REASON_CHARS:
        raise FormRefused("the reason is too long", {"reason": "too_long"})
    for _attempt in range(MAX_ATTEMPTS):
        invoice = store.find_invoice(creditor_id, debtor_id, number)
        if invoice is None or invoice.is_settled():
            raise NothingToWriteOff(f"nothing is owed on invoice {number!r}", number=number)
        if invoice.disputed or invoice.in_plan:
            raise WriteOffBlocked(f"invoice {number!r} is disputed or in a plan", number=number)
        amount = invoice.balance
        # Like a credit note, the write-off lowers what is owed; the record and the audit keep it apart from payments.
        changed = replace(invoice, paid=invoice.paid + amount, promised_on=None)
        changed = replace(changed, next_action_on=plan_next_action(changed, policy, closed))
        audit = {"action": "invoice_written_off", "actor": actor, "invoices": [number], "reason": reason.strip(),
                 "currency": amount.currency, "amount_minor": amount.minor,
                 "before": {"balance_minor": invoice.balance.minor}, "after": {"balance_minor": 0}}
        try:
            store.write_off(changed, amount, reason.strip(), audit, now)
        except VersionConflict:
            continue
        return amount
    raise VersionConflict(f"invoice {number} kept changing while it was written off")


# --- send the next step now -----------------------------------------------------------------------


class NextStepStore(Protocol):
    def dunning_view(self, creditor_id: str, debtor_id: str) -> tuple[Debtor | None, list[Invoice]]: ...

    def contact_on(self, creditor_id: str, debtor_id: str, day: date) -> dict[str, Any] | None: ...

    def record_audit(self, creditor_id: str, debtor_id: str, audit: dict[str, Any], now: datetime) -> None: ...


def send_next_step_now(creditor_id: str, debtor_id: str, actor: str, today: date, now: datetime,
                       store: NextStepStore, queue: JobQueue, policy: DunningPolicy,
                       closed: Container[date]) -> DunningDecision:
    """Queue the dunning worker's job for today with the next step brought forward; returns what it plans.

    The worker decides again when it runs and claims the day's one contact as always, so a double
    submit, or a scan job of the same day, still gives the debtor a single contact.
    """
    debtor, invoices = store.dunning_view(creditor_id, debtor_id)
    if debtor is None:
        raise DebtorNotFound(f"no debtor {debtor_id!r}", debtor_id=debtor_id)
    if store.contact_on(creditor_id, debtor_id, today) is not None:
        raise AlreadyContactedToday(f"{debtor_id!r} was contacted on {today}", debtor_id=debtor_id)
    decision = decide_now(debtor, invoices, policy, today, closed)
    if decision is None:
        raise NothingToSendNow(f"no step of {debtor_id!r} can be taken on {today}", debtor_id=debtor_id)
    queue.send_jobs([ReminderJob(creditor_id, debtor_id, today, forced=True, early=True)])
    store.record_audit(creditor_id, debtor_id, {
        "action": "next_step_requested", "actor": actor, "step": decision.step.step_id,
        "channel": decision.channel.value, "invoices": [i.number for i in decision.listed]}, now)
    return decision


# --- contacts -------------------------------------------------------------------------------------


class ContactStore(Protocol):
    def dunning_view(self, creditor_id: str, debtor_id: str) -> tuple[Debtor | None, list[Invoice]]: ...

    def write_contacts(self, before: Debtor, after: Debtor, audit: dict[str, Any], now: datetime) -> None:
        """The debtor's contacts, only if nobody changed them (or a bounce marked one) since `before` was read."""


def check_contacts(emails_text: str, phone: str, address: str) -> tuple[tuple[str, ...], dict[str, str]]:
    """The e-mail addresses the form lists (in order, without repeats) and every problem of the form, by field."""
    problems: dict[str, str] = {}
    by_folded: dict[str, str] = {}
    for typed in _SEPARATORS.split(emails_text.strip()):
        if typed:
            by_folded.setdefault(typed.lower(), typed)  # the first spelling of an address wins
    emails = tuple(by_folded.values())
    if any(not _EMAIL.match(e) or len(e) > 254 for e in emails):
        problems["emails"] = "invalid"
    elif len(emails) > MAX_EMAILS:
        problems["emails"] = "too_many"
    if phone.strip() and (len(phone.strip()) > MAX_PHONE_CHARS or not _PHONE.match(phone.strip())):
        problems["phone"] = "invalid"
    if len(address.strip()) > MAX_ADDRESS_CHARS:
        problems["address"] = "too_long"
    return emails, problems


def edit_contacts(creditor_id: str, debtor_id: str, emails_text: str, phone: str, address: str, actor: str,
                  now: datetime, store: ContactStore) -> Debtor:
    """Replace the debtor's e-mail addresses, phone and postal address; returns the debtor as now stored.

    A bounced address that finance removed or corrected leaves the undeliverable list (and the bounces
    queue); one kept as it was stays undeliverable. The audit event holds the contacts before and after.
    """
    emails, problems = check_contacts(emails_text, phone, address)
    if problems:
        raise FormRefused(f"the contacts form has problems: {sorted(problems)}", problems)
    for _attempt in range(MAX_ATTEMPTS):
        debtor, _invoices = store.dunning_view(creditor_id, debtor_id)
        if debtor is None:
            raise DebtorNotFound(f"no debtor {debtor_id!r}", debtor_id=debtor_id)
        kept = {e.lower() for e in emails}
        after = replace(debtor, emails=emails, phone=phone.strip() or None, address=address.strip() or None,
                        undeliverable=tuple(u for u in debtor.undeliverable if u.lower() in kept))
        if after == debtor:
            return debtor
        audit = {"action": "contacts_edited", "actor": actor, "before": _contacts(debtor), "after": _contacts(after),
                 "cleared": [u for u in debtor.undeliverable if u not in after.undeliverable]}
        try:
            store.write_contacts(debtor, after, audit, now)
        except VersionConflict:
            continue
        return after
    raise VersionConflict(f"the contacts of {debtor_id} kept changing while finance edited them")


def _contacts(debtor: Debtor) -> dict[str, Any]:
    return {"emails": list(debtor.emails), "phone": debtor.phone, "address": debtor.address,
            "undeliverable": list(debtor.undeliverable)}
