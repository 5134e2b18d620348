"""Issue 8, the audit hash chain (pure part): any single alteration, deletion or swap is detected and named."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from relance.domain.audit_chain import (
    GENESIS_HASH,
    ChainHead,
    EventKey,
    Problem,
    canonical,
    event_key_of,
    link_hash,
    next_alert,
    next_link,
    verify,
)

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

values = st.one_of(st.text(max_size=12), st.integers(-10**6, 10**6), st.booleans())
events_strategy = st.lists(
    st.fixed_dictionaries({"action": st.sampled_from(["plan.accepted", "reminder.sent", "contact.edited"]),
                           "actor": st.text(min_size=1, max_size=8), "detail": values}),
    min_size=1, max_size=12,
)


def _stored(raw_events: list[dict]) -> list[dict]:
    return [{"PK": f"CRED#acme#DEBTOR#d{i % 3}", "SK": f"AUDIT#2026-11-24T10:00:{i:02d}.000000+00:00#{i:012x}",
             "entity": "audit", "at": f"2026-11-24T10:00:{i:02d}+00:00", **event} for i, event in enumerate(raw_events)]


def _chain(events: list[dict]):
    head, links = ChainHead(), []
    for event in events:
        link = next_link(head, event)
        links.append(link)
        head = ChainHead(link.seq, link.hash)
    return links, head, {event_key_of(e): e for e in events}


def test_link_hash_is_sha256_of_previous_hash_then_sorted_keys_json():
    import hashlib

    event = {"b": 1, "a": "é"}
    assert canonical(event) == '{"a":"é","b":1}'.encode()
    assert link_hash(GENESIS_HASH, event) == hashlib.sha256(GENESIS_HASH.encode() + canonical(event)).hexdigest()


def test_the_chains_own_fields_are_not_part_of_the_hash():
    assert canonical({"a": 1, "chain_hash": "x", "chain_seq": 3}) == canonical({"a": 1})


@given(events_strategy)
def test_an_untouched_chain_verifies_up_to_its_head(raw):
    links, head, events = _chain(_stored(raw))
    result = verify(links, events, head=head, now=NOW)
    assert result.is_intact and result.head == head and result.links == len(raw)


@given(events_strategy, st.data())
def test_altering_one_event_is_named(raw, data):
    events = _stored(raw)
    links, head, by_key = _chain(events)
    victim = data.draw(st.integers(0, len(events) - 1))
    key = event_key_of(events[victim])
    by_key = {**by_key, key: {**events[victim], "actor": events[victim]["actor"] + "!"}}
    result = verify(links, by_key, head=head, now=NOW)
    assert result.broken and result.broken.problem is Problem.HASH_MISMATCH
    assert (result.broken.seq, result.broken.event_key) == (victim + 1, key)


@given(events_strategy, st.data())
def test_deleting_one_event_is_named(raw, data):
    events = _stored(raw)
    links, head, by_key = _chain(events)
    victim = data.draw(st.integers(0, len(events) - 1))
    key = event_key_of(events[victim])
    result = verify(links, {k: v for k, v in by_key.items() if k != key}, head=head, now=NOW)
    assert result.broken and result.broken.problem is Problem.MISSING_EVENT
    assert (result.broken.seq, result.broken.event_key) == (victim + 1, key)


@given(events_strategy.filter(lambda e: len(e) >= 2), st.data())
def test_swapping_two_links_is_named_at_the_first_of_them(raw, data):
    events = _stored(raw)
    links, head, by_key = _chain(events)
    first = data.draw(st.integers(0, len(links) - 2))
    second = data.draw(st.integers(first + 1, len(links) - 1))
    swapped = list(links)
    swapped[first] = replace(links[second], seq=links[first].seq)  # the link items' contents trade places
    swapped[second] = replace(links[first], seq=links[second].seq)
    result = verify(swapped, by_key, head=head, now=NOW)
    assert result.broken and result.broken.problem is Problem.PREVIOUS_HASH_MISMATCH
    assert result.broken.seq == first + 1


@given(events_strategy, st.data())
def test_deleting_one_link_is_named(raw, data):
    events = _stored(raw)
    links, head, by_key = _chain(events)
    victim = data.draw(st.integers(0, len(links) - 1))
    result = verify([link for i, link in enumerate(links) if i != victim], by_key, head=head, now=NOW)
    assert result.broken is not None
    if victim == len(links) - 1:
        assert result.broken.problem is Problem.HEAD_MISMATCH
    else:
        assert (result.broken.problem, result.broken.seq) == (Problem.SEQ_GAP, victim + 2)


def test_an_old_event_never_chained_is_reported_and_a_recent_one_is_pending():
    events = _stored([{"action": "a", "actor": "x", "detail": 1}, {"action": "b", "actor": "y", "detail": 2}])
    links, head, by_key = _chain(events[:1])
    all_events = {**by_key, event_key_of(events[1]): events[1]}

    late = verify(links, all_events, head=head, now=NOW)
    assert late.broken and late.broken.problem is Problem.UNCHAINED
    assert late.broken.event_key == event_key_of(events[1])
    soon = verify(links, all_events, head=head, now=datetime(2026, 11, 24, 10, 5, tzinfo=UTC),
                  grace=timedelta(minutes=15))
    assert soon.is_intact and soon.pending == 1


def test_a_recorded_tamper_alert_fails_verification_and_names_the_event():
    events = _stored([{"action": "a", "actor": "x", "detail": 1}])
    links, head, by_key = _chain(events)
    key = EventKey(events[0]["PK"], events[0]["SK"])
    alert = next_alert(head, key, {"stream_event": "MODIFY", "event_pk": key.partition, "event_sk": key.sort})
    result = verify([*links, alert], by_key, head=ChainHead(alert.seq, alert.hash), now=NOW)
    assert result.broken and result.broken.problem is Problem.TAMPER_ALERT
    assert (result.broken.seq, result.broken.event_key) == (2, key)
    assert "modified" in result.broken.detail


# --- one debtor's check (the evidence bundle): their events, and every link's place --------------------------

D0, D1 = "CRED#acme#DEBTOR#d0", "CRED#acme#DEBTOR#d1"


def _own(by_key: dict, partition: str) -> dict:
    return {key: event for key, event in by_key.items() if key.partition == partition}


@given(events_strategy.filter(lambda raw: len(raw) >= 2))
def test_one_debtors_check_passes_on_an_untouched_chain_and_counts_only_their_events(raw):
    links, head, by_key = _chain(_stored(raw))

    result = verify(links, _own(by_key, D0), head=head, now=NOW, partition=D0)

    assert result.is_intact and result.head == head and result.links == len(links)
    assert result.events == len(_own(by_key, D0)) and result.partition == D0


def test_another_debtors_altered_event_breaks_the_whole_check_but_not_this_debtors_evidence():
    events = _stored([{"action": "a", "actor": "x", "detail": i} for i in range(4)])  # d0, d1, d2, d0
    links, head, by_key = _chain(events)
    altered = {**by_key, event_key_of(events[1]): {**events[1], "detail": 99}}

    whole = verify(links, altered, head=head, now=NOW)
    mine = verify(links, _own(altered, D0), head=head, now=NOW, partition=D0)
    theirs = verify(links, _own(altered, D1), head=head, now=NOW, partition=D1)

    assert whole.broken and whole.broken.problem is Problem.HASH_MISMATCH
    assert mine.is_intact and mine.events == 2
    assert theirs.broken and (theirs.broken.problem, theirs.broken.seq) == (Problem.HASH_MISMATCH, 2)


def test_a_link_of_another_debtor_removed_or_edited_still_breaks_this_debtors_evidence():
    events = _stored([{"action": "a", "actor": "x", "detail": i} for i in range(4)])
    links, head, by_key = _chain(events)
    mine = _own(by_key, D0)

    gap = verify([links[0], *links[2:]], mine, head=head, now=NOW, partition=D0)
    edited = verify([links[0], replace(links[1], hash="0" * 64), *links[2:]], mine, head=head, now=NOW,
                    partition=D0)
    cut = verify(links[:-1], mine, head=head, now=NOW, partition=D0)

    assert gap.broken and gap.broken.problem is Problem.SEQ_GAP
    assert edited.broken and edited.broken.problem is Problem.PREVIOUS_HASH_MISMATCH
    assert cut.broken and cut.broken.problem in (Problem.MISSING_EVENT, Problem.HEAD_MISMATCH)


def test_a_tamper_alert_breaks_the_evidence_of_the_debtor_it_names_only():
    events = _stored([{"action": "a", "actor": "x", "detail": i} for i in range(2)])  # d0, d1
    links, head, by_key = _chain(events)
    key = event_key_of(events[1])
    alert = next_alert(head, key, {"stream_event": "MODIFY", "event_pk": key.partition, "event_sk": key.sort})
    chain, top = [*links, alert], ChainHead(alert.seq, alert.hash)

    assert verify(chain, _own(by_key, D0), head=top, now=NOW, partition=D0).is_intact
    named = verify(chain, _own(by_key, D1), head=top, now=NOW, partition=D1)
    assert named.broken and named.broken.problem is Problem.TAMPER_ALERT
