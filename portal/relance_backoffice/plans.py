"""Finance's plan approvals queue: proposals outside the creditor's rules, approved, rejected or countered
here.

Views read the form, call `relance.services.plans.decide_plan` (the same call as `relance plans decide`),
then redirect; the creditor is always the signed-in user's, never one taken from the address alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from babel.numbers import NumberFormatError, parse_decimal
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from relance.domain.errors import RelanceError
from relance.domain.formatting import babel_locale
from relance.domain.money import MINOR_DIGITS, Money
from relance.domain.plans import PlanState, RuleBreach
from relance.domain.risk import RiskScore, inputs_from_open_invoices, score_risk
from relance.services.plans import (
    MAX_TEXT_CHARS,
    Decision,
    PlanAlreadyDecided,
    PlanNotFound,
    ScheduleTerms,
    StoredPlan,
    decide_plan,
)
from relance_portal.errors import log
from relance_portal.i18n import current_language, local_date_filter, money_filter

from relance_backoffice.auth import DECIDERS, READERS, BackOfficeUser, signed_in
from relance_backoffice.services import services

bp = Blueprint("plans", __name__)

MAX_COUNTER_INSTALLMENTS = 60


@dataclass
class CounterForm:
    """Finance's counter schedule as typed, and what is wrong with it, field by field."""

    down_payment: str = ""
    installments: str = ""
    first_on: str = ""
    message: str = ""
    errors: dict[str, str] = field(default_factory=dict)


# --- pages -----------------------------------------------------------------------------------------


@bp.get("/plans")
@signed_in(READERS)
def queue(user: BackOfficeUser):
    """Proposals awaiting a decision, oldest first: debtor, amount, schedule, rules broken."""
    store = services().plans
    lines = store.plan_queue(user.creditor_id)
    debtors = store.get_debtors(user.creditor_id, {line["debtor_id"] for line in lines})
    rows = []
    for line in lines:
        stored = store.find_plan(user.creditor_id, line["debtor_id"], line["plan_id"])
        if stored is None or stored.plan.state is not PlanState.PROPOSED:
            continue  # decided between the queue read and the plan read
        debtor = debtors.get(line["debtor_id"])
        rows.append({"stored": stored, "debtor_name": debtor.name if debtor else line["debtor_id"],
                     "proposed_at": datetime.fromisoformat(line["proposed_at"])})
    return render_template("plans/queue.html", rows=rows, breach_text=breach_text)


@bp.get("/plans/<creditor_id>/<debtor_id>/<plan_id>")
@signed_in(READERS)
def plan(user: BackOfficeUser, creditor_id: str, debtor_id: str, plan_id: str):
    """One proposal: the debtor's schedule, the rules it breaks, its history, and finance's three forms."""
    return _plan_page(user, _find(user, creditor_id, debtor_id, plan_id), CounterForm())


@bp.post("/plans/<creditor_id>/<debtor_id>/<plan_id>/approve")
@signed_in(DECIDERS)
def approve(user: BackOfficeUser, creditor_id: str, debtor_id: str, plan_id: str):
    """Approve the debtor's schedule as proposed: its invoices leave the daily scan."""
    stored = _find(user, creditor_id, debtor_id, plan_id)
    return _decide(user, stored, Decision.APPROVE, _message(), None, CounterForm())


@bp.post("/plans/<creditor_id>/<debtor_id>/<plan_id>/reject")
@signed_in(DECIDERS)
def reject(user: BackOfficeUser, creditor_id: str, debtor_id: str, plan_id: str):
    """Reject the proposal with a message to the debtor; dunning goes on."""
    stored = _find(user, creditor_id, debtor_id, plan_id)
    message = _message()
    if not message:
        form = CounterForm(errors={"reject_message": _("Write the message the debtor will read.")})
        return _plan_page(user, stored, form, status=400)
    return _decide(user, stored, Decision.REJECT, message, None, CounterForm())


