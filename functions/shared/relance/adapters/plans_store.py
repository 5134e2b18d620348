"""Installment plans in the table, beyond `DynamoStore`: the plan item, finance's queue, one transaction per change.

- the plan: `PK=CRED#<c>#DEBTOR#<d>`, `SK=PLAN#<plan_id>`, with its `state` and `version`;
- who holds a plan: `PK=CRED#<c>#PLANS`, `SK=<plan_id>` (finance decides a plan by its id);
- finance's queue: `PK=CRED#<c>#PLANQUEUE`, `SK=<proposed_at>#<plan_id>`, removed when the plan is decided;
- AP11, running plans with collection work due: the plan item carries `GSI1PK=CRED#<c>#PLANDUE`,
  `GSI1SK=<next day the collection run acts>#<debtor_id>#<plan_id>`, recomputed on every write, absent
  once the plan has nothing left to do (docs/architecture/access-patterns.en.md).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any

from relance.adapters import keys
from relance.adapters.dynamo import DynamoStore, VersionConflict, task_item
from relance.adapters.dynamo_codec import from_dynamo as _from_dynamo
from relance.adapters.dynamo_codec import to_dynamo as _to_dynamo
from relance.domain.money import Money
from relance.domain.plans import (
    DEFAULT_PLAN_RULES,
    RUNNING,
    AttemptStatus,
    Autopay,
    ChargeAttempt,
    Evaluation,
    Installment,
    Plan,
    PlanChange,
    PlanEvent,
    PlanInvoice,
    PlanProposal,
    PlanRule,
    PlanState,
    RuleBreach,
    Schedule,
    next_work_on,
)
from relance.services.plans import PlanChanged, PlanChangeWrite, StoredPlan

# --- plans as items ------------------------------------------------------------------------------


def _value_to(value: Any) -> dict[str, Any]:
    """A rule breach's limit or proposed value, tagged with its type (bool before int: bool is an int)."""
    if isinstance(value, Money):
        return {"kind": "money", "minor": value.minor, "currency": value.currency}
    if isinstance(value, date):
        return {"kind": "date", "value": value.isoformat()}
    if isinstance(value, bool):
        return {"kind": "bool", "value": value}
    if isinstance(value, int):
        return {"kind": "int", "value": value}
    return {"kind": "str", "value": str(value)}


def _value_from(item: dict[str, Any]) -> Any:
    kind = item["kind"]
    if kind == "money":
        return Money(int(item["minor"]), item["currency"])
    if kind == "date":
        return date.fromisoformat(item["value"])
    if kind == "bool":
        return bool(item["value"])
    if kind == "int":
        return int(item["value"])
    return item["value"]


def display_value(value: Any) -> str:
    """A breach value for finance's screen: amounts with their currency, dates as ISO."""
    if isinstance(value, date):
        return value.isoformat()
    return str(value).lower() if isinstance(value, bool) else str(value)


def _schedule_to(schedule: Schedule) -> dict[str, Any]:
    return {"down_payment_minor": schedule.down_payment.minor, "currency": schedule.currency,
            "installments": [{"number": i.number, "due_on": i.due_on.isoformat(), "amount_minor": i.amount.minor}
                             for i in schedule.installments]}


def _schedule_from(item: dict[str, Any]) -> Schedule:
    currency = item["currency"]
    return Schedule(Money(int(item["down_payment_minor"]), currency), tuple(
        Installment(int(i["number"]), date.fromisoformat(i["due_on"]), Money(int(i["amount_minor"]), currency))
        for i in item["installments"]))


