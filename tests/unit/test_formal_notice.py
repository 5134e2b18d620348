"""The formal notice claims exactly what the late-fee engine computes on the letter date."""

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from relance.adapters.rate_tables import load_rules
from relance.domain.errors import UnknownJurisdiction
from relance.domain.invoices import Invoice
from relance.domain.late_fees import LateFeeClaim, compute_late_fees
from relance.domain.letters import (
    InvalidNoticeDeadline,
    InvoiceOfAnotherDebtor,
    NothingOverdue,
    build_formal_notice,
    jurisdiction_for,
)
from relance.domain.money import Money
from relance.domain.parties import Creditor, Debtor, PartyKind

PACK = Path(__file__).resolve().parents[3] / "shared" / "domain"
RATES, RULES = load_rules()
PROVISIONAL_RATES, _ = load_rules(provisional=True)

with (PACK / "late_fee_vectors.csv").open(encoding="utf-8", newline="") as handle:
    VECTORS = [
        row for row in csv.DictReader(handle)
        if row["id"] not in {"FR-B2B-05", "FR-B2B-07"}  # not late on the letter date; partial payments
    ]


def money(text: str, currency: str = "EUR") -> Money:
    return Money.from_decimal(Decimal(text), currency)


def a_creditor(country: str = "FR") -> Creditor:
    return Creditor("cred-1", "Atelier Dupont SARL", siren="552100554", country=country,
                    address="12 rue de la Paix\n75002 Paris", contact_email="compta@atelier-dupont.fr")


def a_debtor(kind: PartyKind = PartyKind.BUSINESS) -> Debtor:
    return Debtor("cred-1", "debtor-1", "Bâtiments Martin SAS", kind=kind, company_id="732829320",
                  address="3 allée des Chênes, 69003 Lyon")


def an_invoice(
    number: str = "F-2025-014",
    total: str = "12000.00",
    due_on: date = date(2025, 3, 31),
    paid: str = "0.00",
    currency: str = "EUR",
    debtor_id: str = "debtor-1",
) -> Invoice:
    return Invoice("cred-1", debtor_id, number, date(2025, 3, 1), due_on, money(total, currency),
                   money(paid, currency))


def a_notice(invoices, letter_on=date(2025, 6, 15), debtor=None, creditor=None, rates=RATES, language="fr"):
    return build_formal_notice(
        creditor or a_creditor(), debtor or a_debtor(), invoices, letter_on, 8, rates, RULES, language,
        "MED-2025-0001",
    )


@pytest.mark.parametrize("vector", VECTORS, ids=[vector["id"] for vector in VECTORS])
def test_each_invoice_claims_what_the_late_fee_engine_computes_on_the_letter_date(vector):
    currency = vector["currency"]
    invoice = an_invoice(total=vector["principal"], due_on=date.fromisoformat(vector["due_date"]),
                         currency=currency)
    letter_on = date.fromisoformat(vector["paid_date"])
    creditor = a_creditor("GB" if vector["jurisdiction"] == "UK" else "FR")
    engine = compute_late_fees(
        LateFeeClaim(invoice.balance, invoice.due_on, vector["jurisdiction"]), letter_on, RATES, RULES
    )

    line, = a_notice([invoice], letter_on=letter_on, creditor=creditor).lines

    assert (line.interest, line.indemnity, line.segments) == (
        engine.late_interest, engine.recovery_fee, engine.segments
    )
    assert (line.interest, line.indemnity) == (
        money(vector["expected_interest"], currency), money(vector["expected_indemnity"], currency)
    )


def test_the_reference_invoice_claims_328_57_interest_and_40_euros_on_15_june_2025():
    invoice = an_invoice(total="12000.00", due_on=date(2025, 3, 31))

    notice = a_notice([invoice], letter_on=date(2025, 6, 15))

    line, = notice.lines
    assert (line.principal, line.interest, line.indemnity) == (
        money("12000.00"), money("328.57"), money("40.00")
    )
    assert line.total == money("12368.57")


def test_the_deadline_is_the_given_number_of_days_after_the_letter():
    notice = a_notice([an_invoice()], letter_on=date(2025, 6, 15))

    assert notice.deadline_on == date(2025, 6, 23)
    assert notice.deadline_days == 8


def test_a_deadline_of_zero_days_is_refused():
    with pytest.raises(InvalidNoticeDeadline):
        build_formal_notice(a_creditor(), a_debtor(), [an_invoice()], date(2025, 6, 15), 0, RATES, RULES,
                            "fr", "MED-1")


