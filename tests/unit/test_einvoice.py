"""Reading Factur-X / ZUGFeRD PDFs, CII and UBL XML into invoice rows (issue #9)."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relance.domain.einvoice import (
    CreditNote,
    EInvoice,
    Rejected,
    SellerIds,
    creditor_seller_ids,
    french_vat_id,
    parse_xml_amount,
    read_pdf_invoice,
    read_xml_invoice,
    terms_rule,
)
from relance.domain.errors import InvalidField
from relance.domain.money import Money
from tests.conftest import FIXTURES

FACTURX = FIXTURES / "facturx"
UBL = Path(__file__).resolve().parents[1] / "fixtures" / "einvoice" / "ubl_invoice_fr.xml"
MANIFEST = list(csv.DictReader((FACTURX / "MANIFEST.csv").open(encoding="utf-8")))
INVOICES = [row for row in MANIFEST if row["type_code"] == "380"]

# Who issued each sample, as the XML names them (SIREN from the SIRET, or the VAT id).
SELLERS = {
    "Au bon moulin": creditor_seller_ids("999999998"),
    "Lieferant GmbH": creditor_seller_ids(None, "DE123456789"),
    "Bei Spiel GmbH": creditor_seller_ids(None, "DE136695976"),
    "Rohstoff AG Salzgitter": creditor_seller_ids(None, "DE123456789"),
}
ACME = creditor_seller_ids("000000018")  # the UBL fixture's seller


def minor(text: str) -> int:
    """The manifest's decimal string in cents, independently of the code under test."""
    return int(Decimal(text) * 100)


def read_pdf(name: str, seller: SellerIds | None = None):
    return read_pdf_invoice((FACTURX / name).read_bytes(), seller)


def xml_of(name: str) -> bytes:
    return (FACTURX / "xml" / name).with_suffix(".xml").read_bytes()


def codes(result: Rejected) -> list[str]:
    return [p.code for p in result.problems]


# --- the real samples, against the manifest ------------------------------------------------------------


@pytest.mark.parametrize("sample", INVOICES, ids=[row["file"] for row in INVOICES])
def test_every_sample_invoice_reads_as_the_manifest_says(sample):
    result = read_pdf(sample["file"], SELLERS[sample["seller_name"]])

    assert isinstance(result, EInvoice), result
    row = result.row
    assert row.invoice_number == sample["invoice_number"]
    assert result.seller_name == sample["seller_name"]
    assert row.debtor_name == sample["buyer_name"]
    assert row.issued_on == date.fromisoformat(sample["issue_date"])
    assert row.total == Money(minor(sample["grand_total"]), sample["currency"])
    assert row.total - row.paid == Money(minor(sample["due_payable"]), sample["currency"])
    assert result.profile == sample["profile"]
    if sample["due_date"]:
        assert (row.due_on, result.due_from) == (date.fromisoformat(sample["due_date"]), "document")


@pytest.mark.parametrize("sample", INVOICES, ids=[row["file"] for row in INVOICES])
def test_the_extracted_xml_reads_exactly_like_its_pdf(sample):
    seller = SELLERS[sample["seller_name"]]

    from_xml = read_xml_invoice(xml_of(sample["file"]), seller)

    assert from_xml == read_pdf(sample["file"], seller)


def test_minimum_profile_without_due_date_takes_the_legal_30_day_term():
    result = read_pdf("Facture_FR_MINIMUM.pdf", SELLERS["Au bon moulin"])

    assert result.row.due_on == date(2017, 11, 13) + timedelta(days=30)
    assert result.due_from == "default"


def test_partly_prepaid_basic_wl_invoice_keeps_what_was_paid():
    result = read_pdf("Facture_FR_BASICWL.pdf", SELLERS["Au bon moulin"])

    assert result.row.paid == Money(201_00, "EUR")
    assert result.row.company_id == "787878784"  # the SIREN of the buyer's SIRET 78787878400035
    assert result.debtor_address == "35 rue de la République, 69001 Lyon"
    assert result.row.language == "fr"


def test_extended_gbp_invoice_is_due_on_its_net_date_not_the_discount_date():
    result = read_pdf("zugferd_2p0_EXTENDED_Fremdwaehrung.pdf", SELLERS["Rohstoff AG Salzgitter"])

    assert result.row.total == Money(1021_91, "GBP")
    assert result.row.paid == Money(500_00, "GBP")
    assert result.row.due_on == date(2018, 11, 20)  # the 2 % Skonto term ends 2018-11-14
    assert result.row.company_id is None
    assert result.row.language == "en"


def test_credit_note_carries_what_applying_it_needs_and_the_invoice_it_corrects():
    result = read_pdf("Avoir_FR_type381_BASIC.pdf", SELLERS["Au bon moulin"])

    assert isinstance(result, CreditNote)
    assert (result.number, result.type_code) == ("AV-2017-0005", "381")
    assert result.referenced_invoices == ("FA-2017-0010",)
    assert result.amount == Money(233_47, "EUR")
    assert (result.debtor_name, result.company_id) == ("Ma jolie boutique", "787878784")
    assert result.issued_on == date(2017, 11, 16)
    assert "FA-2017-0010" in result.reason and "not a debt" in result.reason


