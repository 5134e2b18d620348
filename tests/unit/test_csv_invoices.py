"""Reading accounting exports: the fixture files, French Excel habits, and every row defect."""

from __future__ import annotations

import codecs
import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest

from relance.domain.csv_invoices import (
    PEEK_BYTES,
    InvoiceRow,
    RowError,
    SkippedLine,
    parse_invoices,
    read_invoices,
)
from relance.domain.errors import InvalidImportFile
from relance.domain.money import Money
from relance.domain.parties import debtor_id_for

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures"
EXPORTS = ("invoices_fr_excel.csv", "invoices_en.csv")
EN_HEADER = "invoice_number,debtor_name,siren,email,phone,invoice_date,due_date,amount_total,amount_paid,currency"
FR_HEADER = "N° facture;Client;SIREN;Email;Téléphone;Date facture;Échéance;Montant TTC;Déjà réglé;Devise"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def summary() -> dict:
    return json.loads(fixture("invoices_summary.json"))


def expected_bad_rows() -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(fixture("invoices_bad_expected.csv").decode("utf-8"))))


def en_file(*rows: str) -> bytes:
    return ("\n".join((EN_HEADER, *rows)) + "\n").encode("utf-8")


GOOD_EN_ROW = "FA-1,Agence Fictive SARL,000144519,compta@example.fr,01 99 00 12 34,2025-01-07,2025-02-06,100.00,0.00,EUR"


def errors_of(parsed) -> set[tuple[int, str, str]]:
    return {(error.line, error.field, error.code) for error in parsed.errors}


# ---------------------------------------------------------------- the two clean exports


def test_french_excel_and_english_exports_give_the_same_300_invoices():
    french = parse_invoices(fixture("invoices_fr_excel.csv"))
    english = parse_invoices(fixture("invoices_en.csv"))

    assert len(french.rows) == summary()["rows"] == 300
    assert french.rows == english.rows


@pytest.mark.parametrize("name", EXPORTS)
def test_clean_exports_have_no_error_and_no_skipped_line(name):
    parsed = parse_invoices(fixture(name))

    assert parsed.errors == ()
    assert parsed.skipped == ()


@pytest.mark.parametrize("name", EXPORTS)
def test_clean_exports_have_60_debtors_and_the_totals_of_the_summary(name):
    expected = summary()

    rows = parse_invoices(fixture(name)).rows

    totals: dict[str, int] = {}
    still_open: dict[str, int] = {}
    for row in rows:
        currency = row.total.currency
        totals[currency] = totals.get(currency, 0) + row.total.minor
        still_open[currency] = still_open.get(currency, 0) + (row.total - row.paid).minor
    assert len({debtor_id_for(row.company_id, row.debtor_name) for row in rows}) == expected["debtors"] == 60
    assert totals == expected["total_amount_minor_units"]
    assert still_open == expected["open_amount_minor_units"]
    assert sum(row.paid == row.total for row in rows) == expected["fully_paid_invoices"]
    assert sum(0 < row.paid.minor < row.total.minor for row in rows) == expected["partially_paid_invoices"]


def test_french_export_format_is_detected():
    parsed = parse_invoices(fixture("invoices_fr_excel.csv"))

    assert (parsed.encoding, parsed.delimiter, parsed.date_style, parsed.decimal_style) == (
        "utf-8-sig", ";", "dd/mm/yyyy", "comma",
    )


def test_english_export_format_is_detected():
    parsed = parse_invoices(fixture("invoices_en.csv"))

    assert (parsed.encoding, parsed.delimiter, parsed.date_style, parsed.decimal_style) == (
        "utf-8", ",", "yyyy-mm-dd", "dot",
    )


def test_french_amounts_dates_and_spaced_siren_are_read_exactly():
    rows = {row.invoice_number: row for row in parse_invoices(fixture("invoices_fr_excel.csv")).rows}

    coteblanc = rows["FA-2025-00021"]  # SIREN typed "000 761 163"
    boisjoli = rows["FA-2025-00105"]  # "5\u00a0640,77" with a no-break space
    assert coteblanc.company_id == "000761163"
    assert coteblanc.debtor_name == "Agence Côteblanc SAS"
    assert (coteblanc.issued_on, coteblanc.due_on) == (date(2025, 1, 20), date(2025, 3, 21))
    assert boisjoli.total == boisjoli.paid == Money(564077, "EUR")


