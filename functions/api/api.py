"""The REST API for ERPs: invoices, payments and credit notes in; balances, dunning state and events out.

Every request carries `Authorization: Bearer <API key>`; the key names the creditor, and nothing of another
creditor can be read or written (it answers 404, as if it did not exist). Each key has a request budget per
minute. Every POST needs an `Idempotency-Key` header: the same key and body give the first answer again
without writing twice. The OpenAPI document is generated from these routes (docs/architecture/api.md).
"""

# No `from __future__ import annotations`: Powertools reads the routes' annotations at runtime, and this
# module is loaded from its file (not importable by name), so string annotations could not be resolved.
import base64
import json
import os
from datetime import UTC, date, datetime
from functools import cache
from typing import Annotated, Any, Literal

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer, Server
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from relance.adapters.api_store import ApiStore
from relance.adapters.aws import client
from relance.adapters.dynamo import DynamoStore, VersionConflict
from relance.adapters.payments_store import PaymentsStore
from relance.adapters.policy_store import PolicyStore
from relance.adapters.portal_access import PortalAccessStore
from relance.adapters.settings import load_settings
from relance.adapters.wiring import closed_for, policy_source
from relance.domain.api_requests import (
    MAX_EVENTS_PER_PAGE,
    MAX_INVOICES_PER_REQUEST,
    FieldProblem,
    InvalidCursor,
    InvoiceFields,
    RequestRefused,
)
from relance.domain.errors import RelanceError, UnknownDebtor
from relance.services import api as service
from relance.services.payments import PaymentPorts

API_VERSION = "1.0.0"
DEFAULT_RATE_LIMIT_PER_MINUTE = 120
IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_IDEMPOTENCY_KEY_CHARS = 255
# A full request (100 invoices) is about 100 KB of JSON, and under 1 MiB even with every text field at its
# longest and escaped (\uXXXX); API Gateway would let 10 MB through. A larger body is refused before it is
# parsed: a 413 naming the limit, and nothing written.
MAX_BODY_BYTES = 1024 * 1024

logger = Logger(service="api")
metrics = Metrics(namespace="Relance", service="api")
app = APIGatewayHttpResolver(enable_validation=True)
# One answer per creditor and Idempotency-Key for a day; the payload check makes a reused key with another
# body an error instead of a silent replay of the first answer.
idempotency = IdempotencyConfig(
    event_key_jmespath="key",
    payload_validation_jmespath="payload",
    expires_after_seconds=24 * 3600,
    raise_on_no_idempotency_key=True,
)
persistence = DynamoDBPersistenceLayer(
    table_name=os.environ.get("RELANCE_IDEMPOTENCY_TABLE", ""), boto3_client=client("dynamodb")
)


@cache
def _wiring() -> dict[str, Any]:
    """The stores, built on the first request (the OpenAPI document is generated without any stack)."""
    settings = load_settings()
    store = DynamoStore(settings.table_name, creditor_ttl_seconds=60)
    policies_for = policy_source(PolicyStore(settings.table_name), ttl_seconds=300)
    return {
        "store": store,
        "api_store": ApiStore(settings.table_name),
        "access": PortalAccessStore(settings.table_name),
        "policies_for": policies_for,
        "payments": PaymentPorts(
            store=PaymentsStore(settings.table_name, creditor_ttl_seconds=60),
            closed_for=closed_for,
            policies_for=policies_for,
        ),
    }


def _rate_limit() -> int:
    """Requests a key may send per minute (read per request: an operator's change needs no cold start)."""
    return int(os.environ.get("RELANCE_API_RATE_LIMIT_PER_MINUTE", DEFAULT_RATE_LIMIT_PER_MINUTE))


# --- the request and response documents (the OpenAPI schemas come from these) -----------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InvoiceIn(_Strict):
    """One invoice and its debtor, with the CSV export's column names; amounts in minor units."""

    invoice_number: str = Field(max_length=64, examples=["F-2025-0142"])
    debtor_name: str = Field(max_length=200, examples=["Boulangerie Martin SARL"])
    siren: str | None = Field(default=None, max_length=32, description="SIREN (9 digits) or SIRET (14)")
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=40)
    language: str | None = Field(default=None, max_length=35, description="fr or en")
    invoice_date: date
    due_date: date
    amount_total_minor: StrictInt = Field(ge=-(10**15), le=10**15, description="total in minor units (cents)")
    amount_paid_minor: StrictInt = Field(
        default=0, ge=-(10**15), le=10**15, description="already paid, minor units"
    )
    currency: str = Field(max_length=8, examples=["EUR"], description="ISO 4217 code")


