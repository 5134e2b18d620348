"""The daily run over a realistic book of invoices on a moto server: its time and its AWS calls.

A moto server starts in another process on 127.0.0.1 (loopback only), with the tables, queues, secrets and
SES identity of template.yaml created the way the local stack does (`relance_cli.local_stack.provision`).
The book is seeded with BatchWriteItem through the real adapter (`DynamoStore.put_new_invoices`): about
five invoices per debtor, one debtor in twenty with no e-mail address, due dates spread around the run day:

- half not yet due (due within 40 days: the courtesy notice at J-5 falls due for some of them);
- a third settled (no entry in the planner's index);
- the rest overdue and unpaid, due up to 90 days ago, some part-paid, each having gone through the steps
  the policy asked for before the run day (`last_step`, `last_step_on`), so that today some reach their
  first reminder, others the second, the call, the formal notice or the agency hand-off.

Then the scheduled path runs exactly as on AWS: the scan handler (`DailyScanFunction`, what EventBridge
Scheduler invokes at 09:00) queues one job per debtor due on the reminder queue, and the worker
(`SendRemindersFunction`) drains it in batches of 10 as its SQS event source mapping would. Every AWS call
of this process is counted at botocore's `_make_api_call` (bench/aws_counts.py).

    python bench/daily_run.py                      # 100,000 invoices
    python bench/daily_run.py --invoices 20000
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, timedelta

from aws_counts import Calls
from moto_process import moto_server

RUN_DAY = date(2026, 12, 8)  # a Tuesday, not a holiday, not the month's first business day (no month-end snapshot)
INVOICES_PER_DEBTOR = 5
CHUNK_DEBTORS = 1_000  # debtors (and their invoices) per put_new_invoices call


def _history(invoice, policy, closed):
    """`invoice` having gone through every step the policy asked for before RUN_DAY, and its next action day."""
    from relance.domain.dunning import plan_next_action, step_date

    last_step, last_step_on = None, None
    for step in policy.steps:
        reached = step_date(replace(invoice, last_step=last_step, last_step_on=last_step_on), step, closed)
        if reached >= RUN_DAY:
            break
        last_step, last_step_on = step.step_id, reached
    walked = replace(invoice, last_step=last_step, last_step_on=last_step_on)
    return replace(walked, next_action_on=plan_next_action(walked, policy, closed))


def book(count: int, seed: int = 11):
    """(debtors, invoices) of the seeded book, in chunks of CHUNK_DEBTORS debtors with their invoices."""
    from relance.adapters.calendars import closed_days
    from relance.adapters.policies import load_packaged_policy
    from relance.domain.invoices import Invoice
    from relance.domain.money import Money
    from relance.domain.parties import Debtor

    rng = random.Random(seed)
    policy = load_packaged_policy("fr-b2b").default
    closed = closed_days("FR")
    debtor_count = max(1, count // INVOICES_PER_DEBTOR)
    number = 0
    for first in range(0, debtor_count, CHUNK_DEBTORS):
        debtors, invoices = [], []
        for n in range(first, min(first + CHUNK_DEBTORS, debtor_count)):
            emails = () if n % 20 == 0 else (f"compta{n}@client{n}.example",)
            debtors.append(Debtor("bench", f"d{n:06d}", f"Client {n} SARL", emails=emails))
        for debtor in debtors:
            for _ in range(INVOICES_PER_DEBTOR if number < count - INVOICES_PER_DEBTOR else count - number):
                total = rng.randrange(80_00, 12_000_00)
                kind = rng.random()
                if kind < 0.50:  # not yet due
                    due_on, paid = RUN_DAY + timedelta(days=rng.randint(1, 40)), 0
                elif kind < 0.85:  # settled
                    due_on, paid = RUN_DAY - timedelta(days=rng.randint(1, 200)), total
                else:  # overdue, sometimes part-paid
                    due_on = RUN_DAY - timedelta(days=rng.randint(1, 90))
                    paid = rng.randrange(0, total // 2) if rng.random() < 0.1 else 0
                issued_on = due_on - timedelta(days=rng.choice((30, 45, 60)))
                invoice = Invoice("bench", debtor.debtor_id, f"FA-2026-{number:07d}", min(issued_on, RUN_DAY),
                                  due_on, Money(total, "EUR"), Money(paid, "EUR"))
                invoices.append(_history(invoice, policy, closed))
                number += 1
        yield debtors, invoices


@dataclass
class Figures:
    invoices: int
    seed_seconds: float
    invoices_due: int
    debtors_queued: int
    scan_seconds: float
    scan_items_read: int
    scan_report: dict
    scan_calls: Counter
    worker_seconds: float
    worker_items_read: int
    worker_calls: Counter
    drained: object
    due_by_step: Counter
    load_average: tuple[float, float, float]

    @property
    def reminders(self) -> int:
        return self.worker_calls["sesv2.SendEmail"]

    @property
    def polling(self) -> int:
        """SQS calls the event source mapping makes (receive, delete): Lambda's, not the function's."""
        return sum(self.worker_calls[f"sqs.{op}"] for op in ("ReceiveMessage", "DeleteMessageBatch",
                                                            "GetQueueAttributes"))


def run(count: int, calls: Calls, progress: bool = True) -> Figures:
    from relance.adapters.aws import reset_clients
    from relance.adapters.dynamo import DynamoStore
    from relance.domain.parties import Creditor
    from relance_cli import local_lambda
    from relance_cli.local_stack import provision

    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="eu-west-3")
    with moto_server() as endpoint:
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        try:
            reset_clients()
            stack = provision(endpoint_url=endpoint)
            os.environ.update(stack.environment())
            local_lambda.forget_handlers()
            store = DynamoStore(stack.physical["RelanceTable"])
            store.put_creditor(Creditor("bench", "Atelier Lumière SAS", siren="000000018",
                                        contact_email="compta@atelier.example"))
            started = time.perf_counter()
            due_by_step: Counter = Counter()
            seeded = 0
            for debtors, invoices in book(count):
                due_by_step.update(i.last_step or "-" for i in invoices if i.next_action_on == RUN_DAY)
                store.put_new_invoices(invoices, debtors)
                seeded += len(invoices)
                if progress:
                    print(f"\rseeding {seeded:,}/{count:,} invoices, {time.perf_counter() - started:.0f} s",
                          end="", file=sys.stderr, flush=True)
            seed_seconds = time.perf_counter() - started
            if progress:
                print(file=sys.stderr)

            calls.reset()
            started = time.perf_counter()
            scan = local_lambda.invoke("DailyScanFunction", {"business_date": RUN_DAY.isoformat()})
            scan_seconds = time.perf_counter() - started
            scan_calls, scan_items = Counter(calls.calls), calls.items_read

            calls.reset()
            started = time.perf_counter()
            drained = local_lambda.drain(stack.physical["ReminderQueue"], "SendRemindersFunction")
            worker_seconds = time.perf_counter() - started
            figures = Figures(count, seed_seconds, scan["invoices_due"], scan["debtors_queued"], scan_seconds,
                              scan_items, scan, scan_calls, worker_seconds, calls.items_read, Counter(calls.calls),
                              drained, due_by_step, os.getloadavg())
        finally:
            os.environ.pop("AWS_ENDPOINT_URL", None)
            reset_clients()
            local_lambda.forget_handlers()
    return figures


def report(figures: Figures) -> None:
    due, debtors = figures.invoices_due, figures.debtors_queued
    function_calls = sum(figures.worker_calls.values()) - figures.polling
    reminders = figures.reminders
    print(f"Daily run over {figures.invoices:,} invoices on a moto server (loopback); "
          f"{os.cpu_count()} CPUs, load average {figures.load_average[0]:.2f} {figures.load_average[1]:.2f} "
          f"{figures.load_average[2]:.2f}")
    print(f"  seeding (BatchWriteItem, not part of the run)   {figures.seed_seconds:>9.1f} s")
    print(f"  invoices due on {RUN_DAY}                      {due:>9,}  by step done before: "
          + ", ".join(f"{step} {n:,}" for step, n in sorted(figures.due_by_step.items())))
    print(f"  debtors queued (one job each)                   {debtors:>9,}")
    print(f"  scan: wall time                                 {figures.scan_seconds:>9.2f} s")
    print(f"  scan: DynamoDB items read per invoice due       {figures.scan_items_read / max(due, 1):>9.2f} "
          f"({figures.scan_items_read:,} items of {figures.invoices:,} invoices; the scan counts "
          f"{figures.scan_report['items_read']:,} in its index, {figures.scan_report['month_ends_written']} month-end)")
    print(f"  worker drain: wall time                         {figures.worker_seconds:>9.1f} s "
          f"({figures.drained.batches:,} batches, {figures.drained.failures} failed records)")
    print(f"  worker: DynamoDB items read per debtor          {figures.worker_items_read / max(debtors, 1):>9.2f}")
    print(f"  items read per invoice due (scan + worker)      "
          f"{(figures.scan_items_read + figures.worker_items_read) / max(due, 1):>9.2f}")
    print(f"  reminders sent (SES SendEmail)                  {reminders:>9,}")
    print(f"  AWS calls per reminder (worker, polling apart)  {function_calls / max(reminders, 1):>9.2f} "
          f"({function_calls / max(debtors, 1):.2f} per debtor job: some jobs make a call task, a letter or an "
          "agency file instead of a mail)")
    print("  AWS calls by operation:")
    print(f"    {'operation':<36} {'scan':>7} {'worker':>8} {'per reminder':>12}")
    for name in sorted(set(figures.scan_calls) | set(figures.worker_calls)):
        worker = figures.worker_calls.get(name, 0)
        print(f"    {name:<36} {figures.scan_calls.get(name, 0):>7,} {worker:>8,} {worker / max(reminders, 1):>12.2f}")
    print("    (sqs.ReceiveMessage and DeleteMessageBatch are the event source mapping's polling, not the function's)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--no-progress", action="store_true", help="hide the seeding progress on stderr")
    args = parser.parse_args()
    calls = Calls()
    calls.install()
    report(run(args.invoices, calls, progress=not args.no_progress))


if __name__ == "__main__":
    main()
