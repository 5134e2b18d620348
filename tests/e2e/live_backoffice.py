"""A live finance back office next to the live portal: the same moto stack, its own server and port.

Built as the deployed one is (`create_app` with the settings' services: Cognito's app client from the
stack, the plans store on RelanceTable), with a finance account created the way `relance users add` does.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from babel.support import Translations
from relance.adapters.cognito import add_user
from werkzeug.serving import make_server

from tests.e2e.live_portal import CREDITOR, LivePortal, QuietHandler

TRANSLATIONS = Path(__file__).resolve().parents[2] / "portal" / "relance_backoffice" / "translations"
FINANCE = "marie@atelier-lumiere.example"
PASSWORD = "Correct-Horse-42"


@dataclass(frozen=True)
class LiveBackOffice:
    url: str
    username: str
    password: str


@contextlib.contextmanager
def live_backoffice(portal: LivePortal) -> Iterator[LiveBackOffice]:
    """The back office on a free port, on the stack `portal` runs on, with one finance account."""
    from relance_backoffice import create_app

    add_user(os.environ["RELANCE_COGNITO_USER_POOL_ID"], FINANCE, "finance", CREDITOR.creditor_id, PASSWORD)
    server = make_server("127.0.0.1", 0, None, threaded=True, request_handler=QuietHandler)
    server.app = create_app({"SECRET_KEY": "e2e-backoffice", "SESSION_COOKIE_SECURE": False})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveBackOffice(f"http://127.0.0.1:{server.server_port}", FINANCE, PASSWORD)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@cache
def _catalog(language: str) -> Translations:
    return Translations.load(str(TRANSLATIONS), [language])


def bo_words(language: str, message: str, **params: Any) -> str:
    """`message` as the back office writes it in `language`."""
    text = _catalog(language).gettext(message) if language != "en" else message
    return text % params if params else text
