"""Render e-mails from the per-language templates in relance/templates/mail (HTML autoescaped)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from relance.domain.formatting import SUPPORTED_LANGUAGES, format_day, format_money
from relance.services.links import NewLinkMail
from relance.services.reminders import ReminderMail


@dataclass(frozen=True, slots=True)
class RenderedMail:
    subject: str
    text: str
    html: str


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("relance", "templates/mail"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def render_reminder(mail: ReminderMail) -> RenderedMail:
    """Subject, plain text and HTML of a reminder, in the debtor's language."""
    language = mail.language if mail.language in SUPPORTED_LANGUAGES else "fr"
    decision = mail.decision
    lines = [
        {
            "number": invoice.number,
            "issued_on": format_day(invoice.issued_on, language),
            "due_on": format_day(invoice.due_on, language),
            "balance": format_money(invoice.balance, language),
        }
        for invoice in decision.overdue
    ]
    totals = " + ".join(format_money(amount, language) for amount in decision.totals.values())
    context = {
        "language": language,
        "creditor": mail.creditor,
        "debtor": mail.debtor,
        "lines": lines,
        "invoice_count": len(lines),
        "totals": totals,
        "link": mail.portal_link,
        "reminder_id": mail.reminder_id,
    }
    return _render(decision.step.value, language, context)


def render_new_link(mail: NewLinkMail) -> RenderedMail:
    """The mail that carries a fresh personal link, in the debtor's language."""
    language = mail.language if mail.language in SUPPORTED_LANGUAGES else "fr"
    context = {"language": language, "creditor": mail.creditor, "link": mail.portal_link}
    return _render("new_link", language, context)


def _render(name: str, language: str, context: dict) -> RenderedMail:
    """`<name>.<language>.txt` gives the subject (first line) and the text; `.html` the HTML part."""
    text = _environment().get_template(f"{name}.{language}.txt").render(context)
    subject, _, body = text.partition("\n")
    html = _environment().get_template(f"{name}.{language}.html").render(context, subject=subject.strip())
    return RenderedMail(subject=subject.strip(), text=body.lstrip("\n"), html=html)
