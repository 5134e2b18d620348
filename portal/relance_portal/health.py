"""Liveness for the load balancer and the smoke test after a deploy."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """The app is up and can answer."""
    return {"status": "ok"}
