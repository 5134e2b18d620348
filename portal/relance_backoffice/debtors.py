"""The debtor page: identity, contacts, invoices, plans, promises, disputes and the timeline, with
finance's manual actions (pause and resume dunning, revoke portal links, record a payment made outside
Stripe, write an invoice off, send the next step now, edit the contact details).

`/debtors?q=` goes straight to the debtor whose id is the query (one item read); otherwise it lists up to
50 debtors whose name contains it, ignoring case and accents, from the creditor's debtor list (AP12, the
dashboard's read: it grows with the creditor's debtors, acceptable for a back-office search).
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from babel.numbers import NumberFormatError, parse_decimal
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from relance.domain.formatting import babel_locale
from relance.domain.money import MINOR_DIGITS, Money
from relance.services import debtor_actions
from relance.services.dashboard import debtor_risk
from relance.services.debtor_search import MAX_FOUND, find_by_name
from relance.services.debtor_actions import (
    MAX_ADDRESS_CHARS,
    MAX_EMAILS,
    AlreadyContactedToday,
    FormRefused,
    NothingToSendNow,
    NothingToWriteOff,
    WriteOffBlocked,
)
from relance.services.pauses import MAX_REASON_CHARS, DebtorNotFound, NotPaused, PauseRefused, pause_dunning, resume_dunning
from relance.services.payments import (
    MANUAL_METHODS,
    MAX_REFERENCE_CHARS,
    ManualPayment,
    ManualPaymentRefused,
    Outcome,
    PaymentPorts,
    check_manual_payment,
    record_manual_payment,
)
from relance.services.portal_access import revoke_links
from relance_portal.i18n import current_language, money_filter
from relance_portal.errors import log
from relance_portal.i18n import local_date_filter

from relance_backoffice.auth import DECIDERS, READERS, BackOfficeUser, signed_in
from relance_backoffice.calls import outcome_text
from relance_backoffice.dashboard import band_text
from relance_backoffice.dashboard import reason_text as risk_reason_text
from relance_backoffice.disputes import reason_text
from relance_backoffice.plans import state_text
from relance_backoffice.services import services
from relance_backoffice.work import account_of, creditor_today, policy_and_closed

bp = Blueprint("debtors", __name__)

MAX_QUERY_CHARS = 100


@bp.get("/debtors")
@signed_in(READERS)
def search(user: BackOfficeUser):
    """Find a debtor by their id (as in the invoice imports), or by part of their name."""
    query = request.args.get("q", "").strip()[:MAX_QUERY_CHARS]
    if query and account_of(user.creditor_id, query) is not None:
        return redirect(url_for("debtors.debtor", debtor_id=query))
    found = find_by_name(services().dashboard, user.creditor_id, query) if query else []
    return render_template("debtors/search.html", query=query, found=found, max_found=MAX_FOUND,
                           not_found=bool(query) and not found), 404 if query and not found else 200


@bp.get("/debtors/<debtor_id>")
@signed_in(READERS)
def debtor(user: BackOfficeUser, debtor_id: str):
    """Everything about one debtor, and the timeline of every action, newest first."""
    return _debtor_page(user, debtor_id, {}, {})


@bp.post("/debtors/<debtor_id>/pause")
@signed_in(DECIDERS)
def pause(user: BackOfficeUser, debtor_id: str):
    """Pause the debtor's dunning until a date, with a reason."""
    account = _account(user, debtor_id)
    policy, closed = policy_and_closed(account)
    form = {"until": request.form.get("until", ""), "reason": request.form.get("reason", "")[:MAX_REASON_CHARS + 1]}
    try:
        until = pause_dunning(user.creditor_id, debtor_id, form["until"], form["reason"], user.actor,
                              creditor_today(account), datetime.now(UTC), services().store, policy, closed)
    except PauseRefused as exc:
        errors = {field: _pause_problem(field, code) for field, code in exc.problems.items()}
        return _debtor_page(user, debtor_id, errors, form, status=400)
    log.info("Dunning paused", extra={"creditor_id": user.creditor_id, "debtor_id": debtor_id})
    flash(_("Dunning is paused until %(day)s.", day=local_date_filter(until, "long")))
    return redirect(url_for("debtors.debtor", debtor_id=debtor_id))


