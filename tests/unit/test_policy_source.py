"""Where a creditor's policy comes from: its own version in force, else the packaged one; read once per TTL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources

from relance.adapters import keys
from relance.adapters.policies import load_packaged_policy, read_yaml
from relance.adapters.policy_store import StoredPolicy, canonical_document, checksum_of
from relance.adapters.wiring import policy_source
from relance.domain.parties import Creditor
from relance.domain.policy_documents import load_policy_book, policy_to_document

ACME = Creditor("acme", "Acme SAS")  # policy_id fr-b2b
UK = Creditor("globex", "Globex Ltd", country="GB", policy_id="uk-b2b")
SET_AT = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)


def custom_book():
    """fr-b2b with its first reminder three days after the due date instead of one."""
    document = policy_to_document(load_packaged_policy("fr-b2b"))
    document["policy_id"] = "acme-b2b"
    document["steps"][1]["offset_days"] = 3
    return load_policy_book(document)


class FakeStore:
    """The creditors' versions in force, and how many times they were read."""

    def __init__(self, books=None) -> None:
        self.books = dict(books or {})
        self.reads = 0

    def current(self, creditor_id: str) -> StoredPolicy | None:
        self.reads += 1
        book = self.books.get(creditor_id)
        if book is None:
            return None
        document = canonical_document(book)
        return StoredPolicy(creditor_id, 1, document, checksum_of(document), SET_AT, "acme.yaml")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_a_creditor_without_a_policy_of_its_own_gets_the_packaged_one_its_profile_names():
    policies_of = policy_source(FakeStore(), ttl_seconds=300)

    assert policies_of(ACME).default.policy_id == "fr-b2b"
    assert policies_of(UK).default.policy_id == "uk-b2b"


def test_a_creditor_with_a_policy_of_its_own_gets_its_version_in_force():
    policies_of = policy_source(FakeStore({"acme": custom_book()}), ttl_seconds=300)

    book = policies_of(ACME)

    assert book.default.policy_id == "acme-b2b"
    assert book.default.step("reminder_1").offset_days == 3


def test_without_a_store_only_packaged_policies_exist():
    assert policy_source(None, ttl_seconds=300)(ACME).default.policy_id == "fr-b2b"


def test_a_thousand_reminders_of_one_creditor_read_its_policy_once_within_the_ttl():
    store, clock = FakeStore({"acme": custom_book()}), Clock()
    policies_of = policy_source(store, ttl_seconds=300, clock=clock)

    for _reminder in range(1_000):
        policies_of(ACME)
        clock.now += 0.1

    assert store.reads == 1


def test_a_new_version_is_seen_once_the_ttl_has_passed():
    store, clock = FakeStore(), Clock()
    policies_of = policy_source(store, ttl_seconds=300, clock=clock)
    policies_of(ACME)
    store.books["acme"] = custom_book()

    clock.now += 299
    before = policies_of(ACME)
    clock.now += 2
    after = policies_of(ACME)

    assert before.default.policy_id == "fr-b2b"
    assert after.default.policy_id == "acme-b2b"
    assert store.reads == 2


def test_a_changed_policy_id_on_the_creditor_is_seen_at_once():
    policies_of = policy_source(FakeStore(), ttl_seconds=300, clock=Clock())
    policies_of(ACME)

    moved = policies_of(Creditor("acme", "Acme SAS", policy_id="uk-b2b"))

    assert moved.default.policy_id == "uk-b2b"


def test_the_checksum_names_the_policy_not_the_layout_of_its_file():
    text = resources.files("relance").joinpath("data", "policies", "fr-b2b.yaml").read_text(encoding="utf-8")
    from_yaml = load_policy_book(read_yaml(text, "fr-b2b.yaml"))
    from_json = load_policy_book(json.loads(json.dumps(policy_to_document(from_yaml), indent=4)))

    assert checksum_of(canonical_document(from_yaml)) == checksum_of(canonical_document(from_json))
    assert checksum_of(canonical_document(from_yaml)) != checksum_of(canonical_document(custom_book()))


def test_a_stored_document_reads_back_as_the_same_policy():
    book = custom_book()

    stored = FakeStore({"acme": book}).current("acme")

    assert stored.book == book
    assert stored.policy_id == "acme-b2b"


def test_policy_versions_sort_in_version_order_beside_the_pointer():
    assert keys.policy_version_key("acme", 7) == {"PK": "CRED#acme#POLICY", "SK": "V#000007"}
    assert keys.policy_current_key("acme") == {"PK": "CRED#acme#POLICY", "SK": "CURRENT"}
    assert sorted(keys.policy_version_sk(n) for n in (10, 2, 100, 9)) == [
        keys.policy_version_sk(n) for n in (2, 9, 10, 100)]
