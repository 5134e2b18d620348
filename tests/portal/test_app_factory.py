"""How the portal is built: its secrets and services come from configuration, never from the code."""

from __future__ import annotations

import pytest
from tests.portal.access_fakes import InMemoryAccess, RecordingMailer
from tests.portal.portal_world import DEBTOR_A, TEST_CONFIG, World

from relance_portal import Services, create_app

FACTORY_WORLD = World()


def services_for_tests(config):
    """A SERVICES_FACTORY target, named by its dotted path in the tests below."""
    return FACTORY_WORLD.services()


def test_app_refuses_to_start_without_a_secret_key():
    config = {**TEST_CONFIG, "SECRET_KEY": None}

    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(config, World().services())


def test_secret_key_can_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("RELANCE_SECRET_KEY", "from-the-environment")

    app = create_app({"TESTING": True}, World().services())

    assert app.config["SECRET_KEY"] == "from-the-environment"


def test_services_come_from_the_factory_named_in_the_environment(monkeypatch):
    monkeypatch.setenv("RELANCE_SERVICES_FACTORY", "tests.portal.test_app_factory:services_for_tests")

    client = create_app(TEST_CONFIG).test_client()

    assert client.get(FACTORY_WORLD.link_for(DEBTOR_A), follow_redirects=True).status_code == 200


def test_services_come_from_a_factory_passed_in_config():
    calls = []

    def factory(config):
        calls.append(config["SECRET_KEY"])
        return World().services()

    create_app({**TEST_CONFIG, "SERVICES_FACTORY": factory})

    assert calls == [TEST_CONFIG["SECRET_KEY"]]


def test_default_wiring_says_clearly_which_setting_is_missing(monkeypatch):
    monkeypatch.delenv("RELANCE_TABLE", raising=False)

    with pytest.raises(RuntimeError, match="RELANCE_TABLE is not set"):
        Services.from_settings({})


def test_default_clock_reads_today_in_the_creditor_time_zone():
    services = Services(accounts=None, access=InMemoryAccess(), mailer=RecordingMailer(), link_secret="s",
                        issue_link=lambda debtor, now: None)

    assert services.today("Pacific/Kiritimati") > services.today("Pacific/Pago_Pago")  # 25 hours apart
    assert services.now().utcoffset().total_seconds() == 0
