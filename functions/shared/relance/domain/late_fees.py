"""Late-payment interest and recovery fees, from jurisdiction rules held as data (domain pack §1–§6, C1–C11).

Pure: the rules, the rate table and the `as_of` date come in as arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, localcontext
from enum import StrEnum
from typing import Protocol

from relance.domain.errors import (
    ClaimNotCovered,
    ContractRateNotAllowed,
    FormalNoticeRequired,
    InvalidAllocation,
    InvalidAmount,
    InvalidLateFeeClaim,
    RecoveryFeeUndefined,
    RuleNotModelled,
    UnknownJurisdiction,
)
from relance.domain.money import Money, total
from relance.domain.parties import PartyKind
from relance.domain.rates import RateTable, percent_text
from relance.domain.terms import PaymentTermsLimit

DAYS_PER_YEAR = 365  # C3: Actual/365 fixed, leap years included
_ONE_DAY = timedelta(days=1)
_Run = tuple[date, date, Money]  # first day, last day, base bearing interest on each of them


class RateFixing(StrEnum):
    PER_SEMESTER_DAILY = "per_semester_daily"  # each late day takes its own semester's rate (C4)
    FIXED_AT_START = "fixed_at_start"  # the first interest day's rate holds for the whole period (C5)


class ReferenceDay(StrEnum):
    SEMESTER_START = "semester_start"  # rate in force on 1 Jan / 1 Jul (ECB MRO, FR legal rate)
    DAY_BEFORE_SEMESTER = "day_before_semester"  # rate in force on 31 Dec / 30 Jun (UK Act s.4)


class InterestStart(StrEnum):
    DAY_AFTER_DUE_DATE = "day_after_due_date"  # L441-10: without any reminder
    DAY_AFTER_FORMAL_NOTICE = "day_after_formal_notice"  # art. 1231-6 C. civ.; counted from the day after


def semester_start(day: date) -> date:
    """1 January or 1 July: the first day of `day`'s half-year."""
    return date(day.year, 1 if day.month <= 6 else 7, 1)


@dataclass(frozen=True, slots=True)
class DayRate:
    """The annual rate that applies to one late day, why, and whether it rests on a provisional rate."""

    rate_percent: Decimal
    source: str
    is_provisional: bool = False


@dataclass(frozen=True, slots=True)
class RateRule:
    """A statutory rate: `multiplier` × the reference rate of `kind` + `margin_points`."""

    kind: str
    margin_points: Decimal = Decimal(0)
    multiplier: Decimal = Decimal(1)
    reference: ReferenceDay = ReferenceDay.SEMESTER_START
    fixing: RateFixing = RateFixing.PER_SEMESTER_DAILY
    round_up_to: Decimal | None = None  # Belgium: rounded up to the next half point
    legal_basis: str = ""

    def reference_day(self, day: date) -> date:
        """The day whose published rate sets the rate of the half-year containing `day`."""
        start = semester_start(day)
        return start if self.reference is ReferenceDay.SEMESTER_START else start - _ONE_DAY

    def rate_for(self, day: date, rates: RateTable) -> DayRate:
        """This rule's annual rate for the half-year of `day`, with a readable source."""
        on = self.reference_day(day)
        quote = rates.rate_on(self.kind, on)
        rate = quote.rate_percent * self.multiplier + self.margin_points
        wording = f"{rates.label(self.kind)} {percent_text(quote.rate_percent)}% on {on.isoformat()}"
        if self.multiplier != 1:
            wording = f"{self.multiplier.normalize():f} × {wording}"
        if self.margin_points:
            wording += f" + {self.margin_points.normalize():f} points"
        if self.round_up_to is not None:
            rate = (rate / self.round_up_to).to_integral_value(rounding=ROUND_CEILING) * self.round_up_to
            wording += f", rounded up to {self.round_up_to.normalize():f} point"
        basis = f" ({self.legal_basis})" if self.legal_basis else ""
        return DayRate(rate, f"{wording}{basis}; source: {quote.source}", quote.is_provisional)


@dataclass(frozen=True, slots=True)
class FeeBand:
    """A fixed recovery fee for invoices `below` (strictly) or `up_to` (inclusive) an amount; neither: any."""

    fee: Money
    below: Money | None = None
    up_to: Money | None = None

    def applies_to(self, amount: Money) -> bool:
        if self.below is not None and not amount < self.below:
            return False
        return self.up_to is None or amount <= self.up_to


