"""Import a bank's export of payments received, and finance's queue of the payments no invoice matched.

Each credit line is decided once, whatever happens afterwards (docs/architecture/access-patterns.md BP1-BP3):
- its id comes from what the bank says about it (relance.domain.bank_payments.line_ids), so the same
  file imported twice, or a later export of an overlapping period, names the same line;
- the first import claims the line with a conditional put of its decision (which debtor and invoices,
  or "unmatched"). A matched line is then recorded through `record_manual_payment`, the settlement path
  of Stripe and of finance's "mark paid", with the line id as its nonce: a second import, or a retry
  after a crash between the claim and the payment, finds the decision and records nothing twice;
- an unmatched line's decision and its entry in finance's queue are written in one transaction.
Finance then assigns a queued payment to a debtor (the same `record_manual_payment`, same nonce) or
dismisses it with a reason; either takes the entry out of the queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from relance.domain.bank_payments import (
    BankLineError,
    BankMatch,
    BankPayment,
    DebtorAccount,
    MatchKind,
    UnmatchedReason,
    line_ids,
    match_payments,
    parse_bank_payments,
)
from relance.domain.errors import RelanceError, UnknownDebtor
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.parties import Creditor, Debtor
from relance.services.payments import (
    MAX_REFERENCE_CHARS,
    ManualPayment,
    ManualPaymentRefused,
    Outcome,
    PaymentPorts,
    manual_payment_id,
    record_manual_payment,
)

METHOD = "bank_transfer"
MAX_DISMISS_REASON_CHARS = 500


class LineStatus(StrEnum):
    MATCHED = "matched"  # the import found its debtor: recorded as a payment
    UNMATCHED = "unmatched"  # waiting in finance's queue
    ASSIGNED = "assigned"  # finance chose the debtor: recorded as a payment
    DISMISSED = "dismissed"  # finance said it is not a debtor's payment (a refund, a grant…), with a reason


@dataclass(frozen=True, slots=True)
class LineDecision:
    """What was decided about one bank line, once: kept so that importing it again changes nothing."""

    creditor_id: str
    line_id: str
    status: LineStatus
    received_on: date
    amount: Money
    debtor_id: str | None = None
    numbers: tuple[str, ...] = ()
    reason: str | None = None  # UnmatchedReason for a queued line, finance's words for a dismissed one
    actor: str | None = None
    kind: str | None = None  # the MatchKind the import found (exact, partial, overpaid, unmatched)


@dataclass(frozen=True, slots=True)
class UnmatchedPayment:
    """A credit on the creditor's account that no invoice matched: an entry of finance's queue."""

    creditor_id: str
    line_id: str
    received_on: date
    amount: Money
    reference: str
    payer: str
    reason: UnmatchedReason
    imported_at: datetime
    source: str = ""  # the file's name and line, to find it in the bank's export
    assigning_to: str | None = None  # a finance user is recording it for this debtor right now
    candidates: tuple[str, ...] = ()  # debtor ids the reference or the payer's name pointed to, at import

    @property
    def entry_key(self) -> str:
        """The entry's id in the queue: oldest payment first."""
        return f"{self.received_on.isoformat()}#{self.line_id}"


class BankLineStore(Protocol):
    def get_creditor(self, creditor_id: str) -> Creditor | None: ...

    def open_accounts(self, creditor_id: str) -> list[tuple[Debtor, list[Invoice]]]: ...

    def line_decisions(self, creditor_id: str, line_ids: Sequence[str]) -> dict[str, LineDecision]: ...

    def claim_line(self, decision: LineDecision, now: datetime) -> LineDecision | None:
        """Store the decision unless the line has one; None when stored, else the decision found."""

    def queue_line(self, decision: LineDecision, entry: UnmatchedPayment, now: datetime, *,
                   replacing: bool = False) -> bool:
        """The decision (new, or with `replacing` in place of a MATCHED one whose payment was refused) and the
        queue entry, in one transaction; False when the line was decided otherwise meanwhile."""

    def unmatched(self, creditor_id: str) -> list[UnmatchedPayment]: ...

    def get_unmatched(self, creditor_id: str, entry_key: str) -> UnmatchedPayment | None: ...

    def claim_unmatched(self, entry: UnmatchedPayment, debtor_id: str) -> bool:
        """Mark the entry as being assigned to `debtor_id`; False when it left the queue or is being
        assigned to another debtor."""

    def release_unmatched(self, entry: UnmatchedPayment) -> None: ...

    def close_unmatched(self, entry: UnmatchedPayment, decision: LineDecision, now: datetime) -> bool:
        """Delete the entry and store the line's final decision; False when the entry had left the queue."""


