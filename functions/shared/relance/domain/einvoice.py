"""Reading one e-invoice (Factur-X / ZUGFeRD 2.x PDF, CII XML or UBL 2.1 XML) into an invoice row.

The file arrives as bytes and is judged on its own: it becomes an `EInvoice` (the same `InvoiceRow`
the CSV import stores, plus the debtor's address and the seller's ids), a `CreditNote` (not a debt to
collect: the import lowers what the buyer owes by its amount, on the invoices it refers to, else as a
credit), or a `Rejected` file listing every problem found, each with a stable code, so the sender can
fix them all in one pass.

The checks, in order: the PDF opens and carries an invoice XML; the XML is well formed and follows
the XSD of its profile (MINIMUM, BASIC WL, BASIC, EN 16931, EXTENDED, or UBL 2.1); the seller is the
creditor (by SIREN or VAT id); then every field the dunning needs is present and valid.
The XSD files ship inside the `factur-x` package: reading them is the only I/O here.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TypeVar

import facturx
from lxml import etree

from relance.domain.csv_invoices import MAX_LENGTHS, InvoiceRow
from relance.domain.errors import InvalidAmount, InvalidField
from relance.domain.money import MINOR_DIGITS, Money
from relance.domain.parsing import check_text, luhn_valid, parse_currency, parse_email, parse_siren, shown
from relance.domain.terms import DEFAULT_RULE, due_date

T = TypeVar("T")

# The package logs every XSD failure at ERROR with the XML's content; the failure is reported to the
# sender instead, and invoice content (names, addresses) must not reach our logs.
logging.getLogger("factur-x").setLevel(logging.CRITICAL)

PROFILE_NAMES = {
    "minimum": "MINIMUM",
    "basicwl": "BASIC WL",
    "basic": "BASIC",
    "en16931": "EN 16931",
    "extended": "EXTENDED",
    "extended-ctc-fr": "EXTENDED-CTC-FR",
    "ubl": "UBL 2.1",
}

# UNTDID 1001 document types that credit the buyer: never a debt to collect.
CREDIT_NOTE_TYPES = frozenset({"81", "83", "261", "262", "296", "308", "381", "396", "420", "458", "532"})

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024  # a Factur-X PDF is usually under 1 MB; an XML invoice far less

_CII = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
_UBL_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
_UBL_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
_ZUGFERD_1 = "urn:ferd:CrossIndustryDocument:invoice:1p0"
NAMESPACES = {
    "rsm": _CII,
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
}
# ISO 6523 ICD schemes naming a French SIRENE number: 0002 (SIREN or SIRET) and 0009 (SIRET).
_SIRENE_SCHEMES = frozenset({"0002", "0009"})
_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_DATE_102 = re.compile(r"(\d{4})(\d{2})(\d{2})")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_VAT_SEPARATORS = str.maketrans("", "", " .-\u00a0")
# "30 jours", "30 days", "30 Tage", "à 45 jours fin de mois", "net 60", "45 days end of month"
_TERMS_DAYS = re.compile(
    r"(?:\bnet\s*(\d{1,3})\b"
    r"|\b(\d{1,3})\s*(?:jours?|j\b|days?|tage?n?)\b(\s*(?:fin\s+de\s+mois|end\s+of\s+(?:the\s+)?month|fdm)\b)?)",
    re.IGNORECASE,
)
_NAMESPACE_IN_MESSAGE = re.compile(r"\{[^{}]*\}")
_FRENCH_COUNTRIES = frozenset({"FR", "BE", "LU", "MC"})  # buyers most likely to read French

_SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


@dataclass(frozen=True, slots=True)
class SellerIds:
    """How the creditor is recognised as the seller: its SIREN and its VAT ids."""

    siren: str | None = None
    vat_ids: frozenset[str] = frozenset()

    def describe(self) -> str:
        parts = [f"SIREN {self.siren}"] if self.siren else []
        parts += [f"VAT {v}" for v in sorted(self.vat_ids)]
        return " / ".join(parts) or "no SIREN or VAT id"

    def is_empty(self) -> bool:
        return not self.siren and not self.vat_ids


def french_vat_id(siren: str) -> str:
    """The French intra-community VAT number of a SIREN: FR, a 2-digit key, the SIREN."""
    key = (12 + 3 * (int(siren) % 97)) % 97
    return f"FR{key:02d}{siren}"


def creditor_seller_ids(siren: str | None, vat_id: str | None = None) -> SellerIds:
    """The ids an invoice of this creditor may name its seller by (the VAT id derives from the SIREN)."""
    vat_ids = {_vat(vat_id)} if vat_id else set()
    if siren:
        vat_ids.add(french_vat_id(siren))
    return SellerIds(siren=siren or None, vat_ids=frozenset(vat_ids))


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a file cannot be imported; `field` is an invoices_en column name, "seller", or "*"."""

    field: str
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class EInvoice:
    """An invoice read from an e-invoice, ready to store like a CSV row (its `line` is 0)."""

    row: InvoiceRow
    syntax: str  # "CII" or "UBL"
    profile: str  # a key of PROFILE_NAMES
    seller_name: str | None
    seller: SellerIds
    debtor_address: str | None
    due_from: str  # "document": a due date on the invoice; "terms": computed from its terms; "default": the legal term


