"""Payments in the Relance table: Stripe events, payments, Checkout Sessions, the debtor's credit.

Items and keys: docs/architecture/payments.md; key strings: adapters/keys.py. No business
decisions here: relance.services.payments says what to write, this module writes it in one
transaction.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from relance.adapters import keys
from relance.adapters.dynamo_codec import from_dynamo as _from_dynamo
from relance.adapters.dynamo_codec import to_dynamo as _to_dynamo
from relance.adapters.dynamo import VersionConflict
from relance.domain.collections import Collection
from relance.domain.money import Money
from relance.domain.payments import Allocation, AllocationResult, Payment, PaymentStatus
from relance.adapters.plans_store import PlansStore, plan_item
from relance.services.autopay import SetupCheckoutRecord
from relance.services.payments import CheckoutRecord, PaymentWrite

# Stripe retries an event for 3 days and the dashboard can resend it for 30: its id is kept 90 days.
EVENT_KEPT_FOR = timedelta(days=90)
_CREDIT_PREFIX = "minor_"


def _shares(allocations: tuple[Allocation, ...]) -> list[dict[str, Any]]:
    """Allocations as a list (a map would lose the oldest-first order)."""
    return [{"invoice": a.invoice_number, "minor": a.amount.minor} for a in allocations]


def _allocations(items: list[dict[str, Any]] | None, currency: str) -> tuple[Allocation, ...]:
    return tuple(Allocation(i["invoice"], Money(int(i["minor"]), currency)) for i in items or [])


def _money(minor: int | None, currency: str) -> Money | None:
    return Money(int(minor), currency) if minor is not None else None


def payment_item(payment: Payment) -> dict[str, Any]:
    return {
        **keys.payment_key(payment.payment_id),
        "entity": "payment",
        "payment_id": payment.payment_id,
        "creditor_id": payment.creditor_id or None,
        "debtor_id": payment.debtor_id or None,
        "currency": payment.currency,
        "amount_minor": payment.amount.minor,
        "status": payment.status.value,
        "requested": _shares(payment.requested),
        "allocations": _shares(payment.allocations),
        "credit_minor": payment.credit.minor if payment.credit is not None else None,
        "refunded_minor": payment.refunded.minor if payment.refunded is not None else None,
        "refund_seen_minor": payment.refund_seen.minor if payment.refund_seen is not None else None,
        "method": payment.method,
        "checkout_session_id": payment.checkout_session_id,
        "charge_id": payment.charge_id,
        "held_until": payment.held_until.isoformat() if payment.held_until else None,
        "version": payment.version,
        "reference": payment.reference,
    }


def payment_from(item: dict[str, Any]) -> Payment:
    currency = item["currency"]
    return Payment(
        payment_id=item["payment_id"],
        creditor_id=item.get("creditor_id", ""),
        debtor_id=item.get("debtor_id", ""),
        amount=Money(int(item["amount_minor"]), currency),
        status=PaymentStatus(item["status"]),
        requested=_allocations(item.get("requested"), currency),
        allocations=_allocations(item.get("allocations"), currency),
        credit=_money(item.get("credit_minor"), currency),
        refunded=_money(item.get("refunded_minor"), currency),
        refund_seen=_money(item.get("refund_seen_minor"), currency),
        method=item.get("method"),
        checkout_session_id=item.get("checkout_session_id"),
        charge_id=item.get("charge_id"),
        held_until=date.fromisoformat(item["held_until"]) if item.get("held_until") else None,
        version=int(item.get("version", 0)),
        reference=item.get("reference"),
    )


def collection_item(payment: Payment, received_on: date) -> dict[str, Any]:
    """The payment as one line of its month's collections (AP14), with what it paid on each invoice."""
    return {
        **keys.collection_key(payment.creditor_id, received_on, payment.payment_id),
        "entity": "collection",
        "creditor_id": payment.creditor_id,
        "debtor_id": payment.debtor_id,
        "payment_id": payment.payment_id,
        "received_on": received_on.isoformat(),
        "currency": payment.currency,
        "amount_minor": payment.amount.minor,
        "allocations": _shares(payment.allocations),
        "credit_minor": payment.credit.minor if payment.credit is not None else None,
        "method": payment.method,
        "reference": payment.reference,
    }


