from __future__ import annotations

import pytest
from tests.portal.portal_world import DEBTOR_A, TEST_CONFIG, World

from relance_portal import create_app


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def app(world):
    return create_app(TEST_CONFIG, world.services())


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def signed_in(client, world):
    """A client whose session was opened by debtor A's personal link."""
    response = client.get(world.link_for(DEBTOR_A))
    assert response.status_code == 303
    return client
