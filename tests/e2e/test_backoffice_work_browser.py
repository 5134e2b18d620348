"""Finance's daily work in the back office, in a real browser, in French and in English: resolve two
disputes (one accepted, one rejected with a message), record a call where the debtor promised to pay,
pause a debtor's dunning and resume it. Every page passes axe-core (no serious or critical violation),
and each decision is checked in the stored data as well as on the page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect
from relance.adapters.backoffice_store import BackOfficeStore
from relance.adapters.dynamo import task_item
from relance.adapters.dynamo_codec import to_dynamo
from relance.adapters.s3 import S3Documents
from relance.adapters.wiring import closed_for, policies_for
from relance.domain.formatting import format_day
from relance.domain.parties import Debtor
from relance.services.disputes import DisputeOutcome, DisputeRequest, open_dispute

from tests.e2e.axe import assert_accessible
from tests.e2e.live_backoffice import LiveBackOffice, bo_words
from tests.e2e.live_portal import CREDITOR, DEBTOR_NAMES, today

pytestmark = pytest.mark.browser

LANGUAGES = ("fr", "en")


def sign_in(page: Page, backoffice: LiveBackOffice, language: str) -> None:
    page.goto(f"{backoffice.url}/sign-in")
    page.get_by_label(bo_words(language, "Username (e-mail address)")).fill(backoffice.username)
    page.get_by_label(bo_words(language, "Password")).fill(backoffice.password)
    page.get_by_role("button", name=bo_words(language, "Sign in")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(bo_words(language, "Dashboard"))


def go_to(page: Page, language: str, link: str) -> None:
    """Follow a link of the back office's main navigation."""
    page.get_by_role("navigation", name=bo_words(language, "Back office")).get_by_role(
        "link", name=bo_words(language, link)).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(bo_words(language, link))


def policy_of(debtor: Debtor):
    return policies_for(CREDITOR).for_debtor(debtor.kind, debtor.risk_band)


