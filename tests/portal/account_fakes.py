"""In-memory stand-ins for the account pages' store and documents bucket, with PortalStore's conditions:
one open dispute per invoice, version-checked invoice writes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from tests.portal.portal_world import CREDITOR, INVOICES_OF_A, INVOICES_OF_B, World

from relance.adapters.dynamo import VersionConflict
from relance.adapters.policies import load_packaged_policy
from relance.adapters.s3 import StoredDocument
from relance.domain.invoices import Invoice
from relance.domain.parties import Creditor, Debtor
from relance.services.accounts import DebtorAccount
from relance.services.disputes import DisputeAlreadyOpen
from relance.services.plans import PlanChanged, PlanChangeWrite, StoredPlan
from relance_portal.account_services import AccountServices


class InMemoryAccountStore:
    """Invoices, disputes, contacts, audit events and finance tasks, in dictionaries."""

    def __init__(self, creditors: list[Creditor], debtors: dict, invoices: list[Invoice]) -> None:
        self.creditors = {c.creditor_id: c for c in creditors}
        self.debtors = debtors  # the world's: a revocation is seen here too
        self.invoices = {(i.creditor_id, i.debtor_id, i.number): i for i in invoices}
        self.disputes: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.contacts: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.audit: list[dict[str, Any]] = []
        self.tasks: list[dict[str, Any]] = []
        self.original_pdfs: dict[tuple[str, str, str], str] = {}
        self.plans: dict[tuple[str, str, str], StoredPlan] = {}

    def debtor_account(self, creditor_id: str, debtor_id: str) -> DebtorAccount | None:
        debtor = self.debtors.get((creditor_id, debtor_id))
        creditor = self.creditors.get(creditor_id)
        if debtor is None or creditor is None:
            return None
        mine = tuple(i for (c, d, _n), i in self.invoices.items() if (c, d) == (creditor_id, debtor_id))
        return DebtorAccount(creditor, debtor, mine)

    def recently_settled(self, creditor_id: str, debtor_id: str, limit: int) -> list[Invoice]:
        mine = [i for (c, d, _n), i in self.invoices.items() if (c, d) == (creditor_id, debtor_id) and i.is_settled()]
        return sorted(mine, key=lambda i: i.number, reverse=True)[:limit]

    def find_invoice(self, creditor_id: str, debtor_id: str, number: str) -> Invoice | None:
        return self.invoices.get((creditor_id, debtor_id, number))

    def original_pdf_key(self, creditor_id: str, debtor_id: str, number: str) -> str | None:
        return self.original_pdfs.get((creditor_id, debtor_id, number))

    def open_invoices(self, creditor_id: str, debtor_id: str) -> list[Invoice]:
        return [i for (c, d, _n), i in sorted(self.invoices.items())
                if (c, d) == (creditor_id, debtor_id) and not i.is_settled()]

    def find_dispute(self, creditor_id: str, debtor_id: str, number: str) -> dict[str, Any] | None:
        return self.disputes.get((creditor_id, debtor_id, number))

    def disputes_of(self, creditor_id: str, debtor_id: str) -> list[dict[str, Any]]:
        return [item for (c, d, _n), item in self.disputes.items() if (c, d) == (creditor_id, debtor_id)]

    def contacts_of(self, creditor_id: str, debtor_id: str) -> list[dict[str, Any]]:
        return list(self.contacts.get((creditor_id, debtor_id), []))

    def record_dispute(self, invoice: Invoice, dispute: dict[str, Any], audit: dict[str, Any],
                       task: dict[str, Any], now: datetime) -> None:
        key = (invoice.creditor_id, invoice.debtor_id, invoice.number)
        existing = self.disputes.get(key)
        if existing is not None and existing.get("status") == "open":
            raise DisputeAlreadyOpen("already open")
        self._check_versions([invoice])
        self.disputes[key] = {"creditor_id": invoice.creditor_id, "debtor_id": invoice.debtor_id, **dispute}
        self.audit.append({"debtor_id": invoice.debtor_id, "at": now.isoformat(), **audit})
        self.tasks.append(dict(task))
        self._write([invoice])

    def record_promise(self, invoices: list[Invoice], audit: dict[str, Any], now: datetime) -> None:
        self._check_versions(invoices)
        self.audit.append({"debtor_id": invoices[0].debtor_id, "at": now.isoformat(), **audit})
        self._write(invoices)

    # installment plans (PlansStore's reads and its one transaction per change)

    def get_creditor(self, creditor_id: str) -> Creditor | None:
        return self.creditors.get(creditor_id)

    def dunning_view(self, creditor_id: str, debtor_id: str) -> tuple[Debtor | None, list[Invoice]]:
        debtor = self.debtors.get((creditor_id, debtor_id))
        return debtor, self.open_invoices(creditor_id, debtor_id) if debtor is not None else []

    def find_plan(self, creditor_id: str, debtor_id: str, plan_id: str) -> StoredPlan | None:
        return self.plans.get((creditor_id, debtor_id, plan_id))

    def plans_of(self, creditor_id: str, debtor_id: str) -> list[StoredPlan]:
        return [p for (c, d, _i), p in sorted(self.plans.items()) if (c, d) == (creditor_id, debtor_id)]

    def write_plan_change(self, change: PlanChangeWrite, now: datetime) -> None:
        stored = change.stored
        key = (stored.creditor_id, stored.debtor_id, stored.plan.plan_id)
        existing = self.plans.get(key)
        if change.expected_state is None and existing is not None:
            raise PlanChanged(stored.plan.plan_id)
        if change.expected_state is not None and (
                existing is None or existing.plan.state is not change.expected_state
                or existing.version != stored.version):
            raise PlanChanged(stored.plan.plan_id)
        self._check_versions(change.invoices)
        self.plans[key] = dataclasses.replace(stored, version=stored.version + 1)
        self.audit.append({"debtor_id": stored.debtor_id, "at": now.isoformat(), **change.audit})
        self._write(change.invoices)

    def _check_versions(self, invoices: list[Invoice]) -> None:
        for invoice in invoices:
            stored = self.invoices[(invoice.creditor_id, invoice.debtor_id, invoice.number)]
            if stored.version != invoice.version:
                raise VersionConflict(invoice.number)

    def _write(self, invoices: list[Invoice]) -> None:
        for invoice in invoices:
            self.invoices[(invoice.creditor_id, invoice.debtor_id, invoice.number)] = dataclasses.replace(
                invoice, version=invoice.version + 1)


class InMemoryDocuments:
    """The documents bucket: key → (bytes, content type)."""

    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str]] = {}

    def put(self, key: str, body: bytes, content_type: str) -> str:
        self.objects[key] = (body, content_type)
        return key

    def open(self, key: str) -> StoredDocument:
        body, content_type = self.objects[key]
        return StoredDocument(_chunks(body), content_type, len(body))


def _chunks(body: bytes) -> Iterator[bytes]:
    yield body


def account_services_for(world: World) -> tuple[AccountServices, InMemoryAccountStore, InMemoryDocuments]:
    """Account services over the world's creditor, debtors and invoices (French B2B policy, no holidays)."""
    store = InMemoryAccountStore([CREDITOR], world.debtors, INVOICES_OF_A + INVOICES_OF_B)
    documents = InMemoryDocuments()
    book = load_packaged_policy("fr-b2b")

    def law():
        from relance.adapters.rate_tables import load_rules

        return load_rules(provisional=True)  # 2026 rates are not published yet

    services = AccountServices(store=store, documents=documents, policies=lambda creditor: book,
                               closed_days=lambda creditor: frozenset[date](), law=law, plans=store)
    return services, store, documents
