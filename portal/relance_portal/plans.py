"""The debtor's installment plans (issue 7): propose a plan, see the schedule before sending it, follow
one's plans, answer finance's counter, withdraw a proposal still waiting.

The debtor is always the session's (`current_ref()`); every plan is looked up inside that debtor's own
partition, so another debtor's plan id is "not found" like an unknown one. The rules and the decision are
the domain's (`relance.domain.plans`) and the services' (`relance.services.plans`): this module parses the
form, asks them and shows the answer. Never logged: reasons, amounts; ids and outcomes only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from babel.numbers import NumberFormatError, parse_decimal
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from relance.domain.errors import InvalidSchedule, RelanceError
from relance.domain.invoices import Invoice
from relance.domain.money import MINOR_DIGITS, Money
from relance.domain.plans import (
    RUNNING,
    Evaluation,
    Installment,
    PlanProposal,
    PlanState,
    RuleBreach,
    Schedule,
    evaluate,
    plan_debt,
    plan_invoices,
    plan_policy_of,
)
from relance.services.plans import (
    MAX_TEXT_CHARS,
    CounterAnswer,
    NothingToPlan,
    PlanAlreadyDecided,
    PlanNotFound,
    ScheduleTerms,
    StoredPlan,
    answer_counter,
    has_formal_notice,
    propose_plan,
    withdraw_plan,
)
from relance_portal.access import code_required, current_ref, debtor_session
from relance_portal.account import _common, _Page, _page
from relance_portal.account_services import AccountPlansStore, account_services_available, current_account_services
from relance_portal.i18n import current_language, local_date_filter, money_filter
from relance_portal.services import current_services

bp = Blueprint("plans", __name__, url_prefix="/account")
log = logging.getLogger("relance_portal.plans")
MIN_INSTALLMENTS = 2  # one installment is a promise to pay: the promise page does that


@bp.app_context_processor
def _summary_helpers() -> dict[str, Any]:
    return {"next_installment": _next_installment_for_the_summary}


# --- the proposal form ----------------------------------------------------------------------------


@dataclass(slots=True)
class PlanForm:
    """What the debtor typed, as typed, and the problems found in it by field."""

    currency: str
    chosen: list[str]
    down_payment: str = ""
    count: str = ""
    first_on: str = ""
    reason: str = ""
    errors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Preview:
    """The schedule the form gives, and what the creditor's rules say about it."""

    terms: ScheduleTerms
    schedule: Schedule
    evaluation: Evaluation
    debt: Money


@bp.get("/plan")
@debtor_session
def plan_form():
    """The proposal form: invoices (overdue ones ticked), down payment, number of installments, first date."""
    page = _page()
    _plans_store()  # no plan store: no plan pages (404)
    candidates = _candidates(page)
    currency = _currency(page, candidates, request.args.get("currency"))
    form = PlanForm(currency, [i.number for i in candidates.get(currency, []) if i.is_overdue(page.today)],
                    first_on=page.today.isoformat())
    return _form_page(page, candidates, form, None)


@bp.post("/plan")
@code_required
def plan_post():
    """Preview the schedule, or send the proposal: accepted at once inside the rules, else sent to finance."""
    page = _page()
    store = _plans_store()
    candidates = _candidates(page)
    currency = _currency(page, candidates, request.form.get("currency"))
    form = PlanForm(currency, request.form.getlist("invoice"), request.form.get("down_payment", "").strip(),
                    request.form.get("count", "").strip(), request.form.get("first_on", "").strip(),
                    request.form.get("reason", ""))
    preview = _read(page, candidates.get(currency, []), form)
    if preview is None:
        _log("Plan form refused", level=logging.WARNING, fields=sorted(form.errors))
        return _form_page(page, candidates, form, None), 400
    if request.form.get("action") != "send":
        _log("Plan previewed", breaches=[b.rule.value for b in preview.evaluation.broken_rules])
        return _form_page(page, candidates, form, preview)
    ref = current_ref()
    services = current_account_services()
    try:
        stored = propose_plan(ref.creditor_id, ref.debtor_id, form.chosen, preview.terms, form.reason,
                              current_services().now(), store, services.policies, services.closed_days)
    except NothingToPlan:
        form.errors["invoice"] = _("None of your invoices can go into a plan any more. Check the list.")
        return _form_page(page, candidates, form, None), 409
    except RelanceError as refused:  # an invoice was paid, disputed or planned since the page was shown
        _log("Plan proposal refused", level=logging.WARNING, reason=refused.code)
        form.errors["invoice"] = _("Some of these invoices have changed since you opened this page. "
                                   "Check the list and try again.")
        return _form_page(page, candidates, form, None), 409
    accepted = stored.plan.state is PlanState.ACCEPTED
    _log("Plan proposed", plan_id=stored.plan.plan_id, state=stored.plan.state.value)
    flash("accepted" if accepted else "sent", "plan")
    return redirect(url_for("plans.plans"), code=303)


