"""Printed letters: the formal notice (mise en demeure) and the reminder letter of a `letter` step.

Pure: the rates, the rules and the letter date come in as arguments. The formal notice's figures come
from `compute_late_fees`, so the letter says exactly what the late-fee engine says (domain pack §3, §10).
A reminder letter claims only the balances owed: it is a reminder, never a formal notice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from relance.domain.errors import RelanceError, UnknownJurisdiction
from relance.domain.invoices import Invoice
from relance.domain.late_fees import InterestSegment, LateFeeClaim, Rulebook, compute_late_fees
from relance.domain.money import Money, total, totals_by_currency
from relance.domain.parties import Creditor, Debtor, PartyKind
from relance.domain.rates import RateTable

# EU member states (ISO 3166-1 alpha-2, plus "EL", the EU's own code for Greece).
EU_COUNTRIES = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "EL", "ES", "FI", "FR", "GR", "HR", "HU", "IE",
    "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
})

# The law a notice rests on, as the letter cites it, by (jurisdiction, debtor kind) and language.
_LEGAL_BASIS: dict[tuple[str, PartyKind], dict[str, str]] = {
    ("FR", PartyKind.BUSINESS): {
        "fr": "articles L441-10 et D441-5 du Code de commerce",
        "en": "Articles L441-10 and D441-5 of the French Commercial Code (Code de commerce)",
    },
    ("FR", PartyKind.CONSUMER): {
        "fr": "articles 1231-6 et 1344 du Code civil",
        "en": "Articles 1231-6 and 1344 of the French Civil Code (Code civil)",
    },
    ("UK", PartyKind.BUSINESS): {
        "fr": "Late Payment of Commercial Debts (Interest) Act 1998 (Royaume-Uni)",
        "en": "Late Payment of Commercial Debts (Interest) Act 1998",
    },
}


class NothingOverdue(RelanceError):
    """A formal notice needs at least one invoice that is still owed and past its due date."""

    code = "formal_notice.nothing_overdue"


class InvoiceOfAnotherDebtor(RelanceError):
    code = "formal_notice.invoice_of_another_debtor"


class InvalidNoticeDeadline(RelanceError):
    code = "formal_notice.invalid_deadline"


@dataclass(frozen=True, slots=True)
class NoticeLine:
    """One invoice in a formal notice: the balance owed, with interest and indemnity on the letter date."""

    number: str
    issued_on: date
    due_on: date
    principal: Money
    interest: Money
    indemnity: Money
    segments: tuple[InterestSegment, ...]

    @property
    def currency(self) -> str:
        return self.principal.currency

    @property
    def total(self) -> Money:
        """Principal, interest and indemnity together."""
        return self.principal + self.interest + self.indemnity

    @property
    def is_provisional(self) -> bool:
        return any(segment.is_provisional for segment in self.segments)


@dataclass(frozen=True, slots=True)
class NoticeTotal:
    """The sums a notice claims in one currency."""

    currency: str
    principal: Money
    interest: Money
    indemnity: Money

    @property
    def total(self) -> Money:
        return self.principal + self.interest + self.indemnity


@dataclass(frozen=True, slots=True)
class FormalNotice:
    """A mise en demeure: who claims what from whom, by which day, on which legal basis."""

    creditor: Creditor
    debtor: Debtor
    letter_on: date
    deadline_on: date
    language: str
    lines: tuple[NoticeLine, ...]
    reference: str
    provisional: bool  # at least one rate was carried forward, not yet published (convention C11)
    jurisdiction: str  # the rulebook code the figures were computed under: FR, UK, EU, DE...
    law: str  # the rulebook's name of that law, cited when no wording is held for the jurisdiction

    @property
    def is_consumer(self) -> bool:
        return self.debtor.kind == PartyKind.CONSUMER

    @property
    def deadline_days(self) -> int:
        return (self.deadline_on - self.letter_on).days

    @property
    def currencies(self) -> tuple[str, ...]:
        return tuple(sorted({line.currency for line in self.lines}))

    @property
    def totals(self) -> tuple[NoticeTotal, ...]:
        """Principal, interest and indemnity summed per currency, in currency order."""
        sums = []
        for currency in self.currencies:
            lines = [line for line in self.lines if line.currency == currency]
            sums.append(NoticeTotal(
                currency,
                total([line.principal for line in lines], currency),
                total([line.interest for line in lines], currency),
                total([line.indemnity for line in lines], currency),
            ))
        return tuple(sums)

    @property
    def legal_basis(self) -> str:
        """The articles the claim rests on, in the letter's language."""
        return legal_basis(self.jurisdiction, self.debtor.kind, self.language, self.law)


