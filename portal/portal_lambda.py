"""The debtor portal on Lambda behind an HTTP API (payload 2.0): the app is built once per container, on its
first request (see lambda_wsgi)."""

from __future__ import annotations

from typing import Any

from flask import Flask

from lambda_wsgi import lazy_handler
from relance_portal import create_app
from relance_portal.wiring import portal_config


def _build() -> Flask:
    return create_app(portal_config())


handler = lazy_handler(_build)


def __getattr__(name: str) -> Any:
    if name == "app":  # portal_lambda.app, as before the app was built on first use
        return handler.app
    raise AttributeError(name)
