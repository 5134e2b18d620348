"""The portal's access items in the one table: links, one-time codes, the e-mail index, request counters.

Access patterns PA1 to PA6 in docs/architecture/access-patterns.md; key strings in adapters/keys.py.
No business decisions here: limits, expiries and the current time come in as arguments.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any


from relance.adapters import keys
from relance.adapters.dynamo_codec import from_dynamo as _from_dynamo
from relance.adapters.dynamo_codec import to_dynamo as _to_dynamo
from relance.adapters.aws import client
from relance.adapters.dynamo import audit_item, email_index_items
from relance.adapters.links import link_record_from
from relance.domain.access import CodeChallenge, LinkRecord, epoch_seconds
from relance.domain.parties import Debtor

MAX_VERSION_RETRIES = 3


class PortalAccessStore:
    """Reads and writes the portal's access items (links, codes, e-mail index, counters)."""

    def __init__(self, table_name: str, dynamodb: Any | None = None) -> None:
        self.table_name = table_name
        self._client = dynamodb or client("dynamodb")

    # --- links (PA1 to PA3) -----------------------------------------------------------------------

    def put_link(self, item: dict[str, Any]) -> None:
        """Store an issued link's item (`IssuedLink.item`)."""
        self._client.put_item(TableName=self.table_name, Item=_to_dynamo(item))

    def find_link(self, token_sha256: str) -> LinkRecord | None:
        """The link stored under this token digest, or None."""
        item = self._get(keys.link_key(token_sha256))
        return link_record_from(item) if item else None

    def link_version(self, creditor_id: str, debtor_id: str) -> int | None:
        """The debtor's current link version (one small read of the debtor item), or None if no such debtor."""
        item = self._get(keys.debtor_key(creditor_id, debtor_id), ProjectionExpression="link_version")
        if item is None:
            return None
        return int(item.get("link_version", 1))

    def raise_link_version(self, creditor_id: str, debtor_id: str, audit: dict[str, Any],
                           now: datetime) -> int | None:
        """Raise the debtor's link version by one, with its audit event, in one transaction.

        Returns the new version, or None when there is no such debtor.
        """
        for _attempt in range(MAX_VERSION_RETRIES):
            current = self.link_version(creditor_id, debtor_id)
            if current is None:
                return None
            event = {**audit, "link_version_from": current, "link_version_to": current + 1}
            try:
                self._client.transact_write_items(TransactItems=[
                    {
                        "Update": {
                            "TableName": self.table_name,
                            "Key": _to_dynamo(keys.debtor_key(creditor_id, debtor_id)),
                            "UpdateExpression": "SET link_version = :new",
                            "ConditionExpression": "attribute_exists(PK) AND "
                                                   "(link_version = :old OR attribute_not_exists(link_version))",
                            "ExpressionAttributeValues": _to_dynamo({":new": current + 1, ":old": current}),
                        }
                    },
                    {"Put": self._audit_put(creditor_id, debtor_id, event, now)},
                ])
            except self._client.exceptions.TransactionCanceledException:
                continue  # raised meanwhile by someone else: read again
            return current + 1
        raise RuntimeError(f"the link version of {debtor_id} kept changing while it was raised")

    def add_audit(self, creditor_id: str, debtor_id: str, audit: dict[str, Any], now: datetime) -> None:
        """Append one event to the debtor's audit trail (ids and outcomes only)."""
        self._client.put_item(**self._audit_put(creditor_id, debtor_id, audit, now))

    # --- one-time codes (PA4) ---------------------------------------------------------------------

    def put_code(self, challenge: CodeChallenge, resend_after: datetime) -> bool:
        """Store `challenge` as the debtor's pending code, unless the last one was sent after `resend_after`.

        Returns False (and stores nothing) when a code was sent too recently.
        """
        item = {
            **keys.code_key(challenge.creditor_id, challenge.debtor_id),
            "entity": "portal_code",
            "creditor_id": challenge.creditor_id,
            "debtor_id": challenge.debtor_id,
            "challenge_id": challenge.challenge_id,
            "digest": challenge.digest,
            "sent_at": challenge.sent_at.isoformat(),
            "sent_epoch": epoch_seconds(challenge.sent_at),
            "expires_at": challenge.expires_at.isoformat(),
            "expires_epoch": epoch_seconds(challenge.expires_at),
            "attempts": challenge.attempts,
        }
        try:
            self._client.put_item(
                TableName=self.table_name,
                Item=_to_dynamo(item),
                ConditionExpression="attribute_not_exists(PK) OR sent_epoch <= :limit",
                ExpressionAttributeValues={":limit": {"N": str(epoch_seconds(resend_after))}},
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def find_code(self, creditor_id: str, debtor_id: str) -> CodeChallenge | None:
        """The debtor's pending code, or None."""
        item = self._get(keys.code_key(creditor_id, debtor_id))
        return _challenge_from(item) if item else None

    def spend_code_attempt(self, creditor_id: str, debtor_id: str, challenge_id: str, now: datetime,
                           max_attempts: int) -> CodeChallenge | None:
        """Count one guess against the pending code and return it; None when no guess may be made.

        The counter is raised only while it is below `max_attempts`, the code is the one named, unused
        and not expired: concurrent guesses can never spend more than `max_attempts` between them.
        """
        try:
            response = self._client.update_item(
                TableName=self.table_name,
                Key=_to_dynamo(keys.code_key(creditor_id, debtor_id)),
                UpdateExpression="SET attempts = attempts + :one",
                ConditionExpression="challenge_id = :id AND attempts < :max AND expires_epoch > :now "
                                    "AND attribute_not_exists(used_at)",
                ExpressionAttributeValues=_to_dynamo({":one": 1, ":id": challenge_id, ":max": max_attempts,
                                                      ":now": epoch_seconds(now)}),
                ReturnValues="ALL_NEW",
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return None
        return _challenge_from(_from_dynamo(response["Attributes"]))

    def mark_code_used(self, creditor_id: str, debtor_id: str, challenge_id: str, now: datetime) -> bool:
        """Use the code up, so it opens one session only; False if it was already used or replaced."""
        try:
            self._client.update_item(
                TableName=self.table_name,
                Key=_to_dynamo(keys.code_key(creditor_id, debtor_id)),
                UpdateExpression="SET used_at = :now",
                ConditionExpression="challenge_id = :id AND attribute_not_exists(used_at)",
                ExpressionAttributeValues=_to_dynamo({":id": challenge_id, ":now": now.isoformat()}),
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    # --- e-mail index (PA5) -----------------------------------------------------------------------

    def put_email_index(self, debtor: Debtor) -> None:
        """Index every address of `debtor` (the debtor write paths put `email_index_items` themselves)."""
        for item in email_index_items(debtor):
            self._client.put_item(TableName=self.table_name, Item=_to_dynamo(item))

    def debtors_by_address(self, address_digest: str) -> list[tuple[str, str]]:
        """(creditor_id, debtor_id) of every debtor indexed under this address digest."""
        return [
            (item["creditor_id"], item["debtor_id"])
            for item in self._query(
                KeyConditionExpression="PK = :pk",
                ExpressionAttributeValues={":pk": {"S": keys.email_index_pk(address_digest)}},
            )
        ]

    # --- request counters (PA6) -------------------------------------------------------------------

    def count_request(self, scope: str, subject: str, window_start: datetime, window_end: datetime,
                      limit: int) -> bool:
        """Count one request of `subject` in the window; False (nothing counted) once `limit` were counted.

        One conditional `ADD` per request, so concurrent requests cannot pass the limit together. The
        counter is deleted by the table's TTL after its window.
        """
        try:
            self._client.update_item(
                TableName=self.table_name,
                Key=_to_dynamo(keys.rate_key(scope, subject, window_start)),
                UpdateExpression="ADD hits :one SET expires_epoch = :end, entity = :entity",
                ConditionExpression="attribute_not_exists(hits) OR hits < :limit",
                ExpressionAttributeValues=_to_dynamo({":one": 1, ":end": epoch_seconds(window_end),
                                                      ":limit": limit, ":entity": "rate_counter"}),
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    # --- plumbing -------------------------------------------------------------------------------

    def _audit_put(self, creditor_id: str, debtor_id: str, audit: dict[str, Any], now: datetime) -> dict[str, Any]:
        return {"TableName": self.table_name, "Item": _to_dynamo(audit_item(creditor_id, debtor_id, audit, now)),
                "ConditionExpression": "attribute_not_exists(PK)"}

    def _get(self, key: dict[str, str], **kwargs: Any) -> dict[str, Any] | None:
        response = self._client.get_item(TableName=self.table_name, Key=_to_dynamo(key), ConsistentRead=True,
                                         **kwargs)
        item = response.get("Item")
        return _from_dynamo(item) if item else None

    def _query(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        paginator = self._client.get_paginator("query")
        for page in paginator.paginate(TableName=self.table_name, **kwargs):
            for item in page.get("Items", []):
                yield _from_dynamo(item)


def _challenge_from(item: dict[str, Any]) -> CodeChallenge:
    return CodeChallenge(
        creditor_id=item["creditor_id"],
        debtor_id=item["debtor_id"],
        challenge_id=item["challenge_id"],
        digest=item["digest"],
        sent_at=datetime.fromisoformat(item["sent_at"]),
        expires_at=datetime.fromisoformat(item["expires_at"]),
        attempts=int(item.get("attempts", 0)),
        used_at=datetime.fromisoformat(item["used_at"]) if item.get("used_at") else None,
    )
