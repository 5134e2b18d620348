"""What the portal needs from the rest of Relance, passed in so tests can use in-memory fakes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from werkzeug.utils import import_string

from relance.adapters.links import IssuedLink
from relance.domain.parties import Debtor
from relance.services.accounts import AccountReader
from relance.services.portal_access import AccessMailer, AccessStore


def today_in(zone: str) -> date:
    """Today's date in the IANA time zone `zone`; with `utc_now`, the portal's only clock reads."""
    return datetime.now(ZoneInfo(zone)).date()


def utc_now() -> datetime:
    """The current instant, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Services:
    """The portal's ports: accounts to read, access items (links, codes, counters), the mailer of links
    and codes, the link secret (it keys the codes' HMAC), the link issuer, the clock.
    """

    accounts: AccountReader
    access: AccessStore
    mailer: AccessMailer  # mails fresh links and one-time codes to addresses on record
    link_secret: str
    issue_link: Callable[[Debtor, datetime], IssuedLink]  # a fresh link and the item that makes it open
    today: Callable[[str], date] = field(default=today_in)
    now: Callable[[], datetime] = field(default=utc_now)

    @classmethod
    def from_settings(cls, config: Mapping[str, Any]) -> Services:
        """The services for a deployed portal, built by `SERVICES_FACTORY` or `relance_portal.wiring`.

        `SERVICES_FACTORY` may be a callable or a dotted path such as `"package.module:build"`,
        so `RELANCE_SERVICES_FACTORY` can choose the wiring from the environment.
        """
        factory = config.get("SERVICES_FACTORY")
        if factory is None:
            from relance_portal.wiring import build_services

            factory = build_services
        elif isinstance(factory, str):
            factory = import_string(factory)
        return factory(config)


def current_services() -> Services:
    """The Services the running app was built with."""
    from flask import current_app

    return current_app.extensions["relance"]
