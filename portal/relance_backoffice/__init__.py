"""The finance back office: a Flask app of its own (its own Lambda, rights and cookie), signed in through
Cognito.

It reuses the debtor portal's generic helpers (security headers, locale choice, money and date filters)
by import and holds none of the portal's routes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, render_template, request, url_for
from flask_babel import Babel
from flask_wtf import CSRFProtect
from flask_wtf.csrf import CSRFError
import relance_portal
from relance_portal.assets import HASH_LENGTH
from relance_portal.errors import correlation_id, log
from relance_portal.i18n import (
    SUPPORTED_LANGUAGES,
    choose_locale,
    current_language,
    local_date_filter,
    money_filter,
    remember_asked_language,
)
from relance_portal.security import add_security_headers
from werkzeug.exceptions import Forbidden, HTTPException, InternalServerError, NotFound

from relance_backoffice import (
    admin, auth, bank_payments, bounces, calls, dashboard, debtors, disputes, evidence, exports, plans,
)
from relance_backoffice.services import BackOfficeServices

__all__ = ["BackOfficeServices", "create_app"]

csrf = CSRFProtect()
babel = Babel()
STATIC = Path(__file__).resolve().parent / "static"
PORTAL_STATIC = Path(relance_portal.__file__).resolve().parent / "static"  # the shared look: one stylesheet
# The portal's stylesheet is served from its own package, then the back office's few extra rules.
_SHARED = Blueprint("portal_static", "relance_portal", static_folder=str(PORTAL_STATIC),
                    static_url_path="/static/portal")


class Defaults:
    """Settings every deployment starts from; `RELANCE_*` environment variables and `config` override them."""

    SECRET_KEY: str | None = None  # signs the session and CSRF tokens; from config or RELANCE_SECRET_KEY
    SESSION_COOKIE_NAME = "relance_backoffice"
    PERMANENT_SESSION_LIFETIME = auth.SESSION_HOURS
    SESSION_REFRESH_EACH_REQUEST = False  # 8 hours from sign-in, not from the last click
    SESSION_COOKIE_SECURE = True  # RELANCE_SESSION_COOKIE_SECURE=false only for local http
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Strict"  # nobody arrives in the back office from another site's link
    BABEL_DEFAULT_LOCALE = "fr"
    BABEL_DEFAULT_TIMEZONE = "Europe/Paris"
    WTF_CSRF_SSL_STRICT = False  # no Referer is sent (Referrer-Policy: no-referrer); the token still guards
    WTF_CSRF_TIME_LIMIT = int(timedelta(hours=8).total_seconds())
    HSTS_MAX_AGE_SECONDS = 63_072_000
    STATIC_BASE_URL: str | None = None
    MAX_CONTENT_LENGTH = 64 * 1024
    COGNITO_USER_POOL_ID: str | None = None
    COGNITO_CLIENT_ID: str | None = None


class BackOfficeFlask(Flask):
    """Flask, logging failures by correlation id rather than with the request's data."""

    def log_exception(self, exc_info) -> None:  # type: ignore[override]
        log.error("Unhandled error in the back office", exc_info=exc_info,
                  extra={"correlation_id": correlation_id(), "endpoint": request.endpoint,
                         "method": request.method})


def create_app(config: Mapping[str, Any] | None = None, services: BackOfficeServices | None = None) -> Flask:
    """Build the back office; tests pass their own config and services."""
    app = BackOfficeFlask(__name__)
    app.config.from_object(Defaults)
    app.config.from_prefixed_env("RELANCE")
    app.config.update(config or {})
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError("SECRET_KEY is not set: pass it in config or set RELANCE_SECRET_KEY")
    app.extensions["relance_backoffice"] = services or BackOfficeServices.from_settings(app.config)

    csrf.init_app(app)
    babel.init_app(app, locale_selector=choose_locale)
    app.jinja_env.filters["money"] = money_filter
    app.jinja_env.filters["local_date"] = local_date_filter
    app.context_processor(_template_globals)
    app.before_request(remember_asked_language)
    app.before_request(_assign_correlation_id)
    app.register_blueprint(_SHARED)  # /static/portal/portal.css
    app.register_blueprint(auth.bp)  # /sign-in, /sign-out
    app.register_blueprint(dashboard.bp)  # /dashboard, the landing page after sign-in
    app.register_blueprint(plans.bp)  # /plans and /plans/<creditor>/<debtor>/<plan>[/approve|reject|counter]
    app.register_blueprint(disputes.bp)  # /disputes and /disputes/<debtor>/<number>/[attachment|accept|reject]
    app.register_blueprint(calls.bp)  # /calls and /calls/<task>/outcome
    app.register_blueprint(debtors.bp)  # /debtors?q= and /debtors/<debtor>[/pause|resume|revoke-links|payments|...]
    app.register_blueprint(bounces.bp)  # /bounces
    app.register_blueprint(bank_payments.bp)  # /payments/unmatched and /payments/unmatched/<entry>/assign|dismiss
    app.register_blueprint(exports.bp)  # /exports/collections.csv
    app.register_blueprint(evidence.bp)  # /debtors/<debtor>/evidence.zip
    app.register_blueprint(admin.bp)  # /admin/users[/<user>/group|disable] and /admin/policy (admin group only)
    app.add_url_rule("/", "home", auth.home)
    _register_error_pages(app)
    app.after_request(add_security_headers)
    return app


def _assign_correlation_id() -> None:
    correlation_id()  # returning it would make it the response


def _template_globals() -> dict[str, Any]:
    return {"current_language": current_language(), "supported_languages": SUPPORTED_LANGUAGES,
            "asset_url": _asset_url, "user": auth.current_user()}


def _asset_url(filename: str) -> str:
    """Flask serves the back office's few static files itself; the content hash as `v` busts caches.

    `portal.css` is the debtor portal's stylesheet, shared: the back office's own file only adds to it.
    """
    if filename == "portal.css":
        return url_for("portal_static.static", filename=filename, v=_content_hash(PORTAL_STATIC / filename))
    return url_for("static", filename=filename, v=_content_hash(STATIC / filename))


@cache
def _content_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:HASH_LENGTH]


def _register_error_pages(app: Flask) -> None:
    app.register_error_handler(CSRFError, _form_not_checked)
    app.register_error_handler(Forbidden, lambda _e: (render_template("errors/forbidden.html"), 403))
    app.register_error_handler(NotFound, lambda _e: (render_template("errors/not_found.html"), 404))
    app.register_error_handler(InternalServerError, _server_error)
    app.register_error_handler(HTTPException, _other_http_error)


def _form_not_checked(_error: CSRFError):
    log.warning("Form rejected", extra={"reason": "csrf", "endpoint": request.endpoint})
    return render_template("errors/form_not_checked.html"), 400


def _server_error(_error: InternalServerError):
    return render_template("errors/server_error.html", reference=correlation_id()), 500


def _other_http_error(error: HTTPException):
    if (error.code or 500) >= 500:
        return _server_error(InternalServerError())
    return render_template("errors/not_found.html"), error.code
