"""Disputes and promises from the portal, on moto: one transaction each, and the daily scan leaves paused invoices alone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from relance.adapters.policies import load_packaged_policy
from relance.adapters.portal_store import PortalStore
from relance.adapters.s3 import S3Documents
from relance.domain.calendar import next_business_day
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.parties import Creditor, Debtor
from relance.services.disputes import Attachment, DisputeOutcome, DisputeRequest, open_dispute
from relance.services.promises import promise_to_pay

CREDITOR = Creditor("acme", "Acme Fournitures SAS")
DEBTOR = Debtor("acme", "d-1", "Boulangerie Dupont", emails=("ap@dupont.example",))
OTHER = Debtor("acme", "d-2", "Bramble & Co Ltd", emails=("ap@bramble.example",))
TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
POLICY = load_packaged_policy("fr-b2b").default
CLOSED: frozenset[date] = frozenset()
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def an_invoice(debtor: Debtor, number: str, due_on: date, next_action_on: date | None) -> Invoice:
    return Invoice("acme", debtor.debtor_id, number, due_on - timedelta(days=30), due_on, Money(1_000_00, "EUR"),
                   Money(0, "EUR"), next_action_on=next_action_on)


@pytest.fixture
def store(stack) -> PortalStore:
    store = PortalStore(stack.physical["RelanceTable"])
    store.put_creditor(CREDITOR)
    store.put_new_invoices([an_invoice(DEBTOR, "F-1", date(2026, 10, 1), TODAY),
                            an_invoice(DEBTOR, "F-2", date(2026, 10, 15), TODAY + timedelta(days=2)),
                            an_invoice(OTHER, "G-1", date(2026, 10, 1), TODAY)], [DEBTOR, OTHER])
    return store


@pytest.fixture
def documents(stack) -> S3Documents:
    return S3Documents(stack.physical["DocumentsBucket"])


def dispute(store, documents, number: str = "F-1", debtor: Debtor = DEBTOR) -> DisputeOutcome:
    asked = DisputeRequest(number, "quality", "Abîmé à la livraison", Attachment("photo livraison.png", PNG))
    return open_dispute("acme", debtor.debtor_id, asked, TODAY, NOW, store, documents, POLICY, CLOSED)


def test_a_dispute_pauses_only_that_invoice_and_the_daily_scan_skips_it(store, documents):
    outcome = dispute(store, documents)

    assert outcome is DisputeOutcome.OPENED
    disputed = store.find_invoice("acme", "d-1", "F-1")
    assert disputed.disputed and disputed.next_action_on is None
    assert store.find_invoice("acme", "d-1", "F-2").next_action_on == TODAY + timedelta(days=2)
    due = {(d.debtor_id, d.number) for d in store.due_invoices("acme", TODAY + timedelta(days=30))}
    assert due == {("d-1", "F-2"), ("d-2", "G-1")}
    _debtor, summary = store.dunning_view("acme", "d-1")
    assert {i.number: i.disputed for i in summary} == {"F-1": True, "F-2": False}


def test_a_dispute_keeps_its_attachment_under_the_debtors_prefix_and_tells_finance(store, documents):
    dispute(store, documents)

    record = store.find_dispute("acme", "d-1", "F-1")
    assert record["status"] == "open" and record["reason"] == "quality" and record["opened_at"] == NOW.isoformat()
    key = record["attachment_key"]
    assert key == f"creditors/acme/debtors/d-1/disputes/{record['dispute_id']}/photo_livraison.png"
    assert documents.get(key) == PNG
    stored = documents.open(key)
    assert stored.content_type == "image/png" and b"".join(stored.chunks) == PNG
    tasks = store.open_tasks("acme")
    assert [(t["kind"], t["debtor_id"], t["invoices"]) for t in tasks] == [("dispute", "d-1", ["F-1"])]
    assert [a["action"] for a in store.audit_of("acme", "d-1")] == ["dispute_opened"]


def test_the_same_dispute_twice_is_one_dispute(store, documents):
    first = dispute(store, documents)
    second = dispute(store, documents)

    assert (first, second) == (DisputeOutcome.OPENED, DisputeOutcome.ALREADY_OPEN)
    assert len(store.disputes_of("acme", "d-1")) == 1
    assert len(store.open_tasks("acme")) == 1


def test_two_disputes_of_one_debtor_on_one_day_make_two_tasks(store, documents):
    dispute(store, documents, "F-1")
    dispute(store, documents, "F-2")

    assert sorted(t["invoices"][0] for t in store.open_tasks("acme")) == ["F-1", "F-2"]


def test_a_promise_pauses_the_overdue_invoices_until_the_date_plus_grace(store):
    promised_on = TODAY + timedelta(days=10)

    promised = promise_to_pay("acme", "d-1", promised_on, "Virement lundi", TODAY, NOW, store, POLICY, CLOSED)

    resume = next_business_day(promised_on + timedelta(days=POLICY.promise_grace_days + 1), CLOSED)
    assert sorted(i.number for i in promised) == ["F-1", "F-2"]
    for number in ("F-1", "F-2"):
        invoice = store.find_invoice("acme", "d-1", number)
        assert invoice.promised_on == promised_on
        assert invoice.next_action_on >= resume
    assert store.find_invoice("acme", "d-2", "G-1").promised_on is None
    audit = store.audit_of("acme", "d-1")
    assert [(a["action"], a["actor"], a["promised_on"]) for a in audit] == [
        ("payment_promised", "debtor", promised_on.isoformat())]
    due_now = {(d.debtor_id, d.number) for d in store.due_invoices("acme", promised_on)}
    assert due_now == {("d-2", "G-1")}


def test_a_promise_leaves_a_disputed_invoice_alone(store, documents):
    dispute(store, documents, "F-1")

    promised = promise_to_pay("acme", "d-1", TODAY + timedelta(days=5), "", TODAY, NOW, store, POLICY, CLOSED)

    assert [i.number for i in promised] == ["F-2"]
    assert store.find_invoice("acme", "d-1", "F-1").promised_on is None


def test_the_deployed_portal_wires_the_account_pages_to_the_table_and_the_documents_bucket(stack):
    from relance_portal.account_services import AccountServices

    services = AccountServices.from_settings({"DOCUMENTS_BUCKET": stack.physical["DocumentsBucket"]})

    assert isinstance(services.store, PortalStore)
    assert services.store.table_name == stack.physical["RelanceTable"]
    assert services.documents.bucket == stack.physical["DocumentsBucket"]
    assert services.policies(CREDITOR).default.max_promise_days > 0
