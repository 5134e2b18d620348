"""Reading single cells of an accounting export: amounts, dates, SIREN, e-mail, phone, currency.

Each function takes the stripped text of one cell and returns a domain value, or raises
InvalidField whose `defect` is the code shown to the user (e.g. "decimal_comma").
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal

from relance.domain.errors import InvalidAmount, InvalidField
from relance.domain.money import MINOR_DIGITS, Money

DECIMAL_COMMA = "comma"  # 1 234,56 (France, most of continental Europe)
DECIMAL_DOT = "dot"  # 1234.56 or 1,234.56

DATE_ISO = "yyyy-mm-dd"
DATE_DMY = "dd/mm/yyyy"
DATE_MDY = "mm/dd/yyyy"  # only chosen when the data proves it (a second part above 12)

MIN_YEAR = 1900
MAX_YEAR = 2199

SHOWN_CHARS = 40

# Thousands separators: a space, a no-break space (Excel, LibreOffice) or a narrow no-break space
# (Windows 10+ French locale); a dot in comma files (German-style exports); a comma or an apostrophe
# in dot files (English, Swiss). The separator must be the same all along one number.
_COMMA_AMOUNT = re.compile(r"(\d{1,3}(?:([ \u00a0\u202f.])\d{3})(?:\2\d{3})*|\d+)(?:,(\d+))?")
_DOT_AMOUNT = re.compile(r"(\d{1,3}(?:([ \u00a0\u202f,'\u2019])\d{3})(?:\2\d{3})*|\d+)(?:\.(\d+))?")
_MINUS_SIGNS = ("-", "\u2212", "\u2013")
_CURRENCY_SYMBOLS = {"€": "EUR", "£": "GBP"}

_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00(?:\.0+)?)?)?")
_NUMERIC_DATE = re.compile(r"(\d{1,2})([/.\-])(\d{1,2})\2(\d{4})")

_SIREN_SEPARATORS = str.maketrans("", "", " \u00a0\u202f.-")
_LUHN_DOUBLED = str.maketrans("0123456789", "0246813579")  # a digit times two, digits summed

# Pragmatic, not RFC 5322: one address, a dotted domain, nothing a mail server would refuse outright.
_PLAIN_EMAIL = re.compile(  # the common case, checked first; a strict subset of _EMAIL
    r"[A-Za-z0-9._%+'-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
_EMAIL = re.compile(r"[^\s@\"(),:;<>\[\]\\]{1,64}@(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,63}")
_PHONE = re.compile(r"(?=(?:\D*\d){6})\+?[0-9 ().\-/\u00a0]{6,40}")  # at least 6 digits

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_UNSAFE_TEXT = re.compile(r"[=+\-@\t\r\uff1d\uff0b\uff0d\uff20]|.*?[\x00-\x1f\x7f-\x9f]", re.DOTALL)
_UNDECODABLE = re.compile(r"[\udc80-\udcff]")

_LANGUAGES = {
    "fr": "fr", "francais": "fr", "french": "fr",
    "en": "en", "anglais": "en", "english": "en",
}


def shown(value: str) -> str:
    """`value` quoted for a message: at most 40 characters, undecodable bytes written as \\xE9."""
    text = value if len(value) <= SHOWN_CHARS else value[:SHOWN_CHARS] + "…"
    text = _UNDECODABLE.sub(lambda m: f"\\x{ord(m.group()) - 0xDC00:02X}", text)
    return "'" + text + "'"


def fold(text: str) -> str:
    """Lower case without accents or punctuation, for comparing headers: "N° Facture " -> "n facture"."""
    decomposed = unicodedata.normalize("NFKD", text.replace("\ufeff", ""))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return " ".join("".join(ch if ch.isalnum() else " " for ch in bare).split())


def has_undecodable_bytes(text: str) -> bool:
    """True when decoding left raw bytes in `text` (they come back as lone surrogates)."""
    return _UNDECODABLE.search(text) is not None


def check_text(value: str, max_length: int, *, may_start_with_sign: bool = False) -> str:
    """`value`, unless it is too long, would run as a spreadsheet formula, or holds control characters.

    `may_start_with_sign` lets a phone number start with + (its own pattern is checked afterwards).
    """
    if len(value) <= max_length and _UNSAFE_TEXT.match(value) is None:
        return value  # the common case, in one pattern
    if len(value) > max_length:
        raise InvalidField(
            "field_too_long",
            f"{len(value):,} characters ({shown(value)}); at most {max_length} are accepted",
            length=len(value), maximum=max_length,
        )
    if value.startswith(_FORMULA_STARTS) and not (may_start_with_sign and value[0] in "+-"):
        raise InvalidField(
            "formula_injection",
            f"{shown(value)} starts with {value[0]!r}, which a spreadsheet would run as a formula; "
            "remove the leading = + - @ or tab",
            value=value[:SHOWN_CHARS],
        )
    if _CONTROL.search(value):
        raise InvalidField(
            "control_character",
            f"{shown(value)} contains a control character (line break, tab or similar); "
            "plain text is expected",
            value=value[:SHOWN_CHARS],
        )
    return value


def parse_amount(text: str, decimal_style: str, currency: str) -> Money:
    """The amount in `text`, exactly, in `currency`; negative when written with a minus or in brackets."""
    match = (_COMMA_AMOUNT if decimal_style == DECIMAL_COMMA else _DOT_AMOUNT).fullmatch(text)
    if match is not None:  # the common case: digits, separators, no sign
        return _money(match, text, currency)
    value = text.strip()
    negative = False
    if value.startswith("(") and value.endswith(")"):
        value, negative = value[1:-1].strip(), True
    if value.startswith(_MINUS_SIGNS):
        value, negative = value[1:].lstrip(), True
    elif value.endswith(_MINUS_SIGNS):
        value, negative = value[:-1].rstrip(), True
    for symbol, code in _CURRENCY_SYMBOLS.items():
        if value.startswith(symbol) or value.endswith(symbol):
            if code != currency:
                raise InvalidField(
                    "non_numeric_amount",
                    f"amount {shown(text)} is written in {symbol} but the currency of the row is {currency}",
                    value=text[:SHOWN_CHARS],
                )
            value = value.strip(symbol).strip()
    money = _money(_magnitude(value, text, decimal_style), text, currency)
    return -money if negative else money


def _money(match: re.Match[str], text: str, currency: str) -> Money:
    units, separator, decimals = match.groups()
    if separator:
        units = units.replace(separator, "")
    try:
        return Money.from_decimal(Decimal(f"{units}.{decimals}" if decimals else units), currency)
    except InvalidAmount:
        raise InvalidField(
            "too_many_decimals",
            f"amount {shown(text)} has more than {MINOR_DIGITS[currency]} decimals, "
            f"the most {currency} allows",
            value=text[:SHOWN_CHARS], digits=MINOR_DIGITS[currency],
        ) from None


def _magnitude(value: str, text: str, decimal_style: str) -> re.Match[str]:
    own, other = _COMMA_AMOUNT, _DOT_AMOUNT
    if decimal_style != DECIMAL_COMMA:
        own, other = other, own
    match = own.fullmatch(value)
    if match is None:
        foreign = other.fullmatch(value)
        if foreign is not None and foreign.group(3) is not None:
            if decimal_style == DECIMAL_COMMA:
                raise InvalidField(
                    "decimal_point",
                    f"amount {shown(text)} uses a decimal point but this file writes decimals with a comma "
                    "(1 234,56)",
                    value=text[:SHOWN_CHARS],
                )
            raise InvalidField(
                "decimal_comma",
                f"amount {shown(text)} uses a decimal comma but this file writes decimals with a point "
                "(1234.56)",
                value=text[:SHOWN_CHARS],
            )
        example = "1 234,56" if decimal_style == DECIMAL_COMMA else "1234.56"
        raise InvalidField(
            "non_numeric_amount",
            f"amount {shown(text)} is not a number; expected digits such as {example}",
            value=text[:SHOWN_CHARS],
        )
    return match


def parse_date(text: str, date_style: str) -> date:
    """The calendar date in `text`; ISO dates are always read, dd/mm/yyyy only in files written that way."""
    if len(text) == 10 and text[4] == "-" and text[7] == "-" and text[:4].isdigit():
        try:  # the common case; fromisoformat would also take week dates, hence the shape test
            day = date.fromisoformat(text)
        except ValueError:
            pass
        else:
            if MIN_YEAR <= day.year <= MAX_YEAR:
                return day
    iso = _ISO_DATE.fullmatch(text)
    if iso is not None:
        return _calendar_date(text, int(iso.group(1)), int(iso.group(2)), int(iso.group(3)), date_style)
    numeric = _NUMERIC_DATE.fullmatch(text)
    if numeric is not None:
        if date_style == DATE_ISO:
            raise InvalidField(
                "date_not_iso",
                f"date {shown(text)} is not written yyyy-mm-dd like the other dates of this file; "
                "day and month could be swapped",
                value=text[:SHOWN_CHARS], expected=DATE_ISO,
            )
        first, second, year = int(numeric.group(1)), int(numeric.group(3)), int(numeric.group(4))
        day, month = (second, first) if date_style == DATE_MDY else (first, second)
        return _calendar_date(text, year, month, day, date_style)
    raise InvalidField(
        "unparseable_date",
        f"{shown(text)} is not a date; expected {date_style} like the other dates of this file",
        value=text[:SHOWN_CHARS], expected=date_style,
    )


def _calendar_date(text: str, year: int, month: int, day: int, date_style: str) -> date:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidField(
            "unparseable_date",
            f"date {shown(text)} has the year {year}; years {MIN_YEAR} to {MAX_YEAR} are accepted",
            value=text[:SHOWN_CHARS], expected=date_style,
        )
    try:
        return date(year, month, day)
    except ValueError:
        raise InvalidField(
            "unparseable_date",
            f"{shown(text)} is not a real calendar date (read as {date_style})",
            value=text[:SHOWN_CHARS], expected=date_style,
        ) from None


def parse_siren(text: str) -> str:
    """The 9-digit SIREN in `text` ("000 123 456", or the first 9 digits of a 14-digit SIRET)."""
    digits = text.translate(_SIREN_SEPARATORS)
    if not (digits.isascii() and digits.isdigit()) or len(digits) not in (9, 14):
        raise InvalidField(
            "invalid_siren",
            f"SIREN {shown(text)} is not 9 digits; expected a SIREN such as 000 123 456 or a 14-digit SIRET",
            value=text[:SHOWN_CHARS],
        )
    siren = digits[:9]
    if not luhn_valid(siren):
        raise InvalidField(
            "invalid_siren",
            f"SIREN {shown(text)} fails the Luhn check digit; a digit is probably mistyped",
            value=text[:SHOWN_CHARS],
        )
    return siren


def luhn_valid(digits: str) -> bool:
    """True when the last digit of `digits` is its Luhn check digit (the SIREN and SIRET key)."""
    kept, doubled = digits[-1::-2], digits[-2::-2].translate(_LUHN_DOUBLED)
    return sum(map(int, kept + doubled)) % 10 == 0


def parse_email(text: str) -> str:
    """One e-mail address, its domain in lower case."""
    if _PLAIN_EMAIL.fullmatch(text) is None and _EMAIL.fullmatch(text) is None or len(text) > 254:
        why = "several addresses in one cell" if text.count("@") > 1 else "not an e-mail address"
        raise InvalidField(
            "invalid_email",
            f"{shown(text)} is {why}; expected one address such as compta@example.fr",
            value=text[:SHOWN_CHARS],
        )
    local, domain = text.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def parse_phone(text: str) -> str:
    """A phone number as written (digits, spaces, dots, dashes, brackets and a leading +)."""
    if _PHONE.fullmatch(text) is None:
        raise InvalidField(
            "invalid_phone",
            f"{shown(text)} is not a phone number; "
            "expected digits such as 01 99 00 12 34 or +33 1 99 00 12 34",
            value=text[:SHOWN_CHARS],
        )
    return text


def parse_currency(text: str) -> str:
    """The ISO 4217 code of a currency Relance handles ("eur" and "€" give "EUR")."""
    code = _CURRENCY_SYMBOLS.get(text, text.upper())
    if code not in MINOR_DIGITS:
        raise InvalidField(
            "unknown_currency",
            f"currency {shown(text)} is not one Relance handles; expected an ISO 4217 code among "
            f"{', '.join(sorted(MINOR_DIGITS))}",
            value=text[:SHOWN_CHARS],
        )
    return code


def parse_language(text: str) -> str:
    """"fr" or "en", from a code ("fr-FR", "EN") or a name ("Français", "English")."""
    key = fold(text).replace(" ", "_").split("_")[0]
    language = _LANGUAGES.get(key)
    if language is None:
        raise InvalidField(
            "unsupported_language",
            f"language {shown(text)} is not one Relance writes in; expected fr or en",
            value=text[:SHOWN_CHARS],
        )
    return language
