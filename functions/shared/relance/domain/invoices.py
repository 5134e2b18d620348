"""Invoices and what is still owed on them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

from relance.domain.errors import CurrencyMismatch
from relance.domain.money import Money


class InvoiceStatus(StrEnum):
    NOT_DUE = "not_due"
    OVERDUE = "overdue"
    PAID = "paid"


@dataclass(frozen=True, slots=True)
class Invoice:
    """One invoice of a creditor to a debtor; `number` is unique per creditor."""

    creditor_id: str
    debtor_id: str
    number: str
    issued_on: date
    due_on: date
    total: Money
    paid: Money
    last_step: str | None = None  # the policy step this invoice last went through
    last_step_on: date | None = None
    next_action_on: date | None = None  # the business day the engine looks at it again; None = nothing planned
    disputed: bool = False  # a dispute is open: dunning waits for finance
    promised_on: date | None = None  # the debtor promised to pay by then: dunning waits (plus grace)
    in_plan: bool = False  # covered by an active installment plan
    version: int = 0  # optimistic lock for concurrent writers

    def __post_init__(self) -> None:
        if self.paid.currency != self.total.currency:
            raise CurrencyMismatch(f"invoice {self.number} is in {self.total.currency} but paid in "
                                   f"{self.paid.currency}", left=self.total.currency, right=self.paid.currency)

    @property
    def currency(self) -> str:
        return self.total.currency

    @property
    def balance(self) -> Money:
        """What is still owed."""
        return self.total - self.paid

    def is_settled(self) -> bool:
        return self.paid.minor >= self.total.minor  # one currency, checked at construction

    def is_overdue(self, today: date) -> bool:
        """Owed and past its due date (the first late day is the day after the due date)."""
        return not self.is_settled() and today > self.due_on

    def days_overdue(self, today: date) -> int:
        """Calendar days since the due date; 0 when not yet late."""
        return max(0, (today - self.due_on).days) if not self.is_settled() else 0

    def status(self, today: date) -> InvoiceStatus:
        if self.is_settled():
            return InvoiceStatus.PAID
        return InvoiceStatus.OVERDUE if self.is_overdue(today) else InvoiceStatus.NOT_DUE

    def same_terms(self, other: Invoice) -> bool:
        """True when an import brings nothing new for this invoice."""
        return (
            self.debtor_id == other.debtor_id
            and self.issued_on == other.issued_on
            and self.due_on == other.due_on
            and self.total == other.total
            and self.paid == other.paid
        )

    def with_terms_of(self, newer: Invoice) -> Invoice:
        """This invoice with the amounts and dates of a newer import, keeping its dunning history."""
        return replace(
            self, issued_on=newer.issued_on, due_on=newer.due_on, total=newer.total, paid=newer.paid
        )
