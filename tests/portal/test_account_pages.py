"""The account pages: invoices, PDFs, statement, dispute, promise, history; always the session debtor's own."""

from __future__ import annotations

import io
from datetime import date

import pytest
from tests.portal.account_fakes import account_services_for
from tests.portal.portal_world import (
    CREDITOR,
    DEBTOR_A,
    DEBTOR_B,
    TEST_CONFIG,
    NOW,
    World,
    csrf_token_in,
    page_of,
)

from relance_portal import create_app

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
DISGUISED = b"MZ\x90\x00 this is not a PDF at all" * 4
B_INVOICE = "FB-2026-0777"


@pytest.fixture
def account(world: World):
    return account_services_for(world)


@pytest.fixture
def app(world, account):
    services, _store, _documents = account
    return create_app({**TEST_CONFIG, "ACCOUNT_SERVICES": services}, world.services())


@pytest.fixture
def store(account):
    return account[1]


@pytest.fixture
def documents(account):
    return account[2]


def sign_in(client, world: World, debtor=DEBTOR_A, verified: bool = False):
    response = client.get(world.link_for(debtor))
    assert response.status_code == 303
    if verified:
        with client.session_transaction() as session:
            session["code_verified_at"] = NOW.isoformat()
    return client


@pytest.fixture
def debtor_a(client, world):
    """Debtor A's session, one-time code already accepted."""
    return sign_in(client, world, verified=True)


def post_form(client, path: str, data: dict, **kwargs):
    token = csrf_token_in(page_of(client.get(path)))
    return client.post(path, data={"csrf_token": token, **data}, **kwargs)


# Invoices


def test_invoices_page_lists_open_then_paid_invoices_with_their_status_in_words(debtor_a):
    response = debtor_a.get("/account/invoices")

    html = page_of(response)
    assert response.status_code == 200
    assert html.index("FA-2026-0101") < html.index("FA-2026-0099")  # open first, then paid
    assert "En retard de 53 jours" in html
    assert "Réglée" in html or "Payée" in html
    assert B_INVOICE not in html


def test_invoice_detail_shows_the_balance_and_what_can_be_done(debtor_a):
    response = debtor_a.get("/account/invoices/FA-2026-0140?lang=en")

    html = page_of(response)
    assert response.status_code == 200
    assert "€2,345.67" in html
    assert "/account/invoices/FA-2026-0140/dispute" in html
    assert "/account/invoices/FA-2026-0140.pdf" in html


def test_invoice_pdf_is_a_downloaded_pdf(debtor_a):
    response = debtor_a.get("/account/invoices/FA-2026-0101.pdf")

    assert response.status_code == 200
    assert response.data.startswith(b"%PDF-")
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == 'attachment; filename="FA-2026-0101.pdf"'
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_original_invoice_pdf_is_streamed_when_an_import_stored_one(debtor_a, store, documents):
    key = "creditors/cred-atelier/debtors/debtor-a/invoices/FA-2026-0101.pdf"
    documents.put(key, b"%PDF-1.7 original facturx", "application/pdf")
    store.original_pdfs[("cred-atelier", "debtor-a", "FA-2026-0101")] = key

    response = debtor_a.get("/account/invoices/FA-2026-0101.pdf")

    assert response.data == b"%PDF-1.7 original facturx"


@pytest.mark.parametrize("path", [
    f"/account/invoices/{B_INVOICE}",
    f"/account/invoices/{B_INVOICE}.pdf",
    f"/account/invoices/{B_INVOICE}/dispute",
    "/account/invoices/NO-SUCH-INVOICE",
    "/account/documents/0",
])
def test_another_debtors_invoice_or_document_is_not_found(debtor_a, store, documents, path):
    key = "creditors/cred-atelier/debtors/debtor-b/2026-11-20/reminder.pdf"
    documents.put(key, b"%PDF-1.4 B's letter", "application/pdf")
    store.contacts[("cred-atelier", "debtor-b")] = [
        {"business_date": "2026-11-20", "status": "sent", "step": "formal_notice", "channel": "formal_notice",
         "invoices": [B_INVOICE], "document_keys": [key]}]

    response = debtor_a.get(path)

    assert response.status_code == 404
    assert b"B's letter" not in response.data


