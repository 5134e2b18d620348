"""Aging buckets (balance âgée) and days sales outstanding (DSO), per currency.

DSO by the count-back method: start from the receivable balance at a date and walk back month by
month through the credit sales (invoices issued in the month). While the balance left is at least a
month's sales, that month counts whole (the current month counts its days up to the date) and its
sales are taken off the balance; the month where the balance runs out counts the share
`balance left / month's sales` of its days:

    DSO = Σ days(whole months walked) + days(last month) × balance left / sales(last month)

rounded half-up to 0.1 day. Example: 15 000 € owed on 31 March, sales 10 000 € in March and
8 000 € in February: 31 + 28 × 5 000 / 8 000 = 48.5 days.
"""

from __future__ import annotations

import calendar
import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.parties import Debtor

TENTH = Decimal("0.1")


class AgingBucket(StrEnum):
    """How late an open invoice is, in calendar days past its due date."""

    NOT_DUE = "not_due"
    DAYS_1_30 = "1_30"
    DAYS_31_60 = "31_60"
    DAYS_61_90 = "61_90"
    OVER_90 = "over_90"


# The first day past due of each late bucket, oldest last; NOT_DUE holds everything before day 1.
_LATE_BUCKETS = ((91, AgingBucket.OVER_90), (61, AgingBucket.DAYS_61_90), (31, AgingBucket.DAYS_31_60),
                 (1, AgingBucket.DAYS_1_30))


def bucket_of(days_past_due: int) -> AgingBucket:
    """The bucket of an invoice `days_past_due` days after its due date (0 or less: not due)."""
    for first_day, bucket in _LATE_BUCKETS:
        if days_past_due >= first_day:
            return bucket
    return AgingBucket.NOT_DUE


@dataclass(frozen=True, slots=True)
class Aging:
    """One currency's open balance split by age; the buckets add up exactly to `open_total`."""

    currency: str
    buckets: tuple[tuple[AgingBucket, Money], ...]  # every bucket, in AgingBucket order, zero included

    @property
    def open_total(self) -> Money:
        """Everything still owed in this currency."""
        return sum((amount for _bucket, amount in self.buckets), Money.zero(self.currency))

    @property
    def overdue_total(self) -> Money:
        """What is owed past its due date."""
        return sum((amount for bucket, amount in self.buckets if bucket is not AgingBucket.NOT_DUE),
                   Money.zero(self.currency))

    def amount_in(self, bucket: AgingBucket) -> Money:
        return dict(self.buckets)[bucket]


def aging_by_currency(invoices: Iterable[Invoice], today: date) -> dict[str, Aging]:
    """The open balance of `invoices` on `today`, by currency and bucket; settled invoices count for nothing."""
    sums: dict[str, dict[AgingBucket, Money]] = {}
    for invoice in invoices:
        if invoice.is_settled():
            continue
        currency = invoice.currency
        buckets = sums.setdefault(currency, {bucket: Money.zero(currency) for bucket in AgingBucket})
        bucket = bucket_of((today - invoice.due_on).days)
        buckets[bucket] = buckets[bucket] + invoice.balance
    return {currency: Aging(currency, tuple((bucket, buckets[bucket]) for bucket in AgingBucket))
            for currency, buckets in sorted(sums.items())}


def month_of(day: date) -> date:
    """The first day of `day`'s month: how monthly sales are keyed."""
    return day.replace(day=1)


def monthly_sales(invoices: Iterable[Invoice]) -> dict[str, dict[date, Money]]:
    """Credit sales per currency and month of issue (the invoice's total, paid or not)."""
    sales: dict[str, dict[date, Money]] = {}
    for invoice in invoices:
        months = sales.setdefault(invoice.currency, {})
        month = month_of(invoice.issued_on)
        months[month] = months.get(month, Money.zero(invoice.currency)) + invoice.total
    return sales


def _previous_month(month: date) -> date:
    return (month.replace(day=1) - date.resolution).replace(day=1)


