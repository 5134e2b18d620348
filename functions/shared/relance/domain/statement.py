"""What a debtor reads about their own account: the standing of each invoice, the statement of account
(as a table and as a CSV file for a spreadsheet) and the late fees accrued so far.

Pure: `today`, the rates and the rules come in as arguments.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from relance.domain.errors import RecoveryFeeUndefined
from relance.domain.invoices import Invoice
from relance.domain.late_fees import Rulebook, compute_late_fees
from relance.domain.letters import jurisdiction_for, notice_claim
from relance.domain.money import Money, total, totals_by_currency
from relance.domain.parties import Creditor, Debtor
from relance.domain.policy import Channel, DunningPolicy
from relance.domain.rates import RateTable

RECENTLY_PAID_LIMIT = 20  # the invoices page lists at most this many settled invoices

# A spreadsheet reads a cell starting with one of these as a formula (OWASP "CSV injection"). Their fullwidth and
# small forms (＝ ＋ － ＠, U+FF1D…; ﹦ ﹢ ﹣ ﹫) count too: a spreadsheet or an import step may normalise them (NFKC).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class Standing(StrEnum):
    """Where an invoice stands for the debtor, in words rather than colours."""

    NOT_DUE = "not_due"
    OVERDUE = "overdue"
    DISPUTED = "disputed"
    IN_PLAN = "in_plan"
    PROMISED = "promised"
    PAID = "paid"


def standing_of(invoice: Invoice, today: date) -> Standing:
    """The one status shown for `invoice` today: paid, disputed, in a plan, promised, overdue or not yet due."""
    if invoice.is_settled():
        return Standing.PAID
    if invoice.disputed:
        return Standing.DISPUTED
    if invoice.in_plan:
        return Standing.IN_PLAN
    if invoice.promised_on is not None and invoice.is_overdue(today) and today <= invoice.promised_on:
        return Standing.PROMISED
    return Standing.OVERDUE if invoice.is_overdue(today) else Standing.NOT_DUE


def recently_paid(invoices: Iterable[Invoice], limit: int = RECENTLY_PAID_LIMIT) -> list[Invoice]:
    """Settled invoices, newest first, at most `limit`.

    The day an invoice was paid is not stored yet, so "recent" is approximated by the newest due dates.
    """
    settled = [i for i in invoices if i.is_settled()]
    return sorted(settled, key=lambda i: (i.due_on, i.issued_on, i.number), reverse=True)[:limit]


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One open invoice on the statement."""

    number: str
    issued_on: date
    due_on: date
    total: Money
    paid: Money
    balance: Money
    days_overdue: int
    standing: Standing


@dataclass(frozen=True, slots=True)
class StatementTotal:
    """What is owed in one currency, and how much of it is late."""

    currency: str
    balance: Money
    overdue: Money


@dataclass(frozen=True, slots=True)
class Statement:
    """A debtor's statement of account with one creditor as of a day: every open invoice and totals per currency."""

    creditor: Creditor
    debtor: Debtor
    as_of: date
    lines: tuple[StatementLine, ...]
    totals: tuple[StatementTotal, ...]


def build_statement(creditor: Creditor, debtor: Debtor, invoices: Sequence[Invoice], as_of: date) -> Statement:
    """The statement as of `as_of`: the debtor's open invoices, oldest due first, and the totals per currency."""
    owed = sorted((i for i in invoices if not i.is_settled() and i.debtor_id == debtor.debtor_id),
                  key=lambda i: (i.due_on, i.number))
    lines = tuple(
        StatementLine(i.number, i.issued_on, i.due_on, i.total, i.paid, i.balance, i.days_overdue(as_of),
                      standing_of(i, as_of))
        for i in owed
    )
    balances = totals_by_currency([i.balance for i in owed])
    totals = tuple(
        StatementTotal(currency, balance, total([i.balance for i in owed if i.currency == currency
                                                 and i.is_overdue(as_of)], currency))
        for currency, balance in balances.items()
    )
    return Statement(creditor, debtor, as_of, lines, totals)


# --- the CSV file ---------------------------------------------------------------------------------

