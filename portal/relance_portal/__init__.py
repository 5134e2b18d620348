"""The debtor portal: a Flask app that shows a debtor their account through a personal link."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app, request, url_for
from flask_babel import Babel
from flask_wtf import CSRFProtect

from relance.domain.access import SESSION_LIFETIME
from relance_portal import account, assets, debtor, health, pay, plans
from relance_portal.account_services import AccountServices
from relance_portal.errors import correlation_id, log, register_error_pages
from relance_portal.i18n import (
    SUPPORTED_LANGUAGES,
    choose_locale,
    current_language,
    local_date_filter,
    money_filter,
    remember_asked_language,
)
from relance_portal.security import add_security_headers
from relance_portal.services import Services

__all__ = ["Services", "babel", "create_app", "csrf"]

csrf = CSRFProtect()
babel = Babel()


class Defaults:
    """Settings every deployment starts from; `RELANCE_*` environment variables and `config` override them."""

    SECRET_KEY: str | None = (
        None  # signs the session and CSRF tokens; must come from config or RELANCE_SECRET_KEY
    )
    # A personal link opens a session that ends 30 minutes after the debtor's last request.
    PERMANENT_SESSION_LIFETIME = SESSION_LIFETIME
    SESSION_COOKIE_SECURE = True  # set RELANCE_SESSION_COOKIE_SECURE=false only for local http
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    BABEL_DEFAULT_LOCALE = "fr"
    BABEL_DEFAULT_TIMEZONE = "Europe/Paris"
    # Flask-WTF's strict mode on https demands a Referer matching the host, but every page sends
    # `Referrer-Policy: no-referrer` so that no address of the portal leaks. The session-bound
    # token and SameSite=Lax still guard each form.
    WTF_CSRF_SSL_STRICT = False
    HSTS_MAX_AGE_SECONDS = 63_072_000  # two years
    STATIC_BASE_URL: str | None = (
        None  # e.g. the CloudFront address of the static bucket; None serves /static
    )
    MAX_CONTENT_LENGTH = 64 * 1024  # the portal's forms are tiny


class PortalFlask(Flask):
    """Flask, logging failures by correlation id rather than by path: a path can hold a debtor's token."""

    def log_exception(self, exc_info) -> None:  # type: ignore[override]
        log.error(
            "Unhandled error in the portal",
            exc_info=exc_info,
            extra={
                "correlation_id": correlation_id(),
                "endpoint": request.endpoint,
                "method": request.method,
            },
        )


def create_app(config: Mapping[str, Any] | None = None, services: Services | None = None) -> Flask:
    """Build the portal; tests pass their own config and in-memory services."""
    app = PortalFlask(__name__)
    app.config.from_object(Defaults)
    app.config.from_prefixed_env("RELANCE")
    app.config.update(config or {})
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError("SECRET_KEY is not set: pass it in config or set RELANCE_SECRET_KEY")
    app.extensions["relance"] = services or Services.from_settings(app.config)
    # The account pages' store, bucket and policies: ACCOUNT_SERVICES, else the deployed wiring's, built on
    # first use (none when the Services are in-memory or from a custom factory: pass ACCOUNT_SERVICES then).
    wired = services is None and not app.config.get("SERVICES_FACTORY")
    app.extensions["relance_account"] = app.config.get("ACCOUNT_SERVICES") or (
        AccountServices.from_settings if wired else None)

    csrf.init_app(app)
    babel.init_app(app, locale_selector=choose_locale)
    app.jinja_env.filters["money"] = money_filter
    app.jinja_env.filters["local_date"] = local_date_filter
    app.context_processor(_template_globals)

    app.before_request(remember_asked_language)
    app.before_request(_assign_correlation_id)
    app.register_blueprint(debtor.bp)  # /d/<token>, /d/new-link, /account and /account/...
    app.register_blueprint(account.bp)  # /account/invoices, statement, dispute, promise, history, documents
    app.register_blueprint(plans.bp)  # /account/plan (propose) and /account/plans (follow, answer, withdraw)
    pay.init_app(app)  # /account/pay…, and locally the stand-in checkout pages (standin.py)
    app.register_blueprint(health.bp)
    register_error_pages(app)
    app.after_request(add_security_headers)
    return app


def _assign_correlation_id() -> None:
    correlation_id()


def _template_globals() -> dict[str, Any]:
    return {
        "current_language": current_language(),
        "supported_languages": SUPPORTED_LANGUAGES,
        "asset_url": _asset_url,
    }


def _asset_url(filename: str) -> str:
    """Where the browser fetches a static file: its content-hashed name in the static bucket in
    production (`relance static publish` puts it there), Flask locally with the hash as `v`."""
    base = current_app.config.get("STATIC_BASE_URL")
    if base:
        return f"{base.rstrip('/')}/{assets.hashed_name(filename)}"
    return url_for("static", filename=filename, v=assets.content_hash(filename))
