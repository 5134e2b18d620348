"""The job the daily scan queues for each debtor with something due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from relance.domain.dunning import contact_id


@dataclass(frozen=True, slots=True)
class ReminderJob:
    """Look at this debtor on this business day (the date the scan decided, in the creditor's zone)."""

    creditor_id: str
    debtor_id: str
    business_date: date
    forced: bool = False  # an operator asked for this day: it runs now, whatever the sending hours
    early: bool = False  # finance asked for the next step now: it is brought forward if not due yet

    @property
    def reminder_id(self) -> str:
        """The worker's idempotency key; finance's request has its own, so a scan job that found nothing
        due today does not swallow it. The day's contact item still allows one contact a day."""
        base = contact_id(self.creditor_id, self.debtor_id, self.business_date)
        return f"{base}:now" if self.early else base

    def to_dict(self) -> dict[str, Any]:
        return {
            "reminder_id": self.reminder_id,
            "creditor_id": self.creditor_id,
            "debtor_id": self.debtor_id,
            "business_date": self.business_date.isoformat(),
            "forced": self.forced,
            "early": self.early,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReminderJob:
        return cls(data["creditor_id"], data["debtor_id"], date.fromisoformat(data["business_date"]),
                   bool(data.get("forced", False)), bool(data.get("early", False)))


class JobQueue(Protocol):
    def send_jobs(self, jobs: list[ReminderJob]) -> None:
        """Queue every job (at least once)."""
