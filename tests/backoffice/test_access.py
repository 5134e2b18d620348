"""Every back-office page checks who asks: signed out → sign-in, viewer → no action, forms → CSRF token."""

from __future__ import annotations

import pytest
from relance.domain.plans import PlanState

from tests.backoffice.backoffice_world import FINANCE, OUTSIDER, VIEWER, csrf_token, plan_url
from tests.backoffice.conftest import sign_in

ACTIONS = ("approve", "reject", "counter")
COUNTER_FORM = {"installments": "4", "first_on": "2099-01-15", "down_payment": "", "message": "ok"}


@pytest.fixture
def proposal(world):
    return world.propose(world.seed_debtor("d-1", "Boulangerie Martin SARL"))


@pytest.mark.parametrize("path", ["/", "/plans", "plan"])
def test_signed_out_pages_redirect_to_sign_in(client, proposal, path):
    url = plan_url(proposal) if path == "plan" else path

    response = client.get(url, follow_redirects=True)

    assert response.request.path == "/sign-in"
    assert response.status_code == 200


@pytest.mark.parametrize("action", ACTIONS)
def test_signed_out_actions_redirect_to_sign_in_and_change_nothing(client, world, proposal, action):
    token = csrf_token(client.get("/sign-in").get_data(as_text=True))  # a valid form, but nobody signed in

    response = client.post(plan_url(proposal, action), data={**COUNTER_FORM, "csrf_token": token})

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in?next=")
    assert _state(world, proposal) is PlanState.PROPOSED


@pytest.mark.parametrize("action", ACTIONS)
def test_a_viewer_is_refused_every_action_and_nothing_changes(client, world, proposal, action):
    sign_in(client, VIEWER)
    token = csrf_token(client.get(plan_url(proposal)).get_data(as_text=True))

    response = client.post(plan_url(proposal, action), data={**COUNTER_FORM, "csrf_token": token})

    assert response.status_code == 403
    assert _state(world, proposal) is PlanState.PROPOSED


def test_a_viewer_reads_the_queue_and_the_proposal_but_sees_no_action_button(client, proposal):
    sign_in(client, VIEWER)

    queue = client.get("/plans?lang=en").get_data(as_text=True)
    page = client.get(plan_url(proposal)).get_data(as_text=True)

    assert "Boulangerie Martin SARL" in queue
    assert "Boulangerie Martin SARL" in page
    for action in ACTIONS:
        assert plan_url(proposal, action) not in page
    assert "Approve" not in page and "Send the counter-proposal" not in page


def test_finance_sees_the_three_actions(client, proposal):
    sign_in(client, FINANCE)

    page = client.get(plan_url(proposal) + "?lang=en").get_data(as_text=True)

    for action in ACTIONS:
        assert plan_url(proposal, action) in page


@pytest.mark.parametrize("action", ACTIONS)
def test_an_action_without_the_csrf_token_is_refused(client, world, proposal, action):
    sign_in(client, FINANCE)

    response = client.post(plan_url(proposal, action), data=COUNTER_FORM)

    assert response.status_code == 400
    assert _state(world, proposal) is PlanState.PROPOSED


def test_another_creditors_finance_user_sees_neither_the_queue_line_nor_the_plan(client, world, proposal):
    sign_in(client, OUTSIDER)
    token = csrf_token(client.get("/plans").get_data(as_text=True))

    queue = client.get("/plans").get_data(as_text=True)
    page = client.get(plan_url(proposal))
    action = client.post(plan_url(proposal, "approve"), data={"csrf_token": token})

    assert "Boulangerie Martin SARL" not in queue
    assert page.status_code == 404
    assert action.status_code == 404
    assert _state(world, proposal) is PlanState.PROPOSED


def test_pages_carry_the_portals_security_headers(client, proposal):
    sign_in(client, FINANCE)

    response = client.get(plan_url(proposal))

    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"


def _state(world, proposal) -> PlanState:
    return world.store.find_plan(proposal.creditor_id, proposal.debtor_id, proposal.plan.plan_id).plan.state
