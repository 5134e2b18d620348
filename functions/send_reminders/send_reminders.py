"""Dunning worker: one SQS job per debtor and day; takes at most one step, records it, audits it."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
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
from relance.adapters.s3 import S3Documents
from relance.adapters.settings import load_settings
from relance.adapters.ses import SesMailer
from relance.adapters.policy_store import PolicyStore
from relance.adapters.wiring import LawLetters, closed_for, link_maker, policy_source
from relance.services.dunning import Outcome, Ports, take_step
from relance.services.jobs import ReminderJob

logger = Logger(service="send-reminders")
metrics = Metrics(namespace="Relance", service="send-reminders")
settings = load_settings()
processor = BatchProcessor(event_type=EventType.SQS)
idempotency = IdempotencyConfig(event_key_jmespath="reminder_id", expires_after_seconds=14 * 86_400)
ports = Ports(
    store=DynamoStore(settings.table_name, creditor_ttl_seconds=300),
    mailer=SesMailer(settings.sender_address, settings.configuration_set),
    documents=S3Documents(os.environ.get("RELANCE_DOCUMENTS_BUCKET", "")),
    letters=LawLetters(provisional=os.environ.get("RELANCE_PROVISIONAL_RATES") == "1",
                       override_file=os.environ.get("RELANCE_RATES_FILE") or None),
    issue_link=link_maker(settings),
    closed_for=closed_for,
    policies_for=policy_source(PolicyStore(settings.table_name), ttl_seconds=300),  # one read per creditor per 5 min
)


def step_once(job: dict[str, Any]) -> str:
    """Handle one job (once: see `idempotent_step`)."""
    reminder = ReminderJob.from_dict(job)
    logger.append_keys(creditor_id=reminder.creditor_id, debtor_id=reminder.debtor_id)
    outcome = take_step(reminder, now=datetime.now(UTC), ports=ports)
    if outcome in (Outcome.SENT, Outcome.TASK_CREATED):
        metrics.add_metric(name="DunningSteps", unit=MetricUnit.Count, value=1)
        logger.info("Dunning step taken", extra={"outcome": outcome.value, "business_date": job["business_date"]})
    else:
        metrics.add_metric(name=f"DunningSkipped_{outcome.value}", unit=MetricUnit.Count, value=1)
        logger.info("Dunning step skipped", extra={"reason": outcome.value, "business_date": job["business_date"]})
    return outcome.value


@cache
def idempotent_step() -> Callable[..., str]:
    """`step_once` keyed on the contact id (debtor and business day), built by the container's first job:
    Powertools' persistence layer creates its DynamoDB client as it is constructed, not when first used."""
    persistence = DynamoDBPersistenceLayer(table_name=settings.idempotency_table,
                                           boto3_client=client("dynamodb"))
    return idempotent_function(step_once, data_keyword_argument="job", config=idempotency,
                               persistence_store=persistence)


def record_handler(record: SQSRecord) -> str:
    return idempotent_step()(job=record.json_body)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)  # an expired IN_PROGRESS record can be retried
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
