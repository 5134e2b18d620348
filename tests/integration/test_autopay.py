"""Automatic payment of a plan on the local stack: the debtor sets it up through the stand-in checkout
(setup mode), the stand-in signs Stripe's `checkout.session.completed` with the stack's webhook secret and
delivers it to the webhook's own handler; delivered twice, the plan changes once, with one audit line."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from relance.adapters.aws import client
from relance.adapters.checkout import StandInStripe
from relance.adapters.links import issue_link
from relance.adapters.payments_store import PaymentsStore
from relance.adapters.plans_store import PlansStore
from relance.adapters.policies import load_packaged_policy
from relance.adapters.portal_access import PortalAccessStore
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.parties import Creditor, Debtor
from relance.domain.plans import Autopay, PlanState
from relance.services.autopay import SetupCheckoutRecord
from relance.services.plans import ScheduleTerms, propose_plan
from relance_cli import local_lambda
from relance_portal import create_app

CREDITOR = Creditor("atelier", "Atelier Lumière SAS")
DEBTOR = Debtor("atelier", "bramble", "Bramble & Co Ltd", emails=("ap@bramble.example",), language="en")
NOW = datetime.now(UTC)
TODAY = NOW.date()
BOOK = load_packaged_policy("fr-b2b")
INSIDE = ScheduleTerms(3, TODAY + timedelta(days=20), Money(200_00, "EUR"))
OUTSIDE = ScheduleTerms(10, TODAY + timedelta(days=20))


def an_invoice(number: str, due_on: date) -> Invoice:
    return Invoice("atelier", "bramble", number, due_on - timedelta(days=30), due_on, Money(1_000_00, "EUR"),
                   Money(0, "EUR"), next_action_on=TODAY + timedelta(days=1))


@pytest.fixture
def store(stack, monkeypatch) -> PlansStore:
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()  # each stack has its own link and webhook secrets
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    store = PlansStore(stack.physical["RelanceTable"])
    store.put_creditor(CREDITOR)
    store.put_new_invoices([an_invoice("FB-1", TODAY - timedelta(days=40)),
                            an_invoice("FB-2", TODAY - timedelta(days=20))], [DEBTOR])
    return store


@pytest.fixture
def webhook_secret(stack) -> str:
    value = client("secretsmanager").get_secret_value(SecretId=stack.physical["StripeSecret"])["SecretString"]
    return json.loads(value)["webhook_secret"]


def propose(store: PlansStore, terms: ScheduleTerms):
    return propose_plan("atelier", "bramble", None, terms, "", NOW, store, lambda _c: BOOK, lambda _c: frozenset())


def portal_app():
    """The portal as deployed (the stack's tables, the stand-in checkout), created without the wiring's cache."""
    return create_app({"SECRET_KEY": "autopay-tests-session-secret", "TESTING": True})


def signed_in_and_verified(app, stack):
    issued = issue_link(DEBTOR, datetime.now(UTC), "http://127.0.0.1:8000")
    PortalAccessStore(stack.physical["RelanceTable"]).put_link(issued.item)
    browser = app.test_client()
    assert browser.get(urlsplit(issued.url).path).status_code == 303
    with browser.session_transaction() as session:
        session["code_verified_at"] = datetime.now(UTC).isoformat()
    return browser


def hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)


def webhook_outcome(event: dict, secret: str) -> str:
    """What the webhook's own handler answered to the event, signed as Stripe signs it."""
    answers: list[dict] = []

    def send(api_event: dict) -> dict:
        answers.append(local_lambda.invoke("StripeWebhookFunction", api_event))
        return answers[-1]

    assert StandInStripe(secret, send).deliver(event) == 200
    return json.loads(answers[0]["body"])["outcome"]


def autopay_audit(store: PlansStore) -> list[dict]:
    return [e for e in store.audit_of("atelier", "bramble") if e["action"].startswith("autopay_")]


def test_a_card_saved_on_the_stand_in_pays_the_plan_and_a_second_delivery_changes_nothing(store, stack,
                                                                                         webhook_secret):
    plan_id = propose(store, INSIDE).plan.plan_id
    browser = signed_in_and_verified(portal_app(), stack)
    plans_page = browser.get("/account/plans").get_data(as_text=True)

    opened = browser.post(f"/account/plans/{plan_id}/autopay", data={"csrf_token": hidden(plans_page, "csrf_token"),
                                                                     "nonce": hidden(plans_page, "nonce")})
    setup_path = urlsplit(opened.headers["Location"]).path
    setup_page = browser.get(setup_path).get_data(as_text=True)
    saved = browser.post(setup_path, data={"csrf_token": hidden(setup_page, "csrf_token"), "method": "card"})
    back = browser.get(urlsplit(saved.headers["Location"]).path, follow_redirects=True).get_data(as_text=True)
    record = PaymentsStore(stack.physical["RelanceTable"]).get_setup_checkout(setup_path.rsplit("/", 1)[1])
    again = webhook_outcome(StandInStripe(webhook_secret, lambda e: {}).setup_session_event(record, "card"), webhook_secret)

    assert opened.status_code == 303 and setup_path.startswith("/stand-in/setup/cs_test_standin_setup_")
    assert "Save the test card 4242 4242 4242 4242" in setup_page
    assert saved.status_code == 303
    assert "Automatic payment is set up" in back
    assert "Automatic payment: card ending 4242, each installment is charged on its date." in back
    autopay = store.find_plan("atelier", "bramble", plan_id).plan.autopay
    assert autopay == Autopay(record.customer_id, autopay.payment_method_id, "card", "4242")
    assert autopay.payment_method_id.startswith("pm_standin_") and record.customer_id.startswith("cus_standin_")
    assert again == "duplicate"
    assert [e["action"] for e in autopay_audit(store)] == ["autopay_set"]


def test_the_same_event_delivered_twice_records_the_sepa_mandate_once(store, webhook_secret):
    stored = propose(store, INSIDE)
    record = SetupCheckoutRecord("cs_test_standin_setup_twice", "atelier", "bramble", stored.plan.plan_id, "EUR",
                                 "cus_standin_twice", "http://x", NOW, "http://x/done", "http://x/cancel")
    event = StandInStripe(webhook_secret, lambda e: {}).setup_session_event(record, "sepa_debit")

    outcomes = [webhook_outcome(event, webhook_secret), webhook_outcome(event, webhook_secret)]

    assert outcomes == ["autopay_set", "duplicate"]
    saved = store.find_plan("atelier", "bramble", stored.plan.plan_id)
    assert saved.plan.autopay.method == "sepa_debit" and saved.plan.autopay.last4 == "3000"
    assert saved.version == stored.version + 2  # proposed (1), then the autopay once (2)
    [line] = autopay_audit(store)
    assert (line["action"], line["plan_id"], line["method"]) == ("autopay_set", stored.plan.plan_id, "sepa_debit")


def test_a_payment_method_saved_for_a_plan_no_longer_running_is_refused_clearly(store, webhook_secret):
    waiting = propose(store, OUTSIDE)
    record = SetupCheckoutRecord("cs_test_standin_setup_late", "atelier", "bramble", waiting.plan.plan_id, "EUR",
                                 "cus_standin_late", "http://x", NOW, "http://x/done", "http://x/cancel")
    event = StandInStripe(webhook_secret, lambda e: {}).setup_session_event(record, "card")

    outcomes = [webhook_outcome(event, webhook_secret), webhook_outcome(event, webhook_secret)]

    assert waiting.plan.state is PlanState.PROPOSED
    assert outcomes == ["plan_not_running", "duplicate"]
    assert store.find_plan("atelier", "bramble", waiting.plan.plan_id).plan.autopay is None
    [line] = autopay_audit(store)
    assert (line["action"], line["reason"], line["plan_state"]) == ("autopay_refused", "plan_not_running",
                                                                    "proposed")


def test_stopping_automatic_payment_removes_it_with_one_audit_line(store, stack, webhook_secret):
    stored = propose(store, INSIDE)
    record = SetupCheckoutRecord("cs_test_standin_setup_stop", "atelier", "bramble", stored.plan.plan_id, "EUR",
                                 "cus_standin_stop", "http://x", NOW, "http://x/done", "http://x/cancel")
    webhook_outcome(StandInStripe(webhook_secret, lambda e: {}).setup_session_event(record, "card"), webhook_secret)
    browser = signed_in_and_verified(portal_app(), stack)
    plans_page = browser.get("/account/plans").get_data(as_text=True)

    stop = [browser.post(f"/account/plans/{stored.plan.plan_id}/autopay/stop",
                         data={"csrf_token": hidden(plans_page, "csrf_token")}) for _twice in range(2)]

    assert [r.status_code for r in stop] == [303, 303]
    assert store.find_plan("atelier", "bramble", stored.plan.plan_id).plan.autopay is None
    assert [e["action"] for e in autopay_audit(store)] == ["autopay_set", "autopay_stopped"]
