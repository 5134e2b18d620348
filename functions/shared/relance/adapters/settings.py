"""Plain settings, read once from the environment (set by template.yaml or the local stack file)."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Settings:
    table_name: str
    idempotency_table: str
    reminder_queue_url: str
    sender_address: str
    configuration_set: str | None
    portal_base_url: str
    link_secret_name: str | None
    link_secret_value: str | None  # local only; production reads Secrets Manager
    link_max_age_days: int
    backoffice_url: str = "http://127.0.0.1:8001"  # absolute links in finance's alerts digest


def load_settings() -> Settings:
    """Settings of this process; a missing required variable is named in the error."""
    env = os.environ

    def required(name: str) -> str:
        value = env.get(name)
        if not value:
            raise RuntimeError(f"environment variable {name} is not set; is the stack configured?")
        return value

    return Settings(
        table_name=required("RELANCE_TABLE"),
        idempotency_table=env.get("RELANCE_IDEMPOTENCY_TABLE", ""),
        reminder_queue_url=env.get("RELANCE_REMINDER_QUEUE_URL", ""),
        sender_address=env.get("RELANCE_SENDER_ADDRESS", ""),
        configuration_set=env.get("RELANCE_SES_CONFIGURATION_SET") or None,
        portal_base_url=env.get("RELANCE_PORTAL_BASE_URL", "http://127.0.0.1:8000"),
        link_secret_name=env.get("RELANCE_LINK_SECRET_NAME") or None,
        link_secret_value=env.get("RELANCE_LINK_SECRET") or None,
        link_max_age_days=int(env.get("RELANCE_LINK_MAX_AGE_DAYS", "30")),
        backoffice_url=env.get("RELANCE_BACKOFFICE_URL", "http://127.0.0.1:8001"),
    )


def link_secret(settings: Settings) -> str:
    """The key that signs debtor links: Secrets Manager in production (cached 5 minutes)."""
    if settings.link_secret_value:
        return settings.link_secret_value
    if not settings.link_secret_name:
        raise RuntimeError("neither RELANCE_LINK_SECRET nor RELANCE_LINK_SECRET_NAME is set")
    from aws_lambda_powertools.utilities import parameters

    return str(parameters.get_secret(settings.link_secret_name, max_age=300))
