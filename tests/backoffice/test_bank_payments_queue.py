"""Finance's queue of bank payments no invoice matched: listed for finance and viewers, assigned to a debtor
(the invoice is paid, the entry leaves) or dismissed with a reason by finance only, every form with CSRF."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from relance.adapters.backoffice_store import BackOfficeStore
from relance.adapters.bank_payments_store import BankPaymentsStore
from relance.adapters.wiring import closed_for, policies_for
from relance.services.bank_payments import BankImportPorts, import_bank_payments
from relance.services.payments import PaymentPorts

from tests.backoffice.backoffice_world import FINANCE, OUTSIDER, VIEWER, csrf_token, today
from tests.backoffice.conftest import sign_in


@pytest.fixture
def queued(world):
    """Debtor d-1 owes F-d-1-1 (1 250,00 €) and F-d-1-2; the bank export holds 1 250,00 € from a stranger."""
    world.seed_debtor("d-1", "Boulangerie Martin SARL")
    store, report = import_statement_line(world, "VIREMENT SOLDE", "M. ET MME BERNARD", "1 250,00")
    assert report.to_json()["unmatched"] == 1
    return store


def import_statement_line(world, label: str, payer: str, amount: str):
    """A bank export of one credit received two days ago, imported for the creditor: (store, report)."""
    store = BankPaymentsStore(world.store.table_name)
    paid_on = (today() - timedelta(days=2)).strftime("%d/%m/%Y")
    export = f"Date;Libellé;Émetteur;Montant\n{paid_on};{label};{payer};{amount}\n".encode()
    report = import_bank_payments("atelier", export, "import:test", datetime.now(UTC),
                                  BankImportPorts(store, PaymentPorts(store, closed_for, policies_for)),
                                  name="releve.csv")
    return store, report


def action_url(page: str, action: str) -> str:
    found = re.search(rf'action="(/payments/unmatched/[^"]+/{action})"', page)
    assert found, f"no {action} form on the page"
    return html.unescape(found.group(1))


def invoice(world, number: str):
    return BackOfficeStore(world.store.table_name).find_invoice("atelier", "d-1", number)


def test_finance_sees_the_waiting_payment_with_its_payer_reference_and_why(client, queued):
    sign_in(client, FINANCE)

    page = client.get("/payments/unmatched?lang=en").get_data(as_text=True)

    assert "€1,250.00" in page
    assert "M. ET MME BERNARD" in page and "VIREMENT SOLDE" in page
    assert "No open invoice number in the reference, and no debtor’s name as payer." in page
    assert 'name="debtor_id"' in page and 'value=""' in page  # nothing suggested: the bank names nobody known
    assert action_url(page, "assign") and action_url(page, "dismiss")


def test_a_payer_named_like_one_debtor_is_suggested_with_that_debtor_filled_in(client, world):
    world.seed_debtor("d-1", "Boulangerie Martin SARL")
    world.seed_debtor("d-2", "Garage Lefèvre")
    import_statement_line(world, "ACOMPTE", "BOULANGERIE MARTIN", "3,00")
    sign_in(client, FINANCE)

    page = client.get("/payments/unmatched?lang=en").get_data(as_text=True)

    assert "The payer is a debtor, but the amount matches none of their balances." in page
    assert "The bank’s details point to:" in page and "Boulangerie Martin SARL (d-1)" in page
    assert re.search(r'name="debtor_id" maxlength="200" autocomplete="off" value="d-1"', page)
    assert "Garage Lefèvre" not in page  # the other debtors are not listed, nor read


def test_finance_types_part_of_the_name_and_the_one_debtor_it_fits_is_paid(client, world, queued):
    sign_in(client, FINANCE)
    page = client.get("/payments/unmatched").get_data(as_text=True)

    response = client.post(action_url(page, "assign"), data={"debtor_id": "boulangerie martin",
                                                            "csrf_token": csrf_token(page)})

    assert response.status_code == 303
    assert invoice(world, "F-d-1-1").is_settled()
    assert queued.unmatched("atelier") == []


def test_a_name_fitting_several_debtors_or_none_is_refused_on_the_field_and_nothing_is_paid(client, world, queued):
    world.seed_debtor("d-2", "Boulangerie Martinez")
    sign_in(client, FINANCE)
    page = client.get("/payments/unmatched").get_data(as_text=True)

    several = client.post(action_url(page, "assign") + "?lang=en", data={"debtor_id": "martin",
                                                                       "csrf_token": csrf_token(page)})
    nobody = client.post(action_url(page, "assign") + "?lang=en", data={"debtor_id": "d-404",
                                                                      "csrf_token": csrf_token(page)})

    assert several.status_code == 400 and nobody.status_code == 400
    assert ("Several debtors match: Boulangerie Martin SARL (d-1), Boulangerie Martinez (d-2). Type the account code."
            in html.unescape(several.get_data(as_text=True)))
    assert "No debtor has this account code or a name containing it." in nobody.get_data(as_text=True)
    assert 'aria-invalid="true"' in nobody.get_data(as_text=True)
    assert len(queued.unmatched("atelier")) == 1
    assert not invoice(world, "F-d-1-1").is_settled()


def test_assigning_it_pays_the_invoice_and_takes_it_out_of_the_queue(client, world, queued):
    sign_in(client, FINANCE)
    page = client.get("/payments/unmatched").get_data(as_text=True)

    response = client.post(action_url(page, "assign"), data={"debtor_id": "d-1", "invoices": "F-d-1-1",
                                                            "csrf_token": csrf_token(page)})

    assert response.status_code == 303
    assert invoice(world, "F-d-1-1").is_settled()
    assert invoice(world, "F-d-1-2").balance.minor == 840_50
    assert queued.unmatched("atelier") == []
    assert "No payment is waiting." in client.get("/payments/unmatched?lang=en").get_data(as_text=True)
    audit = [a for a in BackOfficeStore(world.store.table_name).audit_of("atelier", "d-1")
             if a["action"] == "payment_received"]
    assert [(a["actor"], a["method"], a["reference"]) for a in audit] == [(f"finance:{FINANCE}", "bank_transfer",
                                                                       "VIREMENT SOLDE")]


def test_an_invoice_that_is_not_open_is_refused_on_its_field_and_the_payment_keeps_waiting(client, world, queued):
    sign_in(client, FINANCE)
    page = client.get("/payments/unmatched").get_data(as_text=True)

    response = client.post(action_url(page, "assign") + "?lang=en",
                           data={"debtor_id": "d-1", "invoices": "F-NOPE", "csrf_token": csrf_token(page)})

    assert response.status_code == 400
    assert "Name only open invoices of this debtor, in the payment’s currency." in response.get_data(as_text=True)
    [entry] = queued.unmatched("atelier")
    assert entry.assigning_to is None
    assert not invoice(world, "F-d-1-1").is_settled()


def test_dismissing_needs_a_reason_then_takes_it_out_without_paying_anything(client, world, queued):
    sign_in(client, FINANCE)
    page = client.get("/payments/unmatched").get_data(as_text=True)
    url = action_url(page, "dismiss")

    refused = client.post(url + "?lang=en", data={"reason": "  ", "csrf_token": csrf_token(page)})
    dismissed = client.post(url, data={"reason": "Remboursement de l’assurance", "csrf_token": csrf_token(page)})

    assert refused.status_code == 400
    assert "Say why this payment is not a debtor’s." in refused.get_data(as_text=True)
    assert dismissed.status_code == 303
    assert queued.unmatched("atelier") == []
    assert not invoice(world, "F-d-1-1").is_settled()


def test_a_viewer_reads_the_queue_but_is_refused_the_actions(client, world, queued):
    sign_in(client, VIEWER)
    page = client.get("/payments/unmatched?lang=en").get_data(as_text=True)
    entry_key = queued.unmatched("atelier")[0].entry_key
    url = f"/payments/unmatched/{entry_key.replace('#', '%23')}/assign"

    response = client.post(url, data={"debtor_id": "d-1", "csrf_token": csrf_token(page)})

    assert "€1,250.00" in page
    assert "/assign" not in page and "/dismiss" not in page
    assert response.status_code == 403
    assert len(queued.unmatched("atelier")) == 1
    assert not invoice(world, "F-d-1-1").is_settled()


def test_another_creditors_finance_neither_sees_nor_assigns_the_payment(client, world, queued):
    sign_in(client, OUTSIDER)
    page = client.get("/payments/unmatched?lang=en").get_data(as_text=True)
    entry_key = queued.unmatched("atelier")[0].entry_key

    response = client.post(f"/payments/unmatched/{entry_key.replace('#', '%23')}/assign",
                           data={"debtor_id": "d-1", "csrf_token": csrf_token(page)})

    assert "No payment is waiting." in page
    assert response.status_code == 303
    assert len(queued.unmatched("atelier")) == 1
    assert not invoice(world, "F-d-1-1").is_settled()


def test_an_action_without_the_csrf_token_is_refused(client, world, queued):
    sign_in(client, FINANCE)
    page = client.get("/payments/unmatched").get_data(as_text=True)

    response = client.post(action_url(page, "assign"), data={"debtor_id": "d-1"})

    assert response.status_code == 400
    assert len(queued.unmatched("atelier")) == 1
    assert not invoice(world, "F-d-1-1").is_settled()


def test_the_queue_speaks_french_by_default(client, queued):
    sign_in(client, FINANCE)

    page = client.get("/payments/unmatched").get_data(as_text=True)

    assert "Paiements non rapprochés" in page
    assert "1\u202f250,00\u00a0€" in page or "1\u00a0250,00\u00a0€" in page
    assert "Aucun numéro de facture ouverte dans la référence" in page


def test_the_dashboard_counts_the_waiting_payments(client, queued):
    sign_in(client, VIEWER)

    page = client.get("/dashboard?lang=en").get_data(as_text=True)

    assert "One bank payment waits to be matched." in page
