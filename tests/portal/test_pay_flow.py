"""Paying online through the portal, end to end on the local stack with the stand-in checkout.

The debtor opens their personal link, ticks invoices, reviews, "pays" on the stand-in page; the
stand-in signs Stripe's events with the stack's webhook secret and delivers them to the webhook's
own handler; the return page says "paid" only once the webhook has applied the payment.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from urllib.parse import urlsplit

import pytest

from relance.adapters.links import issue_link
from relance.adapters.payments_store import PaymentsStore
from relance.adapters.portal_access import PortalAccessStore
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.parties import Creditor, Debtor
from relance_portal import create_app

CREDITOR = Creditor("atelier", "Atelier Lumière SAS")
DEBTOR = Debtor("atelier", "bramble", "Bramble & Co Ltd", emails=("ap@bramble.example",), language="en")
OTHER = Debtor("atelier", "other", "Other Ltd", emails=("ap@other.example",), language="en")


def an_invoice(debtor: Debtor, number: str, total: int, due_on: date) -> Invoice:
    return Invoice(debtor.creditor_id, debtor.debtor_id, number, date(2025, 9, 1), due_on, Money(total, "EUR"),
                   Money(0, "EUR"), next_action_on=due_on)


@pytest.fixture
def store(stack, monkeypatch) -> PaymentsStore:
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()  # each stack has its own link and webhook secrets
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    store = PaymentsStore(stack.physical["RelanceTable"])
    store.put_creditor(CREDITOR)
    store.put_new_invoices([
        an_invoice(DEBTOR, "FB-1", 120_00, date(2025, 9, 30)),
        an_invoice(DEBTOR, "FB-2", 80_50, date(2025, 10, 31)),
        an_invoice(DEBTOR, "FB-3", 45_00, date(2025, 11, 30)),
        an_invoice(OTHER, "FO-1", 10_00, date(2025, 10, 31)),
    ], [DEBTOR, OTHER])
    return store


def pay_app(sepa: str = "later"):
    from relance_portal.wiring import build_services

    config = {"SECRET_KEY": "pay-tests-session-secret", "TESTING": True, "STRIPE_STAND_IN_SEPA": sepa}
    return create_app(config, build_services(config))


def signed_in(app, debtor: Debtor, stack):
    """A browser whose session was opened by the debtor's personal link."""
    issued = issue_link(debtor, datetime.now(UTC), "http://127.0.0.1:8000")
    PortalAccessStore(stack.physical["RelanceTable"]).put_link(issued.item)
    browser = app.test_client()
    assert browser.get(urlsplit(issued.url).path).status_code == 303
    return browser


def page(response) -> str:
    return response.get_data(as_text=True)


def hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)


def review(browser, *numbers: str, mode: str = "invoices", amount: str = ""):
    form = page(browser.get("/account/pay"))
    data = {"csrf_token": hidden(form, "csrf_token"), "currency": "EUR", "nonce": hidden(form, "nonce"),
            "mode": mode, "amount": amount, "invoice": list(numbers), "step": "review"}
    return browser.post("/account/pay", data=data)


def confirm(browser, reviewed) -> str:
    """Press "Pay" on the review page; the checkout's address."""
    html = page(reviewed)
    data = {"csrf_token": hidden(html, "csrf_token"), "currency": "EUR", "nonce": hidden(html, "nonce"),
            "mode": hidden(html, "mode"), "amount": hidden(html, "amount"),
            "invoice": re.findall(r'name="invoice" value="([^"]+)"', html), "step": "pay"}
    response = browser.post("/account/pay", data=data)
    assert response.status_code == 303
    return response.headers["Location"]


def pay_on_stand_in(browser, checkout_url: str, method: str) -> str:
    """Press a pay button on the stand-in page; the portal address it sends the debtor back to."""
    path = urlsplit(checkout_url).path
    html = page(browser.get(path))
    response = browser.post(path, data={"csrf_token": hidden(html, "csrf_token"), "method": method})
    assert response.status_code == 303
    return response.headers["Location"]


def balances(store: PaymentsStore, debtor: Debtor = DEBTOR) -> dict[str, int]:
    _debtor, invoices = store.debtor_with_invoices(debtor.creditor_id, debtor.debtor_id)
    return {i.number: i.balance.minor for i in invoices}


