"""A debtor's journeys through the live portal in a real browser, in French and in English (issue #6).

One portal for the module: the deployed wiring on the moto stack (tests/e2e/live_portal.py), the
stand-in checkout sending signed Stripe events to the webhook function. Each journey seeds its own
debtor with three overdue EUR invoices and opens its own browser context. Every page reached is
checked with axe-core; `RELANCE_SCREENSHOTS=1` also refreshes the guide's screenshots.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from relance.domain.formatting import format_day, format_money
from relance.domain.money import Money
from tests.e2e.axe import assert_accessible
from tests.e2e.live_portal import CREDITOR, LivePortal, live_portal, save_screenshot, today, words

pytestmark = pytest.mark.browser

LANGUAGES = ("fr", "en")
BROWSER_LOCALES = {"fr": "fr-FR", "en": "en-GB"}
VIEWPORT = {"width": 1024, "height": 768}
A_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


@pytest.fixture(scope="module")
def portal() -> Iterator[LivePortal]:
    with live_portal() as live:
        yield live


class Visit:
    """One debtor's browser tab, speaking `language`; `check` runs axe-core on the page as it is."""

    def __init__(self, page: Page, language: str) -> None:
        self.page = page
        self.language = language
        self.blocked_by_csp: list[str] = []
        page.on("console", self._watch_console)

    def _watch_console(self, message) -> None:
        if "Content Security Policy" in message.text:
            self.blocked_by_csp.append(message.text)

    def _(self, message: str, **params: object) -> str:
        return words(self.language, message, **params)

    def money(self, minor: int) -> str:
        return format_money(Money(minor, "EUR"), self.language)

    def heading(self) -> Locator:
        return self.page.get_by_role("heading", level=1)

    def check(self, screenshot: str | None = None) -> None:
        """The page speaks the debtor's language, passes axe-core; the browser blocked nothing on it."""
        expect(self.page.locator("html")).to_have_attribute("lang", self.language)
        assert_accessible(self.page)
        assert self.blocked_by_csp == []
        if screenshot:
            save_screenshot(self.page, screenshot, self.language)

    def account_nav(self, name: str) -> Locator:
        return self.page.get_by_role("navigation", name=self._("Your account")).get_by_role(
            "link", name=self._(name), exact=True
        )

    def type_the_code(self, portal: LivePortal, address: str) -> None:
        """On the "confirm it is you" page: a wrong code first (the error state), then the mailed one."""
        expect(self.heading()).to_have_text(self._("Confirm it is you"))
        expect(self.page.get_by_role("status")).to_contain_text(
            self._("We have sent you a code. It works for %(minutes)d minutes.", minutes=10)
        )
        self.check("verify")
        code = portal.code_sent_to(address)
        field = self.page.get_by_label(self._("Code received by e-mail"))
        field.fill(f"{(int(code) + 1) % 1_000_000:06d}")
        self.page.get_by_role("button", name=self._("Confirm"), exact=True).click()
        expect(field).to_have_attribute("aria-invalid", "true")
        self.check()
        field.fill(code)
        self.page.get_by_role("button", name=self._("Confirm"), exact=True).click()


@pytest.fixture
def open_tab(browser: Browser) -> Iterator[Callable[[str], Visit]]:
    """A fresh browser context per journey (no session, no cookie), its locale the debtor's language."""
    contexts = []

    def open_(language: str) -> Visit:
        context = browser.new_context(locale=BROWSER_LOCALES[language], viewport=VIEWPORT)
        contexts.append(context)
        return Visit(context.new_page(), language)

    yield open_
    for context in contexts:
        context.close()


def session_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["session"][0]


