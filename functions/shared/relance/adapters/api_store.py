"""The ERP API's items in the one table: API keys (by digest), credit notes, and the creditor's event feed.

Access patterns API1 to API4 in docs/architecture/access-patterns.md; key strings in adapters/keys.py.
No business decisions here: the caller passes the time, the limits and what to write.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from relance.adapters import keys
from relance.adapters.audit_chain_store import link_from
from relance.adapters.aws import client
from relance.adapters.dynamo_codec import from_dynamo, to_dynamo
from relance.domain.audit_chain import ChainLink

BATCH_GET_LIMIT = 100


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """What is stored about one API key: whose it is, and whether it still opens the API."""

    key_id: str
    creditor_id: str
    created_at: str
    revoked_at: str | None = None

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class ApiStore:
    """Reads and writes the API's own items; invoices and debtors go through DynamoStore."""

    def __init__(self, table_name: str, dynamodb: Any | None = None) -> None:
        self.table_name = table_name
        self._client = dynamodb or client("dynamodb")

    # --- API keys (API1, API2) ----------------------------------------------------------------------

    def put_api_key(self, key_sha256: str, record: ApiKeyRecord) -> None:
        """The key's digest item and the creditor's list entry, together; never over an existing digest."""
        fields = {
            "entity": "api_key",
            "key_id": record.key_id,
            "creditor_id": record.creditor_id,
            "created_at": record.created_at,
        }
        self._client.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": self.table_name,
                        "ConditionExpression": "attribute_not_exists(PK)",
                        "Item": to_dynamo({**keys.api_key_key(key_sha256), **fields}),
                    }
                },
                {
                    "Put": {
                        "TableName": self.table_name,
                        "ConditionExpression": "attribute_not_exists(PK)",
                        "Item": to_dynamo(
                            {
                                "PK": keys.api_keys_pk(record.creditor_id),
                                "SK": record.key_id,
                                **fields,
                                "entity": "api_key_entry",
                                "key_sha256": key_sha256,
                            }
                        ),
                    }
                },
            ]
        )

    def find_api_key(self, key_sha256: str) -> ApiKeyRecord | None:
        """API1: the key whose text hashes to `key_sha256`, or None."""
        item = self._get(keys.api_key_key(key_sha256))
        if item is None:
            return None
        return ApiKeyRecord(item["key_id"], item["creditor_id"], item["created_at"], item.get("revoked_at"))

    def api_keys(self, creditor_id: str) -> list[ApiKeyRecord]:
        """API2: the creditor's keys, revoked ones included."""
        return [
            ApiKeyRecord(i["key_id"], i["creditor_id"], i["created_at"], i.get("revoked_at"))
            for i in self._query(
                KeyConditionExpression="PK = :pk",
                ExpressionAttributeValues=to_dynamo({":pk": keys.api_keys_pk(creditor_id)}),
            )
        ]

    def revoke_api_key(self, creditor_id: str, key_id: str, at: datetime) -> bool:
        """Mark the key revoked on both items; False when the creditor has no such key."""
        entry = self._get({"PK": keys.api_keys_pk(creditor_id), "SK": key_id})
        if entry is None:
            return False
        revoked = to_dynamo({":at": at.isoformat()})
        self._client.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": to_dynamo({"PK": keys.api_keys_pk(creditor_id), "SK": key_id}),
                        "UpdateExpression": "SET revoked_at = :at",
                        "ExpressionAttributeValues": revoked,
                    }
                },
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": to_dynamo(keys.api_key_key(entry["key_sha256"])),
                        "UpdateExpression": "SET revoked_at = :at",
                        "ExpressionAttributeValues": revoked,
                        "ConditionExpression": "attribute_exists(PK)",
                    }
                },
            ]
        )
        return True

    # --- credit notes (API3) ----------------------------------------------------------------------------

    def find_credit_note(self, creditor_id: str, debtor_id: str, number: str) -> dict[str, Any] | None:
        """A credit note the API recorded before credit notes shared the payments' write (kept for re-sends)."""
        return self._get({"PK": keys.debtor_pk(creditor_id, debtor_id), "SK": keys.credit_note_sk(number)})

    # --- the event feed (API4: the audit chain's links, then the events they name) ------------------

    def links_after(self, creditor_id: str, seq: int, limit: int) -> list[ChainLink]:
        """AC2 from a point: at most `limit` links of the creditor's chain after `seq`, in chain order."""
        response = self._client.query(
            TableName=self.table_name,
            Limit=limit,
            KeyConditionExpression="PK = :pk AND SK BETWEEN :first AND :last",
            ExpressionAttributeValues=to_dynamo(
                {
                    ":pk": keys.audit_chain_pk(creditor_id),
                    ":first": keys.audit_chain_link_sk(seq + 1),
                    ":last": "LINK#\uffff",
                }
            ),
        )
        return [link_from(from_dynamo(item)) for item in response.get("Items", [])]

    def events(self, refs: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
        """The audit events at these (PK, SK), by key; BatchGetItem, 100 keys a call."""
        found: dict[tuple[str, str], dict[str, Any]] = {}
        unique = list(dict.fromkeys(refs))
        for start in range(0, len(unique), BATCH_GET_LIMIT):
            request: dict[str, Any] = {
                self.table_name: {
                    "Keys": [
                        to_dynamo({"PK": pk, "SK": sk}) for pk, sk in unique[start : start + BATCH_GET_LIMIT]
                    ]
                }
            }
            while request:
                response = self._client.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self.table_name, []):
                    plain = from_dynamo(item)
                    found[(plain["PK"], plain["SK"])] = plain
                request = response.get("UnprocessedKeys") or {}
        return found

    # --- plumbing ---------------------------------------------------------------------------------------

    def _get(self, key: dict[str, str]) -> dict[str, Any] | None:
        item = self._client.get_item(TableName=self.table_name, Key=to_dynamo(key), ConsistentRead=True).get(
            "Item"
        )
        return from_dynamo(item) if item else None

    def _query(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        paginator = self._client.get_paginator("query")
        for page in paginator.paginate(TableName=self.table_name, **kwargs):
            for item in page.get("Items", []):
                yield from_dynamo(item)
