"""Properties of the export reader: whatever the writing, the same amounts and dates; whatever the bytes, no crash."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relance.domain.csv_invoices import InvoiceRow, RowError, SkippedLine, parse_invoices
from relance.domain.errors import InvalidField, InvalidImportFile
from relance.domain.parsing import (
    DATE_DMY,
    DATE_ISO,
    DECIMAL_COMMA,
    DECIMAL_DOT,
    MAX_YEAR,
    MIN_YEAR,
    luhn_valid,
    parse_amount,
    parse_date,
    parse_siren,
)

THOUSANDS_SEPARATORS = ("", " ", "\u00a0", "\u202f")
EN_HEADER = "invoice_number,debtor_name,siren,email,phone,invoice_date,due_date,amount_total,amount_paid,currency"
FR_HEADER = "N° facture;Client;SIREN;Email;Téléphone;Date facture;Échéance;Montant TTC;Déjà réglé;Devise"

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**10), places=2)
business_dates = st.dates(min_value=date(MIN_YEAR, 1, 1), max_value=date(MAX_YEAR, 12, 31))


def grouped(units: int, separator: str) -> str:
    digits = str(units)
    groups = [digits[max(0, end - 3) : end] for end in range(len(digits), 0, -3)]
    return separator.join(reversed(groups))


def french(amount: Decimal, separator: str) -> str:
    units, cents = divmod(int(amount * 100), 100)
    return f"{grouped(units, separator)},{cents:02d}"


def english(amount: Decimal, separator: str) -> str:
    units, cents = divmod(int(amount * 100), 100)
    return f"{grouped(units, separator)}.{cents:02d}"


@given(amount=amounts, separator=st.sampled_from(THOUSANDS_SEPARATORS))
def test_a_french_amount_reads_back_to_the_same_minor_units(amount, separator):
    text = french(amount, separator)

    assert parse_amount(text, DECIMAL_COMMA, "EUR").minor == int(amount * 100)


@given(amount=amounts, separator=st.sampled_from(("", ",")))
def test_an_english_amount_reads_back_to_the_same_minor_units(amount, separator):
    text = english(amount, separator)

    assert parse_amount(text, DECIMAL_DOT, "GBP").minor == int(amount * 100)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(amount=amounts, paid_share=st.integers(0, 100), separator=st.sampled_from(THOUSANDS_SEPARATORS))
def test_the_french_and_english_files_of_one_invoice_give_the_same_row(amount, paid_share, separator):
    paid = (amount * paid_share / 100).quantize(Decimal("0.01"))
    french_file = (
        f"{FR_HEADER}\nFA-1;Fictive SARL;000 144 519;;;07/01/2025;06/02/2025;"
        f"{french(amount, separator)};{french(paid, separator)};EUR\n"
    )
    english_file = (
        f"{EN_HEADER}\nFA-1,Fictive SARL,000144519,,,2025-01-07,2025-02-06,"
        f"{english(amount, '')},{english(paid, '')},EUR\n"
    )

    from_french = parse_invoices(french_file.encode("utf-8-sig"))
    from_english = parse_invoices(english_file.encode("utf-8"))

    assert from_french.errors == from_english.errors == ()
    assert from_french.rows == from_english.rows
    assert from_french.rows[0].total.minor == int(amount * 100)


@given(day=business_dates)
def test_a_date_written_day_first_or_iso_reads_back(day):
    day_first = f"{day.day:02d}/{day.month:02d}/{day.year:04d}"

    assert parse_date(day_first, DATE_DMY) == day
    assert parse_date(day.isoformat(), DATE_DMY) == day
    assert parse_date(day.isoformat(), DATE_ISO) == day


@given(day=business_dates)
def test_a_day_first_date_in_an_iso_file_is_never_read_silently(day):
    day_first = f"{day.day:02d}/{day.month:02d}/{day.year:04d}"

    try:
        parse_date(day_first, DATE_ISO)
    except InvalidField as problem:
        assert problem.defect == "date_not_iso"
    else:
        raise AssertionError(f"{day_first} was read in an ISO file")


@given(body=st.text(alphabet="0123456789", min_size=8, max_size=8), position=st.integers(0, 8),
       shift=st.integers(1, 9), spaced=st.booleans())
def test_a_siren_with_one_mistyped_digit_is_always_refused(body, position, shift, spaced):
    siren = next(body + check for check in "0123456789" if luhn_valid(body + check))
    typo = siren[:position] + str((int(siren[position]) + shift) % 10) + siren[position + 1 :]
    written = f"{siren[:3]} {siren[3:6]} {siren[6:]}" if spaced else siren

    assert parse_siren(written) == siren
    try:
        parse_siren(typo)
    except InvalidField as problem:
        assert problem.defect == "invalid_siren"
    else:
        raise AssertionError(f"{typo} accepted")


def check_only_declared_outcomes(data: bytes) -> None:
    try:
        parsed = parse_invoices(data)
    except InvalidImportFile:
        return
    for item in (*parsed.rows, *parsed.errors, *parsed.skipped):
        assert type(item) in (InvoiceRow, RowError, SkippedLine)
        assert item.line >= 1


@settings(max_examples=300)
@given(data=st.binary(max_size=2_000))
def test_random_bytes_never_raise_anything_but_invalid_import_file(data):
    check_only_declared_outcomes(data)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    header=st.sampled_from([EN_HEADER.encode(), FR_HEADER.encode("utf-8-sig"), FR_HEADER.encode("cp1252")]),
    newline=st.sampled_from([b"\n", b"\r\n", b"\r"]),
    lines=st.lists(
        st.one_of(
            st.binary(max_size=120),
            st.lists(st.sampled_from(["", "=1", "0,00", "1 234,5", "-3.2", "31/02/2025", "2025-01-01",
                                      "\"", ";", ",", "EUR", "é", "Total", "000144519", "x@example.fr"]),
                     max_size=14).map(lambda cells: ";".join(cells).encode("utf-8")),
        ),
        max_size=30,
    ),
)
def test_random_rows_under_a_valid_header_never_crash_the_import(header, newline, lines):
    check_only_declared_outcomes(newline.join([header, *lines]))
