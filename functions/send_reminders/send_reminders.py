"""Reminder worker: one SQS job per debtor and day; sends at most one mail, records it, audits it."""

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
from relance.adapters.dynamo import DynamoStore
from relance.adapters.settings import load_settings
from relance.adapters.ses import SesMailer
from relance.adapters.wiring import closed_for, link_maker
from relance.services.jobs import ReminderJob
from relance.services.reminders import Outcome, send_reminder

logger = Logger(service="send-reminders")
metrics = Metrics(namespace="Relance", service="send-reminders")
settings = load_settings()
processor = BatchProcessor(event_type=EventType.SQS)
idempotency = IdempotencyConfig(event_key_jmespath="reminder_id", expires_after_seconds=14 * 86_400)
persistence = DynamoDBPersistenceLayer(table_name=settings.idempotency_table, boto3_client=client("dynamodb"))


@idempotent_function(data_keyword_argument="job", config=idempotency, persistence_store=persistence)
def send_one(job: dict[str, Any]) -> str:
    """Handle one job once (keyed on the reminder id: debtor and business day)."""
    reminder = ReminderJob.from_dict(job)
    logger.append_keys(creditor_id=reminder.creditor_id, debtor_id=reminder.debtor_id)
    outcome = send_reminder(
        reminder,
        now=datetime.now(UTC),
        store=DynamoStore(settings.table_name),
        mailer=SesMailer(settings.sender_address, settings.configuration_set),
        link_for=link_maker(settings),
        closed_for=closed_for,
    )
    if outcome is Outcome.SENT:
        metrics.add_metric(name="RemindersSent", unit=MetricUnit.Count, value=1)
        logger.info("Reminder sent", extra={"business_date": job["business_date"]})
    else:
        metrics.add_metric(name=f"RemindersSkipped_{outcome.value}", unit=MetricUnit.Count, value=1)
        logger.info("Reminder skipped", extra={"reason": outcome.value, "business_date": job["business_date"]})
    return outcome.value


def record_handler(record: SQSRecord) -> str:
    return send_one(job=record.json_body)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)  # an expired IN_PROGRESS record can be retried
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
