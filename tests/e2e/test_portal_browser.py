"""A debtor opens their link in a real browser, reads what they owe, and switches to English."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "assets" / "screenshots"

pytestmark = pytest.mark.browser


def euro_total_in(page: Page, table_name: str) -> str:
    totals = page.get_by_role("table", name=table_name)
    euro_row = totals.get_by_role("row").filter(has=page.get_by_role("rowheader", name="EUR", exact=True))
    return euro_row.get_by_role("cell").first.text_content().strip()


def test_debtor_reads_the_balance_in_french_then_in_english(page: Page, link_of_debtor_a):
    blocked_by_csp = []
    page.on(
        "console",
        lambda message: (
            blocked_by_csp.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    page.goto(link_of_debtor_a)

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
