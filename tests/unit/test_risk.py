"""The risk score: each factor pushes the right way, one changed fact moves the band, the reasons are the top three."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.risk import (
    PaymentHistory,
    RiskBands,
    RiskInputs,
    SettledInvoice,
    inputs_from_open_invoices,
    score_risk,
)

TODAY = date(2025, 3, 31)


def eur(minor: int) -> Money:
    return Money(minor, "EUR")


def history(*days_late: int) -> PaymentHistory:
    due = date(2024, 6, 1)
    return PaymentHistory(tuple(SettledInvoice(due, due + timedelta(days=d)) for d in days_late))


def test_a_debtor_with_nothing_against_them_scores_zero_and_is_low():
    score = score_risk(RiskInputs())

    assert score.score == 0
    assert score.band == "low"
    assert score.reasons == ()


def test_payment_history_gives_average_days_late_and_share_paid_late():
    past = history(0, 10, 20, 30)

    assert past.average_days_late == Decimal("15.0")  # (0 + 10 + 20 + 30) / 4
    assert past.share_paid_late == Decimal(3) / 4


@pytest.mark.parametrize(("worse", "code"), [
    ({"history": history(60)}, "risk.average_days_late"),
    ({"history": history(0, 0, 1)}, "risk.share_paid_late"),
    ({"overdue": (eur(5_000_00),)}, "risk.overdue_amount"),
    ({"oldest_overdue_days": 45}, "risk.oldest_overdue"),
    ({"broken_commitments": 1}, "risk.broken_commitments"),
    ({"open_disputes": 1}, "risk.open_disputes"),
    ({"bounced_contacts": 1}, "risk.bounced_contacts"),
])
def test_each_factor_raises_the_score_and_names_itself(worse, code):
    before = score_risk(RiskInputs())

    after = score_risk(replace(RiskInputs(), **worse))

    assert after.score > before.score
    assert after.reasons[0].code == code


def test_points_grow_with_the_fact_then_stop_at_the_factor_maximum():
    # oldest overdue: 20 points full at 90 days → 45 days is 10 points, 90 and 400 days are 20
    assert score_risk(RiskInputs(oldest_overdue_days=45)).score == 10
    assert score_risk(RiskInputs(oldest_overdue_days=90)).score == 20
    assert score_risk(RiskInputs(oldest_overdue_days=400)).score == 20
    # overdue amount: 15 points full at 10 000 → 2 500.00 € is 3.75, rounded half-up to 4
    assert score_risk(RiskInputs(overdue=(eur(2_500_00),))).score == 4


def test_one_more_broken_promise_moves_the_debtor_from_medium_to_high():
    # 45 days oldest overdue: 10; 5 000 € overdue: 7.5 → 8; history 30 days late on average: 10,
    # all late: 15; one dispute: 5 → 48, medium. A broken promise adds 8 → 56: still medium;
    # a second one takes the factor to its cap of 15 (7 more) → 63, high.
    inputs = RiskInputs(history=history(30, 30), overdue=(eur(5_000_00),), oldest_overdue_days=45,
                        broken_commitments=1, open_disputes=1)
    medium = score_risk(inputs)

    high = score_risk(replace(inputs, broken_commitments=2))

    assert (medium.score, medium.band) == (56, "medium")
    assert (high.score, high.band) == (63, "high")


def test_bands_are_data():
    inputs = RiskInputs(oldest_overdue_days=90)

    assert score_risk(inputs).band == "low"  # 20 points
    assert score_risk(inputs, bands=RiskBands(medium_from=10, high_from=20)).band == "high"


def test_the_reasons_are_the_three_largest_contributions_largest_first():
    inputs = RiskInputs(history=history(60), oldest_overdue_days=30, open_disputes=1, bounced_contacts=1,
                        overdue=(eur(1_000_00),))

    score = score_risk(inputs)

    # average 60 days late: 20; all paid late: 15; oldest 30 days: 6.67 → 7; dispute 5; bounce 5; 1 000 €: 1.5 → 2
    assert [(r.code, r.points) for r in score.reasons] == [
        ("risk.average_days_late", 20), ("risk.share_paid_late", 15), ("risk.oldest_overdue", 7)]
    assert score.score == 20 + 15 + 7 + 5 + 5 + 2
    assert score.reasons[2].params == {"days": 30}


def test_inputs_from_open_invoices_take_overdue_oldest_and_disputes():
    def invoice(number, late, total, disputed=False, currency="EUR"):
        due = TODAY - timedelta(days=late)
        return Invoice("c-1", "d-1", number, due - timedelta(days=30), due, Money(total, currency),
                       Money(0, currency), disputed=disputed)

    inputs = inputs_from_open_invoices(
        [invoice("F-1", 40, 1_000_00), invoice("F-2", 10, 250_00, disputed=True), invoice("F-3", -5, 900_00),
         invoice("G-1", 70, 80_00, currency="GBP")], TODAY, bounced_contacts=2)

    assert inputs.overdue == (eur(1_250_00), Money(80_00, "GBP"))
    assert inputs.oldest_overdue_days == 70
    assert inputs.open_disputes == 1
    assert inputs.bounced_contacts == 2
