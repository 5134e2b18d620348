"""The debtor's installment plans (issue 7): propose a plan, see the schedule before sending it, follow
one's plans, answer finance's counter, withdraw a proposal still waiting.

The debtor is always the session's (`current_ref()`); every plan is looked up inside that debtor's own
partition, so another debtor's plan id is "not found" like an unknown one. The rules and the decision are
the domain's (`relance.domain.plans`) and the services' (`relance.services.plans`): this module parses the
form, asks them and shows the answer. Never logged: reasons, amounts; ids and outcomes only.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Container
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from babel.numbers import NumberFormatError, parse_decimal
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from relance.adapters.checkout import SESSION_ID_PLACEHOLDER
from relance.domain.calendar import next_business_day
from relance.domain.errors import InvalidAllocation, InvalidSchedule, RelanceError
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
from relance.services.autopay import PlanNotRunning, start_autopay_setup, stop_autopay
from relance.services.plan_payments import (
    NothingOwedOnPlan,
    installment_payment,
    next_installment,
    start_installment_checkout,
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
from relance_portal.pay import PayPorts, payment_ports
from relance_portal.services import current_services

bp = Blueprint("plans", __name__, url_prefix="/account")
log = logging.getLogger("relance_portal.plans")
MIN_INSTALLMENTS = 2  # one installment is a promise to pay: the promise page does that
MONTHLY = "monthly"  # every month from a first date
CUSTOM = "custom"  # on the dates the debtor types, one field per possible installment


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
    every: str = MONTHLY  # MONTHLY or CUSTOM
    dates: list[str] = field(default_factory=list)  # field `date_<n>` at index n-1; empty ones are ignored
    errors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Preview:
    """The schedule the form gives, and what the creditor's rules say about it."""

    terms: ScheduleTerms
    schedule: Schedule
    evaluation: Evaluation
    debt: Money
    moved: tuple[tuple[int, date, date], ...] = ()  # (installment, date typed, business day it moves to)


@bp.get("/plan")
@debtor_session
def plan_form():
    """The proposal form: invoices (overdue ones ticked), down payment, then monthly installments or dates."""
    page = _page()
    _plans_store()  # no plan store: no plan pages (404)
    candidates = _candidates(page)
    currency = _currency(page, candidates, request.args.get("currency"))
    form = PlanForm(currency, [i.number for i in candidates.get(currency, []) if i.is_overdue(page.today)],
                    first_on=page.today.isoformat(), dates=_typed_dates(page))
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
                    request.form.get("reason", ""), request.form.get("every", MONTHLY), _typed_dates(page))
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
                              current_services().now(), store, services.policies, services.closed_days,
                              notify=_notifier())
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
    asked: dict[int, date] | None = None  # custom dates by field number
    count: int | None = None
    first_on: date | None = None
    if form.every == CUSTOM:
        asked = _read_dates(form, page.today)
        if asked:
            count, first_on = len(asked), next(iter(asked.values()))
    elif form.every == MONTHLY:
        count = _read_count(form, rules.max_installments)
        first_on = _read_first_on(form, page.today)
    else:
        form.errors["every"] = _("Choose every month or your own dates.")
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
    terms = ScheduleTerms(count, first_on, down, dates=tuple(asked.values()) if asked else None)
    closed = current_account_services().closed_days(page.creditor)
    try:
        schedule = terms.schedule(debt, closed)
    except InvalidSchedule as refused:
        _schedule_refused(form, refused, count, asked, closed)
        return None
    proposal = PlanProposal(invoices, schedule, reason)
    evaluation = evaluate(proposal, rules, page.debtor.kind, has_formal_notice(chosen, page.policy()), page.today)
    moved = tuple((i.number, typed, i.due_on) for i, typed in zip(schedule, (asked or {}).values(), strict=False)
                  if i.due_on != typed)
    return _Preview(terms, schedule, evaluation, debt, moved)


def _typed_dates(page: _Page) -> list[str]:
    """The custom date fields as typed (empty on the first visit), one per installment the rules allow."""
    return [request.form.get(f"date_{n}", "").strip() for n in range(1, _max_installments(page) + 1)]


