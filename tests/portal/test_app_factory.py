"""How the portal is built: its secrets and services come from configuration, never from the code."""

from __future__ import annotations

import pytest
from tests.portal.portal_world import DEBTOR_A, TEST_CONFIG, SentLinks, build_services, link_for

from relance_portal import Services, create_app

SENT_BY_FACTORY = SentLinks()


def services_for_tests(config):
    """A SERVICES_FACTORY target, named by its dotted path in the tests below."""
    return build_services(SENT_BY_FACTORY)


def test_app_refuses_to_start_without_a_secret_key():
    config = {**TEST_CONFIG, "SECRET_KEY": None}

    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(config, build_services(SentLinks()))


def test_secret_key_can_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("RELANCE_SECRET_KEY", "from-the-environment")

    app = create_app({"TESTING": True}, build_services(SentLinks()))

    assert app.config["SECRET_KEY"] == "from-the-environment"


def test_services_come_from_the_factory_named_in_the_environment(monkeypatch):
    monkeypatch.setenv("RELANCE_SERVICES_FACTORY", "tests.portal.test_app_factory:services_for_tests")

    client = create_app(TEST_CONFIG).test_client()

    assert client.get(link_for(DEBTOR_A)).status_code == 200


def test_services_come_from_a_factory_passed_in_config():
    calls = []

    def factory(config):
        calls.append(config["SECRET_KEY"])
        return build_services(SentLinks())

    create_app({**TEST_CONFIG, "SERVICES_FACTORY": factory})

    assert calls == [TEST_CONFIG["SECRET_KEY"]]


def test_default_wiring_says_clearly_which_setting_is_missing(monkeypatch):
    monkeypatch.delenv("RELANCE_TABLE", raising=False)

    with pytest.raises(RuntimeError, match="RELANCE_TABLE is not set"):
        Services.from_settings({})


def test_default_clock_reads_today_in_the_creditor_time_zone():
    services = Services(accounts=None, link_secret="s", resend_link=lambda ref: None)

    assert services.today("Pacific/Kiritimati") > services.today("Pacific/Pago_Pago")  # 25 hours apart
