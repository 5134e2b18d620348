from __future__ import annotations

import pytest
from tests.portal.portal_world import TEST_CONFIG, SentLinks, build_services

from relance_portal import create_app


@pytest.fixture
def sent_links() -> SentLinks:
    return SentLinks()


@pytest.fixture
def app(sent_links):
    return create_app(TEST_CONFIG, build_services(sent_links))


@pytest.fixture
def client(app):
    return app.test_client()