def plan_item(stored: StoredPlan) -> dict[str, Any]:
    """The plan item, written with version + 1 (the condition checks the version read)."""
    plan = stored.plan
    evaluation = plan.evaluation
    work_on = next_work_on(plan)
    due_keys = {} if work_on is None else {
        "GSI1PK": keys.plan_due_pk(stored.creditor_id),
        "GSI1SK": keys.plan_due_sk(work_on, stored.debtor_id, plan.plan_id),
    }
    return {
        **keys.plan_key(stored.creditor_id, stored.debtor_id, plan.plan_id),
        **due_keys,
        "entity": "plan",
        "creditor_id": stored.creditor_id,
        "debtor_id": stored.debtor_id,
        "plan_id": plan.plan_id,
        "state": plan.state.value,
        "version": stored.version + 1,
        "proposed_at": stored.proposed_at,
        "proposed_on": plan.proposed_on.isoformat(),
        "accepted_on": plan.accepted_on.isoformat() if plan.accepted_on else None,
        "reason": plan.proposal.reason or None,
        "invoices": [{"number": i.number, "balance_minor": i.balance.minor, "currency": i.balance.currency}
                     for i in plan.proposal.invoices],
        "schedule": _schedule_to(plan.proposal.schedule),
        "counter": _schedule_to(plan.counter) if plan.counter is not None else None,
        "evaluation": None if evaluation is None else {
            "accepted_automatically": evaluation.accepted_automatically,
            "broken_rules": [{"rule": b.rule.value, "limit": _value_to(b.limit), "proposed": _value_to(b.proposed)}
                             for b in evaluation.broken_rules]},
        "paid_minor": list(plan.paid_minor),
        "reminded": list(plan.reminded),
        "history": [{"event": c.event.value, "from_state": c.from_state.value, "to_state": c.to_state.value,
                     "on": c.on.isoformat()} for c in plan.history],
        "log": list(stored.log),
        "autopay": None if plan.autopay is None else {
            "customer_id": plan.autopay.customer_id, "payment_method_id": plan.autopay.payment_method_id,
            "method": plan.autopay.method, "last4": plan.autopay.last4},
        "grace_days": plan.grace_days,
        "reminder_days_before": plan.reminder_days_before,
        "notified": list(plan.notified),
        "attempts": [{"number": a.number, "attempt": a.attempt, "on": a.on.isoformat(), "status": a.status.value,
                      "payment_id": a.payment_id} for a in plan.attempts],
        "checked_on": plan.checked_on.isoformat() if plan.checked_on else None,
        "next_work_on": work_on.isoformat() if work_on else None,
    }


def plan_from(item: dict[str, Any]) -> StoredPlan:
    evaluation = item.get("evaluation")
    plan = Plan(
        plan_id=item["plan_id"],
        proposal=PlanProposal(
            tuple(PlanInvoice(i["number"], Money(int(i["balance_minor"]), i["currency"])) for i in item["invoices"]),
            _schedule_from(item["schedule"]), item.get("reason") or ""),
        proposed_on=date.fromisoformat(item["proposed_on"]),
        state=PlanState(item["state"]),
        evaluation=None if evaluation is None else Evaluation(
            bool(evaluation["accepted_automatically"]),
            tuple(RuleBreach(PlanRule(b["rule"]), _value_from(b["limit"]), _value_from(b["proposed"]))
                  for b in evaluation.get("broken_rules") or ())),
        counter=_schedule_from(item["counter"]) if item.get("counter") else None,
        accepted_on=date.fromisoformat(item["accepted_on"]) if item.get("accepted_on") else None,
        paid_minor=tuple(int(m) for m in item.get("paid_minor") or ()),
        reminded=tuple(int(n) for n in item.get("reminded") or ()),
        history=tuple(PlanChange(PlanEvent(c["event"]), PlanState(c["from_state"]), PlanState(c["to_state"]),
                                 date.fromisoformat(c["on"])) for c in item.get("history") or ()),
        autopay=Autopay(**item["autopay"]) if item.get("autopay") else None,
        grace_days=int(item.get("grace_days") or DEFAULT_PLAN_RULES.grace_days),
        reminder_days_before=int(item["reminder_days_before"]) if item.get("reminder_days_before") is not None
        else DEFAULT_PLAN_RULES.reminder_days_before,
        notified=tuple(int(n) for n in item.get("notified") or ()),
        attempts=tuple(ChargeAttempt(int(a["number"]), int(a["attempt"]), date.fromisoformat(a["on"]),
                                     AttemptStatus(a["status"]), a.get("payment_id"))
                       for a in item.get("attempts") or ()),
        checked_on=date.fromisoformat(item["checked_on"]) if item.get("checked_on") else None,
    )
    return StoredPlan(item["creditor_id"], item["debtor_id"], plan, int(item["version"]), item["proposed_at"],
                      tuple(item.get("log") or ()))


