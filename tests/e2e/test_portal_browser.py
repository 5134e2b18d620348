"""A debtor opens their link in a real browser, reads what they owe, switches to English, and asks
for a new link when the old one has expired.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from werkzeug.serving import WSGIRequestHandler, make_server

from relance_portal import create_app
from tests.portal.portal_world import DEBTOR_A, World

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "assets" / "screenshots"

pytestmark = pytest.mark.browser


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code="-", size="-") -> None:  # request lines would print the link token
        pass


@pytest.fixture(scope="module")
def world() -> World:
    """Debtor A's account, links and mailer, in memory, shared with the live portal."""
    return World()


@pytest.fixture(scope="module")
def portal_url(world) -> Iterator[str]:
    """The address of a portal served on plain http in a background thread."""
    app = create_app({"SECRET_KEY": "browser-tests-session-secret", "SESSION_COOKIE_SECURE": False},
                     world.services())
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def link_of_debtor_a(portal_url, world) -> str:
    """A fresh personal link of debtor A, as the dunning worker mails and stores it."""
    return portal_url + world.link_for(DEBTOR_A)


def euro_total_in(page: Page, table_name: str) -> str:
    totals = page.get_by_role("table", name=table_name)
    euro_row = totals.get_by_role("row").filter(has=page.get_by_role("rowheader", name="EUR", exact=True))
    return euro_row.get_by_role("cell").first.text_content().strip()


def test_debtor_reads_the_balance_in_french_then_in_english(page: Page, link_of_debtor_a, portal_url):
    blocked_by_csp = []
    page.on(
        "console",
        lambda message: (
            blocked_by_csp.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    page.goto(link_of_debtor_a)

    expect(page).to_have_url(f"{portal_url}/account")  # the token left the address bar
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", level=1)).to_have_text("Votre compte chez Atelier Lumière SAS")
    assert euro_total_in(page, "Montant dû par devise") == "12\u202f345,67\u00a0€"
    invoices = page.get_by_role("region", name=re.compile("^Factures restant à régler"))
    expect(invoices.get_by_role("row", name=re.compile("FA-2026-0150"))).to_contain_text(
        "En retard de 1 jour"
    )
    page.screenshot(path=SCREENSHOTS / "portal-account.fr.png", full_page=True)

    page.get_by_role("navigation", name="Langue").get_by_role("link", name="English").click()

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account with Atelier Lumière SAS")
    assert euro_total_in(page, "Amount due by currency") == "€12,345.67"
    expect(
        page.get_by_role("navigation", name="Language").get_by_role("link", name="English")
    ).to_have_attribute("aria-current", "true")
    page.screenshot(path=SCREENSHOTS / "portal-account.en.png", full_page=True)
    assert blocked_by_csp == []


def test_keyboard_users_can_skip_straight_to_the_account(page: Page, link_of_debtor_a):
    page.goto(link_of_debtor_a)
    skip_link = page.get_by_role("link", name="Aller au contenu principal")
    hidden_box = skip_link.bounding_box()

    page.keyboard.press("Tab")

    expect(skip_link).to_be_focused()
    assert (
        hidden_box["y"] < 0 <= skip_link.bounding_box()["y"]
    )  # off-screen until focused: the stylesheet loaded
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()


def test_an_expired_link_leads_to_a_new_one_by_e_mail(page: Page, portal_url, world):
    expired = portal_url + world.link_for(DEBTOR_A, days_ago=31)
    mails_before = len(world.mailer.links)

    page.goto(expired)  # no debtor is known yet: the page speaks the browser's English
    expect(page.get_by_role("heading", level=1)).to_have_text("This link is not valid")
    page.get_by_role("link", name="Send me a new link").click()
    page.get_by_label("E-mail address").fill(DEBTOR_A.emails[0])
    page.get_by_role("button", name="Send me a new link").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Check your e-mail")
    expect(page.get_by_role("status")).to_contain_text("If this address is on file")
    assert len(world.mailer.links) == mails_before + 1
    page.goto(world.mailer.links[-1].portal_link.replace("https://portal.example", portal_url))
    expect(page).to_have_url(f"{portal_url}/account")


def test_the_code_field_is_found_by_its_label_and_the_right_code_passes(page: Page, link_of_debtor_a, world):
    page.goto(link_of_debtor_a)

    page.goto(page.url + "/verify")
    field = page.get_by_label("Code reçu par courriel")
    expect(field).to_have_attribute("autocomplete", "one-time-code")
    field.fill(world.mailer.codes[-1].code)
    page.get_by_role("button", name="Confirmer").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Votre compte chez Atelier Lumière SAS")
