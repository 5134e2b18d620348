"""Installment plans in the table, beyond `DynamoStore`: the plan item, finance's queue, one transaction per change.

- the plan: `PK=CRED#<c>#DEBTOR#<d>`, `SK=PLAN#<plan_id>`, with its `state` and `version`;
- who holds a plan: `PK=CRED#<c>#PLANS`, `SK=<plan_id>` (finance decides a plan by its id);
- finance's queue: `PK=CRED#<c>#PLANQUEUE`, `SK=<proposed_at>#<plan_id>`, removed when the plan is decided.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from relance.adapters import keys
from relance.adapters.dynamo import DynamoStore, VersionConflict
from relance.adapters.dynamo_codec import from_dynamo as _from_dynamo
from relance.adapters.dynamo_codec import to_dynamo as _to_dynamo
from relance.domain.money import Money
from relance.domain.plans import (
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
    return {
        **keys.plan_key(stored.creditor_id, stored.debtor_id, plan.plan_id),
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

    def _get(self, key: dict[str, str]) -> dict[str, Any] | None:
        response = self._client.get_item(TableName=self.table_name, Key=_to_dynamo(key), ConsistentRead=True)
        return _from_dynamo(response["Item"]) if "Item" in response else None