@dataclass(frozen=True, slots=True)
class CreditNote:
    """A credit note: what the creditor owes back the buyer, to take off the invoices it refers to."""

    number: str | None
    type_code: str
    syntax: str
    profile: str
    referenced_invoices: tuple[str, ...]
    amount: Money | None = None  # its grand total (UBL TaxInclusiveAmount): how much it takes off
    issued_on: date | None = None
    debtor_name: str | None = None  # the buyer, who owes that much less
    company_id: str | None = None
    seller_name: str | None = None
    seller: SellerIds = SellerIds()

    @property
    def reason(self) -> str:
        refers = f" on invoice {', '.join(self.referenced_invoices)}" if self.referenced_invoices else \
            " as a credit of the customer (it names no invoice)"
        number = f" {self.number}" if self.number else ""
        amount = f" of {self.amount}" if self.amount is not None else ""
        return f"credit note{number} (type {self.type_code}){amount}: not a debt to collect, applied{refers}"


@dataclass(frozen=True, slots=True)
class Rejected:
    """A file that cannot be imported, and every problem found in it."""

    problems: tuple[Problem, ...]
    invoice_number: str | None = None
    syntax: str | None = None
    profile: str | None = None


ReadResult = EInvoice | CreditNote | Rejected


# ------------------------------------------------------------------ entry points


def read_pdf_invoice(pdf: bytes, seller: SellerIds | None, default_term_rule: str = DEFAULT_RULE) -> ReadResult:
    """The invoice embedded in a Factur-X / ZUGFeRD PDF; `seller=None` skips the seller check (dry run)."""
    xml, problem = extract_invoice_xml(pdf)
    if problem is not None:
        return Rejected((problem,))
    return read_xml_invoice(xml, seller, default_term_rule)


def extract_invoice_xml(pdf: bytes) -> tuple[bytes, None] | tuple[None, Problem]:
    """The Factur-X / ZUGFeRD XML attached to `pdf`, or the problem that prevents reading it."""
    if len(pdf) > MAX_DOCUMENT_BYTES:
        return None, _too_large(len(pdf))
    try:
        _name, xml = facturx.get_xml_from_pdf(pdf, check_xsd=False)
    # pypdf raises many exception types on damaged files (PdfStreamError, PdfReadError, KeyError,
    # ValueError…); any of them means the same thing to the sender: this PDF cannot be read.
    except Exception as exc:  # noqa: BLE001
        return None, Problem("*", "unreadable_pdf",
                             f"the PDF cannot be read ({type(exc).__name__}: {_short(str(exc))}); it is probably "
                             "damaged or truncated: export it again from the invoicing software")
    if not xml:
        return None, Problem("*", "no_invoice_xml",
                             "the PDF carries no Factur-X / ZUGFeRD invoice XML, so its data cannot be read; "
                             "export it as Factur-X, or import the invoice XML or the accounting export (CSV)")
    return xml, None