@bp.post("/plans/<creditor_id>/<debtor_id>/<plan_id>/counter")
@signed_in(DECIDERS)
def counter(user: BackOfficeUser, creditor_id: str, debtor_id: str, plan_id: str):
    """Offer another schedule (down payment, monthly installments from a date); the debtor answers it."""
    stored = _find(user, creditor_id, debtor_id, plan_id)
    field = request.form.get
    form = CounterForm(field("down_payment", "").strip(), field("installments", "").strip(),
                       field("first_on", "").strip(), _message())
    terms = _counter_terms(form, stored.plan.currency)
    if terms is None:
        return _plan_page(user, stored, form, status=400)
    return _decide(user, stored, Decision.COUNTER, form.message, terms, form)


# --- helpers ---------------------------------------------------------------------------------------


def _find(user: BackOfficeUser, creditor_id: str, debtor_id: str, plan_id: str) -> StoredPlan:
    if creditor_id != user.creditor_id:
        abort(404)  # another creditor's plan does not exist for this user
    stored = services().plans.find_plan(creditor_id, debtor_id, plan_id)
    if stored is None:
        abort(404)
    return stored


def _message() -> str:
    return request.form.get("message", "").strip()[:MAX_TEXT_CHARS]


def _decide(user: BackOfficeUser, stored: StoredPlan, decision: Decision, message: str,
            terms: ScheduleTerms | None, form: CounterForm):
    ports = services()
    plan_id = stored.plan.plan_id
    try:
        decided = decide_plan(stored.creditor_id, stored.debtor_id, plan_id, decision, user.actor,
                              message or None, datetime.now(UTC), ports.plans, ports.policies_for,
                              ports.closed_for, counter=terms, notify=ports.notify_plan)
    except PlanAlreadyDecided as exc:
        log.info("Plan decision refused", extra={"reason": "already_decided", "plan_id": plan_id})
        fresh = ports.plans.find_plan(stored.creditor_id, stored.debtor_id, plan_id) or stored
        state = state_text(str(exc.params.get("state", "")))
        form.errors["decision"] = _("Someone else already decided on this proposal: it is now %(state)s. "
                                    "Nothing was changed.", state=state)
        return _plan_page(user, fresh, form, status=409)
    except PlanNotFound:
        abort(404)
    except RelanceError as exc:
        log.info("Plan decision refused", extra={"reason": exc.code, "plan_id": plan_id})
        form.errors["decision"] = _("This schedule cannot be offered: %(reason)s", reason=str(exc))
        return _plan_page(user, stored, form, status=400)
    log.info("Plan decided", extra={"creditor_id": stored.creditor_id, "plan_id": plan_id,
                                    "decision": decision.value, "state": decided.plan.state.value})
    done = {Decision.APPROVE: lambda: _("The plan is approved."),
            Decision.REJECT: lambda: _("The proposal is rejected."),
            Decision.COUNTER: lambda: _("Your counter-proposal was sent to the debtor.")}
    flash(done[decision]())
    return redirect(url_for("plans.queue"))


def _counter_terms(form: CounterForm, currency: str) -> ScheduleTerms | None:
    """The counter's terms, or None with every problem in `form.errors`."""
    count = None
    if not form.installments.isdigit() or not 1 <= int(form.installments) <= MAX_COUNTER_INSTALLMENTS:
        form.errors["installments"] = _("Enter a whole number of installments from 1 to %(maximum)s.",
                                        maximum=MAX_COUNTER_INSTALLMENTS)
    else:
        count = int(form.installments)
    first_on = None
    try:
        first_on = date.fromisoformat(form.first_on)
    except ValueError:
        form.errors["first_on"] = _("Enter the date of the first installment.")
    down = None
    if form.down_payment:
        down = _amount(form.down_payment, currency)
        if down is None:
            form.errors["down_payment"] = _("Enter an amount such as %(example)s, or leave it empty.",
                                            example=money_filter(Money(200_00, currency)))
    if form.errors or count is None or first_on is None:
        return None
    return ScheduleTerms(count, first_on, down if down and down.is_positive() else None)


def _amount(text: str, currency: str) -> Money | None:
    try:
        amount = parse_decimal(text.replace("€", "").strip(), locale=babel_locale(current_language()))
    except NumberFormatError:
        return None
    digits = MINOR_DIGITS.get(currency, 2)
    if amount < 0 or amount != amount.quantize(Decimal(1).scaleb(-digits)):
        return None
    return Money(int(amount.scaleb(digits)), currency)


