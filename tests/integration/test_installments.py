"""Collecting installment plans day by day on moto (issue 7, acceptance 3 and 4): reminders before each
installment, the off-session charge on its date through a Stripe stand-in speaking Stripe's HTTP API,
Stripe's signed events through the real webhook, grace, one reminder, the break, dunning resumed."""

from __future__ import annotations

import copy
import json
import re
import urllib.parse
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
import stripe

from relance.adapters.plans_store import PlansStore
from relance.adapters.policies import load_packaged_policy
from relance.adapters.stripe_charges import StripeCharges
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.parties import Creditor, Debtor
from relance.domain.plans import AttemptStatus, Autopay, PlanState
from relance.services.installments import CollectionPorts, PlanMailKind, collect_day
from relance.services.plans import ScheduleTerms, propose_plan
from tests.conftest import FIXTURES
from relance.adapters.aws import client
from tests.integration.test_stripe_webhook import deliver, published

CREDITOR = Creditor("acme", "Acme Fournitures SAS")
DEBTOR = Debtor("acme", "siren-000000018", "Boulangerie Dupont", emails=("compta@dupont.example.fr",),
                language="fr")
ACCEPTED_ON = date(2026, 11, 23)  # a Monday
TERMS = ScheduleTerms(3, date(2026, 12, 15), Money(200_00, "EUR"))  # 200 down, 600 on 15 Dec, 15 Jan, 15 Feb
BOOK = load_packaged_policy("fr-b2b")
LADDER = [s.step_id for s in BOOK.default.steps]


def policies_for(_creditor):
    return BOOK


def closed_for(_creditor):
    return frozenset({date(2026, 12, 25), date(2027, 1, 1)})


def an_invoice(number: str, last_step: str) -> Invoice:
    return Invoice("acme", DEBTOR.debtor_id, number, date(2026, 8, 1), date(2026, 9, 1), Money(1_000_00, "EUR"),
                   Money(0, "EUR"), last_step=last_step, last_step_on=date(2026, 11, 16),
                   next_action_on=date(2026, 11, 30))


class StripeStandIn(stripe.HTTPClient):
    """Stripe's HTTP API for PaymentIntents, answering with the published PaymentIntent shape.

    `declined` installment numbers are refused (402 card_declined, as Stripe answers an off-session
    decline); `flaky` asks the client to retry the next request once (503 + Stripe-Should-Retry).
    """

    name = "relance-stand-in"

    def __init__(self, declined: set[int] = frozenset(), flaky: int = 0, lost: int = 0) -> None:
        super().__init__()
        self.requests: list[dict] = []
        self.declined = set(declined)
        self.flaky = flaky
        self.lost = lost  # answers never reach the caller (the connection drops after Stripe acted)
        self.intents: dict[str, dict] = {}  # by idempotency key: Stripe replays the first answer

    def request(self, method, url, headers, post_data=None):
        params = dict(urllib.parse.parse_qsl(post_data or ""))
        self.requests.append({"url": url, "key": headers.get("Idempotency-Key"), "params": params})
        if self.flaky:
            self.flaky -= 1
            return json.dumps({"error": {"type": "api_error"}}), 503, {"stripe-should-retry": "true"}
        key = headers["Idempotency-Key"]
        intent = self.intents.setdefault(key, self._intent(params, len(self.intents) + 1))
        if self.lost:
            self.lost -= 1
            raise stripe.APIConnectionError("connection reset", should_retry=False)
        if intent["status"] == "requires_payment_method":
            error = {"error": {"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds",
                               "message": "Your card has insufficient funds.", "payment_intent": intent}}
            return json.dumps(error), 402, {}
        return json.dumps(intent), 200, {}

    def _intent(self, params: dict, n: int) -> dict:
        intent = copy.deepcopy(json.loads((FIXTURES / "stripe/objects/payment_intent.json").read_text()))
        metadata = {k[len("metadata["):-1]: v for k, v in params.items() if k.startswith("metadata[")}
        declined = int(metadata["installment"]) in self.declined
        intent.update(id=f"pi_standin_{n:04d}", amount=int(params["amount"]), currency=params["currency"],
                      metadata=metadata, customer=params["customer"], payment_method=params["payment_method"],
                      payment_method_types=["card"], livemode=False,
                      status="requires_payment_method" if declined else "succeeded",
                      amount_received=0 if declined else int(params["amount"]))
        return intent

    def close(self):
        pass

    def creates(self) -> list[dict]:
        return [r for r in self.requests if r["url"].endswith("/v1/payment_intents")]


