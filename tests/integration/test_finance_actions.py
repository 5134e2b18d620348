"""Finance's "send the next step now" and "mark paid" on moto: the worker's own path, one contact a day, and
a payment recorded once that stops dunning exactly as a Stripe payment does."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from relance.adapters.backoffice_store import BackOfficeStore
from relance.adapters.payments_store import PaymentsStore
from relance.adapters.sqs import SqsJobQueue
from relance.adapters.wiring import closed_for, policies_for
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.parties import Creditor, Debtor
from relance.services.debtor_actions import AlreadyContactedToday, send_next_step_now
from relance.services.jobs import ReminderJob
from relance.services.payments import ManualPayment, Outcome, PaymentPorts, record_manual_payment

from relance_cli import local_lambda

CREDITOR = Creditor("acme", "Acme Fournitures SAS")
DEBTOR = Debtor("acme", "d-1", "Boulangerie Dupont", emails=("ap@dupont.example",))
MONDAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture
def store(stack) -> BackOfficeStore:
    store = BackOfficeStore(stack.physical["RelanceTable"])
    store.put_creditor(CREDITOR)
    # reminder_1 went on Friday: reminder_2 waits until later in the week.
    store.put_new_invoices([Invoice("acme", "d-1", "F-1", date(2026, 10, 1), date(2026, 11, 12), Money(1_000_00, "EUR"),
                                    Money(0, "EUR"), last_step="reminder_1", last_step_on=date(2026, 11, 20),
                                    next_action_on=date(2026, 11, 25))], [DEBTOR])
    return store


def policy():
    return policies_for(CREDITOR).for_debtor(DEBTOR.kind, DEBTOR.risk_band)


def test_the_next_step_now_goes_through_the_worker_once_and_only_once_that_day(stack, store):
    queue = SqsJobQueue(stack.physical["ReminderQueue"])

    decision = send_next_step_now("acme", "d-1", "finance:marie", MONDAY, NOW, store, queue, policy(),
                                  closed_for(CREDITOR))
    queue.send_jobs([ReminderJob("acme", "d-1", MONDAY, forced=True, early=True)])  # a double click racing the check
    drained = local_lambda.drain(stack.physical["ReminderQueue"], "SendRemindersFunction")

    assert decision.step.step_id == "reminder_2"
    assert drained.failures == 0
    sent = [a for a in store.audit_of("acme", "d-1") if a["action"] == "reminder_sent"]
    assert [a["step"] for a in sent] == ["reminder_2"]
    assert store.find_invoice("acme", "d-1", "F-1").last_step == "reminder_2"
    assert store.contact_on("acme", "d-1", MONDAY)["status"] == "sent"
    with pytest.raises(AlreadyContactedToday):
        send_next_step_now("acme", "d-1", "finance:marie", MONDAY, NOW, store, queue, policy(), closed_for(CREDITOR))


def test_a_manual_payment_is_recorded_once_and_the_invoice_leaves_the_daily_scan(stack, store):
    payments = PaymentsStore(stack.physical["RelanceTable"])
    ports = PaymentPorts(payments, closed_for, policies_for)
    entered = ManualPayment(Money(1_000_00, "EUR"), MONDAY, "cheque", "CHQ 0012345", (), "nonce-1")
    now = datetime.now(UTC)

    first = record_manual_payment("acme", "d-1", entered, "finance:marie", now, ports)
    second = record_manual_payment("acme", "d-1", entered, "finance:marie", now, ports)

    assert (first, second) == (Outcome.APPLIED, Outcome.DUPLICATE)
    assert store.find_invoice("acme", "d-1", "F-1").is_settled()
    assert list(store.due_invoices("acme", date(2027, 12, 31))) == []
    assert store.dunning_view("acme", "d-1")[1] == []
    [line] = payments.collections_between("acme", MONDAY, MONDAY)
    assert (line.method, line.reference, line.amount) == ("cheque", "CHQ 0012345", Money(1_000_00, "EUR"))
    assert [a["action"] for a in store.audit_of("acme", "d-1")].count("payment_received") == 1
