"""Collected this month and the month-end DSO trend, against figures worked out by hand."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

from relance.domain.aging import MonthEndSnapshot, month_end_snapshot, month_end_trend
from relance.domain.collections import Collection, collected_by_currency, collections_csv
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.payments import Allocation

FEBRUARY = date(2025, 2, 1)
TAKEN_ON = date(2025, 3, 3)  # Monday: 1 and 2 March 2025 are a weekend


def eur(minor: int) -> Money:
    return Money(minor, "EUR")


def gbp(minor: int) -> Money:
    return Money(minor, "GBP")


def an_invoice(number: str, issued_on: date, total: Money, paid: Money | None = None) -> Invoice:
    return Invoice("acme", "d-1", number, issued_on, issued_on, total, paid or Money.zero(total.currency))


def a_payment(payment_id: str, amount: Money, allocations: tuple[Allocation, ...] = (),
              credit: Money | None = None) -> Collection:
    return Collection(date(2025, 3, 5), "d-1", payment_id, amount, allocations, credit, "bank_transfer")


def test_collected_is_what_the_allocations_and_credits_add_up_to_per_currency():
    payments = [
        a_payment("p-1", eur(1_500_00), (Allocation("F-1", eur(1_000_00)), Allocation("F-2", eur(400_00))),
                  credit=eur(100_00)),                       # 1 000.00 + 400.00 + 100.00 credit
        a_payment("p-2", eur(250_55)),                      # named no invoice: its amount, 250.55
        a_payment("p-3", eur(80_00), (Allocation("F-3", eur(80_00)),), credit=eur(0)),  # a zero credit adds no line
        a_payment("p-4", gbp(300_00), (Allocation("G-1", gbp(300_00)),)),
    ]

    collected = collected_by_currency(payments)

    assert collected == {"EUR": eur(1_830_55), "GBP": gbp(300_00)}
    assert list(collected) == ["EUR", "GBP"]


def test_collected_equals_the_sum_of_the_collections_export_amount_column():
    payments = [
        a_payment("p-1", eur(1_500_00), (Allocation("F-1", eur(1_000_00)),), credit=eur(500_00)),
        a_payment("p-2", eur(12_34)),
        a_payment("p-3", gbp(7_00), (Allocation("G-1", gbp(7_00)),)),
    ]
    rows = list(csv.DictReader(io.StringIO(collections_csv(payments, {}, "en").decode("utf-8-sig"))))

    exported: dict[str, int] = {}
    for row in rows:
        exported[row["Currency"]] = exported.get(row["Currency"], 0) + round(Decimal(row["Amount"]) * 100)

    assert {currency: money.minor for currency, money in collected_by_currency(payments).items()} == exported


def test_nothing_collected_gives_no_currency():
    assert collected_by_currency([]) == {}


def test_month_end_dso_counts_back_from_the_last_day_of_the_month():
    invoices = [
        an_invoice("F-1", date(2025, 2, 10), eur(9_000_00)),
        an_invoice("F-2", date(2025, 1, 20), eur(8_000_00), paid=eur(2_000_00)),  # 6 000.00 still owed
        an_invoice("F-3", date(2025, 3, 2), eur(4_000_00)),                      # issued after the month's end
        an_invoice("F-4", date(2025, 1, 5), eur(1_000_00), paid=eur(1_000_00)),  # settled
    ]
    sales = {"EUR": {date(2025, 2, 1): eur(10_000_00), date(2025, 1, 1): eur(8_000_00)}}

    snapshot = month_end_snapshot(invoices, sales, FEBRUARY, TAKEN_ON)

    # Receivables on 28 February: 9 000.00 + 6 000.00 = 15 000.00. February's 10 000.00 of sales is used up
    # whole (28 days), 5 000.00 is left against January's 8 000.00: 28 + 31 × 5 000 / 8 000 = 47.375 → 47.4.
    (figure,) = snapshot.figures
    assert figure.receivables == eur(15_000_00)
    assert figure.dso_days == Decimal("47.4")
    assert figure.is_floor is False
    assert (snapshot.month, snapshot.taken_on) == (FEBRUARY, TAKEN_ON)


def test_month_end_dso_beyond_twelve_months_of_sales_is_a_floor_of_the_days_walked():
    invoices = [an_invoice("G-1", date(2024, 1, 15), gbp(500_00))]
    sales = {"GBP": {date(2025, 2, 1): gbp(100_00), date(2024, 2, 1): gbp(1_000_00)}}  # Feb 2024 is outside

    (figure,) = month_end_snapshot(invoices, sales, FEBRUARY, TAKEN_ON).figures

    # March 2024 to February 2025 walked whole: 31+30+31+30+31+31+30+31+30+31+31+28 = 365 days.
    assert figure.dso_days == Decimal("365.0")
    assert figure.is_floor is True


def test_a_month_end_with_nothing_owed_holds_no_figure():
    snapshot = month_end_snapshot([an_invoice("F-1", date(2025, 2, 1), eur(10_00), paid=eur(10_00))],
                                  {}, FEBRUARY, TAKEN_ON)

    assert snapshot.figures == ()


def test_the_trend_has_twelve_months_oldest_first_and_no_data_where_no_snapshot_was_taken():
    february = month_end_snapshot([an_invoice("F-1", date(2025, 2, 10), eur(3_100_00))],
                                  {"EUR": {FEBRUARY: eur(3_100_00)}}, FEBRUARY, TAKEN_ON)  # 28 days
    december = MonthEndSnapshot(date(2024, 12, 1), date(2025, 1, 2), ())  # nothing owed at the end of December

    trend = month_end_trend([february, december], "EUR", FEBRUARY)

    assert [row.month for row in trend] == [date(2024, m, 1) for m in range(3, 13)] + [date(2025, 1, 1), FEBRUARY]
    assert [row.month for row in trend if row.figure is None] == [date(2024, m, 1) for m in range(3, 12)] + [
        date(2025, 1, 1)]
    assert trend[-1].figure.dso_days == Decimal("28.0")
    assert trend[-3].figure.receivables == eur(0)
    assert trend[-3].figure.dso_days == Decimal(0)
