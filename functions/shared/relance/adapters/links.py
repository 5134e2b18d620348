"""Personal portal links: random tokens, stored only as their SHA-256, expiring and revocable.

A link is `<portal>/d/<token>` with `token = secrets.token_urlsafe(32)`. The table keeps the
token's SHA-256 with the debtor it opens, the debtor's link version at the time and an expiry
(docs/architecture/access-patterns.md, PA1); finance revokes every link of a debtor by raising that
version (`relance link revoke`). Issuing a link reads nothing and writes nothing: the caller stores
`IssuedLink.item`, the dunning worker in the same transaction as the step that mailed it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from relance.adapters import keys
from relance.domain.access import (
    DEFAULT_LINK_DAYS,
    LINK_TOKEN_BYTES,
    LinkRecord,
    epoch_seconds,
    link_expiry,
    token_sha256,
)
from relance.domain.parties import Debtor

DEFAULT_MAX_AGE_DAYS = DEFAULT_LINK_DAYS


@dataclass(frozen=True, slots=True)
class DebtorRef:
    """Whom a link or a portal session is for."""

    creditor_id: str
    debtor_id: str
    link_version: int


@dataclass(frozen=True, slots=True)
class IssuedLink:
    """A fresh link: the address to mail, and the plain item to store so that it opens."""

    url: str
    item: dict[str, Any]


def issue_link(debtor: Debtor, now: datetime, base_url: str,
               max_age_days: int = DEFAULT_MAX_AGE_DAYS) -> IssuedLink:
    """A new personal link for `debtor`, valid `max_age_days` from `now` while their link version holds."""
    token = secrets.token_urlsafe(LINK_TOKEN_BYTES)
    expires_at = link_expiry(now, max_age_days)
    item = {
        **keys.link_key(token_sha256(token)),
        "entity": "portal_link",
        "creditor_id": debtor.creditor_id,
        "debtor_id": debtor.debtor_id,
        "link_version": debtor.link_version,
        "issued_at": now.isoformat(),
        "expires_at": expires_at.isoformat(),
        "expires_epoch": epoch_seconds(expires_at),  # the table's TTL attribute: DynamoDB deletes it later
    }
    return IssuedLink(portal_url(base_url, token), item)


def link_record_from(item: dict[str, Any]) -> LinkRecord:
    """The stored link, as the domain reads it."""
    return LinkRecord(
        creditor_id=item["creditor_id"],
        debtor_id=item["debtor_id"],
        link_version=int(item["link_version"]),
        issued_at=datetime.fromisoformat(item["issued_at"]),
        expires_at=datetime.fromisoformat(item["expires_at"]),
    )


def portal_url(base_url: str, token: str) -> str:
    """The address a debtor opens: `<base>/d/<token>`."""
    return f"{base_url.rstrip('/')}/d/{token}"
