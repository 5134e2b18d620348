"""A bank's export of payments received: read like the bank writes it, matched to the right debtor and
invoices, nothing lost on the way."""

from __future__ import annotations

import codecs
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relance.domain import bank_payments
from relance.domain.bank_payments import (
    BankPayment,
    DebtorAccount,
    MatchKind,
    UnmatchedReason,
    line_ids,
    match_payments,
    parse_bank_payments,
)
from relance.domain.errors import InvalidImportFile
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.services import payments as payment_service

TODAY = date(2026, 11, 23)


def eur(minor: int) -> Money:
    return Money(minor, "EUR")


def an_invoice(debtor_id: str, number: str, total: int, paid: int = 0, due_on: date = date(2026, 10, 1),
               currency: str = "EUR") -> Invoice:
    return Invoice("acme", debtor_id, number, due_on - timedelta(days=30), due_on, Money(total, currency),
                   Money(paid, currency))


def a_payment(amount: int, reference: str = "", payer: str = "", line: int = 2,
              received_on: date = date(2026, 11, 20)) -> BankPayment:
    return BankPayment(line, received_on, eur(amount), reference or payer, payer)


DUPONT = DebtorAccount("d-dupont", "Boulangerie Dupont SARL", (
    an_invoice("d-dupont", "FA-2026-001", 1_250_00, due_on=date(2026, 9, 1)),
    an_invoice("d-dupont", "FA-2026-002", 840_50, due_on=date(2026, 10, 1)),
))
MARTIN = DebtorAccount("d-martin", "Garage Martin", (
    an_invoice("d-martin", "FA-2026-010", 300_00),
    an_invoice("d-martin", "F1", 99_00),
))


# --- reading the file -------------------------------------------------------------------------------

FRENCH_EXPORT = (
    "Relevé du compte courant n° 0001234;;;\n"
    "Date;Libellé;Émetteur;Montant;Débit\n"
    "20/11/2026;VIR SEPA FA-2026-001;BOULANGERIE DUPONT;1 250,00;\n"
    "\n"
    "21/11/2026;PRLV URSSAF;URSSAF;;-1 500,00\n"
    "22/11/2026;VIR Facture 2026 002;Crème & Café;\u00a0840,50;\n"
)


def test_a_french_export_with_bom_title_line_and_decimal_commas_is_read_line_by_line():
    data = codecs.BOM_UTF8 + FRENCH_EXPORT.encode("utf-8")

    parsed = parse_bank_payments(data, TODAY)

    assert [(p.line, p.received_on, p.amount, p.reference, p.payer) for p in parsed.payments] == [
        (3, date(2026, 11, 20), eur(1_250_00), "VIR SEPA FA-2026-001", "BOULANGERIE DUPONT"),
        (6, date(2026, 11, 22), eur(840_50), "VIR Facture 2026 002", "Crème & Café"),
    ]
    assert parsed.skipped == ((4, "blank_line"), (5, "debit"))
    assert parsed.errors == ()
    assert (parsed.delimiter, parsed.decimal_style) == (";", "comma")


def test_a_windows_1252_export_keeps_its_accents():
    parsed = parse_bank_payments(FRENCH_EXPORT.encode("cp1252"), TODAY)

    assert parsed.encoding == "cp1252"
    assert parsed.payments[1].payer == "Crème & Café"


def test_an_english_export_with_decimal_points_and_iso_dates_is_read():
    data = b"date,amount,reference,payer,currency\n2026-11-20,\"1,250.00\",INV 77,Acme Ltd,eur\n"

    parsed = parse_bank_payments(data, TODAY)

    assert [(p.received_on, p.amount) for p in parsed.payments] == [(date(2026, 11, 20), eur(1_250_00))]


def test_every_problem_of_a_line_is_reported_on_that_line_and_the_other_lines_still_count():
    data = ("Date;Libellé;Montant\n"
            "31/02/2026;VIR A;12,5x\n"
            "24/11/2026;VIR B;10,00\n"
            "01/01/2020;VIR C;10,00\n"
            "20/11/2026;VIR D;10,00\n").encode()

    parsed = parse_bank_payments(data, TODAY)

    assert [(e.line, e.field, e.code) for e in parsed.errors] == [
        (2, "amount", "non_numeric_amount"), (2, "received_on", "unparseable_date"),
        (3, "received_on", "in_the_future"), (4, "received_on", "too_old"),
    ]
    assert [p.line for p in parsed.payments] == [5]