def _read_dates(form: PlanForm, today: date) -> dict[int, date] | None:
    """The filled custom dates by field number, or None with an error on each wrong field.

    Malformed input is refused here: a date that is not one, before today, repeated or out of order, and
    fewer dates than a plan needs. A date beyond the rules is not: the evaluation sends it to finance.
    """
    found: dict[int, date] = {}
    refused = False
    for number, typed in enumerate(form.dates, 1):
        if not typed:
            continue
        key = f"date_{number}"
        try:
            day = date.fromisoformat(typed)
        except ValueError:
            form.errors[key] = _("Enter a date, for example %(example)s.", example=today.isoformat())
            refused = True
            continue
        same = next((n for n, earlier in found.items() if earlier == day), None)
        previous = next(reversed(found.items()), None)
        if day < today:
            form.errors[key] = _("This date is before today, %(today)s.", today=local_date_filter(today, "long"))
        elif same is not None:
            form.errors[key] = _("This date is already the date of installment %(number)d.", number=same)
        elif previous is not None and day < previous[1]:
            form.errors[key] = _("This date must come after the date of installment %(number)d, %(date)s.",
                                 number=previous[0], date=local_date_filter(previous[1], "long"))
        else:
            found[number] = day
            continue
        refused = True
    if refused:
        return None
    if len(found) < MIN_INSTALLMENTS:
        form.errors["dates"] = _("Fill in at least %(minimum)d dates, one per installment.",
                                 minimum=MIN_INSTALLMENTS)
        return None
    return found


def _schedule_refused(form: PlanForm, refused: InvalidSchedule, count: int, asked: dict[int, date] | None,
                      closed: Container[date]) -> None:
    """Tie a schedule the domain could not build to the field to change."""
    if asked and "current" in refused.params:  # two dates fall on one business day once moved off closed days
        numbers = list(asked)
        moved = [next_business_day(day, closed) for day in asked.values()]
        for k in range(1, len(moved)):
            if moved[k] <= moved[k - 1]:
                form.errors[f"date_{numbers[k]}"] = _(
                    "Moved to the next business day, this date and the one before it both fall on %(date)s. "
                    "Choose another date.", date=local_date_filter(moved[k], "long"))
                return
    message = _("This amount cannot be spread over %(count)d installments.", count=count)
    form.errors["dates" if asked else "count"] = message


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


def _max_installments(page: _Page) -> int:
    return max(_rules(page).max_installments, MIN_INSTALLMENTS)


def _form_page(page: _Page, candidates: dict[str, list[Invoice]], form: PlanForm, preview: _Preview | None) -> str:
    rules = _rules(page)
    return render_template("plans/propose.html", **_common(page), candidates=candidates,
                           invoices=candidates.get(form.currency, []), form=form, preview=preview,
                           counts=range(MIN_INSTALLMENTS, max(rules.max_installments, MIN_INSTALLMENTS) + 1),
                           min_installments=MIN_INSTALLMENTS, custom=CUSTOM,
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
    ports = _pay_ports()
    return render_template("plans/plans.html", **_common(page), plans=found, breach_text=breach_text,
                           lines_of=_lines_of, running=RUNNING, states=PlanState,
                           can_pay=ports is not None and ports.checkout is not None,
                           can_set_up=ports is not None and hasattr(ports.checkout, "create_setup_checkout"),
                           next_of=next_installment, nonce=secrets.token_urlsafe(16))


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
                       _plans_store(), services.policies, services.closed_days, notify=_notifier())
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


# --- paying a running plan: automatic payment, or the next installment now ---------------------------


