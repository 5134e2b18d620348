"""Finance's queue of bank payments no invoice matched (`relance payments import` puts them there).

Finance assigns one to the debtor who paid, optionally naming the invoices: it is recorded through
`relance.services.payments.record_manual_payment`, as "mark paid" on the debtor page does. Or finance
dismisses it with a reason (a refund, a grant, a payment for another company). Either takes it out of the
queue; the entries come from BP2 (one Query), the debtors to choose from from AP12 (the dashboard's read).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from relance.domain.bank_payments import UnmatchedReason, payer_is
from relance.domain.errors import UnknownDebtor
from relance.domain.payments import MAX_INVOICES_PER_PAYMENT
from relance.services.bank_payments import (
    MAX_DISMISS_REASON_CHARS,
    BankImportPorts,
    DismissRefused,
    EntryNotQueued,
    assign_unmatched,
    dismiss_unmatched,
)
from relance.services.debtor_search import folded
from relance.services.payments import ManualPaymentRefused, PaymentPorts
from relance_portal.errors import log

from relance_backoffice.auth import DECIDERS, READERS, BackOfficeUser, signed_in
from relance_backoffice.services import services

bp = Blueprint("bank_payments", __name__)

MAX_NUMBERS_CHARS = 2_000
_NUMBER_SEPARATORS = re.compile(r"[,;\n]+")


@bp.get("/payments/unmatched")
@signed_in(READERS)
def queue(user: BackOfficeUser):
    """Bank payments waiting for finance, oldest first, each with the forms to assign or dismiss it."""
    return _queue_page(user, {}, {})


@bp.post("/payments/unmatched/<path:entry_key>/assign")
@signed_in(DECIDERS)
def assign(user: BackOfficeUser, entry_key: str):
    """Record the payment as the chosen debtor's: it pays their invoices as a payment finance records."""
    ports = _ports()
    form = {"debtor_id": request.form.get("debtor_id", "").strip()[:200],
            "invoices": request.form.get("invoices", "")[:MAX_NUMBERS_CHARS]}
    numbers = tuple(dict.fromkeys(n.strip() for n in _NUMBER_SEPARATORS.split(form["invoices"]) if n.strip()))
    errors: dict[str, str] = {}
    if not form["debtor_id"]:
        errors["debtor_id"] = _("Choose the debtor who paid.")
    if len(numbers) > MAX_INVOICES_PER_PAYMENT:
        errors["invoices"] = _("Name at most %(count)s invoices.", count=MAX_INVOICES_PER_PAYMENT)
    if errors:
        return _queue_page(user, {entry_key: errors}, {entry_key: form}, status=400)
    try:
        assign_unmatched(user.creditor_id, entry_key, form["debtor_id"], numbers, user.actor, datetime.now(UTC),
                         ports)
    except EntryNotQueued:
        flash(_("This payment is no longer waiting: someone else dealt with it. Nothing was changed."))
        return redirect(url_for("bank_payments.queue"), 303)
    except UnknownDebtor:
        errors["debtor_id"] = _("Choose the debtor who paid.")
    except ManualPaymentRefused as exc:
        errors.update(_refusal(exc.problems))
    if errors:
        return _queue_page(user, {entry_key: errors}, {entry_key: form}, status=400)
    log.info("Unmatched payment assigned", extra={"creditor_id": user.creditor_id, "debtor_id": form["debtor_id"]})
    flash(_("The payment is recorded for this debtor."))
    return redirect(url_for("bank_payments.queue"), 303)


@bp.post("/payments/unmatched/<path:entry_key>/dismiss")
@signed_in(DECIDERS)
def dismiss(user: BackOfficeUser, entry_key: str):
    """Take the payment out of the queue without recording it, saying why."""
    form = {"reason": request.form.get("reason", "")[:MAX_DISMISS_REASON_CHARS + 1]}
    try:
        dismiss_unmatched(user.creditor_id, entry_key, form["reason"], user.actor, datetime.now(UTC), _ports())
    except DismissRefused as exc:
        message = (_("Say why this payment is not a debtor’s.") if exc.problem == "required"
                   else _("Keep the reason under %(count)s characters.", count=MAX_DISMISS_REASON_CHARS))
        return _queue_page(user, {entry_key: {"reason": message}}, {entry_key: form}, status=400)
    except EntryNotQueued:
        flash(_("This payment is no longer waiting: someone else dealt with it. Nothing was changed."))
        return redirect(url_for("bank_payments.queue"), 303)
    log.info("Unmatched payment dismissed", extra={"creditor_id": user.creditor_id})
    flash(_("The payment is dismissed."))
    return redirect(url_for("bank_payments.queue"), 303)


def _ports() -> BankImportPorts:
    ports = services()
    if ports.bank_payments is None:
        abort(404)
    return BankImportPorts(ports.bank_payments, PaymentPorts(ports.bank_payments, ports.closed_for,
                                                             ports.policies_for))


def _queue_page(user: BackOfficeUser, errors: dict, forms: dict, status: int = 200):
    store = _ports().store
    entries = store.unmatched(user.creditor_id)
    debtors = sorted((debtor for debtor, _invoices in services().dashboard.open_accounts(user.creditor_id)),
                     key=lambda d: (folded(d.name), d.debtor_id)) if user.can_decide and entries else []
    suggested = {}
    for entry in entries:
        fits = [d.debtor_id for d in debtors if entry.payer and payer_is(d.name, entry.payer)]
        suggested[entry.entry_key] = fits[0] if len(fits) == 1 else ""
    return render_template("bank_payments/queue.html", entries=entries, debtors=debtors, suggested=suggested,
                           errors=errors, forms=forms, can_decide=user.can_decide, reason_text=reason_text,
                           max_reason=MAX_DISMISS_REASON_CHARS, max_numbers=MAX_NUMBERS_CHARS), status


def reason_text(reason: str) -> str:
    """Why the import could not match the payment, in finance's words."""
    reasons = {
        UnmatchedReason.NO_MATCH: lambda: _("No open invoice number in the reference, and no debtor’s name as payer."),
        UnmatchedReason.SEVERAL_DEBTORS: lambda: _("The reference or the amount fits several debtors."),
        UnmatchedReason.AMOUNT_DIFFERS: lambda: _("The payer is a debtor, but the amount matches none of their "
                                                  "balances."),
        UnmatchedReason.REFUSED: lambda: _("The invoices it named changed before it could be recorded."),
    }
    text = reasons.get(reason)  # type: ignore[call-overload]
    return text() if text is not None else reason


def _refusal(problems: dict[str, str]) -> dict[str, str]:
    """The payment service's problems as messages on this form's fields."""
    errors: dict[str, str] = {}
    for field, code in problems.items():
        if field == "invoices":
            errors["invoices"] = _("Name only open invoices of this debtor, in the payment’s currency.")
        elif field == "received_on":
            errors["debtor_id"] = _("This payment was received more than a year ago: record it in the accounts "
                                    "and dismiss it here.")
        else:
            log.warning("Unmatched payment refused", extra={"field": field, "code": code})
            errors["debtor_id"] = _("This payment cannot be recorded as it is; dismiss it with a reason.")
    return errors