class InvoicesIn(_Strict):
    invoices: list[InvoiceIn] = Field(min_length=1, max_length=MAX_INVOICES_PER_REQUEST)


class InvoiceRef(BaseModel):
    invoice_number: str
    debtor_id: str


class InvoicesOut(BaseModel):
    created: int
    updated: int
    unchanged: int
    invoices: list[InvoiceRef]


class PaymentIn(_Strict):
    """Money received outside Stripe (a transfer, a cheque), applied like an online payment."""

    debtor_id: str = Field(max_length=200)
    amount_minor: StrictInt = Field(ge=-(10**15), le=10**15)
    currency: str = Field(max_length=8, examples=["EUR"])
    received_on: date
    method: Literal["bank_transfer", "cheque"]
    reference: str = Field(max_length=200)
    invoice_numbers: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list, max_length=50, description="empty: the oldest open invoices first"
    )


class PaymentOut(BaseModel):
    debtor_id: str
    outcome: Literal["recorded", "duplicate"]
    amount_minor: int
    currency: str


class CreditNoteIn(_Strict):
    """A credit note against one invoice: it lowers what is owed on it."""

    credit_note_number: str = Field(max_length=64, examples=["AV-2025-0007"])
    invoice_number: str = Field(max_length=64)
    amount_minor: StrictInt = Field(ge=-(10**15), le=10**15)
    currency: str = Field(max_length=8, examples=["EUR"])
    issued_on: date


class CreditNoteOut(BaseModel):
    credit_note_number: str
    invoice_number: str
    debtor_id: str
    outcome: Literal["recorded", "duplicate"]
    balance_minor: int | None
    currency: str


class Amount(BaseModel):
    currency: str
    amount_minor: int


class OpenInvoice(BaseModel):
    invoice_number: str
    invoice_date: date
    due_date: date
    currency: str
    amount_total_minor: int
    amount_paid_minor: int
    balance_minor: int
    status: Literal["not_due", "overdue", "paid"]
    last_step: str | None
    next_action_on: date | None
    disputed: bool
    promised_on: date | None
    in_plan: bool


class DunningOut(BaseModel):
    paused_until: date | None
    next_action_on: date | None
    last_step: str | None
    disputed_invoices: list[str]
    promised_until: date | None
    in_plan_invoices: list[str]


class DebtorOut(BaseModel):
    debtor_id: str
    name: str
    siren: str | None
    balances: list[Amount]
    open_invoices: list[OpenInvoice]
    dunning: DunningOut


class EventOut(BaseModel):
    cursor: str
    action: str | None
    at: str | None
    debtor_id: str | None
    invoices: list[str]


class EventsOut(BaseModel):
    events: list[EventOut]
    next_cursor: str
    has_more: bool


class ErrorItem(BaseModel):
    path: str = Field(description="where in the request, e.g. invoices[0].due_date")
    code: str
    message: str


class ErrorOut(BaseModel):
    errors: list[ErrorItem]


def _responses(answer: type[BaseModel], *codes: int) -> dict[int, Any]:
    """The route's answer and its error answers (401 and 429 on every route), all JSON."""
    described = {
        400: "Bad request (missing Idempotency-Key, bad cursor)",
        401: "Missing, unknown or revoked API key",
        404: "No such debtor or invoice for this creditor",
        409: "Conflicts with what is stored",
        413: "The body is over 1 MiB: send at most 100 invoices per request",
        415: "The body is not JSON (Content-Type: application/json)",
        422: "Fields that break the rules, each with its path",
        429: "Too many requests: see Retry-After",
    }
    return {
        200: {"description": "OK", "content": {"application/json": {"model": answer}}},
        **{
            code: {"description": described[code], "content": {"application/json": {"model": ErrorOut}}}
            for code in (401, 429, *codes)
        },
    }


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=IDEMPOTENCY_HEADER,
        max_length=MAX_IDEMPOTENCY_KEY_CHARS,
        description="required: the same key and body are applied once",
    ),
]


# --- routes -------------------------------------------------------------------------------------------------


