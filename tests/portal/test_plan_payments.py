"""Paying a running plan from the portal: set up automatic payment (Checkout in setup mode), see it, stop it,
or pay the next installment now; always the session debtor's own plan, behind CSRF and the one-time code."""

from __future__ import annotations

import dataclasses
import re
from datetime import date

import pytest
from tests.portal.account_fakes import account_services_for
from tests.portal.portal_world import NOW, TEST_CONFIG, World, csrf_token_in, eur, page_of

from relance.domain.plans import Autopay, PlanState
from relance.services.payments import CheckoutSession
from relance.services.plans import ScheduleTerms, propose_plan
from relance_portal import create_app
from relance_portal.pay import PayPorts

FIRST_ON = date(2026, 12, 15)
INSIDE = ScheduleTerms(3, FIRST_ON, eur(1_000_00))  # accepted at once for debtor A's FA-2026-0101


class FakeCheckout:
    """Stripe Checkout as the portal sees it: records every request, answers with a session per key."""

    def __init__(self) -> None:
        self.payments: list[dict] = []
        self.setups: list[dict] = []

    def create_checkout(self, debtor, creditor, allocations, success_url, cancel_url, idempotency_key,
                        metadata_extra=None):
        self.payments.append({"allocation": allocations, "key": idempotency_key, "metadata": metadata_extra})
        return CheckoutSession(f"cs_test_{len(self.payments)}", f"https://checkout.example/pay/{len(self.payments)}")

    def create_setup_checkout(self, request, idempotency_key):
        self.setups.append({"request": request, "key": idempotency_key})
        return CheckoutSession("cs_test_setup", "https://checkout.example/setup"), request.customer_id or "cus_new"


class FakeCheckoutStore:
    def __init__(self) -> None:
        self.checkouts: dict = {}
        self.setups: dict = {}

    def put_checkout(self, record) -> None:
        self.checkouts.setdefault(record.session_id, record)

    def get_checkout(self, session_id):
        return self.checkouts.get(session_id)

    def get_payment(self, payment_id):
        return None

    def put_setup_checkout(self, record) -> None:
        self.setups.setdefault(record.session_id, record)


@pytest.fixture
def account(world: World):
    services, store, documents = account_services_for(world)
    audit: list[dict] = []

    def clear_autopay(stored, entry, now):  # PlansStore.clear_autopay, in memory
        key = (stored.creditor_id, stored.debtor_id, stored.plan.plan_id)
        current = store.plans[key]
        if current.plan.autopay != stored.plan.autopay or current.plan.autopay is None:
            return False
        store.plans[key] = dataclasses.replace(current, plan=dataclasses.replace(current.plan, autopay=None))
        audit.append(entry)
        return True

    store.clear_autopay = clear_autopay
    store.autopay_audit = audit
    return services, store, documents


@pytest.fixture
def stripe():
    return FakeCheckout(), FakeCheckoutStore()


def an_app(world, account, stripe, **config):
    checkout, checkout_store = stripe
    factory = lambda _config: PayPorts(checkout, checkout_store)  # noqa: E731
    return create_app({**TEST_CONFIG, "ACCOUNT_SERVICES": account[0], "PAYMENTS_FACTORY": factory, **config},
                      world.services())


@pytest.fixture
def app(world, account, stripe):
    return an_app(world, account, stripe)


def sign_in(client, world: World, debtor_id: str = "debtor-a", verified: bool = True):
    debtor = world.debtors[("cred-atelier", debtor_id)]
    assert client.get(world.link_for(debtor)).status_code == 303
    if verified:
        with client.session_transaction() as session:
            session["code_verified_at"] = NOW.isoformat()
    return client


def accepted_plan(account, debtor_id: str = "debtor-a", invoice: str = "FA-2026-0101", terms=INSIDE):
    services, store, _documents = account
    stored = propose_plan("cred-atelier", debtor_id, [invoice], terms, "", NOW, store, services.policies,
                          services.closed_days)
    assert stored.plan.state is PlanState.ACCEPTED
    return stored


