"""The debtor portal under a fixed-rate load on loopback: throughput, latency percentiles and errors.

The production wiring (`create_app(portal_config())`) serves on 127.0.0.1 from a threaded werkzeug server,
on template.yaml's resources in moto (in-process, so moto's DynamoDB time is part of every figure: an upper
bound of the real thing). One debtor with `--invoices` invoices opens their link; then requests arrive at a
fixed rate (open loop: each request has its scheduled instant, and its latency is counted from that instant,
so a slow server cannot hide its queue by slowing the generator down) for `--seconds`, spread over the
account pages in a fixed mix.

Then the daily run over `--daily-invoices` invoices (100,000 by default) on a moto server in another process:
the scan handler, then the dunning worker draining its SQS queue, with their wall times, the items read per
invoice due, the AWS calls per reminder and per operation (bench/daily_run.py, which runs it alone too).

    python bench/load.py --rate 50 --seconds 60    # the acceptance run of issue #11: both parts
    python bench/load.py                           # 60 s at 10 requests/s, then the daily run
    python bench/load.py --rate 25 --seconds 30 --invoices 200 --daily-invoices 0   # the portal only
    python bench/load.py --seconds 0 --daily-invoices 20000                          # the daily run only
"""

from __future__ import annotations

import argparse
import http.client
import os
import queue
import random
import statistics
import threading
import time
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta

MIX = {"/account": 40, "/account/invoices": 25, "/account/history": 15, "/account/pay": 10,
       "/account/invoices/FA-2026-00001": 10}  # the promise and plan forms ask for a one-time code first (303)


def _build(count: int) -> str:
    """A creditor, one debtor with `count` invoices and a stored link; returns the link's path."""
    from relance.adapters.dynamo import DynamoStore
    from relance.adapters.links import issue_link
    from relance.adapters.portal_access import PortalAccessStore
    from relance.domain.invoices import Invoice
    from relance.domain.money import Money
    from relance.domain.parties import Creditor, Debtor

    table = os.environ["RELANCE_TABLE"]
    store = DynamoStore(table)
    store.put_creditor(Creditor("bench", "Atelier Lumière SAS", siren="000000018",
                                contact_email="compta@atelier.example"))
    debtor = Debtor("bench", "d-000001", "Boulangerie Dupont", emails=("ap@dupont.example",), language="fr")
    today = date(2026, 11, 23)
    store.put_new_invoices([
        Invoice("bench", debtor.debtor_id, f"FA-2026-{n:05d}", today - timedelta(days=60 + n),
                today - timedelta(days=30 + n % 90) if n % 3 else today + timedelta(days=n % 40),
                Money(1_000_00 + n * 7, "EUR"), Money(0 if n % 5 else 250_00, "EUR"))
        for n in range(count)], [debtor])
    link = issue_link(debtor, datetime.now(UTC), "http://portal.local")
    PortalAccessStore(table).put_link(link.item)
    return link.url.split("portal.local", 1)[1]


def _percentile(sorted_values: list[float], share: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * share))]


def run(rate: float, seconds: float, invoices: int, workers: int, seed: int) -> dict:
    from moto import mock_aws
    from werkzeug.serving import WSGIRequestHandler, make_server

    from relance.adapters.aws import reset_clients
    from relance_cli import moto_patches
    from relance_cli.local_stack import provision
    from relance_portal import create_app
    from relance_portal.wiring import portal_config

    class Quiet(WSGIRequestHandler):
        def log_request(self, code="-", size="-") -> None:  # a request line would print the link token
            pass

    moto_patches.apply()
    with mock_aws():
        reset_clients()
        os.environ.update(provision().environment())
        path = _build(invoices)
        app = create_app({**portal_config(), "SESSION_COOKIE_SECURE": False})
        server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=Quiet)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        port = server.server_port
        opening = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        opening.request("GET", path)
        answer = opening.getresponse()
        answer.read()
        cookie = answer.getheader("Set-Cookie", "").split(";", 1)[0]
        assert answer.status in (302, 303) and cookie, (answer.status, cookie)

        rng = random.Random(seed)
        pages = rng.choices(list(MIX), weights=list(MIX.values()), k=int(rate * seconds))
        jobs: queue.Queue = queue.Queue()
        results: list[tuple[str, float, int | str]] = []
        lock = threading.Lock()
        start = time.perf_counter() + 0.5

        def worker() -> None:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            while True:
                job = jobs.get()
                if job is None:
                    return
                scheduled, page = job
                delay = scheduled - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                try:
                    connection.request("GET", page, headers={"Cookie": cookie})
                    response = connection.getresponse()
                    response.read()
                    outcome: int | str = response.status
                except Exception as exc:  # noqa: BLE001 - an error of the run is a result, not a crash
                    outcome = type(exc).__name__
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                with lock:
                    results.append((page, time.perf_counter() - scheduled, outcome))

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
        for thread in threads:
            thread.start()
        for index, page in enumerate(pages):
            jobs.put((start + index / rate, page))
        for _ in threads:
            jobs.put(None)
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - start
        server.shutdown()
    reset_clients()
    return {"results": results, "elapsed": elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=10.0, help="requests per second (default 10)")
    parser.add_argument("--seconds", type=float, default=60.0, help="portal load duration (0 skips it)")
    parser.add_argument("--invoices", type=int, default=20)
    parser.add_argument("--workers", type=int, default=32, help="client threads (enough to never fall behind)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--daily-invoices", type=int, default=100_000,
                        help="invoices of the daily run on a moto server (default 100,000; 0 skips it)")
    args = parser.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="eu-west-3")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    if args.seconds > 0:
        _portal(args)
    if args.daily_invoices > 0:
        import daily_run
        from aws_counts import Calls

        calls = Calls()
        calls.install()
        print()
        daily_run.report(daily_run.run(args.daily_invoices, calls))


def _portal(args: argparse.Namespace) -> None:
    run_result = run(args.rate, args.seconds, args.invoices, args.workers, args.seed)
    results, elapsed = run_result["results"], run_result["elapsed"]
    by_page: dict[str, list[float]] = defaultdict(list)
    errors = Counter(outcome for _page, _latency, outcome in results if outcome != 200)
    for page, latency, outcome in results:
        if outcome == 200:
            by_page[page].append(latency * 1000)
    every = sorted(latency for values in by_page.values() for latency in values)
    print(f"{len(results)} requests in {elapsed:.1f} s at {args.rate:g}/s offered: {len(results) / elapsed:.1f}/s served, "
          f"{sum(errors.values())} errors {dict(errors) or ''}".rstrip())
    print(f"{'page':<34} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for page in list(MIX) + ["all"]:
        values = every if page == "all" else sorted(by_page[page])
        if values:
            print(f"{page:<34} {len(values):>5} {statistics.median(values):>8.1f} {_percentile(values, 0.95):>8.1f} "
                  f"{_percentile(values, 0.99):>8.1f} {values[-1]:>8.1f}")


if __name__ == "__main__":
    main()
