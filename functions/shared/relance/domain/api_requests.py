"""What the ERP API accepts and answers, as plain rules: invoices checked like an export's rows, problems
named by their path in the request, the debtor's dunning state, and the opaque cursor of the event feed.

The field rules are the CSV import's (`relance.domain.csv_invoices`): the same validators, limits and
codes, so an invoice refused in a file is refused by the API for the same reason.
"""

from __future__ import annotations

import base64
import binascii
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from relance.domain.csv_invoices import MAX_LENGTHS, InvoiceRow
from relance.domain.errors import InvalidField, RelanceError
from relance.domain.invoices import Invoice
from relance.domain.money import Money, totals_by_currency
from relance.domain.parsing import (
    check_text,
    parse_currency,
    parse_email,
    parse_language,
    parse_phone,
    parse_siren,
    shown,
)
from relance.domain.parties import Debtor

T = TypeVar("T")

MAX_INVOICES_PER_REQUEST = 100  # one chunk of the import: one BatchGetItem of invoice numbers
MAX_EVENTS_PER_PAGE = 200
CURSOR_PREFIX = "ev1:"  # a cursor format version, so the encoding can change without breaking old cursors


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One problem in a request: `path` points at the field (`invoices[0].due_date`), `code` is stable."""

    path: str
    code: str
    message: str


class RequestRefused(RelanceError):
    """The request's fields break the rules; `problems` lists every one, so the client fixes all at once."""

    code = "api.request_refused"

    def __init__(self, problems: Sequence[FieldProblem]) -> None:
        super().__init__(f"the request has {len(problems)} problem(s)", count=len(problems))
        self.problems = tuple(problems)


class InvalidCursor(RelanceError):
    code = "api.invalid_cursor"


@dataclass(frozen=True, slots=True)
class InvoiceFields:
    """One invoice as the client sent it, already typed (text, dates, integers of minor units)."""

    invoice_number: str
    debtor_name: str
    invoice_date: date
    due_date: date
    amount_total_minor: int
    currency: str
    amount_paid_minor: int = 0
    siren: str | None = None
    email: str | None = None
    phone: str | None = None
    language: str | None = None


def check_invoices(invoices: Sequence[InvoiceFields], prefix: str = "invoices") -> list[InvoiceRow]:
    """The invoices as import rows (row `line` = position + 1); RequestRefused with every problem by path."""
    rows: list[InvoiceRow] = []
    problems: list[FieldProblem] = []
    seen: dict[str, int] = {}
    for index, fields in enumerate(invoices):
        checked = _check_invoice(fields, index + 1, f"{prefix}[{index}]")
        if isinstance(checked, InvoiceRow):
            first = seen.setdefault(checked.invoice_number, index)
            if first != index:
                problems.append(
                    FieldProblem(
                        f"{prefix}[{index}].invoice_number",
                        "duplicate_invoice_number",
                        f"invoice number {shown(checked.invoice_number)} is already "
                        f"{prefix}[{first}]; each invoice must appear once",
                    )
                )
                continue
            rows.append(checked)
        else:
            problems.extend(checked)
    if problems:
        raise RequestRefused(problems)
    return rows


