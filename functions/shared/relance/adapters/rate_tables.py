"""Reads the packaged rates.csv and jurisdictions.yaml, plus an operator's override file, into domain objects.

The override file has the columns of rates.csv; its rows add to or replace packaged rates on the
days they cover, so a newly published rate needs no release. The caller names the file (for
instance from RELANCE_RATES_FILE) and decides on provisional mode; this module reads no environment.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from relance.domain.errors import InvalidRatesFile
from relance.domain.late_fees import (
    FeeBand,
    InterestStart,
    Jurisdiction,
    RateFixing,
    RateRule,
    ReferenceDay,
    Regime,
    Rulebook,
)
from relance.domain.money import Money
from relance.domain.rates import RatePeriod, RateTable
from relance.domain.terms import PaymentTermsLimit

RATE_COLUMNS = ("kind", "jurisdiction", "valid_from", "valid_to", "rate_percent", "source")
_RATE_RULE_KEYS = {"kind", "margin", "multiplier", "reference", "fixing", "round_up_to", "legal_basis"}
_REGIME_KEYS = {
    "rate", "rate_by_creditor", "interest_starts", "contract_rate", "recovery_fee",
    "max_simple_interest_days", "max_days_reason",
}
_JURISDICTION_KEYS = {"name", "law", "max_payment_terms", "b2b", "consumer", "notes",
                      "retention_years"}  # the last one is read by adapters/gdpr_store.py (GDPR)


def packaged_text(name: str) -> str:
    """The text of a data file shipped in the `relance` package (`rates.csv`, `jurisdictions.yaml`)."""
    return resources.files("relance").joinpath("data", name).read_text(encoding="utf-8")


def load_rules(
    override_file: str | Path | None = None,
    *,
    provisional: bool = False,
    rules_file: str | Path | None = None,
) -> tuple[RateTable, Rulebook]:
    """The rate table (packaged rates, then the override file's rows) and the jurisdiction rules."""
    rules_text = packaged_text("jurisdictions.yaml") if rules_file is None else _read(rules_file)
    document = _yaml(rules_text, str(rules_file or "jurisdictions.yaml"))
    table = RateTable(read_rates(packaged_text("rates.csv"), "rates.csv"), _labels(document), provisional)
    if override_file is not None:
        table = table.with_periods(read_rates(_read(override_file), str(override_file)))
    return table, parse_rulebook(document, str(rules_file or "jurisdictions.yaml"))


def read_rates(text: str, origin: str) -> tuple[RatePeriod, ...]:
    """Every row of a rates CSV; InvalidRatesFile names the file, line and problem."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [column for column in RATE_COLUMNS if column not in (reader.fieldnames or ())]
    if missing:
        raise InvalidRatesFile(f"{origin}: missing column(s) {', '.join(missing)}", file=origin)
    periods = []
    for line, row in enumerate(reader, start=2):
        periods.append(_period(row, f"{origin} line {line}"))
    _refuse_overlaps(periods, origin)
    return tuple(periods)


def parse_rulebook(document: Mapping[str, Any], origin: str) -> Rulebook:
    """The jurisdictions of a rules document (see the header of data/jurisdictions.yaml)."""
    entries = document.get("jurisdictions")
    if not isinstance(entries, Mapping) or not entries:
        raise InvalidRatesFile(f"{origin}: no 'jurisdictions' mapping", file=origin)
    return Rulebook({str(code).upper(): _jurisdiction(str(code).upper(), entry, f"{origin}: {code}")
                     for code, entry in entries.items()})


def _read(path: str | Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidRatesFile(f"cannot read rates file {path}: {exc.strerror}", file=str(path)) from exc


def _yaml(text: str, origin: str) -> Mapping[str, Any]:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidRatesFile(f"{origin}: not valid YAML ({exc})", file=origin) from exc
    if not isinstance(document, Mapping):
        raise InvalidRatesFile(f"{origin}: expected a mapping at the top", file=origin)
    return document


def _labels(document: Mapping[str, Any]) -> dict[str, str]:
    return {str(kind): str(label) for kind, label in (document.get("rate_kinds") or {}).items()}


def _period(row: Mapping[str, str | None], where: str) -> RatePeriod:
    values = {column: (row.get(column) or "").strip() for column in RATE_COLUMNS}
    empty = [column for column, value in values.items() if not value]
    if empty:
        raise InvalidRatesFile(
            f"{where}: empty {', '.join(empty)} (every rate needs its source)", where=where
        )
    starts_on, ends_on = _date(values["valid_from"], where), _date(values["valid_to"], where)
    if ends_on < starts_on:
        raise InvalidRatesFile(f"{where}: valid_to {ends_on} is before valid_from {starts_on}", where=where)
    return RatePeriod(values["kind"], values["jurisdiction"], starts_on, ends_on,
                      _decimal(values["rate_percent"], where), values["source"])


def _refuse_overlaps(periods: list[RatePeriod], origin: str) -> None:
    """Within one file a day has one rate per kind; only an override file may restate a day."""
    ordered = sorted(periods, key=lambda period: (period.kind, period.starts_on))
    for before, after in zip(ordered, ordered[1:]):
        if before.kind == after.kind and after.starts_on <= before.ends_on:
            raise InvalidRatesFile(
                f"{origin}: {after.kind} rows overlap ({before.starts_on}..{before.ends_on} and "
                f"{after.starts_on}..{after.ends_on})", file=origin, kind=after.kind,
            )


def _date(text: str, where: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidRatesFile(f"{where}: {text!r} is not a YYYY-MM-DD date", where=where) from None


def _decimal(value: object, where: str) -> Decimal:
    if isinstance(value, float):
        raise InvalidRatesFile(
            f"{where}: write {value} in quotes; rates and amounts are exact decimals", where=where
        )
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise InvalidRatesFile(f"{where}: {value!r} is not a decimal number", where=where) from None


def _only(entry: object, allowed: set[str], where: str) -> Mapping[str, Any]:
    if not isinstance(entry, Mapping):
        raise InvalidRatesFile(f"{where}: expected a mapping", where=where)
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise InvalidRatesFile(f"{where}: unknown key(s) {', '.join(unknown)}", where=where)
    return entry


def _jurisdiction(code: str, entry: object, where: str) -> Jurisdiction:
    fields = _only(entry, _JURISDICTION_KEYS, where)
    terms = fields.get("max_payment_terms")
    limit = None if terms is None else PaymentTermsLimit(int(terms["days"]), terms.get("end_of_month_days"))
    return Jurisdiction(
        code=code, name=str(fields.get("name", code)), law=str(fields.get("law", code)),
        b2b=_regime(fields.get("b2b"), f"{where}.b2b"),
        consumer=_regime(fields.get("consumer"), f"{where}.consumer"),
        terms_limit=limit,
    )


def _regime(entry: object, where: str) -> Regime | None:
    if entry is None:
        return None
    fields = _only(entry, _REGIME_KEYS, where)
    if "rate" in fields:
        rule = _rate_rule(fields["rate"], f"{where}.rate")
        by_creditor = {"business": rule, "consumer": rule}
    else:
        given = _only(fields.get("rate_by_creditor"), {"business", "consumer"}, f"{where}.rate_by_creditor")
        by_creditor = {
            kind: _rate_rule(rule, f"{where}.rate_by_creditor.{kind}") for kind, rule in given.items()
        }
    contract = _only(fields.get("contract_rate") or {}, {"allowed", "floor"}, f"{where}.contract_rate")
    floor = contract.get("floor")
    max_days = fields.get("max_simple_interest_days")
    try:
        starts = InterestStart(fields.get("interest_starts", InterestStart.DAY_AFTER_DUE_DATE))
    except ValueError:
        raise InvalidRatesFile(
            f"{where}: unknown interest_starts {fields['interest_starts']!r}", where=where
        ) from None
    return Regime(
        rate_by_creditor=by_creditor,
        interest_starts=starts,
        contract_rate_allowed=bool(contract.get("allowed", False)),
        contract_rate_floor=None if floor is None else _rate_rule(floor, f"{where}.contract_rate.floor"),
        recovery_fee=_fee_bands(fields.get("recovery_fee"), f"{where}.recovery_fee"),
        max_simple_interest_days=None if max_days is None else int(max_days),
        max_days_reason=str(fields.get("max_days_reason", "")),
    )


def _rate_rule(entry: object, where: str) -> RateRule:
    fields = _only(entry, _RATE_RULE_KEYS, where)
    if "kind" not in fields:
        raise InvalidRatesFile(f"{where}: a rate rule needs a kind", where=where)
    try:
        reference = ReferenceDay(fields.get("reference", ReferenceDay.SEMESTER_START))
        fixing = RateFixing(fields.get("fixing", RateFixing.PER_SEMESTER_DAILY))
    except ValueError as exc:
        raise InvalidRatesFile(f"{where}: {exc}", where=where) from None
    step = fields.get("round_up_to")
    return RateRule(
        kind=str(fields["kind"]),
        margin_points=_decimal(fields.get("margin", "0"), where),
        multiplier=_decimal(fields.get("multiplier", "1"), where),
        reference=reference,
        fixing=fixing,
        round_up_to=None if step is None else _decimal(step, where),
        legal_basis=str(fields.get("legal_basis", "")),
    )


def _fee_bands(entry: object, where: str) -> dict[str, tuple[FeeBand, ...]] | None:
    if entry is None:
        return None
    if not isinstance(entry, Mapping):
        raise InvalidRatesFile(f"{where}: expected bands per currency", where=where)
    bands = {}
    for currency, rows in entry.items():
        bands[str(currency)] = tuple(_band(row, str(currency), f"{where}.{currency}") for row in rows)
    return bands


def _band(entry: object, currency: str, where: str) -> FeeBand:
    fields = _only(entry, {"fee", "below", "up_to"}, where)

    def money(key: str) -> Money | None:
        return None if fields.get(key) is None else Money.from_decimal(_decimal(fields[key], where), currency)

    fee = money("fee")
    if fee is None:
        raise InvalidRatesFile(f"{where}: a band needs a fee", where=where)
    return FeeBand(fee=fee, below=money("below"), up_to=money("up_to"))
