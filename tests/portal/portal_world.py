"""One creditor and two debtors, as the portal tests see them: A reads French, B reads English."""

from __future__ import annotations

import time
from datetime import date
from unittest import mock

from relance.adapters.links import DebtorRef, make_link_token
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.parties import Creditor, Debtor
from relance.services.accounts import InMemoryAccounts
from relance_portal import Services

LINK_SECRET = "portal-tests-link-secret"
TODAY = date(2026, 11, 23)
TEST_CONFIG = {"SECRET_KEY": "portal-tests-session-secret", "TESTING": True}

CREDITOR = Creditor(
    creditor_id="cred-atelier",
    legal_name="Atelier Lumière SAS",
    contact_email="compta@atelier-lumiere.example",
    contact_phone="+33 1 23 45 67 89",
    address="12 rue des Lilas, 75011 Paris",
)
DEBTOR_A = Debtor(creditor_id="cred-atelier", debtor_id="debtor-a", name="Boulangerie Dupont", language="fr")
DEBTOR_B = Debtor(creditor_id="cred-atelier", debtor_id="debtor-b", name="Bramble & Co Ltd", language="en")


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


class SentLinks:
    """A resend_link that records whom it was asked to mail."""

    def __init__(self) -> None:
        self.refs: list[DebtorRef] = []

    def __call__(self, ref: DebtorRef) -> None:
        self.refs.append(ref)


def build_services(sent_links: SentLinks, debtors: tuple[Debtor, ...] = (DEBTOR_A, DEBTOR_B)) -> Services:
    accounts = InMemoryAccounts([CREDITOR], list(debtors), INVOICES_OF_A + INVOICES_OF_B)
    return Services(
        accounts=accounts, link_secret=LINK_SECRET, resend_link=sent_links, today=lambda zone: TODAY
    )


def ref_of(debtor: Debtor, link_version: int | None = None) -> DebtorRef:
    version = debtor.link_version if link_version is None else link_version
    return DebtorRef(debtor.creditor_id, debtor.debtor_id, version)


def link_for(debtor: Debtor, *, link_version: int | None = None, days_ago: int = 0) -> str:
    """The path of the debtor's personal link, signed `days_ago` days ago."""
    if days_ago == 0:
        return "/d/" + make_link_token(LINK_SECRET, ref_of(debtor, link_version))
    with mock.patch("itsdangerous.timed.time") as clock:
        clock.time.return_value = time.time() - days_ago * 86_400
        return "/d/" + make_link_token(LINK_SECRET, ref_of(debtor, link_version))
