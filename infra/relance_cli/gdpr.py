"""`relance gdpr export|erase|sweep`: a debtor's personal data, its erasure, and the retention sweep."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

EXIT_REFUSED = 1


def register(subparsers: Any, connect: Callable[[argparse.Namespace], object]) -> None:
    parser = subparsers.add_parser("gdpr", help="a debtor's personal data: export, erase, retention sweep")
    commands = parser.add_subparsers(dest="gdpr_command", required=True, metavar="COMMAND")

    export = commands.add_parser("export", help="every personal field held about a debtor, as JSON, with their documents")
    export.add_argument("debtor_id", metavar="DEBTOR")
    export.add_argument("--creditor", required=True)
    export.add_argument("-o", "--output", type=Path, help="the JSON file to write (default: standard output)")
    export.add_argument("--no-documents", action="store_true", help="list the S3 documents without their bytes")
    export.set_defaults(handler=run_export, connect=connect)

    erase = commands.add_parser("erase", help="redact a settled debtor's personal data and delete their documents")
    erase.add_argument("debtor_id", metavar="DEBTOR")
    erase.add_argument("--creditor", required=True)
    erase.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    erase.add_argument("--actor", default=os.environ.get("USER", "operator"), help="who, for the audit")
    erase.set_defaults(handler=run_erase, connect=connect)

    sweep = commands.add_parser("sweep", help="erase the settled debtors whose retention period is over")
    sweep.add_argument("--creditor", required=True)
    sweep.add_argument("--date", type=date.fromisoformat, help="as of this day (default: today in the creditor's zone)")
    sweep.add_argument("--dry-run", action="store_true", help="list who would be erased, change nothing")
    sweep.set_defaults(handler=run_sweep, connect=connect)


def _ports(args: argparse.Namespace):
    from relance.adapters.gdpr_store import DynamoGdprStore, S3DebtorDocuments
    from relance.adapters.settings import link_secret, load_settings
    from relance.services.gdpr import GdprPorts

    args.connect(args)
    settings = load_settings()
    return GdprPorts(DynamoGdprStore(settings.table_name),
                     S3DebtorDocuments(os.environ.get("RELANCE_DOCUMENTS_BUCKET", "")),
                     link_secret(settings).encode("utf-8"))


def run_export(args: argparse.Namespace) -> int:
    from relance.services.gdpr import export_debtor

    document = export_debtor(args.creditor, args.debtor_id, datetime.now(UTC), _ports(args),
                             include_documents=not args.no_documents)
    text = json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True)
    if args.output is None:
        print(text)
        return 0
    args.output.write_text(text + "\n", encoding="utf-8")
    print(f"{args.output}: {len(document['fields'])} kinds of personal field, {len(document['documents'])} documents")
    return 0


def run_erase(args: argparse.Namespace) -> int:
    from relance.domain.gdpr import ErasureRefused, id_reveals_identity
    from relance.services.gdpr import erase_debtor

    ports = _ports(args)
    if not args.yes:
        answer = input(f"Erase the personal data of debtor {args.debtor_id} of {args.creditor}? "
                       "This cannot be undone. Type the debtor id to confirm: ")
        if answer.strip() != args.debtor_id:
            print("relance: not erased", file=sys.stderr)
            return EXIT_REFUSED
    try:
        result = erase_debtor(args.creditor, args.debtor_id, args.actor, "request", datetime.now(UTC), ports)
    except ErasureRefused as exc:
        print(f"relance: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    print(f"{result.outcome.value}: pseudonym {result.pseudonym}, {result.items_redacted} items redacted, "
          f"{result.documents_deleted} document versions deleted, {result.index_entries_deleted} index entries deleted")
    if id_reveals_identity(args.debtor_id):
        print("relance: warning: this debtor id was derived from a SIREN or a name and stays in every key "
              "(docs/guide/gdpr.md, Limits)", file=sys.stderr)
    return 0


def run_sweep(args: argparse.Namespace) -> int:
    from relance.adapters.dynamo import DynamoStore
    from relance.adapters.gdpr_store import retention_years_by_jurisdiction
    from relance.adapters.settings import load_settings
    from relance.services.gdpr import retention_sweep

    ports = _ports(args)
    creditor = DynamoStore(load_settings().table_name).get_creditor(args.creditor)
    if creditor is None:
        print(f"relance: no creditor {args.creditor!r}", file=sys.stderr)
        return EXIT_REFUSED
    now = datetime.now(UTC)
    today = args.date or now.astimezone(ZoneInfo(creditor.timezone)).date()
    result = retention_sweep(creditor.creditor_id, creditor.country, today, now, retention_years_by_jurisdiction(),
                             ports, dry_run=args.dry_run)
    verb = "would erase" if args.dry_run else "erased"
    print(f"{verb} {len(result.erased)}: {' '.join(result.erased) or '-'}; refused (debt open) "
          f"{len(result.refused)}: {' '.join(result.refused) or '-'}; kept {result.kept}")
    return 0