def read_xml_invoice(xml: bytes, seller: SellerIds | None, default_term_rule: str = DEFAULT_RULE) -> ReadResult:
    """A CII (Factur-X / ZUGFeRD 2.x) or UBL 2.1 invoice XML; `seller=None` skips the seller check."""
    if len(xml) > MAX_DOCUMENT_BYTES:
        return Rejected((_too_large(len(xml)),))
    try:
        root = etree.fromstring(xml, parser=_SAFE_PARSER)
    except etree.XMLSyntaxError as exc:
        return Rejected((Problem("*", "unreadable_xml", f"the XML is not well formed: {_short(str(exc))}"),))
    namespace = etree.QName(root).namespace
    if namespace == _CII:
        reader: _Reader = _CiiReader(root)
    elif namespace in (_UBL_INVOICE, _UBL_CREDIT_NOTE):
        reader = _UblReader(root)
    elif namespace == _ZUGFERD_1:
        return Rejected((Problem("*", "unsupported_format",
                                 "this is a ZUGFeRD 1.0 invoice, which Relance does not read; "
                                 "expected Factur-X / ZUGFeRD 2.x (CII) or UBL 2.1"),))
    else:
        return Rejected((Problem("*", "not_an_invoice",
                                 f"the XML is not an invoice (root element {shown(etree.QName(root).localname)}); "
                                 "expected Factur-X / ZUGFeRD 2.x (CII) or UBL 2.1"),))
    schema_problem = reader.check_schema()
    if schema_problem is not None:
        return Rejected((schema_problem,), reader.text_at(reader.NUMBER), reader.syntax, reader.profile)
    return reader.read(seller, default_term_rule)


# ------------------------------------------------------------------ readers