@bp.post("/debtors/<debtor_id>/resume")
@signed_in(DECIDERS)
def resume(user: BackOfficeUser, debtor_id: str):
    """End the pause now: dunning picks the invoices up again from the ladder."""
    account = _account(user, debtor_id)
    policy, closed = policy_and_closed(account)
    try:
        resume_dunning(user.creditor_id, debtor_id, user.actor, datetime.now(UTC), services().store, policy, closed)
    except NotPaused:
        flash(_("Dunning was not paused, or someone else resumed it already. Nothing was changed."))
        return redirect(url_for("debtors.debtor", debtor_id=debtor_id)), 303
    log.info("Dunning resumed", extra={"creditor_id": user.creditor_id, "debtor_id": debtor_id})
    flash(_("Dunning is resumed."))
    return redirect(url_for("debtors.debtor", debtor_id=debtor_id))


@bp.post("/debtors/<debtor_id>/revoke-links")
@signed_in(DECIDERS)
def revoke(user: BackOfficeUser, debtor_id: str):
    """Revoke every portal link and open portal session of the debtor."""
    _account(user, debtor_id)
    if revoke_links(user.creditor_id, debtor_id, user.actor, datetime.now(UTC), services().access) is None:
        abort(404)
    log.info("Portal links revoked", extra={"creditor_id": user.creditor_id, "debtor_id": debtor_id})
    flash(_("Every portal link of this debtor is revoked; the next reminder carries a new one."))
    return redirect(url_for("debtors.debtor", debtor_id=debtor_id))


@bp.post("/debtors/<debtor_id>/payments")
@signed_in(DECIDERS)
def mark_paid(user: BackOfficeUser, debtor_id: str):
    """Record money received outside Stripe (a bank transfer, a cheque): it pays invoices as Stripe's would."""
    account = _account(user, debtor_id)
    ports = services()
    open_invoices = sorted((i for i in account.invoices if not i.is_settled()), key=lambda i: (i.due_on, i.number))
    numbers = tuple(n for n in request.form.getlist("invoices") if n)[:len(open_invoices) + 1]
    chosen = [i for i in open_invoices if i.number in numbers]
    currency = (chosen or open_invoices)[0].currency if (chosen or open_invoices) else "EUR"
    form = {name: request.form.get(name, "")[:MAX_REFERENCE_CHARS + 1]
            for name in ("amount", "received_on", "method", "reference", "nonce")}
    form["invoices"] = list(numbers)
    amount, received_on, problems = _parse_payment(form, currency)
    entered = ManualPayment(amount or Money(1, currency), received_on or creditor_today(account), form["method"],
                            form["reference"], numbers, form["nonce"])
    try:
        if problems:  # what could not be read, with every other problem of the form
            other = check_manual_payment(entered, open_invoices, creditor_today(account))
            raise ManualPaymentRefused("the payment form has problems", {**other, **problems})
        outcome = record_manual_payment(user.creditor_id, debtor_id, entered, user.actor, datetime.now(UTC),
                                        PaymentPorts(ports.payments, ports.closed_for, ports.policies_for))
    except ManualPaymentRefused as exc:
        errors = {f"payment_{field}": _payment_problem(field, code, currency)
                  for field, code in exc.problems.items()}
        return _debtor_page(user, debtor_id, errors, {f"payment_{k}": v for k, v in form.items()}, status=400)
    if outcome is Outcome.DUPLICATE:
        flash(_("This payment was recorded already; nothing was changed."))
    else:
        log.info("Payment recorded by finance", extra={"creditor_id": user.creditor_id, "debtor_id": debtor_id})
        flash(_("The payment of %(amount)s is recorded.", amount=money_filter(entered.amount)))
    return redirect(url_for("debtors.debtor", debtor_id=debtor_id), 303)


@bp.post("/debtors/<debtor_id>/write-off")
@signed_in(DECIDERS)
def write_off(user: BackOfficeUser, debtor_id: str):
    """Write off what is still owed on one invoice, with a reason: it leaves dunning, never counted as collected."""
    account = _account(user, debtor_id)
    policy, closed = policy_and_closed(account)
    form = {"write_off_invoice": request.form.get("invoice", ""),
            "write_off_reason": request.form.get("reason", "")[:MAX_REASON_CHARS + 1]}
    try:
        amount = debtor_actions.write_off_invoice(
            user.creditor_id, debtor_id, form["write_off_invoice"], form["write_off_reason"], user.actor,
            datetime.now(UTC), services().store, policy, closed)
    except FormRefused as exc:
        errors = {f"write_off_{field}": _reason_problem(code) for field, code in exc.problems.items()}
        return _debtor_page(user, debtor_id, errors, form, status=400)
    except NothingToWriteOff:
        errors = {"write_off_invoice": _("Choose an invoice with something still owed.")}
        return _debtor_page(user, debtor_id, errors, form, status=409)
    except WriteOffBlocked:
        errors = {"write_off_invoice": _("This invoice is disputed or in a plan: settle that first.")}
        return _debtor_page(user, debtor_id, errors, form, status=409)
    log.info("Invoice written off", extra={"creditor_id": user.creditor_id, "debtor_id": debtor_id})
    flash(_("%(amount)s written off on invoice %(number)s.", amount=money_filter(amount),
            number=form["write_off_invoice"]))
    return redirect(url_for("debtors.debtor", debtor_id=debtor_id), 303)


