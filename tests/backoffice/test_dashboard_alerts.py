"""The dashboard lists today's alerts (issue 8): newest first, each a link to its page, in French or English."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from relance.adapters.alerts_store import AlertsStore
from relance.domain.alerts import Alert, AlertKind

from tests.backoffice.backoffice_world import CREDITOR, FINANCE, OTHER_CREDITOR
from tests.backoffice.conftest import sign_in

TODAY = date(2025, 3, 31)
C = CREDITOR.creditor_id


@pytest.fixture
def alerts(world, monkeypatch):
    monkeypatch.setattr("relance_backoffice.dashboard.business_today", lambda _zone: TODAY)
    store = AlertsStore(world.store.table_name)
    store.raise_alerts([Alert(C, TODAY, AlertKind.HIGH_RISK, "d-1", "d-1", "/debtors/d-1", {"score": "64"})],
                       datetime(2025, 3, 31, 7, tzinfo=UTC))
    store.raise_alerts([Alert(C, TODAY, AlertKind.INVOICE_OVER_90, "d-2#F-9", "d-2", "/debtors/d-2",
                              {"number": "F-9", "days": "91", "amount_minor": "1234500", "currency": "EUR"})],
                       datetime(2025, 3, 31, 8, tzinfo=UTC))
    store.raise_alerts([Alert(C, date(2025, 3, 28), AlertKind.PLAN_BROKEN, "p-1", "d-3", "/plans/x/d-3/p-1")],
                       datetime(2025, 3, 28, 8, tzinfo=UTC))  # another day: not listed today
    store.raise_alerts([Alert(OTHER_CREDITOR.creditor_id, TODAY, AlertKind.HIGH_RISK, "d-9", "d-9", "/debtors/d-9")],
                       datetime(2025, 3, 31, 9, tzinfo=UTC))  # another creditor's: never listed


def test_todays_alerts_are_listed_newest_first_each_linking_its_page(client, alerts):
    sign_in(client, FINANCE)

    page = client.get("/dashboard?lang=en").get_data(as_text=True)

    over_90 = page.index('<a href="/debtors/d-2">Invoice F-9 (€12,345.00) is now more than 90 days late.</a>')
    high = page.index('<a href="/debtors/d-1">Debtor d-1 became high risk (score 64/100).</a>')
    assert over_90 < high
    assert "/plans/x/d-3/p-1" not in page and "/debtors/d-9" not in page


def test_the_alerts_read_in_french(client, alerts):
    sign_in(client, FINANCE)

    page = client.get("/dashboard?lang=fr").get_data(as_text=True)

    assert "Alertes du jour" in page
    assert "Le débiteur d-1 est passé en risque élevé (score 64/100)." in page


def test_a_day_without_alerts_says_so(client, world, monkeypatch):
    monkeypatch.setattr("relance_backoffice.dashboard.business_today", lambda _zone: TODAY)
    sign_in(client, FINANCE)

    page = client.get("/dashboard?lang=en").get_data(as_text=True)

    assert "No alert today." in page


def test_an_alert_names_the_debtor_and_an_older_one_without_a_name_shows_the_id(client, world, alerts):
    AlertsStore(world.store.table_name).raise_alerts(
        [Alert(C, TODAY, AlertKind.LARGE_AMOUNT, "d-4#EUR", "d-4", "/debtors/d-4",
               {"amount_minor": "1210000", "currency": "EUR"}, debtor_name="Garage Dupont")],
        datetime(2025, 3, 31, 10, tzinfo=UTC))
    sign_in(client, FINANCE)

    page = client.get("/dashboard?lang=en").get_data(as_text=True)

    assert '<a href="/debtors/d-4">Debtor Garage Dupont owes €12,100.00, above the alert threshold.</a>' in page
    assert "Debtor d-1 became high risk" in page  # raised before names were stored


def test_a_debtor_name_with_a_script_tag_is_escaped_in_the_alert_list(client, world, alerts):
    AlertsStore(world.store.table_name).raise_alerts(
        [Alert(C, TODAY, AlertKind.HIGH_RISK, "d-5", "d-5", "/debtors/d-5", {"score": "70"},
               debtor_name="<script>alert(1)</script> SARL")],
        datetime(2025, 3, 31, 10, tzinfo=UTC))
    sign_in(client, FINANCE)

    page = client.get("/dashboard?lang=en").get_data(as_text=True)

    assert "Debtor &lt;script&gt;alert(1)&lt;/script&gt; SARL became high risk" in page
    assert "<script>alert(1)</script>" not in page