def legal_basis(jurisdiction: str, debtor_kind: str, language: str, law: str = "") -> str:
    """The articles a claim against a debtor of `debtor_kind` rests on, in `language` (as a formal notice cites them)."""
    kind = PartyKind.CONSUMER if debtor_kind == PartyKind.CONSUMER else PartyKind.BUSINESS
    wording = _LEGAL_BASIS.get((jurisdiction, kind))
    if wording is not None:
        return wording.get(language, wording["en"])
    return law or "Directive 2011/7/EU"


def jurisdiction_for(country: str, rulebook: Rulebook) -> str:
    """The rules a creditor in `country` claims under: FR, UK, its own EU country when known, else EU."""
    code = country.strip().upper()
    if code in {"GB", "UK"}:
        return "UK"
    if code == "FR":
        return "FR"
    if code in EU_COUNTRIES:
        return code if code in rulebook.jurisdictions else "EU"
    raise UnknownJurisdiction(
        f"no late-payment rules for a creditor in {country!r}; expected FR, GB/UK or an EU country code",
        jurisdiction=country,
    )


def build_formal_notice(
    creditor: Creditor,
    debtor: Debtor,
    invoices: Sequence[Invoice],
    letter_on: date,
    deadline_days: int,
    rates: RateTable,
    rulebook: Rulebook,
    language: str,
    reference: str,
) -> FormalNotice:
    """The notice claiming every invoice overdue on `letter_on`, with interest and indemnity on that day."""
    # Payment dates are not known here, so interest runs on the balance still owed: the letter never
    # overstates the claim. For a consumer the letter is the formal notice, so interest starts the day after.
    if deadline_days < 1:
        raise InvalidNoticeDeadline(
            f"the deadline must be at least 1 day after the letter, got {deadline_days}",
            deadline_days=deadline_days,
        )
    for invoice in invoices:
        if invoice.debtor_id != debtor.debtor_id:
            raise InvoiceOfAnotherDebtor(
                f"invoice {invoice.number} belongs to debtor {invoice.debtor_id}, not {debtor.debtor_id}",
                invoice=invoice.number, debtor_id=debtor.debtor_id,
            )
    overdue = sorted(
        (invoice for invoice in invoices if invoice.is_overdue(letter_on)),
        key=lambda invoice: (invoice.due_on, invoice.number),
    )
    if not overdue:
        raise NothingOverdue(
            f"none of the {len(invoices)} invoice(s) of {debtor.name} is owed and overdue on {letter_on}",
            debtor_id=debtor.debtor_id, letter_on=letter_on.isoformat(),
        )
    jurisdiction = jurisdiction_for(creditor.country, rulebook)
    lines = tuple(
        _line(invoice, debtor, jurisdiction, letter_on, rates, rulebook) for invoice in overdue
    )
    return FormalNotice(
        creditor=creditor,
        debtor=debtor,
        letter_on=letter_on,
        deadline_on=letter_on + timedelta(days=deadline_days),
        language=language,
        lines=lines,
        reference=reference,
        provisional=any(line.is_provisional for line in lines),
        jurisdiction=jurisdiction,
        law=rulebook.jurisdiction(jurisdiction).law,
    )


