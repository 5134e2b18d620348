"""Where a debtor's money goes: oldest invoice first, never past a balance, nothing lost, applied once."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.unit.dunning_builders import FR, LADDER

from relance.domain.errors import InvalidAllocation
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.payments import (
    Allocation,
    Payment,
    PaymentStatus,
    allocate,
    allocate_as_requested,
    fail_payment,
    hold_while_processing,
    oldest_first,
    refund_payment,
    settle_invoices,
    settle_payment,
)

TODAY = date(2025, 12, 1)


def eur(minor: int) -> Money:
    return Money(minor, "EUR")


def an_invoice(number: str, total: int, paid: int = 0, due_on: date = date(2025, 10, 1),
               issued_on: date = date(2025, 9, 1), currency: str = "EUR", **state) -> Invoice:
    return Invoice("c1", "d1", number, issued_on, due_on, Money(total, currency), Money(paid, currency), **state)


@st.composite
def invoices(draw, currencies=("EUR",)) -> list[Invoice]:
    """Up to 12 invoices with distinct numbers, some settled, dates that often tie."""
    count = draw(st.integers(min_value=0, max_value=12))
    made = []
    for n in range(count):
        total = draw(st.integers(min_value=1, max_value=10**9))
        paid = draw(st.one_of(st.just(0), st.just(total), st.integers(min_value=0, max_value=total)))
        due = date(2025, 1, 1) + timedelta(days=draw(st.integers(min_value=0, max_value=5)))
        issued = due - timedelta(days=draw(st.integers(min_value=0, max_value=3)))
        made.append(an_invoice(f"F-{draw(st.integers(0, 99)):02d}-{n}", total, paid, due, issued,
                               draw(st.sampled_from(currencies))))
    return made


amounts = st.integers(min_value=0, max_value=2 * 10**10)


def paid_in_order_key(invoice: Invoice):
    return (invoice.due_on, invoice.issued_on, invoice.number)


# allocate: an amount over the open invoices


@given(invoices(currencies=("EUR", "GBP")), amounts)
def test_allocation_adds_up_to_the_amount_to_the_cent(book, minor):
    result = allocate(eur(minor), book)

    assert sum(a.amount.minor for a in result.allocations) + result.unallocated.minor == minor
    assert result.amount == eur(minor)


@given(invoices(currencies=("EUR", "GBP")), amounts)
def test_no_invoice_gets_more_than_its_balance_nor_money_of_another_currency(book, minor):
    result = allocate(eur(minor), book)

    by_number = {i.number: i for i in book}
    assert len(set(result.numbers())) == len(result.allocations)
    for share in result.allocations:
        invoice = by_number[share.invoice_number]
        assert invoice.currency == "EUR"
        assert 0 < share.amount.minor <= invoice.balance.minor


@given(invoices(), amounts)
def test_the_oldest_invoices_are_paid_first_and_in_full(book, minor):
    result = allocate(eur(minor), book)

    open_ones = sorted((i for i in book if i.balance.is_positive()), key=paid_in_order_key)
    assert list(result.numbers()) == [i.number for i in open_ones[: len(result.allocations)]]
    for share, invoice in zip(result.allocations[:-1], open_ones, strict=False):
        assert share.amount == invoice.balance  # only the last one paid may be paid in part
    if result.unallocated.is_positive():
        assert len(result.allocations) == len(open_ones)  # a credit only once everything is paid


def test_due_date_then_issue_date_then_number_decide_the_order():
    book = [
        an_invoice("F-3", 100, due_on=date(2025, 10, 1), issued_on=date(2025, 9, 2)),
        an_invoice("F-2", 100, due_on=date(2025, 10, 1), issued_on=date(2025, 9, 1)),
        an_invoice("F-1", 100, due_on=date(2025, 11, 1), issued_on=date(2025, 8, 1)),
        an_invoice("F-0", 100, due_on=date(2025, 10, 1), issued_on=date(2025, 9, 1)),
    ]

    assert [i.number for i in oldest_first(book)] == ["F-0", "F-2", "F-3", "F-1"]
    assert allocate(eur(250), book).allocations == (
        Allocation("F-0", eur(100)), Allocation("F-2", eur(100)), Allocation("F-3", eur(50)))


def test_an_overpayment_stays_visible_as_a_credit():
    result = allocate(eur(150_00), [an_invoice("F-1", 100_00), an_invoice("F-2", 30_00, paid=10_00)])

    assert result.allocated == eur(120_00)
    assert result.unallocated == eur(30_00)


def test_a_negative_amount_is_refused():
    with pytest.raises(InvalidAllocation):
        allocate(eur(-1), [an_invoice("F-1", 100)])


# "pay these invoices"


@given(invoices(), st.data())
def test_paying_chosen_invoices_pays_exactly_their_balances(book, data):
    open_ones = [i for i in book if i.balance.is_positive()]
    chosen = data.draw(st.lists(st.sampled_from(open_ones), min_size=1, unique_by=lambda i: i.number)) \
        if open_ones else []
    if not chosen:
        return

    result = settle_invoices(book, [i.number for i in chosen])

    assert result.unallocated.is_zero()
    assert sorted(result.numbers()) == sorted(i.number for i in chosen)
    assert result.allocated.minor == sum(i.balance.minor for i in chosen)
    assert list(result.numbers()) == [i.number for i in sorted(chosen, key=paid_in_order_key)]


def test_invoices_in_two_currencies_are_paid_one_currency_at_a_time():
    book = [an_invoice("F-1", 100), an_invoice("F-2", 100, currency="GBP")]

    with pytest.raises(InvalidAllocation) as refused:
        settle_invoices(book, ["F-1", "F-2"])

    assert refused.value.params["reason"] == "mixed_currencies"


def test_a_paid_or_unknown_invoice_cannot_be_chosen():
    with pytest.raises(InvalidAllocation) as refused:
        settle_invoices([an_invoice("F-1", 100, paid=100)], ["F-1", "F-9"])

    assert refused.value.params["numbers"] == ["F-1", "F-9"]


# a payment made for a selection, re-checked when the money arrives


@given(invoices(), st.data())
def test_a_payment_never_pays_more_than_was_asked_or_is_owed_and_loses_nothing(book, data):
    open_ones = [i for i in book if i.balance.is_positive()]
    requested = [Allocation(i.number, eur(data.draw(st.integers(1, 2 * i.total.minor)))) for i in open_ones
                 if data.draw(st.booleans())]
    minor = data.draw(amounts)

    result = allocate_as_requested(eur(minor), requested, book)

    asked = {a.invoice_number: a.amount.minor for a in requested} or {i.number: minor for i in book}
    balances = {i.number: i.balance.minor for i in book}
    assert sum(a.amount.minor for a in result.allocations) + result.unallocated.minor == minor
    for share in result.allocations:
        assert 0 < share.amount.minor <= min(asked[share.invoice_number], balances[share.invoice_number])


def a_payment(requested: list[Allocation], amount: int, payment_id: str = "pi_1",
              status: PaymentStatus = PaymentStatus.PROCESSING) -> Payment:
    """A payment Stripe told us about and that is not applied yet."""
    return Payment(payment_id, "c1", "d1", eur(amount), status, tuple(requested))


@given(invoices(), amounts)
def test_the_same_payment_applied_twice_by_id_is_applied_once(book, minor):
    payment = a_payment(list(allocate(eur(minor), book).allocations), minor)

    once = settle_payment(payment, book, LADDER, FR)
    assert once is not None
    after_once = {i.number: i for i in book} | {i.number: i for i in once.invoices}
    again = settle_payment(once.payment, list(after_once.values()), LADDER, FR)

    assert again is None
    paid_before = sum(i.paid.minor for i in book if i.currency == "EUR")
    paid_after = sum(i.paid.minor for i in after_once.values() if i.currency == "EUR")
    assert paid_after - paid_before + once.payment.credit_or_zero.minor == minor


def test_a_paid_invoice_leaves_dunning_and_a_partly_paid_one_stays():
    book = [an_invoice("F-1", 100_00, next_action_on=TODAY), an_invoice("F-2", 100_00, next_action_on=TODAY)]
    payment = a_payment([Allocation("F-1", eur(100_00)), Allocation("F-2", eur(40_00))], 140_00)

    change = settle_payment(payment, book, LADDER, FR)

    paid = {i.number: i for i in change.invoices}
    assert paid["F-1"].is_settled() and paid["F-1"].next_action_on is None
    assert paid["F-2"].balance == eur(60_00) and paid["F-2"].next_action_on is not None
    assert change.payment.status is PaymentStatus.SUCCEEDED


def test_money_for_an_invoice_paid_meanwhile_becomes_a_credit():
    book = [an_invoice("F-1", 100_00, paid=100_00), an_invoice("F-2", 50_00)]
    payment = a_payment([Allocation("F-1", eur(100_00)), Allocation("F-2", eur(50_00))], 150_00)

    change = settle_payment(payment, book, LADDER, FR)

    assert change.applied == (Allocation("F-2", eur(50_00)),)
    assert change.payment.credit == eur(100_00)
    assert change.credit_delta == eur(100_00)


# a debit still processing, then confirmed or refused


def test_a_processing_debit_holds_dunning_and_a_refused_one_lifts_the_hold():
    book = [an_invoice("F-1", 100_00, last_step="reminder_1", last_step_on=date(2025, 10, 2),
                       next_action_on=date(2025, 10, 9))]
    payment = a_payment([Allocation("F-1", eur(100_00))], 100_00)

    held = hold_while_processing(payment, book, TODAY, LADDER, FR)
    refused = fail_payment(held.payment, list(held.invoices), LADDER, FR)

    (on_hold,) = held.invoices
    assert on_hold.balance == eur(100_00) and on_hold.next_action_on > TODAY + timedelta(days=14)
    (taken_up,) = refused.invoices
    assert taken_up.promised_on is None and taken_up.next_action_on <= TODAY
    assert taken_up.balance == eur(100_00)
    assert refused.payment.status is PaymentStatus.FAILED


# refunds


@given(invoices(), amounts, st.data())
def test_a_refund_takes_back_no_more_than_was_refunded_credit_first(book, minor, data):
    payment = a_payment(list(allocate(eur(minor), book).allocations), minor)
    settled = settle_payment(payment, book, LADDER, FR)
    after = list(({i.number: i for i in book} | {i.number: i for i in settled.invoices}).values())
    refunded = data.draw(st.integers(min_value=0, max_value=minor))

    change = refund_payment(settled.payment, eur(refunded), after, LADDER, FR)

    if refunded == 0:
        assert change is None
        return
    reopened = sum(a.amount.minor for a in change.reopened)
    assert reopened + (-change.credit_delta.minor) == refunded
    assert -change.credit_delta.minor == min(refunded, settled.payment.credit_or_zero.minor)
    assert refund_payment(change.payment, eur(refunded), after, LADDER, FR) is None  # the same total again


def test_a_refund_reopens_the_most_recent_allocation_first():
    book = [an_invoice("F-1", 100_00, due_on=date(2025, 9, 1)), an_invoice("F-2", 100_00)]
    settled = settle_payment(a_payment(list(allocate(eur(200_00), book).allocations), 200_00), book, LADDER, FR)

    change = refund_payment(settled.payment, eur(30_00), list(settled.invoices), LADDER, FR)

    assert change.reopened == (Allocation("F-2", eur(30_00)),)
    (reopened,) = change.invoices
    assert reopened.balance == eur(30_00) and reopened.next_action_on is not None


def test_a_refund_reported_before_the_payment_is_applied_when_the_payment_arrives():
    book = [an_invoice("F-1", 100_00)]
    payment = a_payment([Allocation("F-1", eur(100_00))], 100_00)

    early = refund_payment(payment, eur(100_00), book, LADDER, FR)
    change = settle_payment(early.payment, book, LADDER, FR)

    assert change.payment.refunded == eur(100_00)
    assert [replace(i, version=0).balance for i in change.invoices] == [eur(100_00)]
