"""What the back office talks to: finance's sign-in, the plans store, each creditor's policy and calendar."""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import current_app
from relance.adapters.cognito import SignedInUser
from relance.adapters.plans_store import PlansStore
from relance.domain.parties import Creditor
from relance.domain.policy import PolicyBook
from relance.services.dashboard import DashboardReader


@dataclass(frozen=True)
class BackOfficeServices:
    """The back office's ports; tests build their own, the deployed app builds them from the settings."""

    sign_in: Callable[[str, str], SignedInUser]
    plans: PlansStore
    policies_for: Callable[[Creditor], PolicyBook]
    closed_for: Callable[[Creditor], Container[date]]
    store: Any = None  # BackOfficeStore: disputes, call tasks, debtors, pauses (work queues, debtor page)
    documents: Any = None  # S3Documents: dispute attachments
    mailer: Any = None  # SesMailer: the debtor is told a dispute was rejected
    access: Any = None  # PortalAccessStore: revoking a debtor's portal links
    dashboard: DashboardReader | None = None  # DashboardStore: every debtor's open invoices, the months' sales
    evidence: Any = None  # EvidencePorts: what a debtor's evidence bundle reads (None: not wired)
    notify_plan: Callable[[Any], None] | None = None  # mails the debtor finance's decision on their plan
    payments: Any = None  # PaymentsStore: payments finance records outside Stripe, the collections export
    jobs: Any = None  # SqsJobQueue: the dunning worker's queue, for "send the next step now" (None: not wired)
    new_password: Callable[[str, str, str], SignedInUser] | None = None  # an invited user's first password
    users: Any = None  # CognitoUsers: the admin's user administration in the pool (None: not wired)
    policy_store: Any = None  # PolicyStore: the creditor's own policy versions, as `relance policy set` writes
    bank_payments: Any = None  # BankPaymentsStore: finance's queue of bank payments no invoice matched

    @classmethod
    def from_settings(cls, config: Mapping[str, Any]) -> BackOfficeServices:
        """The deployed wiring: Cognito from the config, DynamoDB from RELANCE_TABLE, policies from it."""
        from relance.adapters.cognito import CognitoSignIn
        from relance.adapters.dashboard_store import DashboardStore
        from relance.adapters.settings import load_settings
        from relance.adapters.wiring import closed_for, policies_for

        pool_id, client_id = config.get("COGNITO_USER_POOL_ID"), config.get("COGNITO_CLIENT_ID")
        if not pool_id or not client_id:
            raise RuntimeError("COGNITO_USER_POOL_ID and COGNITO_CLIENT_ID are not set: pass them in config "
                               "or set RELANCE_COGNITO_USER_POOL_ID and RELANCE_COGNITO_CLIENT_ID")
        return cls(
            sign_in=CognitoSignIn(pool_id, client_id).sign_in,
            new_password=CognitoSignIn(pool_id, client_id).set_new_password,
            plans=PlansStore(load_settings().table_name),
            policies_for=policies_for,
            closed_for=closed_for,
            dashboard=DashboardStore(load_settings().table_name),
            evidence=_evidence_ports(config),
            **_admin_ports(pool_id),
            **_work_queue_ports(config),
        )


def _work_queue_ports(config: Mapping[str, Any]) -> dict[str, Any]:
    """The work queues' and the debtor page's ports, from the same settings."""
    import os

    from relance.adapters.backoffice_store import BackOfficeStore
    from relance.adapters.portal_access import PortalAccessStore
    from relance.adapters.s3 import S3Documents
    from relance.adapters.ses import SesMailer
    from relance.adapters.settings import load_settings

    settings = load_settings()
    bucket = config.get("DOCUMENTS_BUCKET") or os.environ.get("RELANCE_DOCUMENTS_BUCKET", "")
    from relance.adapters.wiring import link_maker, plan_notifier, utc_now

    mailer = SesMailer(settings.sender_address, settings.configuration_set) if settings.sender_address else None
    access = PortalAccessStore(settings.table_name)
    notify = plan_notifier(mailer, access, link_maker(settings), utc_now) if mailer is not None else None
    from relance.adapters.bank_payments_store import BankPaymentsStore
    from relance.adapters.payments_store import PaymentsStore
    from relance.adapters.sqs import SqsJobQueue

    jobs = SqsJobQueue(settings.reminder_queue_url) if settings.reminder_queue_url else None
    return {"store": BackOfficeStore(settings.table_name), "documents": S3Documents(bucket) if bucket else None,
            "mailer": mailer, "access": access, "notify_plan": notify,
            "payments": PaymentsStore(settings.table_name), "jobs": jobs,
            "bank_payments": BankPaymentsStore(settings.table_name)}


def _admin_ports(pool_id: str) -> dict[str, Any]:
    """The admin pages' ports: the user pool's admin API and the creditor's policy versions."""
    from relance.adapters.cognito_users import CognitoUsers
    from relance.adapters.policy_store import PolicyStore
    from relance.adapters.settings import load_settings

    return {"users": CognitoUsers(pool_id), "policy_store": PolicyStore(load_settings().table_name)}


def _evidence_ports(config: Mapping[str, Any]) -> Any:
    """The evidence bundle's read-only ports: the table, the audit chain, the letters' bucket, the rates."""
    import os

    from relance.adapters.audit_chain_store import DynamoAuditChain
    from relance.adapters.backoffice_store import BackOfficeStore
    from relance.adapters.s3 import S3Documents
    from relance.adapters.settings import load_settings
    from relance.adapters.rate_tables import load_rules
    from relance.services.evidence import EvidencePorts

    bucket = config.get("DOCUMENTS_BUCKET") or os.environ.get("RELANCE_DOCUMENTS_BUCKET", "")
    if not bucket:
        return None
    table = load_settings().table_name
    kept: list[Any] = []

    def law() -> Any:  # the same tables as the worker's letters (RELANCE_RATES_FILE), read once per container
        if not kept:
            kept.append(load_rules(os.environ.get("RELANCE_RATES_FILE") or None,
                                   provisional=os.environ.get("RELANCE_PROVISIONAL_RATES") == "1"))
        return kept[0]

    return EvidencePorts(BackOfficeStore(table), DynamoAuditChain(table), S3Documents(bucket), law)


def services() -> BackOfficeServices:
    """The services of the app handling this request."""
    return current_app.extensions["relance_backoffice"]
