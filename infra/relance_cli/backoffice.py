"""`relance backoffice serve`: the finance back office on the local stack, on 127.0.0.1, until Ctrl-C."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any


def register(subparsers: Any, connect: Callable[[argparse.Namespace], object]) -> None:
    """Add `backoffice serve` to the main parser's subparsers; `connect` points at the stack."""
    parser = subparsers.add_parser("backoffice", help="the finance back office (local stack)")
    commands = parser.add_subparsers(dest="backoffice_command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="serve the back office on 127.0.0.1 (see `relance users add`)")
    serve.add_argument("--port", type=int, default=8001)
    serve.set_defaults(handler=run_serve, connect=connect)


def run_serve(args: argparse.Namespace) -> int:
    """Serve the back office with the deployed wiring on the local stack (http: the cookie is not Secure)."""
    from relance_backoffice import create_app
    from relance_backoffice.wiring import backoffice_config
    from werkzeug.serving import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, code="-", size="-") -> None:  # request lines carry plan and debtor ids only,
            pass  # but the portal's habit holds: no request log

    args.connect(args)
    app = create_app({**backoffice_config(), "SESSION_COOKIE_SECURE": False, "PREFERRED_URL_SCHEME": "http"})
    server = make_server("127.0.0.1", args.port, app, threaded=True, request_handler=QuietHandler)
    print(f"Back office on http://127.0.0.1:{args.port}/ (Ctrl-C stops it)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
