"""Payments seen from the bank side (issue 9): a bank's CSV export of credits, read and matched to invoices.

Pure: no DynamoDB, no clock. The service (relance.services.bank_payments) reads the creditor's debtors
and open invoices, asks these functions which debtor and invoices each line pays, then records each
match exactly as finance's "mark paid" does and queues the rest for finance.

Reading (French exports first): `;` or `,` or tab separated, decimal comma or point, dd/mm/yyyy or
ISO dates, UTF-8 with or without BOM, Windows-1252 or UTF-16; a few title lines may sit above the
header. Columns: the date, the amount, the reference (the transfer's label) and, when the bank gives
it, the payer's name and the currency. Every line ends up somewhere: a payment, an error on its
line (all its problems at once), or a skipped line (blank, or money going out).

Matching, line by line, in file order:
1. by reference: the open invoices whose number the reference holds, ignoring case, accents, spaces,
   dashes and other punctuation ("VIR FA 2025 001" names "FA-2025-001"); all of one debtor, in the
   payment's currency. The payment pays them, oldest first; less leaves the rest owed (partial),
   more leaves the excess as the debtor's credit (overpaid);
2. else by amount and debtor: the payer's name (or, without one, the reference) names a debtor, and
   the amount is exactly one of their open invoices' balance, or all they owe in that currency;
3. else unmatched, with the reason, for finance's queue.
Earlier lines of the same file count: two lines cannot both pay the same balance.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

from relance.domain.errors import InvalidField, InvalidImportFile
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.parsing import (
    DATE_DMY,
    DECIMAL_COMMA,
    DECIMAL_DOT,
    check_text,
    fold,
    parse_amount,
    parse_currency,
    parse_date,
    shown,
)
from relance.domain.payments import MAX_INVOICES_PER_PAYMENT, AllocationResult, allocate, oldest_first

MAX_FILE_LINES = 20_000  # a bank export of months of credits; more is not a statement
MAX_PREAMBLE_LINES = 10  # title lines (account number, period) a bank puts above its header
MAX_TEXT_CHARS = 140  # a SEPA transfer's remittance information and names are at most 140 characters
# The same limit as a payment finance records by hand (relance.services.payments.MAX_PAYMENT_AGE_DAYS):
# older money belongs in the accounting system, not in dunning.
MAX_PAYMENT_AGE_DAYS = 366

FIELDS = ("received_on", "amount", "reference", "payer", "currency", "debit")
REQUIRED_FIELDS = ("received_on", "amount", "reference")

_HEADER_NAMES = {
    "received_on": ("date", "received_on", "received on", "payment date", "date operation", "date d operation",
                    "date de l operation", "date comptable", "date de reception", "date du paiement",
                    "date de paiement"),
    "amount": ("amount", "montant", "credit", "montant credit", "credit eur", "montant eur", "amount eur"),
    "reference": ("reference", "libelle", "label", "motif", "communication", "remittance information",
                  "libelle de l operation", "description", "details", "memo", "reference de paiement"),
    "payer": ("payer", "payeur", "emetteur", "donneur d ordre", "nom du payeur", "nom de l emetteur",
              "debtor name", "tiers", "contrepartie", "counterparty", "ordering party"),
    "currency": ("currency", "devise", "monnaie"),
    "debit": ("debit", "montant debit", "debit eur"),
}
_FIELD_BY_HEADER = {name: field for field, names in _HEADER_NAMES.items() for name in names}
_DELIMITERS = (";", ",", "\t", "|")
_COMMA_VOTE = re.compile(r"\d,\d{1,2}$|\d\.\d{3},\d")
_DOT_VOTE = re.compile(r"\d\.\d{1,2}$|\d,\d{3}\.\d")
_FORMULA_LEAD = re.compile(r"^[=+\-@\t\r\uff1d\uff0b\uff0d\uff20 ]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_CURRENCY_WORDS = re.compile(r"\s*(?:EUR|GBP|CHF)\s*$", re.IGNORECASE)

# Words of a company's legal form, left out when comparing a payer with a debtor's name.
_LEGAL_FORMS = frozenset({
    "sarl", "sas", "sasu", "sa", "eurl", "sci", "snc", "scop", "scp", "selarl", "ei", "eirl", "earl", "gaec",
    "ets", "etablissements", "ste", "societe", "cie", "et", "ltd", "limited", "plc", "llp", "gmbh", "ag", "bv",
    "nv", "srl", "spa", "sl", "inc", "llc", "the", "les", "le", "la",
})


@dataclass(frozen=True, slots=True)
class BankPayment:
    """One credit on the creditor's bank account, as the export gives it."""

    line: int
    received_on: date
    amount: Money
    reference: str
    payer: str


