"""Finance clears the unmatched payments queue in a real browser, in French and in English: a bank credit
that matched no invoice waits there; recorded without a debtor it is refused with the error named; given
the debtor who paid and the invoice, it pays that invoice and leaves the queue. Each state passes axe-core
(no serious or critical violation)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect
from relance.adapters.bank_payments_store import BankPaymentsStore
from relance.adapters.wiring import closed_for, policies_for
from relance.domain.money import Money
from relance.services.bank_payments import BankImportPorts, import_bank_payments
from relance.services.payments import PaymentPorts

from tests.e2e.axe import assert_accessible
from tests.e2e.live_backoffice import bo_words
from tests.e2e.live_portal import today

pytestmark = pytest.mark.browser

LANGUAGES = ("fr", "en")


@pytest.mark.parametrize("language", LANGUAGES)
def test_finance_assigns_an_unmatched_bank_payment_to_the_debtor_who_paid(stack_with_apps, page_in, language):
    portal, backoffice = stack_with_apps
    debtor, invoices = portal.seed_debtor("bank-queue", language)
    store = BankPaymentsStore(portal.table)
    amount = {"fr": "77,00", "en": "78,00"}[language]  # one waiting line per journey
    received = (today() - timedelta(days=1)).strftime("%d/%m/%Y")
    report = import_bank_payments(
        debtor.creditor_id, f"Date;Libellé;Émetteur;Montant\n{received};VIR SEPA 000123;Inconnu SA;{amount}\n"
        .encode(), "import:e2e", datetime.now(UTC), BankImportPorts(store, PaymentPorts(store, closed_for,
                                                                                       policies_for)))
    assert (report.to_json()["unmatched"], report.to_json()["errors"]) == (1, [])
    paid_before = portal.invoices_of(debtor)[invoices[1].number].paid
    page = page_in(language)

    def _(message: str, **params: object) -> str:
        return bo_words(language, message, **params)

    page.goto(f"{backoffice.url}/sign-in")
    page.get_by_label(_("Username (e-mail address)")).fill(backoffice.username)
    page.get_by_label(_("Password")).fill(backoffice.password)
    page.get_by_role("button", name=_("Sign in")).click()
    page.get_by_role("navigation", name=_("Back office")).get_by_role("link", name=_("Unmatched payments")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(_("Unmatched payments"))
    minor = int(amount.replace(",", ""))
    waiting = page.get_by_role("region").filter(has_text="VIR SEPA 000123").filter(has_text=f"{minor // 100}")
    expect(waiting).to_have_count(1)
    expect(waiting).to_contain_text("Inconnu SA")
    assert_accessible(page)

    waiting.get_by_role("button", name=_("Record the payment")).click()
    expect(page.get_by_role("alert")).to_contain_text(_("Type the account code or the name of the debtor who paid."))
    waiting = page.get_by_role("region").filter(has_text="VIR SEPA 000123").filter(has_text=f"{minor // 100}")
    expect(waiting.get_by_label(_("Debtor who paid"))).to_have_attribute("aria-invalid", "true")
    assert_accessible(page)

    # Every journey's debtor has the same name in this stack: the account code is what tells them apart.
    waiting.get_by_label(_("Debtor who paid")).fill(debtor.debtor_id)
    waiting.get_by_label(_("Invoices it pays (optional)")).fill(invoices[1].number)
    waiting.get_by_role("button", name=_("Record the payment")).click()

    expect(page.get_by_role("status")).to_contain_text(_("The payment is recorded for this debtor."))
    expect(page.get_by_role("region").filter(has_text="VIR SEPA 000123").filter(has_text=f"{minor // 100}")) \
        .to_have_count(0)
    assert_accessible(page)
    assert portal.invoices_of(debtor)[invoices[1].number].paid == paid_before + Money(minor, "EUR")