def test_names_with_delimiters_quotes_and_typographic_apostrophes_survive():
    names = {row.debtor_name for row in parse_invoices(fixture("invoices_fr_excel.csv")).rows}

    assert {"Durand, Fils & Cie (fictif)", 'Le "Petit" Atelier Fictif SARL', "L'Œuf Imaginaire; Traiteur SAS",
            "L’Atelier d’Exemple SAS"} <= names


# ---------------------------------------------------------------- the file of defects


def test_every_defect_of_the_bad_file_is_reported_on_its_line_and_field():
    reported = errors_of(parse_invoices(fixture("invoices_bad.csv")))

    expected = {(int(row["line"]), row["field"], row["defect"])
                for row in expected_bad_rows() if row["status"] == "error"}
    assert len(expected) == 20
    assert expected - reported == set()


def test_every_good_row_of_the_bad_file_is_imported_and_none_of_the_bad_ones():
    parsed = parse_invoices(fixture("invoices_bad.csv"))

    expected_ok = {(int(row["line"]), row["invoice_number"]) for row in expected_bad_rows() if row["status"] == "ok"}
    assert {(row.line, row.invoice_number) for row in parsed.rows} == expected_ok
    assert {error.line for error in parsed.errors}.isdisjoint(line for line, _ in expected_ok)


def test_a_duplicate_invoice_number_cites_the_line_that_used_it_first():
    parsed = parse_invoices(fixture("invoices_bad.csv"))

    duplicate = next(error for error in parsed.errors if error.code == "duplicate_invoice_number")
    assert duplicate.line == 5
    assert "line 2" in duplicate.message
    assert duplicate.invoice_number == "BAD-2025-00001"


def test_a_latin1_line_in_a_utf8_file_is_an_error_on_that_line_only():
    parsed = parse_invoices(fixture("invoices_bad.csv"))

    latin1 = [error for error in parsed.errors if error.code == "invalid_utf8"]
    assert [(error.line, error.field) for error in latin1] == [(37, "debtor_name")]
    assert "\\xE9" in latin1[0].message
    assert parsed.encoding == "utf-8"
    assert any(row.debtor_name == "Agence Lavandière EURL" for row in parsed.rows)


def test_messages_quote_the_value_received_but_not_20000_characters_of_it():
    parsed = parse_invoices(fixture("invoices_bad.csv"))

    too_long = next(error for error in parsed.errors if error.code == "field_too_long")
    assert "20,028 characters" in too_long.message
    assert "at most 200" in too_long.message
    assert len(too_long.message) < 200


def test_every_problem_of_a_row_is_reported_together():
    data = en_file("FA-9,,000144519,not-an-address,01 99 00 12 34,2025-01-07,2024-12-01,12O5.00,0.00,EUX")

    parsed = parse_invoices(data)

    assert errors_of(parsed) == {
        (2, "debtor_name", "empty_debtor"),
        (2, "email", "invalid_email"),
        (2, "due_date", "due_before_invoice_date"),
        (2, "amount_total", "non_numeric_amount"),
        (2, "currency", "unknown_currency"),
    }
    assert all(error.invoice_number == "FA-9" for error in parsed.errors)


@pytest.mark.parametrize("name", ["=1+1", "@SUM(A1:A2)", "+HYPERLINK(x)", "-2+3", "\tTabbed SARL"])
def test_a_debtor_name_a_spreadsheet_would_run_as_a_formula_is_refused(name):
    data = en_file(GOOD_EN_ROW.replace("Agence Fictive SARL", f'"{name}"'))

    parsed = parse_invoices(data)

    assert errors_of(parsed) == {(2, "debtor_name", "formula_injection")}


def test_an_international_phone_number_is_not_taken_for_a_formula():
    data = en_file(GOOD_EN_ROW.replace("01 99 00 12 34", "+33 1 99 00 12 34"))

    parsed = parse_invoices(data)

    assert parsed.errors == ()
    assert parsed.rows[0].phone == "+33 1 99 00 12 34"


def test_a_14_digit_siret_gives_its_siren():
    data = en_file(GOOD_EN_ROW.replace("000144519", "000 144 519 00017"))

    parsed = parse_invoices(data)

    assert parsed.rows[0].company_id == "000144519"


def test_a_dot_decimal_in_a_french_file_is_refused_as_ambiguous():
    data = (FR_HEADER + "\nFA-1;Agence Fictive SARL;;;;07/01/2025;06/02/2025;1234.56;0,00;EUR\n"
            "FA-2;Agence Fictive SARL;;;;07/01/2025;06/02/2025;1 234,56;0,00;EUR\n"
            "FA-3;Agence Fictive SARL;;;;07/01/2025;06/02/2025;1.234,56;0,00;EUR\n").encode("utf-8")

    parsed = parse_invoices(data)

    assert errors_of(parsed) == {(2, "amount_total", "decimal_point")}
    assert [row.total.minor for row in parsed.rows] == [123456, 123456]


