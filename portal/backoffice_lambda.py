"""The finance back office on Lambda behind its own HTTP API (payload 2.0): the app is built once per
container, on its first request (see lambda_wsgi)."""

from __future__ import annotations

from typing import Any

from flask import Flask

from lambda_wsgi import lazy_handler
from relance_backoffice import create_app
from relance_backoffice.wiring import backoffice_config


def _build() -> Flask:
    return create_app(backoffice_config())


handler = lazy_handler(_build)


def __getattr__(name: str) -> Any:
    if name == "app":  # backoffice_lambda.app, as before the app was built on first use
        return handler.app
    raise AttributeError(name)
