"""Mail through SES (v2), as raw MIME so that text, HTML and later attachments travel together."""

from __future__ import annotations

import time
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError

from relance.adapters.aws import client
from relance.adapters.mail_templates import (
    RenderedMail,
    render_alerts_digest,
    render_code,
    render_dispute_rejected,
    render_dunning,
    render_new_link,
    render_plan_decision_mail,
    render_plan_mail,
)
from relance.services.dunning import MailRefused

if TYPE_CHECKING:
    from relance.services.alerts import AlertsDigestMail
    from relance.services.disputes import DisputeRejectedMail
    from relance.services.dunning import DunningMail
    from relance.services.installments import PlanMail
    from relance.services.links import NewLinkMail
    from relance.services.plans import PlanDecisionMail
    from relance.services.portal_access import CodeMail


INTERACTIVE_ATTEMPTS = 3
THROTTLING_CODES = frozenset({"Throttling", "ThrottlingException", "TooManyRequestsException"})


class SesMailer:
    """Sends reminders from the creditor's verified sender address, through a configuration set."""

    def __init__(self, sender: str, configuration_set: str | None = None, sesv2: Any | None = None) -> None:
        self.sender = sender
        self.configuration_set = configuration_set
        self._client = sesv2 or client("sesv2")

    def send_dunning_mail(self, mail: DunningMail) -> str:
        message = self._compose(render_dunning(mail), mail.creditor.legal_name, mail.creditor.contact_email,
                                mail.recipients, mail.language)
        message["X-Relance-Reminder"] = mail.contact_id
        for attachment in mail.attachments:
            maintype, _, subtype = attachment.content_type.partition("/")
            message.add_attachment(attachment.body, maintype=maintype, subtype=subtype, filename=attachment.filename)
        try:
            return self.send_raw(message, list(mail.recipients), tags=mail_tags(mail.creditor.creditor_id,
                                                                                   mail.debtor.debtor_id))
        except (ClientError, EndpointConnectionError, ConnectTimeoutError) as refused:
            # SES answered with an error, or was never reached: the mail did not leave. A read timeout is
            # not caught: SES may have taken the mail, so the contact stays "sending" and is never re-sent.
            raise MailRefused(f"SES did not take the mail: {type(refused).__name__}") from refused

    def send_new_link(self, mail: NewLinkMail) -> str:
        message = self._compose(render_new_link(mail), mail.creditor.legal_name, mail.creditor.contact_email,
                                mail.recipients, mail.language)
        return self._send_while_debtor_waits(message, list(mail.recipients))

    def send_code(self, mail: CodeMail) -> str:
        """Send a one-time portal code to the debtor's addresses on record."""
        message = self._compose(render_code(mail), mail.creditor.legal_name, mail.creditor.contact_email,
                                mail.recipients, mail.language)
        return self._send_while_debtor_waits(message, list(mail.recipients))

    def _send_while_debtor_waits(self, message: EmailMessage, recipients: list[str]) -> str:
        """A mail a person is waiting for on a portal page: SES's throttling, or SES not reached, is tried
        again at once (the mail surely did not leave), so a burst does not become an error page. SES calls are
        otherwise tried once (adapters/aws.py): a timed-out answer is never retried, it may have been sent."""
        for attempt in range(INTERACTIVE_ATTEMPTS):
            try:
                return self.send_raw(message, recipients)
            except (ClientError, EndpointConnectionError, ConnectTimeoutError) as refused:
                code = refused.response.get("Error", {}).get("Code") if isinstance(refused, ClientError) else None
                if attempt + 1 == INTERACTIVE_ATTEMPTS or (code is not None and code not in THROTTLING_CODES):
                    raise
                time.sleep(0.2 * 2**attempt)
        raise AssertionError("unreachable")

    def send_plan_mail(self, mail: PlanMail) -> str:
        """An installment plan mail (reminder before an installment, missed installment, plan ended)."""
        message = self._compose(render_plan_mail(mail), mail.creditor.legal_name, mail.creditor.contact_email,
                                mail.recipients, mail.language)
        message["X-Relance-Reminder"] = mail.mail_id
        return self.send_raw(message, list(mail.recipients),
                             tags=mail_tags(mail.creditor.creditor_id, mail.debtor.debtor_id))

    def send_plan_decision_mail(self, mail: PlanDecisionMail) -> str:
        """What became of the debtor's plan proposal: accepted, countered or rejected."""
        message = self._compose(render_plan_decision_mail(mail), mail.creditor.legal_name,
                                mail.creditor.contact_email, mail.recipients, mail.language)
        message["X-Relance-Reminder"] = mail.mail_id
        return self.send_raw(message, list(mail.recipients),
                             tags=mail_tags(mail.creditor.creditor_id, mail.debtor.debtor_id))

    def send_dispute_rejected(self, mail: DisputeRejectedMail) -> str:
        """Tell the debtor their dispute was rejected and why; dunning of the invoice resumes."""
        message = self._compose(render_dispute_rejected(mail), mail.creditor.legal_name, mail.creditor.contact_email,
                                mail.recipients, mail.language)
        return self.send_raw(message, list(mail.recipients),
                             tags=mail_tags(mail.creditor.creditor_id, mail.debtor.debtor_id))

    def send_alerts_digest(self, mail: AlertsDigestMail) -> str:
        """Finance's daily digest of alerts, to the creditor's finance addresses."""
        message = self._compose(render_alerts_digest(mail), "Relance", None, mail.recipients, mail.language)
        message["X-Relance-Digest"] = mail.digest_id
        return self.send_raw(message, list(mail.recipients), tags={"creditor_id": _tag_value(mail.creditor.creditor_id),
                                                                   "mail": "alerts_digest"})

    def _compose(self, rendered: RenderedMail, display_name: str, reply_to: str | None,
                 recipients: tuple[str, ...], language: str) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = rendered.subject
        message["From"] = formataddr((display_name, self.sender))
        message["To"] = ", ".join(recipients)
        if reply_to:
            message["Reply-To"] = reply_to
        message["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        message["Content-Language"] = language
        message.set_content(rendered.text)
        message.add_alternative(rendered.html, subtype="html")
        return message

    def send_raw(self, message: EmailMessage, recipients: list[str], tags: dict[str, str] | None = None) -> str:
        """Send a composed message; returns SES's message id.

        `tags` (letters, digits, `_` and `-` only) come back in SES's bounce and complaint events,
        which is how an event finds its creditor and debtor without reading the mail.
        """
        kwargs: dict[str, Any] = {
            "FromEmailAddress": self.sender,
            "Destination": {"ToAddresses": recipients},
            "Content": {"Raw": {"Data": message.as_bytes()}},
        }
        if tags:
            kwargs["EmailTags"] = [{"Name": k, "Value": v} for k, v in sorted(tags.items())]
        if self.configuration_set:
            kwargs["ConfigurationSetName"] = self.configuration_set
        return self._client.send_email(**kwargs)["MessageId"]


def _tag_value(value: str) -> str:
    return "".join(c if c.isalnum() or c in "_-" else "_" for c in value)[:256]


def mail_tags(creditor_id: str, debtor_id: str) -> dict[str, str]:
    """The SES message tags that identify whom a mail was for (ids only, never personal data)."""
    return {"creditor_id": _tag_value(creditor_id), "debtor_id": _tag_value(debtor_id)}
