"""The reminder letter of a `letter` step: a printed reminder in French or English, read back with pypdf."""

import io
from datetime import date

import pytest
from pypdf import PdfReader
from relance.adapters.pdf_letters import render_reminder_letter
from relance.domain.invoices import Invoice
from relance.domain.letters import InvoiceOfAnotherDebtor, LetterTone, NothingOwed, build_reminder_letter
from relance.domain.money import Money
from relance.domain.parties import Creditor, Debtor, PartyKind

SPACES = str.maketrans({"\u202f": " ", "\u00a0": " "})
LETTER_ON = date(2025, 12, 1)
CREDITOR = Creditor("cred-1", "Atelier Dupont SARL", siren="552100554", address="12 rue de la Paix\n75002 Paris",
                    contact_email="compta@atelier-dupont.fr", contact_phone="+33 1 23 45 67 89")


def a_debtor(language="fr", kind=PartyKind.BUSINESS, name="Bâtiments Martin SAS") -> Debtor:
    return Debtor("cred-1", "debtor-1", name, kind=kind, company_id="732829320",
                  address="3 allée des Chênes, 69003 Lyon", language=language,
                  emails=("compta@batiments-martin.fr",))


def invoices() -> list[Invoice]:
    return [
        Invoice("cred-1", "debtor-1", "F-2025-031", date(2025, 9, 10), date(2025, 10, 10), Money(4_850_00, "EUR"),
                Money(850_00, "EUR")),
        Invoice("cred-1", "debtor-1", "F-2025-014", date(2025, 9, 1), date(2025, 10, 1), Money(12_000_00, "EUR"),
                Money(0, "EUR")),
        Invoice("cred-1", "debtor-1", "F-2025-040", date(2025, 9, 20), date(2025, 10, 20), Money(990_00, "EUR"),
                Money(990_00, "EUR")),  # settled since: not in the letter
        Invoice("cred-1", "debtor-1", "UK-77", date(2025, 9, 5), date(2025, 10, 5), Money(1_234_50, "GBP"),
                Money(0, "GBP")),
    ]


def a_letter(language="fr", template="reminder_firm", kind=PartyKind.BUSINESS, creditor=CREDITOR, **debtor):
    return build_reminder_letter(creditor, a_debtor(language, kind, **debtor), invoices(), LETTER_ON, template,
                                 language, "c1:debtor-1:2025-12-01")


def text_of(pdf: bytes) -> str:
    """Every page's text on one line, with Babel's narrow and plain no-break spaces read as spaces."""
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).translate(SPACES).split())


def test_the_letter_lists_what_is_still_owed_oldest_due_first_with_totals_per_currency():
    letter = a_letter()

    assert [line.number for line in letter.lines] == ["F-2025-014", "UK-77", "F-2025-031"]
    assert letter.lines[-1].amount_due == Money(4_000_00, "EUR")
    assert letter.totals == (Money(16_000_00, "EUR"), Money(1_234_50, "GBP"))


@pytest.mark.parametrize(("template", "tone"), [
    ("reminder_friendly", LetterTone.FRIENDLY), ("courtesy", LetterTone.FRIENDLY),
    ("reminder_firm", LetterTone.FIRM), ("letter_reminder", LetterTone.FIRM)])
def test_the_letter_takes_the_tone_of_the_steps_template(template, tone):
    assert a_letter(template=template).tone is tone


def test_a_letter_needs_an_invoice_still_owed():
    paid = [i for i in invoices() if i.is_settled()]

    with pytest.raises(NothingOwed):
        build_reminder_letter(CREDITOR, a_debtor(), paid, LETTER_ON, "reminder_firm", "fr", "ref")


def test_a_letter_never_lists_another_debtors_invoice():
    with pytest.raises(InvoiceOfAnotherDebtor):
        build_reminder_letter(CREDITOR, Debtor("cred-1", "debtor-2", "Autre SAS"), invoices(), LETTER_ON,
                              "reminder_firm", "fr", "ref")


def test_the_french_letter_names_the_parties_the_invoices_and_french_amounts_and_dates():
    pdf = render_reminder_letter(a_letter("fr"))

    text = text_of(pdf)
    assert pdf.startswith(b"%PDF") and b"/FontFile2" in pdf
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1
    for expected in ("Atelier Dupont SARL", "SIREN 552100554", "Bâtiments Martin SAS", "732829320", "69003 Lyon",
                     "Paris, le 1 décembre 2025", "c1:debtor-1:2025-12-01", "Objet : Relance de paiement",
                     "F-2025-014", "01/09/2025", "01/10/2025", "12 000,00 €", "4 000,00 €", "1 234,50 £",
                     "Total EUR 16 000,00 €", "Total GBP 1 234,50 £", "Malgré nos précédents rappels"):
        assert expected in text
    assert "F-2025-040" not in text


def test_the_english_letter_uses_english_wording_and_formats():
    text = text_of(render_reminder_letter(a_letter("en", template="reminder_friendly")))

    for expected in ("Subject: Payment reminder", "most probably an oversight", "F-2025-014", "€12,000.00",
                     "€4,000.00", "£1,234.50", "Total EUR €16,000.00", "1 December 2025", "Yours faithfully"):
        assert expected in text
    assert "Relance" not in text and "12 000,00" not in text


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_printed_letter_gives_the_creditors_contact_details_and_no_portal_link(language):
    text = text_of(render_reminder_letter(a_letter(language)))

    assert "compta@atelier-dupont.fr · +33 1 23 45 67 89" in text
    assert "http" not in text and "compta@batiments-martin.fr" not in text


def test_without_contact_details_the_letter_says_to_write_to_the_letterhead_address():
    bare = Creditor("cred-1", "Atelier Dupont SARL", address="12 rue de la Paix\n75002 Paris")

    text = text_of(render_reminder_letter(a_letter("fr", creditor=bare)))

    assert "écrivez-nous à l'adresse ci-dessus" in text


@pytest.mark.parametrize(("language", "words"), [
    ("fr", ("mise en demeure", "au plus tard", "délai", "procédure", "injonction")),
    ("en", ("formal notice", "at the latest", "within", "proceedings", "court"))])
def test_a_reminder_letter_is_not_a_formal_notice(language, words):
    text = text_of(render_reminder_letter(a_letter(language))).lower()

    for word in words:
        assert word not in text


def test_a_firm_letter_to_a_business_recalls_the_cost_of_late_payment_but_not_to_a_consumer():
    business = text_of(render_reminder_letter(a_letter("fr")))
    consumer = text_of(render_reminder_letter(a_letter("fr", kind=PartyKind.CONSUMER)))
    friendly = text_of(render_reminder_letter(a_letter("fr", template="reminder_friendly")))

    assert "indemnité forfaitaire pour frais de recouvrement" in business
    assert "indemnité" not in consumer and "pénalités" not in consumer
    assert "indemnité" not in friendly


def test_a_name_with_markup_characters_and_the_oe_ligature_prints_as_written():
    name = "Œuvres & Fils <Hôtel> « Crème »"

    assert name in text_of(render_reminder_letter(a_letter(name=name)))


def test_the_same_letter_always_gives_the_same_bytes_dated_on_the_letter_day():
    letter = a_letter()

    pdf = render_reminder_letter(letter)

    assert pdf == render_reminder_letter(letter)
    assert b"/CreationDate (D:20251201" in pdf