def _candidates(page: _Page) -> dict[str, list[Invoice]]:
    """The invoices a plan may cover (open, free of a dispute or a plan), by currency, oldest due first."""
    by_currency: dict[str, list[Invoice]] = {}
    for invoice in sorted(page.account.open_invoices(), key=lambda i: (i.due_on, i.number)):
        if not invoice.disputed and not invoice.in_plan and not invoice.is_settled():
            by_currency.setdefault(invoice.balance.currency, []).append(invoice)
    return by_currency


def _currency(page: _Page, candidates: dict[str, list[Invoice]], asked: str | None) -> str:
    """The currency asked for, else the one of the oldest overdue invoice, else the first one."""
    if asked in candidates:
        return asked  # type: ignore[return-value]
    overdue = [i for invoices in candidates.values() for i in invoices if i.is_overdue(page.today)]
    if overdue:
        return min(overdue, key=lambda i: (i.due_on, i.number)).balance.currency
    return next(iter(sorted(candidates)), "EUR")


def _read(page: _Page, candidates: list[Invoice], form: PlanForm) -> _Preview | None:
    """The form as terms and their schedule, or None with `form.errors` filled in by field."""
    rules = _rules(page)
    known = {i.number: i for i in candidates}
    chosen = [known[n] for n in dict.fromkeys(form.chosen) if n in known]
    form.chosen = [i.number for i in chosen]
    if not chosen:
        form.errors["invoice"] = _("Choose at least one invoice.")
    down = _read_down_payment(form)
    count = _read_count(form, rules.max_installments)
    first_on = _read_first_on(form, page.today)
    reason = form.reason.strip()
    if len(reason) > MAX_TEXT_CHARS:
        form.errors["reason"] = _("Write at most %(maximum)d characters.", maximum=MAX_TEXT_CHARS)
    if form.errors or count is None or first_on is None:
        return None
    invoices = plan_invoices(chosen)
    debt = plan_debt(invoices)
    if down is not None and down >= debt:
        form.errors["down_payment"] = _("The down payment must be less than the %(debt)s you owe on these "
                                        "invoices: to pay everything, use the payment page.", debt=money_filter(debt))
        return None
    terms = ScheduleTerms(count, first_on, down)
    try:
        schedule = terms.schedule(debt, current_account_services().closed_days(page.creditor))
    except InvalidSchedule:
        form.errors["count"] = _("This amount cannot be spread over %(count)d installments.", count=count)
        return None
    proposal = PlanProposal(invoices, schedule, reason)
    evaluation = evaluate(proposal, rules, page.debtor.kind, has_formal_notice(chosen, page.policy()), page.today)
    return _Preview(terms, schedule, evaluation, debt)


def _read_down_payment(form: PlanForm) -> Money | None:
    if not form.down_payment:
        return None
    typed = "".join(c for c in form.down_payment if c not in " \u00a0\u202f")  # "1 234,56" as typed
    try:
        value = Decimal(parse_decimal(typed, locale=current_language(), strict=True))
        amount = Money.from_decimal(value, form.currency)
    except (NumberFormatError, RelanceError, ArithmeticError):
        form.errors["down_payment"] = _(
            "Enter an amount in figures with at most %(digits)d decimals, for example %(example)s.",
            digits=MINOR_DIGITS.get(form.currency, 2), example=_example(form.currency))
        return None
    if amount.minor < 0:
        form.errors["down_payment"] = _("Enter an amount of zero or more.")
        return None
    return amount if amount.minor else None


