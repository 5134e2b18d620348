"""The debtor page shows the debtor's risk (issue 8): the score the debtor watch stored, with its reasons in words,
or, for a debtor never scored, one computed now and said to be so."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from relance.adapters.alerts_store import AlertsStore
from relance.domain.risk_upkeep import RiskUpdate, StoredRisk

from tests.backoffice.backoffice_world import CREDITOR, VIEWER
from tests.backoffice.conftest import sign_in

NOW = datetime(2025, 3, 31, 7, tzinfo=UTC)


@pytest.fixture
def debtor(world):
    return world.seed_debtor("d-1", "Boulangerie Martin SARL")  # 60 and 35 days late, 2 090,50 € overdue


def figure(page: str, name: str) -> str:
    start = page.index(f'data-figure="{name}">') + len(f'data-figure="{name}">')
    return page[start:page.index("<", start)]


def test_the_debtor_page_shows_the_stored_score_band_and_reasons(client, world, debtor):
    stored = RiskUpdate(64, "high", ({"code": "risk.open_disputes", "points": 10, "params": {"count": "2"}},),
                        band_before=None)
    AlertsStore(world.store.table_name).record_risk(CREDITOR.creditor_id, "d-1", StoredRisk(), stored, None, None,
                                                    NOW)
    sign_in(client, VIEWER)

    page = client.get("/debtors/d-1?lang=en").get_data(as_text=True)

    assert (figure(page, "risk-score"), figure(page, "risk-band")) == ("64", "high risk")
    assert "2 open disputes." in page
    assert "Not scored yet" not in page


def test_a_debtor_never_scored_shows_a_score_computed_now_and_says_so(client, debtor):
    sign_in(client, VIEWER)

    page = client.get("/debtors/d-1?lang=en").get_data(as_text=True)

    # oldest 60 days late: 20 × 60/90 = 13.3 → 13; 2 090,50 € overdue: 15 × 2 090.50/10 000 = 3.1 → 3: 16, low
    assert (figure(page, "risk-score"), figure(page, "risk-band")) == ("16", "low risk")
    assert "Oldest overdue invoice: 60 days late." in page
    assert "Not scored yet" in page


def test_the_risk_reads_in_french(client, debtor):
    sign_in(client, VIEWER)

    page = client.get("/debtors/d-1?lang=fr").get_data(as_text=True)

    assert "Risque" in page and "risque faible" in page