def collection_from(item: dict[str, Any]) -> Collection:
    currency = item["currency"]
    return Collection(received_on=date.fromisoformat(item["received_on"]), debtor_id=item["debtor_id"],
                      payment_id=item["payment_id"], amount=Money(int(item["amount_minor"]), currency),
                      allocations=_allocations(item.get("allocations"), currency),
                      credit=_money(item.get("credit_minor"), currency), method=item.get("method"),
                      reference=item.get("reference"))


def checkout_item(record: CheckoutRecord) -> dict[str, Any]:
    return {
        **keys.checkout_key(record.session_id),
        "entity": "checkout",
        "session_id": record.session_id,
        "creditor_id": record.creditor_id,
        "debtor_id": record.debtor_id,
        "currency": record.allocation.currency,
        "amount_minor": record.allocation.amount.minor,
        "allocations": _shares(record.allocation.allocations),
        "unallocated_minor": record.allocation.unallocated.minor,
        "url": record.url,
        "success_url": record.success_url,
        "cancel_url": record.cancel_url,
        "created_at": record.created_at.isoformat(),
        "payment_id": record.payment_id,
        "metadata": dict(record.metadata) or None,
    }


def checkout_from(item: dict[str, Any]) -> CheckoutRecord:
    currency = item["currency"]
    allocation = AllocationResult(_allocations(item.get("allocations"), currency),
                                  Money(int(item.get("unallocated_minor", 0)), currency))
    return CheckoutRecord(
        session_id=item["session_id"], creditor_id=item["creditor_id"], debtor_id=item["debtor_id"],
        allocation=allocation, url=item["url"], created_at=datetime.fromisoformat(item["created_at"]),
        success_url=item["success_url"], cancel_url=item["cancel_url"], payment_id=item.get("payment_id"),
        metadata=tuple(sorted((item.get("metadata") or {}).items())),
    )


def setup_checkout_item(record: SetupCheckoutRecord) -> dict[str, Any]:
    return {
        **keys.checkout_key(record.session_id),
        "entity": "setup_checkout",
        "session_id": record.session_id,
        "creditor_id": record.creditor_id,
        "debtor_id": record.debtor_id,
        "plan_id": record.plan_id,
        "currency": record.currency,
        "customer_id": record.customer_id,
        "url": record.url,
        "success_url": record.success_url,
        "cancel_url": record.cancel_url,
        "created_at": record.created_at.isoformat(),
    }


def setup_checkout_from(item: dict[str, Any]) -> SetupCheckoutRecord:
    return SetupCheckoutRecord(
        session_id=item["session_id"], creditor_id=item["creditor_id"], debtor_id=item["debtor_id"],
        plan_id=item["plan_id"], currency=item["currency"], customer_id=item["customer_id"], url=item["url"],
        created_at=datetime.fromisoformat(item["created_at"]), success_url=item["success_url"],
        cancel_url=item["cancel_url"],
    )