def test_the_pay_page_lists_every_open_invoice_ticked_oldest_first_with_the_total(store, stack):
    browser = signed_in(pay_app(), DEBTOR, stack)

    html = page(browser.get("/account/pay"))

    assert html.index("FB-1") < html.index("FB-2") < html.index("FB-3")
    assert len(re.findall(r'type="checkbox"[^>]*name="invoice"[^>]*checked', html)) == 3
    assert "€245.50" in html
    assert "FO-1" not in html  # another debtor's invoice


def test_paying_two_invoices_by_card_on_the_stand_in_says_paid_once_the_webhook_confirmed(store, stack):
    browser = signed_in(pay_app(), DEBTOR, stack)

    reviewed = review(browser, "FB-2", "FB-1")
    checkout = confirm(browser, reviewed)
    stand_in = page(browser.get(urlsplit(checkout).path))
    back = pay_on_stand_in(browser, checkout, "card")
    returned = browser.get(back.replace("http://localhost", ""))

    assert reviewed.status_code == 200 and "€200.50" in page(reviewed)
    assert page(reviewed).index("FB-1") < page(reviewed).index("FB-2")  # oldest first
    assert "/stand-in/checkout/cs_test_standin_" in checkout
    assert "€200.50" in stand_in and "Pay by SEPA Direct Debit" in stand_in
    assert returned.status_code == 200
    assert "Thank you: your payment is confirmed" in page(returned)
    assert balances(store) == {"FB-1": 0, "FB-2": 0, "FB-3": 45_00}


def test_a_double_submitted_pay_form_opens_one_checkout(store, stack):
    browser = signed_in(pay_app(), DEBTOR, stack)
    reviewed = review(browser, "FB-1")

    first = confirm(browser, reviewed)
    second = confirm(browser, reviewed)

    assert first == second


def test_before_the_webhook_confirms_the_return_page_says_we_are_confirming_with_a_refresh_link(store, stack):
    browser = signed_in(pay_app(), DEBTOR, stack)
    checkout = confirm(browser, review(browser, "FB-1"))
    session_id = checkout.rsplit("/", 1)[1]

    returned = page(browser.get(f"/account/pay/return?session={session_id}"))

    assert "We are confirming your payment" in returned
    assert f'href="/account/pay/return?session={session_id}"' in returned
    assert "<script" not in returned


def test_a_sepa_debit_shows_processing_then_paid_once_the_bank_answers(store, stack):
    browser = signed_in(pay_app(sepa="later"), DEBTOR, stack)
    checkout = confirm(browser, review(browser, mode="amount", amount="150.00"))

    back = pay_on_stand_in(browser, checkout, "sepa_debit")
    processing = page(browser.get(back.replace("http://localhost", "")))
    path = urlsplit(checkout).path
    answered = browser.post(f"{path}/debit", data={"csrf_token": hidden(page(browser.get(path)), "csrf_token"),
                                                   "outcome": "succeed"})
    paid = page(browser.get(answered.headers["Location"].replace("http://localhost", "")))

    assert "Your SEPA Direct Debit is being processed" in processing
    assert "Thank you: your payment is confirmed" in paid
    assert balances(store) == {"FB-1": 0, "FB-2": 50_50, "FB-3": 45_00}  # 150.00 paid oldest first


def test_a_refused_sepa_debit_says_so_and_changes_no_balance(store, stack):
    browser = signed_in(pay_app(sepa="fail"), DEBTOR, stack)
    checkout = confirm(browser, review(browser, "FB-1"))

    back = pay_on_stand_in(browser, checkout, "sepa_debit")

    assert "Your payment did not go through" in page(browser.get(back.replace("http://localhost", "")))
    assert balances(store) == {"FB-1": 120_00, "FB-2": 80_50, "FB-3": 45_00}


def test_an_amount_that_cannot_be_read_is_refused_on_its_field(store, stack):
    browser = signed_in(pay_app(), DEBTOR, stack)

    response = review(browser, mode="amount", amount="twelve")

    assert response.status_code == 400
    html = page(response)
    assert 'aria-invalid="true"' in html
    assert 'aria-describedby="pay-eur-amount-hint pay-eur-amount-error"' in html
    assert 'id="pay-eur-amount-error"' in html and "Enter an amount in figures" in html


