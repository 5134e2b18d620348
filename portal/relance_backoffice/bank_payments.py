"""Finance's queue of bank payments no invoice matched (`relance payments import` puts them there).

Finance assigns one to the debtor who paid, optionally naming the invoices: it is recorded through
`relance.services.payments.record_manual_payment`, as "mark paid" on the debtor page does. Or finance
dismisses it with a reason (a refund, a grant, a payment for another company). Either takes it out of the
queue. The page reads BP2 (one Query) and the debtors the import suggested for each entry (one BatchGetItem):
never the creditor's whole debtor list. Finance types the debtor's account code or part of their name; a name
is looked up as the debtor search does, only when an assignment is sent.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from relance.domain.bank_payments import UnmatchedReason
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
from relance.services.debtor_search import find_by_name, folded
from relance.services.payments import ManualPaymentRefused, PaymentPorts
from relance_portal.errors import log

from relance_backoffice.auth import DECIDERS, READERS, BackOfficeUser, signed_in
from relance_backoffice.services import services

bp = Blueprint("bank_payments", __name__)

MAX_NUMBERS_CHARS = 2_000
MAX_LISTED = 5  # debtors named in the message when a typed name fits several
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
    debtor_id = ""
    if ports.store.get_unmatched(user.creditor_id, entry_key) is None:
        return _gone()
    if not form["debtor_id"]:
        errors["debtor_id"] = _("Type the account code or the name of the debtor who paid.")
    else:
        debtor_id, problem = _debtor_named(user.creditor_id, form["debtor_id"], ports)
        if problem:
            errors["debtor_id"] = problem
    if len(numbers) > MAX_INVOICES_PER_PAYMENT:
        errors["invoices"] = _("Name at most %(count)s invoices.", count=MAX_INVOICES_PER_PAYMENT)
    if errors:
        return _queue_page(user, {entry_key: errors}, {entry_key: form}, status=400)
    try:
        assign_unmatched(user.creditor_id, entry_key, debtor_id, numbers, user.actor, datetime.now(UTC), ports)
    except EntryNotQueued:
        return _gone()
    except UnknownDebtor:
        errors["debtor_id"] = _("No debtor has this account code or a name containing it.")
    except ManualPaymentRefused as exc:
        errors.update(_refusal(exc.problems))
    if errors:
        return _queue_page(user, {entry_key: errors}, {entry_key: form}, status=400)
    log.info("Unmatched payment assigned", extra={"creditor_id": user.creditor_id, "debtor_id": debtor_id})
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
        return _gone()
    log.info("Unmatched payment dismissed", extra={"creditor_id": user.creditor_id})
    flash(_("The payment is dismissed."))
    return redirect(url_for("bank_payments.queue"), 303)


def _gone():
    flash(_("This payment is no longer waiting: someone else dealt with it. Nothing was changed."))
    return redirect(url_for("bank_payments.queue"), 303)


def _ports() -> BankImportPorts:
    ports = services()
    if ports.bank_payments is None:
        abort(404)
    return BankImportPorts(ports.bank_payments, PaymentPorts(ports.bank_payments, ports.closed_for,
                                                             ports.policies_for))


def _debtor_named(creditor_id: str, typed: str, ports: BankImportPorts) -> tuple[str, str]:
    """The debtor finance typed: an account code as it is, else the one debtor whose name contains the text.

    Returns (debtor id, "") or ("", the message for the field).
    """
    if ports.store.get_debtors(creditor_id, [typed]):
        return typed, ""
    found = find_by_name(ports.store, creditor_id, typed)
    if len(found) == 1:
        return found[0].debtor_id, ""
    if not found:
        return "", _("No debtor has this account code or a name containing it.")
    shown = ", ".join(f"{d.name} ({d.debtor_id})" for d in found[:MAX_LISTED])
    more = len(found) > MAX_LISTED
    return "", (_("Several debtors match: %(names)s, and others. Type the account code.", names=shown) if more
                else _("Several debtors match: %(names)s. Type the account code.", names=shown))


def _queue_page(user: BackOfficeUser, errors: dict, forms: dict, status: int = 200):
    store = _ports().store
    entries = store.unmatched(user.creditor_id)
    wanted = {debtor_id for entry in entries for debtor_id in entry.candidates} if user.can_decide else set()
    known = store.get_debtors(user.creditor_id, wanted) if wanted else {}
    suggestions = {entry.entry_key: sorted((known[d] for d in entry.candidates if d in known),
                                           key=lambda d: (folded(d.name), d.debtor_id)) for entry in entries}
    return render_template("bank_payments/queue.html", entries=entries, suggestions=suggestions,
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

