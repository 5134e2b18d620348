"""The debtor item's summary of open invoices: what the dunning worker reads instead of the partition."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from relance.adapters.dynamo import DynamoStore, VersionConflict
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.parties import Debtor

CREDITOR = "acme"
DEBTOR = Debtor(CREDITOR, "d-1", "Boulangerie Dupont", emails=("ap@dupont.example",))


def an_invoice(number: str, total: int, paid: int = 0, due_on: date = date(2026, 10, 1)) -> Invoice:
    return Invoice(CREDITOR, DEBTOR.debtor_id, number, date(2026, 9, 1), due_on, Money(total, "EUR"),
                   Money(paid, "EUR"), next_action_on=due_on)


def open_in_partition(store: DynamoStore) -> list[Invoice]:
    _debtor, invoices = store.debtor_with_invoices(CREDITOR, DEBTOR.debtor_id)
    return sorted((i for i in invoices if not i.is_settled()), key=lambda i: i.number)


@pytest.fixture
def store(stack) -> DynamoStore:
    return DynamoStore(stack.physical["RelanceTable"])


def test_a_new_debtor_and_later_invoices_appear_in_the_summary_settled_ones_do_not(store):
    store.put_new_invoices([an_invoice("F-1", 100_00), an_invoice("F-2", 50_00, paid=50_00)], [DEBTOR])
    store.put_new_invoices([an_invoice("F-3", 70_00)], [])

    debtor, summary = store.dunning_view(CREDITOR, DEBTOR.debtor_id)

    assert debtor is not None and debtor.name == "Boulangerie Dupont"
    assert [i.number for i in summary] == ["F-1", "F-3"]
    assert summary == open_in_partition(store)


def test_paying_an_invoice_removes_it_and_an_unpaid_change_rewrites_it(store):
    store.put_new_invoices([an_invoice("F-1", 100_00), an_invoice("F-2", 80_00)], [DEBTOR])
    _debtor, (first, second) = store.dunning_view(CREDITOR, DEBTOR.debtor_id)

    store.update_invoice(replace(first, paid=Money(100_00, "EUR"), next_action_on=None))
    store.update_invoice(replace(second, paid=Money(30_00, "EUR"), disputed=True))

    _debtor, summary = store.dunning_view(CREDITOR, DEBTOR.debtor_id)
    assert [(i.number, i.balance.minor, i.disputed, i.version) for i in summary] == [("F-2", 50_00, True, 1)]
    assert summary == open_in_partition(store)


def test_a_stale_write_changes_neither_the_invoice_nor_the_summary(store):
    store.put_new_invoices([an_invoice("F-1", 100_00)], [DEBTOR])
    _debtor, (read_once,) = store.dunning_view(CREDITOR, DEBTOR.debtor_id)
    store.update_invoice(replace(read_once, paid=Money(10_00, "EUR")))

    with pytest.raises(VersionConflict):
        store.update_invoice(replace(read_once, paid=Money(100_00, "EUR")))

    _debtor, summary = store.dunning_view(CREDITOR, DEBTOR.debtor_id)
    assert [(i.balance.minor, i.version) for i in summary] == [(90_00, 1)]
    assert summary == open_in_partition(store)


def test_a_settled_invoice_never_stays_in_the_next_action_index(store):
    store.put_new_invoices([an_invoice("F-1", 100_00, paid=100_00)], [DEBTOR])

    assert list(store.due_invoices(CREDITOR, date(2026, 12, 31))) == []


def test_recently_paid_are_the_newest_numbered_settled_invoices_and_only_they_are_read(store):
    settled = {3, 18, 21, 24}
    store.put_new_invoices([an_invoice(f"F-{n:02d}", 100_00, paid=100_00 if n in settled else 0)
                            for n in range(1, 25)], [DEBTOR])
    _debtor, summary = store.dunning_view(CREDITOR, DEBTOR.debtor_id)
    by_number = {i.number: i for i in summary}
    store.update_invoice(replace(by_number["F-20"], paid=Money(100_00, "EUR"), next_action_on=None))  # paid later

    assert [i.number for i in store.recently_settled(CREDITOR, DEBTOR.debtor_id, limit=3)] == ["F-24", "F-21", "F-20"]
    assert [i.number for i in store.recently_settled(CREDITOR, DEBTOR.debtor_id, limit=20)] == [
        "F-24", "F-21", "F-20", "F-18", "F-03"]
    assert all(i.is_settled() for i in store.recently_settled(CREDITOR, DEBTOR.debtor_id, limit=20))


def test_an_invoice_reopened_by_a_refund_leaves_the_recently_paid(store):
    store.put_new_invoices([an_invoice("F-1", 100_00, paid=100_00), an_invoice("F-2", 50_00)], [DEBTOR])
    (paid,) = store.recently_settled(CREDITOR, DEBTOR.debtor_id, limit=20)

    store.update_invoice(replace(paid, paid=Money(40_00, "EUR"), next_action_on=date(2026, 10, 2)))

    assert store.recently_settled(CREDITOR, DEBTOR.debtor_id, limit=20) == []
    assert store.recently_settled(CREDITOR, "nobody", limit=20) == []