@dataclass(frozen=True, slots=True)
class Regime:
    """How late interest and the recovery fee work for one kind of claim in one jurisdiction."""

    rate_by_creditor: Mapping[str, RateRule]
    interest_starts: InterestStart = InterestStart.DAY_AFTER_DUE_DATE
    contract_rate_allowed: bool = True
    contract_rate_floor: RateRule | None = None
    recovery_fee: Mapping[str, tuple[FeeBand, ...]] | None = None  # None: no fixed fee under this law
    max_simple_interest_days: int | None = None
    max_days_reason: str = ""


@dataclass(frozen=True, slots=True)
class Jurisdiction:
    """The late-payment law of one country (or the EU directive default), as data."""

    code: str
    name: str
    law: str
    b2b: Regime | None
    consumer: Regime | None = None  # any claim where the creditor or the debtor is not a business
    terms_limit: PaymentTermsLimit | None = None

    def regime_for(self, creditor_kind: str, debtor_kind: str) -> Regime:
        """The regime for this creditor/debtor pair; ClaimNotCovered when the law has none."""
        is_b2b = creditor_kind == PartyKind.BUSINESS and debtor_kind == PartyKind.BUSINESS
        regime = self.b2b if is_b2b else self.consumer
        if regime is None:
            raise ClaimNotCovered(
                f"{self.law} ({self.code}) does not cover a {creditor_kind} creditor "
                f"and a {debtor_kind} debtor",
                jurisdiction=self.code, creditor_kind=creditor_kind, debtor_kind=debtor_kind,
            )
        return regime


@dataclass(frozen=True)
class Rulebook:
    """Every jurisdiction Relance knows, by code (FR, UK, EU, IE...)."""

    jurisdictions: Mapping[str, Jurisdiction]

    def jurisdiction(self, code: str) -> Jurisdiction:
        """The rules of `code`; UnknownJurisdiction lists the known codes."""
        try:
            return self.jurisdictions[code.upper()]
        except KeyError:
            known = ", ".join(sorted(self.jurisdictions))
            raise UnknownJurisdiction(
                f"unknown jurisdiction {code!r}; known: {known}", jurisdiction=code, known=known
            ) from None


@dataclass(frozen=True, slots=True)
class Payment:
    """Money at the creditor's disposal on `received_on` (C8), not the day it was sent."""

    received_on: date
    amount: Money


@dataclass(frozen=True, slots=True)
class LateFeeClaim:
    """One invoice (principal incl. VAT), its due date, what was received, and who owes whom."""

    principal: Money
    due_on: date
    jurisdiction: str
    creditor_kind: str = PartyKind.BUSINESS
    debtor_kind: str = PartyKind.BUSINESS
    payments: tuple[Payment, ...] = ()
    contract_rate_percent: Decimal | None = None
    formal_notice_on: date | None = None

    @property
    def currency(self) -> str:
        return self.principal.currency

    def balance_on(self, day: date) -> Money:
        """What still bears interest on `day`: a payment reduces the base from the day after receipt (C9)."""
        received = [payment.amount for payment in self.payments if payment.received_on < day]
        return self.principal - total(received, self.currency)

    def settled_on(self, paid_on: date) -> LateFeeClaim:
        """This claim with whatever is still owed received in full on `paid_on`."""
        rest = self.balance_on(paid_on + _ONE_DAY)
        if not rest.is_positive():
            return self
        return replace(self, payments=(*self.payments, Payment(paid_on, rest)))


@dataclass(frozen=True, slots=True)
class InterestSegment:
    """A maximal run of late days with the same base and annual rate, and its interest (C6)."""

    starts_on: date
    ends_on: date
    days: int
    base: Money
    annual_rate_percent: Decimal
    rate_source: str
    amount: Money
    is_provisional: bool


@dataclass(frozen=True, slots=True)
class LateFeeResult:
    """What a late invoice adds to the debt on a given day: interest by segment and the recovery fee."""

    currency: str
    segments: tuple[InterestSegment, ...]
    late_interest: Money
    recovery_fee: Money
    interest_starts_on: date | None

    @property
    def total(self) -> Money:
        """Interest plus recovery fee (the principal is not included)."""
        return self.late_interest + self.recovery_fee

    @property
    def uses_provisional_rate(self) -> bool:
        return any(segment.is_provisional for segment in self.segments)


def segment_interest(base: Money, rate_percent: Decimal, days: int) -> Money:
    """base × rate/100 × days/365, rounded half-up to the minor unit (C1, C3, C6)."""
    with localcontext() as context:
        context.prec = 60  # exact: the quotient's distance to a half cent is far above 1e-40
        minor = Decimal(base.minor) * rate_percent * days / (100 * DAYS_PER_YEAR)
        return Money(int(minor.quantize(Decimal(1), rounding=ROUND_HALF_UP)), base.currency)