# ---------------------------------------------------------------- Windows-1252, CRLF and a totals line


def windows_export(*extra_lines: str) -> bytes:
    lines = [
        "N° facture;Client;SIREN;Email;Téléphone;Date facture;Échéance;Montant TTC;Déjà réglé;Devise",
        "F-001;Société Générale Fictive SA;000144519;compta@example.fr;01 99 00 12 34;"
        "03/02/2025;05/03/2025;12\u00a0000,00;1 000,00;EUR",
        "F-002;Œuvres Éducatives Fictives;000761163;;;14/02/2025;16/03/2025;345,67;0,00;EUR",
        'F-003;"Brasserie d\'Été; Fictive";;;;28/02/2025;30/03/2025;"1 000,00";;EUR',
        *extra_lines,
    ]
    return "\r\n".join(lines).encode("cp1252") + b"\r\n"


def test_a_windows_1252_crlf_export_keeps_its_accents_and_skips_the_totals_line():
    data = windows_export(";TOTAL;;;;;;13 345,67;1 000,00;")

    parsed = parse_invoices(data)

    assert parsed.encoding == "cp1252"
    assert parsed.errors == ()
    assert [row.debtor_name for row in parsed.rows] == [
        "Société Générale Fictive SA", "Œuvres Éducatives Fictives", "Brasserie d'Été; Fictive",
    ]
    assert [row.total for row in parsed.rows] == [Money(1200000, "EUR"), Money(34567, "EUR"), Money(100000, "EUR")]
    assert parsed.skipped == (SkippedLine(5, "totals_line"),)


@pytest.mark.parametrize("totals", ["Total général;;;;;;;13 345,67;1 000,00;", "Total;;;;;;;13 345,67;1 000,00"])
def test_a_totals_line_in_the_invoice_number_column_is_skipped_not_reported(totals):
    parsed = parse_invoices(windows_export(";;;;;;;;;", totals))

    assert parsed.errors == ()
    assert len(parsed.rows) == 3
    assert parsed.skipped == (SkippedLine(5, "blank_line"), SkippedLine(6, "totals_line"))


def test_a_row_with_amounts_but_no_number_or_dates_is_still_an_error_when_it_names_a_debtor():
    parsed = parse_invoices(windows_export(";Agence Fictive SARL;;;;;;100,00;0,00;EUR"))

    assert (5, "invoice_number", "missing_invoice_number") in errors_of(parsed)
    assert parsed.skipped == ()


def test_line_numbers_are_physical_lines_with_crlf_and_line_breaks_inside_quotes():
    data = (EN_HEADER + "\r\n"
            + 'FA-1,"Agence\r\nFictive",000144519,,,2025-01-07,2025-02-06,100.00,0.00,EUR\r\n'
            + "\r\n"
            + "FA-2,Agence Fictive SARL,000144519,,,2025-01-07,2025-02-06,0.00,0.00,EUR\r\n").encode("utf-8")

    items = list(read_invoices(io.BytesIO(data)))

    assert [(type(item).__name__, item.line) for item in items] == [
        ("RowError", 2), ("SkippedLine", 4), ("RowError", 5),
    ]
    assert [item.code for item in items if isinstance(item, RowError)] == ["control_character", "zero_amount"]


def test_blank_lines_are_skipped():
    parsed = parse_invoices(en_file("", GOOD_EN_ROW, "  ", ",,,,,,,,,"))

    assert len(parsed.rows) == 1
    assert parsed.rows[0].line == 3
    assert [skipped.reason for skipped in parsed.skipped] == ["blank_line"] * 3


# ---------------------------------------------------------------- headers


def test_headers_are_matched_whatever_the_case_accents_and_spacing():
    header = "NUMERO DE FACTURE ;Raison sociale;Courriel;Date de facture;Date d'echeance;Total;Montant réglé;devise;Langue"
    data = (header + "\nFA-1;Fictive SARL;Compta@Example.FR;07/01/2025;06/02/2025;50;;EUR;English\n").encode("utf-8")

    row = parse_invoices(data).rows[0]

    assert (row.invoice_number, row.debtor_name, row.email, row.language) == (
        "FA-1", "Fictive SARL", "Compta@example.fr", "en",
    )
    assert (row.total, row.paid, row.company_id, row.phone) == (Money(5000, "EUR"), Money(0, "EUR"), None, None)


