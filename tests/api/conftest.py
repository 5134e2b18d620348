"""The ERP API's handler on a fresh moto stack, called with the HTTP API's payload format 2.0 events."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest

from relance_cli import local_lambda
from tests.conftest import fake_aws_account, provisioned_stack, restored_environ

CREDITOR_A = "acme"
CREDITOR_B = "globex"


def http_event(
    method: str,
    path: str,
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    raw_body: bytes | None = None,
) -> dict[str, Any]:
    """What API Gateway's HTTP API hands the function for one request (payload format 2.0)."""
    text = raw_body if raw_body is not None else (None if body is None else json.dumps(body).encode())
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": urlencode(query or {}),
        "headers": {name.lower(): value for name, value in (headers or {}).items()},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "erpapi",
            "domainName": "erpapi.example",
            "requestId": uuid.uuid4().hex,
            "routeKey": "$default",
            "stage": "$default",
            "time": "24/Nov/2026:06:00:00 +0000",
            "timeEpoch": 0,
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": "pytest",
            },
        },
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = dict(query)
    if text is not None:
        try:
            event["body"] = text.decode()
        except UnicodeDecodeError:
            event["body"], event["isBase64Encoded"] = base64.b64encode(text).decode(), True
    return event


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any


class Api:
    """Calls the template's ApiFunction in this process, as API Gateway would."""

    def __init__(self, keys: dict[str, str]) -> None:
        self.keys = keys

    def call(
        self,
        method: str,
        path: str,
        *,
        creditor: str | None = CREDITOR_A,
        key: str | None = None,
        body: Any = None,
        idempotency_key: str | None = None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        sent = dict(headers or {})
        token = key if key is not None else (self.keys[creditor] if creditor else None)
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        if idempotency_key is not None:
            sent["Idempotency-Key"] = idempotency_key
        raw = local_lambda.invoke(
            "ApiFunction", http_event(method, path, body=body, headers=sent, query=query)
        )
        text = raw.get("body") or ""
        return Answer(
            raw["statusCode"],
            {k.lower(): v for k, v in (raw.get("headers") or {}).items()},
            json.loads(text) if text else None,
        )

    def post(self, path: str, body: Any, *, idempotency_key: str | None = "auto", **kwargs: Any) -> Answer:
        key = uuid.uuid4().hex if idempotency_key == "auto" else idempotency_key
        return self.call("POST", path, body=body, idempotency_key=key, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Answer:
        return self.call("GET", path, **kwargs)


def an_invoice(number: str = "F-001", **fields: Any) -> dict[str, Any]:
    """An invoice as an ERP sends it; override any field."""
    return {
        "invoice_number": number,
        "debtor_name": "Boulangerie Martin SARL",
        "siren": "732829320",
        "email": "compta@martin.example.fr",
        "invoice_date": "2025-10-01",
        "due_date": "2025-10-31",
        "amount_total_minor": 120_000,
        "amount_paid_minor": 0,
        "currency": "EUR",
        **fields,
    }


def make_creditors_and_keys(suffix: str = "") -> dict[str, str]:
    """Creditors A and B (ids ending with `suffix`), one API key each; returns CREDITOR_A/B -> key text."""
    from relance.adapters.api_store import ApiStore
    from relance.adapters.dynamo import DynamoStore
    from relance.adapters.settings import load_settings
    from relance.domain.parties import Creditor
    from relance.services.api import create_api_key

    table = load_settings().table_name
    store = DynamoStore(table)
    keys: dict[str, str] = {}
    for creditor_id, name in ((CREDITOR_A, "Acme Fournitures SAS"), (CREDITOR_B, "Globex SARL")):
        store.put_creditor(Creditor(f"{creditor_id}{suffix}", name))
        keys[creditor_id], _record = create_api_key(
            f"{creditor_id}{suffix}", datetime.now(UTC), ApiStore(table), store
        )
    return keys


@pytest.fixture(scope="package")
def erp_stack():
    """One stack for the API's tests (provisioning takes seconds); each test has its own creditors."""
    with (
        pytest.MonkeyPatch.context() as monkeypatch,
        restored_environ(),
        fake_aws_account(monkeypatch),
        provisioned_stack(monkeypatch) as stack,
    ):
        yield stack


@pytest.fixture
def api(erp_stack) -> Api:
    """Two creditors of this test only, with a key each, and the API to call."""
    return Api(make_creditors_and_keys(suffix=f"-{uuid.uuid4().hex[:8]}"))
