"""Installment plan mails (issue 7) go out through SES as one MIME message, tagged with whom they are for."""

from __future__ import annotations

from datetime import date

from relance.adapters.aws import client
from relance.adapters.ses import SesMailer, mail_tags
from relance.domain.money import Money
from relance.domain.parties import Creditor, Debtor
from relance.domain.plans import Installment
from relance.services.installments import PlanMail, PlanMailKind
from relance_cli.outbox import read_outbox

SENDER = "relances@example.com"
CREDITOR = Creditor("acme", "Acme Fournitures SAS", contact_email="compta@acme.example.fr")
DEBTOR = Debtor("acme", "siren-552100554", "Client SARL", emails=("compta@client.example.fr",), language="en")


def a_missed_installment_mail() -> PlanMail:
    installment = Installment(2, date(2026, 4, 15), Money(600_00, "EUR"))
    return PlanMail(PlanMailKind.MISSED, CREDITOR, DEBTOR, DEBTOR.emails, "p1", installment, Money(600_00, "EUR"),
                    Money(1_600_00, "EUR"), False, breaks_on=date(2026, 4, 23))


def test_a_plan_mail_is_sent_through_ses_in_the_debtors_language_with_its_reference(aws):
    client("ses").verify_email_identity(EmailAddress=SENDER)

    message_id = SesMailer(SENDER).send_plan_mail(a_missed_installment_mail())

    [sent] = read_outbox(None, "eu-west-3")
    assert sent.message_id == message_id
    assert sent.recipients == ("compta@client.example.fr",)
    assert sent.sender == f"Acme Fournitures SAS <{SENDER}>"
    assert sent.subject == "Installment unpaid: €600.00 — Acme Fournitures SAS"
    assert "23 April 2026" in sent.text and "23 April 2026" in sent.html
    assert sent.reminder_id == "p1:installment_missed:2"


def test_the_same_plan_mail_sent_twice_carries_the_same_reference(aws):
    client("ses").verify_email_identity(EmailAddress=SENDER)
    mailer = SesMailer(SENDER)

    mailer.send_plan_mail(a_missed_installment_mail())
    mailer.send_plan_mail(a_missed_installment_mail())

    assert [m.reminder_id for m in read_outbox(None, "eu-west-3")] == ["p1:installment_missed:2"] * 2


def test_a_plan_mail_is_tagged_with_its_creditor_and_debtor_so_a_bounce_finds_them(aws):
    client("ses").verify_email_identity(EmailAddress=SENDER)
    sesv2, requests = client("sesv2"), []
    sesv2.meta.events.register("provide-client-params.sesv2.SendEmail",
                               lambda params, **_: requests.append(params))

    SesMailer(SENDER, sesv2=sesv2).send_plan_mail(a_missed_installment_mail())

    [request] = requests
    assert {t["Name"]: t["Value"] for t in request["EmailTags"]} == mail_tags("acme", "siren-552100554")
