"""Keeping a debtor's stored risk up to date: whether a fresh score is worth a write, and what it records.

Pure. The stored score is what the debtor item carries (`risk_score`, `risk_band`, `risk_reasons`);
the fresh one is `relance.domain.risk.score_risk` on the debtor's current data. Nothing is written
when they are equal, which is what stops the stream consumer from feeding itself: its own write
comes back as a stream record whose score is, again, equal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from relance.domain.money import Money
from relance.domain.risk import RiskReason, RiskScore


@dataclass(frozen=True, slots=True)
class StoredRisk:
    """The score the debtor item carries; all None before the first score."""

    score: int | None = None
    band: str | None = None
    reasons: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class RiskUpdate:
    """What to write on the debtor item, and the band it replaces."""

    score: int
    band: str
    reasons: tuple[Mapping[str, Any], ...]
    band_before: str | None

    @property
    def band_changed(self) -> bool:
        """True when a stored band moves; a debtor's first score sets a band, it does not change one."""
        return self.band_before is not None and self.band != self.band_before

    def audit_event(self) -> dict[str, Any] | None:
        """The `risk_band_changed` audit event (before/after), or None when the band stays."""
        if not self.band_changed:
            return None
        return {"action": "risk_band_changed", "actor": "system", "band_before": self.band_before,
                "band_after": self.band, "score": self.score,
                "reasons": [reason["code"] for reason in self.reasons]}


def stored_reasons(score: RiskScore) -> tuple[Mapping[str, Any], ...]:
    """The main reasons as plain data for the item: code, points, and parameters as text or minor units."""
    return tuple({"code": reason.code, "points": reason.points, "params": _plain(reason.params)}
                 for reason in score.reasons)


def reasons_from_stored(stored: Sequence[Mapping[str, Any]]) -> tuple[RiskReason, ...]:
    """The reasons read back from the item, with amounts as Money again (for the back office's sentences)."""
    reasons = []
    for entry in stored:
        params: dict[str, object] = dict(entry.get("params") or {})
        if "amount_minor" in params and "currency" in params:
            params["amount"] = Money(int(str(params.pop("amount_minor"))), str(params.pop("currency")))
        if "days" in params:
            params["days"] = Decimal(str(params["days"]))
        reasons.append(RiskReason(str(entry["code"]), int(entry.get("points", 0)), params))
    return tuple(reasons)


def stored_score(stored: StoredRisk) -> RiskScore | None:
    """The score the debtor item carries, with its reasons, as the back office shows it; None before the first score."""
    if stored.score is None or stored.band is None:
        return None
    return RiskScore(stored.score, stored.band, reasons_from_stored(stored.reasons))


def risk_update(stored: StoredRisk, fresh: RiskScore) -> RiskUpdate | None:
    """The write a fresh score asks for, or None when the item already says the same."""
    reasons = stored_reasons(fresh)
    if (stored.score, stored.band, tuple(map(dict, stored.reasons))) == (fresh.score, fresh.band,
                                                                          tuple(map(dict, reasons))):
        return None
    return RiskUpdate(fresh.score, fresh.band, reasons, stored.band)


def _plain(params: Mapping[str, object]) -> dict[str, Any]:
    plain: dict[str, Any] = {}
    for name, value in sorted(params.items()):
        if isinstance(value, Money):
            plain["amount_minor"] = str(value.minor)
            plain["currency"] = value.currency
        elif value is not None:
            plain[name] = str(value)
    return plain
