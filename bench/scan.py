"""Items the daily scan reads per invoice due, as the table grows and the work due stays the same.

Builds a table of N invoices on moto (in-process) through the real adapter, of which exactly 100
have their first reminder due on the scan day; the others are settled (no index entry) or fall
due later (index entries after the day). Runs the real scan service and prints the items DynamoDB
reports reading (the Query's ScannedCount, which is what DynamoDB bills), per invoice due, next
to what a table Scan would read.

    python bench/scan.py                 # 1,000 and 100,000 invoices
    python bench/scan.py --sizes 1000 10000
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

DUE = 100
SCAN_DAY = date(2026, 12, 1)  # a Tuesday, not a holiday


class CountingQueue:
    """Stands in for SQS: the scan's output is only counted here."""

    def __init__(self) -> None:
        self.jobs = 0

    def send_jobs(self, jobs) -> None:
        self.jobs += len(jobs)


def build_table(size: int):
    from relance.adapters.calendars import closed_days
    from relance.adapters.dynamo import DynamoStore
    from relance.domain.invoices import Invoice
    from relance.domain.money import Money
    from relance.domain.parties import Creditor, Debtor
    from relance.adapters.policies import load_packaged_policy
    from relance.domain.dunning import plan_next_action
    from relance_cli.local_stack import provision

    stack = provision()
    store = DynamoStore(stack.physical["RelanceTable"])
    store.put_creditor(Creditor("bench", "Bench SAS"))
    closed = closed_days("FR")
    policy = load_packaged_policy("fr-b2b").default
    debtors = [Debtor("bench", f"d{n:06d}", f"Debtor {n}", emails=(f"d{n}@example.com",)) for n in range(size // 5)]
    store.put_new_invoices([], debtors)  # the customers first, as an import does
    batch: list[Invoice] = []
    for n in range(size):
        debtor = debtors[n % len(debtors)]
        if n < DUE:  # due the working day before the scan day: first reminder on the scan day
            due_on, paid = SCAN_DAY - timedelta(days=1), 0
        elif n % 2:  # settled: carries no index entry
            due_on, paid = SCAN_DAY - timedelta(days=40 + n % 300), 500_00
        else:  # not yet due: an index entry after the scan day
            due_on, paid = SCAN_DAY + timedelta(days=10 + n % 60), 0
        invoice = Invoice("bench", debtor.debtor_id, f"INV-{n:07d}", due_on - timedelta(days=30), due_on,
                          Money(500_00, "EUR"), Money(paid, "EUR"))
        batch.append(replace(invoice, next_action_on=plan_next_action(invoice, policy, closed)))
        if len(batch) == 5_000:
            store.put_new_invoices(batch, [])
            batch = []
    store.put_new_invoices(batch, [])
    return store, stack


def measure(size: int) -> dict[str, float]:
    from moto import mock_aws

    from relance.adapters.aws import client, reset_clients
    from relance.adapters.wiring import closed_for
    from relance.services.daily import scan_day

    with mock_aws():
        reset_clients()
        store, stack = build_table(size)
        queue = CountingQueue()
        started = time.perf_counter()
        report = scan_day(datetime.now(UTC), store, queue, closed_for, business_date=SCAN_DAY)
        seconds = time.perf_counter() - started
        items = client("dynamodb").describe_table(TableName=stack.physical["RelanceTable"])["Table"]["ItemCount"]
    reset_clients()
    return {
        "invoices": size,
        "table_items": items,
        "invoices_due": report.invoices_due,
        "debtors_queued": report.debtors_queued,
        "items_read": report.items_read,
        "per_invoice_due": report.items_read / max(report.invoices_due, 1),
        "scan_would_read_per_due": items / max(report.invoices_due, 1),
        "seconds_on_moto": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000])
    args = parser.parse_args()
    for name, value in {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                        "AWS_DEFAULT_REGION": "eu-west-3"}.items():
        os.environ[name] = value
    os.environ.pop("AWS_ENDPOINT_URL", None)
    print(f"{'invoices':>9} {'table items':>11} {'due':>5} {'debtors':>7} {'items read':>10} "
          f"{'read/due':>8} {'Scan/due':>8}")
    for size in args.sizes:
        row = measure(size)
        print(f"{row['invoices']:>9,} {row['table_items']:>11,} {row['invoices_due']:>5} {row['debtors_queued']:>7} "
              f"{row['items_read']:>10} {row['per_invoice_due']:>8.2f} {row['scan_would_read_per_due']:>8.1f}")
        assert row["invoices_due"] == DUE, row


if __name__ == "__main__":
    main()
