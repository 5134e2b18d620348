"""Shared fixtures: a fresh fake AWS account per test, provisioned from template.yaml."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest
from moto import mock_aws

from relance_cli import moto_patches

moto_patches.apply()

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FIXTURES = SHARED / "fixtures"
DOMAIN = SHARED / "domain"


@contextlib.contextmanager
def fake_aws_account(monkeypatch: pytest.MonkeyPatch):
    """Fake credentials and a fresh moto account; nothing can reach real AWS."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    from relance.adapters.aws import reset_clients

    with mock_aws():
        reset_clients()
        yield
    reset_clients()


@contextlib.contextmanager
def provisioned_stack(monkeypatch: pytest.MonkeyPatch):
    """template.yaml's resources on the current moto account, their settings in the environment."""
    from relance_cli import local_lambda
    from relance_cli.local_stack import provision

    provisioned = provision()
    for name, value in provisioned.environment().items():
        monkeypatch.setenv(name, value)
    local_lambda.forget_handlers()
    yield provisioned
    local_lambda.forget_handlers()


@contextlib.contextmanager
def restored_environ():
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def clean_environ():
    """Restore the process environment after a test that points it at a stack."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def aws(monkeypatch, clean_environ):
    """A fresh fake AWS account per test; nothing can reach real AWS."""
    with fake_aws_account(monkeypatch):
        yield


@pytest.fixture
def stack(aws, monkeypatch):
    """template.yaml's resources on moto, and the functions' environment in this process."""
    with provisioned_stack(monkeypatch) as provisioned:
        yield provisioned
