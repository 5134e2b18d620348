"""Sign-in and sign-out, and the guard every back-office page passes: signed in, in time, in the right
group."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from relance.adapters.cognito import (
    AccountNotUsable,
    ChallengeExpired,
    NewPasswordRequired,
    PasswordRefused,
    WrongCredentials,
)
from relance_portal.errors import log

from relance_backoffice.services import services

bp = Blueprint("auth", __name__)

SESSION_HOURS = timedelta(hours=8)
READERS = ("finance", "viewer", "admin")
DECIDERS = ("finance",)
ADMINS = ("admin",)
MAX_FIELD_CHARS = 256


@dataclass(frozen=True, slots=True)
class BackOfficeUser:
    """The person signed in, as kept in the session."""

    username: str
    groups: tuple[str, ...]
    creditor_id: str

    @property
    def can_decide(self) -> bool:
        return any(group in DECIDERS for group in self.groups)

    @property
    def is_admin(self) -> bool:
        return any(group in ADMINS for group in self.groups)

    @property
    def actor(self) -> str:
        """Who acted, for the audit: `finance:<username>`."""
        return f"finance:{self.username}"


def current_user() -> BackOfficeUser | None:
    """The signed-in user, or None when signed out or past the 8 hours of a session."""
    kept = session.get("user")
    if not kept:
        return None
    signed_in_at = datetime.fromisoformat(kept["at"])
    if datetime.now(UTC) - signed_in_at > SESSION_HOURS:
        session.clear()
        return None
    return BackOfficeUser(kept["username"], tuple(kept["groups"]), kept["creditor_id"])


def signed_in(groups: tuple[str, ...]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A view for members of `groups`: signed-out people go to sign-in, others get 403."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                return redirect(url_for("auth.sign_in", next=request.path))
            if not any(group in groups for group in user.groups):
                log.warning("Back-office request refused",
                            extra={"reason": "group", "endpoint": request.endpoint})
                abort(403)
            return view(user, *args, **kwargs)

        return guarded

    return decorate


def _safe_next(target: str | None) -> str:
    """Where to go after sign-in: a path of this site only (never `//host` or a full address).

    Control characters are refused too: browsers drop a tab or a line break from a URL, so `/<TAB>/evil.example`
    would land on `//evil.example`, and a line break in a Location header is a 500.
    """
    if (target and len(target) <= 2048 and target.startswith("/") and not target.startswith("//")
            and "\\" not in target and not any(ord(c) < 32 or ord(c) == 127 for c in target)):
        return target
    return url_for("dashboard.show")


def home():
    """The back office's front door: the dashboard."""
    return redirect(url_for("dashboard.show"))


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    """The sign-in form; a good username and password open an 8-hour session."""
    errors: dict[str, str] = {}
    username = ""
    status = 200
    if request.method == "POST":
        username = request.form.get("username", "").strip()[:MAX_FIELD_CHARS]
        password = request.form.get("password", "")[:MAX_FIELD_CHARS]
        if not username:
            errors["username"] = _("Enter your username (your e-mail address).")
        if not password:
            errors["password"] = _("Enter your password.")
        if not errors:
            try:
                user = services().sign_in(username, password)
            except WrongCredentials:
                log.warning("Sign-in refused", extra={"reason": "credentials"})
                errors["form"] = _("The username or the password is wrong.")
                status = 401
            except NewPasswordRequired as step:
                # an invited account: the person chooses their own password, on the next page
                session["new_password"] = {"username": username, "challenge": step.challenge,
                                           "next": request.args.get("next", "")}
                return redirect(url_for("auth.new_password"))
            except AccountNotUsable:
                log.warning("Sign-in refused", extra={"reason": "no_group_or_creditor"})
                errors["form"] = _("Your account has no access to the back office yet: ask an administrator.")
                status = 403
            else:
                return _open_session(user, request.args.get("next"))
        else:
            status = 400
    return render_template("sign_in.html", errors=errors, username=username,
                           next=request.args.get("next", "")), status


MIN_PASSWORD_CHARS = 12  # the user pool's policy (template.yaml); Cognito checks the rest


@bp.route("/sign-in/new-password", methods=["GET", "POST"])
def new_password():
    """An invited person's first sign-in: they choose their own password instead of the temporary one."""
    step = session.get("new_password")
    if not step or services().new_password is None:
        return redirect(url_for("auth.sign_in"))
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        chosen = request.form.get("new_password", "")[:MAX_FIELD_CHARS]
        again = request.form.get("confirm_password", "")[:MAX_FIELD_CHARS]
        if len(chosen) < MIN_PASSWORD_CHARS:
            errors["new_password"] = _("Choose a password of at least %(count)s characters.",
                                       count=MIN_PASSWORD_CHARS)
        elif chosen != again:
            errors["confirm_password"] = _("The two passwords differ.")
        if not errors:
            try:
                user = services().new_password(step["username"], step["challenge"], chosen)
            except PasswordRefused:
                errors["new_password"] = _("This password is not accepted: use upper and lower case letters "
                                           "and at least one digit.")
            except ChallengeExpired:
                session.pop("new_password", None)
                log.warning("Sign-in refused", extra={"reason": "new_password_step_expired"})
                return redirect(url_for("auth.sign_in", expired=1))
            except AccountNotUsable:
                session.pop("new_password", None)
                log.warning("Sign-in refused", extra={"reason": "no_group_or_creditor"})
                return render_template("sign_in.html", username="", next="", errors={
                    "form": _("Your account has no access to the back office yet: ask an administrator.")}), 403
            else:
                return _open_session(user, step.get("next"))
        status = 400
    return render_template("new_password.html", errors=errors, min_chars=MIN_PASSWORD_CHARS), status


def _open_session(user, next_target: str | None):
    """A new 8-hour session for the person who just signed in, then the page they asked for."""
    language = session.get("lang")
    session.clear()  # a new session for a new person: nothing from before sign-in survives
    if language:
        session["lang"] = language
    session.permanent = True
    session["user"] = {"username": user.username, "groups": list(user.groups),
                       "creditor_id": user.creditor_id, "at": datetime.now(UTC).isoformat()}
    log.info("Signed in", extra={"creditor_id": user.creditor_id, "groups": list(user.groups)})
    return redirect(_safe_next(next_target))


@bp.post("/sign-out")
def sign_out():
    """End the session and go back to the sign-in form."""
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
    return redirect(url_for("auth.sign_in", signed_out=1))
