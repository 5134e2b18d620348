"""A debtor disputes an invoice from the portal: dunning pauses for that invoice, finance is told.

One open dispute per invoice: the dispute is keyed on the invoice, so the same form posted twice
(a double click) opens one dispute and the second post learns it is already under review.
"""

from __future__ import annotations

import uuid
from collections.abc import Container
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Protocol

from werkzeug.utils import secure_filename

from relance.adapters import keys
from relance.adapters.dynamo import VersionConflict
from relance.domain.dunning import plan_next_action
from relance.domain.errors import RelanceError
from relance.domain.invoices import Invoice
from relance.domain.policy import DunningPolicy

MAX_MESSAGE_CHARS = 2_000
MAX_ATTACHMENT_BYTES = 4 * 1024 * 1024  # API Gateway and Lambda take about 6 MB of base64 per request
MAX_ATTEMPTS = 3  # reads and writes again when the invoice changed meanwhile (a payment, an import)

# What an attachment really is, from its first bytes; its name and the browser's Content-Type are not trusted.
_MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
)


class DisputeReason(StrEnum):
    NOT_RECEIVED = "not_received"  # goods or service not received
    WRONG_AMOUNT = "wrong_amount"
    QUALITY = "quality"
    ALREADY_PAID = "already_paid"
    OTHER = "other"  # the message then says what is wrong


class DisputeOutcome(StrEnum):
    OPENED = "opened"
    ALREADY_OPEN = "already_open"  # an earlier post (or another tab) opened it: finance is already looking


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file the debtor joined to the dispute, as received."""

    filename: str
    body: bytes


@dataclass(frozen=True, slots=True)
class DisputeRequest:
    """What the dispute form says, before any check."""

    number: str
    reason: str
    message: str
    attachment: Attachment | None = None


class InvoiceNotFound(RelanceError):
    """No such invoice for this debtor (another debtor's invoice is "not found" too)."""

    code = "invoice.not_found"


class DisputeRefused(RelanceError):
    """The form has problems; `problems` maps each field to the code of what is wrong with it."""

    code = "dispute.refused"

    def __init__(self, message: str, problems: dict[str, str]) -> None:
        super().__init__(message, problems=problems)
        self.problems = problems


class DisputeAlreadyOpen(RelanceError):
    code = "dispute.already_open"


class DisputeStore(Protocol):
    def find_invoice(self, creditor_id: str, debtor_id: str, number: str) -> Invoice | None: ...

    def find_dispute(self, creditor_id: str, debtor_id: str, number: str) -> dict[str, Any] | None: ...

    def record_dispute(self, invoice: Invoice, dispute: dict[str, Any], audit: dict[str, Any],
                       task: dict[str, Any], now: datetime) -> None:
        """In one transaction; DisputeAlreadyOpen or VersionConflict when another writer came first."""


class DocumentStore(Protocol):
    def put(self, key: str, body: bytes, content_type: str) -> str: ...


def attachment_type(body: bytes) -> tuple[str, str] | None:
    """(content type, extension) of a PDF, JPEG or PNG file read from its magic bytes; None for anything else."""
    for magic, content_type, extension in _MAGIC:
        if body.startswith(magic):
            return content_type, extension
    return None


def check_dispute(request: DisputeRequest) -> dict[str, str]:
    """Every problem of the form at once, by field: {} when it can be recorded."""
    problems: dict[str, str] = {}
    if request.reason not in set(DisputeReason):
        problems["reason"] = "missing"
    message = request.message.strip()
    if len(message) > MAX_MESSAGE_CHARS:
        problems["message"] = "too_long"
    elif request.reason == DisputeReason.OTHER and not message:
        problems["message"] = "required"
    if request.attachment is not None:
        if len(request.attachment.body) > MAX_ATTACHMENT_BYTES:
            problems["attachment"] = "too_large"
        elif attachment_type(request.attachment.body) is None:
            problems["attachment"] = "type"
    return problems


def safe_attachment_name(filename: str, extension: str) -> str:
    """A file name safe in a key and a download header, with the extension its bytes call for."""
    stem = secure_filename(filename).rsplit(".", 1)[0][:80] or "attachment"
    return f"{stem}.{extension}"


def open_dispute(
    creditor_id: str, debtor_id: str, request: DisputeRequest, today: date, now: datetime,
    store: DisputeStore, documents: DocumentStore, policy: DunningPolicy, closed: Container[date],
) -> DisputeOutcome:
    """Open the debtor's dispute on one invoice: the invoice leaves the daily scan, finance gets a task.

    Raises InvoiceNotFound for an invoice that is not the debtor's and DisputeRefused for a bad form.
    The attachment is stored first, under a fresh dispute id; the transaction then records the
    disputed invoice, the dispute, the audit event and finance's task together.
    """
    invoice = store.find_invoice(creditor_id, debtor_id, request.number)
    if invoice is None:
        raise InvoiceNotFound(f"no invoice {request.number!r} for this debtor", number=request.number)
    problems = check_dispute(request)
    if problems:
        raise DisputeRefused(f"the dispute form has problems: {sorted(problems)}", problems)
    if _is_open(store.find_dispute(creditor_id, debtor_id, request.number)) or invoice.disputed:
        return DisputeOutcome.ALREADY_OPEN
    dispute_id = uuid.uuid4().hex
    attachment_key = None
    if request.attachment is not None:
        content_type, extension = attachment_type(request.attachment.body) or ("application/octet-stream", "bin")
        name = safe_attachment_name(request.attachment.filename, extension)
        attachment_key = documents.put(keys.dispute_document_key(creditor_id, debtor_id, dispute_id, name),
                                       request.attachment.body, content_type)
    dispute = {
        "dispute_id": dispute_id, "number": request.number, "status": "open", "reason": request.reason,
        "message": request.message.strip() or None, "attachment_key": attachment_key,
        "opened_at": now.isoformat(), "opened_by": "debtor",
    }
    audit = {"action": "dispute_opened", "actor": "debtor", "invoices": [request.number],
             "dispute_id": dispute_id, "reason": request.reason}
    task = {"creditor_id": creditor_id, "debtor_id": debtor_id, "due_on": today.isoformat(), "kind": "dispute",
            "dispute_id": dispute_id, "invoices": [request.number], "reason": request.reason}
    for _attempt in range(MAX_ATTEMPTS):
        disputed = replace(invoice, disputed=True)
        disputed = replace(disputed, next_action_on=plan_next_action(disputed, policy, closed))
        try:
            store.record_dispute(disputed, dispute, audit, task, now)
        except DisputeAlreadyOpen:
            return DisputeOutcome.ALREADY_OPEN
        except VersionConflict:
            invoice = store.find_invoice(creditor_id, debtor_id, request.number)
            if invoice is None:
                raise InvoiceNotFound(f"invoice {request.number!r} is gone", number=request.number) from None
            continue
        return DisputeOutcome.OPENED
    raise VersionConflict(f"invoice {request.number} kept changing while the dispute was recorded")


def _is_open(dispute: dict[str, Any] | None) -> bool:
    return dispute is not None and dispute.get("status") == "open"
