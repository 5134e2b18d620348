"""Closed days of a creditor's country, from the `holidays` package."""

from __future__ import annotations

from functools import cache

import holidays


@cache
def closed_days(country: str, subdivision: str | None = None) -> holidays.HolidayBase:
    """Public holidays of `country` (all years, expanded on demand), passed to the domain as a container."""
    return holidays.country_holidays(country, subdiv=subdivision)
