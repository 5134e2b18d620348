"""The debtor hears what became of their plan: accepted at once, countered or rejected by finance, by e-mail
in their language, with the schedule in force and a personal link; a mail that fails never undoes a decision."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from relance_cli.outbox import read_outbox

from relance.adapters.links import issue_link, token_sha256
from relance.adapters.portal_access import PortalAccessStore
from relance.adapters.ses import SesMailer
from relance.adapters.wiring import plan_notifier
from relance.domain.money import Money
from relance.domain.plans import PlanState
from relance.services.plans import ScheduleTerms, decide_plan
from relance.adapters.plans_store import PlansStore
from tests.integration.test_plans import (
    CREDITOR,
    DEBTOR,
    INSIDE,
    NOW,
    OUTSIDE,
    TODAY,
    an_invoice,
    closed_for,
    policies_for,
    propose,
)


@pytest.fixture
def store(stack) -> PlansStore:
    """The creditor and two overdue invoices of 1,000 EUR, as in test_plans."""
    from datetime import timedelta

    store = PlansStore(stack.physical["RelanceTable"])
    store.put_creditor(CREDITOR)
    store.put_new_invoices([
        an_invoice("F-1", date(2026, 10, 1), "reminder_2", date(2026, 11, 16), TODAY + timedelta(days=1)),
        an_invoice("F-2", date(2026, 10, 15), "reminder_1", date(2026, 11, 18), TODAY + timedelta(days=3)),
    ], [DEBTOR])
    return store


@pytest.fixture
def notify(stack):
    table = stack.physical["RelanceTable"]

    def issue(debtor, now):
        return issue_link(debtor, now, "https://portal.example")

    return plan_notifier(SesMailer("relances@example.com"), PortalAccessStore(table), issue,
                         lambda: datetime(2026, 11, 23, 10, tzinfo=UTC))


def mails_to(stack, address: str):
    return [m for m in read_outbox(None, stack.region) if address in m.recipients]


def test_a_plan_accepted_at_once_is_confirmed_with_its_schedule_and_a_link_that_opens(store, stack, notify):
    stored = propose_plan_with(store, INSIDE, notify)

    [mail] = mails_to(stack, DEBTOR.emails[0])
    assert stored.plan.state is PlanState.ACCEPTED
    assert mail.subject.startswith("Votre échéancier est accepté")
    assert "- Acompte, à l'acceptation : 200,00\u00a0€" in mail.text
    assert "- Échéance 1, 15 décembre 2026 : 600,00\u00a0€" in mail.text
    assert "Total : 2\u202f000,00\u00a0€" in mail.text
    token = re.search(r"https://portal\.example/d/([A-Za-z0-9_-]+)", mail.text).group(1)
    assert PortalAccessStore(store.table_name).find_link(token_sha256(token)) is not None
    assert mail.reminder_id == f"{stored.plan.plan_id}:plan_accepted"


def test_finance_rejecting_with_a_message_tells_the_debtor_that_message(store, stack, notify):
    proposed = propose(store, OUTSIDE)
    decide_plan("acme", "d-1", proposed.plan.plan_id, "reject", "fin@acme.example",
                "Nous ne pouvons pas aller au-delà de six mois.", NOW, store, policies_for, closed_for,
                notify=notify)

    [mail] = mails_to(stack, DEBTOR.emails[0])
    assert mail.subject.startswith("Votre proposition d'échéancier n'est pas acceptée")
    assert "Notre message : Nous ne pouvons pas aller au-delà de six mois." in mail.text


def test_a_counter_proposal_is_mailed_with_finances_schedule(store, stack, notify):
    proposed = propose(store, OUTSIDE)
    counter = ScheduleTerms(4, date(2026, 12, 15), Money(300_00, "EUR"))
    decide_plan("acme", "d-1", proposed.plan.plan_id, "counter", "fin@acme.example", None, NOW, store,
                policies_for, closed_for, counter=counter, notify=notify)

    [mail] = mails_to(stack, DEBTOR.emails[0])
    assert mail.subject.startswith("Un autre échéancier vous est proposé")
    assert "- Acompte, à l'acceptation : 300,00\u00a0€" in mail.text
    assert mail.text.count("- Échéance ") == 4


def test_a_mail_that_cannot_be_sent_leaves_the_decision_written(store, stack, caplog):
    class Down:
        def send_plan_decision_mail(self, mail):
            raise ConnectionError("SES unreachable")

    table = stack.physical["RelanceTable"]
    notify = plan_notifier(Down(), PortalAccessStore(table), lambda d, n: issue_link(d, n, "https://p.example"),
                           lambda: NOW)
    proposed = propose(store, OUTSIDE)

    decided = decide_plan("acme", "d-1", proposed.plan.plan_id, "approve", "fin@acme.example", None, NOW, store,
                          policies_for, closed_for, notify=notify)

    assert decided.plan.state is PlanState.ACCEPTED
    assert store.find_plan("acme", "d-1", proposed.plan.plan_id).plan.state is PlanState.ACCEPTED
    assert "Plan decision mail not sent" in caplog.text


def propose_plan_with(store, terms, notify):
    from relance.services.plans import propose_plan

    return propose_plan("acme", "d-1", None, terms, "Trésorerie tendue", NOW, store, policies_for, closed_for,
                        notify=notify)