class _Reader:
    """What CII and UBL share: collecting problems and turning checked fields into an InvoiceRow."""

    syntax = ""
    NUMBER = ""

    def __init__(self, root: etree._Element) -> None:
        self.root = root
        self.profile = ""
        self.problems: list[Problem] = []

    # --- subclass hooks
    def check_schema(self) -> Problem | None: ...  # pragma: no cover
    def type_code(self) -> str: ...  # pragma: no cover
    def referenced_invoices(self) -> tuple[str, ...]: ...  # pragma: no cover
    def seller_name(self) -> str | None: ...  # pragma: no cover
    def seller_ids(self) -> SellerIds: ...  # pragma: no cover
    def buyer(self) -> _Buyer: ...  # pragma: no cover
    def issue_date_text(self) -> tuple[str | None, str]: ...  # pragma: no cover
    def due_dates(self) -> list[tuple[str, str]]: ...  # pragma: no cover
    def terms_texts(self) -> list[str]: ...  # pragma: no cover
    def currency_text(self) -> str | None: ...  # pragma: no cover
    def total_and_due(self) -> tuple[etree._Element | None, etree._Element | None]: ...  # pragma: no cover

    # --- shared
    def all_of(self, path: str) -> list[etree._Element]:
        return self.root.xpath(path, namespaces=NAMESPACES)

    def first(self, path: str, context: etree._Element | None = None) -> etree._Element | None:
        found = (context if context is not None else self.root).xpath(path, namespaces=NAMESPACES)
        return found[0] if found else None

    def text_at(self, path: str, context: etree._Element | None = None) -> str | None:
        element = self.first(path, context)
        text = (element.text or "").strip() if element is not None else ""
        return text or None

    def problem(self, field_name: str, code: str, message: str) -> None:
        self.problems.append(Problem(field_name, code, message))

    def attempt(self, field_name: str, parse: Callable[..., T], *args: object) -> T | None:
        try:
            return parse(*args)
        except InvalidField as error:
            self.problem(field_name, error.defect, str(error))
            return None

    def read(self, seller: SellerIds | None, default_term_rule: str) -> ReadResult:
        number = self.attempt("invoice_number", _checked_text, self.text_at(self.NUMBER), "invoice_number",
                              "missing_invoice_number", "the invoice number")
        type_code = self.type_code() or "380"
        seller_ids = self.seller_ids()
        if seller is not None:
            self._check_seller(seller, seller_ids)
        if type_code in CREDIT_NOTE_TYPES:
            return self._credit_note(number, type_code, seller_ids)

        buyer = self.buyer()
        debtor_name = self.attempt("debtor_name", _checked_text, buyer.name, "debtor_name", "empty_debtor",
                                   "the buyer's name")
        company_id = None
        if buyer.siren_text:
            company_id = self.attempt("siren", parse_siren, buyer.siren_text)
        email = None
        if buyer.email_text:
            email = self.attempt("email", parse_email, buyer.email_text)

        issued_on = self._date("invoice_date", *self.issue_date_text(), missing_code="missing_invoice_date",
                               what="the invoice date")
        due_on, due_from = self._due_on(issued_on, default_term_rule)

        currency = None
        currency_text = self.currency_text()
        if not currency_text:
            self.problem("currency", "missing_currency", "the invoice currency is missing; expected an ISO 4217 code")
        else:
            currency = self.attempt("currency", parse_currency, currency_text)
        total_element, due_element = self.total_and_due()
        total = self._amount("amount_total", total_element, currency, "the invoice total (grand total)")
        still_due = self._amount("amount_due", due_element, currency, "the amount due (due payable amount)")
        paid = None
        if total is not None and total.minor <= 0:
            word = "zero" if total.minor == 0 else "negative"
            self.problem("amount_total", f"{word}_amount",
                         f"the invoice total {total} is {word}; expected an amount above zero")
        elif total is not None and still_due is not None:
            if still_due.minor < 0:
                self.problem("amount_due", "negative_amount",
                             f"the amount due {still_due} is negative; an overpaid invoice is not an open invoice")
            elif still_due.minor > total.minor:
                self.problem("amount_due", "due_exceeds_total",
                             f"the amount due {still_due} is more than the invoice total {total}")
            else:
                paid = total - still_due

        if self.problems or None in (number, debtor_name, issued_on, due_on, total, paid):
            return Rejected(tuple(self.problems), number, self.syntax, self.profile)
        language = None
        if buyer.country:
            language = "fr" if buyer.country.upper() in _FRENCH_COUNTRIES else "en"
        row = InvoiceRow(0, number, debtor_name, company_id, email, None, issued_on, due_on, total, paid, language)
        return EInvoice(row, self.syntax, self.profile, self.seller_name(), seller_ids, buyer.address, due_from)

    def _credit_note(self, number: str | None, type_code: str, seller_ids: SellerIds) -> CreditNote | Rejected:
        """A credit note, checked for what applying it needs: its number, buyer, date, currency and total."""
        buyer = self.buyer()
        debtor_name = self.attempt("debtor_name", _checked_text, buyer.name, "debtor_name", "empty_debtor",
                                   "the buyer's name")
        company_id = self.attempt("siren", parse_siren, buyer.siren_text) if buyer.siren_text else None
        issued_on = self._date("invoice_date", *self.issue_date_text(), missing_code="missing_invoice_date",
                               what="the credit note's date")
        currency = None
        currency_text = self.currency_text()
        if not currency_text:
            self.problem("currency", "missing_currency", "the currency is missing; expected an ISO 4217 code")
        else:
            currency = self.attempt("currency", parse_currency, currency_text)
        amount = self._amount("amount_total", self.total_and_due()[0], currency, "the credit note's total")
        if amount is not None and amount.minor <= 0:
            self.problem("amount_total", "not_positive_credit",
                         f"the credit note's total {amount} is not above zero; a credit note takes a positive "
                         "amount off what the buyer owes")
        if self.problems or None in (number, debtor_name, issued_on, amount):
            return Rejected(tuple(self.problems), number, self.syntax, self.profile)
        return CreditNote(number, type_code, self.syntax, self.profile, self.referenced_invoices(), amount,
                          issued_on, debtor_name, company_id, self.seller_name(), seller_ids)

    def _check_seller(self, creditor: SellerIds, seller_ids: SellerIds) -> None:
        name = self.seller_name()
        if creditor.is_empty():
            self.problem("seller", "creditor_without_ids",
                         "the creditor has no SIREN or VAT id on record, so the seller of this invoice cannot be "
                         "checked; add the creditor's SIREN first")
        elif seller_ids.is_empty():
            self.problem("seller", "seller_without_ids",
                         f"the invoice names no SIREN or VAT id for its seller {shown(name or '')}, so it cannot be "
                         f"checked against the creditor ({creditor.describe()})")
        elif not same_company(creditor, seller_ids):
            self.problem("seller", "seller_mismatch",
                         f"this invoice was issued by {shown(name or '?')} ({seller_ids.describe()}), not by this "
                         f"creditor ({creditor.describe()}); import it under the right creditor")

    def _date(self, field_name: str, text: str | None, date_format: str, *, missing_code: str,
              what: str) -> date | None:
        if not text:
            self.problem(field_name, missing_code, f"{what} is missing")
            return None
        return self.attempt(field_name, _parse_document_date, text, date_format, what)

    def _due_on(self, issued_on: date | None, default_term_rule: str) -> tuple[date | None, str]:
        dates = [self._date("due_date", text, date_format, missing_code="missing_due_date", what="the due date")
                 for text, date_format in self.due_dates()]
        found = [d for d in dates if d is not None]
        if len(found) != len(dates) or issued_on is None:
            return None, ""
        if found:
            # Several terms (EXTENDED): early-payment discounts come first; the net due date is the last.
            due_on, due_from = max(found), "document"
        else:
            rule = next((r for r in map(terms_rule, self.terms_texts()) if r), None)
            due_on, due_from = due_date(issued_on, rule or default_term_rule), "terms" if rule else "default"
        if due_on < issued_on:
            self.problem("due_date", "due_before_invoice_date",
                         f"due date {due_on.isoformat()} is before the invoice date {issued_on.isoformat()}; "
                         "the due date must be on or after it")
            return None, ""
        return due_on, due_from

    def _amount(self, field_name: str, element: etree._Element | None, currency: str | None,
                what: str) -> Money | None:
        if element is None or not (element.text or "").strip():
            self.problem(field_name, "missing_amount", f"{what} is missing")
            return None
        stated = element.get("currencyID")
        if currency and stated and stated.strip().upper() != currency:
            self.problem(field_name, "currency_mismatch",
                         f"{what} is in {shown(stated)} but the invoice currency is {currency}")
            return None
        if currency is None:
            return None
        return self.attempt(field_name, parse_xml_amount, element.text.strip(), currency)