def test_a_label_starting_like_a_formula_keeps_its_text_without_the_sign():
    data = "Date;Libellé;Montant\n20/11/2026;+++123/4567/89012+++;10,00\n20/11/2026;=HYPERLINK(1);5,00\n".encode()

    parsed = parse_bank_payments(data, TODAY)

    assert [p.reference for p in parsed.payments] == ["123/4567/89012+++", "HYPERLINK(1)"]


def test_a_file_without_the_date_amount_and_reference_columns_is_refused_whole():
    with pytest.raises(InvalidImportFile):
        parse_bank_payments(b"invoice_number;amount_total\nF1;10,00\n", TODAY)


def test_the_age_limit_is_the_one_of_payments_recorded_by_hand():
    assert bank_payments.MAX_PAYMENT_AGE_DAYS == payment_service.MAX_PAYMENT_AGE_DAYS


# --- a line's identity --------------------------------------------------------------------------------


def test_the_same_credit_keeps_its_id_when_a_later_export_moves_it_and_twins_are_told_apart():
    first = a_payment(10_00, "VIR A", line=2)
    twin = a_payment(10_00, "VIR A", line=3)
    moved = a_payment(10_00, "VIR A", line=9)

    ids = line_ids("acme", [first, twin])

    assert ids[0] != ids[1]
    assert line_ids("acme", [moved]) == [ids[0]]
    assert line_ids("other", [first]) != [ids[0]]


# --- matching -----------------------------------------------------------------------------------------


def test_a_reference_names_an_invoice_whatever_its_spaces_dashes_and_case():
    [match] = match_payments([a_payment(1_250_00, "vir sepa fa 2026001 merci")], [DUPONT, MARTIN])

    assert (match.kind, match.debtor_id, match.numbers, match.by) == (
        MatchKind.EXACT, "d-dupont", ("FA-2026-001",), "reference")


def test_a_short_invoice_number_is_not_found_inside_a_longer_word():
    [match] = match_payments([a_payment(99_00, "VIR F12 ET F100")], [MARTIN])

    assert match.kind is MatchKind.UNMATCHED


def test_less_than_the_invoice_leaves_the_rest_owed_and_more_leaves_a_credit():
    partial, overpaid = match_payments([a_payment(500_00, "FA-2026-001"), a_payment(400_00, "FA-2026-010")],
                                       [DUPONT, MARTIN])

    assert partial.kind is MatchKind.PARTIAL
    assert [(a.invoice_number, a.amount) for a in partial.allocation.allocations] == [("FA-2026-001", eur(500_00))]
    assert overpaid.kind is MatchKind.OVERPAID
    assert overpaid.allocation.unallocated == eur(100_00)


def test_a_reference_naming_invoices_of_two_debtors_waits_for_finance():
    [match] = match_payments([a_payment(1_550_00, "FA-2026-001 FA-2026-010")], [DUPONT, MARTIN])

    assert (match.kind, match.reason) == (MatchKind.UNMATCHED, UnmatchedReason.SEVERAL_DEBTORS)
    assert match.candidates == ("d-dupont", "d-martin")  # finance is shown both


def test_without_a_reference_the_payer_and_one_invoice_balance_find_the_invoice():
    [match] = match_payments([a_payment(840_50, "VIREMENT", payer="STE BOULANGERIE DUPONT")], [DUPONT, MARTIN])

    assert (match.kind, match.debtor_id, match.numbers, match.by) == (
        MatchKind.EXACT, "d-dupont", ("FA-2026-002",), "amount")


def test_the_payer_paying_everything_they_owe_pays_every_invoice():
    [match] = match_payments([a_payment(2_090_50, "VIREMENT", payer="Boulangerie Dupont")], [DUPONT, MARTIN])

    assert match.numbers == ("FA-2026-001", "FA-2026-002")
    assert match.kind is MatchKind.EXACT


def test_a_known_payer_with_an_amount_matching_nothing_waits_for_finance():
    [match] = match_payments([a_payment(12_00, "VIREMENT", payer="Boulangerie Dupont")], [DUPONT, MARTIN])

    assert (match.kind, match.reason) == (MatchKind.UNMATCHED, UnmatchedReason.AMOUNT_DIFFERS)
    assert match.candidates == ("d-dupont",)  # suggested to finance