def _read_count(form: PlanForm, maximum: int) -> int | None:
    try:
        count = int(form.count)
    except ValueError:
        count = 0
    if not MIN_INSTALLMENTS <= count <= max(maximum, MIN_INSTALLMENTS):
        form.errors["count"] = _("Choose from %(minimum)d to %(maximum)d installments.",
                                 minimum=MIN_INSTALLMENTS, maximum=max(maximum, MIN_INSTALLMENTS))
        return None
    return count


def _read_first_on(form: PlanForm, today: date) -> date | None:
    try:
        first_on = date.fromisoformat(form.first_on)
    except ValueError:
        form.errors["first_on"] = _("Enter a date, for example %(example)s.", example=today.isoformat())
        return None
    if first_on < today:
        form.errors["first_on"] = _("The first installment cannot be before today, %(today)s.",
                                    today=local_date_filter(today, "long"))
        return None
    return first_on


def _example(currency: str) -> str:
    from flask_babel import format_decimal

    return format_decimal(Decimal("1234.56") if MINOR_DIGITS.get(currency, 2) else Decimal(1234))


def _rules(page: _Page):
    book = current_account_services().policies(page.creditor)
    return plan_policy_of(book).rules_for(page.debtor.risk_band)


def _form_page(page: _Page, candidates: dict[str, list[Invoice]], form: PlanForm, preview: _Preview | None) -> str:
    rules = _rules(page)
    return render_template("plans/propose.html", **_common(page), candidates=candidates,
                           invoices=candidates.get(form.currency, []), form=form, preview=preview,
                           counts=range(MIN_INSTALLMENTS, max(rules.max_installments, MIN_INSTALLMENTS) + 1),
                           breach_text=breach_text, lines_of=_lines_of, max_reason=MAX_TEXT_CHARS)


def breach_text(breach: RuleBreach) -> str:
    """A broken rule in plain words, by its code."""
    limit = _shown(breach.limit)
    proposed = _shown(breach.proposed)
    messages = {
        "plan.max_installments": lambda: _("More than %(limit)s installments (you chose %(proposed)s).",
                                           limit=limit, proposed=proposed),
        "plan.max_duration": lambda: _("The last installment falls after %(limit)s.", limit=limit),
        "plan.min_installment": lambda: _("An installment of %(proposed)s is below the minimum of %(limit)s.",
                                          limit=limit, proposed=proposed),
        "plan.min_down_payment": lambda: _("A down payment of at least %(limit)s is expected (you proposed "
                                           "%(proposed)s).", limit=limit, proposed=proposed),
        "plan.max_total": lambda: _("The amount is above %(limit)s, the most a plan covers without review.",
                                    limit=limit),
        "plan.allowed_after_formal_notice": lambda: _("A formal notice has already been sent for one of these "
                                                      "invoices."),
        "plan.consumer_credit_duration": lambda: _("As a private individual, a plan ending after %(limit)s needs "
                                                   "the creditor's approval.", limit=limit),
        "plan.consumer_credit_interest": lambda: _("Late fees keep running under this creditor's plans, which "
                                                   "needs their approval for a private individual."),
        "plan.starts_in_the_past": lambda: _("The first installment is before today."),
    }
    message = messages.get(breach.code)
    return message() if message is not None else _("Another rule of the creditor.")


def _shown(value: Any) -> str:
    if isinstance(value, Money):
        return money_filter(value)
    if isinstance(value, date):
        return local_date_filter(value, "long")
    return str(value)


# --- the debtor's plans ----------------------------------------------------------------------------