@dataclass(frozen=True, slots=True)
class BankLineError:
    """One problem on one line; `field` is one of FIELDS, or "*" for the whole line."""

    line: int
    field: str
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class ParsedBankFile:
    """A whole bank export: its payments, its problems and the lines left aside ("blank", "debit")."""

    payments: tuple[BankPayment, ...]
    errors: tuple[BankLineError, ...]
    skipped: tuple[tuple[int, str], ...]
    encoding: str
    delimiter: str
    decimal_style: str


def parse_bank_payments(data: bytes, today: date, *, default_currency: str = "EUR") -> ParsedBankFile:
    """The credits of a bank export; InvalidImportFile when the file as a whole cannot be read.

    `today` is the creditor's business date: a payment cannot be received after it, nor more than
    MAX_PAYMENT_AGE_DAYS before it.
    """
    text, encoding = _decode(data)
    lines = text.splitlines()
    if len(lines) > MAX_FILE_LINES:
        raise InvalidImportFile(f"the file has {len(lines):,} lines; at most {MAX_FILE_LINES:,} are read at once; "
                                "export a shorter period", lines=len(lines), maximum=MAX_FILE_LINES)
    header_line, delimiter, columns = _find_header(lines)
    body = lines[header_line:]  # header_line is 1-based: the body starts on the next line
    decimal_style = _vote_decimal(body, delimiter, columns)
    currency = parse_currency(default_currency)
    payments: list[BankPayment] = []
    errors: list[BankLineError] = []
    skipped: list[tuple[int, str]] = []
    reader = csv.reader(io.StringIO("\n".join(body)), delimiter=delimiter)
    previous_end = header_line
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            number = header_line + reader.line_num
            errors.append(BankLineError(number, "*", "unreadable_line", f"the line cannot be read as CSV ({exc})"))
            previous_end = number
            continue
        number = previous_end + 1  # a quoted cell may span lines: the record starts after the previous one
        previous_end = header_line + reader.line_num
        if not any(cell.strip() for cell in cells):
            skipped.append((number, "blank_line"))
            continue
        item = _read_line(number, cells, columns, decimal_style, currency, today)
        if isinstance(item, BankPayment):
            payments.append(item)
        elif isinstance(item, str):
            skipped.append((number, item))
        else:
            errors.extend(item)
    return ParsedBankFile(tuple(payments), tuple(errors), tuple(skipped), encoding, delimiter, decimal_style)


def _decode(data: bytes) -> tuple[str, str]:
    if not data.strip():
        raise InvalidImportFile("the file is empty; expected a bank export with a header line")
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8", "replace"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", "replace"), "utf-16"
    if b"\x00" in data[:4096]:
        raise InvalidImportFile("the file holds binary data (NUL bytes), not CSV text; export it as CSV")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace"), "cp1252"


def _find_header(lines: list[str]) -> tuple[int, str, dict[str, int]]:
    """The line number (1-based), delimiter and columns of the first line naming the required columns."""
    seen = 0
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        seen += 1
        if seen > MAX_PREAMBLE_LINES + 1:
            break
        for delimiter in _DELIMITERS:
            if delimiter not in text:
                continue
            try:
                cells = next(csv.reader([text], delimiter=delimiter), [])
            except csv.Error:
                continue
            columns: dict[str, int] = {}
            for index, cell in enumerate(cells):
                field = _FIELD_BY_HEADER.get(fold(cell))
                if field is not None and field not in columns:  # the first of two alike columns wins
                    columns[field] = index
            if all(field in columns for field in REQUIRED_FIELDS):
                return number, delimiter, columns
    raise InvalidImportFile(
        "no header line found; expected columns such as Date;Montant;Libellé;Émetteur "
        "or date,amount,reference,payer",
    )


