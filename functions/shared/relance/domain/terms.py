"""Payment terms: the due date a term rule gives, and whether agreed terms exceed the legal maximum."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

from relance.domain.errors import UnknownTermsRule

# Rule names of the domain pack (due_date_vectors.csv); N is any whole number of days.
_DAYS = re.compile(r"days_(\d+)")
_DAYS_THEN_END_OF_MONTH = re.compile(r"days_(\d+)_then_end_of_month")
_END_OF_MONTH_THEN_DAYS = re.compile(r"end_of_month_then_days_(\d+)")
DEFAULT_RULE = "days_30_default"  # L441-10 C. com.: 30 days after receipt of goods or performance


def end_of_month(day: date) -> date:
    """The last day of `day`'s month."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def due_date(start_on: date, rule: str) -> date:
    """The due date a term rule gives from its start date (invoice date, or receipt for the default).

    `days_N`: N calendar days; `days_45_then_end_of_month`: +45 days then the end of that month
    (DGCCRF method 1); `end_of_month_then_days_45`: end of the start month then +45 days (method 2);
    `days_30_default`: the legal default, 30 days from receipt of goods or performance.
    """
    if rule == DEFAULT_RULE:
        return start_on + timedelta(days=30)
    if match := _DAYS.fullmatch(rule):
        return start_on + timedelta(days=int(match[1]))
    if match := _DAYS_THEN_END_OF_MONTH.fullmatch(rule):
        return end_of_month(start_on + timedelta(days=int(match[1])))
    if match := _END_OF_MONTH_THEN_DAYS.fullmatch(rule):
        return end_of_month(start_on) + timedelta(days=int(match[1]))
    raise UnknownTermsRule(
        f"unknown payment terms rule {rule!r}; expected days_N, days_N_then_end_of_month, "
        f"end_of_month_then_days_N or {DEFAULT_RULE}",
        rule=rule,
    )


@dataclass(frozen=True, slots=True)
class PaymentTermsLimit:
    """The longest terms allowed: `days` from the invoice, or `end_of_month_days` fin de mois."""

    days: int
    end_of_month_days: int | None = None


def latest_legal_due_date(issued_on: date, limit: PaymentTermsLimit) -> date:
    """The latest due date any accepted count of the legal maximum allows for an invoice of `issued_on`.

    FR (L441-10 I): 60 days from the invoice, or 45 days fin de mois counted either way; the
    latest of the accepted counts is used so that the warning never fires on lawful terms.
    """
    candidates = [issued_on + timedelta(days=limit.days)]
    if limit.end_of_month_days is not None:
        candidates.append(due_date(issued_on, f"days_{limit.end_of_month_days}_then_end_of_month"))
        candidates.append(due_date(issued_on, f"end_of_month_then_days_{limit.end_of_month_days}"))
    return max(candidates)


def terms_exceed_legal_maximum(issued_on: date, due_on: date, limit: PaymentTermsLimit | None) -> bool:
    """True when the agreed due date is later than the jurisdiction's maximum terms allow (import warning)."""
    if limit is None:
        return False
    return due_on > latest_legal_due_date(issued_on, limit)
