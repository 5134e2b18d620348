"""Letters and exports kept in the private documents bucket."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from relance.adapters.aws import client


@dataclass(frozen=True, slots=True)
class StoredDocument:
    """A document read from the bucket: its bytes, streamed in chunks, and the type it was stored with."""

    chunks: Iterator[bytes]
    content_type: str
    length: int | None


class S3Documents:
    """Writes documents under keys built by adapters/keys.py; the same key written twice holds the same bytes."""

    def __init__(self, bucket: str, s3: Any | None = None) -> None:
        self.bucket = bucket
        self._client = s3 or client("s3")

    def put(self, key: str, body: bytes, content_type: str) -> str:
        self._client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type,
                                ServerSideEncryption="AES256")
        return key

    def get(self, key: str) -> bytes:
        return self._client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def open(self, key: str, chunk_size: int = 64 * 1024) -> StoredDocument:
        """The document at `key`, streamed rather than read whole (letters and attachments reach a few MB)."""
        response = self._client.get_object(Bucket=self.bucket, Key=key)
        return StoredDocument(response["Body"].iter_chunks(chunk_size),
                              response.get("ContentType") or "application/octet-stream",
                              response.get("ContentLength"))
