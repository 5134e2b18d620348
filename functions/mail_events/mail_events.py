"""SES sending events through SNS: a bounce or a complaint marks the address; the next step becomes a call."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import SNSEvent
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from relance.adapters.aws import client
from relance.adapters.dynamo import DynamoStore
from relance.adapters.ses_events import UnreadableMailEvent, mail_event_from_message
from relance.adapters.settings import load_settings
from relance.services.mail_events import MailEventOutcome, record_mail_event

logger = Logger(service="mail-events")
metrics = Metrics(namespace="Relance", service="mail-events")
settings = load_settings()
idempotency = IdempotencyConfig(event_key_jmespath="sns_message_id", expires_after_seconds=14 * 86_400)
persistence = DynamoDBPersistenceLayer(table_name=settings.idempotency_table, boto3_client=client("dynamodb"))
store = DynamoStore(settings.table_name)

METRICS = {
    MailEventOutcome.BOUNCED: "AddressesBounced",
    MailEventOutcome.COMPLAINED: "AddressesComplained",
    MailEventOutcome.DELIVERED: "MailsDelivered",
    MailEventOutcome.REJECTED: "MailsRejected",
    MailEventOutcome.IGNORED_TRANSIENT: "TransientBounces",
}


@idempotent_function(data_keyword_argument="notification", config=idempotency, persistence_store=persistence)
def record_once(notification: dict[str, Any]) -> str:
    """Record one SES event once (keyed on the SNS message id; the store also refuses a second mark)."""
    event = mail_event_from_message(notification["message"])
    logger.append_keys(creditor_id=event.creditor_id, debtor_id=event.debtor_id,
                       ses_message_id=event.ses_message_id)
    outcome = record_mail_event(event, now=datetime.now(UTC), store=store)
    metric = METRICS.get(MailEventOutcome(outcome), "MailEventsIgnored")
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
    logger.info("Mail event recorded", extra={"event_type": event.kind.value, "outcome": outcome,
                                              "recipients": len(event.recipients)})
    return outcome


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)  # an expired IN_PROGRESS record can be retried
    records = list(SNSEvent(event).records)
    metrics.add_metric(name="MailEventsReceived", unit=MetricUnit.Count, value=len(records))
    outcomes: dict[str, str] = {}
    for record in records:
        sns = record.sns
        logger.append_keys(sns_message_id=sns.message_id)
        try:
            outcomes[sns.message_id] = record_once(notification={"sns_message_id": sns.message_id,
                                                                 "message": sns.message})
        except UnreadableMailEvent as exc:
            # Raised so Lambda retries, then keeps the message in the dead-letter queue for someone to read.
            logger.error("Mail event unreadable", extra={"reason": exc.code, "topic_arn": sns.topic_arn})
            raise
    return {"outcomes": outcomes}
