"""Importing a large accounting export: invoices per second, peak memory and AWS calls per invoice.

Writes a CSV in the French Excel format (Windows-1252, ";" delimiter, CRLF line ends, dd/mm/yyyy dates,
"1234,56" amounts, "N° facture;Client;...;Échéance;Montant TTC;..." header), about five invoices per
customer, all of them new, then for each size:
- the dry run (`check_file`: read and check every row, no AWS call) under tracemalloc: the memory of
  our own pipeline, since nothing else runs;
- the real import (`import_file`, what `relance import` and the S3 drop run) into a fresh table on a
  moto server started in another process, so that this process holds only the import: its peak
  resident memory (ru_maxrss) is what a Lambda function would need. Every AWS call is counted at
  botocore's `_make_api_call`.
The import shows the command line's progress bar on stderr (`--no-progress` hides it). It ends with
an estimate for 1,000,000 invoices on real DynamoDB against Lambda's 15 minutes.

Targets (issue #9): peak memory ≤ 512 MB and AWS calls per invoice ≤ 0.1 at 1,000,000 invoices.

    python bench/import.py --invoices 1000000          # the acceptance run (about half an hour on moto)
    python bench/import.py --invoices 50000 200000     # two sizes, in increasing order
    python bench/import.py --invoices 20000 --in-process   # moto inside this process: faster, but the
                                                           # peak memory then includes moto's table
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from aws_counts import Calls
from moto_process import moto_server

LAMBDA_SECONDS = 15 * 60
# Latencies of one call from a Lambda in the table's region, for the estimate (DynamoDB's usual p50;
# a BatchWriteItem of 25 items of ~300 bytes). Sequential: the import makes one call at a time.
LATENCY_SECONDS = {"BatchWriteItem": 0.015, "BatchGetItem": 0.008, "TransactWriteItems": 0.020,
                   "UpdateItem": 0.008, "GetItem": 0.005, "PutItem": 0.008}
ON_DEMAND_NEW_TABLE_WCU = 4_000  # write request units per second a new on-demand table serves at once

HEADER = "N° facture;Client;SIREN;Email;Date facture;Échéance;Montant TTC;Déjà réglé;Devise\r\n"
_NAMES = ("Boulangerie", "Société", "Atelier", "Garage", "Pharmacie", "Café", "Menuiserie", "Électricité")


def _siren(n: int) -> str:
    """A 9-digit SIREN whose Luhn check digit is right."""
    body = f"{n % 10**8:08d}"
    for check in range(10):
        digits = body + str(check)
        total = sum(int(d) if i % 2 == 0 else sum(divmod(int(d) * 2, 10)) for i, d in enumerate(digits))
        if total % 10 == 0:
            return digits
    raise AssertionError("unreachable")


def write_export(path: Path, rows: int) -> int:
    """A French Excel export of `rows` invoices, written line by line; its size in bytes."""
    rng = random.Random(rows)
    start = date(2026, 1, 5)
    with path.open("w", encoding="cp1252", newline="") as out:
        out.write(HEADER)
        for n in range(rows):
            customer = n // 5
            issued = start + timedelta(days=n % 300)
            total = rng.randrange(50_00, 20_000_00)
            paid = 0 if n % 4 else rng.randrange(0, total)
            siren = _siren(customer + 10_000_000) if customer % 3 else ""
            email = f"compta{customer}@client{customer}.fr" if customer % 2 else ""
            out.write(f"FA-{2026}-{n:07d};{_NAMES[customer % len(_NAMES)]} Dupré n°{customer};{siren};{email};"
                      f"{issued:%d/%m/%Y};{issued + timedelta(days=30):%d/%m/%Y};"
                      f"{total // 100},{total % 100:02d};{paid // 100},{paid % 100:02d};EUR\r\n")
    return path.stat().st_size


def dry_run(path: Path) -> dict[str, float]:
    from relance.services.imports import check_file

    tracemalloc.start()
    started = time.perf_counter()
    with path.open("rb") as stream:
        report = check_file(stream)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert report.imported and not report.errors, report.to_json()["errors"][:3]
    return {"seconds": seconds, "peak": peak}


def _table_only(template: dict) -> dict:
    """The template with only its DynamoDB tables: the import needs nothing else."""
    resources = {name: r for name, r in template["Resources"].items() if r["Type"] == "AWS::DynamoDB::Table"}
    return {**template, "Resources": resources, "Globals": {}}


@contextlib.contextmanager
def moto_backend(in_process: bool):
    """A fresh fake AWS: a moto server in its own process (default), or moto inside this one."""
    if in_process:
        from moto import mock_aws

        from relance_cli import moto_patches

        moto_patches.apply()
        with mock_aws():
            yield
        return
    with moto_server() as endpoint:
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        try:
            yield
        finally:
            os.environ.pop("AWS_ENDPOINT_URL", None)


def real_import(path: Path, calls: Calls, in_process: bool, progress: bool) -> dict:
    from relance.adapters.aws import reset_clients
    from relance.adapters.calendars import closed_days
    from relance.adapters.dynamo import DynamoStore
    from relance.adapters.policies import load_packaged_policy
    from relance.domain.parties import Creditor
    from relance.services.imports import import_file
    from relance_cli.local_stack import load_template, provision
    from relance_cli.main import _progress_printer

    with moto_backend(in_process):
        reset_clients()
        stack = provision(_table_only(load_template()), endpoint_url=os.environ.get("AWS_ENDPOINT_URL"))
        store = DynamoStore(stack.physical["RelanceTable"])
        store.put_creditor(Creditor("bench", "Bench SAS", siren="000000018"))
        book = load_packaged_policy("fr-b2b")
        calls.reset()
        rss_before = _rss_mb()
        started = time.perf_counter()
        with path.open("rb") as stream:
            # As `relance import` does: each chunk's `invoices_imported` audit event is counted too.
            report = import_file(stream, "bench", store, lambda _c: closed_days("FR"), lambda _c: book,
                                 progress=_progress_printer(progress, stream, path.stat().st_size),
                                 name=path.name, now=datetime.now(UTC), actor="cli:bench")
        seconds = time.perf_counter() - started
        if progress:
            print(file=sys.stderr)
        assert report.imported == report.rows and not report.errors, report.to_json()["errors"][:3]
        result = {"seconds": seconds, "rss_before": rss_before, "rss_peak": _rss_mb(), "calls": dict(calls.calls),
                  "debtors": len(report.debtor_ids)}
    reset_clients()
    return result


def _rss_mb() -> float:
    """The peak resident memory of this process so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--invoices", type=int, nargs="+", default=[50_000],
                        help="sizes of the export, in invoices (default 50,000; the target is 1,000,000)")
    parser.add_argument("--in-process", action="store_true",
                        help="run moto inside this process (faster; the peak memory then includes moto's table)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = parser.parse_args()
    sizes = sorted(set(args.invoices))  # increasing: the process's peak memory only grows
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="eu-west-3")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    calls = Calls()
    calls.install()
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for size in sizes:
            path = Path(folder) / f"factures-{size}.csv"
            file_bytes = write_export(path, size)
            dry = dry_run(path)
            imported = real_import(path, calls, args.in_process, progress=not args.no_progress)
            path.unlink()
            results.append((size, file_bytes, dry, imported))

    where = "moto in this process (peak includes its table)" if args.in_process else "moto server in another process"
    print(f"Import on {where}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end")
    print(f"{'invoices':>9} {'file MB':>7} {'dry inv/s':>9} {'dry peak MB':>11} {'invoices/s':>10} "
          f"{'peak MB':>8} {'AWS calls/invoice':>17} {'debtors':>8}")
    for size, file_bytes, dry, imported in results:
        total_calls = sum(imported["calls"].values())
        print(f"{size:>9,} {file_bytes / 2**20:>7.1f} {size / dry['seconds']:>9,.0f} {dry['peak'] / 2**20:>11.2f} "
              f"{size / imported['seconds']:>10,.0f} {imported['rss_peak']:>8.0f} {total_calls / size:>17.4f} "
              f"{imported['debtors']:>8,}")
    size, _, dry, imported = results[-1]
    print(f"AWS calls per invoice by operation ({size:,} invoices):")
    for name, count in sorted(imported["calls"].items()):
        print(f"  {name:<32} {count / size:>8.4f}  ({count:,} calls)")
    print(f"peak memory: {imported['rss_peak']:.0f} MB resident for the whole process "
          f"({imported['rss_before']:.0f} MB before the import started); target ≤ 512 MB")
    print(f"AWS calls per invoice: {sum(imported['calls'].values()) / size:.4f}; target ≤ 0.1")
    _estimate(size, dry, imported)