@dataclass(frozen=True, slots=True)
class _Buyer:
    name: str | None
    siren_text: str | None
    email_text: str | None
    address: str | None
    country: str | None


class _CiiReader(_Reader):
    syntax = "CII"
    NUMBER = "rsm:ExchangedDocument/ram:ID"
    _AGREEMENT = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement"
    _SETTLEMENT = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement"
    _SELLER = _AGREEMENT + "/ram:SellerTradeParty"
    _BUYER = _AGREEMENT + "/ram:BuyerTradeParty"
    _SUMMATION = _SETTLEMENT + "/ram:SpecifiedTradeSettlementHeaderMonetarySummation"

    def check_schema(self) -> Problem | None:
        guideline = self.text_at("rsm:ExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID")
        try:
            self.profile = facturx.get_level(self.root, "factur-x")
        except Exception:  # noqa: BLE001 - the package raises a bare Exception for an unknown guideline
            self.profile = ""
        if self.profile not in PROFILE_NAMES:
            return Problem("*", "unknown_profile",
                           f"the invoice declares the profile {shown(guideline or '')}, which is not a Factur-X / "
                           "ZUGFeRD 2.x profile; expected MINIMUM, BASIC WL, BASIC, EN 16931 or EXTENDED")
        return _xsd_problem(self.root, "factur-x", self.profile, f"Factur-X {PROFILE_NAMES[self.profile]}")

    def type_code(self) -> str:
        return self.text_at("rsm:ExchangedDocument/ram:TypeCode") or ""

    def referenced_invoices(self) -> tuple[str, ...]:
        found = (e.text.strip() for e in self.all_of(
            self._SETTLEMENT + "/ram:InvoiceReferencedDocument/ram:IssuerAssignedID") if e.text and e.text.strip())
        return tuple(dict.fromkeys(found))

    def seller_name(self) -> str | None:
        return self.text_at(self._SELLER + "/ram:Name")

    def seller_ids(self) -> SellerIds:
        return _party_ids(self.all_of(self._SELLER + "/ram:SpecifiedLegalOrganization/ram:ID"),
                          self.all_of(self._SELLER + "/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']"))

    def buyer(self) -> _Buyer:
        party = self.first(self._BUYER)
        if party is None:
            return _Buyer(None, None, None, None, None)
        siren = next((e.text.strip() for e in party.xpath("ram:SpecifiedLegalOrganization/ram:ID",
                                                         namespaces=NAMESPACES)
                      if e.get("schemeID") in _SIRENE_SCHEMES and e.text and e.text.strip()), None)
        email = (self.text_at("ram:URIUniversalCommunication/ram:URIID[@schemeID='EM']", party)
                 or self.text_at("ram:DefinedTradeContact/ram:EmailURIUniversalCommunication/ram:URIID", party))
        address = self.first("ram:PostalTradeAddress", party)
        lines, postcode, city, country = [], None, None, None
        if address is not None:
            lines = [self.text_at(f"ram:{name}", address) for name in ("LineOne", "LineTwo", "LineThree")]
            postcode, city = self.text_at("ram:PostcodeCode", address), self.text_at("ram:CityName", address)
            country = self.text_at("ram:CountryID", address)
        return _Buyer(self.text_at("ram:Name", party), siren, email, _address(lines, postcode, city, country), country)

    def issue_date_text(self) -> tuple[str | None, str]:
        element = self.first("rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString")
        return _dated(element)

    def due_dates(self) -> list[tuple[str, str]]:
        return [_dated(e) for e in self.all_of(  # type: ignore[misc]
            self._SETTLEMENT + "/ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString")]

    def terms_texts(self) -> list[str]:
        return [e.text for e in self.all_of(self._SETTLEMENT + "/ram:SpecifiedTradePaymentTerms/ram:Description")
                if e.text]

    def currency_text(self) -> str | None:
        return self.text_at(self._SETTLEMENT + "/ram:InvoiceCurrencyCode")

    def total_and_due(self) -> tuple[etree._Element | None, etree._Element | None]:
        return (self.first(self._SUMMATION + "/ram:GrandTotalAmount"),
                self.first(self._SUMMATION + "/ram:DuePayableAmount"))


