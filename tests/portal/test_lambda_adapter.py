"""The portal answers API Gateway HTTP API (v2) events through portal_lambda.handler."""

from __future__ import annotations

import base64
import dataclasses
import importlib
import sys

import pytest
from tests.portal.portal_world import DEBTOR_A, SentLinks, build_services, link_for

import relance_portal.wiring


@pytest.fixture
def portal_lambda(monkeypatch):
    """portal_lambda imported as on a cold start, with the in-memory services wired in."""
    monkeypatch.setenv("RELANCE_SECRET_KEY", "lambda-tests-session-secret")
    monkeypatch.setattr(relance_portal.wiring, "build_services", lambda config: build_services(SentLinks()))
    monkeypatch.setattr(relance_portal.wiring, "portal_config", lambda: {})
    sys.modules.pop("portal_lambda", None)
    yield importlib.import_module("portal_lambda")
    sys.modules.pop("portal_lambda", None)


def http_api_event(path: str, query: str = "", headers: dict[str, str] | None = None) -> dict:
    """An HTTP API payload 2.0 event, as API Gateway sends it for a GET through the $default stage."""
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {
            "accept": "text/html",
            "host": "portal.relance.example",
            "x-forwarded-proto": "https",
            "x-forwarded-port": "443",
            "x-forwarded-for": "203.0.113.7",
            **(headers or {}),
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api1234",
            "domainName": "portal.relance.example",
            "http": {
                "method": "GET",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "pytest",
            },
            "requestId": "req-2026-11-23-0001",
            "routeKey": "$default",
            "stage": "$default",
            "time": "23/Nov/2026:09:00:00 +0000",
            "timeEpoch": 1795424400000,
        },
        "isBase64Encoded": False,
    }


def body_of(response: dict) -> str:
    body = response["body"]
    return base64.b64decode(body).decode() if response.get("isBase64Encoded") else body


def test_debtor_page_is_served_through_the_lambda_handler(portal_lambda):
    event = http_api_event(link_for(DEBTOR_A), query="lang=en")

    response = portal_lambda.handler(event, None)

    assert response["statusCode"] == 200
    assert response["headers"]["content-type"] == "text/html; charset=utf-8"
    assert "€12,345.67" in body_of(response)
    assert response["headers"]["referrer-policy"] == "no-referrer"


def test_language_choice_comes_back_as_a_secure_session_cookie(portal_lambda):
    event = http_api_event(link_for(DEBTOR_A), query="lang=en")

    response = portal_lambda.handler(event, None)

    assert len(response["cookies"]) == 1
    assert "; Secure" in response["cookies"][0]
    assert "; HttpOnly" in response["cookies"][0]


def test_health_check_answers_through_the_lambda_handler(portal_lambda):
    response = portal_lambda.handler(http_api_event("/healthz"), None)

    assert response["statusCode"] == 200
    assert '"status":"ok"' in body_of(response).replace(" ", "")


def test_stylesheet_is_returned_through_the_lambda_handler(portal_lambda):
    response = portal_lambda.handler(http_api_event("/static/portal.css"), None)

    assert response["statusCode"] == 200
    assert ":focus-visible" in body_of(response)


def test_server_error_reference_is_the_api_gateway_request_id(portal_lambda, monkeypatch):
    class BrokenAccounts:
        def debtor_account(self, creditor_id, debtor_id):
            raise RuntimeError("the account store is unreachable")

    working = portal_lambda.app.extensions["relance"]
    monkeypatch.setitem(
        portal_lambda.app.extensions, "relance", dataclasses.replace(working, accounts=BrokenAccounts())
    )
    event = http_api_event(link_for(DEBTOR_A), headers={"accept-language": "en"})

    response = portal_lambda.handler(event, None)

    assert response["statusCode"] == 500
    assert "give them this reference: req-2026-11-23-0001." in body_of(response)


def test_a_portal_without_wired_services_says_so_at_start(monkeypatch):
    monkeypatch.setenv("RELANCE_SECRET_KEY", "lambda-tests-session-secret")
    sys.modules.pop("portal_lambda", None)

    monkeypatch.delenv("RELANCE_TABLE", raising=False)

    with pytest.raises(RuntimeError, match="RELANCE_TABLE is not set"):
        importlib.import_module("portal_lambda")

    sys.modules.pop("portal_lambda", None)