@pytest.mark.parametrize("language", LANGUAGES)
def test_finance_accepts_one_dispute_and_rejects_another(stack_with_apps, page_in, language):
    portal, backoffice = stack_with_apps
    debtor, invoices = portal.seed_debtor("disputes-work", language)
    accepted, rejected = invoices[0], invoices[1]
    store = BackOfficeStore(portal.table)
    for invoice, reason, message in ((accepted, "wrong_amount", "Montant faux"), (rejected, "quality", "Abîmé")):
        outcome = open_dispute(debtor.creditor_id, debtor.debtor_id, DisputeRequest(invoice.number, reason, message),
                               today(), datetime.now(UTC), store, S3Documents(portal.bucket), policy_of(debtor),
                               closed_for(CREDITOR))
        assert outcome is DisputeOutcome.OPENED
    assert all(portal.invoices_of(debtor)[i.number].disputed for i in (accepted, rejected))
    mails_before = len(portal.mails_to(debtor.emails[0]))
    page = page_in(language)

    def _(message: str, **params: object) -> str:
        return bo_words(language, message, **params)

    def dispute_of(number: str):
        return page.get_by_role("region", name=_("Invoice %(number)s of %(debtor)s", number=number,
                                                 debtor=DEBTOR_NAMES[language]))

    sign_in(page, backoffice, language)
    go_to(page, language, "Disputes to resolve")
    expect(dispute_of(accepted.number)).to_contain_text(_("Wrong amount"))
    expect(dispute_of(rejected.number)).to_contain_text(_("Quality problem"))
    expect(dispute_of(rejected.number)).to_contain_text("Abîmé")
    assert_accessible(page)

    # Accepted with the credit amount left empty: the whole balance is cancelled.
    dispute_of(accepted.number).get_by_role("form", name=_("Accept")).get_by_role(
        "button", name=_("Accept the dispute")).click()
    expect(page.get_by_role("status")).to_contain_text(_("The dispute is accepted: the invoice is credited."))
    expect(dispute_of(accepted.number)).to_have_count(0)
    expect(dispute_of(rejected.number)).to_have_count(1)
    settled = portal.invoices_of(debtor)[accepted.number]
    assert settled.is_settled() and not settled.disputed and settled.next_action_on is None
    stored = store.find_dispute(debtor.creditor_id, debtor.debtor_id, accepted.number)
    assert stored["status"] == "accepted" and stored["cancelled"] is True
    assert stored["credit_minor"] == accepted.balance.minor
    assert stored["resolved_by"] == f"finance:{backoffice.username}"

    # Rejected with a message: dunning resumes and the debtor is told by e-mail.
    reply = "La marchandise a été livrée conforme, le bon de livraison est signé."
    reject = dispute_of(rejected.number).get_by_role("form", name=_("Reject"))
    reject.get_by_label(_("Message to the debtor")).fill(reply)
    reject.get_by_role("button", name=_("Reject the dispute")).click()
    expect(page.get_by_role("status")).to_contain_text(
        _("The dispute is rejected: reminders resume and the debtor was told by e-mail."))
    expect(dispute_of(rejected.number)).to_have_count(0)
    resumed = portal.invoices_of(debtor)[rejected.number]
    assert not resumed.disputed and not resumed.is_settled()
    assert resumed.next_action_on is not None and resumed.next_action_on >= today()
    stored = store.find_dispute(debtor.creditor_id, debtor.debtor_id, rejected.number)
    assert stored["status"] == "rejected" and stored["resolution_message"] == reply
    mails = portal.mails_to(debtor.emails[0])
    assert len(mails) == mails_before + 1
    assert reply in mails[0].text
    assert [a["invoices"] for a in portal.audit_actions(debtor, "dispute_accepted")] == [[accepted.number]]
    assert [a["invoices"] for a in portal.audit_actions(debtor, "dispute_rejected")] == [[rejected.number]]

    # The debtor page tells both outcomes.
    page.goto(f"{backoffice.url}/debtors/{debtor.debtor_id}")
    main = page.get_by_role("main")
    expect(main).to_contain_text(_("Finance accepted the dispute of invoice %(invoices)s.", invoices=accepted.number))
    expect(main).to_contain_text(_("Finance rejected the dispute of invoice %(invoices)s; reminders resume.",
                                   invoices=rejected.number))
    assert_accessible(page)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_call_where_the_debtor_promises_to_pay_pauses_the_overdue_invoices(stack_with_apps, page_in, language):
    portal, backoffice = stack_with_apps
    debtor, invoices = portal.seed_debtor("calls-work", language)
    store = BackOfficeStore(portal.table)
    # The task the ladder's call step leaves for finance (services/dunning.py `_task`).
    task = task_item({"creditor_id": debtor.creditor_id, "debtor_id": debtor.debtor_id,
                      "due_on": today().isoformat(), "kind": "call", "step": "call",
                      "invoices": [i.number for i in invoices],
                      "totals": {"EUR": sum(i.balance.minor for i in invoices)}})
    store._client.put_item(TableName=store.table_name, Item=to_dynamo(task))
    promised_on = today() + timedelta(days=10)
    assert promised_on <= today() + timedelta(days=policy_of(debtor).max_promise_days)
    page = page_in(language)

    def _(message: str, **params: object) -> str:
        return bo_words(language, message, **params)

    call = page.get_by_role("region", name=_("Call %(debtor)s", debtor=DEBTOR_NAMES[language]))
    sign_in(page, backoffice, language)
    go_to(page, language, "Calls to make")
    expect(call).to_contain_text(", ".join(i.number for i in invoices))
    assert_accessible(page)

    call.get_by_role("group", name=_("What did the call give?")).get_by_label(
        _("Reached: promised to pay by a date")).check()
    call.get_by_label(_("Promised payment date (for a promise)")).fill(promised_on.isoformat())
    call.get_by_label(_("Note (optional)")).fill("Virement promis par la gérante.")
    call.get_by_role("button", name=_("Record the call")).click()

    expect(page.get_by_role("status")).to_contain_text(_("The call is recorded."))
    expect(call).to_have_count(0)
    assert_accessible(page)
    closed = store.get_task(debtor.creditor_id, task["SK"])
    assert closed["status"] != "open"
    after = portal.invoices_of(debtor)
    grace = policy_of(debtor).promise_grace_days
    for invoice in invoices:  # all three are overdue
        stored = after[invoice.number]
        assert stored.promised_on == promised_on
        assert stored.next_action_on > promised_on + timedelta(days=grace)
    [audit] = portal.audit_actions(debtor, "call_promise")
    assert audit["actor"] == f"finance:{backoffice.username}"
    assert audit["promised_on"] == promised_on.isoformat()

    page.goto(f"{backoffice.url}/debtors/{debtor.debtor_id}")
    main = page.get_by_role("main")
    for invoice in invoices:
        expect(main).to_contain_text(_("%(number)s: promised by %(day)s", number=invoice.number,
                                       day=format_day(promised_on, language, "long")))
    expect(main).to_contain_text(_("Call recorded: %(outcome)s.",
                                   outcome=_("Reached: promised to pay by a date")))
    assert_accessible(page)


