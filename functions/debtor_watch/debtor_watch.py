"""The table's stream, filtered to debtor items and broken plans: keeps each debtor's risk up to date and
raises finance's alerts (high risk, large amount, plan broken) as the facts happen.

A debtor is rescored when their own item changes, never by a table-wide batch; a score equal to the
stored one writes nothing, so this function's own writes come back once and stop there.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from relance.adapters.alerts_store import (
    AlertsStore,
    RiskChanged,
    broken_commitments_of,
    open_invoices_of,
    stored_risk_of,
)
from relance.adapters.dynamo import debtor_from
from relance.adapters.dynamo_codec import plain
from relance.adapters.audit_chain_store import decode
from relance.adapters.policy_store import PolicyStore
from relance.adapters.settings import load_settings
from relance.adapters.wiring import policy_source
from relance.domain.alerts import AlertRules
from relance.services.alerts import plan_changed
from relance.services.risk_upkeep import DebtorChange, debtor_changed

logger = Logger(service="debtor-watch")
metrics = Metrics(namespace="Relance", service="debtor-watch")
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
settings = load_settings()
store = AlertsStore(settings.table_name, creditor_ttl_seconds=300)
policies_for = policy_source(PolicyStore(settings.table_name), ttl_seconds=300)


def _image(stream: dict[str, Any], name: str) -> dict[str, Any] | None:
    image = stream.get(name)
    return {key: plain(value) for key, value in decode(image).items()} if image else None


def record_handler(record: DynamoDBRecord) -> str:
    stream = record.raw_event["dynamodb"]
    new, old = _image(stream, "NewImage"), _image(stream, "OldImage")
    if new is None:
        return "removed"
    creditor = store.get_creditor(new["creditor_id"])
    if creditor is None:
        return "no_creditor"
    now = datetime.now(UTC)
    today = now.astimezone(ZoneInfo(creditor.timezone)).date()
    logger.append_keys(creditor_id=new["creditor_id"], debtor_id=new["debtor_id"])
    if new.get("entity") == "plan":
        raised = plan_changed(new["creditor_id"], new["debtor_id"], new["plan_id"], (old or {}).get("state"),
                              new["state"], today, now, store)
        metrics.add_metric(name="AlertsRaised", unit=MetricUnit.Count, value=int(raised))
        return "plan_broken" if raised else "plan_seen"
    change = DebtorChange(debtor_from(new), open_invoices_of(new), stored_risk_of(new),
                          open_invoices_of(old) if old else None, broken_commitments_of(new))
    outcome = debtor_changed(change, today, now, store, RiskChanged, policies_for(creditor).alerts or AlertRules())
    if outcome.value == "band_changed":
        logger.info("Risk band changed", extra={"outcome": outcome.value})
    metrics.add_metric(name="RiskRecomputed", unit=MetricUnit.Count, value=1)
    return outcome.value


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
