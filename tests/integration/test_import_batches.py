"""Large files (issue #9): new invoices are written by BatchWriteItem, and what DynamoDB leaves unprocessed is
written again, on the moto stack."""

from __future__ import annotations

import io

import pytest

from relance.adapters import dynamo
from relance.adapters.dynamo import DynamoStore
from relance.adapters.wiring import policies_for
from relance.domain.parties import Creditor, debtor_id_for
from relance.services import imports

HEADER = "N° facture;Client;Date facture;Échéance;Montant TTC;Déjà réglé;Devise\r\n"


def closed_for(_creditor):
    return frozenset()


class Throttled:
    """The DynamoDB client, except that each BatchWriteItem leaves its last item unprocessed `times` times over."""

    def __init__(self, real, times: int) -> None:
        self._real, self.times = real, times
        self.batch_writes = 0
        self.items_sent = 0

    def __getattr__(self, name):
        return getattr(self._real, name)

    def batch_write_item(self, RequestItems):  # noqa: N803 - boto3's name
        self.batch_writes += 1
        [(table, requests)] = RequestItems.items()
        self.items_sent += len(requests)
        if self.times and len(requests) > 1:
            self.times -= 1
            response = self._real.batch_write_item(RequestItems={table: requests[:-1]})
            return {**response, "UnprocessedItems": {table: requests[-1:]}}
        return self._real.batch_write_item(RequestItems=RequestItems)


@pytest.fixture
def store(stack, monkeypatch):
    monkeypatch.setattr(dynamo.time, "sleep", lambda _seconds: None)
    store = DynamoStore(stack.physical["RelanceTable"])
    store.put_creditor(Creditor("acme", "Acme SAS", siren="000000018"))
    return store


def export(rows: int, amount: str = "100,00") -> io.BytesIO:
    lines = [f"FA-{n:05d};Client {n % 7};03/02/2026;05/03/2026;{amount};0,00;EUR\r\n" for n in range(rows)]
    return io.BytesIO((HEADER + "".join(lines)).encode("cp1252"))


def test_unprocessed_items_are_written_again_until_every_invoice_is_stored(store):
    throttled = store._client = Throttled(store._client, times=5)

    report = imports.import_file(export(250), "acme", store, closed_for, policies_for)

    assert (report.rows, report.imported, report.errors) == (250, 250, [])
    assert throttled.times == 0  # every injected throttle was met, and retried
    owners = store.invoice_owners("acme", (f"FA-{n:05d}" for n in range(250)))
    assert len(owners) == 250
    stored = store.get_invoices("acme", ((owners[n], n) for n in owners))
    assert len(stored) == 250 and all(i.total.minor == 100_00 for i in stored.values())
    # Three items a new invoice (invoice, number registry, month's sales), 25 a batch, plus the retries.
    assert throttled.batch_writes <= (3 * 250 + 7 * 3) // 25 + 3 + 5 + 1


def test_a_table_that_never_catches_up_fails_the_import_after_bounded_retries(store):
    class NeverCatchesUp(Throttled):
        def batch_write_item(self, RequestItems):  # noqa: N803
            self.batch_writes += 1
            return {"UnprocessedItems": RequestItems}

    store._client = NeverCatchesUp(store._client, times=0)

    with pytest.raises(RuntimeError, match="unprocessed items after 8 retries"):
        imports.import_file(export(30), "acme", store, closed_for, policies_for)
    assert store._client.batch_writes == 9  # the first call and 8 retries, backing off, then it gives up


def test_existing_invoices_go_through_the_versioned_write_and_new_ones_through_batches(store):
    imports.import_file(export(120), "acme", store, closed_for, policies_for)
    throttled = store._client = Throttled(store._client, times=0)
    transactions = []
    real_transact = throttled._real.transact_write_items
    throttled.transact_write_items = lambda **kwargs: transactions.append(kwargs) or real_transact(**kwargs)

    report = imports.import_file(export(130, amount="150,00"), "acme", store, closed_for, policies_for)

    assert (report.imported, report.updated, report.unchanged) == (10, 120, 0)
    assert len(transactions) == 120  # one version-checked transaction per changed invoice
    assert all("ConditionExpression" in t["TransactItems"][0]["Put"] for t in transactions)
    assert throttled.items_sent == 2 * 10 + 1  # only the new invoices (item, number) and their month's sales lines


def test_sales_lines_are_grouped_by_month_and_a_line_written_twice_counts_once(store):
    from datetime import date

    from relance.adapters.dashboard_store import DashboardStore
    from relance.domain.invoices import Invoice
    from relance.domain.money import Money
    from relance.domain.parties import Debtor

    def invoice(number: str, issued_on: date, minor: int) -> Invoice:
        return Invoice("acme", "d-1", number, issued_on, issued_on, Money(minor, "EUR"), Money(0, "EUR"))

    february = [invoice(f"F-{n}", date(2026, 2, 1 + n), 100_00) for n in range(3)]
    store.put_new_invoices(february + [invoice("M-1", date(2026, 3, 2), 50_00)], [Debtor("acme", "d-1", "Client")])
    store.put_new_invoices(february[1:], [])  # an import re-run after a crash: lines again, in another group
    dashboard = DashboardStore(store.table_name)

    sales = dashboard.sales_between("acme", date(2026, 2, 1), date(2026, 3, 1))

    assert sorted(sales) == [(date(2026, 2, 1), Money(100_00, "EUR")), (date(2026, 2, 2), Money(100_00, "EUR")),
                             (date(2026, 2, 3), Money(100_00, "EUR")), (date(2026, 3, 2), Money(50_00, "EUR"))]


def test_owners_of_numbers_spread_over_a_crowded_registry_are_all_found_in_bounded_calls(store, monkeypatch):
    monkeypatch.setattr(dynamo, "OWNER_PAGE_ITEMS", 50)
    imports.import_file(export(1_000), "acme", store, closed_for, policies_for)
    wanted = [f"FA-{n:05d}" for n in range(0, 1_000, 7)] + ["FA-99999"]  # 143 numbers among 1,000, one unknown
    counting = store._client = Throttled(store._client, times=0)  # counts calls, throttles nothing
    queries = []
    counting.query = lambda **request: queries.append(request) or counting._real.query(**request)

    owners = store.invoice_owners("acme", wanted)

    assert set(owners) == set(wanted) - {"FA-99999"}
    assert all(owners[n] == debtor_id_for(None, f"Client {int(n[3:]) % 7}") for n in owners)
    assert len(queries) == dynamo.OWNER_RANGE_PAGES  # then the rest by key, 100 per BatchGetItem
