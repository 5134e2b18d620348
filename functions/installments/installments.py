"""Installments: every business morning, the day's collection work on running installment plans (issue 7)."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from relance.adapters.checkout import STRIPE_SECRET_ENV, StandInStripe, stand_in_enabled, stripe_keys
from relance.adapters.plans_store import PlansStore
from relance.adapters.policy_store import PolicyStore
from relance.adapters.ses import SesMailer
from relance.adapters.settings import load_settings
from relance.adapters.stripe_charges import StandInCharges, StripeCharges
from relance.adapters.portal_access import PortalAccessStore
from relance.adapters.wiring import closed_for, link_maker, policy_source
from relance.domain.parties import Debtor
from relance.services.installments import CollectionPorts, collect_day

logger = Logger(service="installments")
metrics = Metrics(namespace="Relance", service="installments")
settings = load_settings()
stripe_secret_name = os.environ.get(STRIPE_SECRET_ENV, "")
store = PlansStore(settings.table_name, creditor_ttl_seconds=300)
mailer = SesMailer(settings.sender_address, settings.configuration_set)
policies_for = policy_source(PolicyStore(settings.table_name), ttl_seconds=300)
access = PortalAccessStore(settings.table_name)
issue_link = link_maker(settings)


def _charges() -> StripeCharges | StandInCharges | None:
    """Stripe with the secret key; in the local demo only, the stand-in that sends Stripe's signed events."""
    keys = stripe_keys(stripe_secret_name)
    if keys.secret_key:
        return StripeCharges(keys.secret_key)
    if stand_in_enabled(keys, os.environ) and keys.webhook_secret:
        from relance_cli.local_lambda import invoke  # the local stack's webhook function, in this process

        return StandInCharges(StandInStripe(keys.webhook_secret, lambda event: invoke("StripeWebhookFunction", event)))
    return None  # no key: installments are paid from the portal, nothing is charged automatically


def link_for(debtor: Debtor, now: datetime) -> str:
    """A fresh personal link for the plan mail, stored (as its hash) before the mail goes out."""
    issued = issue_link(debtor, now)
    access.put_link(issued.item)
    return issued.url


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Scheduled by EventBridge; `{"business_date": "YYYY-MM-DD"}` replays a given day (operators, demo)."""
    requested = (event or {}).get("business_date")
    ports = CollectionPorts(store=store, mailer=mailer, charges=_charges(), link_for=link_for,
                            closed_for=closed_for, policies_for=policies_for)
    report = collect_day(now=datetime.now(UTC), ports=ports,
                         business_date=date.fromisoformat(requested) if requested else None)
    metrics.add_metric(name="InstallmentPlansWorked", unit=MetricUnit.Count, value=report.plans)
    metrics.add_metric(name="InstallmentChargesRequested", unit=MetricUnit.Count, value=report.charges)
    metrics.add_metric(name="InstallmentPlansBroken", unit=MetricUnit.Count, value=report.broken)
    logger.info("Installments run done", extra=report.to_dict())
    return report.to_dict()
