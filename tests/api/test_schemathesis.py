"""Schemathesis against the published OpenAPI document, on the real handler over moto.

A tiny WSGI shim turns each generated request into the HTTP API's payload 2.0 event, invokes the
template's ApiFunction in this process and turns its answer back: no server error, and every answer
conforms to the document (status documented, body valid against its schema).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from relance_cli import local_lambda
from tests.api.conftest import CREDITOR_A, an_invoice, http_event, make_creditors_and_keys

OPENAPI_FILE = Path(__file__).resolve().parents[2] / "docs" / "assets" / "openapi.json"


def api_wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """API Gateway's HTTP API in front of the function, as a WSGI app."""
    path = environ.get("PATH_INFO") or "/"
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else None
    headers = {
        name[5:].replace("_", "-").lower(): value
        for name, value in environ.items()
        if name.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    query: dict[str, str] = {}
    for name, value in parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True):
        query[name] = (
            f"{query[name]},{value}" if name in query else value
        )  # HTTP API joins repeats with commas
    event = http_event(environ["REQUEST_METHOD"], path, headers=headers, query=query, raw_body=body)
    event["rawQueryString"] = environ.get("QUERY_STRING", "")
    answer = local_lambda.invoke("ApiFunction", event)
    text = answer.get("body") or ""
    payload = base64.b64decode(text) if answer.get("isBase64Encoded") else text.encode()
    start_response(f"{answer['statusCode']} X", list((answer.get("headers") or {}).items()))
    return [payload]


@pytest.fixture
def seeded_keys(erp_stack, monkeypatch):
    """Keys that may send as many requests as Schemathesis makes, and one invoice on record."""
    monkeypatch.setenv("RELANCE_API_RATE_LIMIT_PER_MINUTE", "1000000")
    keys = make_creditors_and_keys(suffix="-fuzzed")
    seeded = local_lambda.invoke(
        "ApiFunction",
        http_event(
            "POST",
            "/v1/invoices",
            body={"invoices": [an_invoice("F-001")]},
            headers={"Authorization": f"Bearer {keys[CREDITOR_A]}", "Idempotency-Key": "seed"},
        ),
    )
    assert seeded["statusCode"] == 200, seeded
    return keys


# The committed document (tests/api/test_openapi_document.py proves it is the one the code generates).
schema = schemathesis.openapi.from_path(OPENAPI_FILE)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_answers_every_generated_request_as_its_document_says(case, seeded_keys):
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {seeded_keys[CREDITOR_A]}"}

    case.call_and_validate(app=api_wsgi, checks=[not_a_server_error, response_schema_conformance])
