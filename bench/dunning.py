"""The daily dunning run at scale, on moto in-process: what it reads, how many AWS calls, how it grows.

A table of N invoices (about five per debtor) of which 1,000 reach their first reminder on the
run day, one per debtor. Prints, for each size:
- DynamoDB items read per debtor due, by the scan (sparse index) and by the worker (the debtor
  item with its open-invoice summary), counted from the responses (Count of Query, items of
  GetItem/BatchGetItem);
- AWS calls per reminder sent, every call counted at botocore's `_make_api_call`;
- the scan's time, and the ratio of scan times between the sizes.

    python bench/dunning.py                    # 10,000 and 100,000 invoices
    python bench/dunning.py --sizes 2000 20000
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import date

from aws_counts import Calls

DUE = 1_000
RUN_DAY = date(2026, 12, 1)  # a Tuesday


def build(size: int):
    from dataclasses import replace
    from datetime import timedelta

    from relance.adapters.calendars import closed_days
    from relance.adapters.dynamo import DynamoStore
    from relance.adapters.policies import load_packaged_policy
    from relance.domain.dunning import plan_next_action
    from relance.domain.invoices import Invoice
    from relance.domain.money import Money
    from relance.domain.parties import Creditor, Debtor

    store = DynamoStore(os.environ["RELANCE_TABLE"])
    store.put_creditor(Creditor("bench", "Bench SAS", siren="000000018"))
    policy = load_packaged_policy("fr-b2b").default
    closed = closed_days("FR")
    debtor_count = size // 5
    debtors = [Debtor("bench", f"d{n:06d}", f"Debtor {n}", emails=(f"ap{n}@example.com",))
               for n in range(debtor_count)]
    store.put_new_invoices([], debtors)  # the customers first, as an import does
    batch: list[Invoice] = []
    for n in range(size):
        debtor = debtors[n % debtor_count]
        if n < DUE:  # one per debtor: due the day before the run day, first reminder on the run day
            due_on, paid = RUN_DAY - timedelta(days=1), 0
        elif n % 2:
            due_on, paid = RUN_DAY - timedelta(days=60 + n % 200), 900_00  # settled: no index entry
        else:
            due_on, paid = RUN_DAY + timedelta(days=10 + n % 50), 0  # later: index entries after the run day
        invoice = Invoice("bench", debtor.debtor_id, f"INV-{n:07d}", due_on - timedelta(days=30), due_on,
                          Money(900_00, "EUR"), Money(paid, "EUR"))
        batch.append(replace(invoice, next_action_on=plan_next_action(invoice, policy, closed)))
        if len(batch) == 5_000:
            store.put_new_invoices(batch, [])
            batch = []
    store.put_new_invoices(batch, [])


def measure(size: int, calls: Calls) -> dict[str, float]:
    from moto import mock_aws

    from relance.adapters.aws import reset_clients
    from relance_cli import local_lambda, moto_patches
    from relance_cli.local_stack import provision

    moto_patches.apply()
    with mock_aws():
        reset_clients()
        stack = provision()
        os.environ.update(stack.environment())
        local_lambda.forget_handlers()
        build(size)
        calls.reset()
        started = time.perf_counter()
        scan = local_lambda.invoke("DailyScanFunction", {"business_date": RUN_DAY.isoformat()})
        scan_seconds = time.perf_counter() - started
        scan_items = calls.items_read
        calls.reset()
        started = time.perf_counter()
        drained = local_lambda.drain(stack.physical["ReminderQueue"], "SendRemindersFunction")
        worker_seconds = time.perf_counter() - started
        worker_calls = sum(calls.calls.values())
        sqs_receive = calls.calls["sqs.ReceiveMessage"] + calls.calls["sqs.DeleteMessageBatch"] \
            + calls.calls["sqs.GetQueueAttributes"]
        sent = calls.calls["sesv2.SendEmail"]
        result = {
            "invoices": size,
            "debtors_due": scan["debtors_queued"],
            "scan_items_per_debtor": scan_items / max(scan["debtors_queued"], 1),
            "worker_items_per_debtor": calls.items_read / max(drained.messages, 1),
            "reminders": sent,
            "calls_per_reminder": (worker_calls - sqs_receive) / max(sent, 1),
            "breakdown": {k: round(v / max(sent, 1), 2) for k, v in sorted(calls.calls.items())},
            "scan_seconds": scan_seconds,
            "worker_seconds": worker_seconds,
        }
    reset_clients()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="eu-west-3")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    calls = Calls()
    calls.install()
    rows = [measure(size, calls) for size in args.sizes]
    print(f"{'invoices':>9} {'debtors due':>11} {'scan items/debtor':>17} {'worker items/debtor':>19} "
          f"{'reminders':>9} {'AWS calls/reminder':>18} {'scan s':>7} {'worker s':>8}")
    for row in rows:
        print(f"{row['invoices']:>9,} {row['debtors_due']:>11} {row['scan_items_per_debtor']:>17.2f} "
              f"{row['worker_items_per_debtor']:>19.2f} {row['reminders']:>9} {row['calls_per_reminder']:>18.2f} "
              f"{row['scan_seconds']:>7.2f} {row['worker_seconds']:>8.1f}")
    print("calls per reminder by operation (worker, SQS polling by the local event source excluded):")
    for name, per in rows[-1]["breakdown"].items():
        print(f"  {name:<40} {per:>6.2f}")
    if len(rows) > 1:
        print(f"scan time ratio {rows[-1]['invoices']:,} / {rows[0]['invoices']:,} invoices: "
              f"{rows[-1]['scan_seconds'] / rows[0]['scan_seconds']:.2f} (moto, with relance_cli.moto_patches, still walks every item once per index Query; "
              "DynamoDB's reads only the partition)")


if __name__ == "__main__":
    main()
