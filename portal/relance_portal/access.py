"""Who the portal is talking to: the debtor session a personal link opens, and the one-time code.

Views that show a debtor's data take `@debtor_session`; views that change something take
`@code_required` as well (it implies a debtor session). Both read the debtor with `current_ref()`.
The session is Flask's signed cookie, so the check that finance has not revoked the debtor's links
(the link version) is made again on every request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import abort, g, make_response, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from relance.adapters.links import DebtorRef
from relance.services.portal_access import session_is_current
from relance_portal.services import current_services

__all__ = [
    "DebtorRef",
    "code_required",
    "current_ref",
    "debtor_session",
    "is_verified",
    "link_not_valid_page",
    "mark_verified",
    "remember_debtor_language",
    "safe_next",
    "session_account",
    "start_session",
]

log = logging.getLogger("relance_portal.access")
View = TypeVar("View", bound=Callable[..., Any])

_DEBTOR = "debtor"  # session key: the debtor this session was opened for
_VERIFIED_AT = "code_verified_at"  # session key: when a one-time code was accepted in this session
_KEPT_ON_ROTATION = ("lang",)
HOME = "/account"


def start_session(ref: DebtorRef, link_digest_prefix: str, now: datetime) -> None:
    """Begin a fresh session for the debtor a link opened: whatever the browser held before is dropped."""
    kept = {key: session[key] for key in _KEPT_ON_ROTATION if key in session}
    session.clear()
    session.update(kept)
    session[_DEBTOR] = {
        "creditor_id": ref.creditor_id,
        "debtor_id": ref.debtor_id,
        "link_version": ref.link_version,
        "link": link_digest_prefix,
        "started_at": now.isoformat(),
    }
    session.permanent = True  # lives PERMANENT_SESSION_LIFETIME (30 minutes) after the last request


def current_ref() -> DebtorRef:
    """The debtor of this request's session; the "link not valid" page (404) when there is none.

    The session, never a URL parameter, says who the debtor is. The debtor's link version is read
    again once per request, so a revocation ends open sessions at once.
    """
    ref = g.get("debtor_ref")
    if ref is not None:
        return ref
    ref = _session_ref()
    if ref is None or not session_is_current(ref, current_services().access):
        if ref is not None:
            log.warning("Portal session refused", extra={"reason": "revoked", "creditor_id": ref.creditor_id,
                                                         "debtor_id": ref.debtor_id})
            session.pop(_DEBTOR, None)
            session.pop(_VERIFIED_AT, None)
        abort(link_not_valid_page())
    g.debtor_ref = ref
    g.debtor_language = session[_DEBTOR].get("language")  # pages before the account is read speak it too
    return ref


def session_account(reader: Any, open_only: bool = True) -> Any:
    """The session debtor's account, read at most once per request (the pages and the late-fees
    helper of one request share it); the "link not valid" page when the debtor is gone or revoked.

    `open_only` reads the open invoices alone (one item on DynamoDB); a request that asked for the
    whole account serves later open-only asks from it too. Reading it sets the pages' language.
    """
    from relance.domain.errors import LinkInvalid
    from relance.services.accounts import account_for_link

    cached = g.get("session_account")
    if cached is not None and (open_only or not cached[0]):
        return cached[1]
    try:
        account = account_for_link(current_ref(), reader, open_only=open_only)
    except LinkInvalid:
        abort(link_not_valid_page())
    g.session_account = (open_only, account)
    _speak(account.debtor.language)
    return account


def _speak(language: str) -> None:
    """Pages speak the debtor's recorded language from now on, this request (chosen before the
    debtor was known) and the next ones (pages that do not read the account)."""
    from flask_babel import refresh

    g.debtor_language = language
    remember_debtor_language(language)
    refresh()


def remember_debtor_language(language: str) -> None:
    """Keep the debtor's recorded language in the session, for the pages that do not read the account."""
    if session[_DEBTOR].get("language") != language:
        session[_DEBTOR] = {**session[_DEBTOR], "language": language}


def debtor_session(view: View) -> View:
    """For views that show a debtor's data: no valid session gets the "link not valid" page."""

    @wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        current_ref()
        return view(*args, **kwargs)

    return checked  # type: ignore[return-value]


def code_required(view: View) -> View:
    """For views that change something: a session that has not passed a one-time code goes to
    `/account/verify?next=<this path>` (303) first; implies `debtor_session`.
    """

    @wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        current_ref()
        if not is_verified():
            return redirect(url_for("debtor.verify", next=_this_path()), code=303)
        return view(*args, **kwargs)

    return checked  # type: ignore[return-value]


def is_verified() -> bool:
    """True once a one-time code was accepted in this session."""
    return _VERIFIED_AT in session


def mark_verified(now: datetime) -> None:
    """Record in this session (only) that the debtor typed the right code."""
    session[_VERIFIED_AT] = now.isoformat()


def safe_next(target: str | None) -> str:
    """Where to go after the code: a path of this portal, else `/account` (never another site)."""
    if not target or len(target) > 2048:
        return HOME
    if any(c in target for c in "\\\r\n\t") or any(ord(c) < 32 for c in target):
        return HOME
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return HOME
    if parts.path != HOME and not parts.path.startswith(HOME + "/"):
        return HOME
    return target


def link_not_valid_page() -> Response:
    """The one page for an unknown, expired or revoked link and for a missing session: 404, same bytes."""
    return make_response(render_template("debtor/link_invalid.html"), 404)


def _session_ref() -> DebtorRef | None:
    data = session.get(_DEBTOR)
    if not isinstance(data, dict):
        return None
    creditor_id, debtor_id, version = data.get("creditor_id"), data.get("debtor_id"), data.get("link_version")
    if not isinstance(creditor_id, str) or not isinstance(debtor_id, str) or not isinstance(version, int):
        return None
    return DebtorRef(creditor_id, debtor_id, version)


def _this_path() -> str:
    query = request.query_string.decode("latin-1")
    return f"{request.path}?{query}" if query else request.path
