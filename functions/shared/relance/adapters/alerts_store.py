"""Risk upkeep and finance alerts on the table (docs/architecture/access-patterns.md, AL1-AL6).

- AL1 alerts: `PK = CRED#c#ALERTS`, `SK = <day>#<kind>#<ref>` (the alert id), put only if absent.
- AL2 outbox: the same alert under `CRED#c#ALERTS#PENDING`, put in the same transaction, deleted
  once a digest carried it, so an alert raised after the morning's digest goes in the next one.
- AL3 digest marker: `CRED#c#ALERTS` / `DIGEST#<day>`, claimed with `attribute_not_exists` first.
- AL4 over-90 watch: `CRED#c#OVER90#<day the invoice enters the bucket>` / `<d>#<number>`.
- AL5 risk: `risk_score`, `risk_band`, `risk_reasons` on the debtor item, conditional on the values read.
- AL6 disputes waiting: finance's tasks (AP6) of the days a dispute must have been opened on.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from relance.adapters import keys
from relance.adapters.dynamo import OPEN_INVOICES, DynamoStore, audit_item, debtor_from, invoice_from_summary
from relance.adapters.dynamo_codec import from_dynamo as _from_dynamo
from relance.adapters.dynamo_codec import to_dynamo as _to_dynamo
from relance.domain.alerts import Alert, AlertKind, OpenInvoiceLine, WaitingDispute
from relance.domain.invoices import Invoice
from relance.domain.parties import Debtor
from relance.domain.risk_upkeep import RiskUpdate, StoredRisk


BROKEN_PLANS = "broken_plans"


class RiskChanged(Exception):
    """The debtor's stored risk is no longer the one read (another recompute wrote first): read again."""


def alert_item(alert: Alert, raised_at: datetime) -> dict[str, Any]:
    return {**keys.alert_key(alert.creditor_id, alert.alert_id), "entity": "alert", "alert_id": alert.alert_id,
            "creditor_id": alert.creditor_id, "debtor_id": alert.debtor_id, "day": alert.day.isoformat(),
            "kind": alert.kind.value, "ref": alert.ref, "path": alert.path, "params": dict(alert.params) or None,
            "debtor_name": alert.debtor_name or None, "raised_at": raised_at.isoformat()}


def alert_from(item: dict[str, Any]) -> Alert:
    return Alert(item["creditor_id"], date.fromisoformat(item["day"]), AlertKind(item["kind"]), item["ref"],
                 item["debtor_id"], item["path"], {k: str(v) for k, v in (item.get("params") or {}).items()},
                 str(item.get("debtor_name") or ""))  # absent on alerts raised before names were stored


def stored_risk_of(item: dict[str, Any]) -> StoredRisk:
    """The risk the debtor item carries (all None before the first score)."""
    score = item.get("risk_score")
    return StoredRisk(int(score) if score is not None else None, item.get("risk_band"),
                      tuple(item.get("risk_reasons") or ()))


def broken_commitments_of(item: dict[str, Any]) -> int:
    """Installment plans of the debtor that broke, counted on the debtor item when each broke."""
    return int(item.get(BROKEN_PLANS) or 0)


def open_invoices_of(item: dict[str, Any]) -> list[Invoice]:
    """The debtor item's summary of open invoices, as invoices."""
    return [invoice_from_summary(item["creditor_id"], item["debtor_id"], number, entry)
            for number, entry in sorted((item.get(OPEN_INVOICES) or {}).items())]


