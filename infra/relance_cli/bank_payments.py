"""`relance payments import FILE --creditor C`: a bank's export of payments received, matched to invoices;
the payments no invoice matched wait in finance's queue (back office, "Unmatched payments")."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from relance.domain.errors import RelanceError

EXIT_INVALID = 2


def register(subparsers: Any, connect: Callable[[argparse.Namespace], object]) -> None:
    """Add `payments import` to the main parser's subparsers; `connect` points at the stack."""
    parser = subparsers.add_parser("payments", help="payments received on the bank account")
    commands = parser.add_subparsers(dest="payments_command", required=True, metavar="COMMAND")
    importer = commands.add_parser(
        "import", help="import a bank export (CSV: date, amount, reference, payer) and match it to invoices")
    importer.add_argument("file")
    importer.add_argument("--creditor", required=True)
    importer.add_argument("--dry-run", action="store_true", help="match and report only; nothing is recorded")
    importer.add_argument("--json", action="store_true", help="print the report as JSON")
    importer.add_argument("--actor", default=os.environ.get("USER", "operator"), help="who imports, for the audit")
    importer.set_defaults(handler=run_import, connect=connect)


def run_import(args: argparse.Namespace) -> int:
    from relance.adapters.bank_payments_store import BankPaymentsStore
    from relance.adapters.settings import load_settings
    from relance.adapters.wiring import closed_for, policies_for
    from relance.services.bank_payments import BankImportPorts, import_bank_payments
    from relance.services.payments import PaymentPorts

    path = Path(args.file)
    if not path.is_file():
        print(f"relance: no such file: {path}", file=sys.stderr)
        return EXIT_INVALID
    args.connect(args)
    store = BankPaymentsStore(load_settings().table_name)
    ports = BankImportPorts(store, PaymentPorts(store, closed_for, policies_for))
    try:
        report = import_bank_payments(args.creditor, path.read_bytes(), f"import:{args.actor}", datetime.now(UTC),
                                      ports, name=path.name, dry_run=args.dry_run)
    except RelanceError as exc:
        print(f"relance: {exc}", file=sys.stderr)
        return EXIT_INVALID
    result = report.to_json()
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    verb = "would record" if args.dry_run else "recorded"
    print(f"{result['payments']} payments: {verb} {result['matched']} matched, {result['partial']} partial, "
          f"{result['overpaid']} overpaid; {result['unmatched']} unmatched (finance's queue); "
          f"{len(result['errors'])} errors; {result['already_imported']} already imported; "
          f"{len(result['skipped'])} lines skipped")
    for line in result["lines"]:
        if line["already_imported"]:
            continue
        what = (f"{line['debtor_id']} {', '.join(line['invoices'])}" if line["debtor_id"]
                else f"unmatched ({line['reason']})")
        print(f"  line {line['line']}: {line['outcome']}: {what}")
    for error in result["errors"]:
        print(f"  line {error['line']}, {error['field']}: {error['message']}")
    return 0