def _estimate(size: int, dry: dict[str, float], imported: dict) -> None:
    """1,000,000 invoices on real DynamoDB: our CPU (the dry run's rate) plus each call's latency, one at a time."""
    scale = 1_000_000 / size
    cpu = dry["seconds"] * scale
    by_call = {name.split(".", 1)[1]: count * scale for name, count in imported["calls"].items()}
    network = sum(count * LATENCY_SECONDS.get(name, 0.010) for name, count in by_call.items())
    moto = imported["seconds"] * scale
    write_units = by_call.get("BatchWriteItem", 0) * 25  # upper bound: full batches of items under 1 KB
    throttle = write_units / ON_DEMAND_NEW_TABLE_WCU
    estimate = max(cpu + network, throttle)
    verdict = "fits" if estimate < LAMBDA_SECONDS * 0.8 else "does NOT fit"
    print(f"1,000,000 invoices, extrapolated: moto {moto / 60:.1f} min; real DynamoDB ≈ {cpu / 60:.1f} min CPU "
          f"+ {network / 60:.1f} min of call latency = {(cpu + network) / 60:.1f} min "
          f"(write throughput floor of a new on-demand table: {throttle / 60:.1f} min for ~{write_units / 1e6:.1f}M "
          f"write units, an upper bound); {verdict} in one Lambda invocation of {LAMBDA_SECONDS // 60} min "
          "with a 20% margin")


if __name__ == "__main__":
    main()
