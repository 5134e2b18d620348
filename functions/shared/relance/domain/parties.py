"""Creditors (who is owed) and debtors (who owes)."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum


class PartyKind(StrEnum):
    BUSINESS = "business"
    CONSUMER = "consumer"


@dataclass(frozen=True, slots=True)
class Creditor:
    """The business that is owed money, and how it wants its debtors treated."""

    creditor_id: str
    legal_name: str
    siren: str | None = None
    timezone: str = "Europe/Paris"
    country: str = "FR"
    subdivision: str | None = None  # e.g. "57" for Moselle: adds Good Friday and 26 December
    language: str = "fr"
    policy_id: str = "fr-b2b"
    contact_email: str | None = None
    contact_phone: str | None = None
    address: str | None = None
    finance_emails: tuple[str, ...] = ()  # who receives the daily alerts digest; empty: none
    vat_id: str | None = None  # intra-community VAT number; e-invoices name their seller by it or the SIREN


@dataclass(frozen=True, slots=True)
class Debtor:
    """A customer of the creditor with open or past invoices."""

    creditor_id: str
    debtor_id: str
    name: str
    kind: PartyKind = PartyKind.BUSINESS
    company_id: str | None = None  # SIREN for a French company
    emails: tuple[str, ...] = field(default_factory=tuple)
    phone: str | None = None
    language: str = "fr"
    link_version: int = 1  # raised by finance to revoke every portal link already sent
    address: str | None = None  # postal address, for letters and the formal notice
    undeliverable: tuple[str, ...] = ()  # addresses SES reported as bounced or complained about
    risk_band: str | None = None  # "low" | "medium" | "high" once scored
    dunning_paused_until: date | None = None  # finance paused dunning up to and including this day

    @property
    def reachable_emails(self) -> tuple[str, ...]:
        """The addresses mail can still go to."""
        return tuple(e for e in self.emails if e.lower() not in {u.lower() for u in self.undeliverable})

    def with_contact(self, *, name: str, emails: tuple[str, ...], phone: str | None) -> Debtor:
        """The same debtor with the contact details of a newer import."""
        return replace(self, name=name, emails=emails, phone=phone)


_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def debtor_id_for(company_id: str | None, name: str) -> str:
    """A stable id: the company id when known, else a slug of the name with a short hash.

    The same customer keyed the same way in every export gives the same id, so re-imports
    update rather than duplicate.
    """
    if company_id:
        return f"siren-{company_id}"
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    slug = _NON_ALNUM.sub("-", folded).strip("-")[:40] or "debtor"
    digest = hashlib.sha256(" ".join(name.casefold().split()).encode()).hexdigest()[:8]
    return f"name-{slug}-{digest}"


def language_for(company_id: str | None, email: str | None, default: str = "fr") -> str:
    """The language a debtor most likely reads: French for a SIREN or a .fr address, else English."""
    if company_id:
        return "fr"
    if email and email.lower().endswith(".fr"):
        return "fr"
    if email:
        return "en"
    return default
