"""Split imports (IM3): the ledger item in the table, the parts' bytes and reports in S3, the chunk queue."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, BinaryIO

from relance.adapters import keys
from relance.adapters.aws import client
from relance.adapters.dynamo_codec import from_dynamo, to_dynamo
from relance.services.import_chunks import ChunkJob, Progress


def _part_name(index: int) -> str:
    return f"p{index:05d}"


class DynamoImportLedger:
    """`CRED#<c>#IMPORTS` / `<bucket>/<key>/<version>`: the parts of a split import and those counted."""

    def __init__(self, table_name: str, dynamodb: Any | None = None) -> None:
        self.table_name = table_name
        self._client = dynamodb or client("dynamodb")

    def start(self, job: ChunkJob, lines: int, now: datetime) -> None:
        item = {**keys.import_ledger_key(job.creditor_id, job.import_id), "entity": "import",
                "creditor_id": job.creditor_id, "object_key": job.key, "version_id": job.version_id,
                "chunk_count": job.count, "lines": lines, "started_at": now.isoformat(), "status": "importing",
                "parts": {}, "parts_done": 0}
        try:
            self._client.put_item(TableName=self.table_name, Item=to_dynamo(item),
                                  ConditionExpression="attribute_not_exists(PK)")
        except self._client.exceptions.ConditionalCheckFailedException:
            pass  # the drop was retried after a crash: the ledger, and the parts already counted, stay

    def count_part(self, job: ChunkJob, summary: dict[str, int]) -> Progress | None:
        """One conditional update: the part's entry is added only if absent, and the counter with it."""
        try:
            response = self._client.update_item(
                TableName=self.table_name, Key=to_dynamo(keys.import_ledger_key(job.creditor_id, job.import_id)),
                UpdateExpression="SET parts.#part = :summary ADD parts_done :one",
                ConditionExpression="attribute_exists(PK) AND attribute_not_exists(parts.#part)",
                ExpressionAttributeNames={"#part": _part_name(job.index)},
                ExpressionAttributeValues=to_dynamo({":summary": summary, ":one": 1}),
                ReturnValues="ALL_NEW")
        except self._client.exceptions.ConditionalCheckFailedException:
            return None
        return _progress(from_dynamo(response["Attributes"]))

    def progress(self, creditor_id: str, import_id: str) -> Progress:
        response = self._client.get_item(TableName=self.table_name, ConsistentRead=True,
                                         Key=to_dynamo(keys.import_ledger_key(creditor_id, import_id)))
        if "Item" not in response:
            raise LookupError(f"no ledger for the split import {import_id!r}")
        return _progress(from_dynamo(response["Item"]))

    def imports_of(self, creditor_id: str) -> list[dict[str, Any]]:
        """IM3: every split import of the creditor, with its progress (`relance imports`)."""
        items: list[dict[str, Any]] = []
        query: dict[str, Any] = {"TableName": self.table_name, "KeyConditionExpression": "PK = :pk",
                                 "ExpressionAttributeValues": to_dynamo({":pk": f"CRED#{creditor_id}#IMPORTS"})}
        while True:
            page = self._client.query(**query)
            items += [from_dynamo(item) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return items
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def mark_reported(self, job: ChunkJob, report_key: str, now: datetime) -> None:
        self._client.update_item(
            TableName=self.table_name, Key=to_dynamo(keys.import_ledger_key(job.creditor_id, job.import_id)),
            UpdateExpression="SET #status = :reported, report_key = :report_key, reported_at = :now",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=to_dynamo({":reported": "reported", ":report_key": report_key,
                                                 ":now": now.isoformat()}))


def _progress(item: dict[str, Any]) -> Progress:
    done = frozenset(int(name[1:]) for name in item.get("parts", {}))
    return Progress(int(item["chunk_count"]), int(item.get("parts_done", 0)), done, item.get("status") == "reported")


class S3ImportParts:
    """The dropped file read by byte range, and each part's report under `import-parts/` in the same bucket."""

    def __init__(self, s3: Any | None = None) -> None:
        self._client = s3 or client("s3")

    def open_range(self, job: ChunkJob) -> BinaryIO:
        """The part's bytes as a stream (never the whole file): `Range: bytes=start-end`."""
        last = "" if job.part.end is None else str(job.part.end - 1)
        extra = {"VersionId": job.version_id} if job.version_id else {}
        response = self._client.get_object(Bucket=job.bucket, Key=job.key, Range=f"bytes={job.part.start}-{last}",
                                           **extra)
        return response["Body"]  # type: ignore[no-any-return]

    def put_part_report(self, job: ChunkJob, body: bytes) -> None:
        self._client.put_object(Bucket=job.bucket, Key=keys.import_part_report_key(job.import_id, job.index),
                                Body=body, ContentType="application/json", ServerSideEncryption="AES256")

    def part_report(self, job: ChunkJob, index: int) -> bytes:
        response = self._client.get_object(Bucket=job.bucket, Key=keys.import_part_report_key(job.import_id, index))
        return response["Body"].read()  # type: ignore[no-any-return]


# SQS takes 256 KB a batch: a part naming many repeated invoice numbers is a big message (10,000 at most,
# about 180 KB), so batches are cut by size as well as by ten.
MAX_BATCH_BYTES = 200_000


class SqsChunkQueue:
    """The chunk queue: one message per part, sent in batches of ten at most."""

    def __init__(self, queue_url: str, sqs: Any | None = None) -> None:
        self.queue_url = queue_url
        self._client = sqs or client("sqs")

    def send(self, jobs: Sequence[dict[str, Any]]) -> None:
        bodies = [json.dumps(job, separators=(",", ":")) for job in jobs]
        batch: list[str] = []
        for body in bodies:
            if batch and (len(batch) == 10 or sum(map(len, batch)) + len(body) > MAX_BATCH_BYTES):
                self._send(batch)
                batch = []
            batch.append(body)
        if batch:
            self._send(batch)

    def _send(self, bodies: list[str]) -> None:
        response = self._client.send_message_batch(QueueUrl=self.queue_url, Entries=[
            {"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies)])
        if response.get("Failed"):
            raise RuntimeError(f"the chunk queue refused {len(response['Failed'])} parts: {response['Failed']}")
