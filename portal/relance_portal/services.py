"""What the portal needs from the rest of Relance, passed in so tests can use in-memory fakes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from werkzeug.utils import import_string

from relance.adapters.links import DebtorRef
from relance.services.accounts import AccountReader


def today_in(zone: str) -> date:
    """Today's date in the IANA time zone `zone`; the portal's only clock read."""
    return datetime.now(ZoneInfo(zone)).date()


@dataclass(frozen=True)
class Services:
    """The portal's ports: accounts to read, the link secret, the mailer of fresh links, the clock."""

    accounts: AccountReader
    link_secret: str
    resend_link: Callable[[DebtorRef], None]  # mails a fresh link to the debtor's address on record
    today: Callable[[str], date] = field(default=today_in)

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
