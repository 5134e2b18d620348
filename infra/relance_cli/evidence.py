"""`relance evidence`: a debtor's evidence bundle (ZIP) for the lawyer, written to a file."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

EXIT_UNKNOWN_DEBTOR = 1


def register(subparsers: Any, connect: Callable[[argparse.Namespace], object]) -> None:
    parser = subparsers.add_parser("evidence", help="a debtor's evidence bundle (ZIP): invoices, mails, letters, "
                                                    "portal actions, payments, late fees, audit and its verification")
    parser.add_argument("--creditor", required=True)
    parser.add_argument("--debtor", required=True)
    parser.add_argument("-o", "--output", required=True, type=Path, help="the ZIP file to write")
    parser.add_argument("--as-of", type=date.fromisoformat,
                        help="the day the late fees are computed to (default: today in the creditor's zone)")
    parser.set_defaults(handler=run_evidence, connect=connect)


def run_evidence(args: argparse.Namespace) -> int:
    from relance.adapters.audit_chain_store import DynamoAuditChain
    from relance.adapters.portal_store import PortalStore
    from relance.adapters.rate_tables import load_rules
    from relance.adapters.s3 import S3Documents
    from relance.adapters.settings import load_settings
    from relance.services.evidence import EvidencePorts, evidence_bundle

    stack = args.connect(args)
    if stack is not None:  # the local stack has no event source mapping: chain what the stream holds first
        from relance_cli import local_lambda

        local_lambda.drain_audit_chain()
    table = load_settings().table_name
    store = PortalStore(table)
    creditor = store.get_creditor(args.creditor)
    if creditor is None:
        print(f"relance: no creditor {args.creditor!r}", file=sys.stderr)
        return EXIT_UNKNOWN_DEBTOR
    now = datetime.now(UTC)
    as_of = args.as_of or now.astimezone(ZoneInfo(creditor.timezone)).date()
    rules = load_rules(os.environ.get("RELANCE_RATES_FILE") or None,
                       provisional=os.environ.get("RELANCE_PROVISIONAL_RATES") == "1")
    ports = EvidencePorts(store, DynamoAuditChain(table), S3Documents(os.environ.get("RELANCE_DOCUMENTS_BUCKET", "")),
                          lambda: rules)
    bundle = evidence_bundle(args.creditor, args.debtor, as_of, now, ports)
    if bundle is None:
        print(f"relance: creditor {args.creditor!r} has no debtor {args.debtor!r}", file=sys.stderr)
        return EXIT_UNKNOWN_DEBTOR
    args.output.write_bytes(bundle.body)
    print(f"{args.output}: {len(bundle.parts)} files, as of {as_of.isoformat()}")
    return 0