def _vote_decimal(lines: list[str], delimiter: str, columns: dict[str, int]) -> str:
    comma = dot = 0
    index = columns["amount"]
    for cells in csv.reader(lines[:5_000], delimiter=delimiter):
        text = cells[index].strip() if index < len(cells) else ""
        if _COMMA_VOTE.search(text):
            comma += 1
        elif _DOT_VOTE.search(text):
            dot += 1
    if comma != dot:
        return DECIMAL_COMMA if comma > dot else DECIMAL_DOT
    return DECIMAL_DOT if delimiter == "," else DECIMAL_COMMA


def _cell(cells: list[str], columns: dict[str, int], field: str) -> str:
    index = columns.get(field, -1)
    return cells[index].strip(" \u00a0\u202f") if 0 <= index < len(cells) else ""


def _read_line(number: int, cells: list[str], columns: dict[str, int], decimal_style: str, default_currency: str,
               today: date) -> BankPayment | str | list[BankLineError]:
    """The line's payment, "debit" for money going out, or every problem of the line."""
    problems: list[BankLineError] = []

    def problem(field: str, error: InvalidField) -> None:
        problems.append(BankLineError(number, field, error.defect, str(error)))

    amount_text = _CURRENCY_WORDS.sub("", _cell(cells, columns, "amount")).lstrip("+")
    if not amount_text:
        if _cell(cells, columns, "debit"):
            return "debit"
        problems.append(BankLineError(number, "amount", "required", "the amount is empty"))
    currency = default_currency
    currency_text = _cell(cells, columns, "currency")
    if currency_text:
        try:
            currency = parse_currency(currency_text)
        except InvalidField as exc:
            problem("currency", exc)
    amount = None
    if amount_text:
        try:
            amount = parse_amount(amount_text, decimal_style, currency)
        except InvalidField as exc:
            problem("amount", exc)
        else:
            if not amount.is_positive():
                if amount.minor < 0:
                    return "debit"
                problems.append(BankLineError(number, "amount", "not_positive",
                                              f"amount {shown(amount_text)} is zero; a payment received is expected"))
    received_on = None
    date_text = _cell(cells, columns, "received_on")
    try:
        received_on = parse_date(date_text, DATE_DMY)
    except InvalidField as exc:
        problem("received_on", exc)
    else:
        if received_on > today:
            problems.append(BankLineError(number, "received_on", "in_the_future",
                                          f"date {shown(date_text)} is after today ({today.isoformat()})"))
        elif (today - received_on).days > MAX_PAYMENT_AGE_DAYS:
            problems.append(BankLineError(
                number, "received_on", "too_old",
                f"date {shown(date_text)} is more than {MAX_PAYMENT_AGE_DAYS} days ago; "
                "older payments belong in the accounting system"))
    texts: dict[str, str] = {}
    for field in ("reference", "payer"):
        value = _plain(_cell(cells, columns, field))
        try:
            texts[field] = check_text(value, MAX_TEXT_CHARS)
        except InvalidField as exc:
            problem(field, exc)
    if "reference" in texts and not texts["reference"] and not texts.get("payer"):
        problems.append(BankLineError(number, "reference", "required",
                                      "the reference and the payer are both empty; nothing says who paid"))
    if problems or amount is None or received_on is None:
        return problems
    return BankPayment(number, received_on, amount, texts["reference"] or texts["payer"], texts["payer"])


def _plain(value: str) -> str:
    """A bank label as plain text: line breaks as spaces, no leading = + - @ (a Belgian "+++123/…+++"
    communication keeps its digits), so it can never run as a spreadsheet formula in an export."""
    return _FORMULA_LEAD.sub("", _CONTROL.sub(" ", value)).strip()


# ------------------------------------------------------------------ the line's identity


def line_ids(creditor_id: str, payments: Sequence[BankPayment]) -> list[str]:
    """A stable id per payment line: the same credit in a second import (the same file, or a later export
    of an overlapping period) gets the same id, so it is recorded once.

    Built from what the bank says about the credit, not from the line number or the file: a line
    moved by a new export keeps its id. Identical credits within one file are told apart by their rank.
    """
    ranks: Counter[str] = Counter()
    found: list[str] = []
    for payment in payments:
        content = "\n".join((creditor_id, payment.received_on.isoformat(), payment.amount.currency,
                             str(payment.amount.minor), fold(payment.reference), fold(payment.payer)))
        ranks[content] += 1
        digest = hashlib.sha256(f"{content}\n{ranks[content]}".encode()).hexdigest()[:32]
        found.append(f"bank-{digest}")
    return found


