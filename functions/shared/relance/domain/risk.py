"""An explainable risk score for a debtor: 0 to 100 points, a band, and the reasons that weigh most.

Each factor gives points between 0 and its maximum, growing with how bad the fact is (linear up to
the value where the factor is full, then flat); the score is their sum, capped at 100. The weights,
the points at which each factor is full and the band thresholds are data (`RiskWeights`, `RiskBands`),
so a creditor's policy can change them without code. The reasons are codes with parameters: the
portal turns them into sentences in the reader's language.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from relance.domain.invoices import Invoice
from relance.domain.money import Money

TOP_REASONS = 3


@dataclass(frozen=True, slots=True)
class SettledInvoice:
    """A paid invoice of the debtor's history: when it was due and the day the last payment came in."""

    due_on: date
    paid_on: date

    @property
    def days_late(self) -> int:
        return max(0, (self.paid_on - self.due_on).days)


@dataclass(frozen=True, slots=True)
class PaymentHistory:
    """The debtor's settled invoices; the caller builds it from what it knows of payment dates."""

    settled: tuple[SettledInvoice, ...] = ()

    @property
    def average_days_late(self) -> Decimal:
        """Average days late over every settled invoice (on time counts 0), to 0.1 day."""
        if not self.settled:
            return Decimal(0)
        average = Decimal(sum(s.days_late for s in self.settled)) / len(self.settled)
        return average.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)

    @property
    def share_paid_late(self) -> Fraction:
        """The share of settled invoices paid after their due date (0 with no history)."""
        if not self.settled:
            return Fraction(0)
        return Fraction(sum(1 for s in self.settled if s.days_late > 0), len(self.settled))


@dataclass(frozen=True, slots=True)
class RiskInputs:
    """What the score looks at, for one debtor on one day."""

    history: PaymentHistory = PaymentHistory()
    overdue: tuple[Money, ...] = ()  # what is owed past due, one amount per currency
    oldest_overdue_days: int = 0  # days past due of the oldest overdue invoice
    broken_commitments: int = 0  # installment plans broken and payment promises not kept
    open_disputes: int = 0
    bounced_contacts: int = 0  # e-mail addresses that bounced or complained


@dataclass(frozen=True, slots=True)
class RiskWeights:
    """The most points each factor can give, and where it is full."""

    average_days_late_points: int = 20
    average_days_late_full_at: int = 60  # days
    share_paid_late_points: int = 15  # full when every settled invoice was paid late
    overdue_amount_points: int = 15
    overdue_amount_full_at_major: int = 10_000  # major units of the currency (10 000 €, 10 000 £)
    oldest_overdue_points: int = 20
    oldest_overdue_full_at: int = 90  # days
    points_per_broken_commitment: int = 8
    broken_commitments_points: int = 15
    points_per_open_dispute: int = 5
    open_disputes_points: int = 10
    points_per_bounced_contact: int = 5
    bounced_contacts_points: int = 5


@dataclass(frozen=True, slots=True)
class RiskBands:
    """The score from which a debtor is medium, then high, risk."""

    medium_from: int = 30
    high_from: int = 60

    def band_of(self, score: int) -> str:
        if score >= self.high_from:
            return "high"
        return "medium" if score >= self.medium_from else "low"


@dataclass(frozen=True, slots=True)
class RiskReason:
    """One factor's contribution: `code` (e.g. `risk.oldest_overdue`) and the facts the sentence names."""

    code: str
    points: int
    params: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RiskScore:
    """The score, its band, every contribution in factor order, and the main reasons."""

    score: int
    band: str
    contributions: tuple[RiskReason, ...]

    @property
    def reasons(self) -> tuple[RiskReason, ...]:
        """The three contributions worth the most points (ties in factor order), none worth nothing."""
        ranked = sorted((c for c in self.contributions if c.points > 0), key=lambda c: -c.points)
        return tuple(ranked[:TOP_REASONS])


def _scaled(points: int, value: Fraction, full_at: Fraction) -> int:
    """`points` × value / full_at, capped at `points`, rounded half-up to a whole point."""
    if value <= 0 or full_at <= 0:
        return 0
    share = min(Fraction(1), value / full_at) * points
    exact = Decimal(share.numerator) / Decimal(share.denominator)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _counted(count: int, each: int, cap: int) -> int:
    return min(cap, max(0, count) * each)


def score_risk(inputs: RiskInputs, weights: RiskWeights = RiskWeights(), bands: RiskBands = RiskBands()) -> RiskScore:
    """The debtor's risk score, band and reasons from `inputs`."""
    history = inputs.history
    largest_overdue = max(inputs.overdue, key=lambda m: Fraction(m.minor, 10**m.digits), default=None)
    overdue_major = Fraction(largest_overdue.minor, 10**largest_overdue.digits) if largest_overdue else Fraction(0)
    contributions = (
        RiskReason("risk.average_days_late",
                   _scaled(weights.average_days_late_points, Fraction(history.average_days_late),
                           Fraction(weights.average_days_late_full_at)),
                   {"days": history.average_days_late}),
        RiskReason("risk.share_paid_late",
                   _scaled(weights.share_paid_late_points, history.share_paid_late, Fraction(1)),
                   {"percent": round(history.share_paid_late * 100)}),
        RiskReason("risk.overdue_amount",
                   _scaled(weights.overdue_amount_points, overdue_major,
                           Fraction(weights.overdue_amount_full_at_major)),
                   {"amount": largest_overdue}),
        RiskReason("risk.oldest_overdue",
                   _scaled(weights.oldest_overdue_points, Fraction(inputs.oldest_overdue_days),
                           Fraction(weights.oldest_overdue_full_at)),
                   {"days": inputs.oldest_overdue_days}),
        RiskReason("risk.broken_commitments",
                   _counted(inputs.broken_commitments, weights.points_per_broken_commitment,
                            weights.broken_commitments_points),
                   {"count": inputs.broken_commitments}),
        RiskReason("risk.open_disputes",
                   _counted(inputs.open_disputes, weights.points_per_open_dispute, weights.open_disputes_points),
                   {"count": inputs.open_disputes}),
        RiskReason("risk.bounced_contacts",
                   _counted(inputs.bounced_contacts, weights.points_per_bounced_contact,
                            weights.bounced_contacts_points),
                   {"count": inputs.bounced_contacts}),
    )
    score = min(100, sum(c.points for c in contributions))
    return RiskScore(score, bands.band_of(score), contributions)


def inputs_from_open_invoices(invoices: Iterable[Invoice], today: date, history: PaymentHistory = PaymentHistory(),
                              broken_commitments: int = 0, bounced_contacts: int = 0) -> RiskInputs:
    """Risk inputs from a debtor's open invoices (overdue per currency, oldest overdue, disputes) and the rest."""
    overdue: dict[str, Money] = {}
    oldest = 0
    disputes = 0
    for invoice in invoices:
        if invoice.is_settled():
            continue
        disputes += invoice.disputed
        if invoice.is_overdue(today):
            overdue[invoice.currency] = overdue.get(invoice.currency, Money.zero(invoice.currency)) + invoice.balance
            oldest = max(oldest, invoice.days_overdue(today))
    return RiskInputs(history, tuple(overdue[c] for c in sorted(overdue)), oldest, broken_commitments, disputes,
                      bounced_contacts)
