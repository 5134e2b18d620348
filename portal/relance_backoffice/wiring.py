"""The deployed back office's config beyond its defaults: the session key, from its own secret."""

from __future__ import annotations

import os
from typing import Any


def backoffice_config() -> dict[str, Any]:
    """SECRET_KEY from Secrets Manager (RELANCE_BACKOFFICE_SECRET_NAME), cached 5 minutes by Powertools."""
    name = os.environ.get("RELANCE_BACKOFFICE_SECRET_NAME")
    if not name:
        raise RuntimeError("RELANCE_BACKOFFICE_SECRET_NAME is not set; is the stack configured?")
    from aws_lambda_powertools.utilities import parameters

    return {"SECRET_KEY": str(parameters.get_secret(name, max_age=300))}
