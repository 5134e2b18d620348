"""The debtor portal's pages, served in-process by the production wiring on moto: time and weight.

For a debtor with 5 and with 200 invoices, opens the personal link once, then requests each page
200 times through Flask's test client and prints, per page:
- server time, median and p95 (moto's DynamoDB included: an upper bound of the real thing);
- bytes of HTML plus the CSS and JS it links (before images), against the 100 KB budget;
- DynamoDB items read and AWS calls per page view (counted at botocore's `_make_api_call`);
and the ratio of p95 between 200 and 5 invoices (the budget is 2). moto's in-process Query walks
the whole partition, so on moto a page that queries the debtor's partition slows with it even
when DynamoDB would not: the items-read column is the figure that carries over to AWS.

    python bench/portal.py
    python bench/portal.py --requests 50
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import time
from datetime import UTC, date, datetime, timedelta

from aws_counts import Calls

PAGES = ["/account", "/account/invoices", "/account/pay", "/account/history", "/account/promise"]
BUDGET_BYTES = 100 * 1024
ASSET = re.compile(r'<(?:link[^>]+href|script[^>]+src)="([^"]+\.(?:css|js)[^"]*)"')


CALLS = Calls()


def build(count: int):
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
    invoices = [
        Invoice("bench", debtor.debtor_id, f"FA-2026-{n:05d}", today - timedelta(days=60 + n),
                today - timedelta(days=30 + n % 90) if n % 3 else today + timedelta(days=n % 40),
                Money(1_000_00 + n * 7, "EUR"), Money(0 if n % 5 else 250_00, "EUR"))
        for n in range(count)
    ]
    store.put_new_invoices(invoices, [debtor])
    link = issue_link(debtor, datetime.now(UTC), "http://portal.local")
    PortalAccessStore(table).put_link(link.item)
    return link.url.split("portal.local", 1)[1]


def measure(count: int, requests: int, pages: list[str]) -> dict[str, dict[str, float]]:
    from moto import mock_aws

    from relance.adapters.aws import reset_clients
    from relance_cli import moto_patches
    from relance_cli.local_stack import provision
    from relance_portal import create_app
    from relance_portal.wiring import portal_config

    moto_patches.apply()
    with mock_aws():
        reset_clients()
        stack = provision()
        os.environ.update(stack.environment())
        path = build(count)
        app = create_app({**portal_config(), "SESSION_COOKIE_SECURE": False})
        client = app.test_client()
        opened = client.get(path)
        assert opened.status_code in (302, 303), opened.status_code
        rows: dict[str, dict[str, float]] = {}
        for page in pages:
            first = client.get(page)
            if first.status_code != 200:
                rows[page] = {"status": first.status_code}
                continue
            html = first.get_data()
            assets = sum(len(client.get(href).get_data()) for href in ASSET.findall(html.decode()))
            times = []
            CALLS.reset()
            for _ in range(requests):
                started = time.perf_counter()
                response = client.get(page)
                times.append(time.perf_counter() - started)
                assert response.status_code == 200
            times.sort()
            rows[page] = {"status": 200, "calls": sum(CALLS.calls.values()) / requests,
                          "items": CALLS.items_read / requests, "median_ms": statistics.median(times) * 1000,
                          "p95_ms": times[int(len(times) * 0.95) - 1] * 1000,
                          "html": len(html), "total_bytes": len(html) + assets}
    reset_clients()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--page", action="append", choices=PAGES, help="only this page (repeatable)")
    args = parser.parse_args()
    pages = args.page or PAGES
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="eu-west-3")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    CALLS.install()
    small, large = measure(5, args.requests, pages), measure(200, args.requests, pages)
    print(f"{'page':<22} {'invoices':>8} {'median ms':>9} {'p95 ms':>7} {'HTML B':>8} {'HTML+CSS+JS B':>13} "
          f"{'budget':>7} {'AWS calls':>9} {'items read':>10}")
    for page in pages:
        for count, rows in ((5, small), (200, large)):
            row = rows[page]
            if row["status"] != 200:
                print(f"{page:<22} {count:>8} HTTP {row['status']:.0f}")
                continue
            within = "ok" if row["total_bytes"] <= BUDGET_BYTES else "OVER"
            print(f"{page:<22} {count:>8} {row['median_ms']:>9.1f} {row['p95_ms']:>7.1f} {row['html']:>8,} "
                  f"{row['total_bytes']:>13,} {within:>7} {row['calls']:>9.1f} {row['items']:>10.1f}")
    print("p95 ratio, 200 / 5 invoices (budget 2.0):")
    for page in pages:
        if small[page]["status"] == 200 and large[page]["status"] == 200:
            print(f"  {page:<22} {large[page]['p95_ms'] / small[page]['p95_ms']:.2f}")


if __name__ == "__main__":
    main()
