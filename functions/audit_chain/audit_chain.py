"""The table's stream, filtered to audit events: each new event is appended to its creditor's hash chain.

A stored audit event that is modified or removed is tampering evidence: it is recorded in the chain
as a tamper alert (so `relance audit verify` fails) and counted as `AuditEventModified`. The one
exception is a GDPR redaction (personal values replaced by erasure tokens, nothing else changed):
it is recorded as an erasure link, counted as `AuditEventErased`, and the chain still verifies.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from relance.adapters import keys
from relance.adapters.audit_chain_store import DynamoAuditChain, decode
from relance.adapters.settings import load_settings
from relance.domain.audit_chain import EventKey, erasure_record, is_redaction
from relance.services.audit_chain import ChainOutcome, chain_event, record_erasure, record_tamper_alert

logger = Logger(service="audit-chain")
metrics = Metrics(namespace="Relance", service="audit-chain")
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
chain = DynamoAuditChain(load_settings().table_name)


def record_handler(record: DynamoDBRecord) -> str:
    stream = record.raw_event["dynamodb"]
    name = record.raw_event["eventName"]
    if name == "INSERT":
        event = decode(stream["NewImage"])
        outcome = chain_event(event, chain, keys.audit_chained_sk(event["PK"], event["SK"]))
        metrics.add_metric(name="AuditEventsChained" if outcome is ChainOutcome.CHAINED else "AuditEventsAlreadyChained",
                           unit=MetricUnit.Count, value=1)
        return outcome.value
    image = decode(stream.get("OldImage") or stream.get("NewImage") or {})
    event_key = EventKey(image["PK"], image["SK"])
    sequence_number = str(stream["SequenceNumber"])
    if name == "MODIFY" and stream.get("NewImage"):
        after = decode(stream["NewImage"])
        if after == image:  # rewritten unchanged: nothing to record
            return ChainOutcome.ALREADY_CHAINED.value
        if is_redaction(image, after):
            logger.info("Stored audit event redacted", extra={"event_pk": event_key.partition,
                                                              "event_sk": event_key.sort})
            metrics.add_metric(name="AuditEventErased", unit=MetricUnit.Count, value=1)
            return record_erasure(str(image["creditor_id"]), event_key,
                                  erasure_record(event_key, image, after, sequence_number), chain,
                                  keys.audit_erasure_sk(sequence_number)).value
    # Keys and the stream's own facts only: the event's content stays in the table, out of the logs.
    logger.warning("Stored audit event changed", extra={"stream_event": name, "event_pk": event_key.partition,
                                                        "event_sk": event_key.sort, "sequence_number": sequence_number})
    metrics.add_metric(name="AuditEventModified", unit=MetricUnit.Count, value=1)
    alert = {"stream_event": name, "event_pk": event_key.partition, "event_sk": event_key.sort,
             "stream_sequence_number": sequence_number,
             "observed_at": str(stream.get("ApproximateCreationDateTime", ""))}
    return record_tamper_alert(str(image["creditor_id"]), event_key, alert, chain,
                               keys.audit_tamper_sk(sequence_number)).value


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
