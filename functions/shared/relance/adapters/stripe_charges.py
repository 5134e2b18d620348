"""Off-session charges of installments through Stripe (`stripe.StripeClient`): one PaymentIntent per attempt.

No business decisions here: relance.services.installments says what to charge, how much and with
which idempotency key; this module asks Stripe and reports what Stripe answered.
"""

from __future__ import annotations

import copy
import hashlib
import time
from typing import Any

import stripe

from relance.adapters.checkout import StandInStripe, stripe_event_shape
from relance.domain.plans import AttemptStatus
from relance.services.installments import ChargeRequest, ChargeResult

# Stripe's PaymentIntent statuses after an off-session confirm, as Relance reads them.
_STATUSES = {
    "succeeded": AttemptStatus.SUCCEEDED,
    "processing": AttemptStatus.PROCESSING,  # a SEPA debit: the bank answers days later, in a webhook event
    "requires_payment_method": AttemptStatus.FAILED,  # refused; the debtor must pay another way
    "requires_action": AttemptStatus.FAILED,  # 3-D Secure asked for the cardholder, who is not there
    "canceled": AttemptStatus.FAILED,
}


def charge_params(request: ChargeRequest) -> dict[str, Any]:
    """The PaymentIntent request: the amount from our data, confirmed at once without the debtor, our ids."""
    return {
        "amount": request.amount.minor,
        "currency": request.amount.currency.lower(),
        "customer": request.customer_id,
        "payment_method": request.payment_method_id,
        "payment_method_types": [request.method],
        "off_session": True,
        "confirm": True,
        "description": request.description,
        "metadata": {
            "relance_kind": "installment",
            "creditor_id": request.creditor_id,
            "debtor_id": request.debtor_id,
            "plan_id": request.plan_id,
            "installment": str(request.number),
            "attempt": str(request.attempt),
        },
    }


class StripeCharges:
    """Charges installments with the creditor's Stripe secret key; `http_client` lets tests stand in for Stripe."""

    def __init__(self, secret_key: str, http_client: stripe.HTTPClient | None = None,
                 max_network_retries: int = 2) -> None:
        self._client = stripe.StripeClient(secret_key, http_client=http_client,
                                           max_network_retries=max_network_retries)

    def charge(self, request: ChargeRequest) -> ChargeResult:
        """Create and confirm the PaymentIntent; a declined card is an answer (FAILED), not an error."""
        try:
            intent = self._client.v1.payment_intents.create(
                params=charge_params(request),  # type: ignore[arg-type]
                options={"idempotency_key": request.idempotency_key},
            )
        except stripe.CardError as exc:
            # Stripe answers 402 and still created the PaymentIntent; its id comes with the error.
            declined = getattr(exc.error, "payment_intent", None) if exc.error else None
            payment_id = declined.get("id") if isinstance(declined, dict) else getattr(declined, "id", None)
            return ChargeResult(AttemptStatus.FAILED, payment_id, exc.code or "card_declined")
        status = _STATUSES.get(str(intent.status), AttemptStatus.FAILED)
        return ChargeResult(status, intent.id, None if status is not AttemptStatus.FAILED else str(intent.status))


class StandInCharges:
    """The demo's Stripe for off-session charges, when no Stripe key is set: it answers as Stripe does
    (a succeeded PaymentIntent, the same one again for the same idempotency key) and, like the stand-in
    checkout, sends Stripe's signed `payment_intent.succeeded` event to the webhook, which applies it.
    Never used on Lambda (`checkout.stand_in_enabled`).
    """

    def __init__(self, stand_in: StandInStripe) -> None:
        self._stand_in = stand_in

    def charge(self, request: ChargeRequest) -> ChargeResult:
        digest = hashlib.sha256(request.idempotency_key.encode()).hexdigest()[:24]
        params = charge_params(request)
        event = copy.deepcopy(stripe_event_shape("payment_intent.succeeded"))
        event.update({"id": f"evt_standin_{digest}", "type": "payment_intent.succeeded",
                      "created": int(time.time()), "livemode": False,
                      "request": {"id": None, "idempotency_key": request.idempotency_key}})
        payment_id = f"pi_standin_{digest}"
        event["data"]["object"].update({
            "id": payment_id, "amount": params["amount"], "amount_received": params["amount"],
            "currency": params["currency"], "customer": params["customer"],
            "payment_method": params["payment_method"], "payment_method_types": params["payment_method_types"],
            "metadata": params["metadata"], "description": params["description"], "status": "succeeded",
            "latest_charge": f"ch_standin_{digest}", "client_secret": f"{payment_id}_secret",
            "created": int(time.time()), "livemode": False,
        })
        self._stand_in.deliver(event)
        return ChargeResult(AttemptStatus.SUCCEEDED, payment_id, None)