@bp.post("/debtors/<debtor_id>/next-step")
@signed_in(DECIDERS)
def next_step(user: BackOfficeUser, debtor_id: str):
    """Queue the debtor's next dunning step today, through the worker (one contact a day still holds)."""
    account = _account(user, debtor_id)
    policy, closed = policy_and_closed(account)
    ports = services()
    if ports.jobs is None:
        flash(_("Sending the next step now is not set up on this installation. Nothing was changed."))
        return redirect(url_for("debtors.debtor", debtor_id=debtor_id), 303)
    try:
        debtor_actions.send_next_step_now(user.creditor_id, debtor_id, user.actor, creditor_today(account),
                                          datetime.now(UTC), ports.store, ports.jobs, policy, closed)
    except AlreadyContactedToday:
        flash(_("This debtor was already contacted today; the next step can go tomorrow. Nothing was changed."))
        return redirect(url_for("debtors.debtor", debtor_id=debtor_id), 303)
    except NothingToSendNow:
        flash(_("No step can be sent today: nothing is overdue and free of a pause, a dispute, a plan or a "
                "promise. Nothing was changed."))
        return redirect(url_for("debtors.debtor", debtor_id=debtor_id), 303)
    log.info("Next step requested", extra={"creditor_id": user.creditor_id, "debtor_id": debtor_id})
    flash(_("The next step is on its way; the timeline shows it once it is sent."))
    return redirect(url_for("debtors.debtor", debtor_id=debtor_id), 303)


@bp.post("/debtors/<debtor_id>/contacts")
@signed_in(DECIDERS)
def contacts(user: BackOfficeUser, debtor_id: str):
    """Replace the debtor's e-mail addresses, phone and postal address."""
    _account(user, debtor_id)
    form = {"contact_emails": request.form.get("emails", "")[:2000], "contact_phone": request.form.get("phone", "")[:100],
            "contact_address": request.form.get("address", "")[:MAX_ADDRESS_CHARS + 1]}
    try:
        debtor_actions.edit_contacts(user.creditor_id, debtor_id, form["contact_emails"], form["contact_phone"],
                                     form["contact_address"], user.actor, datetime.now(UTC), services().store)
    except FormRefused as exc:
        errors = {f"contact_{field}": _contact_problem(field, code) for field, code in exc.problems.items()}
        return _debtor_page(user, debtor_id, errors, form, status=400)
    except DebtorNotFound:
        abort(404)
    log.info("Contacts edited", extra={"creditor_id": user.creditor_id, "debtor_id": debtor_id})
    flash(_("The contact details are saved."))
    return redirect(url_for("debtors.debtor", debtor_id=debtor_id), 303)


def _parse_payment(form: dict[str, Any], currency: str) -> tuple[Money | None, date | None, dict[str, str]]:
    """The amount and the day typed, and the problems of reading them."""
    problems: dict[str, str] = {}
    amount = None
    try:
        typed = parse_decimal(str(form["amount"]).replace("€", "").strip(), locale=babel_locale(current_language()),
                              strict=True)
    except NumberFormatError:
        problems["amount"] = "not_a_number"
    else:
        digits = MINOR_DIGITS.get(currency, 2)
        if typed != typed.quantize(Decimal(1).scaleb(-digits)):
            problems["amount"] = "not_a_number"
        else:
            amount = Money(int(typed.scaleb(digits)), currency)
    received_on = None
    try:
        received_on = date.fromisoformat(str(form["received_on"]).strip())
    except ValueError:
        problems["received_on"] = "not_a_date"
    return amount, received_on, problems


