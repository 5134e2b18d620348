"""Finance's dashboard: open and overdue totals, aging buckets, DSO and its month-end trend, what was collected
this month, the plan queue and the riskiest debtors; and the month-end snapshot the daily scan takes.

The risk shown is the one DebtorWatchFunction keeps on each debtor item (services/risk_upkeep.py), so the
dashboard, the debtor page and the dunning policy's risk bands agree. A debtor whose item has not changed
since scores are kept has none yet: theirs is computed from the same inputs, and flagged as not stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol

from relance.domain.aging import (Aging, MonthEndSnapshot, TrendMonth, aging_by_currency, dso_within,
                                  month_end_snapshot, month_end_trend, month_of, months_before)
from relance.domain.collections import Collection, collected_by_currency
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.parties import Debtor
from relance.domain.risk import RiskBands, RiskScore, RiskWeights, inputs_from_open_invoices, score_risk
from relance.domain.risk_upkeep import StoredRisk, stored_score

DSO_MONTHS = 12  # how far back the count-back may walk; a DSO beyond it is shown as a floor
TREND_MONTHS = 12  # month-ends shown in the DSO trend
TOP_RISKY = 5


class DashboardReader(Protocol):
    """What the dashboard reads: every debtor with their open invoices, stored risk and broken plans, the months'
    sales, the plan queue, the month's collections and the month-end snapshots."""

    def open_accounts(self, creditor_id: str) -> list[tuple[Debtor, list[Invoice]]]: ...

    def accounts_with_risk(self, creditor_id: str) -> list[tuple[Debtor, list[Invoice], StoredRisk, int]]: ...

    def sales_between(self, creditor_id: str, first_month: date, last_month: date) -> list[tuple[date, Money]]: ...

    def plan_queue(self, creditor_id: str) -> list[dict]: ...

    def collections_between(self, creditor_id: str, first: date, last: date) -> list[Collection]: ...

    def month_end_snapshots(self, creditor_id: str, first_month: date, last_month: date) -> list[MonthEndSnapshot]: ...


class RiskReader(Protocol):
    """What the debtor page reads for the risk: the score stored on the debtor item and their broken plans."""

    def stored_risk(self, creditor_id: str, debtor_id: str) -> tuple[StoredRisk, int]: ...


class MonthEndBook(Protocol):
    """What taking a month-end snapshot reads and writes."""

    def open_accounts(self, creditor_id: str) -> list[tuple[Debtor, list[Invoice]]]: ...

    def sales_between(self, creditor_id: str, first_month: date, last_month: date) -> list[tuple[date, Money]]: ...

    def has_month_end(self, creditor_id: str, month: date) -> bool: ...

    def put_month_end(self, creditor_id: str, snapshot: MonthEndSnapshot) -> bool: ...


@dataclass(frozen=True, slots=True)
class DebtorRisk:
    """A debtor and their score; `is_stored` is False when it was computed now, the debtor item having none yet."""

    debtor: Debtor
    risk: RiskScore
    is_stored: bool = True


@dataclass(frozen=True, slots=True)
class CurrencyDso:
    """DSO in one currency; `is_floor` when the balance outlived the months of sales read."""

    currency: str
    days: Decimal
    is_floor: bool


@dataclass(frozen=True, slots=True)
class CurrencyTrend:
    """DSO at each of the last month-ends in one currency, oldest first."""

    currency: str
    months: tuple[TrendMonth, ...]


@dataclass(frozen=True, slots=True)
class Dashboard:
    """The figures of one creditor's dashboard on one day."""

    today: date
    aging: tuple[Aging, ...]  # one per currency, by currency code
    dso: tuple[CurrencyDso, ...]
    plans_awaiting: int
    riskiest: tuple[DebtorRisk, ...]  # medium and high risk first, at most TOP_RISKY
    collected: tuple[Money, ...] = ()  # this month so far, one per currency, as the collections export sums it
    trend: tuple[CurrencyTrend, ...] = ()  # one per currency owed now or at a month-end of the trend