def test_a_consumer_notice_claims_no_indemnity_and_no_interest_on_its_own_date():
    invoice = an_invoice(total="990.00", due_on=date(2025, 3, 31))

    notice = a_notice([invoice], debtor=a_debtor(PartyKind.CONSUMER))

    line, = notice.lines
    assert (line.principal, line.interest, line.indemnity, line.segments) == (
        money("990.00"), money("0.00"), money("0.00"), ()
    )
    assert notice.is_consumer


def test_a_consumer_notice_rests_on_the_civil_code():
    notice = a_notice([an_invoice()], debtor=a_debtor(PartyKind.CONSUMER))

    assert notice.legal_basis == "articles 1231-6 et 1344 du Code civil"


def test_a_business_notice_rests_on_the_commercial_code_in_the_letter_language():
    french = a_notice([an_invoice()], language="fr")
    english = a_notice([an_invoice()], language="en")

    assert "L441-10" in french.legal_basis and "D441-5" in french.legal_basis
    assert "Code de commerce" in french.legal_basis
    assert english.legal_basis.startswith("Articles L441-10 and D441-5 of the French Commercial Code")


def test_a_uk_creditor_claims_under_the_1998_act_with_its_fixed_sum():
    invoice = an_invoice(total="8500.00", due_on=date(2025, 7, 31), currency="GBP")

    notice = a_notice([invoice], letter_on=date(2025, 10, 14), creditor=a_creditor("GB"), language="en")

    assert notice.jurisdiction == "UK"
    assert notice.legal_basis == "Late Payment of Commercial Debts (Interest) Act 1998"
    assert notice.lines[0].indemnity == money("70.00", "GBP")


def test_notice_carries_the_provisional_flag_when_a_rate_is_carried_forward():
    invoice = an_invoice(total="990.00", due_on=date(2026, 5, 31))

    notice = a_notice([invoice], letter_on=date(2026, 9, 15), rates=PROVISIONAL_RATES)

    assert notice.provisional is True
    assert notice.lines[0].is_provisional


def test_notice_on_published_rates_is_not_provisional():
    notice = a_notice([an_invoice()], rates=PROVISIONAL_RATES)

    assert notice.provisional is False


def test_a_partly_paid_invoice_is_claimed_for_its_balance_only():
    invoice = an_invoice(total="12000.00", paid="2000.00")
    engine = compute_late_fees(LateFeeClaim(money("10000.00"), invoice.due_on, "FR"), date(2025, 6, 15),
                               RATES, RULES)

    line, = a_notice([invoice]).lines

    assert line.principal == money("10000.00")
    assert line.interest == engine.late_interest


def test_paid_and_not_yet_due_invoices_are_left_out_of_the_notice():
    late = an_invoice("F-LATE")
    paid = an_invoice("F-PAID", paid="12000.00")
    not_due = an_invoice("F-NOT-DUE", due_on=date(2025, 6, 15))

    notice = a_notice([not_due, paid, late], letter_on=date(2025, 6, 15))

    assert [line.number for line in notice.lines] == ["F-LATE"]


def test_lines_come_in_due_date_order_and_totals_add_up():
    first = an_invoice("F-2", total="5000.00", due_on=date(2025, 3, 10))
    second = an_invoice("F-1", total="12000.00", due_on=date(2025, 3, 31))

    notice = a_notice([second, first])

    assert [line.number for line in notice.lines] == ["F-2", "F-1"]
    eur, = notice.totals
    assert eur.principal == money("17000.00")
    assert eur.interest == notice.lines[0].interest + notice.lines[1].interest
    assert eur.indemnity == money("80.00")
    assert eur.total == notice.lines[0].total + notice.lines[1].total


def test_no_notice_when_nothing_is_overdue():
    with pytest.raises(NothingOverdue):
        a_notice([an_invoice(paid="12000.00")])


def test_an_invoice_of_another_debtor_is_refused():
    with pytest.raises(InvoiceOfAnotherDebtor):
        a_notice([an_invoice(debtor_id="someone-else")])


@pytest.mark.parametrize(
    ("country", "expected"),
    [("FR", "FR"), ("GB", "UK"), ("uk", "UK"), ("DE", "DE"), ("AT", "EU")],
)
def test_the_creditor_country_picks_the_rules(country, expected):
    assert jurisdiction_for(country, RULES) == expected


def test_a_creditor_outside_france_the_uk_and_the_eu_has_no_rules():
    with pytest.raises(UnknownJurisdiction):
        jurisdiction_for("US", RULES)
