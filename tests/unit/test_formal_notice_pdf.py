"""The formal notice PDF: a real letter in French or English, read back with pypdf."""

import io
from datetime import date
from decimal import Decimal

import pytest
from pypdf import PdfReader
from relance.adapters.pdf_letters import render_formal_notice
from relance.adapters.rate_tables import load_rules
from relance.domain.invoices import Invoice
from relance.domain.letters import build_formal_notice
from relance.domain.money import Money
from relance.domain.parties import Creditor, Debtor, PartyKind

RATES, RULES = load_rules()
PROVISIONAL_RATES, _ = load_rules(provisional=True)
SPACES = str.maketrans({"\u202f": " ", "\u00a0": " "})


def money(text: str) -> Money:
    return Money.from_decimal(Decimal(text), "EUR")


def a_notice(
    language: str = "fr",
    debtor_name: str = "Bâtiments Martin SAS",
    kind: PartyKind = PartyKind.BUSINESS,
    letter_on: date = date(2025, 6, 15),
    due_on: date = date(2025, 3, 31),
    rates=RATES,
):
    creditor = Creditor("cred-1", "Atelier Dupont SARL", siren="552100554",
                        address="12 rue de la Paix\n75002 Paris", contact_email="compta@atelier-dupont.fr",
                        contact_phone="+33 1 23 45 67 89")
    debtor = Debtor("cred-1", "debtor-1", debtor_name, kind=kind, company_id="732829320",
                    address="3 allée des Chênes, 69003 Lyon", language=language)
    invoices = [
        Invoice("cred-1", "debtor-1", "F-2025-014", date(2025, 3, 1), due_on, money("12000.00"),
                money("0.00")),
        Invoice("cred-1", "debtor-1", "F-2025-031", date(2025, 2, 10), due_on, money("4850.00"),
                money("850.00")),
    ]
    return build_formal_notice(
        creditor, debtor, invoices, letter_on, 8, rates, RULES, language, "MED-2025-0007"
    )


def text_of(pdf: bytes) -> str:
    """Every page's text, with Babel's narrow and plain no-break spaces read as spaces."""
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages).translate(SPACES)


def test_the_letter_is_a_pdf_of_one_or_two_pages_with_its_fonts_embedded():
    pdf = render_formal_notice(a_notice())

    assert pdf.startswith(b"%PDF")
    assert 1 <= len(PdfReader(io.BytesIO(pdf)).pages) <= 2
    assert b"/FontFile2" in pdf


def test_the_french_letter_names_the_parties_the_invoices_and_the_deadline():
    text = text_of(render_formal_notice(a_notice("fr")))

    for expected in ("Atelier Dupont SARL", "SIREN 552100554", "Bâtiments Martin SAS", "732829320",
                     "69003 Lyon", "F-2025-014", "F-2025-031", "Mise en demeure de payer",
                     "23 juin 2025", "Paris, le 15 juin 2025", "MED-2025-0007"):
        assert expected in text


def test_the_french_letter_shows_french_amounts_and_dates():
    text = text_of(render_formal_notice(a_notice("fr")))

    for expected in ("12 000,00 €", "328,57 €", "40,00 €", "12 368,57 €", "16 518,09 €", "31/03/2025",
                     "13,15 %"):
        assert expected in text


def test_the_french_letter_states_the_legal_basis_and_the_consequences():
    text = " ".join(text_of(render_formal_notice(a_notice("fr"))).split())

    assert "articles L441-10 et D441-5 du Code de commerce" in text
    assert "injonction de payer" in text
    assert "ECB MRO rate 3.15% on 2025-01-01 + 10 points" in text  # the rate's source, for the record


def test_the_english_letter_uses_english_wording_and_formats():
    text = text_of(render_formal_notice(a_notice("en")))

    for expected in ("Formal notice to pay", "Bâtiments Martin SAS", "F-2025-014", "€12,000.00", "€328.57",
                     "€40.00", "€16,518.09", "23 June 2025", "13.15%"):
        assert expected in text
    assert "Mise en demeure" not in text
    assert "12 000,00" not in text


def test_a_name_with_markup_characters_accents_and_the_oe_ligature_prints_as_written():
    name = "Œuvres & Fils <Hôtel> « Crème »"

    text = text_of(render_formal_notice(a_notice(debtor_name=name)))

    assert name in text


@pytest.mark.parametrize(("language", "words"), [("fr", "Taux provisoire"), ("en", "Provisional rate")])
def test_a_letter_on_a_carried_forward_rate_says_the_rate_is_provisional(language, words):
    notice = a_notice(
        language, letter_on=date(2026, 9, 15), due_on=date(2026, 5, 31), rates=PROVISIONAL_RATES
    )

    text = text_of(render_formal_notice(notice))

    assert notice.provisional
    assert words in text


def test_a_letter_on_published_rates_does_not_mention_a_provisional_rate():
    text = text_of(render_formal_notice(a_notice("en"))).lower()

    assert "provisional" not in text


def test_a_consumer_letter_cites_the_civil_code_and_claims_no_indemnity():
    notice = a_notice("fr", kind=PartyKind.CONSUMER)

    text = " ".join(text_of(render_formal_notice(notice)).split())

    assert "articles 1231-6 et 1344 du Code civil" in text
    assert "à compter du 16 juin 2025" in text
    assert "Indemnité" not in text
    assert "40,00 €" not in text


def test_the_same_notice_always_gives_the_same_bytes_dated_on_the_letter_day():
    notice = a_notice()

    pdf = render_formal_notice(notice)

    assert pdf == render_formal_notice(notice)
    assert b"/CreationDate (D:20250615" in pdf
