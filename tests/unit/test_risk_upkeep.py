"""Keeping a debtor's stored risk up to date (issue 8): write only what changed, record band changes, retry
after a concurrent write, and raise the alerts a debtor's change calls for."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from relance.domain.alerts import AlertKind, AlertRules
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.parties import Debtor
from relance.domain.risk import RiskReason, RiskScore, inputs_from_open_invoices, score_risk
from relance.domain.risk_upkeep import StoredRisk, reasons_from_stored, risk_update, stored_reasons
from relance.services.risk_upkeep import DebtorChange, RiskOutcome, debtor_changed, keep_risk, over_90_watch_lines

TODAY = date(2025, 12, 1)
NOW = datetime(2025, 12, 1, 10, tzinfo=UTC)


class Changed(Exception):
    pass


def an_invoice(number: str = "F-1", days_late: int = 10, total: int = 1_000_00) -> Invoice:
    due_on = TODAY - timedelta(days=days_late)
    return Invoice("c1", "d1", number, due_on - timedelta(days=30), due_on, Money(total, "EUR"), Money(0, "EUR"))


def a_debtor(bounced: int = 0) -> Debtor:
    return Debtor("c1", "d1", "Client SARL", undeliverable=tuple(f"x{n}@example.fr" for n in range(bounced)))


def stored_as(score: RiskScore) -> StoredRisk:
    return StoredRisk(score.score, score.band, stored_reasons(score))


class FakeStore:
    def __init__(self, conflicts: int = 0, snapshot: tuple | None = None) -> None:
        self.writes: list[tuple] = []
        self.alerts: list = []
        self.watched: list = []
        self.conflicts = conflicts
        self.snapshot = snapshot

    def debtor_snapshot(self, creditor_id, debtor_id):
        return self.snapshot

    def record_risk(self, creditor_id, debtor_id, seen, update, audit, alert, now):
        if self.conflicts:
            self.conflicts -= 1
            raise Changed(debtor_id)
        self.writes.append((seen, update, audit))
        if alert is not None:
            self.alerts.append(alert)

    def raise_alerts(self, alerts, now):
        alerts = list(alerts)
        self.alerts.extend(alerts)
        return alerts

    def watch_over_90(self, lines, creditor_id):
        self.watched.extend(lines)


def test_an_unchanged_score_asks_for_no_write():
    score = score_risk(inputs_from_open_invoices([an_invoice()], TODAY))

    assert risk_update(stored_as(score), score) is None


def test_a_first_score_is_written_without_an_audit_event_it_sets_a_band_it_changes_none():
    score = score_risk(inputs_from_open_invoices([an_invoice()], TODAY))

    update = risk_update(StoredRisk(), score)

    assert update is not None and update.band_before is None and update.band == score.band
    assert not update.band_changed and update.audit_event() is None


def test_a_band_change_is_audited_with_before_after_score_and_reasons():
    low = score_risk(inputs_from_open_invoices([an_invoice(days_late=1, total=100_00)], TODAY))
    medium = score_risk(inputs_from_open_invoices([an_invoice(days_late=120, total=50_000_00)], TODAY))

    update = risk_update(stored_as(low), medium)

    assert update is not None
    assert update.audit_event() == {"action": "risk_band_changed", "actor": "system", "band_before": "low",
                                    "band_after": "medium", "score": medium.score,
                                    "reasons": [r.code for r in medium.reasons]}


def test_a_new_score_in_the_same_band_is_written_without_an_audit_event():
    before = score_risk(inputs_from_open_invoices([an_invoice(days_late=5)], TODAY))
    after = score_risk(inputs_from_open_invoices([an_invoice(days_late=6)], TODAY))

    update = risk_update(stored_as(before), after)

    assert before.band == after.band and update is not None and update.audit_event() is None


def test_stored_reasons_read_back_as_the_same_reasons():
    score = score_risk(inputs_from_open_invoices([an_invoice(days_late=40, total=20_000_00)], TODAY))

    again = reasons_from_stored(stored_reasons(score))

    assert [(r.code, r.points) for r in again] == [(r.code, r.points) for r in score.reasons]
    amounts = [r.params["amount"] for r in again if r.code == "risk.overdue_amount"]
    assert amounts == [Money(20_000_00, "EUR")]


def test_keep_risk_moves_the_band_and_writes_one_audit_event():
    store = FakeStore()
    low = stored_as(score_risk(inputs_from_open_invoices([an_invoice(days_late=1, total=100_00)], TODAY)))
    change = DebtorChange(a_debtor(bounced=1), [an_invoice(days_late=120, total=50_000_00)], low)

    outcome = keep_risk(change, TODAY, NOW, store, Changed)

    assert outcome is RiskOutcome.BAND_CHANGED
    (seen, update, audit), = store.writes
    assert seen == low and audit["band_before"] == "low" and audit["band_after"] == update.band == "medium"
    assert store.alerts == []  # medium is not an alert


def test_broken_plans_count_and_can_take_a_debtor_to_high_risk_with_an_alert():
    store = FakeStore()
    medium = stored_as(score_risk(inputs_from_open_invoices([an_invoice(days_late=120, total=50_000_00)], TODAY)))
    disputed = replace(an_invoice("F-2", days_late=30), disputed=True)
    change = DebtorChange(a_debtor(bounced=1), [an_invoice(days_late=120, total=50_000_00), disputed], medium,
                          broken_commitments=2)  # 20 + 15 + 5 + 5 + 15 = 60 points

    outcome = keep_risk(change, TODAY, NOW, store, Changed)

    assert outcome is RiskOutcome.BAND_CHANGED
    (_seen, update, audit), = store.writes
    assert (audit["band_before"], update.band) == ("medium", "high")
    assert [a.kind for a in store.alerts] == [AlertKind.HIGH_RISK]


def test_keep_risk_writes_nothing_when_the_item_already_carries_the_score():
    store = FakeStore()
    invoices = [an_invoice(days_late=30)]
    stored = stored_as(score_risk(inputs_from_open_invoices(invoices, TODAY)))

    outcome = keep_risk(DebtorChange(a_debtor(), invoices, stored), TODAY, NOW, store, Changed)

    assert outcome is RiskOutcome.UNCHANGED and store.writes == [] and store.alerts == []


def test_after_a_concurrent_write_the_debtor_is_read_again_and_scored_from_what_is_stored_now():
    newer_invoices = [an_invoice(days_late=100, total=30_000_00)]
    concurrent = StoredRisk(12, "low", ())
    store = FakeStore(conflicts=1, snapshot=(a_debtor(), newer_invoices, concurrent, 0))

    keep_risk(DebtorChange(a_debtor(), [an_invoice()], StoredRisk()), TODAY, NOW, store, Changed)

    (seen, update, _audit), = store.writes
    assert seen == concurrent
    assert update.score == score_risk(inputs_from_open_invoices(newer_invoices, TODAY)).score


def test_a_debtor_that_keeps_changing_fails_loudly_so_the_record_is_retried():
    store = FakeStore(conflicts=10, snapshot=(a_debtor(), [an_invoice()], StoredRisk(), 0))

    with pytest.raises(RuntimeError):
        keep_risk(DebtorChange(a_debtor(), [an_invoice()], StoredRisk()), TODAY, NOW, store, Changed)


def test_a_balance_going_above_the_threshold_raises_a_large_amount_alert():
    store = FakeStore()
    change = DebtorChange(a_debtor(), [an_invoice(total=600_00), an_invoice("F-2", total=500_00)], StoredRisk(),
                          invoices_before=[an_invoice(total=600_00)])

    debtor_changed(change, TODAY, NOW, store, Changed, AlertRules(large_amount_minor={"EUR": 1_000_00}))

    assert [a.kind for a in store.alerts] == [AlertKind.LARGE_AMOUNT]


def test_new_invoices_and_new_due_dates_are_watched_for_the_over_90_bucket():
    kept = an_invoice("F-1", days_late=10)
    moved = an_invoice("F-2", days_late=20)
    new = an_invoice("F-3", days_late=5)
    earlier_moved = an_invoice("F-2", days_late=3)
    change = DebtorChange(a_debtor(), [kept, moved, new], StoredRisk(), invoices_before=[kept, earlier_moved])

    lines = over_90_watch_lines(change)

    assert lines == [(moved.due_on + timedelta(days=91), "d1", "F-2"), (new.due_on + timedelta(days=91), "d1", "F-3")]


def test_reasons_without_a_parameter_value_store_cleanly():
    score = RiskScore(0, "low", (RiskReason("risk.overdue_amount", 0, {"amount": None}),))

    assert stored_reasons(score) == ()


def test_the_high_risk_and_large_amount_alerts_carry_the_debtors_name():
    # 120 days late: 20; 50 000 € overdue: 15; two broken plans: 15; one dispute: 5; one bounce: 5 → 60, high
    invoices = [replace(an_invoice("F-1", days_late=120, total=50_000_00), disputed=True)]
    change = DebtorChange(a_debtor(bounced=1), invoices, StoredRisk(), invoices_before=[], broken_commitments=2)
    store = FakeStore()

    debtor_changed(change, TODAY, NOW, store, Changed)

    kinds = {alert.kind: alert.debtor_name for alert in store.alerts}
    assert kinds == {AlertKind.HIGH_RISK: "Client SARL", AlertKind.LARGE_AMOUNT: "Client SARL"}
