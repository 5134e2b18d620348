"""A debtor's data changed: keep their stored risk up to date, and raise the alerts the change calls for.

Called by DebtorWatchFunction for each debtor item the table's stream reports (docs/architecture/access-patterns.md,
AL1-AL5). Nothing is recomputed table-wide: a debtor is scored when their own
item changes (an invoice written, a payment, a dispute, a bounce).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from relance.domain.alerts import Alert, AlertRules, high_risk_alert, large_amount_alerts, over_90_entry_day
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.parties import Debtor
from relance.domain.risk import RiskBands, RiskWeights, inputs_from_open_invoices, score_risk
from relance.domain.risk_upkeep import RiskUpdate, StoredRisk, risk_update

MAX_ATTEMPTS = 3


class RiskStore(Protocol):
    def debtor_snapshot(self, creditor_id: str, debtor_id: str
                        ) -> tuple[Debtor, list[Invoice], StoredRisk, int] | None: ...

    def record_risk(self, creditor_id: str, debtor_id: str, seen: StoredRisk, update: RiskUpdate,
                    audit: dict | None, alert: Alert | None, now: datetime) -> None: ...

    def raise_alerts(self, alerts: Iterable[Alert], now: datetime) -> list[Alert]: ...

    def watch_over_90(self, lines: Iterable[tuple[date, str, str]], creditor_id: str) -> None: ...


class RiskOutcome(StrEnum):
    UNCHANGED = "unchanged"  # the stored score already says the same: nothing written
    UPDATED = "updated"  # score or reasons written, band unchanged
    BAND_CHANGED = "band_changed"  # written with a `risk_band_changed` audit event
    GONE = "gone"  # the debtor item no longer exists


@dataclass(frozen=True, slots=True)
class DebtorChange:
    """A debtor item before and after one write, as the stream reports it."""

    debtor: Debtor
    invoices: list[Invoice]  # open invoices after the write
    stored: StoredRisk  # the risk the item carried after the write
    invoices_before: list[Invoice] | None = None  # None for a new debtor
    broken_commitments: int = 0  # installment plans of the debtor that broke (counted on the debtor item)


def open_balances(invoices: Iterable[Invoice]) -> list[Money]:
    """What is still owed, one amount per currency."""
    totals: dict[str, Money] = {}
    for invoice in invoices:
        if not invoice.is_settled():
            totals[invoice.currency] = totals.get(invoice.currency, Money.zero(invoice.currency)) + invoice.balance
    return [totals[c] for c in sorted(totals)]


def keep_risk(change: DebtorChange, today: date, now: datetime, store: RiskStore, conflict: type[Exception],
              weights: RiskWeights = RiskWeights(), bands: RiskBands = RiskBands()) -> RiskOutcome:
    """Score the debtor as they are now and write it if it differs from what their item says.

    The write is conditional on the stored risk read; if another recompute wrote first, the item is
    read again (consistently) and scored again, so the last write always reflects the latest data.
    """
    debtor, invoices, stored = change.debtor, change.invoices, change.stored
    broken = change.broken_commitments
    for _attempt in range(MAX_ATTEMPTS):
        fresh = score_risk(inputs_from_open_invoices(invoices, today, broken_commitments=broken,
                                                     bounced_contacts=len(debtor.undeliverable)), weights, bands)
        update = risk_update(stored, fresh)
        if update is None:
            return RiskOutcome.UNCHANGED
        alert = high_risk_alert(debtor.creditor_id, debtor.debtor_id, update.band_before, update.band, today,
                                update.score, debtor.name)
        try:
            store.record_risk(debtor.creditor_id, debtor.debtor_id, stored, update, update.audit_event(), alert, now)
        except conflict:
            snapshot = store.debtor_snapshot(debtor.creditor_id, debtor.debtor_id)
            if snapshot is None:
                return RiskOutcome.GONE
            debtor, invoices, stored, broken = snapshot
            continue
        return RiskOutcome.BAND_CHANGED if update.band_changed else RiskOutcome.UPDATED
    raise RuntimeError(f"the risk of debtor {debtor.debtor_id} kept changing while it was recomputed")


def alerts_for_change(change: DebtorChange, today: date, rules: AlertRules) -> list[Alert]:
    """The alerts a debtor item's change raises by itself: an open balance going above the threshold."""
    before = open_balances(change.invoices_before or [])
    return large_amount_alerts(change.debtor.creditor_id, change.debtor.debtor_id, before,
                               open_balances(change.invoices), rules, today, change.debtor.name)


def over_90_watch_lines(change: DebtorChange) -> list[tuple[date, str, str]]:
    """(entry day, debtor, number) for each open invoice that is new or has a new due date in this change."""
    known = {invoice.number: invoice.due_on for invoice in change.invoices_before or []}
    return [(over_90_entry_day(invoice.due_on), invoice.debtor_id, invoice.number)
            for invoice in change.invoices
            if not invoice.is_settled() and known.get(invoice.number) != invoice.due_on]


def debtor_changed(change: DebtorChange, today: date, now: datetime, store: RiskStore, conflict: type[Exception],
                   rules: AlertRules = AlertRules()) -> RiskOutcome:
    """Everything a debtor item's change calls for: the risk kept up to date, the alerts, the over-90 watch."""
    outcome = keep_risk(change, today, now, store, conflict)
    store.raise_alerts(alerts_for_change(change, today, rules), now)
    lines = over_90_watch_lines(change)
    if lines:
        store.watch_over_90(lines, change.debtor.creditor_id)
    return outcome
