"""Every e-mail a packaged policy can send exists in French and English and renders safely."""

from __future__ import annotations

from datetime import date

import pytest

from relance.adapters.mail_templates import render_dunning
from relance.adapters.policies import load_packaged_policy
from relance.domain.dunning import decide
from relance.domain.parties import Creditor
from relance.domain.policy import Channel
from relance.services.dunning import DunningMail
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
