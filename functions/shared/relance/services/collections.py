"""The collections export: the payments a creditor received in a period, as a CSV file for finance."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Protocol

from relance.domain.collections import Collection, collections_csv
from relance.domain.errors import RelanceError
from relance.domain.parties import Debtor

MAX_PERIOD_DAYS = 366


class PeriodRefused(RelanceError):
    """The period asked for is not one; `problems` maps `from`/`to` to the code of what is wrong."""

    code = "period.refused"

    def __init__(self, message: str, problems: dict[str, str]) -> None:
        super().__init__(message, problems=problems)
        self.problems = problems


class CollectionsStore(Protocol):
    def collections_between(self, creditor_id: str, first: date, last: date) -> list[Collection]: ...

    def get_debtors(self, creditor_id: str, debtor_ids: Iterable[str]) -> dict[str, Debtor]: ...


def read_period(from_text: str, to_text: str, today: date) -> tuple[date, date]:
    """The period's first and last days; empty texts mean the current month up to today."""
    problems: dict[str, str] = {}
    first = last = None
    try:
        first = date.fromisoformat(from_text) if from_text else today.replace(day=1)
    except ValueError:
        problems["from"] = "not_a_date"
    try:
        last = date.fromisoformat(to_text) if to_text else today
    except ValueError:
        problems["to"] = "not_a_date"
    if first is not None and last is not None:
        if last < first:
            problems["to"] = "before_from"
        elif last - first > timedelta(days=MAX_PERIOD_DAYS):
            problems["to"] = "too_long"
    if problems or first is None or last is None:
        raise PeriodRefused(f"the period has problems: {sorted(problems)}", problems)
    return first, last


def collections_export(creditor_id: str, first: date, last: date, language: str, store: CollectionsStore) -> bytes:
    """Every payment received from `first` to `last`, one row per invoice it paid, in the reader's language."""
    collected = store.collections_between(creditor_id, first, last)
    debtors = store.get_debtors(creditor_id, {c.debtor_id for c in collected}) if collected else {}
    return collections_csv(collected, {d: debtor.name for d, debtor in debtors.items()}, language)
