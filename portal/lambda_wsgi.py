"""A Flask app on Lambda behind an HTTP API (payload 2.0), built once per container, on its first request.

The handler modules (portal_lambda, backoffice_lambda) import their code with the module, but build the
app on first use, because its session key comes from Secrets Manager: a module whose import calls AWS
cannot even be imported without credentials and a network (bench/coldstart.py imports every handler with
neither). A stack missing a setting therefore fails on its first request, with the setting named.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

from apig_wsgi import make_lambda_handler
from flask import Flask


class LazyHandler:
    """The Lambda handler of the Flask app that `build()` returns; `.app` is that app, built on first use."""

    def __init__(self, build: Callable[[], Flask]) -> None:
        self._build = build

    @cached_property
    def app(self) -> Flask:
        return self._build()

    @cached_property
    def _serve(self) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
        return make_lambda_handler(self.app, binary_support=True)

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """One HTTP API request through the Flask app."""
        return self._serve(event, context)


def lazy_handler(build: Callable[[], Flask]) -> LazyHandler:
    """The handler to name in template.yaml for the app `build()` returns."""
    return LazyHandler(build)
