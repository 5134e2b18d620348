"""Mail through SES (v2), as raw MIME so that text, HTML and later attachments travel together."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any

from relance.adapters.aws import client
from relance.adapters.mail_templates import RenderedMail, render_new_link, render_reminder
from relance.services.links import NewLinkMail
from relance.services.reminders import ReminderMail


class SesMailer:
    """Sends reminders from the creditor's verified sender address, through a configuration set."""

    def __init__(self, sender: str, configuration_set: str | None = None, sesv2: Any | None = None) -> None:
        self.sender = sender
        self.configuration_set = configuration_set
        self._client = sesv2 or client("sesv2")

    def send_reminder(self, mail: ReminderMail) -> str:
        message = self._compose(render_reminder(mail), mail.creditor.legal_name, mail.creditor.contact_email,
                                mail.recipients, mail.language)
        message["X-Relance-Reminder"] = mail.reminder_id
        return self.send_raw(message, list(mail.recipients))

    def send_new_link(self, mail: NewLinkMail) -> str:
        message = self._compose(render_new_link(mail), mail.creditor.legal_name, mail.creditor.contact_email,
                                mail.recipients, mail.language)
        return self.send_raw(message, list(mail.recipients))

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

    def send_raw(self, message: EmailMessage, recipients: list[str]) -> str:
        """Send a composed message; returns SES's message id."""
        kwargs: dict[str, Any] = {
            "FromEmailAddress": self.sender,
            "Destination": {"ToAddresses": recipients},
            "Content": {"Raw": {"Data": message.as_bytes()}},
        }
        if self.configuration_set:
            kwargs["ConfigurationSetName"] = self.configuration_set
        return self._client.send_email(**kwargs)["MessageId"]
