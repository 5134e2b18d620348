"""Stripe Checkout: sessions out, events in, and a stand-in for the demo and the tests.

- `StripeCheckout` opens a real Checkout Session (`stripe.checkout.Session.create`).
- `StandInCheckout` opens a stand-in session served by the portal at `/stand-in/checkout/<id>`;
  `StandInStripe` then builds the events Stripe would send, from Stripe's own object shapes
  (relance/data/stripe/), signs them exactly like Stripe and hands them to the webhook.
- `fact_from_event` reads a verified event into a `StripeFact` for relance.services.payments.

The stand-in is active only when no Stripe secret key is configured AND `RELANCE_STRIPE_STAND_IN=1`
is set AND the code is not running on Lambda: a deployed portal can never take a fake payment.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Protocol

from relance.domain.errors import RelanceError
from relance.domain.money import Money
from relance.domain.parties import Creditor, Debtor
from relance.domain.payments import Allocation, AllocationResult
from relance.services.autopay import (
    AUTOPAY_KIND,
    AutopaySetup,
    SavedMethod,
    SetupCheckoutRecord,
    SetupRequest,
)
from relance.services.payments import CheckoutRecord, CheckoutSession, StripeFact

STRIPE_SECRET_ENV = "RELANCE_STRIPE_SECRET_NAME"  # the Secrets Manager secret holding both Stripe keys
STAND_IN_PATH = "/stand-in/checkout/"
STAND_IN_SETUP_PATH = "/stand-in/setup/"
WEBHOOK_PATH = "/stripe/webhook"
SESSION_ID_PLACEHOLDER = "{CHECKOUT_SESSION_ID}"  # Stripe replaces it in success_url
_METADATA_VALUE_LIMIT = 500  # Stripe: metadata values up to 500 characters, at most 50 keys
_ALLOCATION_KEY = "allocation_"
_PRODUCT_NAMES = {"fr": "Facture {number}", "en": "Invoice {number}"}


# --- keys ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StripeKeys:
    """The Stripe secret key (absent: no real checkout) and the webhook signing secret."""

    secret_key: str | None
    webhook_secret: str | None

    def __repr__(self) -> str:  # never print a key, even in a traceback
        return f"StripeKeys(secret_key={'set' if self.secret_key else None}, webhook_secret=...)"


def stripe_keys(secret_name: str | None) -> StripeKeys:
    """The keys kept in Secrets Manager as JSON `{"secret_key": ..., "webhook_secret": ...}` (cached 5 minutes)."""
    if not secret_name:
        return StripeKeys(None, None)
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_secret(secret_name, transform="json", max_age=300)
    if not isinstance(value, dict):
        raise RuntimeError(f"the Stripe secret {secret_name} is not a JSON object")
    return StripeKeys(value.get("secret_key") or None, value.get("webhook_secret") or None)


def stand_in_enabled(keys: StripeKeys, environ: Mapping[str, str]) -> bool:
    """True only for the local demo and tests: no secret key, the explicit setting, and not on Lambda."""
    return (
        not keys.secret_key
        and environ.get("RELANCE_STRIPE_STAND_IN") == "1"
        and "AWS_LAMBDA_FUNCTION_NAME" not in environ
    )


# --- metadata: what the session pays, carried through Stripe ------------------------------------


def payment_metadata(creditor_id: str, debtor_id: str, allocation: AllocationResult) -> dict[str, str]:
    """Session and PaymentIntent metadata: ids and the allocation by invoice number, never personal data.

    The allocation is a JSON list of `[number, minor]` pairs, oldest first, cut into values of at
    most 500 characters (`allocation_0`, `allocation_1`…) because Stripe limits each value.
    """
    encoded = json.dumps([[a.invoice_number, a.amount.minor] for a in allocation.allocations], separators=(",", ":"))
    parts = [encoded[i:i + _METADATA_VALUE_LIMIT] for i in range(0, len(encoded), _METADATA_VALUE_LIMIT)] or ["[]"]
    metadata = {"creditor_id": creditor_id, "debtor_id": debtor_id, "currency": allocation.currency,
                "allocation_parts": str(len(parts))}
    metadata.update({f"{_ALLOCATION_KEY}{n}": part for n, part in enumerate(parts)})
    return metadata


def requested_from_metadata(metadata: Mapping[str, Any], currency: str) -> tuple[Allocation, ...]:
    """The allocation `payment_metadata` wrote; empty when absent or unreadable (then: oldest first)."""
    try:
        count = int(metadata.get("allocation_parts", "0"))
        encoded = "".join(str(metadata[f"{_ALLOCATION_KEY}{n}"]) for n in range(count))
        pairs = json.loads(encoded) if encoded else []
        return tuple(Allocation(str(number), Money(int(minor), currency)) for number, minor in pairs)
    except (KeyError, ValueError, TypeError, RelanceError):
        return ()


# --- the real checkout ----------------------------------------------------------------------------


def _payment_method_types(currency: str) -> list[str]:
    # SEPA Direct Debit collects euros only; any other currency is offered the card alone.
    return ["card", "sepa_debit"] if currency == "EUR" else ["card"]


def checkout_params(debtor: Debtor, creditor: Creditor, allocation: AllocationResult, success_url: str,
                    cancel_url: str, reference: str, metadata_extra: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The Checkout Session request: one line per invoice, amounts from our data, metadata with our ids
    (plus `metadata_extra`, e.g. the plan installment it pays)."""
    language = debtor.language if debtor.language in _PRODUCT_NAMES else "en"
    metadata = {**payment_metadata(creditor.creditor_id, debtor.debtor_id, allocation), **(metadata_extra or {})}
    params: dict[str, Any] = {
        "mode": "payment",
        "payment_method_types": _payment_method_types(allocation.currency),
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": allocation.currency.lower(),
                    "unit_amount": share.amount.minor,
                    "product_data": {"name": _PRODUCT_NAMES[language].format(number=share.invoice_number)},
                },
            }
            for share in allocation.allocations
        ],
        "client_reference_id": reference,
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata, "description": creditor.legal_name},
        "success_url": success_url,
        "cancel_url": cancel_url,
        "locale": language,
    }
    if debtor.reachable_emails:
        params["customer_email"] = debtor.reachable_emails[0]
    return params