@dataclass(frozen=True)
class BankImportPorts:
    """What importing bank payments needs: the lines' store and the payments' settlement path."""

    store: BankLineStore
    payments: PaymentPorts


@dataclass(frozen=True, slots=True)
class LineResult:
    """What became of one payment line."""

    line: int
    line_id: str
    amount: Money
    kind: MatchKind
    debtor_id: str | None = None
    numbers: tuple[str, ...] = ()
    by: str | None = None
    credit: Money | None = None  # an overpayment's excess, kept as the debtor's credit
    reason: UnmatchedReason | None = None
    already_imported: bool = False


@dataclass
class BankImportReport:
    """The import's outcome line by line, and its counts."""

    lines: list[LineResult] = field(default_factory=list)
    errors: tuple[BankLineError, ...] = ()
    skipped: tuple[tuple[int, str], ...] = ()
    dry_run: bool = False

    def count(self, kind: MatchKind) -> int:
        return sum(1 for r in self.lines if r.kind is kind and not r.already_imported)

    @property
    def already_imported(self) -> int:
        return sum(1 for r in self.lines if r.already_imported)

    def to_json(self) -> dict[str, Any]:
        """The report for `--json`: ids, amounts and outcomes; no payer names or references."""
        return {
            "dry_run": self.dry_run,
            "payments": len(self.lines),
            "matched": self.count(MatchKind.EXACT),
            "partial": self.count(MatchKind.PARTIAL),
            "overpaid": self.count(MatchKind.OVERPAID),
            "unmatched": self.count(MatchKind.UNMATCHED),
            "already_imported": self.already_imported,
            "errors": [{"line": e.line, "field": e.field, "code": e.code, "message": e.message} for e in self.errors],
            "skipped": [{"line": line, "reason": reason} for line, reason in self.skipped],
            "lines": [{"line": r.line, "outcome": r.kind.value, "currency": r.amount.currency,
                       "amount_minor": r.amount.minor, "debtor_id": r.debtor_id, "invoices": list(r.numbers),
                       "matched_by": r.by, "credit_minor": r.credit.minor if r.credit else None,
                       "reason": r.reason.value if r.reason else None, "already_imported": r.already_imported}
                      for r in self.lines],
        }


class CreditorNotFound(RelanceError):
    code = "bank_payments.unknown_creditor"


def creditor_today(creditor: Creditor, now: datetime) -> date:
    """The creditor's business date at `now`."""
    return now.astimezone(ZoneInfo(creditor.timezone)).date()