def test_more_than_is_owed_is_refused_and_nothing_is_opened(store, stack):
    browser = signed_in(pay_app(), DEBTOR, stack)

    response = review(browser, mode="amount", amount="1000")

    assert response.status_code == 400
    assert "You owe €245.50 in this currency" in page(response)


def test_no_invoice_ticked_is_refused(store, stack):
    browser = signed_in(pay_app(), DEBTOR, stack)

    response = review(browser)

    assert response.status_code == 400
    assert "Choose at least one invoice." in page(response)


def test_another_debtors_checkout_is_not_found(store, stack):
    app = pay_app()
    mine = signed_in(app, DEBTOR, stack)
    checkout = confirm(mine, review(mine, "FB-1"))
    other = signed_in(app, OTHER, stack)

    response = other.get(f"/account/pay/return?session={checkout.rsplit('/', 1)[1]}")

    assert response.status_code == 404


def test_the_pay_pages_need_a_session(store):
    browser = pay_app().test_client()

    assert browser.get("/account/pay").status_code == 404
    assert browser.get("/account/pay/cancelled").status_code == 404


def test_the_pay_page_speaks_french_to_a_french_debtor(store, stack):
    browser = signed_in(pay_app(), DEBTOR, stack)

    html = page(browser.get("/account/pay?lang=fr"))

    assert "Payer en ligne" in html
    assert "245,50\u00a0€" in html


def test_the_stand_in_is_never_served_when_a_stripe_key_is_set(store, stack):
    import json

    from aws_lambda_powertools.utilities import parameters

    from relance.adapters.aws import client

    client("secretsmanager").put_secret_value(
        SecretId=stack.physical["StripeSecret"],
        SecretString=json.dumps({"secret_key": "sk_test_configured", "webhook_secret": "whsec_x"}))
    parameters.clear_caches()
    browser = pay_app().test_client()

    assert browser.get("/stand-in/checkout/cs_test_standin_anything").status_code == 404


def test_a_debtor_with_many_invoices_sees_the_oldest_ticked_and_how_to_pay_the_others(store, stack):
    from relance_portal.pay import PAY_LIST_LIMIT

    many = [an_invoice(DEBTOR, f"FM-{n:03d}", 10_00, date(2025, 12, 1 + n % 28)) for n in range(PAY_LIST_LIMIT + 5)]
    store.put_new_invoices(many, [])
    browser = signed_in(pay_app(), DEBTOR, stack)

    html = page(browser.get("/account/pay"))

    boxes = re.findall(r'type="checkbox"[^>]*name="invoice" value="([^"]+)"[^>]*checked', html)
    assert len(boxes) == PAY_LIST_LIMIT
    assert boxes[:3] == ["FB-1", "FB-2", "FB-3"]  # oldest due first
    assert "8 more open invoices (€80.00) are not listed here" in html
    reviewed = page(review(browser, *boxes))
    assert "€" in reviewed and "FB-1" in reviewed  # the default choice can be paid as it is


def test_the_pay_link_of_an_invoice_ticks_only_that_invoice_even_when_it_is_not_among_the_oldest(store, stack):
    from relance_portal.pay import PAY_LIST_LIMIT

    many = [an_invoice(DEBTOR, f"FM-{n:03d}", 10_00, date(2025, 12, 1 + n % 28)) for n in range(PAY_LIST_LIMIT + 5)]
    store.put_new_invoices(many, [])
    wired = create_app({"SECRET_KEY": "pay-tests-session-secret", "TESTING": True})  # with the account pages
    browser = signed_in(wired, DEBTOR, stack)
    newest = max(many, key=lambda i: (i.due_on, i.number)).number

    detail = page(browser.get(f"/account/invoices/{newest}"))
    html = page(browser.get(f"/account/pay?invoice={newest}"))

    assert f'href="/account/pay?invoice={newest}"' in detail
    assert re.findall(r'type="checkbox"[^>]*name="invoice" value="([^"]+)"[^>]*checked', html) == [newest]
    assert len(re.findall(r'type="checkbox"[^>]*name="invoice"', html)) == PAY_LIST_LIMIT


def test_the_pay_link_of_another_debtors_invoice_ticks_nothing_of_theirs(store, stack):
    browser = signed_in(pay_app(), DEBTOR, stack)

    html = page(browser.get("/account/pay?invoice=FO-1"))

    assert "FO-1" not in html
    assert re.findall(r'type="checkbox"[^>]*name="invoice"[^>]*checked', html) == []