class StripeCheckout:
    """Opens real Stripe Checkout Sessions with the secret key."""

    def __init__(self, secret_key: str) -> None:
        self._secret_key = secret_key

    def create_checkout(self, debtor: Debtor, creditor: Creditor, allocations: AllocationResult, success_url: str,
                        cancel_url: str, idempotency_key: str,
                        metadata_extra: Mapping[str, str] | None = None) -> CheckoutSession:
        import stripe

        params = checkout_params(debtor, creditor, allocations, success_url, cancel_url, idempotency_key,
                                 metadata_extra)
        session = stripe.checkout.Session.create(api_key=self._secret_key, idempotency_key=idempotency_key, **params)
        return CheckoutSession(session_id=session["id"], url=session["url"])

    def create_setup_checkout(self, request: SetupRequest, idempotency_key: str) -> tuple[CheckoutSession, str]:
        """A Checkout Session in setup mode for the debtor's Stripe customer (created first when unknown)."""
        import stripe

        customer_id = request.customer_id
        if customer_id is None:
            customer = stripe.Customer.create(api_key=self._secret_key, **customer_params(request),
                                              idempotency_key=customer_idempotency_key(request))
            customer_id = str(customer["id"])
        params = setup_checkout_params(request, customer_id)
        session = stripe.checkout.Session.create(api_key=self._secret_key, idempotency_key=idempotency_key, **params)
        return CheckoutSession(session_id=session["id"], url=session["url"]), customer_id


class StripeSetupIntents:
    """Reads the payment method a SetupIntent saved (Stripe's events name the SetupIntent by id only)."""

    def __init__(self, secret_key: Callable[[], str | None]) -> None:
        self._secret_key = secret_key

    def saved_method(self, setup_intent_id: str) -> SavedMethod | None:
        import stripe

        secret_key = self._secret_key()
        if not secret_key:
            return None
        intent = stripe.SetupIntent.retrieve(setup_intent_id, api_key=secret_key, expand=["payment_method"])
        return saved_method_of(intent)


# --- automatic payment: the setup session ------------------------------------------------------------