def test_a_missing_required_column_makes_the_whole_file_invalid():
    data = "N° facture;Client;Date facture;Montant TTC;Devise\nFA-1;Fictive;07/01/2025;50,00;EUR\n".encode()

    with pytest.raises(InvalidImportFile) as raised:
        parse_invoices(data)

    assert "due_date" in str(raised.value)
    assert "N° facture | Client | Date facture | Montant TTC | Devise" in str(raised.value)
    assert raised.value.params["missing"] == ["due_date"]


def test_the_currency_column_may_be_left_out_when_a_default_currency_is_given():
    data = "N° facture;Client;Date facture;Échéance;Montant TTC\nFA-1;Fictive;07/01/2025;06/02/2025;50,00\n".encode()

    parsed = parse_invoices(data, default_currency="EUR")

    assert parsed.rows[0].total == Money(5000, "EUR")


def test_title_lines_above_the_header_are_skipped():
    data = ("État des factures clients au 30/11/2025\n\n" + FR_HEADER
            + "\nFA-1;Fictive;;;;07/01/2025;06/02/2025;50,00;;EUR\n").encode("utf-8")

    parsed = parse_invoices(data)

    assert [row.line for row in parsed.rows] == [4]
    assert parsed.skipped == (SkippedLine(1, "preamble"), SkippedLine(2, "blank_line"))


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "empty"),
        (b"PK\x03\x04\x14\x00\x06\x00", "workbook"),
        (b"%PDF-1.7\n", "PDF"),
        (b"just some text\nwith no header\n", "column"),
    ],
)
def test_files_that_are_not_invoice_exports_are_refused_as_a_whole(data, why):
    with pytest.raises(InvalidImportFile, match=why):
        parse_invoices(data)


# ---------------------------------------------------------------- other encodings and dates


def test_an_excel_unicode_text_export_is_read():
    text = FR_HEADER.replace(";", "\t") + "\r\nFA-1\tSociété Fictive\t\t\t\t07/01/2025\t06/02/2025\t1 234,50\t\tEUR\r\n"
    data = codecs.BOM_UTF16_LE + text.encode("utf-16-le")

    parsed = parse_invoices(data)

    assert (parsed.encoding, parsed.delimiter) == ("utf-16", "\t")
    assert [(row.debtor_name, row.total.minor) for row in parsed.rows] == [("Société Fictive", 123450)]


def test_us_dates_are_read_month_first_only_when_the_data_proves_it():
    data = en_file(GOOD_EN_ROW.replace("2025-01-07,2025-02-06", "01/07/2025,02/15/2025"))

    parsed = parse_invoices(data)

    assert parsed.date_style == "mm/dd/yyyy"
    assert (parsed.rows[0].issued_on, parsed.rows[0].due_on) == (date(2025, 1, 7), date(2025, 2, 15))


def test_a_latin1_line_beyond_the_first_chunk_is_reported_on_its_line():
    good = "FA-{n},Société Fictive SARL,000144519,,,2025-01-07,2025-02-06,100.00,0.00,EUR\n"
    count = PEEK_BYTES // len(good.encode()) + 100
    body = "".join(good.format(n=n) for n in range(count)).encode("utf-8")
    bad = "FA-X,Société Latine,,,,2025-01-07,2025-02-06,100.00,0.00,EUR\n".encode("latin-1")

    parsed = parse_invoices((EN_HEADER + "\n").encode() + body + bad)

    assert len(parsed.rows) == count
    assert errors_of(parsed) == {(count + 2, "debtor_name", "invalid_utf8")}


class CountingStream(io.RawIOBase):
    """A large export that counts how many of its bytes were read."""

    def __init__(self, data: bytes) -> None:
        self._inner = io.BytesIO(data)
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk = self._inner.read(size)
        self.bytes_read += len(chunk)
        return chunk


def test_the_first_invoice_comes_before_the_whole_stream_is_read():
    rows = "".join(GOOD_EN_ROW.replace("FA-1", f"FA-{n}") + "\n" for n in range(40_000))
    stream = CountingStream((EN_HEADER + "\n" + rows).encode())

    items = read_invoices(stream)
    first = next(items)

    assert isinstance(first, InvoiceRow)
    assert stream.bytes_read < len(rows) // 2
    assert sum(1 for _ in items) == 39_999
