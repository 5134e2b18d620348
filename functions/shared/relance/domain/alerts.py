"""Alerts for finance: which facts deserve a line in the daily digest and on the dashboard.

Pure: the caller hands over what changed (a debtor's band before and after, a plan's state before
and after, balances before and after) or what the day brings (invoices entering the > 90 days
bucket, disputes waiting too long), and `today` in the creditor's zone. Each alert has a stable
`alert_id` built from the day, the kind and the fact it names, so the same alert decided twice
(a stream record or a schedule tick delivered again) is stored, listed and mailed once.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from relance.domain.aging import AgingBucket, bucket_of
from relance.domain.calendar import is_business_day
from relance.domain.money import Money

DEFAULT_DISPUTE_WAITING_DAYS = 7
DISPUTE_WAITING_DAYS = (1, 365)
# Open balance of one debtor, per currency, above which finance is told (major units 10 000).
DEFAULT_LARGE_AMOUNTS_MINOR: Mapping[str, int] = {"EUR": 10_000_00, "GBP": 10_000_00, "CHF": 10_000_00}


class AlertKind(StrEnum):
    """What an alert is about; the value is part of its id and its stored item."""

    HIGH_RISK = "high_risk"  # the debtor's risk band became high
    PLAN_BROKEN = "plan_broken"
    DISPUTE_WAITING = "dispute_waiting"  # a dispute open more than N days
    INVOICE_OVER_90 = "invoice_over_90"  # an invoice entered the > 90 days bucket
    LARGE_AMOUNT = "large_amount"  # a debtor's open balance went above the threshold


@dataclass(frozen=True, slots=True)
class AlertRules:
    """A creditor's alert thresholds (policy `alerts:`); the defaults apply to what the policy leaves out."""

    dispute_waiting_days: int = DEFAULT_DISPUTE_WAITING_DAYS
    large_amount_minor: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_LARGE_AMOUNTS_MINOR))

    def large_amount(self, currency: str) -> Money | None:
        """The threshold in `currency`, or None when the creditor set none for it."""
        minor = self.large_amount_minor.get(currency)
        return Money(minor, currency) if minor is not None else None


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert of a creditor's day: what happened, about whom, and the back-office page that shows it."""

    creditor_id: str
    day: date
    kind: AlertKind
    ref: str  # the fact it names, unique per kind and day: a debtor id, `<debtor>#<invoice>`, a plan id…
    debtor_id: str
    path: str  # the back-office page, e.g. /debtors/<id>
    params: Mapping[str, str] = field(default_factory=dict)  # what the sentence names (band, amount, days…)
    debtor_name: str = ""  # as it was when raised; empty on alerts raised before names were stored

    @property
    def debtor_label(self) -> str:
        """Who the alert is about, for people: the debtor's name, else their id."""
        return self.debtor_name or self.debtor_id

    @property
    def alert_id(self) -> str:
        """Stable: the same fact on the same day always gives the same id."""
        return f"{self.day.isoformat()}#{self.kind.value}#{self.ref}"


def debtor_path(debtor_id: str) -> str:
    """The back-office page of a debtor."""
    return f"/debtors/{debtor_id}"


def high_risk_alert(creditor_id: str, debtor_id: str, band_before: str | None, band_after: str,
                    today: date, score: int, debtor_name: str = "") -> Alert | None:
    """An alert when the debtor's band becomes high (not while it stays high)."""
    if band_after != "high" or band_before == "high":
        return None
    return Alert(creditor_id, today, AlertKind.HIGH_RISK, debtor_id, debtor_id, debtor_path(debtor_id),
                 {"score": str(score), "band_before": band_before or ""}, debtor_name)


def plan_broken_alert(creditor_id: str, debtor_id: str, plan_id: str, state_before: str | None,
                      state_after: str, today: date) -> Alert | None:
    """An alert when an installment plan moves to broken."""
    if state_after != "broken" or state_before == "broken":
        return None
    return Alert(creditor_id, today, AlertKind.PLAN_BROKEN, plan_id, debtor_id,
                 f"/plans/{creditor_id}/{debtor_id}/{plan_id}", {"plan_id": plan_id})


