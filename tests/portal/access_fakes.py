"""In-memory stand-ins for the portal's access store and mailer, with the adapter's conditions.

tests/portal/test_access_store_contract.py runs the same checks on this fake and on
PortalAccessStore over moto, so the fast portal tests can trust it.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from relance.adapters.links import link_record_from
from relance.adapters.portal_access import email_index_items
from relance.domain.access import CodeChallenge, LinkRecord
from relance.domain.parties import Debtor
from relance.services.links import NewLinkMail
from relance.services.portal_access import CodeMail


class InMemoryAccess:
    """What PortalAccessStore keeps, in dictionaries: links, link versions, codes, index, counters, audit."""

    def __init__(self, debtors: dict[tuple[str, str], Debtor] | None = None) -> None:
        self.debtors = debtors if debtors is not None else {}  # shared with the accounts: one link version
        self.links: dict[str, dict[str, Any]] = {}
        self.codes: dict[tuple[str, str], CodeChallenge] = {}
        self.index: dict[str, set[tuple[str, str]]] = {}
        self.counters: dict[tuple[str, str, datetime], int] = {}
        self.audit: list[dict[str, Any]] = []

    # links

    def put_link(self, item: dict[str, Any]) -> None:
        self.links[item["PK"].removeprefix("LINK#")] = dict(item)

    def find_link(self, token_sha256: str) -> LinkRecord | None:
        item = self.links.get(token_sha256)
        return link_record_from(item) if item else None

    def link_version(self, creditor_id: str, debtor_id: str) -> int | None:
        debtor = self.debtors.get((creditor_id, debtor_id))
        return debtor.link_version if debtor is not None else None

    def raise_link_version(self, creditor_id: str, debtor_id: str, audit: dict[str, Any],
                           now: datetime) -> int | None:
        debtor = self.debtors.get((creditor_id, debtor_id))
        if debtor is None:
            return None
        current = debtor.link_version
        self.debtors[(creditor_id, debtor_id)] = dataclasses.replace(debtor, link_version=current + 1)
        self.add_audit(creditor_id, debtor_id, {**audit, "link_version_from": current,
                                                "link_version_to": current + 1}, now)
        return current + 1

    def add_audit(self, creditor_id: str, debtor_id: str, audit: dict[str, Any], now: datetime) -> None:
        self.audit.append({"creditor_id": creditor_id, "debtor_id": debtor_id, "at": now.isoformat(), **audit})

    # codes

    def put_code(self, challenge: CodeChallenge, resend_after: datetime) -> bool:
        pending = self.codes.get((challenge.creditor_id, challenge.debtor_id))
        if pending is not None and int(pending.sent_at.timestamp()) > int(resend_after.timestamp()):
            return False
        self.codes[(challenge.creditor_id, challenge.debtor_id)] = challenge
        return True

    def find_code(self, creditor_id: str, debtor_id: str) -> CodeChallenge | None:
        return self.codes.get((creditor_id, debtor_id))

    def spend_code_attempt(self, creditor_id: str, debtor_id: str, challenge_id: str, now: datetime,
                           max_attempts: int) -> CodeChallenge | None:
        pending = self.codes.get((creditor_id, debtor_id))
        if (pending is None or pending.challenge_id != challenge_id or pending.attempts >= max_attempts
                or int(pending.expires_at.timestamp()) <= int(now.timestamp()) or pending.used_at is not None):
            return None
        spent = dataclasses.replace(pending, attempts=pending.attempts + 1)
        self.codes[(creditor_id, debtor_id)] = spent
        return spent

    def mark_code_used(self, creditor_id: str, debtor_id: str, challenge_id: str, now: datetime) -> bool:
        pending = self.codes.get((creditor_id, debtor_id))
        if pending is None or pending.challenge_id != challenge_id or pending.used_at is not None:
            return False
        self.codes[(creditor_id, debtor_id)] = dataclasses.replace(pending, used_at=now)
        return True

    # e-mail index

    def put_email_index(self, debtor: Debtor) -> None:
        for item in email_index_items(debtor):
            self.index.setdefault(item["PK"].removeprefix("EMAIL#"), set()).add(
                (item["creditor_id"], item["debtor_id"]))

    def debtors_by_address(self, address_digest: str) -> list[tuple[str, str]]:
        return sorted(self.index.get(address_digest, set()))

    # counters

    def count_request(self, scope: str, subject: str, window_start: datetime, window_end: datetime,
                      limit: int) -> bool:
        key = (scope, subject, window_start)
        if self.counters.get(key, 0) >= limit:
            return False
        self.counters[key] = self.counters.get(key, 0) + 1
        return True


class RecordingMailer:
    """A mailer that keeps what it was asked to send: fresh links and one-time codes."""

    def __init__(self) -> None:
        self.links: list[NewLinkMail] = []
        self.codes: list[CodeMail] = []

    def send_new_link(self, mail: NewLinkMail) -> str:
        self.links.append(mail)
        return f"link-{len(self.links)}"

    def send_code(self, mail: CodeMail) -> str:
        self.codes.append(mail)
        return f"code-{len(self.codes)}"