class Outbox:
    def __init__(self) -> None:
        self.mails: list[tuple[date, PlanMailKind, int, str]] = []
        self.today = ACCEPTED_ON

    def send_plan_mail(self, mail) -> str:
        self.mails.append((self.today, mail.kind, mail.installment.number, mail.language))
        return f"msg-{len(self.mails)}"


@pytest.fixture
def webhook_secret(stack) -> str:
    """The stack's own Stripe webhook signing secret, as the webhook reads it."""
    value = client("secretsmanager").get_secret_value(SecretId=stack.physical["StripeSecret"])["SecretString"]
    return json.loads(value)["webhook_secret"]


@pytest.fixture
def language() -> str:
    return "fr"


@pytest.fixture
def store(stack, language) -> PlansStore:
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()
    store = PlansStore(stack.physical["RelanceTable"])
    store.put_creditor(CREDITOR)
    store.put_new_invoices([an_invoice("F-1", "reminder_2"), an_invoice("F-2", "reminder_2")],
                           [replace(DEBTOR, language=language)])
    return store


def accepted_plan(store: PlansStore, autopay: bool = True) -> str:
    now = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    stored = propose_plan("acme", DEBTOR.debtor_id, None, TERMS, "Trésorerie tendue", now, store, policies_for,
                          closed_for)
    assert stored.plan.state is PlanState.ACCEPTED
    if autopay:  # what services.autopay records once the debtor saved a card
        stored = store.find_plan("acme", DEBTOR.debtor_id, stored.plan.plan_id)
        card = Autopay("cus_standin", "pm_standin", "card")
        store.save_plan(replace(stored, plan=replace(stored.plan, autopay=card)), None, now)
    return stored.plan.plan_id


def pay_down_payment_through_the_portal(secret: str) -> None:
    """A plain card Checkout of 200 EUR on F-1: it counts toward the plan's down payment first."""
    from tests.integration.test_stripe_webhook import intent_event

    event = intent_event("evt_down_payment", 200_00, (("F-1", 200_00),), payment_id="pi_portal_down")
    assert deliver(event, secret) == (200, "applied")


def stripe_event_for(intent: dict, event_id: str) -> dict:
    """The event Stripe sends after an off-session confirm, in its published shape."""
    failed = intent["status"] != "succeeded"
    event = published("payment_intent.payment_failed" if failed else "payment_intent.succeeded")
    event["id"] = event_id
    event["data"]["object"].update({k: intent[k] for k in ("id", "amount", "currency", "metadata", "status")},
                                   payment_method_types=["card"], latest_charge=None)
    if not failed:
        event["data"]["object"]["amount_received"] = intent["amount"]
    return event


def run_days(store, start: date, end: date, charges: StripeStandIn, outbox: Outbox, secret: str) -> None:
    """The daily job every day of the calendar (it skips closed days itself); Stripe's events delivered after."""
    ports = CollectionPorts(store, outbox, StripeCharges("sk_test_standin", http_client=charges,
                                                         max_network_retries=2), closed_for, policies_for)
    delivered: set[str] = set()
    day = start
    while day <= end:
        outbox.today = day
        collect_day(datetime.combine(day, datetime.min.time(), UTC), ports, business_date=day)
        for key, intent in charges.intents.items():
            if key not in delivered:
                delivered.add(key)
                assert deliver(stripe_event_for(intent, f"evt_{intent['id']}"), secret)[0] == 200
        day += timedelta(days=1)


def plan_of(store, plan_id):
    return store.find_plan("acme", DEBTOR.debtor_id, plan_id)