def customer_params(request: SetupRequest) -> dict[str, Any]:
    """The Stripe customer of a debtor: the address Stripe mails mandate notices to, our ids as metadata."""
    params: dict[str, Any] = {"metadata": {"creditor_id": request.creditor.creditor_id,
                                           "debtor_id": request.debtor.debtor_id}}
    if request.debtor.reachable_emails:
        params["email"] = request.debtor.reachable_emails[0]
    return params


def customer_idempotency_key(request: SetupRequest) -> str:
    """One customer per debtor, even when two setup forms are sent at once."""
    return "relance-customer-" + _digest(f"{request.creditor.creditor_id}\n{request.debtor.debtor_id}", 40)


def setup_checkout_params(request: SetupRequest, customer_id: str) -> dict[str, Any]:
    """The Checkout Session request in setup mode: card (and SEPA mandate in euros), our ids as metadata."""
    language = request.debtor.language if request.debtor.language in _PRODUCT_NAMES else "en"
    metadata = request.metadata
    return {
        "mode": "setup",
        "currency": request.currency.lower(),
        "payment_method_types": _payment_method_types(request.currency),
        "customer": customer_id,
        "client_reference_id": request.plan_id,
        "metadata": metadata,
        "setup_intent_data": {"metadata": metadata, "description": request.creditor.legal_name},
        "success_url": request.success_url,
        "cancel_url": request.cancel_url,
        "locale": language,
    }


def saved_method_of(setup_intent: Mapping[str, Any]) -> SavedMethod | None:
    """The payment method of a SetupIntent object (its `payment_method` expanded or an id), or None."""
    method = setup_intent.get("payment_method")
    if not method:
        return None
    if isinstance(method, Mapping):
        kind = str(method.get("type") or "")
        details = method.get(kind) or {}
        last4 = details.get("last4") if isinstance(details, Mapping) else None
        return SavedMethod(str(method["id"]), kind, str(last4) if last4 else None)
    types = list(setup_intent.get("payment_method_types") or [])
    return SavedMethod(str(method), types[0], None) if len(types) == 1 else None


class StandInCheckout:
    """A stand-in session served by the portal itself; the same idempotency key gives the same session."""

    def __init__(self, portal_base_url: str) -> None:
        self._base = portal_base_url.rstrip("/")

    def create_checkout(self, debtor: Debtor, creditor: Creditor, allocations: AllocationResult, success_url: str,
                        cancel_url: str, idempotency_key: str,
                        metadata_extra: Mapping[str, str] | None = None) -> CheckoutSession:
        session_id = "cs_test_standin_" + _digest(idempotency_key, 32)
        return CheckoutSession(session_id=session_id, url=f"{self._base}{STAND_IN_PATH}{session_id}")

    def create_setup_checkout(self, request: SetupRequest, idempotency_key: str) -> tuple[CheckoutSession, str]:
        session_id = "cs_test_standin_setup_" + _digest(idempotency_key, 32)
        customer_id = request.customer_id or "cus_standin_" + _digest(customer_idempotency_key(request), 14)
        return CheckoutSession(session_id=session_id, url=f"{self._base}{STAND_IN_SETUP_PATH}{session_id}"), customer_id


