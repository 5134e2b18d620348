"""What a GDPR export or erasure reads and rewrites: a debtor's partition, the creditor-level items that
name the debtor, the debtor's S3 objects (every version), and the retention years of jurisdictions.yaml.

Access patterns (docs/architecture/access-patterns.md, GD1-GD5): no Scan; every read is a Query of the
debtor's own partition, of one creditor-level partition, or a GetItem by a key the debtor's items name.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

import yaml

from relance.adapters import keys
from relance.adapters.audit_chain_store import decode
from relance.adapters.aws import client
from relance.adapters.dynamo import invoice_from
from relance.adapters.dynamo_codec import plain, to_dynamo
from relance.adapters.rate_tables import packaged_text
from relance.domain.gdpr import mentions, personal_values
from relance.domain.invoices import Invoice

S3_DELETE_LIMIT = 1000


def retention_years_by_jurisdiction(text: str | None = None) -> dict[str, int]:
    """`retention_years` of every jurisdiction in jurisdictions.yaml (the packaged one unless `text` is given)."""
    document = yaml.safe_load(text if text is not None else packaged_text("jurisdictions.yaml")) or {}
    return {str(code).upper(): int(entry["retention_years"])
            for code, entry in (document.get("jurisdictions") or {}).items() if "retention_years" in entry}


class DynamoGdprStore:
    def __init__(self, table_name: str, dynamodb: Any | None = None) -> None:
        self.table_name = table_name
        self._client = dynamodb or client("dynamodb")

    def debtor_items(self, creditor_id: str, debtor_id: str) -> list[dict[str, Any]]:
        """GD1: every item of the debtor's partition (profile, invoices, contacts, disputes, plans, audit…)."""
        return list(self._query(KeyConditionExpression="PK = :pk",
                                ExpressionAttributeValues={":pk": {"S": keys.debtor_pk(creditor_id, debtor_id)}}))

    def invoices_in(self, items: Iterable[dict[str, Any]]) -> list[Invoice]:
        """The invoices among `items` (as `debtor_items` returns them), as the domain reads them."""
        return [invoice_from(plain(item)) for item in items if item.get("entity") == "invoice"]

    def related_items(self, creditor_id: str, debtor_id: str,
                      debtor_items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """GD2-GD3, GD6: the creditor-level items about the debtor: finance's tasks and alerts (one Query of each
        creditor partition, filtered on the debtor), the payments and collection lines its events name, and
        the unmatched bank credits (BP2) whose payer or label carries one of the debtor's personal values."""
        found: list[dict[str, Any]] = []
        for partition in (keys.tasks_pk(creditor_id), keys.alerts_pk(creditor_id),
                          keys.alert_outbox_key(creditor_id, "")["PK"]):
            found.extend(self._query(KeyConditionExpression="PK = :pk", FilterExpression="debtor_id = :d",
                                     ExpressionAttributeValues={":pk": {"S": partition}, ":d": {"S": debtor_id}}))
        debtor_items = list(debtor_items)
        values = personal_values(debtor_items)
        found.extend(item for item in self._query(
            KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": {"S": keys.unmatched_payments_pk(creditor_id)}})
            if item.get("assigning_to") == debtor_id or mentions(item, values))
        wanted: dict[tuple[str, str], dict[str, str]] = {}
        for item in debtor_items:
            payment_id = item.get("payment_id")
            if not isinstance(payment_id, str) or not payment_id:
                continue
            key = keys.payment_key(payment_id)
            wanted[(key["PK"], key["SK"])] = key
            received = item.get("received_on") or str(item.get("at") or "")[:10]
            try:
                key = keys.collection_key(creditor_id, date.fromisoformat(str(received)), payment_id)
            except ValueError:
                continue
            wanted[(key["PK"], key["SK"])] = key
        for key in wanted.values():
            response = self._client.get_item(TableName=self.table_name, Key=to_dynamo(key), ConsistentRead=True)
            if "Item" in response and str(decode(response["Item"]).get("debtor_id") or debtor_id) == debtor_id:
                found.append(decode(response["Item"]))
        return found

    def set_attributes(self, item: dict[str, Any], changed: dict[str, Any]) -> None:
        """Rewrite only the `changed` attributes of `item` (the others untouched), if the item still exists."""
        names = {f"#a{i}": name for i, name in enumerate(changed)}
        self._client.update_item(
            TableName=self.table_name, Key=to_dynamo({"PK": item["PK"], "SK": item["SK"]}),
            UpdateExpression="SET " + ", ".join(f"#a{i} = :v{i}" for i in range(len(changed))),
            ConditionExpression="attribute_exists(PK)", ExpressionAttributeNames=names,
            ExpressionAttributeValues=to_dynamo({f":v{i}": value for i, value in enumerate(changed.values())}))

    def delete_email_index(self, creditor_id: str, debtor_id: str, address_digests: Iterable[str]) -> int:
        """GD4: remove the debtor's entries of the e-mail index (PA5); returns how many existed."""
        removed = 0
        for digest in sorted(set(address_digests)):
            response = self._client.delete_item(TableName=self.table_name, ReturnValues="ALL_OLD",
                                                Key=to_dynamo(keys.email_index_key(digest, creditor_id, debtor_id)))
            removed += "Attributes" in response
        return removed

    def put_audit(self, item: dict[str, Any]) -> None:
        self._client.put_item(TableName=self.table_name, Item=to_dynamo(item),
                              ConditionExpression="attribute_not_exists(PK)")

    def debtor_ids(self, creditor_id: str) -> list[str]:
        """GD5 (= AP12): every debtor of the creditor, from the GSI1 partition the debtor items carry."""
        return sorted({str(item["GSI1SK"]) for item in self._query(
            IndexName="GSI1", KeyConditionExpression="GSI1PK = :pk", ConsistentRead=False,
            ExpressionAttributeValues={":pk": {"S": keys.debtor_index_pk(creditor_id)}})})

    def last_activity_on(self, creditor_id: str, debtor_id: str) -> date | None:
        """GD5 (= AP4, newest first, one item): the day of the debtor's latest audit event."""
        response = self._client.query(
            TableName=self.table_name, KeyConditionExpression="PK = :pk AND begins_with(SK, :audit)",
            ExpressionAttributeValues={":pk": {"S": keys.debtor_pk(creditor_id, debtor_id)}, ":audit": {"S": "AUDIT#"}},
            ScanIndexForward=False, Limit=1, ConsistentRead=True)
        items = response.get("Items") or []
        return date.fromisoformat(str(decode(items[0])["at"])[:10]) if items else None

    def _query(self, ConsistentRead: bool = True, **kwargs: Any) -> Iterator[dict[str, Any]]:  # noqa: N803
        paginator = self._client.get_paginator("query")
        for page in paginator.paginate(TableName=self.table_name, ConsistentRead=ConsistentRead, **kwargs):
            for item in page.get("Items", []):
                yield decode(item)


class S3DebtorDocuments:
    """The debtor's objects in the versioned documents bucket: every version, since a plain delete keeps them."""

    def __init__(self, bucket: str, s3: Any | None = None) -> None:
        self.bucket = bucket
        self._client = s3 or client("s3")

    def versions(self, prefix: str) -> list[dict[str, Any]]:
        """Every version and delete marker under `prefix`: key, version_id, size, latest, delete_marker."""
        found: list[dict[str, Any]] = []
        for page in self._client.get_paginator("list_object_versions").paginate(Bucket=self.bucket, Prefix=prefix):
            for version in page.get("Versions", []):
                found.append({"key": version["Key"], "version_id": version.get("VersionId"),
                              "size": int(version.get("Size", 0)), "latest": bool(version.get("IsLatest")),
                              "delete_marker": False})
            for marker in page.get("DeleteMarkers", []):
                found.append({"key": marker["Key"], "version_id": marker.get("VersionId"), "size": 0,
                              "latest": bool(marker.get("IsLatest")), "delete_marker": True})
        return sorted(found, key=lambda v: (v["key"], not v["latest"], str(v["version_id"])))

    def get(self, key: str, version_id: str | None = None) -> bytes:
        extra = {"VersionId": version_id} if version_id and version_id != "null" else {}
        return self._client.get_object(Bucket=self.bucket, Key=key, **extra)["Body"].read()

    def delete(self, versions: Iterable[dict[str, Any]]) -> int:
        """Delete these versions for good (and the delete markers); returns how many were removed."""
        objects = [{"Key": v["key"], **({"VersionId": v["version_id"]} if v.get("version_id") else {})}
                   for v in versions]
        for start in range(0, len(objects), S3_DELETE_LIMIT):
            self._client.delete_objects(Bucket=self.bucket,
                                        Delete={"Objects": objects[start:start + S3_DELETE_LIMIT], "Quiet": True})
        return len(objects)
