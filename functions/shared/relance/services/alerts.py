"""Finance alerts: raised as facts happen or as the day brings them, listed on the dashboard, mailed once a day.

- A plan moving to broken raises `plan_broken` (DebtorWatchFunction, from the table's stream).
- Every business morning, before the digest, the day's sweep raises `invoice_over_90` (AL4) and
  `dispute_waiting` (AL6) for what crossed the line since the previous business day.
- The digest claims its day (AL3), reads the outbox (AL2) and sends one mail to finance; a repeated
  schedule tick finds the day claimed and sends nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from relance.domain.alerts import (
    Alert,
    AlertRules,
    OpenInvoiceLine,
    WaitingDispute,
    days_after,
    dispute_waiting_alerts,
    dispute_waiting_window,
    invoice_over_90_alerts,
    newest_first,
    plan_broken_alert,
    previous_business_day,
)
from relance.domain.calendar import is_business_day
from relance.domain.parties import Creditor


class AlertsStore(Protocol):
    def list_creditors(self) -> list[Creditor]: ...

    def raise_alerts(self, alerts: Iterable[Alert], now: datetime) -> list[Alert]: ...

    def record_plan_broken(self, alert: Alert, now: datetime) -> bool: ...

    def pending_alerts(self, creditor_id: str) -> list[tuple[Alert, str]]: ...

    def claim_digest(self, creditor_id: str, day: date, now: datetime) -> bool: ...

    def complete_digest(self, creditor_id: str, day: date, alerts: list[Alert], message_id: str | None) -> None: ...

    def entering_over_90(self, creditor_id: str, days: Iterable[date]) -> list[OpenInvoiceLine]: ...

    def disputes_opened_between(self, creditor_id: str, first: date, last: date) -> list[WaitingDispute]: ...


@dataclass(frozen=True, slots=True)
class DigestLine:
    """One alert of the digest, with the absolute link to its back-office page."""

    alert: Alert
    url: str


@dataclass(frozen=True, slots=True)
class AlertsDigestMail:
    """The day's digest for a creditor's finance team."""

    creditor: Creditor
    recipients: tuple[str, ...]
    language: str
    day: date
    lines: tuple[DigestLine, ...]
    digest_id: str


class DigestMailer(Protocol):
    def send_alerts_digest(self, mail: AlertsDigestMail) -> str: ...


@dataclass
class DigestReport:
    """What a digest run did, for the function's log and metrics."""

    creditors: int = 0
    alerts_raised: int = 0
    digests_sent: int = 0
    alerts_mailed: int = 0
    already_sent: int = 0
    closed: list[str] = field(default_factory=list)
    without_recipient: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {"creditors": self.creditors, "alerts_raised": self.alerts_raised, "digests_sent": self.digests_sent,
                "alerts_mailed": self.alerts_mailed, "already_sent": self.already_sent, "closed": self.closed,
                "without_recipient": self.without_recipient}


class AlertsReader(Protocol):
    def alerts_of_day(self, creditor_id: str, day: date) -> list[tuple[Alert, str]]: ...


def todays_alerts(creditor_id: str, today: date, reader: AlertsReader) -> list[Alert]:
    """The creditor's alerts of `today`, newest first (the dashboard's list)."""
    found = reader.alerts_of_day(creditor_id, today)
    return newest_first((alert for alert, _at in found), {alert.alert_id: at for alert, at in found})


def plan_changed(creditor_id: str, debtor_id: str, plan_id: str, state_before: str | None, state_after: str,
                 today: date, now: datetime, store: AlertsStore) -> bool:
    """Raise `plan_broken` when the plan just broke, and count it on the debtor (a risk factor); True if new."""
    alert = plan_broken_alert(creditor_id, debtor_id, plan_id, state_before, state_after, today)
    return alert is not None and store.record_plan_broken(alert, now)


def sweep_day(creditor: Creditor, since: date, today: date, now: datetime, rules: AlertRules,
              store: AlertsStore) -> list[Alert]:
    """Raise the alerts the calendar brings between `since` (the previous business day) and `today`."""
    over_90 = invoice_over_90_alerts(creditor.creditor_id,
                                     store.entering_over_90(creditor.creditor_id, days_after(since, today)),
                                     since, today)
    first, last = dispute_waiting_window(since, today, rules)
    waiting = dispute_waiting_alerts(creditor.creditor_id,
                                     store.disputes_opened_between(creditor.creditor_id, first, last),
                                     since, today, rules)
    return store.raise_alerts([*over_90, *waiting], now)


def finance_recipients(creditor: Creditor) -> tuple[str, ...]:
    """Where the digest goes: the creditor's finance addresses only (the contact address is the debtors' reply-to,
    not necessarily finance's inbox); none set, no digest: the alerts stay on the dashboard."""
    return tuple(address for address in creditor.finance_emails if address.strip())


def send_digests(now: datetime, store: AlertsStore, mailer: DigestMailer, closed_for: Callable[[Creditor], Container[date]],
                 rules_for: Callable[[Creditor], AlertRules], backoffice_url: str,
                 business_date: date | None = None) -> DigestReport:
    """For every creditor open today: the day's sweep, then one digest of the alerts not mailed yet.

    `business_date` replaces each creditor's local today (the demo and the tests replay a calendar).
    """
    report = DigestReport()
    for creditor in store.list_creditors():
        report.creditors += 1
        closed = closed_for(creditor)
        today = business_date or now.astimezone(ZoneInfo(creditor.timezone)).date()
        if not is_business_day(today, closed):
            report.closed.append(creditor.creditor_id)
            continue
        report.alerts_raised += len(sweep_day(creditor, previous_business_day(today, closed), today, now,
                                              rules_for(creditor), store))
        recipients = finance_recipients(creditor)
        if not recipients:
            report.without_recipient.append(creditor.creditor_id)  # the alerts wait in the outbox
            continue
        if not store.claim_digest(creditor.creditor_id, today, now):
            report.already_sent += 1
            continue
        pending = store.pending_alerts(creditor.creditor_id)
        alerts = newest_first((alert for alert, _at in pending), {alert.alert_id: at for alert, at in pending})
        if not alerts:
            store.complete_digest(creditor.creditor_id, today, [], None)
            continue
        mail = AlertsDigestMail(creditor, recipients, creditor.language, today,
                                tuple(DigestLine(alert, backoffice_url.rstrip("/") + alert.path) for alert in alerts),
                                f"{creditor.creditor_id}:digest:{today.isoformat()}")
        message_id = mailer.send_alerts_digest(mail)
        store.complete_digest(creditor.creditor_id, today, alerts, message_id)
        report.digests_sent += 1
        report.alerts_mailed += len(alerts)
    return report
