"""Render e-mails from the per-language templates in relance/templates/mail (HTML autoescaped)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from relance.domain.formatting import SUPPORTED_LANGUAGES, format_day, format_money
from relance.domain.money import Money

if TYPE_CHECKING:
    from jinja2 import Environment

    from relance.services.alerts import AlertsDigestMail
    from relance.services.disputes import DisputeRejectedMail
    from relance.services.dunning import DunningMail
    from relance.services.installments import PlanMail
    from relance.services.links import NewLinkMail
    from relance.services.plans import PlanDecisionMail
    from relance.services.portal_access import CodeMail


@dataclass(frozen=True, slots=True)
class RenderedMail:
    subject: str
    text: str
    html: str


@cache
def _environment() -> Environment:
    # Jinja2 is imported with the first mail rendered, not by every handler that wires a mailer.
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=PackageLoader("relance", "templates/mail"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


BUTTON = {"fr": "Consulter mon compte et régler", "en": "View my account and pay"}


def render_dunning(mail: DunningMail) -> RenderedMail:
    """Subject, plain text and HTML of a dunning e-mail, in the step's tone and the debtor's language."""
    language = mail.language if mail.language in SUPPORTED_LANGUAGES else "fr"
    decision = mail.decision
    lines = [
        {
            "number": invoice.number,
            "issued_on": format_day(invoice.issued_on, language),
            "due_on": format_day(invoice.due_on, language),
            "balance": format_money(invoice.balance, language),
            "days_late": invoice.days_overdue(decision.business_date),
        }
        for invoice in decision.listed
    ]
    notice = None
    if mail.extra.get("total_minor"):
        notice = {
            "total": " + ".join(format_money(Money(minor, currency), language)
                                for currency, minor in sorted(mail.extra["total_minor"].items())),
            "deadline": format_day(mail.extra["deadline_on"], language, "long"),
        }
    context = {
        "language": language,
        "creditor": mail.creditor,
        "debtor": mail.debtor,
        "lines": lines,
        "invoice_count": len(lines),
        "totals": " + ".join(format_money(amount, language) for amount in decision.totals.values()),
        "link": mail.portal_link,
        "reminder_id": mail.contact_id,
        "notice": notice,
    }
    return _render(decision.step.template, language, context)


def render_new_link(mail: NewLinkMail) -> RenderedMail:
    """The mail that carries a fresh personal link, in the debtor's language."""
    language = mail.language if mail.language in SUPPORTED_LANGUAGES else "fr"
    context = {"language": language, "creditor": mail.creditor, "link": mail.portal_link}
    return _render("new_link", language, context)


def render_code(mail: CodeMail) -> RenderedMail:
    """The mail carrying a one-time code (templates otp.<language>.txt and .html), in the debtor's language."""
    language = mail.language if mail.language in SUPPORTED_LANGUAGES else "fr"
    context = {"language": language, "creditor": mail.creditor, "code": mail.code, "minutes": mail.minutes_valid}
    return _render("otp", language, context)


def render_plan_mail(mail: PlanMail) -> RenderedMail:
    """An installment plan mail (before an installment, a missed one, the end of the plan) in the debtor's language."""
    language = mail.language if mail.language in SUPPORTED_LANGUAGES else "fr"
    installment = mail.installment
    context = {
        "language": language,
        "creditor": mail.creditor,
        "number": installment.number,
        "due_on": format_day(installment.due_on, language, "long"),
        "owed": format_money(mail.owed, language),
        "outstanding": format_money(mail.outstanding, language),
        "outstanding_after": format_money(mail.outstanding - mail.owed, language),
        "autopay": mail.autopay,
        "breaks_on": format_day(mail.breaks_on, language, "long") if mail.breaks_on else "",
        "reminder_id": mail.mail_id,
        "link": mail.link,  # the debtor's fresh personal link, stored before the mail goes out
    }
    return _render(mail.kind.value, language, context)


