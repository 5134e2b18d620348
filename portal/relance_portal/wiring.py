"""Builds the deployed portal's services from its settings: DynamoDB accounts and access items, SES."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from relance.adapters.dynamo import DynamoStore
from relance.adapters.portal_access import PortalAccessStore
from relance.adapters.settings import Settings, link_secret, load_settings
from relance.adapters.ses import SesMailer
from relance.adapters.wiring import link_maker

if TYPE_CHECKING:
    from relance_portal.services import Services


def portal_config(settings: Settings | None = None) -> dict[str, Any]:
    """The config a deployed portal needs beyond its defaults: the session key, derived from the link secret."""
    settings = settings or load_settings()
    secret = link_secret(settings)
    return {
        "SECRET_KEY": hmac.new(secret.encode(), b"relance-portal-session", hashlib.sha256).hexdigest(),
    }


def build_services(config: Mapping[str, Any]) -> Services:
    """The Services of a deployed portal: DynamoDB accounts and access items, the link secret, SES."""
    from relance_portal.services import Services

    settings = load_settings()
    return Services(
        accounts=DynamoStore(settings.table_name),
        access=PortalAccessStore(settings.table_name),
        mailer=SesMailer(settings.sender_address, settings.configuration_set),
        link_secret=link_secret(settings),
        issue_link=link_maker(settings),
    )
