"""Every e-mail a packaged policy can send exists in French and English and renders safely."""

from __future__ import annotations

from datetime import date

import pytest

from relance.adapters.mail_templates import render_dunning, render_plan_mail
from relance.adapters.policies import load_packaged_policy
from relance.domain.dunning import decide
from relance.domain.money import Money
from relance.domain.parties import Creditor
from relance.domain.plans import Installment
from relance.domain.policy import Channel
from relance.services.dunning import DunningMail
from relance.services.installments import PlanMail, PlanMailKind
from tests.unit.dunning_builders import FR, LADDER, a_debtor, an_invoice

MAILED = (Channel.EMAIL, Channel.FORMAL_NOTICE)


def mailed_steps():
    for policy_id in ("fr-b2b", "uk-b2b"):
        book = load_packaged_policy(policy_id)
        for policy in [book.default, *(segment.policy for segment in book.segments)]:
            for step in policy.steps:
                if step.channel in MAILED:
                    yield pytest.param(policy, step, id=f"{policy_id}:{policy.policy_id}:{step.step_id}")


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize(("policy", "step"), list(mailed_steps()))
def test_every_mailed_step_has_its_template_in_both_languages(policy, step, language):
    creditor = Creditor("c1", "Fournitures <Dupont> & Fils", siren="000000018")
    debtor = a_debtor(language=language)
    decision = decide(debtor, [an_invoice(due_on=date(2025, 11, 28))], LADDER, date(2025, 12, 1), FR)
    mail = DunningMail(creditor, debtor, debtor.emails, decision.__class__(step, step.channel, decision.business_date,
                       decision.listed, decision.advancing), "https://portal.example/d/t0k3n", "c1:d1:2025-12-01",
                       extra={"deadline_on": date(2025, 12, 9), "total_minor": {"EUR": 1_240_00}})

    rendered = render_dunning(mail)

    assert rendered.subject and "F-1" in rendered.text and "F-1" in rendered.html
    assert "https://portal.example/d/t0k3n" in rendered.html
    assert "Fournitures &lt;Dupont&gt; &amp; Fils" in rendered.html  # autoescaped, never raw
    assert "<Dupont>" not in rendered.html


# --- installment plan mails (issue 7) ----------------------------------------------------------

NBSP, NNBSP = "\u00a0", "\u202f"  # Babel's French: no-break space before €, narrow one between thousands
PLAN_CREDITOR = Creditor("c1", "Fournitures <Dupont> & Fils", siren="000000018",
                         contact_email="compta@fournitures.example.fr")
# what each mail shows, per language: the installment's amount and date, then its own line
PLAN_MAIL_TEXT = {
    ("fr", PlanMailKind.UPCOMING): ("600,00" + NBSP + "€", "15 avril 2026", "1" + NNBSP + "000,00" + NBSP + "€"),
    ("en", PlanMailKind.UPCOMING): ("€600.00", "15 April 2026", "€1,000.00"),
    ("fr", PlanMailKind.MISSED): ("600,00" + NBSP + "€", "15 avril 2026", "23 avril 2026"),
    ("en", PlanMailKind.MISSED): ("€600.00", "15 April 2026", "23 April 2026"),
    ("fr", PlanMailKind.BROKEN): ("600,00" + NBSP + "€", "15 avril 2026", "1" + NNBSP + "600,00" + NBSP + "€"),
    ("en", PlanMailKind.BROKEN): ("€600.00", "15 April 2026", "€1,600.00"),
}


