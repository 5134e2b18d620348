"""Installment plans on moto: one transaction per state change, the daily scan leaves planned invoices alone,
two finance users approving at once make one decision, a broken plan resumes dunning where it stood."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest

from relance.adapters.plans_store import PlansStore
from relance.adapters.policies import load_packaged_policy
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.parties import Creditor, Debtor
from relance.domain.plans import PlanState
from relance.services.plans import (
    PlanAlreadyDecided,
    ScheduleTerms,
    activate_plan,
    answer_counter,
    break_plan,
    decide_plan,
    propose_plan,
    withdraw_plan,
)

CREDITOR = Creditor("acme", "Acme Fournitures SAS")
DEBTOR = Debtor("acme", "d-1", "Boulangerie Dupont", emails=("ap@dupont.example",))
TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)  # audit events sort by their instant
BOOK = load_packaged_policy("fr-b2b")
INSIDE = ScheduleTerms(3, date(2026, 12, 15), Money(200_00, "EUR"))  # 10 % down, 3 x 600 EUR, ends in February
OUTSIDE = ScheduleTerms(10, date(2026, 12, 15))  # no down payment, 10 months: three rules broken


def policies_for(_creditor: Creditor):
    return BOOK


def closed_for(_creditor: Creditor) -> frozenset[date]:
    return frozenset()


def an_invoice(number: str, due_on: date, last_step: str, last_step_on: date, next_action_on: date) -> Invoice:
    return Invoice("acme", "d-1", number, due_on - timedelta(days=30), due_on, Money(1_000_00, "EUR"),
                   Money(0, "EUR"), last_step=last_step, last_step_on=last_step_on, next_action_on=next_action_on)


@pytest.fixture
def store(stack) -> PlansStore:
    store = PlansStore(stack.physical["RelanceTable"])
    store.put_creditor(CREDITOR)
    store.put_new_invoices([
        an_invoice("F-1", date(2026, 10, 1), "reminder_2", date(2026, 11, 16), TODAY + timedelta(days=1)),
        an_invoice("F-2", date(2026, 10, 15), "reminder_1", date(2026, 11, 18), TODAY + timedelta(days=3)),
    ], [DEBTOR])
    return store


def propose(store, terms: ScheduleTerms, now: datetime = NOW):
    return propose_plan("acme", "d-1", None, terms, "Trésorerie tendue cet hiver", now, store, policies_for,
                        closed_for)


def decide(store, plan_id: str, decision: str, counter: ScheduleTerms | None = None, actor: str = "fin@acme.example"):
    return decide_plan("acme", "d-1", plan_id, decision, actor, "vu avec le client", LATER, store, policies_for,
                       closed_for, counter=counter)


def serialise_moto_transactions(monkeypatch) -> None:
    """One transaction at a time, as DynamoDB runs them: moto checks conditions and writes without a lock,
    so two threads could both pass a condition before either writes (a moto limit, not a DynamoDB one)."""
    import moto.dynamodb.models as dynamodb_models

    original = dynamodb_models.DynamoDBBackend.transact_write_items
    lock = threading.Lock()

    def transact_write_items(self, *args, **kwargs):
        with lock:
            return original(self, *args, **kwargs)

    monkeypatch.setattr(dynamodb_models.DynamoDBBackend, "transact_write_items", transact_write_items)


def scanned(store) -> set[str]:
    return {d.number for d in store.due_invoices("acme", TODAY + timedelta(days=400))}


def test_a_proposal_inside_the_rules_is_accepted_at_once_and_its_invoices_leave_the_daily_scan(store):
    stored = propose(store, INSIDE)

    assert stored.plan.state is PlanState.ACCEPTED
    plan = store.find_plan("acme", "d-1", stored.plan.plan_id)
    assert plan.plan.state is PlanState.ACCEPTED and plan.version == 1
    assert [i.amount.minor for i in plan.plan.schedule] == [600_00, 600_00, 600_00]
    assert scanned(store) == set()
    _debtor, summary = store.dunning_view("acme", "d-1")
    assert {(i.number, i.in_plan, i.next_action_on) for i in summary} == {("F-1", True, None), ("F-2", True, None)}
    assert store.plan_queue("acme") == []
    audit = store.audit_of("acme", "d-1")
    assert [(a["action"], a["actor"], a["to_state"]) for a in audit] == [
        ("plan_accept_automatically", "engine", "accepted")]
    assert [e["actor"] for e in plan.log] == ["debtor", "engine"]


def test_a_proposal_outside_the_rules_is_queued_with_its_breaches_and_dunning_goes_on(store):
    stored = propose(store, OUTSIDE)

    assert stored.plan.state is PlanState.PROPOSED
    queue = store.plan_queue("acme")
    assert [q["plan_id"] for q in queue] == [stored.plan.plan_id]
    assert {b["rule"] for b in queue[0]["broken_rules"]} == {"max_installments", "max_duration", "min_down_payment"}
    assert scanned(store) == {"F-1", "F-2"}
    _debtor, summary = store.dunning_view("acme", "d-1")
    assert not any(i.in_plan for i in summary)
    assert [a["action"] for a in store.audit_of("acme", "d-1")] == ["plan_propose"]


def test_finance_counters_and_the_debtor_accepts_the_counter(store):
    plan_id = propose(store, OUTSIDE).plan.plan_id

    countered = decide(store, plan_id, "counter", counter=ScheduleTerms(4, date(2026, 12, 15), Money(400_00, "EUR")))
    accepted = answer_counter("acme", "d-1", plan_id, "accept", LATER + timedelta(minutes=1), store, policies_for, closed_for)

    assert countered.plan.state is PlanState.COUNTERED and store.plan_queue("acme") == []
    assert accepted.plan.state is PlanState.ACCEPTED
    assert [i.amount.minor for i in accepted.plan.schedule] == [400_00] * 4
    assert scanned(store) == set()
    audit = store.audit_of("acme", "d-1")
    assert [(a["action"], a["actor"]) for a in audit] == [
        ("plan_propose", "debtor"), ("plan_counter", "fin@acme.example"), ("plan_accept_counter", "debtor")]


def test_a_rejected_proposal_leaves_dunning_unchanged(store):
    before = store.dunning_view("acme", "d-1")[1]
    plan_id = propose(store, OUTSIDE).plan.plan_id

    rejected = decide(store, plan_id, "reject")

    assert rejected.plan.state is PlanState.REJECTED
    after = store.dunning_view("acme", "d-1")[1]
    assert [(i.number, i.next_action_on, i.in_plan) for i in after] == [
        (i.number, i.next_action_on, i.in_plan) for i in before]
    assert store.plan_queue("acme") == []
    assert store.audit_of("acme", "d-1")[-1]["reason"] == "vu avec le client"


def test_a_withdrawn_proposal_leaves_the_queue_and_cannot_be_approved(store):
    plan_id = propose(store, OUTSIDE).plan.plan_id

    withdraw_plan("acme", "d-1", plan_id, NOW, store, policies_for, closed_for)

    assert store.plan_queue("acme") == []
    with pytest.raises(PlanAlreadyDecided, match="withdrawn"):
        decide(store, plan_id, "approve")


def test_two_finance_users_approving_at_once_make_exactly_one_decision(store, monkeypatch):
    plan_id = propose(store, OUTSIDE).plan.plan_id
    both_read = threading.Barrier(2, timeout=30)
    first_read = threading.local()
    find_plan = store.find_plan

    def find_plan_then_wait(*args):
        found = find_plan(*args)
        if not getattr(first_read, "done", False):  # both threads hold the proposal before either writes
            first_read.done = True
            both_read.wait()
        return found

    monkeypatch.setattr(store, "find_plan", find_plan_then_wait)
    serialise_moto_transactions(monkeypatch)
    outcomes: dict[str, object] = {}

    def approve(actor: str) -> None:
        try:
            outcomes[actor] = decide(store, plan_id, "approve", actor=actor).plan.state
        except Exception as exc:  # noqa: BLE001 - kept to be asserted on below
            outcomes[actor] = exc

    threads = [threading.Thread(target=approve, args=(actor,)) for actor in ("ana@acme.example", "bob@acme.example")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    won = [actor for actor, outcome in outcomes.items() if outcome is PlanState.ACCEPTED]
    lost = [outcome for outcome in outcomes.values() if isinstance(outcome, PlanAlreadyDecided)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    assert "already accepted" in str(lost[0]) and lost[0].params["state"] == "accepted"
    approvals = [a for a in store.audit_of("acme", "d-1") if a["action"] == "plan_approve"]
    assert [a["actor"] for a in approvals] == won
    assert find_plan("acme", "d-1", plan_id).version == 2


def test_a_broken_plan_resumes_dunning_at_the_step_the_invoices_had_reached(store):
    plan_id = propose(store, INSIDE).plan.plan_id
    activate_plan("acme", "d-1", plan_id, NOW, store, policies_for, closed_for)
    broken_at = datetime(2027, 1, 27, 9, 0, tzinfo=UTC)

    broken = break_plan("acme", "d-1", plan_id, "installment 1 unpaid after the grace period", broken_at, store,
                        policies_for, closed_for)

    assert broken.plan.state is PlanState.BROKEN
    _debtor, summary = store.dunning_view("acme", "d-1")
    assert all(not i.in_plan and i.next_action_on is not None for i in summary)
    assert {i.last_step for i in summary} == {"reminder_2", "reminder_1"}  # the ladder is not restarted
    assert scanned(store) == {"F-1", "F-2"}
    audit = store.audit_of("acme", "d-1")[-1]
    assert (audit["action"], audit["actor"], audit["reason"]) == (
        "plan_break", "engine", "installment 1 unpaid after the grace period")
    # Months late, each invoice carries on with the step reached that day after its last one, stopping at the
    # required formal notice it never had: never the courtesy notice or the first reminder again.
    assert {n: r["step"] for n, r in audit["resumes"].items()} == {"F-1": "formal_notice", "F-2": "formal_notice"}
    assert min(date.fromisoformat(r["on"]) for r in audit["resumes"].values()) > date(2027, 1, 27)


def test_an_accepted_plan_never_activated_can_be_broken_and_dunning_resumes(store):
    plan_id = propose(store, INSIDE).plan.plan_id

    broken = break_plan("acme", "d-1", plan_id, "down payment not received", datetime(2027, 1, 27, 9, 0, tzinfo=UTC),
                        store, policies_for, closed_for)

    assert broken.plan.state is PlanState.BROKEN
    _debtor, summary = store.dunning_view("acme", "d-1")
    assert all(not i.in_plan and i.next_action_on is not None for i in summary)


def test_a_proposal_without_invoices_named_asks_for_one_currency_when_the_overdue_ones_mix_two(store):
    from dataclasses import replace

    from relance.domain.errors import InvalidPlanProposal

    pounds = replace(an_invoice("F-GB", date(2026, 10, 1), "reminder_1", date(2026, 11, 16), TODAY),
                     total=Money(500_00, "GBP"), paid=Money(0, "GBP"))
    store.put_new_invoices([pounds], [])

    with pytest.raises(InvalidPlanProposal, match="EUR, GBP: name the invoices of one currency"):
        propose(store, ScheduleTerms(3, date(2026, 12, 15)))
    named = propose_plan("acme", "d-1", ["F-GB"], ScheduleTerms(3, date(2026, 12, 15)), "", NOW, store,
                         policies_for, closed_for)

    assert named.plan.currency == "GBP" and [i.number for i in named.plan.proposal.invoices] == ["F-GB"]


def test_a_plan_stored_before_collection_settings_existed_reads_with_the_default_ones(store):
    from relance.adapters import keys
    from relance.adapters.aws import client

    stored = propose(store, INSIDE)
    key = keys.plan_key("acme", "d-1", stored.plan.plan_id)
    client("dynamodb").update_item(TableName=store.table_name, Key={k: {"S": v} for k, v in key.items()},
                                   UpdateExpression="REMOVE grace_days, reminder_days_before")

    read = store.find_plan("acme", "d-1", stored.plan.plan_id)

    assert (read.plan.grace_days, read.plan.reminder_days_before) == (7, 3)
