"""Stripe's events through the real webhook handler, signed with the stack's own webhook secret.

Events are built from Stripe's published object shapes (shared/fixtures/stripe/events) and signed
here with a plain HMAC, exactly as Stripe signs them; the handler is the one template.yaml names.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
from datetime import date, timedelta

import pytest

from relance.adapters.aws import client
from relance.adapters.payments_store import PaymentsStore
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.parties import Creditor, Debtor
from relance.domain.payments import PaymentStatus
from relance_cli import local_lambda
from tests.conftest import FIXTURES

CREDITOR = Creditor("acme", "Acme Fournitures SAS")
DEBTOR = Debtor("acme", "siren-000000018", "Boulangerie Dupont", emails=("compta@dupont.example.fr",))
DUE = date(2025, 10, 1)
PI = "pi_3QtestCard0000000000001"
SESSION = "cs_test_a1card000000000000000000000000000000000000000000001"
CHARGE = "ch_3QtestCard0000000000001"


def an_invoice(number: str, total: int, due_on: date = DUE) -> Invoice:
    return Invoice(CREDITOR.creditor_id, DEBTOR.debtor_id, number, date(2025, 9, 1), due_on, Money(total, "EUR"),
                   Money(0, "EUR"), last_step="reminder_1", last_step_on=date(2025, 10, 2),
                   next_action_on=date(2025, 10, 9))


@pytest.fixture
def store(stack) -> PaymentsStore:
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()  # each stack has its own webhook secret
    store = PaymentsStore(stack.physical["RelanceTable"])
    store.put_creditor(CREDITOR)
    store.put_new_invoices([an_invoice("F-1", 100_00, date(2025, 9, 15)), an_invoice("F-2", 250_50),
                            an_invoice("F-3", 80_00, date(2025, 10, 20))], [DEBTOR])
    return store


@pytest.fixture
def webhook_secret(stack) -> str:
    value = client("secretsmanager").get_secret_value(SecretId=stack.physical["StripeSecret"])["SecretString"]
    secret = json.loads(value)["webhook_secret"]
    assert secret.startswith("whsec_")
    return secret


def metadata(*shares: tuple[str, int]) -> dict[str, str]:
    """Our metadata on the session and its PaymentIntent (what the portal asked Stripe to carry)."""
    return {"creditor_id": CREDITOR.creditor_id, "debtor_id": DEBTOR.debtor_id, "currency": "EUR",
            "allocation_parts": "1", "allocation_0": json.dumps([list(s) for s in shares], separators=(",", ":"))}


def published(event_type: str) -> dict:
    return json.loads((FIXTURES / "stripe" / "events" / f"{event_type}.json").read_text(encoding="utf-8"))


def session_event(event_id: str, event_type: str, payment_status: str, amount: int, shares, method="card",
                  session=SESSION, payment_id=PI) -> dict:
    event = published("checkout.session.completed")
    event.update(id=event_id, type=event_type)
    event["data"]["object"].update(id=session, payment_intent=payment_id, payment_status=payment_status,
                                   amount_total=amount, amount_subtotal=amount, currency="eur",
                                   metadata=metadata(*shares), payment_method_types=[method])
    return event


def intent_event(event_id: str, amount: int, shares, event_type="payment_intent.succeeded", payment_id=PI) -> dict:
    event = published(event_type)
    event["id"] = event_id
    event["data"]["object"].update(id=payment_id, amount=amount, currency="eur", metadata=metadata(*shares),
                                   latest_charge=CHARGE, payment_method_types=["card"])
    if event_type == "payment_intent.succeeded":
        event["data"]["object"]["amount_received"] = amount
    return event


def refund_event(event_id: str, amount: int, refunded: int) -> dict:
    event = published("charge.refunded")
    event["id"] = event_id
    event["data"]["object"].update(id=CHARGE, payment_intent=PI, amount=amount, amount_captured=amount,
                                   amount_refunded=refunded, currency="eur")
    return event


def signed(payload: str, secret: str, at: int | None = None) -> str:
    at = int(time.time()) if at is None else at
    return f"t={at},v1={hmac.new(secret.encode(), f'{at}.{payload}'.encode(), hashlib.sha256).hexdigest()}"


def post(payload: str, signature: str) -> dict:
    """POST to /stripe/webhook through API Gateway's HTTP API event, into the template's handler."""
    event = {
        "version": "2.0", "routeKey": "POST /stripe/webhook", "rawPath": "/stripe/webhook", "rawQueryString": "",
        "headers": {"content-type": "application/json; charset=utf-8", "stripe-signature": signature,
                    "host": "api.example.com"},
        "requestContext": {"http": {"method": "POST", "path": "/stripe/webhook", "protocol": "HTTP/1.1",
                                    "sourceIp": "3.18.12.63", "userAgent": "Stripe/1.0"},
                           "requestId": "req-1", "routeKey": "POST /stripe/webhook", "stage": "$default"},
        "body": payload, "isBase64Encoded": False,
    }
    return local_lambda.invoke("StripeWebhookFunction", event)


def deliver(event: dict, secret: str) -> tuple[int, str | None]:
    payload = json.dumps(event)
    response = post(payload, signed(payload, secret))
    body = json.loads(response["body"]) if response["statusCode"] == 200 else {}
    return response["statusCode"], body.get("outcome")


def invoices(store: PaymentsStore) -> dict[str, Invoice]:
    _debtor, found = store.debtor_with_invoices(CREDITOR.creditor_id, DEBTOR.debtor_id)
    return {i.number: i for i in found}


def audit_actions(store: PaymentsStore) -> list[str]:
    return [e["action"] for e in store.audit_of(CREDITOR.creditor_id, DEBTOR.debtor_id)]


TWO_OF_THREE = (("F-1", 100_00), ("F-2", 250_50))


def test_a_card_payment_of_two_invoices_is_applied_once_whatever_the_order_and_repeats(store, webhook_secret):
    completed = session_event("evt_card_completed", "checkout.session.completed", "paid", 350_50, TWO_OF_THREE)
    succeeded = intent_event("evt_card_succeeded", 350_50, TWO_OF_THREE)

    outcomes = [deliver(e, webhook_secret) for e in (succeeded, succeeded, completed, completed)]

    assert outcomes == [(200, "applied"), (200, "duplicate"), (200, "linked"), (200, "duplicate")]
    book = invoices(store)
    assert [book[n].balance for n in ("F-1", "F-2", "F-3")] == [Money(0, "EUR"), Money(0, "EUR"), Money(80_00, "EUR")]
    assert audit_actions(store) == ["payment_received"]
    (received,) = store.audit_of(CREDITOR.creditor_id, DEBTOR.debtor_id)
    assert received["allocations"] == {"F-1": 100_00, "F-2": 250_50}
    assert (received["payment_id"], received["method"], received["amount_minor"]) == (PI, "card", 350_50)
    assert store.get_payment(PI).checkout_session_id == SESSION


def test_dunning_stops_at_once_for_the_paid_invoices_and_goes_on_for_the_third(store, webhook_secret):
    deliver(session_event("evt_1", "checkout.session.completed", "paid", 350_50, TWO_OF_THREE), webhook_secret)

    book = invoices(store)

    assert book["F-1"].next_action_on is None and book["F-2"].next_action_on is None
    assert book["F-3"].next_action_on is not None
    due = [i.number for i in store.due_invoices(CREDITOR.creditor_id, date(2026, 12, 31))]
    assert due == ["F-3"]
    _debtor, summary = store.dunning_view(CREDITOR.creditor_id, DEBTOR.debtor_id)
    assert [i.number for i in summary] == ["F-3"]


def test_the_same_payment_reported_first_by_the_session_then_by_the_intent_is_applied_once(store, webhook_secret):
    completed = session_event("evt_a", "checkout.session.completed", "paid", 350_50, TWO_OF_THREE)
    succeeded = intent_event("evt_b", 350_50, TWO_OF_THREE)

    outcomes = [deliver(e, webhook_secret)[1] for e in (completed, succeeded, completed, succeeded)]

    assert outcomes == ["applied", "linked", "duplicate", "duplicate"]
    assert sum(i.paid.minor for i in invoices(store).values()) == 350_50
    assert audit_actions(store) == ["payment_received"]


def test_a_sepa_debit_holds_dunning_while_processing_then_pays_the_invoices(store, webhook_secret):
    shares = (("F-1", 100_00),)
    processing = session_event("evt_s1", "checkout.session.completed", "unpaid", 100_00, shares, "sepa_debit")
    succeeded = session_event("evt_s2", "checkout.session.async_payment_succeeded", "paid", 100_00, shares,
                              "sepa_debit")

    assert deliver(processing, webhook_secret) == (200, "processing")
    held = invoices(store)["F-1"]
    assert deliver(processing, webhook_secret) == (200, "duplicate")
    assert deliver(succeeded, webhook_secret) == (200, "applied")

    assert held.balance == Money(100_00, "EUR") and held.promised_on is not None
    assert held.next_action_on > date.today()
    paid = invoices(store)["F-1"]
    assert paid.is_settled() and paid.next_action_on is None and paid.promised_on is None
    assert audit_actions(store) == ["payment_processing", "payment_received"]
    assert store.get_payment(PI).method == "sepa_debit"


def test_a_refused_sepa_debit_changes_no_balance_and_dunning_resumes(store, webhook_secret):
    shares = (("F-1", 100_00),)
    before = invoices(store)["F-1"]
    deliver(session_event("evt_s1", "checkout.session.completed", "unpaid", 100_00, shares, "sepa_debit"),
            webhook_secret)

    failed = deliver(session_event("evt_s2", "checkout.session.async_payment_failed", "unpaid", 100_00, shares,
                                   "sepa_debit"), webhook_secret)
    intent_failed = deliver(intent_event("evt_s3", 100_00, shares, "payment_intent.payment_failed"), webhook_secret)

    assert failed == (200, "failed")
    assert intent_failed[1] == "linked"  # the debit already failed: it only tells the charge id
    after = invoices(store)["F-1"]
    assert after.balance == before.balance and after.promised_on is None
    assert after.next_action_on is not None and after.next_action_on <= date.today()
    assert store.get_payment(PI).status is PaymentStatus.FAILED
    assert audit_actions(store) == ["payment_processing", "payment_failed"]


def test_a_refund_reopens_the_last_invoice_paid_and_puts_it_back_into_dunning(store, webhook_secret):
    deliver(intent_event("evt_1", 350_50, TWO_OF_THREE), webhook_secret)
    refund = refund_event("evt_refund", 350_50, 50_50)

    assert deliver(refund, webhook_secret) == (200, "refunded")
    assert deliver(refund, webhook_secret) == (200, "duplicate")
    assert deliver(refund_event("evt_refund_again", 350_50, 50_50), webhook_secret) == (200, "already_applied")

    book = invoices(store)
    assert book["F-1"].is_settled()
    assert book["F-2"].balance == Money(50_50, "EUR") and book["F-2"].next_action_on is not None
    assert [i.number for i in store.due_invoices(CREDITOR.creditor_id, date(2026, 12, 31))] == ["F-2", "F-3"]
    refunded = store.audit_of(CREDITOR.creditor_id, DEBTOR.debtor_id)[-1]
    assert (refunded["action"], refunded["reopened"]) == ("payment_refunded", {"F-2": 50_50})


def test_an_overpayment_is_kept_as_a_credit_on_the_debtor(store, webhook_secret):
    deliver(intent_event("evt_1", 120_00, (("F-1", 120_00),)), webhook_secret)

    assert invoices(store)["F-1"].is_settled()
    assert store.debtor_credit(CREDITOR.creditor_id, DEBTOR.debtor_id) == {"EUR": Money(20_00, "EUR")}


def test_a_card_dispute_becomes_a_task_for_finance(store, webhook_secret):
    deliver(intent_event("evt_1", 350_50, TWO_OF_THREE), webhook_secret)
    dispute = published("charge.dispute.created")
    dispute["id"] = "evt_dispute"
    dispute["data"]["object"].update(charge=CHARGE, amount=350_50, currency="eur")  # names the charge only

    assert deliver(dispute, webhook_secret) == (200, "dispute_task")
    assert deliver(dispute, webhook_secret) == (200, "duplicate")

    (task,) = [t for t in store.open_tasks(CREDITOR.creditor_id) if t["kind"] == "card_dispute"]
    assert (task["debtor_id"], task["payment_id"], task["amount_minor"]) == (DEBTOR.debtor_id, PI, 350_50)
    assert task["invoices"] == ["F-1", "F-2"] and task["reason"] == "general"
    assert audit_actions(store) == ["payment_received", "card_dispute_opened"]


# What is refused, and what is ignored


def nothing_written(store: PaymentsStore, event_id: str) -> bool:
    book = invoices(store)
    return (not store.event_seen(event_id) and store.get_payment(PI) is None
            and all(i.paid.is_zero() and i.version == 0 for i in book.values()) and audit_actions(store) == [])


def test_a_bad_signature_is_refused_and_changes_nothing(store, webhook_secret):
    payload = json.dumps(intent_event("evt_forged", 350_50, TWO_OF_THREE))

    response = post(payload, signed(payload, "whsec_not_the_right_secret"))

    assert response["statusCode"] == 400
    assert nothing_written(store, "evt_forged")


def test_a_tampered_body_is_refused_and_changes_nothing(store, webhook_secret):
    honest = json.dumps(intent_event("evt_tampered", 1_00, (("F-1", 1_00),)))
    signature = signed(honest, webhook_secret)
    tampered = honest.replace('"amount": 100', '"amount": 35050').replace('"amount_received": 100',
                                                                          '"amount_received": 35050')
    assert tampered != honest

    response = post(tampered, signature)

    assert response["statusCode"] == 400
    assert nothing_written(store, "evt_tampered")


def test_a_signature_six_minutes_old_is_refused_and_changes_nothing(store, webhook_secret):
    payload = json.dumps(intent_event("evt_replayed", 350_50, TWO_OF_THREE))

    response = post(payload, signed(payload, webhook_secret, at=int(time.time()) - 360))

    assert response["statusCode"] == 400
    assert nothing_written(store, "evt_replayed")


def test_a_missing_signature_is_refused(store, webhook_secret):
    response = post(json.dumps(intent_event("evt_unsigned", 350_50, TWO_OF_THREE)), "")

    assert response["statusCode"] == 400
    assert nothing_written(store, "evt_unsigned")


def test_an_event_type_we_do_not_handle_is_acknowledged_and_ignored(store, webhook_secret):
    other = copy.deepcopy(published("payment_intent.succeeded"))
    other.update(id="evt_other", type="customer.created")

    assert deliver(other, webhook_secret) == (200, "ignored")
    assert nothing_written(store, "evt_other")


def test_a_payment_made_without_relance_metadata_is_not_ours(store, webhook_secret):
    foreign = published("payment_intent.succeeded")  # the published fixture: no metadata, USD

    assert deliver(foreign, webhook_secret) == (200, "not_ours")
    assert all(i.paid.is_zero() for i in invoices(store).values())


def test_with_no_webhook_secret_configured_every_event_is_refused(store, stack):
    from aws_lambda_powertools.utilities import parameters

    client("secretsmanager").put_secret_value(SecretId=stack.physical["StripeSecret"],
                                              SecretString=json.dumps({"secret_key": "", "webhook_secret": ""}))
    parameters.clear_caches()
    payload = json.dumps(intent_event("evt_unconfigured", 350_50, TWO_OF_THREE))

    response = post(payload, signed(payload, ""))  # what anyone could sign with an empty key

    assert response["statusCode"] == 503
    assert nothing_written(store, "evt_unconfigured")


def test_a_dunning_step_written_meanwhile_is_read_again_and_the_payment_still_applies_once(store):
    from dataclasses import replace
    from datetime import UTC, datetime

    from relance.adapters.checkout import fact_from_event
    from relance.adapters.wiring import closed_for, policies_for
    from relance.services.payments import PaymentPorts, handle_stripe_event

    class DunningWritesFirst(PaymentsStore):
        """The worker records a step on F-1 between the service's read and its transaction, once."""

        raced = False

        def commit(self, write, now):
            if not self.raced:
                self.raced = True
                self.update_invoice(replace(invoices(self)["F-1"], last_step="reminder_2",
                                            last_step_on=date(2025, 10, 10)))
            return super().commit(write, now)

    racing = DunningWritesFirst(store.table_name)
    fact = fact_from_event(intent_event("evt_race", 350_50, TWO_OF_THREE))

    outcome = handle_stripe_event(fact, datetime.now(UTC), PaymentPorts(racing, closed_for, policies_for))

    assert outcome.value == "applied" and racing.raced
    book = invoices(store)
    assert book["F-1"].is_settled() and book["F-1"].last_step == "reminder_2"  # both writes kept
    assert audit_actions(store) == ["payment_received"]


def test_a_payment_is_one_line_of_the_collections_export_however_often_it_is_reported(store, webhook_secret):
    shares = (("F-1", 100_00),)
    processing = session_event("evt_c1", "checkout.session.completed", "unpaid", 100_00, shares, "sepa_debit")
    succeeded = session_event("evt_c2", "checkout.session.async_payment_succeeded", "paid", 100_00, shares,
                              "sepa_debit")
    intent = intent_event("evt_c3", 100_00, shares)

    for event in (processing, succeeded, succeeded, intent):
        deliver(event, webhook_secret)

    lines = store.collections_between(CREDITOR.creditor_id, date.today() - timedelta(days=2),
                                      date.today() + timedelta(days=2))
    assert [(c.payment_id, c.method, c.amount.minor) for c in lines] == [(PI, "sepa_debit", 100_00)]
    assert [(a.invoice_number, a.amount.minor) for a in lines[0].allocations] == [("F-1", 100_00)]
