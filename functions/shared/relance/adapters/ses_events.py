"""SES event publishing records (delivered through SNS) turned into `MailEvent`s. No decisions here.

Format: https://docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-contents.html
An event names its mail by `mail.messageId` and carries the mail's SES tags as lists
(`mail.tags.creditor_id == ["acme"]`): that is how it finds the debtor without reading the mail.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from relance.domain.errors import RelanceError
from relance.services.mail_events import MailEvent, MailEventKind


class UnreadableMailEvent(RelanceError):
    code = "mail_event.unreadable"


def mail_event_from_message(message: str) -> MailEvent:
    """The SNS message body SES published, as a MailEvent; UnreadableMailEvent if it is not one."""
    try:
        record = json.loads(message)
    except ValueError as exc:
        raise UnreadableMailEvent("the SNS message is not JSON; expected an SES event record") from exc
    if not isinstance(record, dict):
        raise UnreadableMailEvent("the SNS message is not a JSON object; expected an SES event record")
    return mail_event_from(record)


def mail_event_from(record: dict[str, Any]) -> MailEvent:
    """One SES event publishing record (or an identity notification, which says `notificationType`)."""
    mail = record.get("mail")
    event_type = record.get("eventType") or record.get("notificationType")
    if not isinstance(mail, dict) or not mail.get("messageId") or not event_type:
        raise UnreadableMailEvent(
            "an SES event needs eventType and mail.messageId; got keys " + ", ".join(sorted(record)),
            keys=sorted(record),
        )
    tags = mail.get("tags") or {}
    kind = _kind(str(event_type))
    common: dict[str, Any] = {
        "kind": kind,
        "ses_message_id": str(mail["messageId"]),
        "creditor_id": _tag(tags, "creditor_id"),
        "debtor_id": _tag(tags, "debtor_id"),
    }
    if kind is MailEventKind.BOUNCE:
        bounce = record.get("bounce") or {}
        return MailEvent(
            **common,
            recipients=_addresses(bounce.get("bouncedRecipients")),
            bounce_type=bounce.get("bounceType"),
            bounce_sub_type=bounce.get("bounceSubType"),
            occurred_at=_instant(bounce.get("timestamp")),
        )
    if kind is MailEventKind.COMPLAINT:
        complaint = record.get("complaint") or {}
        return MailEvent(
            **common,
            recipients=_addresses(complaint.get("complainedRecipients")),
            complaint_type=complaint.get("complaintFeedbackType"),
            occurred_at=_instant(complaint.get("timestamp")),
        )
    if kind is MailEventKind.DELIVERY:
        delivery = record.get("delivery") or {}
        recipients = delivery.get("recipients") or ()
        return MailEvent(
            **common,
            recipients=tuple(str(r) for r in recipients if r),
            smtp_response=str(delivery["smtpResponse"])[:200] if delivery.get("smtpResponse") else None,
            occurred_at=_instant(delivery.get("timestamp") or mail.get("timestamp")),
        )
    details = record.get(kind.value.lower()) or {}
    return MailEvent(**common, occurred_at=_instant(details.get("timestamp") or mail.get("timestamp")))


def _kind(event_type: str) -> MailEventKind:
    try:
        return MailEventKind(event_type)
    except ValueError:
        return MailEventKind.OTHER


def _tag(tags: dict[str, Any], name: str) -> str | None:
    values = tags.get(name)
    if isinstance(values, list):
        values = values[0] if values else None
    return str(values) if values else None


def _addresses(recipients: Any) -> tuple[str, ...]:
    return tuple(r["emailAddress"] for r in recipients or () if isinstance(r, dict) and r.get("emailAddress"))


def _instant(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