def test_a_failed_second_installment_gets_grace_one_reminder_then_breaks_and_dunning_resumes_at_its_step(
        store, webhook_secret):
    plan_id = accepted_plan(store)
    pay_down_payment_through_the_portal(webhook_secret)
    charges, outbox = StripeStandIn(declined={2}), Outbox()

    run_days(store, date(2026, 11, 24), date(2027, 1, 29), charges, outbox, webhook_secret)

    stored = plan_of(store, plan_id)
    assert stored.plan.state is PlanState.BROKEN
    assert stored.plan.paid_minor[:2] == (200_00, 600_00)
    assert [(r["params"]["amount"], r["params"]["metadata[installment]"]) for r in charges.creates()] == [
        ("60000", "1"), ("60000", "2")]
    assert [(d, k.value, n) for d, k, n, _language in outbox.mails] == [
        (date(2026, 12, 14), "installment_upcoming", 1),  # 12 Dec is a Saturday: the next business day
        (date(2027, 1, 12), "installment_upcoming", 2),
        (date(2027, 1, 18), "installment_missed", 2),  # 16 Jan is a Saturday
        (date(2027, 1, 25), "plan_broken", 2),  # grace over on Saturday 23 Jan
    ]
    assert {language for *_rest, language in outbox.mails} == {"fr"}
    _debtor, invoices = store.dunning_view("acme", DEBTOR.debtor_id)
    assert all(not i.in_plan and i.last_step == "reminder_2" and i.next_action_on for i in invoices)
    audit = store.audit_of("acme", DEBTOR.debtor_id)
    actions = [a["action"] for a in audit]
    assert actions.count("installment_charge_failed") >= 1
    assert actions.index("installment_missed_reminder_sent") < actions.index("plan_break")
    broken = next(a for a in audit if a["action"] == "plan_break")
    assert "installment 2" in broken["reason"] and "grace" in broken["reason"]
    resumed = {number: r["step"] for number, r in broken["resumes"].items() if r["step"]}
    assert resumed and set(resumed.values()) <= set(LADDER[LADDER.index("reminder_2") + 1:])
    tasks = [t for t in store.open_tasks("acme") if t["kind"] == "plan_broken"]
    assert [(t["plan_id"], t["installment"], t["owed_minor"]) for t in tasks] == [(plan_id, 2, 600_00)]
    assert store.due_plan_debtors("acme", date(2027, 12, 31)) == []  # a broken plan leaves the index


def test_the_installment_charge_delivered_twice_on_its_day_charges_once_with_one_idempotency_key(
        store, webhook_secret):
    plan_id = accepted_plan(store)
    pay_down_payment_through_the_portal(webhook_secret)
    charges, outbox = StripeStandIn(flaky=1), Outbox()
    ports = CollectionPorts(store, outbox, StripeCharges("sk_test_standin", http_client=charges,
                                                         max_network_retries=2), closed_for, policies_for)

    collect_day(datetime(2026, 12, 15, 8, tzinfo=UTC), ports, business_date=date(2026, 12, 15))
    collect_day(datetime(2026, 12, 15, 8, 5, tzinfo=UTC), ports, business_date=date(2026, 12, 15))

    creates = charges.creates()
    assert len(creates) == 2  # one charge, retried once by the client after Stripe's 503
    assert {r["key"] for r in creates} == {f"relance-installment-{plan_id}-1-1"}
    assert len(charges.intents) == 1
    assert creates[0]["params"]["off_session"] == "true" and creates[0]["params"]["confirm"] == "true"
    attempts = plan_of(store, plan_id).plan.attempts
    assert [(a.number, a.attempt, a.status) for a in attempts] == [(1, 1, AttemptStatus.SUCCEEDED)]


def test_a_lost_answer_from_stripe_is_asked_again_with_the_same_key_on_the_next_delivery(store, webhook_secret):
    plan_id = accepted_plan(store)
    pay_down_payment_through_the_portal(webhook_secret)
    charges, outbox = StripeStandIn(lost=1), Outbox()
    ports = CollectionPorts(store, outbox, StripeCharges("sk_test_standin", http_client=charges,
                                                         max_network_retries=0), closed_for, policies_for)

    with pytest.raises(stripe.APIConnectionError):
        collect_day(datetime(2026, 12, 15, 8, tzinfo=UTC), ports, business_date=date(2026, 12, 15))
    collect_day(datetime(2026, 12, 15, 8, 5, tzinfo=UTC), ports, business_date=date(2026, 12, 15))

    assert [r["key"] for r in charges.creates()] == [f"relance-installment-{plan_id}-1-1"] * 2
    assert len(charges.intents) == 1
    assert [a.status for a in plan_of(store, plan_id).plan.attempts] == [AttemptStatus.SUCCEEDED]


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_reminder_before_an_installment_goes_out_once_on_its_business_day_in_the_debtors_language(
        store, webhook_secret, language):
    plan_id = accepted_plan(store, autopay=False)
    pay_down_payment_through_the_portal(webhook_secret)
    outbox = Outbox()
    ports = CollectionPorts(store, outbox, None, closed_for, policies_for)

    for day in (date(2026, 12, 11), date(2026, 12, 14), date(2026, 12, 14), date(2026, 12, 15)):
        outbox.today = day
        collect_day(datetime.combine(day, datetime.min.time(), UTC), ports, business_date=day)

    assert outbox.mails == [(date(2026, 12, 14), PlanMailKind.UPCOMING, 1, language)]
    assert plan_of(store, plan_id).plan.notified == (1,)


