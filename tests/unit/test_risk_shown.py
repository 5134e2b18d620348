"""What the back office shows of a debtor's risk (issue 8): the score the debtor item carries, else the one the
debtor watch would store, computed from the same inputs."""

from __future__ import annotations

from datetime import date, timedelta

from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.parties import Debtor
from relance.domain.risk_upkeep import StoredRisk, stored_score
from relance.services.dashboard import debtor_risk, risk_of

TODAY = date(2025, 12, 1)
DEBTOR = Debtor("c1", "d1", "Client SARL")


def an_invoice(days_late: int) -> Invoice:
    due_on = TODAY - timedelta(days=days_late)
    return Invoice("c1", "d1", "F-1", due_on - timedelta(days=30), due_on, Money(1_000_00, "EUR"), Money(0, "EUR"))


STORED = StoredRisk(72, "high", ({"code": "risk.broken_commitments", "points": 15, "params": {"count": "2"}},
                                 {"code": "risk.overdue_amount", "points": 9,
                                  "params": {"amount_minor": "600000", "currency": "EUR"}}))


class FakeRiskReader:
    def __init__(self, stored: StoredRisk, broken: int = 0) -> None:
        self.stored, self.broken = stored, broken

    def stored_risk(self, creditor_id, debtor_id):
        return self.stored, self.broken


def test_the_stored_score_is_shown_even_where_a_fresh_one_would_differ():
    shown = risk_of(DEBTOR, [an_invoice(days_late=1)], STORED, 0, TODAY)

    assert (shown.risk.score, shown.risk.band, shown.is_stored) == (72, "high", True)
    assert [r.code for r in shown.risk.reasons] == ["risk.broken_commitments", "risk.overdue_amount"]
    assert shown.risk.reasons[1].params["amount"] == Money(6_000_00, "EUR")


def test_a_debtor_never_scored_is_computed_now_counting_their_broken_plans():
    shown = risk_of(DEBTOR, [an_invoice(days_late=0)], StoredRisk(), 2, TODAY)

    assert not shown.is_stored
    assert [(r.code, r.params["count"]) for r in shown.risk.reasons] == [("risk.broken_commitments", 2)]
    assert shown.risk.score == 15


def test_nothing_stored_reads_as_no_score():
    assert stored_score(StoredRisk()) is None


def test_the_debtor_page_reads_the_same_stored_score():
    shown = debtor_risk(DEBTOR, [an_invoice(days_late=1)], TODAY, FakeRiskReader(STORED))

    assert (shown.risk.score, shown.risk.band, shown.is_stored) == (72, "high", True)