def _check_invoice(fields: InvoiceFields, line: int, path: str) -> InvoiceRow | list[FieldProblem]:
    """The CSV row rules (`InvoiceReader._check_row`) applied to typed fields."""
    problems: list[FieldProblem] = []

    def attempt(field: str, parse: Callable[..., T], *args: object) -> T | None:
        try:
            return parse(*args)
        except InvalidField as problem:
            problems.append(FieldProblem(f"{path}.{field}", problem.defect, str(problem)))
            return None

    def missing(field: str, code: str, message: str) -> None:
        problems.append(FieldProblem(f"{path}.{field}", code, message))

    number = fields.invoice_number.strip()
    if not number:
        missing(
            "invoice_number",
            "missing_invoice_number",
            "the invoice number is empty; every invoice needs its number",
        )
    else:
        attempt("invoice_number", check_text, number, MAX_LENGTHS["invoice_number"])
    name = fields.debtor_name.strip()
    if not name:
        missing(
            "debtor_name",
            "empty_debtor",
            "the debtor name is empty; every invoice needs the customer it is addressed to",
        )
    elif attempt("debtor_name", check_text, name, MAX_LENGTHS["debtor_name"]) is not None:
        name = name if name.isascii() else unicodedata.normalize("NFC", name)
    company_id = email = phone = language = None
    if fields.siren and fields.siren.strip():
        company_id = attempt("siren", _checked_siren, fields.siren.strip())
    if fields.email and fields.email.strip():
        email = attempt(
            "email", lambda text: parse_email(check_text(text, MAX_LENGTHS["email"])), fields.email.strip()
        )
    if fields.phone and fields.phone.strip():
        phone = attempt(
            "phone",
            lambda text: parse_phone(check_text(text, MAX_LENGTHS["phone"], may_start_with_sign=True)),
            fields.phone.strip(),
        )
    if fields.language and fields.language.strip():
        language = attempt(
            "language",
            lambda text: parse_language(check_text(text, MAX_LENGTHS["language"])),
            fields.language.strip(),
        )
    if fields.due_date < fields.invoice_date:
        missing(
            "due_date",
            "due_before_invoice_date",
            f"due date {fields.due_date.isoformat()} is before the invoice date "
            f"{fields.invoice_date.isoformat()}; the due date must be on or after it",
        )
    currency = (
        attempt("currency", parse_currency, fields.currency.strip()) if fields.currency.strip() else None
    )
    if not fields.currency.strip():
        missing(
            "currency", "missing_currency", "the currency is empty; expected an ISO 4217 code such as EUR"
        )
    if fields.amount_total_minor <= 0:
        code, word = (
            ("zero_amount", "zero") if fields.amount_total_minor == 0 else ("negative_amount", "negative")
        )
        missing(
            "amount_total_minor",
            code,
            f"amount {fields.amount_total_minor} is {word}; expected an amount above zero, in minor units",
        )
    if fields.amount_paid_minor < 0:
        missing(
            "amount_paid_minor",
            "negative_amount",
            f"amount {fields.amount_paid_minor} is negative; expected zero or more, in minor units",
        )
    elif fields.amount_paid_minor > fields.amount_total_minor > 0:
        missing(
            "amount_paid_minor",
            "paid_exceeds_total",
            f"amount paid {fields.amount_paid_minor} is more than the invoice total "
            f"{fields.amount_total_minor}; an overpayment is not an open invoice",
        )
    if problems or currency is None:
        return problems
    return InvoiceRow(
        line,
        number,
        name,
        company_id,
        email,
        phone,
        fields.invoice_date,
        fields.due_date,
        Money(fields.amount_total_minor, currency),
        Money(fields.amount_paid_minor, currency),
        language,
    )


def _checked_siren(text: str) -> str:
    if len(text) > MAX_LENGTHS["siren"]:
        check_text(text, MAX_LENGTHS["siren"])
    return parse_siren(text)


# --- a debtor's balance and dunning state ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DunningState:
    """Where dunning stands for a debtor today: what holds it and when the engine looks again."""

    paused_until: date | None  # finance's pause, its last day included (None: not paused)
    next_action_on: date | None  # the earliest day the engine looks at one of the open invoices again
    last_step: str | None  # the last policy step taken on the most advanced open invoice
    disputed_invoices: tuple[str, ...]
    promised_until: date | None  # the latest date the debtor promised to pay by
    in_plan_invoices: tuple[str, ...]


def dunning_state(debtor: Debtor, open_invoices: Iterable[Invoice], today: date) -> DunningState:
    """The debtor's dunning state from their open invoices; a pause that ended is no pause."""
    invoices = [i for i in open_invoices if not i.is_settled()]
    planned = [i.next_action_on for i in invoices if i.next_action_on is not None]
    promised = [i.promised_on for i in invoices if i.promised_on is not None and i.promised_on >= today]
    stepped = sorted(
        (i for i in invoices if i.last_step_on is not None), key=lambda i: (i.last_step_on, i.number)
    )
    paused = debtor.dunning_paused_until
    return DunningState(
        paused_until=paused if paused is not None and today <= paused else None,
        next_action_on=min(planned) if planned else None,
        last_step=stepped[-1].last_step if stepped else None,
        disputed_invoices=tuple(sorted(i.number for i in invoices if i.disputed)),
        promised_until=max(promised) if promised else None,
        in_plan_invoices=tuple(sorted(i.number for i in invoices if i.in_plan)),
    )


def balances(open_invoices: Iterable[Invoice]) -> dict[str, Money]:
    """What is owed per currency."""
    return totals_by_currency([i.balance for i in open_invoices if not i.is_settled()])


# --- the event feed's cursor ------------------------------------------------------------------------------


def encode_cursor(seq: int) -> str:
    """An opaque cursor after the chain link `seq` (clients only pass it back)."""
    return base64.urlsafe_b64encode(f"{CURSOR_PREFIX}{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The chain sequence number a cursor stands after; 0 (the beginning) for none."""
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidCursor(
            "the cursor is not one this API gave out; pass back `next_cursor` as received"
        ) from exc
    digits = text[len(CURSOR_PREFIX) :]
    if not text.startswith(CURSOR_PREFIX) or not (digits.isascii() and digits.isdigit()) or len(digits) > 12:
        raise InvalidCursor("the cursor is not one this API gave out; pass back `next_cursor` as received")
    return int(digits)