def a_plan_mail(kind: PlanMailKind, language: str, autopay: bool = False) -> PlanMail:
    """Installment 2 of plan p1: 600 € due on 15 April 2026, 1,600 € left on the plan."""
    debtor = a_debtor(language=language)
    installment = Installment(2, date(2026, 4, 15), Money(600_00, "EUR"))
    breaks_on = date(2026, 4, 23) if kind is PlanMailKind.MISSED else None
    return PlanMail(kind, PLAN_CREDITOR, debtor, debtor.emails, "p1", installment, Money(600_00, "EUR"),
                    Money(1_600_00, "EUR"), autopay, breaks_on)


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("kind", list(PlanMailKind))
def test_each_plan_mail_shows_the_amount_date_and_creditor_in_the_debtors_language(kind, language):
    amount, due_on, own_line = PLAN_MAIL_TEXT[(language, kind)]

    rendered = render_plan_mail(a_plan_mail(kind, language))

    assert amount in rendered.subject or kind is PlanMailKind.BROKEN
    for part in (rendered.text, rendered.html):
        assert amount in part and due_on in part and own_line in part
    assert "Fournitures <Dupont> & Fils" in rendered.subject and "Fournitures <Dupont> & Fils" in rendered.text
    assert "Fournitures &lt;Dupont&gt; &amp; Fils" in rendered.html and "<Dupont>" not in rendered.html
    assert "compta@fournitures.example.fr" in rendered.text
    assert f"p1:{kind.value}:2" in rendered.text  # the reference the debtor quotes


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("kind", list(PlanMailKind))
def test_a_plan_mail_leaves_no_placeholder_unrendered_and_no_empty_button(kind, language):
    rendered = render_plan_mail(a_plan_mail(kind, language))

    for part in (rendered.subject, rendered.text, rendered.html):
        assert "{{" not in part and "{%" not in part and "}}" not in part and "None" not in part
    assert 'href=""' not in rendered.html  # plan mails carry no portal link, so no button to nowhere


def test_a_plan_mail_is_in_french_for_a_debtor_of_an_unsupported_language():
    rendered = render_plan_mail(a_plan_mail(PlanMailKind.UPCOMING, "de"))

    assert "600,00" + NBSP + "€" in rendered.text and "15 avril 2026" in rendered.text


@pytest.mark.parametrize(
    ("language", "autopay", "expected"),
    [
        ("fr", True, "prélevée automatiquement"),
        ("fr", False, "depuis votre espace personnel"),
        ("en", True, "charged automatically"),
        ("en", False, "from your personal page"),
    ],
)
def test_the_reminder_before_an_installment_says_whether_it_is_charged_or_to_be_paid(language, autopay, expected):
    rendered = render_plan_mail(a_plan_mail(PlanMailKind.UPCOMING, language, autopay=autopay))

    assert expected in rendered.text


@pytest.mark.parametrize("news", ["plan_accepted", "plan_countered", "plan_rejected"])
def test_a_plan_decision_mail_reads_in_english_with_no_placeholder_left(news):
    from datetime import date

    from relance.adapters.mail_templates import render_plan_decision_mail
    from relance.domain.money import Money
    from relance.domain.parties import Creditor, Debtor
    from relance.domain.plans import Installment, Plan, PlanInvoice, PlanProposal, Schedule
    from relance.services.plans import PlanDecisionMail, PlanNews

    schedule = Schedule(Money(100_00, "EUR"), (Installment(1, date(2026, 12, 15), Money(450_00, "EUR")),
                                               Installment(2, date(2027, 1, 15), Money(450_00, "EUR"))))
    plan = Plan("p-1", PlanProposal((PlanInvoice("F-7", Money(1_000_00, "EUR")),), schedule, ""), date(2026, 11, 23))
    mail = PlanDecisionMail(PlanNews(news), Creditor("acme", "Acme Ltd"), Debtor("acme", "d", "Bramble",
                            emails=("a@b.example",), language="en"), ("a@b.example",), plan,
                            message="Six months at most.", link="https://portal.example/d/tok")

    rendered = render_plan_decision_mail(mail)

    assert "F-7" in rendered.text and "https://portal.example/d/tok" in rendered.text
    assert not any(mark in rendered.subject + rendered.text + rendered.html for mark in ("{{", "{%", "None"))
    if news != "plan_rejected":
        assert "- Installment 2, 15 January 2027: €450.00" in rendered.text and "Total: €1,000.00" in rendered.text
    if news != "plan_accepted":
        assert "Six months at most." in rendered.text