def large_amount_alerts(creditor_id: str, debtor_id: str, before: Iterable[Money], after: Iterable[Money],
                        rules: AlertRules, today: date, debtor_name: str = "") -> list[Alert]:
    """One alert per currency whose open balance went from at or below the threshold to above it."""
    previous = {m.currency: m for m in before}
    alerts = []
    for balance in sorted(after, key=lambda m: m.currency):
        threshold = rules.large_amount(balance.currency)
        if threshold is None or not balance > threshold:
            continue
        earlier = previous.get(balance.currency, Money.zero(balance.currency))
        if earlier > threshold:
            continue
        alerts.append(Alert(creditor_id, today, AlertKind.LARGE_AMOUNT, f"{debtor_id}#{balance.currency}",
                            debtor_id, debtor_path(debtor_id),
                            {"amount_minor": str(balance.minor), "currency": balance.currency}, debtor_name))
    return alerts


@dataclass(frozen=True, slots=True)
class OpenInvoiceLine:
    """An open invoice as finance's alerts see it."""

    debtor_id: str
    number: str
    due_on: date
    balance: Money
    debtor_name: str = ""


def invoice_over_90_alerts(creditor_id: str, invoices: Iterable[OpenInvoiceLine], since: date,
                           today: date) -> list[Alert]:
    """Invoices still open that are in the > 90 days bucket today but were not on `since`.

    `since` is the previous business day, so an invoice that crossed over on a weekend or a holiday
    is reported once, on the next business day.
    """
    alerts = []
    for line in invoices:
        if not line.balance.is_positive():
            continue
        if bucket_of((today - line.due_on).days) is not AgingBucket.OVER_90:
            continue
        if bucket_of((since - line.due_on).days) is AgingBucket.OVER_90:
            continue
        alerts.append(Alert(creditor_id, today, AlertKind.INVOICE_OVER_90, f"{line.debtor_id}#{line.number}",
                            line.debtor_id, debtor_path(line.debtor_id),
                            {"number": line.number, "days": str((today - line.due_on).days),
                             "amount_minor": str(line.balance.minor), "currency": line.balance.currency},
                            line.debtor_name))
    return alerts


def over_90_entry_day(due_on: date) -> date:
    """The first day an invoice due on `due_on` is in the > 90 days bucket."""
    return due_on + timedelta(days=91)


@dataclass(frozen=True, slots=True)
class WaitingDispute:
    """An open dispute and the day it was opened."""

    debtor_id: str
    dispute_id: str
    number: str
    opened_on: date


def dispute_waiting_window(since: date, today: date, rules: AlertRules) -> tuple[date, date]:
    """The days a dispute must have been opened on to cross `dispute_waiting_days` after `since`, up to today."""
    return since - timedelta(days=rules.dispute_waiting_days), today - timedelta(days=rules.dispute_waiting_days + 1)


def dispute_waiting_alerts(creditor_id: str, disputes: Iterable[WaitingDispute], since: date, today: date,
                           rules: AlertRules) -> list[Alert]:
    """Open disputes waiting more than `dispute_waiting_days` today that were not on `since`."""
    limit = rules.dispute_waiting_days
    alerts = []
    for dispute in disputes:
        if not (today - dispute.opened_on).days > limit or (since - dispute.opened_on).days > limit:
            continue
        alerts.append(Alert(creditor_id, today, AlertKind.DISPUTE_WAITING, f"{dispute.debtor_id}#{dispute.dispute_id}",
                            dispute.debtor_id, "/disputes",
                            {"number": dispute.number, "days": str((today - dispute.opened_on).days)}))
    return alerts


def newest_first(alerts: Iterable[Alert], raised_at: Mapping[str, str]) -> list[Alert]:
    """Alerts by the instant they were raised, newest first (ties by id, so the order is stable)."""
    ordered = sorted(alerts, key=lambda a: a.alert_id)
    return sorted(ordered, key=lambda a: raised_at.get(a.alert_id, ""), reverse=True)


def previous_business_day(day: date, closed: Container[date]) -> date:
    """The last business day before `day` (weekends and `closed` days skipped)."""
    current = day - timedelta(days=1)
    while not is_business_day(current, closed):
        current -= timedelta(days=1)
    return current


def days_after(since: date, today: date) -> list[date]:
    """Every day after `since` up to and including `today`."""
    return [since + timedelta(days=n) for n in range(1, (today - since).days + 1)]
