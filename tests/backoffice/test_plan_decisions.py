"""Finance decides in the back office: approve, reject with a message, counter with a schedule; two at once → one wins."""

from __future__ import annotations

from datetime import timedelta

import pytest
from relance.domain.money import Money
from relance.domain.plans import PlanState

from tests.backoffice.backoffice_world import FINANCE, FINANCE_2, csrf_token, plan_url, today
from tests.backoffice.conftest import sign_in


@pytest.fixture
def proposal(world):
    return world.propose(world.seed_debtor("d-1", "Boulangerie Martin SARL"))


def post(client, proposal, action: str, **form: str):
    token = csrf_token(client.get(plan_url(proposal)).get_data(as_text=True))
    return client.post(plan_url(proposal, action), data={**form, "csrf_token": token})


def stored_plan(world, proposal):
    return world.store.find_plan(proposal.creditor_id, proposal.debtor_id, proposal.plan.plan_id)


def test_the_queue_shows_debtor_amount_schedule_and_broken_rules_in_words(client, proposal):
    sign_in(client, FINANCE)

    english = client.get("/plans?lang=en").get_data(as_text=True)
    french = client.get("/plans?lang=fr").get_data(as_text=True)

    assert "Boulangerie Martin SARL" in english
    assert "€2,090.50" in english
    assert "10 installments until" in english
    assert "10 installments, more than the 6 allowed." in english
    assert "plan.max_installments" not in english and "max_installments" not in english
    assert "2\u202f090,50\u00a0€" in french
    assert "10 échéances, plus que les 6 autorisées." in french


def test_finance_approves_and_the_plan_is_accepted_with_its_name_in_the_audit(client, world, proposal):
    sign_in(client, FINANCE)

    response = post(client, proposal, "approve", message="")

    assert response.status_code == 302
    stored = stored_plan(world, proposal)
    assert stored.plan.state is PlanState.ACCEPTED
    assert stored.log[-1]["actor"] == f"finance:{FINANCE}"
    assert world.store.plan_queue("atelier") == []
    assert "Boulangerie Martin SARL" not in client.get("/plans").get_data(as_text=True)


def test_finance_rejects_with_a_message_to_the_debtor(client, world, proposal):
    sign_in(client, FINANCE)

    response = post(client, proposal, "reject", message="Merci de proposer un acompte de 10 %.")

    assert response.status_code == 302
    stored = stored_plan(world, proposal)
    assert stored.plan.state is PlanState.REJECTED
    assert stored.log[-1]["message"] == "Merci de proposer un acompte de 10 %."


def test_a_rejection_without_a_message_is_refused_and_the_field_says_why(client, world, proposal):
    sign_in(client, FINANCE)
    client.get("/plans?lang=en")

    response = post(client, proposal, "reject", message="  ")

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'aria-describedby="reject-message-error"' in page
    assert "Write the message the debtor will read." in page
    assert stored_plan(world, proposal).plan.state is PlanState.PROPOSED


def test_finance_counters_with_a_down_payment_and_monthly_installments(client, world, proposal):
    sign_in(client, FINANCE)
    client.get("/plans?lang=fr")
    first_on = today() + timedelta(days=30)

    response = post(client, proposal, "counter", down_payment="209,05", installments="4",
                    first_on=first_on.isoformat(), message="Quatre mois, avec un acompte.")

    assert response.status_code == 302
    plan = stored_plan(world, proposal).plan
    assert plan.state is PlanState.COUNTERED
    assert plan.counter.down_payment == Money(209_05, "EUR")
    assert len(plan.counter) == 4
    assert plan.counter.total == plan.proposal.debt
    assert plan.counter.installments[0].due_on >= first_on


def test_a_counter_with_bad_fields_names_every_problem_at_once(client, world, proposal):
    sign_in(client, FINANCE)
    client.get("/plans?lang=en")

    response = post(client, proposal, "counter", down_payment="abc", installments="zero", first_on="tomorrow")

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    for field in ("down_payment", "installments", "first_on"):
        assert f'id="counter-{field}-error"' in page
    assert stored_plan(world, proposal).plan.state is PlanState.PROPOSED


def test_two_finance_users_deciding_at_once_the_second_is_told_it_was_decided(app, world, proposal):
    first, second = app.test_client(), app.test_client()
    sign_in(first, FINANCE)
    sign_in(second, FINANCE_2)
    second.get("/plans?lang=en")
    second_token = csrf_token(second.get(plan_url(proposal)).get_data(as_text=True))  # both have the page open

    approved = post(first, proposal, "approve")
    rejected = second.post(plan_url(proposal, "reject"), data={"message": "Non.", "csrf_token": second_token})

    assert approved.status_code == 302
    assert rejected.status_code == 409
    assert "Someone else already decided on this proposal: it is now accepted." in rejected.get_data(as_text=True)
    stored = stored_plan(world, proposal)
    assert stored.plan.state is PlanState.ACCEPTED
    assert [entry["actor"] for entry in stored.log][-1] == f"finance:{FINANCE}"


@pytest.mark.parametrize("language", ["en", "fr"])
def test_every_rule_state_and_event_of_a_plan_has_words_for_finance(app, language):
    from relance.domain.plans import PlanEvent, PlanRule, RuleBreach
    from relance_backoffice.plans import breach_text, event_text, state_text

    with app.test_request_context(f"/plans?lang={language}"):
        rules = {rule: breach_text(RuleBreach(rule, 6, 10)) for rule in PlanRule}
        states = {state: state_text(state.value) for state in PlanState}
        events = {event: event_text(event.value) for event in PlanEvent}

    assert [r for r, text in rules.items() if text in ("Another rule of the policy.",
                                                       "Une autre règle de la politique.")] == []
    assert [s for s, text in states.items() if text == s.value and language == "fr"] == []
    assert [e for e, text in events.items() if text == e.value] == []


def test_the_proposal_shows_the_debtors_risk_with_its_reasons_and_links_to_their_history(client, proposal):
    sign_in(client, FINANCE)

    page = client.get(f"{plan_url(proposal)}?lang=en").get_data(as_text=True)

    assert "/ 100, " in page and "risk" in page
    assert "overdue." in page  # the overdue amount is one of the reasons
    assert f'href="/debtors/{proposal.debtor_id}"' in page
