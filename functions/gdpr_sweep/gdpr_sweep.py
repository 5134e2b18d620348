"""GDPR retention sweep: on the first day of each month, erase the personal data of every settled debtor whose
retention period (jurisdictions.yaml, per creditor country) is over. Rules in domain/gdpr.py, the sweep in
services/gdpr.py; `relance gdpr sweep --creditor C` runs the same sweep for one creditor."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from relance.adapters.dynamo import DynamoStore
from relance.adapters.gdpr_store import DynamoGdprStore, S3DebtorDocuments, retention_years_by_jurisdiction
from relance.adapters.settings import link_secret, load_settings
from relance.services.gdpr import GdprPorts, sweep_creditors

logger = Logger(service="gdpr-sweep")
metrics = Metrics(namespace="Relance", service="gdpr-sweep")
settings = load_settings()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Scheduled by EventBridge, monthly; the event's content is ignored (the sweep is as of today)."""
    ports = GdprPorts(DynamoGdprStore(settings.table_name), S3DebtorDocuments(os.environ["RELANCE_DOCUMENTS_BUCKET"]),
                      link_secret(settings).encode("utf-8"))
    report = sweep_creditors(DynamoStore(settings.table_name).list_creditors(), datetime.now(UTC),
                             retention_years_by_jurisdiction(), ports,
                             seconds_left=lambda: context.get_remaining_time_in_millis() / 1000)
    metrics.add_metric(name="DebtorsErased", unit=MetricUnit.Count, value=report.erased)
    metrics.add_metric(name="ErasuresRefused", unit=MetricUnit.Count, value=report.refused)
    metrics.add_metric(name="CreditorsNotSwept", unit=MetricUnit.Count,
                       value=report.creditors_left + len(report.creditors_failed))
    if report.creditors_left or report.creditors_failed:
        logger.warning("GDPR sweep incomplete: run `relance gdpr sweep --creditor C` for the creditors left",
                       extra=report.to_dict())
    else:
        logger.info("GDPR sweep done", extra=report.to_dict())
    return report.to_dict()
