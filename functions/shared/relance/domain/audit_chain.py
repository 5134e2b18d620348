"""The creditor's audit hash chain: each link commits to one audit event and to the link before it.

`link_hash(previous, event)` is SHA-256 over the previous link's hash followed by the event's
canonical form, so changing, removing or reordering anything already chained changes a hash that
`verify` recomputes. Pure: the caller hands in the links, the events and `now`.

GDPR erasure (docs/architecture/audit.md, "Erasing personal data"): an event whose personal values
were replaced by `[erased <pseudonym>]` tokens, and nothing else changed, is a *redaction*. The stream
appends an `erasure` link naming the event and the digest of its redacted form; `verify` then accepts
the event's new content in place of the one its link hashed, because the erasure is itself chained.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

GENESIS_HASH = "0" * 64  # the "previous hash" of link 1
CHAIN_FIELDS = frozenset({"chain_seq", "chain_hash", "chain_previous_hash"})  # never part of an event's hash
REDACTION = re.compile(r"\[erased [0-9a-f]{16}\]")  # what a personal value is replaced by (domain/gdpr.py)


class LinkKind(StrEnum):
    EVENT = "event"  # commits to an audit event stored in its debtor's partition
    TAMPER_ALERT = "tamper_alert"  # records that a stored audit event was modified or removed
    ERASURE = "erasure"  # records that a stored audit event's personal values were redacted (GDPR)


@dataclass(frozen=True, slots=True, order=True)
class EventKey:
    """Where an audit event is stored: its table key."""

    partition: str
    sort: str

    def __str__(self) -> str:
        return f"{self.partition} / {self.sort}"


@dataclass(frozen=True, slots=True)
class ChainLink:
    """Link `seq` (from 1): the hash of (previous hash, event) and the event it commits to.

    A tamper alert carries its own content in `alert` instead of pointing at a stored event.
    """

    seq: int
    event_key: EventKey
    hash: str
    previous_hash: str
    kind: LinkKind = LinkKind.EVENT
    alert: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The last link's number and hash (0 and GENESIS_HASH for an empty chain)."""

    seq: int = 0
    hash: str = GENESIS_HASH


class Problem(StrEnum):
    PREVIOUS_HASH_MISMATCH = "previous_hash_mismatch"  # a link was edited, moved or swapped
    MISSING_EVENT = "missing_event"  # the chained event was deleted
    HASH_MISMATCH = "hash_mismatch"  # the chained event (or the link's hash) was altered
    SEQ_GAP = "seq_gap"  # a link was deleted
    DUPLICATE_EVENT = "duplicate_event"  # the same event is chained twice
    TAMPER_ALERT = "tamper_alert"  # the stream saw a stored audit event modified or removed
    HEAD_MISMATCH = "head_mismatch"  # the head disagrees with the last link (the chain's tail was cut)
    UNCHAINED = "unchained"  # an audit event older than the grace period was never chained


@dataclass(frozen=True, slots=True)
class BrokenLink:
    problem: Problem
    seq: int | None
    event_key: EventKey | None
    detail: str


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """`broken` is None when the chain holds; `pending` counts events too recent to be chained yet."""

    links: int
    head: ChainHead
    broken: BrokenLink | None
    pending: int = 0
    events: int = 0  # events whose content was checked against their link
    partition: str | None = None  # set when only that debtor's events were checked (see `verify`)

    @property
    def is_intact(self) -> bool:
        return self.broken is None


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):  # DynamoDB numbers: 12 and 12.0 are the same number, so one form each
        return int(value) if value == value.to_integral_value() else str(value.normalize())
    if isinstance(value, set | frozenset):
        return sorted(value, key=lambda v: json.dumps(v, default=_json_default, sort_keys=True))
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise TypeError(f"an audit event holds a value of type {type(value).__name__}, which has no canonical form")


