"""A live debtor portal for browser journeys: the deployed wiring on the moto stack, served on 127.0.0.1.

The portal is built the way `make demo` builds it (`create_app(portal_config())`: the services of
`relance_portal.wiring.build_services` and the account pages' `AccountServices.from_settings`), on
template.yaml's resources provisioned in moto, with the stand-in checkout delivering signed Stripe
events to the webhook function's own handler. moto's in-process mock is process-wide, so the
server thread and the test share one fake AWS account.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from babel.support import Translations
from werkzeug.serving import WSGIRequestHandler, make_server

from relance.adapters.aws import client
from relance.adapters.checkout import StandInStripe, http_api_event, stripe_keys, stripe_signature
from relance.adapters.links import issue_link
from relance.adapters.payments_store import PaymentsStore
from relance.adapters.portal_access import PortalAccessStore
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.parties import Creditor, Debtor
from relance_cli.outbox import SentMail, read_outbox
from tests.conftest import fake_aws_account, provisioned_stack, restored_environ

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "docs" / "assets" / "screenshots"
TRANSLATIONS = REPO / "portal" / "relance_portal" / "translations"
REGION = "eu-west-3"

CREDITOR = Creditor(
    "atelier",
    "Atelier Lumière SAS",
    siren="812345678",
    contact_email="compta@atelier-lumiere.example",
    contact_phone="01 23 45 67 89",
    address="12 rue des Lilas, 75011 Paris",
)
DEBTOR_NAMES = {"fr": "Boulangerie Martin SARL", "en": "Bramble & Co Ltd"}
# Three overdue invoices, oldest first: (amount in cents, days past due).
INVOICES = ((1_250_00, 60), (840_50, 35), (2_100_00, 12))


class QuietHandler(WSGIRequestHandler):
    def log_request(self, code="-", size="-") -> None:  # a request line would print a link token
        pass


def today() -> date:
    """Today in the creditor's zone: the portal's own `today`."""
    return datetime.now(ZoneInfo(CREDITOR.timezone)).date()


@dataclass(frozen=True)
class Delivery:
    """One Stripe event delivered to the webhook function, and what it answered."""

    event_id: str
    event_type: str
    status: int
    outcome: str | None


@dataclass
class LivePortal:
    """The portal's address and the stack behind it, with what the journeys need to seed and to check."""

    url: str
    table: str
    bucket: str

    @property
    def store(self) -> PaymentsStore:
        return PaymentsStore(self.table)

    # --- seeding ----------------------------------------------------------------------------------

    def seed_debtor(self, journey: str, language: str) -> tuple[Debtor, list[Invoice]]:
        """A debtor in `language` with three overdue EUR invoices, each planned for the next scan."""
        slug = f"{journey}-{language}"
        domain = "boulangerie-martin.example" if language == "fr" else "bramble.example"
        debtor = Debtor(
            CREDITOR.creditor_id,
            slug,
            DEBTOR_NAMES[language],
            emails=(f"compta+{slug}@{domain}",),
            language=language,
        )
        planned_on = today() + timedelta(days=1)
        invoices = [
            Invoice(
                CREDITOR.creditor_id,
                slug,
                f"F-{slug.upper()}-{n}",
                today() - timedelta(days=late + 30),
                today() - timedelta(days=late),
                Money(amount, "EUR"),
                Money(0, "EUR"),
                last_step="reminder_1",
                last_step_on=today() - timedelta(days=3),
                next_action_on=planned_on,
            )
            for n, (amount, late) in enumerate(INVOICES, start=1)
        ]
        self.store.put_new_invoices(invoices, [debtor])
        return debtor, invoices

    def link_for(self, debtor: Debtor) -> str:
        """A fresh personal link, issued and stored as the dunning worker does."""
        issued = issue_link(debtor, datetime.now(UTC), self.url)
        PortalAccessStore(self.table).put_link(issued.item)
        return issued.url

    # --- what happened ----------------------------------------------------------------------------

    def invoices_of(self, debtor: Debtor) -> dict[str, Invoice]:
        _debtor, invoices = self.store.debtor_with_invoices(debtor.creditor_id, debtor.debtor_id)
        return {i.number: i for i in invoices}

    def audit_actions(self, debtor: Debtor, action: str) -> list[dict[str, Any]]:
        return [
            a for a in self.store.audit_of(debtor.creditor_id, debtor.debtor_id) if a.get("action") == action
        ]

    def items_of(self, entity: str, debtor: Debtor) -> list[dict[str, Any]]:
        """Every item of `entity` about the debtor, wherever it is kept in the table (a Scan: moto only)."""
        from relance.adapters.dynamo import _from_dynamo

        found = []
        for page in client("dynamodb").get_paginator("scan").paginate(TableName=self.table):
            for raw in page["Items"]:
                item = _from_dynamo(raw)
                if item.get("entity") == entity and item.get("debtor_id") == debtor.debtor_id:
                    found.append(item)
        return found

    def documents_under(self, prefix: str) -> dict[str, bytes]:
        listed = client("s3").list_objects_v2(Bucket=self.bucket, Prefix=prefix).get("Contents", [])
        return {
            o["Key"]: client("s3").get_object(Bucket=self.bucket, Key=o["Key"])["Body"].read() for o in listed
        }

    def mails_to(self, address: str) -> list[SentMail]:
        """The mails SES accepted for `address`, newest first."""
        return [m for m in read_outbox(None, REGION) if address in m.recipients]

    def code_sent_to(self, address: str) -> str:
        """The one-time code in the newest mail to `address`."""
        for mail in self.mails_to(address):
            found = re.search(r"^\s*(\d{6})\s*$", mail.text, re.MULTILINE)
            if found:
                return found.group(1)
        raise AssertionError(f"no one-time code was mailed to {address}")

    # --- Stripe, again ----------------------------------------------------------------------------

    def redeliver_card_payment(self, session_id: str, rounds: int = 2) -> list[Delivery]:
        """The events the stand-in sent for a card payment on `session_id`, sent again `rounds` times,
        in reverse order (the PaymentIntent's before the session's), signed and delivered like Stripe's.

        The stand-in keeps nothing it sent; its event ids derive from the session, so rebuilding the
        events with its public functions gives the very events (same ids) Stripe would retry.
        """
        from relance_portal.standin import local_webhook_sender

        record = self.store.get_checkout(session_id)
        assert record is not None, f"no checkout {session_id}"
        secret = stripe_keys(os.environ["RELANCE_STRIPE_SECRET_NAME"]).webhook_secret
        assert secret
        stand_in = StandInStripe(secret, local_webhook_sender)
        sent = [
            stand_in.session_event(record, "checkout.session.completed", "card", paid=True),
            stand_in.intent_event(record, "payment_intent.succeeded", "card"),
        ]
        deliveries = []
        for _round in range(rounds):
            for event in reversed(sent):
                payload = json.dumps(event, separators=(",", ":"))
                signature = stripe_signature(payload, secret, int(datetime.now(UTC).timestamp()))
                answer = local_webhook_sender(
                    http_api_event(
                        payload, {"content-type": "application/json", "stripe-signature": signature}
                    )
                )
                body = json.loads(answer.get("body") or "{}") if answer.get("statusCode") == 200 else {}
                deliveries.append(
                    Delivery(event["id"], event["type"], int(answer["statusCode"]), body.get("outcome"))
                )
        return deliveries