@app.post(
    "/v1/invoices",
    responses=_responses(InvoicesOut, 400, 409, 413, 415, 422),
    operation_id="upsertInvoices",
    summary="Create or update invoices and their debtors (upsert by invoice number)",
)
def post_invoices(body: InvoicesIn, idempotency_key: IdempotencyKey = None) -> InvoicesOut:
    return _write("POST /v1/invoices", body, idempotency_key)


@app.post(
    "/v1/payments",
    responses=_responses(PaymentOut, 400, 404, 409, 413, 415, 422),
    operation_id="recordPayment",
    summary="Record money received outside Stripe; invoices paid oldest first",
)
def post_payments(body: PaymentIn, idempotency_key: IdempotencyKey = None) -> PaymentOut:
    return _write("POST /v1/payments", body, idempotency_key)


@app.post(
    "/v1/credit-notes",
    responses=_responses(CreditNoteOut, 400, 404, 409, 413, 415, 422),
    operation_id="recordCreditNote",
    summary="Record a credit note: the invoice's balance goes down by its amount",
)
def post_credit_notes(body: CreditNoteIn, idempotency_key: IdempotencyKey = None) -> CreditNoteOut:
    return _write("POST /v1/credit-notes", body, idempotency_key)


@app.get(
    "/v1/debtors/<debtor_id>",
    responses=_responses(DebtorOut, 404, 422),
    operation_id="getDebtor",
    summary="A debtor's balance per currency, open invoices and dunning state",
)
def get_debtor(debtor_id: Annotated[str, Path(max_length=200)]) -> DebtorOut:
    wiring = _wiring()
    return service.debtor_summary(app.context["creditor_id"], debtor_id, wiring["store"], app.context["now"])


@app.get(
    "/v1/events",
    responses=_responses(EventsOut, 400, 422),
    operation_id="listEvents",
    summary="The creditor's events in order, after an opaque cursor",
)
def get_events(
    after: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_EVENTS_PER_PAGE)] = 50,
) -> EventsOut:
    return service.events_after(app.context["creditor_id"], after, limit, _wiring()["api_store"])


def _write(operation: str, body: BaseModel, idempotency_key: str | None) -> dict[str, Any]:
    if not idempotency_key or not idempotency_key.strip():
        raise MissingIdempotencyKey(f"send an {IDEMPOTENCY_HEADER} header with every POST")
    caller = app.context["caller"]
    return write_once(
        request={
            "key": f"{caller.creditor_id}\n{idempotency_key}",
            "payload": {"operation": operation, "body": body.model_dump(mode="json")},
            "caller": {"creditor_id": caller.creditor_id, "key_id": caller.key_id},
            "request_key": f"{caller.creditor_id}\n{idempotency_key}",
            "now": app.context["now"].isoformat(),
        }
    )


@idempotent_function(data_keyword_argument="request", config=idempotency, persistence_store=persistence)
def write_once(request: dict[str, Any]) -> dict[str, Any]:
    """Apply one POST once per creditor and Idempotency-Key; its answer is what a repeat gets back."""
    operation, body = request["payload"]["operation"], request["payload"]["body"]
    caller = service.ApiCaller(**request["caller"])
    now = datetime.fromisoformat(request["now"])
    wiring = _wiring()
    if operation == "POST /v1/invoices":
        result = service.upsert_invoices(
            caller.creditor_id,
            [_invoice_fields(i) for i in body["invoices"]],
            wiring["store"],
            closed_for,
            wiring["policies_for"],
            actor=f"api:{caller.key_id}",
            now=now,
        )
        metrics.add_metric(name="ApiInvoicesWritten", unit=MetricUnit.Count, value=len(body["invoices"]))
    elif operation == "POST /v1/payments":
        fields = service.PaymentFields(
            body["debtor_id"],
            body["amount_minor"],
            body["currency"],
            date.fromisoformat(body["received_on"]),
            body["method"],
            body["reference"],
            tuple(body["invoice_numbers"]),
        )
        result = service.record_payment(caller, fields, request["request_key"], now, wiring["payments"])
    else:
        fields = service.CreditNoteFields(
            body["credit_note_number"],
            body["invoice_number"],
            body["amount_minor"],
            body["currency"],
            date.fromisoformat(body["issued_on"]),
        )
        result = service.apply_credit_note(
            caller, fields, now, wiring["store"], wiring["api_store"], wiring["payments"]
        )
    logger.info("API write done", extra={"operation": operation})
    return result