def canonical(event: Mapping[str, Any]) -> bytes:
    """The event's attributes (its key included, the chain's own fields left out) as sorted-keys UTF-8 JSON."""
    attributes = {name: value for name, value in event.items() if name not in CHAIN_FIELDS}
    text = json.dumps(attributes, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)
    return text.encode("utf-8")


def link_hash(previous_hash: str, event: Mapping[str, Any]) -> str:
    """sha256(previous_hash || canonical(event)), hex."""
    return hashlib.sha256(previous_hash.encode("ascii") + canonical(event)).hexdigest()


def event_key_of(event: Mapping[str, Any]) -> EventKey:
    return EventKey(str(event["PK"]), str(event["SK"]))


def next_link(head: ChainHead, event: Mapping[str, Any]) -> ChainLink:
    """The link that appends `event` after `head`."""
    return ChainLink(seq=head.seq + 1, event_key=event_key_of(event), hash=link_hash(head.hash, event),
                     previous_hash=head.hash)


def next_alert(head: ChainHead, event_key: EventKey, alert: Mapping[str, Any]) -> ChainLink:
    """The link that records a tamper alert about `event_key` after `head`; it hashes the alert itself."""
    return ChainLink(seq=head.seq + 1, event_key=event_key, hash=link_hash(head.hash, alert),
                     previous_hash=head.hash, kind=LinkKind.TAMPER_ALERT, alert=dict(alert))


def next_erasure(head: ChainHead, event_key: EventKey, record: Mapping[str, Any]) -> ChainLink:
    """The link that records the redaction of `event_key` after `head`; it hashes the record itself."""
    return ChainLink(seq=head.seq + 1, event_key=event_key, hash=link_hash(head.hash, record),
                     previous_hash=head.hash, kind=LinkKind.ERASURE, alert=dict(record))


def content_digest(event: Mapping[str, Any]) -> str:
    """sha256(canonical(event)), hex: what an erasure link commits the redacted event to."""
    return hashlib.sha256(canonical(event)).hexdigest()


