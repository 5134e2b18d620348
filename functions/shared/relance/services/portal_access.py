"""Opening the debtor portal: a personal link, a one-time code before any change, a fresh link by e-mail.

Every function takes `now` from its entry point. Answers meant for the person at the screen are the
same whether or not anything was found, so the portal never tells who is a debtor.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from relance.adapters.links import DebtorRef, IssuedLink
from relance.domain.access import (
    AUDIT_LINK_PREFIX,
    CODE_DIGITS,
    CODE_LIFETIME,
    CODE_RESEND_INTERVAL,
    CODES_PER_DEBTOR_PER_WINDOW,
    MAX_CODE_ATTEMPTS,
    MAX_TOKEN_LENGTH,
    NEW_LINK_REQUESTS_PER_IP_PER_WINDOW,
    NEW_LINKS_PER_ADDRESS_PER_WINDOW,
    RATE_WINDOW,
    CodeChallenge,
    CodeRefused,
    LinkRecord,
    address_sha256,
    code_digest,
    code_matches,
    format_code,
    is_plausible_address,
    normalized_address,
    token_sha256,
    typed_code,
    window_start,
)
from relance.domain.errors import LinkInvalid
from relance.domain.parties import Creditor, Debtor
from relance.services.accounts import AccountReader
from relance.services.links import LinkMailer, resend_link

# Counter scopes (PA6): what a request counter counts.
SCOPE_NEW_LINK_IP = "NEWLINK_IP"
SCOPE_NEW_LINK_ADDRESS = "NEWLINK_ADDRESS"
SCOPE_CODE_DEBTOR = "CODE_DEBTOR"


@dataclass(frozen=True, slots=True)
class CodeMail:
    """The mail carrying a one-time code to the debtor's addresses on record."""

    creditor: Creditor
    debtor: Debtor
    recipients: tuple[str, ...]
    code: str
    minutes_valid: int

    @property
    def language(self) -> str:
        return self.debtor.language


class AccessMailer(LinkMailer, Protocol):
    def send_code(self, mail: CodeMail) -> str: ...


class AccessStore(Protocol):
    """What the portal keeps about links, codes, addresses and request counts (PortalAccessStore)."""

    def put_link(self, item: dict[str, Any]) -> None: ...

    def find_link(self, token_sha256: str) -> LinkRecord | None: ...

    def link_version(self, creditor_id: str, debtor_id: str) -> int | None: ...

    def raise_link_version(self, creditor_id: str, debtor_id: str, audit: dict[str, Any],
                           now: datetime) -> int | None: ...

    def add_audit(self, creditor_id: str, debtor_id: str, audit: dict[str, Any], now: datetime) -> None: ...

    def put_code(self, challenge: CodeChallenge, resend_after: datetime) -> bool: ...

    def find_code(self, creditor_id: str, debtor_id: str) -> CodeChallenge | None: ...

    def spend_code_attempt(self, creditor_id: str, debtor_id: str, challenge_id: str, now: datetime,
                           max_attempts: int) -> CodeChallenge | None: ...

    def mark_code_used(self, creditor_id: str, debtor_id: str, challenge_id: str, now: datetime) -> bool: ...

    def debtors_by_address(self, address_digest: str) -> list[tuple[str, str]]: ...

    def count_request(self, scope: str, subject: str, window_start: datetime, window_end: datetime,
                      limit: int) -> bool: ...


# --- links ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenedLink:
    """A link that opened: whom for, and the short digest prefix the audit trail names it by."""

    ref: DebtorRef
    link_digest_prefix: str


def open_link(token: str, now: datetime, access: AccessStore) -> OpenedLink:
    """The debtor a personal link opens at `now`, audited as "portal_opened".

    Raises LinkInvalid alike for an unknown, an expired and a revoked link.
    """
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise LinkInvalid("this link is not valid")
    digest = token_sha256(token)
    record = access.find_link(digest)
    if record is None or now >= record.expires_at:
        raise LinkInvalid("this link is not valid")
    current = access.link_version(record.creditor_id, record.debtor_id)
    if not record.opens_at(now, current):
        raise LinkInvalid("this link is not valid")
    prefix = digest[:AUDIT_LINK_PREFIX]
    access.add_audit(record.creditor_id, record.debtor_id,
                     {"action": "portal_opened", "actor": "debtor", "link": prefix}, now)
    return OpenedLink(DebtorRef(record.creditor_id, record.debtor_id, record.link_version), prefix)


def session_is_current(ref: DebtorRef, access: AccessStore) -> bool:
    """True while finance has not revoked the links of the debtor this session was opened for."""
    return access.link_version(ref.creditor_id, ref.debtor_id) == ref.link_version


def revoke_links(creditor_id: str, debtor_id: str, actor: str, now: datetime, access: AccessStore) -> int | None:
    """Revoke every link and open session of a debtor by raising their link version; the new version.

    None when there is no such debtor.
    """
    return access.raise_link_version(creditor_id, debtor_id, {"action": "links_revoked", "actor": actor}, now)


class NewLinkOutcome(StrEnum):
    SENT = "sent"
    NOT_FOUND = "not_found"
    THROTTLED_IP = "throttled_ip"
    THROTTLED_ADDRESS = "throttled_address"
    NOT_AN_ADDRESS = "not_an_address"


