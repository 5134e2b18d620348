"""Builds the deployed portal's services from its settings: DynamoDB accounts, the link secret, SES."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from relance.adapters.dynamo import DynamoStore
from relance.adapters.links import DebtorRef
from relance.adapters.settings import Settings, link_secret, load_settings
from relance.adapters.ses import SesMailer
from relance.adapters.wiring import link_maker
from relance.services.links import resend_link

if TYPE_CHECKING:
    from relance_portal.services import Services


def portal_config(settings: Settings | None = None) -> dict[str, Any]:
    """The config a deployed portal needs beyond its defaults: the session key, derived from the link secret."""
    settings = settings or load_settings()
    secret = link_secret(settings)
    return {
        "SECRET_KEY": hmac.new(secret.encode(), b"relance-portal-session", hashlib.sha256).hexdigest(),
        "LINK_MAX_AGE_DAYS": settings.link_max_age_days,
    }


def build_services(config: Mapping[str, Any]) -> Services:
    """The Services of a deployed portal: DynamoDB accounts, the link secret, the SES link mailer."""
    from relance_portal.services import Services

    settings = load_settings()
    store = DynamoStore(settings.table_name)
    mailer = SesMailer(settings.sender_address, settings.configuration_set)
    make_link = link_maker(settings)

    def resend(ref: DebtorRef) -> None:
        resend_link(ref, datetime.now(UTC), store, mailer, make_link)

    return Services(accounts=store, link_secret=link_secret(settings), resend_link=resend)
