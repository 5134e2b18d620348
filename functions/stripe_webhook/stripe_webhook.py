"""Stripe webhook: verified events about online payments, each applied once (docs/architecture/payments.md)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Any

import stripe
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from relance.adapters.checkout import (
    STRIPE_SECRET_ENV,
    WEBHOOK_PATH,
    StripeSetupIntents,
    fact_from_event,
    stripe_keys,
)
from relance.adapters.payments_store import PaymentsStore
from relance.adapters.plans_store import PlansStore
from relance.adapters.policy_store import PolicyStore
from relance.adapters.settings import load_settings
from relance.adapters.wiring import closed_for, policy_source
from relance.services.autopay import AutopayPorts
from relance.services.payments import HANDLED_STRIPE_EVENTS, Outcome, PaymentPorts, handle_stripe_event

SIGNATURE_TOLERANCE_SECONDS = 300  # Stripe's default: an older signature may be a replay

logger = Logger(service="stripe-webhook")
metrics = Metrics(namespace="Relance", service="stripe-webhook")
settings = load_settings()
stripe_secret_name = os.environ.get(STRIPE_SECRET_ENV, "")
app = APIGatewayHttpResolver()
ports = PaymentPorts(
    store=PaymentsStore(settings.table_name, creditor_ttl_seconds=300),
    closed_for=closed_for,
    policies_for=policy_source(PolicyStore(settings.table_name), ttl_seconds=300),
    autopay=AutopayPorts(PlansStore(settings.table_name),
                         StripeSetupIntents(lambda: stripe_keys(stripe_secret_name).secret_key)),
)
NEEDS_A_LOOK = {Outcome.UNKNOWN_DEBTOR}  # money arrived for a debtor we do not have: finance must look


def _text(status: int, body: str) -> Response:
    return Response(status_code=status, content_type="text/plain", body=body)


@app.post(WEBHOOK_PATH)
def stripe_webhook() -> Response | dict[str, Any]:
    """Verify the signature on the raw body, then hand the event's fact to the payments service."""
    request = app.current_event
    payload = request.decoded_body or ""
    webhook_secret = stripe_keys(stripe_secret_name).webhook_secret
    if not webhook_secret or not webhook_secret.startswith("whsec_"):
        # An empty key would accept anyone's signature: refuse everything until the secret is set.
        logger.error("Stripe webhook secret not configured", extra={"secret_name": stripe_secret_name})
        metrics.add_metric(name="StripeWebhookNotConfigured", unit=MetricUnit.Count, value=1)
        return _text(503, "webhook not configured")
    try:
        stripe.Webhook.construct_event(payload, request.headers.get("stripe-signature") or "", webhook_secret,
                                       tolerance=SIGNATURE_TOLERANCE_SECONDS)
    except (ValueError, stripe.SignatureVerificationError):
        logger.warning("Stripe webhook rejected", extra={"reason": "signature"})  # never the payload
        metrics.add_metric(name="StripeEventsRejected", unit=MetricUnit.Count, value=1)
        return _text(400, "invalid signature")
    event = json.loads(payload)
    logger.append_keys(stripe_event_id=event.get("id"), stripe_event_type=event.get("type"))
    metrics.add_metric(name="StripeEventsReceived", unit=MetricUnit.Count, value=1)
    if event.get("type") not in HANDLED_STRIPE_EVENTS:
        logger.info("Stripe event ignored", extra={"reason": "type_not_handled"})
        return {"received": True, "outcome": Outcome.IGNORED.value}
    fact = fact_from_event(event)
    logger.append_keys(creditor_id=fact.creditor_id, debtor_id=fact.debtor_id, payment_id=fact.payment_id)
    outcome = handle_stripe_event(fact, now=datetime.now(UTC), ports=ports)
    metrics.add_metric(name=f"StripeEvents_{outcome.value}", unit=MetricUnit.Count, value=1)
    if outcome in NEEDS_A_LOOK:
        logger.error("Stripe event needs a look", extra={"outcome": outcome.value})
    else:
        logger.info("Stripe event handled", extra={"outcome": outcome.value})
    return {"received": True, "outcome": outcome.value}


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
