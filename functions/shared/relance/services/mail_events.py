"""What SES tells us after a reminder left: a bounce or a complaint stops mail to that address; a
delivery receipt is kept in the debtor's trail (the evidence bundle shows it next to the mail).

The dunning engine already turns a debtor without a reachable address into a call task
(`Debtor.reachable_emails`); this service only records which addresses are no longer reachable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

ACTOR = "ses"


class MailEventKind(StrEnum):
    BOUNCE = "Bounce"
    COMPLAINT = "Complaint"
    DELIVERY = "Delivery"
    REJECT = "Reject"
    OTHER = "Other"  # an event type the configuration set was not asked for (Send, Open…)


class MailEventOutcome(StrEnum):
    BOUNCED = "bounced"  # a permanent bounce: at least one address newly marked undeliverable
    COMPLAINED = "complained"  # the recipient reported the mail as spam: address marked undeliverable
    ALREADY_RECORDED = "already_recorded"  # every address was already marked, the receipt already kept (or the
    # debtor is gone)
    IGNORED_TRANSIENT = "ignored_transient"  # mailbox full, greylisting…: SES retried; the address stays
    DELIVERED = "delivered"  # the receiving server accepted the mail: the receipt is kept once
    REJECTED = "rejected"  # SES refused to send (e.g. a virus in an attachment): not the address's fault
    IGNORED_OTHER = "ignored_other"
    UNKNOWN_MAIL = "unknown_mail"  # not one of our tagged mails (a portal link mail, a test send)


@dataclass(frozen=True, slots=True)
class MailEvent:
    """One SES sending event about one mail, reduced to what Relance acts on."""

    kind: MailEventKind
    ses_message_id: str
    creditor_id: str | None  # from the mail's SES tags; None when the mail was not a tagged reminder
    debtor_id: str | None
    recipients: tuple[str, ...] = ()  # the addresses the event is about (bounced or complained)
    bounce_type: str | None = None  # "Permanent" | "Transient" | "Undetermined"
    bounce_sub_type: str | None = None  # "General", "NoEmail", "Suppressed", "MailboxFull"…
    complaint_type: str | None = None  # "abuse", "not-spam"… when the mailbox provider says
    smtp_response: str | None = None  # a delivery: what the receiving server answered ("250 2.0.0 OK")
    occurred_at: datetime | None = None

    @property
    def is_permanent_bounce(self) -> bool:
        return self.kind is MailEventKind.BOUNCE and self.bounce_type == "Permanent"


class UndeliverableStore(Protocol):
    def mark_undeliverable(self, creditor_id: str, debtor_id: str, address: str, audit: dict[str, Any],
                           now: datetime) -> bool: ...

    def record_delivery(self, creditor_id: str, debtor_id: str, ses_message_id: str, audit: dict[str, Any],
                        now: datetime) -> bool: ...


def record_mail_event(event: MailEvent, now: datetime, store: UndeliverableStore) -> str:
    """Mark the addresses of a permanent bounce or a complaint undeliverable on the debtor; count the rest.

    Each address is marked once with its own audit event; a second delivery of the same event
    finds the address already there and changes nothing.
    """
    if not event.creditor_id or not event.debtor_id:
        return MailEventOutcome.UNKNOWN_MAIL
    if event.kind is MailEventKind.DELIVERY:
        kept = store.record_delivery(event.creditor_id, event.debtor_id, event.ses_message_id,
                                     _delivery_audit(event), now)
        return MailEventOutcome.DELIVERED if kept else MailEventOutcome.ALREADY_RECORDED
    if event.kind is MailEventKind.REJECT:
        return MailEventOutcome.REJECTED
    if event.kind is MailEventKind.BOUNCE and not event.is_permanent_bounce:
        return MailEventOutcome.IGNORED_TRANSIENT  # "Undetermined" too: one unclear bounce does not stop mail
    if event.kind not in (MailEventKind.BOUNCE, MailEventKind.COMPLAINT):
        return MailEventOutcome.IGNORED_OTHER
    marked = [
        address for address in dict.fromkeys(a.strip().lower() for a in event.recipients if a.strip())
        if store.mark_undeliverable(event.creditor_id, event.debtor_id, address, _audit(event, address), now)
    ]
    if not marked:
        return MailEventOutcome.ALREADY_RECORDED
    return MailEventOutcome.BOUNCED if event.kind is MailEventKind.BOUNCE else MailEventOutcome.COMPLAINED


def _delivery_audit(event: MailEvent) -> dict[str, Any]:
    """The receipt as the trail keeps it: which mail, to which addresses, when and what the server answered."""
    return {"action": "email_delivered", "actor": ACTOR, "message_id": event.ses_message_id,
            "recipients": list(event.recipients), "smtp_response": event.smtp_response,
            "delivered_at": event.occurred_at.isoformat() if event.occurred_at else None}


def _audit(event: MailEvent, address: str) -> dict[str, Any]:
    """The audit event finance reads on the debtor's page: which address, why, and which mail."""
    audit: dict[str, Any] = {
        "action": "email_bounced" if event.kind is MailEventKind.BOUNCE else "email_complained",
        "actor": ACTOR,
        "address": address,
        "message_id": event.ses_message_id,
        "reported_at": event.occurred_at.isoformat() if event.occurred_at else None,
    }
    if event.kind is MailEventKind.BOUNCE:
        audit.update(bounce_type=event.bounce_type, bounce_sub_type=event.bounce_sub_type)
    else:
        audit.update(complaint_type=event.complaint_type)
    return audit