class PaymentsStore(PlansStore):
    """DynamoStore, plus the items of online payments."""

    # --- reads ----------------------------------------------------------------------------------

    def event_seen(self, event_id: str) -> bool:
        return self._get(keys.stripe_event_key(event_id)) is not None

    def get_payment(self, payment_id: str) -> Payment | None:
        item = self._get(keys.payment_key(payment_id))
        return payment_from(item) if item else None

    def payment_id_for_charge(self, charge_id: str) -> str | None:
        item = self._get(keys.charge_key(charge_id))
        return item["payment_id"] if item else None

    def get_checkout(self, session_id: str) -> CheckoutRecord | None:
        item = self._get(keys.checkout_key(session_id))
        return checkout_from(item) if item and item.get("entity") == "checkout" else None

    def get_setup_checkout(self, session_id: str) -> SetupCheckoutRecord | None:
        """A setup session the portal opened for a plan's automatic payment (services.autopay)."""
        item = self._get(keys.checkout_key(session_id))
        return setup_checkout_from(item) if item and item.get("entity") == "setup_checkout" else None

    def collections_between(self, creditor_id: str, first: date, last: date) -> list[Collection]:
        """AP14: the payments received from `first` to `last` (included), oldest first, one Query per month."""
        found: list[Collection] = []
        month = first.replace(day=1)
        while month <= last:
            found.extend(collection_from(item) for item in self._query(
                KeyConditionExpression="PK = :pk AND SK BETWEEN :first AND :last",
                ExpressionAttributeValues=_to_dynamo({":pk": keys.collection_pk(creditor_id, month),
                                                      ":first": first.isoformat(),
                                                      ":last": f"{last.isoformat()}#\uffff"})))
            month = (month + timedelta(days=32)).replace(day=1)
        return found

    def debtor_credit(self, creditor_id: str, debtor_id: str) -> dict[str, Money]:
        """Money the debtor paid that no invoice took, per currency (only currencies with some)."""
        item = self._get(keys.credit_key(creditor_id, debtor_id)) or {}
        credits = {name.removeprefix(_CREDIT_PREFIX): int(minor) for name, minor in item.items()
                   if name.startswith(_CREDIT_PREFIX)}
        return {currency: Money(minor, currency) for currency, minor in sorted(credits.items()) if minor != 0}

    # --- writes ---------------------------------------------------------------------------------

    def put_checkout(self, record: CheckoutRecord) -> None:
        """Remember a Checkout Session the portal opened; the same session sent twice is kept once."""
        try:
            self._client.put_item(TableName=self.table_name, Item=_to_dynamo(checkout_item(record)),
                                  ConditionExpression="attribute_not_exists(PK)")
        except self._client.exceptions.ConditionalCheckFailedException:
            pass  # a double submit: Stripe gave the same session for the same idempotency key

    def put_setup_checkout(self, record: SetupCheckoutRecord) -> None:
        """Remember a setup session the portal opened; the same session sent twice is kept once."""
        try:
            self._client.put_item(TableName=self.table_name, Item=_to_dynamo(setup_checkout_item(record)),
                                  ConditionExpression="attribute_not_exists(PK)")
        except self._client.exceptions.ConditionalCheckFailedException:
            pass  # a double submit: the same idempotency key gave the same session

    def commit(self, write: PaymentWrite, now: datetime) -> bool:
        """In one transaction: the event recorded once, the payment, its invoices (version-checked, with the
        debtor's summary), the debtor's credit, the audit event and the finance task.

        Returns False when this event was recorded meanwhile; raises VersionConflict when the
        payment or an invoice changed since it was read.
        """
        actions: list[dict[str, Any]] = [{"Put": {
            "TableName": self.table_name,
            "Item": _to_dynamo({
                **keys.stripe_event_key(write.event_id), "entity": "stripe_event", "event_id": write.event_id,
                "event_type": write.event_type, "outcome": write.outcome.value, "received_at": now.isoformat(),
                "payment_id": write.payment.payment_id if write.payment else None,
                "expires_epoch": int((now + EVENT_KEPT_FOR).timestamp()),
            }),
            "ConditionExpression": "attribute_not_exists(PK)",
        }}]
        if write.payment is not None:
            actions.extend(self._payment_actions(write.payment, now))
        if write.audit is not None and write.creditor_id and write.debtor_id:
            actions.append(self._audit_put(write.creditor_id, write.debtor_id, write.audit, now))
        if write.task is not None:
            task = write.task
            actions.append({"Put": {"TableName": self.table_name, "Item": _to_dynamo({
                "PK": keys.tasks_pk(task["creditor_id"]),
                "SK": keys.dispute_task_sk(date.fromisoformat(task["due_on"]), task["debtor_id"],
                                           task.get("dispute_id") or write.event_id),
                "entity": "task", "status": "open", **task})}})
        if write.credit_delta is not None and not write.credit_delta.is_zero() and write.creditor_id and write.debtor_id:
            actions.append(self._credit_update(write.creditor_id, write.debtor_id, write.credit_delta))
        if write.plan is not None:  # the installments the payment paid, if the plan is still as read
            actions.append({"Put": {
                "TableName": self.table_name, "Item": _to_dynamo(plan_item(write.plan)),
                "ConditionExpression": "version = :pv",
                "ExpressionAttributeValues": {":pv": {"N": str(write.plan.version)}}}})
        if write.collected_on is not None and write.payment is not None and write.creditor_id and write.debtor_id:
            actions.append({"Put": {"TableName": self.table_name,
                                    "Item": _to_dynamo(collection_item(write.payment, write.collected_on))}})
        if write.invoices:
            actions.extend(self.invoice_write_actions(list(write.invoices)))
        try:
            self._client.transact_write_items(TransactItems=actions)
        except self._client.exceptions.TransactionCanceledException as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                return False  # the same event, delivered twice at once: the other delivery applied it
            if "ConditionalCheckFailed" in reasons:
                raise VersionConflict(write.event_id) from exc
            raise
        return True

    # --- plumbing -------------------------------------------------------------------------------

    def _payment_actions(self, payment: Payment, now: datetime) -> list[dict[str, Any]]:
        written = {**payment_item(payment), "version": payment.version + 1, "updated_at": now.isoformat()}
        put: dict[str, Any] = {"TableName": self.table_name, "Item": _to_dynamo(written)}
        if payment.version == 0:
            put["ConditionExpression"] = "attribute_not_exists(PK)"
        else:
            put["ConditionExpression"] = "version = :v"
            put["ExpressionAttributeValues"] = {":v": {"N": str(payment.version)}}
        actions: list[dict[str, Any]] = [{"Put": put}]
        if payment.charge_id:
            actions.append({"Put": {"TableName": self.table_name, "Item": _to_dynamo({
                **keys.charge_key(payment.charge_id), "entity": "charge", "charge_id": payment.charge_id,
                "payment_id": payment.payment_id})}})
        if payment.checkout_session_id:
            actions.append({"Update": {
                "TableName": self.table_name,
                "Key": _to_dynamo(keys.checkout_key(payment.checkout_session_id)),
                # A session opened elsewhere than the portal leaves a stub the return page does not show.
                "UpdateExpression": "SET payment_id = :p, entity = if_not_exists(entity, :stub)",
                "ExpressionAttributeValues": _to_dynamo({":p": payment.payment_id, ":stub": "checkout_stub"}),
            }})
        return actions

    def _credit_update(self, creditor_id: str, debtor_id: str, delta: Money) -> dict[str, Any]:
        """Add `delta` to the debtor's credit in its currency (one attribute per currency, `minor_EUR`…)."""
        return {"Update": {
            "TableName": self.table_name,
            "Key": _to_dynamo(keys.credit_key(creditor_id, debtor_id)),
            "UpdateExpression": "SET entity = :e, creditor_id = :c, debtor_id = :d, "
                                "#cur = if_not_exists(#cur, :zero) + :n",
            "ExpressionAttributeNames": {"#cur": f"{_CREDIT_PREFIX}{delta.currency}"},
            "ExpressionAttributeValues": _to_dynamo({":e": "credit", ":c": creditor_id, ":d": debtor_id,
                                                     ":zero": 0, ":n": delta.minor}),
        }}

    def _get(self, key: dict[str, str]) -> dict[str, Any] | None:
        response = self._client.get_item(TableName=self.table_name, Key=_to_dynamo(key), ConsistentRead=True)
        return _from_dynamo(response["Item"]) if "Item" in response else None
