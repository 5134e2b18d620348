"""GDPR for a debtor: which stored values are personal, the pseudonym that replaces them, when a settled
debtor's data may be erased, and why an erasure is refused. Pure: items, keys and `today` come in.

Guide: docs/guide/gdpr.md. The audit chain side (a redaction keeps the chain verifiable):
domain/audit_chain.py and docs/architecture/audit.md.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from relance.domain.audit_chain import REDACTION
from relance.domain.errors import RelanceError
from relance.domain.invoices import Invoice

# Attributes whose whole value is about the person, wherever they appear in the debtor's items:
# identity and contact details, what the debtor wrote, what finance noted about them, and payment
# references (a bank transfer's label usually carries the payer's name).
PERSONAL_FIELDS = frozenset({
    "name", "debtor_name", "contact_name", "buyer_name", "company_id", "siren", "vat_id",
    "emails", "email", "address", "recipients", "undeliverable", "cleared", "phone",
    "message", "note", "attachment_key", "attachment_name", "file_name", "filename",
    "reference", "payer", "ip", "ip_address", "user_agent",
})
# Attributes never rewritten: keys, ids, dates, amounts and codes carry no personal value (debtor ids
# are the creditor's own account codes; see docs/guide/gdpr.md for ids derived from a name).
KEPT_FIELDS = frozenset({"PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "entity", "currency", "number",
                         "status", "state", "kind", "action", "step", "channel", "version", "invoices"})
_KEPT_SUFFIXES = ("_id", "_ids", "_on", "_at", "_minor", "_epoch", "_keys", "_sha256", "_digest")
MIN_VALUE_CHARS = 4  # shorter values ("fr", "M.") are not searched for inside other texts

PSEUDONYM_LABEL = b"relance-gdpr-pseudonym-v1"


def pseudonym(secret: bytes, creditor_id: str, debtor_id: str) -> str:
    """The debtor's stable pseudonym: 16 hex of HMAC-SHA256(secret, creditor and debtor ids).

    Keyed, so nobody without the secret can go from a known debtor id to the pseudonym; stable, so
    every redacted event of the debtor carries the same one and can still be read together.
    """
    key = hmac.new(secret, PSEUDONYM_LABEL, hashlib.sha256).digest()
    return hmac.new(key, f"{creditor_id}\n{debtor_id}".encode(), hashlib.sha256).hexdigest()[:16]


def erased_token(pseudonym_: str) -> str:
    """What replaces a personal value: `[erased <pseudonym>]` (matches audit_chain.REDACTION)."""
    token = f"[erased {pseudonym_}]"
    assert REDACTION.fullmatch(token), token
    return token


def _is_kept(name: str) -> bool:
    """Never rewritten; a personal name wins over a kept suffix (`company_id`, `vat_id` are personal)."""
    return name not in PERSONAL_FIELDS and (name in KEPT_FIELDS or name.endswith(_KEPT_SUFFIXES))


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for inner in value.values():
            yield from _strings(inner)
    elif isinstance(value, list | tuple | set | frozenset):
        for inner in value:
            yield from _strings(inner)


def _personal_texts(item: Mapping[str, Any]) -> Iterable[str]:
    """The texts under PERSONAL_FIELDS names, at any depth (e.g. an audit event's `before.emails`)."""
    for name, value in item.items():
        if _is_kept(name):
            continue
        if name in PERSONAL_FIELDS:
            yield from _strings(value)
        elif isinstance(value, Mapping):
            yield from _personal_texts(value)
        elif isinstance(value, list | tuple):
            for inner in value:
                if isinstance(inner, Mapping):
                    yield from _personal_texts(inner)


def personal_values(items: Iterable[Mapping[str, Any]]) -> frozenset[str]:
    """Every personal text stored in `items` (under PERSONAL_FIELDS names, at any depth), tokens left out."""
    found: set[str] = set()
    for item in items:
        for text in _personal_texts(item):
            text = text.strip()
            if len(text) >= MIN_VALUE_CHARS and not REDACTION.search(text):
                found.add(text)
    return frozenset(found)


def _matcher(values: Iterable[str]) -> re.Pattern[str] | None:
    ordered = sorted(set(values), key=lambda v: (-len(v), v))  # the longest first: "a@b.fr" before "b.fr"
    return re.compile("|".join(re.escape(v) for v in ordered), re.IGNORECASE) if ordered else None


def personal_content(item: Mapping[str, Any], values: Iterable[str]) -> dict[str, Any]:
    """The attributes of `item` that hold personal data: PERSONAL_FIELDS, and any text containing a personal value."""
    matcher = _matcher(values)
    found: dict[str, Any] = {}
    for name, value in item.items():
        if value is None or _is_kept(name):
            continue
        if name in PERSONAL_FIELDS:
            texts = [text for text in _strings(value) if text.strip() and not REDACTION.fullmatch(text)]
        else:
            texts = list(_personal_texts({name: value})) + [
                text for text in _strings(value) if matcher is not None and matcher.search(text)]
        if any(text.strip() and not REDACTION.fullmatch(text) for text in texts):
            found[name] = value
    return found


def mentions(item: Mapping[str, Any], values: Iterable[str]) -> bool:
    """Whether any text of `item` (outside keys, ids, dates and amounts) contains one of the personal `values`:
    how an item that does not name the debtor by id (a bank credit's payer or label) is found to be about them."""
    matcher = _matcher(values)
    return matcher is not None and any(
        matcher.search(text) for name, value in item.items() if value is not None and not _is_kept(name)
        for text in _strings(value))


def redact(item: Mapping[str, Any], values: Iterable[str], token: str) -> dict[str, Any]:
    """`item` with every personal text replaced by `token`: whole PERSONAL_FIELDS values, and each
    personal value found inside other texts. Numbers, dates, keys and ids are left as they are."""
    matcher = _matcher(values)

    def whole(value: Any) -> Any:
        if isinstance(value, str):
            return value if not value.strip() or REDACTION.fullmatch(value) else token
        return _map_strings(value, whole)

    def inside(value: Any) -> Any:
        if isinstance(value, str):
            return matcher.sub(token, value) if matcher is not None else value
        if isinstance(value, Mapping):
            return {key: inner if inner is None or _is_kept(key) else whole(inner) if key in PERSONAL_FIELDS
                    else inside(inner) for key, inner in value.items()}
        return _map_strings(value, inside)

    return {name: value if value is None or _is_kept(name) else whole(value) if name in PERSONAL_FIELDS
            else inside(value) for name, value in item.items()}


def _map_strings(value: Any, change: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: change(inner) for key, inner in value.items()}
    if isinstance(value, list | tuple):
        return [change(inner) for inner in value]
    if isinstance(value, set | frozenset):
        return {change(inner) for inner in value}
    return value  # numbers, booleans, bytes: never personal text


def id_reveals_identity(debtor_id: str) -> bool:
    """True for ids the import derived from a SIREN or a name (parties.debtor_id_for): erasure keeps ids,
    since they are in every key and in the audit chain, so such an id keeps that SIREN or name."""
    return debtor_id.startswith(("siren-", "name-"))


# --- retention ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetentionRule:
    """Personal data of a settled debtor is kept `years` after the account's last activity (per jurisdiction)."""

    jurisdiction: str
    years: int

    def erasable_on(self, last_activity_on: date) -> date:
        """The first day the data may go: the same calendar day `years` later (29 February: 28 February)."""
        try:
            return last_activity_on.replace(year=last_activity_on.year + self.years)
        except ValueError:
            return last_activity_on.replace(year=last_activity_on.year + self.years, day=28)

    def is_due(self, last_activity_on: date, today: date) -> bool:
        return today >= self.erasable_on(last_activity_on)


class UnknownRetention(RelanceError):
    code = "gdpr.unknown_retention"


def retention_rule(country: str, years_by_jurisdiction: Mapping[str, int]) -> RetentionRule:
    """The rule for a creditor in `country`: its own entry, else the `EU` one; refused when neither exists."""
    for code in (country.upper(), "EU"):
        if code in years_by_jurisdiction:
            return RetentionRule(code, int(years_by_jurisdiction[code]))
    raise UnknownRetention(f"no retention_years for {country!r} nor for 'EU' in jurisdictions.yaml", country=country)


# --- refusals -------------------------------------------------------------------------------------


class Refusal(StrEnum):
    OPEN_INVOICE = "open_invoice"  # money is still owed: the data is needed to collect it
    RUNNING_PLAN = "running_plan"  # an installment plan is accepted or active
    OPEN_DISPUTE = "open_dispute"  # the debtor's dispute awaits finance's answer
    CREDIT_TO_REFUND = "credit_to_refund"  # the creditor holds the debtor's money and must be able to refund it
    PAYMENT_IN_PROGRESS = "payment_in_progress"  # a SEPA debit the bank has not confirmed: it may still fail
    UNMATCHED_PAYMENT = "unmatched_payment"  # a bank credit naming the debtor waits in finance's queue


RUNNING_PLAN_STATES = frozenset({"proposed", "countered", "accepted", "active"})


@dataclass(frozen=True, slots=True)
class RefusalReason:
    reason: Refusal
    refs: tuple[str, ...]  # invoice numbers, plan ids or currencies: never personal data

    def __str__(self) -> str:
        return f"{self.reason.value} ({', '.join(self.refs)})"


class ErasureRefused(RelanceError):
    """The debtor still has a debt or a pending matter; `reasons` names each one."""

    code = "gdpr.erasure_refused"

    def __init__(self, reasons: Sequence[RefusalReason]) -> None:
        super().__init__("erasure refused while a debt or a matter is open: " + "; ".join(map(str, reasons)),
                         reasons=[r.reason.value for r in reasons])
        self.reasons = tuple(reasons)


def erasure_refusals(invoices: Sequence[Invoice], plans: Sequence[Mapping[str, Any]],
                     disputes: Sequence[Mapping[str, Any]], credit_minor: Mapping[str, int],
                     payments: Sequence[Mapping[str, Any]] = (),
                     unmatched: Sequence[Mapping[str, Any]] = ()) -> tuple[RefusalReason, ...]:
    """Why the debtor's personal data cannot be erased now; empty when it can.

    Art. 17(3)(e) GDPR: data needed to establish or defend a legal claim is not erased on request;
    an open invoice, a plan under way or an unanswered dispute is such a claim.
    """
    reasons: list[RefusalReason] = []
    open_numbers = tuple(sorted(i.number for i in invoices if i.balance.is_positive()))
    if open_numbers:
        reasons.append(RefusalReason(Refusal.OPEN_INVOICE, open_numbers))
    running = tuple(sorted(str(p.get("plan_id")) for p in plans if p.get("state") in RUNNING_PLAN_STATES))
    if running:
        reasons.append(RefusalReason(Refusal.RUNNING_PLAN, running))
    disputed = tuple(sorted(str(d.get("number")) for d in disputes if d.get("status") == "open"))
    if disputed:
        reasons.append(RefusalReason(Refusal.OPEN_DISPUTE, disputed))
    credits = tuple(sorted(currency for currency, minor in credit_minor.items() if int(minor) > 0))
    if credits:
        reasons.append(RefusalReason(Refusal.CREDIT_TO_REFUND, credits))
    pending = tuple(sorted(str(p.get("payment_id")) for p in payments if p.get("status") == "processing"))
    if pending:
        reasons.append(RefusalReason(Refusal.PAYMENT_IN_PROGRESS, pending))
    # The payer's name or label is how finance will recognise the money: erasing it would strand the credit.
    queued = tuple(sorted(str(u.get("line_id")) for u in unmatched))
    if queued:
        reasons.append(RefusalReason(Refusal.UNMATCHED_PAYMENT, queued))
    return tuple(reasons)


def json_safe(value: Any) -> Any:
    """A stored value as plain JSON (DynamoDB numbers as int or exact string, sets as sorted lists)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((json_safe(v) for v in value), key=str)
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    return value
