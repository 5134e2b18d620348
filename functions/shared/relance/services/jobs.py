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

    @property
    def reminder_id(self) -> str:
        return contact_id(self.creditor_id, self.debtor_id, self.business_date)

    def to_dict(self) -> dict[str, Any]:
        return {
            "reminder_id": self.reminder_id,
            "creditor_id": self.creditor_id,
            "debtor_id": self.debtor_id,
            "business_date": self.business_date.isoformat(),
            "forced": self.forced,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReminderJob:
        return cls(data["creditor_id"], data["debtor_id"], date.fromisoformat(data["business_date"]),
                   bool(data.get("forced", False)))


class JobQueue(Protocol):
    def send_jobs(self, jobs: list[ReminderJob]) -> None:
        """Queue every job (at least once)."""