def _payment_problem(field: str, code: str, currency: str) -> str:
    problems = {
        ("amount", "not_a_number"): lambda: _("Enter an amount such as %(example)s.",
                                              example=money_filter(Money(1_250_00, currency))),
        ("amount", "not_positive"): lambda: _("The amount must be more than zero."),
        ("received_on", "not_a_date"): lambda: _("Enter the day the money was received."),
        ("received_on", "in_the_future"): lambda: _("The money cannot be received after today."),
        ("received_on", "too_old"): lambda: _("Money received more than a year ago belongs in the accounts."),
        ("method", "unknown"): lambda: _("Choose how the money was paid."),
        ("reference", "required"): lambda: _("Enter the transfer's reference or the cheque number."),
        ("reference", "too_long"): lambda: _("Keep the reference under %(count)s characters.",
                                             count=MAX_REFERENCE_CHARS),
        ("invoices", "not_open"): lambda: _("Choose only open invoices in one currency."),
        ("invoices", "too_many"): lambda: _("Choose fewer invoices."),
        ("nonce", "missing"): lambda: _("The form was incomplete; send it again from the page."),
    }
    text = problems.get((field, code))
    return text() if text is not None else code


def _reason_problem(code: str) -> str:
    if code == "required":
        return _("Say why the invoice is written off.")
    return _("Keep the reason under %(count)s characters.", count=MAX_REASON_CHARS)


def _contact_problem(field: str, code: str) -> str:
    problems = {
        ("emails", "invalid"): lambda: _("Enter e-mail addresses such as name@example.com, one per line."),
        ("emails", "too_many"): lambda: _("Enter at most %(count)s e-mail addresses.", count=MAX_EMAILS),
        ("phone", "invalid"): lambda: _("Enter a phone number such as +33 1 23 45 67 89."),
        ("address", "too_long"): lambda: _("Keep the address under %(count)s characters.", count=MAX_ADDRESS_CHARS),
    }
    text = problems.get((field, code))
    return text() if text is not None else code


def method_text(method: str | None) -> str:
    """How the money was paid, in words."""
    methods = {"bank_transfer": lambda: _("bank transfer"), "cheque": lambda: _("cheque"),
               "card": lambda: _("card"), "sepa_debit": lambda: _("SEPA direct debit")}
    text = methods.get(method or "")
    return text() if text is not None else (method or "")


def _account(user: BackOfficeUser, debtor_id: str):
    account = account_of(user.creditor_id, debtor_id)
    if account is None:
        abort(404)
    return account


def _pause_problem(field: str, code: str) -> str:
    problems = {
        ("until", "not_a_date"): lambda: _("Enter the last day of the pause."),
        ("until", "too_soon"): lambda: _("The pause must end after today."),
        ("until", "too_far"): lambda: _("A pause lasts at most a year."),
        ("reason", "required"): lambda: _("Say why dunning is paused."),
        ("reason", "too_long"): lambda: _("Keep the reason under %(count)s characters.", count=MAX_REASON_CHARS),
    }
    text = problems.get((field, code))
    return text() if text is not None else code


def _debtor_page(user: BackOfficeUser, debtor_id: str, errors: dict[str, str], form: dict[str, str],
                 status: int = 200):
    account = _account(user, debtor_id)
    ports = services()
    today = creditor_today(account)
    invoices = sorted(account.invoices, key=lambda i: (i.due_on, i.number))
    open_invoices = [i for i in invoices if not i.is_settled()]
    plans = ports.plans.plans_of(user.creditor_id, debtor_id)
    disputes = ports.store.disputes_of(user.creditor_id, debtor_id)
    promises = [i for i in open_invoices if i.promised_on is not None]
    events = list(reversed(ports.store.audit_of(user.creditor_id, debtor_id)))
    risk = debtor_risk(account.debtor, account.invoices, today, ports.dashboard)
    return render_template(
        "debtors/debtor.html", account=account, debtor=account.debtor, today=today, open_invoices=open_invoices,
        risk=risk, band_text=band_text, risk_reason_text=risk_reason_text,
        plans=plans, disputes=disputes, promises=promises, events=events, event_sentence=event_sentence,
        state_text=state_text, reason_text=reason_text, can_decide=user.can_decide, errors=errors, form=form,
        at=datetime.fromisoformat, max_reason=MAX_REASON_CHARS, methods=MANUAL_METHODS, method_text=method_text,
        max_reference=MAX_REFERENCE_CHARS, max_address=MAX_ADDRESS_CHARS,
        payment_nonce=form.get("payment_nonce") or secrets.token_urlsafe(16),
    ), status


