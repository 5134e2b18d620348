"""The debtor portal on Lambda behind an HTTP API (payload 2.0): the app is built once per container."""

from __future__ import annotations

from apig_wsgi import make_lambda_handler

from relance_portal import create_app
from relance_portal.wiring import portal_config

app = create_app(portal_config())
handler = make_lambda_handler(app, binary_support=True)
