"""The debtor's side of the portal: the personal link opens a session, the account page, the one-time
code before any change, and "send me a new link" by e-mail address.

Never logged: the token, the link, the code, an e-mail address or a name; ids and outcomes only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from flask import Blueprint, redirect, render_template, request, session, url_for

from relance.domain.access import CODE_DIGITS, CODE_LIFETIME, CodeRefused
from relance.domain.errors import LinkInvalid
from relance.domain.money import Money
from relance.services.accounts import DebtorAccount
from relance.services.portal_access import (
    CodeOutcome,
    NewLinkOutcome,
    check_code,
    open_link,
    request_new_links,
    send_code,
)
from relance_portal.access import (
    current_ref,
    debtor_session,
    is_verified,
    link_not_valid_page,
    mark_verified,
    safe_next,
    session_account,
    start_session,
)
from relance_portal.services import current_services

bp = Blueprint("debtor", __name__)
SUMMARY_ROWS = 10  # the summary lists the oldest open invoices; the invoices page lists them all
log = logging.getLogger("relance_portal.debtor")

_CHALLENGE = "code_challenge"  # session key: the one-time code this session asked for


@dataclass(frozen=True, slots=True)
class CurrencyTotal:
    """One line of the summary: what is owed in a currency, and how much of it is late."""

    currency: str
    due: Money
    overdue: Money


@bp.get("/d/<token>")
def open_personal_link(token: str):
    """Open a session for the debtor a personal link names, then show the account at an address without the token."""
    services = current_services()
    now = services.now()
    try:
        opened = open_link(token, now, services.access)
    except LinkInvalid:
        log.warning("Portal link refused")  # unknown, expired or revoked: deliberately not told apart
        return link_not_valid_page()
    start_session(opened.ref, opened.link_digest_prefix, now)
    log.info("Portal link opened", extra={"creditor_id": opened.ref.creditor_id,
                                           "debtor_id": opened.ref.debtor_id})
    return redirect(url_for("debtor.account"), code=303)


@bp.get("/account")
@debtor_session
def account():
    """The debtor's account with the creditor: totals, then every invoice still to pay."""
    services = current_services()
    ref = current_ref()
    debtor_account = session_account(services.accounts)
    open_invoices = debtor_account.open_invoices()
    today = services.today(debtor_account.creditor.timezone)
    log.info("Debtor account shown", extra={"creditor_id": ref.creditor_id, "debtor_id": ref.debtor_id})
    return render_template(
        "debtor/account.html",
        account=debtor_account,
        creditor=debtor_account.creditor,
        totals=_totals(debtor_account, today),
        invoices=open_invoices[:SUMMARY_ROWS],
        more_invoices=max(0, len(open_invoices) - SUMMARY_ROWS),
        today=today,
    )


@bp.route("/account/verify", methods=["GET", "POST"])
@debtor_session
def verify():
    """Send a one-time code to the addresses on record, then take the code the debtor types."""
    services = current_services()
    ref = current_ref()
    target = safe_next(request.values.get("next"))
    now = services.now()
    if request.method == "GET":
        if is_verified():
            return redirect(target, code=303)
        if session.get(_CHALLENGE) is None:  # first visit: the code goes out at once
            return _send_code(target)
        return _verify_page(target)
    if request.form.get("action") == "resend":
        return _send_code(target)
    try:
        check_code(ref, session.get(_CHALLENGE), request.form.get("code", ""), now, services.link_secret,
                   services.access)
    except CodeRefused as refused:
        log.warning("Portal code refused", extra={"creditor_id": ref.creditor_id, "debtor_id": ref.debtor_id,
                                                  "reason": refused.reason})
        return _verify_page(target, refused=refused), 400
    session.pop(_CHALLENGE, None)
    mark_verified(now)
    log.info("Portal code accepted", extra={"creditor_id": ref.creditor_id, "debtor_id": ref.debtor_id})
    return redirect(target, code=303)


@bp.route("/d/new-link", methods=["GET", "POST"])
def new_link():
    """Ask for a fresh link by e-mail address; the answer is the same whatever happened."""
    if request.method == "GET":
        return render_template("debtor/new_link.html", email="", invalid=False)
    services = current_services()
    address = request.form.get("email", "")
    outcome, sent = request_new_links(address, request.remote_addr or "unknown", services.now(),
                                      services.link_secret, services.accounts, services.access, services.mailer,
                                      services.issue_link)
    if outcome is NewLinkOutcome.NOT_AN_ADDRESS:
        return render_template("debtor/new_link.html", email=address, invalid=True), 400
    log.info("Fresh portal links asked", extra={"outcome": outcome.value, "mails": sent})
    return redirect(url_for("debtor.new_link_sent"), code=303)


@bp.get("/d/new-link/sent")
def new_link_sent():
    """The neutral confirmation shown after a fresh link was asked for."""
    return render_template("debtor/new_link_sent.html")


def _send_code(target: str):
    services = current_services()
    ref = current_ref()
    try:
        sent = send_code(ref, services.now(), services.link_secret, services.accounts, services.access,
                         services.mailer)
    except LinkInvalid:  # revoked between the session check and now
        return link_not_valid_page()
    if sent.challenge_id is not None:
        session[_CHALLENGE] = sent.challenge_id
    log.info("Portal code asked", extra={"creditor_id": ref.creditor_id, "debtor_id": ref.debtor_id,
                                         "outcome": sent.outcome.value})
    return _verify_page(target, notice=sent.outcome)


def _verify_page(target: str, notice: CodeOutcome | None = None, refused: CodeRefused | None = None) -> str:
    return render_template("debtor/verify.html", next=target, notice=notice, refused=refused,
                           digits=CODE_DIGITS, minutes=int(CODE_LIFETIME.total_seconds() // 60))


def _totals(debtor_account: DebtorAccount, today: date) -> list[CurrencyTotal]:
    overdue = debtor_account.overdue_by_currency(today)
    return [
        CurrencyTotal(currency, due, overdue.get(currency, Money.zero(currency)))
        for currency, due in debtor_account.balance_by_currency().items()
    ]