def test_another_debtors_dispute_post_is_not_found_and_changes_nothing(debtor_a, store):
    response = debtor_a.post(f"/account/invoices/{B_INVOICE}/dispute",
                             data={"reason": "quality", "csrf_token": csrf_token_in(page_of(
                                 debtor_a.get("/account/invoices/FA-2026-0101/dispute")))})

    assert response.status_code == 404
    assert store.disputes == {}


def test_pages_need_a_session(client):
    response = client.get("/account/invoices")

    assert response.status_code == 404


# Statement of account


def test_statement_csv_in_french_uses_semicolons_decimal_commas_and_a_bom(debtor_a):
    response = debtor_a.get("/account/statement.csv")

    text = response.data.decode("utf-8")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert text.startswith("\ufeffFacture;")
    assert "FA-2026-0101;2026-09-01;2026-10-01;EUR;10000,00;0,00;10000,00;53;En retard" in text
    assert "Total;;;EUR;;;12345,67;;" in text
    assert B_INVOICE not in text


def test_statement_csv_in_english_uses_commas_and_dots(debtor_a):
    response = debtor_a.get("/account/statement.csv?lang=en")

    text = response.data.decode("utf-8")
    assert "Total,,,EUR,,,12345.67,," in text


def test_statement_pdf_is_a_pdf_of_the_debtors_own_invoices(debtor_a):
    response = debtor_a.get("/account/statement.pdf")

    assert response.status_code == 200
    assert response.data.startswith(b"%PDF-")
    assert response.headers["Content-Type"] == "application/pdf"


# Dispute


def test_disputing_asks_for_the_one_time_code_first(client, world):
    sign_in(client, world)

    response = client.get("/account/invoices/FA-2026-0101/dispute")

    assert response.status_code == 303
    assert response.headers["Location"].startswith("/account/verify?next=")


def test_a_dispute_with_an_attachment_pauses_the_invoice_and_tells_finance(debtor_a, store, documents):
    response = post_form(debtor_a, "/account/invoices/FA-2026-0101/dispute",
                         {"reason": "wrong_amount", "message": "Le devis disait 8 000 €.",
                          "attachment": (io.BytesIO(PNG), "../../devis signé.png")},
                         content_type="multipart/form-data")

    assert response.status_code == 303
    invoice = store.invoices[("cred-atelier", "debtor-a", "FA-2026-0101")]
    assert invoice.disputed and invoice.next_action_on is None
    dispute = store.disputes[("cred-atelier", "debtor-a", "FA-2026-0101")]
    assert dispute["reason"] == "wrong_amount"
    assert dispute["attachment_key"].startswith(
        f"creditors/cred-atelier/debtors/debtor-a/disputes/{dispute['dispute_id']}/")
    assert dispute["attachment_key"].endswith("/devis_signe.png")
    assert documents.objects[dispute["attachment_key"]] == (PNG, "image/png")
    assert [t["kind"] for t in store.tasks] == ["dispute"]
    assert [a["action"] for a in store.audit] == ["dispute_opened"]
    assert "Votre contestation a été enregistrée" in page_of(debtor_a.get(response.headers["Location"]))


def test_a_dispute_posted_twice_opens_one_dispute(debtor_a, store):
    path = "/account/invoices/FA-2026-0101/dispute"
    token = csrf_token_in(page_of(debtor_a.get(path)))

    first = debtor_a.post(path, data={"csrf_token": token, "reason": "quality"})
    second = debtor_a.post(path, data={"csrf_token": token, "reason": "quality"}, follow_redirects=True)

    assert first.status_code == 303
    assert len(store.disputes) == 1 and len(store.tasks) == 1 and len(store.audit) == 1
    assert "déjà en cours d’examen" in page_of(second)


