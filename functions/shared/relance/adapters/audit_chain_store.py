"""The creditor's audit hash chain in the table: links, head, idempotency markers, and the events they chain.

Access patterns AC1–AC4 in docs/architecture/access-patterns.md. The chain is written only by the
AuditChainFunction (from the table's stream), never by a business transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from relance.adapters import keys
from relance.adapters.aws import client
from relance.domain.audit_chain import ChainHead, ChainLink, EventKey, LinkKind
from relance.services.audit_chain import AppendResult

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()
BATCH_GET_LIMIT = 100


def decode(image: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB image as plain values, numbers kept as Decimal (the chain hashes them exactly)."""
    return {name: _DESERIALIZER.deserialize(value) for name, value in image.items()}


def _encode(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _SERIALIZER.serialize(value) for name, value in item.items() if value is not None}


def link_item(creditor_id: str, link: ChainLink) -> dict[str, Any]:
    return {
        "PK": keys.audit_chain_pk(creditor_id), "SK": keys.audit_chain_link_sk(link.seq), "entity": "audit_chain_link",
        "creditor_id": creditor_id, "seq": link.seq, "kind": link.kind.value,
        "event_pk": link.event_key.partition, "event_sk": link.event_key.sort,
        "hash": link.hash, "previous_hash": link.previous_hash, "alert": dict(link.alert) if link.alert else None,
    }


def link_from(item: dict[str, Any]) -> ChainLink:
    return ChainLink(seq=int(item["seq"]), event_key=EventKey(item["event_pk"], item["event_sk"]), hash=item["hash"],
                     previous_hash=item["previous_hash"], kind=LinkKind(item.get("kind", "event")),
                     alert=item.get("alert"))


class DynamoAuditChain:
    def __init__(self, table_name: str, dynamodb: Any | None = None) -> None:
        self.table_name = table_name
        self._client = dynamodb or client("dynamodb")

    # --- writes (AuditChainFunction) -------------------------------------------------------------

    def is_chained(self, creditor_id: str, marker_sk: str) -> bool:
        """AC3: has this event (or alert) a marker already? One GetItem, so a redelivery costs one read."""
        item = self._client.get_item(TableName=self.table_name, ConsistentRead=True, ProjectionExpression="PK",
                                     Key=_encode({"PK": keys.audit_chained_pk(creditor_id), "SK": marker_sk}))
        return "Item" in item

    def head(self, creditor_id: str) -> ChainHead:
        """AC1: the chain's head, read strongly consistent (an empty chain has seq 0)."""
        item = self._client.get_item(TableName=self.table_name, ConsistentRead=True, Key=_encode(
            {"PK": keys.audit_chain_pk(creditor_id), "SK": keys.AUDIT_CHAIN_HEAD_SK})).get("Item")
        if not item:
            return ChainHead()
        plain = decode(item)
        return ChainHead(int(plain["seq"]), plain["hash"])

    def append(self, creditor_id: str, link: ChainLink, marker_sk: str, head_before: ChainHead) -> AppendResult:
        """AC4: link, marker and head in one transaction, conditional on the head still being `head_before`."""
        head_condition = ({"ConditionExpression": "attribute_not_exists(PK)"} if head_before.seq == 0 else
                          {"ConditionExpression": "seq = :seen", "ExpressionAttributeValues": {
                              ":seen": {"N": str(head_before.seq)}}})
        marker = {"PK": keys.audit_chained_pk(creditor_id), "SK": marker_sk, "entity": "audit_chain_marker",
                  "creditor_id": creditor_id, "seq": link.seq}
        head = {"PK": keys.audit_chain_pk(creditor_id), "SK": keys.AUDIT_CHAIN_HEAD_SK, "entity": "audit_chain_head",
                "creditor_id": creditor_id, "seq": link.seq, "hash": link.hash}
        try:
            self._client.transact_write_items(TransactItems=[
                {"Put": {"TableName": self.table_name, "Item": _encode(head), **head_condition}},
                {"Put": {"TableName": self.table_name, "Item": _encode(marker),
                         "ConditionExpression": "attribute_not_exists(PK)"}},
                {"Put": {"TableName": self.table_name, "Item": _encode(link_item(creditor_id, link)),
                         "ConditionExpression": "attribute_not_exists(PK)"}},
            ])
        except self._client.exceptions.TransactionCanceledException as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                return AppendResult.ALREADY_CHAINED
            if reasons and "ConditionalCheckFailed" in reasons:
                return AppendResult.HEAD_MOVED
            raise
        return AppendResult.APPENDED

    # --- reads (relance audit verify) ------------------------------------------------------------

    def links(self, creditor_id: str) -> list[ChainLink]:
        """AC2: every link, in chain order."""
        return [link_from(item) for item in self._query(
            KeyConditionExpression="PK = :pk AND begins_with(SK, :link)",
            ExpressionAttributeValues={":pk": {"S": keys.audit_chain_pk(creditor_id)}, ":link": {"S": "LINK#"}})]

    def debtor_events(self, event_partition: str) -> list[dict[str, Any]]:
        """AP5: a debtor's stored audit events, decoded for hashing."""
        return list(self._query(KeyConditionExpression="PK = :pk AND begins_with(SK, :audit)",
                                ExpressionAttributeValues={":pk": {"S": event_partition}, ":audit": {"S": "AUDIT#"}}))

    def _query(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        paginator = self._client.get_paginator("query")
        for page in paginator.paginate(TableName=self.table_name, ConsistentRead=True, **kwargs):
            for item in page.get("Items", []):
                yield decode(item)
