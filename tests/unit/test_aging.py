"""Aging buckets and DSO by the count-back method, against figures worked out by hand."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from relance.domain.aging import (
    AgingBucket,
    aging_by_currency,
    bucket_of,
    dso_count_back,
    dso_trend,
    monthly_sales,
)
from relance.domain.invoices import Invoice
from relance.domain.money import Money

TODAY = date(2025, 3, 31)


def eur(minor: int) -> Money:
    return Money(minor, "EUR")


def an_invoice(number: str = "F-1", due_on: date = TODAY, total: Money | None = None, paid: Money | None = None,
               issued_on: date | None = None, debtor_id: str = "d-1") -> Invoice:
    total = total or eur(100_00)
    return Invoice("c-1", debtor_id, number, issued_on or due_on - timedelta(days=30), due_on, total,
                   paid or Money.zero(total.currency))


def test_bucket_edges_follow_days_past_due():
    assert bucket_of(-5) is AgingBucket.NOT_DUE
    assert bucket_of(0) is AgingBucket.NOT_DUE  # due today is not late yet
    assert bucket_of(1) is AgingBucket.DAYS_1_30
    assert bucket_of(30) is AgingBucket.DAYS_1_30
    assert bucket_of(31) is AgingBucket.DAYS_31_60
    assert bucket_of(60) is AgingBucket.DAYS_31_60
    assert bucket_of(61) is AgingBucket.DAYS_61_90
    assert bucket_of(90) is AgingBucket.DAYS_61_90
    assert bucket_of(91) is AgingBucket.OVER_90


def test_aging_splits_open_balances_by_bucket_and_currency():
    invoices = [
        an_invoice("F-1", TODAY + timedelta(days=10), eur(1_000_00)),                 # not due: 1 000.00
        an_invoice("F-2", TODAY - timedelta(days=30), eur(500_00), paid=eur(120_25)),  # 30 days: 379.75
        an_invoice("F-3", TODAY - timedelta(days=31), eur(250_10)),                    # 31 days: 250.10
        an_invoice("F-4", TODAY - timedelta(days=90), eur(99_99)),                     # 90 days: 99.99
        an_invoice("F-5", TODAY - timedelta(days=91), eur(10_01)),                     # 91 days: 10.01
        an_invoice("F-6", TODAY - timedelta(days=200), eur(800_00), paid=eur(800_00)),  # settled: nothing
        an_invoice("G-1", TODAY - timedelta(days=45), Money(300_00, "GBP")),          # GBP 31–60: 300.00
    ]

    aging = aging_by_currency(invoices, TODAY)

    euros = aging["EUR"]
    assert euros.amount_in(AgingBucket.NOT_DUE) == eur(1_000_00)
    assert euros.amount_in(AgingBucket.DAYS_1_30) == eur(379_75)   # 500.00 − 120.25
    assert euros.amount_in(AgingBucket.DAYS_31_60) == eur(250_10)
    assert euros.amount_in(AgingBucket.DAYS_61_90) == eur(99_99)
    assert euros.amount_in(AgingBucket.OVER_90) == eur(10_01)
    assert euros.open_total == eur(1_739_85)     # 1 000.00 + 379.75 + 250.10 + 99.99 + 10.01
    assert euros.overdue_total == eur(739_85)    # the same without the 1 000.00 not yet due
    assert aging["GBP"].open_total == Money(300_00, "GBP")
    assert aging["GBP"].amount_in(AgingBucket.DAYS_31_60) == Money(300_00, "GBP")
    assert list(aging) == ["EUR", "GBP"]


def test_dso_counts_whole_months_then_a_share_of_the_last_one():
    sales = {date(2025, 3, 1): eur(10_000_00), date(2025, 2, 1): eur(8_000_00), date(2025, 1, 1): eur(6_000_00)}

    dso = dso_count_back(eur(15_000_00), sales, date(2025, 3, 31))

    # March whole: 31 days, 5 000 left; February: 28 × 5 000 / 8 000 = 17.5 → 48.5
    assert dso == Decimal("48.5")


def test_dso_counts_the_current_month_up_to_the_date():
    sales = {date(2025, 3, 1): eur(4_000_00), date(2025, 2, 1): eur(8_000_00), date(2025, 1, 1): eur(9_000_00)}

    dso = dso_count_back(eur(12_000_00), sales, date(2025, 3, 15))

    # March 1–15: 15 days, 8 000 left; February's 8 000 are exactly used up: 28 days → 43.0
    assert dso == Decimal("43.0")


def test_dso_rounds_half_up_to_a_tenth_of_a_day():
    sales = {date(2025, 3, 1): eur(3_000_00)}

    dso = dso_count_back(eur(1_000_00), sales, date(2025, 3, 31))

    assert dso == Decimal("10.3")  # 31 × 1/3 = 10.333…


def test_dso_is_a_floor_when_the_balance_outlives_the_sales_given():
    sales = {date(2025, 3, 1): eur(1_000_00), date(2025, 2, 1): eur(1_000_00)}

    dso = dso_count_back(eur(5_000_00), sales, date(2025, 3, 31))

    assert dso == Decimal("59.0")  # 31 + 28: every month given, whole


def test_dso_of_no_receivables_is_zero():
    assert dso_count_back(eur(0), {date(2025, 3, 1): eur(1_00)}, TODAY) == Decimal(0)
    assert dso_count_back(eur(0), {}, TODAY) == Decimal(0)


def test_monthly_sales_sum_invoice_totals_by_month_of_issue_paid_or_not():
    invoices = [an_invoice("F-1", issued_on=date(2025, 2, 3), total=eur(100_00), paid=eur(100_00)),
                an_invoice("F-2", issued_on=date(2025, 2, 28), total=eur(50_50)),
                an_invoice("F-3", issued_on=date(2025, 3, 1), total=eur(7_00))]

    sales = monthly_sales(invoices)

    assert sales == {"EUR": {date(2025, 2, 1): eur(150_50), date(2025, 3, 1): eur(7_00)}}


def test_dso_trend_gives_one_figure_per_month_end_oldest_first():
    sales = {date(2025, 1, 1): eur(6_200_00), date(2025, 2, 1): eur(5_600_00), date(2025, 3, 1): eur(3_100_00)}
    balances = {date(2025, 1, 1): eur(3_100_00), date(2025, 2, 1): eur(5_600_00), date(2025, 3, 1): eur(6_200_00)}

    trend = dso_trend(balances, sales, date(2025, 3, 1), months=3)

    # January: 31 × 3 100 / 6 200 = 15.5; February: 28 × 5 600 / 5 600 = 28.0;
    # March: 31 whole (3 100 left), then February 28 × 3 100 / 5 600 = 15.5 → 46.5
    assert trend == [(date(2025, 1, 1), Decimal("15.5")), (date(2025, 2, 1), Decimal("28.0")),
                     (date(2025, 3, 1), Decimal("46.5"))]


amounts = st.integers(min_value=0, max_value=10**9)
invoice_rows = st.lists(st.tuples(amounts, amounts, st.integers(min_value=-120, max_value=400),
                                  st.sampled_from(["EUR", "GBP", "JPY"])), max_size=30)


@given(rows=invoice_rows)
def test_bucket_totals_sum_exactly_to_the_open_total(rows):
    invoices = [an_invoice(f"F-{n}", TODAY - timedelta(days=late), Money(total, currency),
                           Money(min(paid, total), currency))
                for n, (total, paid, late, currency) in enumerate(rows)]

    aging = aging_by_currency(invoices, TODAY)

    for currency, one in aging.items():
        open_balance = sum(i.balance.minor for i in invoices if i.currency == currency and not i.is_settled())
        assert sum(amount.minor for _bucket, amount in one.buckets) == open_balance == one.open_total.minor
        assert one.overdue_total <= one.open_total


@given(receivables=st.integers(min_value=-10**9, max_value=10**9),
       sales=st.lists(st.integers(min_value=0, max_value=10**9), max_size=14),
       as_of=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)))
def test_dso_is_never_negative_and_zero_without_receivables(receivables, sales, as_of):
    months = {}
    month = as_of.replace(day=1)
    for amount in sales:
        months[month] = eur(amount)
        month = (month - timedelta(days=1)).replace(day=1)

    dso = dso_count_back(eur(receivables), months, as_of)

    assert dso >= 0
    if receivables <= 0:
        assert dso == 0
