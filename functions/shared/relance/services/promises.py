"""A debtor promises from the portal to pay their overdue invoices by a date: dunning waits until then plus grace."""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from relance.adapters.dynamo import VersionConflict
from relance.domain.dunning import plan_next_action
from relance.domain.errors import RelanceError
from relance.domain.invoices import Invoice
from relance.domain.policy import DunningPolicy

MAX_NOTE_CHARS = 1_000
MAX_ATTEMPTS = 3


class PromiseProblem(StrEnum):
    NOT_A_DATE = "not_a_date"
    TOO_SOON = "too_soon"  # today or earlier: a promise is for a day to come
    TOO_FAR = "too_far"  # beyond the policy's max_promise_days


class PromiseRefused(RelanceError):
    """The promise form has problems; `problems` maps each field to what is wrong with it."""

    code = "promise.refused"

    def __init__(self, message: str, problems: dict[str, str], **params: object) -> None:
        super().__init__(message, problems=problems, **params)
        self.problems = problems


class NothingToPromise(RelanceError):
    """No overdue invoice that is not disputed or in a plan: there is nothing to promise for."""

    code = "promise.nothing_overdue"


@dataclass(frozen=True, slots=True)
class PromiseWindow:
    """The days a debtor may promise to pay by: from `earliest` to `latest`, both included."""

    earliest: date
    latest: date


class PromiseStore(Protocol):
    def open_invoices(self, creditor_id: str, debtor_id: str) -> list[Invoice]: ...

    def record_promise(self, invoices: list[Invoice], audit: dict[str, Any], now: datetime) -> None:
        """In one transaction; VersionConflict when an invoice changed since it was read."""


def promise_window(policy: DunningPolicy, today: date) -> PromiseWindow:
    """Tomorrow to today + the policy's `max_promise_days`."""
    return PromiseWindow(today + timedelta(days=1), today + timedelta(days=policy.max_promise_days))


def read_promise_date(text: str, policy: DunningPolicy, today: date) -> date:
    """The promised day the form gives (`YYYY-MM-DD`, as a date input sends it); PromiseRefused otherwise."""
    try:
        promised_on = date.fromisoformat(text.strip())
    except ValueError:
        raise PromiseRefused(f"expected a date as YYYY-MM-DD, got {text[:20]!r}",
                             {"promised_on": PromiseProblem.NOT_A_DATE}) from None
    window = promise_window(policy, today)
    if promised_on < window.earliest:
        raise PromiseRefused(f"the promised date must be after {today}, got {promised_on}",
                             {"promised_on": PromiseProblem.TOO_SOON}, earliest=window.earliest.isoformat())
    if promised_on > window.latest:
        raise PromiseRefused(f"the promised date must be at most {window.latest}, got {promised_on}",
                             {"promised_on": PromiseProblem.TOO_FAR}, latest=window.latest.isoformat())
    return promised_on


def promisable(invoices: list[Invoice], today: date) -> list[Invoice]:
    """The invoices a promise covers: overdue, not disputed, not in a plan; oldest due first."""
    return sorted((i for i in invoices if i.is_overdue(today) and not i.disputed and not i.in_plan),
                  key=lambda i: (i.due_on, i.number))


def promise_to_pay(
    creditor_id: str, debtor_id: str, promised_on: date, note: str, today: date, now: datetime,
    store: PromiseStore, policy: DunningPolicy, closed: Container[date],
) -> list[Invoice]:
    """Record the promise on every overdue invoice it covers, in one transaction; returns them as written.

    `promised_on` was read by `read_promise_date`. Raises NothingToPromise when nothing is overdue.
    """
    for _attempt in range(MAX_ATTEMPTS):
        covered = promisable(store.open_invoices(creditor_id, debtor_id), today)
        if not covered:
            raise NothingToPromise("no overdue invoice to promise a payment for")
        promised = []
        for invoice in covered:
            changed = replace(invoice, promised_on=promised_on)
            promised.append(replace(changed, next_action_on=plan_next_action(changed, policy, closed)))
        audit = {"action": "payment_promised", "actor": "debtor", "promised_on": promised_on.isoformat(),
                 "invoices": [i.number for i in promised], "note": note.strip()[:MAX_NOTE_CHARS] or None}
        try:
            store.record_promise(promised, audit, now)
        except VersionConflict:
            continue
        return promised
    raise VersionConflict(f"invoices of {debtor_id} kept changing while the promise was recorded")
