"""The API's pure rules: invoices checked like an export's rows, paths in errors, cursors, dunning state."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relance.domain.api_requests import (
    InvalidCursor,
    InvoiceFields,
    RequestRefused,
    check_invoices,
    decode_cursor,
    dunning_state,
    encode_cursor,
)
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.parties import Debtor

AN_INVOICE = InvoiceFields(
    invoice_number="F-001",
    debtor_name="Boulangerie Martin SARL",
    invoice_date=date(2025, 10, 1),
    due_date=date(2025, 10, 31),
    amount_total_minor=120_000,
    currency="eur",
    siren="732 829 320",
    email="Compta@Martin.Example.FR",
)


def test_a_valid_invoice_becomes_the_same_row_an_export_would_give():
    (row,) = check_invoices([AN_INVOICE])

    assert (row.line, row.invoice_number, row.company_id) == (1, "F-001", "732829320")
    assert (row.total, row.paid) == (Money(120_000, "EUR"), Money(0, "EUR"))
    assert row.email == "Compta@martin.example.fr"


def test_every_problem_of_every_invoice_is_named_by_its_path():
    bad = replace(AN_INVOICE, invoice_number="F-002", due_date=date(2025, 9, 1), amount_total_minor=0,
                  currency="XYZ", phone="call me", debtor_name="=HYPERLINK(evil)")

    with pytest.raises(RequestRefused) as refused:
        check_invoices([AN_INVOICE, bad, AN_INVOICE])

    assert {(p.path, p.code) for p in refused.value.problems} == {
        ("invoices[1].due_date", "due_before_invoice_date"),
        ("invoices[1].amount_total_minor", "zero_amount"),
        ("invoices[1].currency", "unknown_currency"),
        ("invoices[1].phone", "invalid_phone"),
        ("invoices[1].debtor_name", "formula_injection"),
        ("invoices[2].invoice_number", "duplicate_invoice_number"),
    }


def test_an_amount_paid_above_the_total_is_refused_like_in_an_export():
    with pytest.raises(RequestRefused) as refused:
        check_invoices([replace(AN_INVOICE, amount_paid_minor=120_001)])

    assert [(p.path, p.code) for p in refused.value.problems] == [
        ("invoices[0].amount_paid_minor", "paid_exceeds_total")]


@given(st.integers(min_value=0, max_value=10**12 - 1))
def test_a_cursor_gives_back_the_sequence_number_it_was_made_from(seq):
    assert decode_cursor(encode_cursor(seq)) == seq


@given(st.text(max_size=40))
def test_any_text_as_a_cursor_is_refused_or_read_as_a_sequence_number_never_a_crash(text):
    try:
        seq = decode_cursor(text)
    except InvalidCursor:
        return

    assert 0 <= seq < 10**12


def test_the_dunning_state_names_what_holds_the_debtor_today():
    today = date(2025, 12, 1)
    debtor = Debtor("acme", "d1", "Martin", dunning_paused_until=date(2025, 12, 5))
    base = Invoice("acme", "d1", "F-1", date(2025, 10, 1), date(2025, 10, 31), Money(100_00, "EUR"),
                   Money(0, "EUR"))
    invoices = [
        replace(base, number="F-1", disputed=True),
        replace(base, number="F-2", promised_on=date(2025, 12, 10), next_action_on=date(2025, 12, 15),
                last_step="reminder_1", last_step_on=date(2025, 11, 10)),
        replace(base, number="F-3", in_plan=True, next_action_on=date(2025, 12, 3)),
    ]

    state = dunning_state(debtor, invoices, today)

    assert state.paused_until == date(2025, 12, 5)
    assert state.next_action_on == date(2025, 12, 3)
    assert state.last_step == "reminder_1"
    assert state.disputed_invoices == ("F-1",)
    assert state.promised_until == date(2025, 12, 10)
    assert state.in_plan_invoices == ("F-3",)
    assert dunning_state(debtor, invoices, date(2025, 12, 6)).paused_until is None


def test_the_apis_keys_stay_out_of_a_debtors_invoice_range_and_never_hold_a_key_text():
    from relance.adapters import keys

    credit_note = keys.credit_note_sk("AV-1")
    api_key = keys.api_key_key("ab" * 32)

    assert not keys.DEBTOR_SK <= credit_note <= keys.invoice_sk("\uffff")  # AP1 never reads it
    assert api_key == {"PK": f"APIKEY#{'ab' * 32}", "SK": "APIKEY"}
    assert keys.api_keys_pk("acme") == "CRED#acme#APIKEYS"
