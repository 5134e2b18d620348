"""Issue 10, GDPR (pure part): what is personal, the pseudonym, the retention rule, the refusal reasons,
and a redaction that the audit chain accepts while any other edit still breaks it."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from relance.adapters.gdpr_store import retention_years_by_jurisdiction
from relance.domain.audit_chain import ChainHead, EventKey, Problem, erasure_record, is_redaction, next_erasure, \
    next_link, verify
from relance.domain.gdpr import (
    ErasureRefused,
    Refusal,
    RetentionRule,
    UnknownRetention,
    erased_token,
    erasure_refusals,
    id_reveals_identity,
    mentions,
    personal_content,
    personal_values,
    pseudonym,
    redact,
    retention_rule,
)
from relance.domain.invoices import Invoice
from relance.domain.money import Money

SECRET = b"test-secret"
TOKEN = erased_token(pseudonym(SECRET, "acme", "d-1"))
EVENT = {"PK": "CRED#acme#DEBTOR#d-1", "SK": "AUDIT#2026-11-24T10:00:00.000000+00:00#abc", "entity": "audit",
         "creditor_id": "acme", "debtor_id": "d-1", "at": "2026-11-24T10:00:00+00:00", "action": "contacts_edited",
         "actor": "finance:marie", "amount_minor": 12_000,
         "before": {"emails": ["jean@dupont.example"], "phone": "+33 6 12 34 56 78", "address": "12 rue des Lilas"},
         "smtp_response": "550 5.1.1 <jean@dupont.example>: user unknown"}


def an_invoice(number: str, total: int, paid: int) -> Invoice:
    return Invoice("acme", "d-1", number, date(2026, 1, 1), date(2026, 2, 1), Money(total, "EUR"), Money(paid, "EUR"))


def test_the_pseudonym_is_stable_keyed_and_differs_per_debtor():
    first = pseudonym(SECRET, "acme", "d-1")

    assert first == pseudonym(SECRET, "acme", "d-1") and len(first) == 16
    assert first != pseudonym(SECRET, "acme", "d-2")
    assert first != pseudonym(b"another-secret", "acme", "d-1")
    assert "d-1" not in first


def test_personal_values_are_found_under_personal_names_at_any_depth():
    values = personal_values([EVENT, {"entity": "debtor", "name": "Boulangerie Dupont", "company_id": "552100554",
                                      "language": "fr", "emails": ["jean@dupont.example", "fr"]}])

    assert values == {"jean@dupont.example", "+33 6 12 34 56 78", "12 rue des Lilas", "Boulangerie Dupont",
                      "552100554"}  # "fr" is too short to search for, and language is not personal


def test_redact_replaces_personal_texts_and_keeps_keys_ids_dates_and_amounts():
    values = personal_values([EVENT])

    after = redact(EVENT, values, TOKEN)

    assert after["before"] == {"emails": [TOKEN], "phone": TOKEN, "address": TOKEN}
    assert after["smtp_response"] == f"550 5.1.1 <{TOKEN}>: user unknown"
    for name in ("PK", "SK", "entity", "creditor_id", "debtor_id", "at", "action", "actor", "amount_minor"):
        assert after[name] == EVENT[name]
    assert personal_content(after, values) == {}
    assert set(personal_content(EVENT, values)) == {"before", "smtp_response"}


def test_redacting_twice_changes_nothing_more():
    once = redact(EVENT, personal_values([EVENT]), TOKEN)

    assert redact(once, personal_values([once]), TOKEN) == once
    assert personal_values([once]) == frozenset()


def test_a_redaction_is_recognised_and_any_other_edit_is_not():
    redacted = redact(EVENT, personal_values([EVENT]), TOKEN)

    assert is_redaction(EVENT, redacted)
    assert not is_redaction(EVENT, EVENT)  # nothing changed
    assert not is_redaction(EVENT, {**redacted, "amount_minor": 1})  # an amount moved
    assert not is_redaction(EVENT, {**redacted, "actor": TOKEN + " and someone else"})  # text added
    assert not is_redaction(EVENT, {**redacted, "smtp_response": "250 OK " + TOKEN})  # text rewritten
    assert not is_redaction(EVENT, {**redacted, "extra": "x"})  # attribute added
    assert not is_redaction(EVENT, {k: v for k, v in redacted.items() if k != "before"})  # attribute dropped


def _chained(events: list[dict]):
    head, links = ChainHead(), []
    for event in events:
        link = next_link(head, event)
        links.append(link)
        head = ChainHead(link.seq, link.hash)
    return links, head


def test_a_redacted_event_verifies_once_its_erasure_is_chained_and_not_before():
    other = {**EVENT, "SK": EVENT["SK"] + "2", "action": "reminder_sent"}
    links, head = _chained([EVENT, other])
    redacted = redact(EVENT, personal_values([EVENT]), TOKEN)
    key = EventKey(EVENT["PK"], EVENT["SK"])
    erasure = next_erasure(head, key, erasure_record(key, EVENT, redacted, "000123"))
    stored = {key: redacted, EventKey(other["PK"], other["SK"]): other}

    without = verify(links, stored, head=head)
    with_erasure = verify([*links, erasure], stored, head=ChainHead(erasure.seq, erasure.hash))

    assert without.broken is not None and without.broken.problem is Problem.HASH_MISMATCH
    assert with_erasure.is_intact and with_erasure.links == 3


def test_an_edit_after_the_redaction_still_breaks_the_chain():
    links, head = _chained([EVENT])
    redacted = redact(EVENT, personal_values([EVENT]), TOKEN)
    key = EventKey(EVENT["PK"], EVENT["SK"])
    erasure = next_erasure(head, key, erasure_record(key, EVENT, redacted, "000123"))

    result = verify([*links, erasure], {key: {**redacted, "amount_minor": 1}}, head=ChainHead(erasure.seq, erasure.hash))

    assert result.broken is not None and result.broken.problem is Problem.HASH_MISMATCH and result.broken.seq == 1


def test_an_altered_erasure_record_breaks_the_chain():
    links, head = _chained([EVENT])
    redacted = redact(EVENT, personal_values([EVENT]), TOKEN)
    key = EventKey(EVENT["PK"], EVENT["SK"])
    erasure = next_erasure(head, key, erasure_record(key, EVENT, redacted, "000123"))
    forged = type(erasure)(erasure.seq, erasure.event_key, erasure.hash, erasure.previous_hash, erasure.kind,
                           {**erasure.alert, "redacted": []})

    result = verify([*links, forged], {key: redacted}, head=ChainHead(erasure.seq, erasure.hash))

    assert result.broken is not None and result.broken.seq == 2 and result.broken.problem is Problem.HASH_MISMATCH


@given(text=st.text(min_size=0, max_size=40), value=st.text(min_size=4, max_size=12))
def test_redacting_any_text_is_always_a_recognised_redaction_or_no_change(text, value):
    event = {**EVENT, "detail": f"{text}{value}{text}"}

    after = redact(event, [value], TOKEN)

    assert after == event or is_redaction(event, after)


# --- retention ------------------------------------------------------------------------------------


def test_retention_counts_whole_years_from_the_last_activity():
    rule = RetentionRule("FR", 5)

    assert rule.erasable_on(date(2020, 3, 15)) == date(2025, 3, 15)
    assert not rule.is_due(date(2020, 3, 15), today=date(2025, 3, 14))
    assert rule.is_due(date(2020, 3, 15), today=date(2025, 3, 15))
    assert rule.erasable_on(date(2020, 2, 29)) == date(2025, 2, 28)


def test_retention_years_are_policy_data_per_jurisdiction_with_the_eu_default():
    years = retention_years_by_jurisdiction()

    assert years["FR"] == 5 and years["UK"] == 6 and years["EU"] == 5
    assert retention_rule("fr", years) == RetentionRule("FR", 5)
    assert retention_rule("PT", years) == RetentionRule("EU", 5)
    with pytest.raises(UnknownRetention):
        retention_rule("PT", {"FR": 5})


# --- refusals -------------------------------------------------------------------------------------


def test_nothing_open_means_no_refusal():
    assert erasure_refusals([an_invoice("F-1", 100_00, 100_00)], [{"plan_id": "p1", "state": "completed"}],
                            [{"number": "F-1", "status": "resolved"}], {"EUR": 0},
                            [{"payment_id": "pi_0", "status": "succeeded"}]) == ()


def test_every_open_matter_is_a_reason_naming_what_is_open():
    reasons = erasure_refusals(
        [an_invoice("F-1", 100_00, 40_00), an_invoice("F-2", 50_00, 50_00)],
        [{"plan_id": "p1", "state": "active"}, {"plan_id": "p0", "state": "broken"}],
        [{"number": "F-1", "status": "open"}], {"EUR": 12_00},
        [{"payment_id": "pi_1", "status": "processing"}, {"payment_id": "pi_0", "status": "succeeded"}],
        [{"line_id": "bl-2", "payer": "BOULANGERIE DUPONT"}])

    assert [(r.reason, r.refs) for r in reasons] == [
        (Refusal.OPEN_INVOICE, ("F-1",)), (Refusal.RUNNING_PLAN, ("p1",)), (Refusal.OPEN_DISPUTE, ("F-1",)),
        (Refusal.CREDIT_TO_REFUND, ("EUR",)), (Refusal.PAYMENT_IN_PROGRESS, ("pi_1",)),
        (Refusal.UNMATCHED_PAYMENT, ("bl-2",))]
    error = ErasureRefused(reasons)
    assert error.code == "gdpr.erasure_refused"
    assert "open_invoice (F-1)" in str(error) and "open_dispute (F-1)" in str(error)
    assert error.params["reasons"] == ["open_invoice", "running_plan", "open_dispute", "credit_to_refund",
                                       "payment_in_progress", "unmatched_payment"]


def test_an_item_mentions_the_debtor_when_a_text_contains_a_personal_value_in_any_case():
    values = personal_values([{"name": "Boulangerie Dupont SARL", "emails": ["compta@dupont.example"]}])

    assert mentions({"payer": "VIR BOULANGERIE DUPONT SARL", "line_id": "bl-1"}, values)
    assert mentions({"reference": "from compta@dupont.example re F-1"}, values)
    assert not mentions({"payer": "GARAGE MARTIN", "reference": "F-10"}, values)
    # Ids, keys and dates are never searched: a debtor id equal to a name is not a mention.
    assert not mentions({"PK": "CRED#acme#BANKQUEUE", "debtor_id": "Boulangerie Dupont SARL"}, values)
    assert not mentions({"payer": "BOULANGERIE DUPONT SARL"}, frozenset())


def test_every_document_of_a_debtor_is_under_the_prefix_erase_deletes():
    from relance.adapters import keys

    prefix = keys.debtor_documents_prefix("acme", "d-1")

    assert keys.document_key("acme", "d-1", date(2026, 11, 24), "formal_notice.pdf").startswith(prefix)
    assert keys.dispute_document_key("acme", "d-1", "abc", "photo.png").startswith(prefix)
    assert keys.original_pdf_object_key("acme", "d-1", "f" * 64).startswith(prefix)
    assert not keys.document_key("acme", "d-10", date(2026, 11, 24), "x.pdf").startswith(prefix)


def test_ids_the_import_derived_from_a_siren_or_a_name_are_flagged_since_erasure_keeps_ids():
    from relance.domain.parties import debtor_id_for

    assert id_reveals_identity(debtor_id_for("552100554", "Dupont"))
    assert id_reveals_identity(debtor_id_for(None, "Jean Dupont"))
    assert not id_reveals_identity("C-00042")