def with_autopay(store, stored, autopay: Autopay) -> None:
    key = (stored.creditor_id, stored.debtor_id, stored.plan.plan_id)
    store.plans[key] = dataclasses.replace(store.plans[key], plan=dataclasses.replace(store.plans[key].plan,
                                                                                      autopay=autopay))


def plain(html: str) -> str:
    return html.replace("\u202f", " ").replace("\u00a0", " ").replace("&nbsp;", " ")


def test_a_running_plan_offers_automatic_payment_and_its_next_installment(client, world, account):
    accepted_plan(account)

    html = plain(page_of(sign_in(client, world).get("/account/plans")))

    assert "Mettre en place le paiement automatique" in html
    assert "Payer cette échéance (1 000,00 €)" in html  # the down payment comes first


def test_setting_up_automatic_payment_opens_a_setup_session_for_this_plan(client, world, account, stripe):
    stored = accepted_plan(account)
    debtor = sign_in(client, world)
    token = csrf_token_in(page_of(debtor.get("/account/plans")))

    response = debtor.post(f"/account/plans/{stored.plan.plan_id}/autopay", data={"csrf_token": token,
                                                                                  "nonce": "n-1"})

    assert response.status_code == 303
    assert response.headers["Location"] == "https://checkout.example/setup"
    [setup] = stripe[0].setups
    assert setup["request"].metadata == {"relance_kind": "autopay", "creditor_id": "cred-atelier",
                                         "debtor_id": "debtor-a", "plan_id": stored.plan.plan_id}
    assert setup["key"].startswith("relance-autopay-")
    [record] = stripe[1].setups.values()
    assert (record.plan_id, record.customer_id, record.currency) == (stored.plan.plan_id, "cus_new", "EUR")


def test_setting_up_automatic_payment_without_the_csrf_token_is_refused(world, account, stripe):
    stored = accepted_plan(account)
    client = sign_in(an_app(world, account, stripe, WTF_CSRF_ENABLED=True).test_client(), world)

    response = client.post(f"/account/plans/{stored.plan.plan_id}/autopay", data={"nonce": "n-1"})

    assert response.status_code == 400
    assert stripe[0].setups == []


def test_setting_up_automatic_payment_asks_for_the_one_time_code_first(client, world, account, stripe):
    stored = accepted_plan(account)
    debtor = sign_in(client, world, verified=False)
    token = csrf_token_in(page_of(debtor.get("/account/plans")))

    response = debtor.post(f"/account/plans/{stored.plan.plan_id}/autopay", data={"csrf_token": token})

    assert response.status_code == 303
    assert "/account/verify?next=" in response.headers["Location"]
    assert stripe[0].setups == []


def test_another_debtors_plan_is_not_found(client, world, account, stripe):
    theirs = accepted_plan(account, "debtor-b", "FB-2026-0777", ScheduleTerms(2, FIRST_ON, eur(100_00)))
    debtor = sign_in(client, world)
    token = csrf_token_in(page_of(debtor.get("/account/plan")))

    statuses = [debtor.post(f"/account/plans/{theirs.plan.plan_id}/{action}", data={"csrf_token": token}).status_code
                for action in ("autopay", "autopay/stop", "pay")]

    assert statuses == [404, 404, 404]
    assert stripe[0].setups == [] and stripe[0].payments == []


def test_a_proposal_still_waiting_cannot_get_automatic_payment(client, world, account, stripe):
    services, store, _documents = account
    waiting = propose_plan("cred-atelier", "debtor-a", ["FA-2026-0101"], ScheduleTerms(3, FIRST_ON), "", NOW, store,
                           services.policies, services.closed_days)
    debtor = sign_in(client, world)
    token = csrf_token_in(page_of(debtor.get("/account/plans")))

    response = debtor.post(f"/account/plans/{waiting.plan.plan_id}/autopay", data={"csrf_token": token})

    assert waiting.plan.state is PlanState.PROPOSED
    assert response.status_code == 303
    assert stripe[0].setups == []
    assert "accepté et toujours en cours" in page_of(debtor.get("/account/plans"))


