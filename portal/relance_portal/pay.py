"""Paying online: the debtor chooses invoices or an amount, reviews where the money goes, pays on Stripe.

The debtor is always the one of the portal session (`current_ref()`), never a form field. Amounts
sent to Stripe come from the debtor's invoices as stored, never from the form. No personal data
in the logs: ids, counts and outcomes only.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from babel.numbers import NumberFormatError, parse_decimal
from flask import Blueprint, Flask, abort, current_app, redirect, render_template, request, url_for
from werkzeug.utils import import_string

from relance.adapters.checkout import (
    SESSION_ID_PLACEHOLDER,
    STRIPE_SECRET_ENV,
    StandInCheckout,
    StandInStripe,
    StripeCheckout,
    stand_in_enabled,
    stripe_keys,
)
from relance.domain.errors import InvalidAllocation, InvalidAmount
from relance.domain.invoices import Invoice
from relance.domain.money import MINOR_DIGITS, Money
from relance.domain.payments import MAX_INVOICES_PER_PAYMENT, AllocationResult, open_in
from relance.services.accounts import DebtorAccount
from relance.services.payments import (
    Checkout,
    CheckoutStore,
    choose_amount,
    choose_invoices,
    payment_progress,
    start_checkout,
)
from relance_portal.access import current_ref, debtor_session, session_account
from relance_portal.i18n import current_language
from relance_portal.services import current_services

bp = Blueprint("pay", __name__)
log = logging.getLogger("relance_portal.pay")

PAY_LIST_LIMIT = 25  # invoices listed with a box on the pay page; under MAX_INVOICES_PER_PAYMENT
PORTS_KEPT_SECONDS = 300  # the Stripe keys are read again after this, like the secret's own cache


@dataclass(frozen=True)
class PayPorts:
    """What paying online needs: the checkout (None: online payment not offered), the store, the stand-in."""

    checkout: Checkout | None
    store: CheckoutStore
    stand_in: StandInStripe | None = None  # set only when the stand-in checkout is active
    sepa_outcome: str = "later"  # stand-in only: "later" (settled from its page), "succeed" or "fail" at once
    built_at: float = field(default_factory=time.monotonic)


def init_app(app: Flask) -> None:
    """Register the pay pages and, for the demo and tests, the stand-in checkout pages."""
    from relance_portal import standin

    app.register_blueprint(bp)
    app.register_blueprint(standin.bp)


def payment_ports() -> PayPorts:
    """The app's PayPorts: `PAYMENTS_FACTORY` from the config (tests), else built from the settings."""
    kept: PayPorts | None = current_app.extensions.get("relance_payments")
    if kept is not None and time.monotonic() - kept.built_at < PORTS_KEPT_SECONDS:
        return kept
    factory = current_app.config.get("PAYMENTS_FACTORY") or build_payment_ports
    if isinstance(factory, str):
        factory = import_string(factory)
    ports = factory(current_app.config)
    current_app.extensions["relance_payments"] = ports
    return ports


def build_payment_ports(config: Mapping[str, Any]) -> PayPorts:
    """Stripe when its secret key is set; the stand-in only locally (see adapters.checkout); else nothing."""
    from relance.adapters.payments_store import PaymentsStore
    from relance.adapters.settings import load_settings

    settings = load_settings()
    store = PaymentsStore(settings.table_name)
    keys = stripe_keys(os.environ.get(STRIPE_SECRET_ENV))
    if keys.secret_key:
        return PayPorts(StripeCheckout(keys.secret_key), store)
    if stand_in_enabled(keys, os.environ) and keys.webhook_secret:
        from relance_portal.standin import local_webhook_sender

        log.warning("Stand-in checkout active: no real payment is taken")
        return PayPorts(StandInCheckout(settings.portal_base_url), store,
                        StandInStripe(keys.webhook_secret, local_webhook_sender),
                        str(config.get("STRIPE_STAND_IN_SEPA", "later")))
    return PayPorts(None, store)


# --- the form -----------------------------------------------------------------------------------