# ------------------------------------------------------------------ matching


class MatchKind(StrEnum):
    EXACT = "exact"  # pays invoices' whole balances, nothing left over
    PARTIAL = "partial"  # less than the invoices it names: the rest is still owed
    OVERPAID = "overpaid"  # more than the invoices it names: the excess is the debtor's credit
    UNMATCHED = "unmatched"  # no debtor found: finance decides


class UnmatchedReason(StrEnum):
    NO_MATCH = "no_match"  # no open invoice number in the reference, no debtor's name as payer
    SEVERAL_DEBTORS = "several_debtors"  # the reference or the amount fits more than one debtor
    AMOUNT_DIFFERS = "amount_differs"  # the payer is a debtor, but the amount is none of their balances
    REFUSED = "refused"  # matched, but the payment could not be recorded (the invoices changed meanwhile)


@dataclass(frozen=True, slots=True)
class BankMatch:
    """What one payment line pays: a debtor and invoices, or nothing and why."""

    payment: BankPayment
    kind: MatchKind
    debtor_id: str | None = None
    numbers: tuple[str, ...] = ()  # the invoices it pays, oldest first
    by: str | None = None  # "reference" or "amount"
    allocation: AllocationResult | None = None  # where the money goes, as recording it will spread it
    reason: UnmatchedReason | None = None
    candidates: tuple[str, ...] = ()  # unmatched: the debtors the reference or the payer's name points to


MAX_CANDIDATES = 5  # suggestions kept for finance: beyond that, the name says too little to help


@dataclass(frozen=True, slots=True)
class DebtorAccount:
    """A debtor's name and open invoices, as the matcher sees them."""

    debtor_id: str
    name: str
    invoices: tuple[Invoice, ...]


def match_payments(payments: Sequence[BankPayment], accounts: Iterable[DebtorAccount]) -> list[BankMatch]:
    """Each payment matched to a debtor and invoices, in order; earlier lines' allocations are deducted."""
    owed: dict[str, list[Invoice]] = {}
    names: dict[str, list[str]] = {}
    by_number: dict[str, tuple[str, str]] = {}  # folded number -> (debtor, number)
    for account in accounts:
        owed[account.debtor_id] = [i for i in account.invoices if i.balance.is_positive()]
        names[account.debtor_id] = name_tokens(account.name)
        for invoice in owed[account.debtor_id]:
            by_number.setdefault(number_key(invoice.number), (account.debtor_id, invoice.number))
    longest = max((len(key) for key in by_number), default=0)
    found: list[BankMatch] = []
    for payment in payments:
        match = _match_one(payment, owed, names, by_number, longest)
        found.append(match)
        if match.debtor_id is not None and match.allocation is not None:
            paid = {a.invoice_number: a.amount for a in match.allocation.allocations}
            owed[match.debtor_id] = [replace(i, paid=i.paid + paid[i.number]) if i.number in paid else i
                                     for i in owed[match.debtor_id]]
    return found


def number_key(text: str) -> str:
    """An invoice number compared without case, accents, spaces or punctuation: "FA-2025/001" -> "fa2025001"."""
    return fold(text).replace(" ", "")


def name_tokens(text: str) -> list[str]:
    """The words of a company or person's name, without case, accents or legal form ("SARL", "SAS"…)."""
    return [word for word in fold(text).split() if word not in _LEGAL_FORMS]


