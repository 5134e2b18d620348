"""Chunk worker: imports one part of a dropped file split by the S3 drop; the last part writes the report."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from relance.adapters.aws import client
from relance.adapters.import_chunks_store import DynamoImportLedger, S3ImportParts
from relance.adapters.import_drop import S3DropBox, SesImportSummaryMailer
from relance.adapters.payments_store import PaymentsStore
from relance.adapters.settings import load_settings
from relance.adapters.ses import SesMailer
from relance.adapters.wiring import closed_for, policies_for
from relance.services.import_chunks import ChunkJob, finish_chunked_import, import_chunk

logger = Logger(service="import-chunk")
metrics = Metrics(namespace="Relance", service="import-chunk")
settings = load_settings()
processor = BatchProcessor(event_type=EventType.SQS)
# A part is imported once per upload and part (its business key), whatever SQS delivers; the ledger's
# conditional count guards the same fact in the table. The report step has its own key: one report, one mail.
chunk_idempotency = IdempotencyConfig(event_key_jmespath="chunk_id", expires_after_seconds=30 * 86_400)
report_idempotency = IdempotencyConfig(event_key_jmespath="import_id", expires_after_seconds=30 * 86_400)
# One persistence layer per idempotent function: a layer keeps the key path of the first config it serves.
chunk_persistence = DynamoDBPersistenceLayer(table_name=settings.idempotency_table, boto3_client=client("dynamodb"))
report_persistence = DynamoDBPersistenceLayer(table_name=settings.idempotency_table, boto3_client=client("dynamodb"))
store = PaymentsStore(settings.table_name)
ledger = DynamoImportLedger(settings.table_name)
parts = S3ImportParts()
mailer = SesImportSummaryMailer(SesMailer(settings.sender_address, settings.configuration_set))


@idempotent_function(data_keyword_argument="report", config=report_idempotency, persistence_store=report_persistence)
def report_once(report: dict[str, Any]) -> dict[str, Any]:
    """Merge the parts' reports, write the file's report and mail finance, once per upload."""
    job = ChunkJob.from_json(report["job"])
    outcome = finish_chunked_import(job, store, parts, ledger, S3DropBox(job.bucket), mailer, now=datetime.now(UTC))
    metrics.add_metric(name="ImportFiles", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="ImportErrors", unit=MetricUnit.Count, value=outcome.errors)
    logger.info("Import file done", extra={"rows": outcome.rows, "errors": outcome.errors, "chunks": outcome.chunks,
                                           "mailed": outcome.mailed})
    return {"status": outcome.status, "report_key": outcome.report_key, "rows": outcome.rows}


@idempotent_function(data_keyword_argument="chunk", config=chunk_idempotency, persistence_store=chunk_persistence)
def import_once(chunk: dict[str, Any]) -> dict[str, Any]:
    job = ChunkJob.from_json(chunk)
    logger.append_keys(creditor_id=job.creditor_id, import_id=job.import_id, chunk=job.index)
    outcome = import_chunk(job, store, closed_for, policies_for, parts, ledger, now=datetime.now(UTC))
    if outcome.counted:
        metrics.add_metric(name="ImportRows", unit=MetricUnit.Count, value=outcome.rows)
        logger.info("Import chunk done", extra={"rows": outcome.rows, "errors": outcome.errors,
                                                "first_line": job.part.first_line})
    if outcome.needs_report:  # the last part to finish, or a redelivery after it: the report step runs once
        report_once(report={"import_id": job.import_id, "job": chunk})
    return {"counted": outcome.counted, "reported": outcome.needs_report}


def record_handler(record: SQSRecord) -> dict[str, Any]:
    return import_once(chunk=record.json_body)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    chunk_idempotency.register_lambda_context(context)  # an expired IN_PROGRESS record can be retried
    report_idempotency.register_lambda_context(context)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)

