"""Finance's resolutions, call outcomes and pauses on moto: one transaction each, and the daily scan follows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from relance.adapters.backoffice_store import BackOfficeStore
from relance.adapters.policies import load_packaged_policy
from relance.adapters.s3 import S3Documents
from relance.domain.calendar import next_business_day
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.parties import Creditor, Debtor
from relance.services.disputes import DisputeNotOpen, DisputeRequest, Resolution, open_dispute, resolve_dispute
from relance.services.pauses import pause_dunning, resume_dunning

CREDITOR = Creditor("acme", "Acme Fournitures SAS")
DEBTOR = Debtor("acme", "d-1", "Boulangerie Dupont", emails=("ap@dupont.example",))
TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
POLICY = load_packaged_policy("fr-b2b").default
CLOSED: frozenset[date] = frozenset()


@pytest.fixture
def store(stack) -> BackOfficeStore:
    store = BackOfficeStore(stack.physical["RelanceTable"])
    store.put_creditor(CREDITOR)
    store.put_new_invoices([Invoice("acme", "d-1", n, date(2026, 9, 1), due, Money(1_000_00, "EUR"), Money(0, "EUR"),
                                    next_action_on=TODAY) for n, due in (("F-1", date(2026, 10, 1)),
                                                                          ("F-2", date(2026, 10, 15)))], [DEBTOR])
    open_dispute("acme", "d-1", DisputeRequest("F-1", "wrong_amount", "Trop cher"), TODAY, NOW, store,
                 S3Documents(stack.physical["DocumentsBucket"]), POLICY, CLOSED)
    return store


def due(store: BackOfficeStore, day: date) -> set[str]:
    return {d.number for d in store.due_invoices("acme", day)}


def test_a_rejected_dispute_goes_back_to_the_daily_scan(store):
    resolve_dispute("acme", "d-1", "F-1", Resolution.REJECT, "finance:marie", "Montant conforme au devis.", None,
                    NOW, store, POLICY, CLOSED)

    assert "F-1" in due(store, TODAY + timedelta(days=30))
    assert store.find_dispute("acme", "d-1", "F-1")["status"] == "rejected"
    assert sorted(a["action"] for a in store.audit_of("acme", "d-1")) == ["dispute_opened", "dispute_rejected"]
    assert [t for t in store.open_tasks("acme") if t["kind"] == "dispute"] == []


def test_an_accepted_dispute_settles_the_invoice_and_it_leaves_dunning(store):
    resolve_dispute("acme", "d-1", "F-1", Resolution.ACCEPT, "finance:marie", "", None, NOW, store, POLICY, CLOSED)

    assert store.find_invoice("acme", "d-1", "F-1").is_settled()
    assert "F-1" not in due(store, TODAY + timedelta(days=365))
    _debtor, summary = store.dunning_view("acme", "d-1")
    assert [i.number for i in summary] == ["F-2"]


def test_a_partial_credit_lowers_the_balance_and_dunning_resumes_for_the_rest(store):
    resolve_dispute("acme", "d-1", "F-1", Resolution.ACCEPT, "finance:marie", "", 400_00, NOW, store, POLICY, CLOSED)

    assert store.find_invoice("acme", "d-1", "F-1").balance == Money(600_00, "EUR")
    assert "F-1" in due(store, TODAY + timedelta(days=30))


def test_of_two_resolutions_at_once_one_wins(store):
    resolve_dispute("acme", "d-1", "F-1", Resolution.ACCEPT, "finance:marie", "", None, NOW, store, POLICY, CLOSED)

    with pytest.raises(DisputeNotOpen):
        resolve_dispute("acme", "d-1", "F-1", Resolution.REJECT, "finance:paul", "Non.", None, NOW, store, POLICY,
                        CLOSED)

    assert store.find_dispute("acme", "d-1", "F-1")["resolved_by"] == "finance:marie"
    assert [a["action"] for a in store.audit_of("acme", "d-1")].count("dispute_accepted") == 1


def test_a_pause_hides_the_debtor_from_the_scan_until_it_ends_and_resume_brings_it_back(store):
    until = TODAY + timedelta(days=10)

    pause_dunning("acme", "d-1", until.isoformat(), "Litige global", "finance:marie", TODAY, NOW, store, POLICY,
                  CLOSED)

    assert due(store, until) == set()
    assert "F-2" in due(store, next_business_day(until + timedelta(days=1), CLOSED))
    resume_dunning("acme", "d-1", "finance:marie", NOW, store, POLICY, CLOSED)
    debtor, _ = store.dunning_view("acme", "d-1")
    assert debtor.dunning_paused_until is None
    assert "F-2" in due(store, TODAY)
    actions = [a["action"] for a in store.audit_of("acme", "d-1")]  # one NOW for all: order within it is random
    assert sorted(actions) == ["dispute_opened", "dunning_paused", "dunning_resumed"]
