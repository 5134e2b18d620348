"""The deployed portal's wiring on moto: the link in a sent reminder opens that debtor's session."""

from __future__ import annotations

import importlib
import re
import sys

import pytest

from tests.integration.conftest import CREDITOR, MONDAY, small_export
from tests.portal.test_lambda_adapter import ApiGatewayBrowser, body_of, http_api_event

LINK = re.compile(r"http://127\.0\.0\.1:8000(/d/[A-Za-z0-9_\-]+)")
BOISJOLI = "finance.agence-boisjoli@example.fr"


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


def link_in(mail: dict) -> str:
    return LINK.search(mail["text"]).group(1)


def debtor_of(mail: dict) -> str:
    return mail["reminder_id"].split(":")[1]


def csrf_in(response: dict) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', body_of(response)).group(1)


def test_the_link_in_a_reminder_opens_the_debtors_balance_in_both_languages(reminded, portal_lambda):
    path = link_in(reminded[BOISJOLI])
    browser = ApiGatewayBrowser(portal_lambda.handler)

    french = browser.get(path, query="lang=fr")
    english = browser.get("/account", query="lang=en")

    assert french["statusCode"] == english["statusCode"] == 200
    assert "1\u202f831,18\u00a0€" in body_of(french)  # 1 708,08 + 123,10 still owed
    assert "€1,831.18" in body_of(english)
    assert "FA-2025-00007" in body_of(french)


def test_opening_the_link_leaves_the_token_out_of_the_address_and_audits_it(reminded, portal_lambda, stack):
    from relance.adapters.dynamo import DynamoStore

    mail = reminded[BOISJOLI]

    response = portal_lambda.handler(http_api_event(link_in(mail)), None)

    assert response["statusCode"] == 303
    assert response["headers"]["location"] == "/account"
    audit = DynamoStore(stack.physical["RelanceTable"]).audit_of(CREDITOR, debtor_of(mail))
    assert [event["action"] for event in audit].count("portal_opened") == 1


def test_one_debtors_link_never_shows_another_debtors_invoices(reminded, portal_lambda):
    browser = ApiGatewayBrowser(portal_lambda.handler)

    page = body_of(browser.get(link_in(reminded[BOISJOLI])))

    assert "FA-2025-00007" in page
    assert "FA-2025-00021" not in page  # Agence Côteblanc's invoice
    assert "Côteblanc" not in page


def test_a_tampered_link_gets_the_not_valid_page(reminded, portal_lambda):
    path = link_in(reminded[BOISJOLI])
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")

    response = portal_lambda.handler(http_api_event(tampered), None)

    assert response["statusCode"] == 404
    assert "FA-2025-00007" not in body_of(response)


def test_after_link_revoke_an_open_session_is_refused_at_once(reminded, portal_lambda, relance):
    mail = reminded[BOISJOLI]
    browser = ApiGatewayBrowser(portal_lambda.handler)
    assert browser.get(link_in(mail))["statusCode"] == 200

    code, out = relance("link", "revoke", "--creditor", CREDITOR, "--debtor", debtor_of(mail))

    assert code == 0, out
    assert browser.get("/account")["statusCode"] == 404
    assert ApiGatewayBrowser(portal_lambda.handler).get(link_in(mail))["statusCode"] == 404


def test_relance_link_prints_a_link_that_opens(reminded, portal_lambda, relance):
    code, out = relance("link", debtor_of(reminded[BOISJOLI]), "--creditor", CREDITOR)

    assert code == 0, out
    page = ApiGatewayBrowser(portal_lambda.handler).get(LINK.search(out).group(1))
    assert page["statusCode"] == 200
    assert "FA-2025-00007" in body_of(page)


def test_the_one_time_code_goes_out_through_ses_and_opens_changes(reminded, portal_lambda, relance):
    browser = ApiGatewayBrowser(portal_lambda.handler)
    browser.get(link_in(reminded[BOISJOLI]))
    before = len(relance.outbox())

    form = browser.get("/account/verify", query="next=/account")
    mails = relance.outbox()
    code = re.search(r"^(\d{6})$", mails[0]["text"], re.MULTILINE).group(1)
    answer = browser.post("/account/verify", {"csrf_token": csrf_in(form), "next": "/account", "code": code,
                                              "action": "check"}, follow=False)

    assert len(mails) == before + 1
    assert mails[0]["to"] == [BOISJOLI]
    assert mails[0]["subject"].startswith("Votre code de confirmation")
    assert answer["statusCode"] == 303
    assert answer["headers"]["location"] == "/account"


def test_a_new_link_by_address_is_mailed_once_and_opens(reminded, portal_lambda, relance, stack):
    from relance.adapters.dynamo import DynamoStore
    from relance.adapters.portal_access import PortalAccessStore

    table = stack.physical["RelanceTable"]
    debtor, _invoices = DynamoStore(table).debtor_with_invoices(CREDITOR, debtor_of(reminded[BOISJOLI]))
    PortalAccessStore(table).put_email_index(debtor)
    browser = ApiGatewayBrowser(portal_lambda.handler)
    csrf = csrf_in(browser.get("/d/new-link"))
    before = len(relance.outbox())

    answers = [browser.post("/d/new-link", {"csrf_token": csrf, "email": address}, follow=False)
               for address in (BOISJOLI.upper(), "nobody@example.org")]

    mails = relance.outbox()
    assert [a["statusCode"] for a in answers] == [303, 303]
    assert len(mails) == before + 1
    assert mails[0]["to"] == [BOISJOLI]
    assert mails[0]["subject"].startswith("Votre nouveau lien personnel")
    fresh = ApiGatewayBrowser(portal_lambda.handler).get(link_in(mails[0]))
    assert fresh["statusCode"] == 200
    assert "FA-2025-00007" in body_of(fresh)


def test_the_fourth_new_link_request_of_the_hour_sends_nothing(reminded, portal_lambda, relance, stack):
    from relance.adapters.dynamo import DynamoStore
    from relance.adapters.portal_access import PortalAccessStore

    table = stack.physical["RelanceTable"]
    debtor, _invoices = DynamoStore(table).debtor_with_invoices(CREDITOR, debtor_of(reminded[BOISJOLI]))
    PortalAccessStore(table).put_email_index(debtor)
    browser = ApiGatewayBrowser(portal_lambda.handler)
    csrf = csrf_in(browser.get("/d/new-link"))
    before = len(relance.outbox())

    for _ in range(4):
        browser.post("/d/new-link", {"csrf_token": csrf, "email": BOISJOLI}, follow=False)

    assert len(relance.outbox()) == before + 3
