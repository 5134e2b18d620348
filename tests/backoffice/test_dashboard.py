"""The dashboard: who sees it, and figures equal to the ones worked out by hand from a fixture built here."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from relance.adapters.alerts_store import AlertsStore
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.parties import Debtor
from relance.domain.risk_upkeep import RiskUpdate, StoredRisk

from tests.backoffice.backoffice_world import CREDITOR, FINANCE, VIEWER
from tests.backoffice.conftest import sign_in

TODAY = date(2025, 3, 31)
C = CREDITOR.creditor_id


def invoice(debtor_id, number, issued_on, due_on, total, paid=0, currency="EUR", disputed=False):
    return Invoice(C, debtor_id, number, issued_on, due_on, Money(total, currency), Money(paid, currency),
                   disputed=disputed)


@pytest.fixture
def receivables(world, monkeypatch):
    """Two debtors on 31 March 2025; the figures each test expects are worked out beside each invoice."""
    monkeypatch.setattr("relance_backoffice.dashboard.business_today", lambda _zone: TODAY)
    martin = Debtor(C, "d-1", "Boulangerie Martin SARL", emails=("ap@martin.example",))
    dupont = Debtor(C, "d-2", "Garage Dupont", emails=("ap@dupont.example",))
    world.store.put_new_invoices([
        invoice("d-1", "F-101", date(2025, 3, 10), date(2025, 4, 9), 1_000_00),            # not due: 1 000.00
        invoice("d-1", "F-102", date(2025, 2, 1), date(2025, 3, 3), 500_00, paid=120_25),   # 28 days: 379.75
        invoice("d-1", "F-103", date(2025, 1, 15), date(2025, 2, 14), 250_10),             # 45 days: 250.10
        invoice("d-2", "F-201", date(2024, 12, 1), date(2024, 12, 31), 99_99),             # 90 days: 99.99
        invoice("d-2", "F-202", date(2024, 11, 1), date(2024, 12, 1), 10_01, disputed=True),  # 120 days: 10.01
        invoice("d-2", "F-203", date(2025, 3, 5), date(2025, 4, 4), 2_000_00, paid=2_000_00),  # paid: a sale only
        invoice("d-2", "G-1", date(2025, 2, 10), date(2025, 2, 20), 300_00, currency="GBP"),  # 39 days: £300.00
    ], [martin, dupont])
    # EUR open: 1 000.00 + 379.75 + 250.10 + 99.99 + 10.01 = 1 739.85; overdue: 739.85 (without F-101).
    # EUR sales in March: 1 000.00 (F-101) + 2 000.00 (F-203) = 3 000.00 ≥ 1 739.85,
    #   so DSO = 31 × 1 739.85 / 3 000 = 17.978… → 18.0 days.
    # GBP: no sales in March (31 days, £300 left), February £300 used up whole (28 days) → 59.0 days.


def figure(page: str, name: str) -> str:
    start = page.index(f'data-figure="{name}">') + len(f'data-figure="{name}">')
    return page[start:page.index("<", start)]


@pytest.mark.parametrize("username", [FINANCE, VIEWER])
def test_finance_and_viewers_see_the_dashboard(client, receivables, username):
    sign_in(client, username)

    response = client.get("/dashboard?lang=en")

    assert response.status_code == 200
    assert "Aging of receivables in EUR" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/", "/dashboard"])
def test_signed_out_the_dashboard_redirects_to_sign_in(client, path):
    response = client.get(path, follow_redirects=True)

    assert response.request.path == "/sign-in"


def test_the_front_door_leads_to_the_dashboard(client):
    sign_in(client, VIEWER)

    response = client.get("/")

    assert response.headers["Location"] == "/dashboard"


def test_totals_buckets_and_dso_equal_the_hand_computed_figures_in_english(client, receivables):
    sign_in(client, FINANCE)

    page = client.get("/dashboard?lang=en").get_data(as_text=True)

    assert figure(page, "open-EUR") == "€1,739.85"
    assert figure(page, "overdue-EUR") == "€739.85"
    assert figure(page, "EUR-not_due") == "€1,000.00"
    assert figure(page, "EUR-1_30") == "€379.75"
    assert figure(page, "EUR-31_60") == "€250.10"
    assert figure(page, "EUR-61_90") == "€99.99"
    assert figure(page, "EUR-over_90") == "€10.01"
    assert figure(page, "dso-EUR") == "18.0"
    assert figure(page, "open-GBP") == "£300.00"
    assert figure(page, "GBP-31_60") == "£300.00"
    assert figure(page, "dso-GBP") == "59.0"


def test_figures_follow_the_french_locale(client, receivables):
    sign_in(client, FINANCE)

    page = client.get("/dashboard?lang=fr").get_data(as_text=True)

    assert figure(page, "open-EUR") == "1\u202f739,85\u00a0€"
    assert figure(page, "dso-EUR") == "18,0"
    assert "Plus de 90\u00a0jours de retard" in page


def test_the_chart_prints_each_bar_value_and_uses_no_inline_style(client, receivables):
    sign_in(client, FINANCE)

    page = client.get("/dashboard?lang=en").get_data(as_text=True)

    chart = page[page.index("<svg"):page.index("</svg>")]
    assert 'class="aging-value">€379.75</text>' in chart
    assert 'width="100"' in chart  # the largest bucket, 1 000.00, is the full bar
    assert 'width="37"' in chart  # 379.75 / 1 000.00 of the scale, rounded down
    assert "style=" not in page


def test_the_riskiest_debtors_show_their_reasons(client, receivables):
    sign_in(client, FINANCE)

    page = client.get("/dashboard?lang=en").get_data(as_text=True)

    risk = page[page.index('id="risk-heading"'):]
    # Garage Dupont: oldest overdue 120 days → 20 points; one dispute → 5; £300 overdue → 0.45 → 0: 25, low.
    # Boulangerie Martin: oldest 45 days → 10; €629.85 overdue → 0.94 → 1: 11, low.
    assert risk.index("Garage Dupont") < risk.index("Boulangerie Martin SARL")
    assert "Oldest overdue invoice: 120 days late." in risk
    assert "One open dispute." in risk
    assert "€629.85 overdue." in risk


def test_the_riskiest_debtors_show_the_score_the_debtor_watch_stored(client, world, receivables):
    # computed now, Boulangerie Martin would be 11, low, "€629.85 overdue." (above); the watch stored otherwise
    stored = RiskUpdate(72, "high", ({"code": "risk.broken_commitments", "points": 15, "params": {"count": "2"}},),
                        band_before=None)
    AlertsStore(world.store.table_name).record_risk(C, "d-1", StoredRisk(), stored, None, None,
                                                    datetime(2025, 3, 31, 7, tzinfo=UTC))
    sign_in(client, FINANCE)

    page = client.get("/dashboard?lang=en").get_data(as_text=True)

    risk = page[page.index('id="risk-heading"'):]
    martin = risk[risk.index("Boulangerie Martin SARL"):risk.index("Garage Dupont")]
    assert "<td class=\"amount\">72</td>" in martin and "high risk" in martin
    assert "2 broken plans or promises." in martin
    assert "€629.85 overdue." not in risk
    assert "Oldest overdue invoice: 120 days late." in risk  # Garage Dupont, never scored: computed now


def test_the_plan_queue_count_links_to_the_queue(client, world, monkeypatch):
    monkeypatch.setattr("relance_backoffice.dashboard.business_today", lambda _zone: TODAY)
    world.propose(world.seed_debtor("d-9", "Fleurs Lenoir"))
    sign_in(client, FINANCE)

    page = client.get("/dashboard?lang=en").get_data(as_text=True)

    assert "One plan proposal awaits a decision." in page


def test_the_aged_balance_downloads_as_a_spreadsheet_file_with_the_hand_computed_buckets(client, receivables, world):
    world.store.put_new_invoices([invoice("d-3", "F-301", date(2025, 3, 1), date(2025, 3, 21), 42_00)],
                                 [Debtor(C, "d-3", "=HYPERLINK(\"http://evil.example\")", emails=("x@e.example",))])
    sign_in(client, VIEWER)

    english = client.get("/exports/aged-balance.csv?lang=en")
    french = client.get("/exports/aged-balance.csv?lang=fr")

    assert english.headers["Content-Disposition"] == 'attachment; filename="aged-balance-2025-03-31.csv"'
    rows = english.get_data().decode("utf-8-sig").splitlines()
    assert rows[0] == "Debtor,Id,Currency,Not yet due,1-30 days,31-60 days,61-90 days,Over 90 days,Total open"
    assert "Boulangerie Martin SARL,d-1,EUR,1000.00,379.75,250.10,0.00,0.00,1629.85" in rows
    assert "Garage Dupont,d-2,EUR,0.00,0.00,0.00,99.99,10.01,110.00" in rows
    assert "Garage Dupont,d-2,GBP,0.00,0.00,300.00,0.00,0.00,300.00" in rows
    assert any(row.startswith("\"'=HYPERLINK(\"\"http://evil.example\"\")\",d-3,EUR,0.00,42.00") for row in rows)
    assert "Total,,EUR,1000.00,421.75,250.10,99.99,10.01,1781.85" in rows
    assert french.headers["Content-Disposition"] == 'attachment; filename="balance-agee-2025-03-31.csv"'
    assert french.get_data().startswith("\ufeff".encode())
    assert "Boulangerie Martin SARL;d-1;EUR;1000,00;379,75;250,10;0,00;0,00;1629,85" in \
        french.get_data().decode("utf-8-sig").splitlines()


def test_signed_out_the_aged_balance_redirects_to_sign_in(client):
    response = client.get("/exports/aged-balance.csv", follow_redirects=True)

    assert response.request.path == "/sign-in"
