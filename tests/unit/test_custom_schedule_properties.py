"""Installment plans on the debtor's own dates (issue 7), properties of the terms the portal builds."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from relance.domain.calendar import next_business_day
from relance.domain.errors import InvalidSchedule
from relance.domain.money import Money
from relance.services.plans import ScheduleTerms

from tests.unit.dunning_builders import FR


@st.composite
def custom_terms(draw):
    """A debt, a down payment and strictly increasing dates, with or without closed days."""
    first_on = draw(st.dates(min_value=date(2025, 1, 1), max_value=date(2030, 12, 31)))
    gaps = draw(st.lists(st.integers(1, 120), min_size=0, max_size=35))
    dates = [first_on]
    for gap in gaps:
        dates.append(dates[-1] + timedelta(days=gap))
    debt = Money(draw(st.integers(len(dates), 10**10)), "EUR")
    down = Money(draw(st.integers(0, debt.minor - len(dates))), "EUR")
    closed = draw(st.sampled_from([frozenset[date](), FR]))
    return debt, ScheduleTerms(len(dates), first_on, down, dates=tuple(dates)), closed


@given(case=custom_terms())
def test_any_increasing_custom_dates_add_up_exactly_to_the_debt_or_are_refused_when_two_share_a_business_day(
        case):
    debt, terms, closed = case
    moved = [next_business_day(day, closed) for day in terms.dates]

    if len(set(moved)) < len(moved):  # a Saturday and the Monday after it: never silently merged
        with pytest.raises(InvalidSchedule):
            terms.schedule(debt, closed)
        return
    schedule = terms.schedule(debt, closed)

    assert schedule.total == debt
    assert schedule.down_payment == terms.down_payment
    assert [i.due_on for i in schedule] == moved
    assert all(i.amount.minor >= 1 for i in schedule)