@bp.get("/plans")
@debtor_session
def plans():
    """Every plan of the debtor, newest first, with its state in words and its schedule."""
    page = _page()
    ref = current_ref()
    found = _plans_store().plans_of(ref.creditor_id, ref.debtor_id)
    found.sort(key=lambda s: s.proposed_at, reverse=True)
    _log("Debtor plans shown", count=len(found))
    return render_template("plans/plans.html", **_common(page), plans=found, breach_text=breach_text,
                           lines_of=_lines_of, running=RUNNING, states=PlanState)


@bp.post("/plans/<plan_id>/answer")
@code_required
def answer(plan_id: str):
    """Accept or decline finance's counter."""
    _page()
    stored = _plan_of_this_debtor(plan_id)
    choice = request.form.get("answer", "")
    if choice not in {a.value for a in CounterAnswer}:
        abort(400)
    services = current_account_services()
    try:
        answer_counter(stored.creditor_id, stored.debtor_id, plan_id, choice, current_services().now(),
                       _plans_store(), services.policies, services.closed_days)
    except PlanAlreadyDecided:
        flash("already_decided", "plan")
        return redirect(url_for("plans.plans"), code=303)
    except PlanNotFound:
        abort(404)
    _log("Plan counter answered", plan_id=plan_id, answer=choice)
    flash("counter_accepted" if choice == CounterAnswer.ACCEPT.value else "counter_declined", "plan")
    return redirect(url_for("plans.plans"), code=303)


@bp.post("/plans/<plan_id>/withdraw")
@code_required
def withdraw(plan_id: str):
    """Take back a proposal finance has not decided yet."""
    _page()
    stored = _plan_of_this_debtor(plan_id)
    services = current_account_services()
    try:
        withdraw_plan(stored.creditor_id, stored.debtor_id, plan_id, current_services().now(), _plans_store(),
                      services.policies, services.closed_days)
    except PlanAlreadyDecided:
        flash("already_decided", "plan")
        return redirect(url_for("plans.plans"), code=303)
    except PlanNotFound:
        abort(404)
    _log("Plan withdrawn", plan_id=plan_id)
    flash("withdrawn", "plan")
    return redirect(url_for("plans.plans"), code=303)


def _plan_of_this_debtor(plan_id: str) -> StoredPlan:
    """The session debtor's plan `plan_id`, or the 404 page (another debtor's plan included)."""
    ref = current_ref()
    stored = _plans_store().find_plan(ref.creditor_id, ref.debtor_id, plan_id)
    if stored is None or (stored.creditor_id, stored.debtor_id) != (ref.creditor_id, ref.debtor_id):
        abort(404)
    return stored


def _lines_of(schedule: Schedule) -> list[Installment]:
    """The down payment (number 0, when there is one) then the installments."""
    down = schedule.down_payment
    return ([Installment(0, schedule.first_on, down)] if down.is_positive() else []) + list(schedule)


# --- the summary's next installment -----------------------------------------------------------------


def _next_installment_for_the_summary() -> Installment | None:
    """The first unpaid line of the debtor's accepted or active plan, or None."""
    if not account_services_available() or current_account_services().plans is None:
        return None
    try:
        ref = current_ref()
        stored_plans = current_account_services().plans.plans_of(ref.creditor_id, ref.debtor_id)  # type: ignore[union-attr]
    except RelanceError as error:
        log.warning("Next installment not shown", extra={"reason": error.code})
        return None
    upcoming = []
    for stored in stored_plans:
        plan = stored.plan
        if plan.state not in RUNNING:
            continue
        for line in plan.lines:
            owed = plan.owed_on(line)
            if owed.is_positive():
                upcoming.append(Installment(line.number, line.due_on, owed))
                break
    return min(upcoming, key=lambda i: i.due_on) if upcoming else None


# --- plumbing -------------------------------------------------------------------------------------


def _plans_store() -> AccountPlansStore:
    store = current_account_services().plans
    if store is None:
        abort(404)
    return store


def _log(message: str, level: int = logging.INFO, **extra: Any) -> None:
    ref = current_ref()
    log.log(level, message, extra={"creditor_id": ref.creditor_id, "debtor_id": ref.debtor_id, **extra})
