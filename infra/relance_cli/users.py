"""`relance users add`: a back-office account in the Cognito user pool (finance, viewer or admin).

The password is read from the terminal without echo, or from the first line of stdin with
`--password-stdin` (scripts, the demo); it is never an argument, so it stays out of shell history.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from typing import Any

from relance.adapters.cognito import GROUPS

EXIT_INVALID = 2


def register(subparsers: Any, connect: Callable[[argparse.Namespace], object]) -> None:
    """Add `users add` to the main parser's subparsers; `connect` points at the stack."""
    parser = subparsers.add_parser("users", help="back-office accounts (Cognito)")
    commands = parser.add_subparsers(dest="users_command", required=True, metavar="COMMAND")
    add = commands.add_parser("add", help="create or update a back-office account, with a permanent password")
    add.add_argument("--email", required=True, help="the person's e-mail, also their username")
    add.add_argument("--group", required=True, choices=GROUPS,
                     help="finance decides, viewer reads, admin manages")
    add.add_argument("--creditor", help="whose receivables they see (default: the only creditor)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.set_defaults(handler=run_add, connect=connect)


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return getpass.getpass("Password (12+ characters, upper and lower case, a digit): ")


def _creditor(args: argparse.Namespace) -> str | None:
    if args.creditor:
        return args.creditor
    from relance.adapters.dynamo import DynamoStore
    from relance.adapters.settings import load_settings

    creditors = DynamoStore(load_settings().table_name).list_creditors()
    return creditors[0].creditor_id if len(creditors) == 1 else None


def run_add(args: argparse.Namespace) -> int:
    """Create the account, set its password, put it in its group; print what was done (never the password)."""
    from relance.adapters.aws import client
    from relance.adapters.cognito import add_user

    args.connect(args)
    pool_id = os.environ.get("RELANCE_COGNITO_USER_POOL_ID")
    if not pool_id:
        print("relance: RELANCE_COGNITO_USER_POOL_ID is not set (the stack output BackOfficeUserPoolId)",
              file=sys.stderr)
        return EXIT_INVALID
    creditor_id = _creditor(args)
    if creditor_id is None:
        print("relance: say whose receivables the account sees: --creditor ID", file=sys.stderr)
        return EXIT_INVALID
    password = _password(args)
    idp = client("cognito-idp")
    try:
        add_user(pool_id, args.email, args.group, creditor_id, password)
    except idp.exceptions.InvalidPasswordException as exc:
        reason = exc.response["Error"].get("Message", "")
        print(f"relance: the password was refused: {reason}", file=sys.stderr)
        return EXIT_INVALID
    print(f"Back-office account {args.email} ready: group {args.group}, creditor {creditor_id}.")
    return 0
