"""One creditor and two debtors, as the portal tests see them: A reads French, B reads English.

A `World` holds their accounts, the access store (links, codes, counters) and the mailer, all in
memory, with a clock the tests move; `world.link_for(debtor)` issues and stores a personal link.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from tests.portal.access_fakes import InMemoryAccess, RecordingMailer

from relance.adapters.links import issue_link
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.parties import Creditor, Debtor
from relance.services.accounts import DebtorAccount
from relance_portal import Services

LINK_SECRET = "portal-tests-link-secret"
TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
TEST_CONFIG = {"SECRET_KEY": "portal-tests-session-secret", "TESTING": True}

CREDITOR = Creditor(
    creditor_id="cred-atelier",
    legal_name="Atelier Lumière SAS",
    contact_email="compta@atelier-lumiere.example",
    contact_phone="+33 1 23 45 67 89",
    address="12 rue des Lilas, 75011 Paris",
)
DEBTOR_A = Debtor(creditor_id="cred-atelier", debtor_id="debtor-a", name="Boulangerie Dupont", language="fr",
                  emails=("compta@boulangerie-dupont.example.fr",))
DEBTOR_B = Debtor(creditor_id="cred-atelier", debtor_id="debtor-b", name="Bramble & Co Ltd", language="en",
                  emails=("accounts@bramble.example.co.uk",))


def eur(minor: int) -> Money:
    return Money(minor, "EUR")


def gbp(minor: int) -> Money:
    return Money(minor, "GBP")


def an_invoice(
    debtor: Debtor, number: str, *, issued_on: date, due_on: date, total: Money, paid: Money | None = None
) -> Invoice:
    return Invoice(
        creditor_id=debtor.creditor_id,
        debtor_id=debtor.debtor_id,
        number=number,
        issued_on=issued_on,
        due_on=due_on,
        total=total,
        paid=paid or Money.zero(total.currency),
    )


# Debtor A owes 12 345,67 € (10 000,00 € of it overdue) and £1,200.50 overdue by one day.
INVOICES_OF_A = [
    an_invoice(
        DEBTOR_A, "FA-2026-0101", issued_on=date(2026, 9, 1), due_on=date(2026, 10, 1), total=eur(10_000_00)
    ),
    an_invoice(
        DEBTOR_A,
        "FA-2026-0140",
        issued_on=date(2026, 11, 2),
        due_on=date(2026, 12, 2),
        total=eur(3_000_00),
        paid=eur(654_33),
    ),
    an_invoice(
        DEBTOR_A,
        "FA-2026-0099",
        issued_on=date(2026, 8, 1),
        due_on=date(2026, 9, 1),
        total=eur(500_00),
        paid=eur(500_00),
    ),
    an_invoice(
        DEBTOR_A, "FA-2026-0150", issued_on=date(2026, 10, 22), due_on=date(2026, 11, 22), total=gbp(1_200_50)
    ),
]
INVOICES_OF_B = [
    an_invoice(
        DEBTOR_B, "FB-2026-0777", issued_on=date(2026, 10, 1), due_on=date(2026, 11, 13), total=eur(999_99)
    ),
]


class Clock:
    """The portal's `now`, moved by the tests."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class WorldAccounts:
    """An AccountReader over the world's debtors, which a revocation changes."""

    def __init__(self, creditors: list[Creditor], debtors: dict[tuple[str, str], Debtor],
                 invoices: list[Invoice]) -> None:
        self._creditors = {c.creditor_id: c for c in creditors}
        self._debtors = debtors
        self._invoices = invoices

    def debtor_account(self, creditor_id: str, debtor_id: str) -> DebtorAccount | None:
        debtor = self._debtors.get((creditor_id, debtor_id))
        creditor = self._creditors.get(creditor_id)
        if debtor is None or creditor is None:
            return None
        mine = tuple(i for i in self._invoices if i.creditor_id == creditor_id and i.debtor_id == debtor_id)
        return DebtorAccount(creditor, debtor, mine)


class World:
    """The creditor, its debtors and their invoices, the access store, the mailer and the clock."""

    def __init__(self, debtors: tuple[Debtor, ...] = (DEBTOR_A, DEBTOR_B),
                 creditors: tuple[Creditor, ...] = (CREDITOR,)) -> None:
        self.debtors = {(d.creditor_id, d.debtor_id): d for d in debtors}
        self.accounts = WorldAccounts(list(creditors), self.debtors, INVOICES_OF_A + INVOICES_OF_B)
        self.access = InMemoryAccess(self.debtors)
        for debtor in debtors:
            self.access.put_email_index(debtor)
        self.mailer = RecordingMailer()
        self.clock = Clock()

    def services(self) -> Services:
        return Services(
            accounts=self.accounts,
            access=self.access,
            mailer=self.mailer,
            link_secret=LINK_SECRET,
            issue_link=lambda debtor, now: issue_link(debtor, now, "https://portal.example"),
            today=lambda zone: TODAY,
            now=self.clock,
        )

    def link_for(self, debtor: Debtor, *, days_ago: float = 0, max_age_days: int = 30) -> str:
        """The path of a personal link issued `days_ago` days ago, stored as the dunning worker stores it."""
        current = self.debtors.get((debtor.creditor_id, debtor.debtor_id), debtor)
        issued = issue_link(current, self.clock.now - timedelta(days=days_ago), "https://portal.example",
                            max_age_days)
        self.access.put_link(issued.item)
        return issued.url.removeprefix("https://portal.example")

    def revoke(self, debtor: Debtor) -> None:
        """Finance raises the debtor's link version, as `relance link revoke` does."""
        self.access.raise_link_version(debtor.creditor_id, debtor.debtor_id, {"action": "links_revoked",
                                                                              "actor": "tests"}, self.clock.now)


def token_of(link: str) -> str:
    return link.removeprefix("/d/")


def page_of(response) -> str:
    return response.get_data(as_text=True)


def csrf_token_in(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