def test_credit_note_of_another_seller_is_refused():
    result = read_pdf("Avoir_FR_type381_BASIC.pdf", ACME)

    assert isinstance(result, Rejected)
    assert codes(result) == ["seller_mismatch"]


def test_credit_note_without_a_total_is_refused():
    xml = xml_of("Avoir_FR_type381_BASIC.pdf").replace(b">233.47</ram:GrandTotalAmount>",
                                                       b">-233.47</ram:GrandTotalAmount>")

    result = read_xml_invoice(xml, SELLERS["Au bon moulin"])

    assert isinstance(result, Rejected)
    assert codes(result) == ["not_positive_credit"]


def test_truncated_pdf_is_reported_as_unreadable():
    result = read_pdf("invalid_truncated_Facture_FR_MINIMUM.pdf", ACME)

    assert isinstance(result, Rejected)
    assert codes(result) == ["unreadable_pdf"]
    assert "PdfStreamError" in result.problems[0].message  # the manifest's expected_error


def test_pdf_without_embedded_xml_says_so():
    result = read_pdf("invalid_no_embedded_xml.pdf", ACME)

    assert codes(result) == ["no_invoice_xml"]
    assert "no Factur-X / ZUGFeRD invoice XML" in result.problems[0].message


# --- UBL 2.1 -----------------------------------------------------------------------------------------


def test_ubl_invoice_reads_buyer_contact_address_and_amounts():
    result = read_xml_invoice(UBL.read_bytes(), ACME)

    assert isinstance(result, EInvoice), result
    row = result.row
    assert (result.syntax, row.invoice_number) == ("UBL", "UBL-2025-0042")
    assert (row.debtor_name, row.company_id) == ("Boulangerie Fictive SARL", "000000059")
    assert row.email == "compta@boulangerie-fictive.example.fr"
    assert (row.issued_on, row.due_on) == (date(2025, 10, 15), date(2025, 11, 14))
    assert (row.total, row.paid) == (Money(1500_00, "EUR"), Money(300_00, "EUR"))
    assert result.debtor_address == "8 place du Fournil, Bâtiment B, 69002 Lyon"


def test_ubl_invoice_without_due_date_takes_its_stated_terms():
    xml = UBL.read_bytes().replace(b"<cbc:DueDate>2025-11-14</cbc:DueDate>", b"").replace(
        b"Paiement \xc3\xa0 30 jours date de facture", b"Paiement \xc3\xa0 45 jours fin de mois")

    result = read_xml_invoice(xml, ACME)

    assert result.row.due_on == date(2025, 11, 30)  # 15 Oct + 45 days = 29 Nov, then the end of that month
    assert result.due_from == "terms"


# --- the seller must be the creditor -----------------------------------------------------------------


def test_invoice_of_another_seller_is_refused_naming_both():
    result = read_pdf("Facture_FR_BASICWL.pdf", ACME)

    assert codes(result) == ["seller_mismatch"]
    message = result.problems[0].message
    assert "SIREN 999999998" in message and "SIREN 000000018" in message
    assert "Au bon moulin" in message


def test_seller_matches_by_vat_id_derived_from_the_creditor_siren():
    seller = SellerIds(siren=None, vat_ids=frozenset({french_vat_id("999999998")}))

    result = read_pdf("Facture_FR_BASICWL.pdf", seller)

    assert french_vat_id("999999998") == "FR11999999998"  # as printed on the sample
    assert isinstance(result, EInvoice)


def test_german_seller_is_refused_for_a_french_creditor():
    result = read_pdf("EN16931_Einfach_DueDate.pdf", creditor_seller_ids("999999998"))

    assert codes(result) == ["seller_mismatch"]
    assert "DE123456789" in result.problems[0].message


def test_creditor_without_any_id_cannot_import_e_invoices():
    result = read_pdf("Facture_FR_BASICWL.pdf", SellerIds())

    assert codes(result) == ["creditor_without_ids"]


# --- schema and field checks -------------------------------------------------------------------------


def test_xml_breaking_its_profile_schema_names_the_profile():
    xml = xml_of("Facture_FR_BASICWL.pdf").replace(b"<ram:TypeCode>380</ram:TypeCode>", b"", 1)

    result = read_xml_invoice(xml, SELLERS["Au bon moulin"])

    assert codes(result) == ["schema_invalid"]
    assert "Factur-X BASIC WL schema" in result.problems[0].message
    assert "TypeCode" in result.problems[0].message


def test_extended_xml_with_an_unknown_element_fails_the_extended_schema():
    xml = xml_of("zugferd_2p0_EXTENDED_Fremdwaehrung.pdf").replace(
        b"<ram:GrandTotalAmount>", b"<ram:Surprise>1</ram:Surprise><ram:GrandTotalAmount>", 1)

    result = read_xml_invoice(xml, SELLERS["Rohstoff AG Salzgitter"])

    assert codes(result) == ["schema_invalid"]
    assert "EXTENDED" in result.problems[0].message