@bp.post("/plans/<plan_id>/autopay")
@code_required
def autopay_setup(plan_id: str):
    """Save a card or a SEPA mandate on Stripe Checkout (setup mode); each installment is then charged on its date."""
    page = _page()
    stored = _plan_of_this_debtor(plan_id)
    ports = _pay_ports()
    if ports is None or not hasattr(ports.checkout, "create_setup_checkout"):
        abort(404)
    ref = current_ref()
    nonce = (request.form.get("nonce") or secrets.token_urlsafe(16))[:64]
    try:
        session = start_autopay_setup(
            page.creditor, page.debtor, stored, _plans_store().plans_of(ref.creditor_id, ref.debtor_id), nonce,
            url_for("plans.autopay_returned", plan_id=plan_id, _external=True), url_for("plans.plans", _external=True),
            current_services().now(), ports.checkout, ports.store)  # type: ignore[arg-type]
    except PlanNotRunning:
        flash("not_running", "plan")
        return redirect(url_for("plans.plans"), code=303)
    _log("Autopay setup opened", plan_id=plan_id)
    return redirect(session.url, code=303)


@bp.get("/plans/<plan_id>/autopay/done")
@debtor_session
def autopay_returned(plan_id: str):
    """Back from the setup page: confirmed once Stripe's event reached us, else "being confirmed"."""
    _page()
    stored = _plan_of_this_debtor(plan_id)
    flash("autopay_set" if stored.plan.autopay is not None else "autopay_confirming", "plan")
    return redirect(url_for("plans.plans"), code=303)


@bp.post("/plans/<plan_id>/autopay/stop")
@code_required
def autopay_stop(plan_id: str):
    """Stop automatic payment: no installment of this plan is charged any more; the debtor pays each one."""
    _page()
    stored = _plan_of_this_debtor(plan_id)
    stopped = stop_autopay(stored, current_services().now(), _plans_store())  # type: ignore[arg-type]
    _log("Autopay stopped", plan_id=plan_id, changed=stopped)
    flash("autopay_stopped", "plan")
    return redirect(url_for("plans.plans"), code=303)


@bp.post("/plans/<plan_id>/pay")
@debtor_session
def pay_installment(plan_id: str):
    """Pay the plan's next installment: review where the money goes (step "review"), then open the checkout."""
    page = _page()
    stored = _plan_of_this_debtor(plan_id)
    ports = _pay_ports()
    if ports is None or ports.checkout is None:
        abort(404)
    try:
        payment = installment_payment(stored, list(page.account.invoices))
    except (PlanNotRunning, NothingOwedOnPlan):
        flash("nothing_owed", "plan")
        return redirect(url_for("plans.plans"), code=303)
    except InvalidAllocation as refused:  # the plan's invoices were paid another way meanwhile
        _log("Installment payment refused", level=logging.WARNING, plan_id=plan_id, reason=refused.params.get("reason"))
        flash("installment_unavailable", "plan")
        return redirect(url_for("plans.plans"), code=303)
    nonce = (request.form.get("nonce") or secrets.token_urlsafe(16))[:64]
    if request.form.get("step") != "pay":
        return render_template("pay/review.html", account=page.account, creditor=page.creditor,
                               allocation=payment.allocation, by_number={i.number: i for i in page.account.invoices},
                               installment=payment.installment, nonce=nonce,
                               action=url_for("plans.pay_installment", plan_id=plan_id))
    success_url = url_for("pay.returned", _external=True) + "?session=" + SESSION_ID_PLACEHOLDER
    session = start_installment_checkout(page.creditor, page.debtor, payment, nonce, success_url,
                                         url_for("pay.cancelled", _external=True), current_services().now(),
                                         ports.checkout, ports.store)
    _log("Installment checkout opened", plan_id=plan_id, installment=payment.installment.number)
    return redirect(session.url, code=303)


def _pay_ports() -> PayPorts | None:
    """The payment ports, or None where online payment is not configured at all (no table, no factory)."""
    try:
        return payment_ports()
    except RuntimeError:
        return None


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


def _notifier():
    """The plan decision mailer, where the portal's mailer can send it (the deployed SES mailer can)."""
    from relance.adapters.wiring import plan_notifier

    ports = current_services()
    if not hasattr(ports.mailer, "send_plan_decision_mail"):
        return None
    return plan_notifier(ports.mailer, ports.access, ports.issue_link, ports.now)
