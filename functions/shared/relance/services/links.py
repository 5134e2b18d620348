"""Mail a debtor a fresh personal link, to addresses on record only."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from relance.adapters.links import DebtorRef, IssuedLink
from relance.domain.access import normalized_address
from relance.domain.parties import Creditor, Debtor
from relance.services.accounts import AccountReader


@dataclass(frozen=True, slots=True)
class NewLinkMail:
    creditor: Creditor
    debtor: Debtor
    recipients: tuple[str, ...]
    portal_link: str

    @property
    def language(self) -> str:
        return self.debtor.language


class LinkMailer(Protocol):
    def send_new_link(self, mail: NewLinkMail) -> str: ...


class LinkItems(Protocol):
    def put_link(self, item: dict[str, Any]) -> None:
        """Store an issued link's item, so that the link opens."""


def resend_link(ref: DebtorRef, now: datetime, accounts: AccountReader, links: LinkItems, mailer: LinkMailer,
                issue: Callable[[Debtor, datetime], IssuedLink], recipients: tuple[str, ...] | None = None) -> bool:
    """Mail the debtor `ref` names a fresh link; False when nothing was sent (unknown, revoked, no address).

    The link goes to the debtor's deliverable addresses on record, or to those of `recipients` that
    are on record: never to an address that is not. The link's item is stored (one PutItem) before
    the mail leaves, so the link works when it arrives.
    """
    account = accounts.debtor_account(ref.creditor_id, ref.debtor_id)
    if account is None or account.debtor.link_version != ref.link_version:
        return False
    on_record = account.debtor.reachable_emails
    if recipients is not None:
        wanted = {normalized_address(address) for address in recipients}
        on_record = tuple(address for address in on_record if normalized_address(address) in wanted)
    if not on_record:
        return False
    link = issue(account.debtor, now)
    links.put_link(link.item)
    mailer.send_new_link(NewLinkMail(account.creditor, account.debtor, on_record, link.url))
    return True
