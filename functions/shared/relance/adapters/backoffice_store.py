"""What the finance back office writes beyond the portal's store: dispute resolutions, dunning pauses,
write-offs and contact edits.

Each write is one TransactWriteItems holding the change, its audit event and the invoices it moves.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from relance.adapters import keys
from relance.adapters.dynamo import VersionConflict, audit_item, email_index_items
from relance.adapters.dynamo_codec import to_dynamo as _to_dynamo
from relance.adapters.portal_store import PortalStore
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.parties import Debtor
from relance.services.disputes import DisputeNotOpen
from relance.services.pauses import NotPaused


class BackOfficeStore(PortalStore):
    """PortalStore plus finance's conditional writes."""

    def record_resolution(self, invoice: Invoice, number: str, resolved: dict[str, Any], audit: dict[str, Any],
                          task_key: str | None, now: datetime) -> None:
        """The dispute closed (only if still open), the audit event, finance's task done and the invoice.

        Raises DisputeNotOpen when someone resolved it first, VersionConflict when the invoice changed.
        """
        resolved = {name: value for name, value in resolved.items() if value is not None}  # None: no attribute
        fields = {f"#f{n}": name for n, name in enumerate(resolved)}
        values = {f":v{n}": value for n, value in enumerate(resolved.values())}
        assignments = ", ".join(f"#f{n} = :v{n}" for n in range(len(resolved)))
        names = {"#s": "status", **fields}
        values[":open"] = "open"
        actions: list[dict[str, Any]] = [
            {"Update": {"TableName": self.table_name,
                        "Key": _to_dynamo(keys.dispute_key(invoice.creditor_id, invoice.debtor_id, number)),
                        "UpdateExpression": f"SET {assignments}",
                        "ConditionExpression": "#s = :open",
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": _to_dynamo(values)}},
            self._audit_put(invoice.creditor_id, invoice.debtor_id, audit, now),
        ]
        if task_key is not None:
            actions.append(_task_done(self.table_name, invoice.creditor_id, task_key, audit["actor"], now))
        first_invoice = len(actions)
        actions.extend(self.invoice_write_actions([invoice]))
        try:
            self._client.transact_write_items(TransactItems=actions)
        except self._client.exceptions.TransactionCanceledException as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                raise DisputeNotOpen(f"the dispute of invoice {number} is no longer open", number=number) from exc
            if "ConditionalCheckFailed" in reasons[first_invoice:]:
                raise VersionConflict(number) from exc
            raise

    def write_pause(self, creditor_id: str, debtor_id: str, until: date | None, reason: str | None,
                    invoices: list[Invoice], audit: dict[str, Any], now: datetime) -> None:
        """Set (or, with `until` None, clear) the pause on the debtor item, with its audit event and the
        invoices' new next actions. NotPaused when clearing a pause that is not there."""
        if until is not None:
            update = {"UpdateExpression": "SET dunning_paused_until = :until, dunning_pause_reason = :reason",
                      "ConditionExpression": "attribute_exists(PK)",
                      "ExpressionAttributeValues": _to_dynamo({":until": until.isoformat(), ":reason": reason})}
        else:
            update = {"UpdateExpression": "REMOVE dunning_paused_until, dunning_pause_reason",
                      "ConditionExpression": "attribute_exists(dunning_paused_until)"}
        actions: list[dict[str, Any]] = [
            {"Update": {"TableName": self.table_name, "Key": _to_dynamo(keys.debtor_key(creditor_id, debtor_id)),
                        **update}},
            self._audit_put(creditor_id, debtor_id, audit, now),
        ]
        # The invoices' summary lives on the same debtor item: one transaction cannot touch an item
        # twice, so the summary's update is folded into the debtor item's own update.
        invoice_actions = self.invoice_write_actions(invoices) if invoices else []
        puts = [a for a in invoice_actions if "Put" in a]
        summaries = [a["Update"] for a in invoice_actions if "Update" in a]
        if summaries:
            _fold_summary(actions[0]["Update"], summaries[0])
        actions.extend(puts)
        try:
            self._client.transact_write_items(TransactItems=actions)
        except self._client.exceptions.TransactionCanceledException as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if until is None and reasons and reasons[0] == "ConditionalCheckFailed":
                raise NotPaused(f"dunning of {debtor_id!r} is not paused", debtor_id=debtor_id) from exc
            raise VersionConflict(debtor_id) from exc

    def write_off(self, invoice: Invoice, amount: Money, reason: str, audit: dict[str, Any], now: datetime) -> None:
        """The invoice settled by the write-off (only if unchanged since read, with the debtor's summary), the
        write-off record (apart from payments: never counted as collected) and the audit event."""
        record = {**keys.write_off_key(invoice.creditor_id, invoice.debtor_id, invoice.number),
                  "entity": "write_off", "creditor_id": invoice.creditor_id, "debtor_id": invoice.debtor_id,
                  "number": invoice.number, "currency": amount.currency, "amount_minor": amount.minor,
                  "reason": reason, "written_off_at": now.isoformat(), "written_off_by": audit["actor"]}
        actions = [*self.invoice_write_actions([invoice]),
                   {"Put": {"TableName": self.table_name, "Item": _to_dynamo(record)}},
                   self._audit_put(invoice.creditor_id, invoice.debtor_id, audit, now)]
        try:
            self._client.transact_write_items(TransactItems=actions)
        except self._client.exceptions.TransactionCanceledException as exc:
            raise VersionConflict(invoice.number) from exc

    def write_contacts(self, before: Debtor, after: Debtor, audit: dict[str, Any], now: datetime) -> None:
        """The debtor's e-mails, phone, postal address and undeliverable list, only if the e-mails and the
        undeliverable list are still as read (a bounce recorded meanwhile is not lost), with the audit event
        and the e-mail index entries of the new addresses (PA5)."""
        values: dict[str, Any] = {":emails": list(after.emails), ":phone": after.phone or "",
                                  ":address": after.address or "", ":undeliverable": list(after.undeliverable)}
        unchanged = ["attribute_exists(PK)"]
        for name, was in (("emails", before.emails), ("undeliverable", before.undeliverable)):
            if was:
                values[f":old_{name}"] = list(was)
                unchanged.append(f"{name} = :old_{name}")
            else:
                values[":zero"] = 0
                unchanged.append(f"(attribute_not_exists({name}) OR size({name}) = :zero)")
        update = {
            "TableName": self.table_name,
            "Key": _to_dynamo(keys.debtor_key(after.creditor_id, after.debtor_id)),
            "UpdateExpression": "SET emails = :emails, phone = :phone, address = :address, "
                                "undeliverable = :undeliverable",
            "ConditionExpression": " AND ".join(unchanged),
            "ExpressionAttributeValues": _to_dynamo(values),
        }
        actions: list[dict[str, Any]] = [{"Update": update},
                                         self._audit_put(after.creditor_id, after.debtor_id, audit, now)]
        actions.extend({"Put": {"TableName": self.table_name, "Item": _to_dynamo(item)}}
                       for item in email_index_items(after))
        try:
            self._client.transact_write_items(TransactItems=actions)
        except self._client.exceptions.TransactionCanceledException as exc:
            raise VersionConflict(after.debtor_id) from exc

    def contact_on(self, creditor_id: str, debtor_id: str, day: date) -> dict[str, Any] | None:
        """The debtor's contact of `day` (pending or sent), if the worker claimed one."""
        return self._get({"PK": keys.debtor_pk(creditor_id, debtor_id), "SK": keys.contact_sk(day)})

    def record_audit(self, creditor_id: str, debtor_id: str, audit: dict[str, Any], now: datetime) -> None:
        """An audit event on its own (a request whose effect is recorded by whoever carries it out)."""
        self._client.put_item(TableName=self.table_name,
                              Item=_to_dynamo(audit_item(creditor_id, debtor_id, audit, now)))

    def disputes_of_creditor(self, creditor_id: str) -> list[dict[str, Any]]:
        """AP6 then the disputes: finance's open dispute tasks, each with its dispute record (one read each)."""
        found = []
        for task in self.open_tasks(creditor_id):
            if task.get("kind") != "dispute" or not task.get("invoices"):
                continue
            dispute = self.find_dispute(creditor_id, task["debtor_id"], task["invoices"][0])
            if dispute is not None and dispute.get("status") == "open":
                found.append(dispute)
        return found


def _task_done(table_name: str, creditor_id: str, task_key: str, actor: str, now: datetime) -> dict[str, Any]:
    return {"Update": {"TableName": table_name,
                       "Key": _to_dynamo({"PK": keys.tasks_pk(creditor_id), "SK": task_key}),
                       "UpdateExpression": "SET #s = :done, closed_at = :t, closed_by = :by",
                       "ConditionExpression": "attribute_exists(PK)",
                       "ExpressionAttributeNames": {"#s": "status"},
                       "ExpressionAttributeValues": _to_dynamo({":done": "done", ":t": now.isoformat(),
                                                                ":by": actor})}}


def _fold_summary(update: dict[str, Any], summary: dict[str, Any]) -> None:
    """Merge the summary's SET/REMOVE clauses into `update` (both on the debtor item)."""
    ours = update["UpdateExpression"]
    theirs = summary["UpdateExpression"]
    clauses: dict[str, list[str]] = {"SET": [], "REMOVE": []}
    for expression in (ours, theirs):
        for verb, body in _clauses(expression):
            clauses[verb].append(body)
    update["UpdateExpression"] = " ".join(f"{verb} {', '.join(parts)}" for verb, parts in clauses.items() if parts)
    update["ExpressionAttributeNames"] = {**update.get("ExpressionAttributeNames", {}),
                                          **summary.get("ExpressionAttributeNames", {})}
    values = {**update.get("ExpressionAttributeValues", {}), **summary.get("ExpressionAttributeValues", {})}
    if values:
        update["ExpressionAttributeValues"] = values


def _clauses(expression: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for verb in ("SET", "REMOVE"):
        start = expression.find(f"{verb} ")
        if start < 0:
            continue
        rest = expression[start + len(verb) + 1:]
        other = "REMOVE " if verb == "SET" else "SET "
        end = rest.find(other)
        found.append((verb, (rest if end < 0 else rest[:end]).strip()))
    return found