# --- 1. paying two of three invoices, Stripe's events delivered again --------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_paying_two_of_three_invoices_by_card_settles_them_once_though_stripe_resends_its_events(
    portal, open_tab, language
):
    debtor, invoices = portal.seed_debtor("pay", language)
    first, second, third = invoices
    paid_now = first.total.minor + second.total.minor
    tab = open_tab(language)
    page, _ = tab.page, tab._

    page.goto(portal.link_for(debtor))

    expect(page).to_have_url(f"{portal.url}/account")
    expect(tab.heading()).to_have_text(_("Your account with %(creditor)s", creditor=CREDITOR.legal_name))
    tab.check()
    tab.account_nav("Invoices").click()
    expect(tab.heading()).to_have_text(_("Your invoices"))
    tab.check()
    page.get_by_role("link", name=first.number, exact=True).click()
    expect(tab.heading()).to_have_text(_("Invoice %(number)s", number=first.number))
    tab.check("invoice")

    def choose_two_and_review(first_time: bool) -> None:
        """On the pay page: all three are ticked; untick the third, continue, review, press "Pay"."""
        expect(tab.heading()).to_have_text(_("Pay online"))
        for invoice in invoices:
            expect(page.get_by_role("checkbox", name=invoice.number, exact=True)).to_be_checked()
        tab.check("pay" if first_time else None)
        page.get_by_role("checkbox", name=third.number, exact=True).uncheck()
        page.get_by_role("button", name=_("Continue"), exact=True).click()
        expect(tab.heading()).to_have_text(_("Check your payment"))
        expect(page.get_by_role("main")).to_contain_text(second.number)
        expect(page.get_by_role("main")).not_to_contain_text(third.number)
        tab.check("pay-review" if first_time else None)
        page.get_by_role("button", name=_("Pay %(amount)s", amount=tab.money(paid_now))).click()
        expect(page).to_have_url(re.compile(r"/stand-in/checkout/cs_test_standin_"))
        expect(tab.heading()).to_have_text(_("Pay %(creditor)s", creditor=CREDITOR.legal_name))
        expect(page.get_by_role("main")).to_contain_text(_("Amount: %(amount)s", amount=tab.money(paid_now)))

    tab.account_nav("Pay online").click()
    choose_two_and_review(first_time=True)
    tab.check("checkout")
    page.get_by_role("link", name=_("Cancel"), exact=True).click()
    expect(tab.heading()).to_have_text(_("Payment cancelled"))
    tab.check("pay-cancelled")
    page.get_by_role("link", name=_("Choose again what to pay")).click()
    choose_two_and_review(first_time=False)
    page.get_by_role("button", name=_("Pay by card")).click()
    expect(tab.heading()).to_have_text(_("Thank you: your payment is confirmed"))
    expect(page.get_by_role("main")).to_contain_text(
        _("Invoice %(number)s: %(amount)s", number=second.number, amount=tab.money(second.total.minor))
    )
    tab.check("pay-return")

    deliveries = portal.redeliver_card_payment(session_of(page.url), rounds=2)

    assert [(d.event_type, d.status, d.outcome) for d in deliveries] == [
        ("payment_intent.succeeded", 200, "duplicate"),
        ("checkout.session.completed", 200, "duplicate"),
    ] * 2
    page.goto(f"{portal.url}/account")
    expect(page.get_by_role("main")).not_to_contain_text(first.number)
    expect(page.get_by_role("main")).not_to_contain_text(second.number)
    expect(page.get_by_role("row", name=re.compile(third.number))).to_contain_text(
        tab.money(third.total.minor)
    )
    tab.account_nav("Invoices").click()
    paid_list = page.get_by_role("region", name=_("Paid invoices"), exact=True)
    for invoice in (first, second):
        expect(paid_list.get_by_role("row", name=re.compile(invoice.number))).to_contain_text(_("Paid"))
    expect(paid_list).not_to_contain_text(third.number)
    tab.check("invoices")
    paid_list.get_by_role("link", name=first.number, exact=True).click()
    paid_once = page.locator(".invoice-detail")
    expect(paid_once.locator("dt", has_text=_("Already paid")).locator("+ dd")).to_have_text(
        tab.money(first.total.minor)
    )
    expect(paid_once.locator("dt", has_text=_("Amount due")).locator("+ dd")).to_have_text(tab.money(0))
    tab.check()

    stored = portal.invoices_of(debtor)
    for invoice in (first, second):
        assert stored[invoice.number].paid == stored[invoice.number].total == invoice.total
        assert stored[invoice.number].next_action_on is None  # dunning stopped
    assert stored[third.number].paid == Money(0, "EUR")
    assert stored[third.number].next_action_on == third.next_action_on  # still planned
    payments = portal.items_of("payment", debtor)
    assert [(p["status"], p["amount_minor"]) for p in payments] == [("succeeded", paid_now)]
    assert {a["invoice"]: a["minor"] for a in payments[0]["allocations"]} == {
        first.number: first.total.minor,
        second.number: second.total.minor,
    }
    received = portal.audit_actions(debtor, "payment_received")
    assert [(a["payment_id"], a["allocations"]) for a in received] == [
        (payments[0]["payment_id"], {first.number: first.total.minor, second.number: second.total.minor})
    ]
    assert len(portal.items_of("checkout", debtor)) == 2  # the cancelled session and the paid one


