"""Sending hours: the automatic schedule respects them, an operator's explicit run does not wait."""

from __future__ import annotations

from datetime import UTC, date, datetime

from relance.domain.parties import Creditor
from relance.services.dunning import _outside_hours
from relance.services.jobs import ReminderJob
from tests.unit.dunning_builders import LADDER

PARIS = Creditor("c1", "Acme", timezone="Europe/Paris")
EVENING = datetime(2026, 11, 23, 20, 30, tzinfo=UTC)  # 21:30 in Paris


def test_a_scheduled_mail_waits_outside_the_creditors_sending_hours():
    assert _outside_hours(PARIS, LADDER, EVENING, ReminderJob("c1", "d1", date(2026, 11, 23)))


def test_a_scheduled_mail_goes_inside_sending_hours():
    morning = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # 09:00 in Paris

    assert not _outside_hours(PARIS, LADDER, morning, ReminderJob("c1", "d1", date(2026, 11, 23)))


def test_a_day_the_operator_asked_for_runs_when_asked():
    assert not _outside_hours(PARIS, LADDER, EVENING, ReminderJob("c1", "d1", date(2026, 11, 23), forced=True))