def _risk_of(stored: StoredPlan) -> RiskScore | None:
    """The debtor's risk today, from their open invoices (the same score as the dashboard's)."""
    store = services().plans
    creditor = store.get_creditor(stored.creditor_id)
    _debtor, invoices = store.dunning_view(stored.creditor_id, stored.debtor_id)
    if creditor is None:
        return None
    today = datetime.now(UTC).astimezone(ZoneInfo(creditor.timezone)).date()
    return score_risk(inputs_from_open_invoices(invoices, today))


def _plan_page(user: BackOfficeUser, stored: StoredPlan, form: CounterForm, status: int = 200):
    from relance_backoffice.dashboard import band_text, reason_text

    debtors = services().plans.get_debtors(stored.creditor_id, [stored.debtor_id])
    debtor = debtors.get(stored.debtor_id)
    return render_template(
        "plans/plan.html", stored=stored, plan=stored.plan, risk=_risk_of(stored), band_text=band_text,
        reason_text=reason_text,
        debtor_name=debtor.name if debtor else stored.debtor_id,
        form=form, breach_text=breach_text, state_text=state_text, event_text=event_text,
        can_decide=user.can_decide and stored.plan.state is PlanState.PROPOSED, max_text=MAX_TEXT_CHARS,
        at=lambda text: datetime.fromisoformat(text),
    ), status


def _shown(value: Any) -> str:
    if isinstance(value, Money):
        return money_filter(value)
    if isinstance(value, date):
        return local_date_filter(value, "long")
    return str(value)


def breach_text(breach: RuleBreach) -> str:
    """A broken rule in finance's words, with the limit and what the debtor proposed."""
    limit, proposed = _shown(breach.limit), _shown(breach.proposed)
    messages = {
        "plan.max_installments": lambda: _("%(proposed)s installments, more than the %(limit)s allowed.",
                                           proposed=proposed, limit=limit),
        "plan.max_duration": lambda: _("Ends on %(proposed)s, after the latest end allowed (%(limit)s).",
                                       proposed=proposed, limit=limit),
        "plan.min_installment": lambda: _("An installment of %(proposed)s, below the minimum of %(limit)s.",
                                          proposed=proposed, limit=limit),
        "plan.min_down_payment": lambda: _("A down payment of %(proposed)s, below the minimum of %(limit)s.",
                                           proposed=proposed, limit=limit),
        "plan.max_total": lambda: _("%(proposed)s under a plan, above the maximum of %(limit)s.",
                                    proposed=proposed, limit=limit),
        "plan.allowed_after_formal_notice": lambda: _("A formal notice was already sent for one of the "
                                                      "invoices."),
        "plan.consumer_credit_duration": lambda: _("A private individual's plan ending after %(limit)s "
                                                   "(consumer-credit exemption).", limit=limit),
        "plan.consumer_credit_interest": lambda: _("Late fees keep running under the plan of a private "
                                                   "individual (consumer-credit exemption)."),
        "plan.starts_in_the_past": lambda: _("The first installment is before the day of the proposal."),
    }
    message = messages.get(breach.code)
    return message() if message is not None else _("Another rule of the policy.")


def state_text(state: str) -> str:
    """A plan's state in words."""
    states = {
        "proposed": lambda: _("awaiting a decision"), "accepted": lambda: _("accepted"),
        "countered": lambda: _("countered, awaiting the debtor"), "rejected": lambda: _("rejected"),
        "withdrawn": lambda: _("withdrawn by the debtor"), "declined": lambda: _("counter declined by the debtor"),
        "active": lambda: _("running"),
        "completed": lambda: _("completed"), "broken": lambda: _("broken"),
    }
    text = states.get(state)
    return text() if text is not None else state


def event_text(event: str) -> str:
    """One step of a plan's history in words."""
    events = {
        "propose": lambda: _("Proposed"), "approve": lambda: _("Approved"), "reject": lambda: _("Rejected"),
        "counter": lambda: _("Countered"), "accept_counter": lambda: _("Counter accepted"),
        "decline_counter": lambda: _("Counter declined"), "withdraw": lambda: _("Withdrawn"),
        "accept_automatically": lambda: _("Accepted automatically"), "activate": lambda: _("Started"),
        "complete": lambda: _("Completed"), "break": lambda: _("Broken"),
    }
    text = events.get(event)
    return text() if text is not None else event
