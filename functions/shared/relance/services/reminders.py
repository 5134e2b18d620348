"""Send one debtor's reminder of the day, once, and record it with its audit event."""

from __future__ import annotations

from collections.abc import Callable, Container
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from relance.adapters.dynamo import DynamoStore, VersionConflict
from relance.domain.invoices import Invoice
from relance.domain.parties import Creditor, Debtor
from relance.domain.reminders import ReminderDecision, after_reminder, decide_reminder, plan_next_action
from relance.services.jobs import ReminderJob

MAX_CONFLICT_RETRIES = 3


class Outcome(StrEnum):
    SENT = "sent"
    ALREADY_SENT = "already_sent"
    NOTHING_DUE = "nothing_due"
    NO_EMAIL = "no_email"
    UNKNOWN_DEBTOR = "unknown_debtor"


@dataclass(frozen=True, slots=True)
class ReminderMail:
    """Everything a reminder e-mail says; the mailer only renders and sends it."""

    creditor: Creditor
    debtor: Debtor
    recipients: tuple[str, ...]
    decision: ReminderDecision
    portal_link: str
    reminder_id: str

    @property
    def language(self) -> str:
        return self.debtor.language


class Mailer(Protocol):
    def send_reminder(self, mail: ReminderMail) -> str:
        """Send the mail; returns the provider's message id."""


def send_reminder(
    job: ReminderJob,
    now: datetime,
    store: DynamoStore,
    mailer: Mailer,
    link_for: Callable[[Debtor], str],
    closed_for: Callable[[Creditor], Container[date]],
) -> Outcome:
    """Send the debtor the reminder the engine asks for on the job's business day, at most once.

    The day's contact is claimed before the mail goes out and completed after, in the same
    transaction as the invoices' new state and the audit event. A retry after a crash between
    the two finds the claim still pending and sends again: a rare duplicate is preferred to a
    lost reminder (docs/architecture/idempotency.md).
    """
    creditor = store.get_creditor(job.creditor_id)
    debtor, invoices = store.debtor_with_invoices(job.creditor_id, job.debtor_id)
    if creditor is None or debtor is None:
        return Outcome.UNKNOWN_DEBTOR
    closed = closed_for(creditor)
    decision = decide_reminder(invoices, job.business_date, closed)
    if decision is None:
        _replan_stale(invoices, job.business_date, store, closed)
        return Outcome.NOTHING_DUE
    if not debtor.emails:
        return Outcome.NO_EMAIL
    contact = store.reserve_contact(job.creditor_id, job.debtor_id, job.business_date, decision.step.value, now)
    if contact.status == "sent":
        return Outcome.ALREADY_SENT
    mail = ReminderMail(creditor, debtor, debtor.emails, decision, link_for(debtor), job.reminder_id)
    message_id = mailer.send_reminder(mail)
    _record(contact, decision, message_id, job, now, store, closed)
    return Outcome.SENT


def _record(contact, decision: ReminderDecision, message_id: str, job: ReminderJob, now, store, closed) -> None:
    """Complete the contact; on a concurrent change to an invoice, read again and retry."""
    advancing = list(decision.advancing)
    for _attempt in range(MAX_CONFLICT_RETRIES):
        try:
            store.complete_contact(
                contact,
                message_id=message_id,
                invoices=[after_reminder(i, decision, closed) for i in advancing],
                listed=[i.number for i in decision.overdue],
                totals={currency: amount.minor for currency, amount in decision.totals.items()},
                audit={
                    "action": "reminder_sent",
                    "actor": "engine",
                    "step": decision.step.value,
                    "channel": "email",
                    "reminder_id": job.reminder_id,
                    "message_id": message_id,
                    "invoices": [i.number for i in decision.overdue],
                },
                now=now,
            )
            return
        except VersionConflict:
            _debtor, fresh = store.debtor_with_invoices(job.creditor_id, job.debtor_id)
            wanted = {i.number for i in decision.advancing}
            advancing = [i for i in fresh if i.number in wanted]
    raise VersionConflict(f"invoices of {job.debtor_id} kept changing while the reminder was recorded")


def _replan_stale(invoices: list[Invoice], today: date, store: DynamoStore, closed: Container[date]) -> None:
    """Drop or move index entries that no longer match the rules (paid since, or moved), so they are not read again."""
    for invoice in invoices:
        planned = plan_next_action(invoice, closed)
        if invoice.next_action_on is not None and invoice.next_action_on <= today and planned != invoice.next_action_on:
            from dataclasses import replace

            try:
                store.update_invoice(replace(invoice, next_action_on=planned))
            except VersionConflict:
                continue  # someone else just rewrote it, with its own plan
