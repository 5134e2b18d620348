"""The statement of account: open invoices, totals per currency, and a CSV file a spreadsheet opens safely."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relance.adapters.rate_tables import load_rules
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.parties import Creditor, Debtor
from relance.domain.policy import Channel, DunningPolicy, PolicyStep
from relance.domain.statement import (
    Standing,
    accrued_late_fees,
    build_statement,
    csv_safe,
    policy_claims_late_fees,
    recently_paid,
    standing_of,
    statement_csv,
)

CREDITOR = Creditor("acme", "Acme Fournitures SAS")
DEBTOR = Debtor("acme", "d-1", "Boulangerie Dupont")
TODAY = date(2025, 6, 30)


def an_invoice(number: str, total: int, paid: int = 0, due_on: date = date(2025, 5, 31), currency: str = "EUR",
               **changes) -> Invoice:
    invoice = Invoice("acme", "d-1", number, date(2025, 5, 1), due_on, Money(total, currency), Money(paid, currency))
    return replace(invoice, **changes)


def rows(data: bytes, delimiter: str) -> list[list[str]]:
    assert data.startswith("\ufeff".encode())  # Excel needs the BOM to read UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=delimiter))


def test_the_statement_lists_open_invoices_oldest_first_and_totals_each_currency_apart():
    invoices = [an_invoice("F-2", 300_00, due_on=date(2025, 7, 15)), an_invoice("F-1", 1_000_00, paid=250_50),
                an_invoice("F-0", 500_00, paid=500_00), an_invoice("G-1", 120_00, currency="GBP")]

    statement = build_statement(CREDITOR, DEBTOR, invoices, TODAY)

    assert [line.number for line in statement.lines] == ["F-1", "G-1", "F-2"]
    assert [(t.currency, t.balance.minor, t.overdue.minor) for t in statement.totals] == [
        ("EUR", 1_049_50, 749_50), ("GBP", 120_00, 120_00)]


def test_french_csv_uses_semicolons_and_decimal_commas():
    statement = build_statement(CREDITOR, DEBTOR, [an_invoice("F-1", 1_234_50, paid=34_50)], TODAY)

    table = rows(statement_csv(statement, "fr"), ";")

    assert table[0][0] == "Facture"
    assert table[1] == ["F-1", "2025-05-01", "2025-05-31", "EUR", "1234,50", "34,50", "1200,00", "30", "En retard"]
    assert table[2][:7] == ["Total", "", "", "EUR", "", "", "1200,00"]


def test_english_csv_uses_commas_and_decimal_points():
    statement = build_statement(CREDITOR, DEBTOR, [an_invoice("F-1", 1_234_50, paid=34_50)], TODAY)

    table = rows(statement_csv(statement, "en"), ",")

    assert table[0][0] == "Invoice"
    assert table[1][4:9] == ["1234.50", "34.50", "1200.00", "30", "Overdue"]


def test_a_yen_amount_has_no_decimals():
    statement = build_statement(CREDITOR, DEBTOR, [an_invoice("J-1", 15_000, currency="JPY")], TODAY)

    assert rows(statement_csv(statement, "fr"), ";")[1][4] == "15000"


@pytest.mark.parametrize("number", ["=HYPERLINK(\"http://evil\")", "+33 1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_an_invoice_number_that_looks_like_a_formula_is_written_as_text(number):
    statement = build_statement(CREDITOR, DEBTOR, [an_invoice(number, 100_00)], TODAY)

    for language, delimiter in (("fr", ";"), ("en", ",")):
        assert rows(statement_csv(statement, language), delimiter)[1][0] == f"'{number}"


@given(st.text())
def test_no_csv_cell_ever_starts_like_a_formula(cell):
    assert not csv_safe(cell).startswith(("=", "+", "-", "@", "\t", "\r"))


def test_a_harmless_cell_is_left_as_it_is():
    assert csv_safe("FA-2025-001") == "FA-2025-001"


def test_standing_reads_paid_disputed_plan_promised_overdue_and_not_due():
    assert standing_of(an_invoice("F", 100, paid=100), TODAY) is Standing.PAID
    assert standing_of(an_invoice("F", 100, disputed=True), TODAY) is Standing.DISPUTED
    assert standing_of(an_invoice("F", 100, in_plan=True), TODAY) is Standing.IN_PLAN
    assert standing_of(an_invoice("F", 100, promised_on=date(2025, 7, 5)), TODAY) is Standing.PROMISED
    assert standing_of(an_invoice("F", 100, promised_on=date(2025, 6, 1)), TODAY) is Standing.OVERDUE
    assert standing_of(an_invoice("F", 100, due_on=date(2025, 7, 5)), TODAY) is Standing.NOT_DUE


def test_recently_paid_lists_at_most_twenty_settled_invoices_newest_first():
    paid = [an_invoice(f"F-{n:02d}", 100, paid=100, due_on=date(2025, 1, 1 + n)) for n in range(25)]

    listed = recently_paid([*paid, an_invoice("OPEN", 100)])

    assert [i.number for i in listed] == [f"F-{n:02d}" for n in range(24, 4, -1)]


def test_late_fees_accrued_are_what_the_formal_notice_would_claim_today():
    rates, rulebook = load_rules()

    fees = accrued_late_fees(CREDITOR, DEBTOR, [an_invoice("F-1", 10_000_00), an_invoice("F-2", 50_00, paid=50_00)],
                             TODAY, rates, rulebook)

    (eur,) = fees
    assert eur.recovery_fee == Money(40_00, "EUR")  # Code de commerce D441-5: 40 € per late invoice
    assert eur.late_interest.is_positive()
    assert eur.total == eur.late_interest + eur.recovery_fee


def test_only_a_ladder_with_a_formal_notice_claims_late_fees():
    friendly = DunningPolicy("p", "Friendly", (PolicyStep("r1", 7, Channel.EMAIL, "courtesy"),))
    firm = replace(friendly, steps=(*friendly.steps, PolicyStep("fn", 40, Channel.FORMAL_NOTICE, "formal")))

    assert not policy_claims_late_fees(friendly)
    assert policy_claims_late_fees(firm)
