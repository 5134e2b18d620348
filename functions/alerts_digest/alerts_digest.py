"""Alerts digest: every business morning, the day's alerts swept in, then one e-mail per creditor to finance."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from relance.adapters.alerts_store import AlertsStore
from relance.adapters.policy_store import PolicyStore
from relance.adapters.ses import SesMailer
from relance.adapters.settings import load_settings
from relance.adapters.wiring import closed_for, policy_source
from relance.domain.alerts import AlertRules
from relance.domain.parties import Creditor
from relance.services.alerts import send_digests

logger = Logger(service="alerts-digest")
metrics = Metrics(namespace="Relance", service="alerts-digest")
settings = load_settings()
store = AlertsStore(settings.table_name)
mailer = SesMailer(settings.sender_address, settings.configuration_set)
policies_for = policy_source(PolicyStore(settings.table_name), ttl_seconds=300)


def rules_for(creditor: Creditor) -> AlertRules:
    """The creditor's alert thresholds from its policy, else the defaults."""
    return policies_for(creditor).alerts or AlertRules()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Scheduled by EventBridge; `{"business_date": "YYYY-MM-DD"}` replays a given day (operators, demo)."""
    requested = (event or {}).get("business_date")
    report = send_digests(datetime.now(UTC), store, mailer, closed_for, rules_for, settings.backoffice_url,
                          business_date=date.fromisoformat(requested) if requested else None)
    metrics.add_metric(name="AlertsRaised", unit=MetricUnit.Count, value=report.alerts_raised)
    metrics.add_metric(name="AlertDigestsSent", unit=MetricUnit.Count, value=report.digests_sent)
    logger.info("Alerts digest done", extra=report.to_dict())
    return report.to_dict()