def queue_item(stored: StoredPlan) -> dict[str, Any]:
    """Finance's line for a proposal: enough to list the queue without reading each plan."""
    plan = stored.plan
    breaches = plan.evaluation.broken_rules if plan.evaluation else ()
    return {
        **keys.plan_queue_key(stored.creditor_id, stored.proposed_at, plan.plan_id),
        "entity": "plan_queue",
        "creditor_id": stored.creditor_id,
        "debtor_id": stored.debtor_id,
        "plan_id": plan.plan_id,
        "proposed_at": stored.proposed_at,
        "debt_minor": plan.proposal.debt.minor,
        "currency": plan.currency,
        "installments": len(plan.schedule),
        "last_on": plan.schedule.last_on.isoformat(),
        "invoices": [i.number for i in plan.proposal.invoices],
        "broken_rules": [{"rule": b.rule.value, "code": b.code, "limit": display_value(b.limit),
                          "proposed": display_value(b.proposed)} for b in breaches],
        "reason": plan.proposal.reason or None,
    }


class PlansStore(DynamoStore):
    """DynamoStore plus installment plans: the plan item, finance's queue, one transaction per state change."""

    def find_plan(self, creditor_id: str, debtor_id: str, plan_id: str) -> StoredPlan | None:
        item = self._get(keys.plan_key(creditor_id, debtor_id, plan_id))
        return plan_from(item) if item else None

    def plan_owner(self, creditor_id: str, plan_id: str) -> str | None:
        """The debtor holding plan `plan_id`, or None when the creditor has no such plan."""
        item = self._get(keys.plan_owner_key(creditor_id, plan_id))
        return item["debtor_id"] if item else None

    def plans_of(self, creditor_id: str, debtor_id: str) -> list[StoredPlan]:
        """Every plan of a debtor, whatever its state."""
        return [plan_from(item) for item in self._query(
            KeyConditionExpression="PK = :pk AND begins_with(SK, :sk)",
            ExpressionAttributeValues={":pk": {"S": keys.debtor_pk(creditor_id, debtor_id)},
                                       ":sk": {"S": keys.PLAN_SK_PREFIX}},
            ConsistentRead=True)]

    def plan_queue(self, creditor_id: str) -> list[dict[str, Any]]:
        """Finance's queue: the proposals awaiting a decision, oldest first, with the rules each breaks."""
        return list(self._query(
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": keys.plan_queue_pk(creditor_id)}},
            ConsistentRead=True))

    def write_plan_change(self, change: PlanChangeWrite, now: datetime) -> None:
        """In one transaction: the plan (if still in the state and version read), the audit event, the invoices
        (version-checked, with the debtor's summary) and finance's queue line.

        Raises PlanChanged when the plan moved on meanwhile, VersionConflict when an invoice did.
        """
        stored = change.stored
        creditor_id, debtor_id, plan_id = stored.creditor_id, stored.debtor_id, stored.plan.plan_id
        plan_put: dict[str, Any] = {"TableName": self.table_name, "Item": _to_dynamo(plan_item(stored))}
        if change.expected_state is None:
            plan_put["ConditionExpression"] = "attribute_not_exists(PK)"
        else:
            plan_put["ConditionExpression"] = "#state = :state AND version = :version"
            plan_put["ExpressionAttributeNames"] = {"#state": "state"}
            plan_put["ExpressionAttributeValues"] = {":state": {"S": change.expected_state.value},
                                                     ":version": {"N": str(stored.version)}}
        actions: list[dict[str, Any]] = [{"Put": plan_put}, self._audit_put(creditor_id, debtor_id, change.audit, now)]
        if change.expected_state is None:
            owner = {**keys.plan_owner_key(creditor_id, plan_id), "entity": "plan_owner", "debtor_id": debtor_id}
            actions.append({"Put": {"TableName": self.table_name, "Item": _to_dynamo(owner)}})
        queue_key = keys.plan_queue_key(creditor_id, stored.proposed_at, plan_id)
        if change.queue == "put":
            actions.append({"Put": {"TableName": self.table_name, "Item": _to_dynamo(queue_item(stored))}})
        elif change.queue == "delete":
            actions.append({"Delete": {"TableName": self.table_name, "Key": _to_dynamo(queue_key)}})
        if change.task is not None:
            actions.append({"Put": {"TableName": self.table_name, "Item": _to_dynamo(task_item(change.task))}})
        invoices_from = len(actions)
        if change.invoices:
            actions.extend(self.invoice_write_actions(change.invoices))
        try:
            self._client.transact_write_items(TransactItems=actions)
        except self._client.exceptions.TransactionCanceledException as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                raise PlanChanged(plan_id) from exc
            if "ConditionalCheckFailed" in reasons[invoices_from:] or not reasons:
                raise VersionConflict(",".join(i.number for i in change.invoices)) from exc
            raise

    # --- automatic payment (relance.services.autopay) ----------------------------------------------

    def set_autopay(self, stored: StoredPlan, autopay: Autopay, audit: dict[str, Any], event_id: str | None,
                    now: datetime) -> bool:
        """In one transaction: the plan's autopay (only while the plan runs), the audit event, the Stripe
        event's record (once). False when the event was recorded meanwhile; PlanChanged when the plan
        stopped running or changed since it was read (the caller reads it again).
        """
        running = [state.value for state in RUNNING]
        # With autopay the run has work on the installment's own day (the charge): the index line moves
        # to it, computed from the plan read, so the write is conditional on that read's version.
        work_on = next_work_on(replace(stored.plan, autopay=autopay))
        index = "" if work_on is None else ", GSI1PK = :due_pk, GSI1SK = :due_sk, next_work_on = :work_on"
        index_values = {} if work_on is None else {
            ":due_pk": keys.plan_due_pk(stored.creditor_id),
            ":due_sk": keys.plan_due_sk(work_on, stored.debtor_id, stored.plan.plan_id),
            ":work_on": work_on.isoformat()}
        update = {"Update": {
            "TableName": self.table_name,
            "Key": _to_dynamo(keys.plan_key(stored.creditor_id, stored.debtor_id, stored.plan.plan_id)),
            "UpdateExpression": "SET autopay = :autopay, version = version + :one" + index,
            "ConditionExpression": "attribute_exists(PK) AND version = :read AND #state IN (" +
                                   ", ".join(f":s{n}" for n in range(len(running))) + ")",
            "ExpressionAttributeNames": {"#state": "state"},
            "ExpressionAttributeValues": _to_dynamo({
                ":autopay": _autopay_to(autopay), ":one": 1, ":read": stored.version, **index_values,
                **{f":s{n}": s for n, s in enumerate(running)}}),
        }}
        actions = [update, self._audit_put(stored.creditor_id, stored.debtor_id, audit, now)]
        if event_id:
            actions.append(_event_put(self.table_name, event_id, "autopay_set", now))
        try:
            self._client.transact_write_items(TransactItems=actions)
        except self._client.exceptions.TransactionCanceledException as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                raise PlanChanged(stored.plan.plan_id) from exc
            if event_id and len(reasons) > 2 and reasons[2] == "ConditionalCheckFailed":
                return False
            raise
        return True

    def record_refused_event(self, event_id: str, creditor_id: str, debtor_id: str, audit: dict[str, Any],
                             now: datetime) -> bool:
        """A refused Stripe event's record and its audit event, once; False when recorded meanwhile."""
        actions = [_event_put(self.table_name, event_id, str(audit.get("reason", "refused")), now),
                   self._audit_put(creditor_id, debtor_id, audit, now)]
        try:
            self._client.transact_write_items(TransactItems=actions)
        except self._client.exceptions.TransactionCanceledException as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                return False
            raise
        return True

    def clear_autopay(self, stored: StoredPlan, audit: dict[str, Any], now: datetime) -> bool:
        """Remove the plan's autopay if it is still the payment method read, with the audit event, in one
        transaction; False when it was already removed or replaced."""
        autopay = stored.plan.autopay
        if autopay is None:
            return False
        update = {"Update": {
            "TableName": self.table_name,
            "Key": _to_dynamo(keys.plan_key(stored.creditor_id, stored.debtor_id, stored.plan.plan_id)),
            "UpdateExpression": "REMOVE autopay SET version = version + :one",
            "ConditionExpression": "autopay.payment_method_id = :pm",
            "ExpressionAttributeValues": _to_dynamo({":one": 1, ":pm": autopay.payment_method_id}),
        }}
        try:
            self._client.transact_write_items(
                TransactItems=[update, self._audit_put(stored.creditor_id, stored.debtor_id, audit, now)])
        except self._client.exceptions.TransactionCanceledException as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                return False
            raise
        return True

    def due_plan_debtors(self, creditor_id: str, day: date, counter: list[int] | None = None) -> list[str]:
        """AP11: the debtors holding a running plan with collection work on or before `day`, from the sparse index."""
        debtors: dict[str, None] = {}
        paginator = self._client.get_paginator("query")
        for page in paginator.paginate(
            TableName=self.table_name, IndexName="GSI1",
            KeyConditionExpression="GSI1PK = :pk AND GSI1SK <= :upto",
            ExpressionAttributeValues={":pk": {"S": keys.plan_due_pk(creditor_id)},
                                       ":upto": {"S": keys.next_action_upper_bound(day)}},
        ):
            if counter is not None:
                counter[0] += page.get("ScannedCount", 0)
            for raw in page.get("Items", []):
                debtors[_from_dynamo(raw)["debtor_id"]] = None
        return list(debtors)

    def save_plan(self, stored: StoredPlan, audit: dict[str, Any] | None, now: datetime) -> None:
        """Write the plan if it still has the state and version read, with its audit event in the same transaction.

        Raises PlanChanged when another writer (the webhook, finance, another run) changed it first.
        """
        put: dict[str, Any] = {
            "TableName": self.table_name, "Item": _to_dynamo(plan_item(stored)),
            "ConditionExpression": "#state = :state AND version = :version",
            "ExpressionAttributeNames": {"#state": "state"},
            "ExpressionAttributeValues": {":state": {"S": stored.plan.state.value},
                                          ":version": {"N": str(stored.version)}},
        }
        actions: list[dict[str, Any]] = [{"Put": put}]
        if audit is not None:
            actions.append(self._audit_put(stored.creditor_id, stored.debtor_id, audit, now))
        try:
            self._client.transact_write_items(TransactItems=actions)
        except self._client.exceptions.TransactionCanceledException as exc:
            raise PlanChanged(stored.plan.plan_id) from exc

    def _get(self, key: dict[str, str]) -> dict[str, Any] | None:
        response = self._client.get_item(TableName=self.table_name, Key=_to_dynamo(key), ConsistentRead=True)
        return _from_dynamo(response["Item"]) if "Item" in response else None


def _autopay_to(autopay: Autopay) -> dict[str, Any]:
    return {"customer_id": autopay.customer_id, "payment_method_id": autopay.payment_method_id,
            "method": autopay.method, "last4": autopay.last4}


def _event_put(table_name: str, event_id: str, outcome: str, now: datetime) -> dict[str, Any]:
    """The Stripe event's record (as relance.adapters.payments_store writes it): a second delivery fails here."""
    from relance.adapters.payments_store import EVENT_KEPT_FOR

    return {"Put": {
        "TableName": table_name,
        "Item": _to_dynamo({**keys.stripe_event_key(event_id), "entity": "stripe_event", "event_id": event_id,
                            "event_type": "checkout.session.completed", "outcome": outcome,
                            "received_at": now.isoformat(), "payment_id": None,
                            "expires_epoch": int((now + EVENT_KEPT_FOR).timestamp())}),
        "ConditionExpression": "attribute_not_exists(PK)",
    }}