# --- 2. disputing an invoice with a document ---------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_disputing_an_invoice_with_a_pdf_asks_for_the_code_then_pauses_that_invoice_and_tells_finance(
    portal, open_tab, language
):
    debtor, invoices = portal.seed_debtor("dispute", language)
    disputed = invoices[2]
    tab = open_tab(language)
    page, _ = tab.page, tab._
    page.goto(portal.link_for(debtor))
    tab.account_nav("Invoices").click()
    page.get_by_role("link", name=disputed.number, exact=True).click()

    page.get_by_role("link", name=_("Dispute this invoice")).click()
    tab.type_the_code(portal, debtor.emails[0])

    expect(tab.heading()).to_have_text(_("Dispute invoice %(number)s", number=disputed.number))
    tab.check("dispute")
    page.get_by_role("button", name=_("Send my dispute")).click()
    expect(page.get_by_role("alert")).to_contain_text(_("Please correct the following"))
    expect(page).to_have_title(re.compile("^" + re.escape(_("Error:"))))
    tab.check("dispute-error")
    page.get_by_label(_("The amount is wrong")).check()
    page.get_by_label(_("Your message")).fill("Le bon de livraison ne porte que 12 palettes, pas 14.")
    page.get_by_label(_("A document that shows the problem (optional)")).set_input_files(
        {"name": "bon de livraison.pdf", "mimeType": "application/pdf", "buffer": A_PDF}
    )
    page.get_by_role("button", name=_("Send my dispute")).click()

    expect(tab.heading()).to_have_text(_("Invoice %(number)s", number=disputed.number))
    expect(page.get_by_role("status")).to_have_text(
        _(
            "Your dispute was recorded. %(creditor)s will look into it; "
            "no reminder will be sent for this invoice meanwhile.",
            creditor=CREDITOR.legal_name,
        )
    )
    expect(page.locator(".invoice-detail")).to_contain_text(_("Disputed: under review"))
    tab.check("dispute-recorded")
    tab.account_nav("Reminders and letters received").click()
    expect(page.get_by_role("heading", name=_("Your disputes"))).to_be_visible()
    expect(page.get_by_role("link", name=_("Download %(name)s", name="bon_de_livraison.pdf"))).to_be_visible()
    tab.check("history")

    stored = portal.invoices_of(debtor)
    assert stored[disputed.number].disputed is True
    assert stored[disputed.number].next_action_on is None  # out of the daily scan
    assert [stored[i.number].next_action_on for i in invoices[:2]] == [i.next_action_on for i in invoices[:2]]
    tasks = [
        t for t in portal.store.open_tasks(CREDITOR.creditor_id) if t.get("debtor_id") == debtor.debtor_id
    ]
    assert [(t["kind"], t["invoices"], t["reason"]) for t in tasks] == [
        ("dispute", [disputed.number], "wrong_amount")
    ]
    attachments = portal.documents_under(
        f"creditors/{CREDITOR.creditor_id}/debtors/{debtor.debtor_id}/disputes/"
    )
    assert [(key.rsplit("/", 1)[1], body) for key, body in attachments.items()] == [
        ("bon_de_livraison.pdf", A_PDF)
    ]
    assert len(portal.audit_actions(debtor, "dispute_opened")) == 1