class _UblReader(_Reader):
    syntax = "UBL"
    NUMBER = "cbc:ID"
    _SELLER = "cac:AccountingSupplierParty/cac:Party"
    _BUYER = "cac:AccountingCustomerParty/cac:Party"

    def check_schema(self) -> Problem | None:
        self.profile = "ubl"
        is_credit_note = etree.QName(self.root).namespace == _UBL_CREDIT_NOTE
        flavor = "ubl-2.1-creditnote" if is_credit_note else "ubl-2.1-invoice"
        return _xsd_problem(self.root, flavor, None, "UBL 2.1 " + ("CreditNote" if is_credit_note else "Invoice"))

    def type_code(self) -> str:
        if etree.QName(self.root).namespace == _UBL_CREDIT_NOTE:
            return self.text_at("cbc:CreditNoteTypeCode") or "381"
        return self.text_at("cbc:InvoiceTypeCode") or "380"

    def referenced_invoices(self) -> tuple[str, ...]:
        found = (e.text.strip() for e in self.all_of("cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID")
                 if e.text and e.text.strip())
        return tuple(dict.fromkeys(found))

    def seller_name(self) -> str | None:
        return (self.text_at(self._SELLER + "/cac:PartyLegalEntity/cbc:RegistrationName")
                or self.text_at(self._SELLER + "/cac:PartyName/cbc:Name"))

    def seller_ids(self) -> SellerIds:
        legal = self.all_of(self._SELLER + "/cac:PartyLegalEntity/cbc:CompanyID") + self.all_of(
            self._SELLER + "/cac:PartyIdentification/cbc:ID")
        return _party_ids(legal, self.all_of(self._SELLER + "/cac:PartyTaxScheme/cbc:CompanyID"))

    def buyer(self) -> _Buyer:
        party = self.first(self._BUYER)
        if party is None:
            return _Buyer(None, None, None, None, None)
        name = (self.text_at("cac:PartyLegalEntity/cbc:RegistrationName", party)
                or self.text_at("cac:PartyName/cbc:Name", party))
        ids = party.xpath("cac:PartyLegalEntity/cbc:CompanyID | cac:PartyIdentification/cbc:ID", namespaces=NAMESPACES)
        siren = next((e.text.strip() for e in ids
                      if e.get("schemeID") in _SIRENE_SCHEMES and e.text and e.text.strip()), None)
        email = self.text_at("cac:Contact/cbc:ElectronicMail", party)
        address = self.first("cac:PostalAddress", party)
        lines, postcode, city, country = [], None, None, None
        if address is not None:
            lines = [self.text_at("cbc:StreetName", address), self.text_at("cbc:AdditionalStreetName", address),
                     self.text_at("cac:AddressLine/cbc:Line", address)]
            postcode, city = self.text_at("cbc:PostalZone", address), self.text_at("cbc:CityName", address)
            country = self.text_at("cac:Country/cbc:IdentificationCode", address)
        return _Buyer(name, siren, email, _address(lines, postcode, city, country), country)

    def issue_date_text(self) -> tuple[str | None, str]:
        return self.text_at("cbc:IssueDate"), "iso"

    def due_dates(self) -> list[tuple[str, str]]:
        texts = [self.text_at("cbc:DueDate")] + [e.text for e in self.all_of("cac:PaymentMeans/cbc:PaymentDueDate")]
        return [(t.strip(), "iso") for t in texts if t and t.strip()]

    def terms_texts(self) -> list[str]:
        return [e.text for e in self.all_of("cac:PaymentTerms/cbc:Note") if e.text]

    def currency_text(self) -> str | None:
        return self.text_at("cbc:DocumentCurrencyCode")

    def total_and_due(self) -> tuple[etree._Element | None, etree._Element | None]:
        return (self.first("cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount"),
                self.first("cac:LegalMonetaryTotal/cbc:PayableAmount"))


