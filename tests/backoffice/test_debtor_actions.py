"""The debtor page's manual actions beyond pauses: a payment made outside Stripe, a write-off, the next step
now, contact edits; the bounced-addresses queue and the collections export. Who may act, and what acting changes."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from relance.adapters.backoffice_store import BackOfficeStore

from tests.backoffice.backoffice_world import FINANCE, OTHER_CREDITOR, VIEWER, csrf_token, today
from tests.backoffice.conftest import sign_in

NEW_ACTIONS = ("payments", "write-off", "next-step", "contacts")


@pytest.fixture
def store(world) -> BackOfficeStore:
    return BackOfficeStore(world.store.table_name)


@pytest.fixture
def debtor(world):
    return world.seed_debtor("d-1", "Boulangerie Martin SARL")


def nonce_of(page_html: str) -> str:
    found = re.search(r'name="nonce" value="([^"]+)"', page_html)
    assert found, "no nonce on the payment form"
    return found.group(1)


def payment_form(client, **fields: str) -> dict[str, str]:
    page = client.get("/debtors/d-1?lang=en").get_data(as_text=True)
    form = {"csrf_token": csrf_token(page), "nonce": nonce_of(page), "amount": "1300.00",
            "received_on": today().isoformat(), "method": "bank_transfer", "reference": "VIR-2025-0042"}
    return {**form, **fields}


def post(client, url: str, **form: str):
    token = csrf_token(client.get("/debtors/d-1?lang=en").get_data(as_text=True))
    return client.post(url, data={**form, "csrf_token": token})


def actions_of(store, action: str) -> list[dict]:
    return [e for e in store.audit_of("atelier", "d-1") if e["action"] == action]


# --- a payment made outside Stripe -------------------------------------------------------------------


def test_a_bank_transfer_pays_the_oldest_invoice_first_and_it_leaves_dunning(client, store, debtor):
    sign_in(client, FINANCE)

    response = client.post("/debtors/d-1/payments", data=payment_form(client))

    assert response.status_code == 303
    _debtor, open_invoices = store.dunning_view("atelier", "d-1")
    assert [(i.number, i.balance.minor) for i in open_invoices] == [("F-d-1-2", 790_50)]
    paid = store.find_invoice("atelier", "d-1", "F-d-1-1")
    assert paid.is_settled() and paid.next_action_on is None
    [audit] = actions_of(store, "payment_received")
    assert audit["actor"] == f"finance:{FINANCE}" and audit["reference"] == "VIR-2025-0042"
    assert audit["allocations"] == {"F-d-1-1": 1_250_00, "F-d-1-2": 50_00}
    page = client.get("/debtors/d-1?lang=en").get_data(as_text=True)
    assert "Finance recorded a bank transfer of €1,300.00" in page
    assert "F-d-1-1 (" not in page  # no longer offered as an open invoice


def test_a_double_submit_of_the_payment_form_records_the_payment_once(client, store, debtor):
    sign_in(client, FINANCE)
    form = payment_form(client)

    first = client.post("/debtors/d-1/payments", data=form)
    second = client.post("/debtors/d-1/payments", data=form, follow_redirects=True)

    assert first.status_code == 303
    assert "This payment was recorded already; nothing was changed." in second.get_data(as_text=True)
    assert len(actions_of(store, "payment_received")) == 1
    assert store.find_invoice("atelier", "d-1", "F-d-1-2").paid.minor == 50_00


def test_the_invoices_ticked_are_paid_rather_than_the_oldest(client, store, debtor):
    sign_in(client, FINANCE)

    response = client.post("/debtors/d-1/payments",
                           data=payment_form(client, amount="840.50", invoices="F-d-1-2", method="cheque"))

    assert response.status_code == 303
    assert store.find_invoice("atelier", "d-1", "F-d-1-2").is_settled()
    assert store.find_invoice("atelier", "d-1", "F-d-1-1").paid.minor == 0


def test_a_payment_form_with_bad_fields_names_every_problem(client, store, debtor):
    sign_in(client, FINANCE)

    response = client.post("/debtors/d-1/payments", data=payment_form(
        client, amount="lots", received_on=(today() + timedelta(days=2)).isoformat(), reference=" "))

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    for field in ("paid-amount", "paid-on", "paid-reference"):
        assert f'aria-describedby="{field}-error"' in page
    assert actions_of(store, "payment_received") == []


# --- write off ---------------------------------------------------------------------------------------


def test_a_write_off_settles_the_invoice_out_of_dunning_without_counting_it_as_collected(client, store, debtor):
    sign_in(client, FINANCE)

    response = post(client, "/debtors/d-1/write-off", invoice="F-d-1-2", reason="Client en liquidation")

    assert response.status_code == 303
    invoice = store.find_invoice("atelier", "d-1", "F-d-1-2")
    assert invoice.is_settled() and invoice.next_action_on is None
    [audit] = actions_of(store, "invoice_written_off")
    assert audit["amount_minor"] == 840_50 and audit["reason"] == "Client en liquidation"
    export = client.get(f"/exports/collections.csv?from={today().isoformat()}&to={today().isoformat()}&lang=en")
    assert "F-d-1-2" not in export.get_data(as_text=True)
    assert "written off on invoice F-d-1-2: Client en liquidation" in client.get("/debtors/d-1").get_data(as_text=True)


def test_a_write_off_without_a_reason_is_refused_on_its_field(client, store, debtor):
    sign_in(client, FINANCE)

    response = post(client, "/debtors/d-1/write-off", invoice="F-d-1-2", reason=" ")

    assert response.status_code == 400
    assert 'aria-describedby="write-off-reason-error"' in response.get_data(as_text=True)
    assert not store.find_invoice("atelier", "d-1", "F-d-1-2").is_settled()


def test_a_second_write_off_of_the_same_invoice_changes_nothing(client, store, debtor):
    sign_in(client, FINANCE)

    post(client, "/debtors/d-1/write-off", invoice="F-d-1-2", reason="Perte")
    again = post(client, "/debtors/d-1/write-off", invoice="F-d-1-2", reason="Perte")

    assert again.status_code == 409
    assert len(actions_of(store, "invoice_written_off")) == 1


# --- send the next step now ----------------------------------------------------------------------------


def _queued() -> list[dict]:
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(QueueUrl=os.environ["RELANCE_REMINDER_QUEUE_URL"], MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


def test_send_the_next_step_now_queues_the_workers_job_for_today(client, store, debtor):
    sign_in(client, FINANCE)

    response = post(client, "/debtors/d-1/next-step")

    assert response.status_code == 303
    [job] = _queued()
    assert (job["debtor_id"], job["business_date"], job["early"], job["forced"]) == ("d-1", today().isoformat(),
                                                                                      True, True)
    assert job["reminder_id"].endswith(":now")
    assert [a["actor"] for a in actions_of(store, "next_step_requested")] == [f"finance:{FINANCE}"]


def test_the_next_step_is_refused_when_the_debtor_was_contacted_today(client, store, debtor):
    store.reserve_contact("atelier", "d-1", today(), "reminder_1", datetime.now(UTC))
    sign_in(client, FINANCE)

    response = post(client, "/debtors/d-1/next-step")

    assert "already contacted today" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert _queued() == []


# --- contacts and bounces ---------------------------------------------------------------------------


def test_correcting_a_bounced_address_takes_the_debtor_off_the_bounces_queue(client, store, debtor):
    store.mark_undeliverable("atelier", "d-1", "ap@d-1.example", {"action": "email_bounced", "actor": "ses"},
                             datetime.now(UTC))
    sign_in(client, FINANCE)
    before = client.get("/bounces?lang=en").get_data(as_text=True)

    response = post(client, "/debtors/d-1/contacts", emails="compta@d-1.example\nAP@d-1.example ",
                    phone="+33 1 23 45 67 89", address="3 rue du Four\n75006 Paris")

    assert "Fix the contact details of Boulangerie Martin SARL" in before
    assert response.status_code == 303
    stored, _ = store.dunning_view("atelier", "d-1")
    assert stored.emails == ("compta@d-1.example", "AP@d-1.example")
    assert stored.undeliverable == ("ap@d-1.example",)  # kept as it was: still bounced

    post(client, "/debtors/d-1/contacts", emails="compta@d-1.example", phone="", address="")

    stored, _ = store.dunning_view("atelier", "d-1")
    assert stored.undeliverable == () and stored.phone is None and stored.address is None
    assert "Boulangerie Martin SARL" not in client.get("/bounces").get_data(as_text=True)
    last = actions_of(store, "contacts_edited")[-1]
    assert last["before"]["undeliverable"] == ["ap@d-1.example"] and last["after"]["undeliverable"] == []
    assert last["cleared"] == ["ap@d-1.example"]


def test_an_invalid_address_is_refused_on_its_field(client, store, debtor):
    sign_in(client, FINANCE)

    response = post(client, "/debtors/d-1/contacts", emails="not an address", phone="call me", address="")

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'aria-describedby="contact-emails-error"' in page and 'aria-describedby="contact-phone-error"' in page
    assert store.dunning_view("atelier", "d-1")[0].emails == ("ap@d-1.example",)


# --- the collections export ---------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "separator", "amount"), [("fr", ";", "1250,00"), ("en", ",", "1250.00")])
def test_the_collections_export_lists_the_period_payments_safe_for_a_spreadsheet(client, debtor, language,
                                                                                 separator, amount):
    sign_in(client, FINANCE)
    client.post("/debtors/d-1/payments", data=payment_form(client, reference="=HYPERLINK(\"http://x\")"))
    day = today().isoformat()

    response = client.get(f"/exports/collections.csv?from={day}&to={day}&lang={language}")

    text = response.get_data().decode("utf-8-sig")
    lines = text.splitlines()
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert len(lines) == 3  # the header, then one line per invoice the payment paid
    assert lines[1].startswith(f"{day}{separator}Boulangerie Martin SARL{separator}d-1{separator}F-d-1-1"
                               f"{separator}{amount}{separator}EUR")
    assert "'=HYPERLINK" in lines[1]


def test_a_collections_export_with_a_bad_period_is_refused(client, debtor):
    sign_in(client, FINANCE)

    assert client.get("/exports/collections.csv?from=2025-02-01&to=2025-01-01").status_code == 400
    assert client.get("/exports/collections.csv?from=yesterday").status_code == 400


def test_an_earlier_period_does_not_list_todays_payment(client, debtor):
    sign_in(client, FINANCE)
    client.post("/debtors/d-1/payments", data=payment_form(client))
    last_month = (today().replace(day=1) - timedelta(days=1))

    response = client.get(f"/exports/collections.csv?from={last_month.replace(day=1)}&to={last_month}&lang=en")

    assert len(response.get_data().decode("utf-8-sig").splitlines()) == 1


# --- who may act --------------------------------------------------------------------------------------


@pytest.mark.parametrize("action", NEW_ACTIONS)
def test_a_viewer_is_refused_every_new_action_and_nothing_changes(client, store, debtor, action):
    sign_in(client, VIEWER)
    page = client.get("/debtors/d-1?lang=en").get_data(as_text=True)

    response = client.post(f"/debtors/d-1/{action}", data={
        "csrf_token": csrf_token(page), "nonce": "n-1", "amount": "10.00", "received_on": today().isoformat(),
        "method": "cheque", "reference": "x", "invoice": "F-d-1-1", "reason": "x", "emails": "a@b.example"})

    assert response.status_code == 403
    assert f"/debtors/d-1/{action}" not in page
    assert [e["action"] for e in store.audit_of("atelier", "d-1")] == []


@pytest.mark.parametrize("path", ["/bounces", "/exports/collections.csv"])
def test_a_viewer_reads_the_bounces_queue_and_the_export(client, debtor, path):
    sign_in(client, VIEWER)

    assert client.get(path).status_code == 200


@pytest.mark.parametrize("path", ["/bounces", "/exports/collections.csv"])
def test_signed_out_the_new_pages_redirect_to_sign_in(client, debtor, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in?next=")


@pytest.mark.parametrize("action", NEW_ACTIONS)
def test_signed_out_the_new_actions_redirect_to_sign_in(client, debtor, action):
    token = csrf_token(client.get("/sign-in").get_data(as_text=True))

    response = client.post(f"/debtors/d-1/{action}", data={"csrf_token": token})

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in?next=")


@pytest.mark.parametrize("action", NEW_ACTIONS)
def test_another_creditors_debtor_is_not_found_by_any_new_action(client, world, store, debtor, action):
    world.seed_debtor("x-1", "Ailleurs SA", creditor=OTHER_CREDITOR)
    sign_in(client, FINANCE)

    response = post(client, f"/debtors/x-1/{action}", invoice="F-x-1-1", reason="x", emails="a@b.example",
                    nonce="n", amount="1.00", received_on=today().isoformat(), method="cheque", reference="r")

    assert response.status_code == 404
    assert store.find_invoice("autre", "x-1", "F-x-1-1").paid.minor == 0
    assert store.audit_of("autre", "x-1") == []
