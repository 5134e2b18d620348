"""What the account pages (invoices, statement, dispute, promise, history, plans) need, passed in so tests use fakes.

Attached at `app.extensions["relance_account"]`; the debtor always comes from the session (`current_ref()`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Container, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from relance.adapters.s3 import StoredDocument
from relance.domain.late_fees import Rulebook
from relance.domain.parties import Creditor
from relance.domain.policy import PolicyBook
from relance.domain.rates import RateTable
from relance.services.accounts import DebtorAccount
from relance.services.disputes import DisputeStore
from relance.services.plans import PlanStore, StoredPlan
from relance.services.promises import PromiseStore


class AccountStore(DisputeStore, PromiseStore, Protocol):
    """The reads and writes of the account pages (`PortalStore` in production)."""

    def debtor_account(self, creditor_id: str, debtor_id: str) -> DebtorAccount | None: ...

    def original_pdf_key(self, creditor_id: str, debtor_id: str, number: str) -> str | None: ...

    def disputes_of(self, creditor_id: str, debtor_id: str) -> list[dict[str, Any]]: ...

    def contacts_of(self, creditor_id: str, debtor_id: str) -> list[dict[str, Any]]: ...


class AccountPlansStore(PlanStore, Protocol):
    """The installment plans of the plan pages (`PlansStore` in production)."""

    def plans_of(self, creditor_id: str, debtor_id: str) -> list[StoredPlan]: ...


class Documents(Protocol):
    """The private documents bucket (`S3Documents` in production)."""

    def put(self, key: str, body: bytes, content_type: str) -> str: ...

    def open(self, key: str) -> StoredDocument: ...


@dataclass(frozen=True)
class AccountServices:
    """The account pages' ports: the store, the documents bucket, the policies, the closed days, the law."""

    store: AccountStore
    documents: Documents
    policies: Callable[[Creditor], PolicyBook]
    closed_days: Callable[[Creditor], Container[date]]
    law: Callable[[], tuple[RateTable, Rulebook]]  # the rates and rules of the late-fee engine, loaded once
    plans: AccountPlansStore | None = None  # None: the plan pages answer 404

    @classmethod
    def from_settings(cls, config: Mapping[str, Any]) -> AccountServices:
        """The services of a deployed portal: the table, the documents bucket, the policies kept 5 minutes."""
        from relance.adapters.plans_store import PlansStore
        from relance.adapters.policy_store import PolicyStore
        from relance.adapters.portal_store import PortalStore
        from relance.adapters.s3 import S3Documents
        from relance.adapters.settings import load_settings
        from relance.adapters.wiring import closed_for, policy_source

        settings = load_settings()
        bucket = config.get("DOCUMENTS_BUCKET") or os.environ.get("RELANCE_DOCUMENTS_BUCKET", "")
        return cls(
            store=PortalStore(settings.table_name),
            documents=S3Documents(bucket),
            policies=policy_source(PolicyStore(settings.table_name), ttl_seconds=300),
            closed_days=closed_for,
            law=_cached_law(),
            plans=PlansStore(settings.table_name),
        )


def _cached_law() -> Callable[[], tuple[RateTable, Rulebook]]:
    """The packaged rates and rules (plus RELANCE_RATES_FILE), read on first use and kept for the container."""
    kept: list[tuple[RateTable, Rulebook]] = []

    def law() -> tuple[RateTable, Rulebook]:
        if not kept:
            from relance.adapters.rate_tables import load_rules

            kept.append(load_rules(os.environ.get("RELANCE_RATES_FILE") or None,
                                   provisional=os.environ.get("RELANCE_PROVISIONAL_RATES") == "1"))
        return kept[0]

    return law


def current_account_services() -> AccountServices:
    """The AccountServices of the running app; the deployed wiring's are built on first use and kept."""
    from flask import current_app

    services = current_app.extensions.get("relance_account")
    if services is None:
        raise RuntimeError("the account pages' services are not configured: pass ACCOUNT_SERVICES in config")
    if not isinstance(services, AccountServices):  # the builder create_app left: build once per container
        services = services(current_app.config)
        current_app.extensions["relance_account"] = services
    return services


def account_services_available() -> bool:
    """False where the account pages have no services: an app with in-memory Services and no
    ACCOUNT_SERVICES, or a process whose environment names no table (tests of other pages).
    """
    try:
        current_account_services()
    except RuntimeError:
        return False
    return True


def iter_document(document: StoredDocument) -> Iterator[bytes]:
    """The document's bytes, chunk by chunk, for a streamed response."""
    yield from document.chunks
