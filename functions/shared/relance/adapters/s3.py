"""Letters and exports kept in the private documents bucket."""

from __future__ import annotations

from typing import Any

from relance.adapters.aws import client


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
