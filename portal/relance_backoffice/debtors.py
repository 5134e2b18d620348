"""The debtor page: identity, contacts, invoices, plans, promises, disputes and the timeline, with
finance's manual actions (pause and resume dunning, revoke portal links).

`/debtors?q=` finds a debtor by id with one item read; there is no creditor-wide debtor list, so
no Scan and no new access pattern.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from relance.services.pauses import MAX_REASON_CHARS, NotPaused, PauseRefused, pause_dunning, resume_dunning
from relance.services.portal_access import revoke_links
from relance_portal.errors import log
from relance_portal.i18n import local_date_filter

from relance_backoffice.auth import DECIDERS, READERS, BackOfficeUser, signed_in
from relance_backoffice.calls import outcome_text
from relance_backoffice.disputes import reason_text
from relance_backoffice.plans import state_text
from relance_backoffice.services import services
from relance_backoffice.work import account_of, creditor_today, policy_and_closed

bp = Blueprint("debtors", __name__)

MAX_QUERY_CHARS = 100


@bp.get("/debtors")
@signed_in(READERS)
def search(user: BackOfficeUser):
    """Find a debtor by their id (as in the invoice imports)."""
    query = request.args.get("q", "").strip()[:MAX_QUERY_CHARS]
    if query and account_of(user.creditor_id, query) is not None:
        return redirect(url_for("debtors.debtor", debtor_id=query))
    return render_template("debtors/search.html", query=query, not_found=bool(query)), 404 if query else 200


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
    return render_template(
        "debtors/debtor.html", account=account, debtor=account.debtor, today=today, open_invoices=open_invoices,
        plans=plans, disputes=disputes, promises=promises, events=events, event_sentence=event_sentence,
        state_text=state_text, reason_text=reason_text, can_decide=user.can_decide, errors=errors, form=form,
        at=datetime.fromisoformat, max_reason=MAX_REASON_CHARS,
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
        "portal_opened": lambda: _("The debtor opened the portal."),
        "email_sent": lambda: _("A reminder was e-mailed about %(invoices)s.", invoices=invoices),
        "email_bounced": lambda: _("A mail to the debtor bounced."),
        "payment_received": lambda: _("Payment of %(amount)s received for %(invoices)s.", amount=_amount(event),
                                      invoices=invoices),
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
