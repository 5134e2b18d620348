"""`relance api-key create|list|revoke` (a creditor's keys for the REST API) and `relance api openapi`."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from relance_cli.local_stack import REPO_ROOT

API_MODULE_PATH = Path(REPO_ROOT, "functions", "api", "api.py")
OPENAPI_FILE = Path(REPO_ROOT, "docs", "assets", "openapi.json")


def register(subparsers: Any, connect: Callable[[argparse.Namespace], object]) -> None:
    keys = subparsers.add_parser("api-key", help="API keys of a creditor for the REST API")
    commands = keys.add_subparsers(dest="api_key_command", required=True, metavar="COMMAND")
    create = commands.add_parser(
        "create", help="create a key; it is printed once and only its SHA-256 is kept"
    )
    create.add_argument("--creditor", required=True)
    create.add_argument("--json", action="store_true")
    create.set_defaults(handler=run_create, connect=connect)
    listing = commands.add_parser("list", help="the creditor's keys (ids and dates, never the keys)")
    listing.add_argument("--creditor", required=True)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=run_list, connect=connect)
    revoke = commands.add_parser("revoke", help="revoke a key by its id: it answers 401 from now on")
    revoke.add_argument("key_id")
    revoke.add_argument("--creditor", required=True)
    revoke.set_defaults(handler=run_revoke, connect=connect)

    api = subparsers.add_parser("api", help="the REST API: its OpenAPI document")
    api_commands = api.add_subparsers(dest="api_command", required=True, metavar="COMMAND")
    openapi = api_commands.add_parser("openapi", help="print the OpenAPI document generated from the code")
    openapi.add_argument("--server", help="the API's address, written as the document's server")
    openapi.set_defaults(handler=run_openapi)


def _stores(args: argparse.Namespace) -> tuple[Any, Any]:
    from relance.adapters.api_store import ApiStore
    from relance.adapters.dynamo import DynamoStore
    from relance.adapters.settings import load_settings

    args.connect(args)
    table = load_settings().table_name
    return ApiStore(table), DynamoStore(table)


def run_create(args: argparse.Namespace) -> int:
    from relance.services.api import create_api_key

    keys, store = _stores(args)
    text, record = create_api_key(args.creditor, datetime.now(UTC), keys, store)
    if args.json:
        print(json.dumps({"creditor": record.creditor_id, "key_id": record.key_id, "api_key": text}))
    else:
        print(f"API key {record.key_id} for {record.creditor_id} (shown once; only its SHA-256 is kept):")
        print(text)
    return 0


def run_list(args: argparse.Namespace) -> int:
    keys, _store = _stores(args)
    records = keys.api_keys(args.creditor)
    if args.json:
        print(
            json.dumps(
                [
                    {"key_id": r.key_id, "created_at": r.created_at, "revoked_at": r.revoked_at}
                    for r in records
                ]
            )
        )
    for record in [] if args.json else records:
        print(
            f"{record.key_id}  created {record.created_at}  "
            f"{'revoked ' + record.revoked_at if record.revoked_at else 'active'}"
        )
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    keys, _store = _stores(args)
    if not keys.revoke_api_key(args.creditor, args.key_id, datetime.now(UTC)):
        print(f"{args.creditor} has no API key {args.key_id}")
        return 1
    print(f"API key {args.key_id} revoked")
    return 0


def api_module() -> ModuleType:
    """functions/api/api.py, loaded from its file as Lambda does (clients need a region, never a call)."""
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-3")
    spec = importlib.util.spec_from_file_location("relance_erp_api", API_MODULE_PATH)
    assert spec and spec.loader, f"cannot load {API_MODULE_PATH}"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def openapi_text(server: str | None = None) -> str:
    """The OpenAPI document as docs/assets/openapi.json holds it: indented, sorted keys, one final newline."""
    return (
        json.dumps(
            json.loads(api_module().openapi_document(server)), indent=2, sort_keys=True, ensure_ascii=False
        )
        + "\n"
    )


def run_openapi(args: argparse.Namespace) -> int:
    print(openapi_text(args.server), end="")
    return 0