def compute_late_fees(
    claim: LateFeeClaim, as_of: date, rates: RateTable, rulebook: Rulebook
) -> LateFeeResult:
    """Late interest from the first late day to `as_of` (or until the balance is settled), plus the fee."""
    jurisdiction = rulebook.jurisdiction(claim.jurisdiction)
    regime = jurisdiction.regime_for(_party_kind(claim.creditor_kind), _party_kind(claim.debtor_kind))
    _check(claim, regime)
    first_day = _first_interest_day(claim, regime)
    runs = _late_runs(claim, first_day, as_of)
    _check_simple_interest(regime, jurisdiction, runs)
    rate_of = _rate_function(claim, regime, rates, first_day)
    segments = tuple(_segments(runs, rate_of))
    interest = total([segment.amount for segment in segments], claim.currency)
    fee = _recovery_fee(claim, regime) if runs else Money.zero(claim.currency)
    return LateFeeResult(claim.currency, segments, interest, fee, first_day)


def _party_kind(value: str) -> PartyKind:
    try:
        return PartyKind(value)
    except ValueError:
        raise InvalidLateFeeClaim(
            f"party kind must be 'business' or 'consumer', got {value!r}", value=value
        ) from None


def _check(claim: LateFeeClaim, regime: Regime) -> None:
    if not claim.principal.is_positive():
        raise InvalidAmount(
            f"the principal must be positive, got {claim.principal}", value=str(claim.principal)
        )
    for payment in claim.payments:
        if not payment.amount.is_positive():
            raise InvalidAmount(
                f"a payment must be positive, got {payment.amount}", value=str(payment.amount)
            )
    received = total([payment.amount for payment in claim.payments], claim.currency)
    if received > claim.principal:
        raise InvalidLateFeeClaim(
            f"payments of {received} exceed the principal of {claim.principal}",
            received=str(received), principal=str(claim.principal),
        )
    if claim.contract_rate_percent is not None:
        if claim.contract_rate_percent < 0:
            raise InvalidLateFeeClaim(
                f"the contract rate cannot be negative, got {claim.contract_rate_percent}%",
                rate=str(claim.contract_rate_percent),
            )
        if not regime.contract_rate_allowed:
            raise ContractRateNotAllowed(
                "a contract rate does not apply to this claim; the legal interest rate does",
                jurisdiction=claim.jurisdiction,
            )


def _first_interest_day(claim: LateFeeClaim, regime: Regime) -> date:
    if regime.interest_starts is InterestStart.DAY_AFTER_DUE_DATE:
        return claim.due_on + _ONE_DAY
    if claim.formal_notice_on is None:
        raise FormalNoticeRequired(
            "interest on this claim runs only from a formal notice (mise en demeure); give its date",
            jurisdiction=claim.jurisdiction,
        )
    return max(claim.due_on, claim.formal_notice_on) + _ONE_DAY


def _late_runs(claim: LateFeeClaim, first_day: date, as_of: date) -> list[_Run]:
    """Runs of late days up to `as_of` with one base each, cut at every payment and half-year start."""
    if as_of < first_day:
        return []
    cuts = {first_day, as_of + _ONE_DAY}
    after_payments = {payment.received_on + _ONE_DAY for payment in claim.payments}
    cuts |= {day for day in after_payments if first_day < day <= as_of}
    start = semester_start(first_day)
    while start <= as_of:
        cuts.add(max(start, first_day))
        start = date(start.year, 7, 1) if start.month == 1 else date(start.year + 1, 1, 1)
    ordered = sorted(cuts)
    runs = []
    for run_start, next_start in zip(ordered, ordered[1:]):
        base = claim.balance_on(run_start)
        if not base.is_positive():
            break  # payments only lower the balance: once settled, nothing bears interest again
        runs.append((run_start, next_start - _ONE_DAY, base))
    return runs


def _check_simple_interest(regime: Regime, jurisdiction: Jurisdiction, runs: list[_Run]) -> None:
    days = sum((last - first).days + 1 for first, last, _ in runs)
    if regime.max_simple_interest_days is not None and days > regime.max_simple_interest_days:
        raise RuleNotModelled(
            f"{jurisdiction.code}: {regime.max_days_reason or 'longer periods are not modelled'}; "
            f"this claim runs {days} days (at most {regime.max_simple_interest_days})",
            jurisdiction=jurisdiction.code, days=days,
        )