def notice_claim(invoice: Invoice, debtor: Debtor, jurisdiction: str, letter_on: date) -> LateFeeClaim:
    """The late-fee claim a notice makes for `invoice`: its balance, the letter as formal notice date."""
    return LateFeeClaim(
        principal=invoice.balance,
        due_on=invoice.due_on,
        jurisdiction=jurisdiction,
        creditor_kind=PartyKind.BUSINESS,
        debtor_kind=debtor.kind,
        formal_notice_on=letter_on,
    )


def _line(
    invoice: Invoice, debtor: Debtor, jurisdiction: str, letter_on: date, rates: RateTable, rulebook: Rulebook
) -> NoticeLine:
    claim = notice_claim(invoice, debtor, jurisdiction, letter_on)
    result = compute_late_fees(claim, letter_on, rates, rulebook)
    return NoticeLine(
        number=invoice.number,
        issued_on=invoice.issued_on,
        due_on=invoice.due_on,
        principal=invoice.balance,
        interest=result.late_interest,
        indemnity=result.recovery_fee,
        segments=result.segments,
    )


# --- the reminder letter of a `letter` step ------------------------------------------------------

# The step templates whose letter reads as a friendly reminder; any other template gives a firm one.
FRIENDLY_TEMPLATES = frozenset({"courtesy", "reminder_friendly"})


class LetterTone(StrEnum):
    FRIENDLY = "friendly"  # "probably an oversight"
    FIRM = "firm"  # "despite our reminders"; still no deadline and no formal-notice wording


class NothingOwed(RelanceError):
    """A reminder letter needs at least one invoice with a balance still owed."""

    code = "reminder_letter.nothing_owed"


@dataclass(frozen=True, slots=True)
class ReminderLine:
    """One invoice in a reminder letter and what is still owed on it."""

    number: str
    issued_on: date
    due_on: date
    amount_due: Money

    @property
    def currency(self) -> str:
        return self.amount_due.currency


@dataclass(frozen=True, slots=True)
class ReminderLetter:
    """A printed reminder: who asks whom to pay which invoices, in the tone of the step."""

    creditor: Creditor
    debtor: Debtor
    letter_on: date
    language: str
    tone: LetterTone
    lines: tuple[ReminderLine, ...]
    reference: str

    @property
    def totals(self) -> tuple[Money, ...]:
        """What is owed per currency, in currency order."""
        return tuple(totals_by_currency([line.amount_due for line in self.lines]).values())

    @property
    def mentions_late_charges(self) -> bool:
        """A firm letter to a business recalls that late payment has a cost; a consumer owes no fixed fee."""
        return self.tone is LetterTone.FIRM and self.debtor.kind is PartyKind.BUSINESS


def tone_of(template: str) -> LetterTone:
    """The tone of the letter a step's template asks for."""
    return LetterTone.FRIENDLY if template in FRIENDLY_TEMPLATES else LetterTone.FIRM


def build_reminder_letter(
    creditor: Creditor,
    debtor: Debtor,
    invoices: Sequence[Invoice],
    letter_on: date,
    template: str,
    language: str,
    reference: str,
) -> ReminderLetter:
    """The reminder listing every invoice still owed among `invoices`, oldest due first, in the step's tone."""
    for invoice in invoices:
        if invoice.debtor_id != debtor.debtor_id:
            raise InvoiceOfAnotherDebtor(
                f"invoice {invoice.number} belongs to debtor {invoice.debtor_id}, not {debtor.debtor_id}",
                invoice=invoice.number, debtor_id=debtor.debtor_id,
            )
    owed = sorted((i for i in invoices if not i.is_settled()), key=lambda i: (i.due_on, i.number))
    if not owed:
        raise NothingOwed(
            f"none of the {len(invoices)} invoice(s) of {debtor.name} is still owed on {letter_on}",
            debtor_id=debtor.debtor_id, letter_on=letter_on.isoformat(),
        )
    lines = tuple(ReminderLine(i.number, i.issued_on, i.due_on, i.balance) for i in owed)
    return ReminderLetter(creditor, debtor, letter_on, language, tone_of(template), lines, reference)
