"""`relance audit verify`: checks a creditor's audit hash chain and names the first broken link."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

EXIT_BROKEN = 1


def register(subparsers: Any, connect: Callable[[argparse.Namespace], object]) -> None:
    parser = subparsers.add_parser("audit", help="the audit trail: verify a creditor's hash chain")
    commands = parser.add_subparsers(dest="audit_command", required=True, metavar="COMMAND")
    verify = commands.add_parser("verify", help="check the creditor's audit hash chain; name the first broken link")
    verify.add_argument("--creditor", required=True)
    verify.add_argument("--grace-minutes", type=int, default=15,
                        help="an audit event older than this and not chained is reported (default 15)")
    verify.add_argument("--json", action="store_true")
    verify.set_defaults(handler=run_verify, connect=connect)


def run_verify(args: argparse.Namespace) -> int:
    from relance.adapters.audit_chain_store import DynamoAuditChain
    from relance.adapters.settings import load_settings
    from relance.services.audit_chain import verify_creditor

    stack = args.connect(args)
    if stack is not None:  # the local stack has no event source mapping: chain what the stream holds first
        from relance_cli import local_lambda

        local_lambda.drain_audit_chain()
    result = verify_creditor(args.creditor, DynamoAuditChain(load_settings().table_name), now=datetime.now(UTC),
                             grace=timedelta(minutes=args.grace_minutes))
    broken = result.broken
    if args.json:
        print(json.dumps({
            "creditor": args.creditor, "intact": result.is_intact, "links": result.links,
            "verified_seq": result.head.seq, "verified_hash": result.head.hash, "pending": result.pending,
            "broken": None if broken is None else {
                "problem": broken.problem.value, "seq": broken.seq, "detail": broken.detail,
                "event_pk": broken.event_key.partition if broken.event_key else None,
                "event_sk": broken.event_key.sort if broken.event_key else None},
        }, indent=2))
    elif broken is None:
        pending = f" ({result.pending} newer events not chained yet)" if result.pending else ""
        print(f"chain of {result.links} events verified up to {result.head.seq} {result.head.hash}{pending}")
    else:
        where = f"link {broken.seq}" if broken.seq is not None else "no link"
        event = f", event {broken.event_key}" if broken.event_key else ""
        print(f"chain BROKEN at {where}{event}: {broken.problem.value}: {broken.detail} "
              f"(verified up to {result.head.seq} {result.head.hash})")
    return 0 if broken is None else EXIT_BROKEN
