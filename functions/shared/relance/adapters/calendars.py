"""Closed days of a creditor's country, from the `holidays` package."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from holidays import HolidayBase


@cache
def closed_days(country: str, subdivision: str | None = None) -> HolidayBase:
    """Public holidays of `country` (all years, expanded on demand), passed to the domain as a container."""
    import holidays  # slow to import: paid by the first calendar asked for, not by every cold start

    return holidays.country_holidays(country, subdiv=subdivision)
