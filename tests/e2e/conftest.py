"""Debian's chromium, driven by pytest-playwright (never `playwright install`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.live_backoffice import LiveBackOffice, live_backoffice
from tests.e2e.live_portal import LivePortal, live_portal

BROWSER_LOCALES = {"fr": "fr-FR", "en": "en-GB"}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # Debian's chromium; `playwright install` cannot download its own build here (TOOLCHAIN.md §2).
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="module")
def stack_with_apps() -> Iterator[tuple[LivePortal, LiveBackOffice]]:
    """The portal and the back office on one local stack, shared by a test module's journeys."""
    with live_portal() as portal, live_backoffice(portal) as backoffice:
        yield portal, backoffice


@pytest.fixture
def page_in(browser: Browser):
    """Opens a fresh browser context (no cookie) in a language's locale; closes them all after the test."""
    contexts = []

    def open_page(language: str) -> Page:
        context = browser.new_context(locale=BROWSER_LOCALES[language], viewport={"width": 1024, "height": 768})
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()