def _invoice_fields(item: dict[str, Any]) -> InvoiceFields:
    return InvoiceFields(
        invoice_number=item["invoice_number"],
        debtor_name=item["debtor_name"],
        invoice_date=date.fromisoformat(item["invoice_date"]),
        due_date=date.fromisoformat(item["due_date"]),
        amount_total_minor=item["amount_total_minor"],
        amount_paid_minor=item["amount_paid_minor"],
        currency=item["currency"],
        siren=item["siren"],
        email=item["email"],
        phone=item["phone"],
        language=item["language"],
    )


# --- errors: one JSON shape, {"errors": [{"path", "code", "message"}]} --------------------------------------


class MissingIdempotencyKey(RelanceError):
    code = "api.missing_idempotency_key"


def _error(status: int, problems: list[FieldProblem], headers: dict[str, str] | None = None) -> Response:
    body = {"errors": [{"path": p.path, "code": p.code, "message": p.message} for p in problems]}
    return Response(
        status_code=status, content_type="application/json", body=json.dumps(body), headers=headers
    )


def _path_of(location: tuple[Any, ...]) -> str:
    """A pydantic error location as a path: ("body", "invoices", 0, "due_date") -> invoices[0].due_date."""
    where, *rest = location or ("body",)
    path = "" if where == "body" else str(where)
    for part in rest:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "body"


@app.exception_handler(RequestValidationError)
def _invalid_request(error: RequestValidationError) -> Response:
    logger.warning("API request rejected", extra={"reason": "invalid_fields"})
    return _error(
        422,
        [
            FieldProblem(
                _path_of(tuple(e.get("loc", ()))),
                str(e.get("type", "invalid")),
                str(e.get("msg", "invalid value")),
            )
            for e in error.errors()
        ],
    )


@app.exception_handler(RequestRefused)
def _refused(error: RequestRefused) -> Response:
    logger.warning("API request rejected", extra={"reason": "rules", "problems": len(error.problems)})
    return _error(422, list(error.problems))


@app.exception_handler(service.Conflict)
def _conflict(error: service.Conflict) -> Response:
    logger.warning("API request rejected", extra={"reason": "conflict"})
    return _error(409, list(error.problems))


@app.exception_handler(UnknownDebtor)
def _unknown_debtor(error: UnknownDebtor) -> Response:
    return _error(404, [FieldProblem("debtor_id", error.code, "no such debtor")])


@app.not_found
def _no_route(error: Exception) -> Response:
    """A path no route serves (a debtor id with a slash, say): the same 404 as an unknown debtor."""
    return _error(404, [FieldProblem("path", "not_found", "no such resource")])


@app.exception_handler(service.UnknownInvoice)
def _unknown_invoice(error: service.UnknownInvoice) -> Response:
    return _error(404, [FieldProblem("invoice_number", error.code, "no such invoice")])


@app.exception_handler(InvalidCursor)
def _bad_cursor(error: InvalidCursor) -> Response:
    return _error(400, [FieldProblem("after", error.code, str(error))])


@app.exception_handler(MissingIdempotencyKey)
def _missing_key(error: MissingIdempotencyKey) -> Response:
    return _error(
        400,
        [
            FieldProblem(
                f"headers.{IDEMPOTENCY_HEADER}",
                error.code,
                f"send an {IDEMPOTENCY_HEADER} header (e.g. a UUID) with every POST",
            )
        ],
    )


@app.exception_handler(IdempotencyValidationError)
def _key_reused(error: IdempotencyValidationError) -> Response:
    logger.warning("API request rejected", extra={"reason": "idempotency_key_reused"})
    return _error(
        422,
        [
            FieldProblem(
                f"headers.{IDEMPOTENCY_HEADER}",
                "idempotency_key_reused",
                "this Idempotency-Key was used with another request; use a new key",
            )
        ],
    )


@app.exception_handler(IdempotencyAlreadyInProgressError)
def _in_progress(error: IdempotencyAlreadyInProgressError) -> Response:
    return _error(
        409,
        [
            FieldProblem(
                f"headers.{IDEMPOTENCY_HEADER}",
                "request_in_progress",
                "a request with this Idempotency-Key is still running; retry in a moment",
            )
        ],
    )


