"""The real Checkout Session request, as the stripe package sends it, caught by a local HTTP server.

No Stripe mock exists for Checkout (TOOLCHAIN §5): the request is checked on the wire instead,
and answered with Stripe's published checkout.session object.
"""

from __future__ import annotations

import json
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs

import pytest

from relance.adapters.checkout import StripeCheckout, fact_from_event, payment_metadata, requested_from_metadata
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.parties import Creditor, Debtor
from relance.domain.payments import allocate, settle_invoices
from tests.conftest import FIXTURES

CREDITOR = Creditor("atelier", "Atelier Lumière SAS")
DEBTOR = Debtor("atelier", "dupont", "Boulangerie Dupont", emails=("compta@dupont.example.fr",), language="fr")


def an_invoice(number: str, total: int, currency: str = "EUR", due_on: date = date(2025, 10, 1)) -> Invoice:
    return Invoice("atelier", "dupont", number, date(2025, 9, 1), due_on, Money(total, currency), Money(0, currency))


class _Stripe(BaseHTTPRequestHandler):
    requests: list[tuple[str, dict[str, str], dict[str, list[str]]]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        _Stripe.requests.append((self.path, dict(self.headers), parse_qs(body)))
        session = json.loads((FIXTURES / "stripe" / "objects" / "checkout.session.json").read_text())
        session.update(id="cs_test_from_stub", url="https://checkout.stripe.com/c/pay/cs_test_from_stub")
        payload = json.dumps(session).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def stripe_api(monkeypatch):
    import stripe

    server = HTTPServer(("127.0.0.1", 0), _Stripe)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Stripe.requests = []
    monkeypatch.setattr(stripe, "api_base", f"http://127.0.0.1:{server.server_port}")
    yield _Stripe.requests
    server.shutdown()


def test_the_checkout_session_carries_our_amounts_ids_and_idempotency_key(stripe_api):
    book = [an_invoice("FA-2", 80_50, due_on=date(2025, 11, 1)), an_invoice("FA-1", 120_00)]
    allocation = settle_invoices(book, ["FA-2", "FA-1"])

    session = StripeCheckout("sk_test_relance").create_checkout(
        DEBTOR, CREDITOR, allocation, "https://portal.example/account/pay/return?session={CHECKOUT_SESSION_ID}",
        "https://portal.example/account/pay/cancelled", "relance-pay-abc123")

    assert (session.session_id, session.url) == ("cs_test_from_stub", "https://checkout.stripe.com/c/pay/cs_test_from_stub")
    ((path, headers, form),) = stripe_api
    assert path == "/v1/checkout/sessions"
    assert headers["Idempotency-Key"] == "relance-pay-abc123"
    assert headers["Authorization"] == "Bearer sk_test_relance"
    assert form["mode"] == ["payment"]
    assert form["payment_method_types[0]"] == ["card"] and form["payment_method_types[1]"] == ["sepa_debit"]
    assert form["line_items[0][price_data][unit_amount]"] == ["12000"]  # oldest first, from our data
    assert form["line_items[1][price_data][unit_amount]"] == ["8050"]
    assert form["line_items[0][price_data][currency]"] == ["eur"]
    assert form["line_items[0][price_data][product_data][name]"] == ["Facture FA-1"]
    assert form["metadata[creditor_id]"] == ["atelier"] and form["metadata[debtor_id]"] == ["dupont"]
    assert form["payment_intent_data[metadata][debtor_id]"] == ["dupont"]
    assert json.loads(form["metadata[allocation_0]"][0]) == [["FA-1", 120_00], ["FA-2", 80_50]]
    assert form["client_reference_id"] == ["relance-pay-abc123"]
    assert form["success_url"] == ["https://portal.example/account/pay/return?session={CHECKOUT_SESSION_ID}"]
    assert DEBTOR.name not in json.dumps(form)  # the debtor's name never leaves for Stripe


def test_a_pound_invoice_is_offered_the_card_only(stripe_api):
    allocation = settle_invoices([an_invoice("FB-1", 99_00, "GBP")], ["FB-1"])

    StripeCheckout("sk_test_relance").create_checkout(DEBTOR, CREDITOR, allocation, "https://p/r", "https://p/c", "k")

    ((_path, _headers, form),) = stripe_api
    assert form["payment_method_types[0]"] == ["card"] and "payment_method_types[1]" not in form


def test_an_allocation_too_long_for_one_metadata_value_is_split_and_read_back():
    book = [an_invoice(f"FACTURE-2025-{n:06d}", 1_00 + n) for n in range(50)]
    allocation = allocate(Money(10_000_00, "EUR"), book)

    metadata = payment_metadata("atelier", "dupont", allocation)

    assert len(metadata) <= 50 and all(len(v) <= 500 for v in metadata.values())
    assert int(metadata["allocation_parts"]) > 1
    assert requested_from_metadata(metadata, "EUR") == allocation.allocations


def test_stripe_currencies_are_upper_cased_as_they_enter():
    event = json.loads((FIXTURES / "stripe" / "events" / "payment_intent.succeeded.json").read_text())

    fact = fact_from_event(event)

    assert fact.amount == Money(1099, "USD") and fact.paid
    assert fact.payment_id == "pi_1PgafyB7WZ01zgkWSjxsAJo3" and fact.charge_id == "ch_1PgafuB7WZ01zgkWXYmPNZs8"
