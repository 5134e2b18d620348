"""Stripe's webhooks as they really arrive (issue #11): repeated, out of order, days late after finance already
recorded the money, and about objects Relance never created. Every one is answered 2xx, and afterwards the money
adds up, no reminder goes out about a settled invoice, the audit chain verifies and the logs hold no personal
data. Events are signed with the stack's own secret (tests/integration/test_stripe_webhook.py)."""

from __future__ import annotations

import copy
import time
from datetime import UTC, date, datetime

import pytest

from relance.adapters.wiring import closed_for, policies_for
from relance.domain.money import Money
from relance.services.payments import ManualPayment, PaymentPorts, record_manual_payment
from relance_cli import local_lambda
from relance_cli.local_stack import write_stack_file
from tests.integration.conftest import LocalStackCli
from tests.integration.test_stripe_webhook import (  # its `store` and `webhook_secret` fixtures: conftest.py
    CREDITOR,
    DEBTOR,
    PI,
    TWO_OF_THREE,
    deliver,
    intent_event,
    invoices,
    published,
    session_event,
)
from tests.reliability import invariants

LATER_MONDAY = date(2025, 10, 27)  # F-3 is overdue by then; F-1 and F-2 are due again for their next step
PERSONAL = {DEBTOR.name, *DEBTOR.emails, *invariants.FIXTURE_IBANS}


@pytest.fixture
def checked(stack, store, tmp_path, capsys):
    """Runs the dunning day after the scenario, then every invariant."""

    def run_day_and_check(day: date = LATER_MONDAY) -> list[dict]:
        with invariants.verbose_lambdas():
            local_lambda.invoke("DailyScanFunction", {"business_date": day.isoformat()})
            local_lambda.drain(stack.physical["ReminderQueue"], "SendRemindersFunction")
        table = stack.physical["RelanceTable"]
        invariants.money_adds_up(table)
        invariants.no_reminder_after_settlement(table)
        invariants.one_contact_per_debtor_per_day(table)
        invariants.audit_chain_verifies(LocalStackCli(write_stack_file(stack, tmp_path / "stack.json")),
                                        CREDITOR.creditor_id)
        invariants.no_personal_data(capsys.readouterr().err, PERSONAL)
        return store.contacts_of(CREDITOR.creditor_id, DEBTOR.debtor_id)

    return run_day_and_check


def _delivered(events, secret) -> list[tuple[int, str | None]]:
    with invariants.verbose_lambdas():
        return [deliver(event, secret) for event in events]


def test_a_payment_reported_five_times_is_applied_once(store, webhook_secret, checked):
    succeeded = intent_event("evt_dup", 350_50, TWO_OF_THREE)

    outcomes = _delivered([succeeded] * 5, webhook_secret)

    assert outcomes == [(200, "applied")] + [(200, "duplicate")] * 4
    assert sum(i.paid.minor for i in invoices(store).values()) == 350_50
    [contact] = checked(date(2025, 12, 1))  # F-3 is long overdue by then
    assert contact["invoices"] == ["F-3"]  # the day's reminder names only what is still owed


def test_success_arriving_before_the_session_and_its_processing_notice_keeps_the_invoices_paid(
        store, webhook_secret, checked):
    shares = (("F-1", 100_00),)
    succeeded = session_event("evt_ok", "checkout.session.async_payment_succeeded", "paid", 100_00, shares,
                              "sepa_debit")
    processing = session_event("evt_processing", "checkout.session.completed", "unpaid", 100_00, shares,
                               "sepa_debit")
    intent_processing = intent_event("evt_pi_processing", 100_00, shares, event_type="payment_intent.succeeded")
    intent_processing["type"] = "payment_intent.processing"
    intent_processing["data"]["object"]["status"] = "processing"

    outcomes = _delivered([succeeded, processing, intent_processing], webhook_secret)

    assert all(status == 200 for status, _outcome in outcomes)
    assert outcomes[0][1] == "applied"
    paid = invoices(store)["F-1"]
    assert paid.is_settled() and paid.next_action_on is None and paid.promised_on is None
    assert store.get_payment("pi_3QtestCard0000000000001").status.value == "succeeded"
    contacts = checked()
    assert all("F-1" not in c["invoices"] for c in contacts)


