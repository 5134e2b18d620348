"""The month-end snapshot of the DSO trend: taken by the daily scan on the first business day, once."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from relance.adapters.dashboard_store import DashboardStore
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.parties import Creditor, Debtor
from relance.services.daily import scan_day

FEBRUARY = date(2025, 2, 1)
FIRST_BUSINESS_DAY = date(2025, 3, 3)  # Monday: 1 and 2 March 2025 are a weekend
NOW = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)


class ListQueue:
    def __init__(self) -> None:
        self.jobs: list = []

    def send_jobs(self, jobs) -> None:
        self.jobs.extend(jobs)


def eur(minor: int) -> Money:
    return Money(minor, "EUR")


@pytest.fixture
def store(stack) -> DashboardStore:
    store = DashboardStore(stack.physical["RelanceTable"])
    store.put_creditor(Creditor("acme", "Acme SAS"))
    store.put_new_invoices([
        Invoice("acme", "d-1", "F-1", date(2025, 2, 10), date(2025, 3, 12), eur(9_000_00), eur(0)),
        Invoice("acme", "d-1", "F-2", date(2025, 1, 20), date(2025, 2, 19), eur(8_000_00), eur(2_000_00)),
        Invoice("acme", "d-1", "F-0", date(2024, 12, 20), date(2025, 1, 19), eur(10_000_00), eur(10_000_00)),
    ], [Debtor("acme", "d-1", "Boulangerie Martin SARL")])
    return store


def scan(store: DashboardStore, day: date):
    return scan_day(NOW, store, ListQueue(), lambda _creditor: set(), business_date=day, month_ends=store)


def test_the_snapshot_is_written_once_when_the_schedule_is_delivered_twice(store):
    first = scan(store, FIRST_BUSINESS_DAY)
    store.put_new_invoices([Invoice("acme", "d-2", "F-9", date(2025, 2, 27), date(2025, 3, 29), eur(50_000_00),
                                    eur(0))], [Debtor("acme", "d-2", "Garage Dupont")])

    second = scan(store, FIRST_BUSINESS_DAY)

    assert (first.month_ends_written, second.month_ends_written) == (1, 0)
    (snapshot,) = store.month_end_snapshots("acme", date(2024, 3, 1), FEBRUARY)
    (figure,) = snapshot.figures
    # 9 000.00 + 6 000.00 owed on 28 February; sales (AP13): February 9 000.00, January 8 000.00,
    # December 10 000.00: 28 + 31 × 6 000 / 8 000 = 51.25 → 51.3 days.
    assert figure.receivables == eur(15_000_00)
    assert figure.dso_days == Decimal("51.3")
    assert (snapshot.month, snapshot.taken_on) == (FEBRUARY, FIRST_BUSINESS_DAY)
    assert store.put_month_end("acme", snapshot) is False  # the conditional put alone refuses a rewrite


def test_no_snapshot_on_a_later_business_day_of_the_month(store):
    report = scan(store, date(2025, 3, 4))

    assert report.month_ends_written == 0
    assert store.month_end_snapshots("acme", date(2024, 3, 1), FEBRUARY) == []
