"""Finance's calls queue: call tasks the dunning ladder made, due today or before, and the outcome form.

Views read the form, call `relance.services.calls.record_call_outcome` (the same call as
`relance tasks done`), then redirect. A promise pauses dunning exactly as a promise made on the portal.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from relance.services.calls import CallOutcome, PromiseOutsidePolicy, TaskNotOpen, record_call_outcome
from relance.services.promises import MAX_NOTE_CHARS
from relance_portal.errors import log
from relance_portal.i18n import local_date_filter

from relance_backoffice.auth import DECIDERS, READERS, BackOfficeUser, signed_in
from relance_backoffice.services import services

bp = Blueprint("calls", __name__)

CALL_KINDS = ("call",)
FORM_OUTCOMES = (CallOutcome.REACHED, CallOutcome.NOT_REACHED, CallOutcome.WRONG_NUMBER, CallOutcome.PROMISE)


@bp.get("/calls")
@signed_in(READERS)
def queue(user: BackOfficeUser):
    """Call tasks due today or before, oldest first, with the debtor's phone and the outcome form."""
    return _queue_page(user, {}, {})


@bp.post("/calls/<path:task_key>/outcome")
@signed_in(DECIDERS)
def outcome(user: BackOfficeUser, task_key: str):
    """Record what the call gave; the task closes (once: a second recording is refused)."""
    ports = services()
    task = ports.store.get_task(user.creditor_id, task_key)
    if task is None or task.get("kind") not in CALL_KINDS:
        abort(404)
    form = {"outcome": request.form.get("outcome", ""), "promised_on": request.form.get("promised_on", "").strip(),
            "note": request.form.get("note", "").strip()[:MAX_NOTE_CHARS]}
    errors: dict[str, str] = {}
    try:
        result = CallOutcome(form["outcome"])
        if result not in FORM_OUTCOMES:
            raise ValueError(result)
    except ValueError:
        errors["outcome"] = _("Choose what the call gave.")
        result = None
    promised_on = None
    if result is CallOutcome.PROMISE:
        try:
            promised_on = date.fromisoformat(form["promised_on"])
        except ValueError:
            errors["promised_on"] = _("Enter the date the debtor promised to pay by.")
    if errors or result is None:
        return _queue_page(user, {task_key: errors}, {task_key: form}, status=400)
    creditor = ports.store.get_creditor(user.creditor_id)
    today = datetime.now(ZoneInfo(creditor.timezone)).date()
    try:
        record_call_outcome(user.creditor_id, task_key, result, today, datetime.now(UTC), user.actor, ports.store,
                            ports.closed_for, ports.policies_for, promised_on=promised_on, note=form["note"] or None)
    except TaskNotOpen:
        log.info("Call outcome refused", extra={"reason": "not_open"})
        flash(_("This call was already recorded, by someone else or in another tab. Nothing was changed."))
        return redirect(url_for("calls.queue")), 303
    except PromiseOutsidePolicy as exc:
        errors["promised_on"] = _("Choose a date from %(earliest)s to %(latest)s.",
                                  earliest=local_date_filter(date.fromisoformat(str(exc.params["earliest"]))),
                                  latest=local_date_filter(date.fromisoformat(str(exc.params["latest"]))))
        return _queue_page(user, {task_key: errors}, {task_key: form}, status=400)
    log.info("Call outcome recorded", extra={"creditor_id": user.creditor_id, "debtor_id": task["debtor_id"],
                                             "outcome": result.value})
    flash(_("The call is recorded."))
    return redirect(url_for("calls.queue"))


def _queue_page(user: BackOfficeUser, errors: dict, forms: dict, status: int = 200):
    store = services().store
    creditor = store.get_creditor(user.creditor_id)
    today = datetime.now(ZoneInfo(creditor.timezone if creditor else "Europe/Paris")).date()
    tasks = [t for t in store.open_tasks(user.creditor_id)
             if t.get("kind") in CALL_KINDS and t.get("due_on", "9999") <= today.isoformat()]
    debtors = store.get_debtors(user.creditor_id, {t["debtor_id"] for t in tasks})
    rows = [{"task": t, "debtor": debtors.get(t["debtor_id"]), "due_on": date.fromisoformat(t["due_on"])}
            for t in tasks]
    return render_template("calls/queue.html", rows=rows, errors=errors, forms=forms,
                           can_decide=user.can_decide, outcome_text=outcome_text,
                           outcomes=FORM_OUTCOMES, max_note=MAX_NOTE_CHARS), status


def outcome_text(outcome: str) -> str:
    """A call's outcome in finance's words."""
    outcomes = {
        CallOutcome.REACHED: lambda: _("Reached, nothing agreed"),
        CallOutcome.NOT_REACHED: lambda: _("Not reached"),
        CallOutcome.WRONG_NUMBER: lambda: _("Wrong number"),
        CallOutcome.PROMISE: lambda: _("Reached: promised to pay by a date"),
        CallOutcome.DISPUTE: lambda: _("Reached: disputes the invoices"),
    }
    text = outcomes.get(outcome)  # type: ignore[call-overload]
    return text() if text is not None else outcome