def build_dashboard(creditor_id: str, today: date, reader: DashboardReader, weights: RiskWeights = RiskWeights(),
                    bands: RiskBands = RiskBands()) -> Dashboard:
    """The dashboard of `creditor_id` on `today` (the creditor's own business date)."""
    scored_accounts = reader.accounts_with_risk(creditor_id)
    accounts = [(debtor, invoices) for debtor, invoices, _stored, _broken in scored_accounts]
    aging = aging_by_currency((invoice for _debtor, invoices in accounts for invoice in invoices), today)
    first_month = months_before(month_of(today), DSO_MONTHS - 1)
    sales = _sales_by_currency(reader.sales_between(creditor_id, first_month, month_of(today)))
    dso = tuple(CurrencyDso(currency, *dso_within(one.open_total, sales.get(currency, {}), today, DSO_MONTHS))
                for currency, one in aging.items())
    scored = [risk_of(debtor, invoices, stored, broken, today, weights, bands)
              for debtor, invoices, stored, broken in scored_accounts]
    riskiest = sorted((s for s in scored if s.risk.score > 0), key=lambda s: (-s.risk.score, s.debtor.name))
    collected = collected_by_currency(reader.collections_between(creditor_id, month_of(today), today))
    last_month_end = months_before(month_of(today), 1)  # the current month has not ended yet
    snapshots = reader.month_end_snapshots(creditor_id, months_before(last_month_end, TREND_MONTHS - 1),
                                           last_month_end)
    currencies = sorted(set(aging) | {figure.currency for s in snapshots for figure in s.figures})
    trend = tuple(CurrencyTrend(currency, month_end_trend(snapshots, currency, last_month_end, TREND_MONTHS))
                  for currency in currencies)
    return Dashboard(today, tuple(aging.values()), dso, len(reader.plan_queue(creditor_id)),
                     tuple(riskiest[:TOP_RISKY]), tuple(collected.values()), trend)


def risk_of(debtor: Debtor, invoices: list[Invoice], stored: StoredRisk, broken_commitments: int, today: date,
            weights: RiskWeights = RiskWeights(), bands: RiskBands = RiskBands()) -> DebtorRisk:
    """The debtor's stored score; before their first, the one DebtorWatchFunction would store (same inputs)."""
    kept = stored_score(stored)
    if kept is not None:
        return DebtorRisk(debtor, kept)
    fresh = score_risk(inputs_from_open_invoices(invoices, today, broken_commitments=broken_commitments,
                                                 bounced_contacts=len(debtor.undeliverable)), weights, bands)
    return DebtorRisk(debtor, fresh, is_stored=False)


def debtor_risk(debtor: Debtor, invoices: list[Invoice], today: date, reader: RiskReader) -> DebtorRisk:
    """The risk the debtor page shows: the same score, band and reasons as the dashboard's."""
    stored, broken = reader.stored_risk(debtor.creditor_id, debtor.debtor_id)
    return risk_of(debtor, invoices, stored, broken, today)


def record_month_end(creditor_id: str, today: date, book: MonthEndBook) -> bool:
    """Take the snapshot of last month's end, once: False when it is there already (a schedule delivered twice).

    The daily scan calls it on the creditor's first business day of the month (see `month_end_snapshot`).
    """
    month = months_before(month_of(today), 1)
    if book.has_month_end(creditor_id, month):
        return False
    accounts = book.open_accounts(creditor_id)
    sales = _sales_by_currency(book.sales_between(creditor_id, months_before(month, DSO_MONTHS - 1), month))
    snapshot = month_end_snapshot((invoice for _debtor, invoices in accounts for invoice in invoices), sales,
                                  month, today, DSO_MONTHS)
    return book.put_month_end(creditor_id, snapshot)


def _sales_by_currency(lines: list[tuple[date, Money]]) -> dict[str, dict[date, Money]]:
    sales: dict[str, dict[date, Money]] = {}
    for issued_on, amount in lines:
        months = sales.setdefault(amount.currency, {})
        months[month_of(issued_on)] = months.get(month_of(issued_on), Money.zero(amount.currency)) + amount
    return sales
