"""The finance back office on Lambda behind its own HTTP API (payload 2.0); the app is built once per
container."""

from __future__ import annotations

from apig_wsgi import make_lambda_handler
from relance_backoffice import create_app
from relance_backoffice.wiring import backoffice_config

app = create_app(backoffice_config())
handler = make_lambda_handler(app, binary_support=True)
