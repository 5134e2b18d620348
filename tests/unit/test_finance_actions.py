"""Finance's manual actions, on the domain and services alone: the next step brought forward, the job that
carries it, the contacts form, a manual payment's form, and the collections CSV."""

from __future__ import annotations

from datetime import date

from relance.domain.collections import Collection, collections_csv
from relance.domain.dunning import decide, decide_now
from relance.domain.money import Money
from relance.domain.payments import Allocation
from relance.services.debtor_actions import check_contacts
from relance.services.jobs import ReminderJob
from relance.services.payments import ManualPayment, check_manual_payment, manual_payment_id

from tests.unit.dunning_builders import FR, LADDER, a_debtor, an_invoice

MONDAY = date(2025, 12, 8)  # reminder_1 went on Friday the 5th: reminder_2 waits until the 10th


def test_the_next_step_is_brought_forward_when_none_is_due_today():
    invoice = an_invoice(last_step="reminder_1", last_step_on=date(2025, 12, 5))

    assert decide(a_debtor(), [invoice], LADDER, MONDAY, FR) is None
    decision = decide_now(a_debtor(), [invoice], LADDER, MONDAY, FR)

    assert decision is not None and decision.step.step_id == "reminder_2"
    assert [i.number for i in decision.listed] == ["F-1"]


def test_bringing_forward_never_jumps_past_the_next_step():
    invoice = an_invoice(last_step="call", last_step_on=date(2025, 12, 5))

    decision = decide_now(a_debtor(), [invoice], LADDER, MONDAY, FR)

    assert decision is not None and decision.step.step_id == "formal_notice"


def test_nothing_is_brought_forward_for_a_disputed_promised_or_paused_debtor():
    disputed = an_invoice(last_step="reminder_1", last_step_on=date(2025, 12, 5), disputed=True)
    promised = an_invoice(last_step="reminder_1", last_step_on=date(2025, 12, 5), promised_on=date(2025, 12, 20))
    paused = a_debtor(dunning_paused_until=date(2025, 12, 31))
    free = an_invoice(last_step="reminder_1", last_step_on=date(2025, 12, 5))

    assert decide_now(a_debtor(), [disputed], LADDER, MONDAY, FR) is None
    assert decide_now(a_debtor(), [promised], LADDER, MONDAY, FR) is None
    assert decide_now(paused, [free], LADDER, MONDAY, FR) is None
    assert decide_now(a_debtor(), [free], LADDER, date(2025, 12, 25), FR) is None  # Christmas: closed


def test_nothing_is_brought_forward_for_an_invoice_not_yet_due():
    early = an_invoice(due_on=date(2025, 12, 20))

    assert decide_now(a_debtor(), [early], LADDER, MONDAY, FR) is None


def test_finances_job_has_its_own_idempotency_key_and_round_trips():
    scan = ReminderJob("c1", "d1", MONDAY)
    asked = ReminderJob("c1", "d1", MONDAY, forced=True, early=True)

    assert asked.reminder_id != scan.reminder_id
    assert ReminderJob.from_dict(asked.to_dict()) == asked
    assert ReminderJob.from_dict({**scan.to_dict()}).early is False


def test_the_contacts_form_reads_every_address_once_and_names_each_problem():
    emails, problems = check_contacts("a@x.example, b@x.example\nA@x.example", "+33 1 23 45 67 89", "")
    _none, bad = check_contacts("not-an-address", "phone?", "x" * 301)

    assert emails == ("a@x.example", "b@x.example") and problems == {}
    assert bad == {"emails": "invalid", "phone": "invalid", "address": "too_long"}


def test_a_manual_payment_form_names_every_problem_at_once():
    entered = ManualPayment(Money(0, "EUR"), date(2025, 12, 9), "wampum", " ", ("F-9",), "")

    problems = check_manual_payment(entered, [an_invoice()], MONDAY)

    assert problems == {"amount": "not_positive", "received_on": "in_the_future", "method": "unknown",
                        "reference": "required", "invoices": "not_open", "nonce": "missing"}


def test_the_same_form_names_the_same_payment():
    assert manual_payment_id("c1", "d1", "n-1") == manual_payment_id("c1", "d1", "n-1")
    assert manual_payment_id("c1", "d1", "n-1") != manual_payment_id("c1", "d1", "n-2")


def test_the_collections_csv_has_one_row_per_invoice_paid_and_the_credit_and_stays_text():
    paid = Collection(MONDAY, "d1", "manual-1", Money(1_000_00, "EUR"),
                      (Allocation("F-1", Money(600_00, "EUR")), Allocation("+F-2", Money(300_00, "EUR"))),
                      Money(100_00, "EUR"), "cheque", "@SUM(A1)")

    rows = collections_csv([paid], {"d1": "=Client"}, "fr").decode("utf-8-sig").splitlines()

    assert rows[0] == "Date;Débiteur;Identifiant;Facture;Montant;Devise;Moyen de paiement;Référence"
    assert rows[1] == "2025-12-08;'=Client;d1;F-1;600,00;EUR;Chèque;'@SUM(A1)"
    assert rows[2].split(";")[3:5] == ["'+F-2", "300,00"]
    assert rows[3].split(";")[3:5] == ["Avoir (non affecté)", "100,00"]
