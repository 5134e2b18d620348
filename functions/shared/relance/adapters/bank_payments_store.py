"""Bank payment lines in the Relance table (docs/architecture/access-patterns.md BP1-BP3).

- BP1, a line's decision: `PK = CRED#<c>#BANKLINES`, `SK = <line_id>`, put once (`attribute_not_exists`);
  a second import reads it (BatchGetItem) and records nothing twice.
- BP2, finance's queue: `PK = CRED#<c>#BANKQUEUE`, `SK = <received_on>#<line_id>`, one Query, oldest first;
  written with the line's decision in one transaction, deleted with its final decision in another.
No business decisions here: relance.services.bank_payments says what to write.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from relance.adapters import keys
from relance.adapters.dashboard_store import DashboardStore
from relance.adapters.dynamo_codec import from_dynamo as _from_dynamo
from relance.adapters.dynamo_codec import to_dynamo as _to_dynamo
from relance.domain.bank_payments import UnmatchedReason
from relance.domain.money import Money
from relance.services.bank_payments import LineDecision, LineStatus, UnmatchedPayment


def decision_item(decision: LineDecision, now: datetime) -> dict[str, Any]:
    return {
        **keys.bank_line_key(decision.creditor_id, decision.line_id),
        "entity": "bank_line",
        "creditor_id": decision.creditor_id,
        "line_id": decision.line_id,
        "status": decision.status.value,
        "received_on": decision.received_on.isoformat(),
        "currency": decision.amount.currency,
        "amount_minor": decision.amount.minor,
        "debtor_id": decision.debtor_id,
        "invoices": list(decision.numbers),
        "reason": decision.reason,
        "actor": decision.actor,
        "kind": decision.kind,
        "decided_at": now.isoformat(),
    }


def decision_from(item: dict[str, Any]) -> LineDecision:
    return LineDecision(
        creditor_id=item["creditor_id"], line_id=item["line_id"], status=LineStatus(item["status"]),
        received_on=date.fromisoformat(item["received_on"]),
        amount=Money(int(item["amount_minor"]), item["currency"]), debtor_id=item.get("debtor_id"),
        numbers=tuple(item.get("invoices") or ()), reason=item.get("reason"), actor=item.get("actor"),
        kind=item.get("kind"),
    )


def unmatched_item(entry: UnmatchedPayment) -> dict[str, Any]:
    return {
        **keys.unmatched_payment_key(entry.creditor_id, entry.entry_key),
        "entity": "unmatched_payment",
        "creditor_id": entry.creditor_id,
        "line_id": entry.line_id,
        "received_on": entry.received_on.isoformat(),
        "currency": entry.amount.currency,
        "amount_minor": entry.amount.minor,
        "reference": entry.reference,
        "payer": entry.payer,
        "reason": entry.reason.value,
        "imported_at": entry.imported_at.isoformat(),
        "source": entry.source,
        "candidate_debtor_ids": list(entry.candidates),
    }


def unmatched_from(item: dict[str, Any]) -> UnmatchedPayment:
    return UnmatchedPayment(
        creditor_id=item["creditor_id"], line_id=item["line_id"],
        received_on=date.fromisoformat(item["received_on"]),
        amount=Money(int(item["amount_minor"]), item["currency"]), reference=item.get("reference") or "",
        payer=item.get("payer") or "", reason=UnmatchedReason(item["reason"]),
        imported_at=datetime.fromisoformat(item["imported_at"]), source=item.get("source") or "",
        assigning_to=item.get("assigning_to"), candidates=tuple(item.get("candidate_debtor_ids") or ()),
    )


class BankPaymentsStore(DashboardStore):
    """The dashboard's reads (AP12) and the payments' writes, plus the bank lines and finance's queue."""

    def line_decisions(self, creditor_id: str, line_ids: Sequence[str]) -> dict[str, LineDecision]:
        """BP1 for each line id: the lines an earlier import decided."""
        items = self._batch_get([keys.bank_line_key(creditor_id, i) for i in dict.fromkeys(line_ids)])
        return {item["line_id"]: decision_from(item) for item in items}

    def claim_line(self, decision: LineDecision, now: datetime) -> LineDecision | None:
        try:
            self._client.put_item(TableName=self.table_name, Item=_to_dynamo(decision_item(decision, now)),
                                  ConditionExpression="attribute_not_exists(PK)")
        except self._client.exceptions.ConditionalCheckFailedException:
            return self._decision(decision.creditor_id, decision.line_id)
        return None

    def queue_line(self, decision: LineDecision, entry: UnmatchedPayment, now: datetime, *,
                   replacing: bool = False) -> bool:
        decision_put: dict[str, Any] = {"TableName": self.table_name, "Item": _to_dynamo(decision_item(decision, now))}
        if replacing:
            decision_put["ConditionExpression"] = "#s = :matched"
            decision_put["ExpressionAttributeNames"] = {"#s": "status"}
            decision_put["ExpressionAttributeValues"] = {":matched": {"S": LineStatus.MATCHED.value}}
        else:
            decision_put["ConditionExpression"] = "attribute_not_exists(PK)"
        try:
            self._client.transact_write_items(TransactItems=[
                {"Put": decision_put},
                {"Put": {"TableName": self.table_name, "Item": _to_dynamo(unmatched_item(entry)),
                         "ConditionExpression": "attribute_not_exists(PK)"}},
            ])
        except self._client.exceptions.TransactionCanceledException:
            return False  # decided meanwhile (another import of the same line)
        return True

    def unmatched(self, creditor_id: str) -> list[UnmatchedPayment]:
        """BP2: the payments waiting for finance, oldest first."""
        return [unmatched_from(item) for item in self._query(
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": keys.unmatched_payments_pk(creditor_id)}})]

    def count_unmatched(self, creditor_id: str) -> int:
        """BP2 counted (the dashboard's work queue count): keys only."""
        response = self._client.query(TableName=self.table_name, Select="COUNT",
                                      KeyConditionExpression="PK = :pk",
                                      ExpressionAttributeValues={":pk": {"S": keys.unmatched_payments_pk(creditor_id)}})
        return int(response.get("Count", 0))

    def get_unmatched(self, creditor_id: str, entry_key: str) -> UnmatchedPayment | None:
        response = self._client.get_item(TableName=self.table_name, ConsistentRead=True,
                                         Key=_to_dynamo(keys.unmatched_payment_key(creditor_id, entry_key)))
        return unmatched_from(_from_dynamo(response["Item"])) if "Item" in response else None

    def claim_unmatched(self, entry: UnmatchedPayment, debtor_id: str) -> bool:
        try:
            self._client.update_item(
                TableName=self.table_name, Key=_to_dynamo(keys.unmatched_payment_key(entry.creditor_id, entry.entry_key)),
                UpdateExpression="SET assigning_to = :d",
                ConditionExpression="attribute_exists(PK) AND "
                                    "(attribute_not_exists(assigning_to) OR assigning_to = :d)",
                ExpressionAttributeValues={":d": {"S": debtor_id}})
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def release_unmatched(self, entry: UnmatchedPayment) -> None:
        try:
            self._client.update_item(
                TableName=self.table_name, Key=_to_dynamo(keys.unmatched_payment_key(entry.creditor_id, entry.entry_key)),
                UpdateExpression="REMOVE assigning_to", ConditionExpression="attribute_exists(PK)")
        except self._client.exceptions.ConditionalCheckFailedException:
            pass  # it left the queue meanwhile

    def close_unmatched(self, entry: UnmatchedPayment, decision: LineDecision, now: datetime) -> bool:
        delete: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": _to_dynamo(keys.unmatched_payment_key(entry.creditor_id, entry.entry_key)),
            "ConditionExpression": "attribute_exists(PK)",
        }
        if decision.status is LineStatus.DISMISSED:  # not while someone records it for a debtor
            delete["ConditionExpression"] = "attribute_exists(PK) AND attribute_not_exists(assigning_to)"
        try:
            self._client.transact_write_items(TransactItems=[
                {"Delete": delete},
                {"Put": {"TableName": self.table_name, "Item": _to_dynamo(decision_item(decision, now))}},
            ])
        except self._client.exceptions.TransactionCanceledException:
            return False
        return True

    def _decision(self, creditor_id: str, line_id: str) -> LineDecision | None:
        response = self._client.get_item(TableName=self.table_name, ConsistentRead=True,
                                         Key=_to_dynamo(keys.bank_line_key(creditor_id, line_id)))
        return decision_from(_from_dynamo(response["Item"])) if "Item" in response else None
