"""Finance in the back office, in a real browser, in French and in English: sign in, read the queue,
counter a proposal; every page passes axe-core (no serious or critical violation). Then the whole of
issue #7's journey: the debtor proposes outside the rules on the portal, finance counters here, the
debtor accepts the counter on the portal."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from babel.numbers import format_decimal
from playwright.sync_api import expect
from relance.adapters.wiring import closed_for, policies_for
from relance.domain.formatting import babel_locale, format_money
from relance.domain.money import Money
from relance.domain.plans import PlanState
from relance.services.plans import ScheduleTerms, propose_plan

from tests.e2e.axe import assert_accessible
from tests.e2e.live_backoffice import bo_words
from tests.e2e.live_portal import DEBTOR_NAMES, today, words

pytestmark = pytest.mark.browser

LANGUAGES = ("fr", "en")


@pytest.mark.parametrize("language", LANGUAGES)
def test_finance_signs_in_and_counters_a_proposal(stack_with_apps, page_in, language):
    portal, backoffice = stack_with_apps
    debtor, _invoices = portal.seed_debtor("backoffice-counter", language)
    proposed = propose_plan(debtor.creditor_id, debtor.debtor_id, None, ScheduleTerms(10, today() + timedelta(days=20)),
                            "", datetime.now(UTC), portal.store, policies_for, closed_for)
    assert proposed.plan.state is PlanState.PROPOSED
    page = page_in(language)

    def _(message: str, **params: object) -> str:
        return bo_words(language, message, **params)

    page.goto(f"{backoffice.url}/plans")
    expect(page.get_by_role("heading", level=1)).to_have_text(_("Sign in to the back office"))
    assert_accessible(page)
    page.get_by_label(_("Username (e-mail address)")).fill(backoffice.username)
    page.get_by_label(_("Password")).fill("Not-the-password-1")
    page.get_by_role("button", name=_("Sign in")).click()
    expect(page.get_by_role("alert")).to_contain_text(_("The username or the password is wrong."))
    assert_accessible(page)
    page.get_by_label(_("Password")).fill(backoffice.password)
    page.get_by_role("button", name=_("Sign in")).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(_("Plans to decide"))
    row = page.get_by_role("row").filter(has_text=DEBTOR_NAMES[language])
    expect(row).to_contain_text(_("%(proposed)s installments, more than the %(limit)s allowed.",
                                  proposed="10", limit="6"))
    assert_accessible(page)
    row.get_by_role("link").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(_("Proposal of %(debtor)s",
                                                                debtor=DEBTOR_NAMES[language]))
    assert_accessible(page)
    counter = page.get_by_role("form", name=_("Counter with another schedule"))
    counter.get_by_label(_("Number of monthly installments")).fill("4")
    counter.get_by_label(_("Date of the first installment")).fill((today() + timedelta(days=30)).isoformat())
    counter.get_by_label(_("Down payment (optional)")).fill("300")
    counter.get_by_role("button", name=_("Send the counter-proposal")).click()

    expect(page.get_by_role("status")).to_contain_text(_("Your counter-proposal was sent to the debtor."))
    assert_accessible(page)
    stored = portal.store.find_plan(debtor.creditor_id, debtor.debtor_id, proposed.plan.plan_id)
    assert stored.plan.state is PlanState.COUNTERED
    assert len(stored.plan.counter) == 4
    assert stored.log[-1]["actor"] == f"finance:{backoffice.username}"
    page.get_by_role("button", name=_("Sign out")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(_("Sign in to the back office"))


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_proposal_outside_the_rules_is_countered_by_finance_and_accepted_by_the_debtor(
    stack_with_apps, page_in, language
):
    portal, backoffice = stack_with_apps
    debtor, _invoices = portal.seed_debtor("plan-journey", language)
    debtor_tab, finance_tab = page_in(language), page_in(language)

    def portal_words(message: str, **params: object) -> str:
        return words(language, message, **params)

    def _(message: str, **params: object) -> str:
        return bo_words(language, message, **params)

    # The debtor proposes three installments and no down payment: fr-b2b asks for a down payment.
    debtor_tab.goto(portal.link_for(debtor))
    debtor_tab.get_by_role("navigation", name=portal_words("Your account")).get_by_role(
        "link", name=portal_words("Payment plan"), exact=True).click()

    def fill_the_proposal() -> None:
        debtor_tab.get_by_label(portal_words("Number of monthly installments")).select_option("3")
        debtor_tab.get_by_label(portal_words("Date of the first installment")).fill(
            (today() + timedelta(days=15)).isoformat())
        debtor_tab.get_by_role("button", name=portal_words("Preview")).click()

    fill_the_proposal()
    code = portal.code_sent_to(debtor.emails[0])
    debtor_tab.get_by_label(portal_words("Code received by e-mail")).fill(code)
    debtor_tab.get_by_role("button", name=portal_words("Confirm"), exact=True).click()
    fill_the_proposal()
    with debtor_tab.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/account/plan")):
        debtor_tab.get_by_role("button", name=portal_words("Send my proposal")).click()
    [proposed] = portal.store.plans_of(debtor.creditor_id, debtor.debtor_id)
    assert proposed.plan.state is PlanState.PROPOSED

    # Finance counters with a 10 % down payment and four installments.
    finance_tab.goto(f"{backoffice.url}/sign-in")
    finance_tab.get_by_label(_("Username (e-mail address)")).fill(backoffice.username)
    finance_tab.get_by_label(_("Password")).fill(backoffice.password)
    finance_tab.get_by_role("button", name=_("Sign in")).click()
    expect(finance_tab.get_by_role("heading", level=1)).to_have_text(_("Dashboard"))  # where finance lands
    assert_accessible(finance_tab)
    finance_tab.get_by_role("navigation", name=_("Back office")).get_by_role(
        "link", name=_("Plans to decide")).click()
    finance_tab.get_by_role("row").filter(has_text=DEBTOR_NAMES[language]).filter(
        has_text=_("A down payment of %(proposed)s, below the minimum of %(limit)s.",
                   proposed=format_money(Money(0, "EUR"), language),
                   limit=format_money(proposed.plan.proposal.debt.split(10)[0], language))
    ).get_by_role("link").click()
    counter = finance_tab.get_by_role("form", name=_("Counter with another schedule"))
    counter.get_by_label(_("Down payment (optional)")).fill(
        format_decimal(proposed.plan.proposal.debt.split(10)[0].to_decimal(), locale=babel_locale(language)))
    counter.get_by_label(_("Number of monthly installments")).fill("4")
    counter.get_by_label(_("Date of the first installment")).fill((today() + timedelta(days=30)).isoformat())
    counter.get_by_role("button", name=_("Send the counter-proposal")).click()
    expect(finance_tab.get_by_role("status")).to_contain_text(_("Your counter-proposal was sent to the debtor."))

    # The debtor accepts the counter on the portal.
    debtor_tab.goto(f"{portal.url}/account/plans")
    assert_accessible(debtor_tab)
    with debtor_tab.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/answer")):
        debtor_tab.get_by_role("button", name=portal_words("Accept this schedule")).click()

    stored = portal.store.find_plan(debtor.creditor_id, debtor.debtor_id, proposed.plan.plan_id)
    assert stored.plan.state is PlanState.ACCEPTED
    assert len(stored.plan.schedule) == 4
    assert [entry["actor"] for entry in stored.log] == ["debtor", f"finance:{backoffice.username}", "debtor"]

    # The debtor pays the down payment, the plan's first line, through the stand-in Checkout.
    down = stored.plan.lines[0]
    amount = format_money(down.amount, language)
    debtor_tab.goto(f"{portal.url}/account/plans")
    debtor_tab.get_by_role("button", name=portal_words("Pay this installment (%(amount)s)", amount=amount)).click()
    expect(debtor_tab.get_by_role("heading", level=1)).to_have_text(portal_words("Check your payment"))
    assert_accessible(debtor_tab)
    debtor_tab.get_by_role("button", name=portal_words("Pay %(amount)s", amount=amount)).click()
    expect(debtor_tab).to_have_url(re.compile(r"/stand-in/checkout/cs_test_standin_"))
    debtor_tab.get_by_role("button", name=portal_words("Pay by card")).click()
    expect(debtor_tab.get_by_role("heading", level=1)).to_have_text(
        portal_words("Thank you: your payment is confirmed"))
    paid = portal.store.find_plan(debtor.creditor_id, debtor.debtor_id, proposed.plan.plan_id)
    assert paid.plan.paid_minor[0] == down.amount.minor

    # Dunning pauses for the plan's invoices: the debtor's list says so, and no reminder is planned.
    debtor_tab.goto(f"{portal.url}/account/invoices")
    for number in (i.number for i in paid.plan.proposal.invoices):
        row = debtor_tab.get_by_role("row", name=re.compile(re.escape(number)))
        expect(row).to_contain_text(portal_words("In a payment plan"))
    _debtor, open_invoices = portal.store.dunning_view(debtor.creditor_id, debtor.debtor_id)
    planned = {i.number: i for i in open_invoices}
    assert all(planned[i.number].in_plan for i in paid.plan.proposal.invoices if i.number in planned)

    # Finance reads the pause and the payment in the debtor's timeline.
    finance_tab.goto(f"{backoffice.url}/debtors/{debtor.debtor_id}")
    numbers = ", ".join(i.number for i in paid.plan.proposal.invoices)
    main = finance_tab.get_by_role("main")
    expect(main).to_contain_text(
        _("The debtor accepted finance's counter-proposal; dunning is paused for %(invoices)s.", invoices=numbers))
    expect(main).to_contain_text(_("Finance sent a counter-proposal."))
    expect(main).to_contain_text(_("The debtor proposed a payment plan for %(invoices)s.", invoices=numbers))
    assert_accessible(finance_tab)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_proposal_inside_the_rules_is_accepted_at_once_and_pauses_dunning(stack_with_apps, page_in, language):
    portal, _backoffice = stack_with_apps
    debtor, _invoices = portal.seed_debtor("plan-inside", language)
    tab = page_in(language)

    def portal_words(message: str, **params: object) -> str:
        return words(language, message, **params)

    tab.goto(portal.link_for(debtor))
    tab.get_by_role("navigation", name=portal_words("Your account")).get_by_role(
        "link", name=portal_words("Payment plan"), exact=True).click()
    _debtor, open_invoices = portal.store.dunning_view(debtor.creditor_id, debtor.debtor_id)
    overdue = [i for i in open_invoices if i.is_overdue(today())]
    down = Money(sum(i.balance.minor for i in overdue), "EUR").split(10)[0]  # fr-b2b: at least 10 % down

    def fill_the_proposal() -> None:
        tab.get_by_label(portal_words("Down payment (optional)")).fill(
            format_decimal(down.to_decimal(), locale=babel_locale(language)))
        tab.get_by_label(portal_words("Number of monthly installments")).select_option("3")
        tab.get_by_label(portal_words("Date of the first installment")).fill((today() + timedelta(days=15)).isoformat())
        tab.get_by_role("button", name=portal_words("Preview")).click()

    fill_the_proposal()
    tab.get_by_label(portal_words("Code received by e-mail")).fill(portal.code_sent_to(debtor.emails[0]))
    tab.get_by_role("button", name=portal_words("Confirm"), exact=True).click()
    fill_the_proposal()
    assert_accessible(tab)
    tab.get_by_role("button", name=portal_words("Send my proposal")).click()

    expect(tab.get_by_role("status")).to_contain_text(
        portal_words("Your plan is accepted. Dunning is paused for these invoices while you keep to it."))
    [stored] = portal.store.plans_of(debtor.creditor_id, debtor.debtor_id)
    assert stored.plan.state is PlanState.ACCEPTED and stored.plan.evaluation.accepted_automatically
    _debtor, after = portal.store.dunning_view(debtor.creditor_id, debtor.debtor_id)
    in_plan = {i.number for i in stored.plan.proposal.invoices}
    assert in_plan and all(i.in_plan for i in after if i.number in in_plan)
