"""boto3 clients, created lazily and cached so that moto can patch them in tests."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})


@cache
def client(service: str) -> Any:
    """A shared boto3 client for `service` (the region and endpoint come from the environment)."""
    return boto3.session.Session().client(service, config=_CONFIG)


def reset_clients() -> None:
    """Forget cached clients (tests start a fresh fake account each time)."""
    client.cache_clear()