# ------------------------------------------------------------------ field parsers


def parse_xml_amount(text: str, currency: str) -> Money:
    """An xs:decimal amount ("1021.91", "500", "100.000") exactly, in minor units of `currency`."""
    if _DECIMAL.fullmatch(text) is None:
        raise InvalidField("non_numeric_amount", f"amount {shown(text)} is not a number; expected digits such as "
                                                 "1234.56", value=text[:40])
    try:
        return Money.from_decimal(Decimal(text), currency)
    except (InvalidAmount, InvalidOperation):
        raise InvalidField(
            "too_many_decimals",
            f"amount {shown(text)} has more than {MINOR_DIGITS[currency]} decimals, the most {currency} allows",
            value=text[:40], digits=MINOR_DIGITS[currency],
        ) from None


def terms_rule(text: str) -> str | None:
    """The terms rule (see domain/terms.py) a payment terms sentence states, e.g. "30 jours fin de mois"."""
    match = _TERMS_DAYS.search(text)
    if match is None:
        return None
    days = int(match.group(1) or match.group(2))
    if match.group(3):
        return f"days_{days}_then_end_of_month"  # "N jours fin de mois": DGCCRF method 1, the usual reading
    return f"days_{days}"


def _parse_document_date(text: str, date_format: str, what: str) -> date:
    if date_format not in ("iso", "102"):
        raise InvalidField("unsupported_date_format",
                           f"{what} uses date format {shown(date_format)}; expected format 102 (YYYYMMDD)")
    pattern = _ISO_DATE if date_format == "iso" else _DATE_102
    expected = "YYYY-MM-DD" if date_format == "iso" else "YYYYMMDD (format 102)"
    match = pattern.fullmatch(text)
    if match is None:
        raise InvalidField("unparseable_date", f"{what} {shown(text)} is not a date; expected {expected}")
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise InvalidField("unparseable_date", f"{what} {shown(text)} is not a real calendar date") from None


