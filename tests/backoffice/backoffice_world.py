"""A creditor, its debtors, proposals in finance's queue and back-office accounts, on the moto stack."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from relance.adapters.cognito import add_user
from relance.adapters.plans_store import PlansStore
from relance.adapters.wiring import closed_for, policies_for
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.parties import Creditor, Debtor
from relance.services.plans import ScheduleTerms, StoredPlan, propose_plan

CREDITOR = Creditor("atelier", "Atelier Lumière SAS")
OTHER_CREDITOR = Creditor("autre", "Autre SAS")
PASSWORD = "Correct-Horse-42"
FINANCE = "marie@atelier.example"
FINANCE_2 = "paul@atelier.example"
VIEWER = "lea@atelier.example"
OUTSIDER = "noemie@autre.example"


def today() -> date:
    return datetime.now(ZoneInfo(CREDITOR.timezone)).date()


def outside_terms() -> ScheduleTerms:
    """Ten monthly installments and no down payment: more installments and a longer plan than fr-b2b allows."""
    return ScheduleTerms(10, today() + timedelta(days=20))


@dataclass
class World:
    store: PlansStore
    pool_id: str

    def seed_debtor(self, debtor_id: str, name: str, creditor: Creditor = CREDITOR) -> Debtor:
        debtor = Debtor(creditor.creditor_id, debtor_id, name, emails=(f"ap@{debtor_id}.example",))
        invoices = [
            Invoice(creditor.creditor_id, debtor_id, f"F-{debtor_id}-{n}", today() - timedelta(days=late + 30),
                    today() - timedelta(days=late), Money(amount, "EUR"), Money(0, "EUR"),
                    last_step="reminder_1", last_step_on=today() - timedelta(days=3),
                    next_action_on=today() + timedelta(days=1))
            for n, (amount, late) in enumerate(((1_250_00, 60), (840_50, 35)), start=1)
        ]
        self.store.put_new_invoices(invoices, [debtor])
        return debtor

    def propose(self, debtor: Debtor, terms: ScheduleTerms | None = None) -> StoredPlan:
        return propose_plan(debtor.creditor_id, debtor.debtor_id, None, terms or outside_terms(),
                            "Trésorerie tendue cet hiver", datetime.now(UTC), self.store, policies_for, closed_for)


def plan_url(stored: StoredPlan, action: str = "") -> str:
    base = f"/plans/{stored.creditor_id}/{stored.debtor_id}/{stored.plan.plan_id}"
    return f"{base}/{action}" if action else base


def csrf_token(page_html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page_html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def make_world(table: str, pool_id: str) -> World:
    world = World(PlansStore(table), pool_id)
    world.store.put_creditor(CREDITOR)
    world.store.put_creditor(OTHER_CREDITOR)
    add_user(pool_id, FINANCE, "finance", CREDITOR.creditor_id, PASSWORD)
    add_user(pool_id, FINANCE_2, "finance", CREDITOR.creditor_id, PASSWORD)
    add_user(pool_id, VIEWER, "viewer", CREDITOR.creditor_id, PASSWORD)
    add_user(pool_id, OUTSIDER, "finance", OTHER_CREDITOR.creditor_id, PASSWORD)
    return world
