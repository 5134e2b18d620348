"""The ERP API's use cases: who is calling, how often, and the invoices, payments, credit notes, balances and
events of that caller's creditor (docs/architecture/api.md).

Every use case takes the caller's creditor id and reads and writes only under it: another creditor's debtor
or invoice is "unknown", exactly like one that does not exist. Results are plain JSON values (integers of
minor units, ISO dates), which the entry point returns as they are.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from relance.adapters.api_store import ApiKeyRecord, ApiStore
from relance.adapters.dynamo import DynamoStore
from relance.domain.api_requests import (
    MAX_INVOICES_PER_REQUEST,
    FieldProblem,
    InvoiceFields,
    RequestRefused,
    balances,
    check_invoices,
    decode_cursor,
    dunning_state,
    encode_cursor,
)
from relance.domain.errors import InvalidAmount, RelanceError, UnknownCreditor, UnknownDebtor
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.parsing import check_text
from relance.domain.parties import Creditor, debtor_id_for
from relance.domain.policy import PolicyBook
from relance.services.imports import store_checked_rows
from relance.domain.payments import Payment
from relance.services.payments import (
    CreditNoteEntry,
    ManualPayment,
    ManualPaymentRefused,
    Outcome,
    PaymentPorts,
    credit_note_payment_id,
    record_credit_note,
    record_manual_payment,
)

API_KEY_PREFIX = "rk_"
RATE_SCOPE = "API_KEY"
RATE_WINDOW = timedelta(minutes=1)  # a fixed window: its counter's key names the minute
MAX_CREDIT_NOTE_NUMBER = 64


class Unauthorized(RelanceError):
    """No key, a key we do not know, or a revoked one: the same answer for all three."""

    code = "api.unauthorized"


class RateLimited(RelanceError):
    code = "api.rate_limited"

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message, retry_after_seconds=retry_after_seconds)
        self.retry_after_seconds = retry_after_seconds


class UnknownInvoice(RelanceError):
    code = "invoice.unknown"


class Conflict(RelanceError):
    """The request contradicts what is stored (another debtor's invoice number, a reused note number)."""

    code = "api.conflict"

    def __init__(self, problems: Sequence[FieldProblem]) -> None:
        super().__init__(f"the request conflicts with {len(problems)} stored record(s)", count=len(problems))
        self.problems = tuple(problems)


@dataclass(frozen=True, slots=True)
class ApiCaller:
    """An authenticated caller: the creditor whose data it may read and write, and the key it used."""

    creditor_id: str
    key_id: str


class RequestCounter(Protocol):
    def count_request(
        self, scope: str, subject: str, window_start: datetime, window_end: datetime, limit: int
    ) -> bool: ...


# --- keys, authentication, rate limit ---------------------------------------------------------------------


def key_digest(text: str) -> str:
    """The SHA-256 of an API key's text: the only form in which a key is stored."""
    return hashlib.sha256(text.encode()).hexdigest()


def create_api_key(
    creditor_id: str, now: datetime, keys: ApiStore, store: DynamoStore
) -> tuple[str, ApiKeyRecord]:
    """A new key for the creditor: its text (shown once, never stored) and its record."""
    if store.get_creditor(creditor_id) is None:
        raise UnknownCreditor(
            f"no creditor {creditor_id!r}; create it first with `relance creditor add`",
            creditor_id=creditor_id,
        )
    key_id = secrets.token_hex(6)
    text = f"{API_KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    record = ApiKeyRecord(key_id, creditor_id, now.isoformat())
    keys.put_api_key(key_digest(text), record)
    return text, record


def authenticate(authorization: str | None, keys: ApiStore) -> ApiCaller:
    """The caller named by an `Authorization: Bearer <key>` header; Unauthorized otherwise."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token.startswith(API_KEY_PREFIX) or len(token) > 200:
        raise Unauthorized(
            "send `Authorization: Bearer <API key>`; create a key with `relance api-key create`"
        )
    record = keys.find_api_key(key_digest(token))
    if record is None or record.is_revoked:
        raise Unauthorized("this API key is unknown or revoked")
    return ApiCaller(record.creditor_id, record.key_id)


def admit(caller: ApiCaller, now: datetime, counter: RequestCounter, limit_per_window: int) -> None:
    """Count one request of the caller's key in the current minute; RateLimited once the limit is reached."""
    start = now.replace(second=0, microsecond=0)
    end = start + RATE_WINDOW
    if not counter.count_request(RATE_SCOPE, caller.key_id, start, end, limit_per_window):
        retry_after = max(1, int((end - now).total_seconds()) + 1)
        raise RateLimited(
            f"more than {limit_per_window} requests this minute; retry after {retry_after} s", retry_after
        )


# --- invoices -----------------------------------------------------------------------------------------------


def upsert_invoices(
    creditor_id: str,
    invoices: Sequence[InvoiceFields],
    store: DynamoStore,
    closed_for: Callable[[Creditor], Container[date]],
    policies_for: Callable[[Creditor], PolicyBook],
    *,
    actor: str,
    now: datetime,
) -> dict[str, Any]:
    """Create or update invoices and their debtors as an import would; any problem refuses all, unwritten.

    Each debtor the request touched gets one `invoices_received` audit event naming the invoices sent and
    those that were new, so the trail (and the events feed) shows when and by which key each invoice came.
    """
    if not invoices or len(invoices) > MAX_INVOICES_PER_REQUEST:
        raise RequestRefused(
            [
                FieldProblem(
                    "invoices",
                    "invalid_count",
                    f"send 1 to {MAX_INVOICES_PER_REQUEST} invoices, got {len(invoices)}",
                )
            ]
        )
    rows = check_invoices(invoices)
    owners = store.invoice_owners(creditor_id, (r.invoice_number for r in rows))
    conflicts = [
        FieldProblem(
            f"invoices[{r.line - 1}].invoice_number",
            "invoice_number_other_debtor",
            f"invoice {r.invoice_number} is already recorded for another customer; "
            "correct the number or the customer",
        )
        for r in rows
        if owners.get(r.invoice_number, debtor_id_for(r.company_id, r.debtor_name))
        != debtor_id_for(r.company_id, r.debtor_name)
    ]
    if conflicts:
        raise Conflict(conflicts)
    report = store_checked_rows(rows, creditor_id, store, closed_for, policies_for)
    if report.errors:  # another writer took a number between the check and the write
        raise Conflict(
            [FieldProblem(f"invoices[{e.line - 1}].{e.field}", e.code, e.message) for e in report.errors]
        )
    sent: dict[str, list[str]] = {}
    for r in rows:
        sent.setdefault(debtor_id_for(r.company_id, r.debtor_name), []).append(r.invoice_number)
    store.record_audits(
        creditor_id,
        [(debtor_id, {"action": "invoices_received", "actor": actor, "channel": "api", "invoices": numbers,
                      "created": [n for n in numbers if n not in owners]})
         for debtor_id, numbers in sorted(sent.items())],
        now,
    )
    return {
        "created": report.imported,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "invoices": [
            {"invoice_number": r.invoice_number, "debtor_id": debtor_id_for(r.company_id, r.debtor_name)}
            for r in rows
        ],
    }


# --- a debtor's balance and dunning state -------------------------------------------------------------------


def debtor_summary(creditor_id: str, debtor_id: str, store: DynamoStore, now: datetime) -> dict[str, Any]:
    """The debtor's balance per currency, open invoices and dunning state; UnknownDebtor if not theirs."""
    creditor = store.get_creditor(creditor_id)
    debtor, invoices = store.dunning_view(creditor_id, debtor_id) if creditor else (None, [])  # AP1b: one read
    if creditor is None or debtor is None:
        raise UnknownDebtor(f"no debtor {debtor_id!r}", debtor_id=debtor_id)
    today = now.astimezone(ZoneInfo(creditor.timezone)).date()
    open_invoices = sorted((i for i in invoices if not i.is_settled()), key=lambda i: (i.due_on, i.number))
    state = dunning_state(debtor, open_invoices, today)
    return {
        "debtor_id": debtor.debtor_id,
        "name": debtor.name,
        "siren": debtor.company_id,
        "balances": [
            {"currency": c, "amount_minor": m.minor} for c, m in sorted(balances(open_invoices).items())
        ],
        "open_invoices": [_invoice_json(i, today) for i in open_invoices],
        "dunning": {
            "paused_until": _iso(state.paused_until),
            "next_action_on": _iso(state.next_action_on),
            "last_step": state.last_step,
            "disputed_invoices": list(state.disputed_invoices),
            "promised_until": _iso(state.promised_until),
            "in_plan_invoices": list(state.in_plan_invoices),
        },
    }


def _invoice_json(invoice: Invoice, today: date) -> dict[str, Any]:
    return {
        "invoice_number": invoice.number,
        "invoice_date": invoice.issued_on.isoformat(),
        "due_date": invoice.due_on.isoformat(),
        "currency": invoice.currency,
        "amount_total_minor": invoice.total.minor,
        "amount_paid_minor": invoice.paid.minor,
        "balance_minor": invoice.balance.minor,
        "status": invoice.status(today).value,
        "last_step": invoice.last_step,
        "next_action_on": _iso(invoice.next_action_on),
        "disputed": invoice.disputed,
        "promised_on": _iso(invoice.promised_on),
        "in_plan": invoice.in_plan,
    }


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


# --- payments -----------------------------------------------------------------------------------------------

_PAYMENT_FIELDS = {"amount": "amount_minor", "invoices": "invoice_numbers"}


@dataclass(frozen=True, slots=True)
class PaymentFields:
    """Money the creditor received outside Stripe, as the ERP sends it."""

    debtor_id: str
    amount_minor: int
    currency: str
    received_on: date
    method: str
    reference: str
    invoice_numbers: tuple[str, ...] = ()


def record_payment(
    caller: ApiCaller, fields: PaymentFields, request_key: str, now: datetime, ports: PaymentPorts
) -> dict[str, Any]:
    """Apply the payment as finance's form does (the Stripe settlement path), once per `request_key`."""
    try:
        amount = Money(fields.amount_minor, fields.currency)
    except InvalidAmount as exc:
        raise RequestRefused(
            [
                FieldProblem(
                    "currency" if fields.currency not in _known_currencies() else "amount_minor",
                    "invalid_amount",
                    str(exc),
                )
            ]
        ) from exc
    entered = ManualPayment(
        amount,
        fields.received_on,
        fields.method,
        fields.reference,
        fields.invoice_numbers,
        nonce=f"api:{request_key}",
    )
    try:
        outcome = record_manual_payment(
            caller.creditor_id, fields.debtor_id, entered, f"api:{caller.key_id}", now, ports
        )
    except ManualPaymentRefused as exc:
        raise RequestRefused(
            [
                FieldProblem(_PAYMENT_FIELDS.get(field, field), code, _payment_message(field, code))
                for field, code in sorted(exc.problems.items())
            ]
        ) from exc
    if outcome not in (Outcome.APPLIED, Outcome.DUPLICATE):
        raise RelanceError(f"unexpected payment outcome {outcome.value}")
    return {
        "debtor_id": fields.debtor_id,
        "outcome": "recorded" if outcome is Outcome.APPLIED else "duplicate",
        "amount_minor": amount.minor,
        "currency": amount.currency,
    }


def _known_currencies() -> Container[str]:
    from relance.domain.money import MINOR_DIGITS

    return MINOR_DIGITS


def _payment_message(field: str, code: str) -> str:
    messages = {
        ("amount", "not_positive"): "the amount must be above zero, in minor units",
        ("received_on", "in_the_future"): "the payment cannot be received after today",
        ("received_on", "too_old"): "the payment is more than a year old; record it in the accounting system",
        ("method", "unknown"): "the method must be bank_transfer or cheque",
        ("reference", "required"): "the reference is empty; give the bank or cheque reference",
        ("reference", "too_long"): "the reference is longer than 100 characters",
        ("invoices", "not_open"): "an invoice named is not open in this currency for this debtor",
        ("invoices", "too_many"): "too many invoices named for one payment",
    }
    return messages.get((field, code), f"{field}: {code}")


# --- credit notes -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CreditNoteFields:
    """A credit note the creditor issued against one of its invoices."""

    credit_note_number: str
    invoice_number: str
    amount_minor: int
    currency: str
    issued_on: date


def apply_credit_note(
    caller: ApiCaller,
    fields: CreditNoteFields,
    now: datetime,
    store: DynamoStore,
    api_store: ApiStore,
    ports: PaymentPorts,
) -> dict[str, Any]:
    """Lower the invoice's balance by the credit note, once per number, through the one write every credit
    note takes (services/payments.record_credit_note: an e-invoice import's too), so a running installment
    plan covering the invoice is paid down as by any payment, and a number is applied once by either door.

    The same credit note again (same invoice, amount and currency) is acknowledged as a duplicate; the same
    number for another credit is a conflict.
    """
    creditor_id = caller.creditor_id
    problems: list[FieldProblem] = []
    try:
        check_text(fields.credit_note_number.strip(), MAX_CREDIT_NOTE_NUMBER)
    except RelanceError as exc:
        problems.append(FieldProblem("credit_note_number", "invalid_text", str(exc)))
    if not fields.credit_note_number.strip():
        problems.append(
            FieldProblem("credit_note_number", "missing_credit_note_number", "the number is empty")
        )
    if problems:
        raise RequestRefused(problems)
    number = fields.credit_note_number.strip()
    owner = store.invoice_owners(creditor_id, [fields.invoice_number]).get(fields.invoice_number)
    if store.get_creditor(creditor_id) is None or owner is None:
        raise UnknownInvoice(f"no invoice {fields.invoice_number!r}", number=fields.invoice_number)
    recorded = ports.store.get_payment(credit_note_payment_id(creditor_id, number))
    if recorded is not None:
        return _credit_note_seen(recorded, fields, number)
    invoice = store.get_invoices(creditor_id, [(owner, fields.invoice_number)])[fields.invoice_number]
    refused = _credit_note_problems(fields, invoice)
    if refused:
        raise RequestRefused(refused)
    entry = CreditNoteEntry(number, Money(fields.amount_minor, invoice.currency), fields.issued_on,
                            (invoice.number,))
    outcome, change = record_credit_note(creditor_id, owner, entry, f"api:{caller.key_id}", now, ports)
    if outcome is not Outcome.APPLIED or change is None:  # this number was applied meanwhile, or long ago
        recorded = ports.store.get_payment(credit_note_payment_id(creditor_id, number))
        if recorded is not None:
            return _credit_note_seen(recorded, fields, number)
        legacy = api_store.find_credit_note(creditor_id, owner, number)
        if legacy is not None and (legacy["invoice_number"], int(legacy["amount_minor"]), legacy["currency"]) == (
                fields.invoice_number, fields.amount_minor, fields.currency):
            return {"credit_note_number": number, "invoice_number": fields.invoice_number, "debtor_id": owner,
                    "outcome": "duplicate", "balance_minor": None, "currency": fields.currency}
        raise Conflict([FieldProblem("credit_note_number", "credit_note_number_used",
                                     "this credit note number was applied already, to another invoice or amount")])
    credited = next(i for i in change.invoices if i.number == invoice.number)
    return {
        "credit_note_number": number,
        "invoice_number": invoice.number,
        "debtor_id": owner,
        "outcome": "recorded",
        "balance_minor": credited.balance.minor,
        "currency": invoice.currency,
    }


def _credit_note_problems(fields: CreditNoteFields, invoice: Invoice) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    if fields.currency != invoice.currency:
        problems.append(
            FieldProblem(
                "currency",
                "currency_mismatch",
                f"the invoice is in {invoice.currency}, the credit note in {fields.currency}",
            )
        )
    if fields.amount_minor <= 0:
        problems.append(
            FieldProblem("amount_minor", "not_positive", "the amount must be above zero, in minor units")
        )
    elif fields.amount_minor > invoice.balance.minor:
        problems.append(
            FieldProblem(
                "amount_minor",
                "above_balance",
                f"the credit note ({fields.amount_minor}) is more than the invoice's balance "
                f"({invoice.balance.minor})",
            )
        )
    return problems


def _credit_note_seen(recorded: Payment, fields: CreditNoteFields, number: str) -> dict[str, Any]:
    """The same credit note again is acknowledged; the same number for another credit is a conflict."""
    same = (
        tuple(a.invoice_number for a in recorded.requested) == (fields.invoice_number,)
        and recorded.amount == Money(fields.amount_minor, recorded.currency)
        and recorded.currency == fields.currency
    )
    if not same:
        raise Conflict(
            [
                FieldProblem(
                    "credit_note_number",
                    "credit_note_number_used",
                    "this credit note number was applied already, to another invoice or amount",
                )
            ]
        )
    return {
        "credit_note_number": number,
        "invoice_number": fields.invoice_number,
        "debtor_id": recorded.debtor_id,
        "outcome": "duplicate",
        "balance_minor": None,
        "currency": recorded.currency,
    }


# --- events -------------------------------------------------------------------------------------------------

_EVENT_FIELDS = ("action", "at", "debtor_id")


def events_after(creditor_id: str, cursor: str | None, limit: int, api_store: ApiStore) -> dict[str, Any]:
    """The creditor's audit events after `cursor`, in hash-chain order, and the cursor to go on from."""
    seq = decode_cursor(cursor)
    links = api_store.links_after(creditor_id, seq, limit)
    found = api_store.events(
        [(link.event_key.partition, link.event_key.sort) for link in links if link.kind.value == "event"]
    )
    events = []
    for link in links:
        event = found.get((link.event_key.partition, link.event_key.sort))
        if link.kind.value != "event" or event is None or event.get("creditor_id") != creditor_id:
            continue  # a tamper alert, or an event since removed: its place in the chain is still passed
        invoices = event.get("invoices")
        events.append(
            {
                "cursor": encode_cursor(link.seq),
                **{name: _text(event.get(name)) for name in _EVENT_FIELDS},
                "invoices": [str(n) for n in invoices] if isinstance(invoices, list) else [],
            }
        )
    last = links[-1].seq if links else seq
    return {"events": events, "next_cursor": encode_cursor(last), "has_more": len(links) == limit}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