def _rate_function(
    claim: LateFeeClaim, regime: Regime, rates: RateTable, first_day: date
) -> Callable[[date], DayRate]:
    """A function giving each late day its annual rate (statutory, or contract floored per segment)."""
    statutory_rule = regime.rate_by_creditor[_party_kind(claim.creditor_kind)]
    quotes = rates.derived  # a rule's rate depends only on the rule and its reference day

    def statutory(rule: RateRule, day: date) -> DayRate:
        anchor = first_day if rule.fixing is RateFixing.FIXED_AT_START else day
        key = (rule, rule.reference_day(anchor))
        if key not in quotes:
            quotes[key] = rule.rate_for(anchor, rates)
        return quotes[key]  # type: ignore[return-value]

    def rate_of(day: date) -> DayRate:
        contract = claim.contract_rate_percent
        if contract is None:
            return statutory(statutory_rule, day)
        agreed = f"contract rate {percent_text(contract)}%"
        if regime.contract_rate_floor is None:
            return DayRate(contract, agreed)
        floor = statutory(regime.contract_rate_floor, day)
        if floor.rate_percent > contract:
            raised = f"{agreed} raised to the legal floor: {floor.source}"
            return DayRate(floor.rate_percent, raised, floor.is_provisional)
        return DayRate(contract, f"{agreed}, above the legal floor of {percent_text(floor.rate_percent)}%: "
                       f"{floor.source}", floor.is_provisional)

    return rate_of


def _segments(runs: list[_Run], rate_of: Callable[[date], DayRate]) -> list[InterestSegment]:
    """Maximal runs of days with the same base and rate (C6); equal rates across semesters merge.

    Each run lies within one half-year, so the rate of its first day is the rate of all its days.
    """
    merged: list[tuple[date, date, Money, DayRate, list[str]]] = []
    for first, last, base in runs:
        rate = rate_of(first)
        if merged and merged[-1][2] == base and merged[-1][3].rate_percent == rate.rate_percent:
            start, _, _, kept, sources = merged[-1]
            if rate.source not in sources:
                sources.append(rate.source)
            flagged = replace(kept, is_provisional=kept.is_provisional or rate.is_provisional)
            merged[-1] = (start, last, base, flagged, sources)
        else:
            merged.append((first, last, base, rate, [rate.source]))
    segments = []
    for first, last, base, rate, sources in merged:
        days = (last - first).days + 1
        segments.append(InterestSegment(
            first, last, days, base, rate.rate_percent, " | ".join(sources),
            segment_interest(base, rate.rate_percent, days), rate.is_provisional,
        ))
    return segments


def _recovery_fee(claim: LateFeeClaim, regime: Regime) -> Money:
    """The fixed fee, once per late invoice, by the invoice amount (C7); not multiplied by part payments."""
    if regime.recovery_fee is None:
        return Money.zero(claim.currency)
    for band in regime.recovery_fee.get(claim.currency, ()):
        if band.applies_to(claim.principal):
            return band.fee
    raise RecoveryFeeUndefined(
        f"no recovery fee is defined for {claim.currency} invoices under {claim.jurisdiction} rules; "
        "add a band for this currency to jurisdictions.yaml",
        currency=claim.currency, jurisdiction=claim.jurisdiction,
    )


class OpenItem(Protocol):
    """Anything with an invoice number, a due date and an open balance (an Invoice fits)."""

    @property
    def number(self) -> str: ...

    @property
    def due_on(self) -> date: ...

    @property
    def balance(self) -> Money: ...


@dataclass(frozen=True, slots=True)
class PaymentAllocation:
    """How one payment settles invoices, in order, and what is left over (a credit for the debtor)."""

    parts: tuple[tuple[str, Money], ...]
    unallocated: Money


def allocate_payment(
    amount: Money, invoices: Sequence[OpenItem], designated: Sequence[str] = ()
) -> PaymentAllocation:
    """Share a payment over open invoices: those the payer designated first, in the payer's order
    (art. 1342-10 C. civ.), then the rest oldest due first (ties by number).
    """
    by_number = {invoice.number: invoice for invoice in invoices}
    unknown = [number for number in designated if number not in by_number]
    if unknown or len(set(designated)) != len(designated):
        raise InvalidAllocation(
            f"designated invoices must be distinct open invoices, got {', '.join(designated)}",
            designated=tuple(designated),
        )
    if not amount.is_positive():
        raise InvalidAmount(f"a payment must be positive, got {amount}", value=str(amount))
    rest = sorted((i for i in invoices if i.number not in designated), key=lambda i: (i.due_on, i.number))
    order = [by_number[number] for number in designated] + rest
    parts = []
    left = amount
    for invoice in order:
        share = min(left, invoice.balance) if invoice.balance.is_positive() else Money.zero(amount.currency)
        if share.is_positive():
            parts.append((invoice.number, share))
            left = left - share
    return PaymentAllocation(tuple(parts), left)