def test_a_portal_payment_of_every_plan_invoice_completes_the_plan(store, webhook_secret):
    from tests.integration.test_stripe_webhook import intent_event

    plan_id = accepted_plan(store)

    event = intent_event("evt_all", 2_000_00, (("F-1", 1_000_00), ("F-2", 1_000_00)), payment_id="pi_all")

    assert deliver(event, webhook_secret) == (200, "applied")
    stored = plan_of(store, plan_id)
    assert stored.plan.state is PlanState.COMPLETED and stored.plan.outstanding.is_zero()
    assert store.due_plan_debtors("acme", date(2027, 12, 31)) == []


def test_a_card_saved_after_the_reminder_before_the_installment_is_charged_on_the_installments_day(
        store, webhook_secret):
    plan_id = accepted_plan(store, autopay=False)
    pay_down_payment_through_the_portal(webhook_secret)
    charges, outbox = StripeStandIn(), Outbox()
    run_days(store, date(2026, 11, 24), date(2026, 12, 14), charges, outbox, webhook_secret)
    assert [(d, k.value) for d, k, _n, _l in outbox.mails] == [(date(2026, 12, 14), "installment_upcoming")]

    stored = plan_of(store, plan_id)  # the debtor saves a card that evening (what services.autopay records)
    assert store.set_autopay(stored, Autopay("cus_standin", "pm_standin", "card"),
                             {"action": "autopay_set", "actor": "stripe"}, "evt_setup_1",
                             datetime(2026, 12, 14, 18, tzinfo=UTC))
    run_days(store, date(2026, 12, 15), date(2026, 12, 15), charges, outbox, webhook_secret)

    assert [(r["params"]["amount"], r["params"]["metadata[installment]"]) for r in charges.creates()] == [
        ("60000", "1")]
    assert plan_of(store, plan_id).plan.paid_minor[:2] == (200_00, 600_00)
    assert [k.value for _d, k, _n, _l in outbox.mails] == ["installment_upcoming"]  # no "missed" mail


def test_the_installments_function_charges_through_the_demos_stand_in_once_and_the_signed_event_pays(
        store, webhook_secret, monkeypatch):
    from relance_cli import local_lambda

    monkeypatch.setenv("RELANCE_STRIPE_STAND_IN", "1")  # the local stack's setting: no Stripe key here
    plan_id = accepted_plan(store)
    pay_down_payment_through_the_portal(webhook_secret)
    local_lambda.forget_handlers()

    first = local_lambda.invoke("InstallmentsFunction", {"business_date": "2026-12-15"})
    again = local_lambda.invoke("InstallmentsFunction", {"business_date": "2026-12-15"})  # delivered twice

    assert (first["charges"], again["charges"]) == (1, 0), (first, again)
    plan = plan_of(store, plan_id).plan
    assert plan.paid_minor[:2] == (200_00, 600_00)
    assert [(a.number, a.status) for a in plan.attempts] == [(1, AttemptStatus.SUCCEEDED)]
    payments = [a for a in store.audit_of("acme", DEBTOR.debtor_id) if a["action"] == "installment_charge_requested"]
    assert len(payments) == 1


def test_the_reminder_before_an_installment_carries_a_personal_link_that_opens_the_debtors_portal(store, stack):
    from relance_cli import local_lambda
    from relance_cli.outbox import read_outbox

    from relance.adapters.links import token_sha256
    from relance.adapters.portal_access import PortalAccessStore

    accepted_plan(store, autopay=False)
    local_lambda.forget_handlers()
    local_lambda.invoke("InstallmentsFunction", {"business_date": "2026-12-14"})

    mail = next(m for m in read_outbox(None, stack.region) if m.recipients == DEBTOR.emails)
    token = re.search(r"/d/([A-Za-z0-9_-]+)", mail.text).group(1)
    link = PortalAccessStore(store.table_name).find_link(token_sha256(token))
    assert "Votre espace personnel" in mail.text and f"/d/{token}" in mail.html
    assert link is not None and (link.creditor_id, link.debtor_id) == ("acme", DEBTOR.debtor_id)