@dataclass
class PayForm:
    """One currency's form: the invoices ticked or a typed amount, and what was wrong with it."""

    currency: str
    invoices: list[Invoice]
    nonce: str
    mode: str = "invoices"  # "invoices" | "amount"
    chosen: set[str] = field(default_factory=set)
    amount_text: str = ""
    errors: dict[str, str] = field(default_factory=dict)  # field name -> translated message

    @property
    def example(self) -> str:
        """An amount as the debtor would type it in their language, for the hint."""
        return _example(self.currency)

    @property
    def total(self) -> Money:
        return Money(sum(i.balance.minor for i in self.invoices), self.currency)

    @property
    def prefix(self) -> str:
        return f"pay-{self.currency.lower()}"

    @property
    def listed(self) -> list[Invoice]:
        """The rows shown: the ticked invoices, then the oldest others, at most PAY_LIST_LIMIT in all.

        A debtor with 200 open invoices gets a page of the same weight as one with 20; the others are
        paid by amount (oldest first) or from each invoice's page.
        """
        ticked = [i for i in self.invoices if i.number in self.chosen]
        others = [i for i in self.invoices if i.number not in self.chosen]
        kept = {i.number for i in (ticked + others)[:max(PAY_LIST_LIMIT, len(ticked))]}
        return [i for i in self.invoices if i.number in kept]

    @property
    def unlisted(self) -> list[Invoice]:
        shown = {i.number for i in self.listed}
        return [i for i in self.invoices if i.number not in shown]

    @property
    def unlisted_total(self) -> Money:
        return Money(sum(i.balance.minor for i in self.unlisted), self.currency)


def _account() -> DebtorAccount:
    services = current_services()
    return session_account(services.accounts)


def _forms(account: DebtorAccount, nonce: str, only: str | None = None) -> list[PayForm]:
    """One form per currency, the oldest PAY_LIST_LIMIT invoices ticked, or only the invoice `only`."""
    currencies = sorted({i.currency for i in account.open_invoices()})
    forms = []
    for currency in currencies:
        invoices = open_in(account.invoices, currency)
        numbers = [i.number for i in invoices]
        chosen = {only} if only in numbers else set() if only else set(numbers[:PAY_LIST_LIMIT])
        forms.append(PayForm(currency, invoices, nonce, chosen=chosen))
    return forms


def _read_form(account: DebtorAccount) -> tuple[PayForm, AllocationResult | None]:
    """The posted form, and what it pays; errors are collected on the form, tied to their fields."""
    from flask_babel import gettext as _

    currency = request.form.get("currency", "")
    nonce = request.form.get("nonce", "") or secrets.token_urlsafe(16)
    invoices = open_in(account.invoices, currency) if currency in MINOR_DIGITS else []
    if not invoices:
        abort(400)
    form = PayForm(currency, invoices, nonce[:64], mode=request.form.get("mode", "invoices"),
                   chosen=set(request.form.getlist("invoice")), amount_text=request.form.get("amount", "").strip())
    try:
        if form.mode == "amount":
            return form, choose_amount(account.invoices, _parse_amount(form))
        return form, choose_invoices(account.invoices, sorted(form.chosen))
    except InvalidAmount:
        digits = MINOR_DIGITS[currency]
        form.errors["amount"] = _("Enter an amount with at most %(digits)d decimals, for example %(example)s.",
                                  digits=digits, example=_example(currency))
    except InvalidAllocation as refused:
        _explain(form, refused)
    return form, None


def _parse_amount(form: PayForm) -> Money:
    from flask_babel import gettext as _

    typed = "".join(c for c in form.amount_text if c not in " \u00a0\u202f")  # "1 234,56" as typed
    try:
        value = parse_decimal(typed, locale=current_language(), strict=True)
    except NumberFormatError:
        form.errors["amount"] = _("Enter an amount in figures, for example %(example)s.",
                                  example=_example(form.currency))
        raise InvalidAllocation("unreadable amount", reason="unreadable") from None
    return Money.from_decimal(Decimal(value), form.currency)


def _example(currency: str) -> str:
    from flask_babel import format_decimal

    return format_decimal(Decimal("1234.56") if MINOR_DIGITS[currency] else Decimal(1234))