_CSV_WORDS: dict[str, dict[str, str]] = {
    "fr": {
        "number": "Facture", "issued_on": "Date", "due_on": "Échéance", "currency": "Devise",
        "total": "Montant", "paid": "Déjà réglé", "balance": "Reste dû", "days_overdue": "Jours de retard",
        "standing": "Statut", "total_row": "Total", "overdue_row": "Dont en retard",
        f"standing.{Standing.NOT_DUE}": "À échoir",
        f"standing.{Standing.OVERDUE}": "En retard",
        f"standing.{Standing.DISPUTED}": "Contestée",
        f"standing.{Standing.IN_PLAN}": "Échéancier",
        f"standing.{Standing.PROMISED}": "Paiement promis",
        f"standing.{Standing.PAID}": "Réglée",
    },
    "en": {
        "number": "Invoice", "issued_on": "Issued on", "due_on": "Due on", "currency": "Currency",
        "total": "Amount", "paid": "Paid", "balance": "Balance due", "days_overdue": "Days overdue",
        "standing": "Status", "total_row": "Total", "overdue_row": "Of which overdue",
        f"standing.{Standing.NOT_DUE}": "Not yet due",
        f"standing.{Standing.OVERDUE}": "Overdue",
        f"standing.{Standing.DISPUTED}": "Disputed",
        f"standing.{Standing.IN_PLAN}": "In a payment plan",
        f"standing.{Standing.PROMISED}": "Payment promised",
        f"standing.{Standing.PAID}": "Paid",
    },
}


def csv_safe(cell: str) -> str:
    """The cell as text a spreadsheet shows and never runs: a leading `=`, `+`, `-`, `@`, tab or CR, or a fullwidth
    or small form of one of them, gets a `'`."""
    return f"'{cell}" if is_formula_like(cell) else cell


def is_formula_like(cell: str) -> bool:
    """True when a spreadsheet could read `cell` as a formula, now or once it normalises the first character."""
    return cell.startswith(_FORMULA_STARTS) or unicodedata.normalize("NFKC", cell[:1]).startswith(_FORMULA_STARTS)


def csv_amount(amount: Money, language: str) -> str:
    """A plain number a spreadsheet reads in that language: `1234,50` in French, `1234.50` in English."""
    text = f"{amount.to_decimal():.{amount.digits}f}"
    return text.replace(".", ",") if language == "fr" else text


def statement_csv(statement: Statement, language: str) -> bytes:
    """The statement as a CSV file for Excel: UTF-8 with a BOM, `;` and decimal commas in French, `,` and dots in English.

    Every cell goes through `csv_safe`, amounts included, so that a crafted invoice number cannot run as a formula.
    """
    language = language if language in _CSV_WORDS else "en"
    words = _CSV_WORDS[language]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if language == "fr" else ",", lineterminator="\r\n")

    def row(cells: Sequence[str]) -> None:
        writer.writerow([csv_safe(cell) for cell in cells])

    row([words[k] for k in ("number", "issued_on", "due_on", "currency", "total", "paid", "balance",
                            "days_overdue", "standing")])
    for line in statement.lines:
        row([line.number, line.issued_on.isoformat(), line.due_on.isoformat(), line.balance.currency,
             csv_amount(line.total, language), csv_amount(line.paid, language), csv_amount(line.balance, language),
             str(line.days_overdue), words[f"standing.{line.standing}"]])
    for sums in statement.totals:
        row([words["total_row"], "", "", sums.currency, "", "", csv_amount(sums.balance, language), "", ""])
        row([words["overdue_row"], "", "", sums.currency, "", "", csv_amount(sums.overdue, language), "", ""])
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


# --- late fees accrued ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccruedFees:
    """Late-payment interest and the fixed recovery fee accrued on a debtor's overdue invoices, in one currency."""

    currency: str
    late_interest: Money
    recovery_fee: Money

    @property
    def total(self) -> Money:
        return self.late_interest + self.recovery_fee


def policy_claims_late_fees(policy: DunningPolicy) -> bool:
    """True when the creditor's ladder ends in a formal notice, the letter that claims interest and the fee."""
    return any(step.channel is Channel.FORMAL_NOTICE for step in policy.steps)


def accrued_late_fees(
    creditor: Creditor, debtor: Debtor, invoices: Sequence[Invoice], today: date, rates: RateTable,
    rulebook: Rulebook,
) -> tuple[AccruedFees, ...]:
    """What a formal notice dated `today` would claim on top of the balances, per currency.

    The same claim as the formal notice (`letters.notice_claim`, `compute_late_fees`), so the portal
    never shows a figure the letter would not.
    """
    jurisdiction = jurisdiction_for(creditor.country, rulebook)
    interest: dict[str, Money] = {}
    fees: dict[str, Money] = {}
    unpriced: set[str] = set()  # the rules hold no recovery fee for this currency: no figure rather than half of one
    for invoice in invoices:
        if invoice.debtor_id != debtor.debtor_id or not invoice.is_overdue(today):
            continue
        currency = invoice.currency
        try:
            result = compute_late_fees(notice_claim(invoice, debtor, jurisdiction, today), today, rates, rulebook)
        except RecoveryFeeUndefined:
            unpriced.add(currency)
            continue
        interest[currency] = interest.get(currency, Money.zero(currency)) + result.late_interest
        fees[currency] = fees.get(currency, Money.zero(currency)) + result.recovery_fee
    return tuple(AccruedFees(c, interest[c], fees[c]) for c in sorted(interest)
                 if c not in unpriced and (interest[c] + fees[c]).is_positive())

