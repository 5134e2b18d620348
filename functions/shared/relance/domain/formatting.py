"""Money and dates for a reader, per locale (Babel). Pure: the locale is passed in.

Babel is imported by the first amount or date formatted, not by every handler that imports a mail or letter
renderer (the dunning worker's cold start).
"""

from __future__ import annotations

from datetime import date
from functools import cache, lru_cache
from typing import TYPE_CHECKING

from relance.domain.money import Money

if TYPE_CHECKING:
    from babel import Locale

SUPPORTED_LANGUAGES = ("fr", "en")
_LOCALES = {"fr": "fr_FR", "en": "en_GB"}


def babel_locale(language: str) -> str:
    """The Babel locale used for a person who reads `language` (fr → fr_FR, en → en_GB)."""
    return _LOCALES.get(language, language if "_" in language else "fr_FR")


@cache
def _locale(language: str) -> Locale:
    """Babel's locale object, parsed once per language (a page formats dozens of amounts and dates)."""
    from babel import Locale

    return Locale.parse(babel_locale(language))


def format_money(amount: Money, language: str) -> str:
    """`12 345,67 €` in French, `€12,345.67` in English."""
    from babel.numbers import format_currency

    return format_currency(amount.to_decimal(), amount.currency, locale=_locale(language))


@lru_cache(maxsize=4096)
def format_day(day: date, language: str, style: str = "medium") -> str:
    """A date as the reader writes it: `23 nov. 2026` / `23 Nov 2026`.

    Kept per (day, language, style): a page shows a few distinct days many times (issue and due dates).
    """
    from babel.dates import format_date

    return format_date(day, format=style, locale=_locale(language))
