"""The finance back office on Lambda behind its own HTTP API (payload 2.0); the app is built once per
container, on first use (the first request): its session key comes from Secrets Manager, and a module
whose import calls AWS cannot even be imported without credentials and a network (bench/coldstart.py)."""

from __future__ import annotations

from functools import cache
from typing import Any

from apig_wsgi import make_lambda_handler
from flask import Flask
from relance_backoffice import create_app
from relance_backoffice.wiring import backoffice_config


@cache
def _app() -> Flask:
    return create_app(backoffice_config())


@cache
def _serve() -> Any:
    return make_lambda_handler(_app(), binary_support=True)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """One HTTP API request through the Flask app."""
    return _serve()(event, context)


def __getattr__(name: str) -> Any:
    if name == "app":  # backoffice_lambda.app, as before the app was built on first use
        return _app()
    raise AttributeError(name)
