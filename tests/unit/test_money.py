from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relance.domain.errors import CurrencyMismatch, InvalidAmount
from relance.domain.formatting import format_money
from relance.domain.money import MINOR_DIGITS, Money, totals_by_currency

amounts = st.integers(min_value=-(10**12), max_value=10**12)
currencies = st.sampled_from(sorted(MINOR_DIGITS))


def test_money_refuses_a_float():
    with pytest.raises(InvalidAmount):
        Money(12.5, "EUR")  # type: ignore[arg-type]


def test_money_refuses_an_unknown_currency():
    with pytest.raises(InvalidAmount, match="EUX"):
        Money(100, "EUX")


def test_adding_euros_to_pounds_is_refused():
    with pytest.raises(CurrencyMismatch):
        Money(100, "EUR") + Money(100, "GBP")


def test_comparing_euros_to_pounds_is_refused():
    with pytest.raises(CurrencyMismatch):
        assert Money(100, "EUR") < Money(200, "GBP")


def test_three_decimals_are_refused_for_euros():
    with pytest.raises(InvalidAmount, match="more than 2 decimals"):
        Money.from_decimal(Decimal("1234.567"), "EUR")


def test_french_format_groups_thousands_and_puts_the_euro_sign_after():
    assert format_money(Money(1_234_567, "EUR"), "fr") == "12\u202f345,67\u00a0€"


def test_english_format_puts_the_sign_first():
    assert format_money(Money(1_234_567, "EUR"), "en") == "€12,345.67"
    assert format_money(Money(1_234_567, "GBP"), "en") == "£12,345.67"


@given(minor=st.integers(min_value=0, max_value=10**12), parts=st.integers(min_value=1, max_value=60))
def test_split_adds_up_and_is_fair(minor, parts):
    shares = Money(minor, "EUR").split(parts)

    assert sum(s.minor for s in shares) == minor
    assert max(s.minor for s in shares) - min(s.minor for s in shares) <= 1


@given(minor=amounts, currency=currencies)
def test_decimal_round_trip_is_exact(minor, currency):
    amount = Money(minor, currency)

    assert Money.from_decimal(amount.to_decimal(), currency) == amount


@given(a=amounts, b=amounts)
def test_addition_then_subtraction_gives_back_the_amount(a, b):
    assert (Money(a, "EUR") + Money(b, "EUR")) - Money(b, "EUR") == Money(a, "EUR")


@given(values=st.lists(st.tuples(amounts, st.sampled_from(["EUR", "GBP"])), max_size=30))
def test_totals_by_currency_keep_every_minor_unit(values):
    sums = totals_by_currency([Money(m, c) for m, c in values])

    for currency in ("EUR", "GBP"):
        expected = sum(m for m, c in values if c == currency)
        assert sums.get(currency, Money.zero(currency)).minor == expected
        assert type(sums.get(currency, Money.zero(currency)).minor) is int


def test_an_invoice_paid_in_another_currency_is_refused_when_built():
    from datetime import date

    from relance.domain.errors import CurrencyMismatch
    from relance.domain.invoices import Invoice

    with pytest.raises(CurrencyMismatch, match="FA-1 is in EUR but paid in GBP"):
        Invoice("c", "d", "FA-1", date(2026, 1, 1), date(2026, 2, 1), Money(100_00, "EUR"), Money(0, "GBP"))


@given(st.lists(st.tuples(st.sampled_from(["EUR", "GBP", "JPY"]), st.integers(-10**12, 10**12)), max_size=30))
def test_totals_by_currency_add_each_currency_exactly(amounts):
    from relance.domain.money import totals_by_currency

    sums = totals_by_currency([Money(minor, currency) for currency, minor in amounts])

    assert list(sums) == sorted({currency for currency, _ in amounts})
    for currency, total in sums.items():
        assert total == Money(sum(minor for c, minor in amounts if c == currency), currency)
