"""The stand-in checkout: Stripe's payment page, played by the portal in the demo and the tests.

Active only where `relance.adapters.checkout.stand_in_enabled` says so (no Stripe key, the explicit
local setting, not on Lambda); everywhere else every page here is a 404. Paying here sends the
webhook the events Stripe would send, signed like Stripe, through the webhook's own handler.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, g, redirect, render_template, request
from flask_babel import refresh

from relance.adapters.checkout import SESSION_ID_PLACEHOLDER
from relance.services.autopay import SetupCheckoutRecord
from relance.services.payments import CheckoutRecord
from relance_portal.pay import PayPorts, payment_ports
from relance_portal.services import current_services

bp = Blueprint("standin", __name__)
log = logging.getLogger("relance_portal.standin")
METHODS = ("card", "sepa_debit")


def local_webhook_sender(event: dict[str, Any]) -> dict[str, Any]:
    """Deliver to StripeWebhookFunction in this process, as template.yaml defines it (local stack only)."""
    from relance_cli.local_lambda import invoke

    return invoke("StripeWebhookFunction", event)


def _session(session_id: str) -> tuple[PayPorts, CheckoutRecord]:
    ports = payment_ports()
    if ports.stand_in is None:
        abort(404)
    record = ports.store.get_checkout(session_id)
    if record is None:
        abort(404)
    return ports, record


def _return_url(record: CheckoutRecord) -> str:
    return record.success_url.replace(SESSION_ID_PLACEHOLDER, record.session_id)


def _delivered(statuses: list[int], record: CheckoutRecord) -> None:
    if any(status != 200 for status in statuses):
        log.error("Stand-in events refused by the webhook", extra={"statuses": statuses,
                                                                   "checkout_session_id": record.session_id})
        abort(502)


@bp.get("/stand-in/checkout/<session_id>")
def checkout(session_id: str):
    """The stand-in payment page: the amount, the invoices, pay by card or SEPA debit, or cancel."""
    ports, record = _session(session_id)
    payment = ports.store.get_payment(record.payment_id) if record.payment_id else None
    account = current_services().accounts.debtor_account(record.creditor_id, record.debtor_id)
    creditor_name = account.creditor.legal_name if account else record.creditor_id
    if account is not None:  # Stripe's page speaks the `locale` the session was opened with: the debtor's
        g.debtor_language = account.debtor.language
        refresh()
    return render_template("standin/checkout.html", record=record, payment=payment, creditor_name=creditor_name,
                           return_url=_return_url(record))


@bp.post("/stand-in/checkout/<session_id>")
def pay(session_id: str):
    """The debtor paid on the stand-in page: Stripe's events go to the webhook, then back to the portal."""
    ports, record = _session(session_id)
    method = request.form.get("method")
    if method not in METHODS or (method == "sepa_debit" and record.allocation.currency != "EUR"):
        abort(400)
    assert ports.stand_in is not None
    statuses = ports.stand_in.pay(record, method)
    if method == "sepa_debit" and ports.sepa_outcome in ("succeed", "fail"):
        statuses += ports.stand_in.settle_debit(record, succeeded=ports.sepa_outcome == "succeed")
    _delivered(statuses, record)
    log.info("Stand-in payment made", extra={"checkout_session_id": record.session_id, "method": method})
    return redirect(_return_url(record), code=303)


@bp.get("/stand-in/setup/<session_id>")
def setup(session_id: str):
    """The stand-in setup page: save a test card or a test IBAN for the plan's installments, or cancel."""
    _ports, record = _setup_session(session_id)
    account = current_services().accounts.debtor_account(record.creditor_id, record.debtor_id)
    creditor_name = account.creditor.legal_name if account else record.creditor_id
    if account is not None:
        g.debtor_language = account.debtor.language
        refresh()
    return render_template("standin/setup.html", record=record, creditor_name=creditor_name)


@bp.post("/stand-in/setup/<session_id>")
def save_method(session_id: str):
    """The debtor saved a payment method on the stand-in page: Stripe's event goes to the webhook, then back."""
    ports, record = _setup_session(session_id)
    method = request.form.get("method")
    if method not in METHODS or (method == "sepa_debit" and record.currency != "EUR"):
        abort(400)
    assert ports.stand_in is not None
    statuses = ports.stand_in.complete_setup(record, method)
    if any(status != 200 for status in statuses):
        log.error("Stand-in events refused by the webhook", extra={"statuses": statuses,
                                                                   "checkout_session_id": record.session_id})
        abort(502)
    log.info("Stand-in payment method saved", extra={"checkout_session_id": record.session_id, "method": method})
    return redirect(record.success_url, code=303)


def _setup_session(session_id: str) -> tuple[PayPorts, SetupCheckoutRecord]:
    ports = payment_ports()
    getter = getattr(ports.store, "get_setup_checkout", None)
    record = getter(session_id) if ports.stand_in is not None and getter is not None else None
    if record is None:
        abort(404)
    return ports, record


@bp.post("/stand-in/checkout/<session_id>/debit")
def debit(session_id: str):
    """Answer for the bank on a SEPA debit in progress: it succeeds or it fails."""
    ports, record = _session(session_id)
    outcome = request.form.get("outcome")
    if outcome not in ("succeed", "fail"):
        abort(400)
    assert ports.stand_in is not None
    _delivered(ports.stand_in.settle_debit(record, succeeded=outcome == "succeed"), record)
    log.info("Stand-in debit answered", extra={"checkout_session_id": record.session_id, "outcome": outcome})
    return redirect(_return_url(record), code=303)
