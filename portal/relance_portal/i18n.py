"""Which language a page is shown in, and money and dates written for that language."""

from __future__ import annotations

from datetime import date

from flask import g, request, session
from flask_babel import get_locale

from relance.domain.formatting import format_day, format_money
from relance.domain.money import Money

SUPPORTED_LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"


def remember_asked_language() -> None:
    """Keep an explicit `?lang=` in the session, so the choice holds on the next pages."""
    asked = request.args.get("lang")
    if asked in SUPPORTED_LANGUAGES:
        session["lang"] = asked


def choose_locale() -> str:
    """The page language: `?lang=` (kept in the session), the debtor's, Accept-Language, then French."""
    asked = request.args.get("lang")
    if asked in SUPPORTED_LANGUAGES:
        return asked
    remembered = session.get("lang")
    if remembered in SUPPORTED_LANGUAGES:
        return remembered
    debtor_language = g.get("debtor_language")
    if debtor_language in SUPPORTED_LANGUAGES:
        return debtor_language
    return request.accept_languages.best_match(SUPPORTED_LANGUAGES) or DEFAULT_LANGUAGE


def current_language() -> str:
    """The language of the page being rendered: "fr" or "en"."""
    locale = get_locale()
    return locale.language if locale is not None else DEFAULT_LANGUAGE


def money_filter(amount: Money) -> str:
    """Jinja `|money`: `12 345,67 €` in French, `€12,345.67` in English."""
    return format_money(amount, current_language())


def local_date_filter(day: date, style: str = "medium") -> str:
    """Jinja `|local_date`: `3 nov. 2026` in French, `3 Nov 2026` in English."""
    return format_day(day, current_language(), style)