def months_before(month: date, count: int) -> date:
    """The first day of the month `count` months before `month`'s (after it when `count` is negative)."""
    index = month.year * 12 + month.month - 1 - count
    return date(index // 12, index % 12 + 1, 1)


def months_between(first_month: date, last_month: date) -> list[date]:
    """The first day of every month from `first_month`'s to `last_month`'s, both included."""
    months: list[date] = []
    month = month_of(first_month)
    while month <= last_month:
        months.append(month)
        month = months_before(month, -1)
    return months


def dso_count_back(receivables: Money, sales: Mapping[date, Money], as_of: date) -> Decimal:
    """Days sales outstanding on `as_of` by the count-back method, to 0.1 day (see the module docstring).

    `sales` maps the first day of a month to that month's credit sales, in the receivables' currency.
    The walk stops at the earliest month given: a balance larger than all those sales gives the days
    walked, a floor. Zero or negative receivables give 0.
    """
    if not receivables.is_positive():
        return Decimal(0)
    earliest = min(sales, default=month_of(as_of))
    left = receivables
    days = Decimal(0)
    month = month_of(as_of)
    month_days = as_of.day  # the current month counts up to the date itself
    while month >= earliest:
        sold = sales.get(month, Money.zero(receivables.currency))
        if left <= sold:
            days += Decimal(month_days) * Decimal(left.minor) / Decimal(sold.minor)
            break
        days += month_days
        left = left - sold
        month = _previous_month(month)
        month_days = calendar.monthrange(month.year, month.month)[1]
    return days.quantize(TENTH, rounding=ROUND_HALF_UP)


def month_end(month: date) -> date:
    """The last day of `month`'s month."""
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def dso_trend(month_end_balances: Mapping[date, Money], sales: Mapping[date, Money], last_month: date,
              months: int = 12) -> list[tuple[date, Decimal]]:
    """DSO at the end of each of the `months` months up to `last_month`, oldest first.

    `month_end_balances` maps a month's first day to the receivables on its last day; a month without a
    balance is left out of the trend.
    """
    trend: list[tuple[date, Decimal]] = []
    month = month_of(last_month)
    for _ in range(months):
        if month in month_end_balances:
            trend.append((month, dso_count_back(month_end_balances[month], sales, month_end(month))))
        month = _previous_month(month)
    return list(reversed(trend))



def dso_within(receivables: Money, sales: Mapping[date, Money], as_of: date, months: int) -> tuple[Decimal, bool]:
    """DSO on `as_of`, walking back at most `months` months (`as_of`'s own included), and whether it is a floor:
    True when the balance is larger than all the sales of those months, so the days walked are a minimum.
    """
    first_month = months_before(month_of(as_of), months - 1)
    window = {month: sold for month, sold in sales.items() if first_month <= month <= month_of(as_of)}
    days = dso_count_back(receivables, {first_month: Money.zero(receivables.currency), **window}, as_of)
    sold = sum(window.values(), Money.zero(receivables.currency))
    return days, receivables > sold


# --- month-end snapshots: the DSO trend -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MonthEndFigure:
    """One currency's receivables at a month's end and the DSO they gave; `is_floor` as in `dso_within`."""

    receivables: Money
    dso_days: Decimal
    is_floor: bool

    @property
    def currency(self) -> str:
        return self.receivables.currency


@dataclass(frozen=True, slots=True)
class MonthEndSnapshot:
    """A creditor's receivables and DSO per currency at the end of `month` (its first day), taken on `taken_on`."""

    month: date
    taken_on: date
    figures: tuple[MonthEndFigure, ...]  # one per currency with something owed, by currency code

    def figure_in(self, currency: str) -> MonthEndFigure:
        """The figure in `currency`; a currency the snapshot does not hold was owed nothing (0 days)."""
        for figure in self.figures:
            if figure.currency == currency:
                return figure
        return MonthEndFigure(Money.zero(currency), Decimal(0), False)


def month_end_snapshot(invoices: Iterable[Invoice], sales: Mapping[str, Mapping[date, Money]], month: date,
                       taken_on: date, months: int = 12) -> MonthEndSnapshot:
    """The receivables at the end of `month` and their DSO over `months` months of `sales` (per currency, then
    month), from the invoices still open on `taken_on`, a few days later.

    Invoices issued after the month's end are left out. Money received between the month's end and `taken_on`
    is already off the balances, so the receivables can be a little low: the gap is the days up to the first
    business day of the next month, when the daily scan takes the snapshot.
    """
    last_day = month_end(month)
    balances: dict[str, Money] = {}
    for invoice in invoices:
        if invoice.is_settled() or invoice.issued_on > last_day:
            continue
        balances[invoice.currency] = balances.get(invoice.currency, Money.zero(invoice.currency)) + invoice.balance
    figures = tuple(MonthEndFigure(owed, *dso_within(owed, sales.get(currency, {}), last_day, months))
                    for currency, owed in sorted(balances.items()) if owed.is_positive())
    return MonthEndSnapshot(month_of(month), taken_on, figures)


@dataclass(frozen=True, slots=True)
class TrendMonth:
    """One month of a DSO trend; `figure` is None when no snapshot was taken that month (never guessed)."""

    month: date
    figure: MonthEndFigure | None


def month_end_trend(snapshots: Iterable[MonthEndSnapshot], currency: str, last_month: date,
                    months: int = 12) -> tuple[TrendMonth, ...]:
    """The `months` month-ends up to `last_month`'s in `currency`, oldest first, each with its snapshot's figure."""
    taken = {snapshot.month: snapshot for snapshot in snapshots}
    window = months_between(months_before(month_of(last_month), months - 1), month_of(last_month))
    return tuple(TrendMonth(month, taken[month].figure_in(currency) if month in taken else None)
                 for month in window)


# --- the aged balance as a CSV file for a spreadsheet --------------------------------------------

_AGED_WORDS = {
    "fr": {"debtor": "Débiteur", "debtor_id": "Identifiant", "currency": "Devise", "not_due": "À échoir",
           "1_30": "1 à 30 jours", "31_60": "31 à 60 jours", "61_90": "61 à 90 jours",
           "over_90": "Plus de 90 jours", "open": "Total ouvert", "total_row": "Total"},
    "en": {"debtor": "Debtor", "debtor_id": "Id", "currency": "Currency", "not_due": "Not yet due",
           "1_30": "1-30 days", "31_60": "31-60 days", "61_90": "61-90 days", "over_90": "Over 90 days",
           "open": "Total open", "total_row": "Total"},
}


def aged_balance_csv(accounts: Iterable[tuple[Debtor, Iterable[Invoice]]], today: date, language: str) -> bytes:
    """The aged balance: one row per debtor and currency, the buckets then the open total, and a total row
    per currency. Excel's dialect per language (UTF-8 with a BOM; `;` and decimal commas in French), and
    every cell through `csv_safe`, so that a debtor named `=HYPERLINK(...)` stays text.
    """
    from relance.domain.statement import csv_amount, csv_safe

    language = language if language in _AGED_WORDS else "en"
    words = _AGED_WORDS[language]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if language == "fr" else ",", lineterminator="\r\n")

    def row(cells: Iterable[str]) -> None:
        writer.writerow([csv_safe(cell) for cell in cells])

    row([words["debtor"], words["debtor_id"], words["currency"], *(words[b.value] for b in AgingBucket),
         words["open"]])
    totals: dict[str, list[Aging]] = {}
    for debtor, invoices in sorted(accounts, key=lambda account: (account[0].name.casefold(), account[0].debtor_id)):
        for currency, aging in aging_by_currency(invoices, today).items():
            if not aging.open_total.is_positive():
                continue
            totals.setdefault(currency, []).append(aging)
            row([debtor.name, debtor.debtor_id, currency,
                 *(csv_amount(aging.amount_in(b), language) for b in AgingBucket), csv_amount(aging.open_total, language)])
    for currency, agings in sorted(totals.items()):
        sums = [sum((a.amount_in(b) for a in agings), Money.zero(currency)) for b in AgingBucket]
        row([words["total_row"], "", currency, *(csv_amount(s, language) for s in sums),
             csv_amount(sum(sums, Money.zero(currency)), language)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