def test_a_stranger_waits_for_finance():
    [match] = match_payments([a_payment(840_50, "REMBOURSEMENT", payer="Assurances Générales")], [DUPONT, MARTIN])

    assert (match.kind, match.reason) == (MatchKind.UNMATCHED, UnmatchedReason.NO_MATCH)
    assert match.candidates == ()


def test_two_lines_cannot_both_pay_the_same_balance():
    first, second = match_payments([a_payment(300_00, "FA-2026-010"), a_payment(300_00, "FA-2026-010")], [MARTIN])

    assert first.kind is MatchKind.EXACT
    assert second.kind is MatchKind.UNMATCHED


# --- properties ---------------------------------------------------------------------------------------

_balances = st.lists(st.integers(min_value=1, max_value=500_00), min_size=1, max_size=4)


@st.composite
def _worlds(draw):
    accounts = []
    for index, balances in enumerate(draw(st.lists(_balances, min_size=1, max_size=4))):
        debtor_id = f"d-{index}"
        invoices = tuple(an_invoice(debtor_id, f"F-{index}-{n}", minor, due_on=date(2026, 1, 1) + timedelta(days=n))
                         for n, minor in enumerate(balances))
        accounts.append(DebtorAccount(debtor_id, f"Client {chr(65 + index)} Numero {index}", invoices))
    numbers = [i.number for a in accounts for i in a.invoices]
    names = [a.name for a in accounts] + ["Inconnu"]
    payments = [BankPayment(line, date(2026, 11, 20), eur(draw(st.integers(min_value=1, max_value=2_000_00))),
                            draw(st.sampled_from(numbers + ["VIREMENT"])) + " " + draw(st.sampled_from(numbers + [""])),
                            draw(st.sampled_from(names)))
                for line in range(2, 2 + draw(st.integers(min_value=1, max_value=6)))]
    return accounts, payments


@settings(max_examples=200, deadline=None)
@given(world=_worlds())
def test_matching_conserves_money_and_never_pays_another_debtors_invoice_or_more_than_is_owed(world):
    accounts, payments = world
    owner = {i.number: a.debtor_id for a in accounts for i in a.invoices}
    balance = {i.number: i.balance.minor for a in accounts for i in a.invoices}

    matches = match_payments(payments, accounts)

    paid: dict[str, int] = {}
    for match in matches:
        if match.kind is MatchKind.UNMATCHED:
            assert match.debtor_id is None and match.allocation is None
            continue
        allocation = match.allocation
        assert allocation.allocated + allocation.unallocated == match.payment.amount
        assert all(owner[a.invoice_number] == match.debtor_id for a in allocation.allocations)
        assert set(match.numbers) >= {a.invoice_number for a in allocation.allocations}
        for a in allocation.allocations:
            paid[a.invoice_number] = paid.get(a.invoice_number, 0) + a.amount.minor
        assert (match.kind is MatchKind.OVERPAID) == allocation.unallocated.is_positive()
    assert all(paid[number] <= balance[number] for number in paid)


def test_the_queue_keys_sort_oldest_payment_first_and_stay_out_of_debtor_partitions():
    from relance.adapters import keys

    older = keys.unmatched_payment_key("acme", "2026-11-02#bank-b")
    newer = keys.unmatched_payment_key("acme", "2026-11-10#bank-a")

    assert older["PK"] == newer["PK"] == "CRED#acme#BANKQUEUE"
    assert older["SK"] < newer["SK"]
    assert not keys.bank_line_key("acme", "bank-a")["PK"].startswith(keys.debtor_pk("acme", ""))


def test_a_payer_is_a_debtor_whatever_the_legal_form_case_and_accents_but_not_by_one_shared_word():
    from relance.domain.bank_payments import payer_is

    assert payer_is("Boulangerie Dupont SARL", "STE BOULANGERIE DUPONT")
    assert payer_is("Crème & Café Lumière", "CREME CAFE LUMIERE")
    assert payer_is("Transports Leroy et Fils", "TRANSPORTS LEROY")  # a bank's shortened name
    assert not payer_is("Garage Martin", "MARTIN")
    assert not payer_is("Garage Martin", "M. ET MME BERNARD")
