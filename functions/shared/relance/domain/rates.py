"""Published reference rates (ECB MRO, Bank Rate, FR legal rate) by day, each with its source."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from relance.domain.errors import MissingRate

_CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class RatePeriod:
    """One row of the rates file: `kind` was `rate_percent` from `starts_on` to `ends_on`, both included."""

    kind: str
    jurisdiction: str
    starts_on: date
    ends_on: date
    rate_percent: Decimal
    source: str

    def covers(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on


@dataclass(frozen=True, slots=True)
class RateQuote:
    """The rate of `kind` in force on `day`; provisional when carried forward past the last known row."""

    kind: str
    day: date
    rate_percent: Decimal
    source: str
    is_provisional: bool = False


@dataclass(frozen=True)
class RateTable:
    """Every known rate period; later periods win over earlier ones for the days they cover.

    A kind names one published series (`ecb_mro`, `boe_bank_rate`, `fr_legal_rate_professional`...),
    so it is looked up by kind alone; the row's jurisdiction is kept for readers.
    """

    periods: tuple[RatePeriod, ...]
    labels: Mapping[str, str] = field(default_factory=dict)
    allows_provisional: bool = False
    # what readers derived from these immutable periods (e.g. a rule's rate for a half-year), kept
    # for the table's lifetime: a page of 200 overdue invoices looks up the same few rates
    derived: dict[object, object] = field(default_factory=dict, init=False, compare=False, hash=False, repr=False)

    def label(self, kind: str) -> str:
        """The name a person reads for `kind`, e.g. "ECB MRO rate"."""
        return self.labels.get(kind, kind)

    def rate_on(self, kind: str, day: date) -> RateQuote:
        """The rate of `kind` in force on `day`; MissingRate names the rate when it is not known."""
        rows = [period for period in self.periods if period.kind == kind]
        for period in reversed(rows):
            if period.covers(day):
                return RateQuote(kind, day, period.rate_percent, period.source)
        last = max(reversed(rows), key=lambda period: period.ends_on, default=None)
        if self.allows_provisional and last is not None and day > last.ends_on:
            # Convention C11 forbids guessing; provisional mode is the operator's explicit choice and
            # every result computed with it is flagged (docs/law/late-fees.en.md).
            source = (
                f"PROVISIONAL: last known {self.label(kind)} {percent_text(last.rate_percent)}% "
                f"(valid to {last.ends_on.isoformat()}) carried forward; {last.source}"
            )
            return RateQuote(kind, day, last.rate_percent, source, is_provisional=True)
        raise MissingRate(
            f"no {self.label(kind)} known for {day.isoformat()} ({half_year(day)}); "
            "add it to the rates file or enable provisional rates",
            kind=kind, day=day.isoformat(), half_year=half_year(day),
        )

    def with_periods(self, periods: Iterable[RatePeriod]) -> RateTable:
        """This table with `periods` added on top: they replace known rates on the days they cover."""
        return replace(self, periods=self.periods + tuple(periods))

    def with_provisional(self, allowed: bool = True) -> RateTable:
        """This table, carrying the last known rate forward (flagged provisional) when `allowed`."""
        return replace(self, allows_provisional=allowed)


def half_year(day: date) -> str:
    """`H1 2026` or `H2 2026`: the semester a day falls in."""
    return f"H{1 if day.month <= 6 else 2} {day.year}"


def percent_text(rate: Decimal) -> str:
    """A rate as written in sources: at least two decimals (`13.15`, `11.50`, `9.125`)."""
    if rate == rate.quantize(_CENT):
        return f"{rate.quantize(_CENT):f}"
    return f"{rate.normalize():f}"
