"""The file handed to a collection agency: everything its first letter must state under R124-4 CPCE.

Pure. Amounts are split into principal, interest and other accessories; costs that stay with the
creditor under L111-8 CPCE (collection costs without an enforceable title, agency fees) are never
claimed, and a consumer owes no fixed recovery fee at all (domain pack §2, §3, §10).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from relance.domain.invoices import Invoice
from relance.domain.letters import FormalNotice, NoticeLine
from relance.domain.money import Money, total
from relance.domain.parties import Creditor, Debtor, PartyKind
from relance.domain.statement import csv_safe

FORMAT = "relance.agency_file/1"
EXCLUDED_COSTS = (
    "Collection costs incurred without an enforceable title, including agency fees, stay with the creditor "
    "(L111-8 CPCE) and are not claimed."
)
CSV_COLUMNS = (
    "creditor_name", "creditor_siren", "creditor_address", "debtor_name", "debtor_kind", "debtor_company_id",
    "debtor_address", "invoice_number", "issued_on", "due_on", "currency", "principal", "interest",
    "other_accessories", "total", "interest_computed_to", "formal_notice_reference", "formal_notice_on",
    "contacts",
)


@dataclass(frozen=True, slots=True)
class ContactSummary:
    """One contact already made with the debtor: when, at which step, how, and its message id."""

    on: date
    step_id: str
    channel: str
    message_id: str | None
    invoices: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AgencyClaimLine:
    """One invoice handed over: what is owed, split as R124-4 asks."""

    number: str
    issued_on: date
    due_on: date
    principal: Money
    interest: Money
    other_accessories: Money  # the fixed recovery fee where the law makes the debtor owe it
    interest_computed_to: date | None  # the formal notice date; None when no interest was computed

    @property
    def currency(self) -> str:
        return self.principal.currency

    @property
    def total(self) -> Money:
        return self.principal + self.interest + self.other_accessories


@dataclass(frozen=True, slots=True)
class AgencyTotal:
    """The sums handed over in one currency."""

    currency: str
    principal: Money
    interest: Money
    other_accessories: Money

    @property
    def total(self) -> Money:
        return self.principal + self.interest + self.other_accessories


@dataclass(frozen=True, slots=True)
class AgencyFile:
    """A debtor's file for the agency: parties, claim, correspondence and the formal notice."""

    creditor: Creditor
    debtor: Debtor
    lines: tuple[AgencyClaimLine, ...]
    contacts: tuple[ContactSummary, ...]
    notice_reference: str | None
    notice_on: date | None
    notice_deadline_on: date | None
    handed_off_on: date

    @property
    def totals(self) -> tuple[AgencyTotal, ...]:
        """Principal, interest and other accessories summed per currency, in currency order."""
        sums = []
        for currency in sorted({line.currency for line in self.lines}):
            lines = [line for line in self.lines if line.currency == currency]
            sums.append(AgencyTotal(
                currency,
                total([line.principal for line in lines], currency),
                total([line.interest for line in lines], currency),
                total([line.other_accessories for line in lines], currency),
            ))
        return tuple(sums)

    @property
    def missing_fields(self) -> tuple[str, ...]:
        """R124-4 facts the agency must state but Relance does not hold; it has to complete them."""
        wanted = {
            "creditor.address": self.creditor.address,
            "debtor.address": self.debtor.address,
            "formal_notice": self.notice_reference,
        }
        return tuple(name for name, value in wanted.items() if not value)

    def to_json(self) -> str:
        """The file as JSON: sorted keys, amounts as decimal strings in major units, ISO dates."""
        return json.dumps(self._document(), ensure_ascii=False, indent=2, sort_keys=True)

    def to_csv(self) -> str:
        """One row per invoice, comma-separated, with a header; no text cell can run as a formula."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        for line in self.lines:
            related = [contact for contact in self.contacts if line.number in contact.invoices]
            writer.writerow([
                _safe(self.creditor.legal_name), _safe(self.creditor.siren), _safe(self.creditor.address),
                _safe(self.debtor.name), str(self.debtor.kind), _safe(self.debtor.company_id),
                _safe(self.debtor.address), _safe(line.number), line.issued_on.isoformat(),
                line.due_on.isoformat(), line.currency, _amount(line.principal), _amount(line.interest),
                _amount(line.other_accessories), _amount(line.total), _iso(line.interest_computed_to),
                _safe(self.notice_reference), _iso(self.notice_on),
                _safe("; ".join(_contact_text(contact) for contact in related)),
            ])
        return buffer.getvalue()

    def _document(self) -> dict[str, object]:
        creditor, debtor = self.creditor, self.debtor
        notice = None
        if self.notice_reference is not None:
            notice = {"reference": self.notice_reference, "sent_on": _iso(self.notice_on),
                      "deadline_on": _iso(self.notice_deadline_on)}
        return {
            "format": FORMAT,
            "handed_off_on": self.handed_off_on.isoformat(),
            "creditor": {
                "name": creditor.legal_name, "siren": creditor.siren, "address": creditor.address,
                "country": creditor.country, "contact_email": creditor.contact_email,
                "contact_phone": creditor.contact_phone,
            },
            "debtor": {
                "name": debtor.name, "kind": str(debtor.kind), "company_id": debtor.company_id,
                "address": debtor.address, "emails": list(debtor.emails), "phone": debtor.phone,
                "language": debtor.language,
            },
            "claim": {
                "invoices": [_line_document(line) for line in self.lines],
                "totals": [
                    {"currency": sums.currency, "principal": _money(sums.principal),
                     "interest": _money(sums.interest), "other_accessories": _money(sums.other_accessories),
                     "total": _money(sums.total)}
                    for sums in self.totals
                ],
                "recovery_fee_claimable": debtor.kind != PartyKind.CONSUMER,
                "excluded_costs": {"rule": "L111-8 CPCE", "note": EXCLUDED_COSTS},
            },
            "formal_notice": notice,
            "correspondence": [
                {"on": contact.on.isoformat(), "step_id": contact.step_id, "channel": contact.channel,
                 "message_id": contact.message_id, "invoices": list(contact.invoices)}
                for contact in self.contacts
            ],
            "missing_fields": list(self.missing_fields),
        }


def build_agency_file(
    creditor: Creditor,
    debtor: Debtor,
    invoices: Sequence[Invoice],
    notice: FormalNotice | None,
    contacts: Sequence[ContactSummary],
    handed_off_on: date,
) -> AgencyFile:
    """The file for every invoice still owed: balance today, interest and fee as the notice claimed them."""
    # Without a notice, or for an invoice the notice did not list, only the principal is handed over.
    # A consumer never owes the fixed recovery fee, whatever the notice says (_claim_line).
    claimed = {line.number: line for line in notice.lines} if notice is not None else {}
    owed = sorted(
        (invoice for invoice in invoices if not invoice.is_settled()),
        key=lambda invoice: (invoice.due_on, invoice.number),
    )
    lines = tuple(_claim_line(invoice, claimed.get(invoice.number), debtor, notice) for invoice in owed)
    return AgencyFile(
        creditor=creditor,
        debtor=debtor,
        lines=lines,
        contacts=tuple(sorted(contacts, key=lambda contact: contact.on)),
        notice_reference=notice.reference if notice is not None else None,
        notice_on=notice.letter_on if notice is not None else None,
        notice_deadline_on=notice.deadline_on if notice is not None else None,
        handed_off_on=handed_off_on,
    )


def _claim_line(
    invoice: Invoice, claimed: NoticeLine | None, debtor: Debtor, notice: FormalNotice | None
) -> AgencyClaimLine:
    zero = Money.zero(invoice.currency)
    interest = claimed.interest if claimed is not None else zero
    fee = claimed.indemnity if claimed is not None and debtor.kind != PartyKind.CONSUMER else zero
    return AgencyClaimLine(
        number=invoice.number,
        issued_on=invoice.issued_on,
        due_on=invoice.due_on,
        principal=invoice.balance,
        interest=interest,
        other_accessories=fee,
        interest_computed_to=notice.letter_on if claimed is not None and notice is not None else None,
    )


def _line_document(line: AgencyClaimLine) -> dict[str, object]:
    return {
        "number": line.number, "issued_on": line.issued_on.isoformat(), "due_on": line.due_on.isoformat(),
        "principal": _money(line.principal), "interest": _money(line.interest),
        "other_accessories": _money(line.other_accessories), "total": _money(line.total),
        "interest_computed_to": _iso(line.interest_computed_to),
    }


def _money(amount: Money) -> dict[str, str]:
    return {"amount": _amount(amount), "currency": amount.currency}


def _amount(amount: Money) -> str:
    """`12000.00`: major units with the currency's decimals, never a float."""
    return f"{amount.to_decimal():.{amount.digits}f}"


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _contact_text(contact: ContactSummary) -> str:
    parts = [contact.on.isoformat(), contact.step_id, contact.channel]
    if contact.message_id:
        parts.append(contact.message_id)
    return " ".join(parts)


def _safe(text: str | None) -> str:
    """A spreadsheet cell that shows `text` and never runs it: formula-like starts get an apostrophe."""
    if not text:
        return ""
    return csv_safe(text)