def test_a_failure_notice_arriving_after_the_success_does_not_reopen_the_invoice(store, webhook_secret, checked):
    shares = (("F-2", 250_50),)
    succeeded = intent_event("evt_ok", 250_50, shares)
    failed = intent_event("evt_failed_late", 250_50, shares, event_type="payment_intent.payment_failed")

    outcomes = _delivered([succeeded, failed], webhook_secret)

    assert [status for status, _ in outcomes] == [200, 200]
    assert invoices(store)["F-2"].is_settled()
    assert store.get_payment(PI).status.value == "succeeded"  # a status only moves forward: never back to failed
    checked()


def test_a_stripe_payment_delayed_by_days_after_finance_recorded_the_cheque_becomes_a_credit(
        stack, store, webhook_secret, checked):
    ports = PaymentPorts(store, closed_for, policies_for)
    record_manual_payment(CREDITOR.creditor_id, DEBTOR.debtor_id,
                          ManualPayment(Money(100_00, "EUR"), date.today(), "cheque", "CHQ 77", ("F-1",), "n-1"),
                          "finance:marie", datetime.now(UTC), ports)
    late = intent_event("evt_late", 100_00, (("F-1", 100_00),))
    late["created"] = int(time.time()) - 4 * 86_400  # Stripe retried for four days; the signature is fresh

    [(status, outcome)] = _delivered([late], webhook_secret)

    assert status == 200 and outcome in {"applied", "needs_review", "credited"}
    book = invoices(store)
    assert book["F-1"].paid == Money(100_00, "EUR")  # never paid twice
    assert store.debtor_credit(CREDITOR.creditor_id, DEBTOR.debtor_id) == {"EUR": Money(100_00, "EUR")}
    checked()


NEVER_CREATED_OUTCOMES = {"customer.created": "ignored", "invoice.finalized": "ignored", "payout.paid": "ignored",
                          "charge.refunded": "linked", "charge.dispute.created": "not_ours",
                          "payment_intent.succeeded": "not_ours"}


@pytest.mark.parametrize("kind", list(NEVER_CREATED_OUTCOMES))
def test_events_about_objects_relance_never_created_are_acknowledged_and_change_nothing(
        stack, store, webhook_secret, checked, kind):
    before = invariants.items(stack.physical["RelanceTable"])
    event = copy.deepcopy(published(kind if kind in {"charge.refunded", "charge.dispute.created",
                                                     "payment_intent.succeeded"} else "payment_intent.succeeded"))
    event.update(id=f"evt_unknown_{kind}", type=kind)
    event["data"]["object"]["id"] = "obj_never_seen_0001"
    event["data"]["object"].pop("metadata", None)
    for field in ("payment_intent", "charge"):
        if field in event["data"]["object"]:
            event["data"]["object"][field] = f"{field}_never_seen_0001"

    [(status, outcome)] = _delivered([event], webhook_secret)

    assert status == 200
    assert outcome == NEVER_CREATED_OUTCOMES[kind]  # not subscribed, not ours, or a refund kept on a placeholder
    after = invariants.items(stack.physical["RelanceTable"])
    changed = [i for i in after if i not in before]
    assert [i for i in changed if i.get("entity") in {"invoice", "credit", "audit", "collection", "task"}] == []
    # A refund overtaking its payment is kept on a placeholder belonging to nobody until the payment arrives.
    assert all(not i.get("creditor_id") and i["status"] == "processing" for i in changed if i.get("entity") == "payment")
    checked()


def test_a_payment_naming_invoices_of_another_debtor_or_unknown_numbers_moves_no_invoice_of_theirs(
        stack, store, webhook_secret, checked):
    before = invoices(store)
    wrong = intent_event("evt_wrong", 500_00, (("F-999", 400_00), ("F-1", 100_00)))

    [(status, outcome)] = _delivered([wrong], webhook_secret)

    assert status == 200
    book = invoices(store)
    assert sum(i.paid.minor for i in book.values()) <= 500_00
    assert book["F-1"].paid == before["F-1"].paid + Money(100_00, "EUR")  # what was asked for it
    assert {n: book[n].paid for n in ("F-2", "F-3")} == {n: before[n].paid for n in ("F-2", "F-3")}  # not asked
    assert store.debtor_credit(CREDITOR.creditor_id, DEBTOR.debtor_id) == {"EUR": Money(400_00, "EUR")}  # F-999's
    checked()  # the money invariant: what F-999 would have taken is kept as the debtor's credit
