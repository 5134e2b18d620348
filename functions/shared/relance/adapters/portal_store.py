"""What the debtor portal's account pages read and write in the table, beyond `DynamoStore`:
one invoice by number, the debtor's disputes, and the dispute and promise transactions.

Every method takes the creditor and the debtor, so every read stays in the debtor's own partition.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from relance.adapters import keys
from relance.adapters.dynamo_codec import from_dynamo as _from_dynamo
from relance.adapters.dynamo_codec import to_dynamo as _to_dynamo
from relance.adapters.dynamo import DynamoStore, VersionConflict, invoice_from, task_item
from relance.domain.invoices import Invoice
from relance.services.disputes import DisputeAlreadyOpen


class PortalStore(DynamoStore):
    """DynamoStore plus the debtor portal's own items and transactions."""

    def find_invoice(self, creditor_id: str, debtor_id: str, number: str) -> Invoice | None:
        """The debtor's invoice `number`; None when there is none in their partition."""
        item = self._get(keys.invoice_key(creditor_id, debtor_id, number))
        return invoice_from(item) if item and item.get("entity") == "invoice" else None

    def original_pdf_key(self, creditor_id: str, debtor_id: str, number: str) -> str | None:
        """The documents-bucket key of the invoice's original PDF (Factur-X, issue #9), when an import stored one."""
        item = self._get(keys.original_pdf_key(creditor_id, debtor_id, number))  # IM1, written by adapters/originals.py
        return item.get("original_pdf_key") if item else None

    def open_invoices(self, creditor_id: str, debtor_id: str) -> list[Invoice]:
        """The debtor's open invoices, from the summary on the debtor item (one read)."""
        _debtor, invoices = self.dunning_view(creditor_id, debtor_id)
        return invoices

    def find_dispute(self, creditor_id: str, debtor_id: str, number: str) -> dict[str, Any] | None:
        return self._get(keys.dispute_key(creditor_id, debtor_id, number))

    def disputes_of(self, creditor_id: str, debtor_id: str) -> list[dict[str, Any]]:
        """The debtor's disputes, one per invoice ever disputed."""
        return list(self._query(
            KeyConditionExpression="PK = :pk AND begins_with(SK, :sk)",
            ExpressionAttributeValues={":pk": {"S": keys.debtor_pk(creditor_id, debtor_id)},
                                       ":sk": {"S": keys.DISPUTE_SK_PREFIX}},
        ))

    def record_dispute(self, invoice: Invoice, dispute: dict[str, Any], audit: dict[str, Any],
                       task: dict[str, Any], now: datetime) -> None:
        """In one transaction: the dispute (only if none is open on the invoice), the audit event, finance's
        task and the invoice (version-checked, with the debtor's summary).

        Raises DisputeAlreadyOpen when a dispute of the invoice is open, VersionConflict when the invoice changed.
        """
        dispute_item = {**keys.dispute_key(invoice.creditor_id, invoice.debtor_id, invoice.number),
                        "entity": "dispute", "creditor_id": invoice.creditor_id, "debtor_id": invoice.debtor_id,
                        **dispute}
        task_row = {**task_item(task), "SK": keys.invoice_dispute_task_sk(
            date.fromisoformat(task["due_on"]), invoice.debtor_id, dispute["dispute_id"])}
        actions: list[dict[str, Any]] = [
            {"Put": {"TableName": self.table_name, "Item": _to_dynamo(dispute_item),
                     "ConditionExpression": "attribute_not_exists(PK) OR #s <> :open",
                     "ExpressionAttributeNames": {"#s": "status"},
                     "ExpressionAttributeValues": {":open": {"S": "open"}}}},
            self._audit_put(invoice.creditor_id, invoice.debtor_id, audit, now),
            {"Put": {"TableName": self.table_name, "Item": _to_dynamo(task_row)}},
            *self.invoice_write_actions([invoice]),
        ]
        try:
            self._client.transact_write_items(TransactItems=actions)
        except self._client.exceptions.TransactionCanceledException as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                raise DisputeAlreadyOpen(f"a dispute of invoice {invoice.number} is already open") from exc
            if "ConditionalCheckFailed" in reasons[3:]:
                raise VersionConflict(invoice.number) from exc
            raise

    def record_promise(self, invoices: list[Invoice], audit: dict[str, Any], now: datetime) -> None:
        """In one transaction: the promised invoices (version-checked, with the summary) and the audit event."""
        first = invoices[0]
        actions = [*self.invoice_write_actions(invoices),
                   self._audit_put(first.creditor_id, first.debtor_id, audit, now)]
        try:
            self._client.transact_write_items(TransactItems=actions)
        except self._client.exceptions.TransactionCanceledException as exc:
            raise VersionConflict(",".join(i.number for i in invoices)) from exc

    def _get(self, key: dict[str, str]) -> dict[str, Any] | None:
        response = self._client.get_item(TableName=self.table_name, Key=_to_dynamo(key), ConsistentRead=True)
        return _from_dynamo(response["Item"]) if "Item" in response else None
