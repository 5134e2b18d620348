"""Daily scan: every business morning, queue one job per debtor with an action due; on the first business day of
a month, also take the snapshot of last month's end (DSO trend)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from relance.adapters.month_end_store import MonthEndStore
from relance.adapters.settings import load_settings
from relance.adapters.sqs import SqsJobQueue
from relance.adapters.wiring import closed_for
from relance.services.daily import scan_day

logger = Logger(service="daily-scan")
metrics = Metrics(namespace="Relance", service="daily-scan")
settings = load_settings()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Scheduled by EventBridge; `{"business_date": "YYYY-MM-DD"}` replays a given day (operators, demo)."""
    requested = (event or {}).get("business_date")
    business_date = date.fromisoformat(requested) if requested else None
    store = MonthEndStore(settings.table_name)
    report = scan_day(
        now=datetime.now(UTC),
        index=store,
        queue=SqsJobQueue(settings.reminder_queue_url),
        closed_for=closed_for,
        business_date=business_date,
        month_ends=store,
    )
    metrics.add_metric(name="DebtorsQueued", unit=MetricUnit.Count, value=report.debtors_queued)
    metrics.add_metric(name="InvoicesDue", unit=MetricUnit.Count, value=report.invoices_due)
    logger.info("Daily scan done", extra=report.to_dict())
    return report.to_dict()
