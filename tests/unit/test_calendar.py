import csv
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relance.adapters.calendars import closed_days
from relance.domain.calendar import add_business_days, is_business_day, next_business_day
from tests.conftest import DOMAIN

VECTORS = list(csv.DictReader((DOMAIN / "business_day_vectors.csv").open(encoding="utf-8")))


@pytest.mark.parametrize("vector", VECTORS, ids=[v["id"] for v in VECTORS])
def test_a_contact_due_on_a_closed_day_moves_to_the_next_business_day(vector):
    closed = closed_days(vector["calendar"])

    moved = next_business_day(date.fromisoformat(vector["scheduled_date"]), closed)

    assert moved == date.fromisoformat(vector["moved_to"])
    assert moved.strftime("%A") == vector["moved_weekday"]


def test_alsace_moselle_closes_good_friday():
    assert is_business_day(date(2026, 4, 3), closed_days("FR"))
    assert not is_business_day(date(2026, 4, 3), closed_days("FR", "57"))


@given(start=st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31)))
def test_next_business_day_is_open_and_never_before_the_day(start):
    closed = closed_days("FR")

    moved = next_business_day(start, closed)

    assert moved >= start
    assert is_business_day(moved, closed)
    assert (moved - start).days <= 5


@given(start=st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31)), days=st.integers(0, 30))
def test_adding_business_days_lands_on_an_open_day_after_the_start(start, days):
    closed = closed_days("FR")

    end = add_business_days(start, days, closed)

    assert end >= start
    if days:
        assert is_business_day(end, closed)
