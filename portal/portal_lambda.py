"""The debtor portal on Lambda behind an HTTP API (payload 2.0): the app is built once per container.

The code is imported with the module; the app itself is built on first use (the container's first
request), because its session key comes from Secrets Manager: a module whose import calls AWS cannot even
be imported without credentials and a network (bench/coldstart.py imports every handler with neither).
A stack missing a setting therefore fails on its first request, with the setting named.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from apig_wsgi import make_lambda_handler
from flask import Flask

from relance_portal import create_app
from relance_portal.wiring import portal_config


@cache
def _app() -> Flask:
    return create_app(portal_config())


@cache
def _serve() -> Any:
    return make_lambda_handler(_app(), binary_support=True)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """One HTTP API request through the Flask app."""
    return _serve()(event, context)


def __getattr__(name: str) -> Any:
    if name == "app":  # portal_lambda.app, as before the app was built on first use
        return _app()
    raise AttributeError(name)
