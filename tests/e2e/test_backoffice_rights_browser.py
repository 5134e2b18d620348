"""Who may do what in the back office, in a real browser, in French and in English: a `viewer` reads every
page but finds no action form, and every action URL answers 403 to their session; signed out, every page
redirects to sign-in. Then finance records a bank transfer on the debtor page: the invoice leaves the open
list and the timeline says so. The new pages pass axe-core (no serious or critical violation)."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect
from relance.adapters.backoffice_store import BackOfficeStore
from relance.adapters.cognito import add_user
from relance.adapters.dynamo import task_item
from relance.adapters.dynamo_codec import to_dynamo
from relance.adapters.plans_store import PlansStore
from relance.adapters.s3 import S3Documents
from relance.adapters.wiring import closed_for, policies_for
from relance.domain.formatting import format_day, format_money
from relance.services.disputes import DisputeRequest, open_dispute
from relance.services.plans import ScheduleTerms, propose_plan

from tests.e2e.axe import assert_accessible
from tests.e2e.live_backoffice import PASSWORD, LiveBackOffice, bo_words
from tests.e2e.live_portal import CREDITOR, today

pytestmark = pytest.mark.browser

LANGUAGES = ("fr", "en")
VIEWER = "lea@atelier-lumiere.example"


@pytest.fixture(scope="module")
def viewer(stack_with_apps) -> str:
    add_user(os.environ["RELANCE_COGNITO_USER_POOL_ID"], VIEWER, "viewer", CREDITOR.creditor_id, PASSWORD)
    return VIEWER


def sign_in(page: Page, backoffice: LiveBackOffice, language: str, username: str) -> None:
    page.goto(f"{backoffice.url}/sign-in")
    page.get_by_label(bo_words(language, "Username (e-mail address)")).fill(username)
    page.get_by_label(bo_words(language, "Password")).fill(backoffice.password)
    page.get_by_role("button", name=bo_words(language, "Sign in")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(bo_words(language, "Dashboard"))


def work_for_everyone(portal, journey: str, language: str) -> dict[str, object]:
    """A debtor with a plan proposal, a dispute and a call task: something behind every action URL."""
    debtor, invoices = portal.seed_debtor(journey, language)
    store = BackOfficeStore(portal.table)
    policy = policies_for(CREDITOR).for_debtor(debtor.kind, debtor.risk_band)
    open_dispute(debtor.creditor_id, debtor.debtor_id, DisputeRequest(invoices[2].number, "quality", "Abîmé"),
                 today(), datetime.now(UTC), store, S3Documents(portal.bucket), policy, closed_for(CREDITOR))
    plan = propose_plan(debtor.creditor_id, debtor.debtor_id, [invoices[0].number],
                        ScheduleTerms(10, today() + timedelta(days=20)), "Trésorerie tendue", datetime.now(UTC),
                        PlansStore(portal.table), policies_for, closed_for)
    task = task_item({"creditor_id": debtor.creditor_id, "debtor_id": debtor.debtor_id,
                      "due_on": today().isoformat(), "kind": "call", "step": "call",
                      "invoices": [invoices[1].number]})
    store._client.put_item(TableName=store.table_name, Item=to_dynamo(task))
    d = debtor.debtor_id
    plan_path = f"/plans/{debtor.creditor_id}/{d}/{plan.plan.plan_id}"
    actions = [f"{plan_path}/{a}" for a in ("approve", "reject", "counter")]
    actions += [f"/disputes/{d}/{invoices[2].number}/{a}" for a in ("accept", "reject")]
    actions += [f"/calls/{task['SK'].replace('#', '%23')}/outcome"]
    actions += [f"/debtors/{d}/{a}" for a in ("pause", "resume", "revoke-links", "payments", "write-off",
                                             "next-step", "contacts")]
    pages = ["/dashboard", f"/debtors/{d}", plan_path, "/plans", "/disputes", "/calls", "/bounces", "/debtors"]
    return {"debtor": debtor, "invoices": invoices, "actions": actions, "pages": pages}


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_viewer_sees_no_action_and_every_action_url_is_refused(stack_with_apps, viewer, page_in, language):
    portal, backoffice = stack_with_apps
    work = work_for_everyone(portal, "viewer-rights", language)
    debtor = work["debtor"]
    audit_before = len(portal.store.audit_of(debtor.creditor_id, debtor.debtor_id))
    page = page_in(language)
    sign_in(page, backoffice, language, viewer)

    for path in work["pages"]:
        page.goto(f"{backoffice.url}{path}")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        # Only the debtor search (a GET form) may be there: no form that changes anything, no button but "Find".
        assert page.locator("main form:not([method=get])").count() == 0, path
        assert page.locator("main button:not([role=search] button)").count() == 0, path
    token = page.locator("form.sign-out input[name=csrf_token]").get_attribute("value")
    # A valid CSRF token from the viewer's own session: the refusal comes from the group check, not from CSRF.
    answers = {path: page.request.post(f"{backoffice.url}{path}", max_redirects=0, form={
        "csrf_token": token, "message": "Non.", "until": (today() + timedelta(days=9)).isoformat(),
        "reason": "x", "outcome": "no_answer", "installments": "4", "first_on": "2099-01-15", "nonce": "n",
        "amount": "10", "received_on": today().isoformat(), "method": "cheque", "reference": "r",
        "invoice": work["invoices"][0].number, "emails": "a@b.example"}).status for path in work["actions"]}

    assert answers == {path: 403 for path in work["actions"]}
    assert len(portal.store.audit_of(debtor.creditor_id, debtor.debtor_id)) == audit_before


@pytest.mark.parametrize("language", LANGUAGES)
def test_signed_out_every_back_office_url_goes_to_sign_in(stack_with_apps, page_in, language):
    portal, backoffice = stack_with_apps
    work = work_for_everyone(portal, "signed-out", language)
    page = page_in(language)

    for path in work["pages"] + ["/exports/aged-balance.csv", "/exports/collections.csv"]:
        response = page.request.get(f"{backoffice.url}{path}", max_redirects=0)
        assert (path, response.status, response.headers["location"].split("?")[0]) == (path, 302, "/sign-in")
    page.goto(f"{backoffice.url}{work['pages'][1]}")
    expect(page).to_have_url(re.compile(r"/sign-in\?next="))
    expect(page.get_by_role("button", name=bo_words(language, "Sign in"))).to_be_visible()
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    for path in work["actions"]:
        response = page.request.post(f"{backoffice.url}{path}", max_redirects=0, form={"csrf_token": token})
        assert (path, response.status, response.headers["location"].split("?")[0]) == (path, 302, "/sign-in")


@pytest.mark.parametrize("language", LANGUAGES)
def test_finance_records_a_bank_transfer_and_the_invoice_leaves_the_open_list(stack_with_apps, page_in, language):
    portal, backoffice = stack_with_apps
    debtor, invoices = portal.seed_debtor("mark-paid", language)
    oldest = invoices[0]
    page = page_in(language)

    def _(message: str, **params: object) -> str:
        return bo_words(language, message, **params)

    sign_in(page, backoffice, language, backoffice.username)
    page.goto(f"{backoffice.url}/debtors/{debtor.debtor_id}")
    open_list = page.get_by_role("table", name=_("Open invoices"))
    expect(open_list.get_by_role("rowheader", name=oldest.number)).to_have_count(1)
    assert_accessible(page)

    typed = f"{oldest.balance.minor // 100},{oldest.balance.minor % 100:02d}" if language == "fr" else \
        f"{oldest.balance.minor // 100}.{oldest.balance.minor % 100:02d}"
    form = page.get_by_role("form", name=_("Record a payment received outside Stripe"))
    form.get_by_label(_("Amount received")).fill(typed)
    form.get_by_label(_("Paid by")).select_option(label=_("bank transfer"))
    form.get_by_label(_("Reference (transfer reference or cheque number)")).fill("VIR-0042")
    form.get_by_label(_("%(number)s (%(balance)s owed)", number=oldest.number,
                        balance=format_money(oldest.balance, language))).check()
    form.get_by_role("button", name=_("Record the payment")).click()

    expect(page.get_by_role("status")).to_contain_text(
        _("The payment of %(amount)s is recorded.", amount=format_money(oldest.balance, language)))
    expect(open_list.get_by_role("rowheader", name=oldest.number)).to_have_count(0)
    expect(page.get_by_role("main")).to_contain_text(_(
        "Finance recorded a %(method)s of %(amount)s received on %(day)s (reference %(reference)s) for "
        "%(invoices)s.", method=_("bank transfer"), amount=format_money(oldest.balance, language),
        day=format_day(today(), language, "long"), reference="VIR-0042", invoices=oldest.number))
    assert_accessible(page)
    assert portal.invoices_of(debtor)[oldest.number].is_settled()
    assert portal.invoices_of(debtor)[oldest.number].next_action_on is None

    page.get_by_role("navigation", name=_("Back office")).get_by_role("link", name=_("Bounced addresses to fix")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(_("Bounced addresses to fix"))
    assert_accessible(page)
