"""The back office's French catalog covers every message it asks for, and the committed .mo is the compiled .po."""

from __future__ import annotations

import io
import re
from pathlib import Path

import relance_backoffice
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

BACKOFFICE = Path(relance_backoffice.__file__).parent
FR_MESSAGES = BACKOFFICE / "translations" / "fr" / "LC_MESSAGES"


def extracted_messages() -> dict[str, object]:
    """Every message the back office's code and templates ask for, by singular id."""
    with open(BACKOFFICE / "babel.cfg", encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config, str(BACKOFFICE / "babel.cfg"))
    return {_singular(message): message for _file, _line, message, _comments, _context
            in extract_from_dir(BACKOFFICE, method_map, options_map, keywords=DEFAULT_KEYWORDS)}


def french_catalog():
    with open(FR_MESSAGES / "messages.po", "rb") as po:
        return read_po(po, locale="fr")


def _singular(message_id) -> str:
    return message_id if isinstance(message_id, str) else message_id[0]


def _strings(message) -> tuple[str, ...]:
    return tuple(message.string) if not isinstance(message.string, str) else (message.string,)


def test_extraction_finds_the_back_office_messages_in_code_and_templates():
    messages = extracted_messages()

    assert "The username or the password is wrong." in messages
    assert "Send the counter-proposal" in messages


def test_every_back_office_message_is_translated_into_french():
    catalog = french_catalog()

    problems = []
    for key, message in extracted_messages().items():
        entry = catalog.get(key)
        if entry is None:
            problems.append(f"missing: {message!r}")
        elif entry.fuzzy or entry.id != message or not all(_strings(entry)):
            problems.append(f"fuzzy, untranslated or with other plural forms: {message!r}")
    assert problems == [], "run pybabel extract/update, then translate:\n" + "\n".join(problems)


def test_french_catalog_holds_no_message_the_back_office_no_longer_uses():
    used = set(extracted_messages())

    assert [m.id for m in french_catalog() if m.id and _singular(m.id) not in used] == []


def test_french_catalog_keeps_placeholders_french_plurals_and_french_typography():
    catalog = french_catalog()
    strings = [s for m in catalog if m.id for s in _strings(m)]

    assert not catalog.fuzzy
    assert catalog.plural_forms == "nplurals=2; plural=(n > 1);"
    assert [(m.id, errors) for m, errors in catalog.check()] == []
    assert [s for s in strings if re.search(r" [:;!?]", s)] == []
    assert [s for s in strings if "'" in s] == []


def test_committed_mo_file_is_the_compiled_po_file():
    compiled = io.BytesIO()
    write_mo(compiled, french_catalog(), use_fuzzy=False)
    compiled.seek(0)

    def translations(catalog) -> dict[str, tuple[str, ...]]:
        return {_singular(m.id): _strings(m) for m in catalog if m.id}

    with open(FR_MESSAGES / "messages.mo", "rb") as committed:
        assert translations(read_mo(committed)) == translations(read_mo(compiled))
