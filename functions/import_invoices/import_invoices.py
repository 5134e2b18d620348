"""S3 drop: a file put under `imports/{creditor}/` is imported once, its report written next to it."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from relance.adapters.aws import client
from relance.adapters.import_chunks_store import DynamoImportLedger, SqsChunkQueue
from relance.adapters.import_drop import S3DropBox, SesImportSummaryMailer
from relance.adapters.keys import IMPORT_REPORT_SUFFIX
from relance.adapters.originals import S3OriginalPdfs
from relance.adapters.payments_store import PaymentsStore
from relance.adapters.s3 import S3Documents
from relance.adapters.settings import load_settings
from relance.adapters.ses import SesMailer
from relance.adapters.wiring import closed_for, policies_for
from relance.services.import_chunks import LINES_PER_CHUNK, ChunkSplitter
from relance.services.imports import DroppedFile, import_dropped_file

logger = Logger(service="import-invoices")
metrics = Metrics(namespace="Relance", service="import-invoices")
settings = load_settings()
# Keyed on bucket/key/version: S3 may deliver one notification twice; a new upload is a new version.
idempotency = IdempotencyConfig(event_key_jmespath="object_id", expires_after_seconds=30 * 86_400)
persistence = DynamoDBPersistenceLayer(table_name=settings.idempotency_table, boto3_client=client("dynamodb"))
store = PaymentsStore(settings.table_name)  # a credit note is recorded like a payment
originals = S3OriginalPdfs(settings.table_name, S3Documents(os.environ.get("RELANCE_DOCUMENTS_BUCKET", "")))
mailer = SesImportSummaryMailer(SesMailer(settings.sender_address, settings.configuration_set))
ledger = DynamoImportLedger(settings.table_name)
# A CSV of more lines than this is split into parts, each imported by ImportChunkFunction (issue 9).
CHUNK_QUEUE_URL = os.environ.get("RELANCE_IMPORT_CHUNK_QUEUE_URL", "")
LINES_PER_PART = int(os.environ.get("RELANCE_IMPORT_CHUNK_LINES") or LINES_PER_CHUNK)
PREFIX = "imports/"


@idempotent_function(data_keyword_argument="drop", config=idempotency, persistence_store=persistence)
def import_once(drop: dict[str, Any]) -> dict[str, Any]:
    """Import one dropped object once; the small result is what a repeated delivery gets back."""
    dropped = DroppedFile(drop["key"], drop.get("version_id"), drop["creditor_id"])
    logger.append_keys(creditor_id=dropped.creditor_id)
    now = datetime.now(UTC)
    splitter = None
    if CHUNK_QUEUE_URL:
        splitter = ChunkSplitter(drop["bucket"], drop["object_id"].rsplit("/", 1)[-1], ledger,
                                 SqsChunkQueue(CHUNK_QUEUE_URL), now, LINES_PER_PART)
    outcome = import_dropped_file(dropped, store, closed_for, policies_for, S3DropBox(drop["bucket"]), originals,
                                  mailer, payments=store, now=now, splitter=splitter)
    if outcome.status == "split":
        metrics.add_metric(name="ImportFilesSplit", unit=MetricUnit.Count, value=1)
        logger.info("Import file split", extra={"chunks": outcome.chunks, "lines_per_chunk": LINES_PER_PART})
        return {"status": outcome.status, "report_key": outcome.report_key, "chunks": outcome.chunks}
    metrics.add_metric(name="ImportFiles", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="ImportRows", unit=MetricUnit.Count, value=outcome.rows)
    metrics.add_metric(name="ImportErrors", unit=MetricUnit.Count, value=outcome.errors)
    if outcome.status == "imported":
        logger.info("Import file done", extra={"rows": outcome.rows, "errors": outcome.errors,
                                               "mailed": outcome.mailed})
    else:
        logger.warning("Import file refused", extra={"reason": outcome.status})
    if not outcome.mailed and outcome.status != "unknown_creditor":
        logger.info("Import summary not mailed", extra={"reason": "no_finance_address"})
    return {"status": outcome.status, "report_key": outcome.report_key, "rows": outcome.rows,
            "errors": outcome.errors}


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)  # an expired IN_PROGRESS record can be retried
    results: dict[str, Any] = {}
    records = list(S3Event(event).records)
    metrics.add_metric(name="ImportNotifications", unit=MetricUnit.Count, value=len(records))
    for record in records:
        # S3 notifications carry the key URL-encoded ("Lot+de+factures.zip"); Powertools' S3Object.key does not
        # decode it (only the EventBridge variant does).
        bucket, key = record.s3.bucket.name, unquote_plus(record.s3.get_object.key)
        parts = key.split("/")
        if key.endswith(IMPORT_REPORT_SUFFIX) or not key.startswith(PREFIX) or len(parts) < 3 or not parts[1] \
                or key.endswith("/"):
            results[key] = {"status": "ignored"}  # our own report, or not a file under imports/<creditor>/
            continue
        version = record.s3.get_object.version_id or record.s3.get_object.etag
        results[key] = import_once(drop={"object_id": f"{bucket}/{key}/{version}", "bucket": bucket, "key": key,
                                         "version_id": record.s3.get_object.version_id, "creditor_id": parts[1]})
    return {"results": results}
