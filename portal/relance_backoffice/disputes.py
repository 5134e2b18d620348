"""Finance's disputes queue: open disputes of the user's creditor, accepted (credit note or cancel) or rejected.

Views read the form, call `relance.services.disputes.resolve_dispute`, then redirect; the creditor is
always the signed-in user's, never one taken from the address.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from relance.domain.errors import RelanceError
from relance.domain.money import Money
from relance.services.disputes import (
    MAX_MESSAGE_CHARS,
    DisputeNotOpen,
    DisputeReason,
    Resolution,
    ResolutionRefused,
    resolve_dispute,
)
from relance_portal.errors import log
from relance_portal.i18n import money_filter

from relance_backoffice.auth import DECIDERS, READERS, BackOfficeUser, signed_in
from relance_backoffice.plans import _amount
from relance_backoffice.services import services
from relance_backoffice.work import account_of, policy_and_closed

bp = Blueprint("disputes", __name__)


@bp.get("/disputes")
@signed_in(READERS)
def queue(user: BackOfficeUser):
    """Open disputes, oldest first: debtor, invoice, reason, message, attachment, age, and the two decisions."""
    return _queue_page(user, {})


@bp.get("/disputes/<debtor_id>/<number>/attachment")
@signed_in(READERS)
def attachment(user: BackOfficeUser, debtor_id: str, number: str):
    """The dispute's attachment, streamed as a download (never shown inline)."""
    store = services().store
    dispute = store.find_dispute(user.creditor_id, debtor_id, number)
    if dispute is None or not dispute.get("attachment_key") or services().documents is None:
        abort(404)
    stored = services().documents.open(dispute["attachment_key"])
    response = Response(stored.chunks, content_type=stored.content_type)
    filename = dispute["attachment_key"].rsplit("/", 1)[-1]  # made safe when the dispute was opened
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.post("/disputes/<debtor_id>/<number>/accept")
@signed_in(DECIDERS)
def accept(user: BackOfficeUser, debtor_id: str, number: str):
    """Accept the dispute: a credit note for the amount typed, or the whole balance cancelled when empty."""
    credit_text = request.form.get("credit", "").strip()
    credit_minor = None
    if credit_text:
        invoice = services().store.find_invoice(user.creditor_id, debtor_id, number)
        if invoice is None:
            abort(404)
        amount = _amount(credit_text, invoice.currency)
        if amount is None or not amount.is_positive():
            return _queue_page(user, {(debtor_id, number, "credit"): _credit_problem("not_positive", invoice)},
                               status=400)
        credit_minor = amount.minor
    return _resolve(user, debtor_id, number, Resolution.ACCEPT, credit_minor)


@bp.post("/disputes/<debtor_id>/<number>/reject")
@signed_in(DECIDERS)
def reject(user: BackOfficeUser, debtor_id: str, number: str):
    """Reject the dispute with a message to the debtor: dunning of the invoice resumes."""
    return _resolve(user, debtor_id, number, Resolution.REJECT, None)


def _resolve(user: BackOfficeUser, debtor_id: str, number: str, resolution: Resolution, credit_minor: int | None):
    ports = services()
    message = request.form.get("message", "").strip()[:MAX_MESSAGE_CHARS]
    account = account_of(user.creditor_id, debtor_id)
    if account is None:
        abort(404)
    policy, closed = policy_and_closed(account)
    try:
        resolve_dispute(user.creditor_id, debtor_id, number, resolution, user.actor, message, credit_minor,
                        datetime.now(UTC), ports.store, policy, closed, ports.mailer, account)
    except DisputeNotOpen:
        log.info("Dispute resolution refused", extra={"reason": "not_open", "debtor_id": debtor_id})
        flash(_("This dispute was already resolved, by someone else or in another tab. Nothing was changed."))
        return redirect(url_for("disputes.queue")), 303
    except ResolutionRefused as exc:
        invoice = ports.store.find_invoice(user.creditor_id, debtor_id, number)
        errors = {(debtor_id, number, field): _problem_text(field, code, invoice)
                  for field, code in exc.problems.items()}
        return _queue_page(user, errors, status=400)
    except RelanceError as exc:
        log.info("Dispute resolution refused", extra={"reason": exc.code, "debtor_id": debtor_id})
        abort(409)
    log.info("Dispute resolved", extra={"creditor_id": user.creditor_id, "debtor_id": debtor_id,
                                        "resolution": resolution.value})
    flash(_("The dispute is accepted: the invoice is credited.") if resolution is Resolution.ACCEPT
          else _("The dispute is rejected: reminders resume and the debtor was told by e-mail."))
    return redirect(url_for("disputes.queue"))


def _problem_text(field: str, code: str, invoice) -> str:
    if field == "credit":
        return _credit_problem(code, invoice)
    if code == "too_long":
        return _("Keep the message under %(count)s characters.", count=MAX_MESSAGE_CHARS)
    return _("Write the message the debtor will read.")


def _credit_problem(code: str, invoice) -> str:
    balance = money_filter(invoice.balance) if invoice is not None else ""
    if code == "above_balance":
        return _("A credit note cannot exceed the balance of %(balance)s.", balance=balance)
    return _("Enter an amount above zero and at most %(balance)s, or leave it empty to cancel the invoice.",
             balance=balance)


def _queue_page(user: BackOfficeUser, errors: dict, status: int = 200):
    store = services().store
    now = datetime.now(UTC)
    disputes = sorted(store.disputes_of_creditor(user.creditor_id), key=lambda d: d.get("opened_at", ""))
    debtors = store.get_debtors(user.creditor_id, {d["debtor_id"] for d in disputes})
    invoices = store.get_invoices(user.creditor_id, [(d["debtor_id"], d["number"]) for d in disputes])
    rows = []
    for dispute in disputes:
        debtor = debtors.get(dispute["debtor_id"])
        invoice = invoices.get(dispute["number"])
        opened_at = datetime.fromisoformat(dispute["opened_at"])
        rows.append({"dispute": dispute, "debtor_name": debtor.name if debtor else dispute["debtor_id"],
                     "invoice": invoice, "age_days": max(0, (now - opened_at).days),
                     "balance": invoice.balance if invoice else Money(0, "EUR")})
    return render_template("disputes/queue.html", rows=rows, errors=errors, reason_text=reason_text,
                           can_decide=user.can_decide, max_text=MAX_MESSAGE_CHARS), status


def reason_text(reason: str) -> str:
    """A dispute's reason in finance's words."""
    reasons = {
        DisputeReason.NOT_RECEIVED: lambda: _("Goods or service not received"),
        DisputeReason.WRONG_AMOUNT: lambda: _("Wrong amount"),
        DisputeReason.QUALITY: lambda: _("Quality problem"),
        DisputeReason.ALREADY_PAID: lambda: _("Already paid"),
        DisputeReason.OTHER: lambda: _("Other reason"),
    }
    text = reasons.get(reason)  # type: ignore[call-overload]
    return text() if text is not None else reason
