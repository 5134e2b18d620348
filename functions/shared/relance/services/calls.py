"""Finance records the outcome of a call task; the outcome feeds the engine."""

from __future__ import annotations

from collections.abc import Callable, Container
from dataclasses import replace
from datetime import date, datetime, timedelta
from enum import StrEnum

from relance.adapters.dynamo import DynamoStore
from relance.domain.dunning import plan_next_action
from relance.domain.errors import RelanceError
from relance.domain.parties import Creditor
from relance.domain.policy import PolicyBook


class CallOutcome(StrEnum):
    REACHED = "reached"  # spoke to them, nothing agreed: dunning carries on
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
        if promised_on is None or not today <= promised_on <= today + timedelta(days=policy.max_promise_days):
            raise PromiseOutsidePolicy(
                f"a promise needs a date between {today} and {today + timedelta(days=policy.max_promise_days)}, "
                f"got {promised_on}", maximum_days=policy.max_promise_days)
        changed = [replace(i, promised_on=promised_on) for i in covered]
    elif outcome is CallOutcome.DISPUTE:
        changed = [replace(i, disputed=True) for i in covered]
    changed = [replace(i, next_action_on=plan_next_action(i, policy, closed)) for i in changed]
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