class AlertsStore(DynamoStore):
    """The debtor store, plus the risk fields, the alerts, the digest markers and the over-90 watch."""

    # --- risk upkeep (AL5) ----------------------------------------------------------------------

    def debtor_snapshot(self, creditor_id: str, debtor_id: str
                        ) -> tuple[Debtor, list[Invoice], StoredRisk, int] | None:
        """AP1b, consistent: the debtor, their open invoices, their stored risk and broken plans; None if gone."""
        response = self._client.get_item(TableName=self.table_name, ConsistentRead=True,
                                         Key=_to_dynamo(keys.debtor_key(creditor_id, debtor_id)))
        if "Item" not in response:
            return None
        item = _from_dynamo(response["Item"])
        return debtor_from(item), open_invoices_of(item), stored_risk_of(item), broken_commitments_of(item)

    def record_risk(self, creditor_id: str, debtor_id: str, seen: StoredRisk, update: RiskUpdate,
                    audit: dict[str, Any] | None, alert: Alert | None, now: datetime) -> None:
        """Write the fresh risk on the debtor item only if it still carries `seen`, with the band change's
        audit event and the `high_risk` alert (and its outbox entry) in the same transaction, so a crash can
        lose neither. RiskChanged when another writer changed the risk first."""
        condition = ["attribute_exists(PK)"]
        values: dict[str, Any] = {":score": update.score, ":band": update.band,
                                  ":reasons": [dict(r) for r in update.reasons]}
        if seen.score is None:
            condition.append("attribute_not_exists(risk_score)")
        else:
            condition.append("risk_score = :seen_score")
            values[":seen_score"] = seen.score
        if seen.band is None:
            condition.append("attribute_not_exists(risk_band)")
        else:
            condition.append("risk_band = :seen_band")
            values[":seen_band"] = seen.band
        update_action = {
            "TableName": self.table_name,
            "Key": _to_dynamo(keys.debtor_key(creditor_id, debtor_id)),
            "UpdateExpression": "SET risk_score = :score, risk_band = :band, risk_reasons = :reasons",
            "ConditionExpression": " AND ".join(condition),
            "ExpressionAttributeValues": _to_dynamo(values),
        }
        if audit is None and alert is None:
            try:
                self._client.update_item(**update_action)
            except self._client.exceptions.ConditionalCheckFailedException as exc:
                raise RiskChanged(debtor_id) from exc
            return
        actions: list[dict[str, Any]] = [{"Update": update_action}]
        if audit is not None:
            actions.append({"Put": {"TableName": self.table_name,
                                    "Item": _to_dynamo(audit_item(creditor_id, debtor_id, audit, now)),
                                    "ConditionExpression": "attribute_not_exists(PK)"}})
        alert_at = len(actions)
        if alert is not None:
            actions.extend(self._alert_puts(alert, now))
        try:
            self._client.transact_write_items(TransactItems=actions)
        except self._client.exceptions.TransactionCanceledException as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if alert is not None and reasons[alert_at:alert_at + 1] == ["ConditionalCheckFailed"] \
                    and reasons[0] != "ConditionalCheckFailed":
                # The debtor became high twice today: the alert exists already, write the risk without it.
                self.record_risk(creditor_id, debtor_id, seen, update, audit, None, now)
                return
            raise RiskChanged(debtor_id) from exc

    def _alert_puts(self, alert: Alert, now: datetime) -> list[dict[str, Any]]:
        """Transaction items: the alert, only if absent (its id is the fact and the day), and its outbox entry."""
        item = alert_item(alert, now)
        return [{"Put": {"TableName": self.table_name, "Item": _to_dynamo(item),
                         "ConditionExpression": "attribute_not_exists(PK)"}},
                {"Put": {"TableName": self.table_name,
                         "Item": _to_dynamo({**item, **keys.alert_outbox_key(alert.creditor_id, alert.alert_id),
                                             "entity": "alert_pending"})}}]

    # --- alerts (AL1, AL2) ----------------------------------------------------------------------

    def record_plan_broken(self, alert: Alert, now: datetime) -> bool:
        """The `plan_broken` alert, its outbox entry and one more broken plan on the debtor item, in one
        transaction: the alert's `attribute_not_exists` makes a redelivered record count nothing. False if known."""
        try:
            self._client.transact_write_items(TransactItems=[
                *self._alert_puts(alert, now),
                {"Update": {"TableName": self.table_name,
                            "Key": _to_dynamo(keys.debtor_key(alert.creditor_id, alert.debtor_id)),
                            "UpdateExpression": "ADD #broken :one",
                            "ConditionExpression": "attribute_exists(PK)",
                            "ExpressionAttributeNames": {"#broken": BROKEN_PLANS},
                            "ExpressionAttributeValues": {":one": {"N": "1"}}}},
            ])
        except self._client.exceptions.TransactionCanceledException:
            return False
        return True

    def raise_alerts(self, alerts: Iterable[Alert], now: datetime) -> list[Alert]:
        """Store each alert and its outbox entry once; the alerts that were new (a repeat is refused)."""
        raised = []
        for alert in alerts:
            try:
                self._client.transact_write_items(TransactItems=self._alert_puts(alert, now))
            except self._client.exceptions.TransactionCanceledException:
                continue  # raised already: the same fact delivered again
            raised.append(alert)
        return raised

    def alerts_of_day(self, creditor_id: str, day: date) -> list[tuple[Alert, str]]:
        """AL1: the alerts of `day` with the instant each was raised."""
        found = self._query(KeyConditionExpression="PK = :pk AND begins_with(SK, :day)",
                            ExpressionAttributeValues=_to_dynamo({":pk": keys.alerts_pk(creditor_id),
                                                                  ":day": f"{day.isoformat()}#"}))
        return [(alert_from(item), str(item.get("raised_at", ""))) for item in found]

    def pending_alerts(self, creditor_id: str) -> list[tuple[Alert, str]]:
        """AL2: the alerts no digest has carried yet, consistent (a put just before is seen)."""
        found = self._query(KeyConditionExpression="PK = :pk",
                            ExpressionAttributeValues=_to_dynamo(
                                {":pk": keys.alert_outbox_key(creditor_id, "")["PK"]}),
                            ConsistentRead=True)
        return [(alert_from(item), str(item.get("raised_at", ""))) for item in found]

    # --- digest (AL3) ---------------------------------------------------------------------------

    def claim_digest(self, creditor_id: str, day: date, now: datetime) -> bool:
        """Claim the digest of `day`; False when it was claimed already (a repeated schedule tick)."""
        try:
            self._client.put_item(
                TableName=self.table_name,
                Item=_to_dynamo({**keys.digest_key(creditor_id, day), "entity": "alert_digest",
                                 "creditor_id": creditor_id, "day": day.isoformat(), "status": "claimed",
                                 "claimed_at": now.isoformat()}),
                ConditionExpression="attribute_not_exists(PK)")
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def complete_digest(self, creditor_id: str, day: date, alerts: list[Alert], message_id: str | None) -> None:
        """Record what the digest carried and take those alerts out of the outbox."""
        self._client.update_item(
            TableName=self.table_name, Key=_to_dynamo(keys.digest_key(creditor_id, day)),
            UpdateExpression="SET #s = :s, alert_ids = :ids, message_id = :m",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues=_to_dynamo({":s": "sent" if message_id else "empty",
                                                  ":ids": [a.alert_id for a in alerts], ":m": message_id or ""}))
        outbox = [keys.alert_outbox_key(creditor_id, a.alert_id) for a in alerts]
        for start in range(0, len(outbox), 25):
            pending: dict[str, Any] = {self.table_name: [{"DeleteRequest": {"Key": _to_dynamo(key)}}
                                                         for key in outbox[start:start + 25]]}
            while pending:
                pending = self._client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    # --- the day's sweeps (AL4, AL6) ------------------------------------------------------------

    def watch_over_90(self, lines: Iterable[tuple[date, str, str]], creditor_id: str) -> None:
        """AL4: note (entry day, debtor, invoice number) so the digest of that day looks at the invoice."""
        self._batch_put([{**keys.over_90_watch_key(creditor_id, day, debtor_id, number), "entity": "over_90_watch",
                          "debtor_id": debtor_id, "number": number} for day, debtor_id, number in lines])

    def entering_over_90(self, creditor_id: str, days: Iterable[date]) -> list[OpenInvoiceLine]:
        """AL4 then AP1b: the invoices noted for `days`, as they stand now on their debtor's summary."""
        watched: dict[str, set[str]] = {}
        for day in days:
            for item in self._query(KeyConditionExpression="PK = :pk",
                                    ExpressionAttributeValues=_to_dynamo(
                                        {":pk": keys.over_90_watch_pk(creditor_id, day)})):
                watched.setdefault(item["debtor_id"], set()).add(item["number"])
        lines = []
        for item in self._batch_get([keys.debtor_key(creditor_id, d) for d in sorted(watched)]):
            for invoice in open_invoices_of(item):
                if invoice.number in watched[item["debtor_id"]]:
                    lines.append(OpenInvoiceLine(invoice.debtor_id, invoice.number, invoice.due_on, invoice.balance,
                                                 str(item.get("name") or "")))
        return lines

    def disputes_opened_between(self, creditor_id: str, first: date, last: date) -> list[WaitingDispute]:
        """AL6: open dispute tasks (AP6) due from `first` to `last`, the day each dispute was opened."""
        if last < first:
            return []
        found = self._query(
            KeyConditionExpression="PK = :pk AND SK BETWEEN :first AND :last",
            FilterExpression="kind = :dispute AND #s = :open",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues=_to_dynamo({":pk": keys.tasks_pk(creditor_id), ":first": first.isoformat(),
                                                  ":last": f"{last.isoformat()}#\uffff", ":dispute": "dispute",
                                                  ":open": "open"}))
        return [WaitingDispute(task["debtor_id"], str(task.get("dispute_id") or task["SK"].rpartition("#")[2]),
                               str((task.get("invoices") or [""])[0]), date.fromisoformat(task["due_on"]))
                for task in found]
