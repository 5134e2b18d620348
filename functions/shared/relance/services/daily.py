"""The daily scan: which debtors need the engine today, per creditor, from the sparse index; and, on a creditor's
first business day of the month, the snapshot of last month's end for the dashboard's DSO trend."""

from __future__ import annotations

from collections.abc import Callable, Container
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from relance.adapters.dynamo import DueInvoice
from relance.domain.aging import month_of
from relance.domain.calendar import is_business_day, next_business_day
from relance.domain.parties import Creditor
from relance.services.dashboard import MonthEndBook, record_month_end
from relance.services.jobs import JobQueue, ReminderJob


class DueIndex(Protocol):
    def list_creditors(self) -> list[Creditor]: ...

    def due_invoices(self, creditor_id: str, day: date, counter: list[int] | None = None) -> Any: ...


@dataclass
class ScanReport:
    """What one scan found and queued."""

    creditors: int = 0
    closed: list[str] = field(default_factory=list)  # creditors for whom today is not a business day
    debtors_queued: int = 0
    invoices_due: int = 0
    items_read: int = 0
    month_ends_written: int = 0  # month-end snapshots taken (0 on a second delivery: each is written once)

    def to_dict(self) -> dict[str, Any]:
        return {
            "creditors": self.creditors,
            "closed": self.closed,
            "debtors_queued": self.debtors_queued,
            "invoices_due": self.invoices_due,
            "items_read": self.items_read,
            "month_ends_written": self.month_ends_written,
        }


def local_business_date(creditor: Creditor, now: datetime) -> date:
    """Today in the creditor's time zone."""
    return now.astimezone(ZoneInfo(creditor.timezone)).date()


def scan_day(
    now: datetime,
    index: DueIndex,
    queue: JobQueue,
    closed_for: Callable[[Creditor], Container[date]],
    business_date: date | None = None,
    month_ends: MonthEndBook | None = None,
) -> ScanReport:
    """Queue one job per debtor with an action due today, for every creditor open today.

    `business_date` replaces each creditor's local today (time travel for the demo and tests).
    Invoices whose action fell on a closed day are picked up on the next business day, once. With `month_ends`,
    a creditor's first business day of the month also takes the snapshot of last month's end (once).
    """
    report = ScanReport()
    for creditor in index.list_creditors():
        report.creditors += 1
        today = business_date or local_business_date(creditor, now)
        closed = closed_for(creditor)
        if not is_business_day(today, closed):
            report.closed.append(creditor.creditor_id)
            continue
        counter = [0]
        debtors: dict[str, list[DueInvoice]] = {}
        for due in index.due_invoices(creditor.creditor_id, today, counter):
            debtors.setdefault(due.debtor_id, []).append(due)
            report.invoices_due += 1
        report.items_read += counter[0]
        forced = business_date is not None
        queue.send_jobs([ReminderJob(creditor.creditor_id, debtor_id, today, forced) for debtor_id in sorted(debtors)])
        report.debtors_queued += len(debtors)
        if month_ends is not None and today == next_business_day(month_of(today), closed):
            if record_month_end(creditor.creditor_id, today, month_ends):
                report.month_ends_written += 1
    return report
