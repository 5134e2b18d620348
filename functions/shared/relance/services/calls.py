"""Finance records the outcome of a call task; the outcome feeds the engine."""

from __future__ import annotations

from collections.abc import Callable, Container
from dataclasses import replace
from datetime import date, datetime
from enum import StrEnum

from relance.adapters.dynamo import DynamoStore, VersionConflict
from relance.domain.dunning import plan_next_action
from relance.domain.errors import RelanceError
from relance.domain.parties import Creditor
from relance.domain.policy import PolicyBook
from relance.services.promises import promisable, promise_window


class CallOutcome(StrEnum):
    REACHED = "reached"  # spoke to them, nothing agreed: dunning carries on
    NOT_REACHED = "not_reached"  # nobody answered: recorded, dunning carries on
    PROMISE = "promise"  # they promised to pay by a date: dunning waits until then plus grace
    DISPUTE = "dispute"  # they dispute the invoices: dunning pauses until finance resolves it
    WRONG_NUMBER = "wrong_number"  # the number is wrong: recorded, dunning carries on by its other channels


class TaskNotOpen(RelanceError):
    code = "task.not_open"


class PromiseOutsidePolicy(RelanceError):
    code = "promise.outside_policy"


def record_call_outcome(
    creditor_id: str, task_key: str, outcome: CallOutcome, today: date, now: datetime, actor: str,
    store: DynamoStore, closed_for: Callable[[Creditor], Container[date]],
    policies_for: Callable[[Creditor], PolicyBook], promised_on: date | None = None, note: str | None = None,
) -> None:
    """Close the call task with its outcome, and pause the invoices it covers when the debtor promised or disputed."""
    task = store.get_task(creditor_id, task_key)
    creditor = store.get_creditor(creditor_id)
    if task is None or creditor is None or task.get("status") != "open":
        raise TaskNotOpen(f"no open task {task_key!r} for creditor {creditor_id!r}", task=task_key)
    debtor, invoices = store.debtor_with_invoices(creditor_id, task["debtor_id"])
    policy = policies_for(creditor).for_debtor(debtor.kind, debtor.risk_band)
    closed = closed_for(creditor)
    covered = [i for i in invoices if i.number in set(task.get("invoices", [])) and not i.is_settled()]
    changed = []
    if outcome is CallOutcome.PROMISE:
        window = promise_window(policy, today)  # the portal's window: from tomorrow to max_promise_days
        if promised_on is None or not window.earliest <= promised_on <= window.latest:
            raise PromiseOutsidePolicy(
                f"a promise needs a date between {window.earliest} and {window.latest}, got {promised_on}",
                maximum_days=policy.max_promise_days, earliest=window.earliest.isoformat(),
                latest=window.latest.isoformat())
        # The same invoices as a promise made on the portal: every overdue one not disputed or in a plan.
        covered = promisable(invoices, today)
        changed = [replace(i, promised_on=promised_on) for i in covered]
    elif outcome is CallOutcome.DISPUTE:
        changed = [replace(i, disputed=True) for i in covered]
    changed = [replace(i, next_action_on=plan_next_action(i, policy, closed)) for i in changed]
    try:
        _close(store, creditor_id, task_key, outcome, promised_on, note, actor, changed, covered, task, now)
    except VersionConflict:
        again = store.get_task(creditor_id, task_key)
        if again is None or again.get("status") != "open":  # another finance user recorded it first
            raise TaskNotOpen(f"task {task_key!r} was closed meanwhile", task=task_key) from None
        raise


def _close(store: DynamoStore, creditor_id: str, task_key: str, outcome: CallOutcome, promised_on: date | None,
           note: str | None, actor: str, changed: list, covered: list, task: dict, now: datetime) -> None:
    store.close_task(
        creditor_id, task_key,
        outcome={"result": outcome.value, "promised_on": promised_on.isoformat() if promised_on else None,
                 "note": note, "by": actor},
        invoices=changed,
        audit={"debtor_id": task["debtor_id"], "action": f"call_{outcome.value}", "actor": actor,
               "task": task_key, "invoices": [i.number for i in covered],
               "promised_on": promised_on.isoformat() if promised_on else None},
        now=now,
    )
