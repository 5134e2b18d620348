"""Mail a debtor a fresh personal link, to the address on record, at most once per quarter hour."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from relance.adapters.links import DebtorRef
from relance.domain.parties import Creditor, Debtor

RESEND_WINDOW_MINUTES = 15


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


class LinkStore(Protocol):
    def get_creditor(self, creditor_id: str) -> Creditor | None: ...

    def debtor_with_invoices(self, creditor_id: str, debtor_id: str) -> tuple[Debtor | None, list]: ...

    def claim_link_mail(self, creditor_id: str, debtor_id: str, window_start: datetime) -> bool: ...


def window_start(now: datetime) -> datetime:
    """The start of the quarter hour `now` falls in."""
    return now.replace(minute=now.minute - now.minute % RESEND_WINDOW_MINUTES, second=0, microsecond=0)


def resend_link(
    ref: DebtorRef, now: datetime, store: LinkStore, mailer: LinkMailer, link_for: Callable[[Debtor], str]
) -> bool:
    """Send a fresh link for an expired one; False when nothing was sent (unknown, revoked, throttled).

    The page the debtor sees is the same either way, so it reveals nothing.
    """
    creditor = store.get_creditor(ref.creditor_id)
    debtor, _invoices = store.debtor_with_invoices(ref.creditor_id, ref.debtor_id)
    if creditor is None or debtor is None or debtor.link_version != ref.link_version or not debtor.emails:
        return False
    if not store.claim_link_mail(ref.creditor_id, ref.debtor_id, window_start(now)):
        return False
    mailer.send_new_link(NewLinkMail(creditor, debtor, debtor.emails, link_for(debtor)))
    return True
