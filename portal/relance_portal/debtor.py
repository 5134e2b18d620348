"""The debtor's side of the portal, reached through the personal link in each reminder."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for
from flask_babel import refresh

from relance.adapters.links import DebtorRef, read_link_token
from relance.domain.errors import LinkExpired, LinkInvalid
from relance.domain.money import Money
from relance.services.accounts import DebtorAccount, account_for_link
from relance_portal.services import current_services

bp = Blueprint("debtor", __name__)
log = logging.getLogger("relance_portal.debtor")



@dataclass(frozen=True, slots=True)
class CurrencyTotal:
    """One line of the summary: what is owed in a currency, and how much of it is late."""

    currency: str
    due: Money
    overdue: Money


@bp.get("/<token>")
def account(token: str):
    """The debtor's account with the creditor: totals, then every invoice still to pay."""
    services = current_services()
    try:
        ref = read_link_token(services.link_secret, token, current_app.config["LINK_MAX_AGE_DAYS"])
        debtor_account = account_for_link(ref, services.accounts)
    except LinkExpired as expired:
        _log_ref("Portal link expired", expired.params.get("ref"))
        return render_template("debtor/link_expired.html", token=token), 410
    except LinkInvalid:
        log.warning("Portal link rejected", extra={"reason": "invalid_or_revoked"})
        return render_template("debtor/link_invalid.html"), 404

    g.debtor_language = debtor_account.debtor.language
    refresh()  # the locale may have been chosen before the debtor was known
    today = services.today(debtor_account.creditor.timezone)
    _log_ref("Debtor account shown", ref)
    return render_template(
        "debtor/account.html",
        account=debtor_account,
        creditor=debtor_account.creditor,
        totals=_totals(debtor_account, today),
        invoices=debtor_account.open_invoices(),
        today=today,
    )


@bp.post("/new-link")
def request_new_link():
    """Mail a fresh link to the address on record; the answer is the same whatever happened."""
    services = current_services()
    ref = _ref_for_a_new_link(request.form.get("token", ""))
    if ref is None:
        log.warning("Fresh portal link refused", extra={"reason": "invalid_or_revoked"})
    else:
        services.resend_link(ref)
        _log_ref("Fresh portal link sent", ref)
    return redirect(url_for("debtor.new_link_sent"), code=303)


@bp.get("/new-link/sent")
def new_link_sent():
    """The neutral confirmation shown after a fresh link was asked for."""
    return render_template("debtor/new_link_sent.html")


def _ref_for_a_new_link(token: str) -> DebtorRef | None:
    """Whom to mail a fresh link: the debtor an expired or valid link names, unless it was revoked."""
    services = current_services()
    try:
        ref: DebtorRef | None = read_link_token(
            services.link_secret, token, current_app.config["LINK_MAX_AGE_DAYS"]
        )
    except LinkExpired as expired:
        ref = expired.params.get("ref")
    except LinkInvalid:
        return None
    if ref is None:
        return None
    try:
        account_for_link(ref, services.accounts)  # a link finance revoked must not bring a new one
    except LinkInvalid:
        return None
    return ref


def _totals(debtor_account: DebtorAccount, today: date) -> list[CurrencyTotal]:
    overdue = debtor_account.overdue_by_currency(today)
    return [
        CurrencyTotal(currency, due, overdue.get(currency, Money.zero(currency)))
        for currency, due in debtor_account.balance_by_currency().items()
    ]


def _log_ref(message: str, ref: DebtorRef | None) -> None:
    # Ids only: never the token, the debtor's name or an e-mail address.
    if ref is None:
        log.info(message)
    else:
        log.info(message, extra={"creditor_id": ref.creditor_id, "debtor_id": ref.debtor_id})
