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


from relance.adapters import keys
from relance.adapters.dynamo import VersionConflict
from relance.domain.dunning import plan_next_action
from relance.domain.errors import RelanceError
from relance.domain.invoices import Invoice
from relance.domain.money import Money
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
    from werkzeug.utils import secure_filename  # here, not at import: the scheduled functions never load werkzeug

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


# --- finance resolves a dispute (back office) ------------------------------------------------------


class Resolution(StrEnum):
    ACCEPT = "accept"  # the debtor is right: the invoice is credited (part of its balance) or cancelled (all of it)
    REJECT = "reject"  # the debtor is wrong: dunning resumes on the invoice and the debtor is told why


class DisputeNotOpen(RelanceError):
    """The dispute was resolved meanwhile (another finance user came first) or never existed."""

    code = "dispute.not_open"


class ResolutionRefused(RelanceError):
    """The resolution form has problems; `problems` maps each field to the code of what is wrong with it."""

    code = "dispute.resolution_refused"

    def __init__(self, message: str, problems: dict[str, str]) -> None:
        super().__init__(message, problems=problems)
        self.problems = problems


@dataclass(frozen=True, slots=True)
class DisputeRejectedMail:
    """The mail telling the debtor their dispute was rejected, with finance's message."""

    creditor: Any
    debtor: Any
    recipients: tuple[str, ...]
    number: str
    message: str

    @property
    def language(self) -> str:
        return self.debtor.language


class DisputeMailer(Protocol):
    def send_dispute_rejected(self, mail: DisputeRejectedMail) -> str: ...


class ResolutionStore(Protocol):
    def find_invoice(self, creditor_id: str, debtor_id: str, number: str) -> Invoice | None: ...

    def find_dispute(self, creditor_id: str, debtor_id: str, number: str) -> dict[str, Any] | None: ...

    def open_tasks(self, creditor_id: str) -> list[dict[str, Any]]: ...

    def record_resolution(self, invoice: Invoice, number: str, resolved: dict[str, Any], audit: dict[str, Any],
                          task_key: str | None, now: datetime) -> None:
        """In one transaction; DisputeNotOpen or VersionConflict when another writer came first."""


def check_resolution(resolution: Resolution, message: str, credit_minor: int | None, invoice: Invoice) -> dict[str, str]:
    """Every problem of finance's resolution form, by field: {} when it can be recorded."""
    problems: dict[str, str] = {}
    if len(message) > MAX_MESSAGE_CHARS:
        problems["message"] = "too_long"
    elif resolution is Resolution.REJECT and not message.strip():
        problems["message"] = "required"  # the debtor must read why dunning resumes
    if resolution is Resolution.ACCEPT and credit_minor is not None:
        if credit_minor <= 0:
            problems["credit"] = "not_positive"
        elif credit_minor > invoice.balance.minor:
            problems["credit"] = "above_balance"
    return problems


def resolve_dispute(
    creditor_id: str, debtor_id: str, number: str, resolution: Resolution, actor: str, message: str,
    credit_minor: int | None, now: datetime, store: ResolutionStore, policy: DunningPolicy,
    closed: Container[date], mailer: DisputeMailer | None = None, account: Any | None = None,
) -> Invoice:
    """Resolve the open dispute of invoice `number`; returns the invoice as written.

    Accept: a credit note of `credit_minor` (None: the whole balance, i.e. the invoice is cancelled)
    reduces the balance; a settled invoice leaves dunning, a credited one resumes for the rest.
    Reject: the invoice goes back to the daily scan and the debtor gets `message` by e-mail
    (`account` gives the creditor and the debtor to write to).
    The dispute, the invoice, finance's task and the audit event are one conditional transaction:
    of two finance users resolving at once, the second gets DisputeNotOpen.
    """
    for _attempt in range(MAX_ATTEMPTS):
        invoice = store.find_invoice(creditor_id, debtor_id, number)
        dispute = store.find_dispute(creditor_id, debtor_id, number)
        if invoice is None or dispute is None or not _is_open(dispute):
            raise DisputeNotOpen(f"no open dispute on invoice {number!r}", number=number)
        problems = check_resolution(resolution, message, credit_minor, invoice)
        if problems:
            raise ResolutionRefused(f"the resolution form has problems: {sorted(problems)}", problems)
        credited = 0
        changed = replace(invoice, disputed=False)
        if resolution is Resolution.ACCEPT:
            credited = invoice.balance.minor if credit_minor is None else credit_minor
            # A credit note lowers what is owed; it is kept apart from payments in the audit and dispute records.
            changed = replace(changed, paid=invoice.paid + Money(credited, invoice.currency))
        changed = replace(changed, next_action_on=plan_next_action(changed, policy, closed))
        status = "accepted" if resolution is Resolution.ACCEPT else "rejected"
        resolved = {"status": status, "resolved_at": now.isoformat(), "resolved_by": actor,
                    "resolution_message": message.strip() or None,
                    "credit_minor": credited or None, "cancelled": resolution is Resolution.ACCEPT
                    and credited == invoice.balance.minor}
        audit = {"action": f"dispute_{status}", "actor": actor, "invoices": [number],
                 "dispute_id": dispute["dispute_id"], "credit_minor": credited or None,
                 "currency": invoice.currency, "cancelled": resolved["cancelled"] or None,
                 "before": {"balance_minor": invoice.balance.minor, "disputed": True},
                 "after": {"balance_minor": changed.balance.minor, "disputed": False}}
        task_key = next((t["SK"] for t in store.open_tasks(creditor_id)
                         if t.get("kind") == "dispute" and t.get("dispute_id") == dispute["dispute_id"]), None)
        try:
            store.record_resolution(changed, number, resolved, audit, task_key, now)
        except VersionConflict:
            continue
        if resolution is Resolution.REJECT and mailer is not None and account is not None:
            recipients = account.debtor.reachable_emails
            if recipients:
                mailer.send_dispute_rejected(DisputeRejectedMail(account.creditor, account.debtor, recipients,
                                                                 number, message.strip()))
        return changed
    raise VersionConflict(f"invoice {number} kept changing while the dispute was resolved")
