"""The dashboard's collected this month and DSO trend, in English and French, from figures worked out by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from relance.adapters.dashboard_store import DashboardStore
from relance.adapters.dynamo_codec import to_dynamo
from relance.adapters.payments_store import collection_item
from relance.domain.aging import MonthEndFigure, MonthEndSnapshot
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.parties import Debtor
from relance.domain.payments import Allocation, Payment, PaymentStatus

from tests.backoffice.backoffice_world import CREDITOR, FINANCE
from tests.backoffice.conftest import sign_in
from tests.backoffice.test_dashboard import figure

TODAY = date(2025, 3, 31)
C = CREDITOR.creditor_id


def eur(minor: int) -> Money:
    return Money(minor, "EUR")


def collect(store: DashboardStore, payment_id: str, received_on: date, amount: Money,
            allocations: tuple[Allocation, ...] = (), credit: Money | None = None) -> None:
    payment = Payment(payment_id, C, "d-1", amount, PaymentStatus.SUCCEEDED, allocations=allocations, credit=credit,
                      method="bank_transfer")
    store._client.put_item(TableName=store.table_name, Item=to_dynamo(collection_item(payment, received_on)))


@pytest.fixture
def figures(world, monkeypatch):
    """On 31 March 2025: payments of March and February, and month-end snapshots of February and December."""
    monkeypatch.setattr("relance_backoffice.dashboard.business_today", lambda _zone: TODAY)
    store = DashboardStore(world.store.table_name)
    store.put_new_invoices([Invoice(C, "d-1", "F-101", date(2025, 3, 10), date(2025, 4, 9), eur(1_000_00), eur(0))],
                           [Debtor(C, "d-1", "Boulangerie Martin SARL", emails=("ap@martin.example",))])
    collect(store, "p-1", date(2025, 3, 3), eur(1_200_00), (Allocation("F-99", eur(1_000_00)),), credit=eur(200_00))
    collect(store, "p-2", date(2025, 3, 28), eur(150_50))                 # named no invoice
    collect(store, "p-3", date(2025, 2, 27), eur(9_999_00))               # February: not this month
    collect(store, "p-4", date(2025, 3, 5), Money(75_00, "GBP"), (Allocation("G-1", Money(75_00, "GBP")),))
    # EUR collected in March: 1 000.00 + 200.00 credit + 150.50 = 1 350.50; GBP: 75.00.
    store.put_month_end(C, MonthEndSnapshot(date(2025, 2, 1), date(2025, 3, 3),
                                            (MonthEndFigure(eur(15_000_00), Decimal("47.4"), False),)))
    store.put_month_end(C, MonthEndSnapshot(date(2024, 12, 1), date(2025, 1, 2),
                                            (MonthEndFigure(eur(2_500_00), Decimal("400.0"), True),)))
    # The trend ends with February 2025 (March has not ended); January 2025 has no snapshot.


def test_collected_this_month_and_the_trend_in_english(client, figures):
    sign_in(client, FINANCE)

    page = client.get("/dashboard?lang=en").get_data(as_text=True)

    assert "Collected this month" in page
    assert figure(page, "collected-EUR") == "€1,350.50"
    assert figure(page, "collected-GBP") == "£75.00"
    assert "DSO at the last 12 month-ends" in page
    assert figure(page, "trend-EUR-2025-02") == "47.4"
    assert figure(page, "receivables-EUR-2025-02") == "€15,000.00"
    assert figure(page, "trend-EUR-2024-12") == "more than 400.0"
    assert figure(page, "trend-EUR-2025-01") == "no data"
    assert figure(page, "trend-EUR-2024-03") == "no data"
    assert 'data-figure="trend-EUR-2024-02"' not in page  # twelve month-ends: March 2024 to February 2025
    assert 'data-figure="trend-EUR-2025-03"' not in page


def test_the_trend_chart_prints_each_value_and_no_data(client, figures):
    sign_in(client, FINANCE)

    page = client.get("/dashboard?lang=en").get_data(as_text=True)

    trend = page[page.index('id="trend-heading"'):]
    chart = trend[trend.index("<svg"):trend.index("</svg>")]
    assert 'class="aging-value">47.4 days</text>' in chart
    assert 'class="aging-value">more than 400.0 days</text>' in chart
    assert chart.count(">no data</text>") == 10
    assert 'width="100"' in chart  # the longest DSO, 400.0 days, is the full bar
    assert 'width="11"' in chart  # 47.4 / 400.0 of the scale, rounded down


def test_collected_this_month_and_the_trend_in_french(client, figures):
    sign_in(client, FINANCE)

    page = client.get("/dashboard?lang=fr").get_data(as_text=True)

    assert "Encaissé ce mois-ci" in page
    assert figure(page, "collected-EUR") == "1\u202f350,50\u00a0€"
    assert figure(page, "trend-EUR-2025-02") == "47,4"
    assert figure(page, "receivables-EUR-2025-02") == "15\u202f000,00\u00a0€"
    assert figure(page, "trend-EUR-2025-01") == "pas de donnée"
    assert "DSO aux 12 dernières fins de mois" in page
    assert "févr. 2025" in page


def test_nothing_collected_yet_says_so(client, world, monkeypatch):
    monkeypatch.setattr("relance_backoffice.dashboard.business_today", lambda _zone: TODAY)
    sign_in(client, FINANCE)

    page = client.get("/dashboard?lang=en").get_data(as_text=True)

    assert "No payment received since 1 March 2025." in page
    assert 'data-figure="collected-' not in page