def request_new_links(address: str, client_ip: str, now: datetime, secret: str, accounts: AccountReader,
                      access: AccessStore, mailer: LinkMailer,
                      issue: Callable[[Debtor, datetime], IssuedLink]) -> tuple[NewLinkOutcome, int]:
    """Mail a fresh link to every debtor (of any creditor) with `address` on record; the outcome and mails sent.

    At most NEW_LINK_REQUESTS_PER_IP_PER_WINDOW requests per client address and
    NEW_LINKS_PER_ADDRESS_PER_WINDOW per e-mail address an hour, counted in the table. The link goes
    to the recorded address that matched, never to the text typed. The person asking is shown the
    same answer whatever the outcome.
    """
    if not is_plausible_address(address):
        return NewLinkOutcome.NOT_AN_ADDRESS, 0
    start = window_start(now)
    end = start + RATE_WINDOW
    if not access.count_request(SCOPE_NEW_LINK_IP, _subject(secret, client_ip), start, end,
                                NEW_LINK_REQUESTS_PER_IP_PER_WINDOW):
        return NewLinkOutcome.THROTTLED_IP, 0
    if not access.count_request(SCOPE_NEW_LINK_ADDRESS, _subject(secret, normalized_address(address)), start,
                                end, NEW_LINKS_PER_ADDRESS_PER_WINDOW):
        return NewLinkOutcome.THROTTLED_ADDRESS, 0
    sent = 0
    for creditor_id, debtor_id in access.debtors_by_address(address_sha256(address)):
        version = access.link_version(creditor_id, debtor_id)
        if version is not None and resend_link(DebtorRef(creditor_id, debtor_id, version), now, accounts, access,
                                               mailer, issue, recipients=(address,)):
            sent += 1
    return (NewLinkOutcome.SENT if sent else NewLinkOutcome.NOT_FOUND), sent


# --- one-time codes -------------------------------------------------------------------------------


class CodeOutcome(StrEnum):
    SENT = "sent"
    TOO_SOON = "too_soon"  # a code went out less than a minute ago
    TOO_MANY = "too_many"  # the debtor's codes of the hour are spent
    NO_ADDRESS = "no_address"  # nothing on record to send it to


@dataclass(frozen=True, slots=True)
class CodeSent:
    outcome: CodeOutcome
    challenge_id: str | None = None  # kept in the session that asked: the code works there only


def send_code(ref: DebtorRef, now: datetime, secret: str, accounts: AccountReader, access: AccessStore,
              mailer: AccessMailer) -> CodeSent:
    """Mail a new one-time code to the debtor's addresses on record, replacing any pending one.

    At most one code a minute (CODE_RESEND_INTERVAL) and CODES_PER_DEBTOR_PER_WINDOW an hour.
    """
    account = accounts.debtor_account(ref.creditor_id, ref.debtor_id)
    if account is None or account.debtor.link_version != ref.link_version:
        raise LinkInvalid("this session's link was revoked")
    recipients = account.debtor.reachable_emails
    if not recipients:
        return CodeSent(CodeOutcome.NO_ADDRESS)
    pending = access.find_code(ref.creditor_id, ref.debtor_id)
    if pending is not None and now < pending.sent_at + CODE_RESEND_INTERVAL:
        return CodeSent(CodeOutcome.TOO_SOON)
    start = window_start(now)
    if not access.count_request(SCOPE_CODE_DEBTOR, f"{ref.creditor_id}#{ref.debtor_id}", start,
                                start + RATE_WINDOW, CODES_PER_DEBTOR_PER_WINDOW):
        return CodeSent(CodeOutcome.TOO_MANY)
    challenge_id = secrets.token_urlsafe(16)
    code = format_code(secrets.randbelow(10**CODE_DIGITS))
    challenge = CodeChallenge(ref.creditor_id, ref.debtor_id, challenge_id, code_digest(secret, challenge_id, code),
                              sent_at=now, expires_at=now + CODE_LIFETIME)
    if not access.put_code(challenge, resend_after=now - CODE_RESEND_INTERVAL):
        return CodeSent(CodeOutcome.TOO_SOON)  # another session's code went out just now
    mailer.send_code(CodeMail(account.creditor, account.debtor, recipients, code,
                              int(CODE_LIFETIME.total_seconds() // 60)))
    return CodeSent(CodeOutcome.SENT, challenge_id)


def check_code(ref: DebtorRef, challenge_id: str | None, text: str, now: datetime, secret: str,
               access: AccessStore) -> None:
    """Accept the code typed for this session's challenge, using it up; CodeRefused says why not.

    Each guess is counted in the table before it is compared, so a code allows MAX_CODE_ATTEMPTS
    guesses in all, however many arrive at once.
    """
    code = typed_code(text)
    if code is None:
        raise CodeRefused("a code is six digits", reason="malformed")
    if challenge_id is None:
        raise CodeRefused("no code was sent to this session", reason="expired")
    challenge = access.spend_code_attempt(ref.creditor_id, ref.debtor_id, challenge_id, now, MAX_CODE_ATTEMPTS)
    if challenge is None:
        pending = access.find_code(ref.creditor_id, ref.debtor_id)
        refusal = pending.refusal(challenge_id, now) if pending is not None else None
        raise refusal or CodeRefused("no code is pending", reason="expired")
    if not code_matches(secret, challenge, code):
        if challenge.attempts_left() == 0:
            raise CodeRefused(f"{MAX_CODE_ATTEMPTS} wrong codes were typed; ask for a new one", reason="locked")
        raise CodeRefused("this is not the code that was sent", reason="wrong",
                          attempts_left=challenge.attempts_left())
    if not access.mark_code_used(ref.creditor_id, ref.debtor_id, challenge_id, now):
        raise CodeRefused("this code was already used", reason="expired")


def _subject(secret: str, value: str) -> str:
    """What a counter is keyed by: a keyed digest, so the table holds no address, e-mail or IP."""
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()