def test_the_plan_page_shows_the_saved_card_and_stopping_it_removes_it_with_an_audit_line(client, world, account):
    _services, store, _documents = account
    stored = accepted_plan(account)
    with_autopay(store, stored, Autopay("cus_1", "pm_1", "card", "4242"))
    debtor = sign_in(client, world)
    html = page_of(debtor.get("/account/plans"))

    response = debtor.post(f"/account/plans/{stored.plan.plan_id}/autopay/stop",
                           data={"csrf_token": csrf_token_in(html)})

    assert "carte se terminant par 4242, chaque échéance est prélevée à sa date" in plain(html)
    assert "Arrêter le paiement automatique" in html
    assert response.status_code == 303
    assert store.plans[("cred-atelier", "debtor-a", stored.plan.plan_id)].plan.autopay is None
    assert [e["action"] for e in store.autopay_audit] == ["autopay_stopped"]
    assert "Le paiement automatique est arrêté" in page_of(debtor.get("/account/plans"))


def test_a_sepa_mandate_is_shown_by_its_account_ending(client, world, account):
    _services, store, _documents = account
    stored = accepted_plan(account)
    with_autopay(store, stored, Autopay("cus_1", "pm_1", "sepa_debit", "3000"))

    html = plain(page_of(sign_in(client, world).get("/account/plans")))

    assert "compte SEPA se terminant par 3000" in html


def test_paying_the_next_installment_reviews_then_opens_checkout_for_exactly_its_amount(client, world, account,
                                                                                      stripe):
    stored = accepted_plan(account)
    debtor = sign_in(client, world, verified=False)
    token = csrf_token_in(page_of(debtor.get("/account/plans")))

    reviewed = debtor.post(f"/account/plans/{stored.plan.plan_id}/pay",
                           data={"csrf_token": token, "step": "review", "amount": "1,00"})
    review = page_of(reviewed)
    nonce = re.search(r'name="nonce" value="([^"]+)"', review).group(1)
    opened = debtor.post(f"/account/plans/{stored.plan.plan_id}/pay",
                         data={"csrf_token": token, "step": "pay", "nonce": nonce, "amount": "1,00"})

    assert reviewed.status_code == 200
    assert "acompte de votre échéancier" in review
    assert f'action="/account/plans/{stored.plan.plan_id}/pay"' in review
    assert opened.status_code == 303 and opened.headers["Location"] == "https://checkout.example/pay/1"
    [payment] = stripe[0].payments
    assert payment["allocation"].amount == eur(1_000_00)  # from the plan, never from the form
    assert [(a.invoice_number, a.amount) for a in payment["allocation"].allocations] == [("FA-2026-0101",
                                                                                          eur(1_000_00))]
    assert payment["metadata"] == {"relance_kind": "installment", "plan_id": stored.plan.plan_id,
                                   "installment": "0"}
    [record] = stripe[1].checkouts.values()
    assert dict(record.metadata)["plan_id"] == stored.plan.plan_id


def test_the_setup_session_request_saves_a_card_or_sepa_mandate_with_our_ids_only():
    from relance.adapters.checkout import setup_checkout_params
    from relance.services.autopay import SetupRequest
    from tests.portal.portal_world import CREDITOR, DEBTOR_A

    request = SetupRequest(CREDITOR, DEBTOR_A, "plan-1", "EUR", None, "https://p/done", "https://p/plans")

    params = setup_checkout_params(request, "cus_1")

    assert params["mode"] == "setup" and params["customer"] == "cus_1" and params["currency"] == "eur"
    assert params["payment_method_types"] == ["card", "sepa_debit"]
    expected = {"relance_kind": "autopay", "creditor_id": "cred-atelier", "debtor_id": "debtor-a",
                "plan_id": "plan-1"}
    assert params["metadata"] == expected and params["setup_intent_data"]["metadata"] == expected
    assert "line_items" not in params and "payment_intent_data" not in params