def test_a_disguised_attachment_is_refused_next_to_its_field_and_nothing_is_stored(debtor_a, store, documents):
    response = post_form(debtor_a, "/account/invoices/FA-2026-0101/dispute",
                         {"reason": "quality", "attachment": (io.BytesIO(DISGUISED), "facture.pdf", "application/pdf")},
                         content_type="multipart/form-data")

    html = page_of(response)
    assert response.status_code == 400
    assert 'id="attachment-error"' in html
    assert 'aria-describedby="attachment-hint attachment-error"' in html
    assert store.disputes == {} and documents.objects == {} and store.tasks == []
    assert not store.invoices[("cred-atelier", "debtor-a", "FA-2026-0101")].disputed


def test_other_reason_needs_a_message(debtor_a, store):
    response = post_form(debtor_a, "/account/invoices/FA-2026-0101/dispute", {"reason": "other", "message": " "})

    assert response.status_code == 400
    assert 'id="message-error"' in page_of(response)
    assert store.disputes == {}


def test_a_dispute_without_the_csrf_token_is_refused(world, account):
    services, store, _documents = account
    app = create_app({**TEST_CONFIG, "WTF_CSRF_ENABLED": True, "ACCOUNT_SERVICES": services}, world.services())
    client = sign_in(app.test_client(), world, verified=True)

    response = client.post("/account/invoices/FA-2026-0101/dispute", data={"reason": "quality"})

    assert response.status_code == 400
    assert store.disputes == {}


def test_a_request_over_the_attachment_limit_is_refused(debtor_a, store):
    big = b"%PDF-" + b"0" * (5 * 1024 * 1024)

    response = post_form(debtor_a, "/account/invoices/FA-2026-0101/dispute",
                         {"reason": "quality", "attachment": (io.BytesIO(big), "big.pdf")},
                         content_type="multipart/form-data")

    assert response.status_code == 413
    assert store.disputes == {}


def test_other_forms_keep_the_small_request_limit(debtor_a):
    response = debtor_a.post("/account/promise", data={"note": "x" * (100 * 1024)})

    assert response.status_code == 413


# Promise to pay


def test_a_promise_too_far_ahead_is_refused_next_to_the_date_and_nothing_is_stored(debtor_a, store):
    response = post_form(debtor_a, "/account/promise", {"promised_on": "2027-02-01"})

    html = page_of(response)
    assert response.status_code == 400
    assert 'id="promised_on-error"' in html
    assert 'aria-describedby="promised_on-hint promised_on-error"' in html
    assert store.audit == []
    assert all(i.promised_on is None for i in store.invoices.values())


@pytest.mark.parametrize("value", ["2026-11-23", "2026-11-01", "demain", ""])
def test_a_promise_for_today_the_past_or_not_a_date_is_refused(debtor_a, store, value):
    response = post_form(debtor_a, "/account/promise", {"promised_on": value})

    assert response.status_code == 400
    assert store.audit == []


def test_a_promise_pauses_every_overdue_invoice_until_the_date_and_grace(debtor_a, store):
    response = post_form(debtor_a, "/account/promise", {"promised_on": "2026-12-10", "note": "Virement lundi"})

    assert response.status_code == 303
    promised = {n: i for (_c, d, n), i in store.invoices.items() if i.promised_on is not None}
    assert set(promised) == {"FA-2026-0101", "FA-2026-0150"}  # overdue; FA-2026-0140 is not yet due
    assert all(i.next_action_on is not None and i.next_action_on > date(2026, 12, 13) for i in promised.values())
    assert [a["action"] for a in store.audit] == ["payment_promised"]
    assert "promesse de paiement a été enregistrée" in page_of(debtor_a.get("/account/invoices"))


def test_the_promise_date_input_is_bounded_by_the_policy(debtor_a):
    html = page_of(debtor_a.get("/account/promise"))

    assert 'type="date"' in html
    assert 'min="2026-11-24"' in html
    assert 'max="2026-12-23"' in html  # fr-b2b: 30 days
    assert '<label for="promised_on">' in html


# History and documents