def import_bank_payments(creditor_id: str, data: bytes, actor: str, now: datetime, ports: BankImportPorts, *,
                         name: str = "", dry_run: bool = False) -> BankImportReport:
    """Read a bank export, record each matched payment once and queue the unmatched ones for finance.

    With `dry_run`, reads and matches but writes nothing. Raises InvalidImportFile when the file cannot be
    read at all, CreditorNotFound for an unknown creditor.
    """
    creditor = ports.store.get_creditor(creditor_id)
    if creditor is None:
        raise CreditorNotFound(f"no creditor {creditor_id!r}; create it with `relance creditor add`",
                               creditor_id=creditor_id)
    parsed = parse_bank_payments(data, creditor_today(creditor, now))
    report = BankImportReport(errors=parsed.errors, skipped=parsed.skipped, dry_run=dry_run)
    ids = line_ids(creditor_id, parsed.payments)
    decided = ports.store.line_decisions(creditor_id, ids)
    fresh = [(p, i) for p, i in zip(parsed.payments, ids, strict=True) if i not in decided]
    accounts = [DebtorAccount(d.debtor_id, d.name, tuple(invoices))
                for d, invoices in ports.store.open_accounts(creditor_id)]
    matches = dict(zip((i for _p, i in fresh), match_payments([p for p, _i in fresh], accounts), strict=True))
    for payment, line_id in zip(parsed.payments, ids, strict=True):
        source = f"{name}:{payment.line}" if name else f"line {payment.line}"
        if line_id in decided:
            report.lines.append(_again(decided[line_id], payment, actor, now, ports, dry_run, source))
        elif dry_run:
            report.lines.append(_result(matches[line_id], line_id))
        else:
            report.lines.append(_apply(creditor_id, matches[line_id], line_id, actor, now, ports, source))
    return report


def _result(match: BankMatch, line_id: str, *, already: bool = False) -> LineResult:
    credit = match.allocation.unallocated if match.allocation and match.allocation.unallocated.is_positive() else None
    return LineResult(match.payment.line, line_id, match.payment.amount, match.kind, match.debtor_id, match.numbers,
                      match.by, credit, match.reason, already)


def _manual(payment: BankPayment, numbers: tuple[str, ...], line_id: str) -> ManualPayment:
    return ManualPayment(payment.amount, payment.received_on, METHOD, payment.reference[:MAX_REFERENCE_CHARS],
                         numbers, nonce=line_id)


def _apply(creditor_id: str, match: BankMatch, line_id: str, actor: str, now: datetime, ports: BankImportPorts,
           source: str) -> LineResult:
    payment = match.payment
    if match.debtor_id is None:
        return _queue(creditor_id, match, line_id, match.reason or UnmatchedReason.NO_MATCH, now, ports, source)
    decision = LineDecision(creditor_id, line_id, LineStatus.MATCHED, payment.received_on, payment.amount,
                            match.debtor_id, match.numbers, actor=actor, kind=match.kind.value)
    existing = ports.store.claim_line(decision, now)
    if existing is not None:  # another import decided this line meanwhile
        return _again(existing, payment, actor, now, ports, False, source)
    try:
        record_manual_payment(creditor_id, match.debtor_id, _manual(payment, match.numbers, line_id), actor, now,
                              ports.payments)
    except (ManualPaymentRefused, UnknownDebtor):
        # The invoices moved since they were read (paid, written off): finance decides instead.
        return _queue(creditor_id, match, line_id, UnmatchedReason.REFUSED, now, ports, source, replacing=True)
    return _result(match, line_id)


def _queue(creditor_id: str, match: BankMatch, line_id: str, reason: UnmatchedReason, now: datetime,
           ports: BankImportPorts, source: str, *, replacing: bool = False) -> LineResult:
    payment = match.payment
    decision = LineDecision(creditor_id, line_id, LineStatus.UNMATCHED, payment.received_on, payment.amount,
                            reason=reason.value, kind=MatchKind.UNMATCHED.value)
    entry = UnmatchedPayment(creditor_id, line_id, payment.received_on, payment.amount, payment.reference,
                             payment.payer, reason, now, source, candidates=match.candidates)
    stored = ports.store.queue_line(decision, entry, now, replacing=replacing)
    return LineResult(payment.line, line_id, payment.amount, MatchKind.UNMATCHED, reason=reason,
                      already_imported=not stored and not replacing)


