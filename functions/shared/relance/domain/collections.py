"""Collections: the money a creditor received in a period, and the CSV file finance reconciles it with.

Pure: the lines come in already read (Stripe payments and those finance recorded, AP14).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from relance.domain.money import Money

if TYPE_CHECKING:
    from relance.domain.payments import Allocation


@dataclass(frozen=True, slots=True)
class Collection:
    """One payment received: what it paid on each invoice and what it left as a credit."""

    received_on: date
    debtor_id: str
    payment_id: str
    amount: Money
    allocations: tuple[Allocation, ...] = ()
    credit: Money | None = None
    method: str | None = None  # "card" | "sepa_debit" | "bank_transfer" | "cheque"
    reference: str | None = None  # finance's reference for a transfer or a cheque


_WORDS = {
    "fr": {"date": "Date", "debtor": "Débiteur", "debtor_id": "Identifiant", "invoice": "Facture",
           "amount": "Montant", "currency": "Devise", "method": "Moyen de paiement", "reference": "Référence",
           "credit": "Avoir (non affecté)", "card": "Carte", "sepa_debit": "Prélèvement SEPA",
           "bank_transfer": "Virement", "cheque": "Chèque"},
    "en": {"date": "Date", "debtor": "Debtor", "debtor_id": "Id", "invoice": "Invoice", "amount": "Amount",
           "currency": "Currency", "method": "Method", "reference": "Reference", "credit": "Credit (unallocated)",
           "card": "Card", "sepa_debit": "SEPA direct debit", "bank_transfer": "Bank transfer", "cheque": "Cheque"},
}


def collections_csv(collections: Iterable[Collection], names: Mapping[str, str], language: str) -> bytes:
    """One row per invoice a payment paid (and one for what it left as a credit), oldest first. Excel's
    dialect per language (UTF-8 with a BOM; `;` and decimal commas in French), every cell through
    `csv_safe`, so that a reference typed as `=HYPERLINK(...)` stays text.
    """
    # statement brings the late-fee and letter rules, which the daily scan's month-end snapshot never needs
    from relance.domain.statement import csv_amount, csv_safe

    language = language if language in _WORDS else "en"
    words = _WORDS[language]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if language == "fr" else ",", lineterminator="\r\n")

    def row(cells: Iterable[str]) -> None:
        writer.writerow([csv_safe(cell) for cell in cells])

    row([words[k] for k in ("date", "debtor", "debtor_id", "invoice", "amount", "currency", "method", "reference")])
    for paid in sorted(collections, key=lambda c: (c.received_on, c.debtor_id, c.payment_id)):
        method = words.get(paid.method or "", paid.method or "")
        for invoice, amount in _shares(paid):
            row([paid.received_on.isoformat(), names.get(paid.debtor_id, ""), paid.debtor_id,
                 words["credit"] if invoice is None else invoice,
                 csv_amount(amount, language), amount.currency, method, paid.reference or ""])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def collected_by_currency(collections: Iterable[Collection]) -> dict[str, Money]:
    """What `collections` brought in, per currency: the sum of the amount column of their CSV export."""
    totals: dict[str, Money] = {}
    for paid in collections:
        for _invoice, amount in _shares(paid):
            totals[amount.currency] = totals.get(amount.currency, Money.zero(amount.currency)) + amount
    return dict(sorted(totals.items()))


def _shares(paid: Collection) -> list[tuple[str | None, Money]]:
    """The export's lines of one payment: (invoice number, amount) per invoice it paid, (None, credit) for what
    it left as a credit, or ("", amount) when it named neither."""
    shares: list[tuple[str | None, Money]] = [(a.invoice_number, a.amount) for a in paid.allocations]
    if paid.credit is not None and paid.credit.is_positive():
        shares.append((None, paid.credit))
    return shares or [("", paid.amount)]
