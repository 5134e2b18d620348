"""The original PDFs of imported Factur-X invoices: the bytes in the documents bucket, the pointer in the table."""

from __future__ import annotations

import hashlib
from typing import Any

from relance.adapters import keys
from relance.adapters.aws import client
from relance.adapters.dynamo_codec import from_dynamo, to_dynamo
from relance.adapters.s3 import S3Documents


class S3OriginalPdfs:
    """Keeps an invoice's original PDF once: the same bytes imported again write nothing (no new S3 version)."""

    def __init__(self, table_name: str, documents: S3Documents, dynamodb: Any | None = None) -> None:
        self.table_name = table_name
        self.documents = documents
        self._client = dynamodb or client("dynamodb")

    def keep(self, creditor_id: str, debtor_id: str, number: str, pdf: bytes) -> str:
        """Store `pdf` as the original of invoice `number`; returns its documents-bucket key."""
        digest = hashlib.sha256(pdf).hexdigest()
        object_key = keys.original_pdf_object_key(creditor_id, debtor_id, digest)
        item_key = keys.original_pdf_key(creditor_id, debtor_id, number)
        response = self._client.get_item(TableName=self.table_name, Key=to_dynamo(item_key), ConsistentRead=True)
        current = from_dynamo(response["Item"]) if "Item" in response else None
        if current is not None and current.get("original_pdf_key") == object_key:
            return object_key
        self.documents.put(object_key, pdf, "application/pdf")  # first, so the pointer never names a missing object
        self._client.put_item(TableName=self.table_name, Item=to_dynamo({
            **item_key, "entity": "original_pdf", "creditor_id": creditor_id, "debtor_id": debtor_id,
            "number": number, "original_pdf_key": object_key, "sha256": digest, "bytes": len(pdf),
        }))
        return object_key