def _again(decision: LineDecision, payment: BankPayment, actor: str, now: datetime, ports: BankImportPorts,
           dry_run: bool, source: str) -> LineResult:
    """A line decided by an earlier import: finish recording its payment if a crash stopped it, nothing else."""
    if decision.status is LineStatus.MATCHED and decision.debtor_id and not dry_run \
            and ports.payments.store.get_payment(
                manual_payment_id(decision.creditor_id, decision.debtor_id, decision.line_id)) is None:
        # The payment item is kept for good (the event record only 90 days): without it, the import that
        # claimed the line stopped before recording the payment.
        try:
            record_manual_payment(decision.creditor_id, decision.debtor_id,
                                  _manual(payment, decision.numbers, decision.line_id), actor, now, ports.payments)
        except (ManualPaymentRefused, UnknownDebtor):
            return _queue(decision.creditor_id, BankMatch(payment, MatchKind.UNMATCHED), decision.line_id,
                          UnmatchedReason.REFUSED, now, ports, source, replacing=True)
    kind = MatchKind(decision.kind) if decision.kind in set(MatchKind) else MatchKind.EXACT
    if decision.status is not LineStatus.MATCHED:  # it went to finance's queue first
        kind = MatchKind.UNMATCHED
    reason = UnmatchedReason(decision.reason) if decision.status is LineStatus.UNMATCHED and decision.reason \
        in set(UnmatchedReason) else None
    return LineResult(payment.line, decision.line_id, payment.amount, kind, decision.debtor_id, decision.numbers,
                      reason=reason, already_imported=True)


# --- finance's queue ------------------------------------------------------------------------------


class EntryNotQueued(RelanceError):
    """The payment left the queue (assigned or dismissed by someone else) or is being assigned elsewhere."""

    code = "bank_payments.not_queued"


class DismissRefused(RelanceError):
    """The dismissal has no reason, or too long a one; `problem` is "required" or "too_long"."""

    code = "bank_payments.dismiss_refused"

    def __init__(self, message: str, problem: str) -> None:
        super().__init__(message, problem=problem)
        self.problem = problem


def assign_unmatched(creditor_id: str, entry_key: str, debtor_id: str, numbers: tuple[str, ...], actor: str,
                     now: datetime, ports: BankImportPorts) -> Outcome:
    """Record a queued payment as `debtor_id`'s (paying `numbers`, or their oldest invoices) and take it out
    of the queue. Raises EntryNotQueued, ManualPaymentRefused or UnknownDebtor; the entry stays queued then.
    """
    entry = ports.store.get_unmatched(creditor_id, entry_key)
    if entry is None or not ports.store.claim_unmatched(entry, debtor_id):
        raise EntryNotQueued(f"payment {entry_key!r} is not waiting in the queue", entry_key=entry_key)
    payment = BankPayment(0, entry.received_on, entry.amount, entry.reference or entry.payer, entry.payer)
    try:
        outcome = record_manual_payment(creditor_id, debtor_id, _manual(payment, numbers, entry.line_id), actor, now,
                                        ports.payments)
    except (ManualPaymentRefused, UnknownDebtor):
        ports.store.release_unmatched(entry)
        raise
    ports.store.close_unmatched(entry, LineDecision(creditor_id, entry.line_id, LineStatus.ASSIGNED, entry.received_on,
                                                    entry.amount, debtor_id, numbers, actor=actor), now)
    return outcome


def dismiss_unmatched(creditor_id: str, entry_key: str, reason: str, actor: str, now: datetime,
                      ports: BankImportPorts) -> None:
    """Take a queued payment out of the queue without recording it (not a debtor's payment), with the reason."""
    reason = reason.strip()
    if not reason:
        raise DismissRefused("say why the payment is dismissed", "required")
    if len(reason) > MAX_DISMISS_REASON_CHARS:
        raise DismissRefused(f"the reason has {len(reason)} characters; at most {MAX_DISMISS_REASON_CHARS}",
                             "too_long")
    entry = ports.store.get_unmatched(creditor_id, entry_key)
    if entry is None or entry.assigning_to is not None:
        raise EntryNotQueued(f"payment {entry_key!r} is not waiting in the queue", entry_key=entry_key)
    decision = LineDecision(creditor_id, entry.line_id, LineStatus.DISMISSED, entry.received_on, entry.amount,
                            reason=reason, actor=actor)
    if not ports.store.close_unmatched(entry, decision, now):
        raise EntryNotQueued(f"payment {entry_key!r} is not waiting in the queue", entry_key=entry_key)