def test_ubl_breaking_the_ubl_schema_is_refused():
    xml = UBL.read_bytes().replace(b"<cbc:IssueDate>2025-10-15</cbc:IssueDate>", b"")

    result = read_xml_invoice(xml, ACME)

    assert codes(result) == ["schema_invalid"]
    assert "UBL 2.1 Invoice schema" in result.problems[0].message


def test_every_field_problem_of_a_schema_valid_file_is_reported_at_once():
    xml = (xml_of("Facture_FR_BASICWL.pdf")
           .replace(b">20171113<", b">20171313<", 1)
           .replace(b">671.15<", b">671.155<", 1))

    result = read_xml_invoice(xml, SELLERS["Au bon moulin"])

    assert isinstance(result, Rejected)
    assert {(p.field, p.code) for p in result.problems} == {
        ("invoice_date", "unparseable_date"), ("amount_total", "too_many_decimals")}
    assert result.invoice_number == "FA-2017-0010"


def test_empty_mandatory_fields_are_named():
    xml = (xml_of("Facture_FR_BASICWL.pdf")
           .replace(b"<ram:Name>Ma jolie boutique</ram:Name>", b"<ram:Name> </ram:Name>")
           .replace(b"<ram:ID>FA-2017-0010</ram:ID>", b"<ram:ID></ram:ID>"))

    result = read_xml_invoice(xml, SELLERS["Au bon moulin"])

    assert {(p.field, p.code) for p in result.problems} == {
        ("debtor_name", "empty_debtor"), ("invoice_number", "missing_invoice_number")}


def test_total_in_another_currency_than_the_invoice_is_refused():
    xml = xml_of("Facture_FR_MINIMUM.pdf").replace(b'<ram:GrandTotalAmount currencyID="EUR">',
                                                   b'<ram:GrandTotalAmount currencyID="GBP">')

    result = read_xml_invoice(xml, SELLERS["Au bon moulin"])

    assert [(p.field, p.code) for p in result.problems] == [("amount_total", "currency_mismatch")]


def test_amount_due_above_the_total_is_refused():
    xml = xml_of("Facture_FR_MINIMUM.pdf").replace(b">470.15<", b">700.00<")

    result = read_xml_invoice(xml, SELLERS["Au bon moulin"])

    assert codes(result) == ["due_exceeds_total"]


def test_xml_that_is_not_an_invoice_is_refused():
    result = read_xml_invoice(b"<?xml version='1.0'?><order><id>1</id></order>", ACME)

    assert codes(result) == ["not_an_invoice"]


def test_broken_xml_is_refused_as_unreadable():
    result = read_xml_invoice(b"<rsm:CrossIndustryInvoice", ACME)

    assert codes(result) == ["unreadable_xml"]


def test_external_entities_are_never_resolved():
    doctype = b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n'
    xml = xml_of("Facture_FR_MINIMUM.pdf").replace(
        b"<rsm:CrossIndustryInvoice", doctype + b"<rsm:CrossIndustryInvoice", 1
    ).replace(b"<ram:Name>Ma jolie boutique</ram:Name>", b"<ram:Name>&e;</ram:Name>")

    result = read_xml_invoice(xml, SELLERS["Au bon moulin"])

    assert "root:" not in repr(result)


# --- amounts and terms -------------------------------------------------------------------------------


@given(cents=st.integers(min_value=-10**12, max_value=10**12), zeros=st.integers(min_value=0, max_value=3))
def test_xml_amount_with_two_decimals_or_trailing_zeros_is_exact(cents, zeros):
    text = str(Decimal(cents).scaleb(-2)) + "0" * zeros

    assert parse_xml_amount(text, "EUR") == Money(cents, "EUR")


@given(cents=st.integers(min_value=0, max_value=10**9), third=st.integers(min_value=1, max_value=9))
def test_xml_amount_with_a_third_significant_decimal_is_refused(cents, third):
    text = f"{Decimal(cents).scaleb(-2):.2f}{third}"

    with pytest.raises(InvalidField) as refused:
        parse_xml_amount(text, "EUR")

    assert refused.value.defect == "too_many_decimals"


@pytest.mark.parametrize("text", ["1 234.56", "1,234.56", "12O5.00", "", "1e3", "€12"])
def test_xml_amount_must_be_a_plain_decimal(text):
    with pytest.raises(InvalidField) as refused:
        parse_xml_amount(text, "EUR")

    assert refused.value.defect == "non_numeric_amount"


def test_yen_amount_takes_no_decimals():
    assert parse_xml_amount("1500", "JPY") == Money(1500, "JPY")
    with pytest.raises(InvalidField):
        parse_xml_amount("1500.5", "JPY")


@pytest.mark.parametrize(("text", "rule"), [
    ("Paiement à 30 jours", "days_30"),
    ("Payable à 45 jours fin de mois", "days_45_then_end_of_month"),
    ("Net 60", "days_60"),
    ("Payment within 14 days", "days_14"),
    ("Zahlbar innerhalb 10 Tagen", "days_10"),
    ("Zahlbar ohne Abzug bis 12.12.2020", None),
])
def test_payment_terms_sentences_give_a_terms_rule(text, rule):
    assert terms_rule(text) == rule
