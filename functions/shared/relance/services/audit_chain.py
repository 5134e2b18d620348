"""Chaining audit events as the table's stream reports them, and verifying a creditor's chain."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from collections.abc import Callable
from typing import Any, Protocol

from relance.domain.audit_chain import (
    ChainHead,
    ChainLink,
    EventKey,
    VerifyResult,
    event_key_of,
    next_alert,
    next_erasure,
    next_link,
    verify,
)

MAX_APPEND_ATTEMPTS = 20  # concurrent shards of one creditor: each retry re-reads the head


class AuditChainStore(Protocol):
    def is_chained(self, creditor_id: str, marker_sk: str) -> bool: ...
    def head(self, creditor_id: str) -> ChainHead: ...
    def append(self, creditor_id: str, link: ChainLink, marker_sk: str, head_before: ChainHead) -> AppendResult: ...
    def links(self, creditor_id: str) -> list[ChainLink]: ...
    def debtor_events(self, event_partition: str) -> list[dict[str, Any]]: ...


class AppendResult(StrEnum):
    APPENDED = "appended"
    ALREADY_CHAINED = "already_chained"  # the marker exists: this event (or alert) is in the chain already
    HEAD_MOVED = "head_moved"  # another writer appended first: read the head again and retry


class ChainOutcome(StrEnum):
    CHAINED = "chained"
    ALREADY_CHAINED = "already_chained"


class ChainContention(Exception):
    """The head kept moving: raised so the stream batch is retried (infrastructure, not a business rule)."""


def chain_event(event: Mapping[str, Any], store: AuditChainStore, marker_sk: str) -> ChainOutcome:
    """Append one stored audit event to its creditor's chain, exactly once (`marker_sk` names the event)."""
    return _append(str(event["creditor_id"]), marker_sk, store, lambda head: next_link(head, event))


def record_tamper_alert(creditor_id: str, event_key: EventKey, alert: Mapping[str, Any], store: AuditChainStore,
                        marker_sk: str) -> ChainOutcome:
    """Append a tamper alert (a stored audit event was modified or removed), once per stream record."""
    return _append(creditor_id, marker_sk, store, lambda head: next_alert(head, event_key, alert))


def record_erasure(creditor_id: str, event_key: EventKey, record: Mapping[str, Any], store: AuditChainStore,
                   marker_sk: str) -> ChainOutcome:
    """Append an erasure (a stored audit event's personal values were redacted), once per stream record."""
    return _append(creditor_id, marker_sk, store, lambda head: next_erasure(head, event_key, record))


def _append(creditor_id: str, marker_sk: str, store: AuditChainStore,
            build: Callable[[ChainHead], ChainLink]) -> ChainOutcome:
    for _attempt in range(MAX_APPEND_ATTEMPTS):
        if store.is_chained(creditor_id, marker_sk):
            return ChainOutcome.ALREADY_CHAINED
        head = store.head(creditor_id)
        result = store.append(creditor_id, build(head), marker_sk, head)
        if result is AppendResult.APPENDED:
            return ChainOutcome.CHAINED
        if result is AppendResult.ALREADY_CHAINED:
            return ChainOutcome.ALREADY_CHAINED
    raise ChainContention(f"the audit chain head of {creditor_id} moved {MAX_APPEND_ATTEMPTS} times in a row")


def verify_creditor(creditor_id: str, store: AuditChainStore, now: datetime,
                    grace: timedelta = timedelta(minutes=15)) -> VerifyResult:
    """Check the creditor's whole chain against the stored events of every debtor it mentions."""
    links = store.links(creditor_id)
    partitions = sorted({link.event_key.partition for link in links})
    events = {event_key_of(event): event for partition in partitions for event in store.debtor_events(partition)}
    return verify(links, events, head=store.head(creditor_id), now=now, grace=grace)


def verify_debtor(creditor_id: str, partition: str, store: AuditChainStore, now: datetime,
                  links: Sequence[ChainLink] | None = None,
                  grace: timedelta = timedelta(minutes=15)) -> VerifyResult:
    """Check one debtor's events against their links, and every link's place in the creditor's chain
    (the evidence bundle's check: it reads the chain's links and this debtor's events, no other events)."""
    links = store.links(creditor_id) if links is None else links
    events = {event_key_of(event): event for event in store.debtor_events(partition)}
    return verify(links, events, head=store.head(creditor_id), now=now, grace=grace, partition=partition)
