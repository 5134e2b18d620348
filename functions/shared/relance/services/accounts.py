"""What a debtor sees of their account, and how the portal reaches it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from relance.adapters.links import DebtorRef
from relance.domain.errors import LinkInvalid
from relance.domain.invoices import Invoice
from relance.domain.money import Money, totals_by_currency
from relance.domain.parties import Creditor, Debtor


@dataclass(frozen=True, slots=True)
class DebtorAccount:
    """A debtor's account with one creditor: who, and every invoice on record."""

    creditor: Creditor
    debtor: Debtor
    invoices: tuple[Invoice, ...]

    def open_invoices(self) -> list[Invoice]:
        """Invoices with something still owed, oldest due first."""
        return sorted((i for i in self.invoices if not i.is_settled()), key=lambda i: (i.due_on, i.number))

    def balance_by_currency(self) -> dict[str, Money]:
        """Everything owed, per currency."""
        return totals_by_currency([i.balance for i in self.open_invoices()])

    def overdue_by_currency(self, today: date) -> dict[str, Money]:
        """What is owed and late today, per currency."""
        return totals_by_currency([i.balance for i in self.open_invoices() if i.is_overdue(today)])


class AccountReader(Protocol):
    def debtor_account(self, creditor_id: str, debtor_id: str) -> DebtorAccount | None:
        """The account, or None when there is no such debtor for that creditor."""


def account_for_link(ref: DebtorRef, reader: AccountReader, open_only: bool = False) -> DebtorAccount:
    """The account a valid link opens; LinkInvalid for an unknown debtor or a revoked link.

    `open_only` asks for the open invoices alone, which a reader may serve more cheaply (the
    DynamoDB store reads one item, the debtor with their open-invoice summary, however long
    their history); a reader without `open_account` gives the whole account.
    """
    open_account = getattr(reader, "open_account", None) if open_only else None
    account = (open_account or reader.debtor_account)(ref.creditor_id, ref.debtor_id)
    if account is None or account.debtor.link_version != ref.link_version:
        raise LinkInvalid("this link is not valid")
    return account


class InMemoryAccounts:
    """An AccountReader over plain objects, for tests and the portal's own checks."""

    def __init__(self, creditors: list[Creditor], debtors: list[Debtor], invoices: list[Invoice]) -> None:
        self._creditors = {c.creditor_id: c for c in creditors}
        self._debtors = {(d.creditor_id, d.debtor_id): d for d in debtors}
        self._invoices = invoices

    def debtor_account(self, creditor_id: str, debtor_id: str) -> DebtorAccount | None:
        debtor = self._debtors.get((creditor_id, debtor_id))
        creditor = self._creditors.get(creditor_id)
        if debtor is None or creditor is None:
            return None
        mine = tuple(i for i in self._invoices if i.creditor_id == creditor_id and i.debtor_id == debtor_id)
        return DebtorAccount(creditor, debtor, mine)

    def open_account(self, creditor_id: str, debtor_id: str) -> DebtorAccount | None:
        account = self.debtor_account(creditor_id, debtor_id)
        if account is None:
            return None
        return DebtorAccount(account.creditor, account.debtor, tuple(account.open_invoices()))