def _match_one(payment: BankPayment, owed: dict[str, list[Invoice]], names: dict[str, list[str]],
               by_number: dict[str, tuple[str, str]], longest: int) -> BankMatch:
    named = _numbers_in(payment.reference, by_number, longest)
    named_open = {(debtor_id, number) for debtor_id, number in named
                  if any(i.number == number and i.balance.is_positive() and i.currency == payment.amount.currency
                         for i in owed[debtor_id])}
    debtors = {debtor_id for debtor_id, _number in named_open}
    if len(debtors) > 1:
        return BankMatch(payment, MatchKind.UNMATCHED, reason=UnmatchedReason.SEVERAL_DEBTORS,
                         candidates=_few(debtors))
    if debtors:
        [debtor_id] = debtors
        numbers = {number for _debtor, number in named_open}
        chosen = [i for i in owed[debtor_id] if i.number in numbers]
        return _matched(payment, debtor_id, chosen, "reference")
    haystack = name_tokens(payment.payer) if payment.payer else name_tokens(payment.reference)
    candidates = [debtor_id for debtor_id, tokens in names.items()
                  if _names_agree(tokens, haystack, both_ways=bool(payment.payer))]
    fits = [(debtor_id, chosen) for debtor_id in candidates
            if (chosen := _amount_fits(payment.amount, owed[debtor_id])) is not None]
    if len(fits) == 1:
        [(debtor_id, chosen)] = fits
        return _matched(payment, debtor_id, chosen, "amount")
    if len(fits) > 1:
        return BankMatch(payment, MatchKind.UNMATCHED, reason=UnmatchedReason.SEVERAL_DEBTORS,
                         candidates=_few(debtor_id for debtor_id, _chosen in fits))
    if candidates:
        return BankMatch(payment, MatchKind.UNMATCHED, reason=UnmatchedReason.AMOUNT_DIFFERS,
                         candidates=_few(candidates))
    return BankMatch(payment, MatchKind.UNMATCHED, reason=UnmatchedReason.NO_MATCH)


def _few(debtor_ids: Iterable[str]) -> tuple[str, ...]:
    """The candidates finance is shown, by id; none when there are too many to be a clue."""
    ordered = sorted(set(debtor_ids))
    return tuple(ordered) if len(ordered) <= MAX_CANDIDATES else ()


def _numbers_in(reference: str, by_number: dict[str, tuple[str, str]], longest: int) -> set[tuple[str, str]]:
    """The invoices whose number is written in `reference` as whole words, whatever the spaces and dashes
    between its parts: "VIR FA 2025 001" and "VIR FA2025-001" both name "FA-2025-001", "F12" does not
    name "F1"."""
    words = fold(reference).split()
    found: set[tuple[str, str]] = set()
    for start in range(len(words)):
        joined = ""
        for word in words[start:]:
            joined += word
            if len(joined) > longest:
                break
            if joined in by_number:
                found.add(by_number[joined])
    return found


def payer_is(debtor_name: str, payer: str) -> bool:
    """True when the payer's name as the bank wrote it is the debtor's (legal forms and case aside)."""
    return _names_agree(name_tokens(debtor_name), name_tokens(payer), both_ways=True)


def _names_agree(debtor: list[str], payer: list[str], *, both_ways: bool) -> bool:
    """The debtor's name words appear in a row in the payer's; with `both_ways`, a payer name of at least
    two words found in the debtor's name counts too (banks shorten long names)."""
    if not debtor or not payer:
        return False
    if _contains(payer, debtor):
        return True
    return both_ways and len(payer) >= 2 and _contains(debtor, payer)


def _contains(words: list[str], run: list[str]) -> bool:
    size = len(run)
    return any(words[start:start + size] == run for start in range(len(words) - size + 1))


def _amount_fits(amount: Money, invoices: list[Invoice]) -> list[Invoice] | None:
    """The oldest open invoice whose balance is exactly `amount`, else all of them when they add up to it."""
    open_ones = oldest_first(i for i in invoices if i.currency == amount.currency and i.balance.is_positive())
    for invoice in open_ones:
        if invoice.balance == amount:
            return [invoice]
    if open_ones and sum(i.balance.minor for i in open_ones) == amount.minor:
        return open_ones
    return None


def _matched(payment: BankPayment, debtor_id: str, chosen: list[Invoice], by: str) -> BankMatch:
    allocation = allocate(payment.amount, chosen, max_invoices=MAX_INVOICES_PER_PAYMENT)
    owed_minor = sum(i.balance.minor for i in chosen)
    if allocation.unallocated.is_positive():
        kind = MatchKind.OVERPAID
    elif allocation.allocated.minor < owed_minor:
        kind = MatchKind.PARTIAL
    else:
        kind = MatchKind.EXACT
    return BankMatch(payment, kind, debtor_id, tuple(i.number for i in oldest_first(chosen)), by, allocation)
