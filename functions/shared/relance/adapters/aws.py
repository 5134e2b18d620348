"""boto3 clients, created on first use and cached so that moto can patch them in tests."""

from __future__ import annotations

from functools import cache
from typing import Any

_RETRIES = {"mode": "standard", "max_attempts": 5}
# SES has no idempotency key: botocore retrying a SendEmail whose answer timed out (ReadTimeoutError is a
# "transient" error to it) sends the mail again. SES calls are tried once; a refusal becomes MailRefused and
# the SQS redelivery tries again later, a lost answer leaves the contact "sending" and never re-sent
# (tests/reliability/test_fault_scenarios.py::test_an_ses_read_timeout_mid_batch_...).
_RETRIES_BY_SERVICE = {"sesv2": {"mode": "standard", "total_max_attempts": 1},
                       "ses": {"mode": "standard", "total_max_attempts": 1}}


class _LazyClient:
    """Stands for a boto3 client until an attribute is first read, then is that client.

    Handler modules wire their adapters at import; building every client there (botocore loads and parses
    each service's model, about 30-80 ms apiece) made every cold start pay for S3 and SES, even in the
    dunning worker's containers whose jobs never write a letter nor send a mail (bench/coldstart.py).
    """

    __slots__ = ("_service", "_real")

    def __init__(self, service: str) -> None:
        self._service = service
        self._real: Any = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._built(), name)

    def _built(self) -> Any:
        if self._real is None:
            self._real = _create(self._service)
        return self._real

    def __repr__(self) -> str:
        return f"<boto3 client {self._service} ({'created' if self._real is not None else 'not yet created'})>"


def _create(service: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(service, config=Config(retries=_RETRIES_BY_SERVICE.get(service, _RETRIES)))


@cache
def client(service: str) -> Any:
    """A shared boto3 client for `service` (the region and endpoint come from the environment when first used)."""
    _HANDED_OUT.add(service)
    return _LazyClient(service)


_HANDED_OUT: set[str] = set()


def create_clients() -> list[str]:
    """Build every client handed out so far (what a handler wired at import), e.g. to time a whole init."""
    for service in _HANDED_OUT:
        client(service)._built()
    return sorted(_HANDED_OUT)


def reset_clients() -> None:
    """Forget cached clients (tests start a fresh fake account each time)."""
    client.cache_clear()
    _HANDED_OUT.clear()
