"""Business days: weekends and the public holidays of the creditor's country are closed."""

from __future__ import annotations

from collections.abc import Container
from datetime import date, timedelta


def is_business_day(day: date, closed: Container[date]) -> bool:
    """True on a weekday that is not a public holiday."""
    return day.weekday() < 5 and day not in closed


def next_business_day(day: date, closed: Container[date]) -> date:
    """`day` itself when it is a business day, else the first business day after it (convention C10)."""
    current = day
    while not is_business_day(current, closed):
        current += timedelta(days=1)
    return current


def add_business_days(start: date, days: int, closed: Container[date]) -> date:
    """The date `days` working days after `start`, skipping weekends and `closed` days."""
    current = start
    while days > 0:
        current += timedelta(days=1)
        if is_business_day(current, closed):
            days -= 1
    return current
