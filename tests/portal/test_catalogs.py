"""The French catalog covers every portal message, and the committed .mo is the compiled .po."""

from __future__ import annotations

import io
import re
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

import relance_portal

PORTAL = Path(relance_portal.__file__).parent
FR_MESSAGES = PORTAL / "translations" / "fr" / "LC_MESSAGES"
KEYWORDS = {**DEFAULT_KEYWORDS, "lazy_gettext": None, "lazy_ngettext": (1, 2)}


def extracted_messages() -> dict[str, tuple[object, list[str]]]:
    """Every message the portal's code and templates ask for, by singular id, with where it is used."""
    with open(PORTAL / "babel.cfg", encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config, str(PORTAL / "babel.cfg"))
    found: dict[str, tuple[object, list[str]]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        PORTAL, method_map, options_map, keywords=KEYWORDS
    ):
        key = singular(message)
        found.setdefault(key, (message, []))[1].append(f"{filename}:{lineno}")
    return found


def french_catalog():
    with open(FR_MESSAGES / "messages.po", "rb") as po:
        return read_po(po, locale="fr")


def singular(message_id: str | tuple[str, ...] | list[str]) -> str:
    return message_id if isinstance(message_id, str) else message_id[0]


def translations_of(catalog) -> dict[str, tuple[str, ...]]:
    """Singular id → every translated form, comparable whether it was read from a .po or a .mo."""
    return {
        singular(message.id): tuple(message.string)
        if not isinstance(message.string, str)
        else (message.string,)
        for message in catalog
        if message.id
    }


def test_extraction_finds_the_portal_messages_in_code_and_templates():
    messages = extracted_messages()

    assert "This link is not valid" in messages
    assert "Code received by e-mail" in messages
    assert messages["Overdue by %(num)d day"][0] == ("Overdue by %(num)d day", "Overdue by %(num)d days")


def test_every_portal_message_is_translated_into_french():
    catalog = french_catalog()

    problems = []
    for key, (message, used_at) in extracted_messages().items():
        entry = catalog.get(key)
        if entry is None:
            problems.append(f"missing: {message!r} (used at {used_at[0]})")
        elif entry.fuzzy:
            problems.append(f"fuzzy: {message!r}")
        elif entry.id != message:
            problems.append(f"plural forms differ: catalog has {entry.id!r}, code asks for {message!r}")
        elif not all(entry.string) if isinstance(entry.string, tuple) else not entry.string:
            problems.append(f"untranslated: {message!r}")
    assert problems == [], "run pybabel extract/update, then translate:\n" + "\n".join(problems)


def test_french_catalog_holds_no_message_the_portal_no_longer_uses():
    used = set(extracted_messages())

    stale = [message.id for message in french_catalog() if message.id and singular(message.id) not in used]

    assert stale == []


def test_french_catalog_header_is_not_fuzzy_and_has_french_plurals():
    catalog = french_catalog()

    assert not catalog.fuzzy
    assert catalog.plural_forms == "nplurals=2; plural=(n > 1);"


def test_french_translations_keep_the_english_placeholders():
    catalog = french_catalog()

    errors = [(message.id, [str(error) for error in found]) for message, found in catalog.check()]

    assert errors == []


def test_french_translations_follow_french_typography():
    # A no-break space before : and a narrow one before ; ! ?, never a plain space; curly apostrophes.
    strings = []
    for message in french_catalog():
        if message.id:
            strings.extend(message.string if isinstance(message.string, tuple) else [message.string])

    assert [s for s in strings if re.search(r" [:;!?]", s)] == []
    assert [s for s in strings if "'" in s] == []


def test_committed_mo_file_is_the_compiled_po_file():
    compiled = io.BytesIO()
    write_mo(compiled, french_catalog(), use_fuzzy=False)
    compiled.seek(0)

    with open(FR_MESSAGES / "messages.mo", "rb") as committed:
        assert translations_of(read_mo(committed)) == translations_of(read_mo(compiled))