def render_dispute_rejected(mail: DisputeRejectedMail) -> RenderedMail:
    """The mail telling the debtor finance rejected their dispute, with finance's message, in their language."""
    language = mail.language if mail.language in SUPPORTED_LANGUAGES else "fr"
    context = {"language": language, "creditor": mail.creditor, "number": mail.number, "message": mail.message,
               "link": ""}
    return _render("dispute_rejected", language, context)


_LINE_LABELS = {"fr": ("Acompte", "Échéance {number}"), "en": ("Down payment", "Installment {number}")}
_ON_ACCEPTANCE = {"fr": "à l'acceptation", "en": "on acceptance"}


def render_plan_decision_mail(mail: PlanDecisionMail) -> RenderedMail:
    """What became of the debtor's proposal (accepted, countered, rejected), with the schedule in force."""
    language = mail.language if mail.language in SUPPORTED_LANGUAGES else "fr"
    plan = mail.plan
    down_label, installment_label = _LINE_LABELS[language]
    lines = [{"label": down_label if line.number == 0 else installment_label.format(number=line.number),
              "due_on": _ON_ACCEPTANCE[language] if line.number == 0 else format_day(line.due_on, language, "long"),
              "amount": format_money(line.amount, language)} for line in plan.lines]
    context = {
        "language": language,
        "creditor": mail.creditor,
        "invoices": ", ".join(i.number for i in plan.proposal.invoices),
        "lines": lines,
        "total": format_money(plan.schedule.total, language),
        "message": mail.message or "",
        "reminder_id": mail.mail_id,
        "link": mail.link,
    }
    return _render(mail.news.value, language, context)


def render_alerts_digest(mail: AlertsDigestMail) -> RenderedMail:
    """Finance's daily digest of alerts, each with its back-office link, in the creditor's language."""
    language = mail.language if mail.language in SUPPORTED_LANGUAGES else "fr"
    lines = []
    for line in mail.lines:
        params = dict(line.alert.params)
        amount = ""
        if params.get("amount_minor") and params.get("currency"):
            amount = format_money(Money(int(params["amount_minor"]), params["currency"]), language)
        lines.append({"kind": line.alert.kind.value, "debtor": line.alert.debtor_label, "url": line.url,
                      "amount": amount, "number": params.get("number", ""), "days": params.get("days", ""),
                      "score": params.get("score", ""), "plan_id": params.get("plan_id", "")})
    context = {"language": language, "creditor": mail.creditor, "day": format_day(mail.day, language, "long"),
               "count": len(lines), "lines": lines, "link": ""}
    return _render("alerts_digest", language, context)


def _render(name: str, language: str, context: dict) -> RenderedMail:
    """`<name>.<language>.txt` gives the subject (first line) and the text; `.html` the HTML part."""
    from jinja2 import TemplateNotFound

    text = _environment().get_template(f"{name}.{language}.txt").render(context)
    subject, _, body = text.partition("\n")
    body = body.lstrip("\n")
    try:
        html = _environment().get_template(f"{name}.{language}.html").render(context, subject=subject.strip())
    except TemplateNotFound:
        html = _html_from_text(body, subject.strip(), language, context["link"])
    return RenderedMail(subject=subject.strip(), text=body, html=html)


def _html_from_text(body: str, subject: str, language: str, link: str) -> str:
    """The HTML part of a mail that has only a text template: its paragraphs, list and link, escaped."""
    message, _, footer = body.partition("\n--\n")
    blocks = []
    for paragraph in (p.strip("\n") for p in message.split("\n\n")):
        lines = [line for line in paragraph.splitlines() if line.strip()]
        if not lines:
            continue
        if all(line.startswith("- ") for line in lines):
            blocks.append({"bullets": [line[2:] for line in lines]})
        elif lines == [link]:
            blocks.append({"link": link})
        else:
            blocks.append({"lines": lines})
    return _environment().get_template("_from_text.html").render(
        language=language, subject=subject, blocks=blocks, button=BUTTON.get(language, BUTTON["fr"]),
        footer=[line for line in footer.splitlines() if line.strip()],
    )