def _digest(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


# --- events in ------------------------------------------------------------------------------------


def _id_of(value: Any) -> str | None:
    """A Stripe reference: either the id itself or the expanded object."""
    if isinstance(value, Mapping):
        return value.get("id")
    return value or None


def _money(minor: Any, currency: str) -> Money | None:
    try:
        return Money(int(minor), currency) if minor is not None else None
    except (RelanceError, TypeError, ValueError):
        return None  # a currency Relance does not handle: not one of our payments


def _plan_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The plan installment a payment is for (`relance_kind="installment"`), from our metadata; else nothing."""
    if metadata.get("relance_kind") != "installment" or not metadata.get("plan_id"):
        return {}
    try:
        number = int(metadata["installment"]) if metadata.get("installment") is not None else None
        attempt = int(metadata["attempt"]) if metadata.get("attempt") is not None else None
    except (TypeError, ValueError):
        number = attempt = None
    return {"relance_kind": "installment", "plan_id": str(metadata["plan_id"]), "installment": number,
            "attempt": attempt}


def fact_from_event(event: Mapping[str, Any]) -> StripeFact:
    """What a verified Stripe event says, as the service needs it (Stripe's currency upper-cased)."""
    event_type = str(event.get("type", ""))
    obj = (event.get("data") or {}).get("object") or {}
    currency = str(obj.get("currency") or "").upper()
    metadata = obj.get("metadata") or {}
    types = list(obj.get("payment_method_types") or [])
    single_method = types[0] if len(types) == 1 else None
    common = {"event_id": str(event["id"]), "event_type": event_type}
    if event_type == "checkout.session.completed" and obj.get("mode") == "setup":
        return StripeFact(**common, autopay=_autopay_setup(obj)) if metadata.get("relance_kind") == AUTOPAY_KIND \
            else StripeFact(**common)
    ours = {"creditor_id": metadata.get("creditor_id"), "debtor_id": metadata.get("debtor_id"),
            "requested": requested_from_metadata(metadata, currency), **_plan_metadata(metadata)}
    if event_type.startswith("checkout.session."):
        paid = obj.get("payment_status") == "paid"
        immediate = event_type == "checkout.session.completed" and paid
        return StripeFact(**common, **ours, payment_id=_id_of(obj.get("payment_intent")),
                          checkout_session_id=obj.get("id"), amount=_money(obj.get("amount_total"), currency),
                          paid=paid, method=single_method or ("card" if immediate else "sepa_debit"))
    if event_type.startswith("payment_intent."):
        succeeded = obj.get("status") == "succeeded"
        amount = obj.get("amount_received") if succeeded else obj.get("amount")
        return StripeFact(**common, **ours, payment_id=obj.get("id"), charge_id=_id_of(obj.get("latest_charge")),
                          amount=_money(amount, currency), paid=succeeded, method=single_method)
    if event_type == "charge.refunded":
        return StripeFact(**common, payment_id=_id_of(obj.get("payment_intent")), charge_id=obj.get("id"),
                          amount=_money(obj.get("amount"), currency),
                          refunded_total=_money(obj.get("amount_refunded"), currency))
    if event_type == "charge.dispute.created":
        return StripeFact(**common, payment_id=_id_of(obj.get("payment_intent")), charge_id=_id_of(obj.get("charge")),
                          amount=_money(obj.get("amount"), currency), dispute_id=obj.get("id"),
                          dispute_reason=obj.get("reason"))
    return StripeFact(**common)


def _autopay_setup(session: Mapping[str, Any]) -> AutopaySetup:
    """A completed setup session: our ids from its metadata, the customer, the SetupIntent and, when the
    SetupIntent is expanded (the stand-in, or a session read with `expand`), its payment method."""
    metadata = session.get("metadata") or {}
    intent = session.get("setup_intent")
    saved = saved_method_of(intent) if isinstance(intent, Mapping) else None
    return AutopaySetup(
        checkout_session_id=str(session.get("id")), setup_intent_id=_id_of(intent),
        creditor_id=metadata.get("creditor_id"), debtor_id=metadata.get("debtor_id"), plan_id=metadata.get("plan_id"),
        customer_id=_id_of(session.get("customer")),
        payment_method_id=saved.payment_method_id if saved else None, method=saved.method if saved else None,
        last4=saved.last4 if saved else None,
    )


# --- the stand-in: Stripe's events, built, signed and delivered -------------------------------------


def stripe_signature(payload: str, secret: str, timestamp: int) -> str:
    """The `Stripe-Signature` header Stripe sends: `t=<ts>,v1=<HMAC-SHA256(secret, "<ts>.<payload>")>`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def http_api_event(body: str, headers: Mapping[str, str], path: str = WEBHOOK_PATH) -> dict[str, Any]:
    """The API Gateway HTTP API (payload 2.0) event Lambda receives for a POST to `path`."""
    now = time.time()
    return {
        "version": "2.0",
        "routeKey": f"POST {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {k.lower(): v for k, v in headers.items()},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                     "userAgent": headers.get("user-agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")},
            "requestId": uuid.uuid4().hex,
            "routeKey": f"POST {path}",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "body": body,
        "isBase64Encoded": False,
    }


class WebhookSender(Protocol):
    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        """Deliver an HTTP API event to the webhook function; returns its HTTP response."""


@cache
def stripe_object_shape(name: str) -> dict[str, Any]:
    """A Stripe API object as published (relance/data/stripe/<name>.json, MIT: see the LICENSE there)."""
    path = resources.files("relance").joinpath("data", "stripe", f"{name}.json")
    return json.loads(path.read_text(encoding="utf-8"))


STAND_IN_LAST4 = {"card": "4242", "sepa_debit": "3000"}  # Stripe's test card and test IBAN DE89370400440532013000


def stand_in_payment_method(method: str, payment_method_id: str, customer_id: str, created: int) -> dict[str, Any]:
    """The PaymentMethod the stand-in "collects": Stripe's published card object, or its SEPA Debit variant."""
    shape = copy.deepcopy(stripe_object_shape("payment_method"))
    shape.update({"id": payment_method_id, "customer": customer_id, "created": created, "metadata": {},
                  "livemode": False, "type": method,
                  "billing_details": {**shape["billing_details"], "email": None, "phone": None, "name": None}})
    if method == "sepa_debit":
        del shape["card"]
        shape["sepa_debit"] = {"bank_code": "37040044", "branch_code": None, "country": "DE",
                               "fingerprint": "vifs0Ho7vwRn1Miu",
                               "generated_from": {"charge": None, "setup_attempt": None},
                               "last4": STAND_IN_LAST4["sepa_debit"]}
    return shape


@cache
def stripe_event_shape(event_type: str) -> dict[str, Any]:
    """A Stripe event of `event_type` as published (relance/data/stripe/events, MIT: see the LICENSE there)."""
    path = resources.files("relance").joinpath("data", "stripe", "events", f"{event_type}.json")
    return json.loads(path.read_text(encoding="utf-8"))


class StandInStripe:
    """What Stripe would do once the debtor pays on the stand-in page: the events, signed, sent to the webhook.

    Ids are derived from the session, so paying the same stand-in session twice delivers the
    same event ids again (the webhook answers "duplicate"), like Stripe retrying.
    """

    def __init__(self, webhook_secret: str, send: WebhookSender, clock: Callable[[], float] = time.time) -> None:
        self._secret = webhook_secret
        self._send = send
        self._clock = clock

    def ids(self, session_id: str) -> tuple[str, str]:
        """The PaymentIntent and Charge ids of a stand-in session."""
        digest = _digest(session_id, 24)
        return f"pi_standin_{digest}", f"ch_standin_{digest}"

    def pay(self, record: CheckoutRecord, method: str) -> list[int]:
        """The debtor paid: by card, the session completes paid; by SEPA debit, it completes unpaid (processing)."""
        if method == "card":
            return [self.deliver(self.session_event(record, "checkout.session.completed", method, paid=True)),
                    self.deliver(self.intent_event(record, "payment_intent.succeeded", method))]
        return [self.deliver(self.session_event(record, "checkout.session.completed", method, paid=False))]

    def settle_debit(self, record: CheckoutRecord, succeeded: bool) -> list[int]:
        """The bank's answer on a SEPA debit, days later: both events Stripe sends for it."""
        if succeeded:
            return [self.deliver(self.session_event(record, "checkout.session.async_payment_succeeded", "sepa_debit",
                                                    paid=True)),
                    self.deliver(self.intent_event(record, "payment_intent.succeeded", "sepa_debit"))]
        return [self.deliver(self.session_event(record, "checkout.session.async_payment_failed", "sepa_debit",
                                                paid=False)),
                self.deliver(self.intent_event(record, "payment_intent.payment_failed", "sepa_debit"))]

    def session_event(self, record: CheckoutRecord, event_type: str, method: str, paid: bool) -> dict[str, Any]:
        """A checkout.session.* event in the published shape, about this session."""
        event = self._envelope("checkout.session.completed", event_type, record.session_id)
        payment_id, _charge_id = self.ids(record.session_id)
        amount = record.allocation.amount.minor
        metadata = {**payment_metadata(record.creditor_id, record.debtor_id, record.allocation), **dict(record.metadata)}
        event["data"]["object"].update({
            "id": record.session_id, "object": "checkout.session", "status": "complete",
            "payment_status": "paid" if paid else "unpaid", "payment_intent": payment_id,
            "amount_subtotal": amount, "amount_total": amount, "currency": record.allocation.currency.lower(),
            "metadata": metadata, "client_reference_id": None, "payment_method_types": [method],
            "success_url": record.success_url, "cancel_url": record.cancel_url, "url": None,
            "created": int(record.created_at.timestamp()), "expires_at": int(record.created_at.timestamp()) + 86_400,
            # The published fixture carries made-up discounts, taxes, shipping and conversion figures;
            # a plain invoice payment has none of them.
            "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
            "shipping_cost": None, "shipping_address_collection": None, "currency_conversion": None,
            "livemode": False,
        })
        return event

    def intent_event(self, record: CheckoutRecord, event_type: str, method: str) -> dict[str, Any]:
        """A payment_intent.* event in the published shape, for this session's payment."""
        event = self._envelope(event_type, event_type, record.session_id)
        payment_id, charge_id = self.ids(record.session_id)
        amount = record.allocation.amount.minor
        succeeded = event_type == "payment_intent.succeeded"
        event["data"]["object"].update({
            "id": payment_id, "amount": amount, "amount_received": amount if succeeded else 0,
            "currency": record.allocation.currency.lower(),
            "metadata": {**payment_metadata(record.creditor_id, record.debtor_id, record.allocation),
                         **dict(record.metadata)},
            "latest_charge": charge_id, "payment_method_types": [method], "client_secret": f"{payment_id}_secret",
            "status": "succeeded" if succeeded else "requires_payment_method",
            "created": int(record.created_at.timestamp()), "livemode": False,
        })
        return event

    def complete_setup(self, record: SetupCheckoutRecord, method: str) -> list[int]:
        """The debtor saved a test card or IBAN on the stand-in setup page: the completed session, delivered."""
        return [self.deliver(self.setup_session_event(record, method))]

    def setup_session_event(self, record: SetupCheckoutRecord, method: str) -> dict[str, Any]:
        """checkout.session.completed for a setup session, in the published shape, its SetupIntent (and the
        SetupIntent's payment method) expanded as `expand=["setup_intent.payment_method"]` returns them."""
        event = self._envelope("checkout.session.completed", "checkout.session.completed", record.session_id)
        digest = _digest(record.session_id, 24)
        metadata = {"relance_kind": AUTOPAY_KIND, "creditor_id": record.creditor_id, "debtor_id": record.debtor_id,
                    "plan_id": record.plan_id}
        created = int(record.created_at.timestamp())
        payment_method = stand_in_payment_method(method, f"pm_standin_{digest}", record.customer_id, created)
        intent = copy.deepcopy(stripe_object_shape("setup_intent"))
        intent.update({"id": f"seti_standin_{digest}", "client_secret": f"seti_standin_{digest}_secret",
                       "customer": record.customer_id, "metadata": metadata, "payment_method": payment_method,
                       "payment_method_types": [method], "status": "succeeded", "created": created,
                       "latest_attempt": f"setatt_standin_{digest}", "livemode": False,
                       "mandate": f"mandate_standin_{digest}" if method == "sepa_debit" else None})
        event["data"]["object"].update({
            "id": record.session_id, "object": "checkout.session", "mode": "setup", "status": "complete",
            "payment_status": "no_payment_required", "payment_intent": None, "setup_intent": intent,
            "customer": record.customer_id, "amount_subtotal": None, "amount_total": None,
            "currency": record.currency.lower(), "metadata": metadata, "client_reference_id": record.plan_id,
            "payment_method_types": [method], "success_url": record.success_url, "cancel_url": record.cancel_url,
            "url": None, "created": created, "expires_at": created + 86_400,
            "total_details": None, "shipping_cost": None, "shipping_address_collection": None,
            "currency_conversion": None, "invoice": None, "invoice_creation": None, "livemode": False,
        })
        return event

    def deliver(self, event: dict[str, Any]) -> int:
        """Sign `event` with the webhook secret and POST it to the webhook; returns the HTTP status."""
        payload = json.dumps(event, separators=(",", ":"))
        headers = {"content-type": "application/json; charset=utf-8",
                   "stripe-signature": stripe_signature(payload, self._secret, int(self._clock())),
                   "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"}
        response = self._send(http_api_event(payload, headers))
        return int(response.get("statusCode", 500))

    def _envelope(self, shape: str, event_type: str, session_id: str) -> dict[str, Any]:
        event = copy.deepcopy(stripe_event_shape(shape))
        event.update({"id": f"evt_standin_{_digest(session_id + event_type, 24)}", "type": event_type,
                      "created": int(self._clock()), "livemode": False,
                      "request": {"id": None, "idempotency_key": None}})
        return event
