"""The back office on the moto stack from template.yaml: Cognito accounts, the plans store, the real wiring."""

from __future__ import annotations

import os

import pytest

from tests.backoffice.backoffice_world import PASSWORD, World, csrf_token, make_world


@pytest.fixture
def world(stack) -> World:
    return make_world(stack.physical["RelanceTable"], stack.physical["BackOfficeUserPool"])


@pytest.fixture
def app(world):
    from relance_backoffice import create_app

    app = create_app({"SECRET_KEY": "test-secret", "SESSION_COOKIE_SECURE": False,
                      "COGNITO_USER_POOL_ID": os.environ["RELANCE_COGNITO_USER_POOL_ID"],
                      "COGNITO_CLIENT_ID": os.environ["RELANCE_COGNITO_CLIENT_ID"]})
    return app


@pytest.fixture
def client(app):
    return app.test_client()


def sign_in(client, username: str, password: str = PASSWORD, next_path: str | None = None):
    """Post the sign-in form as a browser does (CSRF token from the form)."""
    page = client.get("/sign-in")
    url = f"/sign-in?next={next_path}" if next_path else "/sign-in"
    return client.post(url, data={"username": username, "password": password,
                                  "csrf_token": csrf_token(page.get_data(as_text=True))})