@app.exception_handler(VersionConflict)
def _busy(error: VersionConflict) -> Response:
    return _error(
        409, [FieldProblem("body", "busy", "the records kept changing while this request ran; retry")]
    )


@app.exception_handler(RelanceError)
def _other_rule(error: RelanceError) -> Response:
    logger.warning("API request rejected", extra={"reason": error.code})
    return _error(422, [FieldProblem("body", error.code, str(error))])


# --- the Lambda entry point ---------------------------------------------------------------------------------


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Authenticate, count the request against the key's budget, then route (the clock is read once, here)."""
    idempotency.register_lambda_context(context)  # an expired IN_PROGRESS record can be retried
    now = datetime.now(UTC)
    metrics.add_metric(name="ApiRequests", unit=MetricUnit.Count, value=1)
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    wiring = _wiring()
    try:
        caller = service.authenticate(headers.get("authorization"), wiring["api_store"])
    except service.Unauthorized as error:
        logger.warning("API request rejected", extra={"reason": "unauthorized"})
        metrics.add_metric(name="ApiUnauthorized", unit=MetricUnit.Count, value=1)
        return _raw(
            _error(
                401,
                [FieldProblem("headers.Authorization", error.code, str(error))],
                {"WWW-Authenticate": "Bearer"},
            )
        )
    logger.append_keys(creditor_id=caller.creditor_id, api_key_id=caller.key_id)
    try:
        service.admit(caller, now, wiring["access"], _rate_limit())
    except service.RateLimited as error:
        logger.warning("API request rejected", extra={"reason": "rate_limited"})
        metrics.add_metric(name="ApiRateLimited", unit=MetricUnit.Count, value=1)
        return _raw(
            _error(
                429,
                [FieldProblem("headers.Authorization", error.code, str(error))],
                {"Retry-After": str(error.retry_after_seconds)},
            )
        )
    refused = _unreadable_body(event, headers)
    if refused is not None:
        logger.warning("API request rejected", extra={"reason": "body"})
        return _raw(refused)
    app.append_context(caller=caller, creditor_id=caller.creditor_id, now=now)
    return app.resolve(event, context)


def _unreadable_body(event: dict[str, Any], headers: dict[str, str]) -> Response | None:
    """413 for a body over MAX_BODY_BYTES, 415 for one not declared JSON, 400 for one that is not UTF-8 text;
    None when readable."""
    body = event.get("body")
    if not body:
        return None
    size = len(body) * 3 // 4 if event.get("isBase64Encoded") else len(body.encode("utf-8", "surrogatepass"))
    if size > MAX_BODY_BYTES:
        return _error(
            413,
            [
                FieldProblem(
                    "body",
                    "body_too_large",
                    f"the body is {size:,} bytes; at most {MAX_BODY_BYTES:,} are accepted: "
                    f"send at most {MAX_INVOICES_PER_REQUEST} invoices per request",
                )
            ],
        )
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and content_type != "application/json":
        return _error(
            415,
            [
                FieldProblem(
                    "headers.Content-Type",
                    "unsupported_media_type",
                    "send the body as JSON with Content-Type: application/json",
                )
            ],
        )
    try:
        (base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()).decode("utf-8")
    except (UnicodeError, ValueError):
        return _error(400, [FieldProblem("body", "invalid_utf8", "the body is not UTF-8 text; send JSON")])
    return None


def _raw(response: Response) -> dict[str, Any]:
    """An answer given before routing, in the HTTP API's payload format 2.0."""
    return {
        "statusCode": response.status_code,
        "body": response.body,
        "isBase64Encoded": False,
        "headers": {
            "Content-Type": "application/json",
            **{
                k: v[0] if isinstance(v, list) else v
                for k, v in response.headers.items()
                if k != "Content-Type"
            },
        },
    }


def openapi_document(server_url: str | None = None) -> str:
    """The API's OpenAPI 3.1 document, generated from the routes and models above."""
    return app.get_openapi_json_schema(
        title="Relance API",
        version=API_VERSION,
        description="Invoices, payments and credit notes from an ERP; balances, dunning state, events back. "
        "Amounts are integers of minor units (cents) with an ISO 4217 currency.",
        servers=[Server(url=server_url)] if server_url else None,
        security_schemes={
            "apiKey": HTTPBearer(description="`relance api-key create --creditor ID` prints a key")
        },
        security=[{"apiKey": []}],
    )