def event_sentence(event: dict[str, Any]) -> str:
    """One audit event in words; an action without a sentence yet is shown as recorded."""
    invoices = ", ".join(event.get("invoices") or [])
    sentences = {
        "dispute_opened": lambda: _("The debtor disputed invoice %(invoices)s.", invoices=invoices),
        "dispute_accepted": lambda: _("Finance accepted the dispute of invoice %(invoices)s.", invoices=invoices),
        "dispute_rejected": lambda: _("Finance rejected the dispute of invoice %(invoices)s; reminders resume.",
                                      invoices=invoices),
        "payment_promised": lambda: _("The debtor promised to pay %(invoices)s by %(day)s.", invoices=invoices,
                                      day=_day(event.get("promised_on"))),
        "dunning_paused": lambda: _("Dunning paused until %(day)s: %(reason)s", day=_day(event.get("until")),
                                    reason=event.get("reason") or ""),
        "dunning_resumed": lambda: _("Dunning resumed."),
        "links_revoked": lambda: _("Every portal link was revoked."),
        "evidence_exported": lambda: _("The evidence bundle was downloaded."),
        "portal_opened": lambda: _("The debtor opened the portal."),
        "email_sent": lambda: _("A reminder was e-mailed about %(invoices)s.", invoices=invoices),
        "email_bounced": lambda: _("A mail to the debtor bounced."),
        "email_delivered": lambda: _("The debtor's mail server accepted a mail."),
        "payment_received": lambda: _("Payment of %(amount)s received for %(invoices)s.", amount=_amount(event),
                                      invoices=invoices) if not event.get("reference") else
        _("Finance recorded a %(method)s of %(amount)s received on %(day)s (reference %(reference)s) for "
          "%(invoices)s.", method=method_text(event.get("method")), amount=_amount(event),
          day=_day(event.get("received_on")), reference=event.get("reference"), invoices=invoices or "—"),
        "invoice_written_off": lambda: _("%(amount)s written off on invoice %(invoices)s: %(reason)s",
                                         amount=_amount(event), invoices=invoices, reason=event.get("reason") or ""),
        "next_step_requested": lambda: _("Finance asked for the next step now."),
        "contacts_edited": lambda: _("Finance edited the contact details."),
        "payment_processing": lambda: _("Direct debit of %(amount)s under way for %(invoices)s.",
                                        amount=_amount(event), invoices=invoices),
        "payment_failed": lambda: _("Payment of %(amount)s failed.", amount=_amount(event)),
        "payment_refunded": lambda: _("Payment refunded."),
        "plan_propose": lambda: _("The debtor proposed a payment plan for %(invoices)s.", invoices=invoices),
        "plan_accept_automatically": lambda: _("The plan was accepted at once, inside the rules; dunning is "
                                               "paused for %(invoices)s.", invoices=invoices),
        "plan_approve": lambda: _("Finance approved the plan; dunning is paused for %(invoices)s.",
                                  invoices=invoices),
        "plan_counter": lambda: _("Finance sent a counter-proposal."),
        "plan_reject": lambda: _("Finance rejected the proposed plan."),
        "plan_withdraw": lambda: _("The debtor withdrew the proposed plan."),
        "plan_accept_counter": lambda: _("The debtor accepted finance's counter-proposal; dunning is paused "
                                         "for %(invoices)s.", invoices=invoices),
        "plan_decline_counter": lambda: _("The debtor declined finance's counter-proposal."),
        "plan_activate": lambda: _("The plan started."),
        "plan_complete": lambda: _("The plan was paid in full."),
        "plan_break": lambda: _("The plan broke; dunning resumes where it stood."),
        "installment_reminder_sent": lambda: _("Reminder sent before installment %(number)s.",
                                               number=event.get("installment", "")),
        "installment_missed_reminder_sent": lambda: _("Installment %(number)s missed: one reminder sent.",
                                                      number=event.get("installment", "")),
        "installment_charge_requested": lambda: _("Installment %(number)s: automatic payment requested.",
                                                  number=event.get("installment", "")),
        "installment_charge_succeeded": lambda: _("Installment %(number)s: automatic payment succeeded.",
                                                  number=event.get("installment", "")),
        "installment_charge_failed": lambda: _("Installment %(number)s: automatic payment refused.",
                                               number=event.get("installment", "")),
        "autopay_set": lambda: _("The debtor set up automatic payment."),
        "autopay_stopped": lambda: _("The debtor stopped automatic payment."),
    }
    if str(event.get("action", "")).startswith("call_"):
        return _("Call recorded: %(outcome)s.", outcome=outcome_text(event["action"].removeprefix("call_")))
    sentence = sentences.get(event.get("action", ""))
    return sentence() if sentence is not None else str(event.get("action", ""))


def _amount(event: dict[str, Any]) -> str:
    from relance.domain.money import Money
    from relance_portal.i18n import money_filter

    if event.get("amount_minor") is None or not event.get("currency"):
        return ""
    return money_filter(Money(int(event["amount_minor"]), str(event["currency"])))


def _day(value: Any) -> str:
    if not value:
        return ""
    from datetime import date

    return local_date_filter(date.fromisoformat(str(value)), "long")