# --- 3. promising a date -----------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_promising_a_date_pauses_the_overdue_invoices_until_then(portal, open_tab, language):
    debtor, invoices = portal.seed_debtor("promise", language)
    promised_on = today() + timedelta(days=10)
    tab = open_tab(language)
    page, _ = tab.page, tab._
    page.goto(portal.link_for(debtor))

    tab.account_nav("Promise to pay").click()
    tab.type_the_code(portal, debtor.emails[0])

    expect(tab.heading()).to_have_text(_("Promise to pay"))
    tab.check("promise")
    date_field = page.get_by_label(_("I will pay by"))
    date_field.fill((today() + timedelta(days=31)).isoformat())  # the policy allows 30 days at most
    page.get_by_role("button", name=_("Record my promise")).click()
    expect(date_field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#promised_on-error")).to_be_visible()
    tab.check("promise-error")
    date_field.fill(promised_on.isoformat())
    page.get_by_role("button", name=_("Record my promise")).click()

    expect(tab.heading()).to_have_text(_("Your invoices"))
    expect(page.get_by_role("status")).to_contain_text(
        _(
            "Thank you: your promise to pay was recorded. "
            "We will not send you reminders for these invoices until then."
        )
    )
    for invoice in invoices:
        expect(page.get_by_role("row", name=re.compile(invoice.number))).to_contain_text(
            _("Payment promised by %(date)s", date=format_day(promised_on, language, "medium"))
        )
    tab.check("promise-recorded")

    stored = portal.invoices_of(debtor)
    for invoice in invoices:
        assert stored[invoice.number].promised_on == promised_on
        assert stored[invoice.number].next_action_on > promised_on  # paused until then (plus grace)
    assert [a["promised_on"] for a in portal.audit_actions(debtor, "payment_promised")] == [
        promised_on.isoformat()
    ]


# --- 4. paying with the keyboard alone -----------------------------------------------------------------


def tab_to(page: Page, target: Locator, presses: int = 40) -> Locator:
    """Press Tab until `target` has the focus; fails when it is never reached."""
    for _press in range(presses):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return target
    raise AssertionError(f"{target} never got the focus in {presses} presses of Tab")


def focus_ring(target: Locator) -> str:
    """The focused element's visible ring: its outline (2 px at least) or box-shadow; "" when none."""
    return target.evaluate("""element => {
        const style = getComputedStyle(element);
        if (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2) {
            return `outline ${style.outlineWidth} ${style.outlineStyle} ${style.outlineColor}`;
        }
        return style.boxShadow !== 'none' ? `box-shadow ${style.boxShadow}` : '';
    }""")


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_keyboard_user_pays_two_invoices_with_tab_space_and_enter_and_always_sees_the_focus(
    portal, open_tab, language
):
    debtor, invoices = portal.seed_debtor("keys", language)
    first, second, third = invoices
    paid_now = first.total.minor + second.total.minor
    tab = open_tab(language)
    page, _ = tab.page, tab._
    page.goto(portal.link_for(debtor))
    expect(tab.heading()).to_have_text(_("Your account with %(creditor)s", creditor=CREDITOR.legal_name))

    pay_link = tab_to(page, tab.account_nav("Pay online"))
    assert focus_ring(pay_link)
    page.keyboard.press("Enter")
    expect(tab.heading()).to_have_text(_("Pay online"))
    box = tab_to(page, page.get_by_role("checkbox", name=third.number, exact=True))
    assert focus_ring(box)
    page.keyboard.press("Space")
    expect(box).not_to_be_checked()
    assert focus_ring(tab_to(page, page.get_by_role("button", name=_("Continue"), exact=True)))
    page.keyboard.press("Enter")
    expect(tab.heading()).to_have_text(_("Check your payment"))
    pay_button = tab_to(
        page, page.get_by_role("button", name=_("Pay %(amount)s", amount=tab.money(paid_now)))
    )
    assert focus_ring(pay_button), "the pay button shows no focus"
    page.keyboard.press("Enter")
    expect(tab.heading()).to_have_text(_("Pay %(creditor)s", creditor=CREDITOR.legal_name))
    card = tab_to(page, page.get_by_role("button", name=_("Pay by card")))
    assert focus_ring(card)
    page.keyboard.press("Enter")

    expect(tab.heading()).to_have_text(_("Thank you: your payment is confirmed"))
    stored = portal.invoices_of(debtor)
    assert [stored[i.number].balance.minor for i in invoices] == [0, 0, third.total.minor]


# --- 5. a link that is not valid, and a new one by e-mail ------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_link_that_is_not_valid_leads_to_a_new_one_sent_to_the_address_on_file(portal, open_tab, language):
    debtor, _invoices = portal.seed_debtor("new-link", language)
    tab = open_tab(language)
    page, _ = tab.page, tab._

    page.goto(f"{portal.url}/d/{'N' * 43}")  # no debtor known yet: the page speaks the browser's language

    expect(tab.heading()).to_have_text(_("This link is not valid"))
    tab.check("link-invalid")
    page.get_by_role("link", name=_("Send me a new link")).click()
    expect(tab.heading()).to_have_text(_("Get a new link"))
    tab.check("new-link")
    address = page.get_by_label(_("E-mail address"))
    address.fill("not an address")
    page.get_by_role("button", name=_("Send me a new link")).click()
    expect(address).to_have_attribute("aria-invalid", "true")
    tab.check()
    address.fill(debtor.emails[0])
    page.get_by_role("button", name=_("Send me a new link")).click()
    expect(tab.heading()).to_have_text(_("Check your e-mail"))
    expect(page.get_by_role("status")).to_have_text(
        _("If this address is on file, a new personal link has been sent to it.")
    )
    tab.check("new-link-sent")

    mails = portal.mails_to(debtor.emails[0])
    assert len(mails) == 1
    link = re.search(re.escape(portal.url) + r"/d/[A-Za-z0-9_\-]{43}", mails[0].text)
    assert link, "the mail carries no personal link to this portal"
    page.goto(link.group(0))
    expect(page).to_have_url(f"{portal.url}/account")
    expect(tab.heading()).to_have_text(_("Your account with %(creditor)s", creditor=CREDITOR.legal_name))