def _explain(form: PayForm, refused: InvalidAllocation) -> None:
    """The refusal as a sentence on the field it is about."""
    from flask_babel import gettext as _

    from relance_portal.i18n import money_filter

    reason = refused.params.get("reason")
    if reason == "unreadable":
        return  # already explained by _parse_amount
    if reason == "not_positive" or reason == "negative_amount":
        form.errors["amount"] = _("Enter an amount greater than zero.")
    elif reason == "more_than_owed":
        form.errors["amount"] = _("You owe %(owed)s in this currency: enter that amount or less.",
                                  owed=money_filter(Money(int(refused.params["owed_minor"]), form.currency)))
    elif reason == "nothing_selected":
        form.errors["invoice"] = _("Choose at least one invoice.")
    elif reason == "too_many_invoices":
        form.errors["invoice"] = _("Choose at most %(maximum)d invoices at once.", maximum=MAX_INVOICES_PER_PAYMENT)
    elif reason == "not_open":
        form.errors["invoice"] = _("Some of these invoices have just been paid. Check the list and choose again.")
    else:
        form.errors["invoice"] = _("Choose invoices in one currency at a time.")


def _log(message: str, **extra: Any) -> None:
    ref = current_ref()
    log.info(message, extra={"creditor_id": ref.creditor_id, "debtor_id": ref.debtor_id, **extra})


# --- the pages ------------------------------------------------------------------------------------


@bp.get("/account/pay")
@debtor_session
def choose():
    """Choose the invoices to pay (the oldest ticked, or the one asked for), or an amount, one form per currency."""
    account = _account()
    ports = payment_ports()
    forms = _forms(account, secrets.token_urlsafe(16), only=request.args.get("invoice") or None)
    _log("Pay page shown", currencies=len(forms))
    return render_template("pay/choose.html", account=account, creditor=account.creditor, forms=forms,
                           available=ports.checkout is not None, max_invoices=MAX_INVOICES_PER_PAYMENT)


@bp.post("/account/pay")
@debtor_session
def pay():
    """Review where the money goes (step "review"), then open the Checkout Session and go there (step "pay")."""
    account = _account()
    ports = payment_ports()
    if ports.checkout is None:
        abort(404)
    form, allocation = _read_form(account)
    if allocation is None:
        others = [f for f in _forms(account, form.nonce) if f.currency != form.currency]
        _log("Pay form refused", fields=sorted(form.errors))
        return render_template("pay/choose.html", account=account, creditor=account.creditor,
                               forms=sorted([form, *others], key=lambda f: f.currency), available=True,
                               max_invoices=MAX_INVOICES_PER_PAYMENT), 400
    if request.form.get("step") != "pay":
        return render_template("pay/review.html", account=account, creditor=account.creditor, form=form,
                               allocation=allocation, by_number={i.number: i for i in account.invoices})
    success_url = url_for("pay.returned", _external=True) + "?session=" + SESSION_ID_PLACEHOLDER
    cancel_url = url_for("pay.cancelled", _external=True)
    session = start_checkout(account.creditor, account.debtor, allocation, form.nonce, success_url, cancel_url,
                             current_services().now(), ports.checkout, ports.store)
    _log("Checkout opened", invoices=len(allocation.allocations), currency=allocation.currency)
    return redirect(session.url, code=303)


@bp.get("/account/pay/return")
@debtor_session
def returned():
    """Back from the checkout: paid once Stripe confirmed it, processing for a debit, else "confirming"."""
    account = _account()
    ref = current_ref()
    session_id = request.args.get("session", "")
    view = payment_progress(session_id, ref.creditor_id, ref.debtor_id, payment_ports().store) if session_id else None
    if view is None:
        abort(404)
    _log("Payment return shown", progress=view.progress.value)
    return render_template("pay/return.html", account=account, creditor=account.creditor, view=view,
                           progress=view.progress.value, stand_in=payment_ports().stand_in is not None)


@bp.get("/account/pay/cancelled")
@debtor_session
def cancelled():
    """The debtor left the checkout without paying."""
    account = _account()
    _log("Checkout cancelled")
    return render_template("pay/cancelled.html", account=account, creditor=account.creditor)
