"""The deployed portal's wiring on moto: the link in a sent reminder opens that debtor's balance."""

from __future__ import annotations

import base64
import importlib
import re
import sys

import pytest

from tests.integration.conftest import CREDITOR, MONDAY, small_export
from tests.portal.test_lambda_adapter import http_api_event

LINK = re.compile(r"http://127\.0\.0\.1:8000(/d/[A-Za-z0-9_.\-]+)")


@pytest.fixture
def reminded(relance, tmp_path):
    """Six debtors imported and reminded on Monday; their mails carry their links."""
    relance.json("import", str(small_export(tmp_path)), "--creditor", CREDITOR)
    relance.json("run-day", "--date", MONDAY.isoformat())
    return {m["to"][0]: m for m in relance.outbox()}


@pytest.fixture
def portal_lambda(stack):
    """portal_lambda as on a cold start: settings, secret and accounts from the moto stack."""
    sys.modules.pop("portal_lambda", None)
    yield importlib.import_module("portal_lambda")
    sys.modules.pop("portal_lambda", None)


def body_of(response: dict) -> str:
    return base64.b64decode(response["body"]).decode() if response.get("isBase64Encoded") else response["body"]


def test_the_link_in_a_reminder_opens_the_debtors_balance_in_both_languages(reminded, portal_lambda):
    path = LINK.search(reminded["finance.agence-boisjoli@example.fr"]["text"]).group(1)

    french = portal_lambda.handler(http_api_event(path, query="lang=fr"), None)
    english = portal_lambda.handler(http_api_event(path, query="lang=en"), None)

    assert french["statusCode"] == english["statusCode"] == 200
    assert "1\u202f831,18\u00a0€" in body_of(french)  # 1 708,08 + 123,10 still owed
    assert "€1,831.18" in body_of(english)
    assert "FA-2025-00007" in body_of(french)


def test_one_debtors_link_never_shows_another_debtors_invoices(reminded, portal_lambda):
    path = LINK.search(reminded["finance.agence-boisjoli@example.fr"]["text"]).group(1)

    page = body_of(portal_lambda.handler(http_api_event(path), None))

    assert "FA-2025-00007" in page
    assert "FA-2025-00021" not in page  # Agence Côteblanc's invoice
    assert "Côteblanc" not in page


def test_a_tampered_link_gets_the_not_valid_page(reminded, portal_lambda):
    path = LINK.search(reminded["finance.agence-boisjoli@example.fr"]["text"]).group(1)
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")

    response = portal_lambda.handler(http_api_event(tampered), None)

    assert response["statusCode"] == 404
    assert "FA-2025-00007" not in body_of(response)


def test_an_expired_link_mails_a_fresh_one_to_the_address_on_record_once(reminded, portal_lambda, relance):
    path = LINK.search(reminded["finance.agence-boisjoli@example.fr"]["text"]).group(1)
    portal_lambda.app.config["LINK_MAX_AGE_DAYS"] = -1  # every link is now too old
    expired = portal_lambda.handler(http_api_event(path), None)
    cookie = expired["cookies"][0].split(";")[0]
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', body_of(expired)).group(1)
    before = len(relance.outbox())

    for _ in range(2):
        post = http_api_event("/d/new-link", headers={"cookie": cookie,
                                                           "content-type": "application/x-www-form-urlencoded"})
        post["requestContext"]["http"]["method"] = "POST"
        post["body"] = f"csrf_token={csrf}&token={path.removeprefix('/d/')}"
        answer = portal_lambda.handler(post, None)
        assert answer["statusCode"] in (302, 303)

    mails = relance.outbox()
    assert expired["statusCode"] == 410
    assert len(mails) == before + 1
    assert mails[0]["to"] == ["finance.agence-boisjoli@example.fr"]
    assert mails[0]["subject"].startswith("Votre nouveau lien personnel")
    fresh = LINK.search(mails[0]["text"]).group(1)
    portal_lambda.app.config["LINK_MAX_AGE_DAYS"] = 30
    assert portal_lambda.handler(http_api_event(fresh), None)["statusCode"] == 200
