"""The reliability suite reuses the integration suite's local stack, `relance` command and Stripe fixtures."""

from tests.integration.conftest import relance  # noqa: F401 - fixtures, used by name
from tests.integration.test_stripe_webhook import store, webhook_secret  # noqa: F401