def test_history_lists_letters_and_serves_the_debtors_own_documents(debtor_a, store, documents):
    key = "creditors/cred-atelier/debtors/debtor-a/2026-11-20/formal-notice.pdf"
    documents.put(key, b"%PDF-1.4 notice", "application/pdf")
    store.contacts[("cred-atelier", "debtor-a")] = [
        {"business_date": "2026-11-20", "status": "sent", "step": "formal_notice", "channel": "formal_notice",
         "invoices": ["FA-2026-0101"], "document_keys": [key]},
        {"business_date": "2026-11-21", "status": "pending", "step": "agency", "channel": "agency"},
    ]

    html = page_of(debtor_a.get("/account/history"))
    response = debtor_a.get("/account/documents/0")

    assert "Mise en demeure" in html and "FA-2026-0101" in html and "/account/documents/0" in html
    assert response.data == b"%PDF-1.4 notice"
    assert response.headers["Content-Disposition"] == 'attachment; filename="formal-notice.pdf"'
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert debtor_a.get("/account/documents/1").status_code == 404


def test_a_document_key_outside_the_debtors_prefix_is_never_served(debtor_a, store, documents):
    key = "creditors/cred-atelier/debtors/debtor-b/2026-11-20/letter.pdf"
    documents.put(key, b"%PDF-1.4 other", "application/pdf")
    store.contacts[("cred-atelier", "debtor-a")] = [
        {"business_date": "2026-11-20", "status": "sent", "step": "x", "channel": "letter", "document_keys": [key]}]

    response = debtor_a.get("/account/documents/0")

    assert response.status_code == 404


# The summary page


def test_the_account_page_links_to_every_page_and_shows_late_fees(debtor_a):
    html = page_of(debtor_a.get("/account?lang=en"))

    for path in ("/account/invoices", "/account/promise", "/account/history", "/account/statement.pdf",
                 "/account/statement.csv"):
        assert f'href="{path}"' in html
    assert "Late fees accrued as of today" in html
    assert "€40.00" in html  # the fixed recovery fee of FA-2026-0101 (French B2B)
    assert CREDITOR.contact_email in html


def test_the_account_page_never_shows_debtor_b_invoices_to_a(debtor_a):
    assert B_INVOICE not in page_of(debtor_a.get("/account"))


def test_english_reader_gets_english_pages(client, world):
    sign_in(client, world, debtor=DEBTOR_B)

    html = page_of(client.get("/account/invoices"))

    assert "Overdue by 10 days" in html


def test_a_paid_invoice_opens_from_the_list_and_as_a_pdf(debtor_a):
    html = page_of(debtor_a.get("/account/invoices/FA-2026-0099?lang=en"))

    assert "FA-2026-0099" in html and "Paid" in html
    assert debtor_a.get("/account/invoices/FA-2026-0099.pdf").data.startswith(b"%PDF-")


def open_rows(html: str) -> int:
    """Rows of the open-invoices table (the recently paid table follows it)."""
    return html.split('id="paid-heading"')[0].count('<th scope="row"><a href="/account/invoices/')


def test_a_long_list_of_open_invoices_comes_in_pages_of_twenty_five(debtor_a, store):
    from dataclasses import replace

    from relance.domain.money import Money

    template = next(i for (c, d, n), i in store.invoices.items() if n == "FA-2026-0101")
    for n in range(60):
        invoice = replace(template, number=f"FA-2027-{n:04d}", due_on=date(2026, 10, 2), total=Money(10_00, "EUR"))
        store.invoices[(invoice.creditor_id, invoice.debtor_id, invoice.number)] = invoice

    first = page_of(debtor_a.get("/account/invoices?lang=en"))
    last = page_of(debtor_a.get("/account/invoices?page=3&lang=en"))
    beyond = page_of(debtor_a.get("/account/invoices?page=99&lang=en"))

    assert "Page 1 of 3 (63 invoices)" in first and 'rel="next"' in first and 'rel="prev"' not in first
    assert open_rows(first) == 25
    assert "Page 3 of 3" in last and 'rel="prev"' in last and 'rel="next"' not in last
    assert open_rows(last) == 63 - 50  # with A's three open ones
    assert "Page 3 of 3" in beyond
