"""Money as integer minor units of an ISO 4217 currency; never a float."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from relance.domain.errors import CurrencyMismatch, InvalidAmount

# Minor-unit digits of the currencies Relance accepts (ISO 4217). Extend here, with a test.
MINOR_DIGITS: dict[str, int] = {
    "EUR": 2, "GBP": 2, "CHF": 2, "USD": 2, "PLN": 2, "SEK": 2, "DKK": 2, "NOK": 2,
    "CZK": 2, "HUF": 2, "RON": 2, "BGN": 2, "CAD": 2, "JPY": 0,
}


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """An amount in minor units: Money(12_50, "EUR") is 12.50 EUR."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if type(self.minor) is not int:
            raise InvalidAmount(
                f"amount must be a whole number of minor units, got {self.minor!r}", value=repr(self.minor)
            )
        if self.currency not in MINOR_DIGITS:
            raise InvalidAmount(
                f"unsupported currency {self.currency!r}; expected an ISO 4217 code such as 'EUR'",
                currency=self.currency,
            )

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Nothing, in `currency`."""
        return cls(0, currency)

    @classmethod
    def from_decimal(cls, amount: Decimal, currency: str) -> Money:
        """Exact conversion from major units; refuses more decimals than the currency has."""
        digits = MINOR_DIGITS.get(currency)
        if digits is None:
            raise InvalidAmount(f"unsupported currency {currency!r}", currency=currency)
        scaled = amount.scaleb(digits)
        if scaled != scaled.to_integral_value():
            raise InvalidAmount(
                f"{amount} has more than {digits} decimals for {currency}", value=str(amount), digits=digits
            )
        return cls(int(scaled), currency)

    @classmethod
    def from_decimal_rounded(cls, amount: Decimal, currency: str) -> Money:
        """Major units rounded half-up to the minor unit (interest and fees round once, here)."""
        digits = MINOR_DIGITS[currency]
        return cls(int(amount.scaleb(digits).quantize(Decimal(1), rounding=ROUND_HALF_UP)), currency)

    @property
    def digits(self) -> int:
        return MINOR_DIGITS[self.currency]

    def to_decimal(self) -> Decimal:
        """The amount in major units, exact."""
        return Decimal(self.minor).scaleb(-self.digits)

    def is_zero(self) -> bool:
        return self.minor == 0

    def is_positive(self) -> bool:
        return self.minor > 0

    def __add__(self, other: Money) -> Money:
        return Money(self.minor + self._same(other).minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.minor - self._same(other).minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        return self.minor < self._same(other).minor

    def __le__(self, other: Money) -> bool:
        return self.minor <= self._same(other).minor

    def __gt__(self, other: Money) -> bool:
        return self.minor > self._same(other).minor

    def __ge__(self, other: Money) -> bool:
        return self.minor >= self._same(other).minor

    def split(self, parts: int) -> list[Money]:
        """`parts` amounts, at most one minor unit apart, that add up exactly to self."""
        if parts < 1:
            raise InvalidAmount(f"cannot split into {parts} parts; at least 1", parts=parts)
        base, extra = divmod(self.minor, parts)
        return [Money(base + 1 if i < extra else base, self.currency) for i in range(parts)]

    def _same(self, other: Money) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(
                f"cannot combine {self.currency} with {other.currency}", left=self.currency, right=other.currency
            )
        return other

    def __str__(self) -> str:
        return f"{self.to_decimal():.{self.digits}f} {self.currency}"


def total(amounts: list[Money] | tuple[Money, ...], currency: str) -> Money:
    """The sum of `amounts`, all in `currency` (zero when empty)."""
    result = Money.zero(currency)
    for amount in amounts:
        result = result + amount
    return result


def totals_by_currency(amounts: list[Money]) -> dict[str, Money]:
    """Sums per currency, for balances that mix EUR and GBP invoices."""
    minors: dict[str, int] = {}
    for amount in amounts:
        minors[amount.currency] = minors.get(amount.currency, 0) + amount.minor
    return {currency: Money(minor, currency) for currency, minor in sorted(minors.items())}
