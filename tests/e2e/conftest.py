"""A live portal on 127.0.0.1:<free port> and Debian's chromium driven by pytest-playwright."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from relance.adapters.links import DebtorRef, make_link_token
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.parties import Creditor, Debtor
from relance.services.accounts import InMemoryAccounts
from relance_portal import Services, create_app

LINK_SECRET = "browser-tests-link-secret"
TODAY = date(2026, 11, 23)
CREDITOR = Creditor(
    creditor_id="cred-atelier",
    legal_name="Atelier Lumière SAS",
    contact_email="compta@atelier-lumiere.example",
    contact_phone="+33 1 23 45 67 89",
    address="12 rue des Lilas, 75011 Paris",
)
DEBTOR_A = Debtor(creditor_id="cred-atelier", debtor_id="debtor-a", name="Boulangerie Dupont", language="fr")


def _invoice(number: str, issued_on: date, due_on: date, total: Money, paid: Money | None = None) -> Invoice:
    return Invoice(
        creditor_id=DEBTOR_A.creditor_id,
        debtor_id=DEBTOR_A.debtor_id,
        number=number,
        issued_on=issued_on,
        due_on=due_on,
        total=total,
        paid=paid or Money.zero(total.currency),
    )


# 12 345,67 € due, 10 000,00 € of it overdue, and £1,200.50 one day late.
INVOICES = [
    _invoice("FA-2026-0101", date(2026, 9, 1), date(2026, 10, 1), Money(10_000_00, "EUR")),
    _invoice(
        "FA-2026-0140", date(2026, 11, 2), date(2026, 12, 2), Money(3_000_00, "EUR"), Money(654_33, "EUR")
    ),
    _invoice("FA-2026-0150", date(2026, 10, 22), date(2026, 11, 22), Money(1_200_50, "GBP")),
]


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


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code="-", size="-") -> None:  # request lines would print the link token
        pass


@pytest.fixture(scope="session")
def portal_url() -> Iterator[str]:
    """The address of a portal served on plain http in a background thread."""
    services = Services(
        accounts=InMemoryAccounts([CREDITOR], [DEBTOR_A], INVOICES),
        link_secret=LINK_SECRET,
        resend_link=lambda ref: None,
        today=lambda zone: TODAY,
    )
    app = create_app({"SECRET_KEY": "browser-tests-session-secret", "SESSION_COOKIE_SECURE": False}, services)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def link_of_debtor_a(portal_url) -> str:
    token = make_link_token(
        LINK_SECRET, DebtorRef(DEBTOR_A.creditor_id, DEBTOR_A.debtor_id, DEBTOR_A.link_version)
    )
    return f"{portal_url}/d/{token}"