@contextlib.contextmanager
def live_portal() -> Iterator[LivePortal]:
    """A fresh moto stack from template.yaml and the portal on it, served on a free port until the end."""
    from aws_lambda_powertools.utilities import parameters

    with (
        pytest.MonkeyPatch.context() as monkeypatch,
        restored_environ(),
        fake_aws_account(monkeypatch),
        provisioned_stack(monkeypatch) as stack,
    ):
        parameters.clear_caches()  # each stack has its own link and webhook secrets
        monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
        from relance_portal import create_app
        from relance_portal.wiring import portal_config

        server = make_server("127.0.0.1", 0, None, threaded=True, request_handler=QuietHandler)
        url = f"http://127.0.0.1:{server.server_port}"
        monkeypatch.setenv("RELANCE_PORTAL_BASE_URL", url)  # links and the stand-in checkout point here
        server.app = create_app(
            {**portal_config(), "SESSION_COOKIE_SECURE": False, "PREFERRED_URL_SCHEME": "http"}
        )
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        portal = LivePortal(url, stack.physical["RelanceTable"], stack.physical["DocumentsBucket"])
        portal.store.put_creditor(CREDITOR)
        try:
            yield portal
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
            parameters.clear_caches()  # the next stack's secrets have the same names


# --- the pages' words and pictures ------------------------------------------------------------------


@cache
def _catalog(language: str) -> Translations:
    return Translations.load(str(TRANSLATIONS), [language])


def words(language: str, message: str, **params: Any) -> str:
    """`message` as the portal writes it in `language` (the French catalog; English is the message itself)."""
    text = _catalog(language).gettext(message) if language != "en" else message
    return text % params if params else text


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def screenshots_wanted() -> bool:
    """`RELANCE_SCREENSHOTS=1` refreshes the documentation's screenshots (docs/assets/screenshots/)."""
    return os.environ.get("RELANCE_SCREENSHOTS") == "1"


def save_screenshot(page: Any, name: str, language: str) -> None:
    """The visible part of the page as `portal-<name>.<language>.png`, in 256 colours (small files)."""
    if not screenshots_wanted():
        return
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(page.screenshot(full_page=False, animations="disabled", caret="hide")))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(
        SCREENSHOTS / f"portal-{name}.{language}.png", optimize=True
    )