def is_redaction(before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    """True when `after` is `before` with some text replaced by erasure tokens, and nothing else changed.

    Only removal is allowed: no attribute added or dropped, no number, date or flag changed, and in a
    changed text every piece outside the tokens is still there, in order. So an erasure cannot be used
    to slip new content into an event.
    """
    return before != after and set(before) == set(after) and all(
        _redacted(before[name], after[name]) for name in before)


def _redacted(before: Any, after: Any) -> bool:
    if before == after:
        return True
    if isinstance(before, str) and isinstance(after, str):
        pieces = REDACTION.split(after)
        if len(pieces) == 1:
            return False
        pattern = ".+?".join(re.escape(piece) for piece in pieces)
        return re.fullmatch(pattern, before, flags=re.DOTALL) is not None
    if isinstance(before, list) and isinstance(after, list):
        return len(before) == len(after) and all(_redacted(b, a) for b, a in zip(before, after, strict=True))
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        return set(before) == set(after) and all(_redacted(before[k], after[k]) for k in before)
    if isinstance(before, set | frozenset) and isinstance(after, set | frozenset):
        return all(a in before or any(_redacted(b, a) for b in before) for a in after)
    return False


def erasure_record(event_key: EventKey, before: Mapping[str, Any], after: Mapping[str, Any],
                   stream_sequence_number: str) -> dict[str, Any]:
    """What an erasure link hashes: which event, which attributes were redacted, and the digest of the result."""
    return {"stream_event": "MODIFY", "erasure": True, "event_pk": event_key.partition, "event_sk": event_key.sort,
            "redacted": sorted(name for name in before if before[name] != after[name]),
            "erased_digest": content_digest(after), "stream_sequence_number": stream_sequence_number}


def verify(
    chain_links: Iterable[ChainLink],
    events_by_key: Mapping[EventKey, Mapping[str, Any]],
    *,
    head: ChainHead | None = None,
    now: datetime | None = None,
    grace: timedelta = timedelta(minutes=15),
    partition: str | None = None,
) -> VerifyResult:
    """Walk the links in order and name the first broken one.

    `events_by_key` holds the stored audit events (each with an ISO `at`). An event no link points
    at is reported as unchained once it is older than `grace` before `now`, else counted as pending.
    With `head`, the head must match the last link, so cutting the chain's tail is detected too.

    With `partition` (one debtor's, for their evidence bundle), `events_by_key` holds only that debtor's
    events: their links are checked against them, and every other link only for its place (sequence and
    previous hash), so the work grows with the chain's links but reads no other debtor's events. A tamper
    alert about another debtor's event does not break this debtor's evidence. The whole check stays
    `relance audit verify`'s.
    """
    links = sorted(chain_links, key=lambda link: link.seq)
    erased = {link.event_key: str((link.alert or {}).get("erased_digest")) for link in links
              if link.kind is LinkKind.ERASURE}  # by seq order, so the last erasure of an event wins
    running = ChainHead()
    seen: set[EventKey] = set()

    def broken(problem: Problem, link: ChainLink | None, detail: str) -> VerifyResult:
        return VerifyResult(len(links), running, BrokenLink(problem, link.seq if link else None,
                                                            link.event_key if link else None, detail),
                            events=len(seen), partition=partition)

    for link in links:
        if link.seq != running.seq + 1:
            return broken(Problem.SEQ_GAP, link, f"link {running.seq + 1} is missing: the next link is {link.seq}")
        if link.previous_hash != running.hash:
            return broken(Problem.PREVIOUS_HASH_MISMATCH, link,
                          f"previous hash {link.previous_hash[:12]}… does not match link {running.seq}'s "
                          f"{running.hash[:12]}… (a link was edited, moved or swapped)")
        own = partition is None or link.event_key.partition == partition
        if link.kind is LinkKind.TAMPER_ALERT:
            if link_hash(link.previous_hash, link.alert or {}) != link.hash:
                return broken(Problem.HASH_MISMATCH, link, "the tamper alert was altered")
            if not own:
                running = ChainHead(link.seq, link.hash)
                continue
            action = {"MODIFY": "modified", "REMOVE": "removed"}.get(str((link.alert or {}).get("stream_event")), "changed")
            return broken(Problem.TAMPER_ALERT, link, f"the stored audit event was {action} after it was written")
        if link.kind is LinkKind.ERASURE:
            if link_hash(link.previous_hash, link.alert or {}) != link.hash:
                return broken(Problem.HASH_MISMATCH, link, "the erasure record was altered")
            running = ChainHead(link.seq, link.hash)
            continue
        if not own:
            running = ChainHead(link.seq, link.hash)
            continue
        if link.event_key in seen:
            return broken(Problem.DUPLICATE_EVENT, link, "this event is already chained by an earlier link")
        event = events_by_key.get(link.event_key)
        if event is None:
            return broken(Problem.MISSING_EVENT, link, "the chained audit event no longer exists (deleted)")
        if link_hash(link.previous_hash, event) != link.hash and erased.get(link.event_key) != content_digest(event):
            return broken(Problem.HASH_MISMATCH, link, "the audit event's content no longer matches its hash (altered)")
        seen.add(link.event_key)
        running = ChainHead(link.seq, link.hash)
    if head is not None and head != running:
        return VerifyResult(len(links), running, BrokenLink(
            Problem.HEAD_MISMATCH, head.seq, None,
            f"the head says link {head.seq} ({head.hash[:12]}…) but the last link is {running.seq} "
            f"({running.hash[:12]}…): links were removed from the end"), events=len(seen), partition=partition)
    pending = 0
    for key in sorted(set(events_by_key) - seen):
        at = _instant(events_by_key[key].get("at"))
        if now is not None and at is not None and now - at > grace:
            return VerifyResult(len(links), running, BrokenLink(
                Problem.UNCHAINED, None, key, f"written at {at.isoformat()} and never chained"),
                events=len(seen), partition=partition)
        pending += 1
    return VerifyResult(len(links), running, None, pending, events=len(seen), partition=partition)


def _instant(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
