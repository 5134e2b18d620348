"""What the work queues and the debtor page share: the debtor's account, policy and closed days."""

from __future__ import annotations

from collections.abc import Container
from datetime import date, datetime
from zoneinfo import ZoneInfo

from relance.domain.policy import DunningPolicy
from relance.services.accounts import DebtorAccount

from relance_backoffice.services import services


def account_of(creditor_id: str, debtor_id: str) -> DebtorAccount | None:
    """The creditor, the debtor and their invoices; None when the debtor is not this creditor's."""
    return services().store.debtor_account(creditor_id, debtor_id)


def policy_and_closed(account: DebtorAccount) -> tuple[DunningPolicy, Container[date]]:
    """The dunning policy that applies to this debtor, and the creditor's closed days."""
    ports = services()
    policy = ports.policies_for(account.creditor).for_debtor(account.debtor.kind, account.debtor.risk_band)
    return policy, ports.closed_for(account.creditor)


def creditor_today(account: DebtorAccount) -> date:
    """Today in the creditor's time zone (the clock is read here, once per request)."""
    return datetime.now(ZoneInfo(account.creditor.timezone)).date()