def _checked_text(text: str | None, field_name: str, missing_code: str, what: str) -> str:
    if not text:
        raise InvalidField(missing_code, f"{what} is missing")
    return check_text(" ".join(text.split()), MAX_LENGTHS[field_name])


def _dated(element: etree._Element | None) -> tuple[str | None, str]:
    if element is None:
        return None, "102"
    return (element.text or "").strip() or None, element.get("format") or "102"


def _party_ids(legal_ids: Iterable[etree._Element], vat_elements: Iterable[etree._Element]) -> SellerIds:
    siren = None
    for element in legal_ids:
        text = (element.text or "").strip().replace(" ", "")
        if element.get("schemeID") in _SIRENE_SCHEMES and text.isdigit() and len(text) in (9, 14) \
                and luhn_valid(text[:9]):
            siren = text[:9]
            break
    vat_ids = frozenset(_vat(e.text) for e in vat_elements if e.text and e.text.strip())
    return SellerIds(siren, vat_ids)


def same_company(creditor: SellerIds, seller: SellerIds) -> bool:
    """Whether two sets of ids name the same company: the SIREN decides when both have one, else a VAT id."""
    if creditor.siren and seller.siren:
        return creditor.siren == seller.siren  # the register number decides when both carry one
    return bool(creditor.vat_ids & seller.vat_ids)


def _vat(text: str) -> str:
    return text.translate(_VAT_SEPARATORS).upper()


def _address(lines: list[str | None], postcode: str | None, city: str | None, country: str | None) -> str | None:
    town = " ".join(p for p in (postcode, city) if p)
    parts = [line for line in lines if line] + ([town] if town else [])
    if parts and country and country.upper() != "FR":
        parts.append(country.upper())
    text = ", ".join(" ".join(p.split()) for p in parts)
    return text[:300] or None


def _xsd_problem(root: etree._Element, flavor: str, level: str | None, schema_name: str) -> Problem | None:
    try:
        facturx.xml_check_xsd(root, flavor=flavor, level=level or "autodetect")
    except Exception as exc:  # noqa: BLE001 - the package wraps lxml's DocumentInvalid in a bare Exception
        cause = _NAMESPACE_IN_MESSAGE.sub("", str(exc.__cause__ or exc))  # "{urn:…:100}TypeCode" → "TypeCode"
        return Problem("*", "schema_invalid", f"the XML does not follow the {schema_name} schema (XSD): {_short(cause)}")
    return None


def _too_large(size: int) -> Problem:
    return Problem("*", "file_too_large", f"the file is {size:,} bytes; an invoice file may be at most "
                                          f"{MAX_DOCUMENT_BYTES:,} bytes")


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


__all__ = [
    "CreditNote", "EInvoice", "Problem", "ReadResult", "Rejected", "SellerIds", "creditor_seller_ids",
    "extract_invoice_xml", "french_vat_id", "parse_xml_amount", "read_pdf_invoice", "read_xml_invoice",
    "same_company", "terms_rule",
]
