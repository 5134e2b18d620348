"""Finance's dashboard: open and overdue totals, aging buckets, DSO, the plan queue and the riskiest debtors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol

from relance.domain.aging import Aging, aging_by_currency, dso_count_back, month_of, months_before
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.parties import Debtor
from relance.domain.risk import RiskBands, RiskScore, RiskWeights, inputs_from_open_invoices, score_risk

DSO_MONTHS = 12  # how far back the count-back may walk; a DSO beyond it is shown as a floor
TOP_RISKY = 5


class DashboardReader(Protocol):
    """What the dashboard reads: every debtor with their open invoices, the months' sales, the plan queue."""

    def open_accounts(self, creditor_id: str) -> list[tuple[Debtor, list[Invoice]]]: ...

    def sales_between(self, creditor_id: str, first_month: date, last_month: date) -> list[tuple[date, Money]]: ...

    def plan_queue(self, creditor_id: str) -> list[dict]: ...


@dataclass(frozen=True, slots=True)
class DebtorRisk:
    """A debtor and their score."""

    debtor: Debtor
    risk: RiskScore


@dataclass(frozen=True, slots=True)
class CurrencyDso:
    """DSO in one currency; `is_floor` when the balance outlived the months of sales read."""

    currency: str
    days: Decimal
    is_floor: bool


@dataclass(frozen=True, slots=True)
class Dashboard:
    """The figures of one creditor's dashboard on one day."""

    today: date
    aging: tuple[Aging, ...]  # one per currency, by currency code
    dso: tuple[CurrencyDso, ...]
    plans_awaiting: int
    riskiest: tuple[DebtorRisk, ...]  # medium and high risk first, at most TOP_RISKY


def build_dashboard(creditor_id: str, today: date, reader: DashboardReader, weights: RiskWeights = RiskWeights(),
                    bands: RiskBands = RiskBands()) -> Dashboard:
    """The dashboard of `creditor_id` on `today` (the creditor's own business date)."""
    accounts = reader.open_accounts(creditor_id)
    aging = aging_by_currency((invoice for _debtor, invoices in accounts for invoice in invoices), today)
    first_month = months_before(month_of(today), DSO_MONTHS - 1)
    sales: dict[str, dict[date, Money]] = {}
    for issued_on, amount in reader.sales_between(creditor_id, first_month, month_of(today)):
        months = sales.setdefault(amount.currency, {})
        months[month_of(issued_on)] = months.get(month_of(issued_on), Money.zero(amount.currency)) + amount
    dso = tuple(_dso(one, sales.get(currency, {}), today, first_month) for currency, one in aging.items())
    scored = [DebtorRisk(debtor, score_risk(inputs_from_open_invoices(
        invoices, today, bounced_contacts=len(debtor.undeliverable)), weights, bands))
        for debtor, invoices in accounts]
    riskiest = sorted((s for s in scored if s.risk.score > 0), key=lambda s: (-s.risk.score, s.debtor.name))
    return Dashboard(today, tuple(aging.values()), dso, len(reader.plan_queue(creditor_id)),
                     tuple(riskiest[:TOP_RISKY]))


def _dso(aging: Aging, sales: dict[date, Money], today: date, first_month: date) -> CurrencyDso:
    receivables = aging.open_total
    months = {first_month: Money.zero(aging.currency), **sales}  # the walk may go back to first_month
    days = dso_count_back(receivables, months, today)
    sold = sum((amount for amount in sales.values()), Money.zero(aging.currency))
    return CurrencyDso(aging.currency, days, receivables > sold)