@pytest.mark.parametrize("language", LANGUAGES)
def test_finance_pauses_a_debtor_until_a_date_then_resumes(stack_with_apps, page_in, language):
    portal, backoffice = stack_with_apps
    debtor, invoices = portal.seed_debtor("pause-work", language)
    until = today() + timedelta(days=20)
    reason = "Redressement judiciaire en cours d'examen"
    page = page_in(language)

    def _(message: str, **params: object) -> str:
        return bo_words(language, message, **params)

    paused_notice = _("Dunning is paused until %(day)s.", day=format_day(until, language, "long"))
    sign_in(page, backoffice, language)
    go_to(page, language, "Find a debtor")
    page.get_by_role("search").get_by_label(_("Debtor id (as in the invoice imports) or part of the name")).fill(debtor.debtor_id)
    page.get_by_role("search").get_by_role("button", name=_("Find")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(DEBTOR_NAMES[language])
    expect(page.get_by_role("status")).to_have_count(0)
    assert_accessible(page)

    pause = page.get_by_role("form", name=_("Pause dunning"))
    pause.get_by_label(_("Last day of the pause")).fill(until.isoformat())
    pause.get_by_label(_("Reason")).fill(reason)
    pause.get_by_role("button", name=_("Pause dunning")).click()
    expect(page.get_by_role("status").filter(has_text=paused_notice)).to_have_count(2)  # the flash and the notice

    stored, after = portal.store.debtor_with_invoices(debtor.creditor_id, debtor.debtor_id)
    assert stored.dunning_paused_until == until
    assert all(i.next_action_on > until for i in after)

    page.reload()  # the flash is gone; the page itself says the debtor is paused
    expect(page.get_by_role("status")).to_have_text(paused_notice)
    expect(page.get_by_role("main")).to_contain_text(
        _("Dunning paused until %(day)s: %(reason)s", day=format_day(until, language, "long"), reason=reason))
    assert_accessible(page)

    page.get_by_role("form", name=_("Resume dunning")).get_by_role("button", name=_("Resume dunning now")).click()
    expect(page.get_by_role("status")).to_have_text(_("Dunning is resumed."))
    expect(page.get_by_role("form", name=_("Resume dunning"))).to_have_count(0)
    expect(page.get_by_role("main")).to_contain_text(_("Dunning resumed."))
    assert_accessible(page)
    stored, _after = portal.store.debtor_with_invoices(debtor.creditor_id, debtor.debtor_id)
    assert stored.dunning_paused_until is None
    assert [a["actor"] for a in portal.audit_actions(debtor, "dunning_paused")] == [f"finance:{backoffice.username}"]
    assert len(portal.audit_actions(debtor, "dunning_resumed")) == 1
