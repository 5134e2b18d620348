"""Finance pauses a debtor's dunning until a date, with a reason, and resumes it.

The pause lives on the debtor item (`dunning_paused_until`): the engine's `decide` leaves a paused
debtor alone, and each open invoice's next action moves past the pause so the daily scan's sparse
index does not even list it. Resuming clears the pause and plans the invoices again from the ladder.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from relance.adapters.dynamo import VersionConflict
from relance.domain.calendar import next_business_day
from relance.domain.dunning import plan_next_action
from relance.domain.errors import RelanceError
from relance.domain.invoices import Invoice
from relance.domain.parties import Debtor
from relance.domain.policy import DunningPolicy

MAX_REASON_CHARS = 500
MAX_PAUSE_DAYS = 366
MAX_ATTEMPTS = 3


class PauseRefused(RelanceError):
    """The pause form has problems; `problems` maps each field to the code of what is wrong with it."""

    code = "pause.refused"

    def __init__(self, message: str, problems: dict[str, str]) -> None:
        super().__init__(message, problems=problems)
        self.problems = problems


class DebtorNotFound(RelanceError):
    code = "debtor.not_found"


class NotPaused(RelanceError):
    """Resume asked for a debtor whose dunning is not paused (another finance user resumed it first)."""

    code = "pause.not_paused"


class PauseStore(Protocol):
    def dunning_view(self, creditor_id: str, debtor_id: str) -> tuple[Debtor | None, list[Invoice]]: ...

    def write_pause(self, creditor_id: str, debtor_id: str, until: date | None, reason: str | None,
                    invoices: list[Invoice], audit: dict[str, Any], now: datetime) -> None:
        """In one transaction; `until` None clears the pause (NotPaused when none is set)."""


def check_pause(until_text: str, reason: str, today: date) -> tuple[date | None, dict[str, str]]:
    """The pause's last day and every problem of the form at once, by field."""
    problems: dict[str, str] = {}
    until = None
    try:
        until = date.fromisoformat(until_text.strip())
    except ValueError:
        problems["until"] = "not_a_date"
    else:
        if until <= today:
            problems["until"] = "too_soon"
        elif until > today + timedelta(days=MAX_PAUSE_DAYS):
            problems["until"] = "too_far"
    if not reason.strip():
        problems["reason"] = "required"
    elif len(reason) > MAX_REASON_CHARS:
        problems["reason"] = "too_long"
    return until, problems


def pause_dunning(
    creditor_id: str, debtor_id: str, until_text: str, reason: str, actor: str, today: date, now: datetime,
    store: PauseStore, policy: DunningPolicy, closed: Container[date],
) -> date:
    """Pause the debtor's dunning up to and including the day `until_text` names; returns that day."""
    until, problems = check_pause(until_text, reason, today)
    if problems or until is None:
        raise PauseRefused(f"the pause form has problems: {sorted(problems)}", problems)
    resume_on = next_business_day(until + timedelta(days=1), closed)
    for _attempt in range(MAX_ATTEMPTS):
        debtor, invoices = store.dunning_view(creditor_id, debtor_id)
        if debtor is None:
            raise DebtorNotFound(f"no debtor {debtor_id!r}", debtor_id=debtor_id)
        moved = [replace(i, next_action_on=max(i.next_action_on, resume_on))
                 for i in invoices if i.next_action_on is not None and i.next_action_on < resume_on]
        audit = {"action": "dunning_paused", "actor": actor, "until": until.isoformat(), "reason": reason.strip(),
                 "before": {"paused_until": _iso(debtor.dunning_paused_until)}, "invoices": [i.number for i in moved]}
        try:
            store.write_pause(creditor_id, debtor_id, until, reason.strip(), moved, audit, now)
        except VersionConflict:
            continue
        return until
    raise VersionConflict(f"invoices of {debtor_id} kept changing while dunning was paused")


def resume_dunning(
    creditor_id: str, debtor_id: str, actor: str, now: datetime, store: PauseStore, policy: DunningPolicy,
    closed: Container[date],
) -> list[Invoice]:
    """End finance's pause now: the invoices are planned again from the ladder; returns those that moved."""
    for _attempt in range(MAX_ATTEMPTS):
        debtor, invoices = store.dunning_view(creditor_id, debtor_id)
        if debtor is None:
            raise DebtorNotFound(f"no debtor {debtor_id!r}", debtor_id=debtor_id)
        if debtor.dunning_paused_until is None:
            raise NotPaused(f"dunning of {debtor_id!r} is not paused", debtor_id=debtor_id)
        replanned = [replace(i, next_action_on=plan_next_action(i, policy, closed)) for i in invoices]
        moved = [i for i, before in zip(replanned, invoices, strict=True) if i.next_action_on != before.next_action_on]
        audit = {"action": "dunning_resumed", "actor": actor,
                 "before": {"paused_until": _iso(debtor.dunning_paused_until)}, "invoices": [i.number for i in moved]}
        try:
            store.write_pause(creditor_id, debtor_id, None, None, moved, audit, now)
        except VersionConflict:
            continue
        return moved
    raise VersionConflict(f"invoices of {debtor_id} kept changing while dunning was resumed")


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None
