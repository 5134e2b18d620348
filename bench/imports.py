"""Importing a large accounting export, on moto in-process: speed, AWS calls and memory.

Writes CSV files in the French Excel format (Windows-1252, ";" delimiter, CRLF line ends,
dd/mm/yyyy dates, "1234,56" amounts, "N° facture;Client;...;Échéance;Montant TTC;..." header),
about five invoices per customer, then for each size:
- the dry run (`check_file`: read and check every row, no AWS call) under tracemalloc: its peak is
  the memory of our own pipeline, since nothing else runs;
- the real import (`import_file`) into a fresh moto stack: rows per second and AWS calls per
  1,000 rows, every call counted at botocore's `_make_api_call`; and its tracemalloc peak, which
  also holds moto's in-memory table (every item written stays in this process), so it grows with
  the file even though the import itself does not.
It ends with the memory ratios between the largest and smallest sizes (target: about 1, flat) and
an estimate for 1,000,000 rows on real DynamoDB against Lambda's 15 minutes.

    python bench/imports.py                    # 10,000 and 100,000 rows
    python bench/imports.py --sizes 2000 20000
    python bench/imports.py --full             # adds 1,000,000 rows (minutes; not in CI)
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import tempfile
import time
import tracemalloc
from datetime import date, timedelta
from pathlib import Path

from aws_counts import Calls

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


def real_import(path: Path, calls: Calls, traced: bool) -> dict[str, float]:
    from moto import mock_aws

    from relance.adapters.aws import reset_clients
    from relance.adapters.calendars import closed_days
    from relance.adapters.dynamo import DynamoStore
    from relance.adapters.policies import load_packaged_policy
    from relance.domain.parties import Creditor
    from relance.services.imports import import_file
    from relance_cli import moto_patches
    from relance_cli.local_stack import provision

    moto_patches.apply()
    with mock_aws():
        reset_clients()
        stack = provision()
        os.environ.update(stack.environment())
        store = DynamoStore(os.environ["RELANCE_TABLE"])
        store.put_creditor(Creditor("bench", "Bench SAS", siren="000000018"))
        book = load_packaged_policy("fr-b2b")
        calls.reset()
        if traced:
            tracemalloc.start()
        started = time.perf_counter()
        with path.open("rb") as stream:
            report = import_file(stream, "bench", store, lambda _c: closed_days("FR"), lambda _c: book)
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] if traced else 0
        if traced:
            tracemalloc.stop()
        assert report.imported == report.rows and not report.errors, report.to_json()["errors"][:3]
        result = {"seconds": seconds, "peak": peak, "calls": dict(calls.calls), "debtors": len(report.debtor_ids)}
    reset_clients()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--full", action="store_true", help="add 1,000,000 rows (several minutes; not in CI)")
    parser.add_argument("--traced-import", action="store_true",
                        help="also run the import under tracemalloc (slower; its peak includes moto's table)")
    args = parser.parse_args()
    sizes = sorted(set(args.sizes + ([1_000_000] if args.full else [])))
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
            imported = real_import(path, calls, args.traced_import)
            path.unlink()
            results.append((size, file_bytes, dry, imported))

    print(f"{'rows':>9} {'file MB':>7} {'dry rows/s':>10} {'dry peak MB':>11} {'import rows/s':>13} "
          f"{'AWS calls/1k rows':>17} {'import peak MB':>14} {'debtors':>8}")
    for size, file_bytes, dry, imported in results:
        total_calls = sum(imported["calls"].values())
        peak = f"{imported['peak'] / 2**20:>14.1f}" if imported["peak"] else f"{'-':>14}"
        print(f"{size:>9,} {file_bytes / 2**20:>7.1f} {size / dry['seconds']:>10,.0f} {dry['peak'] / 2**20:>11.2f} "
              f"{size / imported['seconds']:>13,.0f} {total_calls * 1000 / size:>17.1f} {peak} "
              f"{imported['debtors']:>8,}")
    size, _, dry, imported = results[-1]
    print("AWS calls per 1,000 rows by operation (largest size):")
    for name, count in sorted(imported["calls"].items()):
        print(f"  {name:<32} {count * 1000 / size:>8.1f}")
    if len(results) > 1:
        (small, _, small_dry, small_import), (large, _, large_dry, large_import) = results[0], results[-1]
        print(f"dry-run peak memory ratio {large:,} / {small:,} rows: {large_dry['peak'] / small_dry['peak']:.2f} "
              f"(x{large / small:.0f} rows; about 1 is flat)")
        if large_import["peak"]:
            print(f"import peak memory ratio {large:,} / {small:,} rows: "
                  f"{large_import['peak'] / small_import['peak']:.2f} (includes moto's table, which holds every item)")
    print(f"max RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB "
          "(moto's table included)")
    _estimate(size, dry, imported)


def _estimate(size: int, dry: dict[str, float], imported: dict) -> None:
    """1,000,000 rows on real DynamoDB: our CPU (the dry run's rate) plus each call's latency, one at a time."""
    scale = 1_000_000 / size
    cpu = dry["seconds"] * scale
    by_call = {name.split(".", 1)[1]: count * scale for name, count in imported["calls"].items()}
    network = sum(count * LATENCY_SECONDS.get(name, 0.010) for name, count in by_call.items())
    moto = imported["seconds"] * scale
    write_units = by_call.get("BatchWriteItem", 0) * 25  # upper bound: full batches of items under 1 KB
    throttle = write_units / ON_DEMAND_NEW_TABLE_WCU
    estimate = max(cpu + network, throttle)
    verdict = "fits" if estimate < LAMBDA_SECONDS * 0.8 else "does NOT fit"
    print(f"1,000,000 rows, extrapolated: moto {moto / 60:.1f} min; real DynamoDB ≈ {cpu / 60:.1f} min CPU "
          f"+ {network / 60:.1f} min of call latency = {(cpu + network) / 60:.1f} min "
          f"(write throughput floor of a new on-demand table: {throttle / 60:.1f} min for ~{write_units / 1e6:.1f}M "
          f"write units); {verdict} in one Lambda invocation of {LAMBDA_SECONDS // 60} min with a 20% margin")


if __name__ == "__main__":
    main()
