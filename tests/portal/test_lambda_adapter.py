"""The portal answers API Gateway HTTP API (v2) events through portal_lambda.handler."""

from __future__ import annotations

import base64
import dataclasses
import importlib
import re
import sys
from urllib.parse import urlencode

import pytest
from tests.portal.portal_world import DEBTOR_A, World

import relance_portal.wiring


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def portal_lambda(monkeypatch, world):
    """portal_lambda imported as on a cold start, with the in-memory services wired in."""
    monkeypatch.setenv("RELANCE_SECRET_KEY", "lambda-tests-session-secret")
    monkeypatch.setattr(relance_portal.wiring, "build_services", lambda config: world.services())
    monkeypatch.setattr(relance_portal.wiring, "portal_config", lambda: {})
    sys.modules.pop("portal_lambda", None)
    yield importlib.import_module("portal_lambda")
    sys.modules.pop("portal_lambda", None)


def http_api_event(path: str, query: str = "", headers: dict[str, str] | None = None, method: str = "GET",
                   body: str | None = None, cookies: list[str] | None = None,
                   source_ip: str = "203.0.113.7") -> dict:
    """An HTTP API payload 2.0 event, as API Gateway sends it through the $default stage."""
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {
            "accept": "text/html",
            "host": "portal.relance.example",
            "x-forwarded-proto": "https",
            "x-forwarded-port": "443",
            "x-forwarded-for": source_ip,
            **(headers or {}),
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api1234",
            "domainName": "portal.relance.example",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
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
    if cookies:
        event["cookies"] = cookies
    if body is not None:
        event["body"] = body
    return event


def body_of(response: dict) -> str:
    body = response["body"]
    return base64.b64decode(body).decode() if response.get("isBase64Encoded") else body


class ApiGatewayBrowser:
    """Sends HTTP API events to a Lambda handler as a browser would: keeps cookies, follows redirects."""

    def __init__(self, handler, headers: dict[str, str] | None = None) -> None:
        self.handler = handler
        self.headers = headers or {}  # sent with every request, e.g. accept-language
        self.cookies: dict[str, str] = {}

    def get(self, path: str, query: str = "", follow: bool = True) -> dict:
        return self._send(http_api_event(path, query, self.headers, cookies=self._cookie_list()), follow)

    def post(self, path: str, form: dict[str, str], follow: bool = True) -> dict:
        headers = {**self.headers, "content-type": "application/x-www-form-urlencoded"}
        event = http_api_event(path, method="POST", body=urlencode(form), cookies=self._cookie_list(),
                               headers=headers)
        return self._send(event, follow)

    def _send(self, event: dict, follow: bool) -> dict:
        response = self.handler(event, None)
        for cookie in response.get("cookies", []):
            name, _, rest = cookie.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        location = response.get("headers", {}).get("location")
        if follow and response["statusCode"] in (302, 303) and location:
            path, _, query = location.partition("?")
            return self.get(path, query)
        return response

    def _cookie_list(self) -> list[str]:
        return [f"{name}={value}" for name, value in self.cookies.items()]


def test_a_link_opens_the_account_through_the_lambda_handler(portal_lambda, world):
    browser = ApiGatewayBrowser(portal_lambda.handler)

    response = browser.get(world.link_for(DEBTOR_A), query="lang=en")

    assert response["statusCode"] == 200
    assert response["headers"]["content-type"] == "text/html; charset=utf-8"
    assert "€12,345.67" in body_of(response)
    assert response["headers"]["referrer-policy"] == "no-referrer"


def test_a_link_answers_with_a_redirect_and_a_secure_session_cookie(portal_lambda, world):
    event = http_api_event(world.link_for(DEBTOR_A), query="lang=en")

    response = portal_lambda.handler(event, None)

    assert response["statusCode"] == 303
    assert response["headers"]["location"] == "/account"
    assert len(response["cookies"]) == 1
    assert "; Secure" in response["cookies"][0]
    assert "; HttpOnly" in response["cookies"][0]


def test_the_client_address_for_the_limits_is_api_gateways_source_ip(portal_lambda, world):
    browser = ApiGatewayBrowser(portal_lambda.handler)
    form = body_of(browser.get("/d/new-link"))
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)

    browser.post("/d/new-link", {"csrf_token": csrf, "email": DEBTOR_A.emails[0]})

    [(scope, _subject, _window)] = [key for key in world.access.counters if key[0] == "NEWLINK_IP"]
    assert scope == "NEWLINK_IP"
    assert len(world.mailer.links) == 1


def test_health_check_answers_through_the_lambda_handler(portal_lambda):
    response = portal_lambda.handler(http_api_event("/healthz"), None)

    assert response["statusCode"] == 200
    assert '"status":"ok"' in body_of(response).replace(" ", "")


def test_stylesheet_is_returned_through_the_lambda_handler(portal_lambda):
    response = portal_lambda.handler(http_api_event("/static/portal.css"), None)

    assert response["statusCode"] == 200
    assert ":focus-visible" in body_of(response)


def test_server_error_reference_is_the_api_gateway_request_id(portal_lambda, monkeypatch, world):
    class BrokenAccounts:
        def debtor_account(self, creditor_id, debtor_id):
            raise RuntimeError("the account store is unreachable")

    working = portal_lambda.app.extensions["relance"]
    monkeypatch.setitem(
        portal_lambda.app.extensions, "relance", dataclasses.replace(working, accounts=BrokenAccounts())
    )
    browser = ApiGatewayBrowser(portal_lambda.handler, headers={"accept-language": "en"})

    response = browser.get(world.link_for(DEBTOR_A))

    assert response["statusCode"] == 500
    assert "give them this reference: req-2026-11-23-0001." in body_of(response)


def test_a_portal_without_wired_services_says_so_on_its_first_request(monkeypatch):
    monkeypatch.setenv("RELANCE_SECRET_KEY", "lambda-tests-session-secret")
    sys.modules.pop("portal_lambda", None)
    monkeypatch.delenv("RELANCE_TABLE", raising=False)
    portal_lambda = importlib.import_module("portal_lambda")  # importing calls no AWS (bench/coldstart.py)

    with pytest.raises(RuntimeError, match="RELANCE_TABLE is not set"):
        portal_lambda.handler(http_api_event("/healthz"), None)

    sys.modules.pop("portal_lambda", None)
